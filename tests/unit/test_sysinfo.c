/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Facts about the running kernel, read from a fake root tree: boot id,
 * the kernel's own ranges in /proc/iomem, the ACPI root pointer in the
 * boot_params sysfs file, and VMCOREINFO.
 */
#include "bzimage.h"
#include "harness.h"
#include "image.h"
#include "sysinfo.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

static const uint8_t boot_id_bytes[16] = {
	0x4f, 0x2b, 0x8a, 0x3c, 0x91, 0xd7, 0x4e, 0x05,
	0xb6, 0x1f, 0xe2, 0x70, 0xc8, 0x39, 0xad, 0x64,
};

TEST(sysinfo_parse_uuid)
{
	uint8_t u[16];

	ASSERT_OK(khib_parse_uuid("4f2b8a3c-91d7-4e05-b61f-e270c839ad64", u));
	ASSERT_MEMEQ(u, boot_id_bytes, 16);
	memset(u, 0, sizeof(u));
	ASSERT_OK(khib_parse_uuid("4F2B8A3C-91D7-4E05-B61F-E270C839AD64\n", u));
	ASSERT_MEMEQ(u, boot_id_bytes, 16);
	ASSERT_OK(khib_parse_uuid("00000000-0000-0000-0000-000000000000", u));
	for (int i = 0; i < 16; i++)
		ASSERT_EQ(u[i], 0);
	ASSERT_OK(khib_parse_uuid("ffffffff-ffff-ffff-ffff-ffffffffffff", u));
	for (int i = 0; i < 16; i++)
		ASSERT_EQ(u[i], 0xff);
}

TEST(sysinfo_parse_uuid_bad)
{
	static const char *const bad[] = {
		"",
		"\n",
		"4f2b8a3c-91d7-4e05-b61f-e270c839ad6",	/* 31 digits */
		"4f2b8a3c-91d7-4e05-b61f-e270c839ad6g",
		"4f2b8a3c-91d7-4e05-b61f\n-e270c839ad64",
		"4f2b8a3c 91d7 4e05 b61f e270c839ad64",
		"0x2b8a3c-91d7-4e05-b61f-e270c839ad64",
		"{4f2b8a3c-91d7-4e05-b61f-e270c839ad64}",
	};
	uint8_t u[16], before[16];

	memset(u, 0x77, sizeof(u));
	memcpy(before, u, sizeof(u));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (khib_parse_uuid(bad[i], u) != -EINVAL)
			test_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
		ASSERT_MEMEQ(u, before, 16);
	}
}

/* Strings that hold 32 hex digits but are not one UUID. */
TEST(sysinfo_parse_uuid_strict)
{
	static const char *const bad[] = {
		"4f2b8a3c-91d7-4e05-b61f-e270c839ad640",	/* 33 digits */
		"4f2b8a3c-91d7-4e05-b61f-e270c839ad64-4f2b8a3c",
		"4f2b8a3c-91d7-4e05-b61f-e270c839ad64 junk",
		"4f2b8a3c-91d7-4e05-b61f-e270c839ad64\nffff",
	};
	uint8_t u[16];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (khib_parse_uuid(bad[i], u) != -EINVAL)
			test_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
}

/* The fake tree's root, where test_put_file() writes. */
static const char *root(void)
{
	static char path[300];

	snprintf(path, sizeof(path), "%s/root", test_tmpdir());
	mkdir(path, 0755);
	return path;
}

TEST(sysinfo_identity)
{
	static struct khib_handoff h;
	struct utsname u;

	ASSERT_EQ(uname(&u), 0);
	test_put_text("/proc/sys/kernel/random/boot_id", "4f2b8a3c-91d7-4e05-b61f-e270c839ad64\n");
	memset(&h, 0, sizeof(h));
	h.region_start = 0x1234;
	ASSERT_OK(khib_sysinfo_identity(root(), &h));
	ASSERT_MEMEQ(h.boot_id, boot_id_bytes, 16);
	ASSERT_TRUE(!strncmp(h.release, u.release, sizeof(h.release) - 1));
	ASSERT_TRUE(!strncmp(h.version, u.version, sizeof(h.version) - 1));
	ASSERT_TRUE(strlen(h.release) > 0);
	ASSERT_EQ(h.release[64], 0);
	ASSERT_EQ(h.version[64], 0);
	/* Nothing else is touched. */
	ASSERT_EQ_U64(h.region_start, 0x1234);
	ASSERT_EQ(h.nr_ranges, 0);
}

TEST(sysinfo_identity_errors)
{
	static struct khib_handoff h, before;

	memset(&h, 0x3c, sizeof(h));
	before = h;
	ASSERT_EQ(khib_sysinfo_identity(root(), &h), -ENOENT);
	ASSERT_MEMEQ(&h, &before, sizeof(h));
	test_put_text("/proc/sys/kernel/random/boot_id", "not-a-uuid\n");
	ASSERT_EQ(khib_sysinfo_identity(root(), &h), -EINVAL);
	ASSERT_MEMEQ(&h, &before, sizeof(h));
}

/* /proc/iomem of a QEMU guest, as root sees it. */
static const char iomem_root[] =
	"00000000-00000fff : Reserved\n"
	"00001000-0009fbff : System RAM\n"
	"0009fc00-0009ffff : Reserved\n"
	"000f0000-000fffff : Reserved\n"
	"  000f0000-000fffff : System ROM\n"
	"00100000-1ffdffff : System RAM\n"
	"  01000000-01ffffff : Kernel code\n"
	"  02000000-0267ffff : Kernel rodata\n"
	"  02800000-02b1e0ff : Kernel data\n"
	"  03096000-031fffff : Kernel bss\n"
	"  1b000000-1effffff : Crash kernel\n"
	"1ffe0000-1fffffff : Reserved\n"
	"b0000000-bfffffff : PCI MMCONFIG 0000 [bus 00-ff]\n"
	"  b0000000-bfffffff : Reserved\n"
	"fed1c000-fed1ffff : Reserved\n"
	"fffc0000-ffffffff : Reserved\n";

TEST(sysinfo_avoid_ranges)
{
	static struct khib_memmap m;

	test_put_text("/proc/iomem", iomem_root);
	memset(&m, 0x11, sizeof(m));
	ASSERT_OK(khib_sysinfo_avoid_ranges(root(), &m));
	/* Code and rodata touch and merge; data, bss and the crash kernel
	 * stand apart; all of them sorted. */
	ASSERT_EQ(m.n, 4);
	ASSERT_EQ_U64(m.r[0].start, 0x1000000);
	ASSERT_EQ_U64(m.r[0].end, 0x2680000);
	ASSERT_EQ_U64(m.r[1].start, 0x2800000);
	ASSERT_EQ_U64(m.r[1].end, 0x2b1e100);
	ASSERT_EQ_U64(m.r[2].start, 0x3096000);
	ASSERT_EQ_U64(m.r[2].end, 0x3200000);
	ASSERT_EQ_U64(m.r[3].start, 0x1b000000);
	ASSERT_EQ_U64(m.r[3].end, 0x1f000000);
	for (size_t i = 0; i < m.n; i++)
		ASSERT_EQ(m.r[i].type, KHIB_E820_RESERVED);
}

TEST(sysinfo_avoid_ranges_missing)
{
	static struct khib_memmap m;

	ASSERT_EQ(khib_sysinfo_avoid_ranges(root(), &m), -ENOENT);
	/* No kernel lines at all. */
	test_put_text("/proc/iomem", "00001000-0009fbff : System RAM\n00100000-1ffdffff : System RAM\n");
	ASSERT_EQ(khib_sysinfo_avoid_ranges(root(), &m), -EPERM);
}

/* For a reader without CAP_SYS_ADMIN the kernel prints every address as
 * zero; such a file must not pass for the kernel's placement. */
TEST(sysinfo_avoid_ranges_hidden_addresses)
{
	static struct khib_memmap m, before;

	test_put_text("/proc/iomem",
		 "00000000-00000000 : Reserved\n"
		 "00000000-00000000 : System RAM\n"
		 "00000000-00000000 : Reserved\n"
		 "00000000-00000000 : System RAM\n"
		 "  00000000-00000000 : Kernel code\n"
		 "  00000000-00000000 : Kernel rodata\n"
		 "  00000000-00000000 : Kernel data\n"
		 "  00000000-00000000 : Kernel bss\n"
		 "  00000000-00000000 : Crash kernel\n"
		 "00000000-00000000 : Reserved\n");
	memset(&m, 0x11, sizeof(m));
	before = m;
	ASSERT_EQ(khib_sysinfo_avoid_ranges(root(), &m), -EPERM);
	ASSERT_MEMEQ(&m, &before, sizeof(m));
}

TEST(sysinfo_acpi_rsdp)
{
	static uint8_t bp[4096];

	ASSERT_EQ_U64(khib_sysinfo_acpi_rsdp(root()), 0);
	memset(bp, 0xcc, sizeof(bp));
	khib_put_le64(bp + 0x70, 0xf5a40);
	test_put_file("/sys/kernel/boot_params/data", bp, sizeof(bp));
	ASSERT_EQ_U64(khib_sysinfo_acpi_rsdp(root()), 0xf5a40);
	khib_put_le64(bp + 0x70, 0x7fbfe014ULL);
	test_put_file("/sys/kernel/boot_params/data", bp, 0x78);
	ASSERT_EQ_U64(khib_sysinfo_acpi_rsdp(root()), 0x7fbfe014ULL);
	/* Too short to hold the field. */
	test_put_file("/sys/kernel/boot_params/data", bp, 0x77);
	ASSERT_EQ_U64(khib_sysinfo_acpi_rsdp(root()), 0);
}

/* The console handed to the writer and restore kernels: a text console
 * and a framebuffer outside RAM as they are; a framebuffer that overlaps
 * RAM (those kernels would write into the saved kernel's memory) and a
 * missing zero page as no screen at all. */
TEST(sysinfo_screen_info)
{
	static uint8_t bp[4096], si[KHIB_SCREEN_INFO_BYTES], zero[KHIB_SCREEN_INFO_BYTES];
	struct khib_memmap fw = { 0 };
	uint64_t base, bytes;

	ASSERT_OK(khib_memmap_add(&fw, 0x100000, 0x7ff00000, KHIB_E820_RAM));
	ASSERT_OK(khib_memmap_add(&fw, 0x100000000ULL, 0x180000000ULL, KHIB_E820_RAM));
	memset(si, 0x55, sizeof(si));
	khib_sysinfo_screen_info(root(), &fw, si);
	ASSERT_MEMEQ(si, zero, sizeof(si));

	/* VGA text mode 80x25 (orig_video_isVGA 1). */
	memset(bp, 0, sizeof(bp));
	bp[0x06] = 3;		/* orig_video_mode */
	bp[0x07] = 80;		/* orig_video_cols */
	bp[0x0E] = 25;		/* orig_video_lines */
	bp[0x0F] = 1;		/* VIDEO_TYPE_VGAC */
	test_put_file("/sys/kernel/boot_params/data", bp, sizeof(bp));
	khib_sysinfo_screen_info(root(), &fw, si);
	ASSERT_MEMEQ(si, bp, sizeof(si));
	ASSERT_EQ(khib_screen_info_framebuffer(si, &base, &bytes), 0);

	/* An EFI framebuffer (0x70) at 0x80000000, 1024x768x32: 3 MiB. */
	bp[0x0F] = 0x70;
	khib_put_le16(bp + 0x12, 1024);	/* lfb_width */
	khib_put_le16(bp + 0x14, 768);	/* lfb_height */
	khib_put_le32(bp + 0x18, 0x80000000u); /* lfb_base */
	khib_put_le32(bp + 0x1C, 0x300000);	/* lfb_size, bytes under EFI */
	khib_put_le16(bp + 0x24, 4096);	/* lfb_linelength */
	test_put_file("/sys/kernel/boot_params/data", bp, sizeof(bp));
	khib_sysinfo_screen_info(root(), &fw, si);
	ASSERT_MEMEQ(si, bp, sizeof(si));
	ASSERT_EQ(khib_screen_info_framebuffer(si, &base, &bytes), 1);
	ASSERT_EQ_U64(base, 0x80000000u);
	ASSERT_EQ_U64(bytes, 0x300000);

	/* At 0x140000000 (a 64-bit base): in RAM above 4 GiB. */
	bp[0x36] = 2;			/* VIDEO_CAPABILITY_64BIT_BASE */
	khib_put_le32(bp + 0x18, 0x40000000u);
	khib_put_le32(bp + 0x3A, 1);	/* ext_lfb_base */
	test_put_file("/sys/kernel/boot_params/data", bp, sizeof(bp));
	khib_sysinfo_screen_info(root(), &fw, si);
	ASSERT_MEMEQ(si, zero, sizeof(si));
	/* A VESA one (0x23, lfb_size in 64 KiB units: 3 MiB) starting just
	 * below RAM's end at 2 GiB - 1 MiB: overlaps too. */
	bp[0x36] = 0;
	bp[0x0F] = 0x23;
	khib_put_le32(bp + 0x18, 0x7fe00000u);
	khib_put_le32(bp + 0x1C, 0x30);
	test_put_file("/sys/kernel/boot_params/data", bp, sizeof(bp));
	khib_sysinfo_screen_info(root(), &fw, si);
	ASSERT_MEMEQ(si, zero, sizeof(si));
}

/* Booted through the EFI stub (OVMF), the zero page's field is 0 and the
 * RSDP comes from the EFI configuration table, as systab shows it. */
TEST(sysinfo_acpi_rsdp_efi)
{
	static uint8_t bp[4096];
	char path[512];

	memset(bp, 0, sizeof(bp));
	test_put_file("/sys/kernel/boot_params/data", bp, sizeof(bp));
	test_put_text("/sys/firmware/efi/systab",
		      "ACPI20=0x1f77d014\nACPI=0x1f77d000\nSMBIOS=0x1f520000\n");
	ASSERT_EQ_U64(khib_sysinfo_acpi_rsdp(root()), 0x1f77d014);
	/* ACPI 1.0 only; the key must match whole. */
	test_put_text("/sys/firmware/efi/systab", "SMBIOS=0x1f520000\nACPI=0x1f77d000");
	ASSERT_EQ_U64(khib_sysinfo_acpi_rsdp(root()), 0x1f77d000);
	/* The zero page's value wins. */
	khib_put_le64(bp + 0x70, 0xf5a40);
	test_put_file("/sys/kernel/boot_params/data", bp, sizeof(bp));
	ASSERT_EQ_U64(khib_sysinfo_acpi_rsdp(root()), 0xf5a40);
	/* No zero page at all: systab alone. */
	snprintf(path, sizeof(path), "%s/sys/kernel/boot_params/data", root());
	ASSERT_EQ(unlink(path), 0);
	ASSERT_EQ_U64(khib_sysinfo_acpi_rsdp(root()), 0x1f77d000);
	/* Malformed lines are no value. */
	test_put_text("/sys/firmware/efi/systab",
		      "ACPI20=1f77d014\nACPI2=0x5000\nXACPI=0x6000\nACPI=0x\nACPI=0x12zz\n"
		      "ACPI=0xffffffffffffffffff\n");
	ASSERT_EQ_U64(khib_sysinfo_acpi_rsdp(root()), 0);
	test_put_text("/sys/firmware/efi/systab", "");
	ASSERT_EQ_U64(khib_sysinfo_acpi_rsdp(root()), 0);
}

TEST(sysinfo_vmcoreinfo)
{
	uint64_t paddr = 1, bytes = 2;

	ASSERT_EQ(khib_sysinfo_vmcoreinfo(root(), &paddr, &bytes), -ENOENT);
	/* The kernel prints "%lx %x\n". */
	test_put_text("/sys/kernel/vmcoreinfo", "1f3b5000 1024\n");
	ASSERT_OK(khib_sysinfo_vmcoreinfo(root(), &paddr, &bytes));
	ASSERT_EQ_U64(paddr, 0x1f3b5000);
	ASSERT_EQ_U64(bytes, 0x1024);
	test_put_text("/sys/kernel/vmcoreinfo", "17ffd3000 1000\n");
	ASSERT_OK(khib_sysinfo_vmcoreinfo(root(), &paddr, &bytes));
	ASSERT_EQ_U64(paddr, 0x17ffd3000ULL);
	ASSERT_EQ_U64(bytes, 0x1000);

	paddr = 1;
	bytes = 2;
	test_put_text("/sys/kernel/vmcoreinfo", "garbage\n");
	ASSERT_EQ(khib_sysinfo_vmcoreinfo(root(), &paddr, &bytes), -EBADMSG);
	test_put_text("/sys/kernel/vmcoreinfo", "1f3b5000\n");
	ASSERT_EQ(khib_sysinfo_vmcoreinfo(root(), &paddr, &bytes), -EBADMSG);
	test_put_text("/sys/kernel/vmcoreinfo", "1f3b5000 0\n");
	ASSERT_EQ(khib_sysinfo_vmcoreinfo(root(), &paddr, &bytes), -EBADMSG);
	test_put_text("/sys/kernel/vmcoreinfo", "");
	ASSERT_EQ(khib_sysinfo_vmcoreinfo(root(), &paddr, &bytes), -EBADMSG);
	ASSERT_EQ_U64(paddr, 1);
	ASSERT_EQ_U64(bytes, 2);
}

/* QEMU q35, 512 MiB: the firmware table as /sys/firmware/memmap shows it,
 * under dir in the fake root. */
static void put_qemu_memmap(const char *dir)
{
	static const struct { const char *s, *e, *t; } m[] = {
		{ "0x0", "0x9fbff", "System RAM" }, { "0x9fc00", "0x9ffff", "Reserved" },
		{ "0xf0000", "0xfffff", "Reserved" }, { "0x100000", "0x1ffdffff", "System RAM" },
		{ "0x1ffe0000", "0x1fffffff", "Reserved" }, { "0xb0000000", "0xbfffffff", "Reserved" },
		{ "0xfed1c000", "0xfed1ffff", "Reserved" }, { "0xfffc0000", "0xffffffff", "Reserved" },
	};
	char rel[128];

	for (size_t i = 0; i < ARRAY_SIZE(m); i++) {
		snprintf(rel, sizeof(rel), "%s/%zu/start", dir, i);
		test_put_text(rel, m[i].s);
		snprintf(rel, sizeof(rel), "%s/%zu/end", dir, i);
		test_put_text(rel, m[i].e);
		snprintf(rel, sizeof(rel), "%s/%zu/type", dir, i);
		test_put_text(rel, m[i].t);
	}
}

TEST(sysinfo_e820_crc32_as_the_kernel_computes_it)
{
	char dir[512];
	uint32_t crc;

	put_qemu_memmap("/fw");
	snprintf(dir, sizeof(dir), "%s/fw", root());
	ASSERT_OK(khib_sysinfo_e820_crc32(dir, &crc));
	/* zlib.crc32 of the packed table: u32 count, then u64 addr, u64 size,
	 * u32 type per entry, computed independently */
	ASSERT_EQ_U64(crc, 0x24b6bb4a);
	test_put_text("/fw/3/type", "Unknown E820 type");
	ASSERT_EQ(khib_sysinfo_e820_crc32(dir, &crc), -EOPNOTSUPP);
	snprintf(dir, sizeof(dir), "%s/nothing", root());
	ASSERT_EQ(khib_sysinfo_e820_crc32(dir, &crc), -ENOENT);
}

/* khib setup's size: all RAM of the firmware map (the two RAM ranges of
 * QEMU's 512 MiB, pages whole), stored raw, with every byte of metadata. */
TEST(sysinfo_image_worst_case)
{
	const struct khib_range ram[] = { { 0, 0x9f }, { 0x100000, 0x1fee0 } };
	uint64_t bytes = 1, want, raw = (0x9fULL + 0x1fee0) << 12;

	ASSERT_EQ(khib_sysinfo_image_worst_case(root(), &bytes), -ENOENT);
	ASSERT_EQ_U64(bytes, 1);
	put_qemu_memmap("/sys/firmware/memmap");
	test_put_text("/sys/kernel/vmcoreinfo", "1f3b5000 1024\n");
	ASSERT_OK(khib_sysinfo_image_worst_case(root(), &bytes));
	ASSERT_OK(khib_image_max_bytes(ram, 2, 0, 0x1024, &want));
	ASSERT_EQ_U64(bytes, want);
	ASSERT_TRUE(bytes > raw && bytes - raw < (4u << 20));
	/* Without the note's size, room for the largest one. */
	char note[512];

	snprintf(note, sizeof(note), "%s/sys/kernel/vmcoreinfo", root());
	ASSERT_EQ(unlink(note), 0);
	ASSERT_OK(khib_sysinfo_image_worst_case(root(), &bytes));
	ASSERT_TRUE(bytes > want);
}

static const char zoneinfo[] =
	"Node 0, zone      DMA\n"
	"  per-node stats\n"
	"      nr_inactive_anon 1\n"
	"  pages free     3840\n"
	"        boost    0\n"
	"        spanned  4095\n"
	"        present  3998\n"
	"        managed  3840\n"
	"  pagesets\n"
	"  node_unreclaimable:  0\n"
	"  start_pfn:           1\n"
	"Node 0, zone    DMA32\n"
	"  pages free     100000\n"
	"        spanned  126944\n"
	"        present  126944\n"
	"        managed  120000\n"
	"  pagesets\n"
	"  node_unreclaimable:  0\n"
	"  start_pfn:           4096\n"
	"Node 0, zone   Normal\n"
	"  pages free     0\n"
	"        spanned  0\n"
	"        present  0\n"
	"        managed  0\n"
	"Node 0, zone  Movable\n"
	"  pages free     0\n"
	"        spanned  0\n"
	"        present  0\n"
	"        managed  0\n";

TEST(sysinfo_zones)
{
	struct khib_memmap m;
	uint64_t n;

	test_put_text("/proc/zoneinfo", zoneinfo);
	ASSERT_OK(khib_sysinfo_num_physpages(root(), &n));
	ASSERT_EQ_U64(n, 3998 + 126944);
	ASSERT_OK(khib_sysinfo_zone_spans(root(), &m));
	/* DMA [1, 4096) and DMA32 [4096, 131040) touch: one range */
	ASSERT_EQ(m.n, 1);
	ASSERT_EQ_U64(m.r[0].start, 4096);
	ASSERT_EQ_U64(m.r[0].end, 131040ULL * 4096);
	test_put_text("/proc/zoneinfo", "nothing here\n");
	ASSERT_EQ(khib_sysinfo_num_physpages(root(), &n), -EBADMSG);
	ASSERT_EQ(khib_sysinfo_zone_spans(root(), &m), -EBADMSG);
}

TEST(sysinfo_free_pages_matter)
{
	static const struct {
		const char *cmdline;
		int want;
	} cases[] = {
		{ "console=ttyS0 quiet\n", 0 },
		{ "init_on_free=1\n", 1 },
		{ "init_on_free=on", 1 },
		{ "init-on-free=Y ro", 1 },
		{ "init_on_free=1 init_on_free=0", 0 },
		{ "init_on_free=0 init_on_free=maybe", 1 },	/* unreadable: assume on */
		{ "init_on_free", 0 },
		{ "xinit_on_free=1", 0 },
		{ "page_poison=1", 1 },
		{ "page_poison=off init_on_free=off", 0 },
		{ "root=/dev/init-on-free=1", 0 },		/* a value, not a name */
	};
	const char *why = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		test_put_text("/proc/cmdline", cases[i].cmdline);
		int r = khib_sysinfo_free_pages_matter(root(), "6.1.0-test", &why);
		if (r != cases[i].want)
			test_fail(__FILE__, __LINE__, "'%s': %d, expected %d", cases[i].cmdline, r,
				  cases[i].want);
	}
	ASSERT_STREQ(why, "page_poison is on");
	/* The kernel's default, unless the command line says otherwise. */
	test_put_text("/boot/config-6.1.0-test", "# CONFIG_X is not set\nCONFIG_INIT_ON_FREE_DEFAULT_ON=y\n");
	test_put_text("/proc/cmdline", "quiet\n");
	ASSERT_EQ(khib_sysinfo_free_pages_matter(root(), "6.1.0-test", &why), 1);
	ASSERT_STREQ(why, "init_on_free is on (CONFIG_INIT_ON_FREE_DEFAULT_ON)");
	ASSERT_EQ(khib_sysinfo_free_pages_matter(root(), "6.1.0-other", &why), 0);
	test_put_text("/proc/cmdline", "init_on_free=0\n");
	ASSERT_EQ(khib_sysinfo_free_pages_matter(root(), "6.1.0-test", &why), 0);
	test_put_text("/boot/config-6.1.0-test", "# CONFIG_INIT_ON_FREE_DEFAULT_ON is not set\n");
	test_put_text("/proc/cmdline", "quiet\n");
	ASSERT_EQ(khib_sysinfo_free_pages_matter(root(), "6.1.0-test", &why), 0);
}

TEST(sysinfo_lockdown_mode)
{
	char mode[32];

	ASSERT_OK(khib_sysinfo_lockdown(root(), mode, sizeof(mode)));
	ASSERT_STREQ(mode, "none"); /* no lockdown LSM */
	test_put_text("/sys/kernel/security/lockdown", "none [integrity] confidentiality\n");
	ASSERT_OK(khib_sysinfo_lockdown(root(), mode, sizeof(mode)));
	ASSERT_STREQ(mode, "integrity");
	test_put_text("/sys/kernel/security/lockdown", "none integrity confidentiality\n");
	ASSERT_EQ(khib_sysinfo_lockdown(root(), mode, sizeof(mode)), -EBADMSG);
}

/* The kernel's own refusal, and its reason by elimination. */
TEST(sysinfo_hibernation_refused)
{
	const char *why = NULL;

	/* Built without hibernation: nothing to say. */
	test_put_text("/sys/power/state", "freeze mem\n");
	ASSERT_EQ(khib_sysinfo_hibernation_refused(root(), &why), 0);
	test_put_text("/sys/power/disk", "[platform] shutdown reboot\n");
	test_put_text("/sys/power/state", "freeze mem disk\n");
	ASSERT_EQ(khib_sysinfo_hibernation_refused(root(), &why), 0);
	test_put_text("/sys/power/state", "freeze mem\n");
	test_put_text("/proc/cmdline", "root=/dev/vda nohibernate quiet\n");
	ASSERT_EQ(khib_sysinfo_hibernation_refused(root(), &why), 1);
	ASSERT_STREQ(why, "'nohibernate' is on its command line");
	test_put_text("/proc/cmdline", "root=/dev/vda quiet\n");
	test_put_text("/sys/kernel/security/lockdown", "none [integrity] confidentiality\n");
	ASSERT_EQ(khib_sysinfo_hibernation_refused(root(), &why), 1);
	ASSERT_STREQ(why, "it is locked down");
	test_put_text("/sys/kernel/security/lockdown", "[none] integrity confidentiality\n");
	ASSERT_EQ(khib_sysinfo_hibernation_refused(root(), &why), 1);
	ASSERT_TRUE(strstr(why, "memfd_secret") != NULL);
	/* "disk" only as a word: "nodisk" is not it. */
	test_put_text("/sys/power/state", "freeze nodisk\n");
	ASSERT_EQ(khib_sysinfo_hibernation_refused(root(), &why), 1);
}

/* The crashkernel= reservation, and whether a crash kernel sits in it. */
TEST(sysinfo_crash_region)
{
	uint64_t start = 0, bytes = 0;
	bool loaded = false;

	test_put_text("/proc/iomem", "00100000-3ffdffff : System RAM\n"
				"  01000000-01ffffff : Kernel code\n");
	ASSERT_EQ(khib_sysinfo_crash_region(root(), &start, &bytes, &loaded), -ENOENT);
	test_put_text("/proc/iomem", "00100000-3ffdffff : System RAM\n"
				"  01000000-01ffffff : Kernel code\n"
				"  3d000000-3effffff : Crash kernel\n");
	/* No /sys/kernel/kexec_crash_loaded: as good as loaded. */
	ASSERT_OK(khib_sysinfo_crash_region(root(), &start, &bytes, &loaded));
	ASSERT_EQ_U64(start, 0x3d000000);
	ASSERT_EQ_U64(bytes, 32ULL << 20);
	ASSERT_TRUE(loaded);
	test_put_text("/sys/kernel/kexec_crash_loaded", "0\n");
	ASSERT_OK(khib_sysinfo_crash_region(root(), &start, &bytes, &loaded));
	ASSERT_TRUE(!loaded);
	test_put_text("/sys/kernel/kexec_crash_loaded", "1\n");
	ASSERT_OK(khib_sysinfo_crash_region(root(), &start, &bytes, &loaded));
	ASSERT_TRUE(loaded);
}

/* A SATA partition below q35's AHCI function and a virtio disk beside it,
 * as sysfs links them: only the first sits below class 0x010601. */
static void put_below(const char *dev, const char *rel, const char *text)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", dev, rel);
	test_put_text(path, text);
}

TEST(sysinfo_block_below_pci_class)
{
	const char *ahci = "/sys/devices/pci0000:00/0000:00:1f.2";
	const char *virtio = "/sys/devices/pci0000:00/0000:00:03.0";
	char path[600];

	put_below(ahci, "ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1/dev", "8:1\n");
	put_below(ahci, "class", "0x010601\n");
	put_below(virtio, "virtio0/block/vda/dev", "254:0\n");
	put_below(virtio, "class", "0x010000\n");
	test_put_text("/sys/class/block/.keep", "");
	snprintf(path, sizeof(path), "%s/sys/class/block/sda1", root());
	ASSERT_EQ(symlink("../../devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/"
			  "block/sda/sda1", path), 0);
	snprintf(path, sizeof(path), "%s/sys/class/block/vda", root());
	ASSERT_EQ(symlink("../../devices/pci0000:00/0000:00:03.0/virtio0/block/vda", path), 0);

	ASSERT_EQ(khib_sysinfo_block_below_pci_class(root(), "sda1", 0x010601, 0xffffff), 1);
	ASSERT_EQ(khib_sysinfo_block_below_pci_class(root(), "vda", 0x010601, 0xffffff), 0);
	/* Any mass storage controller (class 01). */
	ASSERT_EQ(khib_sysinfo_block_below_pci_class(root(), "vda", 0x010000, 0xff0000), 1);
	ASSERT_EQ(khib_sysinfo_block_below_pci_class(root(), "sdz", 0x010601, 0xffffff), -ENOENT);
	ASSERT_EQ(khib_sysinfo_block_below_pci_class(root(), "../x", 0x010601, 0xffffff), -EINVAL);
}

TEST(sysinfo_cpu_flag)
{
	test_put_text("/proc/cpuinfo",
		      "processor\t: 0\nvendor_id\t: AuthenticAMD\n"
		      "flags\t\t: fpu vme tsc x2apic tsc_deadline_timer_x hypervisor\n"
		      "bugs\t\t: tsc_deadline_timer\n\n"
		      "processor\t: 1\nflags\t\t: fpu tsc_deadline_timer\n");
	/* The first processor's flags, whole words only, not the bugs line. */
	ASSERT_EQ(khib_sysinfo_cpu_flag(root(), "x2apic"), 1);
	ASSERT_EQ(khib_sysinfo_cpu_flag(root(), "hypervisor"), 1);
	ASSERT_EQ(khib_sysinfo_cpu_flag(root(), "tsc_deadline_timer"), 0);
	ASSERT_EQ(khib_sysinfo_cpu_flag(root(), "fp"), 0);
	test_put_text("/proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu tsc_deadline_timer\n");
	ASSERT_EQ(khib_sysinfo_cpu_flag(root(), "tsc_deadline_timer"), 1);
	test_put_text("/proc/cpuinfo", "processor\t: 0\nfeatures\t: fp asimd\n");
	ASSERT_EQ(khib_sysinfo_cpu_flag(root(), "fp"), -ENODATA);
}
