/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The on-disk byte layout of a khib image, version 1 (doc/FORMAT.md).  Only
 * image_*.c include this.  All integers are little-endian; all checksums
 * are khib_hash64() (XXH3-64, seed 0).
 *
 *   0x0000  commit record block (4096 bytes, record in the first 64)
 *   0x1000  header block (4096 bytes, header in the first header_size)
 *   0x2000  chunks, each at a 4096-aligned offset, in any order
 *   data_end  range table, chunk index, VMCOREINFO text, file system table
 *             (padded to 4096)
 *   image_end
 */
#ifndef KHIB_IMAGE_FORMAT_H
#define KHIB_IMAGE_FORMAT_H

#include "crypt.h"
#include "image.h"
#include "util.h"

#define KHIB_FMT_VERSION 2	/* written; 1 and 2 are read */
_Static_assert(KHIB_KEY_AREA_BYTES == 0x1000 - 0x400, "the key area ends the header block");
#define KHIB_FMT_BLOCK 4096u
#define KHIB_FMT_PAGE_SIZE ((uint32_t)KHIB_PAGE_SIZE) /* the header's page size field */

#define KHIB_COMMIT_OFFSET 0x0000u
#define KHIB_HEADER_OFFSET 0x1000u
#define KHIB_DATA_OFFSET 0x2000u

/* Commit record. */
#define KHIB_COMMIT_MAGIC "KHIBCMIT"
#define KHIB_COMMIT_VERSION 1	/* the record did not change with format 2 */
#define KHIB_COMMIT_SIZE 64u
#define KHIB_CMT_MAGIC 0x00       /* 8 */
#define KHIB_CMT_VERSION 0x08     /* u32 */
#define KHIB_CMT_SIZE 0x0C        /* u32 */
#define KHIB_CMT_UUID 0x10        /* 16 */
#define KHIB_CMT_HEADER_HASH 0x20 /* u64 */
#define KHIB_CMT_META_HASH 0x28   /* u64: ranges ‖ index ‖ vmcoreinfo ‖ header */
#define KHIB_CMT_IMAGE_END 0x30   /* u64 */
#define KHIB_CMT_HASH 0x38        /* u64 over [0, 0x38) */

/* The restore attempt record, in the commit block right after the commit
 * record (doc/FORMAT.md, "Restore attempts"): how many restores of the
 * image began without finishing.  No hash of the image covers it. */
#define KHIB_ATTEMPT_OFFSET 0x40u  /* in the commit block */
#define KHIB_ATTEMPT_MAGIC "KHIBTRY1"
#define KHIB_ATTEMPT_SIZE 0x28u
#define KHIB_ATT_MAGIC 0x00       /* 8 */
#define KHIB_ATT_UUID 0x08        /* 16: the image's */
#define KHIB_ATT_COUNT 0x18       /* u32 */
#define KHIB_ATT_HASH 0x20        /* u64 over [0, 0x20) */

/* Header. */
#define KHIB_HEADER_MAGIC "KHIBIMAG"
#define KHIB_HEADER_SIZE 1024u
#define KHIB_HDR_MAGIC 0x000
#define KHIB_HDR_VERSION 0x008
#define KHIB_HDR_HEADER_SIZE 0x00C
#define KHIB_HDR_INCOMPAT 0x010
#define KHIB_HDR_COMPAT 0x018
#define KHIB_HDR_UUID 0x020
#define KHIB_HDR_CREATED_NS 0x030
#define KHIB_HDR_PAGE_SIZE 0x038
#define KHIB_HDR_CODEC 0x03C       /* u16 */
#define KHIB_HDR_CODEC_LEVEL 0x03E /* s16 */
#define KHIB_HDR_CHUNK_PAGES 0x040
#define KHIB_HDR_E820_CRC32 0x044
#define KHIB_HDR_TOTAL_RAM_PAGES 0x048
#define KHIB_HDR_SAVED_PAGES 0x050
#define KHIB_HDR_STORED_PAGES 0x058
#define KHIB_HDR_ZERO_PAGES 0x060
#define KHIB_HDR_EXCLUDED_PAGES 0x068
#define KHIB_HDR_JUMP_BACK 0x070
#define KHIB_HDR_REGION_START 0x078
#define KHIB_HDR_REGION_BYTES 0x080
#define KHIB_HDR_LOWMEM_START 0x088
#define KHIB_HDR_LOWMEM_SIZE 0x090
#define KHIB_HDR_DIRECT_MAP 0x098
#define KHIB_HDR_MEMMAP_HASH 0x0A0
#define KHIB_HDR_BOOT_ID 0x0A8 /* 16 */
#define KHIB_HDR_DATA_OFFSET 0x0B8
#define KHIB_HDR_DATA_END 0x0C0
#define KHIB_HDR_IMAGE_END 0x0C8
#define KHIB_HDR_RANGES_OFFSET 0x0D0
#define KHIB_HDR_RANGES_COUNT 0x0D8
#define KHIB_HDR_RANGES_HASH 0x0E0
#define KHIB_HDR_INDEX_OFFSET 0x0E8
#define KHIB_HDR_INDEX_COUNT 0x0F0
#define KHIB_HDR_INDEX_HASH 0x0F8
#define KHIB_HDR_VMCI_OFFSET 0x100
#define KHIB_HDR_VMCI_BYTES 0x108
#define KHIB_HDR_VMCI_HASH 0x110
#define KHIB_HDR_DATA_BYTES 0x118
#define KHIB_HDR_UTS_RELEASE 0x120 /* 72, NUL terminated */
#define KHIB_HDR_UTS_VERSION 0x168 /* 72, NUL terminated */
#define KHIB_HDR_UTS_FIELD 72u
#define KHIB_HDR_ENC_ALG 0x1B0     /* u32: enum khib_aead */
#define KHIB_HDR_ENC_SLOTS 0x1B4   /* u32: key slots in the key area */
#define KHIB_HDR_KEY_AREA_HASH 0x1B8 /* u64: H64(key area) */
#define KHIB_HDR_MAC 0x1E8         /* 32: keyed BLAKE2b of the header, this field zero */
/* The key area: header block bytes [0x400, 0x1000), after the header. */
#define KHIB_KEY_AREA_OFFSET 0x400u
#define KHIB_MAX_KEY_SLOTS 16
#define KHIB_HDR_NUM_PHYSPAGES 0x228 /* 8: N's get_num_physpages(), 0 unknown */
#define KHIB_HDR_FS_OFFSET 0x230   /* with KHIB_COMPAT_FS_TABLE, else 0 */
#define KHIB_HDR_FS_COUNT 0x238
#define KHIB_HDR_FS_HASH 0x240
/* header hash: u64 at header_size - 8, over [0, header_size - 8) */

/* Feature flags.  A reader that does not know the file system table may
 * ignore it (compat): it only makes resume refuse more. */
#define KHIB_COMPAT_FS_TABLE (1ULL << 0)
/* The table holds every file system N had mounted from a block device, so
 * a resume would see any of them changed: an encrypted image nobody could
 * unlock may then be kept for a later boot (lib/flows/resume.h).  Public and
 * authenticated only with the header: a forged bit can only keep an image
 * whose MAC then fails. */
#define KHIB_COMPAT_FS_COMPLETE (1ULL << 1)
/* Version 2: chunks and tables sealed (crypt.h), the header MAC'ed. */
#define KHIB_INCOMPAT_ENCRYPTED (1ULL << 0)
#define KHIB_INCOMPAT_KNOWN KHIB_INCOMPAT_ENCRYPTED
#define KHIB_COMPAT_KNOWN (KHIB_COMPAT_FS_TABLE | KHIB_COMPAT_FS_COMPLETE)

/* The metadata tables, in their order on disk; in an encrypted image each
 * is sealed with its number as the nonce counter. */
enum { KHIB_TABLE_RANGES = 1, KHIB_TABLE_INDEX, KHIB_TABLE_VMCOREINFO, KHIB_TABLE_FS,
       KHIB_TABLES = KHIB_TABLE_FS };

/* Range table entry. */
#define KHIB_RANGE_ENTRY_SIZE 16u
#define KHIB_RNG_PADDR 0x0
#define KHIB_RNG_NPAGES 0x8

/* Chunk index entry. */
#define KHIB_INDEX_ENTRY_SIZE 48u
#define KHIB_IDX_PADDR 0x00
#define KHIB_IDX_NPAGES 0x08
#define KHIB_IDX_STORED_PAGES 0x0C
#define KHIB_IDX_DISK_OFFSET 0x10
#define KHIB_IDX_DISK_BYTES 0x18
#define KHIB_IDX_ZERO_PAGES 0x1C
#define KHIB_IDX_HEADER_HASH 0x20
#define KHIB_IDX_PAYLOAD_HASH 0x28

/* Chunk header; the payload follows it directly. */
#define KHIB_CHUNK_MAGIC "KHCK"
#define KHIB_CHK_MAGIC 0x00
#define KHIB_CHK_HEADER_BYTES 0x04
#define KHIB_CHK_UUID 0x08
#define KHIB_CHK_SEQ 0x18
#define KHIB_CHK_PADDR 0x20
#define KHIB_CHK_NPAGES 0x28
#define KHIB_CHK_CODEC 0x2C  /* u16 */
#define KHIB_CHK_FLAGS 0x2E  /* u16: KHIB_CHK_SEALED or 0 */
#define KHIB_CHK_SEALED 1u   /* payload sealed; its tag counted in payload bytes */
#define KHIB_CHK_PAYLOAD_BYTES 0x30
#define KHIB_CHK_RAW_BYTES 0x34
#define KHIB_CHK_PAYLOAD_HASH 0x38 /* u64: H64(payload), 0 when sealed */
#define KHIB_CHK_BITMAPS 0x40 /* zero bitmap, then excluded bitmap */

/* Sanity limits: beyond them a count is absurd (-EOVERFLOW). */
#define KHIB_MAX_RANGES (1u << 20)
#define KHIB_MAX_CHUNKS (1ULL << 28)
#define KHIB_MAX_VMCOREINFO (1u << 20)

/* Bytes of one bitmap of a chunk of npages (whole u64 words). */
static inline uint32_t khib_chunk_bitmap_bytes(uint32_t npages)
{
	return (uint32_t)(ALIGN_UP((uint64_t)npages, 64) / 8);
}

static inline uint32_t khib_chunk_header_bytes(uint32_t npages)
{
	return KHIB_CHK_BITMAPS + 2 * khib_chunk_bitmap_bytes(npages) + 8;
}

/* Largest disk footprint of a chunk: header plus every page stored raw,
 * and room for an AEAD tag. */
static inline uint64_t khib_chunk_max_disk_bytes(uint32_t npages)
{
	return ALIGN_UP(khib_chunk_header_bytes(npages) + (uint64_t)npages * KHIB_FMT_PAGE_SIZE +
			16, (uint64_t)KHIB_FMT_BLOCK);
}

/* The decoded header, host order; layout fields beside the public info. */
struct khib_header {
	struct khib_image_info info;
	uint32_t header_size;
	uint64_t data_offset, data_end, image_end;
	uint64_t ranges_offset, ranges_hash;
	uint64_t index_offset, index_hash;
	uint64_t vmci_offset, vmci_hash;
	uint64_t fs_offset, fs_hash;
	uint64_t key_area_hash;
	uint8_t mac[32];
	uint64_t header_hash;
};

struct khib_commit {
	uint8_t uuid[KHIB_UUID_BYTES];
	uint64_t header_hash, meta_hash, image_end;
};

void khib_header_encode(const struct khib_header *h, uint8_t buf[KHIB_HEADER_SIZE]);
/* Decodes and checks one header block; does not check it against a target. */
/*
 * What the first two blocks of a target (the commit block and the header
 * block, KHIB_PROBE_BYTES) say about who owns it: all zero; a khib image
 * (committed, invalidated or unfinished: the header magic with a commit
 * record or zeros before it, or a commit record); anything else.
 */
#define KHIB_PROBE_BYTES (2 * KHIB_FMT_BLOCK)
enum khib_probe khib_image_probe(const uint8_t *buf, size_t len);

int khib_header_decode(const uint8_t *buf, size_t len, struct khib_header *ret, char *reason);

void khib_commit_encode(const struct khib_commit *c, uint8_t buf[KHIB_COMMIT_SIZE]);
int khib_commit_decode(const uint8_t *buf, size_t len, struct khib_commit *ret, char *reason);

void khib_attempt_encode(const uint8_t uuid[KHIB_UUID_BYTES], uint32_t count,
			 uint8_t buf[KHIB_ATTEMPT_SIZE]);
/* The count of the attempt record in buf (KHIB_ATTEMPT_SIZE bytes) for the
 * image `uuid`; 0 when buf holds none for it (zeros, damaged, another
 * image's). */
uint32_t khib_attempt_decode(const uint8_t *buf, const uint8_t uuid[KHIB_UUID_BYTES]);

/* Number of chunks the writer cuts a range into: one per chunk_pages-aligned
 * cell of page frame numbers the range touches. */
uint64_t khib_range_chunks(const struct khib_range *r, uint32_t chunk_pages);

/* Sorted, non-overlapping, page aligned, not wrapping, within limits. */
int khib_ranges_check(const struct khib_range *r, size_t n, uint64_t *ret_pages, char *reason);

#endif
