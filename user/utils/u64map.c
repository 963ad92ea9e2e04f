#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "utils/u64map.h"

static size_t slot_of(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return k & (cap - 1);
}

/* the slot of key k (k != 0), or the free one where it would go */
static size_t find(const struct u64map *m, uint64_t k)
{
	size_t i = slot_of(k, m->cap);

	while (m->keys[i] && m->keys[i] != k)
		i = (i + 1) & (m->cap - 1);
	return i;
}

void *u64map_get(const struct u64map *m, uint64_t key)
{
	size_t i;

	if (!key)
		return m->has_zero ? m->zero : NULL;
	if (!m->cap)
		return NULL;
	i = find(m, key);
	return m->keys[i] ? m->vals[i] : NULL;
}

/* twice the slots, the entries rehashed */
static int grow(struct u64map *m)
{
	struct u64map g = { .cap = m->cap ? m->cap * 2 : 64 };

	g.keys = calloc(g.cap, sizeof(*g.keys));
	g.vals = calloc(g.cap, sizeof(*g.vals));
	if (!g.keys || !g.vals) {
		free(g.keys);
		free(g.vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i]) {
			size_t j = find(&g, m->keys[i]);

			g.keys[j] = m->keys[i];
			g.vals[j] = m->vals[i];
		}
	}
	free(m->keys);
	free(m->vals);
	m->keys = g.keys;
	m->vals = g.vals;
	m->cap = g.cap;
	return 0;
}

int u64map_put(struct u64map *m, uint64_t key, void *val)
{
	size_t i;

	if (!key) {
		m->has_zero = true;
		m->zero = val;
		return 0;
	}
	if ((m->n + 1) * 2 > m->cap && grow(m))
		return -ENOMEM;
	i = find(m, key);
	m->n += !m->keys[i];
	m->keys[i] = key;
	m->vals[i] = val;
	return 0;
}

bool u64map_next(const struct u64map *m, size_t *it, uint64_t *key, void **val)
{
	for (; *it < m->cap; ++*it) {
		if (m->keys[*it]) {
			*key = m->keys[*it];
			*val = m->vals[(*it)++];
			return true;
		}
	}
	if (*it == m->cap && m->has_zero) {
		++*it;
		*key = 0;
		*val = m->zero;
		return true;
	}
	return false;
}

void u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
