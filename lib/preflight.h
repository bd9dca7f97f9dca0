/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Checks `khib hibernate` makes in the running kernel before it changes
 * anything: where the image goes and whether it is safe to write there.
 *
 * SECURITY/SAFETY: the writer kernel writes raw sectors.  A target that is
 * mounted or an active swap area of the running kernel is refused (writing
 * under a live file system corrupts it); a file target is written only
 * through its own pre-allocated extents.
 */
#ifndef KHIB_PREFLIGHT_H
#define KHIB_PREFLIGHT_H

#include <stdint.h>

#include "handoff.h"

/*
 * Describe the target at `path` in h (target_name, target_dev,
 * target_bytes, extents) and return the bytes an image can use there.
 *   block device: it must not be mounted or an active swap area;
 *   regular file: fully allocated (FIEMAP extents), not a swap file.
 * -EBUSY mounted or swap, -ENOTBLK neither a block device nor a file,
 * -E2BIG too many extents; *ret_what says which check failed.
 */
int khib_preflight_target(const char *path, struct khib_handoff *h, uint64_t *ret_capacity,
			  const char **ret_what);

/*
 * Is the target khib's to write?  Yes when it holds a khib image (in any
 * state) or nothing that another program claims: libblkid finds no file
 * system, partition table, swap area, LUKS or LVM header, RAID member.
 * An unmounted partition with somebody's file system on it is no target.
 * 0 yes; -EEXIST no, with `what` (n bytes) naming what it holds ("an
 * ext4 file system", "a gpt partition table").
 */
int khib_preflight_owned(const char *path, char *what, size_t n);

#endif
