/* uint64_t → pointer, open addressing: the loader's lookups by address,
 * plan key or DWARF offset. Any key, 0 included; a zeroed map is empty. */
#ifndef CTRACE_U64MAP_H
#define CTRACE_U64MAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64map {
	uint64_t *keys; /* 0: a free slot (key 0 is kept apart, in zero) */
	void **vals;
	size_t cap, n; /* n: the slots in use */
	bool has_zero;
	void *zero;
};

/* NULL when key is not in m */
void *u64map_get(const struct u64map *m, uint64_t key);
/* adds key, or replaces its value: 0, or -ENOMEM with m as it was */
int u64map_put(struct u64map *m, uint64_t key, void *val);
/* every entry once, in no particular order:
 *   for (size_t it = 0; u64map_next(m, &it, &key, &val);) */
bool u64map_next(const struct u64map *m, size_t *it, uint64_t *key, void **val);
/* frees what m holds (not the values): m is empty again */
void u64map_free(struct u64map *m);

#endif
