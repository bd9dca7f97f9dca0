/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Physical memory maps: the firmware's (e820) view of RAM and reserved
 * ranges, and the running kernel's placement of itself (/proc/iomem).
 *
 * A struct khib_memmap always holds ranges sorted by start, non-empty, with
 * exclusive ends; entries never overlap after khib_memmap_normalize().
 * Types are the e820 type numbers, which the boot protocol hands on as is.
 */
#ifndef KHIB_MEMMAP_H
#define KHIB_MEMMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	KHIB_E820_RAM = 1,
	KHIB_E820_RESERVED = 2,
	KHIB_E820_ACPI = 3,
	KHIB_E820_NVS = 4,
	KHIB_E820_UNUSABLE = 5,
	KHIB_E820_PMEM = 7,
	KHIB_E820_PRAM = 12,
};

#define KHIB_MEMMAP_MAX 256

struct khib_mem_range {
	uint64_t start;
	uint64_t end; /* exclusive */
	uint32_t type;
};

struct khib_memmap {
	size_t n;
	struct khib_mem_range r[KHIB_MEMMAP_MAX];
};

/* Append a range; -E2BIG when full, -EINVAL when empty or wrapping. */
int khib_memmap_add(struct khib_memmap *m, uint64_t start, uint64_t end, uint32_t type);

/* Sort, merge touching ranges of the same type, and refuse overlaps of
 * different types (-EINVAL): a map we cannot trust must not steer kexec. */
int khib_memmap_normalize(struct khib_memmap *m);

/* e820 type number for a /sys/firmware/memmap or /proc/iomem type name. */
uint32_t khib_memmap_type_from_name(const char *name);

/*
 * Ranges of /proc/iomem text whose name is exactly `name` (e.g. "Kernel
 * code", "Crash kernel"), at any nesting depth, appended to *m with
 * type `type`.
 */
int khib_memmap_iomem_find(const char *iomem, const char *name, uint32_t type,
			   struct khib_memmap *m);

/* Bytes of type `type` in the map. */
uint64_t khib_memmap_total(const struct khib_memmap *m, uint32_t type);

/* The range of type `type` that contains [start, end), or NULL. */
const struct khib_mem_range *khib_memmap_find(const struct khib_memmap *m, uint64_t start,
					      uint64_t end, uint32_t type);

/* A 64-bit fingerprint of the map (starts, ends, types), stable across
 * boots of the same machine and configuration. */
uint64_t khib_memmap_hash(const struct khib_memmap *m);

/* Does any range of `type` share a byte with [start, end)? */
bool khib_memmap_overlaps(const struct khib_memmap *m, uint64_t start, uint64_t end,
			  uint32_t type);

#endif
