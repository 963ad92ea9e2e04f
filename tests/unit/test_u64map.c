/* Unit tests for user/utils/u64map.c: lookups, replacing, growth, key 0 and
 * every entry visited once. */
#include <stdint.h>

#include "harness.h"
#include "utils/u64map.h"

#define V(x) ((void *)(uintptr_t)(x))

static void test_empty(void)
{
	struct u64map m = { 0 };
	uint64_t k;
	void *v;
	size_t it = 0;

	CHECK(!u64map_get(&m, 0));
	CHECK(!u64map_get(&m, 42));
	CHECK(!u64map_next(&m, &it, &k, &v));
	u64map_free(&m);
	u64map_free(&m);
}

static void test_put_get(void)
{
	struct u64map m = { 0 };

	CHECK_INT(u64map_put(&m, 7, V(70)), 0);
	CHECK_INT(u64map_put(&m, UINT64_MAX, V(1)), 0);
	CHECK_INT(u64map_put(&m, 0, V(2)), 0);
	CHECK(u64map_get(&m, 7) == V(70));
	CHECK(u64map_get(&m, UINT64_MAX) == V(1));
	CHECK(u64map_get(&m, 0) == V(2));
	CHECK(!u64map_get(&m, 8));
	CHECK_INT(u64map_put(&m, 7, V(71)), 0); /* replaced, not added */
	CHECK(u64map_get(&m, 7) == V(71));
	CHECK_INT(m.n, 2);
	u64map_free(&m);
	CHECK(!u64map_get(&m, 7));
	CHECK(!u64map_get(&m, 0));
}

/* many keys that differ only in high bits (plan keys: generation << 48 | address) */
static void test_grow_and_visit(void)
{
	enum { N = 5000 };
	struct u64map m = { 0 };
	static unsigned char seen[N];
	size_t it = 0, visits = 0;
	uint64_t k;
	void *v;
	bool ok = true;

	for (uint64_t i = 0; i < N; i++)
		ok &= u64map_put(&m, i << 48 | 0x401000, V(i + 1)) == 0;
	CHECK(ok);
	CHECK_INT(m.n, N);
	for (uint64_t i = 0; i < N; i++)
		ok &= u64map_get(&m, i << 48 | 0x401000) == V(i + 1);
	CHECK(ok);
	CHECK(!u64map_get(&m, (uint64_t)N << 48 | 0x401000));
	while (u64map_next(&m, &it, &k, &v)) {
		uint64_t i = k >> 48;

		ok &= (k & 0xffffffffffff) == 0x401000 && i < N && v == V(i + 1) && !seen[i];
		if (i < N)
			seen[i] = 1;
		visits++;
	}
	CHECK(ok);
	CHECK_INT(visits, N);
	u64map_put(&m, 0, V(9));
	it = 0;
	visits = 0;
	while (u64map_next(&m, &it, &k, &v))
		visits += k == 0 ? 1000000 : 1;
	CHECK_INT(visits, N + 1000000);
	u64map_free(&m);
}

int main(void)
{
	test_empty();
	test_put_get();
	test_grow_and_visit();
	HARNESS_MAIN_END("test_u64map");
}
