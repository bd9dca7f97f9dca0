/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The resume rule (lib/flows/resume.h): a found image that this boot does not
 * resume is invalidated before khib_resume() returns, whichever step
 * failed; a dry run changes nothing; a failed invalidation is reported as
 * STUCK.  Every system step is a fake that fails on request.
 */
#include "harness.h"
#include "image_format.h"
#include "keyslot.h"
#include "resume.h"
#include "test_image_fixture.h"

#include <errno.h>
#include <stdlib.h>

enum step { S_NONE, S_FW, S_CHECK, S_JCFG, S_LOWMEM, S_SNAP, S_VERIFY, S_RESTORER, S_COUNT };

struct fake {
	enum step fail;		/* the step that fails */
	bool noresume;
	int snapshot_ret;	/* what the snapshot op returns when it "fails" */
	uint32_t tries;		/* restores that began before this one */
	uint32_t unfinished;	/* what the verify op was told */
	bool large;		/* auto: the image counts as a large one */
	bool restorer_forced;	/* what the restorer op was told */
	bool snapshot_forced;	/* what the snapshot op was told, last */
	int calls[S_COUNT];
	int order[S_COUNT];	/* the sequence number of each step's last call */
	int seq;
};

/* The resume's parameters: a small image is below the stream's limit,
 * unless the case says the image is a large one. */
static struct khib_resume_params params(const struct fake *f, enum khib_resume_method method,
					bool dry_run)
{
	return (struct khib_resume_params){
		.method = method,
		.stream_max_pages = f->large ? 0 : KHIB_RESUME_STREAM_MAX_PAGES,
		.dry_run = dry_run,
	};
}

static bool f_noresume(void *ctx)
{
	return ((struct fake *)ctx)->noresume;
}

static int f_firmware_map(void *ctx, struct khib_memmap *ret)
{
	struct fake *f = ctx;

	f->calls[S_FW]++;
	*ret = (struct khib_memmap){ 0 };
	return f->fail == S_FW ? -EIO : 0;
}

static int f_check(void *ctx, struct khib_reader *rd, const struct khib_memmap *fw, bool verify,
		   char *reason)
{
	struct fake *f = ctx;

	(void)rd, (void)fw, (void)verify;
	f->calls[S_CHECK]++;
	return f->fail == S_CHECK ? khib_fail(reason, -ESTALE, "injected: another kernel") : 0;
}

static int f_jump_config(void *ctx, const struct khib_image_info *info, struct khib_memmap *fw,
			 struct khib_jump_config *ret, char *reason)
{
	struct fake *f = ctx;

	(void)fw;
	f->calls[S_JCFG]++;
	if (f->fail == S_JCFG)
		return khib_fail(reason, -ENOENT, "injected: no RAM for the region");
	ret->low_start = info->resume.lowmem_start;
	ret->low_bytes = info->resume.lowmem_size + (f->fail == S_LOWMEM ? 4096 : 0);
	return 0;
}

static int f_snapshot(void *ctx, struct khib_reader *rd, struct khib_target *t, bool forced,
		      bool *verified, char *reason)
{
	struct fake *f = ctx;

	(void)rd, (void)t, (void)verified;
	f->snapshot_forced = forced;
	f->calls[S_SNAP]++;
	f->order[S_SNAP] = ++f->seq;
	khib_fail(reason, 0, "injected: snapshot");
	return f->fail == S_SNAP ? f->snapshot_ret : KHIB_RESUME_FALLBACK;
}

static int f_verify(void *ctx, struct khib_reader *rd, uint32_t unfinished, char *reason)
{
	struct fake *f = ctx;

	(void)rd;
	f->calls[S_VERIFY]++;
	f->unfinished = unfinished;
	return f->fail == S_VERIFY ? khib_fail(reason, -EBADMSG, "injected: bad chunk") : 0;
}

/* The real one does not return when it works. */
static int f_restorer(void *ctx, const struct khib_image_info *info, struct khib_jump_config *cfg,
		      bool forced, char *reason)
{
	struct fake *f = ctx;

	(void)info, (void)cfg;
	f->restorer_forced = forced;
	f->calls[S_RESTORER]++;
	f->order[S_RESTORER] = ++f->seq;
	return khib_fail(reason, -ENOENT, "injected: reading the restore kernel '/missing'");
}

static const struct khib_resume_ops fake_ops = {
	.noresume = f_noresume,
	.firmware_map = f_firmware_map,
	.check = f_check,
	.jump_config = f_jump_config,
	.snapshot = f_snapshot,
	.verify = f_verify,
	.restorer = f_restorer,
};

struct disk {
	struct fx_machine m;
	struct fx_disk d;
	struct khib_target *t;
};

static void disk_with_image(struct disk *k)
{
	struct khib_writer_params p;

	fx_machine_small(&k->m, 7);
	ASSERT_EQ(fx_disk_target(&k->d, 8u << 20, &k->t), 0);
	fx_params(&k->m, &p, KHIB_CODEC_LZ4, 64, 1);
	ASSERT_EQ(fx_write(&k->m, k->t, &p), 0);
}

static void disk_release(struct disk *k)
{
	khib_target_free(k->t);
	free(k->d.buf);
	fx_machine_release(&k->m);
}

static bool image_valid(struct khib_target *t)
{
	struct khib_reader *rd = NULL;
	int r = khib_reader_open(t, 0, &rd, NULL);

	khib_reader_free(rd);
	return r == 0;
}

/* Resume with step `fail` failing; the outcome and the image's fate. */
static void run(enum step fail, enum khib_resume_method method, bool dry_run,
		enum khib_resume_outcome want, const char *want_reason, struct fake *f)
{
	struct disk k;
	struct khib_resume_result res;

	disk_with_image(&k);
	ASSERT_TRUE(image_valid(k.t));
	for (uint32_t i = 0, before; i < f->tries; i++) {
		ASSERT_OK(khib_image_count_restore(k.t, &before));
		ASSERT_EQ(before, i);
	}
	f->fail = fail;
	struct khib_resume_params p = params(f, method, dry_run);
	khib_resume(k.t, &p, &fake_ops, f, &res);
	if (res.outcome != want)
		test_fail(__FILE__, __LINE__, "step %d: outcome %d, want %d (%s)", fail,
			  res.outcome, want, res.reason);
	if (want_reason && !strstr(res.reason, want_reason))
		test_fail(__FILE__, __LINE__, "step %d: reason '%s' lacks '%s'", fail, res.reason,
			  want_reason);
	ASSERT_STREQ(res.release, "6.1.0-khib-test");
	/* The rule: only a dry run leaves a found image valid. */
	ASSERT_EQ(image_valid(k.t), dry_run);
	disk_release(&k);
}

TEST(resume_no_image_changes_nothing)
{
	struct fx_disk d;
	struct khib_target *t;
	struct khib_resume_result res;
	struct fake f = { 0 };

	ASSERT_EQ(fx_disk_target(&d, 1u << 20, &t), 0);
	struct khib_resume_params p = params(&f, KHIB_RESUME_AUTO, false);
	khib_resume(t, &p, &fake_ops, &f, &res);
	ASSERT_EQ(res.outcome, KHIB_RESUME_NONE);
	ASSERT_EQ(f.calls[S_FW], 0);
	for (size_t i = 0; i < d.size; i++)
		if (d.buf[i])
			test_fail(__FILE__, __LINE__, "byte %zu of an empty disk was written", i);
	khib_target_free(t);
	free(d.buf);
}

TEST(resume_every_early_exit_invalidates)
{
	static const struct {
		enum step fail;
		enum khib_resume_method method;
		int snapshot_ret;
		enum khib_resume_outcome want;
		const char *reason;
		uint32_t tries;
	} cases[] = {
		{ S_FW, KHIB_RESUME_AUTO, 0, KHIB_RESUME_FAILED, "firmware memory map" },
		{ S_CHECK, KHIB_RESUME_AUTO, 0, KHIB_RESUME_REFUSED, "another kernel" },
		{ S_JCFG, KHIB_RESUME_AUTO, 0, KHIB_RESUME_FAILED, "no RAM for the region" },
		{ S_LOWMEM, KHIB_RESUME_AUTO, 0, KHIB_RESUME_REFUSED, "low memory differs" },
		/* The kernel refused the stream and nothing changed: auto goes
		 * on to the kexec path, whose restore kernel is missing. */
		{ S_NONE, KHIB_RESUME_AUTO, 0, KHIB_RESUME_FAILED, "/missing" },
		/* A forced snapshot path that cannot be taken. */
		{ S_NONE, KHIB_RESUME_SNAPSHOT, 0, KHIB_RESUME_FAILED, "injected: snapshot" },
		{ S_SNAP, KHIB_RESUME_AUTO, KHIB_RESUME_BAD_IMAGE, KHIB_RESUME_REFUSED, "snapshot" },
		/* The kernel's restore failed after the stream. */
		{ S_SNAP, KHIB_RESUME_AUTO, -ENOMEM, KHIB_RESUME_FAILED, "/dev/snapshot" },
		/* A restore began before and did not finish: every chunk is
		 * checked before the next. */
		{ S_VERIFY, KHIB_RESUME_AUTO, 0, KHIB_RESUME_REFUSED, "bad chunk", 1 },
		{ S_NONE, KHIB_RESUME_KEXEC, 0, KHIB_RESUME_FAILED, "/missing" },
		{ S_NONE, KHIB_RESUME_KEXEC, 0, KHIB_RESUME_REFUSED,
		  "2 restores of this image began and none finished", 2 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake f = { .snapshot_ret = cases[i].snapshot_ret, .tries = cases[i].tries };

		run(cases[i].fail, cases[i].method, false, cases[i].want, cases[i].reason, &f);
	}
}

/* The kexec path reads the image once: the restore kernel checks each
 * chunk as it restores it. */
TEST(resume_kexec_method_skips_snapshot_and_verify)
{
	struct fake f = { 0 };

	run(S_NONE, KHIB_RESUME_KEXEC, false, KHIB_RESUME_FAILED, "/missing", &f);
	ASSERT_EQ(f.calls[S_SNAP], 0);
	ASSERT_EQ(f.calls[S_VERIFY], 0);
	ASSERT_EQ(f.calls[S_RESTORER], 1);
}

/* auto by the image's size: a small image goes through /dev/snapshot
 * first and the restore kernel only when the stream cannot be taken; a
 * large one through the restore kernel first, and the stream when the
 * restore kernel cannot be started, with the first path's reason. */
TEST(resume_auto_chooses_by_size)
{
	struct fake f = { 0 };

	run(S_NONE, KHIB_RESUME_AUTO, false, KHIB_RESUME_FAILED, "/missing", &f);
	ASSERT_EQ(f.calls[S_SNAP], 1);
	ASSERT_EQ(f.calls[S_RESTORER], 1);
	ASSERT_TRUE(f.order[S_SNAP] < f.order[S_RESTORER]);
	ASSERT_TRUE(!f.snapshot_forced);
	ASSERT_TRUE(f.restorer_forced);

	f = (struct fake){ .large = true };
	run(S_NONE, KHIB_RESUME_AUTO, false, KHIB_RESUME_FAILED, "/missing", &f);
	ASSERT_EQ(f.calls[S_SNAP], 1);
	ASSERT_EQ(f.calls[S_RESTORER], 1);
	ASSERT_TRUE(f.order[S_RESTORER] < f.order[S_SNAP]);
	ASSERT_TRUE(!f.restorer_forced);
	ASSERT_TRUE(f.snapshot_forced);	/* the last path: it names no other */

	/* The stream taken after the restore kernel failed, and failing
	 * itself, or finding a bad chunk: its outcome. */
	f = (struct fake){ .large = true, .snapshot_ret = -ENOMEM };
	run(S_SNAP, KHIB_RESUME_AUTO, false, KHIB_RESUME_FAILED, "/dev/snapshot", &f);
	f = (struct fake){ .large = true, .snapshot_ret = KHIB_RESUME_BAD_IMAGE };
	run(S_SNAP, KHIB_RESUME_AUTO, false, KHIB_RESUME_REFUSED, "snapshot", &f);

	/* The explicit methods ignore the size. */
	f = (struct fake){ .large = true };
	run(S_NONE, KHIB_RESUME_SNAPSHOT, false, KHIB_RESUME_FAILED, "injected: snapshot", &f);
	ASSERT_EQ(f.calls[S_RESTORER], 0);
	ASSERT_TRUE(f.snapshot_forced);
	f = (struct fake){ 0 };
	run(S_NONE, KHIB_RESUME_KEXEC, false, KHIB_RESUME_FAILED, "/missing", &f);
	ASSERT_EQ(f.calls[S_SNAP], 0);
}

/* The second restore of an image checks every chunk before the restore
 * kernel's turn; the third never begins. */
TEST(resume_unfinished_restores)
{
	struct fake f = { .tries = 1 };

	run(S_NONE, KHIB_RESUME_KEXEC, false, KHIB_RESUME_FAILED, "/missing", &f);
	ASSERT_EQ(f.calls[S_VERIFY], 1);
	ASSERT_EQ(f.unfinished, 1);
	ASSERT_EQ(f.calls[S_RESTORER], 1);
	f = (struct fake){ .tries = 2 };
	run(S_NONE, KHIB_RESUME_KEXEC, false, KHIB_RESUME_REFUSED, "none finished", &f);
	ASSERT_EQ(f.calls[S_VERIFY] + f.calls[S_RESTORER], 0);
}

/* The attempt record: counted per image, in the commit block, gone with
 * the image; the reader reports it; another image's record counts
 * nothing. */
TEST(resume_attempt_record)
{
	struct khib_reader *rd = NULL;
	struct disk k;
	uint32_t before;
	uint8_t other[16] = { 9 };

	disk_with_image(&k);
	ASSERT_OK(khib_reader_open(k.t, 0, &rd, NULL));
	ASSERT_EQ(khib_reader_info(rd)->restore_attempts, 0);
	khib_reader_free(rd);
	ASSERT_OK(khib_image_count_restore(k.t, &before));
	ASSERT_EQ(before, 0);
	ASSERT_OK(khib_image_count_restore(k.t, &before));
	ASSERT_EQ(before, 1);
	ASSERT_OK(khib_reader_open(k.t, 0, &rd, NULL));
	ASSERT_EQ(khib_reader_info(rd)->restore_attempts, 2);
	khib_reader_free(rd);
	/* Another image's record, or a damaged one: no attempts of this one. */
	khib_attempt_encode(other, 5, k.d.buf + KHIB_ATTEMPT_OFFSET);
	ASSERT_OK(khib_image_count_restore(k.t, &before));
	ASSERT_EQ(before, 0);
	k.d.buf[KHIB_ATTEMPT_OFFSET + KHIB_ATT_COUNT] ^= 7;
	ASSERT_OK(khib_image_count_restore(k.t, &before));
	ASSERT_EQ(before, 0);
	ASSERT_TRUE(image_valid(k.t));
	ASSERT_OK(khib_image_invalidate(k.t));
	ASSERT_EQ(khib_image_count_restore(k.t, &before), -ENODATA);
	disk_release(&k);
}

TEST(resume_noresume_discards)
{
	struct fake f = { .noresume = true };

	run(S_NONE, KHIB_RESUME_AUTO, false, KHIB_RESUME_DISCARDED, NULL, &f);
	ASSERT_EQ(f.calls[S_FW], 0);
}

TEST(resume_dry_run_changes_nothing)
{
	struct fake f = { 0 };

	run(S_NONE, KHIB_RESUME_AUTO, true, KHIB_RESUME_VALID, NULL, &f);
	ASSERT_EQ(f.calls[S_SNAP] + f.calls[S_RESTORER], 0);
	for (enum step s = S_FW; s <= S_LOWMEM; s++) {
		struct fake g = { 0 };

		run(s, KHIB_RESUME_AUTO, true,
		    s == S_CHECK || s == S_LOWMEM ? KHIB_RESUME_REFUSED : KHIB_RESUME_FAILED,
		    NULL, &g);
	}
}

TEST(resume_failed_invalidation_is_stuck)
{
	struct disk k;
	struct khib_target *t;
	struct khib_resume_result res;
	struct fake f = { 0 };

	disk_with_image(&k);
	/* The same disk, read-only now: the invalidation cannot write. */
	ASSERT_EQ(khib_target_new_memory(k.d.buf, k.d.size, false, &t), 0);
	struct khib_resume_params p = params(&f, KHIB_RESUME_KEXEC, false);
	khib_resume(t, &p, &fake_ops, &f, &res);
	ASSERT_EQ(res.outcome, KHIB_RESUME_STUCK);
	ASSERT_EQ(res.invalidate_err, -EBADF);
	ASSERT_TRUE(strstr(res.reason, "recording the restore's start") != NULL);
	ASSERT_TRUE(image_valid(t));
	khib_target_free(t);
	disk_release(&k);
}

static int f_key_cancelled(void *ctx, const uint8_t uuid[16], const uint8_t *area,
			   uint32_t n_slots, uint8_t dk[32], char *reason)
{
	(void)ctx, (void)uuid, (void)area, (void)n_slots, (void)dk;
	return khib_fail(reason, -ECANCELED, "3 wrong passphrases for 'laptop'");
}

/* Still committed, whatever key would open it. */
static bool image_committed(struct khib_target *t)
{
	struct khib_reader *rd = NULL;
	int r = khib_reader_open(t, KHIB_READER_PUBLIC, &rd, NULL);

	khib_reader_free(rd);
	return r == 0;
}

/* An encrypted image nobody unlocked: kept when it records every file
 * system of its kernel, invalidated when it does not. */
static void locked(bool fs_complete, enum khib_resume_outcome want)
{
	static const uint8_t keyfile[32] = { 1, 2, 3 };
	struct khib_resume_ops ops = fake_ops;
	struct khib_resume_result res;
	struct khib_writer_params p;
	struct khib_image_key *key;
	uint8_t uuid[16];
	struct fake f = { 0 };
	struct disk k;

	fx_machine_small(&k.m, 7);
	ASSERT_EQ(fx_disk_target(&k.d, 8u << 20, &k.t), 0);
	fx_params(&k.m, &p, KHIB_CODEC_LZ4, 64, 1);
	ASSERT_OK(khib_image_key_new(KHIB_AEAD_XCHACHA20_POLY1305, &key, uuid));
	ASSERT_OK(khib_keyslot_add_keyfile(key->key_area, KHIB_KEY_AREA_BYTES, &key->n_slots, uuid,
					   key->dk, keyfile, sizeof(keyfile)));
	p.key = key;
	p.uuid = uuid;
	p.fs_complete = fs_complete;
	ASSERT_EQ(fx_write(&k.m, k.t, &p), 0);
	khib_secret_free(key);
	ops.key = f_key_cancelled;
	struct khib_resume_params rp = params(&f, KHIB_RESUME_AUTO, false);
	khib_resume(k.t, &rp, &ops, &f, &res);
	ASSERT_EQ(res.outcome, want);
	ASSERT_TRUE(strstr(res.reason, "3 wrong passphrases") != NULL);
	ASSERT_EQ(image_committed(k.t), want == KHIB_RESUME_LOCKED);
	disk_release(&k);
}

TEST(resume_locked_image_kept_when_file_systems_are_all_checked)
{
	locked(true, KHIB_RESUME_LOCKED);
}

TEST(resume_locked_image_invalidated_when_some_file_system_is_unchecked)
{
	locked(false, KHIB_RESUME_REFUSED);
}
