/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: the free-page filter, which reads the hibernated kernel's
 * VMCOREINFO, page table, mem_section, struct pages and kexec swap list —
 * all of it untrusted memory.
 *
 * Input (little-endian):
 *   0  u32 text bytes T (VMCOREINFO, at most 16 KiB)
 *   4  u16 memory pages M (at most 1024): physical memory [0, M pages), zero
 *   6  u16 swapped pages S: the top S pages are H's region (N's view of
 *      them comes from the swap list); the rest is the saved range
 *   8  u64 jump-back address (finds the swap list)
 *  16  T bytes of text
 *  then spans until the end: u32 physical address, u16 length, the bytes
 *  (clipped to memory; make-corpus-pagefilter writes seeds this way).
 * A successful filter is checked for consistency: runs agree with single
 * pages, and nothing outside the saved range is free.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pagefilter.h"
#include "util.h"

#define MAX_TEXT (16u << 10)
#define MAX_PAGES 1024u

struct mem {
	uint8_t *b;
	uint64_t bytes;
};

static int mem_read(void *ctx, uint64_t paddr, void *buf, size_t len)
{
	const struct mem *m = ctx;

	if (!khib_range_within(paddr, len, m->bytes))
		return -EFAULT;
	memcpy(buf, m->b + paddr, len);
	return 0;
}

static void check(const struct khib_pagefilter *f, const struct khib_range *saved, uint64_t pages)
{
	for (uint64_t p = 0; p < pages; p++) {
		bool v, in = p < saved->npages;
		uint64_t n = khib_pagefilter_run(f, p * 4096, 100, &v);

		if (khib_pagefilter_is_free(f, p * 4096) && !in)
			abort();
		if (in != (n > 0))
			abort();
		for (uint64_t k = 0; k < n; k++)
			if (khib_pagefilter_is_free(f, (p + k) * 4096) != v)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct khib_pagefilter *f = NULL;
	struct khib_range saved, swapped;
	struct mem m;
	char reason[KHIB_REASON_MAX];
	uint32_t text_bytes;
	uint16_t pages, swapped_pages;
	size_t pos;

	if (size < 16)
		return 0;
	text_bytes = khib_get_le32(data);
	pages = khib_get_le16(data + 4);
	swapped_pages = khib_get_le16(data + 6);
	if (text_bytes > MAX_TEXT || text_bytes > size - 16 || !pages || pages > MAX_PAGES ||
	    swapped_pages >= pages)
		return 0;
	m.bytes = (uint64_t)pages * 4096;
	m.b = calloc(1, m.bytes);
	if (!m.b)
		return 0;
	for (pos = 16 + text_bytes; size - pos >= 6;) {
		uint32_t paddr = khib_get_le32(data + pos);
		size_t len = khib_get_le16(data + pos + 4);

		pos += 6;
		if (len > size - pos)
			len = size - pos;
		if (paddr < m.bytes)
			memcpy(m.b + paddr, data + pos, len < m.bytes - paddr ? len : m.bytes - paddr);
		pos += len;
	}
	saved = (struct khib_range){ 0, (uint64_t)(pages - swapped_pages) };
	swapped = (struct khib_range){ saved.npages * 4096, swapped_pages };
	struct khib_pagefilter_input in = {
		.vmcoreinfo = (const char *)data + 16,
		.vmcoreinfo_bytes = text_bytes,
		.ranges = &saved,
		.n_ranges = 1,
		.swapped = &swapped,
		.n_swapped = swapped_pages ? 1 : 0,
		.jump_back_paddr = khib_get_le64(data + 8),
		.read = mem_read,
		.ctx = &m,
	};
	if (khib_pagefilter_new(&in, &f, reason) >= 0) {
		check(f, &saved, pages);
		khib_pagefilter_free(f);
	}
	free(m.b);
	return 0;
}
