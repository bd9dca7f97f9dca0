/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib resume: in the initramfs of a normal boot (R0), before any file
 * system is mounted read-write.  Finds the image (khib.resume= on the
 * kernel command line, or --image), checks it completely — commit record,
 * the kernel and machine it belongs to, every checksum — and kexecs the
 * restore kernel (R) into the region the image recorded.
 *
 *   no image configured or none on the target: exit 0, silently;
 *   an invalid image: one line saying why, the image is invalidated so it
 *   is never tried again, exit 1; the boot goes on either way;
 *   a valid image: does not return.
 *
 * Nothing is written anywhere before that decision except the invalidation.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "handoff.h"
#include "image.h"
#include "kexec.h"
#include "khib.h"
#include "preflight.h"
#include "restore.h"
#include "sysinfo.h"
#include "util.h"

#define DEFAULT_KERNEL "/usr/lib/khib/vmlinuz"
#define DEFAULT_INITRD "/usr/lib/khib/initrd.img"
#define MAX_FILE_BYTES (512u << 20)

enum resume_method { METHOD_AUTO, METHOD_SNAPSHOT, METHOD_KEXEC };

struct resume_opts {
	enum resume_method method;
	const char *image, *kernel, *initrd, *append;
	unsigned threads;
	bool dry_run;
	bool image_from_config;	/* no --image: khib.resume= first */
};

static void resume_help(FILE *out)
{
	fputs("Usage: khib resume [OPTIONS]\n"
	      "\n"
	      "Resume a hibernated system if a valid image exists; otherwise return\n"
	      "and let the boot continue.  Meant for the initramfs, before any file\n"
	      "system is mounted read-write.\n"
	      "\n"
	      "  --image PATH     the image (default: khib.resume= on the kernel command\n"
	      "                   line: a device path, UUID=... or PARTUUID=...; else\n"
	      "                   target= in /etc/khib.conf or $KHIB_CONFIG)\n"
	      "  --kernel FILE    restore kernel (default " DEFAULT_KERNEL ")\n"
	      "  --initrd FILE    its initramfs (default " DEFAULT_INITRD ")\n"
	      "  --append ARGS    restore kernel command line, instead of the default\n"
	      "                   'console=ttyS0 nr_cpus=1' (khib.handoff= is added)\n"
	      "  --threads N      decompression threads in the restore kernel\n"
	      "  --method M       snapshot: through this kernel's /dev/snapshot, no second\n"
	      "                   kernel; kexec: through khib's restore kernel; auto\n"
	      "                   (default): snapshot where this kernel and its free\n"
	      "                   memory allow, else kexec, saying why\n"
	      "  --dry-run        check the image, resume nothing, change nothing\n"
	      "\n"
	      "With 'noresume' or 'khib.noresume' on the kernel command line an image\n"
	      "is discarded, not resumed: this boot will change its file systems.\n"
	      "\n"
	      "Exit status: 0 no image (or discarded), 1 an invalid image was refused (and\n"
	      "invalidated), 2 bad usage; a valid image does not return.\n", out);
}

static int parse_opts(int argc, char **argv, const struct khib_config *cf,
		      struct resume_opts *o)
{
	static const struct option longopts[] = {
		{ "image", required_argument, NULL, 'I' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "append", required_argument, NULL, 'a' },
		{ "threads", required_argument, NULL, 'j' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "method", required_argument, NULL, 'm' },
		{}
	};
	int c;

	*o = (struct resume_opts){
		.kernel = cf->kernel[0] ? cf->kernel : DEFAULT_KERNEL,
		.initrd = cf->initrd[0] ? cf->initrd : DEFAULT_INITRD,
		.append = cf->append[0] ? cf->append : "console=ttyS0 nr_cpus=1",
		.image = cf->target[0] ? cf->target : NULL,
		.threads = cf->threads,
	};
	bool image_given = false;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'I': o->image = optarg; image_given = true; break;
		case 'k': o->kernel = optarg; break;
		case 'i': o->initrd = optarg; break;
		case 'a': o->append = optarg; break;
		case 'n': o->dry_run = true; break;
		case 'm':
			if (!strcmp(optarg, "auto"))
				o->method = METHOD_AUTO;
			else if (!strcmp(optarg, "snapshot"))
				o->method = METHOD_SNAPSHOT;
			else if (!strcmp(optarg, "kexec"))
				o->method = METHOD_KEXEC;
			else {
				khib_err("--method '%s': expected auto, snapshot or kexec", optarg);
				return -EINVAL;
			}
			break;
		case 'j':
			if (khib_tool_parse_threads(optarg, &o->threads) < 0)
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc) {
		khib_err("resume: unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	/* khib.resume= on the command line beats the config file's target. */
	o->image_from_config = !image_given;
	return 0;
}

/* khib.resume= from the kernel command line; 0 and an empty path when
 * nothing is configured. */
static int configured_image(char *path, size_t n)
{
	int r = khib_restore_configured_device("/proc/cmdline", path, n);

	if (r == -ENOENT) {
		path[0] = '\0';
		return 0;
	}
	if (r < 0)
		return khib_err_errno(r, "reading khib.resume= from the kernel command line");
	return 0;
}

/* `noresume` (the kernel's own switch) or `khib.noresume` on the kernel
 * command line: this boot goes on without the image.  It will mount and
 * change file systems the image still describes, so the image must die
 * now: resuming it on a later boot would corrupt them. */
static bool noresume_requested(void)
{
	_cleanup_free_ char *cmdline = NULL;
	size_t len;

	if (khib_read_file("/proc/cmdline", 1 << 16, &cmdline, &len) < 0)
		return false;
	return khib_cmdline_has(cmdline, "noresume") || khib_cmdline_has(cmdline, "khib.noresume");
}

/* Refuse the image: say why, and make sure it is never tried again
 * (except with --dry-run, which changes nothing). */
static int refuse(const struct resume_opts *o, const char *path, struct khib_target *t, int err,
		  const char *reason)
{
	int q = o->dry_run ? 0 : khib_image_invalidate(t);

	khib_err("image on '%s' refused: %s%s%s", path, reason[0] ? reason : strerror(-err),
		 o->dry_run ? " (dry run: left as it is)" :
		 q < 0 ? "; invalidating it failed: " : "; invalidated",
		 q < 0 ? strerror(-q) : "");
	return 1;
}

/* Load the restore kernel into the image's region and go. */
static int start_restorer(const struct resume_opts *o, const char *path,
			  const struct khib_image_info *info, struct khib_jump_config *cfg)
{
	_cleanup_free_ char *kernel = NULL, *initrd = NULL;
	struct khib_jump_plan plan;
	uint64_t capacity;
	const char *what;
	int r;

	if ((r = khib_read_file(o->kernel, MAX_FILE_BYTES, &kernel, &cfg->kernel_bytes)) < 0)
		return khib_err_errno(r, "reading the restore kernel '%s'", o->kernel);
	if ((r = khib_read_file(o->initrd, MAX_FILE_BYTES, &initrd, &cfg->initrd_bytes)) < 0)
		return khib_err_errno(r, "reading the restore initramfs '%s'", o->initrd);
	if ((r = khib_preflight_target(path, &cfg->handoff, &capacity, &what)) < 0)
		return khib_err_errno(r, "image '%s': %s", path, what);
	cfg->kernel = kernel;
	cfg->initrd = initrd;
	cfg->cmdline = o->append;
	cfg->no_return = true;
	cfg->handoff.flags = KHIB_HANDOFF_RESTORE;
	cfg->handoff.threads = o->threads;
	if ((r = khib_jump_plan_build(cfg, &plan)) < 0)
		return khib_err_errno(r, "planning the restore kernel in region 0x%" PRIx64 "+%" PRIu64
				      " MiB", cfg->region_start, cfg->region_bytes >> 20);
	r = khib_kexec_load_plan(&plan);
	khib_jump_plan_release(&plan);
	if (r < 0)
		return khib_err_errno(r, "loading the restore kernel '%s'", o->kernel);
	khib_info("resuming %s from '%s': %" PRIu64 " MiB saved, %" PRIu64 " MiB stored",
		  info->kernel.uts_release, path, info->saved_pages >> 8, info->data_bytes >> 20);
	r = khib_kexec_jump();
	return khib_err_errno(r, "starting the restore kernel");
}

static int resume_run(int argc, char **argv)
{
	struct resume_opts o;
	struct khib_config cf;
	struct khib_target *t = NULL;
	struct khib_reader *rd = NULL;
	struct khib_memmap fw;
	struct khib_jump_config cfg = { 0 };
	char path[PATH_MAX] = "", reason[KHIB_REASON_MAX] = "";
	const char *what;
	int r;

	if (khib_tool_load_config(&cf) < 0)
		return 1;
	if (parse_opts(argc, argv, &cf, &o) < 0)
		return EXIT_USAGE;
	if (o.image_from_config && configured_image(path, sizeof(path)))
		return 1;
	if ((!o.image_from_config || !path[0]) && o.image)
		snprintf(path, sizeof(path), "%s", o.image);
	if (!path[0])
		return 0; /* hibernation is not configured */
	if (geteuid() != 0) {
		khib_err("resume: must run as root");
		return 1;
	}
	r = khib_target_open(path, o.dry_run ? 0 : KHIB_TARGET_WRITE, &t);
	if (r < 0)
		return khib_err_errno(r, "opening the image '%s'", path);
	r = khib_reader_open(t, 0, &rd, reason);
	if (r == -ENODATA) {
		khib_target_free(t);
		return 0; /* no image: the normal case of a normal boot */
	}
	if (r < 0)
		goto refused;
	if (noresume_requested()) {
		r = o.dry_run ? 0 : khib_image_invalidate(t);
		if (r < 0)
			khib_err_errno(r, "noresume: invalidating the image on '%s'", path);
		else
			khib_info("noresume on the kernel command line: image on '%s' %s", path,
				  o.dry_run ? "would be discarded (dry run)" : "discarded");
		goto out;
	}
	if ((r = khib_memmap_read_firmware("/sys/firmware/memmap", &fw)) < 0) {
		khib_err_errno(r, "reading the firmware memory map; not resuming");
		goto out;
	}
	/* The snapshot path reads every chunk anyway before it changes
	 * anything; the kexec path (and a dry run) checks them all here. */
	bool verified = o.method == METHOD_KEXEC || o.dry_run;
	if ((r = khib_restore_check(rd, &fw, o.threads, verified, reason)) < 0)
		goto refused;

	const struct khib_image_info *info = khib_reader_info(rd);
	r = khib_sysinfo_jump_config(info->resume.region_size, info->resume.region_start, &fw, &cfg,
				     &what);
	if (r < 0) {
		khib_err_errno(r, "%s", what);
		goto out;
	}
	if (cfg.low_start != info->resume.lowmem_start || cfg.low_bytes != info->resume.lowmem_size) {
		r = -ESTALE;
		snprintf(reason, sizeof(reason), "low memory differs from the hibernated machine's");
		goto refused;
	}
	if (o.dry_run) {
		khib_info("image on '%s' is valid: %s, %" PRIu64 " MiB saved", path,
			  info->kernel.uts_release, info->saved_pages >> 8);
		r = 0;
		goto out;
	}
	if (o.method != METHOD_KEXEC) {
		r = khib_resume_snapshot(rd, t, path, o.method == METHOD_SNAPSHOT, &verified, reason);
		if (r == KHIB_RESUME_BAD_IMAGE) {
			r = -EBADMSG;
			goto refused;
		}
		if (r != KHIB_RESUME_FALLBACK || o.method == METHOD_SNAPSHOT) {
			r = 1;
			goto out;
		}
	}
	if (!verified && (r = khib_reader_verify(rd, o.threads, reason)) < 0)
		goto refused;
	r = start_restorer(&o, path, info, &cfg);
	goto out;

refused:
	r = refuse(&o, path, t, r, reason);
out:
	khib_reader_free(rd);
	khib_target_free(t);
	return r ? 1 : 0;
}

const struct khib_command khib_cmd_resume = {
	.name = "resume",
	.summary = "resume from a valid image, or return and let the boot go on",
	.run = resume_run,
	.help = resume_help,
};
