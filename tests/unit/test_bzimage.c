/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The bzImage parser and the zero page, against synthetic images whose
 * header bytes are written at the offsets of the boot protocol, and read
 * back through <asm/bootparam.h>'s struct boot_params.
 */
#include "bzimage.h"
#include "harness.h"
#include "test_bzimage_fixture.h"
#include "util.h"

#include <asm/bootparam.h>
#include <stdlib.h>

TEST(bzimage_parse_good)
{
	struct fx_bz p;
	struct khib_bzimage bz;
	size_t len;
	_cleanup_free_ uint8_t *img = NULL;

	fx_bz_default(&p);
	p.setup_sects = 27;
	p.initrd_addr_max = 0x37ffffff;
	p.pref_address = 0x1000000;
	p.cmdline_size = 0x7ff;
	p.init_size = 0x2a3c000;
	p.kernel_alignment = 0x1000000;
	p.xloadflags = 0x7f;
	img = fx_bz_build(&p, &len);

	ASSERT_OK(khib_bzimage_parse(img, len, &bz));
	ASSERT_TRUE(bz.setup == img);
	ASSERT_EQ(bz.setup_bytes, 28 * 512);
	ASSERT_TRUE(bz.kernel == img + 28 * 512);
	ASSERT_EQ(bz.kernel_bytes, p.kernel_bytes);
	ASSERT_EQ(bz.kernel_bytes + bz.setup_bytes, len);
	ASSERT_EQ(bz.kernel[0], fx_bz_payload(0));
	ASSERT_EQ(bz.kernel[bz.kernel_bytes - 1], fx_bz_payload(bz.kernel_bytes - 1));
	ASSERT_EQ(bz.hdr_bytes, 0x26c - 0x1f1);
	ASSERT_EQ(bz.version, 0x020f);
	ASSERT_EQ(bz.xloadflags, 0x7f);
	ASSERT_EQ_U64(bz.kernel_alignment, 0x1000000);
	ASSERT_EQ_U64(bz.init_size, 0x2a3c000);
	ASSERT_EQ_U64(bz.initrd_addr_max, 0x37ffffff);
	ASSERT_EQ_U64(bz.cmdline_size, 0x7ff);
	ASSERT_EQ_U64(bz.pref_address, 0x1000000);
}

TEST(bzimage_parse_setup_sects_zero_means_four)
{
	struct fx_bz p;
	struct khib_bzimage bz;
	size_t len;
	_cleanup_free_ uint8_t *img = NULL;

	fx_bz_default(&p);
	p.setup_sects = 0;
	img = fx_bz_build(&p, &len);
	ASSERT_EQ(len, 5 * 512 + p.kernel_bytes);
	ASSERT_OK(khib_bzimage_parse(img, len, &bz));
	ASSERT_EQ(bz.setup_bytes, 5 * 512);
	ASSERT_TRUE(bz.kernel == img + 5 * 512);
}

/* Parse a default image with one byte (or 16/32-bit field) changed. */
static int parse_with(void (*edit)(uint8_t *img, size_t len), struct khib_bzimage *bz)
{
	struct fx_bz p;
	size_t len;
	_cleanup_free_ uint8_t *img = NULL;

	fx_bz_default(&p);
	img = fx_bz_build(&p, &len);
	edit(img, len);
	return khib_bzimage_parse(img, len, bz);
}

static void no_boot_flag(uint8_t *b, size_t len) { (void)len; b[0x1fe] = 0x55; b[0x1ff] = 0xab; }
static void no_hdrs(uint8_t *b, size_t len) { (void)len; b[0x205] = 's'; }
static void version_20b(uint8_t *b, size_t len) { (void)len; khib_put_le16(b + 0x206, 0x020b); }
static void version_20c(uint8_t *b, size_t len) { (void)len; khib_put_le16(b + 0x206, 0x020c); }
static void version_high(uint8_t *b, size_t len) { (void)len; khib_put_le16(b + 0x206, 0x0300); }
static void no_kernel64(uint8_t *b, size_t len) { (void)len; khib_put_le16(b + 0x236, 0x2); }
static void not_relocatable(uint8_t *b, size_t len) { (void)len; b[0x234] = 0; }
static void hdr_too_short(uint8_t *b, size_t len) { (void)len; b[0x201] = 0x65; }
static void hdr_min(uint8_t *b, size_t len) { (void)len; b[0x201] = 0x66; }
static void hdr_max(uint8_t *b, size_t len) { (void)len; b[0x201] = 0x8e; }
static void hdr_too_long(uint8_t *b, size_t len) { (void)len; b[0x201] = 0x8f; }
static void hdr_jump_ff(uint8_t *b, size_t len) { (void)len; b[0x201] = 0xff; }
static void align_zero(uint8_t *b, size_t len) { (void)len; khib_put_le32(b + 0x230, 0); }
static void align_small(uint8_t *b, size_t len) { (void)len; khib_put_le32(b + 0x230, 0x800); }
static void align_4k(uint8_t *b, size_t len) { (void)len; khib_put_le32(b + 0x230, 0x1000); }
static void align_not_pow2(uint8_t *b, size_t len) { (void)len; khib_put_le32(b + 0x230, 0x300000); }
static void no_init_size(uint8_t *b, size_t len) { (void)len; khib_put_le32(b + 0x260, 0); }

TEST(bzimage_parse_refuses_non_bzimages)
{
	struct khib_bzimage bz;

	ASSERT_EQ(parse_with(no_boot_flag, &bz), -ENOEXEC);
	ASSERT_EQ(parse_with(no_hdrs, &bz), -ENOEXEC);
	ASSERT_EQ(parse_with(hdr_too_short, &bz), -ENOEXEC);
	ASSERT_EQ(parse_with(hdr_too_long, &bz), -ENOEXEC);
	ASSERT_EQ(parse_with(hdr_jump_ff, &bz), -ENOEXEC);
	ASSERT_EQ(parse_with(align_zero, &bz), -ENOEXEC);
	ASSERT_EQ(parse_with(align_small, &bz), -ENOEXEC);
	ASSERT_EQ(parse_with(align_not_pow2, &bz), -ENOEXEC);
	ASSERT_EQ(parse_with(no_init_size, &bz), -ENOEXEC);
}

TEST(bzimage_parse_header_length_bounds)
{
	struct khib_bzimage bz;

	ASSERT_OK(parse_with(hdr_min, &bz));
	ASSERT_EQ(bz.hdr_bytes, 0x268 - 0x1f1);
	ASSERT_OK(parse_with(hdr_max, &bz));
	ASSERT_EQ(bz.hdr_bytes, 0x290 - 0x1f1);
	ASSERT_OK(parse_with(align_4k, &bz));
	ASSERT_EQ_U64(bz.kernel_alignment, 0x1000);
}

TEST(bzimage_parse_refuses_unsupported)
{
	struct khib_bzimage bz;

	ASSERT_EQ(parse_with(version_20b, &bz), -EOPNOTSUPP);
	ASSERT_EQ(parse_with(no_kernel64, &bz), -EOPNOTSUPP);
	ASSERT_EQ(parse_with(not_relocatable, &bz), -EOPNOTSUPP);
	ASSERT_OK(parse_with(version_20c, &bz));
	ASSERT_EQ(bz.version, 0x020c);
	ASSERT_OK(parse_with(version_high, &bz));
}

TEST(bzimage_parse_setup_past_end)
{
	struct fx_bz p;
	struct khib_bzimage bz;
	size_t len;
	_cleanup_free_ uint8_t *img = NULL;

	fx_bz_default(&p);
	p.kernel_bytes = 4096;
	img = fx_bz_build(&p, &len);
	/* 21 sectors of setup in a 2560 + 4096 byte file: past the end. */
	img[0x1f1] = 20;
	ASSERT_EQ(khib_bzimage_parse(img, len, &bz), -ENOEXEC);
	/* Exactly the whole file: no protected-mode kernel left. */
	img[0x1f1] = (uint8_t)(len / 512 - 1);
	ASSERT_EQ(len % 512, 0);
	ASSERT_EQ(khib_bzimage_parse(img, len, &bz), -ENOEXEC);
	/* One sector less leaves 512 bytes of kernel. */
	img[0x1f1] = (uint8_t)(len / 512 - 2);
	ASSERT_OK(khib_bzimage_parse(img, len, &bz));
	ASSERT_EQ(bz.kernel_bytes, 512);
	/* The setup must hold the whole header it announces: 1 sector + boot
	 * sector is 0x400 bytes, enough; a header reaching 0x290 still fits. */
	img[0x1f1] = 1;
	img[0x201] = 0x8e;
	ASSERT_OK(khib_bzimage_parse(img, len, &bz));
	ASSERT_EQ(bz.setup_bytes, 1024);
}

TEST(bzimage_parse_failure_leaves_result)
{
	struct khib_bzimage bz, before;

	memset(&bz, 0x5c, sizeof(bz));
	before = bz;
	ASSERT_EQ(parse_with(no_hdrs, &bz), -ENOEXEC);
	ASSERT_MEMEQ(&bz, &before, sizeof(bz));
	ASSERT_EQ(parse_with(not_relocatable, &bz), -EOPNOTSUPP);
	ASSERT_MEMEQ(&bz, &before, sizeof(bz));
}

/* Each prefix of a valid image in a buffer of exactly that size: refused,
 * or parsed with the kernel ending at the buffer's end.  ASan catches any
 * read past the end. */
TEST(bzimage_parse_every_truncation)
{
	struct fx_bz p;
	size_t len;
	_cleanup_free_ uint8_t *img = NULL;

	fx_bz_default(&p);
	p.kernel_bytes = 3000;
	img = fx_bz_build(&p, &len);
	for (size_t n = 0; n <= len; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		struct khib_bzimage bz;
		int r;

		ASSERT_TRUE(cut);
		memcpy(cut, img, n);
		r = khib_bzimage_parse(cut, n, &bz);
		if (n <= fx_bz_setup_bytes(&p)) {
			ASSERT_EQ(r, -ENOEXEC);
		} else {
			ASSERT_OK(r);
			ASSERT_TRUE(bz.kernel + bz.kernel_bytes == cut + n);
		}
		free(cut);
	}
}

/* Every header byte set to 0x00, 0xff and a mid value: whatever parses must
 * describe a setup and kernel inside the buffer. */
TEST(bzimage_parse_header_bytes_mutated)
{
	static const uint8_t vals[] = { 0x00, 0xff, 0x80, 0x01 };
	struct fx_bz p;
	size_t len;
	_cleanup_free_ uint8_t *img = NULL;
	unsigned parsed = 0;

	fx_bz_default(&p);
	p.kernel_bytes = 512;
	img = fx_bz_build(&p, &len);
	for (size_t off = 0x1f0; off < 0x290; off++) {
		uint8_t saved = img[off];

		for (size_t v = 0; v < ARRAY_SIZE(vals); v++) {
			struct khib_bzimage bz;

			img[off] = vals[v];
			if (khib_bzimage_parse(img, len, &bz) < 0)
				continue;
			parsed++;
			ASSERT_TRUE(bz.setup == img);
			ASSERT_EQ(bz.setup_bytes + bz.kernel_bytes, len);
			ASSERT_TRUE(bz.kernel_bytes > 0);
			ASSERT_TRUE(bz.setup_bytes >= 0x1f1 + bz.hdr_bytes);
			ASSERT_TRUE(bz.kernel_alignment >= 4096);
			ASSERT_EQ(bz.kernel_alignment & (bz.kernel_alignment - 1), 0);
			ASSERT_TRUE(bz.init_size > 0);
			ASSERT_TRUE(bz.version >= 0x020c);
		}
		img[off] = saved;
	}
	ASSERT_TRUE(parsed > 100);
}

/* A parsed default image and a layout with everything above 4 GiB. */
struct bp_fixture {
	struct fx_bz p;
	uint8_t *img;
	size_t len;
	struct khib_bzimage bz;
	struct khib_boot_layout layout;
	struct khib_memmap e820;
	union {
		struct boot_params bp;
		uint8_t page[4096];
	} zp;
};

static void bp_setup(struct bp_fixture *f, uint16_t xloadflags)
{
	memset(f, 0, sizeof(*f));
	fx_bz_default(&f->p);
	f->p.xloadflags = xloadflags;
	f->p.initrd_addr_max = 0x37ffffff;
	f->p.cmdline_size = 255;
	f->p.loadflags = 0x80; /* CAN_USE_HEAP, kept */
	f->img = fx_bz_build(&f->p, &f->len);
	ASSERT_OK(khib_bzimage_parse(f->img, f->len, &f->bz));
	f->layout = (struct khib_boot_layout){
		.kernel_paddr = 0x13fc00000ULL,
		.cmdline_paddr = 0x17fffc000ULL,
		.cmdline_len = 40,
		.initrd_paddr = 0x17f000000ULL,
		.initrd_bytes = 0x123456,
		.acpi_rsdp = 0xf5a40,
	};
	ASSERT_OK(khib_memmap_add(&f->e820, 0x1000, 0x9f000, KHIB_E820_RAM));
	ASSERT_OK(khib_memmap_add(&f->e820, 0x9f000, 0x100000, KHIB_E820_RESERVED));
	ASSERT_OK(khib_memmap_add(&f->e820, 0x100000, 0x7ffe0000, KHIB_E820_RESERVED));
	ASSERT_OK(khib_memmap_add(&f->e820, 0x7ffe0000, 0x80000000, KHIB_E820_ACPI));
	ASSERT_OK(khib_memmap_add(&f->e820, 0xfed1c000, 0xfed20000, KHIB_E820_NVS));
	ASSERT_OK(khib_memmap_add(&f->e820, 0x13fc00000ULL, 0x17ffff000ULL, KHIB_E820_RAM));
	ASSERT_OK(khib_memmap_add(&f->e820, 0x17ffff000ULL, 0x180000000ULL, KHIB_E820_RESERVED));
	memset(f->zp.page, 0xa5, sizeof(f->zp.page));
}

TEST(bzimage_boot_params_fields)
{
	static struct bp_fixture f;
	const struct boot_params *bp = &f.zp.bp;
	struct setup_header want;

	bp_setup(&f, 0x3);
	ASSERT_OK(khib_bzimage_boot_params(&f.bz, &f.layout, &f.e820, f.zp.page));

	/* The kernel's setup header, with the loader's fields filled in. */
	memcpy(&want, f.img + 0x1f1, sizeof(want));
	want.type_of_loader = 0xff;
	want.loadflags = 0x81;
	want.code32_start = 0x3fc00000;
	want.cmd_line_ptr = 0x7fffc000;
	want.ramdisk_image = 0x7f000000;
	want.ramdisk_size = 0x123456;
	ASSERT_MEMEQ(&bp->hdr, &want, sizeof(want));
	ASSERT_EQ(bp->hdr.type_of_loader, 0xff);
	ASSERT_EQ(bp->hdr.version, 0x020f);
	ASSERT_EQ_U64(bp->hdr.kernel_alignment, 0x200000);
	ASSERT_EQ_U64(bp->hdr.init_size, 16 << 20);
	ASSERT_EQ(bp->ext_cmd_line_ptr, 1);
	ASSERT_EQ_U64(bp->ext_ramdisk_image, 1);
	ASSERT_EQ_U64(bp->ext_ramdisk_size, 0);
	ASSERT_EQ_U64(bp->acpi_rsdp_addr, 0xf5a40);

	ASSERT_EQ(bp->e820_entries, f.e820.n);
	for (size_t i = 0; i < f.e820.n; i++) {
		ASSERT_EQ_U64(bp->e820_table[i].addr, f.e820.r[i].start);
		ASSERT_EQ_U64(bp->e820_table[i].size, f.e820.r[i].end - f.e820.r[i].start);
		ASSERT_EQ(bp->e820_table[i].type, f.e820.r[i].type);
	}
	/* Everything else is zero: no stale bytes from the caller's page. */
	for (size_t i = f.e820.n; i < E820_MAX_ENTRIES_ZEROPAGE; i++)
		ASSERT_EQ_U64(bp->e820_table[i].size, 0);
	for (size_t off = 0; off < 0x1f1; off++) {
		if (off >= 0x70 && off < 0x78)
			continue; /* acpi_rsdp_addr */
		if (off >= 0xc0 && off < 0xcc)
			continue; /* ext_ramdisk_image/size, ext_cmd_line_ptr */
		if (off == 0x1e8)
			continue; /* e820_entries */
		ASSERT_EQ(f.zp.page[off], 0);
	}
	for (size_t off = 0x26c; off < 0x2d0; off++)
		ASSERT_EQ(f.zp.page[off], 0);
	for (size_t off = 0x2d0 + 20 * f.e820.n; off < 4096; off++)
		ASSERT_EQ(f.zp.page[off], 0);
	free(f.img);
}

TEST(bzimage_boot_params_below_4g_and_no_initrd)
{
	static struct bp_fixture f;
	const struct boot_params *bp = &f.zp.bp;

	bp_setup(&f, 0x1);
	f.layout.kernel_paddr = 0x1be00000;
	f.layout.cmdline_paddr = 0x1fdfc000;
	f.layout.initrd_paddr = 0;
	f.layout.initrd_bytes = 0;
	f.layout.acpi_rsdp = 0;
	ASSERT_OK(khib_bzimage_boot_params(&f.bz, &f.layout, &f.e820, f.zp.page));
	ASSERT_EQ_U64(bp->hdr.cmd_line_ptr, 0x1fdfc000);
	ASSERT_EQ_U64(bp->ext_cmd_line_ptr, 0);
	ASSERT_EQ_U64(bp->hdr.code32_start, 0x1be00000);
	ASSERT_EQ_U64(bp->hdr.ramdisk_image, 0);
	ASSERT_EQ_U64(bp->hdr.ramdisk_size, 0);
	ASSERT_EQ_U64(bp->acpi_rsdp_addr, 0);
	free(f.img);
}

TEST(bzimage_boot_params_e820_limit)
{
	static struct bp_fixture f;
	unsigned char before[4096];

	bp_setup(&f, 0x3);
	f.e820.n = 0;
	for (uint64_t i = 0; i < E820_MAX_ENTRIES_ZEROPAGE; i++)
		ASSERT_OK(khib_memmap_add(&f.e820, i << 20, (i << 20) + 4096, 1 + (uint32_t)(i & 1)));
	ASSERT_OK(khib_bzimage_boot_params(&f.bz, &f.layout, &f.e820, f.zp.page));
	ASSERT_EQ(f.zp.bp.e820_entries, E820_MAX_ENTRIES_ZEROPAGE);
	ASSERT_EQ_U64(f.zp.bp.e820_table[127].addr, 127ULL << 20);
	ASSERT_EQ(f.zp.bp.e820_table[127].type, 2);

	ASSERT_OK(khib_memmap_add(&f.e820, 1ULL << 40, (1ULL << 40) + 4096, KHIB_E820_RAM));
	memset(f.zp.page, 0xa5, sizeof(f.zp.page));
	memcpy(before, f.zp.page, sizeof(before));
	ASSERT_EQ(khib_bzimage_boot_params(&f.bz, &f.layout, &f.e820, f.zp.page), -E2BIG);
	ASSERT_MEMEQ(f.zp.page, before, sizeof(before));
	free(f.img);
}

TEST(bzimage_boot_params_cmdline_limit)
{
	static struct bp_fixture f;

	bp_setup(&f, 0x3);
	f.layout.cmdline_len = 255;
	ASSERT_OK(khib_bzimage_boot_params(&f.bz, &f.layout, &f.e820, f.zp.page));
	f.layout.cmdline_len = 256;
	ASSERT_EQ(khib_bzimage_boot_params(&f.bz, &f.layout, &f.e820, f.zp.page), -E2BIG);
	free(f.img);
}

TEST(bzimage_boot_params_initrd_addr_max)
{
	static struct bp_fixture f;

	/* Without XLF_CAN_BE_LOADED_ABOVE_4G the initrd's last byte must be at
	 * or below initrd_addr_max (0x37ffffff here). */
	bp_setup(&f, 0x1);
	f.layout.kernel_paddr = 0x1000000;
	f.layout.cmdline_paddr = 0x20000;
	f.layout.initrd_bytes = 0x100000;
	f.layout.initrd_paddr = 0x38000000 - 0x100000;
	ASSERT_OK(khib_bzimage_boot_params(&f.bz, &f.layout, &f.e820, f.zp.page));
	ASSERT_EQ_U64(f.zp.bp.hdr.ramdisk_image, 0x37f00000);
	ASSERT_EQ_U64(f.zp.bp.ext_ramdisk_image, 0);
	f.layout.initrd_paddr += 4096;
	ASSERT_EQ(khib_bzimage_boot_params(&f.bz, &f.layout, &f.e820, f.zp.page), -ERANGE);
	f.layout.initrd_paddr = 0x17f000000ULL;
	ASSERT_EQ(khib_bzimage_boot_params(&f.bz, &f.layout, &f.e820, f.zp.page), -ERANGE);
	free(f.img);

	/* With it, anywhere goes, and the high half lands in ext_. */
	bp_setup(&f, 0x3);
	f.layout.initrd_paddr = 0x27f000000ULL;
	f.layout.initrd_bytes = 0x100234567ULL;
	ASSERT_OK(khib_bzimage_boot_params(&f.bz, &f.layout, &f.e820, f.zp.page));
	ASSERT_EQ_U64(f.zp.bp.hdr.ramdisk_image, 0x7f000000);
	ASSERT_EQ_U64(f.zp.bp.ext_ramdisk_image, 2);
	ASSERT_EQ_U64(f.zp.bp.hdr.ramdisk_size, 0x00234567);
	ASSERT_EQ_U64(f.zp.bp.ext_ramdisk_size, 1);
	free(f.img);
}

TEST(bzimage_boot_params_misaligned_kernel)
{
	static struct bp_fixture f;

	bp_setup(&f, 0x3);
	f.layout.kernel_paddr += 0x100000;
	ASSERT_EQ(khib_bzimage_boot_params(&f.bz, &f.layout, &f.e820, f.zp.page), -EINVAL);
	free(f.img);
}
