/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers the khib commands share about the paths users give them.
 */
#include <sys/stat.h>

#include "khib.h"

bool khib_tool_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}
