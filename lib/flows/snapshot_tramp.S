/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The landing page for a resume through the kernel's own /dev/snapshot.
 *
 * The restoring kernel copies every page of the stream into place and then
 * jumps to the header's jump_address with %r9 = the header's cr3, running
 * on temporary page tables that map the 2 MiB around jump_address to
 * jump_address_phys (arch/x86/power/hibernate_asm_64.S core_restore_code).
 * khib sets both addresses to this page's physical address, placed in the
 * writer kernel's region (never part of the hibernated kernel's image), so
 * that mapping is the identity, and cr3 to the hibernated kernel's kexec
 * identity page table (the first page of its control block).
 *
 * Like lib/system/purgatory.S this is data for userspace, copied and patched:
 *   offset  8: the hibernated kernel's re-entry address
 *   offset 16: physical address of the zero-run list, or 0: pairs of u64
 *              (physical address, length in 8-byte words), ending with a
 *              zero length — used pages that were all zero and were left
 *              out of the stream to save the restoring kernel memory
 *
 * It switches to the hibernated kernel's page table, puts CR4 and CR0 in
 * the state its kexec re-entry code runs in (PAE, LA57 kept; no WP/AM/TS/EM),
 * zeroes the runs, pushes a dummy peer entry (the re-entry code reads
 * 0(%rsp)) and jumps to the re-entry point, exactly as a kexec jump back
 * would arrive.
 */

	.section .rodata.khib_snapshot_tramp, "a"
	.code64
	.balign 16
	.globl khib_snapshot_tramp_start
	.globl khib_snapshot_tramp_end

khib_snapshot_tramp_start:
	jmp	1f
	.balign 8
t_reentry:	.quad 0
t_zero_list:	.quad 0

1:
	cli
	cld
	movq	%r9, %cr3
	movq	%cr4, %rax
	andq	$0x1000, %rax		/* keep LA57: it cannot change in long mode */
	orq	$0x20, %rax		/* PAE; PGE off flushes global entries */
	movq	%rax, %cr4
	movq	%cr0, %rax
	andq	$~0x5000c, %rax		/* WP, AM, TS, EM off */
	movq	%rax, %cr0
	leaq	t_stack_top(%rip), %rsp

	movq	t_zero_list(%rip), %rsi
	testq	%rsi, %rsi
	jz	3f
2:
	movq	8(%rsi), %rcx
	testq	%rcx, %rcx
	jz	3f
	movq	(%rsi), %rdi
	xorl	%eax, %eax
	rep stosq
	addq	$16, %rsi
	jmp	2b
3:
	pushq	$0
	movq	t_reentry(%rip), %rax
	jmp	*%rax

	.balign 16
t_stack:
	.fill	256, 1, 0
t_stack_top:
khib_snapshot_tramp_end:

	.section .note.GNU-stack, "", @progbits
