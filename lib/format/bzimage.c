/* SPDX-License-Identifier: GPL-2.0-only */
#include "bzimage.h"

#include <asm/bootparam.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "util.h"

/* Offsets in the file, which begins with the zero page's layout. */
#define OFF_SETUP_SECTS 0x1f1
#define OFF_JUMP 0x200
#define OFF_HEADER 0x202
#define HDR_MAGIC 0x53726448 /* "HdrS" */
#define OFF_HDR_END_MIN 0x26c /* the whole struct setup_header (2.15) */
#define OFF_HDR_END_212 0x268 /* through handover_offset (2.12) */

_Static_assert(offsetof(struct boot_params, hdr) == OFF_SETUP_SECTS, "zero page layout");
_Static_assert(sizeof(struct boot_params) == 4096, "zero page size");

int khib_bzimage_parse(const void *buf, size_t len, struct khib_bzimage *ret)
{
	const uint8_t *b = buf;
	const struct setup_header *h;
	struct setup_header hdr;
	size_t setup_sects, setup_bytes, hdr_bytes;

	if (len < OFF_HDR_END_MIN || khib_get_le32(b + OFF_HEADER) != HDR_MAGIC ||
	    khib_get_le16(b + 0x1fe) != 0xaa55)
		return -ENOEXEC;
	h = (const struct setup_header *)(b + OFF_SETUP_SECTS);
	memcpy(&hdr, h, sizeof(hdr));
	if (hdr.version < 0x020c)
		return -EOPNOTSUPP;
	if (!(hdr.xloadflags & KHIB_XLF_KERNEL_64) || !hdr.relocatable_kernel)
		return -EOPNOTSUPP;
	/* The header's own length: the jump at 0x200 skips over it. */
	hdr_bytes = (size_t)(OFF_JUMP + 2 + b[OFF_JUMP + 1]) - OFF_SETUP_SECTS;
	if (hdr_bytes < OFF_HDR_END_212 - OFF_SETUP_SECTS || hdr_bytes > 0x290 - OFF_SETUP_SECTS)
		return -ENOEXEC;
	setup_sects = hdr.setup_sects ? hdr.setup_sects : 4;
	setup_bytes = (setup_sects + 1) * 512;
	if (setup_bytes >= len || setup_bytes < OFF_SETUP_SECTS + hdr_bytes)
		return -ENOEXEC;
	if (!hdr.init_size || hdr.kernel_alignment < 4096 ||
	    (hdr.kernel_alignment & (hdr.kernel_alignment - 1)))
		return -ENOEXEC;

	*ret = (struct khib_bzimage){
		.setup = b,
		.setup_bytes = setup_bytes,
		.kernel = b + setup_bytes,
		.kernel_bytes = len - setup_bytes,
		.hdr_bytes = hdr_bytes,
		.version = hdr.version,
		.xloadflags = hdr.xloadflags,
		.kernel_alignment = hdr.kernel_alignment,
		.init_size = hdr.init_size,
		.initrd_addr_max = hdr.initrd_addr_max,
		.cmdline_size = hdr.cmdline_size,
		.pref_address = hdr.pref_address,
	};
	return 0;
}

_Static_assert(sizeof(struct screen_info) == KHIB_SCREEN_INFO_BYTES, "screen_info size");

int khib_screen_info_framebuffer(const uint8_t si[KHIB_SCREEN_INFO_BYTES], uint64_t *ret_base,
				 uint64_t *ret_bytes)
{
	struct screen_info s;
	uint64_t base, bytes;

	memcpy(&s, si, sizeof(s));
	if (s.orig_video_isVGA != VIDEO_TYPE_VLFB && s.orig_video_isVGA != VIDEO_TYPE_EFI)
		return 0;
	base = s.lfb_base;
	if (s.capabilities & VIDEO_CAPABILITY_64BIT_BASE)
		base |= (uint64_t)s.ext_lfb_base << 32;
	/* The EFI stub counts lfb_size in bytes, the VESA setup code in
	 * 64 KiB units (arch/x86/boot/video-vesa.c); never less than the
	 * visible lines. */
	bytes = s.orig_video_isVGA == VIDEO_TYPE_EFI ? s.lfb_size : (uint64_t)s.lfb_size << 16;
	if ((uint64_t)s.lfb_height * s.lfb_linelength > bytes)
		bytes = (uint64_t)s.lfb_height * s.lfb_linelength;
	if (!base || !bytes)
		return 0;
	*ret_base = base;
	*ret_bytes = bytes;
	return 1;
}

int khib_bzimage_boot_params(const struct khib_bzimage *bz, const struct khib_boot_layout *layout,
			     const struct khib_memmap *e820, void *zero_page)
{
	struct boot_params *bp = zero_page;

	if (e820->n > E820_MAX_ENTRIES_ZEROPAGE)
		return -E2BIG;
	if (layout->cmdline_len > bz->cmdline_size)
		return -E2BIG;
	if (layout->kernel_paddr % bz->kernel_alignment)
		return -EINVAL;
	if (layout->initrd_bytes && !(bz->xloadflags & KHIB_XLF_CAN_BE_LOADED_ABOVE_4G) &&
	    layout->initrd_paddr + layout->initrd_bytes - 1 > bz->initrd_addr_max)
		return -ERANGE;

	/* A clean page with the kernel's own setup header copied in, as the
	 * boot protocol asks of a boot loader. */
	memset(bp, 0, sizeof(*bp));
	memcpy((uint8_t *)bp + OFF_SETUP_SECTS, bz->setup + OFF_SETUP_SECTS, bz->hdr_bytes);

	bp->hdr.type_of_loader = 0xff; /* undefined loader */
	bp->hdr.loadflags |= LOADED_HIGH;
	bp->hdr.code32_start = (uint32_t)layout->kernel_paddr;
	bp->hdr.cmd_line_ptr = (uint32_t)layout->cmdline_paddr;
	bp->ext_cmd_line_ptr = (uint32_t)(layout->cmdline_paddr >> 32);
	bp->hdr.ramdisk_image = (uint32_t)layout->initrd_paddr;
	bp->ext_ramdisk_image = (uint32_t)(layout->initrd_paddr >> 32);
	bp->hdr.ramdisk_size = (uint32_t)layout->initrd_bytes;
	bp->ext_ramdisk_size = (uint32_t)(layout->initrd_bytes >> 32);
	bp->acpi_rsdp_addr = layout->acpi_rsdp;
	if (layout->screen_info)
		memcpy(&bp->screen_info, layout->screen_info, KHIB_SCREEN_INFO_BYTES);

	for (size_t i = 0; i < e820->n; i++) {
		bp->e820_table[i].addr = e820->r[i].start;
		bp->e820_table[i].size = e820->r[i].end - e820->r[i].start;
		bp->e820_table[i].type = e820->r[i].type;
	}
	bp->e820_entries = (uint8_t)e820->n;
	return 0;
}
