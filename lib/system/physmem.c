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

int khib_physmem_page_paddr(const void *page, uint64_t *ret_paddr)
{
	_cleanup_close_ int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t entry, pfn;
	int r;

	if (fd < 0)
		return -errno;
	r = khib_pread_all(fd, &entry, sizeof(entry), (uintptr_t)page / KHIB_PAGE_SIZE * 8);
	if (r < 0)
		return r;
	/* bit 63: present; bits 0-54: PFN, reads as 0 without CAP_SYS_ADMIN */
	pfn = entry & ((1ULL << 55) - 1);
	if (!(entry >> 63) || !pfn)
		return -EPERM;
	*ret_paddr = pfn * KHIB_PAGE_SIZE;
	return 0;
}

int khib_physmem_pin_page(struct khib_pinned_page *ret)
{
	struct khib_pinned_page p = { .pipe_fd = { -1, -1 } };
	struct iovec v;
	int r;

	r = posix_memalign(&p.page, KHIB_PAGE_SIZE, KHIB_PAGE_SIZE);
	if (r)
		return -r;
	memset(p.page, 0, KHIB_PAGE_SIZE);
	if (mlock(p.page, KHIB_PAGE_SIZE) < 0) {
		r = -errno;
		free(p.page);
		return r;
	}
	v = (struct iovec){ p.page, KHIB_PAGE_SIZE };
	if (pipe2(p.pipe_fd, O_CLOEXEC) < 0) {
		r = -errno;
		khib_physmem_unpin_page(&p);
		return r;
	}
	/* A short count sets no errno: the page is not held, say so. */
	ssize_t n = vmsplice(p.pipe_fd[1], &v, 1, 0);
	if (n != (ssize_t)KHIB_PAGE_SIZE) {
		r = n < 0 ? -errno : -EIO;
		khib_physmem_unpin_page(&p);
		return r;
	}
	r = khib_physmem_page_paddr(p.page, &p.paddr);
	if (r < 0) {
		khib_physmem_unpin_page(&p);
		return r;
	}
	*ret = p;
	return 0;
}

void khib_physmem_unpin_keep(struct khib_pinned_page *p)
{
	for (int i = 0; i < 2; i++) {
		if (p->page && p->pipe_fd[i] >= 0)
			close(p->pipe_fd[i]);
		p->pipe_fd[i] = -1;
	}
}

void khib_physmem_unpin_page(struct khib_pinned_page *p)
{
	if (!p->page)
		return;
	khib_physmem_unpin_keep(p);
	munlock(p->page, KHIB_PAGE_SIZE);
	free(p->page);
	*p = (struct khib_pinned_page){ .pipe_fd = { -1, -1 } };
}
