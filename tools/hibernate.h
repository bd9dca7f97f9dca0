/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib hibernate's dealings with its target (hibernate-target.c): the
 * checks before the jump, and invalidating what must never be resumed.
 * Each check prints its one line and returns 1 when the target is refused.
 */
#ifndef KHIB_TOOLS_HIBERNATE_H
#define KHIB_TOOLS_HIBERNATE_H

#include <stdbool.h>
#include <stdint.h>

#include "handoff.h"
#include "preflight.h"

int hib_check_beneath_crypt(const char *target, const struct khib_preflight *pf,
			    const uint8_t *keypage);
int hib_check_initramfs_map(const char *target, const struct khib_preflight *pf);
int hib_check_capacity(const char *target, const struct khib_handoff *h, uint64_t cap);
int hib_check_owned(const char *target, bool force);
int hib_retire_old_image(const char *target);
void hib_discard_after_abort(const char *target);

#endif
