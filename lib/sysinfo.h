/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Facts about the running kernel that a jump or an image records: its
 * identity (release, version, boot id), where its own image lies (so a
 * region avoids it), the ACPI root pointer it was given, and its VMCOREINFO
 * note.  Read from /proc and /sys; `root` prefixes every path (tests pass a
 * fake tree, the tools pass "").
 */
#ifndef KHIB_SYSINFO_H
#define KHIB_SYSINFO_H

#include <stdint.h>

#include "handoff.h"
#include "memmap.h"

/* uname release and version, /proc/sys/kernel/random/boot_id. */
int khib_sysinfo_identity(const char *root, struct khib_handoff *h);

/* Ranges a jumped-to kernel must not use: the running kernel's code, data
 * and bss, and any crash kernel reservation, from /proc/iomem. */
int khib_sysinfo_avoid_ranges(const char *root, struct khib_memmap *ret);

/* acpi_rsdp_addr from the running kernel's zero page, 0 if unknown. */
uint64_t khib_sysinfo_acpi_rsdp(const char *root);

/* Physical address and size of the VMCOREINFO note; -ENOENT without one. */
int khib_sysinfo_vmcoreinfo(const char *root, uint64_t *ret_paddr, uint64_t *ret_bytes);

/*
 * Fill a jump config's machine part from the running system: firmware map
 * (*fw, which cfg then points to), a region of region_bytes (at
 * region_start, or chosen away from the kernel's own image when 0), low
 * memory, ACPI root pointer, and the handoff's identity, VMCOREINFO and RAM
 * ranges.  On failure *ret_what names the step, for the message.
 */
struct khib_jump_config;
int khib_sysinfo_jump_config(uint64_t region_bytes, uint64_t region_start, struct khib_memmap *fw,
			     struct khib_jump_config *cfg, const char **ret_what);

/* Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into 16 bytes. */
int khib_parse_uuid(const char *s, uint8_t ret[16]);

#endif
