/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: the image reader.  Each input is tried as is, and again with
 * every checksum recomputed ("fixed up"): random bytes almost never carry
 * valid XXH3 sums, and without the fix-up the fuzzer could not get past
 * them to the range, index and chunk checks behind.
 */
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "fuzz.h"
#include "image_format.h"
#include "keyslot.h"

static int count_pages(void *ctx, uint64_t paddr, uint64_t npages, enum khib_page_kind kind,
		       const void *data)
{
	uint64_t *sum = ctx;
	const uint8_t *p = data;

	(void)paddr;
	if (kind == KHIB_PAGES_DATA) /* every byte handed out must be readable */
		for (uint64_t k = 0; k < npages * KHIB_FMT_PAGE_SIZE; k += 1024)
			__atomic_add_fetch(sum, p[k], __ATOMIC_RELAXED);
	return 0;
}

/* The key file of the encrypted seeds (make-corpus-image.c): the fuzzer
 * gets past the key slots and the header MAC only with it. */
static int open_slot(void *ctx, const uint8_t uuid[16], const uint8_t *area, uint32_t n_slots,
		     uint8_t dk[32], char *reason)
{
	(void)ctx;
	return khib_keyslot_open_keyfile(area, KHIB_KEY_AREA_BYTES, n_slots, uuid,
					 (const uint8_t *)FUZZ_KEYFILE, strlen(FUZZ_KEYFILE), dk,
					 reason);
}

static void try_image(uint8_t *buf, size_t size)
{
	uint64_t sum = 0;
	struct khib_read_opts o = { .threads = 1, .fn = count_pages, .ctx = &sum };
	char reason[KHIB_REASON_MAX];
	const struct khib_range *rg;
	const struct khib_fsstamp *fs;
	struct khib_chunk_info ci;
	struct khib_reader *r;
	struct khib_target *t;
	const void *v;
	size_t n;

	if (khib_target_new_memory(buf, size, false, &t) < 0)
		return;
	if (khib_reader_open(t, KHIB_READER_PUBLIC, &r, reason) == 0)
		khib_reader_free(r);
	if (khib_reader_open_keyed(t, KHIB_READER_UNCOMMITTED, open_slot, NULL, &r, reason) == 0) {
		rg = khib_reader_ranges(r, &n);
		for (size_t i = 0; i < n; i++)
			sum += rg[i].npages;
		for (size_t i = 0; khib_reader_chunk(r, i, &ci) == 0; i++)
			sum += ci.npages;
		if (khib_reader_vmcoreinfo(r, &v, &n) == 0 && n)
			sum += ((const uint8_t *)v)[n - 1];
		fs = khib_reader_fs(r, &n);
		for (size_t i = 0; i < n; i++)
			sum += fs[i].mnt_count + strlen(fs[i].where);
		khib_reader_read(r, &o, reason);
		khib_reader_free(r);
	}
	khib_target_free(t);
}

static bool in(size_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

/* index_off comes from the input and may lie anywhere up to 2^64: entry k
 * is bounded as a length from index_off (count < size, so (k + 1) * 48
 * cannot wrap), never as index_off + length, which can. */
static void fix_chunks(uint8_t *b, size_t size, uint64_t index_off, uint64_t count)
{
	for (uint64_t k = 0; k < count && in(size, index_off, (k + 1) * KHIB_INDEX_ENTRY_SIZE); k++) {
		uint8_t *e = b + index_off + k * KHIB_INDEX_ENTRY_SIZE;
		uint64_t off = khib_get_le64(e + KHIB_IDX_DISK_OFFSET);
		uint32_t npages = khib_get_le32(e + KHIB_IDX_NPAGES), hb, plen;

		if (npages > KHIB_MAX_CHUNK_PAGES)
			continue;
		hb = khib_chunk_header_bytes(npages);
		if (!in(size, off, hb))
			continue;
		plen = khib_get_le32(b + off + KHIB_CHK_PAYLOAD_BYTES);
		if (in(size, off + hb, plen)) {
			khib_put_le64(b + off + KHIB_CHK_PAYLOAD_HASH, khib_hash64(b + off + hb, plen));
			khib_put_le64(e + KHIB_IDX_PAYLOAD_HASH, khib_hash64(b + off + hb, plen));
		}
		khib_put_le64(b + off + hb - 8, khib_hash64(b + off, hb - 8));
		khib_put_le64(e + KHIB_IDX_HEADER_HASH, khib_hash64(b + off, hb - 8));
	}
}

/* Recompute a table's hash into the header; feed it to the meta hash. */
static void fix_table(uint8_t *b, size_t size, unsigned off_f, unsigned cnt_f, unsigned hash_f,
		      uint64_t entry, struct khib_hash_state *meta)
{
	uint8_t *h = b + KHIB_HEADER_OFFSET;
	uint64_t off = khib_get_le64(h + off_f), cnt = khib_get_le64(h + cnt_f), bytes;
	uint64_t tag = khib_get_le64(h + KHIB_HDR_INCOMPAT) & KHIB_INCOMPAT_ENCRYPTED ? 16 : 0;

	if (cnt > size || !in(size, off, cnt * entry + tag))
		return;
	bytes = cnt * entry + tag;
	khib_put_le64(h + hash_f, khib_hash64(b + off, bytes));
	khib_hash_update(meta, b + off, bytes);
}

static void fix_up(uint8_t *b, size_t size)
{
	uint8_t *h = b + KHIB_HEADER_OFFSET, *c = b + KHIB_COMMIT_OFFSET;
	struct khib_hash_state meta;

	if (size < KHIB_DATA_OFFSET)
		return;
	if (khib_get_le64(h + KHIB_HDR_INDEX_COUNT) < size)
		fix_chunks(b, size, khib_get_le64(h + KHIB_HDR_INDEX_OFFSET),
			   khib_get_le64(h + KHIB_HDR_INDEX_COUNT));
	khib_hash_init(&meta);
	fix_table(b, size, KHIB_HDR_RANGES_OFFSET, KHIB_HDR_RANGES_COUNT, KHIB_HDR_RANGES_HASH,
		  KHIB_RANGE_ENTRY_SIZE, &meta);
	fix_table(b, size, KHIB_HDR_INDEX_OFFSET, KHIB_HDR_INDEX_COUNT, KHIB_HDR_INDEX_HASH,
		  KHIB_INDEX_ENTRY_SIZE, &meta);
	fix_table(b, size, KHIB_HDR_VMCI_OFFSET, KHIB_HDR_VMCI_BYTES, KHIB_HDR_VMCI_HASH, 1, &meta);
	if (khib_get_le64(h + KHIB_HDR_COMPAT) & KHIB_COMPAT_FS_TABLE)
		fix_table(b, size, KHIB_HDR_FS_OFFSET, KHIB_HDR_FS_COUNT, KHIB_HDR_FS_HASH,
			  KHIB_FSSTAMP_BYTES, &meta);
	khib_put_le32(h + KHIB_HDR_HEADER_SIZE, KHIB_HEADER_SIZE);
	if (khib_get_le64(h + KHIB_HDR_INCOMPAT) & KHIB_INCOMPAT_ENCRYPTED)
		khib_put_le64(h + KHIB_HDR_KEY_AREA_HASH,
			      khib_hash64(h + KHIB_KEY_AREA_OFFSET, KHIB_KEY_AREA_BYTES));
	khib_put_le64(h + KHIB_HEADER_SIZE - 8, khib_hash64(h, KHIB_HEADER_SIZE - 8));
	khib_hash_update(&meta, h, KHIB_HEADER_SIZE);
	memcpy(c + KHIB_CMT_MAGIC, KHIB_COMMIT_MAGIC, 8);
	khib_put_le32(c + KHIB_CMT_VERSION, KHIB_COMMIT_VERSION);
	khib_put_le32(c + KHIB_CMT_SIZE, KHIB_COMMIT_SIZE);
	memcpy(c + KHIB_CMT_UUID, h + KHIB_HDR_UUID, KHIB_UUID_BYTES);
	khib_put_le64(c + KHIB_CMT_HEADER_HASH, khib_get_le64(h + KHIB_HEADER_SIZE - 8));
	khib_put_le64(c + KHIB_CMT_META_HASH, khib_hash_final(&meta));
	khib_put_le64(c + KHIB_CMT_IMAGE_END, khib_get_le64(h + KHIB_HDR_IMAGE_END));
	khib_put_le64(c + KHIB_CMT_HASH, khib_hash64(c, KHIB_CMT_HASH));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	try_image(copy, size);
	fix_up(copy, size);
	try_image(copy, size);
	free(copy);
	return 0;
}
