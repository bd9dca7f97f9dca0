/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A synthetic hibernated kernel (N) for the free-page filter: flat physical
 * memory holding what lib/format/pagefilter.c reads — a VMCOREINFO text, a 4- or
 * 5-level x86-64 page table (direct map, vmemmap), mem_section (SPARSEMEM
 * EXTREME or static) and struct pages laid out as in Linux 6.1 — with
 * buddy blocks placed by the test, and a kexec jump's page swap.
 * Tables are allocated from the top of memory down, as memblock does.
 * Used by the unit tests and by the fuzz corpus generator.
 */
#ifndef KHIB_TEST_PAGEFILTER_FIXTURE_H
#define KHIB_TEST_PAGEFILTER_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* struct page of 6.1 (SIZE(page)=56 without memcg). */
#define FX_PAGE_BYTES 56
#define FX_OFF_COMPOUND_HEAD 8
#define FX_OFF_PRIVATE 40
#define FX_OFF_MAPCOUNT 48
#define FX_OFF_REFCOUNT 52
#define FX_BUDDY_MAPCOUNT 0xffffff7fu /* ~PG_buddy */

struct fx_pf_opts {
	unsigned levels;	/* 4 or 5 */
	uint64_t mem_pages;	/* physical memory [0, mem_pages) */
	unsigned section_size_bits, max_physmem_bits, nr_orders;
	bool static_sections;	/* mem_section as a flat array (no EXTREME) */
	bool vmemmap_2m;	/* struct pages mapped by 2 MiB pages, else 4 KiB */
	bool direct_1g;		/* direct map in 1 GiB pages, else 2 MiB */
	uint64_t phys_base;
};

struct fx_pf {
	struct fx_pf_opts o;
	uint8_t *mem;
	uint64_t mem_bytes;
	uint64_t next_table;	/* lowest page allocated so far (top-down) */
	uint64_t top_pgt, memmap;	/* physical addresses */
	uint64_t direct_base, vmemmap_base;
	uint64_t jump_back;	/* set by fx_pf_swap() */
	char text[4096];
	size_t text_bytes;
};

/* The small default machine: 256 pages, 4-level, 16-page sections, orders
 * 0..3, 4 KiB vmemmap pages. */
void fx_pf_default(struct fx_pf_opts *o);
void fx_pf_init(struct fx_pf *fx, const struct fx_pf_opts *o);
void fx_pf_release(struct fx_pf *fx);

/* The struct page of pfn, in memory (before any swap). */
uint8_t *fx_pf_struct_page(struct fx_pf *fx, uint64_t pfn);
/* Make [pfn, pfn + 2^order) a free buddy block. */
void fx_pf_free_block(struct fx_pf *fx, uint64_t pfn, unsigned order);

/*
 * The kexec jump: N's content of pages [dest, dest + n) moves to pages
 * [src, src + n), the destinations get H's bytes (0xa5), and the swap list
 * goes into pages ctl (control page) and ctl + 1 (indirection page).
 */
void fx_pf_swap(struct fx_pf *fx, uint64_t dest_pfn, uint64_t n, uint64_t src_pfn,
		uint64_t ctl_pfn);

/* Replace the value of a VMCOREINFO key (NULL: drop the line). */
void fx_pf_set_key(struct fx_pf *fx, const char *key, const char *value);

/* khib_pagefilter_read_fn over fx->mem. */
int fx_pf_read(void *ctx, uint64_t paddr, void *buf, size_t len);

/* Write a PTE-style entry (for corrupting tables). */
void fx_pf_put64(struct fx_pf *fx, uint64_t paddr, uint64_t v);
uint64_t fx_pf_get64(struct fx_pf *fx, uint64_t paddr);

#endif
