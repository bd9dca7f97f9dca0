/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Room for a kexec load (lib/system/memory.c): /proc/meminfo and /proc/zoneinfo
 * as a 1 GiB QEMU guest prints them, the fit rule, and what a load takes
 * (khib_jump_plan_load_pages()).
 */
#include "fileio.h"
#include "harness.h"
#include "kexec.h"
#include "memory.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

static const char meminfo[] =
	"MemTotal:        1006744 kB\n"
	"MemFree:           61232 kB\n"
	"MemAvailable:      52880 kB\n"
	"Buffers:               0 kB\n"
	"Cached:           941624 kB\n";

/* A zone counts above its high watermark and its protection against
 * allocations up to Normal (the third entry). */
static const char zoneinfo[] =
	"Node 0, zone      DMA\n"
	"  per-node stats\n"
	"      nr_inactive_anon 1\n"
	"  pages free     3840\n"
	"        boost    0\n"
	"        min      27\n"
	"        low      33\n"
	"        high     39\n"
	"        spanned  4095\n"
	"        protection: (0, 900, 2900, 2900, 2900)\n"
	"Node 0, zone    DMA32\n"
	"  pages free     11468\n"
	"        boost    0\n"
	"        min      1567\n"
	"        low      1958\n"
	"        high     2349\n"
	"        spanned  258014\n"
	"        protection: (0, 0, 100, 100, 100)\n"
	"Node 0, zone   Normal\n"
	"  pages free     0\n"
	"        boost    0\n"
	"        min      0\n"
	"        low      0\n"
	"        high     0\n"
	"        protection: (0, 0, 0, 0, 0)\n"
	"Node 0, zone  Movable\n"
	"  per-node stats\n";

TEST(memory_parse)
{
	struct khib_meminfo m;

	ASSERT_OK(khib_meminfo_parse(meminfo, zoneinfo, &m));
	ASSERT_EQ_U64(m.total_bytes, 1006744ULL * 1024);
	ASSERT_EQ_U64(m.free_bytes, 61232ULL * 1024);
	ASSERT_EQ_U64(m.available_bytes, 52880ULL * 1024);
	ASSERT_EQ_U64(m.usable_bytes, ((3840ULL - 39 - 2900) + (11468ULL - 2349 - 100)) * 4096);
}

TEST(memory_parse_bad)
{
	struct khib_meminfo m = { .total_bytes = 7 };

	ASSERT_EQ(khib_meminfo_parse("MemTotal: 5 kB\n", zoneinfo, &m), -EBADMSG);
	ASSERT_EQ(khib_meminfo_parse("MemTotal: x kB\nMemFree: 1 kB\nMemAvailable: 1 kB\n",
				     zoneinfo, &m), -EBADMSG);
	ASSERT_EQ(khib_meminfo_parse(meminfo, "", &m), -EBADMSG);
	ASSERT_EQ(khib_meminfo_parse(meminfo, "Node 0, zone DMA32\n  pages free 5\n", &m),
		  -EBADMSG);
	/* No Normal zone to read the protection against. */
	ASSERT_EQ(khib_meminfo_parse(meminfo, "Node 0, zone DMA32\n  pages free     5\n"
				     "        high     1\n        protection: (0, 0)\n", &m),
		  -EBADMSG);
	ASSERT_EQ_U64(m.total_bytes, 7); /* untouched on failure */
}

/* Two nodes: each node's zones are indexed from 0 again. */
TEST(memory_parse_numa)
{
	static const char two[] =
		"Node 0, zone    DMA32\n  pages free     1000\n        high     100\n"
		"        protection: (0, 0, 50, 50)\n"
		"Node 0, zone   Normal\n  pages free     2000\n        high     200\n"
		"        protection: (0, 0, 0, 0)\n"
		"Node 1, zone    DMA32\n  pages free     0\n        high     0\n"
		"        protection: (0, 0, 0, 0)\n"
		"Node 1, zone   Normal\n  pages free     3000\n        high     300\n"
		"        protection: (0, 0, 7, 0)\n";
	struct khib_meminfo m;

	/* Normal is index 1 within a node here. */
	ASSERT_OK(khib_meminfo_parse(meminfo, two, &m));
	ASSERT_EQ_U64(m.usable_bytes, ((1000ULL - 100 - 0) + (2000 - 200) + (3000 - 300)) * 4096);
}

TEST(memory_fits_leaves_headroom)
{
	struct khib_meminfo m = { .usable_bytes = 40ULL << 20 };

	ASSERT_TRUE(khib_meminfo_fits(&m, 32ULL << 20));
	ASSERT_TRUE(khib_meminfo_fits(&m, (40ULL << 20) - KHIB_LOAD_HEADROOM_BYTES));
	ASSERT_TRUE(!khib_meminfo_fits(&m, (40ULL << 20) - KHIB_LOAD_HEADROOM_BYTES + 1));
	ASSERT_TRUE(!khib_meminfo_fits(&m, 64ULL << 20));
}

/* A 64 MiB region and 636 KiB of low memory on a 1 GiB machine: the pages
 * themselves, 33 entry pages, control and swap pages, a page table. */
TEST(memory_load_pages)
{
	struct khib_jump_plan p = { .nr_segments = 3 };
	uint64_t pages;

	p.seg[0] = (struct khib_kexec_segment){ NULL, 0, 0x1000, 0x9f000 };
	p.seg[1] = (struct khib_kexec_segment){ NULL, 0, 0x3c000000, 0x3ffc000 };
	p.seg[2] = (struct khib_kexec_segment){ NULL, 0, 0x3fffc000, 0x4000 };
	pages = khib_jump_plan_load_pages(&p, 1ULL << 30);
	/* 159 + 16380 + 4 data pages; 16547 entries: 33 pages. */
	ASSERT_EQ_U64(pages, 159 + 16380 + 4 + 33 + 2 + (1 + 1 + 1 + 6));
	/* More RAM to map: one more PMD page per GiB. */
	ASSERT_EQ_U64(khib_jump_plan_load_pages(&p, 4ULL << 30), pages + 3);
}

/* This machine's own files parse, and what counts is never more than free. */
TEST(memory_read_this_machine)
{
	struct khib_meminfo m;

	ASSERT_OK(khib_meminfo_read("", &m));
	ASSERT_TRUE(m.total_bytes > 0);
	ASSERT_TRUE(m.usable_bytes <= m.free_bytes);
	ASSERT_TRUE(m.free_bytes <= m.total_bytes);
}

/* vm.compact_unevictable_allowed is 0 while the status page must stay. */
TEST(memory_hold_mlocked)
{
	char root[300], path[400], old[8] = "", now[8] = "";
	FILE *f;

	snprintf(root, sizeof(root), "%s", test_tmpdir());
	snprintf(path, sizeof(path), "%s/proc", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/sys", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/sys/vm", root);
	mkdir(path, 0755);
	ASSERT_EQ(khib_memory_hold_mlocked(root, old, sizeof(old)), -ENOENT);
	snprintf(path, sizeof(path), "%s/proc/sys/vm/compact_unevictable_allowed", root);
	f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	fputs("1\n", f);
	fclose(f);
	ASSERT_OK(khib_memory_hold_mlocked(root, old, sizeof(old)));
	ASSERT_STREQ(old, "1");
	ASSERT_OK(khib_read_attr(path, now, sizeof(now)));
	ASSERT_STREQ(now, "0");
	ASSERT_OK(khib_memory_release_mlocked(root, old));
	ASSERT_OK(khib_read_attr(path, now, sizeof(now)));
	ASSERT_STREQ(now, "1");
}
