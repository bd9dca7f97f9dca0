/* SPDX-License-Identifier: GPL-2.0-only */
/* Fuzz target: the ELF core parser (import-elf input, /proc/vmcore). */
#include "elfcore.h"
#include "fuzz.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct khib_elfcore *c;
	char reason[KHIB_REASON_MAX];
	uint64_t sum = 0;

	if (khib_elfcore_parse_mem(data, size, &c, reason) < 0)
		return 0;
	/* Touch everything the parser promised is in bounds. */
	for (size_t i = 0; i < c->n_loads; i++)
		for (uint64_t k = 0; k < c->loads[i].filesz; k += 512)
			sum += data[c->loads[i].offset + k];
	for (size_t k = 0; k < c->vmcoreinfo_bytes; k++)
		sum += c->vmcoreinfo[k];
	khib_elfcore_free(c);
	return (int)(sum & 0);
}
