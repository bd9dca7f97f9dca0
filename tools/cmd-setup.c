/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib setup [--dry-run] [--size SIZE] [TARGET]: make this machine ready to
 * hibernate to TARGET (default: target= in khib.conf, else
 * KHIB_DEFAULT_TARGET).  A file is created or grown to this machine's worst
 * case (lib/system/sysinfo.h), allocated and made immutable (lib/system/targetfile.h); a
 * partition or LV must already hold it.  Then the target is checked as
 * khib hibernate checks it (lib/system/preflight.h), target= goes into khib.conf,
 * and the initramfs is refreshed when what it carries (the configuration,
 * the target map) changed.  Running it again changes nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "fileio.h"
#include "keys.h"
#include "khib.h"
#include "preflight.h"
#include "sysinfo.h"
#include "targetfile.h"
#include "util.h"

/* Where `khib setup` puts a file target unless told otherwise. */
#define KHIB_DEFAULT_TARGET "/var/lib/khib/image"

extern char **environ;

struct setup_opts {
	const char *target;
	uint64_t size;		/* 0: the worst case */
	bool dry_run;
};

static void setup_help(FILE *out)
{
	fputs("Usage: khib setup [--dry-run] [--size SIZE] [TARGET]\n"
	      "\n"
	      "Make this machine ready to hibernate to TARGET (default: target= in\n"
	      "/etc/khib.conf, else " KHIB_DEFAULT_TARGET "):\n"
	      "  - a file is created (or grown) to hold this machine's worst case,\n"
	      "    every page of RAM incompressible, fully allocated and immutable;\n"
	      "    a partition or LV must already be that large;\n"
	      "  - the target is checked as khib hibernate checks it;\n"
	      "  - target= is written to /etc/khib.conf (or $KHIB_CONFIG);\n"
	      "  - the initramfs is refreshed (update-initramfs -u) when what it\n"
	      "    carries changed.\n"
	      "Says what it did; run again, it changes nothing.\n"
	      "\n"
	      "  --size SIZE  make a file target SIZE bytes (K/M/G), at least the\n"
	      "               worst case: room for more RAM later\n"
	      "  --dry-run    say what would be done, change nothing\n", out);
}

static int parse_opts(int argc, char **argv, struct setup_opts *o)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{},
	};
	int c;

	*o = (struct setup_opts){ 0 };
	optind = 1;
	while ((c = khib_tool_getopt(argc, argv, opts)) != -1) {
		switch (c) {
		case 'n':
			o->dry_run = true;
			break;
		case 's':
			if (khib_parse_size(optarg, &o->size) < 0 || !o->size) {
				khib_err("setup: --size '%s': expected a size such as 2G", optarg);
				return -EINVAL;
			}
			break;
		default:
			return -EINVAL;
		}
	}
	if (argc - optind > 1) {
		khib_err("setup: unexpected argument '%s'", argv[optind + 1]);
		return -EINVAL;
	}
	if (optind < argc) {
		if (!*argv[optind]) {
			khib_err("setup: an empty TARGET");
			return -EINVAL;
		}
		o->target = argv[optind];
	}
	return 0;
}

/* The configuration names the target for other programs in other
 * directories (the initramfs hook, khib hibernate under systemd): always
 * by an absolute path. */
static int absolute(const char *path, char *buf, size_t n)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return snprintf(buf, n, "%s", path) < (int)n ? 0 : -ENAMETOOLONG;
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	return snprintf(buf, n, "%s/%s", cwd, path) < (int)n ? 0 : -ENAMETOOLONG;
}

static uint64_t mib(uint64_t bytes)
{
	return (bytes + (1 << 20) - 1) >> 20;
}

/* A file target: created, grown, allocated, immutable; *created when this
 * run made it (and must remove it if a later check refuses it). */
static int prepare_file(const struct setup_opts *o, const char *target, uint64_t need,
			bool *created)
{
	char reason[KHIB_REASON_MAX] = "", what[KHIB_REASON_MAX] = "";
	unsigned did;
	int r;

	/* Somebody's data is not khib's to grow into a target. */
	if (access(target, F_OK) == 0 && khib_preflight_owned(target, what) == -EEXIST) {
		khib_err("setup: target '%s' holds %s: not khib's to write over", target, what);
		return 1;
	}
	if ((r = khib_targetfile_prepare(target, need, o->dry_run, &did, reason)) < 0) {
		khib_err("setup: target '%s': %s", target, reason);
		return 1;
	}
	*created = did & KHIB_TARGETFILE_CREATED;
	if (!did)
		return 0;
	khib_info("setup: %s%s '%s': %" PRIu64 " MiB%s%s", o->dry_run ? "would " : "",
		  *created ? (o->dry_run ? "create" : "created") :
		  did & KHIB_TARGETFILE_GROWN ? (o->dry_run ? "grow" : "grew") :
		  did & KHIB_TARGETFILE_FILLED ? (o->dry_run ? "allocate" : "allocated") :
		  (o->dry_run ? "pin" : "pinned"), target, mib(need),
		  did & (KHIB_TARGETFILE_CREATED | KHIB_TARGETFILE_GROWN | KHIB_TARGETFILE_FILLED) ?
		  ", allocated" : "", ", immutable (chattr +i)");
	return 0;
}

/* The target as khib hibernate will see it: resolved, not mounted or swap,
 * big enough.  Fills *pf. */
static int check_target(const char *target, uint64_t need, struct khib_preflight *pf)
{
	_cleanup_free_ struct khib_handoff *h = calloc(1, sizeof(*h));
	char reason[KHIB_REASON_MAX] = "";
	int r;

	if (!h)
		return khib_err_errno(-ENOMEM, "setup");
	if ((r = khib_preflight_target(target, h, pf, reason)) < 0) {
		khib_err("setup: target '%s': %s", target, reason);
		return 1;
	}
	if (pf->capacity < need) {
		khib_err("setup: target '%s' holds %" PRIu64 " MiB; this machine's worst case is "
			 "%" PRIu64 " MiB", target, pf->capacity >> 20, mib(need));
		return 1;
	}
	return 0;
}

/* target= in the configuration file; *changed when it was not there. */
static int write_config(const struct setup_opts *o, const struct khib_config *cf,
			const char *target, bool *changed)
{
	const char *path = khib_tool_config_path();
	_cleanup_free_ char *text = NULL, *out = NULL;
	struct stat st;
	int r;

	*changed = strcmp(cf->target, target) != 0;
	if (!*changed)
		return 0;
	r = khib_read_file(path, 1 << 20, &text, NULL);
	if (r == -ENOENT)
		r = (text = strdup("")) ? 0 : -ENOMEM;
	if (r < 0)
		return khib_err_errno(r, "setup: reading '%s'", path);
	if ((r = khib_config_set(text, "target", target, &out)) < 0)
		return khib_err_errno(r, "setup: target '%s' cannot be written to '%s'", target,
				      path);
	if (!o->dry_run &&
	    (r = khib_write_file_atomic(path, out, strlen(out),
					stat(path, &st) == 0 ? st.st_mode & 07777 : 0644)) < 0)
		return khib_err_errno(r, "setup: writing '%s'", path);
	khib_info("setup: %s%s: target = %s", o->dry_run ? "would write " : "", path, target);
	return 0;
}

static int run_update_initramfs(void)
{
	char *argv[] = { "update-initramfs", "-u", NULL };
	pid_t pid;
	int r, status;

	/* Its lines go to the user as they come: it takes a while. */
	fflush(stdout);
	if ((r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ)) != 0)
		return khib_err_errno(-r, "setup: running update-initramfs");
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return khib_err_errno(-errno, "setup: waiting for update-initramfs");
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		khib_err("setup: update-initramfs -u failed (%s %d); the initramfs may not find "
			 "the image", WIFEXITED(status) ? "exit status" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return 1;
	}
	return 0;
}

/* The initramfs carries khib.conf and the target map: refresh it when
 * either changed.  pf: the target checked (NULL: a file a dry run would
 * make). */
static int refresh_initramfs(const struct setup_opts *o, const char *target,
			     const struct khib_preflight *pf, bool config_changed, bool *did)
{
	struct khib_check_result map;

	*did = false;
	if (access(KHIB_INITRAMFS_HOOK, F_OK) != 0) {
		khib_info("setup: khib's initramfs hook is not installed (" KHIB_INITRAMFS_HOOK
			  "): the boot must run khib resume itself");
		return 0;
	}
	if (pf && khib_preflight_check_map("", target, pf, &map) == KHIB_CHECK_OK &&
	    !config_changed)
		return 0;
	*did = true;
	if (o->dry_run) {
		khib_info("setup: would run update-initramfs -u");
		return 0;
	}
	khib_info("setup: running update-initramfs -u");
	if (run_update_initramfs())
		return 1;
	/* The hook wrote its map: it must be this target's now. */
	if (pf && khib_preflight_check_map("", target, pf, &map) != KHIB_CHECK_OK) {
		khib_err("setup: after update-initramfs: %s", map.text);
		return 1;
	}
	return 0;
}

static void remove_created(const char *target, bool created)
{
	if (created && khib_targetfile_remove(target) < 0)
		khib_warn("setup: could not remove '%s', which it created", target);
}

static int setup_run(int argc, char **argv)
{
	_cleanup_(khib_preflight_release) struct khib_preflight pf = { 0 };
	_cleanup_(khib_tool_keyring_release) struct khib_keyring keys = { 0 };
	struct setup_opts o;
	struct khib_config cf;
	struct khib_check_result verdict;
	char target[PATH_MAX];
	uint64_t worst, need;
	bool created = false, config_changed, refreshed, checked = false, encrypted;
	struct stat st;
	int r;

	if (parse_opts(argc, argv, &o) < 0)
		return EXIT_USAGE;
	if (khib_tool_load_config(&cf) < 0)
		return 1;
	if ((r = absolute(o.target ? o.target : cf.target[0] ? cf.target : KHIB_DEFAULT_TARGET,
			  target, sizeof(target))) < 0)
		return khib_err_errno(r, "setup: the target's absolute path");
	if (!o.dry_run && geteuid() != 0) {
		khib_err("setup: must run as root (--dry-run does not)");
		return 1;
	}
	if ((r = khib_sysinfo_image_worst_case("", &worst)) < 0)
		return khib_err_errno(r, "setup: sizing images for this machine's RAM "
				      "(/sys/firmware/memmap)");
	if (o.size && o.size < worst) {
		khib_err("setup: --size of %" PRIu64 " MiB is less than this machine's worst case of "
			 "%" PRIu64 " MiB", o.size >> 20, mib(worst));
		return 1;
	}
	need = ALIGN_UP(o.size > worst ? o.size : worst, (uint64_t)1 << 20);
	khib_info("setup: the worst case of this machine: %" PRIu64 " MiB (all its RAM, "
		  "incompressible, with the image's metadata)", mib(worst));
	/* A partition or LV is checked, not made. */
	if (!(stat(target, &st) == 0 && S_ISBLK(st.st_mode)) &&
	    prepare_file(&o, target, need, &created))
		return 1;
	/* A file a dry run would create cannot be resolved yet. */
	if (!(o.dry_run && created)) {
		if (check_target(target, need, &pf)) {
			remove_created(target, created && !o.dry_run);
			return 1;
		}
		checked = true;
		khib_info("setup: target '%s': %s", target, pf.stack);
	}
	if (write_config(&o, &cf, target, &config_changed)) {
		remove_created(target, created && !o.dry_run);
		return 1;
	}
	if (refresh_initramfs(&o, target, checked ? &pf : NULL, config_changed, &refreshed))
		return 1;
	/* What hibernation will still refuse: the keys as khib check and
	 * hibernate judge them, and memory in clear beneath disk encryption. */
	if (khib_tool_keyring_load(&cf, &keys) < 0)
		return 1;
	keys.key_file = cf.key_file[0] ? cf.key_file : NULL;
	encrypted = cf.encrypt && !khib_tool_keyring_empty(&keys);
	if (khib_check_keys(!cf.encrypt, keys.n, keys.key_file, &verdict) == KHIB_CHECK_FAIL ||
	    (checked && khib_preflight_check_crypt(target, &pf, encrypted, &verdict) ==
	     KHIB_CHECK_FAIL))
		khib_info("setup: note: %s%s%s", verdict.text, verdict.fix[0] ? "; " : "",
			  verdict.fix);
	if (!created && !config_changed && !refreshed && checked)
		khib_info("setup: nothing to change: '%s' is ready", target);
	else
		khib_info("setup: %s", o.dry_run ? "nothing changed (--dry-run)" : "done");
	return 0;
}

const struct khib_command khib_cmd_setup = {
	.name = "setup",
	.summary = "make and configure the target for this machine, refresh the initramfs",
	.run = setup_run,
	.help = setup_help,
};
