/* SPDX-License-Identifier: GPL-2.0-only */
#include "preflight.h"

#include <blkid/blkid.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fileio.h"
#include "image.h"
#include "target.h"
#include "util.h"

static bool sysfs_path(unsigned maj, unsigned min, char *buf)
{
	char link[64];

	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", maj, min);
	return realpath(link, buf) != NULL;
}

/* Is dev mounted, or (for a whole disk) one of its partitions?  Field 3 of
 * mountinfo is the device number; a partition's sysfs directory lies inside
 * its disk's. */
static int dev_mounted(dev_t dev)
{
	_cleanup_free_ char *text = NULL;
	char disk[PATH_MAX] = "", part[PATH_MAX];
	bool have_disk = sysfs_path(major(dev), minor(dev), disk);
	size_t dlen = strlen(disk);
	int r;

	r = khib_read_file("/proc/self/mountinfo", 16 << 20, &text, NULL);
	if (r < 0)
		return r;
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		unsigned maj, min;

		if (nl)
			*nl = '\0';
		/* "36 35 98:0 / /mnt ..." */
		if (sscanf(line, "%*u %*u %u:%u", &maj, &min) == 2) {
			if (makedev(maj, min) == dev)
				return 1;
			if (have_disk && sysfs_path(maj, min, part) && !strncmp(part, disk, dlen) &&
			    part[dlen] == '/')
				return 1;
		}
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* Is st (a block device or a file) an active swap area? */
static int is_swap(const struct stat *st)
{
	_cleanup_free_ char *text = NULL;
	int r = khib_read_file("/proc/swaps", 1 << 20, &text, NULL);

	if (r < 0)
		return r == -ENOENT ? 0 : r;
	for (char *line = strchr(text, '\n'); line && line[1];) {
		char name[4096];
		struct stat sw;

		line++;
		if (sscanf(line, "%4095s", name) == 1 && stat(name, &sw) == 0) {
			if (S_ISBLK(st->st_mode) && S_ISBLK(sw.st_mode) && sw.st_rdev == st->st_rdev)
				return 1;
			if (S_ISREG(st->st_mode) && sw.st_dev == st->st_dev && sw.st_ino == st->st_ino)
				return 1;
		}
		line = strchr(line, '\n');
	}
	return 0;
}

/* Fill h and ret from a resolved map. */
static int describe(const struct khib_blockmap *m, struct khib_handoff *h,
		    struct khib_preflight *ret)
{
	snprintf(h->target_name, sizeof(h->target_name), "%s", m->name);
	h->target_dev = m->dev;
	h->target_bytes = m->bytes;
	snprintf(h->target_id, sizeof(h->target_id), "%s", m->id);
	h->target_part = m->part;
	h->nr_extents = (uint32_t)m->n;
	h->extents_hash = 0;
	ret->capacity = m->n ? 0 : m->bytes;
	ret->below_crypt = m->below_crypt;
	memcpy(ret->stack, m->stack, sizeof(ret->stack));
	if (!m->n)
		return 0;
	for (size_t i = 0; i < m->n; i++)
		ret->capacity += m->ext[i].length;
	ret->extmap_bytes = m->n * KHIB_EXTMAP_ENTRY_BYTES;
	if (!(ret->extmap = malloc(ret->extmap_bytes)))
		return -ENOMEM;
	h->extents_hash = khib_extmap_encode(m->ext, m->n, ret->extmap);
	return 0;
}

int khib_preflight_target(const char *path, struct khib_handoff *h, struct khib_preflight *ret,
			  char *reason)
{
	struct khib_preflight p = { 0 };
	struct khib_blockmap m;
	struct stat st;
	int r;

	if (reason)
		reason[0] = '\0';
	if (stat(path, &st) < 0)
		return khib_fail(reason, -errno, "%s", strerror(errno));
	if (S_ISDIR(st.st_mode))
		return khib_fail(reason, -ENOTBLK, "a directory, not a block device or a file");
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return khib_fail(reason, -ENOTBLK, "neither a block device nor a file");
	if ((r = is_swap(&st)) < 0)
		return khib_fail(reason, r, "reading /proc/swaps: %s", strerror(-r));
	if (r)
		return khib_fail(reason, -EBUSY, "an active swap area");
	if (S_ISBLK(st.st_mode)) {
		if ((r = dev_mounted(st.st_rdev)) < 0)
			return khib_fail(reason, r, "reading /proc/self/mountinfo: %s", strerror(-r));
		if (r)
			return khib_fail(reason, -EBUSY, "mounted");
	}
	if ((r = khib_blockmap_path(path, &m, reason)) < 0)
		return khib_fail_or_errno(reason, r);
	r = describe(&m, h, &p);
	p.map = m;
	if (r < 0) {
		khib_preflight_release(&p);
		return khib_fail(reason, r, "no memory for its extent map");
	}
	*ret = p;
	return 0;
}

int khib_preflight_map(const struct khib_blockmap *m, struct khib_handoff *h,
		       struct khib_preflight *ret, char *reason)
{
	struct khib_preflight p = { 0 };
	int r = describe(m, h, &p);

	if (r < 0) {
		khib_preflight_release(&p);
		return khib_fail(reason, r, "no memory for its extent map");
	}
	*ret = p;
	return 0;
}

void khib_preflight_release(struct khib_preflight *p)
{
	if (p) {
		free(p->extmap);
		p->extmap = NULL;
		khib_blockmap_release(&p->map);
	}
}

/* libblkid's verdict on path: 1 and `what` when it recognises something. */
static int blkid_signature(const char *path, char *what, size_t n)
{
	blkid_probe pr = blkid_new_probe_from_filename(path);
	const char *type = NULL, *usage = NULL;
	int r;

	if (!pr)
		return errno ? -errno : -EIO;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
	r = blkid_do_safeprobe(pr);
	if (r == 0) {
		if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0) {
			blkid_probe_lookup_value(pr, "USAGE", &usage, NULL);
			snprintf(what, n, "%s (%s)", type, usage ? usage : "signature");
		} else if (blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL) == 0) {
			snprintf(what, n, "a %s partition table", type);
		} else {
			snprintf(what, n, "a signature libblkid knows");
		}
		r = 1;
	} else if (r == -2) {
		snprintf(what, n, "several signatures");
		r = 1;
	} else if (r == 1) {
		r = 0;
	} else {
		r = -EIO;
	}
	blkid_free_probe(pr);
	return r;
}

int khib_preflight_owned(const char *path, char *reason)
{
	char what[KHIB_REASON_MAX] = "";
	struct khib_target *t;
	enum khib_probe probe;
	int r;

	if ((r = khib_blockmap_open(path, 0, &t, reason)) < 0)
		return r;
	r = khib_target_probe(t, &probe);
	khib_target_free(t);
	if (r < 0)
		return khib_fail(reason, r, "reading its first blocks: %s", strerror(-r));
	if (probe == KHIB_PROBE_IMAGE)
		return 0;
	r = blkid_signature(path, what, sizeof(what));
	if (r < 0)
		return khib_fail(reason, r, "probing it with libblkid: %s", strerror(-r));
	return r ? khib_fail(reason, -EEXIST, "%s", what) : 0;
}

int khib_preflight_check_crypt(const char *target, const struct khib_preflight *pf,
			       bool encrypted, struct khib_check_result *ret)
{
	if (pf->below_crypt && !encrypted)
		return khib_check_set(ret, KHIB_CHECK_FAIL, "enroll a key first (khib key enroll)",
				      "target '%s' lies beneath disk encryption (%s): khib writes "
				      "memory there only in an encrypted image", target, pf->stack);
	return khib_check_set(ret, KHIB_CHECK_OK, NULL, "target '%s'%s", target,
			      pf->below_crypt ? ": beneath disk encryption, and images are "
			      "encrypted" : ": not beneath disk encryption");
}

int khib_preflight_check_map(const char *root, const char *target, const struct khib_preflight *pf,
			     struct khib_check_result *ret)
{
	_cleanup_free_ char *now = NULL, *then = NULL;
	char path[PATH_MAX];
	struct stat st;
	int r;

	snprintf(path, sizeof(path), "%s%s", root, KHIB_INITRAMFS_HOOK);
	if (stat(path, &st) < 0)
		return khib_check_set(ret, KHIB_CHECK_SKIP, NULL, "target '%s': khib's initramfs "
				      "hook is not installed, so no target map to compare", target);
	snprintf(path, sizeof(path), "%s%s", root, KHIB_INITRAMFS_MAP);
	r = khib_read_file(path, 1 << 24, &then, NULL);
	if (r == -ENOENT && !pf->extmap)
		return khib_check_set(ret, KHIB_CHECK_OK, NULL, "target '%s': a partition or "
				      "disk, which the initramfs opens by its name", target);
	if ((r = khib_targetmap_format(&pf->map, target, &now)) < 0)
		return khib_check_set(ret, KHIB_CHECK_FAIL, NULL, "target '%s': making its target "
				      "map: %s", target, strerror(-r));
	if (then && !strcmp(now, then))
		return khib_check_set(ret, KHIB_CHECK_OK, NULL, "target '%s': the initramfs finds "
				      "it by its target map", target);
	return khib_check_set(ret, KHIB_CHECK_FAIL, "run update-initramfs -u first", "target '%s': "
			      "the initramfs %s (%s)", target, then ? "looks for the image "
			      "elsewhere" : "does not know where it lies", then ? KHIB_INITRAMFS_MAP
			      " differs from 'khib target --map'" : "no " KHIB_INITRAMFS_MAP);
}

int khib_preflight_check_capacity(const char *target, const struct khib_handoff *h, uint64_t cap,
				  uint64_t *ret_need, struct khib_check_result *ret)
{
	_cleanup_free_ struct khib_range *ranges = NULL;
	uint64_t total, need;
	size_t n;
	int r;

	if ((r = khib_save_ranges(h, &ranges, &n, &total)) < 0)
		return khib_check_set(ret, KHIB_CHECK_FAIL, NULL, "computing the memory to save: %s",
				      strerror(-r));
	if ((r = khib_image_max_bytes(ranges, n, 0, h->vmcoreinfo_bytes, &need)) < 0)
		return khib_check_set(ret, KHIB_CHECK_FAIL, NULL, "computing the worst-case image "
				      "size: %s", strerror(-r));
	*ret_need = need;
	if (cap < need)
		return khib_check_set(ret, KHIB_CHECK_FAIL, "use a larger target", "target '%s' holds "
				      "%" PRIu64 " MiB; the image may need %" PRIu64 " MiB", target,
				      cap >> 20, (need + (1 << 20) - 1) >> 20);
	return khib_check_set(ret, KHIB_CHECK_OK, NULL, "target '%s' holds %" PRIu64 " MiB; the "
			      "image needs %" PRIu64 " MiB at most", target, cap >> 20,
			      (need + (1 << 20) - 1) >> 20);
}

int khib_preflight_check_owned(const char *target, bool force, struct khib_check_result *ret)
{
	char what[KHIB_REASON_MAX] = "";
	int r = khib_preflight_owned(target, what);

	if (r == -EEXIST && force)
		return khib_check_set(ret, KHIB_CHECK_WARN, NULL, "target '%s' holds %s: "
				      "overwriting it (--force)", target, what);
	if (r == -EEXIST)
		return khib_check_set(ret, KHIB_CHECK_FAIL, NULL, "target '%s' holds %s: not "
				      "overwriting it (wipe it with wipefs, or give --force)", target,
				      what);
	if (r < 0)
		return khib_check_set(ret, KHIB_CHECK_FAIL, NULL, "target '%s': looking for what it "
				      "holds: %s", target, what);
	return khib_check_set(ret, KHIB_CHECK_OK, NULL, "target '%s' holds nothing but khib's",
			      target);
}

int khib_preflight_check(const char *root, const char *target, bool encrypted, bool force,
			 struct khib_handoff *h, struct khib_preflight *ret_pf,
			 struct khib_check_result *ret)
{
	struct khib_preflight pf = { 0 };
	struct khib_check_result warn = { 0 };
	char reason[KHIB_REASON_MAX] = "";
	uint64_t need = 0;
	int r;

	if (khib_preflight_target(target, h, &pf, reason) < 0)
		return khib_check_set(ret, KHIB_CHECK_FAIL, NULL, "target '%s': %s", target, reason);
	if (khib_preflight_check_crypt(target, &pf, encrypted, ret) == KHIB_CHECK_FAIL ||
	    khib_preflight_check_map(root, target, &pf, ret) == KHIB_CHECK_FAIL ||
	    khib_preflight_check_capacity(target, h, pf.capacity, &need, ret) == KHIB_CHECK_FAIL ||
	    (r = khib_preflight_check_owned(target, force, &warn)) == KHIB_CHECK_FAIL) {
		if (warn.level == KHIB_CHECK_FAIL)
			*ret = warn;
		khib_preflight_release(&pf);
		return KHIB_CHECK_FAIL;
	}
	*ret_pf = pf;
	if (r == KHIB_CHECK_WARN) {
		*ret = warn;
		return r;
	}
	return khib_check_set(ret, KHIB_CHECK_OK, NULL, "target '%s': %" PRIu64 " MiB for the "
			      "image on %s, which needs %" PRIu64 " MiB at most%s", target,
			      pf.capacity >> 20, pf.stack, (need + (1 << 20) - 1) >> 20,
			      pf.below_crypt ? " (beneath disk encryption: encrypted)" : "");
}
