/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The image on disk matches doc/FORMAT.md: this test reads an image written
 * by the library with the byte offsets, magics and checksum algorithm of the
 * specification written out as literals (not the library's macros), and
 * decodes chunks with liblz4 directly.
 */
#include "harness.h"
#include "image.h"
#include "image_format.h"
#include "test_image_fixture.h"
#include "util.h"

#include <lz4.h>
#include <stdlib.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

static const uint8_t uuid[16] = { 1, 2, 3, 4, 5, 6, 0x47, 8, 0x89, 10, 11, 12, 13, 14, 15, 16 };

static void check_commit(const uint8_t *c, const uint8_t *h)
{
	ASSERT_MEMEQ(c, "KHIBCMIT", 8);
	ASSERT_EQ(khib_get_le32(c + 0x08), 1);
	ASSERT_EQ(khib_get_le32(c + 0x0C), 64);
	ASSERT_MEMEQ(c + 0x10, uuid, 16);
	ASSERT_EQ_U64(khib_get_le64(c + 0x20), khib_get_le64(h + 0x3F8));
	ASSERT_EQ_U64(khib_get_le64(c + 0x30), khib_get_le64(h + 0xC8));
	ASSERT_EQ_U64(khib_get_le64(c + 0x38), XXH3_64bits(c, 0x38));
}

static void check_header(const uint8_t *h, const struct fx_machine *m)
{
	uint64_t saved = 0;

	for (size_t i = 0; i < m->n_ranges; i++)
		saved += m->ranges[i].npages;
	ASSERT_MEMEQ(h, "KHIBIMAG", 8);
	ASSERT_EQ(khib_get_le32(h + 0x008), 2);
	ASSERT_EQ(khib_get_le32(h + 0x00C), 1024);
	ASSERT_EQ_U64(khib_get_le64(h + 0x010), 0);
	ASSERT_EQ_U64(khib_get_le64(h + 0x018), 1); /* the file system table */
	ASSERT_MEMEQ(h + 0x020, uuid, 16);
	ASSERT_EQ_U64(khib_get_le64(h + 0x030), 1700000000123456789ULL);
	ASSERT_EQ(khib_get_le32(h + 0x038), 4096);
	ASSERT_EQ(khib_get_le16(h + 0x03C), 1); /* lz4 */
	ASSERT_EQ(khib_get_le16(h + 0x03E), 1);
	ASSERT_EQ(khib_get_le32(h + 0x040), 8);
	ASSERT_EQ_U64(khib_get_le32(h + 0x044), 0xdeadbeef);
	ASSERT_EQ_U64(khib_get_le64(h + 0x048), 4096);
	ASSERT_EQ_U64(khib_get_le64(h + 0x050), saved);
	ASSERT_EQ_U64(khib_get_le64(h + 0x058), m->stored);
	ASSERT_EQ_U64(khib_get_le64(h + 0x060), m->zero);
	ASSERT_EQ_U64(khib_get_le64(h + 0x068), m->excluded);
	ASSERT_EQ_U64(khib_get_le64(h + 0x070), 0x7fff10fb);
	ASSERT_EQ_U64(khib_get_le64(h + 0x078), 0x8000000);
	ASSERT_EQ_U64(khib_get_le64(h + 0x080), 0x4000000);
	ASSERT_EQ_U64(khib_get_le64(h + 0x098), 0xffff888000000000ULL);
	ASSERT_EQ_U64(khib_get_le64(h + 0x0A0), 0x1122334455667788ULL);
	ASSERT_EQ(h[0x0A8], 0xb0);
	ASSERT_EQ_U64(khib_get_le64(h + 0x0B8), 0x2000);
	ASSERT_STREQ((const char *)h + 0x120, "6.1.0-khib-test");
	ASSERT_STREQ((const char *)h + 0x168, "#1 SMP PREEMPT_DYNAMIC");
	ASSERT_EQ(khib_get_le32(h + 0x1B0), 0); /* no encryption */
	ASSERT_EQ_U64(khib_get_le64(h + 0x3F8), XXH3_64bits(h, 0x3F8));
}

/* Decode chunk k straight from the bytes and compare with the machine. */
static void check_chunk(const uint8_t *img, const uint8_t *e, uint64_t k, const struct fx_machine *m)
{
	const uint8_t *c = img + khib_get_le64(e + 0x10);
	uint32_t npages = khib_get_le32(e + 0x08), bm = (npages + 63) / 64 * 8;
	uint32_t hb = 0x40 + 2 * bm + 8, plen, raw, s = 0;
	const uint8_t *zbm = c + 0x40, *xbm = zbm + bm, *payload = c + hb;
	uint64_t paddr = khib_get_le64(e + 0x00);
	_cleanup_free_ uint8_t *pages = malloc(npages * 4096);

	ASSERT_EQ(khib_get_le64(e + 0x10) % 4096, 0);
	ASSERT_MEMEQ(c, "KHCK", 4);
	ASSERT_EQ(khib_get_le32(c + 0x04), hb);
	ASSERT_MEMEQ(c + 0x08, uuid, 16);
	ASSERT_EQ_U64(khib_get_le64(c + 0x18), k);
	ASSERT_EQ_U64(khib_get_le64(c + 0x20), paddr);
	ASSERT_EQ(khib_get_le32(c + 0x28), npages);
	ASSERT_EQ(khib_get_le16(c + 0x2E), 0);
	plen = khib_get_le32(c + 0x30);
	raw = khib_get_le32(c + 0x34);
	ASSERT_EQ(raw, khib_get_le32(e + 0x0C) * 4096);
	ASSERT_EQ_U64(khib_get_le64(c + 0x38), XXH3_64bits(payload, plen));
	ASSERT_EQ_U64(khib_get_le64(e + 0x28), XXH3_64bits(payload, plen));
	ASSERT_EQ_U64(khib_get_le64(c + hb - 8), XXH3_64bits(c, hb - 8));
	ASSERT_EQ_U64(khib_get_le64(e + 0x20), XXH3_64bits(c, hb - 8));
	if (khib_get_le16(c + 0x2C) == 1)
		ASSERT_EQ(LZ4_decompress_safe((const char *)payload, (char *)pages, (int)plen, (int)raw), (int)raw);
	else
		memcpy(pages, payload, raw);
	for (uint32_t i = 0; i < npages; i++) {
		uint64_t pa = paddr + (uint64_t)i * 4096;
		bool zero = zbm[i / 8] >> (i % 8) & 1, excl = xbm[i / 8] >> (i % 8) & 1;

		ASSERT_EQ(excl, fx_page_excluded(m, pa));
		if (!zero && !excl)
			ASSERT_MEMEQ(pages + (size_t)s++ * 4096, fx_page(m, pa), 4096);
	}
}

TEST(image_format_matches_spec)
{
	struct khib_writer_params p;
	struct khib_target *t;
	struct fx_machine m;
	struct fx_disk d;
	const uint8_t *img, *h, *rt, *ix, *fs;
	struct khib_fsstamp stamp = { .kind = 1, .mnt_count = 0x1234, .state = 1, .incompat = 0x2c6,
				      .dev = 0xfe00010, .mtime = 0x165000000ULL, .wtime = 7,
				      .lastcheck = 8, .where = "/home" };
	XXH3_state_t st;
	uint64_t nr, nc;

	fx_machine_small(&m, 77);
	fx_params(&m, &p, KHIB_CODEC_LZ4, 8, 2);
	p.uuid = uuid;
	p.created_ns = 1700000000123456789ULL;
	memset(stamp.uuid, 0x5a, 16);
	p.fs = &stamp;
	p.n_fs = 1;
	ASSERT_OK(fx_disk_target(&d, 1 << 20, &t));
	ASSERT_OK(fx_write(&m, t, &p));
	img = d.buf;
	h = img + 0x1000;
	check_header(h, &m);
	check_commit(img, h);
	nr = khib_get_le64(h + 0xD8);
	nc = khib_get_le64(h + 0xF0);
	rt = img + khib_get_le64(h + 0xD0);
	ix = img + khib_get_le64(h + 0xE8);
	ASSERT_EQ(nr, m.n_ranges);
	for (size_t i = 0; i < nr; i++) {
		ASSERT_EQ_U64(khib_get_le64(rt + i * 16), m.ranges[i].paddr);
		ASSERT_EQ_U64(khib_get_le64(rt + i * 16 + 8), m.ranges[i].npages);
	}
	ASSERT_EQ_U64(khib_get_le64(h + 0xE0), XXH3_64bits(rt, nr * 16));
	ASSERT_EQ_U64(khib_get_le64(h + 0xF8), XXH3_64bits(ix, nc * 48));
	ASSERT_EQ_U64(khib_get_le64(h + 0x108), p.vmcoreinfo_bytes);
	ASSERT_MEMEQ(img + khib_get_le64(h + 0x100), p.vmcoreinfo, p.vmcoreinfo_bytes);
	for (uint64_t k = 0; k < nc; k++)
		check_chunk(img, ix + k * 48, k, &m);
	/* The file system table: 8-aligned after VMCOREINFO. */
	ASSERT_EQ_U64(khib_get_le64(h + 0x238), 1);
	fs = img + khib_get_le64(h + 0x230);
	ASSERT_EQ_U64(fs - img, ALIGN_UP(khib_get_le64(h + 0x100) + p.vmcoreinfo_bytes, 8));
	ASSERT_EQ_U64(khib_get_le64(h + 0x240), XXH3_64bits(fs, 96));
	ASSERT_EQ(khib_get_le32(fs + 0x00), 1);
	ASSERT_EQ(khib_get_le16(fs + 0x04), 0x1234);
	ASSERT_EQ(khib_get_le16(fs + 0x06), 1);
	ASSERT_EQ(khib_get_le32(fs + 0x08), 0x2c6);
	ASSERT_EQ(khib_get_le32(fs + 0x0C), 0);
	ASSERT_EQ(fs[0x10], 0x5a);
	ASSERT_EQ_U64(khib_get_le64(fs + 0x20), 0xfe00010);
	ASSERT_EQ_U64(khib_get_le64(fs + 0x28), 0x165000000ULL);
	ASSERT_EQ_U64(khib_get_le64(fs + 0x30), 7);
	ASSERT_EQ_U64(khib_get_le64(fs + 0x38), 8);
	ASSERT_STREQ((const char *)fs + 0x40, "/home");
	/* Commit's meta hash: ranges ‖ index ‖ VMCOREINFO ‖ fs table ‖ header. */
	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, rt, nr * 16);
	XXH3_64bits_update(&st, ix, nc * 48);
	XXH3_64bits_update(&st, img + khib_get_le64(h + 0x100), p.vmcoreinfo_bytes);
	XXH3_64bits_update(&st, fs, 96);
	XXH3_64bits_update(&st, h, 1024);
	ASSERT_EQ_U64(khib_get_le64(img + 0x28), XXH3_64bits_digest(&st));
	/* No restore began: zeros after the commit record. */
	for (size_t i = 0x40; i < 0x1000; i++)
		ASSERT_EQ(img[i], 0);
	/* Two restores began: the attempt record at 0x40, the commit record
	 * as it was. */
	uint8_t record[64];
	uint32_t before;
	memcpy(record, img, 64);
	ASSERT_OK(khib_image_count_restore(t, &before));
	ASSERT_OK(khib_image_count_restore(t, &before));
	ASSERT_MEMEQ(img, record, 64);
	ASSERT_MEMEQ(img + 0x40, "KHIBTRY1", 8);
	ASSERT_MEMEQ(img + 0x48, uuid, 16);
	ASSERT_EQ(khib_get_le32(img + 0x58), 2);
	ASSERT_EQ(khib_get_le32(img + 0x5C), 0);
	ASSERT_EQ_U64(khib_get_le64(img + 0x60), XXH3_64bits(img + 0x40, 0x20));
	for (size_t i = 0x68; i < 0x1000; i++)
		ASSERT_EQ(img[i], 0);
	khib_target_free(t);
	free(d.buf);
	fx_machine_release(&m);
}

/* Who owns a target: zeros, a khib image in any state, or someone else. */
TEST(image_probe_owner)
{
	static uint8_t b[KHIB_PROBE_BYTES];

	memset(b, 0, sizeof(b));
	ASSERT_EQ(khib_image_probe(b, sizeof(b)), KHIB_PROBE_EMPTY);
	ASSERT_EQ(khib_image_probe(b, sizeof(b) - 1), KHIB_PROBE_OTHER);
	/* Invalidated: the commit block zeroed, the header left. */
	memcpy(b + KHIB_HEADER_OFFSET, KHIB_HEADER_MAGIC, 8);
	ASSERT_EQ(khib_image_probe(b, sizeof(b)), KHIB_PROBE_IMAGE);
	memcpy(b + KHIB_COMMIT_OFFSET, KHIB_COMMIT_MAGIC, 8);
	ASSERT_EQ(khib_image_probe(b, sizeof(b)), KHIB_PROBE_IMAGE);
	/* An ext4 superblock's magic at 1080, a header after it: not ours. */
	memset(b, 0, KHIB_FMT_BLOCK);
	b[1080] = 0x53;
	b[1081] = 0xef;
	ASSERT_EQ(khib_image_probe(b, sizeof(b)), KHIB_PROBE_OTHER);
	/* Swap's signature at the end of the first page. */
	memset(b, 0, sizeof(b));
	memcpy(b + 4086, "SWAPSPACE2", 10);
	ASSERT_EQ(khib_image_probe(b, sizeof(b)), KHIB_PROBE_OTHER);
	/* Data in the header block without the magic. */
	memset(b, 0, sizeof(b));
	b[KHIB_HEADER_OFFSET + 100] = 1;
	ASSERT_EQ(khib_image_probe(b, sizeof(b)), KHIB_PROBE_OTHER);
}
