/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The file systems a hibernated kernel had mounted, read from the disks:
 * their stamps (lib/format/fsstamp.h) recorded before the jump, and compared with
 * the disks again before a resume.
 *
 * Only ext2/3/4 carry what a stamp needs.  Other file systems on block
 * devices (vfat, xfs, btrfs) are named so that the caller can say they are
 * not checked.  Nothing here prints; `root` prefixes every path ("" on a
 * real system, a directory in the unit tests).
 */
#ifndef KHIB_FSCHECK_H
#define KHIB_FSCHECK_H

#include <stddef.h>

#include "fsstamp.h"

/*
 * The stamp of every ext2/3/4 file system mounted from a block device (one
 * per device, however often it is mounted), from root/proc/self/mountinfo
 * and each device's superblock as it is on the disk.  The mount points of
 * other block-backed file systems go into `unchecked`, comma separated.
 * -E2BIG with more than `max` of them, -errno when a device cannot be read
 * (what failed in `reason`).
 */
int khib_fs_record(const char *root, struct khib_fsstamp *ret, size_t max, size_t *ret_n,
		   char *unchecked, size_t unchecked_bytes, char *reason);

/*
 * Find each recorded file system among the block devices of this boot
 * (root/proc/partitions) by its UUID and compare its stamp with the disk.
 * -ESTALE when one was used since (which one, where, and how, in `reason`);
 * file systems not found are listed in `missing` (mount points, comma
 * separated), which is not an error: they cannot have been mounted here.
 */
int khib_fs_check(const char *root, const struct khib_fsstamp *st, size_t n, char *missing,
		  size_t missing_bytes, char *reason);

#endif
