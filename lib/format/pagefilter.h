/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Free pages of the hibernated kernel (N): which of the pages the writer
 * saves sit in N's buddy allocator, so the image can leave them out.  This
 * module owns reading N's memory-management state — its VMCOREINFO text,
 * its kernel page table, mem_section and struct page array — at the instant
 * of the kexec jump, when N is frozen and its free lists are consistent.
 *
 * What always holds:
 *   - memory is read only through the caller's callback, and only inside
 *     N's saved ranges: never MMIO, never the writer's own memory;
 *   - "N's view" of a page the jump swapped (H's region, low memory) is read
 *     from the swap's source page (lib/format/elfcore.h, khib_elfcore_kexec_swaps);
 *     a swapped page without a swap entry, and a source page itself, are
 *     never read as N's;
 *   - everything read from N is untrusted: every index, order and address
 *     is bounded, every loop has a bound; corrupt input gives -errno or
 *     fewer free pages, never a crash, a hang or a page wrongly called free
 *     that N's own struct pages do not describe as free;
 *   - the result errs towards "not free": a page is free only inside a
 *     buddy block whose head says PageBuddy with a valid, aligned order and
 *     whose every saved tail page reads as a free tail (no references, no
 *     mappings, not a compound tail).  Pages on per-CPU lists are kept.
 *
 * SECURITY: the struct page array and page tables are N's kernel memory;
 * only the bitmap of free pages leaves this module.
 *
 * Errors: -EOPNOTSUPP a VMCOREINFO key is missing or the layout is one this
 * code does not know (page size, mem_section model); -EBADMSG a value that
 * cannot be right (absurd sizes, a broken kexec swap list, a page-table
 * entry that cannot exist); -EFAULT a needed page is outside N's readable
 * memory or not mapped by N's page table; -ENOMEM.
 */
#ifndef KHIB_PAGEFILTER_H
#define KHIB_PAGEFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

/* Read exactly len bytes of physical memory at paddr as the running kernel
 * sees it; -errno on failure. */
typedef int khib_pagefilter_read_fn(void *ctx, uint64_t paddr, void *buf, size_t len);

/* What the filter needs of N's VMCOREINFO (6.1 names; values checked). */
struct khib_pagefilter_layout {
	uint64_t mem_section;		/* SYMBOL(mem_section): root table (EXTREME) or array */
	uint64_t mem_section_roots;	/* LENGTH(mem_section) */
	uint32_t mem_section_bytes;	/* SIZE(mem_section), a power of two */
	uint32_t section_mem_map_off;	/* OFFSET(mem_section.section_mem_map) */
	bool sparsemem_extreme;		/* from LENGTH vs the number of sections */
	unsigned section_size_bits;	/* NUMBER(SECTION_SIZE_BITS) */
	unsigned max_physmem_bits;	/* NUMBER(MAX_PHYSMEM_BITS) */
	uint32_t page_bytes;		/* SIZE(page) */
	uint32_t off_refcount, off_mapcount, off_private, off_compound_head;
	uint32_t buddy_mapcount;	/* NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE) as page_type */
	unsigned nr_orders;		/* LENGTH(zone.free_area): orders 0 .. nr_orders-1 */
	uint64_t init_top_pgt;		/* SYMBOL(init_top_pgt), kernel-text address */
	uint64_t phys_base;		/* NUMBER(phys_base), may be "negative" */
	bool pgtable_l5;		/* NUMBER(pgtable_l5_enabled) */
	uint64_t sme_mask;		/* NUMBER(sme_mask), 0 when absent */
};

/* Parse and check the VMCOREINFO text (not NUL-terminated: bytes).
 * reason: NULL or KHIB_REASON_MAX bytes, filled on failure. */
int khib_pagefilter_parse_layout(const char *text, size_t bytes,
				 struct khib_pagefilter_layout *ret, char *reason);

struct khib_pagefilter_input {
	const char *vmcoreinfo;		/* N's VMCOREINFO text */
	size_t vmcoreinfo_bytes;
	/* The pages to classify, and the only ones read directly: sorted,
	 * non-overlapping (khib_save_ranges()). */
	const struct khib_range *ranges;
	size_t n_ranges;
	/* N's RAM whose content the jump swapped away (H's region and low
	 * memory), sorted; N's view of those pages comes from the swap list. */
	const struct khib_range *swapped;
	size_t n_swapped;
	uint64_t jump_back_paddr;	/* finds the swap list; 0: none */
	khib_pagefilter_read_fn *read;
	void *ctx;
};

struct khib_pagefilter_stats {
	uint64_t free_pages;		/* pages of the ranges found free */
	uint64_t buddy_blocks;		/* blocks accepted */
	uint64_t rejected_blocks;	/* PageBuddy heads not trusted (bad order, tails) */
	uint64_t swaps;			/* kexec swap entries used for N's view */
};

struct khib_pagefilter;

/* Find the free pages of in->ranges.  reason: NULL or KHIB_REASON_MAX bytes,
 * filled on failure. */
int khib_pagefilter_new(const struct khib_pagefilter_input *in, struct khib_pagefilter **ret,
			char *reason);
void khib_pagefilter_free(struct khib_pagefilter *f);
void khib_pagefilter_get_stats(const struct khib_pagefilter *f, struct khib_pagefilter_stats *ret);

/* Is the page at paddr one of the ranges' free pages? */
bool khib_pagefilter_is_free(const struct khib_pagefilter *f, uint64_t paddr);
/* The run of pages from paddr (at most max_pages, never past the end of its
 * range) that are all free (*ret_free) or all not; 0 outside the ranges. */
uint64_t khib_pagefilter_run(const struct khib_pagefilter *f, uint64_t paddr, uint64_t max_pages,
			     bool *ret_free);

#endif
