#include <errno.h>
#include <stdlib.h>

#include "utils/u64map.h"

static size_t slot_of(uint64_t k, size_t cap)
{
	return (k * 0x9E3779B97F4A7C15ull >> 17) & (cap - 1);
}

void *map_get(const struct u64map *m, uint64_t k)
{
	if (!m->cap)
		return NULL;
	for (size_t i = slot_of(k, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (!m->k[i])
			return NULL;
		if (m->k[i] == k)
			return m->v[i];
	}
}

int map_put(struct u64map *m, uint64_t k, void *v)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct u64map g = { .cap = m->cap ? m->cap * 2 : 256 };

		g.k = calloc(g.cap, sizeof(*g.k));
		g.v = calloc(g.cap, sizeof(*g.v));
		if (!g.k || !g.v) {
			free(g.k);
			free(g.v);
			return -ENOMEM;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->k[i])
				map_put(&g, m->k[i], m->v[i]);
		free(m->k);
		free(m->v);
		*m = g;
	}
	for (size_t i = slot_of(k, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (!m->k[i] || m->k[i] == k) {
			m->n += !m->k[i];
			m->k[i] = k;
			m->v[i] = v;
			return 0;
		}
	}
}
