/* SPDX-License-Identifier: GPL-2.0-only */
#include "handoff_read.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "crypt.h"
#include "fileio.h"
#include "physmem.h"
#include "util.h"

int khib_handoff_find(const char *cmdline_path, const char *devmem, struct khib_handoff *ret,
		      char *reason)
{
	_cleanup_free_ char *cmdline = NULL;
	uint8_t page[KHIB_HANDOFF_BYTES];
	char val[32];
	uint64_t paddr;
	int r;

	r = khib_read_file(cmdline_path, 65536, &cmdline, NULL);
	if (r < 0)
		return r;
	r = khib_cmdline_get(cmdline, "khib.handoff", val, sizeof(val));
	if (r < 0)
		return r == -ENAMETOOLONG ? -EINVAL : r;
	if (khib_parse_size(val, &paddr) < 0 || !IS_ALIGNED(paddr, KHIB_PAGE_SIZE))
		return -EINVAL;
	r = khib_physmem_read(devmem, paddr, page, sizeof(page));
	if (r < 0)
		return khib_fail(reason, r, "reading physical address 0x%" PRIx64 " through '%s': %s",
				 paddr, devmem, strerror(-r));
	r = khib_handoff_decode(page, sizeof(page), ret);
	if (r < 0)
		return khib_handoff_fail(page, sizeof(page), r, reason);
	return 0;
}

int khib_extmap_read(const char *devmem, const struct khib_handoff *h, struct khib_extent **ret)
{
	size_t bytes = (size_t)h->nr_extents * KHIB_EXTMAP_ENTRY_BYTES;
	struct khib_physmap m;
	int r;

	if (!h->nr_extents || h->nr_extents > KHIB_EXTMAP_MAX_EXTENTS)
		return -EINVAL;
	if ((r = khib_physmem_map(devmem, h->extents_paddr, bytes, 0, &m)) < 0)
		return r;
	r = khib_extmap_decode(m.ptr, h->nr_extents, h->extents_hash, ret);
	khib_physmem_unmap(&m);
	return r;
}

int khib_keypage_take(const char *devmem, uint64_t paddr, struct khib_image_key *ret,
		      uint8_t uuid[16])
{
	struct khib_physmap m;
	int r;

	if ((r = khib_physmem_map(devmem, paddr, KHIB_KEYPAGE_BYTES, 1, &m)) < 0)
		return r;
	r = khib_keypage_decode(m.ptr, ret, uuid);
	/* SECURITY: the key stays in this kernel's memory no longer than here. */
	khib_wipe(m.ptr, KHIB_KEYPAGE_BYTES);
	khib_physmem_unmap(&m);
	return r;
}
