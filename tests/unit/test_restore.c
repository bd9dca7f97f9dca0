/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a normal boot checks before it restores an image: with this
 * machine's identity in the image, every saved range and the resume entry
 * must be RAM in the firmware map it is given.
 */
#include "harness.h"
#include "restore.h"
#include "sysinfo.h"
#include "test_image_fixture.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/utsname.h>

/* An image of the fixture machine that claims to be of this kernel and of
 * firmware map `fw`, so that only the map's content decides. */
static void write_image(struct fx_machine *m, struct fx_disk *d, struct khib_target **t,
			const struct khib_memmap *fw)
{
	struct khib_writer_params p;
	struct utsname u;

	fx_machine_small(m, 5);
	fx_params(m, &p, KHIB_CODEC_LZ4, 16, 1);
	ASSERT_EQ(uname(&u), 0);
	snprintf(p.kernel.uts_release, sizeof(p.kernel.uts_release), "%s", u.release);
	snprintf(p.kernel.uts_version, sizeof(p.kernel.uts_version), "%s", u.version);
	memset(p.kernel.boot_id, 0, sizeof(p.kernel.boot_id));
	p.kernel.memmap_hash = khib_memmap_hash(fw);
	if (khib_sysinfo_num_physpages("", &p.kernel.num_physpages) < 0)
		p.kernel.num_physpages = 0;
	if (khib_sysinfo_e820_crc32("/sys/firmware/memmap", &p.kernel.e820_crc32) < 0)
		p.kernel.e820_crc32 = 0;
	ASSERT_OK(fx_disk_target(d, 4 << 20, t));
	ASSERT_OK(fx_write(m, *t, &p));
}

static int check(const struct khib_memmap *fw, char *reason)
{
	struct fx_machine m;
	struct fx_disk d;
	struct khib_target *t;
	struct khib_reader *rd;
	int r;

	write_image(&m, &d, &t, fw);
	ASSERT_OK(khib_reader_open(t, 0, &rd, reason));
	r = khib_restore_check(rd, fw, 1, true, reason);
	khib_reader_free(rd);
	khib_target_free(t);
	free(d.buf);
	fx_machine_release(&m);
	return r;
}

static struct khib_memmap map(const uint64_t (*r)[3], size_t n)
{
	struct khib_memmap m = { 0 };

	for (size_t i = 0; i < n; i++)
		ASSERT_OK(khib_memmap_add(&m, r[i][0], r[i][1], (uint32_t)r[i][2]));
	return m;
}

TEST(restore_check_all_ram)
{
	static const uint64_t all[][3] = { { 0, 0x80000000, KHIB_E820_RAM } };
	struct khib_memmap fw = map(all, 1);
	char reason[KHIB_REASON_MAX] = "";
	int r = check(&fw, reason);

	if (r < 0)
		test_fail(__FILE__, __LINE__, "refused: %s", reason);
}

/* The fixture saves pages 200..216 (0xc8000..): reserved here. */
TEST(restore_check_range_not_ram)
{
	static const uint64_t hole[][3] = {
		{ 0, 0xa0000, KHIB_E820_RAM },
		{ 0xa0000, 0x100000, KHIB_E820_RESERVED },
		{ 0x100000, 0x80000000, KHIB_E820_RAM },
	};
	struct khib_memmap fw = map(hole, 3);
	char reason[KHIB_REASON_MAX] = "";

	ASSERT_EQ(check(&fw, reason), -ESTALE);
	ASSERT_STREQ(reason, "saved range 0xc8000+17 pages is not RAM on this machine");
}

/* The resume entry (0x7fff10fb in the fixture) in reserved memory. */
TEST(restore_check_entry_not_ram)
{
	static const uint64_t top[][3] = {
		{ 0, 0x7fff0000, KHIB_E820_RAM },
		{ 0x7fff0000, 0x80000000, KHIB_E820_RESERVED },
	};
	struct khib_memmap fw = map(top, 2);
	char reason[KHIB_REASON_MAX] = "";

	ASSERT_EQ(check(&fw, reason), -ESTALE);
	ASSERT_STREQ(reason, "the resume entry 0x7fff10fb is not RAM on this machine");
}
