/* SPDX-License-Identifier: GPL-2.0-only */
#include "preflight.h"

#include <blkid/blkid.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

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

/* The /dev name of a block device number, from sysfs. */
static int dev_name(dev_t dev, char *buf, size_t n)
{
	_cleanup_free_ char *uevent = NULL;
	char path[128];
	const char *p;
	int r;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", major(dev), minor(dev));
	r = khib_read_file(path, 65536, &uevent, NULL);
	if (r < 0)
		return r;
	p = strstr(uevent, "DEVNAME=");
	if (!p)
		return -ENODEV;
	p += 8;
	size_t len = strcspn(p, "\n");
	if (len + 1 > n || !len)
		return -ENAMETOOLONG;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return 0;
}

static int describe_device(dev_t dev, struct khib_handoff *h, const char **what)
{
	char path[128];
	int r;

	*what = "finding the target's block device in /sys/dev/block";
	if ((r = dev_name(dev, h->target_name, sizeof(h->target_name))) < 0)
		return r;
	/* The writer kernel finds it under this name; a nested one such as
	 * mapper/x is not something it can open. */
	if (strchr(h->target_name, '/'))
		return -ENODEV;
	h->target_dev = dev;
	snprintf(path, sizeof(path), "/dev/%s", h->target_name);
	*what = "reading the size of the target's block device";
	return khib_blockdev_size(path, &h->target_bytes);
}

static int file_extents(const char *path, struct khib_handoff *h, uint64_t *ret_capacity,
			const char **what)
{
	_cleanup_free_ struct khib_extent *ext = NULL;
	size_t n;
	dev_t dev;
	int r;

	*what = "mapping the target file's extents (it must be fully allocated, e.g. by fallocate)";
	if ((r = khib_target_fiemap(path, &ext, &n, &dev)) < 0)
		return r;
	*what = "recording the target file's extents";
	if (n > KHIB_HANDOFF_MAX_EXTENTS)
		return -E2BIG;
	if ((r = describe_device(dev, h, what)) < 0)
		return r;
	*ret_capacity = 0;
	for (size_t i = 0; i < n; i++) {
		h->extents[i].logical = ext[i].logical;
		h->extents[i].physical = ext[i].physical;
		h->extents[i].length = ext[i].length;
		*ret_capacity += ext[i].length;
	}
	h->nr_extents = (uint32_t)n;
	return 0;
}

int khib_preflight_target(const char *path, struct khib_handoff *h, uint64_t *ret_capacity,
			  const char **ret_what)
{
	struct stat st;
	int r;

	*ret_what = "looking at the target";
	if (stat(path, &st) < 0)
		return -errno;
	*ret_what = "checking that the target is not an active swap area";
	if ((r = is_swap(&st)) != 0)
		return r < 0 ? r : -EBUSY;
	if (S_ISREG(st.st_mode))
		return file_extents(path, h, ret_capacity, ret_what);
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	*ret_what = "checking that the target is not mounted";
	if ((r = dev_mounted(st.st_rdev)) != 0)
		return r < 0 ? r : -EBUSY;
	h->nr_extents = 0;
	if ((r = describe_device(st.st_rdev, h, ret_what)) < 0)
		return r;
	*ret_capacity = h->target_bytes;
	return 0;
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

int khib_preflight_owned(const char *path, char *what, size_t n)
{
	struct khib_target *t;
	enum khib_probe probe;
	int r;

	if ((r = khib_target_open(path, 0, &t)) < 0)
		return r;
	r = khib_target_probe(t, &probe);
	khib_target_free(t);
	if (r < 0)
		return r;
	if (probe == KHIB_PROBE_IMAGE)
		return 0;
	r = blkid_signature(path, what, n);
	if (r < 0)
		return r;
	return r ? -EEXIST : 0;
}
