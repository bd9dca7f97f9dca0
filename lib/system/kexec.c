/* SPDX-License-Identifier: GPL-2.0-only */
#include "kexec.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/kexec.h>
#include <linux/reboot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bzimage.h"
#include "crypt.h"
#include "elfcore.h"
#include "physmem.h"
#include "util.h"

/* lib/system/purgatory.S */
extern const uint8_t khib_purgatory_start[], khib_purgatory_end[];
#define PURGATORY_OFF_KERNEL_ENTRY 8
#define PURGATORY_OFF_BOOT_PARAMS 16
#define PURGATORY_OFF_ENTRY_SLOT 24

/* Tail page order, from the lowest address. */
enum { TAIL_CMDLINE, TAIL_BOOT_PARAMS, TAIL_PURGATORY, TAIL_KEY, TAIL_HANDOFF };

int khib_kexec_confine_e820(const struct khib_memmap *firmware, const struct khib_memmap *keep,
			    struct khib_memmap *ret)
{
	struct khib_memmap m = { 0 };
	int r;

	for (size_t i = 0; i < firmware->n; i++) {
		const struct khib_mem_range *f = &firmware->r[i];
		uint64_t pos = f->start;

		if (f->type != KHIB_E820_RAM) {
			if ((r = khib_memmap_add(&m, f->start, f->end, f->type)) < 0)
				return r;
			continue;
		}
		/* Walk the RAM range; `keep` is sorted and non-overlapping. */
		for (size_t k = 0; k < keep->n && pos < f->end; k++) {
			uint64_t ks = keep->r[k].start, ke = keep->r[k].end;

			if (ke <= pos || ks >= f->end)
				continue;
			if (ks > pos && (r = khib_memmap_add(&m, pos, ks, KHIB_E820_RESERVED)) < 0)
				return r;
			ks = ks > pos ? ks : pos;
			ke = ke < f->end ? ke : f->end;
			if ((r = khib_memmap_add(&m, ks, ke, KHIB_E820_RAM)) < 0)
				return r;
			pos = ke;
		}
		if (pos < f->end && (r = khib_memmap_add(&m, pos, f->end, KHIB_E820_RESERVED)) < 0)
			return r;
	}
	if ((r = khib_memmap_normalize(&m)) < 0)
		return r;
	*ret = m;
	return 0;
}

static bool overlaps_any(const struct khib_memmap *m, uint64_t start, uint64_t end,
			 uint64_t *ret_lowest_start)
{
	bool hit = false;

	for (size_t i = 0; i < m->n; i++)
		if (m->r[i].start < end && start < m->r[i].end) {
			if (!hit || m->r[i].start < *ret_lowest_start)
				*ret_lowest_start = m->r[i].start;
			hit = true;
		}
	return hit;
}

int khib_kexec_choose_region(const struct khib_memmap *firmware, const struct khib_memmap *avoid,
			     uint64_t bytes, uint64_t *ret_start)
{
	if (!bytes || !IS_ALIGNED(bytes, KHIB_REGION_ALIGN))
		return -EINVAL;
	for (size_t i = firmware->n; i-- > 0;) {
		const struct khib_mem_range *f = &firmware->r[i];
		uint64_t lo = ALIGN_UP(f->start, KHIB_REGION_ALIGN);
		uint64_t end = ALIGN_DOWN(f->end, KHIB_REGION_ALIGN);

		if (f->type != KHIB_E820_RAM)
			continue;
		if (lo < KHIB_REGION_MIN_START)
			lo = KHIB_REGION_MIN_START;
		while (end >= lo && end - lo >= bytes) {
			uint64_t blocker = 0;

			if (!overlaps_any(avoid, end - bytes, end, &blocker)) {
				*ret_start = end - bytes;
				return 0;
			}
			end = ALIGN_DOWN(blocker, KHIB_REGION_ALIGN);
		}
	}
	return -ENOSPC;
}

uint64_t khib_kexec_default_region_bytes(uint64_t ram_bytes, unsigned threads)
{
	uint64_t bytes = (34ULL << 20) + ram_bytes / 4096;

	if (threads > 1)
		bytes += (uint64_t)(threads - 1) * (2ULL << 20);
	return ALIGN_UP(bytes, KHIB_REGION_ALIGN);
}

uint64_t khib_kexec_region_floor(uint32_t init_size, size_t initrd_bytes)
{
	return ALIGN_UP((uint64_t)init_size + initrd_bytes + KHIB_KEXEC_BOOT_EXTRA_BYTES,
			KHIB_REGION_ALIGN);
}

int khib_kexec_low_memory(const struct khib_memmap *firmware, uint64_t *ret_start,
			  uint64_t *ret_bytes)
{
	const uint64_t start = 0x1000, cap = 1ULL << 20;

	for (size_t i = 0; i < firmware->n; i++) {
		const struct khib_mem_range *f = &firmware->r[i];
		uint64_t end;

		if (f->type != KHIB_E820_RAM || f->start > start || f->end <= start)
			continue;
		end = ALIGN_DOWN(f->end < cap ? f->end : cap, KHIB_PAGE_SIZE);
		if (end <= start)
			break;
		*ret_start = start;
		*ret_bytes = end - start;
		return 0;
	}
	return -ENOENT;
}

static void add_segment(struct khib_jump_plan *p, const void *buf, size_t bufsz, uint64_t mem,
			uint64_t memsz)
{
	p->seg[p->nr_segments++] = (struct khib_kexec_segment){ buf, bufsz, mem, memsz };
}

/* Both confinement ranges must be RAM in the firmware's view. */
static int check_ranges(const struct khib_jump_config *cfg)
{
	uint64_t rs = cfg->region_start, rb = cfg->region_bytes;

	if (!IS_ALIGNED(rs, KHIB_REGION_ALIGN) || !IS_ALIGNED(rb, KHIB_PAGE_SIZE) ||
	    rs < KHIB_REGION_MIN_START || !khib_range_within(rs, rb, UINT64_MAX))
		return -EINVAL;
	if (!khib_memmap_find(cfg->firmware, rs, rs + rb, KHIB_E820_RAM))
		return -EINVAL;
	if (!IS_ALIGNED(cfg->low_start, KHIB_PAGE_SIZE) ||
	    !IS_ALIGNED(cfg->low_bytes, KHIB_PAGE_SIZE) || !cfg->low_bytes ||
	    !khib_range_within(cfg->low_start, cfg->low_bytes, 1ULL << 20) ||
	    !khib_memmap_find(cfg->firmware, cfg->low_start, cfg->low_start + cfg->low_bytes,
			      KHIB_E820_RAM))
		return -EINVAL;
	return 0;
}

/* The command line page: the caller's, khib.handoff= and elfcorehdr=
 * (kernel/crash_dump.c: elfcorehdr=[size[KMG]@]offset[KMG], memparse()d,
 * so 0x numbers work).  Returns its length. */
static int build_cmdline(const struct khib_jump_config *cfg, const struct khib_bzimage *bz,
			 const struct khib_jump_plan *p, char *t)
{
	int n = snprintf(t, KHIB_PAGE_SIZE, "%s%skhib.handoff=0x%" PRIx64,
			 cfg->cmdline ? cfg->cmdline : "",
			 cfg->cmdline && *cfg->cmdline ? " " : "", p->handoff_paddr);

	if (n >= 0 && (size_t)n < KHIB_PAGE_SIZE && p->elfcorehdr_paddr) {
		int m = snprintf(t + n, KHIB_PAGE_SIZE - (size_t)n, " elfcorehdr=0x%zx@0x%" PRIx64,
				 cfg->elfcorehdr_bytes, p->elfcorehdr_paddr);

		n = m < 0 ? m : n + m;
	}
	if (n < 0 || (size_t)n >= KHIB_PAGE_SIZE || (uint32_t)n > bz->cmdline_size)
		return -E2BIG;
	return n;
}

static int build_tail(const struct khib_jump_config *cfg, const struct khib_bzimage *bz,
		      struct khib_jump_plan *p)
{
	uint8_t *t = p->tail;
	struct khib_boot_layout layout;
	struct khib_handoff h = cfg->handoff;
	struct khib_memmap keep = { 0 };
	int n, r;

	if ((r = build_cmdline(cfg, bz, p, (char *)t)) < 0)
		return r;
	n = r;

	/* RAM: low memory and the region less the extent map and the ELF core
	 * header pages (if any, between the initramfs and the tail), the key
	 * page and the handoff page. */
	if ((r = khib_memmap_add(&keep, cfg->low_start, cfg->low_start + cfg->low_bytes,
				 KHIB_E820_RAM)) < 0 ||
	    (r = khib_memmap_add(&keep, cfg->region_start, p->extmap_paddr ? p->extmap_paddr :
				 p->elfcorehdr_paddr ? p->elfcorehdr_paddr : p->cmdline_paddr,
				 KHIB_E820_RAM)) < 0 ||
	    (r = khib_memmap_add(&keep, p->cmdline_paddr, p->key_paddr, KHIB_E820_RAM)) < 0 ||
	    (r = khib_memmap_normalize(&keep)) < 0 ||
	    (r = khib_kexec_confine_e820(cfg->firmware, &keep, &p->e820)) < 0)
		return r;

	layout = (struct khib_boot_layout){
		.kernel_paddr = p->kernel_paddr,
		.cmdline_paddr = p->cmdline_paddr,
		.cmdline_len = (size_t)n,
		.initrd_paddr = cfg->initrd_bytes ? p->initrd_paddr : 0,
		.initrd_bytes = cfg->initrd_bytes,
		.acpi_rsdp = cfg->acpi_rsdp,
		.screen_info = cfg->screen_info,
	};
	r = khib_bzimage_boot_params(bz, &layout, &p->e820, t + TAIL_BOOT_PARAMS * KHIB_PAGE_SIZE);
	if (r < 0)
		return r;

	uint8_t *pg = t + TAIL_PURGATORY * KHIB_PAGE_SIZE;
	size_t pg_bytes = (size_t)(khib_purgatory_end - khib_purgatory_start);
	if (pg_bytes > KHIB_PAGE_SIZE)
		return -E2BIG;
	memcpy(pg, khib_purgatory_start, pg_bytes);
	khib_put_le64(pg + PURGATORY_OFF_KERNEL_ENTRY,
		      p->kernel_paddr + KHIB_BZIMAGE_ENTRY64_OFFSET);
	khib_put_le64(pg + PURGATORY_OFF_BOOT_PARAMS, p->boot_params_paddr);
	khib_put_le64(pg + PURGATORY_OFF_ENTRY_SLOT,
		      cfg->no_return ? 0 : p->handoff_paddr + KHIB_HANDOFF_OFF_ENTRY);

	h.jump_back_entry = 0;
	h.region_start = cfg->region_start;
	h.region_bytes = cfg->region_bytes;
	h.low_start = cfg->low_start;
	h.low_bytes = cfg->low_bytes;
	h.handoff_paddr = p->handoff_paddr;
	h.extents_paddr = p->extmap_paddr;
	h.key_paddr = 0;
	if (cfg->key_page) {
		memcpy(t + TAIL_KEY * KHIB_PAGE_SIZE, cfg->key_page, KHIB_KEYPAGE_BYTES);
		h.key_paddr = p->key_paddr;
	}
	return khib_handoff_encode(&h, t + TAIL_HANDOFF * KHIB_PAGE_SIZE);
}

/* The note must lie in memory the writer saves: elsewhere (the region, low
 * memory) the jumped-to kernel sees its own pages, not the note. */
static bool note_in_ranges(const struct khib_range *rg, size_t n, uint64_t paddr, uint64_t bytes)
{
	for (size_t i = 0; i < n; i++)
		if (rg[i].paddr <= paddr && bytes <= rg[i].npages * KHIB_PAGE_SIZE &&
		    paddr - rg[i].paddr <= rg[i].npages * KHIB_PAGE_SIZE - bytes)
			return true;
	return false;
}

int khib_kexec_build_elfcorehdr(const struct khib_jump_config *cfg, uint8_t **ret,
				size_t *ret_bytes)
{
	struct khib_handoff h = cfg->handoff;
	_cleanup_free_ struct khib_range *rg = NULL;
	_cleanup_free_ struct khib_elf_load *loads = NULL;
	size_t n;
	uint64_t total;
	int r;

	if (!h.vmcoreinfo_bytes)
		return -ENODATA;
	/* What the plan will tell the writer: the same holes, so the same
	 * ranges as it saves. */
	h.region_start = cfg->region_start;
	h.region_bytes = cfg->region_bytes;
	h.low_start = cfg->low_start;
	h.low_bytes = cfg->low_bytes;
	if ((r = khib_save_ranges(&h, &rg, &n, &total)) < 0)
		return r;
	if (!note_in_ranges(rg, n, h.vmcoreinfo_paddr, h.vmcoreinfo_bytes))
		return -ERANGE;
	loads = calloc(n, sizeof(*loads));
	if (!loads)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		loads[i] = (struct khib_elf_load){
			.paddr = rg[i].paddr,
			.vaddr = UINT64_MAX,
			.memsz = rg[i].npages * KHIB_PAGE_SIZE,
		};
	return khib_elfcore_build_phys(loads, n, EM_X86_64, h.vmcoreinfo_paddr,
				       h.vmcoreinfo_bytes, ret, ret_bytes);
}

/* Addresses, from the top of the region down: the tail pages, the ELF core
 * header pages, the initramfs; the kernel at the bottom. */
static int plan_layout(const struct khib_jump_config *cfg, const struct khib_bzimage *bz,
		       struct khib_jump_plan *p, uint64_t *ret_hdr_pages, uint64_t *ret_map_pages)
{
	uint64_t region_end = cfg->region_start + cfg->region_bytes, tail_paddr, below;
	uint64_t hdr_pages = 0, map_pages = 0;

	if (cfg->elfcorehdr) {
		hdr_pages = ALIGN_UP((uint64_t)cfg->elfcorehdr_bytes, KHIB_PAGE_SIZE) / KHIB_PAGE_SIZE;
		if (!hdr_pages || hdr_pages > KHIB_KEXEC_ELFCOREHDR_MAX_PAGES)
			return -E2BIG;
	}
	if (cfg->extmap) {
		if (!cfg->extmap_bytes || cfg->extmap_bytes > (size_t)KHIB_EXTMAP_MAX_EXTENTS *
		    KHIB_EXTMAP_ENTRY_BYTES ||
		    cfg->extmap_bytes != (size_t)cfg->handoff.nr_extents * KHIB_EXTMAP_ENTRY_BYTES)
			return -E2BIG;
		map_pages = ALIGN_UP((uint64_t)cfg->extmap_bytes, KHIB_PAGE_SIZE) / KHIB_PAGE_SIZE;
	}
	if (cfg->region_bytes < (KHIB_KEXEC_TAIL_PAGES + hdr_pages + map_pages) * KHIB_PAGE_SIZE)
		return -ENOSPC;
	tail_paddr = region_end - KHIB_KEXEC_TAIL_PAGES * KHIB_PAGE_SIZE;
	below = tail_paddr - hdr_pages * KHIB_PAGE_SIZE;
	p->elfcorehdr_paddr = hdr_pages ? below : 0;
	below -= map_pages * KHIB_PAGE_SIZE;
	p->extmap_paddr = map_pages ? below : 0;
	p->kernel_paddr = cfg->region_start;
	p->initrd_paddr = ALIGN_DOWN(below - (cfg->initrd_bytes < below ? cfg->initrd_bytes : below),
				     KHIB_PAGE_SIZE);
	/* The kernel needs init_size bytes from its load address, and the
	 * bzImage's own bytes must fit too. */
	if (p->initrd_paddr < p->kernel_paddr ||
	    p->initrd_paddr - p->kernel_paddr < bz->init_size ||
	    p->initrd_paddr - p->kernel_paddr < bz->kernel_bytes)
		return -ENOSPC;
	p->cmdline_paddr = tail_paddr + TAIL_CMDLINE * KHIB_PAGE_SIZE;
	p->boot_params_paddr = tail_paddr + TAIL_BOOT_PARAMS * KHIB_PAGE_SIZE;
	p->entry = tail_paddr + TAIL_PURGATORY * KHIB_PAGE_SIZE;
	p->key_paddr = tail_paddr + TAIL_KEY * KHIB_PAGE_SIZE;
	p->handoff_paddr = tail_paddr + TAIL_HANDOFF * KHIB_PAGE_SIZE;
	*ret_hdr_pages = hdr_pages;
	*ret_map_pages = map_pages;
	return 0;
}

bool khib_kexec_page_outside(const struct khib_jump_config *cfg, uint64_t paddr)
{
	uint64_t page = ALIGN_DOWN(paddr, KHIB_PAGE_SIZE);

	return (page >= cfg->region_start + cfg->region_bytes ||
		page + KHIB_PAGE_SIZE <= cfg->region_start) &&
	       (page >= cfg->low_start + cfg->low_bytes ||
		page + KHIB_PAGE_SIZE <= cfg->low_start);
}

int khib_jump_plan_build(const struct khib_jump_config *cfg, struct khib_jump_plan *ret)
{
	struct khib_jump_plan p = { 0 };
	struct khib_bzimage bz;
	uint64_t tail_paddr, hdr_pages, map_pages, kernel_end, initrd_end;
	int r;

	if ((r = check_ranges(cfg)) < 0)
		return r;
	if (cfg->handoff.status_paddr && !khib_kexec_page_outside(cfg, cfg->handoff.status_paddr))
		return -EADDRINUSE;
	if ((r = khib_bzimage_parse(cfg->kernel, cfg->kernel_bytes, &bz)) < 0)
		return r;
	if (!IS_ALIGNED(cfg->region_start, bz.kernel_alignment))
		return -EINVAL;
	if ((r = plan_layout(cfg, &bz, &p, &hdr_pages, &map_pages)) < 0)
		return r;
	tail_paddr = p.cmdline_paddr;

	p.preserve_context = !cfg->no_return;
	p.tail = calloc(KHIB_KEXEC_TAIL_PAGES, KHIB_PAGE_SIZE);
	if (!p.tail)
		return -ENOMEM;
	r = build_tail(cfg, &bz, &p);
	if (r < 0) {
		khib_jump_plan_release(&p);
		return r;
	}

	/* Segments in address order: low memory, kernel, initramfs, extent
	 * map, ELF core header, tail.  In a region of the running kernel's own RAM they
	 * cover all of it, so that the swap keeps that kernel's pages; in a
	 * reserved one only what has content. */
	kernel_end = cfg->region_reserved ?
		     p.kernel_paddr + ALIGN_UP((uint64_t)bz.kernel_bytes, KHIB_PAGE_SIZE) :
		     p.initrd_paddr;
	initrd_end = cfg->region_reserved ?
		     p.initrd_paddr + ALIGN_UP((uint64_t)cfg->initrd_bytes, KHIB_PAGE_SIZE) :
		     tail_paddr - (hdr_pages + map_pages) * KHIB_PAGE_SIZE;
	add_segment(&p, NULL, 0, cfg->low_start, cfg->low_bytes);
	add_segment(&p, bz.kernel, bz.kernel_bytes, p.kernel_paddr, kernel_end - p.kernel_paddr);
	if (initrd_end > p.initrd_paddr)
		add_segment(&p, cfg->initrd, cfg->initrd_bytes, p.initrd_paddr,
			    initrd_end - p.initrd_paddr);
	if (map_pages)
		add_segment(&p, cfg->extmap, cfg->extmap_bytes, p.extmap_paddr,
			    map_pages * KHIB_PAGE_SIZE);
	if (hdr_pages)
		add_segment(&p, cfg->elfcorehdr, cfg->elfcorehdr_bytes, p.elfcorehdr_paddr,
			    hdr_pages * KHIB_PAGE_SIZE);
	add_segment(&p, p.tail, KHIB_KEXEC_TAIL_PAGES * KHIB_PAGE_SIZE, tail_paddr,
		    KHIB_KEXEC_TAIL_PAGES * KHIB_PAGE_SIZE);
	*ret = p;
	return 0;
}

void khib_jump_plan_release(struct khib_jump_plan *p)
{
	if (p && p->tail) {
		/* SECURITY: the key page holds the image's data key. */
		khib_wipe(p->tail, KHIB_KEXEC_TAIL_PAGES * KHIB_PAGE_SIZE);
		free(p->tail);
		p->tail = NULL;
	}
}

uint64_t khib_jump_plan_load_pages(const struct khib_jump_plan *p, uint64_t ram_top)
{
	const uint64_t gib = 1ULL << 30, entries_per_page = KHIB_PAGE_SIZE / 8 - 1;
	uint64_t data = 0, entries, tables;

	for (size_t i = 0; i < p->nr_segments; i++)
		data += ALIGN_UP(p->seg[i].memsz, KHIB_PAGE_SIZE) / KHIB_PAGE_SIZE;
	entries = data + p->nr_segments + 1;
	/* PGD, a PUD page per 512 GiB, a PMD page per GiB; a segment beyond
	 * ram_top may need a PUD and a PMD page of its own. */
	tables = 1 + (ram_top + 512 * gib - 1) / (512 * gib) + (ram_top + gib - 1) / gib +
		 2 * p->nr_segments;
	return data + (entries + entries_per_page - 1) / entries_per_page + 2 + tables;
}

static int kexec_load_segments(uint64_t entry, const struct khib_kexec_segment *seg, size_t n,
			       unsigned long flags)
{
	struct kexec_segment ks[KHIB_KEXEC_MAX_SEGMENTS];

	if (n > KHIB_KEXEC_MAX_SEGMENTS)
		return -E2BIG;
	for (size_t i = 0; i < n; i++)
		ks[i] = (struct kexec_segment){
			.buf = seg[i].buf,
			.bufsz = seg[i].bufsz,
			.mem = (const void *)(uintptr_t)seg[i].mem,
			.memsz = seg[i].memsz,
		};
	if (syscall(SYS_kexec_load, (unsigned long)entry, (unsigned long)n, ks, flags) < 0)
		return -errno;
	return 0;
}

int khib_kexec_load_plan(const struct khib_jump_plan *p)
{
	return kexec_load_segments(p->entry, p->seg, p->nr_segments,
				   (p->preserve_context ? KEXEC_PRESERVE_CONTEXT : 0) |
				   KEXEC_ARCH_DEFAULT);
}

int khib_kexec_unload(void)
{
	if (syscall(SYS_kexec_load, 0UL, 0UL, NULL, (unsigned long)KEXEC_ARCH_DEFAULT) < 0)
		return -errno;
	return 0;
}

int khib_kexec_probe_jump(void)
{
	if (syscall(SYS_kexec_load, 0UL, 0UL, NULL,
		    (unsigned long)(KEXEC_PRESERVE_CONTEXT | KEXEC_ARCH_DEFAULT)) == 0)
		return 0;
	/* kexec_load checks its flags before anything else: EINVAL here means
	 * the kernel does not know KEXEC_PRESERVE_CONTEXT. */
	return errno == EINVAL ? -EOPNOTSUPP : -errno;
}

int khib_kexec_jump(void)
{
	sync();
	if (syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_KEXEC,
		    NULL) < 0)
		return -errno;
	return 0;
}

static bool in_ram_ranges(const struct khib_handoff *h, uint64_t start, uint64_t end)
{
	for (uint32_t i = 0; i < h->nr_ranges; i++)
		if (h->ranges[i].start <= start && end <= h->ranges[i].start + h->ranges[i].bytes)
			return true;
	return false;
}

int khib_kexec_load_jump_back(const struct khib_handoff *h, const char *devmem)
{
	/* The control block is two pages: the page table, then the code page
	 * that holds the re-entry point. */
	const uint64_t ctrl_bytes = 2 * KHIB_PAGE_SIZE;
	uint64_t entry = h->jump_back_entry, ctrl;
	_cleanup_free_ uint8_t *buf = NULL;
	struct khib_kexec_segment seg;
	int r;

	if (entry < KHIB_PAGE_SIZE)
		return -EINVAL;
	ctrl = ALIGN_DOWN(entry, KHIB_PAGE_SIZE) - KHIB_PAGE_SIZE;
	if (!in_ram_ranges(h, ctrl, ctrl + ctrl_bytes) ||
	    khib_ranges_overlap(ctrl, ctrl_bytes, h->region_start, h->region_bytes) ||
	    khib_ranges_overlap(ctrl, ctrl_bytes, h->low_start, h->low_bytes))
		return -EINVAL;
	buf = malloc(ctrl_bytes);
	if (!buf)
		return -ENOMEM;
	r = khib_physmem_read(devmem, ctrl, buf, ctrl_bytes);
	if (r < 0)
		return r;
	seg = (struct khib_kexec_segment){ buf, ctrl_bytes, ctrl, ctrl_bytes };
	return kexec_load_segments(entry, &seg, 1, KEXEC_PRESERVE_CONTEXT | KEXEC_ARCH_DEFAULT);
}
