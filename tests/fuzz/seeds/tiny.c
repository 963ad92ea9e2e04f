/* Seed for fuzz_elf: no libc. The hooks are defined here, apart, like
 * libctrace-hooks.so's; _start makes it a whole program. */
__attribute__((no_instrument_function)) void __cyg_profile_func_enter(void *fn, void *site)
{
	__asm__ volatile("" ::"r"(fn), "r"(site));
}
__attribute__((no_instrument_function)) void __cyg_profile_func_exit(void *fn, void *site)
{
	__asm__ volatile("nop" ::"r"(fn), "r"(site));
}

struct pair { long a, b; };

__attribute__((noinline)) long pick(struct pair p, int which) { return which ? p.b : p.a; }
__attribute__((noinline)) long twice(long v) { return pick((struct pair){ v, v * 2 }, 1); }

__attribute__((noreturn, no_instrument_function)) void _start(void)
{
	long r = twice(21);
	__asm__ volatile("mov $60, %%eax\n syscall" ::"D"(r & 0x7f));
	__builtin_unreachable();
}
