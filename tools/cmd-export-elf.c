/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib export-elf: write an image as an ELF64 core file (one PT_LOAD per
 * saved range, the VMCOREINFO note when the image has one), so readelf,
 * crash and makedumpfile can read a hibernated machine.  Zero and excluded
 * pages become holes of a sparse file.
 *
 * An image written during a kexec jump does not hold N's own content of H's
 * region and low memory where it was: the jump swapped those pages with
 * source pages elsewhere in RAM, which the image saved (lib/format/elfcore.h).  N's
 * early allocations (mem_section, page tables, ...) sit at the top of RAM,
 * where the region usually is, so without them makedumpfile cannot read the
 * core.  The export therefore adds a PT_LOAD for each of the two and fills
 * it from the kexec swap list, found through the jump-back entry.
 */
#include <elf.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfcore.h"
#include "fileio.h"
#include "image.h"
#include "khib.h"
#include "util.h"

/* Kernel text lives above this; the direct map below it (x86-64). */

static void export_help(FILE *out)
{
	fputs("Usage: khib export-elf IMAGE OUT [--key-file FILE] [--threads N] [--progress]\n"
	      "\n"
	      "Write the memory saved in IMAGE as an ELF64 core file OUT, as\n"
	      "/proc/vmcore would show it.  The image is verified on the way.\n"
	      "\n"
	      "  --key-file F  the key file of an encrypted image (default: the keys\n"
	      "                enrolled with khib key; OUT is memory in clear: every\n"
	      "                secret of the machine)\n"
	      "  --threads N   decoding threads (default: all CPUs)\n"
	      "  --progress    show progress even when stderr is not a terminal\n", out);
}

struct export_ctx {
	int fd;
	struct khib_elf_load *loads; /* sorted by paddr */
	bool *swapped;               /* loads[i] is H's memory, filled from the swap list */
	size_t n;
	pthread_mutex_t lock; /* pages arrive from several threads */
	struct khib_progress progress;
	uint64_t pages;
};

/* The load holding paddr, or NULL. */
static const struct khib_elf_load *find_load(const struct export_ctx *e, uint64_t paddr,
					     size_t *ret_i)
{
	size_t lo = 0, hi = e->n;

	while (hi - lo > 1) { /* the last load starting at or below paddr */
		size_t mid = lo + (hi - lo) / 2;

		if (e->loads[mid].paddr <= paddr)
			lo = mid;
		else
			hi = mid;
	}
	if (!e->n || paddr < e->loads[lo].paddr || paddr - e->loads[lo].paddr >= e->loads[lo].memsz)
		return NULL;
	if (ret_i)
		*ret_i = lo;
	return &e->loads[lo];
}

static int write_pages(void *ctx, uint64_t paddr, uint64_t npages, enum khib_page_kind kind,
		       const void *data)
{
	struct export_ctx *e = ctx;
	const struct khib_elf_load *l = find_load(e, paddr, NULL);

	if (!l) /* the reader only hands out pages of its ranges */
		return -EINVAL;
	if (kind == KHIB_PAGES_DATA) {
		int r = khib_pwrite_all(e->fd, data, npages * 4096, l->offset + (paddr - l->paddr));
		if (r < 0)
			return r;
	}
	pthread_mutex_lock(&e->lock);
	e->pages += npages;
	khib_progress_update(&e->progress, e->pages);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

/* A saved page, read back from the core file being written. */
static int read_saved_page(void *ctx, uint64_t paddr, void *page)
{
	const struct export_ctx *e = ctx;
	size_t i;
	const struct khib_elf_load *l = find_load(e, paddr, &i);
	ssize_t n;

	if (!l || e->swapped[i] || paddr & 4095)
		return -ENOENT;
	n = pread(e->fd, page, 4096, (off_t)(l->offset + (paddr - l->paddr)));
	if (n < 0)
		return -errno;
	return n == 4096 ? 0 : -EIO;
}

/* Is paddr one of H's pages, to be filled from the swap list? */
static bool swapped_page(void *ctx, uint64_t paddr)
{
	const struct export_ctx *e = ctx;
	size_t i;

	return find_load(e, paddr, &i) && e->swapped[i];
}

static int write_swapped_page(void *ctx, uint64_t paddr, const void *page)
{
	const struct export_ctx *e = ctx;
	const struct khib_elf_load *l = find_load(e, paddr, NULL);

	return khib_pwrite_all(e->fd, page, 4096, l->offset + (paddr - l->paddr));
}

static int cmp_load(const void *a, const void *b)
{
	const struct khib_elf_load *x = a, *y = b;

	return x->paddr < y->paddr ? -1 : x->paddr > y->paddr;
}

/* Is [paddr, +bytes) clear of every load so far? */
static bool load_fits(const struct khib_elf_load *loads, size_t n, uint64_t paddr, uint64_t bytes)
{
	if (!bytes || paddr & 4095 || bytes & 4095 || paddr > UINT64_MAX - bytes)
		return false;
	for (size_t k = 0; k < n; k++)
		if (paddr < loads[k].paddr + loads[k].memsz && loads[k].paddr < paddr + bytes)
			return false;
	return true;
}

static int build_loads(struct khib_reader *r, struct export_ctx *e, bool with_swapped,
		       uint8_t **ret_hdr, size_t *ret_hdr_bytes, uint64_t *ret_file_bytes)
{
	const struct khib_image_info *i = khib_reader_info(r);
	const struct khib_range *ranges;
	const uint64_t h_mem[2][2] = { { i->resume.lowmem_start, i->resume.lowmem_size },
				       { i->resume.region_start, i->resume.region_bytes } };
	const void *vmci = NULL;
	size_t vbytes = 0, n;

	ranges = khib_reader_ranges(r, &n);
	e->loads = calloc(n + 2, sizeof(*e->loads));
	e->swapped = calloc(n + 2, sizeof(*e->swapped));
	if (!e->loads || !e->swapped)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++)
		e->loads[k] = (struct khib_elf_load){ .paddr = ranges[k].paddr,
						      .memsz = ranges[k].npages * 4096 };
	e->n = n;
	for (size_t k = 0; with_swapped && i->resume.jump_back_entry && k < 2; k++)
		if (load_fits(e->loads, e->n, h_mem[k][0], h_mem[k][1]))
			e->loads[e->n++] = (struct khib_elf_load){ .paddr = h_mem[k][0],
								   .memsz = h_mem[k][1] };
	qsort(e->loads, e->n, sizeof(*e->loads), cmp_load);
	for (size_t k = 0; k < e->n; k++) {
		struct khib_elf_load *l = &e->loads[k];

		e->swapped[k] = (l->paddr == h_mem[0][0] && l->memsz == h_mem[0][1]) ||
				(l->paddr == h_mem[1][0] && l->memsz == h_mem[1][1]);
		/* As /proc/vmcore: RAM seen through the direct map, if known. */
		l->vaddr = i->resume.direct_map_base &&
					   i->resume.direct_map_base + l->paddr < KHIB_START_KERNEL_MAP
				   ? i->resume.direct_map_base + l->paddr
				   : 0;
	}
	(void)khib_reader_vmcoreinfo(r, &vmci, &vbytes);
	return khib_elfcore_build(e->loads, e->n, EM_X86_64, vmci, vbytes, ret_hdr, ret_hdr_bytes,
				  ret_file_bytes);
}

static void export_ctx_release(struct export_ctx *e)
{
	free(e->loads);
	free(e->swapped);
	e->loads = NULL;
	e->swapped = NULL;
	e->n = 0;
}

/* -EAGAIN: H's pages could not be restored, try again without them. */
static int export_image(struct khib_reader *r, const char *out, const struct khib_read_opts *base,
			bool progress, bool with_swapped)
{
	const struct khib_image_info *info = khib_reader_info(r);
	struct export_ctx e = { .fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };
	struct khib_read_opts o = *base;
	char reason[KHIB_REASON_MAX] = "";
	_cleanup_free_ uint8_t *hdr = NULL;
	size_t hdr_bytes;
	uint64_t file_bytes;
	int q;

	q = build_loads(r, &e, with_swapped, &hdr, &hdr_bytes, &file_bytes);
	if (q < 0) {
		export_ctx_release(&e);
		return khib_err_errno(q, "building ELF headers for '%s'", out);
	}
	/* Read back too: H's pages are filled from saved ones.  0600: it holds
	 * RAM (SECURITY). */
	e.fd = khib_open_input(out, O_RDWR | O_CREAT | O_TRUNC);
	if (e.fd < 0) {
		q = e.fd;
		export_ctx_release(&e);
		return khib_err_errno(q, "creating '%s'", out);
	}
	q = ftruncate(e.fd, (off_t)file_bytes) < 0 ? -errno : 0;
	if (q >= 0)
		q = khib_pwrite_all(e.fd, hdr, hdr_bytes, 0);
	khib_progress_init(&e.progress, progress, "exporting", info->saved_pages);
	o.fn = write_pages;
	o.ctx = &e;
	if (q >= 0)
		q = khib_reader_read(r, &o, reason);
	khib_progress_done(&e.progress);
	if (q >= 0 && with_swapped && info->resume.jump_back_entry) {
		const struct khib_elf_page_ops ops = { .read = read_saved_page,
						       .wanted = swapped_page,
						       .write = write_swapped_page, .ctx = &e };
		int u = khib_elfcore_undo_kexec_swaps(&ops, info->resume.jump_back_entry,
			(info->resume.lowmem_size + info->resume.region_bytes) / 4096);
		if (u < 0) {
			khib_warn("finding N's pages swapped out of H's memory in '%s': %s",
				  out, strerror(-u));
			q = -EAGAIN;
		}
	}
	if (q >= 0 && fsync(e.fd) < 0)
		q = -errno;
	close(e.fd);
	export_ctx_release(&e);
	if (q == -EAGAIN)
		return q;
	if (q < 0) {
		if (reason[0])
			khib_err("exporting to '%s': %s", out, reason);
		else
			khib_err_errno(q, "writing '%s'", out);
		return 1;
	}
	return 0;
}

static int export_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "progress", no_argument, NULL, 'p' },
		{ "key-file", required_argument, NULL, 'K' },
		{},
	};
	const char *key_file = NULL;
	struct khib_read_opts o = { 0 };
	struct khib_target *t;
	struct khib_reader *r;
	bool progress = false, existed;
	struct stat st;
	int c, ret;

	optind = 1;
	while ((c = khib_tool_getopt(argc, argv, longopts)) != -1) {
		if (c == 'p')
			progress = true;
		else if (c == 'K')
			key_file = optarg;
		else if (c != 't' || khib_tool_parse_threads(optarg, &o.threads) < 0)
			return EXIT_USAGE;
	}
	if (argc - optind != 2) {
		khib_err("expected IMAGE and OUT (see 'khib export-elf --help')");
		return EXIT_USAGE;
	}
	if (khib_tool_same_file(argv[optind], argv[optind + 1])) {
		khib_err("'%s' and '%s' are the same file: the export would overwrite the image",
			 argv[optind], argv[optind + 1]);
		return EXIT_USAGE;
	}
	if (khib_tool_open_image(argv[optind], 0, key_file, &t, &r))
		return 1;
	/* Delete on failure only what this run created. */
	existed = lstat(argv[optind + 1], &st) == 0;
	ret = export_image(r, argv[optind + 1], &o, progress, true);
	if (ret == -EAGAIN) {
		khib_info("exporting '%s' without H's region and low memory", argv[optind + 1]);
		ret = export_image(r, argv[optind + 1], &o, progress, false);
	}
	if (ret && !existed)
		unlink(argv[optind + 1]);
	khib_reader_free(r);
	khib_target_free(t);
	return ret;
}

const struct khib_command khib_cmd_export_elf = {
	.name = "export-elf",
	.summary = "write an image as an ELF core file",
	.run = export_run,
	.hashes_images = true,
	.help = export_help,
};
