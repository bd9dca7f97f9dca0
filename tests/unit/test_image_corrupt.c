/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Damaged images: a bit flipped anywhere, truncation anywhere, a chunk from
 * another image.  Each must give a clean error (or, for a flip in bytes no
 * checksum covers, such as padding, the exact original data) — never wrong
 * pages, never a crash (these tests also run under ASan+UBSan).
 */
#include "harness.h"
#include "image.h"
#include "test_image_fixture.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>

#define DISK (1u << 20)

struct written {
	struct fx_machine m;
	uint8_t *img;
	uint64_t image_end, data_end;
};

static void write_small(struct written *w, enum khib_codec codec, uint64_t seed, const uint8_t *uuid)
{
	struct khib_writer_params p;
	struct khib_reader *r;
	struct khib_target *t;
	struct fx_disk d;

	fx_machine_small(&w->m, seed);
	fx_params(&w->m, &p, codec, 8, 1);
	p.uuid = uuid;
	ASSERT_OK(fx_disk_target(&d, DISK, &t));
	ASSERT_OK(fx_write(&w->m, t, &p));
	ASSERT_OK(khib_reader_open(t, 0, &r, NULL));
	w->image_end = khib_reader_info(r)->image_bytes;
	w->data_end = khib_get_le64(d.buf + 0x1000 + 0xC0);
	khib_reader_free(r);
	khib_target_free(t);
	w->img = d.buf;
}

static bool expected_error(int q)
{
	return q == -EBADMSG || q == -ESTALE || q == -ENODATA || q == -EOPNOTSUPP || q == -EOVERFLOW;
}

/* Returns true if the damage was detected, false if the data is intact. */
static bool check_damaged(const struct written *w, const uint8_t *img, uint64_t size)
{
	char reason[KHIB_REASON_MAX] = "";
	struct khib_target *t;
	int q;

	ASSERT_OK(khib_target_new_memory((void *)img, size, false, &t));
	q = fx_check(&w->m, t, reason);
	khib_target_free(t);
	if (q < 0 && !expected_error(q))
		test_fail(__FILE__, __LINE__, "unexpected error %d (%s)", q, reason);
	if (q < 0 && !reason[0])
		test_fail(__FILE__, __LINE__, "error %d without a reason", q);
	return q < 0;
}

/* Is the byte at off covered by a checksum (so a flip there must be caught)? */
static bool covered(const struct written *w, uint64_t off)
{
	const uint8_t *h = w->img + 0x1000;
	uint64_t nc = khib_get_le64(h + 0xF0), meta_used;
	const uint8_t *ix = w->img + khib_get_le64(h + 0xE8);

	meta_used = khib_get_le64(h + 0xD8) * 16 + nc * 48 + khib_get_le64(h + 0x108);
	if (off < 64 || (off >= 0x1000 && off < 0x1400) ||
	    (off >= w->data_end && off < w->data_end + meta_used))
		return true;
	for (uint64_t k = 0; k < nc; k++) {
		uint64_t c = khib_get_le64(ix + k * 48 + 0x10);
		uint64_t used = khib_get_le32(w->img + c + 4) + khib_get_le32(w->img + c + 0x30);

		if (off >= c && off < c + used)
			return true;
	}
	return false;
}

static void flip_everywhere(enum khib_codec codec)
{
	struct written w;
	_cleanup_free_ uint8_t *img = malloc(DISK);
	unsigned detected = 0;

	write_small(&w, codec, 31, NULL);
	fx_check_threads = 1; /* thousands of reads: skip thread start-up */
	for (uint64_t off = 0; off < w.image_end; off++) {
		bool meta = off < 0x40 || (off >= 0x1000 && off < 0x1400) || off >= w.data_end;
		bool caught;

		/* Every byte of the metadata, a stride through the chunks. */
		if (!meta && off % 37)
			continue;
		memcpy(img, w.img, w.image_end);
		img[off] ^= (uint8_t)(1u << (off % 8));
		caught = check_damaged(&w, img, w.image_end);
		if (covered(&w, off) && !caught)
			test_fail(__FILE__, __LINE__, "flip at 0x%" PRIx64 " not detected", off);
		detected += caught;
	}
	fx_check_threads = 2;
	ASSERT_TRUE(detected > 1000);
	free(w.img);
	fx_machine_release(&w.m);
}

TEST(image_corrupt_bit_flips_lz4) { flip_everywhere(KHIB_CODEC_LZ4); }
TEST(image_corrupt_bit_flips_zstd) { flip_everywhere(KHIB_CODEC_ZSTD); }

TEST(image_corrupt_truncation)
{
	struct written w;

	write_small(&w, KHIB_CODEC_NONE, 32, NULL);
	for (uint64_t len = 0; len < w.image_end; len += (len < 0x3000 ? 64 : 512))
		ASSERT_TRUE(check_damaged(&w, w.img, len));
	ASSERT_TRUE(check_damaged(&w, w.img, w.image_end - 1));
	ASSERT_TRUE(!check_damaged(&w, w.img, w.image_end));
	free(w.img);
	fx_machine_release(&w.m);
}

TEST(image_corrupt_stale_chunk_from_older_image)
{
	static const uint8_t ua[16] = { 0xa1 }, ub[16] = { 0xb2 };
	struct written a, b;
	struct khib_chunk_info ca, cb;
	struct khib_reader *r;
	struct khib_target *t;
	char reason[KHIB_REASON_MAX];

	/* Same machine, same seed: chunks differ only in the image UUID. */
	write_small(&a, KHIB_CODEC_LZ4, 40, ua);
	write_small(&b, KHIB_CODEC_LZ4, 40, ub);
	ASSERT_OK(khib_target_new_memory(a.img, DISK, false, &t));
	ASSERT_OK(khib_reader_open(t, 0, &r, NULL));
	ASSERT_OK(khib_reader_chunk(r, 2, &ca));
	khib_reader_free(r);
	khib_target_free(t);
	ASSERT_OK(khib_target_new_memory(b.img, DISK, false, &t));
	ASSERT_OK(khib_reader_open(t, 0, &r, NULL));
	ASSERT_OK(khib_reader_chunk(r, 2, &cb));
	ASSERT_EQ(ca.disk_bytes, cb.disk_bytes);
	memcpy(b.img + cb.disk_offset, a.img + ca.disk_offset, ca.disk_bytes);
	ASSERT_EQ(khib_reader_verify(r, 2, reason), -ESTALE);
	ASSERT_STREQ(reason, "chunk 2 belongs to another image");
	khib_reader_free(r);
	khib_target_free(t);
	free(a.img);
	free(b.img);
	fx_machine_release(&a.m);
	fx_machine_release(&b.m);
}

TEST(image_corrupt_reasons)
{
	struct written w;
	char reason[KHIB_REASON_MAX];
	struct khib_reader *r;
	struct khib_target *t;

	write_small(&w, KHIB_CODEC_LZ4, 50, NULL);
	ASSERT_OK(khib_target_new_memory(w.img, w.image_end, false, &t));
	w.img[0x1000] = 'X';
	ASSERT_EQ(khib_reader_open(t, 0, &r, reason), -EBADMSG);
	ASSERT_STREQ(reason, "bad header magic");
	w.img[0x1000] = 'K';
	w.img[0x1008] = 3; /* a version to come */
	ASSERT_EQ(khib_reader_open(t, 0, &r, reason), -EOPNOTSUPP);
	ASSERT_STREQ(reason, "unsupported format version 3");
	w.img[0x1008] = 2;
	w.img[0] = 0;
	ASSERT_EQ(khib_reader_open(t, 0, &r, reason), -ENODATA);
	ASSERT_STREQ(reason, "no commit record (no image, or invalidated)");
	khib_target_free(t);
	free(w.img);
	fx_machine_release(&w.m);
}

static int count_calls(void *ctx, uint64_t paddr, uint64_t npages, enum khib_page_kind kind,
		       const void *data)
{
	(void)paddr, (void)npages, (void)kind, (void)data;
	__atomic_add_fetch((unsigned *)ctx, 1, __ATOMIC_RELAXED);
	return 0;
}

TEST(image_corrupt_verify_first_hands_out_nothing)
{
	struct written w;
	struct khib_chunk_info ci;
	struct khib_reader *r;
	struct khib_target *t;
	unsigned calls = 0;
	struct khib_read_opts o = { .threads = 2, .verify_first = true, .fn = count_calls, .ctx = &calls };
	char reason[KHIB_REASON_MAX];
	size_t last;

	write_small(&w, KHIB_CODEC_ZSTD, 60, NULL);
	ASSERT_OK(khib_target_new_memory(w.img, w.image_end, false, &t));
	ASSERT_OK(khib_reader_open(t, 0, &r, NULL));
	last = (size_t)khib_reader_info(r)->n_chunks - 1;
	ASSERT_OK(khib_reader_chunk(r, last, &ci));
	w.img[ci.disk_offset + 0x20] ^= 1; /* the last chunk's address field */
	ASSERT_EQ(khib_reader_read(r, &o, reason), -EBADMSG);
	ASSERT_EQ(calls, 0); /* a restore would not have touched memory */
	o.verify_first = false;
	o.threads = 1;
	ASSERT_EQ(khib_reader_read(r, &o, reason), -EBADMSG);
	ASSERT_TRUE(calls > 0); /* without it, earlier chunks were handed out */
	khib_reader_free(r);
	khib_target_free(t);
	free(w.img);
	fx_machine_release(&w.m);
}

/* The payload starts at disk_offset + header_bytes (khib inspect --json's
 * payload_offset, where VM tests damage a chunk): its first byte is
 * covered by the chunk's checksum in every chunk that stores a page. */
TEST(image_corrupt_first_payload_byte)
{
	struct written w;
	struct khib_chunk_info ci;
	struct khib_reader *r;
	struct khib_target *t;
	char reason[KHIB_REASON_MAX];
	unsigned tried = 0;

	write_small(&w, KHIB_CODEC_ZSTD, 70, NULL);
	ASSERT_OK(khib_target_new_memory(w.img, w.image_end, false, &t));
	ASSERT_OK(khib_reader_open(t, 0, &r, NULL));
	for (size_t k = 0; khib_reader_chunk(r, k, &ci) == 0; k++) {
		uint8_t *b = w.img + ci.disk_offset + ci.header_bytes;

		/* The chunk header's own header-bytes field (doc/FORMAT.md). */
		ASSERT_EQ(khib_get_le32(w.img + ci.disk_offset + 4), ci.header_bytes);
		ASSERT_TRUE(ci.header_bytes < ci.disk_bytes);
		if (!ci.stored_pages)
			continue;
		*b ^= 0x01;
		if (khib_reader_verify(r, 1, reason) != -EBADMSG)
			test_fail(__FILE__, __LINE__, "chunk %zu: a flip at its payload's first "
				  "byte passed verify", k);
		*b ^= 0x01;
		tried++;
	}
	ASSERT_TRUE(tried > 1);
	ASSERT_OK(khib_reader_verify(r, 1, reason));
	khib_reader_free(r);
	khib_target_free(t);
	free(w.img);
	fx_machine_release(&w.m);
}
