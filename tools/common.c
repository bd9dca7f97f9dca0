/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers the khib commands share: about the paths users give them, and
 * the resume side's file system check.
 */
#include <sys/stat.h>

#include "fscheck.h"
#include "image.h"
#include "khib.h"

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
