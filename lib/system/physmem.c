/* SPDX-License-Identifier: GPL-2.0-only */
#include "physmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fileio.h"
#include "util.h"

int khib_physmem_map(const char *devmem, uint64_t paddr, size_t bytes, int writable,
		     struct khib_physmap *ret)
{
	_cleanup_close_ int fd = -1;
	uint64_t start = ALIGN_DOWN(paddr, KHIB_PAGE_SIZE);
	uint64_t end;
	void *p;

	if (!bytes || !khib_range_within(paddr, bytes, UINT64_MAX - KHIB_PAGE_SIZE))
		return -EINVAL;
	end = ALIGN_UP(paddr + bytes, KHIB_PAGE_SIZE);
	/* No O_SYNC: that would make the mapping uncached, and this is RAM. */
	fd = open(devmem, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	p = mmap(NULL, end - start, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd,
		 (off_t)start);
	if (p == MAP_FAILED)
		return -errno;
	*ret = (struct khib_physmap){
		.base = p,
		.map_bytes = end - start,
		.ptr = (uint8_t *)p + (paddr - start),
		.bytes = bytes,
	};
	return 0;
}

void khib_physmem_unmap(struct khib_physmap *m)
{
	if (m && m->base) {
		munmap(m->base, m->map_bytes);
		m->base = NULL;
		m->ptr = NULL;
	}
}

int khib_physmem_read(const char *devmem, uint64_t paddr, void *buf, size_t bytes)
{
	struct khib_physmap m;
	int r = khib_physmem_map(devmem, paddr, bytes, 0, &m);

	if (r < 0)
		return r;
	memcpy(buf, m.ptr, bytes);
	khib_physmem_unmap(&m);
	return 0;
}

/* A pagemap entry's frame: bit 63 present, bits 0-54 the PFN, which reads
 * as 0 without CAP_SYS_ADMIN. */
static int entry_paddr(uint64_t entry, uint64_t *ret_paddr)
{
	uint64_t pfn = entry & ((1ULL << 55) - 1);

	if (!(entry >> 63) || !pfn)
		return -EPERM;
	*ret_paddr = pfn * KHIB_PAGE_SIZE;
	return 0;
}

/* The frame of the page at `page`, from pagemap open at fd. */
static int page_paddr_at(int fd, const void *page, uint64_t *ret_paddr)
{
	uint64_t entry;
	int r = khib_pread_all(fd, &entry, sizeof(entry),
			       (uintptr_t)page / KHIB_PAGE_SIZE * sizeof(entry));

	return r < 0 ? r : entry_paddr(entry, ret_paddr);
}

int khib_physmem_page_paddr(const void *page, uint64_t *ret_paddr)
{
	_cleanup_close_ int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return page_paddr_at(fd, page, ret_paddr);
}

/* Hold page (already locked) with a pipe, and find its frame (pagemap
 * open at fd). */
static int pin_held(int fd, void *page, struct khib_pinned_page *ret)
{
	struct khib_pinned_page p = { .page = page, .pipe_fd = { -1, -1 } };
	struct iovec v = { page, KHIB_PAGE_SIZE };
	ssize_t n;
	int r;

	if (pipe2(p.pipe_fd, O_CLOEXEC) < 0)
		return -errno;
	/* A short count sets no errno: the page is not held, say so. */
	n = vmsplice(p.pipe_fd[1], &v, 1, 0);
	r = n == (ssize_t)KHIB_PAGE_SIZE ? page_paddr_at(fd, page, &p.paddr) :
	    n < 0 ? -errno : -EIO;
	if (r < 0) {
		close(p.pipe_fd[0]);
		close(p.pipe_fd[1]);
		return r;
	}
	*ret = p;
	return 0;
}

/* Candidates are taken this many at a time: one mapping, one mlock(), one
 * read of pagemap for all of them. */
#define PIN_BATCH_PAGES 256

int khib_physmem_pin_page_where(bool (*ok)(const void *ctx, uint64_t paddr), const void *ctx,
				size_t max_pages, struct khib_pinned_page *ret)
{
	size_t per = max_pages < PIN_BATCH_PAGES ? max_pages : PIN_BATCH_PAGES;
	size_t len = per * KHIB_PAGE_SIZE, nb, b;
	_cleanup_free_ uint8_t **batch = NULL;
	_cleanup_free_ uint64_t *entry = NULL;
	_cleanup_close_ int fd = -1;
	int r = -EADDRINUSE;

	if (!max_pages)
		return r;
	nb = (max_pages + per - 1) / per;
	batch = calloc(nb, sizeof(*batch));
	entry = calloc(per, sizeof(*entry));
	if (!batch || !entry)
		return -ENOMEM;
	if ((fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	for (b = 0; b < nb && r == -EADDRINUSE; b++) {
		uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				  -1, 0);

		if (m == MAP_FAILED) {
			r = -errno;
			break;
		}
		batch[b] = m;
		memset(m, 0, len); /* each page a frame of its own, not the zero page */
		if (mlock(m, len) < 0) {
			r = -errno;
			break;
		}
		if ((r = khib_pread_all(fd, entry, per * sizeof(*entry),
					(uintptr_t)m / KHIB_PAGE_SIZE * sizeof(*entry))) < 0)
			break;
		r = -EADDRINUSE;
		for (size_t i = 0; i < per && b * per + i < max_pages && r == -EADDRINUSE; i++) {
			uint64_t paddr;

			if ((r = entry_paddr(entry[i], &paddr)) < 0)
				break;
			r = -EADDRINUSE;
			if (ok && !ok(ctx, paddr))
				continue;
			if ((r = pin_held(fd, m + i * KHIB_PAGE_SIZE, ret)) < 0)
				break;
			if (ok && !ok(ctx, ret->paddr)) { /* moved since pagemap was read */
				close(ret->pipe_fd[0]);
				close(ret->pipe_fd[1]);
				r = -EADDRINUSE;
				continue;
			}
			/* The page keeps a mapping of its own; the rest of its batch goes. */
			if (i)
				munmap(m, i * KHIB_PAGE_SIZE);
			if (i + 1 < per)
				munmap(m + (i + 1) * KHIB_PAGE_SIZE, len - (i + 1) * KHIB_PAGE_SIZE);
			batch[b] = NULL;
		}
	}
	for (b = 0; b < nb; b++)
		if (batch[b])
			munmap(batch[b], len);
	return r;
}

int khib_physmem_pin_page(struct khib_pinned_page *ret)
{
	return khib_physmem_pin_page_where(NULL, NULL, 1, ret);
}

void khib_physmem_unpin_page(struct khib_pinned_page *p)
{
	if (!p->page)
		return;
	for (int i = 0; i < 2; i++)
		if (p->pipe_fd[i] >= 0)
			close(p->pipe_fd[i]);
	munmap(p->page, KHIB_PAGE_SIZE);
	*p = (struct khib_pinned_page){ .pipe_fd = { -1, -1 } };
}
