/* SPDX-License-Identifier: GPL-2.0-only */
#include "resume.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "image_format.h"

static void set_reason(struct khib_resume_result *res, int err, const char *step,
		       const char *reason)
{
	res->err = err < 0 ? err : -EIO;
	snprintf(res->reason, sizeof(res->reason), "%s%s%s", step, step[0] ? ": " : "",
		 reason && reason[0] ? reason : strerror(-res->err));
}

int khib_resume_begin_restore(struct khib_target *t, uint32_t *ret_unfinished, char *reason)
{
	int r;

	if ((r = khib_image_count_restore(t, ret_unfinished)) < 0)
		return khib_fail(reason, r, "recording the restore's start on the image: %s",
				 strerror(-r));
	if (*ret_unfinished >= KHIB_RESUME_MAX_ATTEMPTS)
		return khib_fail(reason, -EIO, "%u restores of this image began and none finished",
				 *ret_unfinished);
	return 0;
}

/* Through /dev/snapshot: returns only when it did not resume, with the
 * outcome, or KHIB_RESUME_NONE when it could not be taken and nothing
 * changed (the caller decides whether the restore kernel follows).
 * forced: no other path follows. */
static enum khib_resume_outcome through_snapshot(struct khib_target *t, struct khib_reader *rd,
						 bool forced, const struct khib_resume_ops *ops,
						 void *ctx, bool *verified,
						 struct khib_resume_result *res)
{
	char reason[KHIB_REASON_MAX] = "";
	int r = ops->snapshot(ctx, rd, t, forced, verified, reason);

	if (r == KHIB_RESUME_BAD_IMAGE) {
		set_reason(res, -EBADMSG, "", reason);
		return KHIB_RESUME_REFUSED;
	}
	set_reason(res, r == KHIB_RESUME_FALLBACK ? -EOPNOTSUPP : r, "through /dev/snapshot",
		   reason);
	return r == KHIB_RESUME_FALLBACK ? KHIB_RESUME_NONE : KHIB_RESUME_FAILED;
}

/* Through the restore kernel: returns only when it did not resume.
 * KHIB_RESUME_NONE: the restore kernel could not be started, nothing
 * changed but the attempt record. */
static enum khib_resume_outcome through_restorer(struct khib_target *t, struct khib_reader *rd,
						 struct khib_jump_config *cfg, bool verified,
						 bool forced, const struct khib_resume_ops *ops,
						 void *ctx, struct khib_resume_result *res)
{
	char reason[KHIB_REASON_MAX] = "";
	uint32_t tries = 0;
	int r;

	if ((r = khib_resume_begin_restore(t, &tries, reason)) < 0) {
		set_reason(res, r, "", reason);
		return tries >= KHIB_RESUME_MAX_ATTEMPTS ? KHIB_RESUME_REFUSED
							 : KHIB_RESUME_FAILED;
	}
	if (tries && !verified && (r = ops->verify(ctx, rd, tries, reason)) < 0) {
		set_reason(res, r, "", reason);
		return KHIB_RESUME_REFUSED;
	}
	r = ops->restorer(ctx, khib_reader_info(rd), cfg, forced, reason);
	set_reason(res, r < 0 ? r : -EIO, "", reason);
	return KHIB_RESUME_NONE;
}

/* Find the image and decide; returns the outcome before the rule. */
static enum khib_resume_outcome attempt(struct khib_target *t, struct khib_reader *rd,
					const struct khib_resume_params *p,
					const struct khib_resume_ops *ops, void *ctx,
					struct khib_resume_result *res)
{
	const struct khib_image_info *info = khib_reader_info(rd);
	char reason[KHIB_REASON_MAX] = "";
	struct khib_memmap fw;
	struct khib_jump_config cfg = { 0 };
	enum khib_resume_outcome o;
	bool verified, kexec_first, stream_after;
	int r;

	if (ops->noresume(ctx))
		return KHIB_RESUME_DISCARDED;
	if ((r = ops->firmware_map(ctx, &fw)) < 0) {
		set_reason(res, r, "reading the firmware memory map", NULL);
		return KHIB_RESUME_FAILED;
	}
	/* A dry run checks every chunk here.  The snapshot path reads and
	 * checks every chunk before the kernel restores anything; the restore
	 * kernel checks each chunk as it writes it and jumps into N only when
	 * all checked out (else it invalidates the image and reboots): no
	 * chunk is read twice (with one exception, in through_restorer()). */
	verified = p->dry_run;
	if ((r = ops->check(ctx, rd, &fw, verified, reason)) < 0) {
		set_reason(res, r, "", reason);
		return KHIB_RESUME_REFUSED;
	}
	if ((r = ops->jump_config(ctx, info, &fw, &cfg, reason)) < 0) {
		set_reason(res, r, "", reason);
		return KHIB_RESUME_FAILED;
	}
	if (cfg.low_start != info->resume.lowmem_start ||
	    cfg.low_bytes != info->resume.lowmem_size) {
		set_reason(res, -ESTALE, "", "low memory differs from the hibernated machine's");
		return KHIB_RESUME_REFUSED;
	}
	if (p->dry_run)
		return KHIB_RESUME_VALID;
	if (ops->consume && (r = ops->consume(ctx, reason)) < 0) {
		set_reason(res, r, "", reason);
		return KHIB_RESUME_FAILED;
	}
	/* auto: the path that is faster for this many pages first; the other
	 * when the first cannot be taken and nothing changed.  Each path is
	 * told whether the other follows it. */
	kexec_first = p->method == KHIB_RESUME_KEXEC ||
		      (p->method == KHIB_RESUME_AUTO && info->stored_pages > p->stream_max_pages);
	stream_after = kexec_first && p->method == KHIB_RESUME_AUTO;
	if (!kexec_first) {
		o = through_snapshot(t, rd, p->method == KHIB_RESUME_SNAPSHOT, ops, ctx, &verified,
				     res);
		if (o != KHIB_RESUME_NONE)
			return o;
		if (p->method == KHIB_RESUME_SNAPSHOT)
			return KHIB_RESUME_FAILED;
	}
	o = through_restorer(t, rd, &cfg, verified, !stream_after, ops, ctx, res);
	if (o != KHIB_RESUME_NONE)
		return o;
	if (!stream_after)
		return KHIB_RESUME_FAILED;
	/* The restore kernel could not be started: the stream, for which the
	 * restore record written above changes nothing. */
	struct khib_resume_result first = *res;
	o = through_snapshot(t, rd, true, ops, ctx, &verified, res);
	if (o == KHIB_RESUME_NONE) {
		*res = first;	/* the first path's reason is the one to give */
		return KHIB_RESUME_FAILED;
	}
	return o;
}

/* May an image nobody unlocked stay for a later boot?  Only if a resume
 * would then see a change to any file system N had mounted (the public
 * compat bit; a forged one only keeps an image whose MAC fails later). */
static bool keepable(struct khib_target *t)
{
	struct khib_reader *rd;
	char reason[KHIB_REASON_MAX];
	bool keep;

	if (khib_reader_open_keyed(t, KHIB_READER_PUBLIC, NULL, NULL, &rd, reason) < 0)
		return false;
	keep = (khib_reader_info(rd)->compat_flags & KHIB_COMPAT_FS_COMPLETE) != 0;
	khib_reader_free(rd);
	return keep;
}

void khib_resume(struct khib_target *t, const struct khib_resume_params *p,
		 const struct khib_resume_ops *ops, void *ctx, struct khib_resume_result *res)
{
	struct khib_reader *rd = NULL;
	char reason[KHIB_REASON_MAX] = "";
	int r;

	*res = (struct khib_resume_result){ .outcome = KHIB_RESUME_NONE };
	r = khib_reader_open_keyed(t, 0, ops->key, ctx, &rd, reason);
	if (r == -ENODATA)
		return; /* no image: the normal case of a normal boot */
	if (r == -ECANCELED && keepable(t)) {
		set_reason(res, r, "", reason);
		res->outcome = KHIB_RESUME_LOCKED;
		return;
	}
	if (r == -ECANCELED)
		snprintf(reason + strlen(reason), sizeof(reason) - strlen(reason), "; not kept, "
			 "since this boot might change file systems it cannot check");
	if (r >= 0 && !khib_reader_info(rd)->encryption.algorithm && ops->encrypts &&
	    ops->encrypts(ctx)) {
		khib_reader_free(rd);
		r = khib_fail(reason, -EPERM, "the image is in clear, and this machine encrypts its "
			      "images: a forged or downgraded image");
	}
	if (r < 0) {
		set_reason(res, r, "", reason);
		res->outcome = KHIB_RESUME_REFUSED;
	} else {
		snprintf(res->release, sizeof(res->release), "%s",
			 khib_reader_info(rd)->kernel.uts_release);
		res->outcome = attempt(t, rd, p, ops, ctx, res);
		khib_reader_free(rd);
	}
	if (p->dry_run || res->outcome == KHIB_RESUME_VALID)
		return;
	/* The rule: an image this boot did not resume never resumes later. */
	if ((r = khib_image_invalidate(t)) < 0) {
		res->invalidate_err = r;
		res->outcome = KHIB_RESUME_STUCK;
	}
}
