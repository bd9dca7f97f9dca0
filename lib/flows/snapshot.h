/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Resume through the normal kernel's own hibernation restore (/dev/snapshot,
 * kernel/power/user.c) instead of a second kernel: a normal boot of the
 * same kernel (R0) turns a khib image into the stream the kernel's
 * hibernation restore reads, and the kernel itself puts every page back.
 *
 * The stream (kernel/power/snapshot.c, x86_64):
 *   page 0        struct swsusp_info; the x86 restore_data_record (jump
 *                 address, its physical address, cr3, magic, e820 checksum)
 *                 is written over its start
 *   meta pages    the PFNs of the data pages, ascending, as unsigned longs,
 *                 the last page padded with ~0UL
 *   data pages    in ascending PFN order (the kernel walks a bitmap)
 * The kernel checks the magic, that num_physpages equals its own and the
 * e820 checksum (both recorded when N hibernated), and that every PFN is
 * valid; it refuses on the *next* write after a bad page.
 *
 * Zero pages are not sent (the kernel would hold one page each, atomically
 * allocated, before it can restore anything): the landing page
 * (lib/flows/snapshot_tramp.S) zeroes them from a list.  The landing page and the
 * list are sent as extra pages inside the writer kernel's region, which is
 * never part of N's image and which N's kexec re-entry swaps back anyway.
 */
#ifndef KHIB_SNAPSHOT_H
#define KHIB_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "memmap.h"

#define KHIB_SNAPSHOT_MAGIC 0x23456789ABCDEF02ULL

struct khib_snapshot_header {
	uint64_t jump_address;	/* also jump_address_phys: an identity mapping */
	uint64_t cr3;
	uint32_t e820_crc32;
	uint64_t num_physpages;
	uint64_t image_pages;	/* data pages in the stream */
};

/* Byte offsets in page 0, as the kernel lays the structures out. */
#define KHIB_SNAP_OFF_JUMP 0
#define KHIB_SNAP_OFF_JUMP_PHYS 8
#define KHIB_SNAP_OFF_CR3 16
#define KHIB_SNAP_OFF_MAGIC 24
#define KHIB_SNAP_OFF_E820 32
#define KHIB_SNAP_OFF_NUM_PHYSPAGES 400 /* after new_utsname (390) and version_code */
#define KHIB_SNAP_OFF_CPUS 408
#define KHIB_SNAP_OFF_IMAGE_PAGES 416
#define KHIB_SNAP_OFF_PAGES 424
#define KHIB_SNAP_OFF_SIZE 432

void khib_snapshot_header_encode(const struct khib_snapshot_header *h, uint8_t page[4096]);
uint64_t khib_snapshot_meta_pages(uint64_t image_pages);

struct khib_snapshot_plan {
	struct khib_range *data;	/* runs of stored pages, ascending */
	size_t n_data;
	struct khib_range *zero;	/* runs of zero pages */
	size_t n_zero;
	uint64_t data_pages, zero_pages;
	uint64_t outside_pages;		/* saved but outside the kernel's zones */
	uint64_t extra_paddr;		/* landing page, then the zero list */
	size_t extra_pages;
	uint8_t *extra;
	struct khib_snapshot_header hdr;
	uint64_t chunk_bytes;		/* the image's chunks hold up to this much */
};

/* The stream's threads at most: one writes while the others read, check
 * and decode ahead; more only take memory. */
#define KHIB_SNAPSHOT_THREADS_MAX 5

/* The threads a stream asked for `requested` (0: the default) runs. */
unsigned khib_snapshot_threads(unsigned requested);

/*
 * Read the chunk headers (their page maps; the payloads are read and
 * checked once, by the stream) and plan the stream: the
 * runs clipped to `zones` (khib_sysinfo_zone_spans(): the kernel refuses
 * any other page frame; outside them lie only firmware pages such as page 0,
 * which this boot's firmware set up the same way), the landing page at the start of the image's region and the zero
 * list after it, and the header from the image's recorded values.
 * -EOPNOTSUPP when the image lacks them (num_physpages, e820 checksum).
 */
int khib_snapshot_plan_build(struct khib_reader *rd, const struct khib_memmap *zones,
			     struct khib_snapshot_plan *ret, char *reason);
void khib_snapshot_plan_release(struct khib_snapshot_plan *p);

/* Bytes the restoring kernel must have free to take the stream, written
 * with khib_snapshot_threads(threads) threads. */
uint64_t khib_snapshot_memory_needed(const struct khib_snapshot_plan *p, unsigned threads);

/*
 * Freeze user space through `dev` (normally /dev/snapshot) and write the
 * whole stream, the image read, checked and decoded by
 * khib_snapshot_threads(threads) threads while one of them writes.  On success *ret_fd is the frozen handle for
 * khib_snapshot_restore(); on failure everything is thawed and reason says
 * why: -EBADMSG, -ESTALE or -EOVERFLOW when a chunk of the image does not
 * check out (nothing was restored: the kernel restores nothing before
 * SNAPSHOT_ATOMIC_RESTORE), any other error when the kernel refused.
 */
int khib_snapshot_write(struct khib_reader *rd, const struct khib_memmap *zones,
			const struct khib_snapshot_plan *p, const char *dev, unsigned threads,
			int *ret_fd, char *reason);

/* The stream itself, to any file descriptor (tests write it to a file). */
int khib_snapshot_stream(struct khib_reader *rd, const struct khib_memmap *zones,
			 const struct khib_snapshot_plan *p, int fd, unsigned threads, char *reason);

/* SNAPSHOT_ATOMIC_RESTORE: only returns on failure (thawed, closed). */
int khib_snapshot_restore(int fd);
/* Give up after a successful khib_snapshot_write(): thaw and close. */
void khib_snapshot_abort(int fd);

#endif
