/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The resume decision of a normal boot (R0): resume the image on a target,
 * or make sure that no later boot ever can.
 *
 * The one rule (khib(8), "When a resume fails"): once a committed image is
 * found, this boot either resumes it or invalidates it durably before it
 * returns, whatever the reason it does not resume -- a bad image,
 * `noresume`, a restore kernel that is missing or that the kernel will not
 * load, a snapshot stream the kernel refuses, too little memory.  A boot
 * that goes on mounts and changes the file systems the image describes;
 * resuming that image on a later boot would bring back a kernel whose
 * caches no longer match its disks, which is how file systems get
 * corrupted.  This is also what the kernel's own hibernation does: it
 * clears its swap signature as soon as it has read it.
 *
 * If the invalidation itself fails, the result is KHIB_RESUME_STUCK and the
 * caller must stop the boot before anything is mounted.  Only a dry run
 * changes nothing.
 *
 * One exception: an encrypted image that nobody unlocked (a passphrase
 * wrong three times, nobody at the console) is kept, so that a later boot
 * can resume it -- but only when its header says it records every file
 * system its kernel had mounted from a block device: then the later resume
 * refuses it if this boot changed any of them (lib/system/fscheck.h).
 *
 * Every step that touches the running system goes through an ops table,
 * so the unit tests make each one fail in turn.
 */
#ifndef KHIB_RESUME_H
#define KHIB_RESUME_H

#include <stdbool.h>
#include <stdint.h>

#include "image.h"
#include "kexec.h"
#include "util.h"

/* Restores of one image that may begin: the second checks every chunk
 * first, there is no third. */
#define KHIB_RESUME_MAX_ATTEMPTS 2

/* What a snapshot attempt returns besides "does not return" and -errno. */
#define KHIB_RESUME_FALLBACK 100	/* cannot be taken, nothing changed */
#define KHIB_RESUME_BAD_IMAGE 101	/* a chunk is bad: refuse the image */
enum khib_resume_method {
	KHIB_RESUME_AUTO,		/* the faster path for the image's size
					   first, the other if it cannot be
					   taken */
	KHIB_RESUME_SNAPSHOT,		/* only through /dev/snapshot */
	KHIB_RESUME_KEXEC,		/* only through the restore kernel */
};

/*
 * Where auto changes paths, in pages to restore.  The snapshot path pays a
 * write() and two copies per page (into the kernel's buffer, then into
 * place at the atomic restore); the restore kernel pays a second boot and
 * then writes each page once, in place.  Measured with bench/bench-resume.py
 * (2 vCPUs, TCG; the workload fully back, snapshot minus restore kernel):
 * -1.65 s at 328 MiB stored, +7.4 s at 1257 MiB; they cross near 500 MiB.
 */
#define KHIB_RESUME_STREAM_MAX_PAGES (512ull << 20 >> 12)

struct khib_resume_params {
	enum khib_resume_method method;
	/* auto: an image with more pages to restore than this tries the
	 * restore kernel first (KHIB_RESUME_STREAM_MAX_PAGES). */
	uint64_t stream_max_pages;
	bool dry_run;		/* check, decide, change nothing */
};

enum khib_resume_outcome {
	KHIB_RESUME_NONE,		/* no image: the normal boot */
	KHIB_RESUME_VALID,		/* dry run: a valid image, untouched */
	KHIB_RESUME_DISCARDED,		/* noresume: invalidated */
	KHIB_RESUME_REFUSED,		/* the image is bad: invalidated */
	KHIB_RESUME_FAILED,		/* a good image this boot could not
					   resume: invalidated */
	KHIB_RESUME_STUCK,		/* not resumed, and invalidating failed:
					   the boot must stop */
	KHIB_RESUME_LOCKED,		/* encrypted, and nobody unlocked it (the
					   key op said -ECANCELED): kept, since a
					   resume will see any file system this
					   boot changes */
};

/* Each op fills `reason` (KHIB_REASON_MAX bytes, as khib_fail()) when it
 * fails. */
struct khib_resume_ops {
	/* `noresume` or `khib.noresume` on the kernel command line. */
	bool (*noresume)(void *ctx);
	/* This machine's firmware memory map. */
	int (*firmware_map)(void *ctx, struct khib_memmap *ret);
	/* The image belongs to this machine and kernel (and, with verify,
	 * every chunk checks out).  Failure: the image is refused. */
	int (*check)(void *ctx, struct khib_reader *rd, const struct khib_memmap *fw, bool verify,
		     char *reason);
	/* The jump configuration for the image's region on this machine. */
	int (*jump_config)(void *ctx, const struct khib_image_info *info, struct khib_memmap *fw,
			   struct khib_jump_config *ret, char *reason);
	/* Resume through /dev/snapshot: does not return on success, else
	 * KHIB_RESUME_FALLBACK, KHIB_RESUME_BAD_IMAGE or -errno.  Sets
	 * *verified once every chunk was read and found good.  !forced: the
	 * restore kernel follows a fallback (auto, a small image), which the
	 * op may say. */
	int (*snapshot)(void *ctx, struct khib_reader *rd, struct khib_target *t, bool forced,
			bool *verified, char *reason);
	/* Every chunk's checksum, before the restore kernel's turn when
	 * `unfinished` restores of the image began before and did not finish.
	 * Failure: the image is refused. */
	int (*verify)(void *ctx, struct khib_reader *rd, uint32_t unfinished, char *reason);
	/* Load the restore kernel into cfg's region and go: returns only on
	 * failure.  !forced: the stream follows a failure (auto, a large
	 * image), which the op may say. */
	int (*restorer)(void *ctx, const struct khib_image_info *info,
			struct khib_jump_config *cfg, bool forced, char *reason);
	/* The data key of an encrypted image (khib_key_fn); NULL: this boot
	 * has none, and an encrypted image is refused.  -ECANCELED: nobody
	 * unlocked it (the exception above). */
	khib_key_fn *key;
	/* Whether this machine encrypts its images (a key is configured): an
	 * image in clear is then a forgery or a downgrade, refused.  NULL: no. */
	bool (*encrypts)(void *ctx);
	/* Right before the restore starts (the point of no return): make sure
	 * the image is never accepted again, even written back whole (a TPM's
	 * replay counter).  As late as that, so that a power cut during the
	 * checks does not cost the image.  NULL: nothing to do.  Failure: not
	 * resumed. */
	int (*consume)(void *ctx, char *reason);
};

struct khib_resume_result {
	enum khib_resume_outcome outcome;
	int err;			/* why it was not resumed (-errno) */
	char reason[KHIB_REASON_MAX + 64];
	int invalidate_err;		/* KHIB_RESUME_STUCK: why */
	char release[KHIB_UTS_LEN];	/* the image's kernel, once read */
};

/*
 * Resume the image on t (opened writable unless p->dry_run) or apply the
 * rule above.  Returns only when it did not resume; res says why.  Never
 * fails itself: every failure is an outcome.
 */
void khib_resume(struct khib_target *t, const struct khib_resume_params *p,
		 const struct khib_resume_ops *ops, void *ctx, struct khib_resume_result *res);

/*
 * A restore kernel's restore of the image on t begins: record it on the
 * image (khib_image_count_restore) and apply the rule for restores that
 * began before and did not finish.  *ret_unfinished: how many did; when
 * any did, every chunk must be checked before the first page is written.
 * Fails (reason filled) when recording fails, or when
 * KHIB_RESUME_MAX_ATTEMPTS began already: then the image must be refused,
 * so that a disk that fails only in the restore kernel costs a normal boot
 * and never a loop of reboots.
 */
int khib_resume_begin_restore(struct khib_target *t, uint32_t *ret_unfinished, char *reason);

#endif
