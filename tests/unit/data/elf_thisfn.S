/* Target for test_elf: hand-made hook calls around the traps of proving this_fn
 * (the rdi a hook call passes). Every hook call in a known_* function passes
 * `target`; in a zero_* function the value cannot be proven (or is not a
 * function), so hook_sites_find must report 0; in an eh_* function, 0 only when
 * built with -DWITH_EH (the image then has landing pads). Never run, only decoded. */
	.intel_syntax noprefix
	.text

#define FUNC(name) .globl name; .type name, @function; name:
#define END(name) .size name, . - name
#define ENTER call __cyg_profile_func_enter@PLT
#define EXIT call __cyg_profile_func_exit@PLT

FUNC(target)
	xor eax, eax
	ret
END(target)

/* -O0 style: through rax */
FUNC(known_via_rax)
	lea rax, [rip + target]
	mov rdi, rax
	ENTER
	ret
END(known_via_rax)

/* -O2 style: loaded once before any branch into a callee-saved register, which
 * survives calls and the joins after it; early epilogues pop it */
FUNC(known_pinned)
	push rbx
	lea rbx, [rip + target]
	mov rdi, rbx
	ENTER
	test eax, eax
	je 1f
	pop rbx
	ret
1:	call target
	test eax, eax
	jne 2f
	call target
2:	mov rdi, rbx
	EXIT
	pop rbx
	ret
END(known_pinned)

/* another path joins between the load and the call */
FUNC(zero_join)
	lea rdi, [rip + main]
	test esi, esi
	jne 1f
	lea rdi, [rip + target]
1:	ENTER
	ret
END(zero_join)

/* a loop brings another rdi back to the call */
FUNC(zero_loop)
	lea rdi, [rip + target]
1:	ENTER
	lea rdi, [rip + main]
	test eax, eax
	jne 1b
	ret
END(zero_loop)

/* calls clobber rdi */
FUNC(zero_call)
	lea rdi, [rip + target]
	call target
	ENTER
	ret
END(zero_call)

/* writes to part of rdi, and implicit writes Capstone does not list */
FUNC(zero_partial)
	lea rdi, [rip + target]
	mov dil, 0
	ENTER
	lea rax, [rip + target]
	lock cmpxchg [rsp - 8], rcx
	mov rdi, rax
	ENTER
	lea rcx, [rip + target]
	syscall
	mov rdi, rcx
	ENTER
	ret
END(zero_partial)

/* not the start of a function */
FUNC(zero_not_function)
	lea rdi, [rip + target + 1]
	ENTER
	lea rdi, [rip + data]
	ENTER
	ret
END(zero_not_function)

/* an indirect jump may land anywhere in its function */
FUNC(zero_indirect)
	lea rdi, [rip + target]
	test esi, esi
	jne 2f
1:	ENTER
	ret
2:	lea rdi, [rip + main]
	lea rax, [rip + 1b]
	jmp rax
END(zero_indirect)

/* the pinned register is popped, then the function goes on */
FUNC(zero_popped)
	push rbx
	lea rbx, [rip + target]
	test esi, esi
	je 2f
1:	mov rdi, rbx
	EXIT
	ret
2:	pop rbx
	jmp 1b
END(zero_popped)

/* loaded after a branch: some path may skip the load */
FUNC(zero_late_load)
	push rbx
	test esi, esi
	je 1f
	lea rbx, [rip + target]
1:	call target
	mov rdi, rbx
	EXIT
	pop rbx
	ret
END(zero_late_load)

/* rdi was copied from the register before it was loaded */
FUNC(zero_copied_early)
	push rbx
	mov rdi, rbx
	lea rbx, [rip + target]
	ENTER
	pop rbx
	ret
END(zero_copied_early)

/* what follows a return is reached from elsewhere (a landing pad, or a jump
 * from code we do not see) */
FUNC(zero_after_ret)
	lea rdi, [rip + target]
	ret
	EXIT
	ret
END(zero_after_ret)

/* another function jumps into the middle with another value */
FUNC(zero_entered)
	push rbx
	lea rbx, [rip + target]
	call target
zero_entered_mid:
	mov rdi, rbx
	EXIT
	pop rbx
	ret
END(zero_entered)

FUNC(enters_zero_entered)
	push rbx
	lea rbx, [rip + main]
	jmp zero_entered_mid
END(enters_zero_entered)

/* with landing pads, the code after a call may be a pad entered from elsewhere */
FUNC(eh_after_call)
	push rbx
	call target
	lea rbx, [rip + target]
	call target
	mov rdi, rbx
	EXIT
	pop rbx
	ret
END(eh_after_call)

/* split by gcc into hot and cold parts, a landing pad in one part may serve
 * calls in the other: pins are not trusted there */
FUNC(eh_split)
	push rbx
	lea rbx, [rip + target]
	call target
	mov rdi, rbx
	EXIT
	pop rbx
	ret
END(eh_split)

FUNC(eh_split.cold)
	ud2
END(eh_split.cold)

FUNC(main)
	xor eax, eax
	ret
END(main)

	.data
data:	.quad 0

#ifdef WITH_EH
	.section .gcc_except_table, "a", @progbits
	.byte 0xff
#endif

	.section .note.GNU-stack, "", @progbits
