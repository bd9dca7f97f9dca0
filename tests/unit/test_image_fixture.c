/* SPDX-License-Identifier: GPL-2.0-only */
#include "test_image_fixture.h"
#include "checksum.h"
#include "harness.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PAGE KHIB_PAGE_SIZE

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

bool fx_page_excluded(const struct fx_machine *m, uint64_t paddr)
{
	return mix(paddr ^ m->seed ^ 0x5a5a) % 7 == 3;
}

static void fill_page(uint8_t *p, uint64_t paddr, uint64_t seed)
{
	static const char words[] = "the quick brown fox jumps over the lazy dog 0123456789 ";
	uint64_t h = mix(paddr ^ seed);

	switch (h % 4) {
	case 0: /* zero page */
		memset(p, 0, PAGE);
		break;
	case 1: /* text-like: compresses well */
		for (size_t i = 0; i < PAGE; i++)
			p[i] = (uint8_t)words[(i * 7 + h) % (sizeof(words) - 1)];
		break;
	case 2: /* random: does not compress */
		for (size_t i = 0; i < PAGE; i += 8) {
			uint64_t v = mix(h + i);
			memcpy(p + i, &v, 8);
		}
		break;
	default: /* mostly zero with a stamp, as many kernel pages are */
		memset(p, 0, PAGE);
		memcpy(p + (h % 512) * 8, &paddr, 8);
		break;
	}
}

void fx_machine_init(struct fx_machine *m, const uint64_t (*ranges)[2], size_t n, uint64_t seed)
{
	memset(m, 0, sizeof(*m));
	m->seed = seed;
	m->n_ranges = n;
	for (size_t i = 0; i < n; i++) {
		m->ranges[i].paddr = ranges[i][0] * PAGE;
		m->ranges[i].npages = ranges[i][1];
		m->mem[i] = malloc(ranges[i][1] * PAGE);
		if (!m->mem[i])
			abort();
		for (uint64_t k = 0; k < ranges[i][1]; k++) {
			uint64_t pa = m->ranges[i].paddr + k * PAGE;
			uint8_t *pg = m->mem[i] + k * PAGE;
			static const uint8_t zero[PAGE];

			fill_page(pg, pa, seed);
			if (fx_page_excluded(m, pa))
				m->excluded++;
			else if (!memcmp(pg, zero, PAGE))
				m->zero++;
			else
				m->stored++;
		}
	}
}

void fx_machine_small(struct fx_machine *m, uint64_t seed)
{
	/* Ranges that start and end off the chunk grid, one adjacent pair. */
	static const uint64_t r[][2] = { { 1, 9 }, { 30, 21 }, { 51, 5 }, { 200, 17 } };

	fx_machine_init(m, r, 4, seed);
}

void fx_machine_release(struct fx_machine *m)
{
	for (size_t i = 0; i < m->n_ranges; i++)
		free(m->mem[i]);
}

const uint8_t *fx_page(const struct fx_machine *m, uint64_t paddr)
{
	for (size_t i = 0; i < m->n_ranges; i++) {
		const struct khib_range *r = &m->ranges[i];

		if (paddr >= r->paddr && paddr < r->paddr + r->npages * PAGE)
			return m->mem[i] + (paddr - r->paddr);
	}
	return NULL;
}

void fx_params(const struct fx_machine *m, struct khib_writer_params *p, enum khib_codec codec,
	       uint32_t chunk_pages, unsigned threads)
{
	memset(p, 0, sizeof(*p));
	p->codec = codec;
	p->codec_level = khib_codec_default_level(codec);
	p->threads = threads;
	p->chunk_pages = chunk_pages;
	p->ranges = m->ranges;
	p->n_ranges = m->n_ranges;
	p->total_ram_pages = 4096;
	strcpy(p->kernel.uts_release, "6.1.0-khib-test");
	strcpy(p->kernel.uts_version, "#1 SMP PREEMPT_DYNAMIC");
	memset(p->kernel.boot_id, 0xb0, sizeof(p->kernel.boot_id));
	p->kernel.memmap_hash = 0x1122334455667788ULL;
	p->kernel.e820_crc32 = 0xdeadbeef;
	p->resume.jump_back_entry = 0x7fff10fb;
	p->resume.region_start = 0x8000000;
	p->resume.region_bytes = 0x4000000;
	p->resume.lowmem_start = 0x1000;
	p->resume.lowmem_size = 0x9f000;
	p->resume.direct_map_base = 0xffff888000000000ULL;
	p->vmcoreinfo = "OSRELEASE=6.1.0-khib-test\nPAGESIZE=4096\n";
	p->vmcoreinfo_bytes = strlen(p->vmcoreinfo);
}

/* Feed a range in pieces of 1..11 pages, skipping excluded runs. */
static int feed_range(const struct fx_machine *m, struct khib_writer *w, size_t i, uint64_t *rng)
{
	const struct khib_range *r = &m->ranges[i];
	uint64_t k = 0;

	while (k < r->npages) {
		uint64_t pa = r->paddr + k * PAGE, n = 1;
		bool ex = fx_page_excluded(m, pa);
		uint64_t want = (*rng = mix(*rng)) % 11 + 1;
		int q;

		while (k + n < r->npages && n < want && fx_page_excluded(m, pa + n * PAGE) == ex)
			n++;
		q = ex ? khib_writer_skip(w, pa, n) : khib_writer_add(w, pa, m->mem[i] + k * PAGE, n);
		if (q < 0)
			return q;
		k += n;
	}
	return 0;
}

int fx_write(const struct fx_machine *m, struct khib_target *t, const struct khib_writer_params *p)
{
	struct khib_writer *w;
	uint64_t rng = m->seed;
	int q;

	q = khib_writer_new(t, p, &w);
	if (q < 0)
		return q;
	for (size_t i = 0; i < m->n_ranges && q >= 0; i++)
		q = feed_range(m, w, i, &rng);
	if (q >= 0)
		q = khib_writer_finish(w);
	khib_writer_free(w);
	return q;
}

struct check_ctx {
	const struct fx_machine *m;
	uint64_t seen, zero, excluded, stored; /* atomics: callbacks run concurrently */
};

static int check_pages(void *ctx, uint64_t paddr, uint64_t npages, enum khib_page_kind kind,
		       const void *data)
{
	static const uint8_t zero[PAGE];
	struct check_ctx *c = ctx;

	for (uint64_t k = 0; k < npages; k++) {
		uint64_t pa = paddr + k * PAGE;
		const uint8_t *want = fx_page(c->m, pa);

		if (!want)
			return -EILSEQ;
		if (kind == KHIB_PAGES_EXCLUDED) {
			if (!fx_page_excluded(c->m, pa))
				return -EILSEQ;
		} else if (fx_page_excluded(c->m, pa)) {
			return -EILSEQ;
		} else if (kind == KHIB_PAGES_ZERO ? memcmp(want, zero, PAGE)
						   : memcmp(want, (const uint8_t *)data + k * PAGE, PAGE)) {
			return -EILSEQ;
		}
	}
	__atomic_add_fetch(&c->seen, npages, __ATOMIC_RELAXED);
	__atomic_add_fetch(kind == KHIB_PAGES_ZERO ? &c->zero :
			   kind == KHIB_PAGES_EXCLUDED ? &c->excluded : &c->stored, npages,
			   __ATOMIC_RELAXED);
	return 0;
}

unsigned fx_check_threads = 2;

int fx_check(const struct fx_machine *m, struct khib_target *t, char *reason)
{
	return fx_check_keyed(m, t, NULL, NULL, reason);
}

int fx_check_keyed(const struct fx_machine *m, struct khib_target *t, khib_key_fn *key_fn,
		   void *key_ctx, char *reason)
{
	struct check_ctx c = { .m = m };
	struct khib_read_opts o = { .threads = fx_check_threads, .fn = check_pages, .ctx = &c };
	struct khib_reader *r;
	int q;

	q = khib_reader_open_keyed(t, 0, key_fn, key_ctx, &r, reason);
	if (q < 0)
		return q;
	q = khib_reader_read(r, &o, reason);
	khib_reader_free(r);
	if (q < 0)
		return q;
	if (c.excluded != m->excluded || c.zero != m->zero || c.stored != m->stored)
		return -EILSEQ;
	return 0;
}

int fx_disk_target(struct fx_disk *d, size_t size, struct khib_target **ret)
{
	d->buf = calloc(1, size);
	d->size = size;
	if (!d->buf)
		return -ENOMEM;
	return khib_target_new_memory(d->buf, size, true, ret);
}
