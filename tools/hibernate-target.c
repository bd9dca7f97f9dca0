/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib hibernate and its target: that no stale or failed image on it stays
 * valid (whether an image may go there is lib/system/preflight.h's to say).
 */
#include <stdbool.h>

#include "blockmap.h"
#include "hibernate.h"
#include "image.h"
#include "khib.h"
#include "targetdev.h"

/* Invalidate the image on the target (with only_image, only if one is
 * there), through direct I/O where the file system allows: this kernel's
 * page cache may predate what a writer kernel wrote under it. */
static int invalidate_target(const char *target, bool only_image)
{
	struct khib_target *t;
	enum khib_probe probe = KHIB_PROBE_IMAGE;
	int r = khib_blockmap_open(target, KHIB_TARGET_WRITE | KHIB_TARGET_DIRECT, &t, NULL);

	if (r < 0)
		return r;
	if (only_image)
		r = khib_target_probe(t, &probe);
	if (r >= 0 && probe == KHIB_PROBE_IMAGE)
		r = khib_image_invalidate(t);
	khib_target_free(t);
	return r;
}

/*
 * An image already on the target dies before the jump: it is stale (this
 * kernel ran on after it), and until the writer's first write, a power cut
 * would leave it to be resumed over file systems that changed since.
 */
int hib_retire_old_image(const char *target)
{
	int r = invalidate_target(target, true);

	if (r < 0)
		return khib_err_errno(r, "invalidating the older image on '%s'", target);
	return 0;
}

/*
 * After the writer kernel gave up: whatever it wrote is khib's, and no image
 * of it may stay valid (a commit record can land on the disk even when its
 * write or flush "failed"), since this kernel runs on.  Says so when the
 * target cannot be written either.
 */
void hib_discard_after_abort(const char *target)
{
	int r = invalidate_target(target, false);

	if (r < 0)
		khib_err_errno(r, "the target '%s' may hold a committed image that must not be "
			       "resumed, and invalidating it failed; run 'khib invalidate %s' "
			       "before the next boot", target, target);
}

