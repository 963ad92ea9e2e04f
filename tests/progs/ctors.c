/* Traced calls before main and after it: a library's constructor
 * (libctorlib.c: lib_ctor, 3 lib_init_work), this program's constructor
 * (exe_ctor: 2 ctor_work, and a thread it starts and joins that makes 5
 * thread_work), main (lib_fn, work), and a destructor (exe_dtor: 2
 * dtor_work) that runs after main returned, during exit. */
#include <pthread.h>
#include "common.h"

int lib_fn(int x);
static volatile int sink;

NOINLINE void ctor_work(int i) { sink = i * 3; }
NOINLINE void thread_work(int i) { sink = i * 5; }
NOINLINE void work(int i) { sink = i * 7; }
NOINLINE void dtor_work(int i) { sink = i * 13; }

NOINSTR static void *thread_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < 5; i++)
		thread_work(i);
	return NULL;
}

__attribute__((constructor)) void exe_ctor(void)
{
	pthread_t t;

	for (int i = 0; i < 2; i++)
		ctor_work(i);
	pthread_create(&t, NULL, thread_main, NULL);
	pthread_join(t, NULL);
}

__attribute__((destructor)) void exe_dtor(void)
{
	for (int i = 0; i < 2; i++)
		dtor_work(i);
}

int main(void)
{
	work(lib_fn(1));
	return 0;
}
