/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The restore kernel's job (lib/flows/restore.h) against a file standing in for
 * /dev/mem: every saved page lands at its physical address, zero pages are
 * written as zeros over what the memory held, excluded pages are left
 * alone, and an image that covers R's own RAM is refused before any page
 * is written.  And where khib.resume= on the command line points.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "restore.h"
#include "test_image_fixture.h"
#include "util.h"

#define PAGE KHIB_PAGE_SIZE
#define MEM_PAGES 256	/* the fixture saves pages below 217 */
#define STALE 0xA5	/* what the memory held before the restore */

struct rig {
	struct fx_machine m;
	struct fx_disk d;
	struct khib_target *t;
	struct khib_reader *rd;
	char devmem[512];
};

static void rig_init(struct rig *g, enum khib_codec codec, uint32_t chunk_pages)
{
	struct khib_writer_params p;
	char reason[KHIB_REASON_MAX] = "";
	uint8_t *stale = malloc(MEM_PAGES * PAGE);
	int fd;

	fx_machine_small(&g->m, 11);
	fx_params(&g->m, &p, codec, chunk_pages, 2);
	ASSERT_OK(fx_disk_target(&g->d, 4 << 20, &g->t));
	ASSERT_OK(fx_write(&g->m, g->t, &p));
	if (khib_reader_open(g->t, 0, &g->rd, reason) < 0)
		test_fail(__FILE__, __LINE__, "opening the image: %s", reason);
	ASSERT_TRUE(stale != NULL);
	memset(stale, STALE, MEM_PAGES * PAGE);
	snprintf(g->devmem, sizeof(g->devmem), "%s/mem", test_tmpdir());
	fd = open(g->devmem, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(write(fd, stale, MEM_PAGES * PAGE), (ssize_t)(MEM_PAGES * PAGE));
	close(fd);
	free(stale);
}

static void rig_release(struct rig *g)
{
	khib_reader_free(g->rd);
	khib_target_free(g->t);
	free(g->d.buf);
	fx_machine_release(&g->m);
}

static uint8_t *read_mem(const struct rig *g)
{
	uint8_t *mem = malloc(MEM_PAGES * PAGE);
	int fd = open(g->devmem, O_RDONLY | O_CLOEXEC);

	ASSERT_TRUE(mem != NULL && fd >= 0);
	ASSERT_EQ(read(fd, mem, MEM_PAGES * PAGE), (ssize_t)(MEM_PAGES * PAGE));
	close(fd);
	return mem;
}

/* R's own RAM: a region above everything saved and low memory's page 0. */
static void handoff(struct khib_handoff *h)
{
	memset(h, 0, sizeof(*h));
	h->region_start = 240 * PAGE;
	h->region_bytes = 16 * PAGE;
	h->low_start = 0;
	h->low_bytes = PAGE;
}

struct progress {
	uint64_t calls, last_done, last_total, backwards;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;

	/* Called under restore's lock: no atomics needed. */
	p->backwards += done < p->last_done;
	p->calls++;
	p->last_done = done;
	p->last_total = total;
}

static void restore_and_compare(enum khib_codec codec, uint32_t chunk_pages, bool verify_first)
{
	static struct khib_handoff h;
	struct rig g;
	struct progress pr = { 0 };
	char reason[KHIB_REASON_MAX] = "";
	uint64_t data = 0, zero = 0, kept = 0;
	uint8_t *mem;
	int r;

	rig_init(&g, codec, chunk_pages);
	handoff(&h);
	r = khib_restore_memory(g.rd, &h, g.devmem, 2, verify_first, on_progress, &pr, reason);
	if (r < 0)
		test_fail(__FILE__, __LINE__, "restore: %d %s", r, reason);
	mem = read_mem(&g);
	for (uint64_t pfn = 0; pfn < MEM_PAGES; pfn++) {
		const uint8_t *want = fx_page(&g.m, pfn * PAGE), *got = mem + pfn * PAGE;
		bool saved = want && !fx_page_excluded(&g.m, pfn * PAGE);

		for (uint64_t k = 0; k < PAGE; k++)
			if (got[k] != (saved ? want[k] : STALE))
				test_fail(__FILE__, __LINE__, "page %" PRIu64 " byte %" PRIu64 ": "
					  "0x%02x, want 0x%02x (%s page)", pfn, k, got[k],
					  saved ? want[k] : STALE, saved ? "saved" : "unsaved");
		if (saved) {
			bool z = true;

			for (uint64_t k = 0; k < PAGE && z; k++)
				z = !want[k];
			zero += z;
			data += !z;
		} else {
			kept++;
		}
	}
	free(mem);
	/* The fixture has pages of each kind, and progress saw all of them. */
	ASSERT_EQ(data, g.m.stored);
	ASSERT_EQ(zero, g.m.zero);
	ASSERT_TRUE(data && zero && g.m.excluded);
	ASSERT_EQ(kept, MEM_PAGES - data - zero);
	ASSERT_TRUE(pr.calls > 0);
	ASSERT_EQ(pr.backwards, 0);
	ASSERT_EQ(pr.last_total, khib_reader_info(g.rd)->saved_pages);
	ASSERT_EQ(pr.last_done, pr.last_total);
	ASSERT_EQ(pr.last_total, g.m.stored + g.m.zero + g.m.excluded);
	rig_release(&g);
}

TEST(restore_memory_writes_every_page)
{
	restore_and_compare(KHIB_CODEC_LZ4, 16, false);
	restore_and_compare(KHIB_CODEC_ZSTD, 5, true);
	restore_and_compare(KHIB_CODEC_NONE, 64, false);
}

/* A range that overlaps R's region or low memory: nothing written. */
TEST(restore_memory_refuses_own_ram)
{
	static const struct { uint64_t start, bytes; bool low; } own[] = {
		{ 216 * PAGE, 8 * PAGE, false },	/* the last saved page, 0xd8000 */
		{ 30 * PAGE, PAGE, false },
		{ 8 * PAGE, 2 * PAGE, true },		/* low memory over pages 8-9 */
	};
	static struct khib_handoff h;
	uint8_t stale[PAGE];

	memset(stale, STALE, sizeof(stale));
	for (size_t i = 0; i < ARRAY_SIZE(own); i++) {
		struct rig g;
		char reason[KHIB_REASON_MAX] = "";
		uint8_t *mem;

		rig_init(&g, KHIB_CODEC_LZ4, 16);
		handoff(&h);
		if (own[i].low) {
			h.low_start = own[i].start;
			h.low_bytes = own[i].bytes;
		} else {
			h.region_start = own[i].start;
			h.region_bytes = own[i].bytes;
		}
		ASSERT_EQ(khib_restore_memory(g.rd, &h, g.devmem, 2, false, NULL, NULL, reason),
			  -EINVAL);
		ASSERT_STREQ(reason, "the image covers the restore kernel's own RAM");
		mem = read_mem(&g);
		for (uint64_t pfn = 0; pfn < MEM_PAGES; pfn++)
			if (memcmp(mem + pfn * PAGE, stale, PAGE))
				test_fail(__FILE__, __LINE__, "case %zu: page %" PRIu64 " written",
					  i, pfn);
		free(mem);
		rig_release(&g);
	}
}

/* The memory device missing: its error, not a crash or a success. */
TEST(restore_memory_no_devmem)
{
	static struct khib_handoff h;
	char reason[KHIB_REASON_MAX] = "";
	struct rig g;

	rig_init(&g, KHIB_CODEC_LZ4, 16);
	handoff(&h);
	ASSERT_OK(unlink(g.devmem));
	ASSERT_EQ(khib_restore_memory(g.rd, &h, g.devmem, 2, false, NULL, NULL, reason), -ENOENT);
	rig_release(&g);
}

static int device(const char *cmdline, char *path, size_t n)
{
	char file[512];

	test_put_text("/cmdline", cmdline);
	snprintf(file, sizeof(file), "%s/root/cmdline", test_tmpdir());
	memset(path, 0, n);
	return khib_restore_configured_device(file, path, n);
}

TEST(restore_configured_device)
{
	char path[64], small[24];

	ASSERT_OK(device("BOOT_IMAGE=/vmlinuz khib.resume=/dev/vdb quiet\n", path, sizeof(path)));
	ASSERT_STREQ(path, "/dev/vdb");
	ASSERT_OK(device("khib.resume=UUID=1234-abcd ro", path, sizeof(path)));
	ASSERT_STREQ(path, "/dev/disk/by-uuid/1234-abcd");
	ASSERT_OK(device("ro khib.resume=PARTUUID=0a1b-02\n", path, sizeof(path)));
	ASSERT_STREQ(path, "/dev/disk/by-partuuid/0a1b-02");
	/* Not the other khib.* words, nor a word that only ends the same. */
	ASSERT_EQ(device("khib.role=restore xkhib.resume=/dev/sda\n", path, sizeof(path)),
		  -ENOENT);
	ASSERT_EQ(device("khib.resume= quiet\n", path, sizeof(path)), -EINVAL);
	ASSERT_EQ(device("khib.resume=UUID=\n", path, sizeof(path)), -EINVAL);
	ASSERT_EQ(device("khib.resume=PARTUUID=\n", path, sizeof(path)), -EINVAL);
	/* "/dev/disk/by-uuid/" and 6 characters and the NUL fill 25 bytes. */
	ASSERT_EQ(device("khib.resume=UUID=abcdef\n", small, sizeof(small)), -ENAMETOOLONG);
	ASSERT_OK(device("khib.resume=UUID=abcde\n", small, sizeof(small)));
	ASSERT_STREQ(small, "/dev/disk/by-uuid/abcde");
	ASSERT_EQ(khib_restore_configured_device("/nonexistent/cmdline", path, sizeof(path)),
		  -ENOENT);
}
