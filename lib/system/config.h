/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * /etc/khib.conf: the defaults of `khib hibernate` and `khib resume`, so a
 * systemd unit or an initramfs script needs no options.  Lines are
 * `key = value`; `#` starts a comment; blank lines are ignored.  Keys:
 *
 *   target        where images go and where resume looks for one
 *   codec         none, lz4[:LEVEL], zstd[:LEVEL]
 *   threads       compression/decompression threads (0: all CPUs)
 *   region-size   RAM for the writer/restore kernel, e.g. 128M
 *   region-start  fixed region address (for a restore kernel the boot
 *                 loader starts); 0 or absent: chosen at hibernation
 *   kernel        writer/restore kernel
 *   initrd        its initramfs
 *   append        its command line
 *   keep-free-pages  yes/no: save the pages free in N too
 *   drop-caches   yes (default)/no: drop N's clean page cache before the
 *                 jump, so that it is neither saved nor restored
 *   key-file      a key file images are encrypted to, besides the key
 *                 directory's protectors
 *   key-dir       the key protectors `khib key` enrolls (/etc/khib/keys)
 *   resume-method auto (default), snapshot or kexec: how `khib resume`
 *                 restores (through /dev/snapshot or khib's restore kernel)
 *   encrypt       yes (default): images are encrypted, and hibernation
 *                 refuses when no key protector is enrolled; no: images in
 *                 clear, refused while a protector is enrolled
 *
 * Command-line options override the file.  An unknown key or a bad value
 * is an error naming the line, never silently ignored.
 */
#ifndef KHIB_CONFIG_H
#define KHIB_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"

#define KHIB_CONFIG_PATH "/etc/khib.conf"
#define KHIB_CONFIG_STR 4096

struct khib_config {
	char target[KHIB_CONFIG_STR];		/* "" when unset */
	char kernel[KHIB_CONFIG_STR];
	char initrd[KHIB_CONFIG_STR];
	char append[KHIB_CONFIG_STR];
	char key_file[KHIB_CONFIG_STR];		/* images encrypted to it */
	char key_dir[KHIB_CONFIG_STR];		/* "" : KHIB_KEY_DIR */
	char resume_method[16];			/* "" or auto, snapshot, kexec */
	bool has_codec, has_threads, has_region_bytes, has_region_start;
	bool keep_free_pages;
	bool drop_caches;			/* default true */
	bool encrypt;				/* default true */
	enum khib_codec codec;
	int codec_level;
	unsigned threads;
	uint64_t region_bytes, region_start;
};

/* Parse `text`; on failure -EINVAL and a one-line reason ("line 3: unknown
 * key 'foo'") in reason (KHIB_REASON_MAX bytes, as khib_fail()), or
 * -ENOMEM. */
int khib_config_parse(const char *text, struct khib_config *ret, char *reason);

/* Read and parse `path`; a missing file gives an empty config (0). */
int khib_config_load(const char *path, struct khib_config *ret, char *reason);

/*
 * The configuration text with `key = value` set, in *ret (free()), every
 * other line as it was: the last line that sets key is replaced (the last
 * one wins when reading); else the line goes after the first commented-out
 * example of key ("#key = ..." or "# key = ..."), which stays as the
 * documentation; else at the end.  -EINVAL for a key or value that a line
 * cannot carry (empty key, '=' in the key, a newline or '#', blanks at
 * either end); -ENOMEM.  Pure: the caller reads and writes the file.
 */
int khib_config_set(const char *text, const char *key, const char *value, char **ret);

#endif
