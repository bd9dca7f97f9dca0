/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ELF core files on disk (e.g. the writer kernel's /proc/vmcore): the
 * parser of lib/format/elfcore.h reading through an fd.
 */
#ifndef KHIB_ELFCORE_FILE_H
#define KHIB_ELFCORE_FILE_H

#include "elfcore.h"

int khib_elfcore_parse_fd(int fd, struct khib_elfcore **ret, char *reason);

/* Parse the core file at path (e.g. /proc/vmcore), opened read-only. */
int khib_elfcore_parse_path(const char *path, struct khib_elfcore **ret, char *reason);

#endif
