/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib's purgatory: the few instructions between the normal kernel's
 * relocate_kernel and the jumped-to kernel's 64-bit entry point.
 *
 * This is data for userspace, never executed there: the loader copies the
 * bytes between khib_purgatory_start and khib_purgatory_end into a page of
 * the jumped-to kernel's region and patches the parameter block.  The code
 * is position independent (only %rip-relative references inside the blob).
 *
 * Entry state (arch/x86/kernel/relocate_kernel_64.S, preserve-context path):
 * 64-bit mode, paging on with the identity page table of the kernel that
 * jumped, CR4 = PAE only (no SSE), GDT and IDT invalid, interrupts off, and
 * 0(%rsp) holding the re-entry address in that kernel's control page.
 *
 * What it does:
 *   1. stores the re-entry address at p_entry_slot (in the handoff page),
 *      so the jumped-to kernel can jump back;
 *   2. loads a flat GDT with __BOOT_CS = 0x10 and __BOOT_DS = 0x18 and
 *      reloads every segment register (boot protocol, 64-bit entry);
 *   3. switches to its own stack, points %rsi at boot_params and enters the
 *      kernel at p_kernel_entry.
 *
 * The parameter block sits at fixed offsets that lib/system/kexec.c relies on.
 */

	.section .rodata.khib_purgatory, "a"
	.code64
	.balign 16
	.globl khib_purgatory_start
	.globl khib_purgatory_end

khib_purgatory_start:
	jmp	1f
	.balign 8
p_kernel_entry:	.quad 0		/* offset  8: kernel 64-bit entry */
p_boot_params:	.quad 0		/* offset 16: zero page */
p_entry_slot:	.quad 0		/* offset 24: where to store the re-entry address, 0: nowhere */

1:
	cli
	cld
	movq	(%rsp), %rax
	movq	p_entry_slot(%rip), %rdx
	testq	%rdx, %rdx
	jz	2f
	movq	%rax, (%rdx)
2:
	leaq	gdt(%rip), %rax
	movq	%rax, gdt_base(%rip)
	lgdt	gdt_desc(%rip)
	movl	$0x18, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	leaq	stack_top(%rip), %rsp
	leaq	3f(%rip), %rax
	pushq	$0x10
	pushq	%rax
	lretq
3:
	movq	p_boot_params(%rip), %rsi
	movq	p_kernel_entry(%rip), %rax
	xorl	%ebx, %ebx
	xorl	%ebp, %ebp
	xorl	%edi, %edi
	jmp	*%rax

	.balign 16
gdt:
	.quad	0			/* null */
	.quad	0			/* unused */
	.quad	0x00af9a000000ffff	/* 0x10: 64-bit code, flat */
	.quad	0x00cf92000000ffff	/* 0x18: data, flat */
gdt_end:
	.word	0
gdt_desc:
	.word	gdt_end - gdt - 1
gdt_base:
	.quad	0

	.balign 16
stack:
	.fill	512, 1, 0
stack_top:
khib_purgatory_end:

	.section .note.GNU-stack, "", @progbits
