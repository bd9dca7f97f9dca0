/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Targets on files and block devices, opened by path (lib/format/target.h is the
 * abstraction they implement): a regular file, a block device with
 * O_DIRECT, or given extents of either; and what the kernel says of a file
 * (FIEMAP) or a device (its size).
 */
#ifndef KHIB_TARGETDEV_H
#define KHIB_TARGETDEV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "target.h"

#define KHIB_TARGET_WRITE  (1u << 0) /* open read-write */
#define KHIB_TARGET_CREATE (1u << 1) /* regular file: create or truncate; grows */
#define KHIB_TARGET_DIRECT (1u << 2) /* O_DIRECT on a regular file too */

/* A regular file or a block device, by what `path` is. */
int khib_target_open(const char *path, unsigned flags, struct khib_target **ret);
/* The given extents (sorted, contiguous from logical 0, 4 KiB aligned) of a
 * block device or file `device`. */
int khib_target_open_extents(const char *device, const struct khib_extent *extents,
			     size_t n_extents, unsigned flags, struct khib_target **ret);
/* Device extents of a fully allocated file (no holes, no shared, inline,
 * encoded or delayed extents); also returns the device the file is on. */
int khib_target_fiemap(const char *path, struct khib_extent **ret_extents, size_t *ret_n,
		       dev_t *ret_dev);

/* The size of the block device at path, in bytes. */
int khib_blockdev_size(const char *path, uint64_t *ret);

#endif
