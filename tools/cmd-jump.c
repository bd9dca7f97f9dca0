/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib jump: run another kernel confined to a region of this machine's RAM
 * with a preserve-context kexec jump, and carry on when it jumps back.
 * khib jump-back: the other kernel's side — return to the kernel that
 * jumped here, as described by the handoff block.
 *
 * These are the building blocks of hibernation (the writer kernel is such a
 * jumped-to kernel) and a diagnostic in their own right: if `khib jump`
 * comes back, this machine can run khib's writer kernel.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "handoff.h"
#include "handoff_read.h"
#include "jump.h"
#include "kexec.h"
#include "khib.h"
#include "memmap.h"
#include "physmem.h"
#include "sysinfo.h"
#include "util.h"

#define DEFAULT_REGION_BYTES (128ULL << 20)

static void jump_help(FILE *out)
{
	fputs("Usage: khib jump --kernel BZIMAGE [OPTIONS]\n"
	      "\n"
	      "Jump into another kernel with a preserve-context kexec, confined to a\n"
	      "region of RAM, and continue here when it runs 'khib jump-back'.\n"
	      "\n"
	      "  --kernel FILE         bzImage to run (required)\n"
	      "  --initrd FILE         its initramfs\n"
	      "  --append CMDLINE      its command line (khib.handoff= is added)\n"
	      "  --region-size SIZE    RAM it gets, e.g. 64M (default 128M)\n"
	      "  --region-start ADDR   place the region here instead of choosing\n"
	      "  --dry-run             show the plan, load nothing\n", out);
}

struct jump_opts {
	const char *kernel, *initrd, *append;
	uint64_t region_bytes, region_start;
	bool dry_run;
};

static int parse_jump_opts(int argc, char **argv, struct jump_opts *o)
{
	static const struct option longopts[] = {
		KHIB_TOOL_KERNEL_OPTIONS,
		{ "dry-run", no_argument, NULL, 'n' },
		{}
	};
	int c;

	*o = (struct jump_opts){ .append = "", .region_bytes = DEFAULT_REGION_BYTES };
	optind = 1;
	while ((c = khib_tool_getopt(argc, argv, longopts)) != -1) {
		switch (c) {
		case 'k': o->kernel = optarg; break;
		case 'i': o->initrd = optarg; break;
		case 'a': o->append = optarg; break;
		case 'n': o->dry_run = true; break;
		case 's':
			if (khib_tool_parse_region_size(optarg, &o->region_bytes) < 0)
				return -EINVAL;
			break;
		case 'S':
			if (khib_parse_size(optarg, &o->region_start) < 0) {
				khib_err("--region-start '%s': not an address", optarg);
				return -EINVAL;
			}
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc) {
		khib_err("jump: unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (!o->kernel) {
		khib_err("jump: --kernel is required (see 'khib jump --help')");
		return -EINVAL;
	}
	return 0;
}

static void print_plan(const struct khib_jump_plan *p)
{
	for (size_t i = 0; i < p->nr_segments; i++)
		printf("segment %zu: 0x%09" PRIx64 "-0x%09" PRIx64 " (%zu bytes of data)\n", i,
		       p->seg[i].mem, p->seg[i].mem + p->seg[i].memsz, p->seg[i].bufsz);
	printf("entry: 0x%" PRIx64 ", handoff: 0x%" PRIx64 "\n", p->entry, p->handoff_paddr);
}

static int load_and_jump(const struct jump_opts *o, const struct khib_jump_config *cfg)
{
	struct khib_jump_plan plan;
	double t0;
	int r;

	r = khib_jump_plan_build(cfg, &plan);
	if (r < 0)
		return khib_tool_plan_failed(r, o->kernel, cfg);
	if (o->dry_run) {
		print_plan(&plan);
		khib_jump_plan_release(&plan);
		return 0;
	}
	r = khib_kexec_load_plan(&plan);
	khib_jump_plan_release(&plan);
	if (r == -EINVAL)
		return khib_err_errno(r, "loading '%s': the running kernel refused a preserve-context "
				      "load (CONFIG_KEXEC_JUMP missing?)", o->kernel);
	if (r < 0)
		return khib_err_errno(r, "loading '%s' with kexec_load", o->kernel);

	khib_info("jumping to '%s' in region 0x%" PRIx64 "-0x%" PRIx64 " (%" PRIu64 " MiB)", o->kernel,
		  cfg->region_start, cfg->region_start + cfg->region_bytes, cfg->region_bytes >> 20);
	t0 = khib_tool_now_s();
	r = khib_kexec_jump();
	/* 6.1 allows one jump per load; never leave a used image loaded. */
	int u = khib_kexec_unload();
	if (r < 0)
		return khib_err_errno(r, "jumping to '%s'", o->kernel);
	khib_info("back in this kernel after %.3f s away", khib_tool_now_s() - t0);
	if (u < 0)
		return khib_err_errno(u, "unloading the used kexec image");
	return 0;
}

static int jump_run(int argc, char **argv)
{
	struct jump_opts o;
	struct khib_memmap fw;
	struct khib_jump_config cfg = { 0 };
	_cleanup_free_ char *kernel = NULL, *initrd = NULL;
	size_t kernel_bytes, initrd_bytes = 0;
	int r;

	if (parse_jump_opts(argc, argv, &o) < 0)
		return EXIT_USAGE;
	if (!o.dry_run && geteuid() != 0) {
		khib_err("jump: must run as root");
		return 1;
	}
	r = khib_read_file(o.kernel, KHIB_KERNEL_FILE_MAX_BYTES, &kernel, &kernel_bytes);
	if (r < 0)
		return khib_err_errno(r, "reading kernel '%s'", o.kernel);
	if (o.initrd && (r = khib_read_file(o.initrd, KHIB_KERNEL_FILE_MAX_BYTES, &initrd,
					    &initrd_bytes)) < 0)
		return khib_err_errno(r, "reading initramfs '%s'", o.initrd);
	char reason[KHIB_REASON_MAX] = "";

	if (khib_jump_config_read(o.region_bytes, o.region_start, &fw, &cfg, reason) < 0) {
		khib_err("%s", reason);
		return 1;
	}
	cfg.kernel = kernel;
	cfg.kernel_bytes = kernel_bytes;
	cfg.initrd = initrd;
	cfg.initrd_bytes = initrd_bytes;
	cfg.cmdline = o.append;
	return load_and_jump(&o, &cfg);
}

const struct khib_command khib_cmd_jump = {
	.name = "jump",
	.summary = "run another kernel in a region of RAM and come back",
	.run = jump_run,
	.help = jump_help,
};

static void jump_back_help(FILE *out)
{
	fputs("Usage: khib jump-back [--dry-run]\n"
	      "\n"
	      "In a kernel started by 'khib jump' (or 'khib hibernate'): return to the\n"
	      "kernel that jumped here.  The handoff block is found through\n"
	      "khib.handoff= on the kernel command line.\n", out);
}

/* Find and decode the handoff block this kernel was given. */
static int read_handoff(struct khib_handoff *h)
{
	char reason[KHIB_REASON_MAX] = "";
	int r = khib_handoff_find("/proc/cmdline", KHIB_DEVMEM, h, reason);

	if (r == -ENOENT) {
		khib_err("no khib.handoff= on the kernel command line: this kernel was not started by khib");
		return 1;
	}
	if (r < 0 && reason[0]) {
		khib_err("reading the handoff block named by khib.handoff=: %s", reason);
		return 1;
	}
	if (r < 0)
		return khib_err_errno(r, "reading the handoff block named by khib.handoff=");
	return 0;
}

static int jump_back_run(int argc, char **argv)
{
	struct khib_handoff h;
	bool dry_run = argc == 2 && !strcmp(argv[1], "--dry-run");
	int r;

	if (argc > 1 && !dry_run) {
		khib_err("jump-back: unexpected argument '%s'", argv[1]);
		return EXIT_USAGE;
	}
	if (read_handoff(&h))
		return 1;
	khib_info("returning to %s at 0x%" PRIx64, h.release, h.jump_back_entry);
	if (dry_run)
		return 0;
	r = khib_kexec_load_jump_back(&h, KHIB_DEVMEM);
	if (r < 0)
		return khib_err_errno(r, "loading the jump back to 0x%" PRIx64, h.jump_back_entry);
	r = khib_kexec_jump();
	/* Only reached if the jump failed, or if that kernel jumped here again. */
	return r < 0 ? khib_err_errno(r, "jumping back") : 0;
}

const struct khib_command khib_cmd_jump_back = {
	.name = "jump-back",
	.summary = "return from a kernel started by 'khib jump'",
	.run = jump_back_run,
	.help = jump_back_help,
};
