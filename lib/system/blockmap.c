/* SPDX-License-Identifier: GPL-2.0-only */
#include "blockmap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "crypt.h"
#include "dmtable.h"
#include "fileio.h"
#include "targetdev.h"
#include "util.h"

#define MAX_DEPTH 16
#define SECTOR 512u

#ifndef XFS_SUPER_MAGIC
#define XFS_SUPER_MAGIC 0x58465342
#endif
#ifndef F2FS_SUPER_MAGIC
#define F2FS_SUPER_MAGIC 0xF2F52010
#endif

const struct khib_blockenv khib_blockenv_system = {
	.root = "",
	.dm_table = khib_dm_table_read,
};

/* One device on the way down, from its sysfs directory. */
struct layer {
	char sys[PATH_MAX];	/* realpath of /sys/dev/block/M:m */
	const char *name;	/* its last component: the kernel's name */
};

static int layer_open(const struct khib_blockenv *env, unsigned maj, unsigned min,
		      struct layer *l)
{
	char link[PATH_MAX];

	snprintf(link, sizeof(link), "%s/sys/dev/block/%u:%u", env->root, maj, min);
	if (!realpath(link, l->sys))
		return -errno;
	l->name = strrchr(l->sys, '/') + 1;
	return 0;
}

/* sys/what; false when it does not fit. */
static bool layer_path(const char *sys, const char *what, char *p)
{
	int n = snprintf(p, PATH_MAX, "%s/%s", sys, what);

	return n > 0 && n < PATH_MAX;
}

static bool layer_has(const char *sys, const char *what)
{
	char p[PATH_MAX];

	return layer_path(sys, what, p) && access(p, F_OK) == 0;
}

static int layer_attr(const char *sys, const char *what, char *buf, size_t n)
{
	char p[PATH_MAX];

	return layer_path(sys, what, p) ? khib_read_attr(p, buf, n) : -ENAMETOOLONG;
}

static int layer_u64(const char *sys, const char *what, uint64_t *ret)
{
	char buf[32];
	int r = layer_attr(sys, what, buf, sizeof(buf));

	return r < 0 ? r : khib_parse_size(buf, ret);
}

/* "NAME" or "NAME (DETAIL)" at the end of the stack's description
 * (cut short if it grows long: it is for messages). */
static void stack_add(struct khib_blockmap *m, const char *name, const char *detail)
{
	size_t len = strlen(m->stack);
	int w = snprintf(m->stack + len, sizeof(m->stack) - len, "%s%s%s%s%s", len ? " on " : "",
			 name, detail ? " (" : "", detail ? detail : "", detail ? ")" : "");

	(void)w;
}

/* The segment that holds byte `at` of the mapped device, or nseg: the
 * segments are sorted and contiguous from 0 (lib/format/dmtable.h). */
static size_t find_segment(const struct khib_dm_segment *seg, size_t nseg, uint64_t at)
{
	size_t lo = 0, hi = nseg;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if ((seg[mid].start + seg[mid].sectors) * SECTOR <= at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Carry m->ext through the segments of a dm table onto the one device
 * below them. */
static int map_segments(struct khib_blockmap *m, const struct khib_dm_segment *seg, size_t nseg,
			const char *name, const char *dmname, unsigned *maj, unsigned *min,
			char *reason)
{
	_cleanup_free_ struct khib_extent *v = NULL;
	size_t n = 0, cap = 0;
	bool have_dev = false;

	for (size_t i = 0; i < m->n; i++) {
		uint64_t logical = m->ext[i].logical, at = m->ext[i].physical;
		uint64_t left = m->ext[i].length;

		while (left) {
			/* Extents come in image order, not device order. */
			size_t s = find_segment(seg, nseg, at);

			if (s == nseg)
				return khib_fail(reason, -ERANGE, "%s (%s): the target reaches past "
						 "its table", name, dmname);
			const struct khib_dm_segment *g = &seg[s];
			if (!g->follows)
				return khib_fail(reason, -EOPNOTSUPP, "%s (%s): device-mapper target "
						 "'%s' does not map sectors one to one (khib "
						 "follows linear and crypt)", name, dmname, g->type);
			if (have_dev && (g->major != *maj || g->minor != *min))
				return khib_fail(reason, -EXDEV, "%s (%s): the target spans two "
						 "devices below it (%u:%u and %u:%u)", name, dmname,
						 *maj, *min, g->major, g->minor);
			*maj = g->major;
			*min = g->minor;
			have_dev = true;
			m->below_crypt |= g->crypt;
			uint64_t end = (g->start + g->sectors) * SECTOR;
			uint64_t take = end - at < left ? end - at : left;
			uint64_t below = g->offset * SECTOR + (at - g->start * SECTOR);
			int r = khib_extent_append(&v, &n, &cap, logical, below, take);
			if (r < 0)
				return r;
			logical += take;
			at += take;
			left -= take;
		}
	}
	free(m->ext);
	m->ext = TAKE_PTR(v);
	m->n = n;
	return 0;
}

/* A device-mapper layer: its table, and the extents carried through it. */
static int follow_dm(const struct khib_blockenv *env, struct khib_blockmap *m,
		     const struct layer *l, unsigned *maj, unsigned *min, char *reason)
{
	_cleanup_free_ struct khib_dm_segment *seg = NULL;
	char dmname[128] = "?", types[64] = "";
	char *text = NULL;
	size_t nseg;
	int r;

	layer_attr(l->sys, "dm/name", dmname, sizeof(dmname));
	if ((r = env->dm_table(env->ctx, *maj, *min, &text)) < 0)
		return khib_fail(reason, r, "%s (%s): reading its device-mapper table: %s", l->name,
				 dmname, strerror(-r));
	char why[KHIB_REASON_MAX] = "malformed";
	r = khib_dm_table_parse(text, &seg, &nseg, why);
	/* SECURITY: a crypt table can hold the volume key in hex. */
	khib_wipe(text, strlen(text));
	free(text);
	if (r < 0)
		return khib_fail(reason, r, "%s (%s): its device-mapper table: %s", l->name, dmname,
				 why);
	r = map_segments(m, seg, nseg, l->name, dmname, maj, min, reason);
	if (r < 0)
		return r;
	snprintf(types, sizeof(types), "%s", seg[0].type);
	for (size_t i = 1; i < nseg; i++)
		if (strcmp(seg[i].type, seg[0].type)) {
			snprintf(types, sizeof(types), "%s, ...", seg[0].type);
			break;
		}
	char label[200];
	snprintf(label, sizeof(label), "%.127s: %.63s", dmname, types);
	stack_add(m, l->name, label);
	return 0;
}

/* A device khib does not write beneath: why, or 0 for a disk or partition. */
static int refuse_layer(const struct layer *l, char *reason)
{
	char what[PATH_MAX];

	if (layer_has(l->sys, "md")) {
		if (layer_attr(l->sys, "md/level", what, sizeof(what)) < 0)
			snprintf(what, sizeof(what), "unknown level");
		return khib_fail(reason, -EOPNOTSUPP, "%s: md RAID (%s): not one disk khib can "
				 "write beneath", l->name, what);
	}
	if (layer_has(l->sys, "loop")) {
		if (layer_attr(l->sys, "loop/backing_file", what, sizeof(what)) < 0)
			snprintf(what, sizeof(what), "a file");
		return khib_fail(reason, -EOPNOTSUPP, "%s: a loop device (over %s): its sectors are "
				 "a file's, which the writer kernel cannot reach", l->name, what);
	}
	if (strstr(l->sys, "/devices/virtual/"))
		return khib_fail(reason, -EOPNOTSUPP, "%s: a virtual block device with no disk "
				 "below it that khib knows", l->name);
	return 0;
}

/* The unit serial number in the SCSI VPD page 0x80 at `path` (binary:
 * a 4-byte header whose bytes 2-3 give the length, then ASCII padded
 * with spaces); -EINVAL when the page holds no printable serial. */
static int vpd_serial(const char *path, char *id, size_t n)
{
	_cleanup_free_ char *page = NULL;
	size_t len, start = 4, end;
	int r = khib_read_file(path, 4096, &page, &len);

	if (r < 0)
		return r;
	if (len < 4 || (uint8_t)page[1] != 0x80)
		return -EINVAL;
	end = 4 + ((size_t)(uint8_t)page[2] << 8 | (uint8_t)page[3]);
	if (end > len)
		end = len;
	while (start < end && page[start] == ' ')
		start++;
	while (end > start && (page[end - 1] == ' ' || page[end - 1] == '\0'))
		end--;
	if (start == end || end - start >= n)
		return -EINVAL;
	for (size_t i = start; i < end; i++)
		if (page[i] < 0x20 || page[i] > 0x7e)
			return -EINVAL;
	memcpy(id, page + start, end - start);
	id[end - start] = '\0';
	return 0;
}

/* The identity of the disk at sysfs directory `disk`: the first of its
 * WWID (NVMe namespaces; SCSI and SATA disks from their VPD page 0x83),
 * its serial (virtio-blk, when one is set) and the unit serial of SCSI
 * VPD page 0x80 (a disk whose page 0x83 holds only a vendor-specific
 * designator, which the kernel does not make a WWID of: QEMU's scsi-hd
 * without a wwn); "" when it has none. */
static void disk_identity(const char *disk, char *id, size_t n)
{
	static const char *const attrs[] = { "wwid", "device/wwid", "serial", "device/serial" };
	char p[PATH_MAX];

	id[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(attrs); i++)
		if (layer_attr(disk, attrs[i], id, n) == 0 && id[0])
			return;
	if (layer_path(disk, "device/vpd_pg80", p) && vpd_serial(p, id, n) == 0)
		return;
	id[0] = '\0';
}

/* The identity of the partition or disk at sysfs directory sys. */
static void identify(const char *sys, char *id, size_t n, uint32_t *part)
{
	char disk[PATH_MAX];
	uint64_t v = 0;

	snprintf(disk, sizeof(disk), "%s", sys);
	*part = 0;
	if (layer_has(sys, "partition")) {
		*strrchr(disk, '/') = '\0';
		if (layer_u64(sys, "partition", &v) == 0 && v <= UINT32_MAX)
			*part = (uint32_t)v;
	}
	disk_identity(disk, id, n);
}

/* Does the device at sysfs directory sys have this identity and size? */
static bool same_device(const char *sys, const char *id, uint32_t part, uint64_t bytes)
{
	char got[KHIB_BLOCKMAP_ID_LEN];
	uint64_t sectors;
	uint32_t p;

	identify(sys, got, sizeof(got), &p);
	return !strcmp(got, id) && p == part && layer_u64(sys, "size", &sectors) == 0 &&
	       sectors * SECTOR == bytes;
}

int khib_blockmap_find(const struct khib_blockenv *env, const char *id, uint32_t part,
		       uint64_t bytes, char *name, size_t n)
{
	char dir[PATH_MAX], link[PATH_MAX], sys[PATH_MAX], first[PATH_MAX] = "";
	int found = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/sys/dev/block", env->root);
	if (!(d = opendir(dir)))
		return -errno;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		if (!layer_path(dir, e->d_name, link) || !realpath(link, sys) ||
		    !same_device(sys, id, part, bytes))
			continue;
		if (!found++)
			memcpy(first, sys, sizeof(first));
	}
	closedir(d);
	if (found != 1)
		return found ? -ENOTUNIQ : -ENODEV;
	const char *base = strrchr(first, '/') + 1;
	if (strlen(base) >= n)
		return -ENAMETOOLONG;
	snprintf(name, n, "%s", base);
	return 0;
}

/* The partition or disk where the way down ends. */
static int finish(const struct layer *l, unsigned maj, unsigned min, struct khib_blockmap *m,
		  char *reason)
{
	uint64_t sectors;
	int r;

	if (layer_has(l->sys, "partition")) {
		struct layer disk = *l;

		*strrchr(disk.sys, '/') = '\0';
		disk.name = strrchr(disk.sys, '/') + 1;
		if ((r = refuse_layer(&disk, reason)) < 0)
			return r;
	} else if ((r = refuse_layer(l, reason)) < 0) {
		return r;
	}
	if ((r = layer_u64(l->sys, "size", &sectors)) < 0)
		return khib_fail(reason, r, "%s: reading its size from sysfs", l->name);
	if (strlen(l->name) >= sizeof(m->name))
		return khib_fail(reason, -ENAMETOOLONG, "%s: name too long", l->name);
	snprintf(m->name, sizeof(m->name), "%s", l->name);
	identify(l->sys, m->id, sizeof(m->id), &m->part);
	m->dev = makedev(maj, min);
	m->bytes = sectors * SECTOR;
	for (size_t i = 0; i < m->n; i++) {
		if (!khib_range_within(m->ext[i].physical, m->ext[i].length, m->bytes))
			return khib_fail(reason, -ERANGE, "%s: the target reaches past its end",
					 l->name);
		if (!IS_ALIGNED(m->ext[i].physical | m->ext[i].length, (uint64_t)KHIB_TARGET_BLOCK))
			return khib_fail(reason, -EINVAL, "%s: the target's blocks are not 4 KiB "
					 "aligned on it", l->name);
	}
	if (m->n > KHIB_TARGET_MAX_EXTENTS)
		return khib_fail(reason, -E2BIG, "%s: the target lies in %zu pieces (at most %d): "
				 "make it again in one go", l->name, m->n, KHIB_TARGET_MAX_EXTENTS);
	stack_add(m, l->name, NULL);
	return 0;
}

int khib_blockmap_resolve(const struct khib_blockenv *env, unsigned major, unsigned minor,
			  const struct khib_extent *ext, size_t n, struct khib_blockmap *ret,
			  char *reason)
{
	struct khib_blockmap m = { 0 };
	struct layer l;
	int r;

	if (n) {
		if (!(m.ext = malloc(n * sizeof(*ext))))
			return -ENOMEM;
		memcpy(m.ext, ext, n * sizeof(*ext));
		m.n = n;
	}
	for (int depth = 0;; depth++) {
		if (depth == MAX_DEPTH) {
			r = khib_fail(reason, -ELOOP, "more than %d layers of devices", MAX_DEPTH);
			break;
		}
		if ((r = layer_open(env, major, minor, &l)) < 0) {
			r = khib_fail(reason, r, "device %u:%u: not in /sys/dev/block", major, minor);
			break;
		}
		if (!layer_has(l.sys, "dm")) {
			r = finish(&l, major, minor, &m, reason);
			break;
		}
		if (!m.n) {
			uint64_t sectors;

			if ((r = layer_u64(l.sys, "size", &sectors)) < 0) {
				r = khib_fail(reason, r, "%s: reading its size from sysfs", l.name);
				break;
			}
			if (!(m.ext = malloc(sizeof(*m.ext)))) {
				r = -ENOMEM;
				break;
			}
			m.ext[0] = (struct khib_extent){ 0, 0, sectors * SECTOR };
			m.n = 1;
		}
		if ((r = follow_dm(env, &m, &l, &major, &minor, reason)) < 0)
			break;
	}
	if (r < 0) {
		khib_blockmap_release(&m);
		return r;
	}
	*ret = m;
	return 0;
}

int khib_blockmap_fs_supported(long f_type, char *reason)
{
	switch ((unsigned long)f_type) {
	case EXT4_SUPER_MAGIC: /* ext2, ext3 and ext4 alike */
	case XFS_SUPER_MAGIC:
		return 0;
	case BTRFS_SUPER_MAGIC:
		return khib_fail(reason, -EOPNOTSUPP, "btrfs: its FIEMAP addresses are its own "
				 "logical addresses, not disk sectors");
	case F2FS_SUPER_MAGIC:
		return khib_fail(reason, -EOPNOTSUPP, "f2fs: it moves blocks of files that are not "
				 "pinned");
	case TMPFS_MAGIC:
	case RAMFS_MAGIC:
		return khib_fail(reason, -EOPNOTSUPP, "a file system in memory");
	case NFS_SUPER_MAGIC:
		return khib_fail(reason, -EOPNOTSUPP, "a network file system");
	default:
		return khib_fail(reason, -EOPNOTSUPP, "file system type 0x%lx: khib writes beneath "
				 "ext2/3/4 and xfs only", (unsigned long)f_type);
	}
}

int khib_blockmap_file(const struct khib_blockenv *env, const char *path,
		       struct khib_blockmap *ret, char *reason)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_free_ struct khib_extent *ext = NULL;
	struct statfs sfs;
	size_t n;
	dev_t dev;
	int flags = 0, r;

	if (fd < 0)
		return khib_fail(reason, -errno, "opening it: %s", strerror(errno));
	if (fstatfs(fd, &sfs) < 0)
		return khib_fail(reason, -errno, "statfs: %s", strerror(errno));
	if ((r = khib_blockmap_fs_supported(sfs.f_type, reason)) < 0)
		return r;
	/* The file system moves (e4defrag, xfs_fsr), frees or writes no block
	 * of an immutable file; nothing else pins them. */
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
		return khib_fail(reason, -errno, "reading its attributes: %s", strerror(errno));
	if (!(flags & FS_IMMUTABLE_FL))
		return khib_fail(reason, -EPERM, "not immutable, so its file system may still move "
				 "its blocks (chattr +i it)");
	if ((r = khib_target_fiemap(path, &ext, &n, &dev)) < 0)
		return khib_fail(reason, r, "mapping its extents (it must be fully allocated, e.g. "
				 "by fallocate): %s", strerror(-r));
	if ((r = khib_blockmap_resolve(env, major(dev), minor(dev), ext, n, ret, reason)) < 0)
		return r;
	char fs[16];
	snprintf(fs, sizeof(fs), "%s", sfs.f_type == XFS_SUPER_MAGIC ? "xfs" : "ext4");
	char stack[KHIB_BLOCKMAP_STACK_LEN];
	int w = snprintf(stack, sizeof(stack), "a file on %s on %.290s", fs, ret->stack);
	(void)w;
	memcpy(ret->stack, stack, sizeof(stack));
	return 0;
}

int khib_blockmap_path(const char *path, struct khib_blockmap *ret, char *reason)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return khib_fail(reason, -errno, "%s", strerror(errno));
	if (S_ISREG(st.st_mode))
		return khib_blockmap_file(&khib_blockenv_system, path, ret, reason);
	if (!S_ISBLK(st.st_mode))
		return khib_fail(reason, -ENOTBLK, "not a regular file or block device");
	return khib_blockmap_resolve(&khib_blockenv_system, major(st.st_rdev), minor(st.st_rdev),
				     NULL, 0, ret, reason);
}

static bool immutable_file(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	int flags = 0;

	return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	       ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_IMMUTABLE_FL);
}

/* A device-mapper device (st of its node): its bytes are the ones
 * beneath it only in ciphertext, if there is dm-crypt on the way. */
static bool dm_device(const struct stat *st)
{
	char sys[PATH_MAX];

	if (!S_ISBLK(st->st_mode))
		return false;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/dm", major(st->st_rdev),
		 minor(st->st_rdev));
	return access(sys, F_OK) == 0;
}

/* /dev/NAME, or its extents, of a resolved map; dev gets the path. */
static int open_device(const struct khib_blockmap *m, unsigned flags, char *dev, size_t n,
		       struct khib_target **ret)
{
	snprintf(dev, n, "/dev/%s", m->name);
	return m->n ? khib_target_open_extents(dev, m->ext, m->n, flags, ret) :
		      khib_target_open(dev, flags, ret);
}

int khib_blockmap_open(const char *path, unsigned flags, struct khib_target **ret, char *reason)
{
	struct khib_blockmap m;
	char dev[16 + KHIB_BLOCKMAP_NAME_LEN];
	struct stat st;
	int r;

	if (immutable_file(path)) {
		r = khib_blockmap_file(&khib_blockenv_system, path, &m, reason);
	} else if (stat(path, &st) == 0 && dm_device(&st)) {
		r = khib_blockmap_resolve(&khib_blockenv_system, major(st.st_rdev),
					  minor(st.st_rdev), NULL, 0, &m, reason);
	} else {
		r = khib_target_open(path, flags, ret);
		/* khib_open_input()'s -ENOTBLK covers FIFOs, sockets and
		 * character devices too: say what it means. */
		return r < 0 ? khib_fail(reason, r, "%s", r == -ENOTBLK ? "not a regular file or "
					 "block device" : strerror(-r)) : 0;
	}
	if (r < 0)
		return r;
	r = open_device(&m, flags, dev, sizeof(dev), ret);
	khib_blockmap_release(&m);
	return r < 0 ? khib_fail(reason, r, "opening '%s' beneath it: %s", dev, strerror(-r)) : 0;
}

int khib_blockmap_open_map(const struct khib_blockenv *env, const struct khib_blockmap *m,
			   unsigned flags, struct khib_target **ret, char *ret_name,
			   char *reason)
{
	struct khib_blockmap found = *m;
	char dev[16 + KHIB_BLOCKMAP_NAME_LEN];
	uint64_t bytes;
	int r;

	if (m->id[0] && (r = khib_blockmap_find(env, m->id, m->part, m->bytes, found.name,
						sizeof(found.name))) < 0)
		return khib_fail(reason, r, r == -ENODEV ? "no disk %s with partition %" PRIu32
				 " of %" PRIu64 " bytes" : "disk %s, partition %" PRIu32 ", %"
				 PRIu64 " bytes: more than one device is it", m->id, m->part, m->bytes);
	/* A name from another kernel's handoff is a name under /dev, no path. */
	if (!found.name[0] || strchr(found.name, '/') || found.name[0] == '.')
		return khib_fail(reason, -EINVAL, "'%s' is no device name", found.name);
	snprintf(dev, sizeof(dev), "/dev/%s", found.name);
	if ((r = khib_blockdev_size(dev, &bytes)) < 0)
		return khib_fail(reason, r == -ENOENT ? -ENODEV : r, "%s: %s", dev, strerror(-r));
	/* Another disk under the same name is never read or written. */
	if (bytes != m->bytes)
		return khib_fail(reason, -EMEDIUMTYPE, "%s holds %" PRIu64 " bytes, the map says %"
				 PRIu64, dev, bytes, m->bytes);
	r = open_device(&found, flags, dev, sizeof(dev), ret);
	if (r < 0)
		return khib_fail(reason, r, "opening %s: %s", dev, strerror(-r));
	if (ret_name)
		memcpy(ret_name, found.name, sizeof(found.name));
	return 0;
}

/* ---- the running system's device-mapper tables ---- */

static void wipe_free(struct dm_ioctl *io)
{
	if (io) {
		khib_wipe(io, io->data_size);
		free(io);
	}
}

/* DM_TABLE_STATUS of dev into a buffer of `size` bytes; 1 when it did not
 * fit. */
static int dm_status(int fd, dev_t dev, size_t size, struct dm_ioctl **ret)
{
	struct dm_ioctl *io = calloc(1, size);

	if (!io)
		return -ENOMEM;
	io->version[0] = DM_VERSION_MAJOR;
	io->data_size = (uint32_t)size;
	io->data_start = sizeof(*io);
	io->dev = dev;
	io->flags = DM_STATUS_TABLE_FLAG;
	if (ioctl(fd, DM_TABLE_STATUS, io) < 0) {
		int r = -errno;

		wipe_free(io);
		return r;
	}
	*ret = io;
	return io->flags & DM_BUFFER_FULL_FLAG ? 1 : 0;
}

/* The targets of a status reply as text lines. */
static int dm_text(const struct dm_ioctl *io, char **ret)
{
	const char *base = (const char *)io + io->data_start, *end = (const char *)io + io->data_size;
	size_t cap = io->data_size + 64 * (size_t)io->target_count + 1, len = 0;
	char *text = calloc(1, cap);
	uint32_t off = 0;

	if (!text)
		return -ENOMEM;
	for (uint32_t i = 0; i < io->target_count; i++) {
		const struct dm_target_spec *t = (const void *)(base + off);
		const char *params = (const char *)(t + 1);

		if ((const char *)(t + 1) > end || !memchr(params, '\0', (size_t)(end - params)))
			break;
		int w = snprintf(text + len, cap - len, "%llu %llu %.*s %s\n",
				 (unsigned long long)t->sector_start, (unsigned long long)t->length,
				 DM_MAX_TYPE_NAME, t->target_type, params);
		if (w < 0 || (size_t)w >= cap - len)
			break;
		len += (size_t)w;
		/* In a status reply, `next` counts from the first target. */
		off = t->next;
	}
	*ret = text;
	return 0;
}

int khib_dm_table_read(void *ctx, unsigned major, unsigned minor, char **ret)
{
	_cleanup_close_ int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	struct dm_ioctl *io = NULL;
	size_t size = 16384;
	int r;

	(void)ctx;
	if (fd < 0)
		return -errno;
	while ((r = dm_status(fd, makedev(major, minor), size, &io)) == 1 && size < (16u << 20)) {
		wipe_free(io);
		io = NULL;
		size *= 4;
	}
	if (r == 0)
		r = dm_text(io, ret);
	else if (r == 1)
		r = -E2BIG;
	wipe_free(io);
	return r;
}
