/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The handoff page: round trip, the byte layout documented in handoff.h,
 * the jump_back_entry slot that the purgatory writes after the checksum was
 * made, and refusal of every corruption.
 */
#include "crypt.h"
#include "handoff.h"
#include "handoff_read.h"
#include "harness.h"
#include "util.h"

#include <stdlib.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

/* Offsets from the layout comment in handoff.h. */
#define OFF_MAGIC 0
#define OFF_VERSION 8
#define OFF_SIZE 12
#define OFF_ENTRY 16
#define OFF_CHECKSUM 24
#define OFF_REGION_START 32
#define OFF_BOOT_ID 96
#define OFF_RELEASE 112
#define OFF_VERSION_STR 177
#define OFF_MEMMAP_HASH 242
#define OFF_NR_RANGES 250
#define OFF_RANGES 254

/* Every field set, to values that differ from each other. */
static void fill(struct khib_handoff *h, uint32_t nr_ranges)
{
	memset(h, 0, sizeof(*h));
	h->jump_back_entry = 0x1234000ULL;
	h->region_start = 0x17c000000ULL;
	h->region_bytes = 0x4000000;
	h->low_start = 0x1000;
	h->low_bytes = 0x9e000;
	h->handoff_paddr = 0x17ffff000ULL;
	h->flags = 0x8000000000000001ULL;
	h->vmcoreinfo_paddr = 0x1f3b5000;
	h->vmcoreinfo_bytes = 0x1024;
	for (int i = 0; i < 16; i++)
		h->boot_id[i] = (uint8_t)(0xa0 + i);
	snprintf(h->release, sizeof(h->release), "6.1.0-khib");
	memset(h->version, 'v', 64);
	h->memmap_hash = 0xfedcba9876543210ULL;
	h->nr_ranges = nr_ranges;
	for (uint32_t i = 0; i < nr_ranges; i++) {
		h->ranges[i].start = 0x100000000ULL * i + 0x1000 * (i + 1);
		h->ranges[i].bytes = 0x10000000ULL + i * 0x1000;
	}
	h->codec = 2;
	h->codec_level = -5;
	h->threads = 7;
	snprintf(h->target_name, sizeof(h->target_name), "nvme0n1p3");
	h->target_dev = 0x10303;
	h->target_bytes = 0x4000000000ULL;
	snprintf(h->target_id, sizeof(h->target_id), "eui.0123456789abcdef");
	h->target_part = 3;
	h->nr_extents = 3;
	h->extents_paddr = 0x17fff0000ULL;
	h->extents_hash = 0x1122334455667788ULL;
	h->status_paddr = 0x7654328;
	h->status_nonce = 0x0123456789abcdefULL;
	h->key_paddr = 0x17fffe000ULL;
	h->nr_fs = KHIB_HANDOFF_MAX_FS;
	for (uint32_t i = 0; i < h->nr_fs; i++) {
		struct khib_fsstamp *f = &h->fs[i];

		f->kind = KHIB_FS_EXT;
		memset(f->uuid, 0x30 + (int)i, 16);
		f->dev = 0xfd00000ULL + i;
		f->mnt_count = (uint16_t)(7 + i);
		f->state = 1;
		f->incompat = 0x2c6;
		f->mtime = 0x6700000000ULL + i;
		f->wtime = 0x6700000100ULL + i;
		f->lastcheck = 0x6600000000ULL + i;
		snprintf(f->where, sizeof(f->where), "/mnt/fs%u", i);
	}
}

static uint32_t used_bytes(const uint8_t *page)
{
	return khib_get_le32(page + OFF_SIZE);
}

/* The checksum as handoff.h documents it. */
static uint64_t documented_checksum(const uint8_t *page)
{
	uint8_t copy[KHIB_HANDOFF_BYTES];
	uint32_t used = used_bytes(page);

	memcpy(copy, page, used);
	memset(copy + 16, 0, 16);
	return XXH64(copy, used, 0);
}

/* Re-seal a page after editing it: the edit, not the seal, is under test. */
static void reseal(uint8_t *page)
{
	khib_put_le64(page + OFF_CHECKSUM, documented_checksum(page));
}

TEST(handoff_roundtrip_every_field)
{
	static struct khib_handoff h, out;
	static uint8_t page[KHIB_HANDOFF_BYTES];
	uint32_t counts[] = { 0, 1, 5, KHIB_HANDOFF_MAX_RANGES };

	for (size_t k = 0; k < ARRAY_SIZE(counts); k++) {
		fill(&h, counts[k]);
		memset(page, 0xee, sizeof(page));
		ASSERT_OK(khib_handoff_encode(&h, page));
		memset(&out, 0, sizeof(out)); /* padding compares equal */
		ASSERT_OK(khib_handoff_decode(page, sizeof(page), &out));
		ASSERT_MEMEQ(&out, &h, sizeof(h));
		ASSERT_EQ(out.nr_ranges, counts[k]);
		ASSERT_STREQ(out.release, "6.1.0-khib");
		ASSERT_EQ(strlen(out.version), 64);
		ASSERT_EQ(out.codec_level, -5);
		/* The rest of the page is zero-filled, not left as it was. */
		for (size_t i = used_bytes(page); i < sizeof(page); i++)
			ASSERT_EQ(page[i], 0);
	}
	/* Zero extents and zero ranges is a valid handoff too. */
	fill(&h, 0);
	h.nr_extents = 0;
	h.extents_paddr = 0;
	h.extents_hash = 0;
	ASSERT_OK(khib_handoff_encode(&h, page));
	ASSERT_OK(khib_handoff_decode(page, sizeof(page), &out));
	ASSERT_MEMEQ(&out, &h, sizeof(h));
}

TEST(handoff_layout)
{
	static struct khib_handoff h;
	static uint8_t page[KHIB_HANDOFF_BYTES];

	fill(&h, 2);
	ASSERT_OK(khib_handoff_encode(&h, page));
	ASSERT_EQ(khib_get_le32(page + OFF_VERSION), KHIB_HANDOFF_VERSION);
	ASSERT_TRUE(used_bytes(page) >= OFF_RANGES + 16 * KHIB_HANDOFF_MAX_RANGES);
	ASSERT_TRUE(used_bytes(page) <= KHIB_HANDOFF_BYTES);
	ASSERT_EQ_U64(khib_get_le64(page + OFF_ENTRY), 0x1234000ULL);
	ASSERT_EQ_U64(khib_get_le64(page + OFF_REGION_START), 0x17c000000ULL);
	ASSERT_EQ_U64(khib_get_le64(page + OFF_REGION_START + 8), 0x4000000);
	ASSERT_EQ_U64(khib_get_le64(page + OFF_REGION_START + 16), 0x1000);
	ASSERT_EQ_U64(khib_get_le64(page + OFF_REGION_START + 24), 0x9e000);
	ASSERT_EQ_U64(khib_get_le64(page + OFF_REGION_START + 32), 0x17ffff000ULL);
	ASSERT_EQ_U64(khib_get_le64(page + OFF_REGION_START + 40), 0x8000000000000001ULL);
	ASSERT_EQ_U64(khib_get_le64(page + OFF_REGION_START + 48), 0x1f3b5000);
	ASSERT_EQ_U64(khib_get_le64(page + OFF_REGION_START + 56), 0x1024);
	ASSERT_MEMEQ(page + OFF_BOOT_ID, h.boot_id, 16);
	ASSERT_STREQ((const char *)page + OFF_RELEASE, "6.1.0-khib");
	ASSERT_EQ(page[OFF_VERSION_STR], 'v');
	ASSERT_EQ(page[OFF_VERSION_STR + 64], 0);
	ASSERT_EQ_U64(khib_get_le64(page + OFF_MEMMAP_HASH), 0xfedcba9876543210ULL);
	ASSERT_EQ(khib_get_le32(page + OFF_NR_RANGES), 2);
	ASSERT_EQ_U64(khib_get_le64(page + OFF_RANGES + 16), h.ranges[1].start);
	ASSERT_EQ_U64(khib_get_le64(page + OFF_RANGES + 24), h.ranges[1].bytes);
}

/* handoff.h: "0  u64 magic "KHIBHOFF"": the bytes in memory, as a reader
 * of /dev/mem or a crash dump sees them. */
TEST(handoff_layout_magic_bytes)
{
	static struct khib_handoff h;
	static uint8_t page[KHIB_HANDOFF_BYTES];

	fill(&h, 1);
	ASSERT_OK(khib_handoff_encode(&h, page));
	ASSERT_MEMEQ(page + OFF_MAGIC, "KHIBHOFF", 8);
}

/* handoff.h: "24 u64 checksum: XXH64 of the used part with bytes 16..31
 * zeroed". */
TEST(handoff_layout_checksum_documented)
{
	static struct khib_handoff h;
	static uint8_t page[KHIB_HANDOFF_BYTES];

	fill(&h, 3);
	ASSERT_OK(khib_handoff_encode(&h, page));
	ASSERT_EQ_U64(khib_get_le64(page + OFF_CHECKSUM), documented_checksum(page));
}

TEST(handoff_jump_back_entry_outside_checksum)
{
	static struct khib_handoff h, out;
	static uint8_t page[KHIB_HANDOFF_BYTES];
	static const uint64_t entries[] = { 0, 0xffffffff81000000ULL, 0x3ffe000, UINT64_MAX };

	fill(&h, 4);
	h.jump_back_entry = 0;
	ASSERT_OK(khib_handoff_encode(&h, page));
	for (size_t i = 0; i < ARRAY_SIZE(entries); i++) {
		/* What the purgatory does at jump time. */
		khib_put_le64(page + KHIB_HANDOFF_OFF_ENTRY, entries[i]);
		ASSERT_OK(khib_handoff_decode(page, sizeof(page), &out));
		ASSERT_EQ_U64(out.jump_back_entry, entries[i]);
		h.jump_back_entry = entries[i];
		ASSERT_MEMEQ(&out, &h, sizeof(h));
	}
}

/* Any single flipped bit: the header gives its own error, the entry slot
 * is free, everything else in the used part is corruption. */
TEST(handoff_every_bit_flip)
{
	static struct khib_handoff h, out;
	static uint8_t page[KHIB_HANDOFF_BYTES];
	uint32_t used;

	fill(&h, KHIB_HANDOFF_MAX_RANGES);
	ASSERT_OK(khib_handoff_encode(&h, page));
	used = used_bytes(page);
	for (uint32_t off = 0; off < used; off++) {
		for (int bit = 0; bit < 8; bit++) {
			int want, r;

			if (off < 8)
				want = -ENODATA;
			else if (off < 12)
				want = -EOPNOTSUPP;
			else if (off >= 16 && off < 24)
				want = 0;
			else
				want = -EBADMSG;
			page[off] ^= (uint8_t)(1u << bit);
			r = khib_handoff_decode(page, sizeof(page), &out);
			page[off] ^= (uint8_t)(1u << bit);
			if (r != want)
				test_fail(__FILE__, __LINE__, "byte %u bit %d: %d != %d", off, bit, r,
					  want);
		}
	}
	ASSERT_OK(khib_handoff_decode(page, sizeof(page), &out));
}

TEST(handoff_wrong_magic_and_version)
{
	static struct khib_handoff h, out, before;
	static uint8_t page[KHIB_HANDOFF_BYTES], zero[KHIB_HANDOFF_BYTES];
	static const uint32_t versions[] = { 0, 1, KHIB_HANDOFF_VERSION - 1, KHIB_HANDOFF_VERSION + 1,
					     0x100, UINT32_MAX };

	memset(&out, 0x42, sizeof(out));
	before = out;
	ASSERT_EQ(khib_handoff_decode(zero, sizeof(zero), &out), -ENODATA);
	fill(&h, 2);
	ASSERT_OK(khib_handoff_encode(&h, page));
	page[7] = 'X';
	ASSERT_EQ(khib_handoff_decode(page, sizeof(page), &out), -ENODATA);
	ASSERT_MEMEQ(&out, &before, sizeof(out));

	for (size_t i = 0; i < ARRAY_SIZE(versions); i++) {
		ASSERT_OK(khib_handoff_encode(&h, page));
		khib_put_le32(page + OFF_VERSION, versions[i]);
		ASSERT_EQ(khib_handoff_decode(page, sizeof(page), &out), -EOPNOTSUPP);
	}
	ASSERT_MEMEQ(&out, &before, sizeof(out));
}

/* The layout of each version, pinned: a change of the used size (a field
 * added, grown or removed) must come with a new KHIB_HANDOFF_VERSION, or a
 * khib and an initramfs of different builds take each other's blocks for
 * corrupt ones.  Version 3 used 2202 bytes, then grew by the target's
 * identity (96 + 4 bytes) without a bump; 4 is that layout. */
TEST(handoff_layout_size_pinned_to_version)
{
	static struct khib_handoff h;
	static uint8_t page[KHIB_HANDOFF_BYTES];

	fill(&h, 1);
	ASSERT_OK(khib_handoff_encode(&h, page));
	ASSERT_EQ(KHIB_HANDOFF_VERSION, 4);
	ASSERT_EQ(used_bytes(page), 2302);
}

/* A block of another version is told apart from a corrupt one, and the
 * jumped-to kernel says which versions meet: the message of a khib and
 * initramfs from different builds. */
TEST(handoff_other_version_named)
{
	static struct khib_handoff h, out;
	static uint8_t page[KHIB_HANDOFF_BYTES];
	char reason[KHIB_REASON_MAX], want[KHIB_REASON_MAX], cmdline[300], mem[300];
	FILE *f;

	fill(&h, 2);
	ASSERT_OK(khib_handoff_encode(&h, page));
	khib_put_le32(page + OFF_VERSION, KHIB_HANDOFF_VERSION - 1);
	reseal(page);
	ASSERT_EQ(khib_handoff_decode(page, sizeof(page), &out), -EOPNOTSUPP);
	ASSERT_EQ(khib_handoff_fail(page, sizeof(page), -EOPNOTSUPP, reason), -EOPNOTSUPP);
	snprintf(want, sizeof(want), "unsupported handoff version %u (this khib speaks %u)",
		 KHIB_HANDOFF_VERSION - 1, KHIB_HANDOFF_VERSION);
	ASSERT_STREQ(reason, want);

	snprintf(mem, sizeof(mem), "%s/mem", test_tmpdir());
	f = fopen(mem, "w+");
	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(fseek(f, 0x7000, SEEK_SET), 0);
	ASSERT_EQ(fwrite(page, 1, sizeof(page), f), sizeof(page));
	ASSERT_EQ(fclose(f), 0);
	snprintf(cmdline, sizeof(cmdline), "%s/cmdline", test_tmpdir());
	f = fopen(cmdline, "w");
	ASSERT_TRUE(f != NULL);
	fputs("console=ttyS0 khib.handoff=0x7000 quiet\n", f);
	ASSERT_EQ(fclose(f), 0);
	reason[0] = '\0';
	ASSERT_EQ(khib_handoff_find(cmdline, mem, &out, reason), -EOPNOTSUPP);
	ASSERT_STREQ(reason, want);

	/* The same block, current again but with a byte flipped: corrupt. */
	khib_put_le32(page + OFF_VERSION, KHIB_HANDOFF_VERSION);
	reseal(page);
	page[OFF_CHECKSUM] ^= 1;
	f = fopen(mem, "r+");
	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(fseek(f, 0x7000, SEEK_SET), 0);
	ASSERT_EQ(fwrite(page, 1, sizeof(page), f), sizeof(page));
	ASSERT_EQ(fclose(f), 0);
	ASSERT_EQ(khib_handoff_find(cmdline, mem, &out, reason), -EBADMSG);
	ASSERT_STREQ(reason, "corrupt handoff block");
	page[OFF_CHECKSUM] ^= 1;
	f = fopen(mem, "r+");
	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(fseek(f, 0x7000, SEEK_SET), 0);
	ASSERT_EQ(fwrite(page, 1, sizeof(page), f), sizeof(page));
	ASSERT_EQ(fclose(f), 0);
	ASSERT_OK(khib_handoff_find(cmdline, mem, &out, reason));
	ASSERT_EQ(out.nr_ranges, 2);
}

TEST(handoff_short_buffer)
{
	static struct khib_handoff h, out;
	static uint8_t page[KHIB_HANDOFF_BYTES];
	uint32_t used;
	uint8_t *buf;

	fill(&h, 3);
	ASSERT_OK(khib_handoff_encode(&h, page));
	used = used_bytes(page);
	/* Exactly the used part, in a buffer of that size (ASan watches). */
	buf = malloc(used);
	ASSERT_TRUE(buf);
	memcpy(buf, page, used);
	ASSERT_OK(khib_handoff_decode(buf, used, &out));
	ASSERT_EQ(khib_handoff_decode(buf, used - 1, &out), -EBADMSG);
	ASSERT_EQ(khib_handoff_decode(buf, 32, &out), -EBADMSG);
	ASSERT_EQ(khib_handoff_decode(buf, 31, &out), -ENODATA);
	ASSERT_EQ(khib_handoff_decode(buf, 0, &out), -ENODATA);
	free(buf);
	/* A size field that disagrees with this version's layout. */
	khib_put_le32(page + OFF_SIZE, used - 16);
	ASSERT_EQ(khib_handoff_decode(page, sizeof(page), &out), -EBADMSG);
	khib_put_le32(page + OFF_SIZE, KHIB_HANDOFF_BYTES + 1);
	ASSERT_EQ(khib_handoff_decode(page, sizeof(page), &out), -EBADMSG);
}

/* Encode h (which encode accepts) and decode it. */
static int roundtrip(const struct khib_handoff *h)
{
	static uint8_t page[KHIB_HANDOFF_BYTES];
	static struct khib_handoff out;

	ASSERT_OK(khib_handoff_encode(h, page));
	return khib_handoff_decode(page, sizeof(page), &out);
}

TEST(handoff_ranges_checked)
{
	static struct khib_handoff h;

	fill(&h, 3);
	h.ranges[1].start = h.ranges[2].start; /* unsorted */
	h.ranges[2].start = 0x1000;
	ASSERT_EQ(roundtrip(&h), -EBADMSG);

	fill(&h, 3);
	h.ranges[1].start = h.ranges[0].start + h.ranges[0].bytes - 1; /* overlap */
	ASSERT_EQ(roundtrip(&h), -EBADMSG);

	fill(&h, 3);
	h.ranges[1].start = h.ranges[0].start + h.ranges[0].bytes; /* touching */
	ASSERT_OK(roundtrip(&h));

	fill(&h, 3);
	h.ranges[2].bytes = 0;
	ASSERT_EQ(roundtrip(&h), -EBADMSG);

	fill(&h, 3);
	h.ranges[2].bytes = UINT64_MAX - h.ranges[2].start + 1; /* wraps */
	ASSERT_EQ(roundtrip(&h), -EBADMSG);
	h.ranges[2].bytes--; /* ends exactly at 2^64 - 1 */
	ASSERT_OK(roundtrip(&h));

	fill(&h, KHIB_HANDOFF_MAX_RANGES);
	ASSERT_OK(roundtrip(&h));
	h.nr_ranges = KHIB_HANDOFF_MAX_RANGES + 1;
	{
		static uint8_t page[KHIB_HANDOFF_BYTES];

		ASSERT_EQ(khib_handoff_encode(&h, page), -E2BIG);
	}
}

TEST(handoff_nr_ranges_over_max_on_the_page)
{
	static struct khib_handoff h, out;
	static uint8_t page[KHIB_HANDOFF_BYTES];

	fill(&h, KHIB_HANDOFF_MAX_RANGES);
	ASSERT_OK(khib_handoff_encode(&h, page));
	khib_put_le32(page + OFF_NR_RANGES, KHIB_HANDOFF_MAX_RANGES + 1);
	reseal(page);
	ASSERT_EQ(khib_handoff_decode(page, sizeof(page), &out), -EBADMSG);
	khib_put_le32(page + OFF_NR_RANGES, UINT32_MAX);
	reseal(page);
	ASSERT_EQ(khib_handoff_decode(page, sizeof(page), &out), -EBADMSG);
	/* The reseal itself is right: the original count decodes again. */
	khib_put_le32(page + OFF_NR_RANGES, KHIB_HANDOFF_MAX_RANGES);
	reseal(page);
	ASSERT_OK(khib_handoff_decode(page, sizeof(page), &out));
}

TEST(handoff_fields_checked)
{
	static struct khib_handoff h;
	static uint8_t page[KHIB_HANDOFF_BYTES];

	fill(&h, 2);
	h.region_bytes = 0;
	ASSERT_EQ(roundtrip(&h), -EBADMSG);

	fill(&h, 2);
	h.region_start = UINT64_MAX - 0xfff;
	h.region_bytes = 0x2000;
	ASSERT_EQ(roundtrip(&h), -EBADMSG);

	/* Low memory stays below 1 MiB. */
	fill(&h, 2);
	h.low_start = 0x1000;
	h.low_bytes = 0xff000;
	ASSERT_OK(roundtrip(&h));
	h.low_bytes = 0x100000;
	ASSERT_EQ(roundtrip(&h), -EBADMSG);

	fill(&h, 2);
	memset(h.release, 'r', sizeof(h.release)); /* unterminated */
	ASSERT_EQ(roundtrip(&h), -EBADMSG);

	fill(&h, 2);
	memset(h.version, 'v', sizeof(h.version));
	ASSERT_EQ(roundtrip(&h), -EBADMSG);

	fill(&h, 2);
	memset(h.target_name, 'n', sizeof(h.target_name));
	ASSERT_EQ(roundtrip(&h), -EBADMSG);

	fill(&h, 2);
	memset(h.target_id, 'i', sizeof(h.target_id));
	ASSERT_EQ(roundtrip(&h), -EBADMSG);

	/* The extent map is named by a page address. */
	fill(&h, 2);
	h.extents_paddr |= 0x800;
	ASSERT_EQ(roundtrip(&h), -EBADMSG);
	fill(&h, 2);
	h.extents_paddr = 0;
	ASSERT_EQ(roundtrip(&h), -EBADMSG);
	fill(&h, 2);
	h.nr_extents = KHIB_EXTMAP_MAX_EXTENTS + 1;
	ASSERT_EQ(khib_handoff_encode(&h, page), -E2BIG);

	fill(&h, 2);
	h.status_paddr |= 4;
	ASSERT_EQ(roundtrip(&h), -EBADMSG);
}

TEST(handoff_extmap_roundtrip)
{
	const struct khib_extent ext[] = {
		{ 0, 0x9000000, 0x100000 },
		{ 0x100000, 0x4000, 0x3000 },
		{ 0x103000, 0x7ffffff000ULL, 0x1000 },
	};
	uint8_t buf[3 * KHIB_EXTMAP_ENTRY_BYTES];
	struct khib_extent *out;
	uint64_t hash = khib_extmap_encode(ext, 3, buf);

	/* (device offset, length) pairs; logical offsets follow from them. */
	ASSERT_EQ_U64(khib_get_le64(buf + 16), 0x4000);
	ASSERT_EQ_U64(khib_get_le64(buf + 24), 0x3000);
	ASSERT_EQ_U64(hash, XXH64(buf, sizeof(buf), 0));
	ASSERT_OK(khib_extmap_decode(buf, 3, hash, &out));
	ASSERT_MEMEQ(out, ext, sizeof(ext));
	free(out);
	/* A changed byte, a count that differs from the handoff's. */
	ASSERT_EQ(khib_extmap_decode(buf, 2, hash, &out), -EBADMSG);
	buf[3] ^= 1;
	ASSERT_EQ(khib_extmap_decode(buf, 3, hash, &out), -EBADMSG);
	buf[3] ^= 1;
	ASSERT_EQ(khib_extmap_decode(buf, KHIB_EXTMAP_MAX_EXTENTS + 1, hash, &out), -E2BIG);
	/* Empty, misaligned or wrapping entries, even with a matching hash. */
	const struct khib_extent bad[][1] = {
		{ { 0, 0x1000, 0 } },
		{ { 0, 0x1200, 0x1000 } },
		{ { 0, 0x1000, 0x1800 } },
		{ { 0, UINT64_MAX - 0xfff, 0x2000 } },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		hash = khib_extmap_encode(bad[i], 1, buf);
		if (khib_extmap_decode(buf, 1, hash, &out) != -EBADMSG)
			test_fail(__FILE__, __LINE__, "bad entry %zu accepted", i);
	}
}

TEST(handoff_keypage_roundtrip)
{
	static struct khib_image_key k, out;
	static uint8_t page[KHIB_KEYPAGE_BYTES];
	uint8_t uuid[16], got[16];

	k.aead = 2;
	k.n_slots = 3;
	memset(k.dk, 0x5c, sizeof(k.dk));
	for (size_t i = 0; i < sizeof(k.key_area); i++)
		k.key_area[i] = (uint8_t)i;
	memset(uuid, 0x42, sizeof(uuid));
	khib_keypage_encode(&k, uuid, page);
	ASSERT_OK(khib_keypage_decode(page, &out, got));
	ASSERT_MEMEQ(&out, &k, sizeof(k));
	ASSERT_MEMEQ(got, uuid, 16);
	page[40] ^= 1;					/* a bit of the key */
	ASSERT_EQ(khib_keypage_decode(page, &out, got), -EBADMSG);
	memset(page, 0, sizeof(page));			/* wiped */
	ASSERT_EQ(khib_keypage_decode(page, &out, got), -ENODATA);
}

/* The writer and restore kernels take the key page through /dev/mem and
 * leave zeros behind (a file stands in for physical memory here). */
TEST(handoff_keypage_taken_and_wiped)
{
	static struct khib_image_key k, *out;
	static uint8_t page[KHIB_KEYPAGE_BYTES], back[KHIB_KEYPAGE_BYTES];
	uint8_t uuid[16] = { 7 }, got[16];
	char path[300];
	FILE *f;

	k.aead = 1;
	k.n_slots = 1;
	memset(k.dk, 0xd7, sizeof(k.dk));
	khib_keypage_encode(&k, uuid, page);
	snprintf(path, sizeof(path), "%s/mem", test_tmpdir());
	f = fopen(path, "w+");
	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(fseek(f, 0x3000, SEEK_SET), 0);
	ASSERT_EQ(fwrite(page, 1, sizeof(page), f), sizeof(page));
	ASSERT_EQ(fclose(f), 0);
	out = khib_secret_alloc(sizeof(*out));
	ASSERT_TRUE(out != NULL);
	ASSERT_OK(khib_keypage_take(path, 0x3000, out, got));
	ASSERT_MEMEQ(out->dk, k.dk, sizeof(k.dk));
	f = fopen(path, "r");
	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(fseek(f, 0x3000, SEEK_SET), 0);
	ASSERT_EQ(fread(back, 1, sizeof(back), f), sizeof(back));
	fclose(f);
	for (size_t i = 0; i < sizeof(back); i++)
		ASSERT_EQ(back[i], 0);
	khib_secret_free(out);
}

/* The writer kernel reads the extent map where the handoff says, and only
 * what the handoff's count and hash describe. */
TEST(handoff_extmap_read_through_devmem)
{
	const struct khib_extent ext[] = { { 0, 0x200000, 0x4000 }, { 0x4000, 0x100000, 0x1000 } };
	uint8_t map[2 * KHIB_EXTMAP_ENTRY_BYTES];
	struct khib_handoff h = { 0 };
	struct khib_extent *out;
	char path[300];
	FILE *f;

	h.nr_extents = 2;
	h.extents_paddr = 0x5000;
	h.extents_hash = khib_extmap_encode(ext, 2, map);
	snprintf(path, sizeof(path), "%s/mem", test_tmpdir());
	f = fopen(path, "w+");
	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(fseek(f, 0x5000, SEEK_SET), 0);
	ASSERT_EQ(fwrite(map, 1, sizeof(map), f), sizeof(map));
	ASSERT_OK(ftruncate(fileno(f), 0x8000)); /* mapped pages must exist */
	ASSERT_EQ(fclose(f), 0);
	ASSERT_OK(khib_extmap_read(path, &h, &out));
	ASSERT_MEMEQ(out, ext, sizeof(ext));
	free(out);
	h.extents_paddr = 0x6000; /* zeros there */
	ASSERT_EQ(khib_extmap_read(path, &h, &out), -EBADMSG);
	h.nr_extents = 0;
	ASSERT_EQ(khib_extmap_read(path, &h, &out), -EINVAL);
}

/* The handoff's RAM: the firmware map's RAM ranges only, as many as fit. */
TEST(handoff_record_ram)
{
	struct khib_memmap *fw = calloc(1, sizeof(*fw));
	struct khib_handoff *h = calloc(1, sizeof(*h));

	ASSERT_OK(khib_memmap_add(fw, 0, 0x9f000, KHIB_E820_RAM));
	ASSERT_OK(khib_memmap_add(fw, 0x9f000, 0x100000, 2));
	ASSERT_OK(khib_memmap_add(fw, 0x100000, 0x40000000, KHIB_E820_RAM));
	ASSERT_OK(khib_handoff_record_ram(fw, h));
	ASSERT_EQ(h->nr_ranges, 2);
	ASSERT_EQ_U64(h->ranges[0].start, 0);
	ASSERT_EQ_U64(h->ranges[0].bytes, 0x9f000);
	ASSERT_EQ_U64(h->ranges[1].start, 0x100000);
	ASSERT_EQ_U64(h->ranges[1].bytes, 0x3ff00000);
	fw->n = 0;
	for (uint64_t i = 0; i <= KHIB_HANDOFF_MAX_RANGES; i++)
		ASSERT_OK(khib_memmap_add(fw, i << 21, (i << 21) + 4096, KHIB_E820_RAM));
	ASSERT_EQ(khib_handoff_record_ram(fw, h), -E2BIG);
	free(fw);
	free(h);
}
