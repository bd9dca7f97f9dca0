/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The x86 boot protocol as far as khib needs it: parse a bzImage's setup
 * header (Documentation/x86/boot.rst) and build the zero page (struct
 * boot_params) that the kernel's 64-bit entry point expects in %rsi.
 *
 * Parsing never trusts the file: every offset is checked against its length.
 */
#ifndef KHIB_BZIMAGE_H
#define KHIB_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "memmap.h"

/* Offset of the 64-bit entry point from the protected-mode kernel's start. */
#define KHIB_BZIMAGE_ENTRY64_OFFSET 0x200

struct khib_bzimage {
	const uint8_t *setup;	   /* real-mode part: boot sector + setup */
	size_t setup_bytes;
	const uint8_t *kernel;	   /* protected-mode kernel, loaded as is */
	size_t kernel_bytes;
	size_t hdr_bytes;	   /* setup header length, from offset 0x1f1 */
	uint16_t version;	   /* boot protocol version, e.g. 0x020f */
	uint16_t xloadflags;
	uint32_t kernel_alignment;
	uint32_t init_size;	   /* bytes the kernel needs from its load address */
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;	   /* longest command line, without the NUL */
	uint64_t pref_address;
};

#define KHIB_XLF_KERNEL_64 (1u << 0)
#define KHIB_XLF_CAN_BE_LOADED_ABOVE_4G (1u << 1)

/*
 * Parse a bzImage held in buf.  The result points into buf.  -ENOEXEC for a
 * file that is not a bzImage, -EOPNOTSUPP for one khib cannot load (older
 * than boot protocol 2.12, no 64-bit entry point, not relocatable).
 */
int khib_bzimage_parse(const void *buf, size_t len, struct khib_bzimage *ret);

struct khib_boot_layout {
	uint64_t kernel_paddr;	/* where bz->kernel is loaded */
	uint64_t cmdline_paddr;
	size_t cmdline_len;	/* without the NUL */
	uint64_t initrd_paddr;
	uint64_t initrd_bytes;
	uint64_t acpi_rsdp;	/* 0: let the kernel search for it */
	/* The console the boot loader left (struct screen_info, the zero
	 * page's first KHIB_SCREEN_INFO_BYTES), or NULL: none. */
	const uint8_t *screen_info;
};

#define KHIB_SCREEN_INFO_BYTES 64

/*
 * The linear framebuffer a screen_info describes (a VESA or EFI one), as
 * [*ret_base, *ret_base + *ret_bytes): 1; 0 and no range for a text-mode
 * or no console.
 */
int khib_screen_info_framebuffer(const uint8_t si[KHIB_SCREEN_INFO_BYTES], uint64_t *ret_base,
				 uint64_t *ret_bytes);

/*
 * Fill a 4096-byte zero page for bz loaded at layout->kernel_paddr, with the
 * given e820 map (which must fit the zero page's 128 entries: -E2BIG).
 */
int khib_bzimage_boot_params(const struct khib_bzimage *bz, const struct khib_boot_layout *layout,
			     const struct khib_memmap *e820, void *zero_page);

#endif
