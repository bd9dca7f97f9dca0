/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The memory-source module (lib/system/physmem.h) against a file standing in for
 * /dev/mem: the file offset is the physical address, and mmap() of a file
 * behaves as mmap() of /dev/mem does for what physmem relies on (page-
 * granular offsets, MAP_SHARED writes reaching the "memory").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "fileio.h"
#include "physmem.h"
#include "util.h"

#define MEM_BYTES (64 * 1024)

/* Byte k of the fake memory. */
static uint8_t mem_byte(uint64_t k)
{
	return (uint8_t)(k * 131 + (k >> 12) * 7 + 1);
}

static const char *fake_devmem(void)
{
	static char path[512];
	uint8_t *buf = malloc(MEM_BYTES);
	int fd;

	ASSERT_TRUE(buf != NULL);
	for (uint64_t k = 0; k < MEM_BYTES; k++)
		buf[k] = mem_byte(k);
	snprintf(path, sizeof(path), "%s/mem", test_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(write(fd, buf, MEM_BYTES), MEM_BYTES);
	close(fd);
	free(buf);
	return path;
}

TEST(physmem_map_unaligned_range)
{
	const char *mem = fake_devmem();
	struct khib_physmap m;

	/* Starts mid-page and ends in the next-but-one page. */
	ASSERT_OK(khib_physmem_map(mem, 0x1234, 0x2100, 0, &m));
	ASSERT_EQ(m.bytes, 0x2100);
	ASSERT_EQ(m.map_bytes, 0x3000);
	ASSERT_TRUE(m.ptr == (uint8_t *)m.base + 0x234);
	for (uint64_t k = 0; k < m.bytes; k++)
		if (m.ptr[k] != mem_byte(0x1234 + k))
			test_fail(__FILE__, __LINE__, "byte 0x%" PRIx64 " differs", 0x1234 + k);
	khib_physmem_unmap(&m);
	ASSERT_TRUE(m.base == NULL && m.ptr == NULL);
	khib_physmem_unmap(&m);	/* twice, and NULL: no-ops */
	khib_physmem_unmap(NULL);
}

TEST(physmem_read)
{
	const char *mem = fake_devmem();
	uint8_t buf[5000], want[5000];

	for (size_t k = 0; k < sizeof(want); k++)
		want[k] = mem_byte(0x3ffe + k);
	memset(buf, 0, sizeof(buf));
	ASSERT_OK(khib_physmem_read(mem, 0x3ffe, buf, sizeof(buf)));
	ASSERT_MEMEQ(buf, want, sizeof(buf));
}

TEST(physmem_write_reaches_memory)
{
	const char *mem = fake_devmem();
	struct khib_physmap m;
	uint8_t back[16];
	int fd;

	ASSERT_OK(khib_physmem_map(mem, 0x5ff8, 16, 1, &m));
	memcpy(m.ptr, "khib was here!!!", 16);
	khib_physmem_unmap(&m);
	fd = open(mem, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(pread(fd, back, sizeof(back), 0x5ff8), (ssize_t)sizeof(back));
	close(fd);
	ASSERT_MEMEQ(back, "khib was here!!!", 16);
	/* The bytes around it are untouched. */
	ASSERT_OK(khib_physmem_read(mem, 0x5ff7, back, 1));
	ASSERT_EQ(back[0], mem_byte(0x5ff7));
	ASSERT_OK(khib_physmem_read(mem, 0x6008, back, 1));
	ASSERT_EQ(back[0], mem_byte(0x6008));
}

TEST(physmem_refusals)
{
	const char *mem = fake_devmem();
	struct khib_physmap m = { .base = &m };
	char missing[512];
	uint8_t b;

	ASSERT_EQ(khib_physmem_map(mem, 0x1000, 0, 0, &m), -EINVAL);
	/* A range that would wrap, or end past the last page: refused, not mapped. */
	ASSERT_EQ(khib_physmem_map(mem, UINT64_MAX - 100, 10, 0, &m), -EINVAL);
	ASSERT_EQ(khib_physmem_map(mem, 0x1000, SIZE_MAX, 0, &m), -EINVAL);
	ASSERT_EQ(khib_physmem_read(mem, UINT64_MAX - KHIB_PAGE_SIZE, &b, 1), -EINVAL);
	snprintf(missing, sizeof(missing), "%s/nomem", test_tmpdir());
	ASSERT_EQ(khib_physmem_map(missing, 0, 1, 0, &m), -ENOENT);
	ASSERT_EQ(khib_physmem_read(missing, 0, &b, 1), -ENOENT);
	/* Output parameters are written only on success. */
	ASSERT_TRUE(m.base == &m);
}

/* Is CAP_SYS_ADMIN in this process's effective set?  pagemap shows PFNs
 * only then. */
static bool have_sys_admin(void)
{
	_cleanup_free_ char *status = NULL;
	unsigned long long eff;
	const char *p;

	if (khib_read_file("/proc/self/status", 1 << 20, &status, NULL) < 0 ||
	    !(p = strstr(status, "\nCapEff:")) || sscanf(p + 8, "%llx", &eff) != 1)
		return false;
	return eff & (1ULL << 21);
}

TEST(physmem_pin_page)
{
	struct khib_pinned_page pin = { 0 }, none = { 0 };
	uint64_t again = 0;
	int r = khib_physmem_pin_page(&pin);

	if (!have_sys_admin()) {
		ASSERT_EQ(r, -EPERM);
		ASSERT_TRUE(pin.page == NULL);
		return;
	}
	ASSERT_OK(r);
	ASSERT_TRUE(pin.page != NULL);
	ASSERT_EQ((uintptr_t)pin.page % KHIB_PAGE_SIZE, 0);
	ASSERT_TRUE(pin.paddr != 0);
	ASSERT_EQ(pin.paddr % KHIB_PAGE_SIZE, 0);
	ASSERT_OK(khib_physmem_page_paddr(pin.page, &again));
	ASSERT_EQ_U64(again, pin.paddr);
	/* The pipe holds the page: compaction, which moves locked pages
	 * (lib/system/physmem.h), leaves it where it is.  Many pinned pages,
	 * so that a pin that holds nothing shows. */
	ASSERT_TRUE(pin.pipe_fd[0] >= 0 && pin.pipe_fd[1] >= 0);
	struct khib_pinned_page more[64] = { 0 };
	for (size_t i = 0; i < 64; i++)
		ASSERT_OK(khib_physmem_pin_page(&more[i]));
	int fd = open("/proc/sys/vm/compact_memory", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		ASSERT_EQ(write(fd, "1", 1), 1);
		close(fd);
	}
	ASSERT_OK(khib_physmem_page_paddr(pin.page, &again));
	ASSERT_EQ_U64(again, pin.paddr);
	for (size_t i = 0; i < 64; i++) {
		ASSERT_OK(khib_physmem_page_paddr(more[i].page, &again));
		ASSERT_EQ_U64(again, more[i].paddr);
		khib_physmem_unpin_page(&more[i]);
	}
	khib_physmem_unpin_page(&pin);
	ASSERT_TRUE(pin.page == NULL);
	khib_physmem_unpin_page(&pin);
	khib_physmem_unpin_page(&none);
}

/* Accepts a frame only after `skip` calls: the first candidates, in one
 * batch and into the next, are turned down. */
struct pick {
	size_t calls, skip;
};

static bool pick_late(const void *ctx, uint64_t paddr)
{
	struct pick *p = (struct pick *)ctx;

	(void)paddr;
	return ++p->calls > p->skip;
}

TEST(physmem_pin_page_where)
{
	struct khib_pinned_page pin = { 0 };
	struct pick late = { .skip = 300 }, never = { .skip = SIZE_MAX };
	uint64_t again = 0;
	int r = khib_physmem_pin_page_where(pick_late, &late, 1024, &pin);

	if (!have_sys_admin()) {
		ASSERT_EQ(r, -EPERM);
		ASSERT_TRUE(pin.page == NULL);
		return;
	}
	ASSERT_OK(r);
	/* 300 turned down (256 in the first batch), the next accepted: it
	 * was asked once more after the pipe took the page. */
	ASSERT_EQ(late.calls, 302);
	ASSERT_TRUE(pin.pipe_fd[0] >= 0);
	ASSERT_OK(khib_physmem_page_paddr(pin.page, &again));
	ASSERT_EQ_U64(again, pin.paddr);
	/* The page is its own mapping now: writing it and unpinning it leave
	 * the rest of its batch, which is gone, alone. */
	memset(pin.page, 0xa5, KHIB_PAGE_SIZE);
	khib_physmem_unpin_page(&pin);
	ASSERT_TRUE(pin.page == NULL);

	ASSERT_EQ(khib_physmem_pin_page_where(pick_late, &never, 600, &pin), -EADDRINUSE);
	ASSERT_EQ(never.calls, 600);
	ASSERT_TRUE(pin.page == NULL);
}
