/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The writer's save (lib/flows/save.c) end to end on a synthetic hibernated
 * kernel: its memory is a file standing in for /dev/mem (the physmem module
 * maps it like one), its tables sit in H's region and are reached through
 * the kexec swap list; the image is read back and every page checked —
 * free pages excluded, the rest saved as they are.
 */
#include "fileio.h"
#include "harness.h"
#include "image.h"
#include "save.h"
#include "test_pagefilter_fixture.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>

#define MEM_PAGES 256
#define REGION_PFN 220
#define NOTE_PFN 100

struct machine {
	struct fx_pf fx;
	struct khib_handoff h;
	char devmem[300];
};

/* The VMCOREINFO note at NOTE_PFN, as N's crash_core.c lays it out. */
static void put_note(struct machine *m)
{
	uint8_t *n = m->fx.mem + NOTE_PFN * 4096;

	memset(n, 0, 8192);
	khib_put_le32(n, sizeof("VMCOREINFO"));
	khib_put_le32(n + 4, (uint32_t)m->fx.text_bytes);
	memcpy(n + 12, "VMCOREINFO", sizeof("VMCOREINFO"));
	memcpy(n + 24, m->fx.text, m->fx.text_bytes);
	m->h.vmcoreinfo_paddr = NOTE_PFN * 4096;
	m->h.vmcoreinfo_bytes = 24 + ALIGN_UP(m->fx.text_bytes, 4);
}

/* N with free blocks, H's region at the top (the tables are there),
 * one page of low memory; all of it in a file. */
static void machine_init(struct machine *m, const char *layout_key, const char *layout_value)
{
	struct fx_pf_opts o;
	int fd;

	memset(m, 0, sizeof(*m));
	fx_pf_default(&o);
	fx_pf_init(&m->fx, &o);
	fx_pf_free_block(&m->fx, 8, 3);
	fx_pf_free_block(&m->fx, 17, 0);
	fx_pf_free_block(&m->fx, 64, 3);
	fx_pf_free_block(&m->fx, 216, 3); /* 216..223: half in the region */
	/* Stale data in the free pages, as N left it. */
	for (uint64_t pfn = 8; pfn < 16; pfn++)
		memset(m->fx.mem + pfn * 4096, (int)pfn, 4096);
	if (layout_key)
		fx_pf_set_key(&m->fx, layout_key, layout_value);
	put_note(m);
	fx_pf_swap(&m->fx, REGION_PFN, MEM_PAGES - REGION_PFN, 160, 150);
	m->h = (struct khib_handoff){
		.jump_back_entry = m->fx.jump_back,
		.region_start = REGION_PFN * 4096,
		.region_bytes = (MEM_PAGES - REGION_PFN) * 4096,
		.low_start = 4096,
		.low_bytes = 4096,
		.vmcoreinfo_paddr = m->h.vmcoreinfo_paddr,
		.vmcoreinfo_bytes = m->h.vmcoreinfo_bytes,
		.nr_ranges = 1,
		.codec = KHIB_CODEC_LZ4,
		.codec_level = 1,
		.threads = 1,
	};
	m->h.ranges[0].bytes = MEM_PAGES * 4096;
	snprintf(m->devmem, sizeof(m->devmem), "%s/mem", test_tmpdir());
	fd = open(m->devmem, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(khib_pwrite_all(fd, m->fx.mem, m->fx.mem_bytes, 0));
	close(fd);
}

struct seen {
	const struct fx_pf *fx;
	uint8_t kind[MEM_PAGES]; /* khib_page_kind + 1; 0: not in the image */
	unsigned wrong;
};

static int seen_pages(void *ctx, uint64_t paddr, uint64_t npages, enum khib_page_kind kind,
		      const void *data)
{
	struct seen *s = ctx;

	for (uint64_t k = 0; k < npages; k++) {
		uint64_t pfn = paddr / 4096 + k;

		if (pfn >= MEM_PAGES || s->kind[pfn])
			s->wrong++;
		else
			s->kind[pfn] = (uint8_t)(kind + 1);
		if (kind == KHIB_PAGES_DATA &&
		    memcmp((const uint8_t *)data + k * 4096, s->fx->mem + pfn * 4096, 4096))
			s->wrong++;
	}
	return 0;
}

/* Save, read back; the pages excluded are exactly [from, to) pairs in want. */
static void save_and_check(struct machine *m, struct khib_save_result *res,
			   const uint64_t (*want)[2], size_t n_want)
{
	struct khib_target *t;
	struct khib_reader *r;
	char reason[KHIB_REASON_MAX];
	size_t disk = 8 << 20;
	_cleanup_free_ uint8_t *buf = calloc(1, disk);
	static struct seen s;
	struct khib_read_opts o = { .threads = 1, .fn = seen_pages, .ctx = &s };

	ASSERT_OK(khib_target_new_memory(buf, disk, true, &t));
	ASSERT_OK(khib_save_memory(&m->h, t, m->devmem, 0, NULL, NULL, res));
	memset(&s, 0, sizeof(s));
	s.fx = &m->fx;
	ASSERT_OK(khib_reader_open(t, 0, &r, reason));
	ASSERT_OK(khib_reader_read(r, &o, reason));
	khib_reader_free(r);
	khib_target_free(t);
	ASSERT_EQ(s.wrong, 0);
	for (uint64_t pfn = 0; pfn < MEM_PAGES; pfn++) {
		bool in_h = pfn == 1 || pfn >= REGION_PFN, ex = false;

		for (size_t i = 0; i < n_want; i++)
			ex |= pfn >= want[i][0] && pfn < want[i][1];
		if (in_h ? s.kind[pfn] != 0 : (s.kind[pfn] == KHIB_PAGES_EXCLUDED + 1) != ex)
			test_fail(__FILE__, __LINE__, "pfn %" PRIu64 ": kind %u", pfn, s.kind[pfn]);
	}
}

TEST(save_excludes_free_pages)
{
	static const uint64_t want[][2] = { { 8, 16 }, { 17, 18 }, { 64, 72 }, { 216, 220 } };
	struct khib_save_result res;
	static struct machine m;

	machine_init(&m, NULL, NULL);
	save_and_check(&m, &res, want, ARRAY_SIZE(want));
	ASSERT_EQ(res.filter_error, 0);
	ASSERT_TRUE(!res.free_kept);
	ASSERT_EQ(res.stats.excluded_pages, 21);
	ASSERT_EQ(res.filter.free_pages, 21);
	ASSERT_EQ(res.filter.swaps, MEM_PAGES - REGION_PFN);
	ASSERT_EQ_U64(res.saved_pages, MEM_PAGES - 1 - (MEM_PAGES - REGION_PFN));
	fx_pf_release(&m.fx);
}

TEST(save_keeps_free_pages_when_asked)
{
	struct khib_save_result res;
	static struct machine m;

	machine_init(&m, NULL, NULL);
	m.h.flags = KHIB_HANDOFF_KEEP_FREE;
	save_and_check(&m, &res, NULL, 0);
	ASSERT_TRUE(res.free_kept);
	ASSERT_EQ(res.stats.excluded_pages, 0);
	fx_pf_release(&m.fx);
}

/* A filter that cannot work saves everything, and says why. */
TEST(save_everything_without_a_filter)
{
	struct khib_save_result res;
	static struct machine m;

	machine_init(&m, "SIZE(page)", "3");
	save_and_check(&m, &res, NULL, 0);
	ASSERT_EQ(res.filter_error, -EBADMSG);
	ASSERT_TRUE(strstr(res.filter_reason, "struct page") != NULL);
	ASSERT_EQ(res.stats.excluded_pages, 0);
	fx_pf_release(&m.fx);

	machine_init(&m, NULL, NULL);
	m.h.vmcoreinfo_bytes = 0;
	save_and_check(&m, &res, NULL, 0);
	ASSERT_EQ(res.filter_error, -ENODATA);
	fx_pf_release(&m.fx);

	machine_init(&m, NULL, NULL);
	m.h.jump_back_entry = 0; /* the tables in the region are out of reach */
	save_and_check(&m, &res, NULL, 0);
	ASSERT_EQ(res.filter_error, -EFAULT);
	fx_pf_release(&m.fx);
}

/* 4 MiB chunks where they fit with room to spare, 1 MiB where only those
 * fit, none (the writer goes back) below that: 512 MiB of RAM, 1 thread. */
TEST(save_chunk_pages_by_free_memory)
{
	static struct khib_handoff h;
	const uint64_t mib = 1ULL << 20;

	memset(&h, 0, sizeof(h));
	h.nr_ranges = 1;
	h.ranges[0].start = 0;
	h.ranges[0].bytes = 512 * mib;
	ASSERT_EQ(khib_save_chunk_pages(&h, 1, 25 * mib), 1024);
	ASSERT_EQ(khib_save_chunk_pages(&h, 1, 19 * mib), 256);
	ASSERT_EQ(khib_save_chunk_pages(&h, 1, 7 * mib), 256);
	ASSERT_EQ(khib_save_chunk_pages(&h, 1, 6 * mib), 0);
	/* Eight threads need eight times the buffers. */
	ASSERT_EQ(khib_save_chunk_pages(&h, 8, 21 * mib), 256);
	ASSERT_EQ(khib_save_chunk_pages(&h, 8, 12 * mib), 0);
}

/* The default region's extra room for 4 MiB chunks is what the writer
 * then asks for, no less; 1 MiB short of it, 1 MiB chunks. */
TEST(save_big_chunks_extra_room)
{
	static struct khib_handoff h;
	const uint64_t mib = 1ULL << 20;

	memset(&h, 0, sizeof(h));
	h.nr_ranges = 1;
	h.ranges[0].bytes = 4096 * mib;
	for (unsigned threads = 1; threads <= 8; threads *= 2) {
		uint64_t small = khib_save_memory_needed(&h, threads, KHIB_SAVE_CHUNK_PAGES_MIN);
		uint64_t extra = khib_save_big_chunks_extra_bytes(threads);

		ASSERT_EQ(khib_save_chunk_pages(&h, threads, small + extra), 1024);
		ASSERT_EQ(khib_save_chunk_pages(&h, threads, small + extra - mib), 256);
	}
	ASSERT_EQ_U64(khib_save_big_chunks_extra_bytes(0), khib_save_big_chunks_extra_bytes(1));
}
