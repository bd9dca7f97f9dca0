/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Encoding and decoding of the fixed structures of the image format, and the
 * checks that need no other part of the image.  See image_format.h.
 */
#include "image_format.h"
#include "checksum.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void put_str(uint8_t *p, const char *s)
{
	size_t n = strnlen(s, KHIB_UTS_LEN - 1);

	memset(p, 0, KHIB_HDR_UTS_FIELD);
	memcpy(p, s, n);
}

/* A string field must be NUL terminated within the kernel's own limit. */
static int get_str(const uint8_t *p, char out[KHIB_UTS_LEN])
{
	size_t n = strnlen((const char *)p, KHIB_HDR_UTS_FIELD);

	if (n >= KHIB_UTS_LEN)
		return -EBADMSG;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

static void encode_identity(const struct khib_image_info *i, uint8_t *b)
{
	const struct khib_resume_info *rs = &i->resume;
	const struct khib_encryption_info *e = &i->encryption;

	khib_put_le32(b + KHIB_HDR_E820_CRC32, i->kernel.e820_crc32);
	khib_put_le64(b + KHIB_HDR_JUMP_BACK, rs->jump_back_entry);
	khib_put_le64(b + KHIB_HDR_REGION_START, rs->region_start);
	khib_put_le64(b + KHIB_HDR_REGION_BYTES, rs->region_bytes);
	khib_put_le64(b + KHIB_HDR_LOWMEM_START, rs->lowmem_start);
	khib_put_le64(b + KHIB_HDR_LOWMEM_SIZE, rs->lowmem_size);
	khib_put_le64(b + KHIB_HDR_DIRECT_MAP, rs->direct_map_base);
	khib_put_le64(b + KHIB_HDR_MEMMAP_HASH, i->kernel.memmap_hash);
	khib_put_le64(b + KHIB_HDR_NUM_PHYSPAGES, i->kernel.num_physpages);
	memcpy(b + KHIB_HDR_BOOT_ID, i->kernel.boot_id, 16);
	put_str(b + KHIB_HDR_UTS_RELEASE, i->kernel.uts_release);
	put_str(b + KHIB_HDR_UTS_VERSION, i->kernel.uts_version);
	khib_put_le32(b + KHIB_HDR_ENC_ALG, e->algorithm);
	khib_put_le32(b + KHIB_HDR_ENC_SLOTS, e->n_slots);
}

void khib_header_encode(const struct khib_header *h, uint8_t buf[KHIB_HEADER_SIZE])
{
	const struct khib_image_info *i = &h->info;

	memset(buf, 0, KHIB_HEADER_SIZE);
	memcpy(buf + KHIB_HDR_MAGIC, KHIB_HEADER_MAGIC, 8);
	khib_put_le32(buf + KHIB_HDR_VERSION, KHIB_FMT_VERSION);
	khib_put_le32(buf + KHIB_HDR_HEADER_SIZE, KHIB_HEADER_SIZE);
	khib_put_le64(buf + KHIB_HDR_INCOMPAT, i->incompat_flags);
	khib_put_le64(buf + KHIB_HDR_COMPAT, i->compat_flags);
	memcpy(buf + KHIB_HDR_UUID, i->uuid, KHIB_UUID_BYTES);
	khib_put_le64(buf + KHIB_HDR_CREATED_NS, i->created_ns);
	khib_put_le32(buf + KHIB_HDR_PAGE_SIZE, KHIB_FMT_PAGE_SIZE);
	khib_put_le16(buf + KHIB_HDR_CODEC, (uint16_t)i->codec);
	khib_put_le16(buf + KHIB_HDR_CODEC_LEVEL, (uint16_t)(int16_t)i->codec_level);
	khib_put_le32(buf + KHIB_HDR_CHUNK_PAGES, i->chunk_pages);
	khib_put_le64(buf + KHIB_HDR_TOTAL_RAM_PAGES, i->total_ram_pages);
	khib_put_le64(buf + KHIB_HDR_SAVED_PAGES, i->saved_pages);
	khib_put_le64(buf + KHIB_HDR_STORED_PAGES, i->stored_pages);
	khib_put_le64(buf + KHIB_HDR_ZERO_PAGES, i->zero_pages);
	khib_put_le64(buf + KHIB_HDR_EXCLUDED_PAGES, i->excluded_pages);
	encode_identity(i, buf);
	khib_put_le64(buf + KHIB_HDR_DATA_OFFSET, h->data_offset);
	khib_put_le64(buf + KHIB_HDR_DATA_END, h->data_end);
	khib_put_le64(buf + KHIB_HDR_IMAGE_END, h->image_end);
	khib_put_le64(buf + KHIB_HDR_RANGES_OFFSET, h->ranges_offset);
	khib_put_le64(buf + KHIB_HDR_RANGES_COUNT, i->n_ranges);
	khib_put_le64(buf + KHIB_HDR_RANGES_HASH, h->ranges_hash);
	khib_put_le64(buf + KHIB_HDR_INDEX_OFFSET, h->index_offset);
	khib_put_le64(buf + KHIB_HDR_INDEX_COUNT, i->n_chunks);
	khib_put_le64(buf + KHIB_HDR_INDEX_HASH, h->index_hash);
	khib_put_le64(buf + KHIB_HDR_VMCI_OFFSET, h->vmci_offset);
	khib_put_le64(buf + KHIB_HDR_VMCI_BYTES, i->vmcoreinfo_bytes);
	khib_put_le64(buf + KHIB_HDR_VMCI_HASH, h->vmci_hash);
	khib_put_le64(buf + KHIB_HDR_DATA_BYTES, i->data_bytes);
	khib_put_le64(buf + KHIB_HDR_KEY_AREA_HASH, h->key_area_hash);
	memcpy(buf + KHIB_HDR_MAC, h->mac, sizeof(h->mac));
	if (i->compat_flags & KHIB_COMPAT_FS_TABLE) {
		khib_put_le64(buf + KHIB_HDR_FS_OFFSET, h->fs_offset);
		khib_put_le64(buf + KHIB_HDR_FS_COUNT, i->n_fs);
		khib_put_le64(buf + KHIB_HDR_FS_HASH, h->fs_hash);
	}
	khib_put_le64(buf + KHIB_HEADER_SIZE - 8, khib_hash64(buf, KHIB_HEADER_SIZE - 8));
}

/* Magic, version, size and checksum: whether these bytes are a v1 header. */
static int decode_envelope(const uint8_t *buf, size_t len, struct khib_header *h, char *reason)
{
	uint64_t want, known;

	if (len < KHIB_HEADER_SIZE)
		return khib_fail(reason, -EBADMSG, "header truncated");
	if (memcmp(buf + KHIB_HDR_MAGIC, KHIB_HEADER_MAGIC, 8))
		return khib_fail(reason, -EBADMSG, "bad header magic");
	h->info.version = khib_get_le32(buf + KHIB_HDR_VERSION);
	if (h->info.version != 1 && h->info.version != KHIB_FMT_VERSION)
		return khib_fail(reason, -EOPNOTSUPP, "unsupported format version %" PRIu32,
				 h->info.version);
	h->header_size = khib_get_le32(buf + KHIB_HDR_HEADER_SIZE);
	if (h->header_size < KHIB_HEADER_SIZE || h->header_size > KHIB_FMT_BLOCK ||
	    h->header_size % 8 || h->header_size > len)
		return khib_fail(reason, -EBADMSG, "bad header size %" PRIu32, h->header_size);
	h->header_hash = khib_get_le64(buf + h->header_size - 8);
	want = khib_hash64(buf, h->header_size - 8);
	if (h->header_hash != want)
		return khib_fail(reason, -EBADMSG, "header checksum mismatch");
	h->info.incompat_flags = khib_get_le64(buf + KHIB_HDR_INCOMPAT);
	h->info.compat_flags = khib_get_le64(buf + KHIB_HDR_COMPAT);
	/* Version 1 knew no incompatible feature. */
	known = h->info.version >= 2 ? KHIB_INCOMPAT_KNOWN : 0;
	if (h->info.incompat_flags & ~known)
		return khib_fail(reason, -EOPNOTSUPP, "unknown incompatible feature flags 0x%" PRIx64,
				 (uint64_t)(h->info.incompat_flags & ~known));
	h->key_area_hash = khib_get_le64(buf + KHIB_HDR_KEY_AREA_HASH);
	memcpy(h->mac, buf + KHIB_HDR_MAC, sizeof(h->mac));
	return 0;
}

/* In clear: nothing of the encryption section is set.  Encrypted: an
 * algorithm this reader knows and a key slot count that fits the area. */
static int decode_encryption(const uint8_t *b, struct khib_image_info *i, char *reason)
{
	struct khib_encryption_info *e = &i->encryption;
	static const uint8_t zero[KHIB_MAC_BYTES];

	e->algorithm = khib_get_le32(b + KHIB_HDR_ENC_ALG);
	e->n_slots = khib_get_le32(b + KHIB_HDR_ENC_SLOTS);
	if (!(i->incompat_flags & KHIB_INCOMPAT_ENCRYPTED)) {
		if (e->algorithm || e->n_slots || khib_get_le64(b + KHIB_HDR_KEY_AREA_HASH) ||
		    memcmp(b + KHIB_HDR_MAC, zero, sizeof(zero)))
			return khib_fail(reason, -EBADMSG, "encryption fields in an image in clear");
		return 0;
	}
	if (e->algorithm != KHIB_AEAD_XCHACHA20_POLY1305 && e->algorithm != KHIB_AEAD_AES256_GCM)
		return khib_fail(reason, -EOPNOTSUPP, "unsupported encryption algorithm %" PRIu32,
				 e->algorithm);
	if (!e->n_slots || e->n_slots > KHIB_MAX_KEY_SLOTS)
		return khib_fail(reason, -EBADMSG, "bad key slot count %" PRIu32, e->n_slots);
	return 0;
}

static int decode_identity(const uint8_t *b, struct khib_image_info *i, char *reason)
{
	struct khib_resume_info *rs = &i->resume;

	i->kernel.e820_crc32 = khib_get_le32(b + KHIB_HDR_E820_CRC32);
	i->kernel.memmap_hash = khib_get_le64(b + KHIB_HDR_MEMMAP_HASH);
	i->kernel.num_physpages = khib_get_le64(b + KHIB_HDR_NUM_PHYSPAGES);
	memcpy(i->kernel.boot_id, b + KHIB_HDR_BOOT_ID, 16);
	if (get_str(b + KHIB_HDR_UTS_RELEASE, i->kernel.uts_release) < 0 ||
	    get_str(b + KHIB_HDR_UTS_VERSION, i->kernel.uts_version) < 0)
		return khib_fail(reason, -EBADMSG, "kernel name not terminated");
	rs->jump_back_entry = khib_get_le64(b + KHIB_HDR_JUMP_BACK);
	rs->region_start = khib_get_le64(b + KHIB_HDR_REGION_START);
	rs->region_bytes = khib_get_le64(b + KHIB_HDR_REGION_BYTES);
	rs->lowmem_start = khib_get_le64(b + KHIB_HDR_LOWMEM_START);
	rs->lowmem_size = khib_get_le64(b + KHIB_HDR_LOWMEM_SIZE);
	rs->direct_map_base = khib_get_le64(b + KHIB_HDR_DIRECT_MAP);
	if (!khib_range_within(rs->region_start, rs->region_bytes, UINT64_MAX) ||
	    !khib_range_within(rs->lowmem_start, rs->lowmem_size, UINT64_MAX))
		return khib_fail(reason, -EBADMSG, "region wraps around");
	return decode_encryption(b, i, reason);
}

static int decode_counts(const uint8_t *b, struct khib_image_info *i, char *reason)
{
	i->created_ns = khib_get_le64(b + KHIB_HDR_CREATED_NS);
	memcpy(i->uuid, b + KHIB_HDR_UUID, KHIB_UUID_BYTES);
	i->page_size = khib_get_le32(b + KHIB_HDR_PAGE_SIZE);
	if (i->page_size != KHIB_FMT_PAGE_SIZE)
		return khib_fail(reason, -EOPNOTSUPP, "unsupported page size %" PRIu32, i->page_size);
	i->codec = khib_get_le16(b + KHIB_HDR_CODEC);
	i->codec_level = (int16_t)khib_get_le16(b + KHIB_HDR_CODEC_LEVEL);
	if (!khib_codec_name(i->codec))
		return khib_fail(reason, -EOPNOTSUPP, "unknown codec %u", i->codec);
	i->chunk_pages = khib_get_le32(b + KHIB_HDR_CHUNK_PAGES);
	if (!i->chunk_pages || i->chunk_pages > KHIB_MAX_CHUNK_PAGES)
		return khib_fail(reason, -EBADMSG, "bad chunk size %" PRIu32 " pages", i->chunk_pages);
	i->total_ram_pages = khib_get_le64(b + KHIB_HDR_TOTAL_RAM_PAGES);
	i->saved_pages = khib_get_le64(b + KHIB_HDR_SAVED_PAGES);
	i->stored_pages = khib_get_le64(b + KHIB_HDR_STORED_PAGES);
	i->zero_pages = khib_get_le64(b + KHIB_HDR_ZERO_PAGES);
	i->excluded_pages = khib_get_le64(b + KHIB_HDR_EXCLUDED_PAGES);
	/* Each count is at most saved_pages, so the sum cannot wrap unnoticed. */
	if (i->stored_pages > i->saved_pages || i->zero_pages > i->saved_pages ||
	    i->excluded_pages > i->saved_pages ||
	    i->stored_pages + i->zero_pages + i->excluded_pages != i->saved_pages)
		return khib_fail(reason, -EBADMSG, "page counts do not add up");
	if (i->total_ram_pages && i->saved_pages > i->total_ram_pages)
		return khib_fail(reason, -EBADMSG, "more pages saved than RAM");
	i->n_ranges = khib_get_le64(b + KHIB_HDR_RANGES_COUNT);
	i->n_chunks = khib_get_le64(b + KHIB_HDR_INDEX_COUNT);
	i->vmcoreinfo_bytes = khib_get_le64(b + KHIB_HDR_VMCI_BYTES);
	i->data_bytes = khib_get_le64(b + KHIB_HDR_DATA_BYTES);
	if (i->n_ranges > KHIB_MAX_RANGES || i->n_chunks > KHIB_MAX_CHUNKS ||
	    i->vmcoreinfo_bytes > KHIB_MAX_VMCOREINFO)
		return khib_fail(reason, -EOVERFLOW, "absurd table size");
	return 0;
}

/* A table of `bytes` at off (and its tag, encrypted) must lie in
 * [data_end, image_end).  Counts are within their limits already. */
static bool table_ok(const struct khib_header *h, uint64_t off, uint64_t bytes)
{
	if (h->info.incompat_flags & KHIB_INCOMPAT_ENCRYPTED)
		bytes += KHIB_AEAD_TAG_BYTES;
	return off >= h->data_end && IS_ALIGNED(off, 8ULL) &&
	       khib_range_within(off, bytes, h->image_end);
}

/* The file system table: only with its compat flag (a reader that ignores
 * the flag ignores these fields too). */
static int decode_fs_table(const uint8_t *b, struct khib_header *h, char *reason)
{
	struct khib_image_info *i = &h->info;

	if (!(i->compat_flags & KHIB_COMPAT_FS_TABLE))
		return 0;
	h->fs_offset = khib_get_le64(b + KHIB_HDR_FS_OFFSET);
	i->n_fs = khib_get_le64(b + KHIB_HDR_FS_COUNT);
	h->fs_hash = khib_get_le64(b + KHIB_HDR_FS_HASH);
	if (i->n_fs > KHIB_FSSTAMP_MAX)
		return khib_fail(reason, -EOVERFLOW, "absurd file system table size");
	if (!table_ok(h, h->fs_offset, i->n_fs * KHIB_FSSTAMP_BYTES))
		return khib_fail(reason, -EBADMSG, "metadata outside the image");
	return 0;
}

static int decode_layout(const uint8_t *b, struct khib_header *h, char *reason)
{
	const struct khib_image_info *i = &h->info;

	h->data_offset = khib_get_le64(b + KHIB_HDR_DATA_OFFSET);
	h->data_end = khib_get_le64(b + KHIB_HDR_DATA_END);
	h->image_end = khib_get_le64(b + KHIB_HDR_IMAGE_END);
	h->ranges_offset = khib_get_le64(b + KHIB_HDR_RANGES_OFFSET);
	h->ranges_hash = khib_get_le64(b + KHIB_HDR_RANGES_HASH);
	h->index_offset = khib_get_le64(b + KHIB_HDR_INDEX_OFFSET);
	h->index_hash = khib_get_le64(b + KHIB_HDR_INDEX_HASH);
	h->vmci_offset = khib_get_le64(b + KHIB_HDR_VMCI_OFFSET);
	h->vmci_hash = khib_get_le64(b + KHIB_HDR_VMCI_HASH);
	if (h->data_offset < KHIB_DATA_OFFSET || h->data_offset > h->data_end ||
	    h->data_end > h->image_end ||
	    !IS_ALIGNED(h->data_offset | h->data_end | h->image_end, (uint64_t)KHIB_FMT_BLOCK))
		return khib_fail(reason, -EBADMSG, "bad data area");
	if (i->data_bytes > h->data_end - h->data_offset)
		return khib_fail(reason, -EBADMSG, "data size exceeds data area");
	if (!table_ok(h, h->ranges_offset, i->n_ranges * KHIB_RANGE_ENTRY_SIZE) ||
	    !table_ok(h, h->index_offset, i->n_chunks * KHIB_INDEX_ENTRY_SIZE) ||
	    !table_ok(h, h->vmci_offset, i->vmcoreinfo_bytes))
		return khib_fail(reason, -EBADMSG, "metadata outside the image");
	return decode_fs_table(b, h, reason);
}

int khib_header_decode(const uint8_t *buf, size_t len, struct khib_header *ret, char *reason)
{
	struct khib_header h = { 0 };
	int r;

	r = decode_envelope(buf, len, &h, reason);
	if (r >= 0)
		r = decode_counts(buf, &h.info, reason);
	if (r >= 0)
		r = decode_identity(buf, &h.info, reason);
	if (r >= 0)
		r = decode_layout(buf, &h, reason);
	if (r < 0)
		return r;
	h.info.image_bytes = h.image_end;
	*ret = h;
	return 0;
}

void khib_commit_encode(const struct khib_commit *c, uint8_t buf[KHIB_COMMIT_SIZE])
{
	memset(buf, 0, KHIB_COMMIT_SIZE);
	memcpy(buf + KHIB_CMT_MAGIC, KHIB_COMMIT_MAGIC, 8);
	khib_put_le32(buf + KHIB_CMT_VERSION, KHIB_COMMIT_VERSION);
	khib_put_le32(buf + KHIB_CMT_SIZE, KHIB_COMMIT_SIZE);
	memcpy(buf + KHIB_CMT_UUID, c->uuid, KHIB_UUID_BYTES);
	khib_put_le64(buf + KHIB_CMT_HEADER_HASH, c->header_hash);
	khib_put_le64(buf + KHIB_CMT_META_HASH, c->meta_hash);
	khib_put_le64(buf + KHIB_CMT_IMAGE_END, c->image_end);
	khib_put_le64(buf + KHIB_CMT_HASH, khib_hash64(buf, KHIB_CMT_HASH));
}

int khib_commit_decode(const uint8_t *buf, size_t len, struct khib_commit *ret, char *reason)
{
	struct khib_commit c;
	uint32_t v;

	if (len < KHIB_COMMIT_SIZE || memcmp(buf + KHIB_CMT_MAGIC, KHIB_COMMIT_MAGIC, 8))
		return khib_fail(reason, -ENODATA, "no commit record (no image, or invalidated)");
	v = khib_get_le32(buf + KHIB_CMT_VERSION);
	if (v != KHIB_COMMIT_VERSION)
		return khib_fail(reason, -EOPNOTSUPP, "unsupported commit record version %" PRIu32, v);
	if (khib_get_le32(buf + KHIB_CMT_SIZE) != KHIB_COMMIT_SIZE ||
	    khib_get_le64(buf + KHIB_CMT_HASH) != khib_hash64(buf, KHIB_CMT_HASH))
		return khib_fail(reason, -EBADMSG, "commit record damaged");
	memcpy(c.uuid, buf + KHIB_CMT_UUID, KHIB_UUID_BYTES);
	c.header_hash = khib_get_le64(buf + KHIB_CMT_HEADER_HASH);
	c.meta_hash = khib_get_le64(buf + KHIB_CMT_META_HASH);
	c.image_end = khib_get_le64(buf + KHIB_CMT_IMAGE_END);
	*ret = c;
	return 0;
}

void khib_attempt_encode(const uint8_t uuid[KHIB_UUID_BYTES], uint32_t count,
			 uint8_t buf[KHIB_ATTEMPT_SIZE])
{
	memset(buf, 0, KHIB_ATTEMPT_SIZE);
	memcpy(buf + KHIB_ATT_MAGIC, KHIB_ATTEMPT_MAGIC, 8);
	memcpy(buf + KHIB_ATT_UUID, uuid, KHIB_UUID_BYTES);
	khib_put_le32(buf + KHIB_ATT_COUNT, count);
	khib_put_le64(buf + KHIB_ATT_HASH, khib_hash64(buf, KHIB_ATT_HASH));
}

uint32_t khib_attempt_decode(const uint8_t *buf, const uint8_t uuid[KHIB_UUID_BYTES])
{
	if (memcmp(buf + KHIB_ATT_MAGIC, KHIB_ATTEMPT_MAGIC, 8) ||
	    memcmp(buf + KHIB_ATT_UUID, uuid, KHIB_UUID_BYTES) ||
	    khib_get_le64(buf + KHIB_ATT_HASH) != khib_hash64(buf, KHIB_ATT_HASH))
		return 0;
	return khib_get_le32(buf + KHIB_ATT_COUNT);
}

uint64_t khib_range_chunks(const struct khib_range *r, uint32_t chunk_pages)
{
	uint64_t first = r->paddr / KHIB_FMT_PAGE_SIZE;

	if (!r->npages)
		return 0;
	return (first + r->npages - 1) / chunk_pages - first / chunk_pages + 1;
}

int khib_ranges_check(const struct khib_range *r, size_t n, uint64_t *ret_pages, char *reason)
{
	uint64_t total = 0, end = 0;

	if (n > KHIB_MAX_RANGES)
		return khib_fail(reason, -EOVERFLOW, "too many ranges (%zu)", n);
	for (size_t i = 0; i < n; i++) {
		if (!IS_ALIGNED(r[i].paddr, (uint64_t)KHIB_FMT_PAGE_SIZE) || !r[i].npages)
			return khib_fail(reason, -EBADMSG, "range %zu not page aligned or empty", i);
		if (r[i].npages > (UINT64_MAX - r[i].paddr) / KHIB_FMT_PAGE_SIZE)
			return khib_fail(reason, -EOVERFLOW, "range %zu wraps around", i);
		if (i && r[i].paddr < end)
			return khib_fail(reason, -EBADMSG, "range %zu overlaps or is out of order", i);
		end = r[i].paddr + r[i].npages * KHIB_FMT_PAGE_SIZE;
		total += r[i].npages; /* cannot wrap: ranges are disjoint in 2^52 pages */
	}
	*ret_pages = total;
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

enum khib_probe khib_image_probe(const uint8_t *buf, size_t len)
{
	const uint8_t *cmt = buf + KHIB_COMMIT_OFFSET, *hdr = buf + KHIB_HEADER_OFFSET;
	bool cmt_zero, cmt_magic;

	if (len < KHIB_PROBE_BYTES)
		return KHIB_PROBE_OTHER;
	cmt_zero = all_zero(cmt, KHIB_FMT_BLOCK);
	cmt_magic = !memcmp(cmt + KHIB_CMT_MAGIC, KHIB_COMMIT_MAGIC, 8);
	if (cmt_magic)
		return KHIB_PROBE_IMAGE;
	if (cmt_zero && !memcmp(hdr + KHIB_HDR_MAGIC, KHIB_HEADER_MAGIC, 8))
		return KHIB_PROBE_IMAGE;
	return cmt_zero && all_zero(hdr, KHIB_FMT_BLOCK) ? KHIB_PROBE_EMPTY : KHIB_PROBE_OTHER;
}
