/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers the khib commands share: their options, the paths users give
 * them, opening an image, progress, the clock, and the resume side's file
 * system check.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockmap.h"
#include "config.h"
#include "crypt.h"
#include "fileio.h"
#include "fscheck.h"
#include "image.h"
#include "kexec.h"
#include "keyslot.h"
#include "keys.h"
#include "khib.h"
#include "sysinfo.h"
#include "util.h"

bool khib_tool_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

int khib_tool_check_file_systems(const struct khib_reader *rd, char *reason)
{
	char missing[512];
	size_t n;
	const struct khib_fsstamp *fs = khib_reader_fs(rd, &n);
	int r = khib_fs_check("", fs, n, missing, sizeof(missing), reason);

	if (r >= 0 && missing[0])
		khib_info("note: not found on this boot, so not checked for changes: %s", missing);
	return r;
}

static int key_file_error(const char *path, int err)
{
	khib_err_errno(err, "reading the key file '%s'", path);
	return err;
}

int khib_tool_read_key_file(const char *path, uint8_t **ret, size_t *ret_bytes)
{
	_cleanup_close_ int fd = khib_open_input(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *buf;
	int r;

	if (fd < 0)
		return key_file_error(path, fd);
	if (fstat(fd, &st) < 0)
		return key_file_error(path, -errno);
	if (st.st_size < KHIB_KEYFILE_MIN_BYTES || st.st_size > KHIB_KEYFILE_MAX_BYTES) {
		khib_err("the key file '%s' holds %lld bytes; a key file holds %u bytes to 1 MiB "
			 "(for example: head -c 64 /dev/urandom >FILE)", path, (long long)st.st_size,
			 KHIB_KEYFILE_MIN_BYTES);
		return -EINVAL;
	}
	if (!(buf = khib_secret_alloc((size_t)st.st_size)))
		return key_file_error(path, -ENOMEM);
	if ((r = khib_pread_all(fd, buf, (size_t)st.st_size, 0)) < 0) {
		khib_secret_free(buf);
		return key_file_error(path, r);
	}
	*ret = buf;
	*ret_bytes = (size_t)st.st_size;
	return 0;
}

void khib_tool_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int khib_tool_getopt(int argc, char **argv, const struct option *longopts)
{
	int c;

	opterr = 0; /* getopt's own messages lack the "khib: " of every other */
	c = getopt_long(argc, argv, ":", longopts, NULL);
	if (c == ':')
		khib_err("%s: option '%s' needs a value", argv[0], argv[optind - 1]);
	else if (c == '?')
		khib_err("%s: unknown option '%s'", argv[0], argv[optind - 1]);
	return c == ':' ? '?' : c;
}

void khib_tool_kernel_files(const struct khib_config *cf, const char **ret_kernel,
			    const char **ret_initrd, const char **ret_append)
{
	*ret_kernel = cf->kernel[0] ? cf->kernel : KHIB_DEFAULT_KERNEL;
	*ret_initrd = cf->initrd[0] ? cf->initrd : KHIB_DEFAULT_INITRD;
	*ret_append = cf->append[0] ? cf->append : KHIB_DEFAULT_APPEND;
}

const char *khib_tool_kernel_cmdline(const char *append, const char *disk, char *buf, size_t n)
{
	char cpus[16], stubs[64];
	bool stub, timer;
	int r;

	stub = !khib_cmdline_has(append, "pci-stub.ids") &&
	       khib_sysinfo_block_below_pci_class("", disk, KHIB_PCI_CLASS_AHCI, 0xffffff) == 0;
	timer = khib_cmdline_get(append, "nr_cpus", cpus, sizeof(cpus)) == 0 && !strcmp(cpus, "1") &&
		!khib_cmdline_has(append, "nolapic_timer") &&
		khib_sysinfo_cpu_flag("", "tsc_deadline_timer") == 0;
	if (!stub && !timer)
		return append;
	snprintf(stubs, sizeof(stubs), " pci-stub.ids=ffffffff:ffffffff:ffffffff:ffffffff:%x:ffffff",
		 KHIB_PCI_CLASS_AHCI);
	r = snprintf(buf, n, "%s%s%s", append, stub ? stubs : "", timer ? " nolapic_timer" : "");
	return r > 0 && (size_t)r < n ? buf + strspn(buf, " ") : append;
}

int khib_tool_plan_failed(int err, const char *kernel, const struct khib_jump_config *cfg)
{
	if (err == -ENOSPC)
		return khib_err_errno(err, "region of %" PRIu64 " MiB is too small for '%s' and its "
				      "initramfs", cfg->region_bytes >> 20, kernel);
	return khib_err_errno(err, "planning the jump to '%s' (region of %" PRIu64 " MiB at 0x%"
			      PRIx64 ")", kernel, cfg->region_bytes >> 20, cfg->region_start);
}

double khib_tool_now_s(void)
{
	return (double)khib_clock_ns(CLOCK_REALTIME) / 1e9;
}

int khib_tool_parse_region_size(const char *s, uint64_t *ret)
{
	uint64_t v;

	if (khib_parse_size(s, &v) < 0 || !v || !IS_ALIGNED(v, KHIB_REGION_ALIGN)) {
		khib_err("--region-size '%s': not a positive multiple of 2M", s);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

int khib_tool_parse_threads(const char *s, unsigned *ret)
{
	uint64_t v;

	if (khib_parse_size(s, &v) < 0 || v > 1024) {
		khib_err("--threads '%s': expected a number up to 1024 (0: all CPUs)", s);
		return -EINVAL;
	}
	*ret = (unsigned)v;
	return 0;
}

static int open_with_keys(void *ctx, const uint8_t uuid[16], const uint8_t *area,
			  uint32_t n_slots, uint8_t dk[32], char *reason)
{
	const struct khib_protector *used;

	return khib_tool_open_key(ctx, STDIN_FILENO, uuid, area, n_slots, dk, &used, reason);
}

int khib_tool_open_image(const char *path, unsigned flags, const char *key_file,
			 struct khib_target **ret_t, struct khib_reader **ret_r)
{
	_cleanup_(khib_tool_keyring_release) struct khib_keyring kr = { .key_file = key_file };
	char reason[KHIB_REASON_MAX] = "";
	bool public_ok = (flags & KHIB_READER_PUBLIC) && !key_file;
	struct khib_config cf;
	struct khib_target *t;
	int r;

	/* Without --key-file, the keys enrolled on this machine (a passphrase
	 * is asked for); not for a public view, which needs none. */
	if (!key_file && !public_ok && khib_tool_load_config(&cf) >= 0 &&
	    khib_tool_keyring_load(&cf, &kr) < 0)
		return 1;
	r = khib_blockmap_open(path, 0, &t, reason);
	if (r < 0) {
		khib_err("opening image '%s': %s", path, reason);
		return 1;
	}
	/* The full view where it can be had; the public one is only asked for
	 * when there is no key to open the rest with. */
	r = khib_reader_open_keyed(t, flags & ~KHIB_READER_PUBLIC,
				   public_ok ? NULL : open_with_keys, &kr, ret_r, reason);
	if (r == -ENOKEY && public_ok)
		r = khib_reader_open(t, flags, ret_r, reason);
	if (r < 0) {
		khib_target_free(t);
		khib_err("reading image from '%s': %s%s", path, reason,
			 r == -ENOKEY && !key_file ? " (give --key-file)" : "");
		return 1;
	}
	*ret_t = t;
	return 0;
}

void khib_progress_init(struct khib_progress *p, bool force, const char *what, uint64_t total)
{
	*p = (struct khib_progress){ .on = force || isatty(STDERR_FILENO), .what = what,
				     .total = total ? total : 1, .last = -1 };
}

void khib_progress_update(struct khib_progress *p, uint64_t done)
{
	int pct = (int)(done * 100 / p->total);

	if (!p->on || pct == p->last)
		return;
	p->last = pct;
	fprintf(stderr, "\r%s: %3d%%", p->what, pct > 100 ? 100 : pct);
	fflush(stderr);
}

void khib_progress_done(struct khib_progress *p)
{
	if (p->on && p->last >= 0)
		fputc('\n', stderr);
}
