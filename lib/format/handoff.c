/* SPDX-License-Identifier: GPL-2.0-only */
#include "handoff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "crypt.h"
#include "util.h"

#define OFF_CHECKSUM 24
#define OFF_BODY 32
#define BODY_FIXED (8 * 8 + 16 + 65 + 65 + 8 + 4)
#define RANGE_BYTES 16
#define TARGET_FIXED (4 + 4 + 4 + KHIB_HANDOFF_NAME_LEN + 8 + 8 + KHIB_HANDOFF_ID_LEN + 4 + 4)
#define EXTENTS_BYTES (4 + 8 + 8)
#define STATUS_FIXED 16
#define IDENTITY_EXTRA 12
#define FS_BYTES (4 + KHIB_HANDOFF_MAX_FS * KHIB_FSSTAMP_BYTES + 8)
#define USED_BYTES (OFF_BODY + BODY_FIXED + KHIB_HANDOFF_MAX_RANGES * RANGE_BYTES + \
		    TARGET_FIXED + EXTENTS_BYTES + STATUS_FIXED + \
		    IDENTITY_EXTRA + FS_BYTES)

_Static_assert(USED_BYTES <= KHIB_HANDOFF_BYTES, "handoff fits a page");

/* XXH64 (seed 0) of the used part with bytes 16..31 (entry, checksum)
 * read as zero. */
static uint64_t checksum(const uint8_t *page, size_t used)
{
	uint8_t copy[KHIB_HANDOFF_BYTES];

	memcpy(copy, page, used);
	memset(copy + KHIB_HANDOFF_OFF_ENTRY, 0, 16);
	return khib_xxh64(copy, used, 0);
}

struct cursor {
	uint8_t *p;
};

static void put64(struct cursor *c, uint64_t v) { khib_put_le64(c->p, v); c->p += 8; }
static void put32(struct cursor *c, uint32_t v) { khib_put_le32(c->p, v); c->p += 4; }
static void putb(struct cursor *c, const void *b, size_t n) { memcpy(c->p, b, n); c->p += n; }

int khib_handoff_encode(const struct khib_handoff *h, void *page)
{
	uint8_t *b = page;
	struct cursor c = { b + OFF_BODY };

	if (h->nr_ranges > KHIB_HANDOFF_MAX_RANGES || h->nr_extents > KHIB_EXTMAP_MAX_EXTENTS ||
	    h->nr_fs > KHIB_HANDOFF_MAX_FS)
		return -E2BIG;
	memset(b, 0, KHIB_HANDOFF_BYTES);
	khib_put_le64(b, KHIB_HANDOFF_MAGIC);
	khib_put_le32(b + 8, KHIB_HANDOFF_VERSION);
	khib_put_le32(b + 12, USED_BYTES);
	khib_put_le64(b + KHIB_HANDOFF_OFF_ENTRY, h->jump_back_entry);

	put64(&c, h->region_start);
	put64(&c, h->region_bytes);
	put64(&c, h->low_start);
	put64(&c, h->low_bytes);
	put64(&c, h->handoff_paddr);
	put64(&c, h->flags);
	put64(&c, h->vmcoreinfo_paddr);
	put64(&c, h->vmcoreinfo_bytes);
	putb(&c, h->boot_id, 16);
	putb(&c, h->release, 65);
	putb(&c, h->version, 65);
	put64(&c, h->memmap_hash);
	put32(&c, h->nr_ranges);
	for (uint32_t i = 0; i < KHIB_HANDOFF_MAX_RANGES; i++) {
		put64(&c, i < h->nr_ranges ? h->ranges[i].start : 0);
		put64(&c, i < h->nr_ranges ? h->ranges[i].bytes : 0);
	}
	put32(&c, h->codec);
	put32(&c, (uint32_t)h->codec_level);
	put32(&c, h->threads);
	putb(&c, h->target_name, KHIB_HANDOFF_NAME_LEN);
	put64(&c, h->target_dev);
	put64(&c, h->target_bytes);
	putb(&c, h->target_id, KHIB_HANDOFF_ID_LEN);
	put32(&c, h->target_part);
	put32(&c, h->nr_extents);
	put64(&c, h->extents_paddr);
	put64(&c, h->extents_hash);
	put64(&c, h->status_paddr);
	put64(&c, h->status_nonce);
	put64(&c, h->num_physpages);
	put32(&c, h->e820_crc32);
	put32(&c, h->nr_fs);
	for (uint32_t i = 0; i < h->nr_fs; i++)
		khib_fsstamp_encode(&h->fs[i], c.p + i * KHIB_FSSTAMP_BYTES);
	c.p += KHIB_HANDOFF_MAX_FS * KHIB_FSSTAMP_BYTES;
	put64(&c, h->key_paddr);
	khib_put_le64(b + OFF_CHECKSUM, checksum(b, USED_BYTES));
	return 0;
}

struct rcursor {
	const uint8_t *p;
};

static uint64_t get64(struct rcursor *c) { uint64_t v = khib_get_le64(c->p); c->p += 8; return v; }
static uint32_t get32(struct rcursor *c) { uint32_t v = khib_get_le32(c->p); c->p += 4; return v; }
static void getb(struct rcursor *c, void *b, size_t n) { memcpy(b, c->p, n); c->p += n; }

static int check_fields(const struct khib_handoff *h)
{
	uint64_t prev_end = 0;

	if (h->nr_ranges > KHIB_HANDOFF_MAX_RANGES || !h->region_bytes ||
	    !khib_range_within(h->region_start, h->region_bytes, UINT64_MAX) ||
	    !khib_range_within(h->low_start, h->low_bytes, 1ULL << 20) ||
	    h->release[64] || h->version[64] || h->target_name[KHIB_HANDOFF_NAME_LEN - 1] ||
	    h->target_id[KHIB_HANDOFF_ID_LEN - 1] ||
	    h->nr_extents > KHIB_EXTMAP_MAX_EXTENTS || !IS_ALIGNED(h->status_paddr, 8) ||
	    !IS_ALIGNED(h->extents_paddr, KHIB_PAGE_SIZE) || (h->nr_extents && !h->extents_paddr))
		return -EBADMSG;
	for (uint32_t i = 0; i < h->nr_ranges; i++) {
		if (!h->ranges[i].bytes || h->ranges[i].start < prev_end ||
		    !khib_range_within(h->ranges[i].start, h->ranges[i].bytes, UINT64_MAX))
			return -EBADMSG;
		prev_end = h->ranges[i].start + h->ranges[i].bytes;
	}
	return 0;
}

int khib_handoff_decode(const void *page, size_t len, struct khib_handoff *ret)
{
	const uint8_t *b = page;
	struct khib_handoff h;
	struct rcursor c = { b + OFF_BODY };
	int r;

	if (len < OFF_BODY || khib_get_le64(b) != KHIB_HANDOFF_MAGIC)
		return -ENODATA;
	if (khib_get_le32(b + 8) != KHIB_HANDOFF_VERSION)
		return -EOPNOTSUPP;
	if (khib_get_le32(b + 12) != USED_BYTES || len < USED_BYTES)
		return -EBADMSG;
	if (khib_get_le64(b + OFF_CHECKSUM) != checksum(b, USED_BYTES))
		return -EBADMSG;

	memset(&h, 0, sizeof(h));
	h.jump_back_entry = khib_get_le64(b + KHIB_HANDOFF_OFF_ENTRY);
	h.region_start = get64(&c);
	h.region_bytes = get64(&c);
	h.low_start = get64(&c);
	h.low_bytes = get64(&c);
	h.handoff_paddr = get64(&c);
	h.flags = get64(&c);
	h.vmcoreinfo_paddr = get64(&c);
	h.vmcoreinfo_bytes = get64(&c);
	getb(&c, h.boot_id, 16);
	getb(&c, h.release, 65);
	getb(&c, h.version, 65);
	h.memmap_hash = get64(&c);
	h.nr_ranges = get32(&c);
	if (h.nr_ranges > KHIB_HANDOFF_MAX_RANGES)
		return -EBADMSG;
	for (uint32_t i = 0; i < KHIB_HANDOFF_MAX_RANGES; i++) {
		h.ranges[i].start = get64(&c);
		h.ranges[i].bytes = get64(&c);
	}
	h.codec = get32(&c);
	h.codec_level = (int32_t)get32(&c);
	h.threads = get32(&c);
	getb(&c, h.target_name, KHIB_HANDOFF_NAME_LEN);
	h.target_dev = get64(&c);
	h.target_bytes = get64(&c);
	getb(&c, h.target_id, KHIB_HANDOFF_ID_LEN);
	h.target_part = get32(&c);
	h.nr_extents = get32(&c);
	h.extents_paddr = get64(&c);
	h.extents_hash = get64(&c);
	h.status_paddr = get64(&c);
	h.status_nonce = get64(&c);
	h.num_physpages = get64(&c);
	h.e820_crc32 = get32(&c);
	h.nr_fs = get32(&c);
	if (h.nr_fs > KHIB_HANDOFF_MAX_FS)
		return -EBADMSG;
	for (uint32_t i = 0; i < h.nr_fs; i++)
		if (khib_fsstamp_decode(c.p + i * KHIB_FSSTAMP_BYTES, &h.fs[i]) < 0)
			return -EBADMSG;
	c.p += KHIB_HANDOFF_MAX_FS * KHIB_FSSTAMP_BYTES;
	h.key_paddr = get64(&c);
	if (!IS_ALIGNED(h.key_paddr, KHIB_PAGE_SIZE))
		return -EBADMSG;
	r = check_fields(&h);
	if (r < 0)
		return r;
	*ret = h;
	return 0;
}

int khib_handoff_fail(const void *page, size_t len, int err, char *reason)
{
	const uint8_t *b = page;

	if (err == -EOPNOTSUPP && len >= OFF_BODY)
		return khib_fail(reason, err, "unsupported handoff version %u (this khib speaks %u)",
				 khib_get_le32(b + 8), KHIB_HANDOFF_VERSION);
	if (err == -ENODATA)
		return khib_fail(reason, err, "no handoff block (wrong magic)");
	if (err == -EBADMSG)
		return khib_fail(reason, err, "corrupt handoff block");
	return khib_fail(reason, err, "%s", strerror(-err));
}

uint64_t khib_extmap_encode(const struct khib_extent *ext, size_t n, void *buf)
{
	uint8_t *b = buf;

	for (size_t i = 0; i < n; i++) {
		khib_put_le64(b + i * KHIB_EXTMAP_ENTRY_BYTES, ext[i].physical);
		khib_put_le64(b + i * KHIB_EXTMAP_ENTRY_BYTES + 8, ext[i].length);
	}
	return khib_xxh64(buf, n * KHIB_EXTMAP_ENTRY_BYTES, 0);
}

int khib_extmap_decode(const void *buf, size_t n, uint64_t hash, struct khib_extent **ret)
{
	const uint8_t *b = buf;
	struct khib_extent *v;
	uint64_t logical = 0;

	if (n > KHIB_EXTMAP_MAX_EXTENTS)
		return -E2BIG;
	if (!n || khib_xxh64(buf, n * KHIB_EXTMAP_ENTRY_BYTES, 0) != hash)
		return -EBADMSG;
	if (!(v = calloc(n, sizeof(*v))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint64_t phys = khib_get_le64(b + i * KHIB_EXTMAP_ENTRY_BYTES);
		uint64_t len = khib_get_le64(b + i * KHIB_EXTMAP_ENTRY_BYTES + 8);

		if (!len || !IS_ALIGNED(phys | len, (uint64_t)KHIB_TARGET_BLOCK) ||
		    !khib_range_within(phys, len, UINT64_MAX) ||
		    !khib_range_within(logical, len, UINT64_MAX)) {
			free(v);
			return -EBADMSG;
		}
		v[i] = (struct khib_extent){ logical, phys, len };
		logical += len;
	}
	*ret = v;
	return 0;
}

#define KEYPAGE_MAGIC 0x505945594249484bULL /* "KHIBKEYP" in memory */
#define KEYPAGE_AREA 64
#define KEYPAGE_SUM (KEYPAGE_AREA + KHIB_KEY_AREA_BYTES)

_Static_assert(KEYPAGE_SUM + 8 <= KHIB_KEYPAGE_BYTES, "the key page fits a page");

void khib_keypage_encode(const struct khib_image_key *k, const uint8_t uuid[16], void *page)
{
	uint8_t *b = page;

	memset(b, 0, KHIB_KEYPAGE_BYTES);
	khib_put_le64(b, KEYPAGE_MAGIC);
	khib_put_le32(b + 8, k->aead);
	khib_put_le32(b + 12, k->n_slots);
	memcpy(b + 16, uuid, 16);
	memcpy(b + 32, k->dk, sizeof(k->dk));
	memcpy(b + KEYPAGE_AREA, k->key_area, KHIB_KEY_AREA_BYTES);
	khib_put_le64(b + KEYPAGE_SUM, khib_xxh64(b, KEYPAGE_SUM, 0));
}

int khib_keypage_decode(const void *page, struct khib_image_key *ret, uint8_t uuid[16])
{
	const uint8_t *b = page;

	if (khib_get_le64(b) != KEYPAGE_MAGIC)
		return -ENODATA;
	if (khib_get_le64(b + KEYPAGE_SUM) != khib_xxh64(b, KEYPAGE_SUM, 0) || !khib_get_le32(b + 8))
		return -EBADMSG;
	ret->aead = khib_get_le32(b + 8);
	ret->n_slots = khib_get_le32(b + 12);
	memcpy(uuid, b + 16, 16);
	memcpy(ret->dk, b + 32, sizeof(ret->dk));
	memcpy(ret->key_area, b + KEYPAGE_AREA, KHIB_KEY_AREA_BYTES);
	return 0;
}

#define STATUS_MAGIC 0x544154534249484bULL /* "KHIBSTAT" in memory */
#define STATUS_OFF_BODY 16

void khib_status_encode(const struct khib_status *st, void *buf)
{
	uint8_t *b = buf;
	struct cursor c = { b + STATUS_OFF_BODY };

	memset(b, 0, KHIB_STATUS_BYTES);
	khib_put_le64(b, STATUS_MAGIC);
	put64(&c, st->nonce);
	put32(&c, st->state);
	put32(&c, (uint32_t)st->error);
	put64(&c, st->time_ns);
	put64(&c, st->saved_pages);
	put64(&c, st->stored_pages);
	put64(&c, st->image_bytes);
	put64(&c, st->elapsed_ns);
	putb(&c, st->image_uuid, 16);
	putb(&c, st->reason, sizeof(st->reason));
	c.p[-1] = '\0';
	khib_put_le64(b + 8, khib_xxh64(b + STATUS_OFF_BODY, KHIB_STATUS_BYTES - STATUS_OFF_BODY, 0));
}

_Static_assert(STATUS_OFF_BODY + 8 * 7 + 16 + 256 <= KHIB_STATUS_BYTES, "status fits");

int khib_status_decode(const void *buf, uint64_t nonce, struct khib_status *ret)
{
	const uint8_t *b = buf;
	struct rcursor c = { b + STATUS_OFF_BODY };
	struct khib_status st;

	if (khib_get_le64(b) != STATUS_MAGIC)
		return -ENODATA;
	if (khib_get_le64(b + 8) !=
	    khib_xxh64(b + STATUS_OFF_BODY, KHIB_STATUS_BYTES - STATUS_OFF_BODY, 0))
		return -EBADMSG;
	st.nonce = get64(&c);
	st.state = get32(&c);
	st.error = (int32_t)get32(&c);
	st.time_ns = get64(&c);
	st.saved_pages = get64(&c);
	st.stored_pages = get64(&c);
	st.image_bytes = get64(&c);
	st.elapsed_ns = get64(&c);
	getb(&c, st.image_uuid, 16);
	getb(&c, st.reason, sizeof(st.reason));
	if (st.reason[sizeof(st.reason) - 1])
		return -EBADMSG;
	if (st.nonce != nonce)
		return -ESTALE;
	*ret = st;
	return 0;
}

/* Append [s, e) minus the holes [hs, he) (sorted) to out. */
static int subtract(uint64_t s, uint64_t e, const uint64_t holes[][2], size_t nholes,
		    struct khib_range *out, size_t *n, size_t cap)
{
	for (size_t i = 0; i < nholes && s < e; i++) {
		if (holes[i][1] <= s || holes[i][0] >= e)
			continue;
		if (holes[i][0] > s) {
			if (*n == cap)
				return -E2BIG;
			out[(*n)++] = (struct khib_range){ s, (holes[i][0] - s) / KHIB_PAGE_SIZE };
		}
		s = holes[i][1];
	}
	if (s < e) {
		if (*n == cap)
			return -E2BIG;
		out[(*n)++] = (struct khib_range){ s, (e - s) / KHIB_PAGE_SIZE };
	}
	return 0;
}

int khib_handoff_record_ram(const struct khib_memmap *fw, struct khib_handoff *h)
{
	h->nr_ranges = 0;
	for (size_t i = 0; i < fw->n; i++) {
		if (fw->r[i].type != KHIB_E820_RAM)
			continue;
		if (h->nr_ranges == KHIB_HANDOFF_MAX_RANGES)
			return -E2BIG;
		h->ranges[h->nr_ranges].start = fw->r[i].start;
		h->ranges[h->nr_ranges].bytes = fw->r[i].end - fw->r[i].start;
		h->nr_ranges++;
	}
	return 0;
}

int khib_save_ranges(const struct khib_handoff *h, struct khib_range **ret, size_t *ret_n,
		     uint64_t *ret_total_pages)
{
	uint64_t holes[2][2] = {
		{ h->low_start, h->low_start + h->low_bytes },
		{ h->region_start, h->region_start + h->region_bytes },
	};
	size_t cap = h->nr_ranges + 2, n = 0;
	_cleanup_free_ struct khib_range *out = calloc(cap, sizeof(*out));
	uint64_t total = 0;
	int r;

	if (!out)
		return -ENOMEM;
	if (holes[0][0] > holes[1][0])
		return -EINVAL;
	for (uint32_t i = 0; i < h->nr_ranges; i++) {
		/* Whole pages only: a partial page at either end is firmware's. */
		uint64_t s = ALIGN_UP(h->ranges[i].start, KHIB_PAGE_SIZE);
		uint64_t e = ALIGN_DOWN(h->ranges[i].start + h->ranges[i].bytes, KHIB_PAGE_SIZE);

		if (e <= s)
			continue;
		total += (e - s) / KHIB_PAGE_SIZE;
		r = subtract(s, e, holes, 2, out, &n, cap);
		if (r < 0)
			return r;
	}
	if (!n)
		return -ENODATA;
	*ret = TAKE_PTR(out);
	*ret_n = n;
	*ret_total_pages = total;
	return 0;
}
