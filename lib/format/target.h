/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where an image lives: a regular file, a block device or partition, the
 * pre-allocated extents of a file reached through the raw block device (as
 * swsusp's resume_offset: the writer kernel never mounts a file system the
 * hibernated kernel has mounted), or memory (tests, fuzzing).  This module
 * is the target abstraction and the memory target; lib/system/targetdev.h opens
 * files and devices.
 *
 * Every byte goes through a `struct khib_io_ops` table, so tests can inject
 * EIO, short writes, ENOSPC and power cuts between a write and its flush.
 * The image module addresses a target by logical offset 0..size; extents map
 * that onto device offsets.  Invariants:
 *   - a target opened for O_DIRECT (block devices) reports align > 1; writes
 *     to it must be aligned in offset, length and memory to KHIB_TARGET_BLOCK
 *     (the image writer always does that); reads of any shape are bounced;
 *   - khib_target_write/read retry short transfers and EINTR, and fail with
 *     -ENOSPC past the end of a fixed-size target;
 *   - the ops table is called concurrently from several threads.
 */
#ifndef KHIB_TARGET_H
#define KHIB_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Unit of every image write: offsets and lengths are multiples of this. */
#define KHIB_TARGET_BLOCK 4096u

struct khib_io_ops {
	/* Transfer at most len bytes at a device offset.  Returns the bytes
	 * done (short transfers allowed, 0 only at end of device) or -errno. */
	ssize_t (*pwrite)(void *ctx, const void *buf, size_t len, uint64_t offset);
	ssize_t (*pread)(void *ctx, void *buf, size_t len, uint64_t offset);
	/* Make every completed write durable (fdatasync: a cache flush/FUA). */
	int (*flush)(void *ctx);
	/* Optional: set the size of a growable file. */
	int (*truncate)(void *ctx, uint64_t size);
	/* Optional: allocate [0, size) of a growable file ahead of writing. */
	int (*reserve)(void *ctx, uint64_t size);
	/* Optional: release ctx. */
	void (*close)(void *ctx);
};

/* The most pieces a target may lie in (lib/system/blockmap.h, the handoff's
 * extent map): a 16 GiB file on ext4 has at least 128, a fragmented one
 * thousands. */
#define KHIB_TARGET_MAX_EXTENTS 65536

/* Image bytes [logical, logical+length) live at device offset physical. */
struct khib_extent {
	uint64_t logical;
	uint64_t physical;
	uint64_t length;
};

enum khib_target_kind {
	KHIB_TARGET_KIND_FILE,
	KHIB_TARGET_KIND_BLOCK,
	KHIB_TARGET_KIND_EXTENTS,
	KHIB_TARGET_KIND_MEMORY,
	KHIB_TARGET_KIND_CUSTOM,
};

struct khib_target;

/* Append [logical, +length) at device offset physical to a growing array
 * (*v of *n, room for *cap), merged into the last extent when it continues
 * it on the device: fewer, larger transfers.  -ENOMEM. */
int khib_extent_append(struct khib_extent **v, size_t *n, size_t *cap, uint64_t logical,
		       uint64_t physical, uint64_t length);
/* A target over a caller's buffer; it must outlive the target. */
int khib_target_new_memory(void *buf, size_t size, bool writable, struct khib_target **ret);
/* A target over any ops table (fault injection).  size UINT64_MAX = grows. */
int khib_target_new(const struct khib_io_ops *ops, void *ctx, uint64_t size, uint32_t align,
		    struct khib_target **ret);
/* For the openers of lib/system/targetdev.h: what a target made by
 * khib_target_new() is and, for KHIB_TARGET_KIND_EXTENTS, where its logical
 * bytes lie on the device (copied; the caller checked them).  -ENOMEM. */
int khib_target_set_kind(struct khib_target *t, enum khib_target_kind kind,
			 const struct khib_extent *extents, size_t n_extents);
void khib_target_free(struct khib_target *t);

enum khib_target_kind khib_target_kind(const struct khib_target *t);
/* Usable bytes; UINT64_MAX for a growable file. */
uint64_t khib_target_size(const struct khib_target *t);
bool khib_target_growable(const struct khib_target *t);
uint32_t khib_target_align(const struct khib_target *t);

int khib_target_write(struct khib_target *t, const void *buf, size_t len, uint64_t offset);
int khib_target_read(struct khib_target *t, void *buf, size_t len, uint64_t offset);
int khib_target_flush(struct khib_target *t);
int khib_target_truncate(struct khib_target *t, uint64_t size);
/* Allocate space of a growable file up front: concurrent direct writes
 * that extend a file are serialised by file systems (ext4), writes inside
 * allocated space are not.  -EOPNOTSUPP where it does not apply. */
int khib_target_reserve(struct khib_target *t, uint64_t size);

/* Aligned allocation for direct I/O buffers (free with free()). */
void *khib_alloc_aligned(size_t size);

#endif
