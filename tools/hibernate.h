/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib hibernate's options, which khib check reads from /etc/khib.conf as
 * hibernate does, and its dealings with its target (hibernate-target.c):
 * invalidating what must never be resumed.
 */
#ifndef KHIB_TOOLS_HIBERNATE_H
#define KHIB_TOOLS_HIBERNATE_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"

/* What khib hibernate is asked to do. */
struct hib_opts {
	const char *target, *kernel, *initrd, *append, *key_file;
	uint64_t region_bytes, region_start;	/* region_bytes 0: sized for this machine */
	enum khib_codec codec;
	int level;
	unsigned threads;
	bool test, keep_free, force, clear, drop_caches;
};

/* khib's defaults, then those of /etc/khib.conf (cmd-hibernate.c). */
struct khib_config;
void hib_config_defaults(const struct khib_config *cf, struct hib_opts *o);

int hib_retire_old_image(const char *target);
void hib_discard_after_abort(const char *target);

#endif
