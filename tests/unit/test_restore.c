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

/* /proc/iomem of a restore kernel started by OVMF with memmap=exactmap: its
 * RAM is low memory and the region 0x1aa00000 + 64 MiB; the lines for its
 * code and bss are the arguments. */
static const char iomem_direct[] =
	"00000000-00000fff : Reserved\n"
	"00001000-0009ffff : System RAM\n"
	"000a0000-1a9fffff : Reserved\n"
	"1aa00000-1e9fffff : System RAM\n"
	"  %s\n"
	"  1b200000-1b2d1fff : Kernel rodata\n"
	"  1b400000-1b4d88bf : Kernel data\n"
	"  %s\n"
	"1ea00000-1ea89fff : Reserved\n";

static struct khib_image_info direct_info(void)
{
	struct khib_image_info info = { 0 };

	info.resume.region_start = 0x1aa00000;
	info.resume.region_bytes = 64 << 20;
	info.resume.lowmem_start = 0x1000;
	info.resume.lowmem_size = 0x9f000;
	return info;
}

static int placement(const char *code, const char *bss, char *reason)
{
	static char text[sizeof(iomem_direct) + 128];
	struct khib_image_info info = direct_info();

	snprintf(text, sizeof(text), iomem_direct, code, bss);
	return khib_restore_check_placement(&info, text, reason);
}

TEST(restore_check_placement)
{
	char reason[KHIB_REASON_MAX] = "";

	ASSERT_OK(placement("1aa00000-1b0000ff : Kernel code", "1b5a0000-1b5fffff : Kernel bss",
			    reason));
	/* The code where the boot loader did not put it. */
	ASSERT_EQ(placement("01000000-016000ff : Kernel code", "1b5a0000-1b5fffff : Kernel bss",
			    reason), -EXDEV);
	ASSERT_TRUE(strstr(reason, "this kernel's code lies outside the image's region"));
	/* Code inside, the bss past the region's end. */
	ASSERT_EQ(placement("1aa00000-1b0000ff : Kernel code", "1e9a0000-1eafffff : Kernel bss",
			    reason), -EXDEV);
	ASSERT_TRUE(strstr(reason, "this kernel's bss lies outside the image's region"));
	/* Its place hidden (not root): no answer. */
	ASSERT_EQ(placement("00000000-00000000 : Kernel code", "00000000-00000000 : Kernel bss",
			    reason), -EPERM);
}

TEST(restore_check_placement_ram_outside)
{
	char reason[KHIB_REASON_MAX] = "";
	struct khib_image_info info = direct_info();

	ASSERT_EQ(khib_restore_check_placement(&info,
					       "00001000-0009ffff : System RAM\n"
					       "00100000-1e9fffff : System RAM\n"
					       "  1aa00000-1b0000ff : Kernel code\n", reason),
		  -EXDEV);
	ASSERT_TRUE(strstr(reason, "RAM outside the image's region"));
}
