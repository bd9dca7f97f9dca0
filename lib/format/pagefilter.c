/* SPDX-License-Identifier: GPL-2.0-only */
#include "pagefilter.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfcore.h"
#include "util.h"

/* x86-64 (arch/x86/include/asm/page_64_types.h, pgtable_types.h). */
#define PTE_PRESENT 0x1ULL
#define PTE_PSE 0x80ULL
#define PTE_ADDR_MASK 0x000ffffffffff000ULL

/* include/linux/mmzone.h: the low bits of section_mem_map. */
#define SECTION_MARKED_PRESENT 0x1ULL
#define SECTION_HAS_MEM_MAP 0x2ULL
#define SECTION_IS_ONLINE 0x4ULL
#define SECTION_USABLE (SECTION_MARKED_PRESENT | SECTION_HAS_MEM_MAP | SECTION_IS_ONLINE)

/* Cached translations: one 2 MiB page of vmemmap covers 37449 struct pages. */
#define TLB_ENTRIES 8


/* ---- VMCOREINFO ---- */

/* The value of "KEY=value\n" at the start of a line: [*ret, *ret + *ret_len). */
static bool find_key(const char *text, size_t bytes, const char *key, const char **ret,
		     size_t *ret_len)
{
	size_t klen = strlen(key), pos = 0;

	while (pos < bytes) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', bytes - pos);
		size_t len = nl ? (size_t)(nl - line) : bytes - pos;

		if (len > klen && !memcmp(line, key, klen) && line[klen] == '=') {
			*ret = line + klen + 1;
			*ret_len = len - klen - 1;
			return true;
		}
		pos += len + 1;
	}
	return false;
}

/* Digits of base 10 or 16 only, optionally one leading '-' (NUMBER()), no
 * overflow; the kernel prints these with %lx, %lu and %ld. */
static bool parse_num(const char *s, size_t len, unsigned base, bool sign, uint64_t *ret)
{
	bool neg = false;
	uint64_t v = 0;

	if (sign && len && *s == '-') {
		neg = true;
		s++;
		len--;
	}
	if (!len || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (s[i] >= '0' && s[i] <= '9')
			d = (unsigned)(s[i] - '0');
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = (unsigned)(s[i] - 'a' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	if (neg && v > (1ULL << 63))
		return false;
	*ret = neg ? -v : v;
	return true;
}

struct key_spec {
	const char *key;
	unsigned base;
	bool sign, optional;
	uint64_t *out;
};

static int read_keys(const char *text, size_t bytes, const struct key_spec *k, size_t n,
		     char *reason)
{
	for (size_t i = 0; i < n; i++) {
		const char *v;
		size_t len;

		if (!find_key(text, bytes, k[i].key, &v, &len)) {
			if (k[i].optional)
				continue;
			return khib_fail(reason, -EOPNOTSUPP, "VMCOREINFO has no %s", k[i].key);
		}
		if (!parse_num(v, len, k[i].base, k[i].sign, k[i].out))
			return khib_fail(reason, -EBADMSG, "VMCOREINFO: bad value for %s", k[i].key);
	}
	return 0;
}

/* A field of `width` bytes at `off` inside a struct of `size` bytes. */
static bool field_ok(uint64_t off, unsigned width, uint64_t size)
{
	return off <= size && width <= size - off && off % width == 0;
}

static int check_layout(struct khib_pagefilter_layout *l, uint64_t page_size, char *reason)
{
	uint64_t sections, per_root;

	if (page_size != KHIB_PAGE_SIZE)
		return khib_fail(reason, -EOPNOTSUPP, "page size %" PRIu64 " is not 4096", page_size);
	if (l->section_size_bits <= KHIB_PAGE_SHIFT || l->section_size_bits > 40 ||
	    l->max_physmem_bits > 52 || l->max_physmem_bits <= l->section_size_bits)
		return khib_fail(reason, -EBADMSG, "SECTION_SIZE_BITS %u, MAX_PHYSMEM_BITS %u",
			    l->section_size_bits, l->max_physmem_bits);
	if (l->mem_section_bytes < 8 || l->mem_section_bytes > KHIB_PAGE_SIZE ||
	    (l->mem_section_bytes & (l->mem_section_bytes - 1)) ||
	    !field_ok(l->section_mem_map_off, 8, l->mem_section_bytes))
		return khib_fail(reason, -EBADMSG, "mem_section of %u bytes, map at %u",
			    l->mem_section_bytes, l->section_mem_map_off);
	/* The two models makedumpfile tells apart the same way. */
	sections = 1ULL << (l->max_physmem_bits - l->section_size_bits);
	per_root = KHIB_PAGE_SIZE / l->mem_section_bytes;
	if (l->mem_section_roots == (sections + per_root - 1) / per_root)
		l->sparsemem_extreme = true;
	else if (l->mem_section_roots != sections)
		return khib_fail(reason, -EOPNOTSUPP, "LENGTH(mem_section) %" PRIu64 " fits no sparse model",
			    l->mem_section_roots);
	if (l->page_bytes < 32 || l->page_bytes > 1024 || l->page_bytes % 8 ||
	    !field_ok(l->off_refcount, 4, l->page_bytes) ||
	    !field_ok(l->off_mapcount, 4, l->page_bytes) ||
	    !field_ok(l->off_private, 8, l->page_bytes) ||
	    !field_ok(l->off_compound_head, 8, l->page_bytes))
		return khib_fail(reason, -EBADMSG, "struct page of %u bytes with fields outside it",
			    l->page_bytes);
	/* An aligned block of the largest order must fit in one section. */
	if (l->nr_orders < 1 || l->nr_orders > 20 ||
	    l->nr_orders - 1 > l->section_size_bits - KHIB_PAGE_SHIFT)
		return khib_fail(reason, -EBADMSG, "%u page orders", l->nr_orders);
	if (l->init_top_pgt < KHIB_START_KERNEL_MAP ||
	    !IS_ALIGNED(l->init_top_pgt - KHIB_START_KERNEL_MAP + l->phys_base, KHIB_PAGE_SIZE))
		return khib_fail(reason, -EBADMSG, "init_top_pgt 0x%" PRIx64 " with phys_base 0x%" PRIx64,
			    l->init_top_pgt, l->phys_base);
	return 0;
}

int khib_pagefilter_parse_layout(const char *text, size_t bytes,
				 struct khib_pagefilter_layout *ret, char *reason)
{
	uint64_t v[19] = { 0 };
	const struct key_spec keys[] = {
		{ "PAGESIZE", 10, false, false, &v[0] },
		{ "SYMBOL(mem_section)", 16, false, false, &v[1] },
		{ "LENGTH(mem_section)", 10, false, false, &v[2] },
		{ "SIZE(mem_section)", 10, false, false, &v[3] },
		{ "OFFSET(mem_section.section_mem_map)", 10, false, false, &v[4] },
		{ "NUMBER(SECTION_SIZE_BITS)", 10, true, false, &v[5] },
		{ "NUMBER(MAX_PHYSMEM_BITS)", 10, true, false, &v[6] },
		{ "SIZE(page)", 10, false, false, &v[7] },
		{ "OFFSET(page._refcount)", 10, false, false, &v[8] },
		{ "OFFSET(page._mapcount)", 10, false, false, &v[9] },
		{ "OFFSET(page.private)", 10, false, false, &v[10] },
		{ "OFFSET(page.compound_head)", 10, false, false, &v[11] },
		{ "NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)", 10, true, false, &v[12] },
		{ "LENGTH(zone.free_area)", 10, false, false, &v[13] },
		{ "SYMBOL(init_top_pgt)", 16, false, false, &v[14] },
		{ "NUMBER(phys_base)", 10, true, false, &v[15] },
		{ "NUMBER(pgtable_l5_enabled)", 10, true, false, &v[16] },
		{ "NUMBER(sme_mask)", 10, true, true, &v[17] },
	};
	struct khib_pagefilter_layout l;
	int r;

	if (!text)
		return khib_fail(reason, -EOPNOTSUPP, "no VMCOREINFO");
	r = read_keys(text, bytes, keys, ARRAY_SIZE(keys), reason);
	if (r < 0)
		return r;
	/* Everything but the addresses and phys_base is small; anything large
	 * is rejected here, before it is narrowed. */
	for (size_t i = 2; i <= 13; i++)
		if (i != 12 && v[i] >= (1ULL << 32))
			return khib_fail(reason, -EBADMSG, "VMCOREINFO: %s is %" PRIu64, keys[i].key, v[i]);
	if (v[16] > 1 || (v[12] >> 32 && v[12] >> 31 != 0x1ffffffffULL))
		return khib_fail(reason, -EBADMSG, "VMCOREINFO: bad pgtable_l5_enabled or buddy value");
	l = (struct khib_pagefilter_layout){
		.mem_section = v[1],
		.mem_section_roots = v[2],
		.mem_section_bytes = (uint32_t)v[3],
		.section_mem_map_off = (uint32_t)v[4],
		.section_size_bits = (unsigned)v[5],
		.max_physmem_bits = (unsigned)v[6],
		.page_bytes = (uint32_t)v[7],
		.off_refcount = (uint32_t)v[8],
		.off_mapcount = (uint32_t)v[9],
		.off_private = (uint32_t)v[10],
		.off_compound_head = (uint32_t)v[11],
		.buddy_mapcount = (uint32_t)v[12],
		.nr_orders = (unsigned)v[13],
		.init_top_pgt = v[14],
		.phys_base = v[15],
		.pgtable_l5 = v[16] == 1,
		.sme_mask = v[17],
	};
	r = check_layout(&l, v[0], reason);
	if (r < 0)
		return r;
	*ret = l;
	return 0;
}

/* ---- the result ---- */

struct khib_pagefilter {
	struct khib_range *ranges;
	uint64_t *first_bit; /* bit of each range's first page */
	size_t n;
	uint64_t *bits;
	struct khib_pagefilter_stats stats;
};

void khib_pagefilter_free(struct khib_pagefilter *f)
{
	if (!f)
		return;
	free(f->ranges);
	free(f->first_bit);
	free(f->bits);
	free(f);
}

void khib_pagefilter_get_stats(const struct khib_pagefilter *f, struct khib_pagefilter_stats *ret)
{
	*ret = f->stats;
}

/* The range holding paddr, or -1. */
static ssize_t find_range(const struct khib_range *r, size_t n, uint64_t paddr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (paddr < r[mid].paddr)
			hi = mid;
		else if ((paddr - r[mid].paddr) / KHIB_PAGE_SIZE >= r[mid].npages)
			lo = mid + 1;
		else
			return (ssize_t)mid;
	}
	return -1;
}

static bool bit(const uint64_t *b, uint64_t i)
{
	return b[i / 64] >> (i % 64) & 1;
}

bool khib_pagefilter_is_free(const struct khib_pagefilter *f, uint64_t paddr)
{
	ssize_t i = find_range(f->ranges, f->n, paddr);

	return i >= 0 && bit(f->bits, f->first_bit[i] + (paddr - f->ranges[i].paddr) / KHIB_PAGE_SIZE);
}

uint64_t khib_pagefilter_run(const struct khib_pagefilter *f, uint64_t paddr, uint64_t max_pages,
			     bool *ret_free)
{
	ssize_t i = find_range(f->ranges, f->n, paddr);
	uint64_t b, end, k;
	bool v;

	if (i < 0 || !max_pages)
		return 0;
	b = f->first_bit[i] + (paddr - f->ranges[i].paddr) / KHIB_PAGE_SIZE;
	end = f->first_bit[i] + f->ranges[i].npages;
	if (end - b > max_pages)
		end = b + max_pages;
	v = bit(f->bits, b);
	for (k = b + 1; k < end;) {
		unsigned avail = 64 - (unsigned)(k % 64), same;
		uint64_t w = f->bits[k / 64] >> (k % 64);

		if (!v)
			w = ~w;
		/* Bits equal to v from k on are the trailing ones of w. */
		same = ~w ? (unsigned)__builtin_ctzll(~w) : 64;
		if (same < avail) {
			k += same;
			break;
		}
		k += avail;
	}
	*ret_free = v;
	return (k < end ? k : end) - b;
}

static void mark(struct khib_pagefilter *f, size_t ri, uint64_t pfn, uint64_t n)
{
	uint64_t i = f->first_bit[ri] + pfn - f->ranges[ri].paddr / KHIB_PAGE_SIZE;

	f->stats.free_pages += n;
	for (; n; n--, i++)
		f->bits[i / 64] |= 1ULL << (i % 64);
}

static int filter_alloc(const struct khib_range *ranges, size_t n, struct khib_pagefilter **ret)
{
	struct khib_pagefilter *f = calloc(1, sizeof(*f));
	uint64_t total = 0;

	if (!f)
		return -ENOMEM;
	f->ranges = calloc(n ? n : 1, sizeof(*f->ranges));
	f->first_bit = calloc(n ? n : 1, sizeof(*f->first_bit));
	f->n = n;
	for (size_t i = 0; f->ranges && f->first_bit && i < n; i++) {
		if (!IS_ALIGNED(ranges[i].paddr, KHIB_PAGE_SIZE) || ranges[i].paddr >> 52 ||
		    ranges[i].npages > (1ULL << 40) || total > (1ULL << 40) ||
		    (i && ranges[i].paddr < ranges[i - 1].paddr +
						    ranges[i - 1].npages * KHIB_PAGE_SIZE)) {
			khib_pagefilter_free(f);
			return -EINVAL;
		}
		f->ranges[i] = ranges[i];
		f->first_bit[i] = total;
		total += ranges[i].npages;
	}
	f->bits = calloc(total / 64 + 1, sizeof(uint64_t));
	if (!f->ranges || !f->first_bit || !f->bits) {
		khib_pagefilter_free(f);
		return -ENOMEM;
	}
	*ret = f;
	return 0;
}

/* ---- N's memory, as N saw it ---- */

/* Bytes of struct pages read at once. */
#define BATCH_BYTES 16384

struct tlb_entry {
	uint64_t vbase, bytes, pbase; /* one leaf mapping of N's page table */
};

struct scan {
	const struct khib_pagefilter_input *in;
	const struct khib_pagefilter_layout *l;
	const struct khib_pagefilter *f; /* its ranges index src_bits too */
	uint64_t **src_of;	/* per swapped range and page: N's copy, 0 none */
	uint64_t *src_bits;	/* saved pages that are kexec sources */
	size_t n_swaps;
	uint64_t top_pgt; /* physical address of init_top_pgt */
	struct tlb_entry tlb[TLB_ENTRIES];
	unsigned tlb_next;
	uint8_t *buf; /* BATCH_BYTES of struct pages */
	char *reason;
};

/* The saved memory as it is now: nothing else is ever read. */
static int read_direct(struct scan *s, uint64_t paddr, void *buf, size_t len)
{
	ssize_t i = find_range(s->in->ranges, s->in->n_ranges, paddr);
	int r;

	if (i < 0 || !khib_range_within(paddr - s->in->ranges[i].paddr, len,
					s->in->ranges[i].npages * KHIB_PAGE_SIZE))
		return khib_fail(s->reason, -EFAULT, "0x%" PRIx64 " is outside the saved memory", paddr);
	r = s->in->read(s->in->ctx, paddr, buf, len);
	if (r < 0)
		return khib_fail(s->reason, r, "reading 0x%" PRIx64 ": %s", paddr, strerror(-r));
	return 0;
}

/* The swapped range holding page, or -1. */
static ssize_t find_swapped(const struct scan *s, uint64_t page)
{
	for (size_t i = 0; i < s->in->n_swapped; i++)
		if (page >= s->in->swapped[i].paddr &&
		    (page - s->in->swapped[i].paddr) / KHIB_PAGE_SIZE < s->in->swapped[i].npages)
			return (ssize_t)i;
	return -1;
}

/* The bit of a saved page in f's bitmaps, or -1. */
static int64_t page_bit(const struct khib_pagefilter *f, uint64_t page)
{
	ssize_t i = find_range(f->ranges, f->n, page);

	return i < 0 ? -1 : (int64_t)(f->first_bit[i] + (page - f->ranges[i].paddr) / KHIB_PAGE_SIZE);
}

/*
 * N's view of physical memory.  A page the jump swapped holds H's data; N's
 * is at the swap's source page.  N's view of a source page is H's segment
 * data, now at the destination and overwritten by H: never read it.
 */
static int read_n(struct scan *s, uint64_t paddr, void *buf, size_t len)
{
	uint8_t *out = buf;

	while (len) {
		uint64_t page = ALIGN_DOWN(paddr, KHIB_PAGE_SIZE), off = paddr - page, from = paddr;
		size_t n = len < KHIB_PAGE_SIZE - off ? len : (size_t)(KHIB_PAGE_SIZE - off);
		ssize_t j = find_swapped(s, page);
		int64_t b;
		int r;

		if (j >= 0) {
			from = s->src_of ? s->src_of[j][(page - s->in->swapped[j].paddr) / KHIB_PAGE_SIZE]
					 : 0;
			if (!from)
				return khib_fail(s->reason, -EFAULT, "no kexec swap holds N's page 0x%" PRIx64,
					    page);
			from += off;
		} else if (s->src_bits && (b = page_bit(s->f, page)) >= 0 &&
			   bit(s->src_bits, (uint64_t)b)) {
			return khib_fail(s->reason, -EFAULT, "0x%" PRIx64 " is a kexec source page", page);
		}
		r = read_direct(s, from, out, n);
		if (r < 0)
			return r;
		out += n;
		paddr += n;
		len -= n;
	}
	return 0;
}

static int swap_read_page(void *ctx, uint64_t paddr, void *page)
{
	return read_direct(ctx, paddr, page, KHIB_PAGE_SIZE);
}

/* One (destination, source) pair of the list: each destination a swapped
 * page, each source a saved page, none twice.  1: a swap to use; 0: none. */
static int add_swap(struct scan *s, const struct khib_page_swap *sw)
{
	ssize_t j = find_swapped(s, sw->dest_paddr);
	int64_t b = page_bit(s->f, sw->src_paddr);
	uint64_t *slot;

	/* kexec allocated this source page at its own destination
	 * (kimage_alloc_page): nothing moved, and N had nothing there, the
	 * page having been free in N.  N's view of it stays unknown. */
	if (j >= 0 && sw->src_paddr == sw->dest_paddr)
		return 0;
	if (j < 0 || b < 0)
		return khib_fail(s->reason, -EBADMSG, "kexec swap 0x%" PRIx64 " <-> 0x%" PRIx64
			    " is not between H's memory and the saved memory", sw->dest_paddr,
			    sw->src_paddr);
	slot = &s->src_of[j][(sw->dest_paddr - s->in->swapped[j].paddr) / KHIB_PAGE_SIZE];
	if (*slot || bit(s->src_bits, (uint64_t)b))
		return khib_fail(s->reason, -EBADMSG, "a page twice in the kexec swap list");
	*slot = sw->src_paddr;
	s->src_bits[b / 64] |= 1ULL << (b % 64);
	return 1;
}

/* The kexec swap list as lookup tables (it is long: no sorting). */
static int load_swaps(struct scan *s)
{
	_cleanup_free_ struct khib_page_swap *list = NULL;
	uint64_t max = 0, words = 1;
	size_t n;
	int r;

	for (size_t i = 0; i < s->in->n_swapped; i++) {
		if (s->in->swapped[i].npages > (1ULL << 32) || max > (1ULL << 32))
			return khib_fail(s->reason, -EINVAL, "swapped memory too large");
		max += s->in->swapped[i].npages;
	}
	if (!s->in->jump_back_paddr || !max)
		return 0;
	r = khib_elfcore_kexec_swaps(swap_read_page, s, s->in->jump_back_paddr, max, &list, &n);
	if (r < 0)
		return khib_fail(s->reason, r, "the kexec swap list from 0x%" PRIx64 " is unreadable: %s",
			    s->in->jump_back_paddr, strerror(-r));
	for (size_t i = 0; i < s->f->n; i++)
		words += s->f->ranges[i].npages / 64 + 1;
	s->src_of = calloc(s->in->n_swapped, sizeof(*s->src_of));
	s->src_bits = calloc(words, sizeof(uint64_t));
	if (!s->src_of || !s->src_bits)
		return -ENOMEM;
	for (size_t i = 0; i < s->in->n_swapped; i++)
		if (!(s->src_of[i] = calloc(s->in->swapped[i].npages + 1, sizeof(uint64_t))))
			return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if ((r = add_swap(s, &list[i])) < 0)
			return r;
		s->n_swaps += (size_t)r;
	}
	return 0;
}

/* Walk N's page table (4 or 5 levels, 4 KiB, 2 MiB and 1 GiB pages): at
 * most five entries, so a looping table cannot loop here. */
static int walk(struct scan *s, uint64_t va, struct tlb_entry *ret)
{
	unsigned shift = s->l->pgtable_l5 ? 48 : 39, top = shift + 8;
	uint64_t table = s->top_pgt, hi = va >> top;

	if (hi && hi != UINT64_MAX >> top)
		return khib_fail(s->reason, -EFAULT, "0x%" PRIx64 " is not a canonical address", va);
	for (;; shift -= 9) {
		uint8_t raw[8];
		uint64_t e, addr, size = 1ULL << shift;
		int r = read_n(s, table + ((va >> shift) & 511) * 8, raw, 8);

		if (r < 0)
			return r;
		e = khib_get_le64(raw);
		if (!(e & PTE_PRESENT))
			return khib_fail(s->reason, -EFAULT, "N's page table does not map 0x%" PRIx64, va);
		addr = e & PTE_ADDR_MASK & ~s->l->sme_mask;
		if (shift == 12 || (e & PTE_PSE)) {
			/* Bit 12 of a large page is PAT, not address: masked. */
			if (shift > 30)
				return khib_fail(s->reason, -EBADMSG, "N's page table has a %u-bit page at 0x%" PRIx64,
					    shift, va);
			*ret = (struct tlb_entry){ va & ~(size - 1), size, addr & ~(size - 1) };
			return 0;
		}
		table = addr;
	}
}

/* N's physical address of va and the bytes left in its mapping. */
static int translate(struct scan *s, uint64_t va, uint64_t *ret_pa, uint64_t *ret_left)
{
	struct tlb_entry *t = NULL;

	for (unsigned i = 0; i < TLB_ENTRIES && !t; i++)
		if (va - s->tlb[i].vbase < s->tlb[i].bytes)
			t = &s->tlb[i];
	if (!t) {
		t = &s->tlb[s->tlb_next++ % TLB_ENTRIES];
		int r = walk(s, va, t);
		if (r < 0) {
			t->bytes = 0;
			return r;
		}
	}
	*ret_pa = t->pbase + (va - t->vbase);
	*ret_left = t->bytes - (va - t->vbase);
	return 0;
}

static int read_virt(struct scan *s, uint64_t va, void *buf, size_t len)
{
	uint8_t *out = buf;

	while (len) {
		uint64_t pa, left;
		int r = translate(s, va, &pa, &left);

		if (r < 0)
			return r;
		size_t n = len < left ? len : (size_t)left;
		r = read_n(s, pa, out, n);
		if (r < 0)
			return r;
		out += n;
		va += n;
		len -= n;
	}
	return 0;
}

static int read_virt64(struct scan *s, uint64_t va, uint64_t *ret)
{
	uint8_t raw[8];
	int r = read_virt(s, va, raw, sizeof(raw));

	if (r >= 0)
		*ret = khib_get_le64(raw);
	return r;
}

/* The struct page array of section nr (indexed by absolute pfn): 1, or 0
 * for a section without one (absent, no memory map, offline). */
static int section_map(struct scan *s, uint64_t nr, uint64_t *ret_map)
{
	const struct khib_pagefilter_layout *l = s->l;
	uint64_t per_root = l->sparsemem_extreme ? KHIB_PAGE_SIZE / l->mem_section_bytes : 1;
	uint64_t root = nr / per_root, ms, smm;
	unsigned low = l->section_size_bits - KHIB_PAGE_SHIFT;
	int r;

	if (root >= l->mem_section_roots)
		return 0;
	if (l->sparsemem_extreme) {
		r = read_virt64(s, l->mem_section + root * 8, &ms);
		if (r < 0 || !ms)
			return r;
		ms += nr % per_root * l->mem_section_bytes;
	} else {
		ms = l->mem_section + nr * l->mem_section_bytes;
	}
	r = read_virt64(s, ms + l->section_mem_map_off, &smm);
	if (r < 0 || (smm & SECTION_USABLE) != SECTION_USABLE)
		return r;
	/* The flags sit below bit PFN_SECTION_SHIFT (BUILD_BUG_ON in
	 * mm/sparse.c), and the encoded map is aligned at least that much
	 * or to a page (a page-aligned map minus a multiple of
	 * 2^PFN_SECTION_SHIFT struct pages). */
	if (low > KHIB_PAGE_SHIFT)
		low = KHIB_PAGE_SHIFT;
	*ret_map = smm & ~((1ULL << low) - 1);
	return 1;
}

static uint32_t get32(const uint8_t *pg, uint32_t off)
{
	return khib_get_le32(pg + off);
}

/* A PageBuddy head (page_type in _mapcount, 6.1), with no reference. */
static bool buddy_head(const struct khib_pagefilter_layout *l, const uint8_t *pg)
{
	return get32(pg, l->off_mapcount) == l->buddy_mapcount && get32(pg, l->off_refcount) == 0;
}

/* What every other page of a free block looks like: no reference, no
 * mapping or type (_mapcount -1), not a compound tail (bit 0 of
 * compound_head; free_tail_pages_check() clears it). */
static bool free_tail(const struct khib_pagefilter_layout *l, const uint8_t *pg)
{
	return get32(pg, l->off_refcount) == 0 && get32(pg, l->off_mapcount) == UINT32_MAX &&
	       !(khib_get_le64(pg + l->off_compound_head) & 1);
}

static void accept_block(struct khib_pagefilter *f, size_t ri, uint64_t head, uint64_t end)
{
	f->stats.buddy_blocks++;
	mark(f, ri, head, end - head);
}

/* Classify pfns [pfn, end) of range ri, all in one section whose struct
 * pages start (for pfn 0) at map.  Blocks are aligned and no larger than a
 * section, so one never spans two chunks of a range. */
static int scan_chunk(struct scan *s, struct khib_pagefilter *f, size_t ri, uint64_t pfn,
		      uint64_t end, uint64_t map)
{
	const struct khib_pagefilter_layout *l = s->l;
	uint64_t per = BATCH_BYTES / l->page_bytes, head = 0, bend = 0;
	bool pending = false;

	while (pfn < end) {
		uint64_t n = end - pfn < per ? end - pfn : per;
		int r = read_virt(s, map + pfn * l->page_bytes, s->buf, n * l->page_bytes);

		if (r < 0)
			return r;
		for (const uint8_t *pg = s->buf; n--; pfn++, pg += l->page_bytes) {
			if (pending && pfn == bend) {
				accept_block(f, ri, head, bend);
				pending = false;
			}
			if (pending) {
				if (free_tail(l, pg))
					continue;
				f->stats.rejected_blocks++;
				pending = false;
			}
			if (!buddy_head(l, pg))
				continue;
			uint64_t order = khib_get_le64(pg + l->off_private);
			if (order >= l->nr_orders || pfn & ((1ULL << order) - 1)) {
				f->stats.rejected_blocks++;
				continue;
			}
			head = pfn;
			bend = pfn + (1ULL << order);
			pending = true;
		}
	}
	/* A block past the range's end: its tails there are not saved. */
	if (pending)
		accept_block(f, ri, head, bend < end ? bend : end);
	return 0;
}

static int scan_range(struct scan *s, struct khib_pagefilter *f, size_t ri)
{
	unsigned shift = s->l->section_size_bits - KHIB_PAGE_SHIFT;
	uint64_t pfn = f->ranges[ri].paddr / KHIB_PAGE_SIZE, end = pfn + f->ranges[ri].npages;

	while (pfn < end) {
		uint64_t nr = pfn >> shift, cend = (nr + 1) << shift, map = 0;
		int r;

		if (cend > end)
			cend = end;
		r = section_map(s, nr, &map);
		if (r > 0)
			r = scan_chunk(s, f, ri, pfn, cend, map);
		if (r < 0)
			return r;
		pfn = cend;
	}
	return 0;
}

int khib_pagefilter_new(const struct khib_pagefilter_input *in, struct khib_pagefilter **ret,
			char *reason)
{
	struct khib_pagefilter_layout l;
	struct khib_pagefilter *f = NULL;
	struct scan s = { .in = in, .l = &l, .reason = reason };
	int r;

	r = khib_pagefilter_parse_layout(in->vmcoreinfo, in->vmcoreinfo_bytes, &l, reason);
	if (r < 0)
		return r;
	r = filter_alloc(in->ranges, in->n_ranges, &f);
	if (r < 0)
		return khib_fail(reason, r, "%s", r == -EINVAL ? "bad ranges" : strerror(-r));
	s.f = f;
	s.top_pgt = l.init_top_pgt - KHIB_START_KERNEL_MAP + l.phys_base;
	s.buf = malloc(BATCH_BYTES);
	r = s.buf ? load_swaps(&s) : -ENOMEM;
	for (size_t i = 0; r >= 0 && i < f->n; i++)
		r = scan_range(&s, f, i);
	f->stats.swaps = s.n_swaps;
	free(s.buf);
	for (size_t i = 0; s.src_of && i < in->n_swapped; i++)
		free(s.src_of[i]);
	free(s.src_of);
	free(s.src_bits);
	if (r < 0) {
		khib_pagefilter_free(f);
		return r == -ENOMEM ? khib_fail(reason, r, "out of memory") : r;
	}
	*ret = f;
	return 0;
}
