/* SPDX-License-Identifier: GPL-2.0-only */
#include "test_pagefilter_fixture.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfcore.h"
#include "util.h"

#define PTE_TABLE 0x63ULL /* present, rw, accessed, dirty */
#define PTE_PSE 0x80ULL
#define PTE_LEAF (0x100ULL | 1ULL << 63) /* global, no-execute (__PAGE_KERNEL) */
#define PTE_ADDR_MASK 0x000ffffffffff000ULL
#define SECTION_FLAGS 0x7ULL /* present, has mem_map, online */

void fx_pf_default(struct fx_pf_opts *o)
{
	*o = (struct fx_pf_opts){
		.levels = 4,
		.mem_pages = 256,
		.section_size_bits = 16,
		.max_physmem_bits = 28,
		.nr_orders = 4,
		.direct_1g = true,
		.phys_base = 0,
	};
}

void fx_pf_put64(struct fx_pf *fx, uint64_t paddr, uint64_t v)
{
	if (paddr + 8 <= fx->mem_bytes)
		khib_put_le64(fx->mem + paddr, v);
}

uint64_t fx_pf_get64(struct fx_pf *fx, uint64_t paddr)
{
	return paddr + 8 <= fx->mem_bytes ? khib_get_le64(fx->mem + paddr) : 0;
}

/* n pages from the top down, aligned to `align` pages; physical address. */
static uint64_t alloc_pages(struct fx_pf *fx, uint64_t n, uint64_t align)
{
	uint64_t pfn = fx->next_table / KHIB_PAGE_SIZE;

	if (pfn < n)
		abort(); /* the fixture's machine is too small for its tables */
	pfn = ALIGN_DOWN(pfn - n, align);
	fx->next_table = pfn * KHIB_PAGE_SIZE;
	return fx->next_table;
}

static void map(struct fx_pf *fx, uint64_t va, uint64_t pa, uint64_t size)
{
	unsigned shift = fx->o.levels == 5 ? 48 : 39;
	uint64_t table = fx->top_pgt;

	for (;; shift -= 9) {
		uint64_t slot = table + ((va >> shift) & 511) * 8, e;

		if (1ULL << shift == size) {
			fx_pf_put64(fx, slot, pa | PTE_TABLE | PTE_LEAF | (shift > 12 ? PTE_PSE : 0));
			return;
		}
		e = fx_pf_get64(fx, slot);
		if (!(e & 1)) {
			e = alloc_pages(fx, 1, 1) | PTE_TABLE;
			fx_pf_put64(fx, slot, e);
		}
		table = e & PTE_ADDR_MASK;
	}
}

/* mem_section, either way; returns SYMBOL(mem_section) and LENGTH(). */
static void build_sections(struct fx_pf *fx, uint64_t *ret_sym, uint64_t *ret_len)
{
	unsigned pss = fx->o.section_size_bits - 12;
	uint64_t sections = 1ULL << (fx->o.max_physmem_bits - fx->o.section_size_bits);
	uint64_t used = (fx->o.mem_pages + (1ULL << pss) - 1) >> pss, per_root = 4096 / 16;

	if (fx->o.static_sections) {
		uint64_t pa = alloc_pages(fx, (sections * 16 + 4095) / 4096, 1);

		for (uint64_t s = 0; s < used; s++)
			fx_pf_put64(fx, pa + s * 16, fx->vmemmap_base | SECTION_FLAGS);
		*ret_sym = fx->direct_base + pa;
		*ret_len = sections;
		return;
	}
	uint64_t roots = (sections + per_root - 1) / per_root;
	uint64_t roots_pa = alloc_pages(fx, (roots * 8 + 4095) / 4096, 1);

	for (uint64_t s = 0; s < used; s++) {
		uint64_t slot = roots_pa + s / per_root * 8, page = fx_pf_get64(fx, slot);

		if (!page) {
			page = fx->direct_base + alloc_pages(fx, 1, 1);
			fx_pf_put64(fx, slot, page);
		}
		fx_pf_put64(fx, page - fx->direct_base + s % per_root * 16,
			    fx->vmemmap_base | SECTION_FLAGS);
	}
	*ret_sym = fx->direct_base + roots_pa;
	*ret_len = roots;
}

static void build_text(struct fx_pf *fx, uint64_t ms_sym, uint64_t ms_len)
{
	int n = snprintf(fx->text, sizeof(fx->text),
		"OSRELEASE=6.1.0-fixture\n"
		"PAGESIZE=4096\n"
		"SYMBOL(init_uts_ns)=ffffffff82000000\n"
		"SYMBOL(mem_section)=%" PRIx64 "\n"
		"LENGTH(mem_section)=%" PRIu64 "\n"
		"SIZE(mem_section)=16\n"
		"OFFSET(mem_section.section_mem_map)=0\n"
		"NUMBER(SECTION_SIZE_BITS)=%u\n"
		"NUMBER(MAX_PHYSMEM_BITS)=%u\n"
		"SIZE(page)=%u\n"
		"OFFSET(page.flags)=0\n"
		"OFFSET(page._refcount)=%u\n"
		"OFFSET(page.lru)=8\n"
		"OFFSET(page._mapcount)=%u\n"
		"OFFSET(page.private)=%u\n"
		"OFFSET(page.compound_head)=%u\n"
		"LENGTH(zone.free_area)=%u\n"
		"NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-129\n"
		"NUMBER(phys_base)=%" PRId64 "\n"
		"SYMBOL(init_top_pgt)=%" PRIx64 "\n"
		"NUMBER(pgtable_l5_enabled)=%d\n"
		"KERNELOFFSET=0\n"
		"NUMBER(sme_mask)=0\n",
		ms_sym, ms_len, fx->o.section_size_bits, fx->o.max_physmem_bits, FX_PAGE_BYTES,
		FX_OFF_REFCOUNT, FX_OFF_MAPCOUNT, FX_OFF_PRIVATE, FX_OFF_COMPOUND_HEAD,
		fx->o.nr_orders, (int64_t)fx->o.phys_base,
		(uint64_t)(KHIB_START_KERNEL_MAP + fx->top_pgt - fx->o.phys_base), fx->o.levels == 5);

	fx->text_bytes = (size_t)n;
}

void fx_pf_init(struct fx_pf *fx, const struct fx_pf_opts *o)
{
	uint64_t memmap_bytes = o->mem_pages * FX_PAGE_BYTES, ms_sym, ms_len;
	uint64_t leaf = o->vmemmap_2m ? 2ULL << 20 : 4096, dleaf = o->direct_1g ? 1ULL << 30 : 2ULL << 20;

	*fx = (struct fx_pf){ .o = *o, .mem_bytes = o->mem_pages * 4096 };
	fx->mem = calloc(1, fx->mem_bytes);
	if (!fx->mem)
		abort();
	fx->next_table = fx->mem_bytes;
	fx->direct_base = o->levels == 5 ? 0xff11000000000000ULL : 0xffff888000000000ULL;
	fx->vmemmap_base = o->levels == 5 ? 0xffd4000000000000ULL : 0xffffea0000000000ULL;
	fx->top_pgt = alloc_pages(fx, 1, 1);
	build_sections(fx, &ms_sym, &ms_len);
	memmap_bytes = ALIGN_UP(memmap_bytes, leaf);
	fx->memmap = alloc_pages(fx, memmap_bytes / 4096, leaf / 4096);
	for (uint64_t off = 0; off < memmap_bytes; off += leaf)
		map(fx, fx->vmemmap_base + off, fx->memmap + off, leaf);
	for (uint64_t pa = 0; pa < fx->mem_bytes; pa += dleaf)
		map(fx, fx->direct_base + pa, pa, dleaf);
	/* Every page in use until a test frees it. */
	for (uint64_t pfn = 0; pfn < o->mem_pages; pfn++) {
		uint8_t *pg = fx_pf_struct_page(fx, pfn);

		khib_put_le32(pg + FX_OFF_REFCOUNT, 1);
		khib_put_le32(pg + FX_OFF_MAPCOUNT, UINT32_MAX);
	}
	build_text(fx, ms_sym, ms_len);
}

void fx_pf_release(struct fx_pf *fx)
{
	free(fx->mem);
	fx->mem = NULL;
}

uint8_t *fx_pf_struct_page(struct fx_pf *fx, uint64_t pfn)
{
	return fx->mem + fx->memmap + pfn * FX_PAGE_BYTES;
}

void fx_pf_free_block(struct fx_pf *fx, uint64_t pfn, unsigned order)
{
	for (uint64_t i = 0; i < 1ULL << order; i++) {
		uint8_t *pg = fx_pf_struct_page(fx, pfn + i);

		memset(pg, 0, FX_PAGE_BYTES);
		khib_put_le32(pg + FX_OFF_MAPCOUNT, i ? UINT32_MAX : FX_BUDDY_MAPCOUNT);
		if (!i) {
			khib_put_le64(pg + FX_OFF_PRIVATE, order);
			/* lru: linked into a free list (an even pointer) */
			khib_put_le64(pg + FX_OFF_COMPOUND_HEAD, 0xffff888000123400ULL);
		} else {
			khib_put_le64(pg + FX_OFF_COMPOUND_HEAD, 0xdead000000000100ULL);
		}
	}
}

void fx_pf_swap(struct fx_pf *fx, uint64_t dest_pfn, uint64_t n, uint64_t src_pfn,
		uint64_t ctl_pfn)
{
	uint64_t ind = (ctl_pfn + 1) * 4096;

	if (n > 500)
		abort();
	for (uint64_t i = 0; i < n; i++) {
		memcpy(fx->mem + (src_pfn + i) * 4096, fx->mem + (dest_pfn + i) * 4096, 4096);
		memset(fx->mem + (dest_pfn + i) * 4096, 0xa5, 4096);
	}
	/* include/linux/kexec.h: IND_DESTINATION 1, INDIRECTION 2, DONE 4,
	 * SOURCE 8; the head sits at CP_PA_BACKUP_PAGES_MAP (0x830). */
	memset(fx->mem + ind, 0, 4096);
	fx_pf_put64(fx, ctl_pfn * 4096 + 0x830, ind | 2);
	fx_pf_put64(fx, ind, dest_pfn * 4096 | 1);
	for (uint64_t i = 0; i < n; i++)
		fx_pf_put64(fx, ind + 8 * (i + 1), (src_pfn + i) * 4096 | 8);
	fx_pf_put64(fx, ind + 8 * (n + 1), 4);
	fx->jump_back = ctl_pfn * 4096 + 0xfb;
}

void fx_pf_set_key(struct fx_pf *fx, const char *key, const char *value)
{
	char out[sizeof(fx->text)];
	size_t klen = strlen(key), o = 0;
	const char *p = fx->text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);

		if (!strncmp(p, key, klen) && p[klen] == '=') {
			if (value)
				o += (size_t)snprintf(out + o, sizeof(out) - o, "%s=%s\n", key, value);
		} else {
			memcpy(out + o, p, len);
			o += len;
		}
		p += len;
	}
	out[o] = '\0';
	memcpy(fx->text, out, o + 1);
	fx->text_bytes = o;
}

int fx_pf_read(void *ctx, uint64_t paddr, void *buf, size_t len)
{
	struct fx_pf *fx = ctx;

	if (!khib_range_within(paddr, len, fx->mem_bytes))
		return -EFAULT;
	memcpy(buf, fx->mem + paddr, len);
	return 0;
}
