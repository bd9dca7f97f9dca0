/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where a target's bytes lie on a device that the writer and restore
 * kernels open without a file system or device-mapper.  The normal kernel
 * resolves the target before the jump: a file's extents (FIEMAP) on its
 * file system's device, then down through every device-mapper layer that
 * maps sectors one to one (dm-linear: LVM; dm-crypt: LUKS, whose
 * ciphertext sector is the plaintext sector) to a partition or a whole
 * disk.  The image's bytes are then read and written at exactly those
 * sectors; neither the volume key nor the LVM metadata is needed there.
 *
 * What cannot be followed exactly is refused with one line naming the
 * layer: other device-mapper targets (thin, striped, mirror, raid, cache,
 * integrity, snapshot, ...), md RAID, loop devices, other virtual block
 * devices, a mapping that spans two devices, a file system whose FIEMAP
 * addresses are not device addresses (btrfs) or that khib does not know,
 * a file the file system may still move (not immutable), offsets that are
 * not 4 KiB aligned on the final device (O_DIRECT on 4Kn disks).
 *
 * Every sysfs path is read under env->root ("" for the running system;
 * tests build a tree), and device-mapper tables come through
 * env->dm_table, so each refusal is tested against a synthetic stack.
 */
#ifndef KHIB_BLOCKMAP_H
#define KHIB_BLOCKMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "target.h"
#include "targetmap.h"

struct khib_blockenv {
	const char *root;	/* prefix of /sys paths */
	/* The table of device-mapper device major:minor as text
	 * (lib/format/dmtable.h) in *ret, freed by the caller after wiping it. */
	int (*dm_table)(void *ctx, unsigned major, unsigned minor, char **ret);
	void *ctx;
};

/* The running system: sysfs at /sys, tables from /dev/mapper/control. */
extern const struct khib_blockenv khib_blockenv_system;

/*
 * Follow `n` extents (n = 0: the whole device) of block device
 * major:minor down to a partition or disk.  On failure, reason names the
 * layer: -EOPNOTSUPP a layer khib does not write beneath; -EXDEV the
 * extents land on two devices; -ERANGE they leave a device; -E2BIG more
 * than KHIB_TARGET_MAX_EXTENTS; -EINVAL misaligned; other -errno from
 * reading sysfs or a table.
 */
int khib_blockmap_resolve(const struct khib_blockenv *env, unsigned major, unsigned minor,
			  const struct khib_extent *ext, size_t n, struct khib_blockmap *ret,
			  char *reason);

/*
 * A preallocated file's bytes, resolved: the file system must be one
 * whose FIEMAP addresses are device addresses (ext2/3/4, xfs), the file
 * immutable (chattr +i: the file system then neither moves, frees nor
 * writes its blocks) and fully allocated.  -EOPNOTSUPP, -EPERM (not
 * immutable), -EINVAL (holes, shared or inline extents), then as
 * khib_blockmap_resolve().
 */
int khib_blockmap_file(const struct khib_blockenv *env, const char *path,
		       struct khib_blockmap *ret, char *reason);

/*
 * Open an image target where its bytes are.  A regular file that is
 * immutable is a hibernation target, which the writer kernel wrote beneath
 * its file system: it is read and written only there, through its
 * resolved extents on the partition or disk below (through the file
 * system it holds zeros, or ciphertext beneath dm-crypt).  A
 * device-mapper device (an LV) is likewise read beneath its layers, where
 * the writer kernel wrote (through dm-crypt the image would be garbage).
 * Anything else (a partition or disk, an image file made by import-elf or
 * copied) opens as it is.  flags as khib_target_open(); reason says what
 * failed.
 */
int khib_blockmap_open(const char *path, unsigned flags, struct khib_target **ret, char *reason);

/*
 * Open what a target map (lib/format/targetmap.h) describes: its device found by
 * identity (khib_blockmap_find) or, for a disk without one, by name and
 * size, then its extents: for a boot that cannot resolve the target
 * itself (the initramfs) and for the writer and restore kernels.  -ENODEV
 * when the device is not (yet) there, -EMEDIUMTYPE when a device of that
 * name has another size, -EINVAL for a name that is no name under /dev.
 * ret_name (KHIB_BLOCKMAP_NAME_LEN bytes, or NULL) gets the name the
 * device has here, which can differ from the one in the map.
 */
int khib_blockmap_open_map(const struct khib_blockenv *env, const struct khib_blockmap *m,
			   unsigned flags, struct khib_target **ret, char *ret_name,
			   char *reason);

/* The target at path resolved, by what it is: a regular file
 * (khib_blockmap_file()) or a block device (khib_blockmap_resolve() of all
 * of it); -ENOTBLK for anything else. */
int khib_blockmap_path(const char *path, struct khib_blockmap *ret, char *reason);

/* Does a file system of statfs type f_type give device addresses in
 * FIEMAP?  0, or -EOPNOTSUPP with the reason. */
int khib_blockmap_fs_supported(long f_type, char *reason);

/*
 * In another kernel (the writer's, the restore kernel's): the one block
 * device with this identity, partition number and size, by its name
 * under /dev.  Names follow probe order, which differs between kernels
 * (two SATA disks may swap sda and sdb): a device is never written by
 * name alone when its disk has an identity.  -ENODEV none, -ENOTUNIQ
 * several (one disk seen twice, multipath).
 */
int khib_blockmap_find(const struct khib_blockenv *env, const char *id, uint32_t part,
		       uint64_t bytes, char *name, size_t n);

/* env->dm_table of the running system (DM_TABLE_STATUS). */
int khib_dm_table_read(void *ctx, unsigned major, unsigned minor, char **ret);


#endif
