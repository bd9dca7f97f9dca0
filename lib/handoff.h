/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The handoff block: one page that the normal kernel's khib (N) places in the
 * jumped-to kernel's region, telling that kernel (H) what it needs: where N's
 * RAM is, which region H was confined to, how to get back.  H's e820 marks
 * the page reserved, so H reads it through /dev/mem (physmem module).
 *
 * Layout (little-endian, offsets in bytes):
 *   0  u64 magic "KHIBHOFF"
 *   8  u32 version, 12 u32 size of the used part
 *  16  u64 jump_back_entry: written by the purgatory at jump time, so it is
 *      excluded from the checksum (N cannot know it when it loads H)
 *  24  u64 checksum: XXH64 of the used part with bytes 16..31 zeroed
 * and then the fields of struct khib_handoff below, in order.
 */
#ifndef KHIB_HANDOFF_H
#define KHIB_HANDOFF_H

#include <stddef.h>
#include <stdint.h>

#include "memmap.h"

#define KHIB_HANDOFF_MAGIC 0x46464f4842494b48ULL /* "KHIBHOFF" */
#define KHIB_HANDOFF_VERSION 1
#define KHIB_HANDOFF_BYTES 4096
#define KHIB_HANDOFF_OFF_ENTRY 16
#define KHIB_HANDOFF_MAX_RANGES 128

struct khib_handoff {
	uint64_t jump_back_entry;
	uint64_t region_start, region_bytes;	/* H's RAM */
	uint64_t low_start, low_bytes;		/* H's RAM below 1 MiB */
	uint64_t handoff_paddr;			/* where this page lives */
	uint64_t flags;
	uint64_t vmcoreinfo_paddr, vmcoreinfo_bytes;
	uint8_t boot_id[16];			/* N's /proc/sys/kernel/random/boot_id */
	char release[65], version[65];		/* N's uname -r, uname -v */
	uint64_t memmap_hash;			/* khib_memmap_hash() of N's firmware map */
	uint32_t nr_ranges;			/* N's RAM, from the firmware map */
	struct {
		uint64_t start, bytes;
	} ranges[KHIB_HANDOFF_MAX_RANGES];
};

/* Serialize h into a KHIB_HANDOFF_BYTES page (zero-filled first). */
int khib_handoff_encode(const struct khib_handoff *h, void *page);

/* Check magic, version, size, checksum and field sanity, then fill *ret.
 * -ENODATA when there is no handoff (wrong magic), -EBADMSG when corrupt,
 * -EOPNOTSUPP for another version. */
int khib_handoff_decode(const void *page, size_t len, struct khib_handoff *ret);

#endif
