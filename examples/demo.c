/* A small program to trace: two worker threads sort arrays with a recursive
 * quicksort and checksum them. Build it the way ctrace-bpf wants:
 *   gcc -finstrument-functions -g -O2 examples/demo.c -o build/demo -lpthread */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void swap(int *a, int *b)
{
	int t = *a;
	*a = *b;
	*b = t;
}

static int partition(int *v, int lo, int hi)
{
	int pivot = v[hi], i = lo;

	for (int j = lo; j < hi; j++)
		if (v[j] < pivot)
			swap(&v[i++], &v[j]);
	swap(&v[i], &v[hi]);
	return i;
}

static void quicksort(int *v, int lo, int hi)
{
	if (lo >= hi)
		return;
	int p = partition(v, lo, hi);
	quicksort(v, lo, p - 1);
	quicksort(v, p + 1, hi);
}

static unsigned checksum(const int *v, int n)
{
	unsigned h = 2166136261u;

	for (int i = 0; i < n; i++)
		h = (h ^ (unsigned)v[i]) * 16777619u;
	return h;
}

static void *worker(void *arg)
{
	int n = (int)(long)arg, v[64];
	unsigned seed = (unsigned)n;
	char name[16];

	snprintf(name, sizeof(name), "sorter-%d", n);
	pthread_setname_np(pthread_self(), name);

	for (int i = 0; i < n; i++)
		v[i] = (int)(rand_r(&seed) % 1000);
	quicksort(v, 0, n - 1);
	printf("worker %d: checksum %08x\n", n, checksum(v, n));
	return NULL;
}

int main(void)
{
	pthread_t t[2];

	pthread_create(&t[0], NULL, worker, (void *)16L);
	pthread_create(&t[1], NULL, worker, (void *)32L);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	return 0;
}
