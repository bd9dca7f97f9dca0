/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib resume: in the initramfs of a normal boot (R0), before any file
 * system is mounted read-write.  Finds the image (khib.resume= on the
 * kernel command line, or --image), checks it completely — commit record,
 * the kernel and machine it belongs to, every checksum — and kexecs the
 * restore kernel (R) into the region the image recorded.
 *
 *   no image configured or none on the target: exit 0, silently;
 *   a valid image: does not return;
 *   an image it does not resume, for any reason (a bad image, noresume, a
 *   restore kernel that cannot be loaded, ...): one line saying why, and
 *   the image is invalidated durably, so no later boot resumes it over file
 *   systems this boot changes (lib/flows/resume.h has the rule); exit 1 (0 for
 *   noresume); the boot goes on;
 *   that invalidation failed: exit 3, and the boot must stop.
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

#include "blockmap.h"
#include "config.h"
#include "crypt.h"
#include "fileio.h"
#include "handoff.h"
#include "image.h"
#include "jump.h"
#include "keyslot.h"
#include "kexec.h"
#include "keys.h"
#include "khib.h"
#include "memmap_file.h"
#include "preflight.h"
#include "restore.h"
#include "resume.h"
#include "sysinfo.h"
#include "targetdev.h"
#include "util.h"

/* How long a target map's disk may take to appear: 10 s. */
#define MAP_WAIT_TRIES 100

/* A found image was not resumed and could not be invalidated. */
#define EXIT_STUCK 3

struct resume_opts {
	enum khib_resume_method method;
	const char *image, *kernel, *initrd, *append, *key_file;
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
	      "  --kernel FILE    restore kernel (default " KHIB_DEFAULT_KERNEL ")\n"
	      "  --initrd FILE    its initramfs (default " KHIB_DEFAULT_INITRD ")\n"
	      "  --append ARGS    restore kernel command line, instead of the default\n"
	      "                   '" KHIB_DEFAULT_APPEND "'\n"
	      "                   (khib.handoff= is added)\n"
	      "  --threads N      decompression threads in the restore kernel\n"
	      "  --method M       snapshot: through this kernel's /dev/snapshot, no second\n"
	      "                   kernel; kexec: through khib's restore kernel; auto\n"
	      "                   (default): snapshot for up to 512 MiB of pages to\n"
	      "                   restore, kexec for more (it writes each page once),\n"
	      "                   each falling back to the other where it cannot be\n"
	      "                   taken, saying why (default: khib.method= on the\n"
	      "                   kernel command line, else resume-method= in\n"
	      "                   /etc/khib.conf)\n"
	      "  --dry-run        check the image, resume nothing, change nothing\n"
	      "  --key-file FILE  the key file an encrypted image was written for (default:\n"
	      "                   key-file= in /etc/khib.conf); with one, an image in\n"
	      "                   clear is refused as forged\n"
	      "\n"
	      "With 'noresume' or 'khib.noresume' on the kernel command line an image\n"
	      "is discarded, not resumed: this boot will change its file systems.\n"
	      "\n"
	      "An image that is found and not resumed, for whatever reason, is\n"
	      "invalidated before this command returns: the boot that goes on changes\n"
	      "its file systems.\n"
	      "\n"
	      "Exit status: 0 no image (or discarded), 1 an image was not resumed (and\n"
	      "is invalidated), 2 bad usage, 3 an image was not resumed and could not\n"
	      "be invalidated: stop the boot; a valid image does not return.\n", out);
}

static int parse_method(const char *s, enum khib_resume_method *ret)
{
	if (!strcmp(s, "auto"))
		*ret = KHIB_RESUME_AUTO;
	else if (!strcmp(s, "snapshot"))
		*ret = KHIB_RESUME_SNAPSHOT;
	else if (!strcmp(s, "kexec"))
		*ret = KHIB_RESUME_KEXEC;
	else
		return -EINVAL;
	return 0;
}

/* khib.method= on the kernel command line beats the config file: chosen at
 * the boot loader for one boot.  A value that is not a method must not stop
 * the resume (the image would stay valid under a boot that goes on), so it
 * is named and ignored. */
static void cmdline_method(enum khib_resume_method *method)
{
	_cleanup_free_ char *cmdline = NULL;
	char val[16] = "";
	size_t len;
	int r;

	if (khib_read_file("/proc/cmdline", 1 << 16, &cmdline, &len) < 0)
		return;
	r = khib_cmdline_get(cmdline, "khib.method", val, sizeof(val));
	if (r == -ENOENT)
		return;
	if (r < 0 || parse_method(val, method) < 0)
		khib_warn("khib.method=%s on the kernel command line: expected auto, snapshot or "
			  "kexec; ignored", r < 0 ? "(too long)" : val);
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
		{ "key-file", required_argument, NULL, 'K' },
		{}
	};
	int c;

	*o = (struct resume_opts){
		.image = cf->target[0] ? cf->target : NULL,
		.key_file = cf->key_file[0] ? cf->key_file : NULL,
		.threads = cf->threads,
	};
	khib_tool_kernel_files(cf, &o->kernel, &o->initrd, &o->append);
	/* The config's value was checked when it was read. */
	if (cf->resume_method[0])
		parse_method(cf->resume_method, &o->method);
	cmdline_method(&o->method);
	bool image_given = false;
	optind = 1;
	while ((c = khib_tool_getopt(argc, argv, longopts)) != -1) {
		switch (c) {
		case 'I':
			if (!*optarg) {
				khib_err("--image: an empty path");
				return -EINVAL;
			}
			o->image = optarg;
			image_given = true;
			break;
		case 'k': o->kernel = optarg; break;
		case 'i': o->initrd = optarg; break;
		case 'a': o->append = optarg; break;
		case 'K': o->key_file = optarg; break;
		case 'n': o->dry_run = true; break;
		case 'm':
			if (parse_method(optarg, &o->method) < 0) {
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

/* The running system, as khib_resume() sees it.  SECURITY: key is secret
 * memory, wiped when resume_run() ends. */
struct resume_ctx {
	const struct resume_opts *o;
	const char *path;
	struct khib_keyring keys;	/* what may open an encrypted image */
	const struct khib_protector *used;	/* the one that opened it */
	struct khib_image_key *key;	/* the image's, once unwrapped */
	uint8_t uuid[16];
	/* Where the image lies when path cannot be resolved here (a file on
	 * a root not yet unlocked or mounted): the initramfs's target map. */
	struct khib_blockmap map;
	bool have_map;
};

/* The data key with this boot's keys (a passphrase asked for on the
 * console, stdin); kept for the restore kernel. */
static int op_key(void *ctx, const uint8_t uuid[16], const uint8_t *area, uint32_t n_slots,
		  uint8_t dk[32], char *reason)
{
	struct resume_ctx *c = ctx;
	int r = khib_tool_open_key(&c->keys, STDIN_FILENO, uuid, area, n_slots, dk, &c->used,
				   reason);

	if (r < 0)
		return r;
	memcpy(c->key->dk, dk, sizeof(c->key->dk));
	memcpy(c->uuid, uuid, sizeof(c->uuid));
	return 0;
}

static bool op_encrypts(void *ctx)
{
	const struct resume_ctx *c = ctx;

	return !khib_tool_keyring_empty(&c->keys);
}

/* An image a TPM key opened is never accepted again once its restore
 * starts. */
static int op_consume(void *ctx, char *reason)
{
	const struct resume_ctx *c = ctx;

	if (!c->used || c->used->type != KHIB_PROTECTOR_TPM2)
		return 0;
	return khib_tool_tpm2_consume(c->used, reason);
}

static bool op_noresume(void *ctx)
{
	(void)ctx;
	return noresume_requested();
}

static int op_firmware_map(void *ctx, struct khib_memmap *ret)
{
	(void)ctx;
	return khib_memmap_read_firmware("/sys/firmware/memmap", ret);
}

static int op_check(void *ctx, struct khib_reader *rd, const struct khib_memmap *fw, bool verify,
		    char *reason)
{
	const struct resume_ctx *c = ctx;
	int r = khib_restore_check(rd, fw, c->o->threads, false, reason);

	/* Before the long part (every chunk): a file system used since makes
	 * the image worthless whatever its chunks say. */
	if (r >= 0)
		r = khib_tool_check_file_systems(rd, reason);
	if (r >= 0 && verify)
		r = khib_reader_verify(rd, c->o->threads, reason);
	return r;
}

static int op_jump_config(void *ctx, const struct khib_image_info *info, struct khib_memmap *fw,
			  struct khib_jump_config *ret, char *reason)
{
	(void)ctx;
	return khib_jump_config_read(info->resume.region_bytes, info->resume.region_start, fw, ret,
				     reason);
}

static int op_snapshot(void *ctx, struct khib_reader *rd, struct khib_target *t, bool forced,
		       bool *verified, char *reason)
{
	const struct resume_ctx *c = ctx;

	return khib_resume_snapshot(rd, t, c->path, c->o->threads, forced, verified, reason);
}

static int op_verify(void *ctx, struct khib_reader *rd, uint32_t unfinished, char *reason)
{
	const struct resume_ctx *c = ctx;

	khib_info("a restore of this image began and did not finish (%" PRIu32 " so far): "
		  "checking every chunk before the next", unfinished);
	return khib_reader_verify(rd, c->o->threads, reason);
}

/* Load the restore kernel into the image's region and go. */
static int restorer(struct resume_ctx *c, const struct khib_image_info *info,
		    struct khib_jump_config *cfg, char *reason)
{
	const struct resume_opts *o = c->o;
	_cleanup_free_ char *kernel = NULL, *initrd = NULL;
	char cmdline[KHIB_PAGE_SIZE];
	uint8_t *keypage = NULL;
	struct khib_jump_plan plan;
	_cleanup_(khib_preflight_release) struct khib_preflight pf = { 0 };
	int r;

	r = khib_read_file(o->kernel, KHIB_KERNEL_FILE_MAX_BYTES, &kernel, &cfg->kernel_bytes);
	if (r < 0)
		return khib_fail(reason, r, "reading the restore kernel '%s': %s", o->kernel,
				 strerror(-r));
	r = khib_read_file(o->initrd, KHIB_KERNEL_FILE_MAX_BYTES, &initrd, &cfg->initrd_bytes);
	if (r < 0)
		return khib_fail(reason, r, "reading the restore initramfs '%s': %s", o->initrd,
				 strerror(-r));
	char why[KHIB_REASON_MAX] = "";
	r = c->have_map ? khib_preflight_map(&c->map, &cfg->handoff, &pf, why) :
			  khib_preflight_target(c->path, &cfg->handoff, &pf, why);
	if (r < 0)
		return khib_fail(reason, r, "the image's device: %s", why);
	cfg->extmap = pf.extmap;
	cfg->extmap_bytes = pf.extmap_bytes;
	cfg->kernel = kernel;
	cfg->initrd = initrd;
	cfg->cmdline = khib_tool_kernel_cmdline(o->append, cfg->handoff.target_name, cmdline,
						sizeof(cmdline));
	cfg->no_return = true;
	cfg->handoff.flags = KHIB_HANDOFF_RESTORE;
	cfg->handoff.threads = o->threads;
	if (info->encryption.algorithm) {
		/* The restore kernel decrypts with the key unwrapped here. */
		c->key->aead = info->encryption.algorithm;
		if (!(keypage = khib_secret_alloc(KHIB_KEYPAGE_BYTES)))
			return khib_fail(reason, -ENOMEM, "no memory for the key page");
		khib_keypage_encode(c->key, c->uuid, keypage);
		cfg->key_page = keypage;
	}
	r = khib_jump_plan_build(cfg, &plan);
	khib_secret_free(keypage);
	if (r < 0)
		return khib_fail(reason, r, "planning the restore kernel in region 0x%" PRIx64 "+%"
				 PRIu64 " MiB: %s", cfg->region_start, cfg->region_bytes >> 20,
				 strerror(-r));
	r = khib_kexec_load_plan(&plan);
	khib_jump_plan_release(&plan);
	if (r < 0)
		return khib_fail(reason, r, "loading the restore kernel '%s': %s", o->kernel,
				 strerror(-r));
	khib_info("resuming %s from '%s': %" PRIu64 " MiB saved, %" PRIu64 " MiB stored",
		  info->kernel.uts_release, c->path, info->saved_pages >> 8, info->data_bytes >> 20);
	r = khib_kexec_jump();
	return khib_fail(reason, r, "starting the restore kernel: %s", strerror(-r));
}

static int op_restorer(void *ctx, const struct khib_image_info *info,
		       struct khib_jump_config *cfg, bool forced, char *reason)
{
	int r = restorer(ctx, info, cfg, reason);

	if (!forced)
		khib_info("%s: using the /dev/snapshot path", reason);
	return r;
}

static const struct khib_resume_ops resume_ops = {
	.noresume = op_noresume,
	.firmware_map = op_firmware_map,
	.check = op_check,
	.jump_config = op_jump_config,
	.snapshot = op_snapshot,
	.verify = op_verify,
	.restorer = op_restorer,
	.key = op_key,
	.encrypts = op_encrypts,
	.consume = op_consume,
};

/* One line for what happened to a found image; the exit status. */
static int report(const struct resume_opts *o, const char *path,
		  const struct khib_resume_result *res)
{
	const char *fate = o->dry_run ? " (dry run: left as it is)" : "; invalidated";

	switch (res->outcome) {
	case KHIB_RESUME_NONE:
		return 0;
	case KHIB_RESUME_VALID:
		khib_info("image on '%s' is valid: %s", path, res->release);
		return 0;
	case KHIB_RESUME_DISCARDED:
		khib_info("noresume on the kernel command line: image on '%s' %s", path,
			  o->dry_run ? "would be discarded (dry run)" : "discarded");
		return 0;
	case KHIB_RESUME_REFUSED:
		khib_err("image on '%s' refused: %s%s", path, res->reason, fate);
		return 1;
	case KHIB_RESUME_FAILED:
		khib_err("image on '%s' not resumed: %s%s", path, res->reason,
			 o->dry_run ? " (dry run: left as it is)" : "; invalidated, so this boot "
			 "may go on");
		return 1;
	case KHIB_RESUME_LOCKED:
		khib_err("image on '%s' not resumed: %s; kept: a later boot resumes it unless this "
			 "one changes its file systems", path, res->reason);
		return 1;
	case KHIB_RESUME_STUCK:
		khib_err("image on '%s' not resumed (%s), and invalidating it failed: %s; "
			 "do not mount its file systems", path, res->reason,
			 strerror(-res->invalidate_err));
		return EXIT_STUCK;
	}
	return 1;
}

/*
 * The initramfs's target map for path, when path is not there to resolve
 * (a file on a root file system not yet unlocked or mounted, an LV not yet
 * activated).  0 and c->have_map false when there is none for it.
 */
static int load_map(struct resume_ctx *c)
{
	_cleanup_free_ char *text = NULL;
	char target[PATH_MAX], reason[KHIB_REASON_MAX];
	int r;

	if (access(c->path, F_OK) == 0)
		return 0;
	r = khib_read_file(KHIB_TARGET_MAP, 1 << 24, &text, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return khib_err_errno(r, "reading the target map '%s'", KHIB_TARGET_MAP);
	if (khib_targetmap_parse(text, &c->map, target, sizeof(target), reason) < 0) {
		khib_err("target map '%s': %s", KHIB_TARGET_MAP, reason);
		return 1;
	}
	if (strcmp(target, c->path)) {
		khib_blockmap_release(&c->map);
		return 0;
	}
	c->have_map = true;
	return 0;
}

/* Open the image by the map; its disk may show up a little after udev
 * settled (an NVMe namespace, a USB disk). */
static int open_by_map(struct resume_ctx *c, unsigned flags, struct khib_target **ret,
		       char *reason)
{
	int r;

	for (int tries = 0;; tries++) {
		r = khib_blockmap_open_map(&khib_blockenv_system, &c->map, flags, ret, NULL,
					   reason);
		if (r != -ENODEV || tries == MAP_WAIT_TRIES)
			return r;
		usleep(100 * 1000);
	}
}

static int resume_run(int argc, char **argv)
{
	struct resume_opts o;
	struct khib_config cf;
	struct khib_target *t = NULL;
	struct khib_resume_result res;
	char path[PATH_MAX] = "";
	struct resume_ctx ctx = { .o = &o, .path = path };
	int r;

	/* A resume makes no key: libsodium need not wait for the random
	 * generator of a kernel that booted a second ago. */
	khib_crypt_init_nonblocking();
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
	if (khib_tool_keyring_load(&cf, &ctx.keys) < 0)
		return 1;
	ctx.keys.key_file = o.key_file;
	if (!(ctx.key = khib_secret_alloc(sizeof(*ctx.key)))) {
		khib_tool_keyring_release(&ctx.keys);
		return khib_err_errno(-ENOMEM, "resume");
	}
	memset(ctx.key, 0, sizeof(*ctx.key));
	char why[KHIB_REASON_MAX];
	if (load_map(&ctx)) {
		khib_secret_free(ctx.key);
		khib_tool_keyring_release(&ctx.keys);
		return 1;
	}
	if (ctx.have_map)
		r = open_by_map(&ctx, o.dry_run ? 0 : KHIB_TARGET_WRITE, &t, why);
	else
		r = khib_blockmap_open(path, o.dry_run ? 0 : KHIB_TARGET_WRITE, &t, why);
	if (r >= 0) {
		struct khib_resume_params rp = {
			.method = o.method,
			.stream_max_pages = KHIB_RESUME_STREAM_MAX_PAGES,
			.dry_run = o.dry_run,
		};
		khib_resume(t, &rp, &resume_ops, &ctx, &res);
		khib_target_free(t);
	}
	khib_secret_free(ctx.key);
	khib_tool_keyring_release(&ctx.keys);
	khib_blockmap_release(&ctx.map);
	if (r < 0) {
		khib_err("opening the image '%s': %s", path, why);
		return 1;
	}
	return report(&o, path, &res);
}

const struct khib_command khib_cmd_resume = {
	.name = "resume",
	.summary = "resume from a valid image, or return and let the boot go on",
	.run = resume_run,
	.hashes_images = true,
	.help = resume_help,
};
