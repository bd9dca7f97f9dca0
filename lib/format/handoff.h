/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The handoff block: one page that the normal kernel's khib (N) places in the
 * jumped-to kernel's region, telling that kernel (H) what it needs: where N's
 * RAM is, which region H was confined to, how to get back.  H's e820 marks
 * the page reserved, so H reads it through /dev/mem (lib/system/handoff_read.h).
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

#include "fsstamp.h"
#include "image.h"
#include "memmap.h"
#include "target.h"

/* H's region starts and ends on this alignment, so the kernel can run
 * where it is loaded (a fact of the region, which the configuration, the
 * system's view and the jump plan all check). */
#define KHIB_REGION_ALIGN (2ULL << 20)

#define KHIB_HANDOFF_MAGIC 0x46464f484249484bULL /* "KHIBHOFF" on disk */
/* Bumped with every change of the layout: N's khib and the one in the
 * writer or restore kernel's initramfs may be different builds, and a block
 * of another layout must read as another version, not as a corrupt block.
 * 4: the target's disk identity and partition (target_id, target_part),
 * which version 3 had grown without a bump. */
#define KHIB_HANDOFF_VERSION 4
#define KHIB_HANDOFF_BYTES 4096
#define KHIB_HANDOFF_OFF_ENTRY 16
#define KHIB_HANDOFF_MAX_RANGES 64
#define KHIB_HANDOFF_NAME_LEN 64
#define KHIB_HANDOFF_ID_LEN 96
#define KHIB_HANDOFF_MAX_FS 8

/* flags */
#define KHIB_HANDOFF_TEST (1u << 0)	/* commit, verify, invalidate, come back */
#define KHIB_HANDOFF_RESTORE (1u << 1)	/* a restore kernel: write the image back */
/* Save N's free pages too: N relies on their content (init_on_free=1 wants
 * them zero, page_poison=1 poisoned), or the user asked. */
#define KHIB_HANDOFF_KEEP_FREE (1u << 2)
/* fs[] holds every file system N had mounted from a block device: a
 * resume can tell whether any of them changed (image compat bit 1). */
#define KHIB_HANDOFF_FS_COMPLETE (1u << 3)

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
	uint64_t num_physpages;			/* N's present pages, 0 unknown */
	uint32_t e820_crc32;			/* as N's hibernation computes it, 0 unknown */
	uint32_t nr_ranges;			/* N's RAM, from the firmware map */
	struct {
		uint64_t start, bytes;
	} ranges[KHIB_HANDOFF_MAX_RANGES];

	/* What H writes and where. */
	uint32_t codec;
	int32_t codec_level;
	uint32_t threads;			/* 0: all of H's CPUs */
	char target_name[KHIB_HANDOFF_NAME_LEN]; /* block device under /dev, in N */
	uint64_t target_dev;			/* its dev_t in N, for messages */
	uint64_t target_bytes;			/* its size, checked by H */
	/* Its disk's WWID or serial ("" none) and partition number (0: the
	 * whole disk): H finds it by these, not by N's name (lib/system/blockmap.h). */
	char target_id[KHIB_HANDOFF_ID_LEN];
	uint32_t target_part;
	/* The target's extents on that device (lib/system/blockmap.h), in pages of
	 * their own (the extent map, below) reserved in H's memory map. */
	uint32_t nr_extents;			/* 0: the whole device */
	uint64_t extents_paddr;
	uint64_t extents_hash;			/* khib_extmap_encode() */

	/* A page of N's memory where H reports back (struct khib_status). */
	uint64_t status_paddr;
	uint64_t status_nonce;

	/* N's ext2/3/4 file systems as they were on disk before the jump, for
	 * the image (lib/format/fsstamp.h). */
	uint32_t nr_fs;
	struct khib_fsstamp fs[KHIB_HANDOFF_MAX_FS];

	/* The key page (below): the image's data key, for H to encrypt with or
	 * R to decrypt with; 0 for an image in clear. */
	uint64_t key_paddr;
};

/*
 * The status page: N allocates and locks a page, writes a PENDING status
 * with a random nonce there, and tells H its physical address and the
 * nonce.  H checks magic and nonce before writing (never scribble on a page
 * that moved), and writes SAVING before it saves memory: that is the status
 * the image holds, so a resumed N reads SAVING, an aborted one ABORTED.
 */
#define KHIB_STATUS_BYTES 512

enum khib_status_state {
	KHIB_STATUS_PENDING = 0,
	KHIB_STATUS_SAVING = 1,		/* in the image: seen after resume */
	KHIB_STATUS_ABORTED = 2,	/* H failed before the commit, came back */
	KHIB_STATUS_TESTED = 3,		/* --test: committed, verified, invalidated */
};

struct khib_status {
	uint64_t nonce;
	uint32_t state;
	int32_t error;			/* -errno of an abort */
	uint64_t time_ns;		/* CLOCK_REALTIME in H when written */
	uint64_t saved_pages, stored_pages, image_bytes;
	uint64_t elapsed_ns;		/* H's time saving (TESTED) */
	uint8_t image_uuid[16];
	char reason[256];		/* one line, for an abort */
};

void khib_status_encode(const struct khib_status *st, void *buf);
/* -ENODATA without the magic, -EBADMSG on a bad checksum, -ESTALE when the
 * nonce differs from `nonce`. */
int khib_status_decode(const void *buf, uint64_t nonce, struct khib_status *ret);

/*
 * The key page: one page beside the handoff, reserved in H's memory map
 * like it, with what encrypts or decrypts the image:
 *   0 u64 magic "KHIBKEYP", 8 u32 AEAD, 12 u32 key slots, 16 16 image UUID,
 *  32 32 data key, 64 key area (KHIB_KEY_AREA_BYTES), then u64 XXH64 of all
 *  before it.
 * SECURITY: the data key is the image's secret.  N builds the page in
 * memory it wipes after the load; H and R take it with
 * khib_keypage_take(), which wipes the page in physical memory too.
 */
#define KHIB_KEYPAGE_BYTES 4096
void khib_keypage_encode(const struct khib_image_key *k, const uint8_t uuid[16], void *page);
/* -ENODATA without the magic, -EBADMSG on a bad checksum or field. */
int khib_keypage_decode(const void *page, struct khib_image_key *ret, uint8_t uuid[16]);

/*
 * The extent map: where the image's bytes lie on the target device, as
 * nr_extents entries of (u64 device offset, u64 length), little-endian;
 * entry i covers the image bytes that follow entry i-1's, from 0.  No
 * limit of its own: N places it in pages below the handoff's (kexec.h),
 * and the handoff names it with its XXH64.  Offsets and lengths are
 * multiples of 4 KiB.
 */
#define KHIB_EXTMAP_ENTRY_BYTES 16
#define KHIB_EXTMAP_MAX_EXTENTS KHIB_TARGET_MAX_EXTENTS
/* Encode n extents (contiguous from logical 0) into buf, of
 * n * KHIB_EXTMAP_ENTRY_BYTES bytes; returns the hash for the handoff. */
uint64_t khib_extmap_encode(const struct khib_extent *ext, size_t n, void *buf);
/* Decode n entries that hash to `hash`: -EBADMSG when they do not, or
 * when an entry is empty, misaligned or wraps; -E2BIG past the limit. */
int khib_extmap_decode(const void *buf, size_t n, uint64_t hash, struct khib_extent **ret);

/* The ranges the writer saves: N's RAM minus H's region and low memory,
 * page aligned, sorted; malloc'ed.  *ret_total_pages: all of N's RAM in
 * pages.  The writer (lib/flows/save.h), the jump plan's ELF core header
 * (lib/system/kexec.h) and the preflight's size estimate all take them from here. */
int khib_save_ranges(const struct khib_handoff *h, struct khib_range **ret, size_t *ret_n,
		     uint64_t *ret_total_pages);

/* The RAM ranges of the firmware map fw as h's ranges (the memory a
 * kernel started with h may use): the jump's configuration
 * (lib/flows/jump.h) and a restore kernel the boot loader started take
 * them from here.  -E2BIG for more than KHIB_HANDOFF_MAX_RANGES. */
int khib_handoff_record_ram(const struct khib_memmap *fw, struct khib_handoff *h);

/* Serialize h into a KHIB_HANDOFF_BYTES page (zero-filled first). */
int khib_handoff_encode(const struct khib_handoff *h, void *page);

/* Check magic, version, size, checksum and field sanity, then fill *ret.
 * -ENODATA when there is no handoff (wrong magic), -EBADMSG when corrupt,
 * -EOPNOTSUPP for another version. */
int khib_handoff_decode(const void *page, size_t len, struct khib_handoff *ret);

/* The one line for khib_handoff_decode()'s error err on page, into reason
 * (KHIB_REASON_MAX bytes): "unsupported handoff version N (this khib speaks
 * M)" for -EOPNOTSUPP, "no handoff block (wrong magic)" for -ENODATA,
 * "corrupt handoff block" for -EBADMSG.  Returns err. */
int khib_handoff_fail(const void *page, size_t len, int err, char *reason);

#endif
