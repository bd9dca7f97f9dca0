/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: the two texts the storage-stack resolution reads — a
 * device-mapper table (lib/format/dmtable.h, from the kernel) and a target map
 * (lib/format/targetmap.h, from the initramfs) — each fed the input as text.
 * What the parsers promise is checked: segments contiguous from 0 and
 * non-empty; extents contiguous from 0, aligned, inside the device; and a
 * parsed map formats and parses back to the same map.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "dmtable.h"
#include "fuzz.h"
#include "targetmap.h"

static void try_table(const char *text)
{
	struct khib_dm_segment *s;
	uint64_t next = 0;
	size_t n;

	if (khib_dm_table_parse(text, &s, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i].start != next || !s[i].sectors || s[i].type[KHIB_DM_TYPE_LEN - 1])
			__builtin_trap();
		next = s[i].start + s[i].sectors;
	}
	free(s);
}

static void try_map(const char *text)
{
	static char target[PATH_MAX], target2[PATH_MAX];
	struct khib_blockmap m, m2;
	uint64_t logical = 0;
	char *again;

	if (khib_targetmap_parse(text, &m, target, sizeof(target), NULL) < 0)
		return;
	for (size_t i = 0; i < m.n; i++) {
		if (m.ext[i].logical != logical || !m.ext[i].length ||
		    (m.ext[i].physical | m.ext[i].length) % 4096 ||
		    m.ext[i].physical + m.ext[i].length > m.bytes)
			__builtin_trap();
		logical += m.ext[i].length;
	}
	if (khib_targetmap_format(&m, target, &again) == 0) {
		if (khib_targetmap_parse(again, &m2, target2, sizeof(target2), NULL) < 0 ||
		    strcmp(target, target2) || m2.n != m.n || m2.bytes != m.bytes ||
		    m2.part != m.part || strcmp(m2.name, m.name) || strcmp(m2.id, m.id) ||
		    (m.n && memcmp(m.ext, m2.ext, m.n * sizeof(*m.ext))))
			__builtin_trap();
		khib_blockmap_release(&m2);
		free(again);
	}
	khib_blockmap_release(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	try_table(text);
	try_map(text);
	free(text);
	return 0;
}
