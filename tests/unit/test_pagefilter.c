/* SPDX-License-Identifier: GPL-2.0-only */
#include "pagefilter.h"
#include "harness.h"
#include "test_pagefilter_fixture.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>

/* N's VMCOREINFO as Linux 6.1.192 printed it in a 512 MiB q35 guest (the
 * lines the filter uses and some around them). */
static const char vmci_6_1[] =
	"OSRELEASE=6.1.192\n"
	"PAGESIZE=4096\n"
	"SYMBOL(mem_section)=ff37cf999fa14000\n"
	"LENGTH(mem_section)=131072\n"
	"SIZE(mem_section)=16\n"
	"OFFSET(mem_section.section_mem_map)=0\n"
	"NUMBER(SECTION_SIZE_BITS)=27\n"
	"NUMBER(MAX_PHYSMEM_BITS)=52\n"
	"SIZE(page)=56\n"
	"OFFSET(page.flags)=0\n"
	"OFFSET(page._refcount)=52\n"
	"OFFSET(page.mapping)=24\n"
	"OFFSET(page.lru)=8\n"
	"OFFSET(page._mapcount)=48\n"
	"OFFSET(page.private)=40\n"
	"OFFSET(page.compound_head)=8\n"
	"LENGTH(zone.free_area)=11\n"
	"NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-129\n"
	"NUMBER(phys_base)=-113246208\n"
	"SYMBOL(init_top_pgt)=ffffffff9060a000\n"
	"NUMBER(pgtable_l5_enabled)=1\n"
	"KERNELOFFSET=ec00000\n"
	"NUMBER(KERNEL_IMAGE_SIZE)=1073741824\n"
	"NUMBER(sme_mask)=0\n";

TEST(pagefilter_layout_of_6_1)
{
	struct khib_pagefilter_layout l;
	char reason[KHIB_REASON_MAX];

	ASSERT_OK(khib_pagefilter_parse_layout(vmci_6_1, sizeof(vmci_6_1) - 1, &l, reason));
	ASSERT_EQ_U64(l.mem_section, 0xff37cf999fa14000ULL);
	ASSERT_TRUE(l.sparsemem_extreme);
	ASSERT_EQ(l.section_size_bits, 27);
	ASSERT_EQ(l.max_physmem_bits, 52);
	ASSERT_EQ(l.page_bytes, 56);
	ASSERT_EQ(l.off_mapcount, 48);
	ASSERT_EQ(l.off_private, 40);
	ASSERT_EQ(l.buddy_mapcount, 0xffffff7fu);
	ASSERT_EQ(l.nr_orders, 11);
	ASSERT_EQ_U64(l.phys_base, (uint64_t)-113246208LL);
	ASSERT_TRUE(l.pgtable_l5);
	/* Not NUL-terminated: the text ends where the caller says. */
	ASSERT_EQ(khib_pagefilter_parse_layout(vmci_6_1, 40, &l, reason), -EOPNOTSUPP);
}

/* Run the filter over fx with the saved ranges given in pages; the region
 * [swap_pfn, +swap_n) is swapped memory. */
struct run {
	struct khib_range ranges[4], swapped[1];
	size_t n_ranges, n_swapped;
	char reason[KHIB_REASON_MAX];
	struct khib_pagefilter *f;
	struct khib_pagefilter_stats st;
};

/* Every read is checked against the saved ranges: the filter must never
 * read H's memory (the region) or anything else. */
struct guard {
	struct fx_pf *fx;
	const struct run *rn;
	unsigned bad;
	uint64_t reads;
};

static int guarded_read(void *ctx, uint64_t paddr, void *buf, size_t len)
{
	struct guard *g = ctx;
	bool ok = false;

	g->reads++;
	for (size_t i = 0; i < g->rn->n_ranges; i++)
		if (paddr >= g->rn->ranges[i].paddr &&
		    paddr + len <= g->rn->ranges[i].paddr + g->rn->ranges[i].npages * 4096)
			ok = true;
	if (!ok)
		g->bad++;
	return fx_pf_read(g->fx, paddr, buf, len);
}

static int run_filter(struct fx_pf *fx, struct run *rn)
{
	struct guard g = { fx, rn, 0, 0 };
	struct khib_pagefilter_input in = {
		.vmcoreinfo = fx->text,
		.vmcoreinfo_bytes = fx->text_bytes,
		.ranges = rn->ranges,
		.n_ranges = rn->n_ranges,
		.swapped = rn->swapped,
		.n_swapped = rn->n_swapped,
		.jump_back_paddr = fx->jump_back,
		.read = guarded_read,
		.ctx = &g,
	};
	int r = khib_pagefilter_new(&in, &rn->f, rn->reason);

	ASSERT_EQ(g.bad, 0);
	if (r >= 0)
		khib_pagefilter_get_stats(rn->f, &rn->st);
	return r;
}

static void one_range(struct run *rn, uint64_t pfn, uint64_t n)
{
	*rn = (struct run){ .n_ranges = 1 };
	rn->ranges[0] = (struct khib_range){ pfn * 4096, n };
}

/* The free pages are exactly those in `want` (pairs of pfn, count). */
static void expect_free(const struct run *rn, uint64_t mem_pages, const uint64_t (*want)[2], size_t n)
{
	uint64_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += want[i][1];
	ASSERT_EQ_U64(rn->st.free_pages, total);
	for (uint64_t pfn = 0; pfn < mem_pages; pfn++) {
		bool w = false;

		for (size_t i = 0; i < n; i++)
			w |= pfn >= want[i][0] && pfn < want[i][0] + want[i][1];
		if (khib_pagefilter_is_free(rn->f, pfn * 4096) != w)
			test_fail(__FILE__, __LINE__, "pfn %" PRIu64 ": free %d, expected %d", pfn, !w, w);
	}
}

/* run() agrees with is_free() everywhere, for several lengths. */
static void check_runs(const struct run *rn)
{
	static const uint64_t max[] = { 1, 3, 64, 65, 1000 };

	for (size_t i = 0; i < rn->n_ranges; i++) {
		const struct khib_range *r = &rn->ranges[i];

		for (uint64_t p = 0; p < r->npages; p++)
			for (size_t m = 0; m < ARRAY_SIZE(max); m++) {
				uint64_t pa = r->paddr + p * 4096, n, k;
				bool v;

				n = khib_pagefilter_run(rn->f, pa, max[m], &v);
				ASSERT_TRUE(n >= 1 && n <= max[m] && n <= r->npages - p);
				for (k = 0; k < n; k++)
					ASSERT_EQ(khib_pagefilter_is_free(rn->f, pa + k * 4096), v);
				if (n < max[m] && p + n < r->npages)
					ASSERT_TRUE(khib_pagefilter_is_free(rn->f, pa + n * 4096) != v);
			}
	}
	bool v;
	ASSERT_EQ(khib_pagefilter_run(rn->f, 0x7fff0000000ULL, 10, &v), 0);
}

static void free_some(struct fx_pf *fx)
{
	fx_pf_free_block(fx, 8, 3);	/* 8..15 */
	fx_pf_free_block(fx, 17, 0);
	fx_pf_free_block(fx, 20, 2);	/* 20..23 */
	fx_pf_free_block(fx, 30, 1);	/* 30..31: ends a section */
	fx_pf_free_block(fx, 64, 3);	/* 64..71 */
	fx_pf_free_block(fx, 72, 3);	/* 72..79: two blocks side by side */
	fx_pf_free_block(fx, 127, 0);
	fx_pf_free_block(fx, 200, 3);	/* 200..207 */
	fx_pf_free_block(fx, 216, 3);	/* 216..223: across the saved end below */
}

static const uint64_t free_all[][2] = { { 8, 8 }, { 17, 1 }, { 20, 4 }, { 30, 2 },
					{ 64, 16 }, { 127, 1 }, { 200, 8 }, { 216, 8 } };

TEST(pagefilter_finds_buddy_blocks)
{
	struct fx_pf_opts o;
	struct fx_pf fx;
	struct run rn;

	fx_pf_default(&o);
	fx_pf_init(&fx, &o);
	free_some(&fx);
	one_range(&rn, 0, 256);
	ASSERT_OK(run_filter(&fx, &rn));
	expect_free(&rn, 256, free_all, ARRAY_SIZE(free_all));
	ASSERT_EQ(rn.st.buddy_blocks, 9);
	ASSERT_EQ(rn.st.rejected_blocks, 0);
	check_runs(&rn);
	khib_pagefilter_free(rn.f);

	/* Two ranges with a hole; a block cut by a range end counts only
	 * inside it; one cut by a range start is not seen (kept). */
	rn = (struct run){ .n_ranges = 3 };
	rn.ranges[0] = (struct khib_range){ 0, 66 };
	rn.ranges[1] = (struct khib_range){ 74 * 4096, 100 };
	rn.ranges[2] = (struct khib_range){ 240 * 4096, 16 }; /* the tables */
	ASSERT_OK(run_filter(&fx, &rn));
	static const uint64_t cut[][2] = { { 8, 8 }, { 17, 1 }, { 20, 4 }, { 30, 2 }, { 64, 2 },
					   { 127, 1 } };
	expect_free(&rn, 256, cut, ARRAY_SIZE(cut));
	check_runs(&rn);
	khib_pagefilter_free(rn.f);
	fx_pf_release(&fx);
}

TEST(pagefilter_static_sections)
{
	struct fx_pf_opts o;
	struct fx_pf fx;
	struct run rn;

	fx_pf_default(&o);
	o.static_sections = true;
	o.direct_1g = false;
	o.mem_pages = 512;
	fx_pf_init(&fx, &o);
	free_some(&fx);
	fx_pf_free_block(&fx, 256, 3);
	one_range(&rn, 0, 512);
	ASSERT_OK(run_filter(&fx, &rn));
	static const uint64_t want[][2] = { { 8, 8 }, { 17, 1 }, { 20, 4 }, { 30, 2 }, { 64, 16 },
					    { 127, 1 }, { 200, 8 }, { 216, 8 }, { 256, 8 } };
	expect_free(&rn, 512, want, ARRAY_SIZE(want));
	khib_pagefilter_free(rn.f);
	fx_pf_release(&fx);
}

/* The tables and struct pages sit at the top of memory, in H's region:
 * N's view of them comes from the kexec swap's source pages. */
TEST(pagefilter_region_through_swaps)
{
	struct fx_pf_opts o;
	struct fx_pf fx;
	struct run rn;

	fx_pf_default(&o);
	fx_pf_init(&fx, &o);
	ASSERT_TRUE(fx.memmap >= 220 * 4096); /* the premise of this test */
	free_some(&fx);
	fx_pf_free_block(&fx, 224, 3); /* in the region: not saved */
	fx_pf_swap(&fx, 220, 36, 160, 150);
	one_range(&rn, 0, 220);
	rn.swapped[0] = (struct khib_range){ 220 * 4096, 36 };
	rn.n_swapped = 1;
	ASSERT_OK(run_filter(&fx, &rn));
	static const uint64_t want[][2] = { { 8, 8 }, { 17, 1 }, { 20, 4 }, { 30, 2 }, { 64, 16 },
					    { 127, 1 }, { 200, 8 }, { 216, 4 } };
	expect_free(&rn, 256, want, ARRAY_SIZE(want));
	ASSERT_EQ(rn.st.swaps, 36);
	check_runs(&rn);
	khib_pagefilter_free(rn.f);

	/* Without the swap list N's view of the region is unknown. */
	fx.jump_back = 0;
	ASSERT_EQ(run_filter(&fx, &rn), -EFAULT);
	/* A region page the list does not cover is not read as N's. */
	fx_pf_swap(&fx, 220, 2, 160, 150);
	ASSERT_EQ(run_filter(&fx, &rn), -EFAULT);
	fx_pf_release(&fx);
}

/* The layout of a real 6.1 machine: 5 levels, 128 MiB sections, 11 orders,
 * struct pages in 2 MiB pages, the direct map in 1 GiB pages, a negative
 * phys_base (KASLR). */
TEST(pagefilter_5level_6_1_layout)
{
	struct fx_pf_opts o = {
		.levels = 5, .mem_pages = 4096, .section_size_bits = 27, .max_physmem_bits = 52,
		.nr_orders = 11, .vmemmap_2m = true, .direct_1g = true,
		.phys_base = (uint64_t)-113246208LL,
	};
	struct fx_pf fx;
	struct run rn;

	fx_pf_init(&fx, &o);
	fx_pf_free_block(&fx, 1024, 10);
	fx_pf_free_block(&fx, 2048, 9);
	fx_pf_free_block(&fx, 2560, 8);
	fx_pf_free_block(&fx, 3, 0);
	fx_pf_free_block(&fx, 5, 0);
	rn = (struct run){ .n_ranges = 2 };
	rn.ranges[0] = (struct khib_range){ 4096, 2999 };
	rn.ranges[1] = (struct khib_range){ 3000 * 4096, 1096 };
	ASSERT_OK(run_filter(&fx, &rn));
	static const uint64_t want[][2] = { { 3, 1 }, { 5, 1 }, { 1024, 1024 }, { 2048, 512 },
					    { 2560, 256 } };
	expect_free(&rn, 4096, want, ARRAY_SIZE(want));
	check_runs(&rn);
	khib_pagefilter_free(rn.f);
	fx_pf_release(&fx);
}

TEST(pagefilter_untrusted_blocks_are_kept)
{
	struct fx_pf_opts o;
	struct fx_pf fx;
	struct run rn;

	fx_pf_default(&o);
	fx_pf_init(&fx, &o);
	fx_pf_free_block(&fx, 16, 3);
	khib_put_le64(fx_pf_struct_page(&fx, 16) + FX_OFF_PRIVATE, 4);	/* order >= LENGTH */
	fx_pf_free_block(&fx, 32, 2);
	khib_put_le64(fx_pf_struct_page(&fx, 32) + FX_OFF_PRIVATE, 1ULL << 40);
	fx_pf_free_block(&fx, 51, 0);
	khib_put_le64(fx_pf_struct_page(&fx, 51) + FX_OFF_PRIVATE, 1);	/* misaligned */
	fx_pf_free_block(&fx, 64, 3);
	khib_put_le32(fx_pf_struct_page(&fx, 69) + FX_OFF_REFCOUNT, 1);	/* a used tail */
	fx_pf_free_block(&fx, 80, 2);
	khib_put_le64(fx_pf_struct_page(&fx, 82) + FX_OFF_COMPOUND_HEAD, 0xffffea0000001001ULL);
	fx_pf_free_block(&fx, 88, 2);
	khib_put_le32(fx_pf_struct_page(&fx, 89) + FX_OFF_MAPCOUNT, 0);	/* a mapped tail */
	fx_pf_free_block(&fx, 96, 1);
	khib_put_le32(fx_pf_struct_page(&fx, 96) + FX_OFF_REFCOUNT, 1);	/* used: no head */
	fx_pf_free_block(&fx, 104, 2);
	fx_pf_free_block(&fx, 106, 0);	/* a head inside a block: both rejected... */
	fx_pf_free_block(&fx, 112, 0);	/* ...and a good one after them */
	one_range(&rn, 0, 256);
	ASSERT_OK(run_filter(&fx, &rn));
	static const uint64_t want[][2] = { { 106, 1 }, { 112, 1 } };
	expect_free(&rn, 256, want, ARRAY_SIZE(want));
	ASSERT_EQ(rn.st.rejected_blocks, 7);
	khib_pagefilter_free(rn.f);
	fx_pf_release(&fx);
}

static int parse(struct fx_pf *fx)
{
	struct khib_pagefilter_layout l;
	char reason[KHIB_REASON_MAX] = "";
	int r = khib_pagefilter_parse_layout(fx->text, fx->text_bytes, &l, reason);

	ASSERT_TRUE(r >= 0 || reason[0]);
	return r;
}

TEST(pagefilter_missing_keys)
{
	static const char *const keys[] = {
		"PAGESIZE", "SYMBOL(mem_section)", "LENGTH(mem_section)", "SIZE(mem_section)",
		"OFFSET(mem_section.section_mem_map)", "NUMBER(SECTION_SIZE_BITS)",
		"NUMBER(MAX_PHYSMEM_BITS)", "SIZE(page)", "OFFSET(page._refcount)",
		"OFFSET(page._mapcount)", "OFFSET(page.private)", "OFFSET(page.compound_head)",
		"NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)", "LENGTH(zone.free_area)",
		"SYMBOL(init_top_pgt)", "NUMBER(phys_base)", "NUMBER(pgtable_l5_enabled)",
	};
	struct fx_pf_opts o;
	struct fx_pf fx;
	struct run rn;

	fx_pf_default(&o);
	fx_pf_init(&fx, &o);
	ASSERT_OK(parse(&fx));
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		char saved[sizeof(fx.text)];

		memcpy(saved, fx.text, sizeof(saved));
		fx_pf_set_key(&fx, keys[i], NULL);
		if (parse(&fx) != -EOPNOTSUPP)
			test_fail(__FILE__, __LINE__, "without %s: not -EOPNOTSUPP", keys[i]);
		memcpy(fx.text, saved, sizeof(saved));
		fx.text_bytes = strlen(fx.text);
	}
	fx_pf_set_key(&fx, "NUMBER(sme_mask)", NULL); /* optional */
	ASSERT_OK(parse(&fx));
	one_range(&rn, 0, 256);
	struct khib_pagefilter_input in = { .vmcoreinfo = NULL, .ranges = rn.ranges, .n_ranges = 1,
					    .read = fx_pf_read, .ctx = &fx };
	ASSERT_EQ(khib_pagefilter_new(&in, &rn.f, rn.reason), -EOPNOTSUPP);
	fx_pf_release(&fx);
}

TEST(pagefilter_absurd_values)
{
	static const struct {
		const char *key, *value;
		int err;
	} bad[] = {
		{ "PAGESIZE", "65536", -EOPNOTSUPP },
		{ "SIZE(page)", "3", -EBADMSG },
		{ "SIZE(page)", "4294967296", -EBADMSG },
		{ "SIZE(page)", "-56", -EBADMSG },
		{ "SIZE(page)", "56x", -EBADMSG },
		{ "SIZE(page)", "", -EBADMSG },
		{ "SIZE(page)", "99999999999999999999999", -EBADMSG },
		{ "OFFSET(page.private)", "52", -EBADMSG },
		{ "OFFSET(page._mapcount)", "49", -EBADMSG },
		{ "SIZE(mem_section)", "24", -EBADMSG },
		{ "SIZE(mem_section)", "8192", -EBADMSG },
		{ "OFFSET(mem_section.section_mem_map)", "16", -EBADMSG },
		{ "LENGTH(mem_section)", "7", -EOPNOTSUPP },
		{ "NUMBER(SECTION_SIZE_BITS)", "70", -EBADMSG },
		{ "NUMBER(SECTION_SIZE_BITS)", "12", -EBADMSG },
		{ "NUMBER(MAX_PHYSMEM_BITS)", "99", -EBADMSG },
		{ "NUMBER(MAX_PHYSMEM_BITS)", "-1", -EBADMSG },
		{ "LENGTH(zone.free_area)", "0", -EBADMSG },
		{ "LENGTH(zone.free_area)", "6", -EBADMSG }, /* a block larger than a section */
		{ "NUMBER(pgtable_l5_enabled)", "2", -EBADMSG },
		{ "NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)", "-9999999999", -EBADMSG },
		{ "SYMBOL(init_top_pgt)", "ffff888000001000", -EBADMSG },
		{ "SYMBOL(init_top_pgt)", "0xffffffff81000000", -EBADMSG },
		{ "NUMBER(phys_base)", "100", -EBADMSG },
	};
	struct fx_pf_opts o;
	struct fx_pf fx;

	fx_pf_default(&o);
	fx_pf_init(&fx, &o);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char saved[sizeof(fx.text)];

		memcpy(saved, fx.text, sizeof(saved));
		fx_pf_set_key(&fx, bad[i].key, bad[i].value);
		if (parse(&fx) != bad[i].err)
			test_fail(__FILE__, __LINE__, "%s=%s: %d, expected %d", bad[i].key,
				  bad[i].value, parse(&fx), bad[i].err);
		memcpy(fx.text, saved, sizeof(saved));
		fx.text_bytes = strlen(fx.text);
	}
	fx_pf_release(&fx);
}

/* The vmemmap path from the top table down: the entries the walk reads. */
static uint64_t vmemmap_slot(struct fx_pf *fx, unsigned level_from_top)
{
	uint64_t table = fx->top_pgt;
	unsigned shift = fx->o.levels == 5 ? 48 : 39;

	for (unsigned i = 0;; i++, shift -= 9) {
		uint64_t slot = table + ((fx->vmemmap_base >> shift) & 511) * 8;

		if (i == level_from_top)
			return slot;
		table = fx_pf_get64(fx, slot) & 0x000ffffffffff000ULL;
	}
}

TEST(pagefilter_garbage_page_tables)
{
	struct fx_pf_opts o;
	struct fx_pf fx;
	struct run rn;
	uint64_t slot, e;

	fx_pf_default(&o);
	fx_pf_init(&fx, &o);
	free_some(&fx);
	one_range(&rn, 0, 256);

	slot = vmemmap_slot(&fx, 0);
	e = fx_pf_get64(&fx, slot);
	fx_pf_put64(&fx, slot, 0);				/* not mapped */
	ASSERT_EQ(run_filter(&fx, &rn), -EFAULT);
	fx_pf_put64(&fx, slot, e | 0x80);			/* a 512 GiB page */
	ASSERT_EQ(run_filter(&fx, &rn), -EBADMSG);
	fx_pf_put64(&fx, slot, 0x7fff0000000ULL | 3);		/* outside memory */
	ASSERT_EQ(run_filter(&fx, &rn), -EFAULT);
	fx_pf_put64(&fx, slot, fx.top_pgt | 3);			/* a cycle */
	ASSERT_TRUE(run_filter(&fx, &rn) < 0);
	fx_pf_put64(&fx, slot, e);

	/* Every level pointing back at the top table, then at itself. */
	for (unsigned lvl = 1; lvl < 4; lvl++) {
		uint64_t s = vmemmap_slot(&fx, lvl), old = fx_pf_get64(&fx, s);

		fx_pf_put64(&fx, s, fx.top_pgt | 3);
		int r = run_filter(&fx, &rn);
		if (r >= 0)
			khib_pagefilter_free(rn.f);
		fx_pf_put64(&fx, s, (s & ~4095ULL) | 3);
		r = run_filter(&fx, &rn);
		if (r >= 0)
			khib_pagefilter_free(rn.f);
		fx_pf_put64(&fx, s, old);
	}
	/* A non-canonical root pointer in mem_section. */
	uint64_t ms = strtoull(strstr(fx.text, "SYMBOL(mem_section)=") + 20, NULL, 16);
	fx_pf_put64(&fx, ms - fx.direct_base, 0x0000900000000000ULL);
	ASSERT_EQ(run_filter(&fx, &rn), -EFAULT);
	/* No root at all: no section, no free page, no error. */
	fx_pf_put64(&fx, ms - fx.direct_base, 0);
	ASSERT_OK(run_filter(&fx, &rn));
	ASSERT_EQ(rn.st.free_pages, 0);
	khib_pagefilter_free(rn.f);
	fx_pf_release(&fx);
}

TEST(pagefilter_bad_swap_lists)
{
	struct fx_pf_opts o;
	struct fx_pf fx;
	struct run rn;
	uint64_t ind = 151 * 4096;

	fx_pf_default(&o);
	fx_pf_init(&fx, &o);
	fx_pf_swap(&fx, 220, 36, 160, 150);
	one_range(&rn, 0, 220);
	rn.swapped[0] = (struct khib_range){ 220 * 4096, 36 };
	rn.n_swapped = 1;
	ASSERT_OK(run_filter(&fx, &rn));
	khib_pagefilter_free(rn.f);

	fx_pf_put64(&fx, ind + 8 * 37, ind | 2);		/* a loop */
	ASSERT_EQ(run_filter(&fx, &rn), -EBADMSG);
	fx_pf_put64(&fx, ind + 8 * 37, 4);
	fx_pf_put64(&fx, ind + 8 * 5, 230 * 4096 | 8);		/* a source in the region */
	ASSERT_EQ(run_filter(&fx, &rn), -EBADMSG);
	fx_pf_put64(&fx, ind + 8 * 5, 161 * 4096 | 8);		/* a source twice */
	ASSERT_EQ(run_filter(&fx, &rn), -EBADMSG);
	fx_pf_put64(&fx, ind + 8 * 5, 164 * 4096 | 8);
	fx_pf_put64(&fx, ind, 100 * 4096 | 1);			/* destinations not H's */
	ASSERT_EQ(run_filter(&fx, &rn), -EBADMSG);
	fx_pf_put64(&fx, ind, 220 * 4096 | 1);
	ASSERT_OK(run_filter(&fx, &rn));
	khib_pagefilter_free(rn.f);
	/* A page kexec allocated at its own destination swaps with itself:
	 * not an error, and not a page of N to read. */
	fx_pf_put64(&fx, ind + 8 * 11, 230 * 4096 | 8);
	ASSERT_OK(run_filter(&fx, &rn));
	ASSERT_EQ(rn.st.swaps, 35);
	khib_pagefilter_free(rn.f);
	fx_pf_put64(&fx, ind + 8 * 11, 170 * 4096 | 8);
	fx_pf_put64(&fx, ind + 8 * 31, 250 * 4096 | 8);	/* one the filter needs */
	ASSERT_EQ(run_filter(&fx, &rn), -EFAULT);
	fx_pf_put64(&fx, ind + 8 * 31, 190 * 4096 | 8);
	fx_pf_put64(&fx, 150 * 4096 + 0x830, 0x7fff0000000ULL | 2); /* list outside memory */
	ASSERT_EQ(run_filter(&fx, &rn), -EFAULT);
	fx_pf_release(&fx);
}
