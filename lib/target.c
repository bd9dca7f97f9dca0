/* SPDX-License-Identifier: GPL-2.0-only */
#include "target.h"
#include "fileio.h"
#include "util.h"

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

struct khib_target {
	enum khib_target_kind kind;
	const struct khib_io_ops *ops;
	void *ctx;
	uint64_t size;
	uint32_t align;
	bool growable;
	struct khib_extent *extents; /* NULL: logical == device offset */
	size_t n_extents;
};

void *khib_alloc_aligned(size_t size)
{
	void *p = NULL;

	if (posix_memalign(&p, KHIB_TARGET_BLOCK, size ? size : 1))
		return NULL;
	return p;
}

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

/* ---- memory ---- */

struct mem_ctx {
	uint8_t *buf;
	size_t size;
	bool writable;
};

static ssize_t mem_pwrite(void *ctx, const void *buf, size_t len, uint64_t offset)
{
	struct mem_ctx *m = ctx;

	if (!m->writable)
		return -EBADF;
	if (offset >= m->size)
		return -ENOSPC;
	if (len > m->size - offset)
		len = m->size - offset;
	memcpy(m->buf + offset, buf, len);
	return (ssize_t)len;
}

static ssize_t mem_pread(void *ctx, void *buf, size_t len, uint64_t offset)
{
	struct mem_ctx *m = ctx;

	if (offset >= m->size)
		return 0;
	if (len > m->size - offset)
		len = m->size - offset;
	memcpy(buf, m->buf + offset, len);
	return (ssize_t)len;
}

static int mem_flush(void *ctx)
{
	(void)ctx;
	return 0;
}

static const struct khib_io_ops mem_ops = {
	.pwrite = mem_pwrite,
	.pread = mem_pread,
	.flush = mem_flush,
	.close = free,
};

/* ---- construction ---- */

int khib_target_new(const struct khib_io_ops *ops, void *ctx, uint64_t size, uint32_t align,
		    struct khib_target **ret)
{
	struct khib_target *t;

	if (!ops || !ops->pwrite || !ops->pread || !ops->flush || !align ||
	    (align & (align - 1)) || align > KHIB_TARGET_BLOCK)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->kind = KHIB_TARGET_KIND_CUSTOM;
	t->ops = ops;
	t->ctx = ctx;
	t->size = size;
	t->align = align;
	t->growable = size == UINT64_MAX;
	*ret = t;
	return 0;
}

int khib_target_new_memory(void *buf, size_t size, bool writable, struct khib_target **ret)
{
	struct mem_ctx *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	m->buf = buf;
	m->size = size;
	m->writable = writable;
	r = khib_target_new(&mem_ops, m, size, 1, ret);
	if (r < 0) {
		free(m);
		return r;
	}
	(*ret)->kind = KHIB_TARGET_KIND_MEMORY;
	return 0;
}

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
	(*ret)->kind = kind;
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
	t->extents = malloc(n_extents * sizeof(*extents));
	if (!t->extents) {
		khib_target_free(t);
		return -ENOMEM;
	}
	memcpy(t->extents, extents, n_extents * sizeof(*extents));
	t->n_extents = n_extents;
	*ret = t;
	return 0;
}

void khib_target_free(struct khib_target *t)
{
	if (!t)
		return;
	if (t->ops->close)
		t->ops->close(t->ctx);
	free(t->extents);
	free(t);
}

enum khib_target_kind khib_target_kind(const struct khib_target *t) { return t->kind; }
uint64_t khib_target_size(const struct khib_target *t) { return t->size; }
bool khib_target_growable(const struct khib_target *t) { return t->growable; }
uint32_t khib_target_align(const struct khib_target *t) { return t->align; }

/* ---- I/O ---- */

/* Device offset of logical `off` and how many bytes stay contiguous there. */
static int map_offset(const struct khib_target *t, uint64_t off, uint64_t *ret_dev,
		      uint64_t *ret_run)
{
	size_t lo = 0, hi = t->n_extents;

	if (!t->extents) {
		*ret_dev = off;
		*ret_run = UINT64_MAX - off;
		return 0;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct khib_extent *e = &t->extents[mid];

		if (off < e->logical)
			hi = mid;
		else if (off - e->logical >= e->length)
			lo = mid + 1;
		else {
			*ret_dev = e->physical + (off - e->logical);
			*ret_run = e->length - (off - e->logical);
			return 0;
		}
	}
	return -ENOSPC;
}

/* One mapped, retried transfer; `write` selects the direction. */
static int transfer(struct khib_target *t, void *buf, size_t len, uint64_t off, bool write)
{
	uint8_t *p = buf;

	if (!t->growable && !khib_range_within(off, len, t->size))
		return write ? -ENOSPC : -EIO;
	while (len) {
		uint64_t dev, run;
		ssize_t r;
		int q = map_offset(t, off, &dev, &run);

		if (q < 0)
			return q;
		size_t n = len < run ? len : (size_t)run;
		if (write)
			r = t->ops->pwrite(t->ctx, p, n, dev);
		else
			r = t->ops->pread(t->ctx, p, n, dev);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r < 0)
			return (int)r;
		if (r == 0)
			return write ? -ENOSPC : -EIO;
		/* A short O_DIRECT transfer leaves us unaligned: the device or
		 * the ops table misbehaves, give up instead of looping. */
		if (t->align > 1 && !IS_ALIGNED((uint64_t)r, (uint64_t)t->align))
			return -EIO;
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static bool io_aligned(const struct khib_target *t, const void *buf, size_t len, uint64_t off)
{
	uint64_t a = t->align;

	return IS_ALIGNED(off, a) && IS_ALIGNED((uint64_t)len, a) && IS_ALIGNED((uint64_t)(uintptr_t)buf, a);
}

int khib_target_write(struct khib_target *t, const void *buf, size_t len, uint64_t offset)
{
	if (!io_aligned(t, buf, len, offset))
		return -EINVAL;
	return transfer(t, (void *)buf, len, offset, true);
}

int khib_target_read(struct khib_target *t, void *buf, size_t len, uint64_t offset)
{
	_cleanup_free_ uint8_t *bounce = NULL;
	uint64_t start, end;
	int r;

	if (io_aligned(t, buf, len, offset))
		return transfer(t, buf, len, offset, false);
	if (!khib_range_within(offset, len, t->size))
		return -EIO;
	start = ALIGN_DOWN(offset, (uint64_t)t->align);
	end = ALIGN_UP(offset + len, (uint64_t)t->align);
	bounce = khib_alloc_aligned(end - start);
	if (!bounce)
		return -ENOMEM;
	r = transfer(t, bounce, end - start, start, false);
	if (r < 0)
		return r;
	memcpy(buf, bounce + (offset - start), len);
	return 0;
}

int khib_target_flush(struct khib_target *t)
{
	return t->ops->flush(t->ctx);
}

int khib_target_truncate(struct khib_target *t, uint64_t size)
{
	if (!t->growable || !t->ops->truncate)
		return -EOPNOTSUPP;
	return t->ops->truncate(t->ctx, size);
}

int khib_target_reserve(struct khib_target *t, uint64_t size)
{
	if (!t->growable || !t->ops->reserve)
		return -EOPNOTSUPP;
	return t->ops->reserve(t->ctx, size);
}

/* ---- FIEMAP ---- */

/* Extents whose device bytes are not simply "the file's data, only ours". */
#define FIEMAP_REFUSED (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_ENCODED | \
			FIEMAP_EXTENT_DATA_ENCRYPTED | FIEMAP_EXTENT_NOT_ALIGNED |             \
			FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_DATA_TAIL | FIEMAP_EXTENT_SHARED)
#define FIEMAP_BATCH 128

int khib_extent_append(struct khib_extent **v, size_t *n, size_t *cap, uint64_t logical,
		       uint64_t physical, uint64_t length)
{
	if (*n && (*v)[*n - 1].physical + (*v)[*n - 1].length == physical) {
		(*v)[*n - 1].length += length;
		return 0;
	}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct khib_extent *nv = realloc(*v, ncap * sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = (struct khib_extent){ logical, physical, length };
	return 0;
}

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
