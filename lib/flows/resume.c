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

/* Find the image and decide; returns the outcome before the rule. */
static enum khib_resume_outcome attempt(struct khib_target *t, struct khib_reader *rd,
					enum khib_resume_method method, bool dry_run,
					const struct khib_resume_ops *ops, void *ctx,
					struct khib_resume_result *res)
{
	const struct khib_image_info *info = khib_reader_info(rd);
	char reason[KHIB_REASON_MAX] = "";
	struct khib_memmap fw;
	struct khib_jump_config cfg = { 0 };
	uint32_t tries;
	bool verified;
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
	 * chunk is read twice (with one exception, below). */
	verified = dry_run;
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
	if (dry_run)
		return KHIB_RESUME_VALID;
	if (ops->consume && (r = ops->consume(ctx, reason)) < 0) {
		set_reason(res, r, "", reason);
		return KHIB_RESUME_FAILED;
	}
	if (method != KHIB_RESUME_KEXEC) {
		r = ops->snapshot(ctx, rd, t, method == KHIB_RESUME_SNAPSHOT, &verified, reason);
		if (r == KHIB_RESUME_BAD_IMAGE) {
			set_reason(res, -EBADMSG, "", reason);
			return KHIB_RESUME_REFUSED;
		}
		if (r != KHIB_RESUME_FALLBACK || method == KHIB_RESUME_SNAPSHOT) {
			set_reason(res, r == KHIB_RESUME_FALLBACK ? -EOPNOTSUPP : r,
				   "through /dev/snapshot", reason);
			return KHIB_RESUME_FAILED;
		}
	}
	/* A restore that began and did not finish (a power cut; a restore
	 * kernel that failed and could not invalidate the image, on a disk
	 * that fails only there): check every chunk here first, and give up
	 * after KHIB_RESUME_MAX_ATTEMPTS, so that a bad disk costs a normal
	 * boot and never a loop of reboots. */
	if ((r = khib_image_count_restore(t, &tries)) < 0) {
		set_reason(res, r, "recording the restore's start on the image", NULL);
		return KHIB_RESUME_FAILED;
	}
	if (tries >= KHIB_RESUME_MAX_ATTEMPTS) {
		khib_fail(reason, -EIO, "%u restores of this image began and none finished", tries);
		set_reason(res, -EIO, "", reason);
		return KHIB_RESUME_REFUSED;
	}
	if (tries && !verified && (r = ops->verify(ctx, rd, tries, reason)) < 0) {
		set_reason(res, r, "", reason);
		return KHIB_RESUME_REFUSED;
	}
	r = ops->restorer(ctx, info, &cfg, reason);
	set_reason(res, r < 0 ? r : -EIO, "", reason);
	return KHIB_RESUME_FAILED;
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

void khib_resume(struct khib_target *t, enum khib_resume_method method, bool dry_run,
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
		res->outcome = attempt(t, rd, method, dry_run, ops, ctx, res);
		khib_reader_free(rd);
	}
	if (dry_run || res->outcome == KHIB_RESUME_VALID)
		return;
	/* The rule: an image this boot did not resume never resumes later. */
	if ((r = khib_image_invalidate(t)) < 0) {
		res->invalidate_err = r;
		res->outcome = KHIB_RESUME_STUCK;
	}
}
