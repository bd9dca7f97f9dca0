/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib hibernate's dealings with its target (hibernate-target.c): the
 * checks before the jump, and invalidating what must never be resumed.
 * Each check prints its one line and returns 1 when the target is refused.
 */
#ifndef KHIB_TOOLS_HIBERNATE_H
#define KHIB_TOOLS_HIBERNATE_H

#include <stdbool.h>
#include <stdint.h>

#include "handoff.h"
#include "preflight.h"

int hib_check_beneath_crypt(const char *target, const struct khib_preflight *pf,
			    const uint8_t *keypage);
int hib_check_initramfs_map(const char *target, const struct khib_preflight *pf);

/*
 * SAFETY: the boot after a hibernation must find the image where the
 * writer puts it.  With khib's initramfs hook installed, the initramfs
 * finds a target beneath a file system or device-mapper by the target map
 * the hook wrote (a copy of the last one is KHIB_INITRAMFS_MAP): it must be
 * this target's map as it is now, or the boot would find nothing and go on
 * over the image.  map: the target resolved; mapped: it has extents (a
 * file), not a whole partition or disk the initramfs opens by its path.
 * HIB_MAP_*, or -errno.
 */
enum { HIB_MAP_CURRENT, HIB_MAP_NO_HOOK, HIB_MAP_MISSING, HIB_MAP_STALE };
struct khib_blockmap;
int hib_initramfs_map_state(const char *target, const struct khib_blockmap *map, bool mapped);
int hib_check_capacity(const char *target, const struct khib_handoff *h, uint64_t cap);
int hib_check_owned(const char *target, bool force);
int hib_retire_old_image(const char *target);
void hib_discard_after_abort(const char *target);

#endif
