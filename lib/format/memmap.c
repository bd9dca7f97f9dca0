/* SPDX-License-Identifier: GPL-2.0-only */
#include "memmap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "util.h"

int khib_memmap_add(struct khib_memmap *m, uint64_t start, uint64_t end, uint32_t type)
{
	if (end <= start)
		return -EINVAL;
	if (m->n >= KHIB_MEMMAP_MAX)
		return -E2BIG;
	m->r[m->n++] = (struct khib_mem_range){ start, end, type };
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct khib_mem_range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

int khib_memmap_normalize(struct khib_memmap *m)
{
	size_t out = 0;

	qsort(m->r, m->n, sizeof(m->r[0]), range_cmp);
	for (size_t i = 0; i < m->n; i++) {
		struct khib_mem_range *cur = &m->r[i];

		if (out > 0) {
			struct khib_mem_range *prev = &m->r[out - 1];

			if (cur->start < prev->end) {
				if (cur->type != prev->type)
					return -EINVAL;
				if (cur->end > prev->end)
					prev->end = cur->end;
				continue;
			}
			if (cur->start == prev->end && cur->type == prev->type) {
				prev->end = cur->end;
				continue;
			}
		}
		m->r[out++] = *cur;
	}
	m->n = out;
	return 0;
}

static const struct {
	const char *name;
	uint32_t type;
} type_names[] = {
	{ "System RAM", KHIB_E820_RAM },
	{ "Reserved", KHIB_E820_RESERVED },
	{ "reserved", KHIB_E820_RESERVED },
	{ "ACPI Tables", KHIB_E820_ACPI },
	{ "ACPI Non-volatile Storage", KHIB_E820_NVS },
	{ "Unusable memory", KHIB_E820_UNUSABLE },
	{ "Persistent Memory", KHIB_E820_PMEM },
	{ "Persistent Memory (legacy)", KHIB_E820_PRAM },
};

uint32_t khib_memmap_type_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(type_names); i++)
		if (!strcmp(name, type_names[i].name))
			return type_names[i].type;
	/* Anything unknown is kept away from, like reserved memory. */
	return KHIB_E820_RESERVED;
}

int khib_memmap_iomem_find(const char *iomem, const char *name, uint32_t type,
			   struct khib_memmap *m)
{
	const char *line = iomem;
	int found = 0;

	/* Lines look like "  01000000-01bfffff : Kernel code". */
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[256];
		unsigned long long s, e;
		int off = 0;

		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			/* Without CAP_SYS_ADMIN every address reads as 0-0. */
			if (sscanf(buf, " %llx-%llx : %n", &s, &e, &off) == 2 && off > 0 &&
			    !strcmp(buf + off, name) && e >= s && e != UINT64_MAX && e != 0) {
				int r = khib_memmap_add(m, s, (uint64_t)e + 1, type);
				if (r < 0)
					return r;
				found++;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return found;
}

uint64_t khib_memmap_total(const struct khib_memmap *m, uint32_t type)
{
	uint64_t total = 0;

	for (size_t i = 0; i < m->n; i++)
		if (m->r[i].type == type)
			total += m->r[i].end - m->r[i].start;
	return total;
}

const struct khib_mem_range *khib_memmap_find(const struct khib_memmap *m, uint64_t start,
					      uint64_t end, uint32_t type)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->r[i].type == type && m->r[i].start <= start && end <= m->r[i].end)
			return &m->r[i];
	return NULL;
}

uint64_t khib_memmap_hash(const struct khib_memmap *m)
{
	uint8_t rec[KHIB_MEMMAP_MAX * 20];

	for (size_t i = 0; i < m->n; i++) {
		khib_put_le64(rec + 20 * i, m->r[i].start);
		khib_put_le64(rec + 20 * i + 8, m->r[i].end);
		khib_put_le32(rec + 20 * i + 16, m->r[i].type);
	}
	return khib_xxh64(rec, 20 * m->n, 0x6b686962 /* "khib" */);
}

bool khib_memmap_overlaps(const struct khib_memmap *m, uint64_t start, uint64_t end,
			  uint32_t type)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->r[i].type == type && khib_ranges_overlap(start, end - start, m->r[i].start,
								 m->r[i].end - m->r[i].start))
			return true;
	return false;
}
