/* --probe batch: the function the hooks call when a thread's buffer is full
 * (and once, to register it). Its first instruction is a 5-byte NOP the
 * uprobe sits on, as on the preload mode's hooks; it does nothing itself. */
	.text
	.globl	ctrace_batch_flush
	.type	ctrace_batch_flush, @function
	.p2align 4
ctrace_batch_flush:
	.byte	0x0f, 0x1f, 0x44, 0x00, 0x00	/* nopl 0(%rax,%rax,1): probe site */
	ret
	.size	ctrace_batch_flush, .-ctrace_batch_flush

/* -F/-N: called once per image by the filtering build's first call, with
 * the address of its set of selected functions: the probe stops the
 * process for the tracer to write it */
	.globl	ctrace_batch_hello
	.type	ctrace_batch_hello, @function
	.p2align 4
ctrace_batch_hello:
	.byte	0x0f, 0x1f, 0x44, 0x00, 0x00	/* nopl 0(%rax,%rax,1): probe site */
	ret
	.size	ctrace_batch_hello, .-ctrace_batch_hello

	.section .note.GNU-stack, "", @progbits
