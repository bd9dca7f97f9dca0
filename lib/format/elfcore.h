/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ELF64 core files (the format of /proc/vmcore and of kexec's elfcorehdr):
 * a parser that reads through a callback, so it works on a pread()-able fd
 * (the writer kernel's /proc/vmcore) as well as on a mapped file or buffer,
 * and a header builder for exporting an image as a core file.
 *
 * The parser trusts nothing: every table and note is bounds-checked against
 * the file size before it is read; it exposes the PT_LOAD ranges as they are
 * (they may overlap: kexec-tools adds a kernel-text load whose physical range
 * lies inside a RAM load) and the VMCOREINFO note's text.
 * Little-endian ELF64 only.
 */
#ifndef KHIB_ELFCORE_H
#define KHIB_ELFCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where x86-64 maps the kernel image (__START_KERNEL_map,
 * arch/x86/include/asm/page_64_types.h): a core file's kernel-text load has
 * its virtual addresses from here, and N's page table root is read from
 * here by the free-page filter. */
#define KHIB_START_KERNEL_MAP 0xffffffff80000000ULL

struct khib_elf_load {
	uint64_t paddr, vaddr;
	uint64_t offset;  /* file offset of the data */
	uint64_t filesz;  /* bytes present in the file */
	uint64_t memsz;   /* bytes of memory; the rest past filesz is zero */
};

struct khib_elfcore {
	uint16_t machine;
	uint64_t file_bytes;
	size_t n_loads;
	struct khib_elf_load *loads;
	uint8_t *vmcoreinfo; /* NUL-terminated copy, or NULL */
	size_t vmcoreinfo_bytes;
};

#define KHIB_ELF_MAX_PHDRS 65535u
#define KHIB_ELF_MAX_NOTES (16u << 20)

/* Read exactly len bytes at off; -errno on failure. */
typedef int khib_elf_read_fn(void *ctx, void *buf, size_t len, uint64_t off);

/* reason: NULL or KHIB_REASON_MAX bytes, filled on every failure
 * (khib_fail()).  -EBADMSG malformed, -EOPNOTSUPP not a little-endian
 * ELF64 core. */
int khib_elfcore_parse(khib_elf_read_fn *rd, void *ctx, uint64_t file_bytes,
		       struct khib_elfcore **ret, char *reason);
int khib_elfcore_parse_mem(const void *buf, size_t len, struct khib_elfcore **ret, char *reason);
void khib_elfcore_free(struct khib_elfcore *c);

/*
 * Undoing a kexec jump's page swap, for a dump of the kernel that jumped.
 * Before a preserve-context jump the kernel swaps every destination page of
 * the jumped-to kernel (its region and low memory) with the segment's source
 * page (relocate_kernel_64.S swap_pages), so memory saved during the jump
 * holds the jumping kernel's own content of destination page D at its source
 * page S.  The (D, S) pairs are the kimage entry list (IND_* in
 * include/linux/kexec.h), whose head entry relocate_kernel keeps in the
 * control page, the page of the jump-back entry, at CP_PA_BACKUP_PAGES_MAP
 * (x86-64).  The list is read from saved memory: bounded, trusted in nothing.
 *
 * Walk it, reading 4096-byte pages through read_page (which fails for a
 * page not in the dump), and return the pairs in list order, at most
 * max_swaps.  -ENODATA without a jump-back entry; -EBADMSG for a list that
 * is not one (a source before any destination, more than max_swaps sources,
 * an indirection page without a successor, a loop).
 */
struct khib_page_swap {
	uint64_t dest_paddr, src_paddr;
};
typedef int khib_elf_page_fn(void *ctx, uint64_t paddr, void *page);
int khib_elfcore_kexec_swaps(khib_elf_page_fn *read_page, void *ctx, uint64_t jump_back_paddr,
			     size_t max_swaps, struct khib_page_swap **ret, size_t *ret_n);

/*
 * Undo the swap in a dump of the jumping kernel: for each (D, S) pair of
 * the list at jump_back_paddr (at most max_swaps) whose D the dump holds
 * no content of its own for (wanted(ctx, D)), read page S and write it
 * at D.  read as read_page above; -EBADMSG when an S it needs is not in the
 * dump (read -ENOENT), or khib_elfcore_kexec_swaps()'s errors, or write's.
 */
struct khib_elf_page_ops {
	khib_elf_page_fn *read;
	bool (*wanted)(void *ctx, uint64_t paddr);
	int (*write)(void *ctx, uint64_t paddr, const void *page);
	void *ctx;
};
int khib_elfcore_undo_kexec_swaps(const struct khib_elf_page_ops *ops, uint64_t jump_back_paddr,
				  size_t max_swaps);

/*
 * Build the headers of a core file: ELF header, a PT_NOTE holding the
 * VMCOREINFO note (when vmcoreinfo != NULL), one PT_LOAD per load.  Fills
 * each load's offset (page aligned, in order, after the headers) and sets
 * filesz = memsz; returns the header bytes and the total file size.
 */
int khib_elfcore_build(struct khib_elf_load *loads, size_t n_loads, uint16_t machine,
		       const void *vmcoreinfo, size_t vmcoreinfo_bytes, uint8_t **ret_hdr,
		       size_t *ret_hdr_bytes, uint64_t *ret_file_bytes);

/*
 * Build the header a kernel reads through elfcorehdr= (fs/proc/vmcore.c):
 * the ELF header and program headers only, every p_offset a physical
 * address.  One PT_NOTE over note_bytes at note_paddr (a note in memory,
 * e.g. the other kernel's VMCOREINFO note: /proc/vmcore reads notes from
 * there and fails without any), then one PT_LOAD per load with
 * p_offset = p_paddr = paddr and filesz = memsz (the loads' offset and
 * filesz are set to match).  -EINVAL without a note or a load.
 */
int khib_elfcore_build_phys(struct khib_elf_load *loads, size_t n_loads, uint16_t machine,
			    uint64_t note_paddr, uint64_t note_bytes, uint8_t **ret_hdr,
			    size_t *ret_hdr_bytes);

#endif
