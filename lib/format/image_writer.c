/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The image writer.  The caller's thread walks the ranges and cuts them into
 * chunks (one per chunk_pages-aligned cell of page frame numbers, never
 * crossing a range), recording a pointer per page; worker threads filter zero
 * pages, compress, checksum and write each chunk at the next free offset, so
 * chunks land on disk in completion order.  finish() writes the range table,
 * the index (sorted by address, which is feeding order) and the header, flushes,
 * then writes the commit record and flushes again.
 */
#include "image_format.h"
#include "checksum.h"
#include "threadpool.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct chunk_job {
	uint64_t seq, paddr;
	uint32_t npages;
	uint8_t *owned;        /* copies of borrowed pages made by sync(), or NULL */
	const uint8_t *page[]; /* npages pointers; NULL = excluded */
};

struct worker_buf {
	struct khib_codec_ctx *codec;
	uint8_t *out;    /* aligned: chunk header + payload + padding */
	uint8_t *packed; /* the payload compressed, before it is copied in place */
	uint8_t *trial;  /* a sample's spot compressed (worth_compressing()) */
};

/*
 * Whether a chunk's stored pages are worth compressing is decided per
 * chunk, by compressing a sample: SAMPLE_SPOTS runs of SAMPLE_SPOT_BYTES
 * spread over the pages.  Where the sample shrinks by less than
 * SAMPLE_MIN_GAIN_PCT the chunk is stored raw without compressing it whole:
 * pseudo-random or already compressed memory (a workload's data, page
 * cache of compressed files) costs a sixteenth of a trial instead of all
 * of one, and lz4 gave up on 92% of such chunks anyway.
 */
#define SAMPLE_SPOTS 4
#define SAMPLE_SPOT_BYTES (4 * KHIB_FMT_PAGE_SIZE)
#define SAMPLE_MIN_GAIN_PCT 3

static bool worth_compressing(struct worker_buf *b, const uint8_t *data, size_t raw)
{
	size_t packed = 0;

	/* A small chunk is cheaper to try whole than to sample. */
	if (raw < 4 * SAMPLE_SPOTS * SAMPLE_SPOT_BYTES)
		return true;
	for (size_t k = 0; k < SAMPLE_SPOTS; k++) {
		size_t at = ALIGN_DOWN((raw - SAMPLE_SPOT_BYTES) / (SAMPLE_SPOTS - 1) * k,
				       (size_t)KHIB_FMT_PAGE_SIZE), n;

		/* Does not fit: at least as large as the spot. */
		if (khib_codec_compress(b->codec, data + at, SAMPLE_SPOT_BYTES, b->trial,
					SAMPLE_SPOT_BYTES, &n) < 0)
			n = SAMPLE_SPOT_BYTES;
		packed += n;
	}
	return packed * 100 < (size_t)SAMPLE_SPOTS * SAMPLE_SPOT_BYTES * (100 - SAMPLE_MIN_GAIN_PCT);
}

struct khib_writer {
	struct khib_target *t;
	struct khib_header h;
	struct khib_range *ranges;
	uint8_t *vmcoreinfo;
	uint8_t *fs;		/* the file system table, encoded */
	struct khib_image_keys *keys; /* encrypted: the image's keys, else NULL */
	uint8_t *key_area;	/* encrypted: KHIB_KEY_AREA_BYTES for the header block */
	uint32_t chunk_pages;
	size_t out_cap;
	struct khib_pool *pool;
	struct worker_buf *bufs;
	unsigned threads;

	/* Feeding state (caller's thread only). */
	size_t range_idx;
	uint64_t next_paddr;
	struct chunk_job *pending;
	uint64_t next_seq, max_chunks;

	/* Shared with workers, under lock. */
	pthread_mutex_t lock;
	uint64_t next_offset;
	uint64_t limit; /* chunks must end before this */
	int error;
	uint8_t *index; /* max_chunks entries, slot = seq */
	struct khib_writer_stats stats;
	bool finished;
};

int khib_image_max_bytes(const struct khib_range *ranges, size_t n_ranges, uint32_t chunk_pages,
			 size_t vmcoreinfo_bytes, uint64_t *ret_bytes)
{
	uint64_t pages, chunks = 0, data = 0, meta, extra;
	int r;

	if (!chunk_pages)
		chunk_pages = KHIB_DEFAULT_CHUNK_PAGES;
	if (chunk_pages > KHIB_MAX_CHUNK_PAGES || vmcoreinfo_bytes > KHIB_MAX_VMCOREINFO)
		return -EINVAL;
	r = khib_ranges_check(ranges, n_ranges, &pages, NULL);
	if (r < 0)
		return r == -EBADMSG ? -EINVAL : r;
	/* Per chunk: its pages raw plus its header, an AEAD tag and padding,
	 * whole blocks (one for chunks up to 16032 pages, more beyond). */
	for (size_t i = 0; i < n_ranges; i++)
		chunks += khib_range_chunks(&ranges[i], chunk_pages);
	extra = ALIGN_UP((uint64_t)khib_chunk_header_bytes(chunk_pages) + KHIB_AEAD_TAG_BYTES,
			 (uint64_t)KHIB_FMT_BLOCK);
	if (pages > (UINT64_MAX / 2 - chunks * extra) / KHIB_FMT_PAGE_SIZE)
		return -EOVERFLOW;
	data = pages * KHIB_FMT_PAGE_SIZE + chunks * extra;
	meta = ALIGN_UP((uint64_t)n_ranges * KHIB_RANGE_ENTRY_SIZE + chunks * KHIB_INDEX_ENTRY_SIZE +
				vmcoreinfo_bytes + KHIB_FSSTAMP_MAX * KHIB_FSSTAMP_BYTES +
				KHIB_TABLES * (KHIB_AEAD_TAG_BYTES + 8), (uint64_t)KHIB_FMT_BLOCK);
	*ret_bytes = KHIB_DATA_OFFSET + data + meta;
	return 0;
}

/* GRND_INSECURE or GRND_NONBLOCK, else a hash of clocks, pid and a counter
 * (image.h). */
void khib_image_uuid_new(uint8_t uuid[KHIB_UUID_BYTES])
{
	static uint64_t counter;

	if (getrandom(uuid, KHIB_UUID_BYTES, GRND_INSECURE) != KHIB_UUID_BYTES &&
	    getrandom(uuid, KHIB_UUID_BYTES, GRND_NONBLOCK) != KHIB_UUID_BYTES) {
		uint64_t seed[4];

		seed[0] = khib_clock_ns(CLOCK_REALTIME);
		seed[1] = khib_clock_ns(CLOCK_MONOTONIC);
		seed[2] = (uint64_t)getpid();
		seed[3] = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
		khib_put_le64(uuid, khib_hash64(seed, sizeof(seed)));
		seed[3] ^= 0x9e3779b97f4a7c15ULL;
		khib_put_le64(uuid + 8, khib_hash64(seed, sizeof(seed)));
	}
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40); /* RFC 4122 version 4 */
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
}

static bool page_is_zero(const uint8_t *p)
{
	uint64_t acc = 0;

	/* Branch per 512 bytes: early exit on data, streaming speed on zeros.
	 * memcpy: the caller's pages need not be 8-byte aligned. */
	for (size_t i = 0; i < KHIB_FMT_PAGE_SIZE; i += 512) {
		for (size_t j = 0; j < 512; j += 8) {
			uint64_t v;

			memcpy(&v, p + i + j, 8);
			acc |= v;
		}
		if (acc)
			return false;
	}
	return true;
}

static void set_error(struct khib_writer *w, int err)
{
	pthread_mutex_lock(&w->lock);
	if (!w->error)
		w->error = err;
	pthread_mutex_unlock(&w->lock);
}

static int get_error(struct khib_writer *w)
{
	int e;

	pthread_mutex_lock(&w->lock);
	e = w->error;
	pthread_mutex_unlock(&w->lock);
	return e;
}

/* Sort the pages of a job into the bitmaps and dst, back to back; returns
 * the number of stored pages. */
static uint32_t classify_pages(const struct chunk_job *job, uint8_t *hdr, uint8_t *dst,
			       uint32_t *ret_zero)
{
	uint32_t bm = khib_chunk_bitmap_bytes(job->npages), stored = 0, zero = 0;
	uint8_t *zbm = hdr + KHIB_CHK_BITMAPS, *xbm = zbm + bm;

	memset(zbm, 0, 2 * (size_t)bm);
	for (uint32_t i = 0; i < job->npages; i++) {
		const uint8_t *src = job->page[i];

		if (!src) {
			xbm[i / 8] |= (uint8_t)(1u << (i % 8));
		} else if (page_is_zero(src)) {
			zbm[i / 8] |= (uint8_t)(1u << (i % 8));
			zero++;
		} else {
			memcpy(dst + (size_t)stored * KHIB_FMT_PAGE_SIZE, src, KHIB_FMT_PAGE_SIZE);
			stored++;
		}
	}
	*ret_zero = zero;
	return stored;
}

/*
 * Seal the payload after the chunk header in place; returns its length
 * with the tag.  The associated data is the chunk header exactly as it
 * will be on disk, up to its own hash: the image, the chunk's sequence
 * number, its address, its codec and both page maps are bound to its
 * pages.  Its payload hash is 0: the tag authenticates every payload byte
 * already, and an XXH3 pass over it was 6-8% of the CPU time of reading
 * an encrypted image (doc/FORMAT.md, "Encryption").
 */
static size_t seal_chunk(struct khib_writer *w, uint8_t *hdr, uint32_t hb, size_t plen)
{
	khib_put_le32(hdr + KHIB_CHK_PAYLOAD_BYTES, (uint32_t)(plen + KHIB_AEAD_TAG_BYTES));
	khib_put_le64(hdr + KHIB_CHK_PAYLOAD_HASH, 0);
	/* Cannot fail: the sizes are the writer's own. */
	khib_seal(w->keys, KHIB_SEAL_CHUNK, khib_get_le64(hdr + KHIB_CHK_SEQ), hdr, hb - 8,
		  hdr + hb, plen);
	return plen + KHIB_AEAD_TAG_BYTES;
}

/* Build the chunk in b->out; returns its padded length. */
enum packing { PACKED, RAW_BY_SAMPLE, RAW_BY_TRIAL };

static size_t build_chunk(struct khib_writer *w, struct worker_buf *b, const struct chunk_job *job,
			  uint32_t *ret_stored, uint32_t *ret_zero, enum packing *ret_packing)
{
	uint32_t hb = khib_chunk_header_bytes(job->npages), stored;
	uint8_t *hdr = b->out, *payload = b->out + hb;
	size_t raw, plen = 0, total;
	unsigned codec = w->h.info.codec;

	/* The pages go straight into place, one copy each; compressed, the
	 * smaller result is copied over them. */
	stored = classify_pages(job, hdr, payload, ret_zero);
	raw = (size_t)stored * KHIB_FMT_PAGE_SIZE;
	/* Incompressible data is stored raw: never larger than the worst
	 * case khib_image_max_bytes() promised. */
	*ret_packing = PACKED;
	if (codec != KHIB_CODEC_NONE && raw) {
		if (!worth_compressing(b, payload, raw))
			*ret_packing = RAW_BY_SAMPLE;
		else if (khib_codec_compress(b->codec, payload, raw, b->packed, raw - 1, &plen) < 0)
			*ret_packing = RAW_BY_TRIAL;
		else
			memcpy(payload, b->packed, plen);
	}
	if (!raw || *ret_packing != PACKED)
		codec = KHIB_CODEC_NONE;
	if (codec == KHIB_CODEC_NONE)
		plen = raw;
	memcpy(hdr + KHIB_CHK_MAGIC, KHIB_CHUNK_MAGIC, 4);
	khib_put_le32(hdr + KHIB_CHK_HEADER_BYTES, hb);
	memcpy(hdr + KHIB_CHK_UUID, w->h.info.uuid, KHIB_UUID_BYTES);
	khib_put_le64(hdr + KHIB_CHK_SEQ, job->seq);
	khib_put_le64(hdr + KHIB_CHK_PADDR, job->paddr);
	khib_put_le32(hdr + KHIB_CHK_NPAGES, job->npages);
	khib_put_le16(hdr + KHIB_CHK_CODEC, (uint16_t)codec);
	khib_put_le16(hdr + KHIB_CHK_FLAGS, w->keys ? KHIB_CHK_SEALED : 0);
	khib_put_le32(hdr + KHIB_CHK_RAW_BYTES, (uint32_t)raw);
	if (w->keys) {
		plen = seal_chunk(w, hdr, hb, plen);
	} else {
		khib_put_le32(hdr + KHIB_CHK_PAYLOAD_BYTES, (uint32_t)plen);
		khib_put_le64(hdr + KHIB_CHK_PAYLOAD_HASH, khib_hash64(payload, plen));
	}
	khib_put_le64(hdr + hb - 8, khib_hash64(hdr, hb - 8));
	total = ALIGN_UP(hb + plen, (size_t)KHIB_FMT_BLOCK);
	/* SECURITY: the padding would otherwise carry an older chunk's pages. */
	memset(payload + plen, 0, total - hb - plen);
	*ret_stored = stored;
	return total;
}

static void index_put(uint8_t *e, const struct chunk_job *job, const uint8_t *hdr, uint32_t stored,
		      uint32_t zero, uint64_t off, size_t bytes)
{
	uint32_t hb = khib_get_le32(hdr + KHIB_CHK_HEADER_BYTES);

	khib_put_le64(e + KHIB_IDX_PADDR, job->paddr);
	khib_put_le32(e + KHIB_IDX_NPAGES, job->npages);
	khib_put_le32(e + KHIB_IDX_STORED_PAGES, stored);
	khib_put_le64(e + KHIB_IDX_DISK_OFFSET, off);
	khib_put_le32(e + KHIB_IDX_DISK_BYTES, (uint32_t)bytes);
	khib_put_le32(e + KHIB_IDX_ZERO_PAGES, zero);
	khib_put_le64(e + KHIB_IDX_HEADER_HASH, khib_get_le64(hdr + hb - 8));
	khib_put_le64(e + KHIB_IDX_PAYLOAD_HASH, khib_get_le64(hdr + KHIB_CHK_PAYLOAD_HASH));
}

static void chunk_worker(void *arg, unsigned worker, void *ctx)
{
	struct khib_writer *w = ctx;
	struct chunk_job *job = arg;
	struct worker_buf *b = &w->bufs[worker];
	uint32_t stored, zero;
	enum packing packing;
	uint64_t off;
	size_t bytes;
	int r = 0;

	if (get_error(w))
		goto out;
	bytes = build_chunk(w, b, job, &stored, &zero, &packing);
	pthread_mutex_lock(&w->lock);
	off = w->next_offset;
	if (!khib_range_within(off, bytes, w->limit))
		r = -ENOSPC;
	else
		w->next_offset += bytes;
	pthread_mutex_unlock(&w->lock);
	if (r >= 0)
		r = khib_target_write(w->t, b->out, bytes, off);
	if (r < 0) {
		set_error(w, r);
		goto out;
	}
	index_put(w->index + job->seq * KHIB_INDEX_ENTRY_SIZE, job, b->out, stored, zero, off, bytes);
	pthread_mutex_lock(&w->lock);
	w->stats.stored_pages += stored;
	w->stats.zero_pages += zero;
	w->stats.excluded_pages += job->npages - stored - zero;
	w->stats.data_bytes += bytes;
	w->stats.raw_by_sample += packing == RAW_BY_SAMPLE;
	w->stats.raw_by_trial += packing == RAW_BY_TRIAL;
	pthread_mutex_unlock(&w->lock);
out:
	free(job->owned);
	free(job);
}

static int alloc_workers(struct khib_writer *w, const struct khib_writer_params *p)
{
	size_t raw = (size_t)w->chunk_pages * KHIB_FMT_PAGE_SIZE;
	int r;

	w->threads = p->threads ? p->threads : khib_pool_default_threads();
	w->out_cap = (size_t)khib_chunk_max_disk_bytes(w->chunk_pages);
	w->bufs = calloc(w->threads, sizeof(*w->bufs));
	if (!w->bufs)
		return -ENOMEM;
	for (unsigned i = 0; i < w->threads; i++) {
		struct worker_buf *b = &w->bufs[i];

		r = khib_codec_ctx_new(p->codec, p->codec_level, &b->codec);
		if (r < 0)
			return r;
		b->out = khib_alloc_aligned(w->out_cap);
		if (!b->out)
			return -ENOMEM;
		if (p->codec == KHIB_CODEC_NONE)
			continue;
		b->packed = malloc(raw);
		b->trial = malloc(SAMPLE_SPOT_BYTES);
		if (!b->packed || !b->trial)
			return -ENOMEM;
	}
	/* Two jobs queued per worker keep every core busy while the feeding
	 * thread cuts the next chunk. */
	return khib_pool_new(w->threads, 2 * w->threads, chunk_worker, w, &w->pool);
}

static void init_header(struct khib_writer *w, const struct khib_writer_params *p,
			uint64_t saved_pages)
{
	struct khib_image_info *i = &w->h.info;

	i->version = KHIB_FMT_VERSION;
	if (p->uuid)
		memcpy(i->uuid, p->uuid, KHIB_UUID_BYTES);
	else
		khib_image_uuid_new(i->uuid);
	i->created_ns = p->created_ns ? p->created_ns : khib_clock_ns(CLOCK_REALTIME);
	i->page_size = KHIB_FMT_PAGE_SIZE;
	i->codec = p->codec;
	i->codec_level = p->codec_level;
	i->chunk_pages = w->chunk_pages;
	i->total_ram_pages = p->total_ram_pages;
	i->saved_pages = saved_pages;
	i->n_ranges = p->n_ranges;
	i->vmcoreinfo_bytes = p->vmcoreinfo ? p->vmcoreinfo_bytes : 0;
	i->compat_flags = KHIB_COMPAT_FS_TABLE | (p->fs_complete ? KHIB_COMPAT_FS_COMPLETE : 0);
	i->n_fs = p->fs ? p->n_fs : 0;
	i->kernel = p->kernel;
	i->resume = p->resume;
	w->h.header_size = KHIB_HEADER_SIZE;
	w->h.data_offset = KHIB_DATA_OFFSET;
}

static int check_params(const struct khib_writer_params *p, uint64_t *ret_pages)
{
	if (khib_codec_check_level(p->codec, p->codec_level) < 0 ||
	    p->chunk_pages > KHIB_MAX_CHUNK_PAGES || p->threads > 1024 ||
	    (p->vmcoreinfo && p->vmcoreinfo_bytes > KHIB_MAX_VMCOREINFO) ||
	    (p->fs && p->n_fs > KHIB_FSSTAMP_MAX) ||
	    memchr(p->kernel.uts_release, 0, KHIB_UTS_LEN) == NULL ||
	    memchr(p->kernel.uts_version, 0, KHIB_UTS_LEN) == NULL ||
	    !khib_range_within(p->resume.region_start, p->resume.region_bytes, UINT64_MAX))
		return -EINVAL;
	if (khib_ranges_check(p->ranges, p->n_ranges, ret_pages, NULL) < 0)
		return -EINVAL;
	if (p->total_ram_pages && *ret_pages > p->total_ram_pages)
		return -EINVAL;
	for (size_t i = 0; i < p->n_ranges; i++)
		if (khib_ranges_overlap(p->ranges[i].paddr, p->ranges[i].npages * KHIB_FMT_PAGE_SIZE,
					p->resume.region_start, p->resume.region_bytes))
			return -EINVAL; /* H's own region cannot be saved */
	return 0;
}

/* An encrypted image: its keys, derived from the data key, and the key
 * area the header block carries. */
static int setup_keys(struct khib_writer *w, const struct khib_image_key *key)
{
	struct khib_image_info *i = &w->h.info;
	int r;

	if (key->n_slots == 0 || key->n_slots > KHIB_MAX_KEY_SLOTS)
		return -EINVAL;
	if ((r = khib_crypt_init()) < 0 ||
	    (r = khib_keys_new((enum khib_aead)key->aead, key->dk, &w->keys)) < 0)
		return r;
	w->key_area = malloc(KHIB_KEY_AREA_BYTES);
	if (!w->key_area)
		return -ENOMEM;
	memcpy(w->key_area, key->key_area, KHIB_KEY_AREA_BYTES);
	i->incompat_flags |= KHIB_INCOMPAT_ENCRYPTED;
	i->encryption.algorithm = key->aead;
	i->encryption.n_slots = key->n_slots;
	return 0;
}

/* Any older image stops being valid before a single byte of this one lands. */
static int destroy_old_commit(struct khib_target *t)
{
	/* Only the commit block: were the old header zeroed in the same write,
	 * a torn write could leave the old commit with a damaged header. */
	return khib_image_invalidate(t);
}

int khib_writer_new(struct khib_target *t, const struct khib_writer_params *p,
		    struct khib_writer **ret)
{
	struct khib_writer *w;
	uint64_t pages, max_bytes, chunks = 0;
	int r;

	r = check_params(p, &pages);
	if (r < 0)
		return r;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	w->t = t;
	w->chunk_pages = p->chunk_pages ? p->chunk_pages : KHIB_DEFAULT_CHUNK_PAGES;
	r = khib_image_max_bytes(p->ranges, p->n_ranges, w->chunk_pages,
				 p->vmcoreinfo ? p->vmcoreinfo_bytes : 0, &max_bytes);
	if (r < 0)
		goto fail;
	if (!khib_target_growable(t) && max_bytes > khib_target_size(t)) {
		r = -ENOSPC;
		goto fail;
	}
	/* A growable file gets the worst case allocated now (ENOSPC up front,
	 * parallel writes); finish() trims it to the image. */
	if (khib_target_growable(t)) {
		r = khib_target_reserve(t, max_bytes);
		if (r < 0 && r != -EOPNOTSUPP)
			goto fail;
	}
	for (size_t i = 0; i < p->n_ranges; i++)
		chunks += khib_range_chunks(&p->ranges[i], w->chunk_pages);
	w->max_chunks = chunks;
	w->limit = khib_target_growable(t) ? UINT64_MAX : khib_target_size(t);
	w->next_offset = KHIB_DATA_OFFSET;
	init_header(w, p, pages);
	w->ranges = malloc(p->n_ranges * sizeof(*w->ranges) + 1);
	w->index = calloc(chunks + 1, KHIB_INDEX_ENTRY_SIZE);
	w->vmcoreinfo = malloc(w->h.info.vmcoreinfo_bytes + 1);
	w->fs = calloc(w->h.info.n_fs + 1, KHIB_FSSTAMP_BYTES);
	if (!w->ranges || !w->index || !w->vmcoreinfo || !w->fs) {
		r = -ENOMEM;
		goto fail;
	}
	if (p->n_ranges)
		memcpy(w->ranges, p->ranges, p->n_ranges * sizeof(*w->ranges));
	if (w->h.info.vmcoreinfo_bytes)
		memcpy(w->vmcoreinfo, p->vmcoreinfo, w->h.info.vmcoreinfo_bytes);
	for (size_t k = 0; k < w->h.info.n_fs; k++)
		khib_fsstamp_encode(&p->fs[k], w->fs + k * KHIB_FSSTAMP_BYTES);
	w->next_paddr = p->n_ranges ? p->ranges[0].paddr : 0;
	r = alloc_workers(w, p);
	if (r >= 0 && p->key)
		r = setup_keys(w, p->key);
	if (r < 0)
		goto fail;
	r = destroy_old_commit(t);
	if (r < 0)
		goto fail;
	*ret = w;
	return 0;
fail:
	khib_writer_free(w);
	return r;
}

static int submit_pending(struct khib_writer *w)
{
	struct chunk_job *job = w->pending;

	if (!job)
		return 0;
	w->pending = NULL;
	if (job->seq >= w->max_chunks) {
		/* Cannot happen if the chunking matches khib_range_chunks(). */
		free(job);
		return -EOVERFLOW;
	}
	return khib_pool_submit(w->pool, job);
}

/* Append npages (data NULL: excluded) to the pending chunk, cutting chunks at
 * cell and range ends.  All pages lie in the current range. */
static int feed_run(struct khib_writer *w, const uint8_t *data, uint64_t npages)
{
	const struct khib_range *rg = &w->ranges[w->range_idx];
	uint64_t range_end = rg->paddr + rg->npages * KHIB_FMT_PAGE_SIZE;
	uint64_t cell_bytes = (uint64_t)w->chunk_pages * KHIB_FMT_PAGE_SIZE;

	while (npages) {
		/* Any chunk size, not only powers of two (FORMAT.md: 1..65536). */
		uint64_t cell_end = w->next_paddr - w->next_paddr % cell_bytes + cell_bytes;
		uint64_t end = cell_end < range_end ? cell_end : range_end;
		uint64_t n = (end - w->next_paddr) / KHIB_FMT_PAGE_SIZE;
		int r;

		if (n > npages)
			n = npages;
		if (!w->pending) {
			w->pending = malloc(sizeof(*w->pending) + w->chunk_pages * sizeof(uint8_t *));
			if (!w->pending)
				return -ENOMEM;
			w->pending->seq = w->next_seq++;
			w->pending->paddr = w->next_paddr;
			w->pending->npages = 0;
			w->pending->owned = NULL;
		}
		for (uint64_t i = 0; i < n; i++)
			w->pending->page[w->pending->npages++] =
				data ? data + i * KHIB_FMT_PAGE_SIZE : NULL;
		if (data)
			data += n * KHIB_FMT_PAGE_SIZE;
		npages -= n;
		w->next_paddr += n * KHIB_FMT_PAGE_SIZE;
		w->stats.fed_pages += n;
		if (w->next_paddr == end) {
			r = submit_pending(w);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int feed(struct khib_writer *w, uint64_t paddr, const uint8_t *data, uint64_t npages)
{
	int r = get_error(w);

	if (r < 0)
		return r;
	if (w->finished)
		return -EINVAL;
	while (npages) {
		if (w->range_idx >= w->h.info.n_ranges || paddr != w->next_paddr) {
			r = -EINVAL; /* out of order, a gap, or past the last range */
			break;
		}
		const struct khib_range *rg = &w->ranges[w->range_idx];
		uint64_t left = (rg->paddr + rg->npages * KHIB_FMT_PAGE_SIZE - paddr) / KHIB_FMT_PAGE_SIZE;
		uint64_t n = npages < left ? npages : left;

		r = feed_run(w, data, n);
		if (r < 0)
			break;
		paddr += n * KHIB_FMT_PAGE_SIZE;
		if (data)
			data += n * KHIB_FMT_PAGE_SIZE;
		npages -= n;
		if (n == left && ++w->range_idx < w->h.info.n_ranges)
			w->next_paddr = w->ranges[w->range_idx].paddr;
	}
	if (r < 0)
		set_error(w, r);
	return r;
}

int khib_writer_add(struct khib_writer *w, uint64_t paddr, const void *pages, uint64_t npages)
{
	if (!pages)
		return -EINVAL;
	return feed(w, paddr, pages, npages);
}

int khib_writer_skip(struct khib_writer *w, uint64_t paddr, uint64_t npages)
{
	return feed(w, paddr, NULL, npages);
}

/* The partial chunk still points at borrowed pages: copy them, so the chunk
 * can grow after sync() without cutting the range into more chunks than the
 * worst case counted. */
static int own_pending(struct khib_writer *w)
{
	struct chunk_job *job = w->pending;
	size_t cap = (size_t)w->chunk_pages * KHIB_FMT_PAGE_SIZE;

	if (!job)
		return 0;
	if (!job->owned) {
		job->owned = malloc(cap);
		if (!job->owned)
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < job->npages; i++) {
		uint8_t *copy = job->owned + (size_t)i * KHIB_FMT_PAGE_SIZE;

		if (job->page[i] && job->page[i] != copy) {
			memcpy(copy, job->page[i], KHIB_FMT_PAGE_SIZE);
			job->page[i] = copy;
		}
	}
	return 0;
}

int khib_writer_sync(struct khib_writer *w)
{
	int r = get_error(w);

	if (r < 0)
		return r;
	r = own_pending(w);
	if (r < 0) {
		set_error(w, r);
		return r;
	}
	khib_pool_wait(w->pool);
	return get_error(w);
}

/* One metadata table into buf at *pos (8-aligned): sealed in an encrypted
 * image, its associated data the image's UUID.  Returns its offset in buf;
 * its hash as stored goes to *ret_hash and into the meta hash, in table
 * order as the reader hashes them; advances *pos. */
static uint64_t put_table(struct khib_writer *w, uint8_t *buf, uint64_t *pos, unsigned table,
			  const void *data, uint64_t bytes, uint64_t *ret_hash,
			  struct khib_hash_state *meta_hash)
{
	uint64_t at = ALIGN_UP(*pos, 8ULL);

	memcpy(buf + at, data, bytes);
	if (w->keys) {
		khib_seal(w->keys, KHIB_SEAL_TABLE, table, w->h.info.uuid, KHIB_UUID_BYTES,
			  buf + at, bytes);
		bytes += KHIB_AEAD_TAG_BYTES;
	}
	*ret_hash = khib_hash64(buf + at, bytes);
	khib_hash_update(meta_hash, buf + at, bytes);
	*pos = at + bytes;
	return at;
}

/* Range table, index, VMCOREINFO and file system table, back to back after
 * the last chunk; the meta hash covers them as stored. */
static int write_metadata(struct khib_writer *w, struct khib_hash_state *meta_hash)
{
	struct khib_header *h = &w->h;
	uint64_t nr = h->info.n_ranges, nc = w->next_seq, vb = h->info.vmcoreinfo_bytes;
	uint64_t rb = nr * KHIB_RANGE_ENTRY_SIZE, ib = nc * KHIB_INDEX_ENTRY_SIZE;
	uint64_t fb = h->info.n_fs * KHIB_FSSTAMP_BYTES, pos = 0, len;
	_cleanup_free_ uint8_t *buf = NULL, *ranges = NULL;

	h->data_end = w->next_offset;
	len = ALIGN_UP(rb + ib + vb + fb + KHIB_TABLES * (KHIB_AEAD_TAG_BYTES + 8),
		       (uint64_t)KHIB_FMT_BLOCK);
	if (!khib_range_within(h->data_end, len, w->limit))
		return -ENOSPC;
	buf = khib_alloc_aligned(len);
	ranges = malloc(rb + 1);
	if (!buf || !ranges)
		return -ENOMEM;
	memset(buf, 0, len);
	for (uint64_t i = 0; i < nr; i++) {
		khib_put_le64(ranges + i * KHIB_RANGE_ENTRY_SIZE + KHIB_RNG_PADDR, w->ranges[i].paddr);
		khib_put_le64(ranges + i * KHIB_RANGE_ENTRY_SIZE + KHIB_RNG_NPAGES,
			      w->ranges[i].npages);
	}
	h->ranges_offset = h->data_end + put_table(w, buf, &pos, KHIB_TABLE_RANGES, ranges, rb,
						   &h->ranges_hash, meta_hash);
	h->index_offset = h->data_end + put_table(w, buf, &pos, KHIB_TABLE_INDEX, w->index, ib,
						  &h->index_hash, meta_hash);
	h->vmci_offset = h->data_end + put_table(w, buf, &pos, KHIB_TABLE_VMCOREINFO,
						 w->vmcoreinfo, vb, &h->vmci_hash, meta_hash);
	h->fs_offset = h->data_end + put_table(w, buf, &pos, KHIB_TABLE_FS, w->fs, fb, &h->fs_hash,
					       meta_hash);
	len = ALIGN_UP(pos, (uint64_t)KHIB_FMT_BLOCK);
	h->image_end = h->data_end + len;
	h->info.n_chunks = nc;
	h->info.image_bytes = h->image_end;
	return khib_target_write(w->t, buf, len, h->data_end);
}

static int write_block(struct khib_target *t, const uint8_t *rec, size_t len, uint64_t off)
{
	_cleanup_free_ uint8_t *blk = khib_alloc_aligned(KHIB_FMT_BLOCK);

	if (!blk)
		return -ENOMEM;
	memset(blk, 0, KHIB_FMT_BLOCK);
	memcpy(blk, rec, len);
	return khib_target_write(t, blk, KHIB_FMT_BLOCK, off);
}

/* The header block: the header, and in an encrypted image the key area
 * after it, the header carrying the key area's hash and its own MAC. */
static void encode_header_block(struct khib_writer *w, uint8_t blk[KHIB_FMT_BLOCK])
{
	struct khib_header *h = &w->h;

	memset(blk, 0, KHIB_FMT_BLOCK);
	if (w->keys) {
		memcpy(blk + KHIB_KEY_AREA_OFFSET, w->key_area, KHIB_KEY_AREA_BYTES);
		h->key_area_hash = khib_hash64(w->key_area, KHIB_KEY_AREA_BYTES);
		memset(h->mac, 0, sizeof(h->mac));
		khib_header_encode(h, blk);
		khib_mac(w->keys, blk, KHIB_HEADER_SIZE - 8, h->mac);
	}
	khib_header_encode(h, blk);
}

static int commit(struct khib_writer *w)
{
	struct khib_header *h = &w->h;
	struct khib_hash_state meta_hash;
	uint8_t blk[KHIB_FMT_BLOCK], rec[KHIB_COMMIT_SIZE];
	struct khib_commit c;
	int r;

	h->info.stored_pages = w->stats.stored_pages;
	h->info.zero_pages = w->stats.zero_pages;
	h->info.excluded_pages = w->stats.excluded_pages;
	h->info.data_bytes = w->stats.data_bytes;
	/* The header records the metadata's hashes, so metadata goes first;
	 * the meta hash covers metadata, then header. */
	khib_hash_init(&meta_hash);
	r = write_metadata(w, &meta_hash);
	if (r < 0)
		return r;
	encode_header_block(w, blk);
	r = write_block(w->t, blk, sizeof(blk), KHIB_HEADER_OFFSET);
	if (r < 0)
		return r;
	if (khib_target_growable(w->t)) {
		r = khib_target_truncate(w->t, h->image_end);
		if (r < 0 && r != -EOPNOTSUPP)
			return r;
	}
	/* Everything the commit record vouches for must be durable first. */
	r = khib_target_flush(w->t);
	if (r < 0)
		return r;
	memcpy(c.uuid, h->info.uuid, KHIB_UUID_BYTES);
	c.header_hash = khib_get_le64(blk + KHIB_HEADER_SIZE - 8);
	khib_hash_update(&meta_hash, blk, KHIB_HEADER_SIZE);
	c.meta_hash = khib_hash_final(&meta_hash);
	c.image_end = h->image_end;
	khib_commit_encode(&c, rec);
	r = write_block(w->t, rec, sizeof(rec), KHIB_COMMIT_OFFSET);
	if (r >= 0)
		r = khib_target_flush(w->t);
	/* The commit record may have reached the disk all the same (a write
	 * that "failed" can still land; a failed flush says nothing of what
	 * is durable): take it back as best we can, the caller reports the
	 * failure and the hibernated kernel runs on. */
	if (r < 0)
		khib_image_invalidate(w->t);
	return r;
}

int khib_writer_finish(struct khib_writer *w)
{
	int r = get_error(w);

	if (r < 0)
		return r;
	if (w->finished)
		return -EINVAL;
	/* Every page of every range must have been fed: a restorer cannot
	 * tell a missing page from a zero one otherwise. */
	if (w->range_idx < w->h.info.n_ranges || w->pending)
		r = -EINVAL;
	khib_pool_wait(w->pool);
	if (r >= 0)
		r = get_error(w);
	if (r >= 0)
		r = commit(w);
	if (r < 0) {
		set_error(w, r);
		return r;
	}
	w->finished = true;
	return 0;
}

void khib_writer_get_stats(struct khib_writer *w, struct khib_writer_stats *ret)
{
	pthread_mutex_lock(&w->lock);
	*ret = w->stats;
	pthread_mutex_unlock(&w->lock);
}

void khib_writer_free(struct khib_writer *w)
{
	if (!w)
		return;
	if (w->pending) {
		free(w->pending->owned);
		free(w->pending);
	}
	if (!w->finished)
		set_error(w, -ECANCELED); /* queued chunks are skipped, not written */
	khib_pool_free(w->pool);
	for (unsigned i = 0; w->bufs && i < w->threads; i++) {
		khib_codec_ctx_free(w->bufs[i].codec);
		free(w->bufs[i].out);
		free(w->bufs[i].packed);
		free(w->bufs[i].trial);
	}
	free(w->bufs);
	free(w->ranges);
	free(w->index);
	free(w->vmcoreinfo);
	free(w->fs);
	free(w->key_area);
	khib_keys_free(w->keys);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int khib_target_probe(struct khib_target *t, enum khib_probe *ret)
{
	_cleanup_free_ uint8_t *buf = khib_alloc_aligned(KHIB_PROBE_BYTES);
	uint64_t size = khib_target_size(t), n;
	int r;

	if (!buf)
		return -ENOMEM;
	memset(buf, 0, KHIB_PROBE_BYTES);
	n = size < KHIB_PROBE_BYTES ? ALIGN_DOWN(size, KHIB_TARGET_BLOCK) : KHIB_PROBE_BYTES;
	if (n && (r = khib_target_read(t, buf, (size_t)n, 0)) < 0)
		return r;
	*ret = khib_image_probe(buf, KHIB_PROBE_BYTES);
	return 0;
}

int khib_image_count_restore(struct khib_target *t, uint32_t *ret_before)
{
	_cleanup_free_ uint8_t *block = khib_alloc_aligned(KHIB_FMT_BLOCK);
	struct khib_commit c;
	uint32_t before;
	int r;

	if (!block)
		return -ENOMEM;
	if ((r = khib_target_read(t, block, KHIB_FMT_BLOCK, KHIB_COMMIT_OFFSET)) < 0 ||
	    (r = khib_commit_decode(block, KHIB_FMT_BLOCK, &c, NULL)) < 0)
		return r;
	before = khib_attempt_decode(block + KHIB_ATTEMPT_OFFSET, c.uuid);
	if (before == UINT32_MAX)
		return -EOVERFLOW;
	khib_attempt_encode(c.uuid, before + 1, block + KHIB_ATTEMPT_OFFSET);
	if ((r = khib_target_write(t, block, KHIB_FMT_BLOCK, KHIB_COMMIT_OFFSET)) < 0 ||
	    (r = khib_target_flush(t)) < 0)
		return r;
	*ret_before = before;
	return 0;
}

int khib_image_invalidate(struct khib_target *t)
{
	_cleanup_free_ uint8_t *zero = khib_alloc_aligned(KHIB_FMT_BLOCK);
	int r;

	if (!zero)
		return -ENOMEM;
	memset(zero, 0, KHIB_FMT_BLOCK);
	r = khib_target_write(t, zero, KHIB_FMT_BLOCK, KHIB_COMMIT_OFFSET);
	if (r < 0)
		return r;
	return khib_target_flush(t);
}
