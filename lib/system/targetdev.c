/* SPDX-License-Identifier: GPL-2.0-only */
#include "targetdev.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "util.h"

/* ---- file descriptors ---- */

struct fd_ctx {
	int fd;
};

static ssize_t fd_pwrite(void *ctx, const void *buf, size_t len, uint64_t offset)
{
	ssize_t r = pwrite(((struct fd_ctx *)ctx)->fd, buf, len, (off_t)offset);
	return r < 0 ? -errno : r;
}

static ssize_t fd_pread(void *ctx, void *buf, size_t len, uint64_t offset)
{
	ssize_t r = pread(((struct fd_ctx *)ctx)->fd, buf, len, (off_t)offset);
	return r < 0 ? -errno : r;
}

static int fd_flush(void *ctx)
{
	/* On a block device this also flushes the disk's volatile cache. */
	return fdatasync(((struct fd_ctx *)ctx)->fd) < 0 ? -errno : 0;
}

static int fd_truncate(void *ctx, uint64_t size)
{
	return ftruncate(((struct fd_ctx *)ctx)->fd, (off_t)size) < 0 ? -errno : 0;
}

static int fd_reserve(void *ctx, uint64_t size)
{
	/* Unwritten extents: no zeroing I/O, only allocation. */
	return fallocate(((struct fd_ctx *)ctx)->fd, 0, 0, (off_t)size) < 0 ? -errno : 0;
}

static void fd_close(void *ctx)
{
	struct fd_ctx *c = ctx;

	closep(&c->fd);
	free(c);
}

static const struct khib_io_ops fd_ops = {
	.pwrite = fd_pwrite,
	.pread = fd_pread,
	.flush = fd_flush,
	.truncate = fd_truncate,
	.reserve = fd_reserve,
	.close = fd_close,
};

/* Open path; report its kind, usable size and direct-I/O alignment. */
static int open_fd(const char *path, unsigned flags, int *ret_fd, enum khib_target_kind *ret_kind,
		   uint64_t *ret_size, uint32_t *ret_align)
{
	int oflags = O_CLOEXEC | ((flags & KHIB_TARGET_WRITE) ? O_RDWR : O_RDONLY);
	_cleanup_close_ int fd = -1;
	struct stat st;
	uint64_t size;
	int ssz = 512;

	if (flags & KHIB_TARGET_CREATE)
		oflags |= O_CREAT | O_TRUNC;
	fd = khib_open_input(path, oflags & ~O_CLOEXEC);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0 || ioctl(fd, BLKSSZGET, &ssz) < 0)
			return -errno;
		if (ssz <= 0 || ssz > (int)KHIB_TARGET_BLOCK || (ssz & (ssz - 1)))
			return -EOPNOTSUPP;
		/* Page cache writes are CPU-bound in a small writer kernel (and
		 * hide errors until fsync): block devices always get O_DIRECT. */
		if (flags & KHIB_TARGET_WRITE) {
			if (fcntl(fd, F_SETFL, O_DIRECT) < 0)
				return -errno;
		} else {
			ssz = 1;
		}
		*ret_kind = KHIB_TARGET_KIND_BLOCK;
		*ret_size = ALIGN_DOWN(size, (uint64_t)KHIB_TARGET_BLOCK);
		*ret_align = (uint32_t)ssz;
	} else { /* a regular file: khib_open_input() lets nothing else through */
		*ret_align = 1;
		if ((flags & KHIB_TARGET_DIRECT) && fcntl(fd, F_SETFL, O_DIRECT) == 0)
			*ret_align = KHIB_TARGET_BLOCK;
		*ret_kind = KHIB_TARGET_KIND_FILE;
		*ret_size = (flags & KHIB_TARGET_CREATE) ? UINT64_MAX : (uint64_t)st.st_size;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int target_from_fd(int fd, enum khib_target_kind kind, uint64_t size, uint32_t align,
			  struct khib_target **ret)
{
	struct fd_ctx *c = malloc(sizeof(*c));
	int r;

	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	r = khib_target_new(&fd_ops, c, size, align, ret);
	if (r < 0) {
		fd_close(c);
		return r;
	}
	khib_target_set_kind(*ret, kind, NULL, 0);
	return 0;
}

int khib_target_open(const char *path, unsigned flags, struct khib_target **ret)
{
	enum khib_target_kind kind = KHIB_TARGET_KIND_FILE;
	uint64_t size = 0;
	uint32_t align = 1;
	int fd = -1, r;

	if ((flags & KHIB_TARGET_CREATE) && !(flags & KHIB_TARGET_WRITE))
		return -EINVAL;
	r = open_fd(path, flags, &fd, &kind, &size, &align);
	if (r < 0)
		return r;
	return target_from_fd(fd, kind, size, align, ret);
}

static int check_extents(const struct khib_extent *e, size_t n, uint64_t device_size,
			 uint64_t *ret_size)
{
	uint64_t next = 0;

	if (!n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (e[i].logical != next || !e[i].length ||
		    !IS_ALIGNED(e[i].physical | e[i].length, (uint64_t)KHIB_TARGET_BLOCK) ||
		    !khib_range_within(e[i].physical, e[i].length, device_size) ||
		    !khib_range_within(next, e[i].length, UINT64_MAX - 1))
			return -EINVAL;
		next += e[i].length;
	}
	*ret_size = next;
	return 0;
}

int khib_target_open_extents(const char *device, const struct khib_extent *extents,
			     size_t n_extents, unsigned flags, struct khib_target **ret)
{
	enum khib_target_kind kind = KHIB_TARGET_KIND_FILE;
	struct khib_target *t;
	uint64_t dev_size = 0, size = 0;
	uint32_t align = 1;
	int fd = -1, r;

	if (flags & KHIB_TARGET_CREATE)
		return -EINVAL;
	r = open_fd(device, flags, &fd, &kind, &dev_size, &align);
	if (r < 0)
		return r;
	r = check_extents(extents, n_extents, dev_size, &size);
	if (r < 0) {
		close(fd);
		return r;
	}
	r = target_from_fd(fd, KHIB_TARGET_KIND_EXTENTS, size, align, &t);
	if (r < 0)
		return r;
	r = khib_target_set_kind(t, KHIB_TARGET_KIND_EXTENTS, extents, n_extents);
	if (r < 0) {
		khib_target_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

/* ---- FIEMAP ---- */

/* Extents whose device bytes are not simply "the file's data, only ours". */
#define FIEMAP_REFUSED (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_ENCODED | \
			FIEMAP_EXTENT_DATA_ENCRYPTED | FIEMAP_EXTENT_NOT_ALIGNED |             \
			FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_DATA_TAIL | FIEMAP_EXTENT_SHARED)
#define FIEMAP_BATCH 128

static int fiemap_append(struct khib_extent **v, size_t *n, size_t *cap, const struct fiemap_extent *fe)
{
	if ((fe->fe_flags & FIEMAP_REFUSED) ||
	    !IS_ALIGNED(fe->fe_logical | fe->fe_physical | fe->fe_length, (uint64_t)KHIB_TARGET_BLOCK))
		return -EOPNOTSUPP;
	if (*n && (*v)[*n - 1].logical + (*v)[*n - 1].length != fe->fe_logical)
		return -EINVAL; /* a hole: writes there would need the file system */
	if (!*n && fe->fe_logical != 0)
		return -EINVAL;
	return khib_extent_append(v, n, cap, fe->fe_logical, fe->fe_physical, fe->fe_length);
}

int khib_target_fiemap(const char *path, struct khib_extent **ret_extents, size_t *ret_n,
		       dev_t *ret_dev)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ struct fiemap *fm = NULL;
	_cleanup_free_ struct khib_extent *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t next = 0, size;
	struct stat st;
	bool last = false;
	int r;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	size = ALIGN_DOWN((uint64_t)st.st_size, (uint64_t)KHIB_TARGET_BLOCK);
	fm = calloc(1, sizeof(*fm) + FIEMAP_BATCH * sizeof(struct fiemap_extent));
	if (!fm)
		return -ENOMEM;
	while (!last && next < size) {
		memset(fm, 0, sizeof(*fm));
		fm->fm_start = next;
		fm->fm_length = size - next;
		fm->fm_flags = FIEMAP_FLAG_SYNC; /* settle delayed allocation first */
		fm->fm_extent_count = FIEMAP_BATCH;
		if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0)
			return -errno;
		if (!fm->fm_mapped_extents)
			break;
		for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
			r = fiemap_append(&v, &n, &cap, &fm->fm_extents[i]);
			if (r < 0)
				return r;
			last = fm->fm_extents[i].fe_flags & FIEMAP_EXTENT_LAST;
		}
		next = v[n - 1].logical + v[n - 1].length;
	}
	if (!n || next < size)
		return -EINVAL;
	/* The last extent may reach past EOF (block rounding): clip it. */
	if (next > size)
		v[n - 1].length -= next - size;
	*ret_extents = TAKE_PTR(v);
	*ret_n = n;
	*ret_dev = st.st_dev;
	return 0;
}

int khib_blockdev_size(const char *path, uint64_t *ret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;
	uint64_t size = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, BLKGETSIZE64, &size) < 0)
		r = -errno;
	close(fd);
	if (r == 0)
		*ret = size;
	return r;
}
