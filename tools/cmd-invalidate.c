/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib invalidate: make sure an image is never resumed (again).  Destroys
 * the commit record at its fixed place and makes that durable; nothing else
 * of the image needs to be read or trusted for that.
 */
#include <getopt.h>

#include "blockmap.h"
#include "config.h"
#include "image.h"
#include "khib.h"
#include "targetdev.h"

static void invalidate_help(FILE *out)
{
	fputs("Usage: khib invalidate [IMAGE]\n"
	      "\n"
	      "Destroy IMAGE's commit record (default: the image on target= in\n"
	      "/etc/khib.conf) and flush it to stable storage, so the image is never\n"
	      "resumed.  Succeeds also when there is no image, or no target.\n"
	      "Writes nothing to a file or device that holds something other than a\n"
	      "khib image or zeros.\n", out);
}

static int invalidate_run(int argc, char **argv)
{
	struct khib_config cf;
	struct khib_target *t;
	struct khib_reader *r;
	enum khib_probe probe;
	bool had;
	int q;

	optind = 1;
	if (khib_tool_getopt(argc, argv, (const struct option[]){ {} }) != -1)
		return EXIT_USAGE;
	if (argc - optind > 1) {
		khib_err("expected one IMAGE (see 'khib invalidate --help')");
		return EXIT_USAGE;
	}
	/* Without IMAGE, the configured target: khib-discard.service runs
	 * this at every boot that did not resume, where target= may be unset. */
	if (optind == argc) {
		if (khib_tool_load_config(&cf) < 0)
			return 1;
		if (!cf.target[0]) {
			khib_info("no target= configured: nothing to invalidate");
			return 0;
		}
		argv[optind] = cf.target;
	}
	char why[KHIB_REASON_MAX];
	q = khib_blockmap_open(argv[optind], KHIB_TARGET_WRITE, &t, why);
	if (q < 0) {
		khib_err("opening image '%s': %s", argv[optind], why);
		return 1;
	}
	/* Write only to what is khib's: a typo of /dev/sda for /dev/sda3
	 * must not cost a partition table. */
	q = khib_target_probe(t, &probe);
	if (q < 0 || probe != KHIB_PROBE_IMAGE) {
		khib_target_free(t);
		if (q < 0)
			return khib_err_errno(q, "reading '%s'", argv[optind]);
		if (probe == KHIB_PROBE_EMPTY) {
			khib_info("no image in '%s' (it is blank): nothing to invalidate",
				  argv[optind]);
			return 0;
		}
		khib_err("'%s' holds no khib image but something else: left as it is",
			 argv[optind]);
		return 1;
	}
	/* Only to tell the user; invalidation does not depend on it. */
	had = khib_reader_open(t, 0, &r, NULL) == 0;
	if (had)
		khib_reader_free(r);
	q = khib_image_invalidate(t);
	khib_target_free(t);
	if (q < 0)
		return khib_err_errno(q, "invalidating image '%s'", argv[optind]);
	khib_info("%s '%s'", had ? "invalidated the image in" : "no committed image left in",
		  argv[optind]);
	return 0;
}

const struct khib_command khib_cmd_invalidate = {
	.name = "invalidate",
	.summary = "destroy an image's commit record",
	.run = invalidate_run,
	.help = invalidate_help,
};
