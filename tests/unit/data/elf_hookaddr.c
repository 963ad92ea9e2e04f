/* Target for test_elf: code takes the hooks' addresses (through GOT slots with
 * GLOB_DAT relocations), so ld puts the hooks' call stubs in .plt.got. */
#include <stdio.h>

void __cyg_profile_func_enter(void *fn, void *site);
void __cyg_profile_func_exit(void *fn, void *site);

void (*volatile hooks[2])(void *, void *);

__attribute__((noinline)) int b(int x) { return x * 3 + 1; }

int main(int argc, char **argv)
{
	(void)argv;
	hooks[0] = __cyg_profile_func_enter;
	hooks[1] = __cyg_profile_func_exit;
	printf("%d\n", b(argc));
	return 0;
}
