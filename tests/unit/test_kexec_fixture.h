/* SPDX-License-Identifier: GPL-2.0-only */
/* Firmware maps of QEMU guests, and a range assertion, for the memory map
 * and kexec tests. */
#ifndef KHIB_TEST_KEXEC_FIXTURE_H
#define KHIB_TEST_KEXEC_FIXTURE_H

#include "harness.h"
#include "memmap.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static inline void add(struct khib_memmap *m, uint64_t start, uint64_t last, uint32_t type)
{
	ASSERT_OK(khib_memmap_add(m, start, last + 1, type));
}

/* QEMU q35, 512 MiB (inclusive ends, as e820 prints them). */
static inline void qemu_512m(struct khib_memmap *m)
{
	memset(m, 0, sizeof(*m));
	add(m, 0x0, 0x9fbff, KHIB_E820_RAM);
	add(m, 0x9fc00, 0x9ffff, KHIB_E820_RESERVED);
	add(m, 0xf0000, 0xfffff, KHIB_E820_RESERVED);
	add(m, 0x100000, 0x1ffdffff, KHIB_E820_RAM);
	add(m, 0x1ffe0000, 0x1fffffff, KHIB_E820_RESERVED);
	add(m, 0xb0000000, 0xbfffffff, KHIB_E820_RESERVED);
	add(m, 0xfed1c000, 0xfed1ffff, KHIB_E820_RESERVED);
	add(m, 0xfffc0000, 0xffffffff, KHIB_E820_RESERVED);
	ASSERT_OK(khib_memmap_normalize(m));
}

/* QEMU q35, 4 GiB: 2 GiB below the PCI hole, 2 GiB above 4 GiB. */
static inline void qemu_4g(struct khib_memmap *m)
{
	memset(m, 0, sizeof(*m));
	add(m, 0x0, 0x9fbff, KHIB_E820_RAM);
	add(m, 0x9fc00, 0x9ffff, KHIB_E820_RESERVED);
	add(m, 0xf0000, 0xfffff, KHIB_E820_RESERVED);
	add(m, 0x100000, 0x7ffdffff, KHIB_E820_RAM);
	add(m, 0x7ffe0000, 0x7fffffff, KHIB_E820_RESERVED);
	add(m, 0xb0000000, 0xbfffffff, KHIB_E820_RESERVED);
	add(m, 0xfed1c000, 0xfed1ffff, KHIB_E820_RESERVED);
	add(m, 0xfffc0000, 0xffffffff, KHIB_E820_RESERVED);
	add(m, 0x100000000ULL, 0x17fffffffULL, KHIB_E820_RAM);
	ASSERT_OK(khib_memmap_normalize(m));
}

static inline uint64_t total_bytes(const struct khib_memmap *m)
{
	uint64_t t = 0;

	for (size_t i = 0; i < m->n; i++)
		t += m->r[i].end - m->r[i].start;
	return t;
}

/* Entry i of m is [start, end) of the given type. */
static inline void expect_range(const struct khib_memmap *m, size_t i, uint64_t start,
				uint64_t end, uint32_t type)
{
	ASSERT_TRUE(i < m->n);
	ASSERT_EQ_U64(m->r[i].start, start);
	ASSERT_EQ_U64(m->r[i].end, end);
	ASSERT_EQ(m->r[i].type, type);
}

#endif
