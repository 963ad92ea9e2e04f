/* The instrumentation hooks, preloaded into launched targets (LD_PRELOAD).
 *
 * glibc gives both hooks one address holding a lone `ret`: a uprobe there
 * cannot tell entry from exit and is single-stepped (~12 us a hit). Here each
 * hook has its own address and starts with a 5-byte NOP, which the kernel
 * emulates and, from 6.18 on, turns into a trampoline call (~0.7 us a hit).
 * The probes sit on the NOPs; the hooks themselves do nothing. */
	.text

	.globl	__cyg_profile_func_enter
	.type	__cyg_profile_func_enter, @function
	.p2align 4
__cyg_profile_func_enter:
	.byte	0x0f, 0x1f, 0x44, 0x00, 0x00	/* nopl 0(%rax,%rax,1): probe site */
	/* --srcline without --args probes the second NOP, where rdx holds the
	 * hook's return address: reading the stack in BPF costs ~150 ns a
	 * call. Not the first: --args reads the caller's registers there */
	movq	(%rsp), %rdx
.Lsrcline_probe:
	.byte	0x0f, 0x1f, 0x44, 0x00, 0x00	/* nopl 0(%rax,%rax,1): probe site */
	.if .Lsrcline_probe - __cyg_profile_func_enter - 9
	.error "the probe site moved: CTRACE_HOOK_SRCLINE_OFF (include/ctrace.h) says 9"
	.endif
	ret
	.size	__cyg_profile_func_enter, .-__cyg_profile_func_enter

	.globl	__cyg_profile_func_exit
	.type	__cyg_profile_func_exit, @function
	.p2align 4
__cyg_profile_func_exit:
	.byte	0x0f, 0x1f, 0x44, 0x00, 0x00	/* nopl 0(%rax,%rax,1): probe site */
	ret
	.size	__cyg_profile_func_exit, .-__cyg_profile_func_exit

	.section .note.GNU-stack, "", @progbits
