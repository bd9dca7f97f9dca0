/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Device-mapper tables in the text form the kernel reports them
 * (DM_TABLE_STATUS with DM_STATUS_TABLE_FLAG; what `dmsetup table`
 * prints): one target per line, "START LENGTH TYPE ARGS", START and LENGTH
 * in 512-byte sectors of the mapped device, devices below as MAJOR:MINOR.
 * Pure parsing: lib/system/blockmap.c reads the tables and follows them.
 *
 * Invariants of a parsed table: segments are in order, contiguous from
 * sector 0, none empty.  A segment of a type khib follows exactly (a
 * sector of the mapped device is one sector of one device below, at a
 * fixed offset: `linear`, and `crypt`, whose ciphertext sector is the
 * plaintext sector) has `follows` set with the device and offset; any
 * other type is kept by name only, for the one-line refusal.
 *
 * SECURITY: a crypt line carries the volume key in hex unless it lives in
 * the kernel keyring; the parser never copies it (only the device and
 * offset fields), and callers wipe the text.
 */
#ifndef KHIB_DMTABLE_H
#define KHIB_DMTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KHIB_DM_TYPE_LEN 24

struct khib_dm_segment {
	uint64_t start, sectors;	/* of the mapped device */
	char type[KHIB_DM_TYPE_LEN];	/* target type: "linear", "crypt", "thin", ... */
	bool follows;			/* linear or crypt: the fields below are set */
	bool crypt;
	unsigned major, minor;		/* the device below */
	uint64_t offset;		/* sectors into it where START lands */
};

/* Parse a table; *ret (free()) holds *ret_n segments.  -EBADMSG with a
 * reason for a malformed line or segments out of order; -ENODATA for an
 * empty table (a device with no table loaded); -ENOMEM. */
int khib_dm_table_parse(const char *text, struct khib_dm_segment **ret, size_t *ret_n,
			char *reason);

#endif
