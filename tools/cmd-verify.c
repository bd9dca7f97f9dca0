/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib verify: read every chunk of an image, check every checksum and decode
 * every payload, as a restore would, without writing memory anywhere.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>

#include "image.h"
#include "khib.h"
#include "util.h"

static void verify_help(FILE *out)
{
	fputs("Usage: khib verify IMAGE [--key-file FILE] [--threads N] [--progress]\n"
	      "\n"
	      "Decode every chunk of IMAGE and check every checksum.  Exit status 0\n"
	      "only if the image is committed and entirely valid.\n"
	      "\n"
	      "  --key-file F  the key file of an encrypted image (default: the keys\n"
	      "                enrolled with khib key; a passphrase is asked for)\n"
	      "  --threads N   decoding threads (default: all CPUs)\n"
	      "  --progress    show progress even when stderr is not a terminal\n", out);
}

struct verify_ctx {
	pthread_mutex_t lock;
	struct khib_progress progress;
	uint64_t pages;
};

/* Pages arrive from several threads: count and report under a lock. */
static int count_pages(void *ctx, uint64_t paddr, uint64_t npages, enum khib_page_kind kind,
		       const void *data)
{
	struct verify_ctx *v = ctx;

	(void)paddr, (void)kind, (void)data;
	pthread_mutex_lock(&v->lock);
	v->pages += npages;
	khib_progress_update(&v->progress, v->pages);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

static int verify_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "progress", no_argument, NULL, 'p' },
		{ "key-file", required_argument, NULL, 'K' },
		{},
	};
	const char *key_file = NULL;
	struct verify_ctx v = { .lock = PTHREAD_MUTEX_INITIALIZER };
	char reason[KHIB_REASON_MAX] = "";
	const struct khib_image_info *i;
	struct khib_read_opts o = { .fn = count_pages, .ctx = &v };
	struct khib_target *t;
	struct khib_reader *r;
	bool progress = false;
	int c, q;

	optind = 1;
	while ((c = khib_tool_getopt(argc, argv, longopts)) != -1) {
		if (c == 'p')
			progress = true;
		else if (c == 'K')
			key_file = optarg;
		else if (c != 't' || khib_tool_parse_threads(optarg, &o.threads) < 0)
			return EXIT_USAGE;
	}
	if (argc - optind != 1) {
		khib_err("expected one IMAGE (see 'khib verify --help')");
		return EXIT_USAGE;
	}
	if (khib_tool_open_image(argv[optind], 0, key_file, &t, &r))
		return 1;
	i = khib_reader_info(r);
	khib_progress_init(&v.progress, progress, "verifying", i->saved_pages);
	q = khib_reader_read(r, &o, reason);
	khib_progress_done(&v.progress);
	if (q < 0)
		khib_err("verifying image '%s': %s", argv[optind], reason);
	else
		khib_info("'%s' is valid: %" PRIu64 " chunks, %" PRIu64 " pages saved (%" PRIu64
			  " stored, %" PRIu64 " zero, %" PRIu64 " excluded)", argv[optind], i->n_chunks,
			  i->saved_pages, i->stored_pages, i->zero_pages, i->excluded_pages);
	khib_reader_free(r);
	khib_target_free(t);
	return q < 0 ? 1 : 0;
}

const struct khib_command khib_cmd_verify = {
	.name = "verify",
	.summary = "check every chunk and checksum of an image",
	.run = verify_run,
	.hashes_images = true,
	.help = verify_help,
};
