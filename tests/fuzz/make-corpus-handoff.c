/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Writes the handoff target's seeds into the directory argv[1], made by the
 * real encoders (make-corpus.sh runs it): handoff pages with few and with
 * the most ranges, with and without an extent map, extent maps, status
 * pages in every state, and edge cases around the checksum, the version
 * and the field checks.
 */
#include <stdio.h>
#include <string.h>

#include "handoff.h"
#include "util.h"

/* The layouts in handoff.h and handoff.c. */
#define OFF_NR_RANGES 250
#define STATUS_OFF_REASON (16 + 7 * 8 + 16)

static const char *dir;

static int put(const char *name, const void *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		return 1;
	}
	return 0;
}

static void fill(struct khib_handoff *h, uint32_t nr_ranges, uint32_t nr_extents)
{
	memset(h, 0, sizeof(*h));
	h->region_start = 0x7c000000;
	h->region_bytes = 0x4000000;
	h->low_start = 0x1000;
	h->low_bytes = 0x9e000;
	h->handoff_paddr = 0x7ffff000;
	h->vmcoreinfo_paddr = 0x3b5000;
	h->vmcoreinfo_bytes = 0x1000;
	memset(h->boot_id, 0x5a, sizeof(h->boot_id));
	snprintf(h->release, sizeof(h->release), "6.1.0-khib");
	snprintf(h->version, sizeof(h->version), "#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1");
	h->memmap_hash = 0x0123456789abcdefULL;
	h->nr_ranges = nr_ranges;
	for (uint32_t i = 0; i < nr_ranges; i++) {
		h->ranges[i].start = 0x100000000ULL * i + 0x1000;
		h->ranges[i].bytes = 0x1000ULL << (i % 20);
	}
	h->codec = 1;
	h->codec_level = 3;
	snprintf(h->target_name, sizeof(h->target_name), "vdb");
	h->target_dev = 0xfd10;
	h->target_bytes = 1ULL << 30;
	h->nr_extents = nr_extents;
	h->extents_paddr = nr_extents ? 0x7fff0000 : 0;
	h->extents_hash = nr_extents ? 0x5eed5eed5eed5eedULL : 0;
	h->status_paddr = 0x12345678;
	h->status_nonce = 0xfeedfacecafebeefULL;
	h->nr_fs = nr_ranges % (KHIB_HANDOFF_MAX_FS + 1);
	for (uint32_t i = 0; i < h->nr_fs; i++) {
		h->fs[i].kind = KHIB_FS_EXT;
		memset(h->fs[i].uuid, 0x40 + (int)i, sizeof(h->fs[i].uuid));
		h->fs[i].dev = 0xfe00000 + 16 * i;
		h->fs[i].mnt_count = (uint16_t)(i + 1);
		h->fs[i].incompat = 0x2c6;
		h->fs[i].mtime = 1764000000 + i;
		snprintf(h->fs[i].where, sizeof(h->fs[i].where), i ? "/srv/%u" : "/", i);
	}
}

int main(int argc, char **argv)
{
	static struct khib_handoff h;
	uint8_t page[KHIB_HANDOFF_BYTES], spage[KHIB_STATUS_BYTES];
	struct khib_status st = { .nonce = 0xfeedfacecafebeefULL };
	int bad = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: make-corpus-handoff DIR\n");
		return 2;
	}
	dir = argv[1];

	fill(&h, 3, 0);
	khib_handoff_encode(&h, page);
	bad |= put("handoff-hibernate", page, sizeof(page));
	bad |= put("handoff-truncated", page, 1000); /* cut inside the ranges */
	page[100] ^= 1;
	bad |= put("handoff-bad-checksum", page, sizeof(page));

	fill(&h, KHIB_HANDOFF_MAX_RANGES, 200);
	h.flags = KHIB_HANDOFF_TEST;
	h.jump_back_entry = 0x7fffe000; /* outside the checksum */
	khib_handoff_encode(&h, page);
	bad |= put("handoff-full-test", page, sizeof(page));

	fill(&h, 1, 2);
	h.flags = KHIB_HANDOFF_RESTORE;
	h.threads = 4;
	h.codec_level = -1;
	khib_handoff_encode(&h, page);
	bad |= put("handoff-restore", page, sizeof(page));
	/* Field checks behind the checksum (the fuzz target reseals): more
	 * ranges than fit, then another version. */
	khib_put_le32(page + OFF_NR_RANGES, KHIB_HANDOFF_MAX_RANGES + 1);
	bad |= put("handoff-too-many-ranges", page, sizeof(page));
	khib_handoff_encode(&h, page);
	khib_put_le32(page + 8, KHIB_HANDOFF_VERSION + 1);
	bad |= put("handoff-version-next", page, sizeof(page));
	khib_put_le32(page + 8, 1);
	bad |= put("handoff-version-1", page, sizeof(page));

	/* Extent maps: the fuzz target decodes its input as one too. */
	static struct khib_extent ext[300];
	static uint8_t map[sizeof(ext) / sizeof(ext[0]) * KHIB_EXTMAP_ENTRY_BYTES];
	for (uint32_t i = 0; i < 300; i++)
		ext[i] = (struct khib_extent){ 0x10000ULL * i, 0x900000ULL + 0x20000ULL * i, 0x10000 };
	khib_extmap_encode(ext, 1, map);
	bad |= put("extmap-1", map, KHIB_EXTMAP_ENTRY_BYTES);
	khib_extmap_encode(ext, 300, map);
	bad |= put("extmap-300", map, sizeof(map));

	khib_status_encode(&st, spage);
	bad |= put("status-pending", spage, sizeof(spage));
	st.state = KHIB_STATUS_SAVING;
	st.time_ns = 1764070000000000000ULL;
	st.saved_pages = 262144;
	khib_status_encode(&st, spage);
	bad |= put("status-saving", spage, sizeof(spage));
	st.state = KHIB_STATUS_ABORTED;
	st.error = -28;
	memset(st.reason, 'x', sizeof(st.reason)); /* the encoder terminates it */
	khib_status_encode(&st, spage);
	bad |= put("status-aborted-long-reason", spage, sizeof(spage));
	spage[STATUS_OFF_REASON + sizeof(st.reason) - 1] = 'x'; /* unterminated, once resealed */
	bad |= put("status-unterminated", spage, sizeof(spage));
	st.state = KHIB_STATUS_TESTED;
	st.error = 0;
	snprintf(st.reason, sizeof(st.reason), "tested");
	st.stored_pages = 1000;
	st.image_bytes = 1 << 22;
	st.elapsed_ns = 1500000000;
	memset(st.image_uuid, 0xab, sizeof(st.image_uuid));
	khib_status_encode(&st, spage);
	bad |= put("status-tested", spage, sizeof(spage));
	bad |= put("empty", spage, 0);
	return bad;
}
