/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Checks `khib hibernate` makes in the running kernel before it changes
 * anything: where the image goes and whether it is safe to write there.
 *
 * SECURITY/SAFETY: the writer kernel writes raw sectors.  A target that is
 * mounted or an active swap area of the running kernel is refused (writing
 * under a live file system corrupts it); a file target is written only
 * through its own pre-allocated extents, which its immutable flag pins.
 */
#ifndef KHIB_PREFLIGHT_H
#define KHIB_PREFLIGHT_H

#include <stdbool.h>
#include <stdint.h>

#include "blockmap.h"
#include "check.h"
#include "handoff.h"

/* What the target checks found. */
struct khib_preflight {
	uint64_t capacity;		/* bytes an image can use there */
	bool below_crypt;		/* its sectors lie beneath dm-crypt */
	char stack[KHIB_BLOCKMAP_STACK_LEN];	/* the way down, for messages */
	uint8_t *extmap;		/* owned: the extent map for the jump
					   (khib_jump_config.extmap), or NULL */
	size_t extmap_bytes;
	struct khib_blockmap map;	/* owned: the resolution (no extents
					   when made from a target map) */
};

/*
 * Resolve the target at `path` down to a partition or disk (lib/system/blockmap.h)
 * and describe it in h (target_name, target_dev, target_bytes,
 * nr_extents, extents_hash; the plan places the map).
 *   block device: it must not be mounted or an active swap area;
 *   regular file: immutable, fully allocated (FIEMAP), not a swap file.
 * -EBUSY mounted or swap, -ENOTBLK neither a block device nor a file, or
 * khib_blockmap_*()'s errors; reason (as khib_fail()) says which check
 * failed and why, on every failure.
 */
int khib_preflight_target(const char *path, struct khib_handoff *h, struct khib_preflight *ret,
			  char *reason);
void khib_preflight_release(struct khib_preflight *p);

/* The same description from a target map (lib/format/targetmap.h), for a boot
 * that cannot resolve the target itself.  -ENOMEM, with its reason. */
int khib_preflight_map(const struct khib_blockmap *m, struct khib_handoff *h,
		       struct khib_preflight *ret, char *reason);

/*
 * Is the target khib's to write?  Yes when it holds a khib image (in any
 * state) or nothing that another program claims: libblkid finds no file
 * system, partition table, swap area, LUKS or LVM header, RAID member.
 * An unmounted partition with somebody's file system on it is no target.
 * 0 yes; -EEXIST no, with reason (as khib_fail()) naming what it holds
 * ("ext4 (filesystem)", "a gpt partition table"); another -errno with
 * reason saying what failed.
 */
int khib_preflight_owned(const char *path, char *reason);

/*
 * The target's verdicts (lib/system/check.h), in the order khib hibernate takes
 * them, each on its own:
 *   crypt     beneath dm-crypt, only an encrypted image (SECURITY: never
 *             memory in clear beneath the user's disk encryption)
 *   map       with khib's initramfs hook installed (root/...), the target
 *             map the initramfs has (KHIB_INITRAMFS_MAP, the hook's copy)
 *             must be this target's as it is now, or the next boot looks
 *             elsewhere and goes on over the image's file systems
 *   capacity  room for the worst case, every page of h incompressible;
 *             *ret_need the bytes that takes
 *   owned     nothing of anyone else's on it (khib_preflight_owned()),
 *             unless forced (a warning then)
 */
int khib_preflight_check_crypt(const char *target, const struct khib_preflight *pf,
			       bool encrypted, struct khib_check_result *ret);
int khib_preflight_check_map(const char *root, const char *target, const struct khib_preflight *pf,
			     struct khib_check_result *ret);
int khib_preflight_check_capacity(const char *target, const struct khib_handoff *h, uint64_t cap,
				  uint64_t *ret_need, struct khib_check_result *ret);
int khib_preflight_check_owned(const char *target, bool force, struct khib_check_result *ret);

/*
 * All of them after khib_preflight_target() (its refusal a verdict too),
 * for a target that is the image's: the first that fails, or a summary
 * (warnings in front).  h: the handoff to be, with the RAM ranges to save;
 * the target's part is filled in.  *ret_pf is set unless it fails.
 */
int khib_preflight_check(const char *root, const char *target, bool encrypted, bool force,
			 struct khib_handoff *h, struct khib_preflight *ret_pf,
			 struct khib_check_result *ret);

#endif
