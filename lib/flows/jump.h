/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A jump's configuration, read from the running system: the one place
 * that puts the facts of lib/system/sysinfo.h and the choices of lib/system/kexec.h
 * together before `khib hibernate`, `khib resume`, `khib check` and `khib
 * jump` load a kernel.  What the load does with it is lib/system/kexec.h's.
 */
#ifndef KHIB_JUMP_H
#define KHIB_JUMP_H

#include <stdint.h>

#include "kexec.h"
#include "memmap.h"

/*
 * Fill a jump config's machine part from the running system: firmware map
 * (*fw, which cfg then points to), a region of region_bytes (at
 * region_start, or chosen away from the kernel's own image when 0), low
 * memory, ACPI root pointer, and the handoff's identity, VMCOREINFO and RAM
 * ranges.  On failure the reason names the step and why it failed.
 */
int khib_jump_config_read(uint64_t region_bytes, uint64_t region_start, struct khib_memmap *fw,
			  struct khib_jump_config *cfg, char *reason);

#endif
