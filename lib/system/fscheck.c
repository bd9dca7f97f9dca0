/* SPDX-License-Identifier: GPL-2.0-only */
#include "fscheck.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fileio.h"
#include "util.h"

/* The first bytes of a block device as they are on the disk: O_DIRECT past
 * the page cache, where the mounting kernel may hold newer bytes than the
 * disk does (files in the unit tests take the plain read). */
static int read_super(const char *path, uint8_t buf[KHIB_FSSTAMP_READ_BYTES])
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_DIRECT);

	if (fd < 0 && errno == EINVAL)
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return khib_pread_all(fd, buf, KHIB_FSSTAMP_READ_BYTES, 0);
}

static bool is_ext(const char *fstype)
{
	return !strcmp(fstype, "ext2") || !strcmp(fstype, "ext3") || !strcmp(fstype, "ext4");
}

/* A file system on a block device: its source names one, and it is not FUSE
 * (whose /dev/fuse is no disk). */
static bool on_block_device(const struct khib_mountinfo_entry *m)
{
	return !strncmp(m->source, "/dev/", 5) && strncmp(m->fstype, "fuse", 4);
}

/* root/dev/NAME of a device number, NAME from sysfs (DEVNAME=). */
static int device_path(const char *root, uint64_t dev, char *path, size_t n)
{
	_cleanup_free_ char *uevent = NULL;
	char rel[64];
	const char *name;
	size_t len;
	int r;

	snprintf(rel, sizeof(rel), "/sys/dev/block/%u:%u/uevent", major(dev), minor(dev));
	if ((r = khib_read_root_file(root, rel, &uevent)) < 0)
		return r;
	name = strstr(uevent, "DEVNAME=");
	if (!name)
		return -ENODEV;
	name += 8;
	len = strcspn(name, "\n");
	if ((size_t)snprintf(path, n, "%s/dev/%.*s", root, (int)len, name) >= n)
		return -ENAMETOOLONG;
	return 0;
}

static bool recorded(const struct khib_fsstamp *st, size_t n, uint64_t dev)
{
	for (size_t i = 0; i < n; i++)
		if (st[i].dev == dev)
			return true;
	return false;
}

static void append(char *list, size_t bytes, const char *item)
{
	size_t used = strlen(list);

	snprintf(list + used, bytes - used, "%s%s", used ? ", " : "", item);
}

static int stamp_of(const char *root, const struct khib_mountinfo_entry *m,
		    struct khib_fsstamp *st, char *reason)
{
	uint8_t buf[KHIB_FSSTAMP_READ_BYTES] __attribute__((aligned(4096)));
	char path[4096];
	int r;

	if ((r = device_path(root, m->dev, path, sizeof(path))) < 0)
		return khib_fail(reason, r, "finding the device of '%s' (%u:%u)", m->where,
				 major(m->dev), minor(m->dev));
	if ((r = read_super(path, buf)) < 0)
		return khib_fail(reason, r, "reading the superblock of '%s' on '%s'", m->where, path);
	if (khib_fsstamp_from_ext(buf, sizeof(buf), st) < 0)
		return khib_fail(reason, -EMEDIUMTYPE, "'%s' is mounted as %s but '%s' holds no "
				 "ext superblock", m->where, m->fstype, path);
	st->dev = m->dev;
	snprintf(st->where, sizeof(st->where), "%s", m->where);
	return 0;
}

int khib_fs_record(const char *root, struct khib_fsstamp *ret, size_t max, size_t *ret_n,
		   char *unchecked, size_t unchecked_bytes, char *reason)
{
	_cleanup_free_ char *text = NULL;
	struct khib_mountinfo_entry m;
	size_t n = 0;
	int r;

	if ((r = khib_read_root_file(root, "/proc/self/mountinfo", &text)) < 0)
		return khib_fail(reason, r, "reading '/proc/self/mountinfo'");
	if (unchecked_bytes)
		unchecked[0] = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (khib_mountinfo_parse_line(line, &m) < 0 || !on_block_device(&m))
			continue;
		if (!is_ext(m.fstype)) {
			append(unchecked, unchecked_bytes, m.where);
			continue;
		}
		if (recorded(ret, n, m.dev))
			continue;
		if (n == max)
			return khib_fail(reason, -E2BIG, "more than %zu ext2/3/4 file systems are "
					 "mounted", max);
		if ((r = stamp_of(root, &m, &ret[n], reason)) < 0)
			return r;
		n++;
	}
	*ret_n = n;
	return 0;
}

/* Compare one recorded file system with every device of this boot that
 * carries its UUID (a cloned disk may carry it twice: any change counts). */
static int check_one(const char *root, const char *partitions, const struct khib_fsstamp *then,
		     bool *found, char *reason)
{
	uint8_t buf[KHIB_FSSTAMP_READ_BYTES] __attribute__((aligned(4096)));
	char name[64], path[4096], what[96], uuid[37];
	struct khib_fsstamp now;
	const char *p = partitions;
	unsigned maj, min;
	unsigned long long blocks;

	*found = false;
	while ((p = strchr(p, '\n'))) {
		p++;
		if (sscanf(p, "%u %u %llu %63s", &maj, &min, &blocks, name) != 4)
			continue;
		snprintf(path, sizeof(path), "%s/dev/%s", root, name);
		if (read_super(path, buf) < 0 || khib_fsstamp_from_ext(buf, sizeof(buf), &now) < 0 ||
		    memcmp(now.uuid, then->uuid, sizeof(now.uuid)))
			continue;
		*found = true;
		if (khib_fsstamp_changed(then, &now, what, sizeof(what))) {
			khib_fsstamp_uuid_str(then->uuid, uuid);
			return khib_fail(reason, -ESTALE, "the ext file system mounted at '%s' (UUID %s, "
					 "now on '/dev/%s') was %s: resuming would corrupt it",
					 then->where, uuid, name, what);
		}
	}
	return 0;
}

int khib_fs_check(const char *root, const struct khib_fsstamp *st, size_t n, char *missing,
		  size_t missing_bytes, char *reason)
{
	_cleanup_free_ char *partitions = NULL;
	bool found;
	int r;

	if (missing_bytes)
		missing[0] = 0;
	if (!n)
		return 0;
	if ((r = khib_read_root_file(root, "/proc/partitions", &partitions)) < 0)
		return khib_fail(reason, r, "reading '/proc/partitions'");
	for (size_t i = 0; i < n; i++) {
		if ((r = check_one(root, partitions, &st[i], &found, reason)) < 0)
			return r;
		if (!found)
			append(missing, missing_bytes, st[i].where);
	}
	return 0;
}
