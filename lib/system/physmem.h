/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The memory-source module: the only code in khib that opens /dev/mem.
 *
 * Memory the running kernel does not own as "System RAM" (the other
 * kernel's RAM, reserved pages such as the handoff block) can be mapped
 * through /dev/mem even with STRICT_DEVMEM; read() would fail above the
 * running kernel's high_memory, so everything here uses mmap().
 *
 * SECURITY: a mapping gives access to another kernel's memory — every
 * secret on the machine.  Mappings are MAP_SHARED, never copied to disk
 * except by the image writer, and are unmapped as soon as possible.
 */
#ifndef KHIB_PHYSMEM_H
#define KHIB_PHYSMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct khib_physmap {
	void *base;	/* mmap()ed pages */
	size_t map_bytes;
	uint8_t *ptr;	/* the requested physical address inside them */
	size_t bytes;
};

/* Map [paddr, paddr+bytes) of physical memory; `writable` for PROT_WRITE.
 * `devmem` is normally "/dev/mem". */
int khib_physmem_map(const char *devmem, uint64_t paddr, size_t bytes, int writable,
		     struct khib_physmap *ret);
void khib_physmem_unmap(struct khib_physmap *m);

/* Copy bytes at paddr into buf through a temporary mapping. */
int khib_physmem_read(const char *devmem, uint64_t paddr, void *buf, size_t bytes);

/*
 * A page of this process's memory that stays where it is, and its physical
 * address (from /proc/self/pagemap; needs CAP_SYS_ADMIN), for another
 * kernel to write to.  mlock() alone does not keep a page in place:
 * compaction and khugepaged migrate locked pages too (seen here: up to 48
 * of 200 locked pages moved by one `echo 1 > /proc/sys/vm/compact_memory`),
 * and the other kernel would then write into a frame that belongs to
 * someone else by now.  A pipe holds a reference to the page (vmsplice(2)
 * without SPLICE_F_GIFT), and migration leaves a page with references it
 * does not know of where it is.  Release with khib_physmem_unpin_page(),
 * which accepts a zeroed struct.
 */
struct khib_pinned_page {
	void *page;
	uint64_t paddr;
	int pipe_fd[2];
};

int khib_physmem_pin_page(struct khib_pinned_page *ret);
/*
 * The same, for a page whose frame ok(ctx, paddr) accepts (ok NULL: any),
 * trying up to max_pages candidates.  They are taken 256 at a time (one
 * mapping, one mlock(), one read of pagemap for all of them) and held until
 * the choice is made, so that the allocator hands out others; then given
 * back.  -EADDRINUSE when none was accepted.
 */
int khib_physmem_pin_page_where(bool (*ok)(const void *ctx, uint64_t paddr), const void *ctx,
				size_t max_pages, struct khib_pinned_page *ret);
void khib_physmem_unpin_page(struct khib_pinned_page *p);
/* The physical address of a page now. */
int khib_physmem_page_paddr(const void *page, uint64_t *ret_paddr);

#endif
