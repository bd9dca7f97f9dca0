/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib hibernate and its target: that an image may go there (beneath disk
 * encryption only encrypted, where the initramfs will look, big enough,
 * nobody else's), and that no stale or failed image on it stays valid.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockmap.h"
#include "hibernate.h"
#include "image.h"
#include "khib.h"
#include "save.h"
#include "util.h"

/* SECURITY: beneath dm-crypt the disk holds whatever khib writes there, so
 * memory goes there only in an encrypted image: never in clear beneath the
 * user's disk encryption. */
int hib_check_beneath_crypt(const char *target, const struct khib_preflight *pf,
			    const uint8_t *keypage)
{
	if (!pf->below_crypt || keypage)
		return 0;
	khib_err("target '%s' lies beneath disk encryption (%s): khib writes memory there only "
		 "in an encrypted image; enroll a key first (khib key enroll)", target,
		 pf->stack);
	return 1;
}

/* SAFETY: hibernate.h says why the initramfs must know the target. */
int hib_initramfs_map_state(const char *target, const struct khib_blockmap *map, bool mapped)
{
	_cleanup_free_ char *now = NULL, *then = NULL;
	int r;

	if (access(KHIB_INITRAMFS_HOOK, F_OK) != 0)
		return HIB_MAP_NO_HOOK;
	r = khib_read_file(KHIB_INITRAMFS_MAP, 1 << 24, &then, NULL);
	if (r == -ENOENT && !mapped)
		return HIB_MAP_CURRENT; /* a partition or disk: opened by path */
	if ((r = khib_targetmap_format(map, target, &now)) < 0)
		return r;
	if (!then)
		return HIB_MAP_MISSING;
	return strcmp(now, then) ? HIB_MAP_STALE : HIB_MAP_CURRENT;
}

int hib_check_initramfs_map(const char *target, const struct khib_preflight *pf)
{
	int r = hib_initramfs_map_state(target, &pf->map, pf->extmap);

	if (r < 0)
		return khib_err_errno(r, "target '%s': making its target map", target);
	if (r == HIB_MAP_NO_HOOK || r == HIB_MAP_CURRENT)
		return 0;
	khib_err("target '%s': the initramfs %s (%s); run update-initramfs -u first", target,
		 r == HIB_MAP_STALE ? "looks for the image elsewhere" : "does not know where it lies",
		 r == HIB_MAP_STALE ? KHIB_INITRAMFS_MAP " differs from 'khib target --map'" :
		 "no " KHIB_INITRAMFS_MAP);
	return 1;
}

/* The target must hold the worst case: every saved page incompressible. */
int hib_check_capacity(const char *target, const struct khib_handoff *h, uint64_t cap)
{
	_cleanup_free_ struct khib_range *ranges = NULL;
	size_t n;
	uint64_t total, need;
	int r;

	r = khib_save_ranges(h, &ranges, &n, &total);
	if (r < 0)
		return khib_err_errno(r, "computing the memory to save");
	r = khib_image_max_bytes(ranges, n, 0, h->vmcoreinfo_bytes, &need);
	if (r < 0)
		return khib_err_errno(r, "computing the worst-case image size");
	if (cap < need) {
		khib_err("target '%s' holds %" PRIu64 " MiB; the image may need %" PRIu64 " MiB",
			 target, cap >> 20, (need + (1 << 20) - 1) >> 20);
		return 1;
	}
	return 0;
}

int hib_check_owned(const char *target, bool force)
{
	char what[128] = "";
	int r = khib_preflight_owned(target, what, sizeof(what));

	if (r == -EEXIST && force) {
		khib_info("target '%s' holds %s: overwriting it (--force)", target, what);
		return 0;
	}
	if (r == -EEXIST) {
		khib_err("target '%s' holds %s: not overwriting it (wipe it with wipefs, or give "
			 "--force)", target, what);
		return 1;
	}
	if (r < 0)
		return khib_err_errno(r, "target '%s': looking for what it holds", target);
	return 0;
}

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

