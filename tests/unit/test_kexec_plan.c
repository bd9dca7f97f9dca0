/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The jump plan on QEMU's firmware maps with a synthetic bzImage: segments,
 * the five tail pages (command line, zero page, purgatory, key page, handoff) and the
 * refusals.  Pure computation; nothing here calls kexec_load.
 */
#include "bzimage.h"
#include "handoff.h"
#include "harness.h"
#include "kexec.h"
#include "test_bzimage_fixture.h"
#include "test_kexec_fixture.h"
#include "util.h"

#include <asm/bootparam.h>
#include <inttypes.h>
#include <stdlib.h>

extern const uint8_t khib_purgatory_start[], khib_purgatory_end[];

/* A jump config on QEMU 512 MiB: a 64 MiB region at the top of RAM. */
struct plan_fx {
	struct khib_memmap fw;
	struct fx_bz p;
	uint8_t *img, *initrd;
	size_t img_len;
	struct khib_jump_config cfg;
};

static void plan_setup(struct plan_fx *f, size_t initrd_bytes)
{
	memset(f, 0, sizeof(*f));
	qemu_512m(&f->fw);
	fx_bz_default(&f->p);
	f->img = fx_bz_build(&f->p, &f->img_len);
	if (initrd_bytes) {
		f->initrd = malloc(initrd_bytes);
		ASSERT_TRUE(f->initrd);
		memset(f->initrd, 0x1d, initrd_bytes);
	}
	f->cfg = (struct khib_jump_config){
		.kernel = f->img,
		.kernel_bytes = f->img_len,
		.initrd = f->initrd,
		.initrd_bytes = initrd_bytes,
		.cmdline = "console=ttyS0 quiet",
		.region_start = 0x1be00000,
		.region_bytes = 64 * MiB,
		.firmware = &f->fw,
		.acpi_rsdp = 0xf5a40,
	};
	ASSERT_OK(khib_kexec_low_memory(&f->fw, &f->cfg.low_start, &f->cfg.low_bytes));
	snprintf(f->cfg.handoff.release, sizeof(f->cfg.handoff.release), "6.1.0-khib");
	f->cfg.handoff.flags = KHIB_HANDOFF_TEST;
	f->cfg.handoff.memmap_hash = khib_memmap_hash(&f->fw);
	f->cfg.handoff.nr_ranges = 2;
	f->cfg.handoff.ranges[0].start = 0;
	f->cfg.handoff.ranges[0].bytes = 0x9fc00;
	f->cfg.handoff.ranges[1].start = 0x100000;
	f->cfg.handoff.ranges[1].bytes = 0x1fee0000;
	/* Stale values the plan must overwrite. */
	f->cfg.handoff.jump_back_entry = 0x666000;
	f->cfg.handoff.region_start = 0x777000;
	f->cfg.handoff.handoff_paddr = 0x888000;
}

static void plan_teardown(struct plan_fx *f)
{
	free(f->img);
	free(f->initrd);
}

/* Segments: sorted, page aligned, within bounds, and covering low memory
 * and the whole region without a gap; nothing else. */
static void check_segments(const struct khib_jump_config *cfg, const struct khib_jump_plan *p)
{
	uint64_t region_end = cfg->region_start + cfg->region_bytes, covered = 0;

	ASSERT_TRUE(p->nr_segments >= 3 && p->nr_segments <= KHIB_KEXEC_MAX_SEGMENTS);
	for (size_t i = 0; i < p->nr_segments; i++) {
		const struct khib_kexec_segment *s = &p->seg[i];

		ASSERT_TRUE(IS_ALIGNED(s->mem, KHIB_PAGE_SIZE));
		ASSERT_TRUE(IS_ALIGNED(s->memsz, KHIB_PAGE_SIZE));
		ASSERT_TRUE(s->memsz > 0);
		ASSERT_TRUE(s->bufsz <= s->memsz);
		ASSERT_TRUE(s->buf || !s->bufsz);
		if (i > 0)
			ASSERT_TRUE(p->seg[i - 1].mem + p->seg[i - 1].memsz <= s->mem);
		if (i > 1)
			ASSERT_EQ_U64(p->seg[i - 1].mem + p->seg[i - 1].memsz, s->mem);
		covered += s->memsz;
	}
	ASSERT_EQ_U64(p->seg[0].mem, cfg->low_start);
	ASSERT_EQ_U64(p->seg[0].memsz, cfg->low_bytes);
	ASSERT_EQ_U64(p->seg[1].mem, cfg->region_start);
	ASSERT_EQ_U64(p->seg[p->nr_segments - 1].mem + p->seg[p->nr_segments - 1].memsz,
		      region_end);
	ASSERT_EQ_U64(covered, cfg->low_bytes + cfg->region_bytes);
}

/* The zero page's e820 as a memmap. */
static void zero_page_e820(const struct boot_params *bp, struct khib_memmap *m)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < bp->e820_entries; i++)
		ASSERT_OK(khib_memmap_add(m, bp->e820_table[i].addr,
					  bp->e820_table[i].addr + bp->e820_table[i].size,
					  bp->e820_table[i].type));
}

static void check_tail(const struct plan_fx *f, const struct khib_jump_plan *p,
		       const char *want_cmdline_head)
{
	const struct khib_jump_config *cfg = &f->cfg;
	uint64_t region_end = cfg->region_start + cfg->region_bytes;
	const struct khib_kexec_segment *tail = &p->seg[p->nr_segments - 1];
	const uint8_t *pg = p->tail + 2 * 4096;
	size_t pg_bytes = (size_t)(khib_purgatory_end - khib_purgatory_start);
	static struct boot_params bp;
	static struct khib_memmap e820;
	static struct khib_handoff h;
	char want[512];

	/* Four pages: command line, zero page, purgatory, handoff. */
	ASSERT_TRUE(tail->buf == p->tail);
	ASSERT_EQ(tail->bufsz, 5 * 4096);
	ASSERT_EQ_U64(tail->mem, region_end - 5 * 4096);
	ASSERT_EQ_U64(p->cmdline_paddr, region_end - 5 * 4096);
	ASSERT_EQ_U64(p->key_paddr, region_end - 2 * 4096);
	ASSERT_EQ_U64(p->boot_params_paddr, region_end - 4 * 4096);
	ASSERT_EQ_U64(p->entry, region_end - 3 * 4096);
	ASSERT_EQ_U64(p->handoff_paddr, region_end - 4096);
	ASSERT_EQ_U64(p->kernel_paddr, cfg->region_start);

	if (cfg->elfcorehdr)
		snprintf(want, sizeof(want), "%skhib.handoff=0x%" PRIx64 " elfcorehdr=0x%zx@0x%" PRIx64,
			 want_cmdline_head, p->handoff_paddr, cfg->elfcorehdr_bytes,
			 p->elfcorehdr_paddr);
	else
		snprintf(want, sizeof(want), "%skhib.handoff=0x%" PRIx64, want_cmdline_head,
			 p->handoff_paddr);
	ASSERT_STREQ((const char *)p->tail, want);

	ASSERT_TRUE(pg_bytes > 32 && pg_bytes <= 4096);
	ASSERT_MEMEQ(pg, khib_purgatory_start, 8);
	ASSERT_EQ_U64(khib_get_le64(pg + 8), cfg->region_start + 0x200);
	ASSERT_EQ_U64(khib_get_le64(pg + 16), p->boot_params_paddr);
	ASSERT_EQ_U64(khib_get_le64(pg + 24), p->handoff_paddr + 16);
	ASSERT_MEMEQ(pg + 32, khib_purgatory_start + 32, pg_bytes - 32);
	for (size_t i = pg_bytes; i < 4096; i++)
		ASSERT_EQ(pg[i], 0);

	memcpy(&bp, p->tail + 4096, sizeof(bp));
	ASSERT_EQ(bp.hdr.type_of_loader, 0xff);
	ASSERT_MEMEQ(&bp.hdr.header, "HdrS", 4);
	ASSERT_EQ_U64(bp.hdr.code32_start, (uint32_t)cfg->region_start);
	ASSERT_EQ_U64(bp.hdr.cmd_line_ptr | (uint64_t)bp.ext_cmd_line_ptr << 32, p->cmdline_paddr);
	ASSERT_EQ_U64(bp.acpi_rsdp_addr, cfg->acpi_rsdp);
	if (cfg->initrd_bytes) {
		ASSERT_EQ_U64(bp.hdr.ramdisk_image | (uint64_t)bp.ext_ramdisk_image << 32,
			      p->initrd_paddr);
		ASSERT_EQ_U64(bp.hdr.ramdisk_size, cfg->initrd_bytes);
	} else {
		ASSERT_EQ_U64(bp.hdr.ramdisk_image, 0);
		ASSERT_EQ_U64(bp.hdr.ramdisk_size, 0);
	}

	/* RAM is low memory and the region without the handoff page and the
	 * ELF core header pages (if any, right below the tail). */
	zero_page_e820(&bp, &e820);
	ASSERT_EQ(e820.n, p->e820.n);
	ASSERT_MEMEQ(e820.r, p->e820.r, e820.n * sizeof(e820.r[0]));
	ASSERT_TRUE(khib_memmap_find(&e820, cfg->low_start, cfg->low_start + cfg->low_bytes,
				     KHIB_E820_RAM));
	/* Reserved below the tail: the ELF core header, then the extent map. */
	uint64_t hdr_bytes = cfg->elfcorehdr ? ALIGN_UP((uint64_t)cfg->elfcorehdr_bytes, 4096) : 0;
	uint64_t map_bytes = cfg->extmap ? ALIGN_UP((uint64_t)cfg->extmap_bytes, 4096) : 0;
	uint64_t ram_end = p->cmdline_paddr - hdr_bytes - map_bytes;

	ASSERT_EQ_U64(p->elfcorehdr_paddr, hdr_bytes ? p->cmdline_paddr - hdr_bytes : 0);
	ASSERT_EQ_U64(p->extmap_paddr, map_bytes ? ram_end : 0);
	ASSERT_TRUE(khib_memmap_find(&e820, cfg->region_start, ram_end, KHIB_E820_RAM));
	if (hdr_bytes || map_bytes)
		ASSERT_TRUE(khib_memmap_find(&e820, ram_end, p->cmdline_paddr,
					     KHIB_E820_RESERVED));
	ASSERT_TRUE(khib_memmap_find(&e820, p->cmdline_paddr, p->key_paddr, KHIB_E820_RAM));
	ASSERT_EQ_U64(khib_memmap_total(&e820, KHIB_E820_RAM),
		      cfg->low_bytes + cfg->region_bytes - 2 * 4096 - hdr_bytes - map_bytes);
	/* The key page and the handoff: never the jumped-to kernel's RAM. */
	ASSERT_TRUE(khib_memmap_find(&e820, p->key_paddr, region_end, KHIB_E820_RESERVED));
	ASSERT_EQ_U64(total_bytes(&e820), total_bytes(&f->fw));

	ASSERT_OK(khib_handoff_decode(p->tail + 4 * 4096, 4096, &h));
	ASSERT_EQ_U64(h.jump_back_entry, 0);
	ASSERT_EQ_U64(h.region_start, cfg->region_start);
	ASSERT_EQ_U64(h.region_bytes, cfg->region_bytes);
	ASSERT_EQ_U64(h.low_start, cfg->low_start);
	ASSERT_EQ_U64(h.low_bytes, cfg->low_bytes);
	ASSERT_EQ_U64(h.handoff_paddr, p->handoff_paddr);
	ASSERT_EQ_U64(h.extents_paddr, p->extmap_paddr);
	ASSERT_EQ_U64(h.flags, KHIB_HANDOFF_TEST);
	ASSERT_EQ_U64(h.memmap_hash, cfg->handoff.memmap_hash);
	ASSERT_STREQ(h.release, "6.1.0-khib");
	ASSERT_EQ(h.nr_ranges, 2);
	ASSERT_EQ_U64(h.ranges[1].bytes, 0x1fee0000);
}

TEST(kexec_plan_layout)
{
	static struct plan_fx f;
	static struct khib_jump_plan p;
	const size_t initrd_bytes = 100001;

	plan_setup(&f, initrd_bytes);
	ASSERT_OK(khib_jump_plan_build(&f.cfg, &p));
	check_segments(&f.cfg, &p);
	ASSERT_EQ(p.nr_segments, 4);
	/* Low memory is zero-filled: no source bytes. */
	ASSERT_TRUE(p.seg[0].buf == NULL);
	ASSERT_EQ(p.seg[0].bufsz, 0);
	/* The protected-mode kernel, with room for init_size. */
	ASSERT_TRUE(p.seg[1].buf == f.img + fx_bz_setup_bytes(&f.p));
	ASSERT_EQ(p.seg[1].bufsz, f.p.kernel_bytes);
	ASSERT_TRUE(p.seg[1].memsz >= f.p.init_size);
	/* The initramfs right below the tail. */
	ASSERT_TRUE(p.seg[2].buf == f.initrd);
	ASSERT_EQ(p.seg[2].bufsz, initrd_bytes);
	ASSERT_EQ_U64(p.seg[2].mem, p.initrd_paddr);
	ASSERT_EQ_U64(p.seg[2].memsz, ALIGN_UP((uint64_t)initrd_bytes, 4096));
	check_tail(&f, &p, "console=ttyS0 quiet ");
	ASSERT_EQ_U64(p.handoff_paddr, 0x1fdff000);
	ASSERT_STREQ((const char *)p.tail, "console=ttyS0 quiet khib.handoff=0x1fdff000");

	khib_jump_plan_release(&p);
	ASSERT_TRUE(p.tail == NULL);
	khib_jump_plan_release(&p);
	khib_jump_plan_release(NULL);
	plan_teardown(&f);
}

TEST(kexec_plan_no_initrd_no_cmdline)
{
	static struct plan_fx f;
	static struct khib_jump_plan p;

	plan_setup(&f, 0);
	f.cfg.cmdline = NULL;
	ASSERT_OK(khib_jump_plan_build(&f.cfg, &p));
	check_segments(&f.cfg, &p);
	ASSERT_EQ(p.nr_segments, 3);
	ASSERT_EQ_U64(p.seg[1].memsz, 64 * MiB - 5 * 4096);
	check_tail(&f, &p, "");
	khib_jump_plan_release(&p);

	f.cfg.cmdline = "";
	ASSERT_OK(khib_jump_plan_build(&f.cfg, &p));
	check_tail(&f, &p, "");
	khib_jump_plan_release(&p);
	plan_teardown(&f);
}

TEST(kexec_plan_above_4g)
{
	static struct plan_fx f;
	static struct khib_jump_plan p;
	static struct khib_memmap avoid;
	struct boot_params *bp;

	plan_setup(&f, 3 * MiB + 5);
	qemu_4g(&f.fw);
	memset(&avoid, 0, sizeof(avoid));
	ASSERT_OK(khib_kexec_choose_region(&f.fw, &avoid, 128 * MiB, &f.cfg.region_start));
	ASSERT_EQ_U64(f.cfg.region_start, 0x178000000ULL);
	f.cfg.region_bytes = 128 * MiB;
	ASSERT_OK(khib_jump_plan_build(&f.cfg, &p));
	check_segments(&f.cfg, &p);
	check_tail(&f, &p, "console=ttyS0 quiet ");
	bp = (struct boot_params *)(p.tail + 4096);
	ASSERT_EQ(bp->ext_cmd_line_ptr, 1);
	ASSERT_EQ(bp->ext_ramdisk_image, 1);
	khib_jump_plan_release(&p);
	plan_teardown(&f);

	/* A kernel that cannot take an initramfs above 4 GiB. */
	plan_setup(&f, 3 * MiB + 5);
	qemu_4g(&f.fw);
	f.cfg.region_start = 0x178000000ULL;
	f.cfg.region_bytes = 128 * MiB;
	f.img[0x236] = 0x1; /* XLF_KERNEL_64 only */
	ASSERT_EQ(khib_jump_plan_build(&f.cfg, &p), -ERANGE);
	plan_teardown(&f);
}

/* Build with one thing changed; the result must be left alone on failure. */
static int build_fails(struct plan_fx *f)
{
	static struct khib_jump_plan p, before;
	int r;

	memset(&p, 0x5a, sizeof(p));
	before = p;
	r = khib_jump_plan_build(&f->cfg, &p);
	if (r >= 0) {
		khib_jump_plan_release(&p);
		return r;
	}
	ASSERT_MEMEQ(&p, &before, sizeof(p));
	return r;
}

TEST(kexec_plan_region_refused)
{
	static struct plan_fx f;

	plan_setup(&f, 4096);
	ASSERT_EQ(build_fails(&f), 0);
	/* Running into the reserved range at 0x1ffe0000. */
	f.cfg.region_start = 0x1c000000;
	ASSERT_EQ(build_fails(&f), -EINVAL);
	/* In the PCI hole. */
	f.cfg.region_start = 0xc0000000;
	ASSERT_EQ(build_fails(&f), -EINVAL);
	/* Misaligned start or size. */
	f.cfg.region_start = 0x1be00000 + 4096;
	f.cfg.region_bytes = 32 * MiB;
	ASSERT_EQ(build_fails(&f), -EINVAL);
	f.cfg.region_start = 0x1be00000;
	f.cfg.region_bytes = 32 * MiB + 100;
	ASSERT_EQ(build_fails(&f), -EINVAL);
	/* Below 16 MiB, though RAM and aligned. */
	f.cfg.region_start = 14 * MiB;
	f.cfg.region_bytes = 32 * MiB;
	ASSERT_EQ(build_fails(&f), -EINVAL);
	/* A wrapping region. */
	f.cfg.region_start = 0xffffffffffe00000ULL;
	f.cfg.region_bytes = 4 * MiB;
	ASSERT_EQ(build_fails(&f), -EINVAL);
	/* Low memory that is not all RAM, or not page aligned, or empty. */
	f.cfg.region_start = 0x1be00000;
	f.cfg.region_bytes = 64 * MiB;
	f.cfg.low_bytes = 0x9f000;
	ASSERT_EQ(build_fails(&f), -EINVAL);
	f.cfg.low_bytes = 0x9e800;
	ASSERT_EQ(build_fails(&f), -EINVAL);
	f.cfg.low_bytes = 0;
	ASSERT_EQ(build_fails(&f), -EINVAL);
	f.cfg.low_bytes = 0x9e000;
	ASSERT_EQ(build_fails(&f), 0);
	plan_teardown(&f);
}

TEST(kexec_plan_kernel_refused)
{
	static struct plan_fx f;

	/* A kernel that wants 16 MiB alignment in a region at 2 MiB. */
	plan_setup(&f, 0);
	khib_put_le32(f.img + 0x230, 16 * MiB);
	ASSERT_EQ(build_fails(&f), -EINVAL);
	f.cfg.region_start = 0x1c000000 - 32 * MiB;
	f.cfg.region_bytes = 32 * MiB;
	ASSERT_EQ(build_fails(&f), 0);
	/* Not a bzImage at all. */
	f.img[0x202] = 'X';
	ASSERT_EQ(build_fails(&f), -ENOEXEC);
	plan_teardown(&f);
}

TEST(kexec_plan_too_small)
{
	static struct plan_fx f;

	/* init_size is 16 MiB: the region needs it plus the five tail pages. */
	plan_setup(&f, 0);
	f.cfg.region_bytes = 16 * MiB + 5 * 4096;
	ASSERT_EQ(build_fails(&f), 0);
	f.cfg.region_bytes -= 4096;
	ASSERT_EQ(build_fails(&f), -ENOSPC);
	f.cfg.region_bytes = 16 * MiB;
	ASSERT_EQ(build_fails(&f), -ENOSPC);
	f.cfg.region_bytes = 4096;
	ASSERT_EQ(build_fails(&f), -ENOSPC);
	plan_teardown(&f);

	/* An initramfs takes its pages from the kernel's room. */
	plan_setup(&f, 1);
	f.cfg.region_bytes = 16 * MiB + 5 * 4096;
	ASSERT_EQ(build_fails(&f), -ENOSPC);
	f.cfg.region_bytes += 4096;
	ASSERT_EQ(build_fails(&f), 0);
	plan_teardown(&f);

	plan_setup(&f, 65 * MiB);
	ASSERT_EQ(build_fails(&f), -ENOSPC);
	plan_teardown(&f);

	/* A kernel file larger than its init_size still has to fit. */
	plan_setup(&f, 0);
	free(f.img);
	f.p.init_size = 1 * MiB;
	f.p.kernel_bytes = 2 * MiB + 1;
	f.img = fx_bz_build(&f.p, &f.img_len);
	f.cfg.kernel = f.img;
	f.cfg.kernel_bytes = f.img_len;
	f.cfg.region_bytes = 2 * MiB + 5 * 4096;
	ASSERT_EQ(build_fails(&f), -ENOSPC);
	f.cfg.region_bytes += 4096;
	ASSERT_EQ(build_fails(&f), 0);
	plan_teardown(&f);
}

TEST(kexec_plan_cmdline_too_long)
{
	static struct plan_fx f;
	static char cmdline[600];
	size_t suffix = strlen(" khib.handoff=0x1fdff000");

	plan_setup(&f, 0);
	/* The kernel takes 255 bytes (cmdline_size, without the NUL). */
	khib_put_le32(f.img + 0x238, 255);
	memset(cmdline, 'a', 255 - suffix);
	f.cfg.cmdline = cmdline;
	ASSERT_EQ(build_fails(&f), 0);
	cmdline[255 - suffix] = 'b';
	ASSERT_EQ(build_fails(&f), -E2BIG);
	/* Longer than the command line page itself. */
	khib_put_le32(f.img + 0x238, 0xffffffff);
	memset(cmdline, 'c', sizeof(cmdline) - 1);
	ASSERT_EQ(build_fails(&f), 0);
	{
		static char huge[5000];

		memset(huge, 'd', sizeof(huge) - 1);
		f.cfg.cmdline = huge;
		ASSERT_EQ(build_fails(&f), -E2BIG);
	}
	plan_teardown(&f);
}

TEST(kexec_purgatory_blob)
{
	const uint8_t *b = khib_purgatory_start;
	size_t n = (size_t)(khib_purgatory_end - khib_purgatory_start);

	/* A short jump over the three parameter quads, which start zeroed. */
	ASSERT_TRUE(n > 32 && n <= 4096 - 16);
	ASSERT_EQ(b[0], 0xeb);
	ASSERT_TRUE(2 + b[1] >= 32);
	ASSERT_TRUE((size_t)(2 + b[1]) < n);
	ASSERT_EQ_U64(khib_get_le64(b + 8), 0);
	ASSERT_EQ_U64(khib_get_le64(b + 16), 0);
	ASSERT_EQ_U64(khib_get_le64(b + 24), 0);
	/* The jump lands on cli; cld. */
	ASSERT_EQ(b[2 + b[1]], 0xfa);
	ASSERT_EQ(b[3 + b[1]], 0xfc);
}

/* Whatever the plan accepts, the jumped-to kernel must be able to read:
 * low memory reaching past 1 MiB gives a handoff that decode refuses. */
TEST(kexec_plan_low_memory_past_1mib)
{
	static struct plan_fx f;
	static struct khib_jump_plan p;
	static struct khib_handoff h;
	int r;

	plan_setup(&f, 0);
	memset(&f.fw, 0, sizeof(f.fw));
	add(&f.fw, 0, 0x7fffffff, KHIB_E820_RAM);
	f.cfg.low_start = 0x1000;
	f.cfg.low_bytes = 2 * MiB;
	r = khib_jump_plan_build(&f.cfg, &p);
	if (r == 0) {
		int d = khib_handoff_decode(p.tail + 4 * 4096, 4096, &h);

		khib_jump_plan_release(&p);
		ASSERT_OK(d);
	}
	ASSERT_EQ(r, -EINVAL);
	plan_teardown(&f);
}

/* A plain kexec (no way back): no preserve-context load, and the purgatory
 * records no re-entry address anywhere. */
TEST(kexec_plan_no_return)
{
	static struct plan_fx f;
	static struct khib_jump_plan p;

	plan_setup(&f, 0);
	ASSERT_OK(khib_jump_plan_build(&f.cfg, &p));
	ASSERT_TRUE(p.preserve_context);
	khib_jump_plan_release(&p);

	f.cfg.no_return = true;
	ASSERT_OK(khib_jump_plan_build(&f.cfg, &p));
	ASSERT_TRUE(!p.preserve_context);
	ASSERT_EQ_U64(khib_get_le64(p.tail + 2 * 4096 + 24), 0);
	ASSERT_EQ_U64(khib_get_le64(p.tail + 2 * 4096 + 8), f.cfg.region_start + 0x200);
	ASSERT_EQ_U64(khib_get_le64(p.tail + 2 * 4096 + 16), p.boot_params_paddr);
	khib_jump_plan_release(&p);
	plan_teardown(&f);
}

/* With an ELF core header: its own segment between the initramfs and the
 * tail, reserved in the e820, named by elfcorehdr= on the command line. */
static void check_elfcorehdr_plan(struct plan_fx *f, size_t initrd_bytes, size_t hdr_bytes)
{
	static struct khib_jump_plan p;
	static uint8_t hdr[3 * 4096];
	const struct khib_kexec_segment *s;
	uint64_t hdr_pages = ALIGN_UP((uint64_t)hdr_bytes, 4096) / 4096;

	for (size_t i = 0; i < sizeof(hdr); i++)
		hdr[i] = (uint8_t)(i * 7);
	f->cfg.elfcorehdr = hdr;
	f->cfg.elfcorehdr_bytes = hdr_bytes;
	ASSERT_OK(khib_jump_plan_build(&f->cfg, &p));
	check_segments(&f->cfg, &p);
	ASSERT_EQ(p.nr_segments, initrd_bytes ? 5 : 4);
	s = &p.seg[p.nr_segments - 2];
	ASSERT_TRUE(s->buf == hdr);
	ASSERT_EQ(s->bufsz, hdr_bytes);
	ASSERT_EQ_U64(s->mem, p.elfcorehdr_paddr);
	ASSERT_EQ_U64(s->memsz, hdr_pages * 4096);
	ASSERT_EQ_U64(s->mem + s->memsz, p.cmdline_paddr);
	if (initrd_bytes) {
		ASSERT_EQ_U64(p.seg[2].mem, p.initrd_paddr);
		ASSERT_EQ_U64(p.seg[2].mem + p.seg[2].memsz, p.elfcorehdr_paddr);
	}
	check_tail(f, &p, "console=ttyS0 quiet ");
	khib_jump_plan_release(&p);
}

/* The target's extent map: pages of its own below the ELF core header,
 * reserved, named by the handoff; the writer kernel reads it there. */
TEST(kexec_plan_extmap)
{
	static struct plan_fx f;
	static struct khib_jump_plan p;
	static struct khib_extent ext[600];
	static uint8_t map[sizeof(ext) / sizeof(ext[0]) * KHIB_EXTMAP_ENTRY_BYTES], hdr[300];
	const struct khib_kexec_segment *s;

	for (size_t i = 0; i < ARRAY_SIZE(ext); i++)
		ext[i] = (struct khib_extent){ i * 8192, (i * 3 + 1) * 8192, 8192 };
	plan_setup(&f, 100001);
	f.cfg.handoff.nr_extents = ARRAY_SIZE(ext);
	f.cfg.handoff.extents_hash = khib_extmap_encode(ext, ARRAY_SIZE(ext), map);
	f.cfg.extmap = map;
	f.cfg.extmap_bytes = sizeof(map); /* 9600 bytes: 3 pages */
	f.cfg.elfcorehdr = hdr;
	f.cfg.elfcorehdr_bytes = sizeof(hdr);
	ASSERT_OK(khib_jump_plan_build(&f.cfg, &p));
	check_segments(&f.cfg, &p);
	check_tail(&f, &p, "console=ttyS0 quiet ");
	ASSERT_EQ(p.nr_segments, 6);
	s = &p.seg[3];
	ASSERT_TRUE(s->buf == map);
	ASSERT_EQ(s->bufsz, sizeof(map));
	ASSERT_EQ_U64(s->mem, p.extmap_paddr);
	ASSERT_EQ_U64(s->memsz, 3 * 4096);
	ASSERT_EQ_U64(s->mem + s->memsz, p.elfcorehdr_paddr);
	ASSERT_EQ_U64(p.seg[2].mem + p.seg[2].memsz, p.extmap_paddr);
	struct khib_handoff h;
	ASSERT_OK(khib_handoff_decode(p.tail + 4 * 4096, 4096, &h));
	ASSERT_EQ(h.nr_extents, ARRAY_SIZE(ext));
	ASSERT_EQ_U64(h.extents_hash, f.cfg.handoff.extents_hash);
	khib_jump_plan_release(&p);

	/* The map must be what the handoff counts. */
	f.cfg.extmap_bytes -= KHIB_EXTMAP_ENTRY_BYTES;
	ASSERT_EQ(khib_jump_plan_build(&f.cfg, &p), -E2BIG);
	plan_teardown(&f);
}

/* The status page must be a page the writer kernel sees as N's: not in its
 * region or low memory, which the jump swaps out of its sight. */
TEST(kexec_plan_status_page_outside)
{
	static struct plan_fx f;
	static struct khib_jump_plan p;
	const uint64_t rs = 0x1be00000, re = rs + 64 * MiB;

	plan_setup(&f, 0);
	ASSERT_TRUE(khib_kexec_page_outside(&f.cfg, rs - 4096));
	ASSERT_TRUE(khib_kexec_page_outside(&f.cfg, re));
	ASSERT_TRUE(khib_kexec_page_outside(&f.cfg, 0x7654328));
	ASSERT_TRUE(!khib_kexec_page_outside(&f.cfg, rs));
	ASSERT_TRUE(!khib_kexec_page_outside(&f.cfg, rs + 0x123458));
	ASSERT_TRUE(!khib_kexec_page_outside(&f.cfg, re - 8));
	ASSERT_TRUE(!khib_kexec_page_outside(&f.cfg, f.cfg.low_start));
	ASSERT_TRUE(!khib_kexec_page_outside(&f.cfg, f.cfg.low_start + f.cfg.low_bytes - 1));
	ASSERT_TRUE(khib_kexec_page_outside(&f.cfg, f.cfg.low_start + f.cfg.low_bytes));

	f.cfg.handoff.status_paddr = 0x7654328;
	ASSERT_OK(khib_jump_plan_build(&f.cfg, &p));
	khib_jump_plan_release(&p);
	f.cfg.handoff.status_paddr = rs + 0x2000;
	ASSERT_EQ(khib_jump_plan_build(&f.cfg, &p), -EADDRINUSE);
	f.cfg.handoff.status_paddr = f.cfg.low_start + 0x100;
	ASSERT_EQ(khib_jump_plan_build(&f.cfg, &p), -EADDRINUSE);
	plan_teardown(&f);
}

TEST(kexec_plan_elfcorehdr)
{
	static struct plan_fx f;
	static struct khib_jump_plan p;

	plan_setup(&f, 100001);
	check_elfcorehdr_plan(&f, 100001, 64 + 4 * 56);
	ASSERT_OK(khib_jump_plan_build(&f.cfg, &p));
	/* The tail did not move; the header page is the one below it. */
	ASSERT_EQ_U64(p.handoff_paddr, 0x1fdff000);
	ASSERT_EQ_U64(p.elfcorehdr_paddr, 0x1fdfa000);
	ASSERT_STREQ((const char *)p.tail, "console=ttyS0 quiet khib.handoff=0x1fdff000 "
					   "elfcorehdr=0x120@0x1fdfa000");
	khib_jump_plan_release(&p);
	plan_teardown(&f);

	/* Several pages, no initramfs, above 4 GiB. */
	plan_setup(&f, 0);
	check_elfcorehdr_plan(&f, 0, 2 * 4096 + 1);
	plan_teardown(&f);
	plan_setup(&f, 3 * MiB + 5);
	qemu_4g(&f.fw);
	f.cfg.region_start = 0x178000000ULL;
	f.cfg.region_bytes = 128 * MiB;
	check_elfcorehdr_plan(&f, 3 * MiB + 5, 4096);
	plan_teardown(&f);
}

TEST(kexec_plan_elfcorehdr_refused)
{
	static struct plan_fx f;
	static uint8_t hdr[5 * 4096];

	plan_setup(&f, 0);
	f.cfg.elfcorehdr = hdr;
	f.cfg.elfcorehdr_bytes = 4 * 4096;
	ASSERT_EQ(build_fails(&f), 0);
	f.cfg.elfcorehdr_bytes = 4 * 4096 + 1;
	ASSERT_EQ(build_fails(&f), -E2BIG);
	f.cfg.elfcorehdr_bytes = 0;
	ASSERT_EQ(build_fails(&f), -E2BIG);
	/* Its pages come out of the kernel's room. */
	f.cfg.elfcorehdr_bytes = 4096;
	f.cfg.region_bytes = 16 * MiB + 6 * 4096;
	ASSERT_EQ(build_fails(&f), 0);
	f.cfg.region_bytes -= 4096;
	ASSERT_EQ(build_fails(&f), -ENOSPC);
	plan_teardown(&f);
	/* elfcorehdr= must fit the kernel's command line too. */
	plan_setup(&f, 0);
	f.cfg.elfcorehdr = hdr;
	f.cfg.elfcorehdr_bytes = 4096;
	khib_put_le32(f.img + 0x238, (uint32_t)strlen("console=ttyS0 quiet khib.handoff=0x1fdff000 "
						      "elfcorehdr=0x1000@0x1fdfb000"));
	ASSERT_EQ(build_fails(&f), 0);
	khib_put_le32(f.img + 0x238, (uint32_t)strlen("console=ttyS0 quiet khib.handoff=0x1fdff000 "
						      "elfcorehdr=0x1000@0x1fdfb000") - 1);
	ASSERT_EQ(build_fails(&f), -E2BIG);
	plan_teardown(&f);
}

/* A region the running kernel never uses (its crash kernel reservation):
 * segments carry only content, and the load costs a few pages, not the
 * region.  The layout in the region is the same. */
TEST(kexec_plan_reserved_region)
{
	static struct plan_fx f;
	static struct khib_jump_plan full, sparse;
	const size_t initrd_bytes = 100001;

	plan_setup(&f, initrd_bytes);
	ASSERT_OK(khib_jump_plan_build(&f.cfg, &full));
	f.cfg.region_reserved = true;
	ASSERT_OK(khib_jump_plan_build(&f.cfg, &sparse));
	ASSERT_EQ(sparse.nr_segments, full.nr_segments);
	ASSERT_EQ_U64(sparse.seg[0].memsz, full.seg[0].memsz); /* low memory: all of it */
	ASSERT_EQ_U64(sparse.seg[1].mem, full.seg[1].mem);
	ASSERT_EQ_U64(sparse.seg[1].memsz, ALIGN_UP((uint64_t)f.p.kernel_bytes, 4096));
	ASSERT_EQ_U64(sparse.seg[2].mem, sparse.initrd_paddr);
	ASSERT_EQ_U64(sparse.seg[2].memsz, ALIGN_UP((uint64_t)initrd_bytes, 4096));
	ASSERT_EQ_U64(sparse.initrd_paddr, full.initrd_paddr);
	ASSERT_EQ_U64(sparse.seg[3].mem, full.seg[3].mem); /* the tail pages */
	ASSERT_EQ_U64(sparse.seg[3].memsz, full.seg[3].memsz);
	ASSERT_TRUE(khib_jump_plan_load_pages(&sparse, 512 * MiB) * 4096 < 4 * MiB);
	ASSERT_TRUE(khib_jump_plan_load_pages(&full, 512 * MiB) * 4096 > 64 * MiB);
	khib_jump_plan_release(&full);
	khib_jump_plan_release(&sparse);
	plan_teardown(&f);
}
