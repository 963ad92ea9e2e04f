/* Binary search over anything indexable. */
#ifndef CTRACE_BSEARCH_H
#define CTRACE_BSEARCH_H
#include <stddef.h>

/* The first index in [0, n) at which the condition before stops holding,
 * or n: before is an expression of the index variable idx that holds for a
 * prefix of the range and not after it (a sorted array's lower or upper
 * bound). Example, the first symbol past addr:
 *   size_t i = PARTITION_POINT(nsyms, m, syms[m].addr <= addr); */
#define PARTITION_POINT(n, idx, before)                     \
	__extension__({                                     \
		size_t lo_ = 0, hi_ = (n);                  \
		while (lo_ < hi_) {                         \
			size_t idx = lo_ + (hi_ - lo_) / 2; \
			if (before)                         \
				lo_ = idx + 1;              \
			else                                \
				hi_ = idx;                  \
		}                                           \
		lo_;                                        \
	})

#endif
