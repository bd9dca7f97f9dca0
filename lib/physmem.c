/* SPDX-License-Identifier: GPL-2.0-only */
#include "physmem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

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
