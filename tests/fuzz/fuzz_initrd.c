/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: an initramfs image (lib/format/initrd.h) — cpio archives, zeros,
 * gzip and zstd parts — looked into for two members.  What the reader
 * promises is checked: a member's data is kept exactly when it was found
 * and no bigger than asked, and nothing is kept after a refusal.
 */
#include "fuzz.h"
#include "initrd.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct khib_initrd_member m[] = {
		{ .name = "init", .max_bytes = 4096 },
		{ .name = "./usr/sbin/khib", .max_bytes = 64 },
		{ .name = "scripts/init-premount/khib" },
	};
	char reason[KHIB_REASON_MAX];
	int r = khib_initrd_scan(data, size, m, ARRAY_SIZE(m), reason);

	for (size_t i = 0; i < ARRAY_SIZE(m); i++) {
		if (r < 0 && (m[i].found || m[i].data))
			__builtin_trap();
		if (m[i].data && (!m[i].found || !m[i].bytes || m[i].bytes > m[i].max_bytes))
			__builtin_trap();
		if (m[i].found && !m[i].data && m[i].bytes && m[i].bytes <= m[i].max_bytes)
			__builtin_trap();
		if (m[i].data)
			(void)m[i].data[m[i].bytes - 1];
	}
	khib_initrd_release(m, ARRAY_SIZE(m));
	return 0;
}
