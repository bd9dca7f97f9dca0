/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: the handoff page (read by the writer and restore kernels
 * through /dev/mem) and the status page (read back by khib hibernate).
 *
 * The input is the handoff page: decoded as is with its own length, then
 * padded or cut to a page with its checksum recomputed as handoff.h
 * documents it (XXH64 of the used part, bytes 16..31 read as zero, stored
 * at 24), so the fuzzer gets past the checksum to the field checks behind.
 * Its first KHIB_STATUS_BYTES are also a status page, likewise as is and
 * with the checksum fixed up (XXH64 of bytes 16.. stored at 8), decoded
 * with the nonce it carries and with another one.  The input is also an
 * extent map (its 16-byte entries, with their hash), whose decoder
 * promises contiguous, aligned, non-empty extents.
 */
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "fuzz.h"
#include "handoff.h"
#include "util.h"

#define STATUS_OFF_BODY 16

static void fix_handoff(uint8_t *page)
{
	uint8_t copy[KHIB_HANDOFF_BYTES];
	uint32_t used = khib_get_le32(page + 12);

	if (used > KHIB_HANDOFF_BYTES)
		return;
	memcpy(copy, page, used);
	memset(copy + KHIB_HANDOFF_OFF_ENTRY, 0, 16);
	khib_put_le64(page + 24, XXH64(copy, used, 0));
}

static void try_status(const uint8_t *data, size_t size)
{
	uint8_t buf[KHIB_STATUS_BYTES] = { 0 };
	struct khib_status st;

	memcpy(buf, data, size < sizeof(buf) ? size : sizeof(buf));
	for (int fixed = 0; fixed < 2; fixed++) {
		uint64_t nonce = khib_get_le64(buf + STATUS_OFF_BODY);

		if (fixed)
			khib_put_le64(buf + 8, XXH64(buf + STATUS_OFF_BODY,
						     sizeof(buf) - STATUS_OFF_BODY, 0));
		if (khib_status_decode(buf, nonce, &st) == 0 && strlen(st.reason) >= sizeof(st.reason))
			__builtin_trap(); /* promised NUL-terminated */
		khib_status_decode(buf, nonce ^ 1, &st);
	}
}

static void try_extmap(const uint8_t *data, size_t size)
{
	size_t n = size / KHIB_EXTMAP_ENTRY_BYTES;
	struct khib_extent *ext;
	uint64_t logical = 0;

	if (khib_extmap_decode(data, n, XXH64(data, n * KHIB_EXTMAP_ENTRY_BYTES, 0), &ext) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (ext[i].logical != logical || !ext[i].length ||
		    (ext[i].physical | ext[i].length) % 4096)
			__builtin_trap();
		logical += ext[i].length;
	}
	free(ext);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t page[KHIB_HANDOFF_BYTES] = { 0 };
	struct khib_handoff h;

	khib_handoff_decode(data, size, &h);
	memcpy(page, data, size < sizeof(page) ? size : sizeof(page));
	fix_handoff(page);
	if (khib_handoff_decode(page, sizeof(page), &h) == 0 &&
	    (strlen(h.release) > 64 || strlen(h.version) > 64 ||
	     strlen(h.target_name) >= KHIB_HANDOFF_NAME_LEN ||
	     h.nr_ranges > KHIB_HANDOFF_MAX_RANGES || h.nr_extents > KHIB_EXTMAP_MAX_EXTENTS))
		__builtin_trap(); /* the decoder promised all of this */
	try_status(data, size);
	try_extmap(data, size);
	return 0;
}
