/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib check: can this machine hibernate with khib, and resume?  The
 * checks `khib hibernate` makes before it changes anything (tools/checks.h,
 * lib/system/check.h, lib/system/preflight.h), as /etc/khib.conf sets it up, and those of
 * what comes after it (the initramfs that must resume, systemd's hooks):
 * one line each, every one of them whatever fails.  Changes nothing; with
 * --round-trip it then hibernates with --test.
 */
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "checks.h"
#include "config.h"
#include "hibernate.h"
#include "jump.h"
#include "kexec.h"
#include "keys.h"
#include "khib.h"
#include "preflight.h"
#include "sysinfo.h"
#include "util.h"

#define MAX_CHECKS 12

struct check_line {
	const char *name;
	struct khib_check_result r;
};

struct report {
	struct check_line line[MAX_CHECKS];
	size_t n;
};

static void check_help(FILE *out)
{
	fputs("Usage: khib check [--json | --round-trip]\n"
	      "\n"
	      "Say whether this machine can hibernate with khib and resume: the running\n"
	      "kernel, the keys, the writer kernel, the target, the initramfs it boots\n"
	      "with and systemd's hooks, as /etc/khib.conf (or $KHIB_CONFIG) sets them\n"
	      "up.  One line each: ok, skip, warn or fail, with the fix.  Exit status 1\n"
	      "when something fails.  Changes nothing.\n"
	      "\n"
	      "  --json        one JSON object instead of the lines\n"
	      "  --round-trip  then, when nothing fails, 'khib hibernate --test': show that\n"
	      "                this kernel comes back from the writer kernel (a kernel\n"
	      "                without that fix resets the machine: save your work first)\n",
	      out);
}

static struct khib_check_result *add(struct report *rp, const char *name)
{
	struct check_line *l = &rp->line[rp->n++];

	l->name = name;
	return &l->r;
}

static void check_kernel(struct report *rp)
{
	/* Careful: the probe would unload a kernel loaded for kexec. */
	int probe = khib_tool_probe_kexec(true);

	khib_check_kexec_jump("", probe, add(rp, "kernel"));
	khib_check_kexec_allowed("", probe, add(rp, "kexec"));
	khib_check_consent("", add(rp, "hibernation"));
	khib_check_return_path("", add(rp, "return"));
}

static void check_keys(const struct khib_config *cf, const struct hib_opts *o, struct report *rp)
{
	_cleanup_(khib_tool_keyring_release) struct khib_keyring kr = { 0 };
	struct khib_check_result *r = add(rp, "keys");

	/* An error reading them is said on stderr already. */
	if (khib_tool_keyring_load(cf, &kr) < 0)
		khib_check_set(r, KHIB_CHECK_FAIL, NULL, "the keys enrolled cannot be read");
	else
		khib_check_keys(o->clear, kr.n, o->key_file, r);
}

/* The target needs the writer's region: the memory it saves is the rest. */
static void check_target(const struct hib_opts *o, struct khib_writer *w,
			 struct khib_check_result *writer, struct report *rp)
{
	struct khib_check_result *r = add(rp, "target");
	struct khib_jump_config cfg = { 0 };
	struct khib_preflight pf;
	struct khib_memmap fw;
	char reason[KHIB_REASON_MAX] = "";

	if (!o->target) {
		khib_check_set(r, KHIB_CHECK_FAIL, "set target= in /etc/khib.conf", "no target");
		return;
	}
	if (!w->region_bytes) /* the writer's files fail: this machine's default */
		w->region_bytes = khib_tool_default_region_bytes(w->threads);
	if (khib_jump_config_read(w->region_bytes, w->region_start, &fw, &cfg, reason) < 0) {
		khib_check_set(r, KHIB_CHECK_FAIL, NULL, "%s", reason);
		return;
	}
	if (khib_tool_check_placed_region(w, &cfg, writer) == KHIB_CHECK_FAIL)
		khib_check_set(r, KHIB_CHECK_SKIP, NULL, "not looked at: the writer's region fails");
	else if (khib_preflight_check("", o->target, !o->clear, false, &cfg.handoff, &pf, r) !=
		 KHIB_CHECK_FAIL)
		khib_preflight_release(&pf);
}

static void check_machine(const struct hib_opts *o, struct report *rp)
{
	_cleanup_(khib_tool_writer_release) struct khib_writer w = {
		.region_bytes = o->region_bytes, .region_start = o->region_start,
		.threads = o->threads,
	};
	struct khib_check_result *writer = add(rp, "writer"), *r;
	char note[256];

	if (khib_tool_check_writer(o->kernel, o->initrd, &w, note, sizeof(note), writer) ==
	    KHIB_CHECK_OK && note[0])
		snprintf(writer->text + strlen(writer->text), sizeof(writer->text) -
			 strlen(writer->text), " (%s)", note);
	r = add(rp, "writer-initrd");
	if (w.initrd)
		khib_check_writer_initrd(w.initrd, w.initrd_bytes, o->initrd, KHIB_SELF,
					 khib_build_stamp, r);
	else
		khib_check_set(r, KHIB_CHECK_SKIP, NULL, "not looked at: the writer's files fail");
	check_target(o, &w, writer, rp);
	khib_check_boot_initramfs("", KHIB_SELF, khib_build_stamp, o->target, add(rp, "initramfs"));
	khib_check_systemd("", add(rp, "systemd"));
}

static bool any_failed(const struct report *rp)
{
	for (size_t i = 0; i < rp->n; i++)
		if (rp->line[i].r.level == KHIB_CHECK_FAIL)
			return true;
	return false;
}

static void print_text(const struct report *rp)
{
	for (size_t i = 0; i < rp->n; i++) {
		const struct khib_check_result *r = &rp->line[i].r;

		printf("%-4s %-13s %s%s%s\n", khib_check_level_name(r->level), rp->line[i].name,
		       r->text, r->fix[0] ? "; " : "", r->fix);
	}
}

static void print_json(const struct report *rp)
{
	printf("{\"ok\":%s,\"checks\":[", any_failed(rp) ? "false" : "true");
	for (size_t i = 0; i < rp->n; i++) {
		const struct khib_check_result *r = &rp->line[i].r;

		printf("%s{\"name\":\"%s\",\"level\":\"%s\",\"text\":", i ? "," : "",
		       rp->line[i].name, khib_check_level_name(r->level));
		khib_tool_json_str(stdout, r->text);
		printf(",\"fix\":");
		khib_tool_json_str(stdout, r->fix);
		printf("}");
	}
	printf("]}\n");
}

static int check_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "round-trip", no_argument, NULL, 'R' },
		{}
	};
	static char *test_argv[] = { (char *)"hibernate", (char *)"--test", NULL };
	struct report rp = { 0 };
	struct khib_config cf;
	struct hib_opts o;
	bool json = false, round_trip = false;
	int c;

	optind = 1;
	while ((c = khib_tool_getopt(argc, argv, longopts)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'R')
			round_trip = true;
		else
			return EXIT_USAGE;
	}
	if (optind < argc) {
		khib_err("check: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (json && round_trip) {
		khib_err("check: --json and --round-trip do not go together (the round trip "
			 "speaks in lines)");
		return EXIT_USAGE;
	}
	if (khib_tool_load_config(&cf) < 0)
		return 1;
	if (geteuid() != 0) {
		khib_err("check: must run as root (it asks the kernel, reads the keys and the "
			 "target)");
		return 1;
	}
	hib_config_defaults(&cf, &o);
	check_kernel(&rp);
	check_keys(&cf, &o, &rp);
	check_machine(&o, &rp);
	if (json)
		print_json(&rp);
	else
		print_text(&rp);
	if (fflush(stdout))
		return khib_err_errno(-EIO, "check: writing the output");
	if (any_failed(&rp)) {
		if (round_trip)
			khib_err("check: no round trip while a check fails");
		return 1;
	}
	return round_trip ? khib_cmd_hibernate.run(2, test_argv) : 0;
}

const struct khib_command khib_cmd_check = {
	.name = "check",
	.summary = "say whether this machine can hibernate with khib and resume",
	.run = check_run,
	.help = check_help,
};
