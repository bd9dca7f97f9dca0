/* SPDX-License-Identifier: GPL-2.0-only */
#include "test_bzimage_fixture.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void fx_bz_default(struct fx_bz *p)
{
	*p = (struct fx_bz){
		.setup_sects = 4,
		.jump_len = 0x6a, /* 0x26c: the whole 2.15 header */
		.version = 0x020f,
		.loadflags = 0,
		.initrd_addr_max = 0x7fffffff,
		.kernel_alignment = 0x200000,
		.relocatable = 1,
		.xloadflags = 0x3, /* XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G */
		.cmdline_size = 2047,
		.pref_address = 0x1000000,
		.init_size = 16 << 20,
		.kernel_bytes = 64 << 10,
	};
}

uint8_t *fx_bz_build(const struct fx_bz *p, size_t *ret_len)
{
	size_t setup = fx_bz_setup_bytes(p), len = setup + p->kernel_bytes;
	uint8_t *b = calloc(1, len);

	if (!b)
		abort();
	/* Some noise in the setup code after the header, as in a real file. */
	for (size_t i = 0x290; i < setup; i++)
		b[i] = (uint8_t)(i ^ 0x5a);
	b[0x1f1] = p->setup_sects;
	khib_put_le32(b + 0x1f4, 0x12345); /* syssize */
	khib_put_le16(b + 0x1fe, 0xaa55);
	b[0x200] = 0xeb;
	b[0x201] = p->jump_len;
	memcpy(b + 0x202, "HdrS", 4);
	khib_put_le16(b + 0x206, p->version);
	khib_put_le16(b + 0x20e, 0x3c0); /* kernel_version string offset */
	b[0x211] = p->loadflags;
	khib_put_le32(b + 0x214, 0x100000); /* code32_start */
	khib_put_le32(b + 0x22c, p->initrd_addr_max);
	khib_put_le32(b + 0x230, p->kernel_alignment);
	b[0x234] = p->relocatable;
	b[0x235] = 21; /* min_alignment */
	khib_put_le16(b + 0x236, p->xloadflags);
	khib_put_le32(b + 0x238, p->cmdline_size);
	khib_put_le32(b + 0x248, 0x3b4); /* payload_offset */
	khib_put_le32(b + 0x24c, 0x9abcd); /* payload_length */
	khib_put_le64(b + 0x258, p->pref_address);
	khib_put_le32(b + 0x260, p->init_size);
	khib_put_le32(b + 0x264, 0x190); /* handover_offset */
	khib_put_le32(b + 0x268, 0x12c0); /* kernel_info_offset */
	for (size_t i = 0; i < p->kernel_bytes; i++)
		b[setup + i] = fx_bz_payload(i);
	*ret_len = len;
	return b;
}
