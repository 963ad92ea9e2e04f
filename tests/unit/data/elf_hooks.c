/* The program's own hooks, linked into the target: calls to them are direct
 * `call rel32` to a symbol the image defines itself (not through the PLT). */
volatile unsigned long hook_calls;

__attribute__((no_instrument_function)) void __cyg_profile_func_enter(void *fn, void *site)
{
	(void)fn; (void)site;
	hook_calls++;
}

__attribute__((no_instrument_function)) void __cyg_profile_func_exit(void *fn, void *site)
{
	(void)fn; (void)site;
	hook_calls += 2;
}
