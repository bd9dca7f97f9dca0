/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fault injection through the target's I/O ops table (SQLite's crash-test
 * idea): a memory disk with a volatile write-back cache.  Writes land in the
 * cache; flush makes them durable; a power cut loses any subset of cached
 * writes and tears some at a 512-byte sector (sectors are atomic, as on real
 * disks).  After every fault the reader must find no image, or a complete
 * valid one with exactly the data that was written.
 */
#include "harness.h"
#include "image.h"
#include "test_image_fixture.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "util.h"

#define DISK_BYTES (512u << 10)
#define SECTOR 512u

struct pending {
	uint64_t off;
	size_t len;
	uint8_t *data;
};

struct faulty {
	pthread_mutex_t lock;
	uint8_t durable[DISK_BYTES]; /* what survives a power cut */
	uint8_t visible[DISK_BYTES]; /* what reads see */
	struct pending pend[256];
	size_t npend;
	long ops, writes;
	long cut_at;      /* ops after this fail: the power is gone */
	long eio_write;   /* this write (1-based) fails with eio_errno */
	long flushes;
	long eio_flush;   /* this flush (1-based) fails, nothing made durable */
	int eio_errno;
	bool short_writes;
};

static ssize_t f_pwrite(void *ctx, const void *buf, size_t len, uint64_t off)
{
	struct faulty *f = ctx;
	ssize_t r;

	pthread_mutex_lock(&f->lock);
	f->ops++;
	f->writes++;
	if ((f->cut_at >= 0 && f->ops > f->cut_at) || f->writes == f->eio_write) {
		r = f->writes == f->eio_write ? -f->eio_errno : -EIO;
		goto out;
	}
	if (off >= DISK_BYTES) {
		r = -ENOSPC;
		goto out;
	}
	if (len > DISK_BYTES - off)
		len = DISK_BYTES - off;
	if (f->short_writes && len > SECTOR)
		len = len / 2 / SECTOR * SECTOR;
	if (f->npend == 256)
		abort();
	f->pend[f->npend].off = off;
	f->pend[f->npend].len = len;
	f->pend[f->npend].data = malloc(len);
	memcpy(f->pend[f->npend++].data, buf, len);
	memcpy(f->visible + off, buf, len);
	r = (ssize_t)len;
out:
	pthread_mutex_unlock(&f->lock);
	return r;
}

static ssize_t f_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct faulty *f = ctx;

	if (off >= DISK_BYTES)
		return 0;
	if (len > DISK_BYTES - off)
		len = DISK_BYTES - off;
	pthread_mutex_lock(&f->lock);
	memcpy(buf, f->visible + off, len);
	pthread_mutex_unlock(&f->lock);
	return (ssize_t)len;
}

static void drop_pending(struct faulty *f)
{
	for (size_t i = 0; i < f->npend; i++)
		free(f->pend[i].data);
	f->npend = 0;
}

static int f_flush(void *ctx)
{
	struct faulty *f = ctx;
	int r = 0;

	pthread_mutex_lock(&f->lock);
	f->ops++;
	f->flushes++;
	if ((f->cut_at >= 0 && f->ops > f->cut_at) || f->flushes == f->eio_flush) {
		r = -EIO;
	} else {
		for (size_t i = 0; i < f->npend; i++)
			memcpy(f->durable + f->pend[i].off, f->pend[i].data, f->pend[i].len);
		drop_pending(f);
	}
	pthread_mutex_unlock(&f->lock);
	return r;
}

static const struct khib_io_ops faulty_ops = {
	.pwrite = f_pwrite,
	.pread = f_pread,
	.flush = f_flush,
};

static uint64_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

/* The disk after a power cut: durable state plus, per cached write, none,
 * all, or some of its sectors (variant 0: none survive, 1: all survive). */
static void power_cut(struct faulty *f, unsigned variant, uint8_t *out)
{
	uint64_t s = variant * 7919 + 1;

	memcpy(out, f->durable, DISK_BYTES);
	for (size_t i = 0; i < f->npend; i++) {
		const struct pending *p = &f->pend[i];

		for (size_t o = 0; o < p->len; o += SECTOR) {
			bool keep = variant == 1 || (variant > 1 && rnd(&s) % 3 != 0);
			size_t n = p->len - o < SECTOR ? p->len - o : SECTOR;

			if (keep)
				memcpy(out + p->off + o, p->data + o, n);
		}
	}
}

static struct faulty *faulty_new(void)
{
	struct faulty *f = calloc(1, sizeof(*f));

	pthread_mutex_init(&f->lock, NULL);
	f->cut_at = -1;
	return f;
}

static void faulty_reset(struct faulty *f, const uint8_t *disk)
{
	drop_pending(f);
	memcpy(f->durable, disk, DISK_BYTES);
	memcpy(f->visible, disk, DISK_BYTES);
	f->ops = f->writes = f->flushes = 0;
	f->cut_at = -1;
	f->eio_write = f->eio_flush = 0;
	f->short_writes = false;
}

static void faulty_free(struct faulty *f)
{
	drop_pending(f);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static const uint8_t uuid_a[16] = { 0xaa }, uuid_b[16] = { 0xbb };

/* 0: no image, 1: image A, 2: image B; fails the test on anything else. */
static int outcome(const uint8_t *disk, const struct fx_machine *a, const struct fx_machine *b)
{
	_cleanup_free_ uint8_t *copy = malloc(DISK_BYTES);
	char reason[KHIB_REASON_MAX] = "";
	struct khib_reader *r;
	struct khib_target *t;
	bool is_b;
	int q;

	memcpy(copy, disk, DISK_BYTES);
	ASSERT_OK(khib_target_new_memory(copy, DISK_BYTES, false, &t));
	q = khib_reader_open(t, 0, &r, reason);
	if (q == -ENODATA) {
		khib_target_free(t);
		return 0;
	}
	if (q < 0)
		test_fail(__FILE__, __LINE__, "open after fault: %s (%s)", strerror(-q), reason);
	is_b = !memcmp(khib_reader_info(r)->uuid, uuid_b, 16);
	khib_reader_free(r);
	ASSERT_TRUE(is_b || a);
	q = fx_check(is_b ? b : a, t, reason);
	if (q < 0)
		test_fail(__FILE__, __LINE__, "valid image with bad data: %s (%s)", strerror(-q), reason);
	khib_target_free(t);
	return is_b ? 2 : 1;
}

static void params_for(const struct fx_machine *m, struct khib_writer_params *p, const uint8_t *uuid)
{
	fx_params(m, p, KHIB_CODEC_LZ4, 8, 2);
	p->uuid = uuid;
}

/* Write A cleanly onto a zero disk; returns the durable bytes. */
static void base_disk(struct faulty *f, const struct fx_machine *a, uint8_t *out)
{
	static const uint8_t zero[DISK_BYTES];
	struct khib_writer_params p;
	struct khib_target *t;

	faulty_reset(f, zero);
	if (a) {
		params_for(a, &p, uuid_a);
		ASSERT_OK(khib_target_new(&faulty_ops, f, DISK_BYTES, 1, &t));
		ASSERT_OK(fx_write(a, t, &p));
		khib_target_free(t);
	}
	memcpy(out, f->durable, DISK_BYTES);
}

static long clean_ops(struct faulty *f, const uint8_t *base, const struct fx_machine *b, long *ret_writes)
{
	struct khib_writer_params p;
	struct khib_target *t;

	faulty_reset(f, base);
	params_for(b, &p, uuid_b);
	ASSERT_OK(khib_target_new(&faulty_ops, f, DISK_BYTES, 1, &t));
	ASSERT_OK(fx_write(b, t, &p));
	khib_target_free(t);
	*ret_writes = f->writes;
	return f->ops;
}

static void power_cut_everywhere(bool with_old)
{
	struct fx_machine a, b;
	struct faulty *f = faulty_new();
	_cleanup_free_ uint8_t *base = malloc(DISK_BYTES), *after = malloc(DISK_BYTES);
	struct khib_writer_params p;
	struct khib_target *t;
	unsigned seen[3] = { 0 };
	long n, writes;

	fx_machine_small(&a, 100);
	fx_machine_small(&b, 200);
	base_disk(f, with_old ? &a : NULL, base);
	n = clean_ops(f, base, &b, &writes);
	for (long cut = 0; cut <= n; cut++) {
		faulty_reset(f, base);
		f->cut_at = cut;
		params_for(&b, &p, uuid_b);
		ASSERT_OK(khib_target_new(&faulty_ops, f, DISK_BYTES, 1, &t));
		ASSERT_EQ(fx_write(&b, t, &p) < 0, cut < n);
		khib_target_free(t);
		for (unsigned v = 0; v < 6; v++) {
			power_cut(f, v, after);
			seen[outcome(after, with_old ? &a : NULL, &b)]++;
		}
	}
	/* The test saw both sides of the commit point. */
	ASSERT_TRUE(seen[2] > 0);
	ASSERT_TRUE(seen[with_old ? 1 : 0] > 0);
	ASSERT_TRUE(n > 10);
	faulty_free(f);
	fx_machine_release(&a);
	fx_machine_release(&b);
}

TEST(image_fault_power_cut_every_step_empty_disk) { power_cut_everywhere(false); }
TEST(image_fault_power_cut_every_step_over_old_image) { power_cut_everywhere(true); }

static void error_at_every_write(int err)
{
	struct fx_machine a, b;
	struct faulty *f = faulty_new();
	_cleanup_free_ uint8_t *base = malloc(DISK_BYTES);
	struct khib_writer_params p;
	struct khib_target *t;
	long writes;

	fx_machine_small(&a, 300);
	fx_machine_small(&b, 400);
	base_disk(f, &a, base);
	clean_ops(f, base, &b, &writes);
	for (long w = 1; w <= writes; w++) {
		faulty_reset(f, base);
		f->eio_write = w;
		f->eio_errno = err;
		params_for(&b, &p, uuid_b);
		ASSERT_OK(khib_target_new(&faulty_ops, f, DISK_BYTES, 1, &t));
		ASSERT_EQ(fx_write(&b, t, &p), -err);
		khib_target_free(t);
		/* Failing the first write (the commit's destruction) keeps A. */
		ASSERT_EQ(outcome(f->visible, &a, &b), w == 1 ? 1 : 0);
	}
	faulty_free(f);
	fx_machine_release(&a);
	fx_machine_release(&b);
}

TEST(image_fault_eio_at_every_write) { error_at_every_write(EIO); }
TEST(image_fault_enospc_at_every_write) { error_at_every_write(ENOSPC); }

/*
 * A flush that fails, at every flush: the write fails, and the new image is
 * valid neither in what reads see nor in what is durable -- not even when
 * the failing flush was the one after the commit record (the writer then
 * takes the record back).
 */
TEST(image_fault_eio_at_every_flush)
{
	struct fx_machine a, b;
	struct faulty *f = faulty_new();
	_cleanup_free_ uint8_t *base = malloc(DISK_BYTES);
	struct khib_writer_params p;
	struct khib_target *t;
	long writes, flushes;

	fx_machine_small(&a, 600);
	fx_machine_small(&b, 700);
	base_disk(f, &a, base);
	clean_ops(f, base, &b, &writes);
	flushes = f->flushes;
	ASSERT_TRUE(flushes >= 3);
	for (long n = 1; n <= flushes; n++) {
		faulty_reset(f, base);
		f->eio_flush = n;
		params_for(&b, &p, uuid_b);
		ASSERT_OK(khib_target_new(&faulty_ops, f, DISK_BYTES, 1, &t));
		ASSERT_EQ(fx_write(&b, t, &p), -EIO);
		khib_target_free(t);
		ASSERT_TRUE(outcome(f->visible, &a, &b) != 2);
		ASSERT_TRUE(outcome(f->durable, &a, &b) != 2);
	}
	faulty_free(f);
	fx_machine_release(&a);
	fx_machine_release(&b);
}

TEST(image_fault_short_writes)
{
	struct fx_machine b;
	struct faulty *f = faulty_new();
	_cleanup_free_ uint8_t *base = calloc(1, DISK_BYTES);
	struct khib_writer_params p;
	struct khib_target *t;

	fx_machine_small(&b, 500);
	faulty_reset(f, base);
	f->short_writes = true;
	params_for(&b, &p, uuid_b);
	ASSERT_OK(khib_target_new(&faulty_ops, f, DISK_BYTES, 1, &t));
	ASSERT_OK(fx_write(&b, t, &p));
	khib_target_free(t);
	ASSERT_EQ(outcome(f->visible, NULL, &b), 2);
	ASSERT_TRUE(f->writes > 20); /* the writes really were split */
	faulty_free(f);
	fx_machine_release(&b);
}
