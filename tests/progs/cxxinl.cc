/* C++ inlining across units, for the filter tests: twice() is an inline
 * function of cxxinl.h both units emit, inlining each unit's own static
 * helper(); std::string's inline members are instrumented in the header
 * copies inlined here, while their out-of-line copies are libstdc++'s, so
 * their hook calls load this_fn from the GOT.
 *   main > other_unit > twice > helper, main > twice > helper, ...        */
#include <cstdio>
#include "cxxinl.h"

int main()
{
	int r = 0;

	for (int i = 0; i < 5; i++) {
		std::string t("x");
		r += twice(i) + static_cast<int>(t.size());
	}
	r += other_unit(4) + keep_helper(2);
	std::printf("r=%d\n", r);
	return 0;
}
