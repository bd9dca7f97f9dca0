/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The running system's firmware memory map, read from sysfs into a
 * lib/format/memmap.h map.
 */
#ifndef KHIB_MEMMAP_FILE_H
#define KHIB_MEMMAP_FILE_H

#include "memmap.h"

/* The firmware map from /sys/firmware/memmap (CONFIG_FIRMWARE_MEMMAP): the
 * e820 table as the firmware gave it, before the kernel edited it.  `dir`
 * is normally "/sys/firmware/memmap"; tests pass a fake tree. */
int khib_memmap_read_firmware(const char *dir, struct khib_memmap *ret);

#endif
