/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers the khib commands share: about the paths users give them, and
 * the resume side's file system check.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "crypt.h"
#include "fscheck.h"
#include "image.h"
#include "kexec.h"
#include "keyslot.h"
#include "khib.h"
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

int khib_tool_plan_failed(int err, const char *kernel, const struct khib_jump_config *cfg)
{
	if (err == -ENOSPC)
		return khib_err_errno(err, "region of %" PRIu64 " MiB is too small for '%s' and its "
				      "initramfs", cfg->region_bytes >> 20, kernel);
	return khib_err_errno(err, "planning the jump to '%s' (region of %" PRIu64 " MiB at 0x%"
			      PRIx64 ")", kernel, cfg->region_bytes >> 20, cfg->region_start);
}
