/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The target map: where a hibernation target's bytes lie (resolved by
 * lib/system/blockmap.c: a partition or disk, found again by its identity, and
 * the extents of the image on it), and its text form, for a boot that
 * cannot resolve the target itself: the initramfs, before the root file
 * system is unlocked or mounted (khib's initramfs-tools hook writes it).
 * Pure formatting and parsing.
 *
 *   target = /var/lib/khib/image   what it maps, as configured
 *   device = vda2                  the partition or disk, by N's name for it
 *   id = WWID-OR-SERIAL            its disk's identity (absent: none known)
 *   part = 2                       its partition number, 0: the whole disk
 *   bytes = 10737418240            its size
 *   extent = OFFSET LENGTH         bytes on it, 4 KiB multiples, in image
 *                                  order; no extent lines: all of it
 *
 * '#' starts a comment.  Parsing refuses unknown keys, a missing device
 * or size, a key given twice, extents that are empty, misaligned, wrap or
 * leave the device, and more than KHIB_TARGET_MAX_EXTENTS of them.
 */
#ifndef KHIB_TARGETMAP_H
#define KHIB_TARGETMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "target.h"

#define KHIB_BLOCKMAP_NAME_LEN 64
#define KHIB_BLOCKMAP_ID_LEN 96
#define KHIB_BLOCKMAP_STACK_LEN 320

struct khib_blockmap {
	char name[KHIB_BLOCKMAP_NAME_LEN];	/* the partition or disk under /dev */
	uint64_t dev;				/* its dev_t here */
	uint64_t bytes;				/* its size */
	/* Who it is, whatever another kernel names it: its disk's WWID or
	 * serial ("" when the disk reports neither) and its partition number
	 * (0: the whole disk). */
	char id[KHIB_BLOCKMAP_ID_LEN];
	uint32_t part;
	struct khib_extent *ext;		/* owned; NULL: all of the device */
	size_t n;
	bool below_crypt;			/* dm-crypt lies above it */
	char stack[KHIB_BLOCKMAP_STACK_LEN];	/* "dm-1 (vg-root: linear) on ..." */
};

void khib_blockmap_release(struct khib_blockmap *m);

/* The text form of m for `target`, in *ret (free()).  -ENOMEM; -EINVAL
 * for a target, name or id holding a newline or '#'. */
int khib_targetmap_format(const struct khib_blockmap *m, const char *target, char **ret);

/* Parse a target map into *ret (its stack is "" and below_crypt false:
 * the text does not carry them) and the target it maps into
 * target[target_len].  -EINVAL with reason (KHIB_REASON_MAX) for a bad
 * map; -ENOMEM. */
int khib_targetmap_parse(const char *text, struct khib_blockmap *ret, char *target,
			 size_t target_len, char *reason);

#endif
