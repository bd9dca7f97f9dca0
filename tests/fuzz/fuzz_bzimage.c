/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: the bzImage parser (khib jump --kernel, the writer and restore
 * kernels), and, for every input it accepts, the zero page built from it
 * with a small fixed e820 map and layout.
 */
#include <string.h>

#include "bzimage.h"
#include "fuzz.h"
#include "util.h"

static void try_layout(const struct khib_bzimage *bz, uint64_t kernel_paddr, size_t cmdline_len,
		       uint64_t initrd_paddr)
{
	static uint8_t zero_page[4096];
	struct khib_memmap e820 = {
		.n = 4,
		.r = {
			{ 0, 0x9fc00, KHIB_E820_RAM },
			{ 0x9fc00, 0x100000, KHIB_E820_RESERVED },
			{ 0x100000, 0x7ffe0000, KHIB_E820_RAM },
			{ 0x7ffe0000, 0x80000000, KHIB_E820_RESERVED },
		},
	};
	struct khib_boot_layout layout = {
		.kernel_paddr = kernel_paddr,
		.cmdline_paddr = 0x20000,
		.cmdline_len = cmdline_len,
		.initrd_paddr = initrd_paddr,
		.initrd_bytes = 0x100000,
		.acpi_rsdp = 0xf5a40,
	};

	khib_bzimage_boot_params(bz, &layout, &e820, zero_page);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct khib_bzimage bz;
	uint64_t sum = 0;

	if (khib_bzimage_parse(data, size, &bz) < 0)
		return 0;
	/* Touch the first and last byte of everything the parser promised is
	 * in bounds: ASan sees a parse that overshoots the input. */
	sum += bz.setup[0] + bz.setup[bz.setup_bytes - 1] + bz.setup[0x1f1 + bz.hdr_bytes - 1];
	if (bz.kernel_bytes)
		sum += bz.kernel[0] + bz.kernel[bz.kernel_bytes - 1];
	/* Aligned, then misaligned kernel; command lines at and past the
	 * limit; an initrd below and above initrd_addr_max. */
	try_layout(&bz, ALIGN_UP(0x1000000ULL, (uint64_t)bz.kernel_alignment), 0, 0x7f000000);
	try_layout(&bz, 0x1000000ULL + 4096, bz.cmdline_size, 0x7f000000);
	try_layout(&bz, 0x100000000ULL, (size_t)bz.cmdline_size + 1, 0);
	try_layout(&bz, ALIGN_UP(0x1000000ULL, (uint64_t)bz.kernel_alignment), bz.cmdline_size,
		   (uint64_t)bz.initrd_addr_max);
	return (int)(sum & 0);
}
