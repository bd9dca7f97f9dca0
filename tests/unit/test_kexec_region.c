/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where a jumped-to kernel may live, on QEMU's firmware maps: region choice,
 * low memory and the confined e820 table.  Pure computation.
 */
#include "harness.h"
#include "kexec.h"
#include "test_kexec_fixture.h"
#include "util.h"

#include <inttypes.h>

static int choose(const struct khib_memmap *fw, const struct khib_memmap *avoid, uint64_t bytes,
		  uint64_t *start)
{
	return khib_kexec_choose_region(fw, avoid, bytes, start);
}

TEST(kexec_choose_region_highest)
{
	static struct khib_memmap fw, avoid;
	uint64_t start;

	qemu_512m(&fw);
	memset(&avoid, 0, sizeof(avoid));
	/* RAM ends at 0x1ffe0000: the highest 2 MiB boundary is 0x1fe00000. */
	ASSERT_OK(choose(&fw, &avoid, 64 * MiB, &start));
	ASSERT_EQ_U64(start, 0x1fe00000 - 64 * MiB);
	/* The running kernel at the top pushes the region below it. */
	add(&avoid, 0x1f000000, 0x1f1fffff, KHIB_E820_RESERVED);
	ASSERT_OK(choose(&fw, &avoid, 64 * MiB, &start));
	ASSERT_EQ_U64(start, 0x1f000000 - 64 * MiB);
	/* An unaligned blocker rounds the end down to 2 MiB. */
	add(&avoid, 0x1c345000, 0x1c345fff, KHIB_E820_RESERVED);
	ASSERT_OK(choose(&fw, &avoid, 64 * MiB, &start));
	ASSERT_EQ_U64(start, 0x1c200000 - 64 * MiB);
	/* 12 MiB are free above the kernel; 16 fit only between blockers. */
	ASSERT_OK(choose(&fw, &avoid, 8 * MiB, &start));
	ASSERT_EQ_U64(start, 0x1fe00000 - 8 * MiB);
	ASSERT_OK(choose(&fw, &avoid, 16 * MiB, &start));
	ASSERT_EQ_U64(start, 0x1f000000 - 16 * MiB);

	qemu_4g(&fw);
	memset(&avoid, 0, sizeof(avoid));
	ASSERT_OK(choose(&fw, &avoid, 64 * MiB, &start));
	ASSERT_EQ_U64(start, 0x180000000ULL - 64 * MiB);
	/* Exactly the RAM above 4 GiB. */
	ASSERT_OK(choose(&fw, &avoid, 2 * GiB, &start));
	ASSERT_EQ_U64(start, 0x100000000ULL);
	/* Blocked above 4 GiB: below the PCI hole, still the highest fit. */
	add(&avoid, 0x140000000ULL, 0x140000fffULL, KHIB_E820_RESERVED);
	ASSERT_OK(choose(&fw, &avoid, 1536 * MiB, &start));
	ASSERT_EQ_U64(start, 0x7fe00000 - 1536 * MiB);
}

TEST(kexec_choose_region_refusals)
{
	static struct khib_memmap fw, avoid;
	uint64_t start = 0xabcd;

	qemu_512m(&fw);
	memset(&avoid, 0, sizeof(avoid));
	ASSERT_EQ(choose(&fw, &avoid, 1 * GiB, &start), -ENOSPC);
	ASSERT_EQ(choose(&fw, &avoid, 0, &start), -EINVAL);
	ASSERT_EQ(choose(&fw, &avoid, 4096, &start), -EINVAL);
	ASSERT_EQ(choose(&fw, &avoid, 3 * MiB, &start), -EINVAL);
	ASSERT_EQ(choose(&fw, &avoid, 64 * MiB + 4096, &start), -EINVAL);
	/* Everything from 16 MiB up is avoided. */
	add(&avoid, 16 * MiB, 0x1fffffff, KHIB_E820_RESERVED);
	ASSERT_EQ(choose(&fw, &avoid, 2 * MiB, &start), -ENOSPC);
	ASSERT_EQ_U64(start, 0xabcd);

	/* Never below 16 MiB, even where RAM is free there. */
	memset(&fw, 0, sizeof(fw));
	memset(&avoid, 0, sizeof(avoid));
	add(&fw, 0, 0x9fbff, KHIB_E820_RAM);
	add(&fw, 0x100000, 32 * MiB - 1, KHIB_E820_RAM);
	ASSERT_OK(choose(&fw, &avoid, 16 * MiB, &start));
	ASSERT_EQ_U64(start, 16 * MiB);
	ASSERT_EQ(choose(&fw, &avoid, 18 * MiB, &start), -ENOSPC);
	/* Only non-RAM above: reserved memory is never chosen. */
	add(&fw, 32 * MiB, 1 * GiB - 1, KHIB_E820_RESERVED);
	ASSERT_EQ(choose(&fw, &avoid, 32 * MiB, &start), -ENOSPC);
}

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

/* The highest aligned fit by brute force: every 2 MiB step below 8 GiB. */
static int reference_choose(const struct khib_memmap *fw, const struct khib_memmap *avoid,
			    uint64_t bytes, uint64_t *ret)
{
	for (uint64_t s = 8 * GiB - bytes; s >= 16 * MiB; s -= 2 * MiB) {
		bool hit = false;

		if (!khib_memmap_find(fw, s, s + bytes, KHIB_E820_RAM))
			continue;
		for (size_t i = 0; i < avoid->n && !hit; i++)
			hit = khib_ranges_overlap(s, bytes, avoid->r[i].start,
						  avoid->r[i].end - avoid->r[i].start);
		if (!hit) {
			*ret = s;
			return 0;
		}
	}
	return -ENOSPC;
}

TEST(kexec_choose_region_matches_brute_force)
{
	static struct khib_memmap fw, avoid;
	uint64_t seed = 42;
	unsigned found = 0;

	for (int trial = 0; trial < 300; trial++) {
		uint64_t bytes = (1 + lcg(&seed) % 64) * 2 * MiB, got = 0, want = 0;
		int r, rr;

		if (trial % 2)
			qemu_4g(&fw);
		else
			qemu_512m(&fw);
		memset(&avoid, 0, sizeof(avoid));
		for (uint64_t k = lcg(&seed) % 6; k > 0; k--) {
			uint64_t s = lcg(&seed) % (6 * GiB / 4096) * 4096;
			uint64_t len = (1 + lcg(&seed) % 20000) * 4096;

			ASSERT_OK(khib_memmap_add(&avoid, s, s + len, KHIB_E820_RESERVED));
		}
		/* choose_region does not need a normalized avoid list. */
		r = choose(&fw, &avoid, bytes, &got);
		rr = reference_choose(&fw, &avoid, bytes, &want);
		if (r != rr || got != want)
			test_fail(__FILE__, __LINE__,
				  "trial %d, %" PRIu64 " MiB: %d 0x%" PRIx64 " != %d 0x%" PRIx64,
				  trial, bytes >> 20, r, got, rr, want);
		found += r == 0;
	}
	ASSERT_TRUE(found > 100);
}

TEST(kexec_low_memory)
{
	static struct khib_memmap fw;
	uint64_t start = 7, bytes = 7;

	qemu_512m(&fw);
	ASSERT_OK(khib_kexec_low_memory(&fw, &start, &bytes));
	ASSERT_EQ_U64(start, 0x1000);
	ASSERT_EQ_U64(start + bytes, 0x9f000);

	/* RAM running past 1 MiB is capped there. */
	memset(&fw, 0, sizeof(fw));
	add(&fw, 0, 0x7fffffff, KHIB_E820_RAM);
	ASSERT_OK(khib_kexec_low_memory(&fw, &start, &bytes));
	ASSERT_EQ_U64(start, 0x1000);
	ASSERT_EQ_U64(bytes, 0xff000);

	/* No RAM at 0x1000, or not a page of it. */
	start = bytes = 7;
	memset(&fw, 0, sizeof(fw));
	add(&fw, 0x2000, 0x9fbff, KHIB_E820_RAM);
	add(&fw, 0x100000, 0x1fffffff, KHIB_E820_RAM);
	ASSERT_EQ(khib_kexec_low_memory(&fw, &start, &bytes), -ENOENT);
	memset(&fw, 0, sizeof(fw));
	add(&fw, 0, 0x17ff, KHIB_E820_RAM);
	ASSERT_EQ(khib_kexec_low_memory(&fw, &start, &bytes), -ENOENT);
	memset(&fw, 0, sizeof(fw));
	add(&fw, 0, 0x9fbff, KHIB_E820_RESERVED);
	ASSERT_EQ(khib_kexec_low_memory(&fw, &start, &bytes), -ENOENT);
	memset(&fw, 0, sizeof(fw));
	ASSERT_EQ(khib_kexec_low_memory(&fw, &start, &bytes), -ENOENT);
	ASSERT_EQ_U64(start, 7);
	ASSERT_EQ_U64(bytes, 7);
}

/* What any confined table must satisfy. */
static void check_confined(const struct khib_memmap *fw, const struct khib_memmap *keep,
			   const struct khib_memmap *out)
{
	uint64_t ram_want = 0;

	for (size_t i = 0; i < out->n; i++) {
		ASSERT_TRUE(out->r[i].start < out->r[i].end);
		if (i)
			ASSERT_TRUE(out->r[i - 1].end <= out->r[i].start);
		if (out->r[i].type == KHIB_E820_RAM) {
			ASSERT_TRUE(khib_memmap_find(keep, out->r[i].start, out->r[i].end,
						     KHIB_E820_RAM));
			ASSERT_TRUE(khib_memmap_find(fw, out->r[i].start, out->r[i].end,
						     KHIB_E820_RAM));
		}
	}
	for (size_t i = 0; i < fw->n; i++) {
		const struct khib_mem_range *f = &fw->r[i];

		if (f->type != KHIB_E820_RAM) {
			ASSERT_TRUE(khib_memmap_find(out, f->start, f->end, f->type));
			continue;
		}
		/* Every byte of firmware RAM is still described, as RAM or reserved. */
		for (size_t k = 0; k < keep->n; k++) {
			uint64_t s = f->start > keep->r[k].start ? f->start : keep->r[k].start;
			uint64_t e = f->end < keep->r[k].end ? f->end : keep->r[k].end;

			if (s < e)
				ram_want += e - s;
		}
	}
	ASSERT_EQ_U64(khib_memmap_total(out, KHIB_E820_RAM), ram_want);
	ASSERT_EQ_U64(total_bytes(out), total_bytes(fw));
}

TEST(kexec_confine_e820_qemu)
{
	static struct khib_memmap fw, keep, out;

	qemu_512m(&fw);
	memset(&keep, 0, sizeof(keep));
	add(&keep, 0x1000, 0x9efff, KHIB_E820_RAM);
	add(&keep, 0x1be00000, 0x1fdfefff, KHIB_E820_RAM);
	ASSERT_OK(khib_kexec_confine_e820(&fw, &keep, &out));
	check_confined(&fw, &keep, &out);
	ASSERT_EQ(out.n, 9);
	expect_range(&out, 0, 0, 0x1000, KHIB_E820_RESERVED);
	expect_range(&out, 1, 0x1000, 0x9f000, KHIB_E820_RAM);
	expect_range(&out, 2, 0x9f000, 0xa0000, KHIB_E820_RESERVED);
	expect_range(&out, 3, 0xf0000, 0x1be00000, KHIB_E820_RESERVED);
	expect_range(&out, 4, 0x1be00000, 0x1fdff000, KHIB_E820_RAM);
	expect_range(&out, 5, 0x1fdff000, 0x20000000, KHIB_E820_RESERVED);
	expect_range(&out, 6, 0xb0000000, 0xc0000000, KHIB_E820_RESERVED);
	expect_range(&out, 7, 0xfed1c000, 0xfed20000, KHIB_E820_RESERVED);
	expect_range(&out, 8, 0xfffc0000, 0x100000000ULL, KHIB_E820_RESERVED);
}

TEST(kexec_confine_e820_edges)
{
	static struct khib_memmap fw, keep, out;

	qemu_4g(&fw);
	/* ACPI and NVS ranges keep their types. */
	add(&fw, 0x180000000ULL, 0x180000fffULL, KHIB_E820_ACPI);
	add(&fw, 0x180001000ULL, 0x180001fffULL, KHIB_E820_NVS);
	ASSERT_OK(khib_memmap_normalize(&fw));

	/* Keep ranges reaching over holes and off the end of RAM, several in
	 * one RAM range, one touching a RAM range's start. */
	memset(&keep, 0, sizeof(keep));
	add(&keep, 0x0, 0xfff, KHIB_E820_RAM);
	add(&keep, 0x9f000, 0x100fff, KHIB_E820_RAM);
	add(&keep, 0x40000000, 0x40ffffff, KHIB_E820_RAM);
	add(&keep, 0x50000000, 0x50000fff, KHIB_E820_RAM);
	add(&keep, 0x7f000000, 0x10fffffffULL, KHIB_E820_RAM);
	add(&keep, 0x17f000000ULL, 0x200000000ULL, KHIB_E820_RAM);
	ASSERT_OK(khib_kexec_confine_e820(&fw, &keep, &out));
	check_confined(&fw, &keep, &out);
	ASSERT_TRUE(khib_memmap_find(&out, 0, 0x1000, KHIB_E820_RAM));
	ASSERT_TRUE(khib_memmap_find(&out, 0x9f000, 0x9fc00, KHIB_E820_RAM));
	ASSERT_TRUE(khib_memmap_find(&out, 0x100000, 0x101000, KHIB_E820_RAM));
	ASSERT_TRUE(khib_memmap_find(&out, 0x7f000000, 0x7ffe0000, KHIB_E820_RAM));
	ASSERT_TRUE(khib_memmap_find(&out, 0x100000000ULL, 0x110000000ULL, KHIB_E820_RAM));
	ASSERT_TRUE(khib_memmap_find(&out, 0x17f000000ULL, 0x180000000ULL, KHIB_E820_RAM));
	ASSERT_TRUE(khib_memmap_find(&out, 0x110000000ULL, 0x17f000000ULL, KHIB_E820_RESERVED));
	ASSERT_TRUE(khib_memmap_find(&out, 0x180000000ULL, 0x180001000ULL, KHIB_E820_ACPI));
	ASSERT_TRUE(khib_memmap_find(&out, 0x180001000ULL, 0x180002000ULL, KHIB_E820_NVS));
	ASSERT_TRUE(!khib_memmap_find(&out, 0x7ffe0000, 0x7ffe1000, KHIB_E820_RAM));

	/* Nothing kept: no RAM at all, every byte still described. */
	memset(&keep, 0, sizeof(keep));
	ASSERT_OK(khib_kexec_confine_e820(&fw, &keep, &out));
	check_confined(&fw, &keep, &out);
	ASSERT_EQ_U64(khib_memmap_total(&out, KHIB_E820_RAM), 0);
}


TEST(kexec_default_region_bytes)
{
	const uint64_t mib = 1ULL << 20, gib = 1ULL << 30;

	ASSERT_EQ_U64(khib_kexec_default_region_bytes(512 * mib, 0), 36 * mib);
	ASSERT_EQ_U64(khib_kexec_default_region_bytes(1 * gib, 1), 36 * mib);
	ASSERT_EQ_U64(khib_kexec_default_region_bytes(8 * gib, 0), 36 * mib);
	ASSERT_EQ_U64(khib_kexec_default_region_bytes(8 * gib + 4 * mib, 0), 38 * mib);
	ASSERT_EQ_U64(khib_kexec_default_region_bytes(256 * gib, 0), 98 * mib);
	ASSERT_EQ_U64(khib_kexec_default_region_bytes(1 * gib, 4), 42 * mib);
}

/* khib's kernel and its writer initramfs: 30M; nothing less boots. */
TEST(kexec_region_floor)
{
	const uint64_t mib = 1ULL << 20;

	ASSERT_EQ_U64(khib_kexec_region_floor(0x102e000, 850 << 10), 30 * mib);
	ASSERT_EQ_U64(khib_kexec_region_floor(16 << 20, 0), 28 * mib);
	ASSERT_EQ_U64(khib_kexec_region_floor((16 << 20) + 1, 0), 30 * mib);
}
