/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Memory maps: building and normalizing, the firmware map read from a fake
 * /sys/firmware/memmap tree, /proc/iomem lookups, totals and fingerprints.
 */
#include "harness.h"
#include "memmap.h"
#include "memmap_file.h"
#include "test_kexec_fixture.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

TEST(memmap_add_refuses_empty_and_wrapping)
{
	static struct khib_memmap m;

	memset(&m, 0, sizeof(m));
	ASSERT_EQ(khib_memmap_add(&m, 0x1000, 0x1000, KHIB_E820_RAM), -EINVAL);
	ASSERT_EQ(khib_memmap_add(&m, 0x2000, 0x1000, KHIB_E820_RAM), -EINVAL);
	ASSERT_EQ(khib_memmap_add(&m, UINT64_MAX, 0, KHIB_E820_RAM), -EINVAL);
	ASSERT_EQ(m.n, 0);
	ASSERT_OK(khib_memmap_add(&m, 0, 1, KHIB_E820_RESERVED));
	ASSERT_OK(khib_memmap_add(&m, 0x1000, UINT64_MAX, KHIB_E820_RAM));
	ASSERT_EQ(m.n, 2);
	expect_range(&m, 0, 0, 1, KHIB_E820_RESERVED);
	expect_range(&m, 1, 0x1000, UINT64_MAX, KHIB_E820_RAM);
}

TEST(memmap_add_full)
{
	static struct khib_memmap m;

	memset(&m, 0, sizeof(m));
	for (uint64_t i = 0; i < KHIB_MEMMAP_MAX; i++)
		ASSERT_OK(khib_memmap_add(&m, i * 0x2000, i * 0x2000 + 0x1000, KHIB_E820_RAM));
	ASSERT_EQ(m.n, KHIB_MEMMAP_MAX);
	ASSERT_EQ(khib_memmap_add(&m, 1ULL << 40, (1ULL << 40) + 1, KHIB_E820_RAM), -E2BIG);
	ASSERT_EQ(m.n, KHIB_MEMMAP_MAX);
	/* A full map of disjoint ranges normalizes to itself. */
	ASSERT_OK(khib_memmap_normalize(&m));
	ASSERT_EQ(m.n, KHIB_MEMMAP_MAX);
	expect_range(&m, KHIB_MEMMAP_MAX - 1, (KHIB_MEMMAP_MAX - 1) * 0x2000ULL,
		     (KHIB_MEMMAP_MAX - 1) * 0x2000ULL + 0x1000, KHIB_E820_RAM);
}

TEST(memmap_normalize_sorts_and_merges)
{
	static struct khib_memmap m;

	memset(&m, 0, sizeof(m));
	ASSERT_OK(khib_memmap_add(&m, 0x100000, 0x200000, KHIB_E820_RAM));
	ASSERT_OK(khib_memmap_add(&m, 0x9fc00, 0xa0000, KHIB_E820_RESERVED));
	ASSERT_OK(khib_memmap_add(&m, 0, 0x9fc00, KHIB_E820_RAM));	/* touches, other type */
	ASSERT_OK(khib_memmap_add(&m, 0x200000, 0x300000, KHIB_E820_RAM));	/* touches: merge */
	ASSERT_OK(khib_memmap_add(&m, 0x280000, 0x400000, KHIB_E820_RAM));	/* overlaps: merge */
	ASSERT_OK(khib_memmap_add(&m, 0x300000, 0x310000, KHIB_E820_RAM));	/* inside: merge */
	ASSERT_OK(khib_memmap_add(&m, 0xf0000, 0x100000, KHIB_E820_RESERVED)); /* touches RAM */
	ASSERT_OK(khib_memmap_add(&m, 0x500000, 0x600000, KHIB_E820_RAM));	/* gap: kept apart */
	ASSERT_OK(khib_memmap_add(&m, 0x600000, 0x601000, KHIB_E820_ACPI));
	ASSERT_OK(khib_memmap_add(&m, 0x601000, 0x602000, KHIB_E820_ACPI));
	ASSERT_OK(khib_memmap_normalize(&m));
	ASSERT_EQ(m.n, 6);
	expect_range(&m, 0, 0, 0x9fc00, KHIB_E820_RAM);
	expect_range(&m, 1, 0x9fc00, 0xa0000, KHIB_E820_RESERVED);
	expect_range(&m, 2, 0xf0000, 0x100000, KHIB_E820_RESERVED);
	expect_range(&m, 3, 0x100000, 0x400000, KHIB_E820_RAM);
	expect_range(&m, 4, 0x500000, 0x600000, KHIB_E820_RAM);
	expect_range(&m, 5, 0x600000, 0x602000, KHIB_E820_ACPI);
	/* Normalizing again changes nothing. */
	ASSERT_OK(khib_memmap_normalize(&m));
	ASSERT_EQ(m.n, 6);
}

TEST(memmap_normalize_same_start)
{
	static struct khib_memmap m;

	/* Equal starts, the longer one first: the shorter must not cut it. */
	memset(&m, 0, sizeof(m));
	ASSERT_OK(khib_memmap_add(&m, 0x1000, 0x9000, KHIB_E820_RAM));
	ASSERT_OK(khib_memmap_add(&m, 0x1000, 0x2000, KHIB_E820_RAM));
	ASSERT_OK(khib_memmap_add(&m, 0x1000, 0x9000, KHIB_E820_RAM));
	ASSERT_OK(khib_memmap_normalize(&m));
	ASSERT_EQ(m.n, 1);
	expect_range(&m, 0, 0x1000, 0x9000, KHIB_E820_RAM);

	memset(&m, 0, sizeof(m));
	ASSERT_OK(khib_memmap_normalize(&m));
	ASSERT_EQ(m.n, 0);
}

TEST(memmap_normalize_refuses_conflicts)
{
	static struct khib_memmap m;

	memset(&m, 0, sizeof(m));
	ASSERT_OK(khib_memmap_add(&m, 0x100000, 0x200000, KHIB_E820_RAM));
	ASSERT_OK(khib_memmap_add(&m, 0x1ff000, 0x201000, KHIB_E820_RESERVED));
	ASSERT_EQ(khib_memmap_normalize(&m), -EINVAL);

	/* Reserved hole inside RAM. */
	memset(&m, 0, sizeof(m));
	ASSERT_OK(khib_memmap_add(&m, 0x100000, 0x200000, KHIB_E820_RAM));
	ASSERT_OK(khib_memmap_add(&m, 0x150000, 0x151000, KHIB_E820_NVS));
	ASSERT_EQ(khib_memmap_normalize(&m), -EINVAL);

	/* A conflict with a range that only overlaps after a merge. */
	memset(&m, 0, sizeof(m));
	ASSERT_OK(khib_memmap_add(&m, 0x0, 0x1000, KHIB_E820_RAM));
	ASSERT_OK(khib_memmap_add(&m, 0x800, 0x8000, KHIB_E820_RAM));
	ASSERT_OK(khib_memmap_add(&m, 0x4000, 0x5000, KHIB_E820_RESERVED));
	ASSERT_EQ(khib_memmap_normalize(&m), -EINVAL);
}

/* A fake /sys/firmware/memmap: one directory per entry. */
static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
	close(fd);
}

static void fw_entry_raw(const char *dir, int idx, const char *start, const char *end,
			 const char *type)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%d", dir, idx);
	ASSERT_EQ(mkdir(path, 0755), 0);
	if (start) {
		snprintf(path, sizeof(path), "%s/%d/start", dir, idx);
		write_text(path, start);
	}
	if (end) {
		snprintf(path, sizeof(path), "%s/%d/end", dir, idx);
		write_text(path, end);
	}
	if (type) {
		snprintf(path, sizeof(path), "%s/%d/type", dir, idx);
		write_text(path, type);
	}
}

/* Like the kernel's firmware_map_show_*: "0x%llx\n", inclusive end. */
static void fw_entry(const char *dir, int idx, uint64_t start, uint64_t last, const char *type)
{
	char s[32], e[32], t[64];

	snprintf(s, sizeof(s), "0x%llx\n", (unsigned long long)start);
	snprintf(e, sizeof(e), "0x%llx\n", (unsigned long long)last);
	snprintf(t, sizeof(t), "%s\n", type);
	fw_entry_raw(dir, idx, s, e, t);
}

static const char *fw_dir(void)
{
	static char dir[300];

	snprintf(dir, sizeof(dir), "%s/memmap", test_tmpdir());
	mkdir(dir, 0755);
	return dir;
}

TEST(memmap_read_firmware_qemu)
{
	static struct khib_memmap m;
	const char *dir = fw_dir();

	/* QEMU q35 with 512 MiB; directory numbers need not follow addresses
	 * and readdir() returns them in any order. */
	fw_entry(dir, 0, 0x0, 0x9fbff, "System RAM");
	fw_entry(dir, 1, 0x9fc00, 0x9ffff, "Reserved");
	fw_entry(dir, 2, 0xf0000, 0xfffff, "Reserved");
	fw_entry(dir, 11, 0x100000, 0x1ffdffff, "System RAM");
	fw_entry(dir, 4, 0x1ffe0000, 0x1fffffff, "Reserved");
	fw_entry(dir, 10, 0xb0000000, 0xbfffffff, "Reserved");
	fw_entry(dir, 6, 0xfed1c000, 0xfed1ffff, "ACPI Non-volatile Storage");
	fw_entry(dir, 7, 0xfeffc000, 0xfeffffff, "ACPI Tables");
	fw_entry(dir, 3, 0xfffc0000, 0xffffffff, "Reserved");
	fw_entry(dir, 9, 0x100000000ULL, 0x17fffffffULL, "System RAM");
	fw_entry(dir, 12, 0x180000000ULL, 0x180000fffULL, "Unusable memory");
	fw_entry(dir, 13, 0x180001000ULL, 0x180001fffULL, "Soft Reserved");

	memset(&m, 0x77, sizeof(m));
	ASSERT_OK(khib_memmap_read_firmware(dir, &m));
	ASSERT_EQ(m.n, 12);
	expect_range(&m, 0, 0, 0x9fc00, KHIB_E820_RAM);
	expect_range(&m, 1, 0x9fc00, 0xa0000, KHIB_E820_RESERVED);
	expect_range(&m, 2, 0xf0000, 0x100000, KHIB_E820_RESERVED);
	expect_range(&m, 3, 0x100000, 0x1ffe0000, KHIB_E820_RAM);
	expect_range(&m, 4, 0x1ffe0000, 0x20000000, KHIB_E820_RESERVED);
	expect_range(&m, 5, 0xb0000000, 0xc0000000, KHIB_E820_RESERVED);
	expect_range(&m, 6, 0xfed1c000, 0xfed20000, KHIB_E820_NVS);
	expect_range(&m, 7, 0xfeffc000, 0xff000000, KHIB_E820_ACPI);
	expect_range(&m, 8, 0xfffc0000, 0x100000000ULL, KHIB_E820_RESERVED);
	expect_range(&m, 9, 0x100000000ULL, 0x180000000ULL, KHIB_E820_RAM);
	expect_range(&m, 10, 0x180000000ULL, 0x180001000ULL, KHIB_E820_UNUSABLE);
	/* Unknown names are kept away from like reserved memory. */
	expect_range(&m, 11, 0x180001000ULL, 0x180002000ULL, KHIB_E820_RESERVED);
}

TEST(memmap_read_firmware_merges_split_entries)
{
	static struct khib_memmap m;
	const char *dir = fw_dir();

	/* Firmware sometimes splits one RAM range in two touching entries. */
	fw_entry(dir, 0, 0x100000, 0x7fffffff, "System RAM");
	fw_entry(dir, 1, 0x80000000, 0xbfffffff, "System RAM");
	fw_entry(dir, 2, 0x1000, 0x1fff, "Persistent Memory (legacy)");
	fw_entry(dir, 3, 0x2000, 0x2fff, "Persistent Memory");
	ASSERT_OK(khib_memmap_read_firmware(dir, &m));
	ASSERT_EQ(m.n, 3);
	expect_range(&m, 0, 0x1000, 0x2000, KHIB_E820_PRAM);
	expect_range(&m, 1, 0x2000, 0x3000, KHIB_E820_PMEM);
	expect_range(&m, 2, 0x100000, 0xc0000000, KHIB_E820_RAM);
}

TEST(memmap_type_names)
{
	ASSERT_EQ(khib_memmap_type_from_name("System RAM"), KHIB_E820_RAM);
	ASSERT_EQ(khib_memmap_type_from_name("Reserved"), KHIB_E820_RESERVED);
	ASSERT_EQ(khib_memmap_type_from_name("reserved"), KHIB_E820_RESERVED);
	ASSERT_EQ(khib_memmap_type_from_name("ACPI Tables"), KHIB_E820_ACPI);
	ASSERT_EQ(khib_memmap_type_from_name("ACPI Non-volatile Storage"), KHIB_E820_NVS);
	ASSERT_EQ(khib_memmap_type_from_name("Unusable memory"), KHIB_E820_UNUSABLE);
	ASSERT_EQ(khib_memmap_type_from_name("Persistent Memory"), KHIB_E820_PMEM);
	ASSERT_EQ(khib_memmap_type_from_name("Persistent Memory (legacy)"), KHIB_E820_PRAM);
	/* Near misses are not RAM. */
	ASSERT_EQ(khib_memmap_type_from_name("System RAM "), KHIB_E820_RESERVED);
	ASSERT_EQ(khib_memmap_type_from_name("system ram"), KHIB_E820_RESERVED);
	ASSERT_EQ(khib_memmap_type_from_name(""), KHIB_E820_RESERVED);
}

TEST(memmap_read_firmware_missing)
{
	static struct khib_memmap m;
	char path[300];

	snprintf(path, sizeof(path), "%s/nonexistent", test_tmpdir());
	ASSERT_EQ(khib_memmap_read_firmware(path, &m), -ENOENT);
	/* An empty directory is no map either. */
	ASSERT_EQ(khib_memmap_read_firmware(fw_dir(), &m), -ENOENT);
}

/* Each bad tree must be refused and leave the result alone. */
static void expect_refused(int expected)
{
	static struct khib_memmap m, before;

	memset(&m, 0x5a, sizeof(m));
	before = m;
	ASSERT_EQ(khib_memmap_read_firmware(fw_dir(), &m), expected);
	ASSERT_MEMEQ(&m, &before, sizeof(m));
}

static void reset_dir(void)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fw_dir());
	ASSERT_EQ(system(cmd), 0);
}

TEST(memmap_read_firmware_garbage)
{
	const char *dir;

	dir = fw_dir();
	fw_entry(dir, 0, 0x0, 0x9fbff, "System RAM");
	fw_entry_raw(dir, 1, "0xzz\n", "0x1fff\n", "Reserved\n");
	expect_refused(-EINVAL);

	reset_dir();
	dir = fw_dir();
	fw_entry_raw(dir, 0, "", "0x1fff\n", "Reserved\n");
	expect_refused(-EINVAL);

	reset_dir();
	dir = fw_dir();
	fw_entry_raw(dir, 0, "0x1000 0x2000\n", "0x1fff\n", "Reserved\n");
	expect_refused(-EINVAL);

	/* End before start. */
	reset_dir();
	dir = fw_dir();
	fw_entry(dir, 0, 0x2000, 0x0fff, "System RAM");
	expect_refused(-EINVAL);

	/* Inclusive end of all ones: the exclusive end would wrap. */
	reset_dir();
	dir = fw_dir();
	fw_entry(dir, 0, 0x100000000ULL, UINT64_MAX, "System RAM");
	expect_refused(-EINVAL);

	/* A value that does not fit 64 bits. */
	reset_dir();
	dir = fw_dir();
	fw_entry_raw(dir, 0, "0x10000000000000000\n", "0x1fff\n", "Reserved\n");
	expect_refused(-EINVAL);

	/* Overlapping entries of different types. */
	reset_dir();
	dir = fw_dir();
	fw_entry(dir, 0, 0x100000, 0x1fffffff, "System RAM");
	fw_entry(dir, 1, 0x1ff00000, 0x2fffffff, "Reserved");
	expect_refused(-EINVAL);

	/* An entry without its type file. */
	reset_dir();
	dir = fw_dir();
	fw_entry(dir, 0, 0x100000, 0x1fffffff, "System RAM");
	fw_entry_raw(dir, 1, "0x0\n", "0xfff\n", NULL);
	expect_refused(-ENOENT);

	/* A type name too long for any real one. */
	reset_dir();
	dir = fw_dir();
	fw_entry_raw(dir, 0, "0x0\n", "0xfff\n",
		     "Reserved Reserved Reserved Reserved Reserved Reserved Reserved Reserved\n");
	expect_refused(-EINVAL);
}

static const char qemu_iomem[] =
	"00000000-00000fff : Reserved\n"
	"00001000-0009fbff : System RAM\n"
	"0009fc00-0009ffff : Reserved\n"
	"000a0000-000bffff : PCI Bus 0000:00\n"
	"000c0000-000c99ff : Video ROM\n"
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
	"c0000000-febfffff : PCI Bus 0000:00\n"
	"  fd000000-fdffffff : 0000:00:01.0\n"
	"    fd000000-fdffffff : bochs-drm\n"
	"fed1c000-fed1ffff : Reserved\n"
	"  fed1f410-fed1f414 : iTCO_wdt.0.auto\n"
	"    fed1f410-fed1f414 : Kernel code\n"
	"100000000-17fffffff : System RAM\n"
	"  140000000-1403fffff : Kernel codex\n"
	"180000000-1bfffffff : PCI Bus 0000:00"; /* no newline at the end */

TEST(memmap_iomem_find)
{
	static struct khib_memmap m;

	memset(&m, 0, sizeof(m));
	ASSERT_EQ(khib_memmap_iomem_find(qemu_iomem, "Kernel code", KHIB_E820_RESERVED, &m), 2);
	ASSERT_EQ(m.n, 2);
	expect_range(&m, 0, 0x1000000, 0x2000000, KHIB_E820_RESERVED);
	expect_range(&m, 1, 0xfed1f410, 0xfed1f415, KHIB_E820_RESERVED);

	ASSERT_EQ(khib_memmap_iomem_find(qemu_iomem, "Kernel data", 99, &m), 1);
	expect_range(&m, 2, 0x2800000, 0x2b1e100, 99);
	ASSERT_EQ(khib_memmap_iomem_find(qemu_iomem, "Crash kernel", KHIB_E820_RESERVED, &m), 1);
	expect_range(&m, 3, 0x1b000000, 0x1f000000, KHIB_E820_RESERVED);
	/* Top level, several, the last one without a newline. */
	ASSERT_EQ(khib_memmap_iomem_find(qemu_iomem, "System RAM", KHIB_E820_RAM, &m), 3);
	expect_range(&m, 6, 0x100000000ULL, 0x180000000ULL, KHIB_E820_RAM);
	ASSERT_EQ(khib_memmap_iomem_find(qemu_iomem, "PCI Bus 0000:00", 2, &m), 3);
	expect_range(&m, 9, 0x180000000ULL, 0x1c0000000ULL, 2);
	/* Names match whole, not as a prefix. */
	ASSERT_EQ(khib_memmap_iomem_find(qemu_iomem, "Kernel", 2, &m), 0);
	ASSERT_EQ(khib_memmap_iomem_find(qemu_iomem, "Kernel cod", 2, &m), 0);
	ASSERT_EQ(khib_memmap_iomem_find("", "Kernel code", 2, &m), 0);
	ASSERT_EQ(m.n, 10);
}

TEST(memmap_iomem_find_odd_lines)
{
	static struct khib_memmap m;
	static char text[2048];

	/* A line longer than any real one is skipped, not read past. */
	memset(&m, 0, sizeof(m));
	memset(text, 'x', sizeof(text) - 1);
	memcpy(text, "00001000-00001fff : ", 20);
	memcpy(text + 600, "\n00002000-00002fff : Kernel code\n", 33);
	ASSERT_EQ(khib_memmap_iomem_find(text, "Kernel code", 2, &m), 1);
	expect_range(&m, 0, 0x2000, 0x3000, 2);

	/* Reversed and wrapping ranges are not ranges. */
	ASSERT_EQ(khib_memmap_iomem_find("00002000-00001fff : Kernel code\n"
					 "ffffffffffffffff-ffffffffffffffff : Kernel code\n"
					 "zz-00001fff : Kernel code\n"
					 "00001000 : Kernel code\n",
					 "Kernel code", 2, &m), 0);
	ASSERT_EQ(m.n, 1);
}

TEST(memmap_iomem_find_full)
{
	static struct khib_memmap m;

	memset(&m, 0, sizeof(m));
	for (uint64_t i = 0; i < KHIB_MEMMAP_MAX; i++)
		ASSERT_OK(khib_memmap_add(&m, i << 20, (i << 20) + 1, 2));
	ASSERT_EQ(khib_memmap_iomem_find(qemu_iomem, "Kernel code", 2, &m), -E2BIG);
}

static void qemu_map(struct khib_memmap *m)
{
	memset(m, 0, sizeof(*m));
	ASSERT_OK(khib_memmap_add(m, 0, 0x9fc00, KHIB_E820_RAM));
	ASSERT_OK(khib_memmap_add(m, 0x9fc00, 0xa0000, KHIB_E820_RESERVED));
	ASSERT_OK(khib_memmap_add(m, 0xf0000, 0x100000, KHIB_E820_RESERVED));
	ASSERT_OK(khib_memmap_add(m, 0x100000, 0x1ffe0000, KHIB_E820_RAM));
	ASSERT_OK(khib_memmap_add(m, 0x1ffe0000, 0x20000000, KHIB_E820_RESERVED));
	ASSERT_OK(khib_memmap_add(m, 0xfed1c000, 0xfed20000, KHIB_E820_NVS));
}

TEST(memmap_total_and_find)
{
	static struct khib_memmap m;
	const struct khib_mem_range *r;

	qemu_map(&m);
	ASSERT_EQ_U64(khib_memmap_total(&m, KHIB_E820_RAM), 0x9fc00 + 0x1fee0000);
	ASSERT_EQ_U64(khib_memmap_total(&m, KHIB_E820_RESERVED), 0x400 + 0x10000 + 0x20000);
	ASSERT_EQ_U64(khib_memmap_total(&m, KHIB_E820_NVS), 0x4000);
	ASSERT_EQ_U64(khib_memmap_total(&m, KHIB_E820_ACPI), 0);

	r = khib_memmap_find(&m, 0x1000000, 0x2000000, KHIB_E820_RAM);
	ASSERT_TRUE(r == &m.r[3]);
	ASSERT_TRUE(khib_memmap_find(&m, 0x100000, 0x1ffe0000, KHIB_E820_RAM) == &m.r[3]);
	ASSERT_TRUE(khib_memmap_find(&m, 0, 0x9fc00, KHIB_E820_RAM) == &m.r[0]);
	/* Crossing into the reserved range above, or the wrong type. */
	ASSERT_TRUE(!khib_memmap_find(&m, 0x1ff00000, 0x1ffe0001, KHIB_E820_RAM));
	ASSERT_TRUE(!khib_memmap_find(&m, 0x9f000, 0xa0000, KHIB_E820_RAM));
	ASSERT_TRUE(!khib_memmap_find(&m, 0x1000000, 0x2000000, KHIB_E820_RESERVED));
	ASSERT_TRUE(khib_memmap_find(&m, 0xfed1c000, 0xfed1d000, KHIB_E820_NVS) == &m.r[5]);
	ASSERT_TRUE(!khib_memmap_find(&m, 0x20000000, 0x20001000, KHIB_E820_RAM));
}

TEST(memmap_hash)
{
	static struct khib_memmap a, b;
	uint64_t h;

	qemu_map(&a);
	qemu_map(&b);
	h = khib_memmap_hash(&a);
	ASSERT_EQ_U64(khib_memmap_hash(&b), h);
	/* Slots past n are not part of the map. */
	b.r[b.n] = (struct khib_mem_range){ 1, 2, 3 };
	ASSERT_EQ_U64(khib_memmap_hash(&b), h);

	for (size_t i = 0; i < a.n; i++) {
		b = a;
		b.r[i].start ^= 0x1000;
		ASSERT_TRUE(khib_memmap_hash(&b) != h);
		b = a;
		b.r[i].end += 1;
		ASSERT_TRUE(khib_memmap_hash(&b) != h);
		b = a;
		b.r[i].end ^= 1ULL << 40;
		ASSERT_TRUE(khib_memmap_hash(&b) != h);
		b = a;
		b.r[i].type = b.r[i].type == KHIB_E820_RAM ? KHIB_E820_RESERVED : KHIB_E820_RAM;
		ASSERT_TRUE(khib_memmap_hash(&b) != h);
	}
	b = a;
	b.n--;
	ASSERT_TRUE(khib_memmap_hash(&b) != h);
	b = a;
	ASSERT_OK(khib_memmap_add(&b, 1ULL << 32, 2ULL << 32, KHIB_E820_RAM));
	ASSERT_TRUE(khib_memmap_hash(&b) != h);
	/* Swapping two entries is another map. */
	b = a;
	b.r[0] = a.r[1];
	b.r[1] = a.r[0];
	ASSERT_TRUE(khib_memmap_hash(&b) != h);
	memset(&b, 0, sizeof(b));
	ASSERT_TRUE(khib_memmap_hash(&b) != h);
}
