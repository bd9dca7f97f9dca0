/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The /dev/snapshot stream: header layout against the kernel's own
 * structures (mirrored here field by field from kernel/power/power.h and
 * arch/x86/power/hibernate.c of 6.1, so the compiler lays them out as the
 * kernel does), and a whole stream built from a small image, read back page
 * by page.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "harness.h"
#include "image_format.h"
#include "snapshot.h"
#include "test_image_fixture.h"
#include "util.h"

/* struct restore_data_record, arch/x86/power/hibernate.c */
struct k_restore_data_record {
	unsigned long jump_address;
	unsigned long jump_address_phys;
	unsigned long cr3;
	unsigned long magic;
	unsigned long e820_checksum;
};

/* struct swsusp_info, kernel/power/power.h (new_utsname: 6 x 65 chars) */
struct k_swsusp_info {
	char uts[6 * 65];
	uint32_t version_code;
	unsigned long num_physpages;
	int cpus;
	unsigned long image_pages;
	unsigned long pages;
	unsigned long size;
};

TEST(snapshot_header_layout_is_the_kernels)
{
	ASSERT_EQ(offsetof(struct k_restore_data_record, jump_address), KHIB_SNAP_OFF_JUMP);
	ASSERT_EQ(offsetof(struct k_restore_data_record, jump_address_phys), KHIB_SNAP_OFF_JUMP_PHYS);
	ASSERT_EQ(offsetof(struct k_restore_data_record, cr3), KHIB_SNAP_OFF_CR3);
	ASSERT_EQ(offsetof(struct k_restore_data_record, magic), KHIB_SNAP_OFF_MAGIC);
	ASSERT_EQ(offsetof(struct k_restore_data_record, e820_checksum), KHIB_SNAP_OFF_E820);
	ASSERT_EQ(offsetof(struct k_swsusp_info, num_physpages), KHIB_SNAP_OFF_NUM_PHYSPAGES);
	ASSERT_EQ(offsetof(struct k_swsusp_info, cpus), KHIB_SNAP_OFF_CPUS);
	ASSERT_EQ(offsetof(struct k_swsusp_info, image_pages), KHIB_SNAP_OFF_IMAGE_PAGES);
	ASSERT_EQ(offsetof(struct k_swsusp_info, pages), KHIB_SNAP_OFF_PAGES);
	ASSERT_EQ(offsetof(struct k_swsusp_info, size), KHIB_SNAP_OFF_SIZE);
	/* RESTORE_MAGIC for CONFIG_X86_64 */
	ASSERT_EQ_U64(KHIB_SNAPSHOT_MAGIC, 0x23456789ABCDEF02ULL);
}

TEST(snapshot_header_encode)
{
	struct khib_snapshot_header h = { .jump_address = 0x1be00000, .cr3 = 0x1a2000,
					  .e820_crc32 = 0xcafe1234, .num_physpages = 130942,
					  .image_pages = 1025 };
	uint8_t page[4096];
	const struct k_restore_data_record *rd = (const void *)page;
	const struct k_swsusp_info *si = (const void *)page;

	khib_snapshot_header_encode(&h, page);
	ASSERT_EQ_U64(rd->jump_address, 0x1be00000);
	ASSERT_EQ_U64(rd->jump_address_phys, 0x1be00000);
	ASSERT_EQ_U64(rd->cr3, 0x1a2000);
	ASSERT_EQ_U64(rd->magic, KHIB_SNAPSHOT_MAGIC);
	ASSERT_EQ_U64(rd->e820_checksum, 0xcafe1234);
	ASSERT_EQ_U64(si->num_physpages, 130942);
	ASSERT_EQ_U64(si->image_pages, 1025);
	/* nr_meta_pages = pages - image_pages - 1 in the kernel: 1025 PFNs
	 * of 8 bytes need 3 pages */
	ASSERT_EQ_U64(khib_snapshot_meta_pages(1025), 3);
	ASSERT_EQ_U64(si->pages, 1 + 3 + 1025);
	ASSERT_EQ_U64(si->size, (1 + 3 + 1025) * 4096ULL);
	ASSERT_EQ_U64(khib_snapshot_meta_pages(512), 1);
	ASSERT_EQ_U64(khib_snapshot_meta_pages(513), 2);
}

#define REGION_PFN 100
#define REGION_PAGES 16
#define FIRST_ZONE_PFN 2 /* page frame 1 lies outside the zones */

struct expect {
	uint64_t pfns[1024];
	size_t n_pfns;
	size_t zero_pages, outside;
};

/* What the stream must hold for the fixture machine. */
static void expected(const struct fx_machine *m, size_t extra_pages, struct expect *e)
{
	static const uint8_t zero[4096];
	bool extra_done = false;

	memset(e, 0, sizeof(*e));
	for (size_t i = 0; i < m->n_ranges; i++)
		for (uint64_t k = 0; k < m->ranges[i].npages; k++) {
			uint64_t pa = m->ranges[i].paddr + k * 4096, pfn = pa / 4096;

			if (fx_page_excluded(m, pa))
				continue;
			if (pfn < FIRST_ZONE_PFN) {
				e->outside++;
				continue;
			}
			if (!memcmp(fx_page(m, pa), zero, 4096)) {
				e->zero_pages++;
				continue;
			}
			if (!extra_done && pfn > REGION_PFN) {
				for (size_t x = 0; x < extra_pages; x++)
					e->pfns[e->n_pfns++] = REGION_PFN + x;
				extra_done = true;
			}
			e->pfns[e->n_pfns++] = pfn;
		}
}

/* The small fixture machine hibernated with `codec` to an in-memory disk,
 * opened, and the zones of the kernel that restores it. */
static void open_machine_image(struct fx_machine *m, struct fx_disk *d, enum khib_codec codec,
			       struct khib_target **t, struct khib_reader **rd,
			       struct khib_memmap *zones)
{
	struct khib_writer_params p;
	char reason[KHIB_REASON_MAX] = "";

	fx_machine_small(m, 7);
	fx_params(m, &p, codec, 8, 1);
	p.resume.region_start = REGION_PFN * 4096;
	p.resume.region_bytes = REGION_PAGES * 4096;
	p.kernel.num_physpages = 4000;
	ASSERT_OK(fx_disk_target(d, 4 << 20, t));
	ASSERT_OK(fx_write(m, *t, &p));
	ASSERT_OK(khib_reader_open(*t, 0, rd, reason));
	ASSERT_OK(khib_memmap_add(zones, FIRST_ZONE_PFN * 4096, 4096ULL * 4096, KHIB_E820_RAM));
}

TEST(snapshot_stream_from_image)
{
	struct fx_machine m;
	struct fx_disk d;
	struct khib_target *t = NULL;
	struct khib_reader *rd = NULL;
	struct khib_snapshot_plan plan;
	struct khib_memmap zones = { 0 };
	struct expect *e = calloc(1, sizeof(*e));
	char reason[KHIB_REASON_MAX] = "", path[512];
	uint8_t page[4096];
	int fd;

	open_machine_image(&m, &d, KHIB_CODEC_LZ4, &t, &rd, &zones);

	ASSERT_OK(khib_snapshot_plan_build(rd, &zones, &plan, reason));
	ASSERT_EQ_U64(plan.extra_paddr, REGION_PFN * 4096);
	expected(&m, plan.extra_pages, e);
	ASSERT_EQ_U64(plan.zero_pages, e->zero_pages);
	ASSERT_EQ_U64(plan.outside_pages, e->outside);
	ASSERT_EQ_U64(plan.hdr.image_pages, e->n_pfns);
	ASSERT_EQ_U64(plan.hdr.num_physpages, 4000);
	ASSERT_EQ_U64(plan.hdr.e820_crc32, 0xdeadbeef);
	ASSERT_EQ_U64(plan.hdr.cr3, (0x7fff10fbULL & ~0xfffULL) - 4096);

	snprintf(path, sizeof(path), "%s/stream", test_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(khib_snapshot_stream(rd, &zones, &plan, fd, 3, reason));

	/* page 0: the header; then the PFNs, ascending, ~0 padded */
	uint64_t meta = khib_snapshot_meta_pages(e->n_pfns);
	ASSERT_EQ(lseek(fd, 0, SEEK_END), (off_t)((1 + meta + e->n_pfns) * 4096));
	ASSERT_OK(khib_pread_all(fd, page, 4096, 0));
	ASSERT_EQ_U64(khib_get_le64(page + KHIB_SNAP_OFF_MAGIC), KHIB_SNAPSHOT_MAGIC);
	for (size_t i = 0; i < meta * 512; i++) {
		uint64_t v;

		ASSERT_OK(khib_pread_all(fd, &v, 8, 4096 + i * 8));
		ASSERT_EQ_U64(v, i < e->n_pfns ? e->pfns[i] : ~0ULL);
	}
	/* data pages in that order: the machine's pages, or the landing page
	 * and zero list at the region's start */
	for (size_t i = 0; i < e->n_pfns; i++) {
		ASSERT_OK(khib_pread_all(fd, page, 4096, (1 + meta + i) * 4096));
		if (e->pfns[i] >= REGION_PFN && e->pfns[i] < REGION_PFN + plan.extra_pages)
			ASSERT_MEMEQ(page, plan.extra + (e->pfns[i] - REGION_PFN) * 4096, 4096);
		else
			ASSERT_MEMEQ(page, fx_page(&m, e->pfns[i] * 4096), 4096);
	}
	/* the landing page: re-entry and zero list patched in; every zero
	 * page of the zones is in the list, nothing else */
	ASSERT_EQ_U64(khib_get_le64(plan.extra + 8), 0x7fff10fb);
	ASSERT_EQ_U64(khib_get_le64(plan.extra + 16), (REGION_PFN + 1) * 4096);
	uint64_t listed = 0;
	for (size_t i = 0;; i++) {
		const uint8_t *le = plan.extra + 4096 + 16 * i;
		uint64_t words = khib_get_le64(le + 8);

		if (!words)
			break;
		ASSERT_TRUE(khib_get_le64(le) >= FIRST_ZONE_PFN * 4096);
		for (uint64_t k = 0; k < words / 512; k++)
			ASSERT_TRUE(!memcmp(fx_page(&m, khib_get_le64(le) + k * 4096),
					    (uint8_t[4096]){ 0 }, 4096));
		listed += words / 512;
	}
	ASSERT_EQ_U64(listed, e->zero_pages);

	close(fd);
	khib_snapshot_plan_release(&plan);
	khib_reader_free(rd);
	khib_target_free(t);
	free(d.buf);
	free(e);
	fx_machine_release(&m);
}

/* The plan reads chunk headers only; a corrupt payload is found by the
 * stream, as an image error (not one the kernel made), before anything
 * could be restored.  A corrupt chunk header is found by the plan. */
TEST(snapshot_corrupt_chunk_found_once)
{
	struct fx_machine m;
	struct fx_disk d;
	struct khib_target *t = NULL;
	struct khib_reader *rd = NULL;
	struct khib_snapshot_plan plan;
	struct khib_memmap zones = { 0 };
	struct khib_chunk_info ci = { 0 };
	char reason[KHIB_REASON_MAX] = "", path[512];
	size_t k = 0;
	int fd;

	open_machine_image(&m, &d, KHIB_CODEC_NONE, &t, &rd, &zones);
	while (khib_reader_chunk(rd, k, &ci) >= 0 && !ci.stored_pages)
		k++;
	ASSERT_TRUE(ci.stored_pages > 0);
	uint64_t payload = ci.disk_offset + khib_chunk_header_bytes(ci.npages);
	d.buf[payload + 100] ^= 0x10;

	ASSERT_OK(khib_snapshot_plan_build(rd, &zones, &plan, reason));
	snprintf(path, sizeof(path), "%s/stream-corrupt", test_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_TRUE(fd >= 0);
	reason[0] = '\0';
	ASSERT_EQ(khib_snapshot_stream(rd, &zones, &plan, fd, 3, reason), -EBADMSG);
	ASSERT_TRUE(strstr(reason, "checksum") != NULL);
	close(fd);
	khib_snapshot_plan_release(&plan);

	d.buf[payload + 100] ^= 0x10;
	d.buf[ci.disk_offset + 0x40] ^= 0x01; /* the zero bitmap */
	ASSERT_EQ(khib_snapshot_plan_build(rd, &zones, &plan, reason), -EBADMSG);
	khib_reader_free(rd);
	khib_target_free(t);
	free(d.buf);
	fx_machine_release(&m);
}

TEST(snapshot_plan_needs_recorded_values)
{
	struct fx_machine m;
	struct fx_disk d;
	struct khib_target *t = NULL;
	struct khib_reader *rd = NULL;
	struct khib_writer_params p;
	struct khib_snapshot_plan plan;
	struct khib_memmap zones = { 0 };
	char reason[KHIB_REASON_MAX] = "";

	fx_machine_small(&m, 3);
	fx_params(&m, &p, KHIB_CODEC_NONE, 8, 1);
	p.kernel.num_physpages = 0; /* an image that did not record it */
	ASSERT_OK(fx_disk_target(&d, 4 << 20, &t));
	ASSERT_OK(fx_write(&m, t, &p));
	ASSERT_OK(khib_reader_open(t, 0, &rd, reason));
	ASSERT_OK(khib_memmap_add(&zones, 4096, 1ULL << 30, KHIB_E820_RAM));
	ASSERT_EQ(khib_snapshot_plan_build(rd, &zones, &plan, reason), -EOPNOTSUPP);
	khib_reader_free(rd);
	khib_target_free(t);
	free(d.buf);
	fx_machine_release(&m);
}

/* The stream's threads: as asked up to the cap, by default more than one
 * (one writes, the others read ahead); each one past the first needs room
 * for a chunk as read and as decoded. */
TEST(snapshot_threads_and_memory)
{
	struct khib_snapshot_plan p = { .chunk_bytes = 4 << 20 };

	p.hdr.image_pages = 1000;
	ASSERT_EQ(khib_snapshot_threads(1), 1);
	ASSERT_EQ(khib_snapshot_threads(3), 3);
	ASSERT_EQ(khib_snapshot_threads(64), KHIB_SNAPSHOT_THREADS_MAX);
	ASSERT_TRUE(khib_snapshot_threads(0) >= 3);
	ASSERT_EQ_U64(khib_snapshot_memory_needed(&p, 4) - khib_snapshot_memory_needed(&p, 1),
		      3 * 2 * (4ULL << 20));
}
