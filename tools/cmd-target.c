/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib target: where an image on TARGET (default: target= in khib.conf)
 * really lies — the storage stack down to a partition or disk, as the
 * writer kernel will write it (lib/system/blockmap.h) — or, with --map, the
 * target map that lets a boot find it without resolving it (the initramfs
 * hook writes that into the initramfs).  Changes nothing.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "blockmap.h"
#include "config.h"
#include "khib.h"
#include "util.h"

static void target_help(FILE *out)
{
	fputs("Usage: khib target [--map] [TARGET]\n"
	      "\n"
	      "Show where an image on TARGET (default: target= in /etc/khib.conf)\n"
	      "lies: a file's extents through LVM and LUKS down to a partition or disk,\n"
	      "which the writer kernel writes directly, or the layer that khib refuses\n"
	      "to write beneath.  Changes nothing.\n"
	      "\n"
	      "  --map   print the target map instead: the partition or disk by its\n"
	      "          identity and the image's extents on it, for a boot that\n"
	      "          cannot resolve TARGET itself (khib's initramfs hook)\n", out);
}

static void show(const char *path, const struct khib_blockmap *m)
{
	uint64_t bytes = m->bytes;

	if (m->n) {
		bytes = 0;
		for (size_t i = 0; i < m->n; i++)
			bytes += m->ext[i].length;
	}
	printf("target: %s\nstack: %s\ndevice: /dev/%s, ", path, m->stack, m->name);
	if (m->part)
		printf("partition %" PRIu32 " of ", m->part);
	if (m->id[0])
		printf("disk %s\n", m->id);
	else
		puts("a disk with no identity (found by its name)");
	printf("image room: %" PRIu64 " MiB in %zu piece%s\n", bytes >> 20, m->n ? m->n : 1,
	       m->n == 1 || !m->n ? "" : "s");
	if (m->below_crypt)
		puts("beneath disk encryption: images there must be encrypted (khib key enroll)");
}

static int target_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "map", no_argument, NULL, 'm' },
		{},
	};
	char reason[KHIB_REASON_MAX];
	struct khib_blockmap m;
	struct khib_config cf;
	const char *path;
	bool map = false;
	int c, r;

	optind = 1;
	while ((c = khib_tool_getopt(argc, argv, opts)) != -1) {
		if (c != 'm')
			return EXIT_USAGE;
		map = true;
	}
	if (argc - optind > 1) {
		khib_err("target: unexpected argument '%s'", argv[optind + 1]);
		return EXIT_USAGE;
	}
	if (optind < argc) {
		path = argv[optind];
	} else {
		if (khib_tool_load_config(&cf) < 0)
			return 1;
		if (!cf.target[0]) {
			khib_err("target: no TARGET given and no target= in the configuration");
			return EXIT_USAGE;
		}
		path = cf.target;
	}
	if ((r = khib_blockmap_path(path, &m, reason)) < 0) {
		khib_err("target '%s': %s", path, reason);
		return 1;
	}
	if (map) {
		char *text;

		r = khib_targetmap_format(&m, path, &text);
		if (r == 0) {
			fputs(text, stdout);
			free(text);
		}
	} else {
		show(path, &m);
	}
	khib_blockmap_release(&m);
	if (r < 0)
		return khib_err_errno(r, "target '%s': writing its map", path);
	return fflush(stdout) ? khib_err_errno(-EIO, "target: writing the output") : 0;
}

const struct khib_command khib_cmd_target = {
	.name = "target",
	.summary = "show where an image on the target lies, or its target map",
	.run = target_run,
	.help = target_help,
};
