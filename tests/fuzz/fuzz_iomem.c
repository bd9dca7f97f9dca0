/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: /proc/iomem text (khib_memmap_iomem_find, which finds the
 * running kernel's code and data), then normalizing what was found: the
 * ranges of each name alone, and of all names in one map with a type per
 * name (nested names overlap there, which normalize must refuse cleanly).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "memmap.h"

static const char *const names[] = {
	"Kernel code", "Kernel data", "Kernel bss", "Crash kernel", "System RAM", "reserved", "",
};

static uint64_t normalize(struct khib_memmap *m)
{
	uint64_t sum;

	if (khib_memmap_normalize(m) < 0)
		return 0;
	/* What normalize promises: sorted, non-empty, disjoint. */
	for (size_t i = 0; i < m->n; i++)
		if (m->r[i].end <= m->r[i].start || (i && m->r[i].start < m->r[i - 1].end))
			__builtin_trap();
	sum = khib_memmap_hash(m);
	for (uint32_t t = 1; t <= 7; t++)
		sum += khib_memmap_total(m, t);
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct khib_memmap one, all;
	char *text = malloc(size + 1);
	uint64_t sum = 0;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&all, 0, sizeof(all));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		memset(&one, 0, sizeof(one));
		if (khib_memmap_iomem_find(text, names[i], 1, &one) >= 0)
			sum += normalize(&one);
		khib_memmap_iomem_find(text, names[i], (uint32_t)i + 1, &all);
	}
	sum += normalize(&all);
	free(text);
	return (int)(sum & 0);
}
