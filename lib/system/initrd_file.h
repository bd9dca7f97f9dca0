/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An initramfs on disk: lib/format/initrd.h's scan of the file, mapped.
 */
#ifndef KHIB_INITRD_FILE_H
#define KHIB_INITRD_FILE_H

#include <stddef.h>

#include "initrd.h"

/* khib_initrd_scan() of the file at path (mapped, not read into memory); -errno
 * from opening it too. */
int khib_initrd_scan_file(const char *path, struct khib_initrd_member *m, size_t n,
			  char *reason);

#endif
