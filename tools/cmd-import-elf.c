/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib import-elf: build an image from an ELF core file (a saved
 * /proc/vmcore, or 'khib export-elf' output), so the whole image pipeline
 * can be exercised on a host without hibernating anything.
 *
 * Saved ranges are the union of the PT_LOADs rounded out to pages (loads may
 * overlap: kexec-tools adds a kernel-text load inside a RAM load).  Pages
 * fully inside one load's file data are fed straight from the mapping;
 * the few others (partial pages, memsz beyond filesz) are assembled.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfcore.h"
#include "crypt.h"
#include "elfcore_file.h"
#include "fileio.h"
#include "image.h"
#include "keys.h"
#include "khib.h"
#include "preflight.h"
#include "targetdev.h"
#include "util.h"

#define DIRECT_MAP_MIN 0xffff800000000000ULL

static void import_help(FILE *out)
{
	fputs("Usage: khib import-elf VMCORE IMAGE [OPTIONS]\n"
	      "\n"
	      "Build an image from an ELF64 core file such as a saved /proc/vmcore.\n"
	      "IMAGE is created, or overwritten when it is a file or block device\n"
	      "that holds a khib image, zeros or nothing libblkid recognises.\n"
	      "\n"
	      "  --codec C          none, lz4, zstd, with an optional level: zstd:3\n"
	      "                     (default lz4)\n"
	      "  --threads N        compression threads (default: all CPUs)\n"
	      "  --chunk-pages N    pages per chunk (default 1024)\n"
	      "  --progress         show progress even when stderr is not a terminal\n"
	      "  --force            overwrite IMAGE whatever it holds\n"
	      "  --key-file FILE    encrypt the image for this key file\n", out);
}

struct import_opts {
	struct khib_writer_params p;
	bool progress, force;
	const char *in, *out, *key_file;
};

static int parse_import_opts(int argc, char **argv, struct import_opts *o)
{
	static const struct option longopts[] = {
		{ "codec", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 't' },
		{ "chunk-pages", required_argument, NULL, 'C' },
		{ "progress", no_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'f' },
		{ "key-file", required_argument, NULL, 'K' },
		{},
	};
	uint64_t v;
	int c;

	o->p.codec = KHIB_CODEC_LZ4;
	o->p.codec_level = khib_codec_default_level(KHIB_CODEC_LZ4);
	optind = 1;
	while ((c = khib_tool_getopt(argc, argv, longopts)) != -1) {
		switch (c) {
		case 'c':
			if (khib_codec_parse(optarg, &o->p.codec, &o->p.codec_level) < 0) {
				khib_err("--codec '%s': expected none, lz4[:1-12] or zstd[:LEVEL]", optarg);
				return -EINVAL;
			}
			break;
		case 't':
			if (khib_tool_parse_threads(optarg, &o->p.threads) < 0)
				return -EINVAL;
			break;
		case 'C':
			if (khib_parse_size(optarg, &v) < 0 || !v || v > KHIB_MAX_CHUNK_PAGES) {
				khib_err("--chunk-pages '%s': expected 1..%u", optarg, KHIB_MAX_CHUNK_PAGES);
				return -EINVAL;
			}
			o->p.chunk_pages = (uint32_t)v;
			break;
		case 'p': o->progress = true; break;
		case 'f': o->force = true; break;
		case 'K': o->key_file = optarg; break;
		default: return -EINVAL;
		}
	}
	if (argc - optind != 2) {
		khib_err("expected VMCORE and IMAGE (see 'khib import-elf --help')");
		return -EINVAL;
	}
	o->in = argv[optind];
	o->out = argv[optind + 1];
	if (khib_tool_same_file(o->in, o->out)) {
		khib_err("'%s' and '%s' are the same file: the image would overwrite the core",
			 o->in, o->out);
		return -EINVAL;
	}
	return 0;
}

static int cmp_load(const void *a, const void *b)
{
	const struct khib_elf_load *x = a, *y = b;

	return x->paddr < y->paddr ? -1 : x->paddr > y->paddr;
}

/* Union of the loads, page aligned, sorted and merged; loads get sorted. */
static int make_ranges(struct khib_elfcore *c, struct khib_range **ret, size_t *ret_n)
{
	struct khib_range *v = calloc(c->n_loads + 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	qsort(c->loads, c->n_loads, sizeof(*c->loads), cmp_load);
	for (size_t i = 0; i < c->n_loads; i++) {
		const struct khib_elf_load *l = &c->loads[i];
		uint64_t start = ALIGN_DOWN(l->paddr, KHIB_PAGE_SIZE), end;

		if (!l->memsz)
			continue;
		if (l->paddr + l->memsz > UINT64_MAX - KHIB_PAGE_SIZE) {
			free(v);
			return -EOVERFLOW;
		}
		end = ALIGN_UP(l->paddr + l->memsz, KHIB_PAGE_SIZE);
		if (n && start <= v[n - 1].paddr + v[n - 1].npages * KHIB_PAGE_SIZE) {
			uint64_t prev_end = v[n - 1].paddr + v[n - 1].npages * KHIB_PAGE_SIZE;

			if (end > prev_end)
				v[n - 1].npages = (end - v[n - 1].paddr) / KHIB_PAGE_SIZE;
			continue;
		}
		v[n++] = (struct khib_range){ start, (end - start) / KHIB_PAGE_SIZE };
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

struct importer {
	struct khib_elfcore *c;
	const uint8_t *map;
	struct khib_writer *w;
	uint8_t **owned; /* assembled pages, alive until finish */
	size_t n_owned;
	size_t hint;     /* load that held the previous page */
	struct khib_progress progress;
	uint64_t fed;
};

static bool load_holds(const struct khib_elf_load *l, uint64_t pa)
{
	return pa >= l->paddr && pa - l->paddr + KHIB_PAGE_SIZE <= l->filesz;
}

/* The page at pa straight from the mapping, or NULL if no single load
 * has all of its bytes in the file. */
static const uint8_t *direct_page(struct importer *im, uint64_t pa)
{
	if (im->hint < im->c->n_loads && load_holds(&im->c->loads[im->hint], pa))
		return im->map + im->c->loads[im->hint].offset + (pa - im->c->loads[im->hint].paddr);
	for (size_t i = 0; i < im->c->n_loads; i++)
		if (load_holds(&im->c->loads[i], pa)) {
			im->hint = i;
			return im->map + im->c->loads[i].offset + (pa - im->c->loads[i].paddr);
		}
	return NULL;
}

/* Page pa from pieces: file bytes of every load touching it, zero elsewhere. */
static const uint8_t *assemble_page(struct importer *im, uint64_t pa)
{
	uint8_t *pg = calloc(1, KHIB_PAGE_SIZE), **nv;

	nv = realloc(im->owned, (im->n_owned + 1) * sizeof(*nv));
	if (!pg || !nv) {
		free(pg);
		if (nv)
			im->owned = nv;
		return NULL;
	}
	im->owned = nv;
	im->owned[im->n_owned++] = pg;
	for (size_t i = 0; i < im->c->n_loads; i++) {
		const struct khib_elf_load *l = &im->c->loads[i];
		uint64_t s = pa > l->paddr ? pa : l->paddr;
		uint64_t e = pa + KHIB_PAGE_SIZE < l->paddr + l->filesz ? pa + KHIB_PAGE_SIZE
								  : l->paddr + l->filesz;

		if (s < e)
			memcpy(pg + (s - pa), im->map + l->offset + (s - l->paddr), e - s);
	}
	return pg;
}

static int feed_range(struct importer *im, const struct khib_range *r)
{
	const uint8_t *run = NULL;
	uint64_t run_pa = 0, run_n = 0;
	int q;

	for (uint64_t k = 0; k <= r->npages; k++) {
		uint64_t pa = r->paddr + k * KHIB_PAGE_SIZE;
		const uint8_t *p = NULL;

		if (k < r->npages) {
			p = direct_page(im, pa);
			if (!p && !(p = assemble_page(im, pa)))
				return -ENOMEM;
			if (run && p == run + run_n * KHIB_PAGE_SIZE) {
				run_n++;
				continue;
			}
		}
		if (run) {
			q = khib_writer_add(im->w, run_pa, run, run_n);
			if (q < 0)
				return q;
			im->fed += run_n;
			khib_progress_update(&im->progress, im->fed);
		}
		run = p;
		run_pa = pa;
		run_n = 1;
	}
	return 0;
}

/* What the core tells about the kernel: release, direct map base. */
static void describe_kernel(const struct khib_elfcore *c, struct khib_writer_params *p)
{
	const char *rel = c->vmcoreinfo ? strstr((const char *)c->vmcoreinfo, "OSRELEASE=") : NULL;

	if (rel) {
		rel += strlen("OSRELEASE=");
		size_t n = strcspn(rel, "\n");
		if (n >= sizeof(p->kernel.uts_release))
			n = sizeof(p->kernel.uts_release) - 1;
		memcpy(p->kernel.uts_release, rel, n);
	}
	for (size_t i = 0; i < c->n_loads; i++) {
		const struct khib_elf_load *l = &c->loads[i];

		if (l->vaddr >= DIRECT_MAP_MIN && l->vaddr < KHIB_START_KERNEL_MAP && l->vaddr >= l->paddr) {
			p->resume.direct_map_base = l->vaddr - l->paddr;
			break;
		}
	}
	p->vmcoreinfo = c->vmcoreinfo;
	p->vmcoreinfo_bytes = c->vmcoreinfo_bytes;
}

static int write_image(struct importer *im, struct import_opts *o, struct khib_target *t)
{
	struct khib_image_key *key = NULL;
	struct khib_range *ranges = NULL;
	uint8_t uuid[16];
	size_t n = 0;
	int q;

	q = make_ranges(im->c, &ranges, &n);
	if (q < 0)
		return khib_err_errno(q, "reading '%s'", o->in);
	o->p.ranges = ranges;
	o->p.n_ranges = n;
	for (size_t i = 0; i < n; i++)
		o->p.total_ram_pages += ranges[i].npages;
	describe_kernel(im->c, &o->p);
	if (o->key_file && khib_tool_image_key(&(struct khib_keyring){ .key_file = o->key_file },
					       &key, uuid) < 0) {
		free(ranges);
		return 1;
	}
	o->p.key = key;
	o->p.uuid = key ? uuid : NULL;
	q = khib_writer_new(t, &o->p, &im->w);
	khib_secret_free(key);	/* the writer keeps its own keys */
	o->p.key = NULL;
	if (q < 0) {
		free(ranges);
		return khib_err_errno(q, "starting image '%s'", o->out);
	}
	khib_progress_init(&im->progress, o->progress, "importing", o->p.total_ram_pages);
	for (size_t i = 0; i < n && q >= 0; i++)
		q = feed_range(im, &ranges[i]);
	if (q >= 0)
		q = khib_writer_finish(im->w);
	khib_progress_done(&im->progress);
	khib_writer_free(im->w);
	free(ranges);
	if (q < 0)
		return khib_err_errno(q, "writing image '%s'", o->out);
	return 0;
}

static int open_core(struct importer *im, const char *path, int *ret_fd, size_t *ret_len)
{
	char reason[KHIB_REASON_MAX] = "";
	_cleanup_close_ int fd = khib_open_input(path, O_RDONLY);
	void *map;
	int q;

	if (fd < 0)
		return khib_err_errno(fd, "opening '%s'", path);
	q = khib_elfcore_parse_fd(fd, &im->c, reason);
	if (q < 0) {
		khib_err("reading ELF core '%s': %s", path, reason);
		return 1;
	}
	map = im->c->file_bytes ? mmap(NULL, im->c->file_bytes, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	if (map == MAP_FAILED)
		return khib_err_errno(-errno, "mapping '%s'", path);
	madvise(map, im->c->file_bytes, MADV_SEQUENTIAL);
	im->map = map;
	*ret_len = im->c->file_bytes;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int import_run(int argc, char **argv)
{
	struct import_opts o = { 0 };
	struct importer im = { 0 };
	struct khib_target *t;
	struct stat st = { 0 };
	char what[KHIB_REASON_MAX] = "";
	bool created;
	size_t map_len = 0;
	int fd = -1, q, ret;

	if (parse_import_opts(argc, argv, &o) < 0)
		return EXIT_USAGE;
	if (open_core(&im, o.in, &fd, &map_len))
		return 1;
	/* Write only over what is khib's or carries nothing another program
	 * claims; delete only what this run created. */
	created = stat(o.out, &st) < 0 && errno == ENOENT;
	if (!created && !o.force && (q = khib_preflight_owned(o.out, what)) < 0) {
		if (q == -EEXIST)
			khib_err("'%s' holds %s: not overwriting it (give --force)", o.out, what);
		else
			khib_err("opening image '%s': %s", o.out, what);
		ret = 1;
		goto out;
	}
	/* Direct I/O where the file system allows: no page cache copy. */
	q = khib_target_open(o.out, KHIB_TARGET_WRITE | KHIB_TARGET_DIRECT |
					    (S_ISBLK(st.st_mode) && !created ? 0 : KHIB_TARGET_CREATE),
			     &t);
	if (q < 0) {
		ret = khib_err_errno(q, "opening image '%s'", o.out);
	} else {
		ret = write_image(&im, &o, t);
		khib_target_free(t);
		if (ret && created)
			unlink(o.out); /* never leave a half-written file behind */
	}
out:
	for (size_t i = 0; i < im.n_owned; i++)
		free(im.owned[i]);
	free(im.owned);
	if (im.map)
		munmap((void *)im.map, map_len);
	close(fd);
	khib_elfcore_free(im.c);
	return ret;
}

const struct khib_command khib_cmd_import_elf = {
	.name = "import-elf",
	.summary = "build an image from an ELF core file",
	.run = import_run,
	.hashes_images = true,
	.help = import_help,
};
