/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Writes the free-page filter's seeds into the directory argv[1]
 * (make-corpus.sh runs it): synthetic hibernated kernels from the unit
 * tests' fixture, in fuzz_pagefilter.c's input format — 4 and 5 levels,
 * both sparse models, a region reached through the kexec swap list, and
 * broken blocks, page tables and keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_pagefilter_fixture.h"
#include "util.h"

static const char *dir;

/* Header, text, then the non-zero spans of memory (gaps under 32 bytes
 * merged). */
static int put(const char *name, const struct fx_pf *fx, uint16_t swapped)
{
	char path[4096];
	uint8_t hdr[16];
	FILE *f;
	uint64_t pos = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f)
		goto fail;
	khib_put_le32(hdr, (uint32_t)fx->text_bytes);
	khib_put_le16(hdr + 4, (uint16_t)fx->o.mem_pages);
	khib_put_le16(hdr + 6, swapped);
	khib_put_le64(hdr + 8, fx->jump_back);
	fwrite(hdr, 1, sizeof(hdr), f);
	fwrite(fx->text, 1, fx->text_bytes, f);
	while (pos < fx->mem_bytes) {
		uint64_t s = pos, e, zeros = 0;
		uint8_t sp[6];

		while (s < fx->mem_bytes && !fx->mem[s])
			s++;
		if (s == fx->mem_bytes)
			break;
		for (e = s; e < fx->mem_bytes && e - s < 65535 && zeros < 32; e++)
			zeros = fx->mem[e] ? 0 : zeros + 1;
		e -= zeros;
		khib_put_le32(sp, (uint32_t)s);
		khib_put_le16(sp + 4, (uint16_t)(e - s));
		fwrite(sp, 1, sizeof(sp), f);
		fwrite(fx->mem + s, 1, e - s, f);
		pos = e;
	}
	if (fclose(f))
		goto fail;
	return 0;
fail:
	perror(path);
	return 1;
}

static void free_some(struct fx_pf *fx)
{
	fx_pf_free_block(fx, 8, 3);
	fx_pf_free_block(fx, 17, 0);
	fx_pf_free_block(fx, 20, 2);
	fx_pf_free_block(fx, 64, 3);
	fx_pf_free_block(fx, 200, 3);
	fx_pf_free_block(fx, 216, 3);
}

int main(int argc, char **argv)
{
	struct fx_pf_opts o;
	struct fx_pf fx;
	int bad = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: make-corpus-pagefilter DIR\n");
		return 2;
	}
	dir = argv[1];

	fx_pf_default(&o);
	fx_pf_init(&fx, &o);
	free_some(&fx);
	bad |= put("small-4level", &fx, 0);
	fx_pf_set_key(&fx, "SYMBOL(init_top_pgt)", NULL);
	bad |= put("no-init-top-pgt", &fx, 0);
	fx_pf_release(&fx);

	fx_pf_init(&fx, &o);
	free_some(&fx);
	fx_pf_swap(&fx, 220, 36, 160, 150);
	memset(fx.mem + 220 * 4096, 0, 36 * 4096); /* H's bytes: never read */
	bad |= put("region-swapped", &fx, 36);
	fx_pf_put64(&fx, 151 * 4096 + 8 * 37, 151 * 4096 | 2); /* the list loops */
	bad |= put("swap-list-loop", &fx, 36);
	fx_pf_release(&fx);

	o.static_sections = true;
	o.direct_1g = false;
	o.mem_pages = 512;
	fx_pf_init(&fx, &o);
	free_some(&fx);
	bad |= put("static-sections", &fx, 0);
	fx_pf_release(&fx);

	fx_pf_default(&o);
	fx_pf_init(&fx, &o);
	fx_pf_free_block(&fx, 16, 3);
	khib_put_le64(fx_pf_struct_page(&fx, 16) + FX_OFF_PRIVATE, 4);
	fx_pf_free_block(&fx, 64, 3);
	khib_put_le32(fx_pf_struct_page(&fx, 69) + FX_OFF_REFCOUNT, 1);
	fx_pf_free_block(&fx, 104, 2);
	fx_pf_free_block(&fx, 106, 0);
	bad |= put("untrusted-blocks", &fx, 0);
	/* The vmemmap's top-level entry points back at the top table. */
	fx_pf_put64(&fx, fx.top_pgt + ((fx.vmemmap_base >> 39) & 511) * 8, fx.top_pgt | 3);
	bad |= put("page-table-cycle", &fx, 0);
	fx_pf_release(&fx);

	o = (struct fx_pf_opts){ .levels = 5, .mem_pages = 1024, .section_size_bits = 27,
				 .max_physmem_bits = 52, .nr_orders = 11, .direct_1g = true,
				 .phys_base = (uint64_t)-113246208LL };
	fx_pf_init(&fx, &o);
	fx_pf_free_block(&fx, 256, 8);
	fx_pf_free_block(&fx, 3, 0);
	bad |= put("5level-6.1", &fx, 0);
	fx_pf_release(&fx);
	return bad;
}
