/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The jumped-to kernel's side of the handoff: the handoff block, the extent
 * map and the key page read where N placed them, in physical memory,
 * through /dev/mem (lib/system/physmem.h).  The byte layouts are lib/format/handoff.h's;
 * this module only finds and reads them.
 */
#ifndef KHIB_HANDOFF_READ_H
#define KHIB_HANDOFF_READ_H

#include <stdint.h>

#include "handoff.h"

/* In the jumped-to kernel: find khib.handoff= in `cmdline_path` (normally
 * /proc/cmdline), read the block through `devmem` and decode it.  -ENOENT
 * without khib.handoff=; once the block is read, what was wrong with it in
 * reason (NULL or KHIB_REASON_MAX bytes; khib_handoff_fail()). */
int khib_handoff_find(const char *cmdline_path, const char *devmem, struct khib_handoff *ret,
		      char *reason);

/* In the jumped-to kernel: the map h names, read through devmem. */
int khib_extmap_read(const char *devmem, const struct khib_handoff *h,
		     struct khib_extent **ret);

/* Read the key page at paddr through devmem, decode it into *ret (secret
 * memory), and overwrite the page with zeros. */
int khib_keypage_take(const char *devmem, uint64_t paddr, struct khib_image_key *ret,
		      uint8_t uuid[16]);

#endif
