/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The image reader.  open() reads and checks the commit record, header,
 * range table and chunk index and ties them together (UUID, hashes); read()
 * fetches chunks on a thread pool, checks each one against its index entry
 * and its own checksums, decodes it, and only then hands its pages out.
 *
 * Everything read from the target is untrusted: every length is checked
 * against the image before it is used, every count against limits before
 * anything is allocated for it.
 */
#include "image_format.h"
#include "checksum.h"
#include "threadpool.h"

#include <inttypes.h>
#include <pthread.h>
#include <string.h>

struct chunk_entry {
	struct khib_chunk_info info;
	uint64_t header_hash, payload_hash;
};

struct khib_reader {
	struct khib_target *t;
	struct khib_header h;
	struct khib_commit c;
	uint32_t attempts; /* the commit block's attempt record */
	int commit_error;
	char commit_reason[KHIB_REASON_MAX];
	struct khib_range *ranges;
	struct chunk_entry *chunks;
	uint8_t *vmcoreinfo;
	struct khib_fsstamp *fs;
	uint32_t max_disk_bytes, max_stored_pages; /* sizes the read buffers */
	struct khib_image_keys *keys;	/* an encrypted image's, once its MAC checked */
	uint8_t header_block[KHIB_FMT_BLOCK]; /* as read: the MAC covers its bytes */
};

static int read_block(struct khib_target *t, uint64_t off, uint8_t *buf, char *reason,
		      const char *what)
{
	int r;

	if (!khib_range_within(off, KHIB_FMT_BLOCK, khib_target_size(t)))
		return khib_fail(reason, -ENODATA, "target too small to hold an image");
	r = khib_target_read(t, buf, KHIB_FMT_BLOCK, off);
	if (r < 0)
		return khib_fail(reason, r, "cannot read %s: %s", what, strerror(-r));
	return 0;
}

static int read_commit(struct khib_reader *r, char *reason)
{
	uint8_t buf[KHIB_FMT_BLOCK];
	int q = read_block(r->t, KHIB_COMMIT_OFFSET, buf, reason, "commit record");

	if (q < 0)
		return q;
	q = khib_commit_decode(buf, sizeof(buf), &r->c, reason);
	if (q >= 0)
		r->attempts = khib_attempt_decode(buf + KHIB_ATTEMPT_OFFSET, r->c.uuid);
	return q;
}

static int read_header(struct khib_reader *r, char *reason)
{
	uint8_t buf[KHIB_FMT_BLOCK];
	uint64_t size = khib_target_size(r->t);
	int q = read_block(r->t, KHIB_HEADER_OFFSET, buf, reason, "header");

	if (q < 0)
		return q;
	q = khib_header_decode(buf, sizeof(buf), &r->h, reason);
	if (q < 0)
		return q;
	memcpy(r->header_block, buf, sizeof(buf));
	if (r->h.image_end > size)
		return khib_fail(reason, -EBADMSG, "image truncated: needs %" PRIu64 " bytes, target has %"
				 PRIu64, r->h.image_end, size);
	return 0;
}

/* The commit record vouches for exactly this header. */
static int match_commit(const struct khib_reader *r, char *reason)
{
	if (memcmp(r->c.uuid, r->h.info.uuid, KHIB_UUID_BYTES))
		return khib_fail(reason, -ESTALE, "commit record belongs to another image");
	if (r->c.header_hash != r->h.header_hash || r->c.image_end != r->h.image_end)
		return khib_fail(reason, -EBADMSG, "commit record does not match the header");
	return 0;
}

/* A metadata table of `bytes` (in clear) at off: its checksum as stored,
 * then, in an encrypted image, its tag under the table key. */
static int read_table(struct khib_reader *r, unsigned table, uint64_t off, uint64_t bytes,
		      uint64_t hash, uint8_t **ret, struct khib_hash_state *meta, char *reason,
		      const char *what)
{
	uint64_t stored = bytes + (r->keys ? KHIB_AEAD_TAG_BYTES : 0);
	_cleanup_free_ uint8_t *buf = malloc(stored + 1);
	int q;

	if (!buf)
		return -ENOMEM;
	q = khib_target_read(r->t, buf, stored, off);
	if (q < 0)
		return khib_fail(reason, q, "cannot read %s: %s", what, strerror(-q));
	if (khib_hash64(buf, stored) != hash)
		return khib_fail(reason, -EBADMSG, "%s checksum mismatch", what);
	khib_hash_update(meta, buf, stored);
	if (r->keys && khib_open(r->keys, KHIB_SEAL_TABLE, table, r->h.info.uuid, KHIB_UUID_BYTES,
				 buf, stored) < 0)
		return khib_fail(reason, -EBADMSG, "%s fails authentication: forged or damaged", what);
	*ret = TAKE_PTR(buf);
	return 0;
}

static int decode_ranges(struct khib_reader *r, const uint8_t *buf, char *reason)
{
	const struct khib_image_info *i = &r->h.info;
	const struct khib_resume_info *rs = &i->resume;
	uint64_t pages;
	int q;

	r->ranges = calloc(i->n_ranges + 1, sizeof(*r->ranges));
	if (!r->ranges)
		return -ENOMEM;
	for (uint64_t k = 0; k < i->n_ranges; k++) {
		r->ranges[k].paddr = khib_get_le64(buf + k * KHIB_RANGE_ENTRY_SIZE + KHIB_RNG_PADDR);
		r->ranges[k].npages = khib_get_le64(buf + k * KHIB_RANGE_ENTRY_SIZE + KHIB_RNG_NPAGES);
	}
	q = khib_ranges_check(r->ranges, i->n_ranges, &pages, reason);
	if (q < 0)
		return q;
	if (pages != i->saved_pages)
		return khib_fail(reason, -EBADMSG, "ranges hold %" PRIu64 " pages, header says %" PRIu64,
				 pages, i->saved_pages);
	for (uint64_t k = 0; k < i->n_ranges; k++)
		if (khib_ranges_overlap(r->ranges[k].paddr, r->ranges[k].npages * KHIB_FMT_PAGE_SIZE,
					rs->region_start, rs->region_bytes))
			return khib_fail(reason, -EBADMSG, "range %" PRIu64 " overlaps the writer's region", k);
	return 0;
}

static void decode_entry(const uint8_t *e, struct chunk_entry *c)
{
	c->info.paddr = khib_get_le64(e + KHIB_IDX_PADDR);
	c->info.npages = khib_get_le32(e + KHIB_IDX_NPAGES);
	c->info.stored_pages = khib_get_le32(e + KHIB_IDX_STORED_PAGES);
	c->info.disk_offset = khib_get_le64(e + KHIB_IDX_DISK_OFFSET);
	c->info.disk_bytes = khib_get_le32(e + KHIB_IDX_DISK_BYTES);
	c->info.zero_pages = khib_get_le32(e + KHIB_IDX_ZERO_PAGES);
	c->info.header_bytes = khib_chunk_header_bytes(c->info.npages);
	c->header_hash = khib_get_le64(e + KHIB_IDX_HEADER_HASH);
	c->payload_hash = khib_get_le64(e + KHIB_IDX_PAYLOAD_HASH);
}

/* One entry on its own: sizes and place in the data area. */
static int check_entry(const struct khib_reader *r, const struct chunk_entry *c, uint64_t k,
		       char *reason)
{
	const struct khib_chunk_info *ci = &c->info;

	if (!ci->npages || ci->npages > r->h.info.chunk_pages ||
	    ci->stored_pages > ci->npages || ci->zero_pages > ci->npages - ci->stored_pages)
		return khib_fail(reason, -EBADMSG, "chunk %" PRIu64 ": bad page counts", k);
	if (!IS_ALIGNED(ci->disk_offset, (uint64_t)KHIB_FMT_BLOCK) || ci->disk_offset < r->h.data_offset ||
	    !ci->disk_bytes || !IS_ALIGNED((uint64_t)ci->disk_bytes, (uint64_t)KHIB_FMT_BLOCK) ||
	    ci->disk_bytes > khib_chunk_max_disk_bytes(ci->npages) ||
	    !khib_range_within(ci->disk_offset, ci->disk_bytes, r->h.data_end))
		return khib_fail(reason, -EBADMSG, "chunk %" PRIu64 ": outside the data area", k);
	return 0;
}

/* Chunks, in index order, must tile the ranges exactly: no page twice, none
 * missing, none outside a range. */
static int check_coverage(const struct khib_reader *r, char *reason)
{
	const struct khib_image_info *i = &r->h.info;
	uint64_t k = 0, stored = 0, zero = 0, data = 0;

	for (uint64_t g = 0; g < i->n_ranges; g++) {
		uint64_t p = r->ranges[g].paddr, left = r->ranges[g].npages;

		while (left) {
			const struct khib_chunk_info *ci;

			if (k == i->n_chunks)
				return khib_fail(reason, -EBADMSG, "chunks do not cover range %" PRIu64, g);
			ci = &r->chunks[k].info;
			if (ci->paddr != p || ci->npages > left)
				return khib_fail(reason, -EBADMSG, "chunk %" PRIu64 " out of place", k);
			p += (uint64_t)ci->npages * KHIB_FMT_PAGE_SIZE;
			left -= ci->npages;
			stored += ci->stored_pages;
			zero += ci->zero_pages;
			data += ci->disk_bytes;
			k++;
		}
	}
	if (k != i->n_chunks)
		return khib_fail(reason, -EBADMSG, "chunk %" PRIu64 " outside every range", k);
	if (stored != i->stored_pages || zero != i->zero_pages || data != i->data_bytes)
		return khib_fail(reason, -EBADMSG, "chunk counts disagree with the header");
	return 0;
}

static int cmp_offset(const void *a, const void *b)
{
	const struct chunk_entry *x = *(const struct chunk_entry *const *)a;
	const struct chunk_entry *y = *(const struct chunk_entry *const *)b;

	return x->info.disk_offset < y->info.disk_offset ? -1 : x->info.disk_offset > y->info.disk_offset;
}

/* No two chunks share a disk byte: otherwise one write could damage two. */
static int check_disjoint(const struct khib_reader *r, char *reason)
{
	uint64_t n = r->h.info.n_chunks;
	_cleanup_free_ struct chunk_entry **v = calloc(n + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (uint64_t k = 0; k < n; k++)
		v[k] = &r->chunks[k];
	qsort(v, n, sizeof(*v), cmp_offset);
	for (uint64_t k = 1; k < n; k++)
		if (v[k - 1]->info.disk_offset + v[k - 1]->info.disk_bytes > v[k]->info.disk_offset)
			return khib_fail(reason, -EBADMSG, "chunks overlap on disk");
	return 0;
}

static int decode_index(struct khib_reader *r, const uint8_t *buf, char *reason)
{
	uint64_t n = r->h.info.n_chunks;
	int q;

	if (n > r->h.info.saved_pages)
		return khib_fail(reason, -EBADMSG, "more chunks than pages");
	r->chunks = calloc(n + 1, sizeof(*r->chunks));
	if (!r->chunks)
		return -ENOMEM;
	for (uint64_t k = 0; k < n; k++) {
		decode_entry(buf + k * KHIB_INDEX_ENTRY_SIZE, &r->chunks[k]);
		q = check_entry(r, &r->chunks[k], k, reason);
		if (q < 0)
			return q;
		if (r->chunks[k].info.disk_bytes > r->max_disk_bytes)
			r->max_disk_bytes = r->chunks[k].info.disk_bytes;
		if (r->chunks[k].info.stored_pages > r->max_stored_pages)
			r->max_stored_pages = r->chunks[k].info.stored_pages;
	}
	q = check_coverage(r, reason);
	if (q < 0)
		return q;
	return check_disjoint(r, reason);
}

static int decode_fs(struct khib_reader *r, const uint8_t *buf, char *reason)
{
	uint64_t n = r->h.info.n_fs;

	r->fs = calloc(n + 1, sizeof(*r->fs));
	if (!r->fs)
		return -ENOMEM;
	for (uint64_t k = 0; k < n && buf; k++)
		if (khib_fsstamp_decode(buf + k * KHIB_FSSTAMP_BYTES, &r->fs[k]) < 0)
			return khib_fail(reason, -EBADMSG, "bad file system table entry %" PRIu64, k);
	return 0;
}

static int load_metadata(struct khib_reader *r, char *reason)
{
	const struct khib_header *h = &r->h;
	_cleanup_free_ uint8_t *ranges = NULL, *index = NULL, *fs = NULL;
	struct khib_hash_state meta;
	uint8_t hdr[KHIB_FMT_BLOCK];
	int q;

	khib_hash_init(&meta);
	q = read_table(r, KHIB_TABLE_RANGES, h->ranges_offset,
		       h->info.n_ranges * KHIB_RANGE_ENTRY_SIZE, h->ranges_hash, &ranges, &meta,
		       reason, "range table");
	if (q >= 0)
		q = read_table(r, KHIB_TABLE_INDEX, h->index_offset,
			       h->info.n_chunks * KHIB_INDEX_ENTRY_SIZE, h->index_hash, &index, &meta,
			       reason, "chunk index");
	if (q >= 0)
		q = read_table(r, KHIB_TABLE_VMCOREINFO, h->vmci_offset, h->info.vmcoreinfo_bytes,
			       h->vmci_hash, &r->vmcoreinfo, &meta, reason, "VMCOREINFO");
	if (q >= 0 && (h->info.compat_flags & KHIB_COMPAT_FS_TABLE))
		q = read_table(r, KHIB_TABLE_FS, h->fs_offset, h->info.n_fs * KHIB_FSSTAMP_BYTES,
			       h->fs_hash, &fs, &meta, reason, "file system table");
	if (q < 0)
		return q;
	if (r->h.info.committed) {
		/* Re-read the header: the meta hash covers its exact bytes. */
		q = khib_target_read(r->t, hdr, h->header_size, KHIB_HEADER_OFFSET);
		if (q < 0)
			return khib_fail(reason, q, "cannot read header: %s", strerror(-q));
		khib_hash_update(&meta, hdr, h->header_size);
		if (khib_hash_final(&meta) != r->c.meta_hash)
			return khib_fail(reason, -EBADMSG, "metadata does not match the commit record");
	}
	q = decode_ranges(r, ranges, reason);
	if (q >= 0)
		q = decode_index(r, index, reason);
	if (q >= 0)
		q = decode_fs(r, fs, reason);
	return q;
}

/*
 * An encrypted image: the key area as the header's checksum says, the data
 * key from the caller, and the header's MAC under it -- before any field of
 * the header steers anything.
 * SECURITY: the data key lives in locked memory and is wiped here.
 */
static int unlock(struct khib_reader *r, khib_key_fn *key_fn, void *ctx, char *reason)
{
	const uint8_t *area = r->header_block + KHIB_KEY_AREA_OFFSET;
	uint8_t *dk = NULL, *hdr = NULL;
	int q;

	if (!key_fn)
		return khib_fail(reason, -ENOKEY, "the image is encrypted and no key was given");
	if ((q = khib_crypt_init()) < 0)
		return khib_fail(reason, q, "cannot start libsodium: %s", strerror(-q));
	if (khib_hash64(area, KHIB_KEY_AREA_BYTES) != r->h.key_area_hash)
		return khib_fail(reason, -EBADMSG, "key area checksum mismatch");
	dk = khib_secret_alloc(KHIB_DATA_KEY_BYTES);
	hdr = malloc(r->h.header_size);
	if (!dk || !hdr) {
		q = -ENOMEM;
		goto out;
	}
	q = key_fn(ctx, r->h.info.uuid, area, r->h.info.encryption.n_slots, dk, reason);
	if (q >= 0)
		q = khib_keys_new((enum khib_aead)r->h.info.encryption.algorithm, dk, &r->keys);
	if (q == -EOPNOTSUPP)
		q = khib_fail(reason, q, "this CPU cannot decrypt %s",
			      khib_aead_name(r->h.info.encryption.algorithm));
	if (q < 0)
		goto out;
	memcpy(hdr, r->header_block, r->h.header_size);
	memset(hdr + KHIB_HDR_MAC, 0, KHIB_MAC_BYTES);
	if (!khib_mac_matches(r->keys, hdr, r->h.header_size - 8, r->h.mac))
		q = khib_fail(reason, -EBADMSG, "the header fails authentication: the image was "
			      "forged or damaged, or the key is not its own");
out:
	khib_secret_free(dk);
	free(hdr);
	return q;
}

static int open_image(struct khib_reader *r, unsigned flags, khib_key_fn *key_fn, void *ctx,
		      char *reason)
{
	int q;

	q = read_commit(r, r->commit_reason);
	if (q < 0 && !(flags & KHIB_READER_UNCOMMITTED))
		return khib_fail(reason, q, "%s", r->commit_reason);
	r->commit_error = q;
	q = read_header(r, reason);
	if (q < 0 && r->commit_error < 0)
		/* No commit and no header: plainly no image; say that. */
		return khib_fail(reason, r->commit_error, "%s", r->commit_reason);
	if (q < 0)
		return q;
	if (!r->commit_error) {
		q = match_commit(r, r->commit_reason);
		if (q < 0 && !(flags & KHIB_READER_UNCOMMITTED))
			return khib_fail(reason, q, "%s", r->commit_reason);
		r->commit_error = q;
	}
	r->h.info.committed = r->commit_error == 0;
	r->h.info.restore_attempts = r->h.info.committed ? r->attempts : 0;
	if (flags & KHIB_READER_PUBLIC)
		return 0;
	if (r->h.info.incompat_flags & KHIB_INCOMPAT_ENCRYPTED) {
		q = unlock(r, key_fn, ctx, reason);
		if (q < 0)
			return q;
	}
	return load_metadata(r, reason);
}

int khib_reader_open(struct khib_target *t, unsigned flags, struct khib_reader **ret, char *reason)
{
	return khib_reader_open_keyed(t, flags, NULL, NULL, ret, reason);
}

int khib_reader_open_keyed(struct khib_target *t, unsigned flags, khib_key_fn *key_fn, void *ctx,
			   struct khib_reader **ret, char *reason)
{
	struct khib_reader *r = calloc(1, sizeof(*r));
	int q;

	if (reason)
		reason[0] = '\0';
	if (!r)
		return khib_fail_or_errno(reason, -ENOMEM);
	r->t = t;
	q = open_image(r, flags, key_fn, ctx, reason);
	if (q < 0) {
		khib_reader_free(r);
		return khib_fail_or_errno(reason, q);
	}
	*ret = r;
	return 0;
}

void khib_reader_free(struct khib_reader *r)
{
	if (!r)
		return;
	free(r->ranges);
	free(r->chunks);
	free(r->vmcoreinfo);
	free(r->fs);
	khib_keys_free(r->keys);
	free(r);
}

const struct khib_image_info *khib_reader_info(const struct khib_reader *r)
{
	return &r->h.info;
}

int khib_reader_commit_error(const struct khib_reader *r, char *reason)
{
	if (r->commit_error < 0 && reason)
		memcpy(reason, r->commit_reason, KHIB_REASON_MAX);
	return r->commit_error;
}

/* A public view (KHIB_READER_PUBLIC) has the header's counts but none of
 * the tables: it hands out nothing of them. */
const struct khib_range *khib_reader_ranges(const struct khib_reader *r, size_t *ret_n)
{
	*ret_n = r->ranges ? (size_t)r->h.info.n_ranges : 0;
	return r->ranges;
}

int khib_reader_chunk(const struct khib_reader *r, size_t i, struct khib_chunk_info *ret)
{
	if (!r->chunks || i >= r->h.info.n_chunks)
		return -ERANGE;
	*ret = r->chunks[i].info;
	return 0;
}

const struct khib_fsstamp *khib_reader_fs(const struct khib_reader *r, size_t *ret_n)
{
	*ret_n = r->fs ? (size_t)r->h.info.n_fs : 0;
	return r->fs;
}

const uint8_t *khib_reader_key_area(const struct khib_reader *r, uint32_t *ret_slots)
{
	*ret_slots = r->h.info.encryption.n_slots;
	return r->h.info.encryption.algorithm ? r->header_block + KHIB_KEY_AREA_OFFSET : NULL;
}

int khib_reader_vmcoreinfo(const struct khib_reader *r, const void **ret, size_t *ret_bytes)
{
	if (!r->h.info.vmcoreinfo_bytes || !r->vmcoreinfo)
		return -ENODATA;
	*ret = r->vmcoreinfo;
	*ret_bytes = (size_t)r->h.info.vmcoreinfo_bytes;
	return 0;
}

/* ---- reading chunks ---- */

struct chunk_view {
	unsigned codec;
	uint32_t payload_bytes, raw_bytes;
	const uint8_t *zbm, *xbm, *payload;
};

struct read_worker {
	uint8_t *buf;     /* one chunk as on disk */
	uint8_t *decoded; /* its stored pages */
	struct khib_codec_ctx *codec;
};

struct read_run {
	struct khib_reader *r;
	const struct khib_read_opts *o;
	bool deliver;
	struct read_worker *w;
	pthread_mutex_t lock;
	pthread_cond_t turn; /* in_order: next moved on, or error set */
	uint64_t next;       /* in_order: the chunk whose pages go out next */
	int error;
	char reason[KHIB_REASON_MAX];
};

static bool bit(const uint8_t *bm, uint32_t i)
{
	return bm[i / 8] >> (i % 8) & 1;
}

/* Bitmaps: disjoint, nothing past npages, counts as the index says. */
static int check_bitmaps(const struct chunk_entry *c, const struct chunk_view *v, uint64_t k,
			 char *reason)
{
	uint32_t bm = khib_chunk_bitmap_bytes(c->info.npages), zero = 0, absent = 0;

	for (uint32_t j = 0; j < bm; j++) {
		uint8_t z = v->zbm[j], x = v->xbm[j];

		if (z & x)
			return khib_fail(reason, -EBADMSG, "chunk %" PRIu64 ": page both zero and excluded", k);
		zero += (uint32_t)__builtin_popcount(z);
		absent += (uint32_t)__builtin_popcount(z | x);
	}
	for (uint32_t i = c->info.npages; i < bm * 8; i++)
		if (bit(v->zbm, i) || bit(v->xbm, i))
			return khib_fail(reason, -EBADMSG, "chunk %" PRIu64 ": bits past its end", k);
	if (zero != c->info.zero_pages || c->info.npages - absent != c->info.stored_pages ||
	    v->raw_bytes != c->info.stored_pages * KHIB_FMT_PAGE_SIZE)
		return khib_fail(reason, -EBADMSG, "chunk %" PRIu64 ": page map disagrees with the index", k);
	return 0;
}

/* The chunk header in b and, unless headers_only, the checksum of a payload
 * in clear after it (a sealed payload is open_chunk()'s to check). */
static int check_chunk(const struct khib_reader *r, uint64_t k, const uint8_t *b, bool headers_only,
		       struct chunk_view *v, char *reason)
{
	const struct chunk_entry *c = &r->chunks[k];
	uint32_t hb = khib_chunk_header_bytes(c->info.npages), tag;
	uint64_t hh;

	if (memcmp(b + KHIB_CHK_MAGIC, KHIB_CHUNK_MAGIC, 4) || khib_get_le32(b + KHIB_CHK_HEADER_BYTES) != hb ||
	    hb > c->info.disk_bytes)
		return khib_fail(reason, -EBADMSG, "chunk %" PRIu64 ": bad chunk header", k);
	hh = khib_get_le64(b + hb - 8);
	if (hh != khib_hash64(b, hb - 8))
		return khib_fail(reason, -EBADMSG, "chunk %" PRIu64 ": header checksum mismatch", k);
	if (memcmp(b + KHIB_CHK_UUID, r->h.info.uuid, KHIB_UUID_BYTES))
		return khib_fail(reason, -ESTALE, "chunk %" PRIu64 " belongs to another image", k);
	if (hh != c->header_hash || khib_get_le64(b + KHIB_CHK_SEQ) != k ||
	    khib_get_le64(b + KHIB_CHK_PADDR) != c->info.paddr ||
	    khib_get_le32(b + KHIB_CHK_NPAGES) != c->info.npages)
		return khib_fail(reason, -EBADMSG, "chunk %" PRIu64 " does not match the index", k);
	v->codec = khib_get_le16(b + KHIB_CHK_CODEC);
	if (!khib_codec_name(v->codec) ||
	    khib_get_le16(b + KHIB_CHK_FLAGS) != (r->keys ? KHIB_CHK_SEALED : 0))
		return khib_fail(reason, -EOPNOTSUPP, "chunk %" PRIu64 ": unknown codec or flags", k);
	v->payload_bytes = khib_get_le32(b + KHIB_CHK_PAYLOAD_BYTES);
	v->raw_bytes = khib_get_le32(b + KHIB_CHK_RAW_BYTES);
	v->zbm = b + KHIB_CHK_BITMAPS;
	v->xbm = v->zbm + khib_chunk_bitmap_bytes(c->info.npages);
	v->payload = b + hb;
	tag = r->keys ? KHIB_AEAD_TAG_BYTES : 0;
	if (v->payload_bytes > c->info.disk_bytes - hb || v->payload_bytes < tag ||
	    (v->codec == KHIB_CODEC_NONE && v->payload_bytes - tag != v->raw_bytes))
		return khib_fail(reason, -EBADMSG, "chunk %" PRIu64 ": bad payload size", k);
	if (khib_get_le64(b + KHIB_CHK_PAYLOAD_HASH) != c->payload_hash)
		return khib_fail(reason, -EBADMSG, "chunk %" PRIu64 " does not match the index", k);
	/* A sealed payload has no checksum: its tag, checked by open_chunk(),
	 * covers every byte of it. */
	if (r->keys && c->payload_hash)
		return khib_fail(reason, -EBADMSG, "chunk %" PRIu64 ": sealed with a payload checksum", k);
	if (!r->keys && !headers_only && khib_hash64(v->payload, v->payload_bytes) != c->payload_hash)
		return khib_fail(reason, -EBADMSG, "chunk %" PRIu64 ": data checksum mismatch", k);
	return check_bitmaps(c, v, k, reason);
}

/*
 * Decrypt a sealed payload in place: the chunk header as stored (check_chunk()
 * made sure its payload hash is 0, as the writer sealed it) is the associated
 * data, so a chunk moved to another place, another image or another address,
 * a page map edited, or any payload byte changed fails here, before any of
 * its pages is handed out.
 */
static int open_chunk(const struct khib_reader *r, uint64_t k, uint8_t *b, struct chunk_view *v,
		      char *reason)
{
	uint32_t hb = khib_chunk_header_bytes(r->chunks[k].info.npages);
	int q;

	q = khib_open(r->keys, KHIB_SEAL_CHUNK, k, b, hb - 8, b + hb, v->payload_bytes);
	if (q < 0)
		return khib_fail(reason, -EBADMSG, "chunk %" PRIu64 " fails authentication: forged "
				 "or damaged", k);
	v->payload_bytes -= KHIB_AEAD_TAG_BYTES;
	return 0;
}

/* Hand out the chunk's pages as runs of one kind. */
static int deliver(const struct read_run *run, const struct chunk_entry *c,
		   const struct chunk_view *v, const uint8_t *data)
{
	uint32_t n = c->info.npages, i = 0, s = 0;

	while (i < n) {
		enum khib_page_kind kind = bit(v->xbm, i) ? KHIB_PAGES_EXCLUDED :
					   bit(v->zbm, i) ? KHIB_PAGES_ZERO : KHIB_PAGES_DATA;
		uint32_t j = i + 1;
		int q;

		while (j < n && (bit(v->xbm, j) ? KHIB_PAGES_EXCLUDED :
				 bit(v->zbm, j) ? KHIB_PAGES_ZERO : KHIB_PAGES_DATA) == kind)
			j++;
		q = run->o->fn(run->o->ctx, c->info.paddr + (uint64_t)i * KHIB_FMT_PAGE_SIZE, j - i, kind,
			       kind == KHIB_PAGES_DATA && data ?
			       data + (size_t)s * KHIB_FMT_PAGE_SIZE : NULL);
		if (q < 0)
			return q;
		if (kind == KHIB_PAGES_DATA)
			s += j - i;
		i = j;
	}
	return 0;
}

static void run_fail(struct read_run *run, int err, const char *reason)
{
	pthread_mutex_lock(&run->lock);
	if (!run->error) {
		run->error = err;
		memcpy(run->reason, reason, KHIB_REASON_MAX);
	}
	pthread_cond_broadcast(&run->turn);
	pthread_mutex_unlock(&run->lock);
}

/*
 * In order: wait until chunk k is next (false if the read failed
 * meanwhile).  No deadlock: the pool hands out chunks in order, so every
 * chunk before k is done or held by a thread that is not waiting for k.
 */
static bool wait_turn(struct read_run *run, uint64_t k)
{
	bool go;

	pthread_mutex_lock(&run->lock);
	while (run->next != k && !run->error)
		pthread_cond_wait(&run->turn, &run->lock);
	go = !run->error;
	pthread_mutex_unlock(&run->lock);
	return go;
}

static void pass_turn(struct read_run *run)
{
	pthread_mutex_lock(&run->lock);
	run->next++;
	pthread_cond_broadcast(&run->turn);
	pthread_mutex_unlock(&run->lock);
}

static bool run_failed(struct read_run *run)
{
	bool f;

	pthread_mutex_lock(&run->lock);
	f = run->error != 0;
	pthread_mutex_unlock(&run->lock);
	return f;
}

static int process_chunk(struct read_run *run, struct read_worker *w, uint64_t k, char *reason)
{
	const struct chunk_entry *c = &run->r->chunks[k];
	bool headers_only = run->o->headers_only;
	uint32_t bytes = c->info.disk_bytes;
	const uint8_t *data;
	struct chunk_view v = { 0 };
	int q;

	if (headers_only) {
		bytes = ALIGN_UP(khib_chunk_header_bytes(c->info.npages), KHIB_FMT_BLOCK);
		if (bytes > c->info.disk_bytes)
			return khib_fail(reason, -EBADMSG, "chunk %" PRIu64 ": bad chunk header", k);
	}
	q = khib_target_read(run->r->t, w->buf, bytes, c->info.disk_offset);
	if (q < 0)
		return khib_fail(reason, q, "chunk %" PRIu64 ": read failed: %s", k, strerror(-q));
	q = check_chunk(run->r, k, w->buf, headers_only, &v, reason);
	if (q >= 0 && run->r->keys && !headers_only)
		q = open_chunk(run->r, k, w->buf, &v, reason);
	if (q < 0)
		return q;
	data = headers_only ? NULL : v.payload;
	if (!headers_only && v.codec != KHIB_CODEC_NONE) {
		q = khib_codec_decompress(w->codec, v.codec, v.payload, v.payload_bytes, w->decoded,
					  v.raw_bytes);
		if (q < 0)
			return khib_fail(reason, q, "chunk %" PRIu64 ": cannot decompress", k);
		data = w->decoded;
	}
	if (!run->deliver || !run->o->fn)
		return 0;
	if (run->o->in_order && !wait_turn(run, k))
		return 0; /* another chunk failed: its reason is the one */
	q = deliver(run, c, &v, data);
	if (run->o->in_order && q >= 0)
		pass_turn(run);
	if (q < 0)
		return khib_fail(reason, q, "chunk %" PRIu64 ": page consumer failed: %s", k, strerror(-q));
	return 0;
}

static void read_worker_fn(void *job, unsigned worker, void *ctx)
{
	struct read_run *run = ctx;
	char reason[KHIB_REASON_MAX] = "";
	int q;

	if (run_failed(run))
		return;
	q = process_chunk(run, &run->w[worker], (uint64_t)(uintptr_t)job - 1, reason);
	if (q < 0)
		run_fail(run, q, reason);
}

static int alloc_read_workers(struct read_run *run, unsigned n)
{
	/* Sized by what the index promises, not by chunk_pages: a small
	 * image claiming huge chunks costs nothing. */
	size_t decoded = (size_t)run->r->max_stored_pages * KHIB_FMT_PAGE_SIZE;

	run->w = calloc(n, sizeof(*run->w));
	if (!run->w)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		run->w[i].buf = khib_alloc_aligned(run->r->max_disk_bytes);
		run->w[i].decoded = malloc(decoded ? decoded : 1);
		if (!run->w[i].buf || !run->w[i].decoded ||
		    khib_codec_ctx_new(KHIB_CODEC_NONE, 0, &run->w[i].codec) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void free_read_workers(struct read_run *run, unsigned n)
{
	for (unsigned i = 0; run->w && i < n; i++) {
		free(run->w[i].buf);
		free(run->w[i].decoded);
		khib_codec_ctx_free(run->w[i].codec);
	}
	free(run->w);
}

static int run_pass(struct read_run *run, struct khib_pool *pool, bool deliver_pages)
{
	run->deliver = deliver_pages;
	run->next = 0;
	for (uint64_t k = 0; k < run->r->h.info.n_chunks && !run_failed(run); k++) {
		/* One thread: no hand-offs at all (a one-CPU restore kernel). */
		if (!pool)
			read_worker_fn((void *)(uintptr_t)(k + 1), 0, run);
		else
			khib_pool_submit(pool, (void *)(uintptr_t)(k + 1));
	}
	if (pool)
		khib_pool_wait(pool);
	return run->error;
}

int khib_reader_read(struct khib_reader *r, const struct khib_read_opts *o, char *reason)
{
	struct read_run run = { .r = r, .o = o };
	struct khib_pool *pool = NULL;
	unsigned n = o->threads ? o->threads : khib_pool_default_threads();
	int q;

	if (!r->h.info.committed)
		return khib_fail(reason, r->commit_error, "%s", r->commit_reason);
	pthread_mutex_init(&run.lock, NULL);
	pthread_cond_init(&run.turn, NULL);
	q = alloc_read_workers(&run, n);
	if (q >= 0 && n > 1)
		q = khib_pool_new(n, 2 * n, read_worker_fn, &run, &pool);
	if (q >= 0 && o->verify_first && o->fn)
		q = run_pass(&run, pool, false);
	if (q >= 0)
		q = run_pass(&run, pool, true);
	khib_pool_free(pool);
	free_read_workers(&run, n);
	pthread_cond_destroy(&run.turn);
	pthread_mutex_destroy(&run.lock);
	if (q < 0 && run.error) {
		khib_fail(reason, q, "%s", run.reason);
		return khib_fail_or_errno(reason, q);
	}
	if (q < 0)
		return khib_fail(reason, q, "starting %u decoding threads: %s", n, strerror(-q));
	return q;
}

int khib_reader_verify(struct khib_reader *r, unsigned threads, char *reason)
{
	struct khib_read_opts o = { .threads = threads };

	return khib_reader_read(r, &o, reason);
}

int khib_image_check_identity(const struct khib_image_info *info,
			      const struct khib_kernel_identity *running, char *reason)
{
	static const uint8_t no_id[16];
	const struct khib_kernel_identity *img = &info->kernel;

	if (running->uts_release[0] && strcmp(running->uts_release, img->uts_release))
		return khib_fail(reason, -ESTALE, "image is from kernel %s, not %s", img->uts_release,
				 running->uts_release);
	if (running->uts_version[0] && strcmp(running->uts_version, img->uts_version))
		return khib_fail(reason, -ESTALE, "image is from another build of the kernel");
	if (memcmp(running->boot_id, no_id, 16) && memcmp(running->boot_id, img->boot_id, 16))
		return khib_fail(reason, -ESTALE, "image is from another boot");
	if (running->memmap_hash && running->memmap_hash != img->memmap_hash)
		return khib_fail(reason, -ESTALE, "firmware memory map changed since hibernation");
	if (running->num_physpages && running->num_physpages != img->num_physpages)
		return khib_fail(reason, -ESTALE, "memory size changed since hibernation "
				 "(%" PRIu64 " pages, was %" PRIu64 ")", running->num_physpages,
				 img->num_physpages);
	if (running->e820_crc32 && running->e820_crc32 != img->e820_crc32)
		return khib_fail(reason, -ESTALE, "e820 checksum changed since hibernation");
	return 0;
}
