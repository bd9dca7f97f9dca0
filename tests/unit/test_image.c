/* SPDX-License-Identifier: GPL-2.0-only */
/* Image writer and reader: round trips, API contracts, worst-case size. */
#include "harness.h"
#include "image.h"
#include "image_format.h"
#include "targetdev.h"
#include "test_image_fixture.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void roundtrip(enum khib_codec codec, uint32_t chunk_pages, unsigned threads)
{
	struct fx_machine m;
	struct khib_writer_params p;
	struct khib_target *t;
	struct fx_disk d;
	char reason[KHIB_REASON_MAX] = "";
	int q;

	fx_machine_small(&m, 42 + codec);
	fx_params(&m, &p, codec, chunk_pages, threads);
	ASSERT_OK(fx_disk_target(&d, 4 << 20, &t));
	ASSERT_OK(fx_write(&m, t, &p));
	q = fx_check(&m, t, reason);
	if (q < 0)
		test_fail(__FILE__, __LINE__, "fx_check: %d %s", q, reason);
	khib_target_free(t);
	free(d.buf);
	fx_machine_release(&m);
}

TEST(image_roundtrip_none) { roundtrip(KHIB_CODEC_NONE, 8, 1); }
TEST(image_roundtrip_lz4) { roundtrip(KHIB_CODEC_LZ4, 16, 2); }
TEST(image_roundtrip_zstd) { roundtrip(KHIB_CODEC_ZSTD, 0, 3); }
TEST(image_roundtrip_one_page_chunks) { roundtrip(KHIB_CODEC_LZ4, 1, 4); }
/* FORMAT.md allows any chunk size from 1 to 65536 pages. */
TEST(image_roundtrip_odd_chunks) { roundtrip(KHIB_CODEC_LZ4, 3, 2); }
TEST(image_roundtrip_chunks_of_100) { roundtrip(KHIB_CODEC_ZSTD, 100, 1); }

TEST(image_max_bytes_bounds_incompressible)
{
	/* All-random pages: the written image must stay within the bound. */
	static const uint64_t r[][2] = { { 3, 40 }, { 100, 1 } };
	struct khib_writer_params p;
	struct fx_machine m;
	struct khib_target *t;
	struct fx_disk d;
	uint64_t max;

	fx_machine_init(&m, r, 2, 7);
	for (size_t i = 0; i < m.n_ranges; i++)
		for (uint64_t k = 0; k < m.ranges[i].npages * 4096; k++)
			m.mem[i][k] = (uint8_t)(k * 2654435761u >> 13);
	m.excluded = 0;
	fx_params(&m, &p, KHIB_CODEC_ZSTD, 16, 2);
	ASSERT_OK(khib_image_max_bytes(m.ranges, m.n_ranges, 16, p.vmcoreinfo_bytes, &max));
	ASSERT_OK(fx_disk_target(&d, (size_t)max, &t));
	ASSERT_OK(fx_write(&m, t, &p));
	khib_target_free(t);
	/* One block less than the worst case is refused before any write. */
	ASSERT_OK(khib_target_new_memory(d.buf, (size_t)max - 4096, true, &t));
	ASSERT_EQ(fx_write(&m, t, &p), -ENOSPC);
	ASSERT_TRUE(d.buf[0] == 'K'); /* the old commit record is untouched */
	khib_target_free(t);
	free(d.buf);
	fx_machine_release(&m);
}

TEST(image_max_bytes_rejects_bad_ranges)
{
	struct khib_range bad[] = { { 0x2000, 4 }, { 0x1000, 1 } };
	struct khib_range wrap[] = { { 0xfffffffffffff000ULL, 2 } };
	struct khib_range ok[] = { { 0, 1024 }, { 1024 * 4096, 1 } };
	uint64_t v;

	ASSERT_EQ(khib_image_max_bytes(bad, 2, 0, 0, &v), -EINVAL);
	ASSERT_EQ(khib_image_max_bytes(wrap, 1, 0, 0, &v), -EOVERFLOW);
	ASSERT_OK(khib_image_max_bytes(ok, 2, 1024, 0, &v));
	/* 1025 pages in 2 chunks + 2 header blocks + commit/header + metadata
	 * (ranges, index, room for 64 file system stamps: 2 blocks) */
	ASSERT_EQ_U64(v, 0x2000 + 1025 * 4096 + 2 * 4096 + 2 * 4096);
}

TEST(image_feed_contract)
{
	struct khib_writer_params p;
	struct khib_writer *w;
	struct khib_target *t;
	struct fx_machine m;
	struct fx_disk d;
	char reason[KHIB_REASON_MAX];

	fx_machine_small(&m, 3);
	fx_params(&m, &p, KHIB_CODEC_LZ4, 8, 2);
	ASSERT_OK(fx_disk_target(&d, 1 << 20, &t));
	ASSERT_OK(khib_writer_new(t, &p, &w));
	ASSERT_EQ(khib_writer_add(w, m.ranges[0].paddr + 4096, m.mem[0], 1), -EINVAL);
	ASSERT_EQ(khib_writer_finish(w), -EINVAL); /* a failed writer stays failed */
	khib_writer_free(w);
	ASSERT_EQ(khib_reader_open(t, 0, &(struct khib_reader *){ NULL }, reason), -ENODATA);

	ASSERT_OK(khib_writer_new(t, &p, &w));
	ASSERT_OK(khib_writer_add(w, m.ranges[0].paddr, m.mem[0], 2));
	ASSERT_EQ(khib_writer_finish(w), -EINVAL); /* pages missing */
	khib_writer_free(w);

	/* Past the last range. */
	ASSERT_OK(khib_writer_new(t, &p, &w));
	for (size_t i = 0; i < m.n_ranges; i++)
		ASSERT_OK(khib_writer_skip(w, m.ranges[i].paddr, m.ranges[i].npages));
	ASSERT_EQ(khib_writer_skip(w, 0x10000000, 1), -EINVAL);
	khib_writer_free(w);
	khib_target_free(t);
	free(d.buf);
	fx_machine_release(&m);
}

TEST(image_sync_releases_borrowed_pages)
{
	struct khib_writer_params p;
	struct khib_writer *w;
	struct khib_target *t;
	struct fx_machine m;
	struct fx_disk d;
	uint8_t *tmp = malloc(4096);
	char reason[KHIB_REASON_MAX] = "";
	int q;

	fx_machine_small(&m, 11);
	fx_params(&m, &p, KHIB_CODEC_ZSTD, 8, 2);
	ASSERT_OK(fx_disk_target(&d, 1 << 20, &t));
	ASSERT_OK(khib_writer_new(t, &p, &w));
	for (size_t i = 0; i < m.n_ranges; i++)
		for (uint64_t k = 0; k < m.ranges[i].npages; k++) {
			uint64_t pa = m.ranges[i].paddr + k * 4096;

			if (fx_page_excluded(&m, pa)) {
				ASSERT_OK(khib_writer_skip(w, pa, 1));
				continue;
			}
			memcpy(tmp, fx_page(&m, pa), 4096);
			ASSERT_OK(khib_writer_add(w, pa, tmp, 1));
			ASSERT_OK(khib_writer_sync(w));
			memset(tmp, 0xee, 4096); /* must not reach the image */
		}
	ASSERT_OK(khib_writer_finish(w));
	khib_writer_free(w);
	q = fx_check(&m, t, reason);
	if (q < 0)
		test_fail(__FILE__, __LINE__, "fx_check: %d %s", q, reason);
	free(tmp);
	khib_target_free(t);
	free(d.buf);
	fx_machine_release(&m);
}

TEST(image_invalidate_and_uncommitted_open)
{
	struct khib_writer_params p;
	struct khib_reader *r;
	struct khib_target *t;
	struct fx_machine m;
	struct fx_disk d;
	char reason[KHIB_REASON_MAX];

	fx_machine_small(&m, 5);
	fx_params(&m, &p, KHIB_CODEC_NONE, 0, 1);
	ASSERT_OK(fx_disk_target(&d, 1 << 20, &t));
	ASSERT_OK(fx_write(&m, t, &p));
	ASSERT_OK(khib_reader_open(t, 0, &r, reason));
	ASSERT_TRUE(khib_reader_info(r)->committed);
	ASSERT_EQ(khib_reader_info(r)->stored_pages, m.stored);
	ASSERT_EQ(khib_reader_info(r)->excluded_pages, m.excluded);
	khib_reader_free(r);

	ASSERT_OK(khib_image_invalidate(t));
	ASSERT_EQ(khib_reader_open(t, 0, &r, reason), -ENODATA);
	ASSERT_OK(khib_reader_open(t, KHIB_READER_UNCOMMITTED, &r, reason));
	ASSERT_TRUE(!khib_reader_info(r)->committed);
	ASSERT_EQ(khib_reader_commit_error(r, reason), -ENODATA);
	ASSERT_EQ(khib_reader_verify(r, 1, reason), -ENODATA); /* never read uncommitted data */
	khib_reader_free(r);
	khib_target_free(t);
	free(d.buf);
	fx_machine_release(&m);
}

TEST(image_file_target_and_identity)
{
	char path[300], reason[KHIB_REASON_MAX];
	struct khib_writer_params p;
	struct khib_kernel_identity id = { 0 };
	struct khib_reader *r;
	struct khib_target *t;
	struct fx_machine m;
	const void *vmci;
	size_t vlen;
	int q;

	snprintf(path, sizeof(path), "%s/img", test_tmpdir());
	fx_machine_small(&m, 9);
	fx_params(&m, &p, KHIB_CODEC_LZ4, 32, 0);
	ASSERT_OK(khib_target_open(path, KHIB_TARGET_WRITE | KHIB_TARGET_CREATE, &t));
	ASSERT_OK(fx_write(&m, t, &p));
	khib_target_free(t);
	ASSERT_OK(khib_target_open(path, 0, &t));
	q = fx_check(&m, t, reason);
	if (q < 0)
		test_fail(__FILE__, __LINE__, "fx_check: %d %s", q, reason);
	ASSERT_OK(khib_reader_open(t, 0, &r, reason));
	ASSERT_OK(khib_reader_vmcoreinfo(r, &vmci, &vlen));
	ASSERT_EQ(vlen, p.vmcoreinfo_bytes);
	ASSERT_MEMEQ(vmci, p.vmcoreinfo, vlen);
	ASSERT_OK(khib_image_check_identity(khib_reader_info(r), &id, reason));
	strcpy(id.uts_release, "6.1.0-khib-test");
	id.e820_crc32 = 0xdeadbeef;
	ASSERT_OK(khib_image_check_identity(khib_reader_info(r), &id, reason));
	id.memmap_hash = 1;
	ASSERT_EQ(khib_image_check_identity(khib_reader_info(r), &id, reason), -ESTALE);
	ASSERT_STREQ(reason, "firmware memory map changed since hibernation");
	khib_reader_free(r);
	khib_target_free(t);
	fx_machine_release(&m);
}

/* The file system stamps travel with the image, covered by its checksums. */
TEST(image_file_system_table)
{
	struct khib_fsstamp fs[2] = {
		{ .kind = KHIB_FS_EXT, .dev = 0xfe00001, .mnt_count = 3, .state = 1,
		  .incompat = 0x2c6, .mtime = 1700000000, .wtime = 1700000001,
		  .lastcheck = 1690000000, .where = "/" },
		{ .kind = KHIB_FS_EXT, .dev = 0xfe00010, .mnt_count = 12, .where = "/home" },
	};
	char reason[KHIB_REASON_MAX] = "";
	struct khib_writer_params p;
	struct khib_reader *r;
	struct khib_target *t;
	struct fx_machine m;
	struct fx_disk d;
	const struct khib_fsstamp *got;
	uint64_t off;
	size_t n;

	memset(fs[0].uuid, 0xab, 16);
	memset(fs[1].uuid, 0xcd, 16);
	fx_machine_small(&m, 11);
	fx_params(&m, &p, KHIB_CODEC_LZ4, 64, 1);
	p.fs = fs;
	p.n_fs = 2;
	ASSERT_OK(fx_disk_target(&d, 4 << 20, &t));
	ASSERT_OK(fx_write(&m, t, &p));
	ASSERT_OK(khib_reader_open(t, 0, &r, reason));
	ASSERT_EQ(khib_reader_info(r)->compat_flags, 1);
	got = khib_reader_fs(r, &n);
	ASSERT_EQ(n, 2);
	ASSERT_MEMEQ(&got[0], &fs[0], sizeof(fs[0]));
	ASSERT_MEMEQ(&got[1], &fs[1], sizeof(fs[1]));
	khib_reader_free(r);

	/* A changed stamp is a corrupt image, not a different check. */
	off = khib_get_le64(d.buf + 0x1000 + 0x230);
	d.buf[off + 4] ^= 1;
	ASSERT_EQ(khib_reader_open(t, 0, &r, reason), -EBADMSG);
	ASSERT_STREQ(reason, "file system table checksum mismatch");
	khib_target_free(t);
	free(d.buf);
	fx_machine_release(&m);
}

/* A chunk whose header outgrows a block (more than 16032 pages) and whose
 * pages do not compress: the worst case still holds it, tag and all. */
TEST(image_max_bytes_big_chunks)
{
	static const uint64_t r[][2] = { { 0, 16100 } };
	struct khib_image_key *key = khib_secret_alloc(sizeof(*key));
	struct khib_writer_params p;
	struct fx_machine m;
	struct khib_target *t;
	struct fx_disk d;
	uint64_t max;

	ASSERT_TRUE(key != NULL);
	memset(key, 0, sizeof(*key));
	key->aead = KHIB_AEAD_XCHACHA20_POLY1305;
	key->n_slots = 1;
	ASSERT_OK(khib_data_key_new(key->dk));
	fx_machine_init(&m, r, 1, 8);
	for (uint64_t k = 0; k < 16100 * 4096ULL; k += 8) {
		uint64_t v = (k + 1) * 0x9e3779b97f4a7c15ULL;

		memcpy(m.mem[0] + k, &v, 8);
	}
	m.excluded = 0;
	fx_params(&m, &p, KHIB_CODEC_NONE, 16100, 1);
	p.key = key;
	p.total_ram_pages = 0;
	ASSERT_TRUE(khib_chunk_header_bytes(16100) + 16 > 4096);
	ASSERT_OK(khib_image_max_bytes(m.ranges, m.n_ranges, 16100, p.vmcoreinfo_bytes, &max));
	/* FORMAT.md: two blocks a chunk here, not one (three such chunks would
	 * overrun the slack of the metadata's estimate). */
	ASSERT_EQ_U64(max, 0x2000 + 16100 * 4096ULL + 2 * 4096 +
		      ALIGN_UP(16 + 48 + p.vmcoreinfo_bytes + 64 * 96 + 4 * 24, 4096));
	ASSERT_OK(fx_disk_target(&d, (size_t)max, &t));
	ASSERT_OK(fx_write(&m, t, &p));
	khib_target_free(t);
	free(d.buf);
	khib_secret_free(key);
	fx_machine_release(&m);
}

/* The order runs arrive in, from every thread. */
struct arrivals {
	pthread_mutex_t lock;
	uint64_t last, out_of_order, calls;
	bool stall;
};

static int note_arrival(void *ctx, uint64_t paddr, uint64_t npages, enum khib_page_kind kind,
			const void *data)
{
	struct arrivals *a = ctx;

	(void)npages, (void)kind, (void)data;
	/* A slow consumer on every fourth call: unordered, the other threads
	 * overtake it. */
	pthread_mutex_lock(&a->lock);
	bool stall = a->stall && a->calls++ % 4 == 0;
	pthread_mutex_unlock(&a->lock);
	if (stall)
		nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
	pthread_mutex_lock(&a->lock);
	if (paddr < a->last)
		a->out_of_order++;
	a->last = paddr;
	pthread_mutex_unlock(&a->lock);
	return 0;
}

static uint64_t read_out_of_order(struct khib_target *t, unsigned threads, bool in_order)
{
	struct arrivals a = { .lock = PTHREAD_MUTEX_INITIALIZER, .stall = true };
	struct khib_read_opts o = { .threads = threads, .in_order = in_order, .fn = note_arrival,
				    .ctx = &a };
	struct khib_reader *r;
	char reason[KHIB_REASON_MAX] = "";

	ASSERT_OK(khib_reader_open(t, 0, &r, reason));
	ASSERT_OK(khib_reader_read(r, &o, reason));
	khib_reader_free(r);
	return a.out_of_order;
}

/* in_order: the pages come out in the image's (ascending) order with four
 * threads decoding, as from one thread; without it they do not. */
TEST(image_read_in_order)
{
	struct fx_machine m;
	struct khib_writer_params p;
	struct khib_target *t;
	struct fx_disk d;

	fx_machine_small(&m, 5);
	fx_params(&m, &p, KHIB_CODEC_LZ4, 4, 1);
	ASSERT_OK(fx_disk_target(&d, 4 << 20, &t));
	ASSERT_OK(fx_write(&m, t, &p));
	ASSERT_EQ_U64(read_out_of_order(t, 4, true), 0);
	ASSERT_EQ_U64(read_out_of_order(t, 1, false), 0);
	ASSERT_TRUE(read_out_of_order(t, 4, false) > 0);
	khib_target_free(t);
	free(d.buf);
	fx_machine_release(&m);
}

/* Pages of one kind, pseudo-random or text, from page `from` on. */
static void repaint(uint8_t *mem, uint64_t from, uint64_t n, bool random)
{
	static const char words[] = "all work and no play makes jack a dull boy ";

	for (uint64_t k = from; k < from + n; k++) {
		uint8_t *p = mem + k * KHIB_PAGE_SIZE;
		uint64_t s = k + 1;

		for (size_t b = 0; b < KHIB_PAGE_SIZE; b++) {
			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
			p[b] = random ? (uint8_t)s : (uint8_t)words[(b + k) % (sizeof(words) - 1)];
		}
	}
}

static int same_pages(void *ctx, uint64_t paddr, uint64_t npages, enum khib_page_kind kind,
		      const void *data)
{
	const uint8_t *mem = ctx;

	if (kind != KHIB_PAGES_DATA ||
	    memcmp(mem + (paddr - 0x1000 * KHIB_PAGE_SIZE), data, npages * KHIB_PAGE_SIZE))
		return -EILSEQ;
	return 0;
}

/* Compression is decided per chunk by compressing a sample: a chunk of
 * pseudo-random pages is stored raw, a chunk of text compressed, and one
 * that is half text compressed too; every page reads back. */
TEST(image_compress_decided_per_chunk)
{
	struct khib_range range = { 0x1000 * KHIB_PAGE_SIZE, 3 * 512 };
	uint8_t *mem = malloc(range.npages * KHIB_PAGE_SIZE);
	struct khib_read_opts o = { .threads = 2, .fn = same_pages, .ctx = mem };
	struct fx_machine m = { .ranges = { range }, .n_ranges = 1 };
	struct khib_writer_params p;
	struct khib_chunk_info ci[3];
	struct khib_writer_stats st;
	struct khib_writer *w;
	struct khib_reader *rd;
	struct khib_target *t;
	struct fx_disk d;
	char reason[KHIB_REASON_MAX] = "";

	ASSERT_TRUE(mem != NULL);
	repaint(mem, 0, 512, true);
	repaint(mem, 512, 512, false);
	repaint(mem, 1024, 256, true);
	repaint(mem, 1280, 256, false);
	fx_params(&m, &p, KHIB_CODEC_LZ4, 512, 2);
	ASSERT_OK(fx_disk_target(&d, 16 << 20, &t));
	ASSERT_OK(khib_writer_new(t, &p, &w));
	ASSERT_OK(khib_writer_add(w, range.paddr, mem, range.npages));
	ASSERT_OK(khib_writer_finish(w));
	khib_writer_get_stats(w, &st);
	khib_writer_free(w);
	/* The random chunk was judged by its sample, not compressed whole. */
	ASSERT_EQ_U64(st.raw_by_sample, 1);
	ASSERT_EQ_U64(st.raw_by_trial, 0);
	ASSERT_OK(khib_reader_open(t, 0, &rd, reason));
	ASSERT_OK(khib_reader_read(rd, &o, reason));
	ASSERT_EQ_U64(khib_reader_info(rd)->n_chunks, 3);
	for (uint64_t k = 0; k < 3; k++)
		ASSERT_OK(khib_reader_chunk(rd, k, &ci[k]));
	khib_reader_free(rd);
	/* Raw: the payload is the pages themselves. */
	ASSERT_TRUE(ci[0].disk_bytes >= ci[0].header_bytes +
		    (uint64_t)ci[0].stored_pages * KHIB_PAGE_SIZE);
	ASSERT_TRUE(ci[1].disk_bytes < (uint64_t)ci[1].stored_pages * KHIB_PAGE_SIZE / 4);
	ASSERT_TRUE(ci[2].disk_bytes < (uint64_t)ci[2].stored_pages * KHIB_PAGE_SIZE * 3 / 4);
	khib_target_free(t);
	free(d.buf);
	free(mem);
}
