/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Synthetic bzImage files for the bzimage and kexec tests.  The bytes are
 * written at the offsets of Documentation/x86/boot.rst (the setup header
 * starts at 0x1f1), as literals, so a wrong offset in lib/format/bzimage.c shows.
 */
#ifndef KHIB_TEST_BZIMAGE_FIXTURE_H
#define KHIB_TEST_BZIMAGE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

struct fx_bz {
	uint8_t setup_sects;		/* 0x1f1; 0 means 4 */
	uint8_t jump_len;		/* 0x201: header ends at 0x202 + jump_len */
	uint16_t version;		/* 0x206 */
	uint8_t loadflags;		/* 0x211 */
	uint32_t initrd_addr_max;	/* 0x22c */
	uint32_t kernel_alignment;	/* 0x230 */
	uint8_t relocatable;		/* 0x234 */
	uint16_t xloadflags;		/* 0x236 */
	uint32_t cmdline_size;		/* 0x238 */
	uint64_t pref_address;		/* 0x258 */
	uint32_t init_size;		/* 0x260 */
	size_t kernel_bytes;		/* protected-mode part after the setup */
};

/* A loadable 2.15 kernel: 4 setup sectors, 2 MiB alignment, 64-bit,
 * relocatable, loadable above 4 GiB, 16 MiB init_size, 64 KiB payload. */
void fx_bz_default(struct fx_bz *p);

/* malloc'ed image; the payload byte at kernel offset i is fx_bz_payload(i). */
uint8_t *fx_bz_build(const struct fx_bz *p, size_t *ret_len);

static inline uint8_t fx_bz_payload(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static inline size_t fx_bz_setup_bytes(const struct fx_bz *p)
{
	return ((size_t)(p->setup_sects ? p->setup_sects : 4) + 1) * 512;
}

#endif
