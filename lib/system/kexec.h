/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kexec module: the only code in khib that calls kexec_load(2) or
 * reboot(LINUX_REBOOT_CMD_KEXEC).
 *
 * A preserve-context jump (KEXEC_PRESERVE_CONTEXT) runs another kernel and
 * lets it come back.  For every destination page the kernel *swaps* the
 * page's content with the segment's source page (relocate_kernel_64.S
 * swap_pages), and swaps back on return.  So every page the jumped-to kernel
 * touches must be a segment destination, or the running kernel's data there
 * is lost.  A jump plan therefore covers, with segments and nothing else:
 *
 *   low memory   [low_start, low_end)     zero-filled; the jumped-to kernel's
 *                                          real-mode trampoline lives here
 *   region       [R, R+S)                  kernel at R (its decompressor and
 *                                          RAM), then the initramfs, then the
 *                                          optional ELF core header pages, then
 *                                          four pages: command line, zero page,
 *                                          purgatory, handoff block
 *
 * The zero page's e820 table lists only those two ranges as RAM, less the
 * handoff page and the ELF core header pages: those are reserved, so the
 * jumped-to kernel never allocates them and reads them through /dev/mem
 * (handoff) or as old memory (elfcorehdr=, for /proc/vmcore).  All other
 * RAM is marked reserved, firmware ranges are passed on unchanged.  The
 * jumped-to kernel, its KASLR included, then cannot touch anything else.
 */
#ifndef KHIB_KEXEC_H
#define KHIB_KEXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handoff.h"
#include "memmap.h"

#define KHIB_KEXEC_MAX_SEGMENTS 16
/* The four pages at the top of the region. */
#define KHIB_KEXEC_TAIL_PAGES 5
/* Decompressors below this move the kernel to it (LOAD_PHYSICAL_ADDR). */
#define KHIB_REGION_MIN_START (16ULL << 20)
/* An ELF core header for 64 ranges and a note takes one page. */
#define KHIB_KEXEC_ELFCOREHDR_MAX_PAGES 4

struct khib_kexec_segment {
	const void *buf;
	size_t bufsz;
	uint64_t mem;
	uint64_t memsz;
};

struct khib_jump_config {
	const void *kernel;		/* a bzImage file's bytes */
	size_t kernel_bytes;
	const void *initrd;		/* may be NULL */
	size_t initrd_bytes;
	const char *cmdline;		/* khib.handoff=ADDR is appended */
	uint64_t region_start, region_bytes;
	uint64_t low_start, low_bytes;
	const struct khib_memmap *firmware;
	uint64_t acpi_rsdp;		/* 0: the kernel searches for it */
	uint8_t screen_info[64];	/* the console to show progress on
					   (bzimage.h; zeros: none) */
	struct khib_handoff handoff;	/* identity, flags, ranges; the plan
					   fills in region, low and address */
	bool no_return;			/* a plain kexec: nothing to jump back to,
					   the purgatory records no re-entry address */
	bool region_reserved;		/* the running kernel never uses the region
					   (its crash kernel reservation): segments
					   carry only the kernel, initramfs, ELF
					   core header and tail pages, so the load
					   takes a few MiB of its memory, not the
					   region.  The rest needs no saving, and
					   its identity map (all RAM) covers it */
	const void *elfcorehdr;		/* NULL: none.  Else an ELF core header
					   (khib_kexec_build_elfcorehdr()) placed
					   below the tail pages, reserved in the
					   e820 and named by elfcorehdr=SIZE@ADDR */
	size_t elfcorehdr_bytes;
	const void *extmap;		/* NULL: none.  Else the target's extent
					   map (handoff.h, handoff.nr_extents
					   entries) placed below the ELF core
					   header, reserved in the e820 and named
					   by handoff.extents_paddr */
	size_t extmap_bytes;
	const void *key_page;		/* NULL: in clear.  Else a key page
					   (handoff.h, KHIB_KEYPAGE_BYTES) placed
					   beside the handoff and named there */
};

struct khib_jump_plan {
	struct khib_kexec_segment seg[KHIB_KEXEC_MAX_SEGMENTS];
	size_t nr_segments;
	uint64_t entry;			/* purgatory */
	uint64_t kernel_paddr, initrd_paddr, cmdline_paddr;
	uint64_t boot_params_paddr, key_paddr, handoff_paddr;
	uint64_t elfcorehdr_paddr;	/* 0: no ELF core header */
	uint64_t extmap_paddr;		/* 0: no extent map */
	struct khib_memmap e820;	/* what the jumped-to kernel is told */
	uint8_t *tail;			/* owned: the tail pages (wiped on release) */
	bool preserve_context;
};

/*
 * The ELF core header (ET_CORE, EM_X86_64) that lets the jumped-to kernel
 * offer the running kernel's memory as /proc/vmcore: a PT_NOTE over the
 * VMCOREINFO note (cfg->handoff.vmcoreinfo_paddr/bytes, in place), then one
 * PT_LOAD per range the writer saves (khib_save_ranges() for cfg's region
 * and low memory), p_offset = p_paddr, p_vaddr = -1 (the direct map's base
 * is not known here).  -ENODATA without a VMCOREINFO note; -ERANGE when the
 * note does not lie in saved memory (in the region, its content would be
 * the jumped-to kernel's, and /proc/vmcore cannot work without a note).
 */
int khib_kexec_build_elfcorehdr(const struct khib_jump_config *cfg, uint8_t **ret,
				size_t *ret_bytes);

/*
 * Is the page at paddr one the jumped-to kernel sees as the running
 * kernel's, where it can report (the status page)?  Not in the region or
 * low memory: there the jump swaps the running kernel's page out for the
 * jumped-to kernel's own, which /dev/mem will not even map.
 */
bool khib_kexec_page_outside(const struct khib_jump_config *cfg, uint64_t paddr);

/* Lay out segments for cfg.  Pure computation; -EINVAL for a region that is
 * misaligned or not RAM, -ENOSPC too small for the kernel, -E2BIG for an
 * ELF core header of more than KHIB_KEXEC_ELFCOREHDR_MAX_PAGES,
 * -EADDRINUSE for a status page that is not khib_kexec_page_outside(). */
int khib_jump_plan_build(const struct khib_jump_config *cfg, struct khib_jump_plan *ret);
void khib_jump_plan_release(struct khib_jump_plan *p);

/*
 * Pages of the running kernel that kexec_load(2) of the plan takes until
 * the jump or the unload (kernel/kexec_core.c, arch/x86/kernel/
 * machine_kexec_64.c): a copy of every segment page; the entry list, 511
 * entries to a page (a source entry per page, a destination entry per
 * segment, the end); the control code page and, with preserve context, the
 * swap page; and the identity page table over RAM up to ram_top and every
 * segment, counted as if it used 2 MiB pages (one PMD page per GiB).
 */
uint64_t khib_jump_plan_load_pages(const struct khib_jump_plan *p, uint64_t ram_top);

/* The e820 table for a kernel confined to `keep` (RAM ranges): firmware RAM
 * outside them becomes reserved. */
int khib_kexec_confine_e820(const struct khib_memmap *firmware, const struct khib_memmap *keep,
			    struct khib_memmap *ret);

/*
 * Choose a region of `bytes` for the jumped-to kernel: the highest
 * 2 MiB-aligned run of firmware RAM at or above 16 MiB that overlaps nothing
 * in `avoid` (the running kernel's image, a crash kernel).  -ENOSPC if none.
 */
int khib_kexec_choose_region(const struct khib_memmap *firmware, const struct khib_memmap *avoid,
			     uint64_t bytes, uint64_t *ret_start);

/*
 * The region khib's writer and restore kernels need on a machine with
 * ram_bytes of RAM, when `threads` (0: one) compress or decompress there.
 * Measured on khib's kernel (kernel/), 1 CPU: the kernel reserves ~21 MiB
 * while it boots (its 12 MiB image, the struct pages of the two memory
 * sections it owns, its initramfs, page tables) and frees ~5 MiB of that;
 * the writer needs ~2 MiB per thread for chunk buffers and its page
 * bitmap and chunk index grow with RAM.  A 32 MiB region kept 6-7 MiB free
 * while saving 512 MiB with lz4 or zstd:3 until the kernel took the drivers
 * of real machines (NVMe, AHCI, SCSI, device-mapper, EFI, the framebuffer
 * console): then 5 MiB, where the writer wanted 7.  So: 34 MiB, plus 256
 * KiB per GiB of RAM, plus 2 MiB per thread beyond the first, 2 MiB
 * aligned.
 */
uint64_t khib_kexec_default_region_bytes(uint64_t ram_bytes, unsigned threads);

/*
 * The least region a kernel boots in: its init_size (where it decompresses
 * and runs), its initramfs, and 12 MiB for what it reserves while booting
 * beyond its own image (struct pages, page tables) and a small userspace.
 * Measured: khib's kernel (init_size 16.2 MiB, 0.8 MiB initramfs) ran out
 * of memory while booting in 26 MiB, and booted with room to spare in 32.
 */
#define KHIB_KEXEC_BOOT_EXTRA_BYTES (12ULL << 20)
uint64_t khib_kexec_region_floor(uint32_t init_size, size_t initrd_bytes);

/* The RAM below 1 MiB a jumped-to kernel needs: [0x1000, end of the first
 * firmware RAM range, capped at 1 MiB). */
int khib_kexec_low_memory(const struct khib_memmap *firmware, uint64_t *ret_start,
			  uint64_t *ret_bytes);

/* kexec_load(2) the plan; with KEXEC_PRESERVE_CONTEXT unless the config
 * was no_return (then khib_kexec_jump() does not come back). */
int khib_kexec_load_plan(const struct khib_jump_plan *p);

/* Unload whatever kexec image is loaded.  6.1 allows one jump per load:
 * call this after coming back. */
int khib_kexec_unload(void);

/*
 * Does the running kernel take preserve-context loads?  Probes with an
 * empty load (which also unloads a loaded normal kexec image, never a crash
 * kernel): 0 yes; -EOPNOTSUPP no CONFIG_KEXEC_JUMP; -ENOSYS no kexec_load;
 * -EPERM not allowed (no CAP_SYS_BOOT, kexec_load_disabled, lockdown).
 */
int khib_kexec_probe_jump(void);

/* Jump into the loaded image; returns 0 once the other side jumped back. */
int khib_kexec_jump(void);

/*
 * In the jumped-to kernel: load the jump back to the kernel described by h
 * (h->jump_back_entry).  The segment covers that kernel's two control pages
 * (page table + code page before the entry), with their current content read
 * through `devmem`, so the swap on the way changes nothing while the page
 * table that the return path runs on maps them.  -EINVAL when the entry
 * does not lie in the other kernel's RAM outside this kernel's region.
 */
int khib_kexec_load_jump_back(const struct khib_handoff *h, const char *devmem);

#endif
