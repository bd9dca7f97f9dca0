/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib export-elf: write an image as an ELF64 core file (one PT_LOAD per
 * saved range, the VMCOREINFO note when the image has one), so readelf,
 * crash and makedumpfile can read a hibernated machine.  Zero and excluded
 * pages become holes of a sparse file.
 */
#include <elf.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "elfcore.h"
#include "image.h"
#include "khib.h"
#include "util.h"

/* Kernel text lives above this; the direct map below it (x86-64). */
#define START_KERNEL_MAP 0xffffffff80000000ULL

static void export_help(FILE *out)
{
	fputs("Usage: khib export-elf IMAGE OUT [--threads N] [--progress]\n"
	      "\n"
	      "Write the memory saved in IMAGE as an ELF64 core file OUT, as\n"
	      "/proc/vmcore would show it.  The image is verified on the way.\n"
	      "\n"
	      "  --threads N   decoding threads (default: all CPUs)\n"
	      "  --progress    show progress even when stderr is not a terminal\n", out);
}

struct export_ctx {
	int fd;
	const struct khib_range *ranges;
	const struct khib_elf_load *loads;
	size_t n;
	pthread_mutex_t lock; /* pages arrive from several threads */
	struct khib_progress progress;
	uint64_t pages;
};

static int write_pages(void *ctx, uint64_t paddr, uint64_t npages, enum khib_page_kind kind,
		       const void *data)
{
	struct export_ctx *e = ctx;
	size_t lo = 0, hi = e->n;
	while (hi - lo > 1) { /* the range holding paddr: last one starting at or below it */
		size_t mid = lo + (hi - lo) / 2;

		if (e->ranges[mid].paddr <= paddr)
			lo = mid;
		else
			hi = mid;
	}
	if (kind == KHIB_PAGES_DATA) {
		int r = khib_pwrite_all(e->fd, data, npages * 4096,
					e->loads[lo].offset + (paddr - e->ranges[lo].paddr));
		if (r < 0)
			return r;
	}
	pthread_mutex_lock(&e->lock);
	e->pages += npages;
	khib_progress_update(&e->progress, e->pages);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

static int build_loads(struct khib_reader *r, struct export_ctx *e, uint8_t **ret_hdr,
		       size_t *ret_hdr_bytes, uint64_t *ret_file_bytes)
{
	const struct khib_image_info *i = khib_reader_info(r);
	const void *vmci = NULL;
	size_t vbytes = 0;
	struct khib_elf_load *loads;

	e->ranges = khib_reader_ranges(r, &e->n);
	loads = calloc(e->n + 1, sizeof(*loads));
	if (!loads)
		return -ENOMEM;
	for (size_t k = 0; k < e->n; k++) {
		loads[k].paddr = e->ranges[k].paddr;
		loads[k].memsz = e->ranges[k].npages * 4096;
		/* As /proc/vmcore: RAM seen through the direct map, if known. */
		loads[k].vaddr = i->resume.direct_map_base &&
						 i->resume.direct_map_base + loads[k].paddr < START_KERNEL_MAP
					 ? i->resume.direct_map_base + loads[k].paddr
					 : 0;
	}
	(void)khib_reader_vmcoreinfo(r, &vmci, &vbytes);
	e->loads = loads;
	return khib_elfcore_build(loads, e->n, EM_X86_64, vmci, vbytes, ret_hdr, ret_hdr_bytes,
				  ret_file_bytes);
}

static int export_image(struct khib_reader *r, const char *out, const struct khib_read_opts *base,
			bool progress)
{
	struct export_ctx e = { .fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };
	struct khib_read_opts o = *base;
	char reason[KHIB_REASON_MAX] = "";
	_cleanup_free_ uint8_t *hdr = NULL;
	size_t hdr_bytes;
	uint64_t file_bytes;
	int q;

	q = build_loads(r, &e, &hdr, &hdr_bytes, &file_bytes);
	if (q < 0) {
		free((void *)e.loads);
		return khib_err_errno(q, "building ELF headers for '%s'", out);
	}
	e.fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600); /* SECURITY: RAM */
	if (e.fd < 0) {
		free((void *)e.loads);
		return khib_err_errno(-errno, "creating '%s'", out);
	}
	q = ftruncate(e.fd, (off_t)file_bytes) < 0 ? -errno : 0;
	if (q >= 0)
		q = khib_pwrite_all(e.fd, hdr, hdr_bytes, 0);
	khib_progress_init(&e.progress, progress, "exporting", khib_reader_info(r)->saved_pages);
	o.fn = write_pages;
	o.ctx = &e;
	if (q >= 0)
		q = khib_reader_read(r, &o, reason);
	khib_progress_done(&e.progress);
	if (q >= 0 && fsync(e.fd) < 0)
		q = -errno;
	close(e.fd);
	free((void *)e.loads);
	if (q < 0) {
		unlink(out);
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
		{},
	};
	struct khib_read_opts o = { 0 };
	struct khib_target *t;
	struct khib_reader *r;
	bool progress = false;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'p')
			progress = true;
		else if (c != 't' || khib_tool_parse_threads(optarg, &o.threads) < 0)
			return EXIT_USAGE;
	}
	if (argc - optind != 2) {
		khib_err("expected IMAGE and OUT (see 'khib export-elf --help')");
		return EXIT_USAGE;
	}
	if (khib_tool_open_image(argv[optind], 0, &t, &r))
		return 1;
	ret = export_image(r, argv[optind + 1], &o, progress);
	khib_reader_free(r);
	khib_target_free(t);
	return ret;
}

const struct khib_command khib_cmd_export_elf = {
	.name = "export-elf",
	.summary = "write an image as an ELF core file",
	.run = export_run,
	.help = export_help,
};
