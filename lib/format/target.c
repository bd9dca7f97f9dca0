/* SPDX-License-Identifier: GPL-2.0-only */
#include "target.h"
#include "util.h"

#include <pthread.h>
#include <string.h>

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

int khib_target_set_kind(struct khib_target *t, enum khib_target_kind kind,
			 const struct khib_extent *extents, size_t n_extents)
{
	if (n_extents) {
		t->extents = malloc(n_extents * sizeof(*extents));
		if (!t->extents)
			return -ENOMEM;
		memcpy(t->extents, extents, n_extents * sizeof(*extents));
		t->n_extents = n_extents;
	}
	t->kind = kind;
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
