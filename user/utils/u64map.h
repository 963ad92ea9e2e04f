#ifndef CTRACE_U64MAP_H
#define CTRACE_U64MAP_H
#include <stddef.h>
#include <stdint.h>

/* u64 → pointer, open addressing; keys are never 0 */
struct u64map {
	uint64_t *k;
	void **v;
	size_t cap, n;
};

void *map_get(const struct u64map *m, uint64_t k);
int map_put(struct u64map *m, uint64_t k, void *v);

#endif
