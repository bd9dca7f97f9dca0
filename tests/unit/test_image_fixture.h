/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by the image tests: a small synthetic "machine" (a few RAM ranges
 * with zero, text-like, random and excluded pages, all derived from the page
 * address and a seed so any page can be recomputed), a writer that feeds it
 * in irregular pieces, and a checker that reads an image back and compares
 * every page.
 */
#ifndef KHIB_TEST_IMAGE_FIXTURE_H
#define KHIB_TEST_IMAGE_FIXTURE_H

#include "image.h"

#define FX_MAX_RANGES 4

struct fx_machine {
	struct khib_range ranges[FX_MAX_RANGES];
	size_t n_ranges;
	uint8_t *mem[FX_MAX_RANGES]; /* contents of each range */
	uint64_t seed;
	uint64_t excluded, zero, stored; /* expected page counts */
};

/* Ranges in pages: {pfn, npages} pairs, n of them; seed varies contents. */
void fx_machine_init(struct fx_machine *m, const uint64_t (*ranges)[2], size_t n, uint64_t seed);
void fx_machine_small(struct fx_machine *m, uint64_t seed);
void fx_machine_release(struct fx_machine *m);
bool fx_page_excluded(const struct fx_machine *m, uint64_t paddr);
const uint8_t *fx_page(const struct fx_machine *m, uint64_t paddr);

void fx_params(const struct fx_machine *m, struct khib_writer_params *p, enum khib_codec codec,
	       uint32_t chunk_pages, unsigned threads);
/* Feed the whole machine; returns the first error of the writer. */
int fx_write(const struct fx_machine *m, struct khib_target *t, const struct khib_writer_params *p);
/* Open, verify and compare every page; returns the first error
 * (-EILSEQ: the image is valid but holds wrong data). */
int fx_check(const struct fx_machine *m, struct khib_target *t, char *reason);
/* The same for an encrypted image, its key through key_fn. */
int fx_check_keyed(const struct fx_machine *m, struct khib_target *t, khib_key_fn *key_fn,
		   void *key_ctx, char *reason);
/* Threads fx_check() reads with (default 2). */
extern unsigned fx_check_threads;

/* A growable memory "disk" for tests. */
struct fx_disk {
	uint8_t *buf;
	size_t size;
};
int fx_disk_target(struct fx_disk *d, size_t size, struct khib_target **ret);

#endif
