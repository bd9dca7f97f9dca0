/* SPDX-License-Identifier: GPL-2.0-only */
#include "elfcore.h"
#include "elfcore_file.h"
#include "fileio.h"
#include "harness.h"
#include "util.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

static const char vmci[] = "OSRELEASE=6.1.0\nPAGESIZE=4096\nNUMBER(phys_base)=0\n";

/* A core of two loads (paddr 0x1000 x2 pages, 0x100000 x1 page) in memory. */
static uint8_t *build_core(size_t *ret_len, struct khib_elf_load *loads)
{
	uint8_t *hdr, *file;
	size_t hlen;
	uint64_t flen;

	loads[0] = (struct khib_elf_load){ .paddr = 0x1000, .vaddr = 0xffff888000001000ULL, .memsz = 8192 };
	loads[1] = (struct khib_elf_load){ .paddr = 0x100000, .vaddr = 0xffff888000100000ULL, .memsz = 4096 };
	ASSERT_OK(khib_elfcore_build(loads, 2, EM_X86_64, vmci, sizeof(vmci) - 1, &hdr, &hlen, &flen));
	file = calloc(1, flen);
	memcpy(file, hdr, hlen);
	for (int i = 0; i < 2; i++)
		memset(file + loads[i].offset, 0x30 + i, loads[i].memsz);
	free(hdr);
	*ret_len = flen;
	return file;
}

TEST(elfcore_build_and_parse)
{
	struct khib_elf_load loads[2];
	struct khib_elfcore *c;
	size_t len;
	_cleanup_free_ uint8_t *f = build_core(&len, loads);

	ASSERT_OK(khib_elfcore_parse_mem(f, len, &c, NULL));
	ASSERT_EQ(c->machine, EM_X86_64);
	ASSERT_EQ(c->n_loads, 2);
	ASSERT_EQ_U64(c->loads[1].paddr, 0x100000);
	ASSERT_EQ_U64(c->loads[1].vaddr, 0xffff888000100000ULL);
	ASSERT_EQ_U64(c->loads[1].offset, loads[1].offset);
	ASSERT_EQ_U64(c->loads[0].filesz, 8192);
	ASSERT_EQ(f[c->loads[1].offset], 0x31);
	ASSERT_EQ(c->loads[0].offset % 4096, 0);
	ASSERT_EQ(c->vmcoreinfo_bytes, sizeof(vmci) - 1);
	ASSERT_STREQ((const char *)c->vmcoreinfo, vmci);
	khib_elfcore_free(c);
}

TEST(elfcore_rejects_malformed)
{
	struct khib_elf_load loads[2];
	struct khib_elfcore *c;
	char reason[KHIB_REASON_MAX];
	size_t len;
	_cleanup_free_ uint8_t *f = build_core(&len, loads);
	Elf64_Phdr *ph = (Elf64_Phdr *)(void *)(f + sizeof(Elf64_Ehdr));

	/* Every truncation fails cleanly (the data of the last load is last). */
	for (size_t l = 0; l < len; l += (l < 512 ? 1 : 509))
		ASSERT_TRUE(khib_elfcore_parse_mem(f, l, &c, reason) < 0);
	ph[1].p_filesz = 1ULL << 62; /* first PT_LOAD: past the end */
	ASSERT_EQ(khib_elfcore_parse_mem(f, len, &c, reason), -EBADMSG);
	ASSERT_STREQ(reason, "PT_LOAD 1: data past the end of the file");
	ph[1].p_filesz = 8192;
	ph[0].p_filesz = 0xffffffff; /* the note segment */
	ASSERT_EQ(khib_elfcore_parse_mem(f, len, &c, reason), -EBADMSG);
	ph[0].p_filesz = 12 + 12 + sizeof(vmci) - 1;
	khib_put_le32(f + ph[0].p_offset + 4, 0xfffffff0); /* descsz */
	ASSERT_EQ(khib_elfcore_parse_mem(f, len, &c, reason), -EBADMSG);
	f[EI_CLASS] = ELFCLASS32;
	ASSERT_EQ(khib_elfcore_parse_mem(f, len, &c, reason), -EOPNOTSUPP);
	f[0] = 0;
	ASSERT_EQ(khib_elfcore_parse_mem(f, len, &c, reason), -EBADMSG);
	ASSERT_STREQ(reason, "not an ELF file");
}

TEST(elfcore_parse_fd)
{
	struct khib_elf_load loads[2];
	struct khib_elfcore *c;
	char path[300];
	size_t len;
	_cleanup_free_ uint8_t *f = build_core(&len, loads);
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s/core", test_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_OK(khib_pwrite_all(fd, f, len, 0));
	ASSERT_OK(khib_elfcore_parse_fd(fd, &c, NULL));
	ASSERT_EQ(c->n_loads, 2);
	ASSERT_TRUE(c->vmcoreinfo != NULL);
	khib_elfcore_free(c);
}

/* Every failure has its reason, not only a malformed file's. */
TEST(elfcore_parse_reasons)
{
	char path[300], reason[KHIB_REASON_MAX] = "";
	struct khib_elfcore *c;

	snprintf(path, sizeof(path), "%s/no-such-core", test_tmpdir());
	ASSERT_EQ(khib_elfcore_parse_path(path, &c, reason), -ENOENT);
	ASSERT_STREQ(reason, "No such file or directory");
	ASSERT_EQ(khib_elfcore_parse_path(test_tmpdir(), &c, reason), -ENOTBLK);
	ASSERT_STREQ(reason, "not a regular file or block device");
	ASSERT_EQ(khib_elfcore_parse_fd(-1, &c, reason), -EBADF);
	ASSERT_STREQ(reason, "Bad file descriptor");
}

#ifdef KHIB_READELF
/* binutils reads what we write: two LOADs and the VMCOREINFO note. */
TEST(elfcore_readelf_reads_it)
{
	struct khib_elf_load loads[2];
	char path[300], cmd[400], line[512];
	size_t len;
	_cleanup_free_ uint8_t *f = build_core(&len, loads);
	_cleanup_close_ int fd = -1;
	int n_load = 0, n_vmci = 0;
	FILE *p;

	snprintf(path, sizeof(path), "%s/core", test_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_OK(khib_pwrite_all(fd, f, len, 0));
	snprintf(cmd, sizeof(cmd), "%s -W -l -n '%s' 2>&1", KHIB_READELF, path);
	p = popen(cmd, "r");
	ASSERT_TRUE(p != NULL);
	while (fgets(line, sizeof(line), p)) {
		n_load += strstr(line, "LOAD") != NULL;
		n_vmci += strstr(line, "VMCOREINFO") != NULL;
		ASSERT_TRUE(!strstr(line, "Warning") && !strstr(line, "Error"));
	}
	ASSERT_EQ(pclose(p), 0);
	ASSERT_EQ(n_load, 2);
	ASSERT_TRUE(n_vmci >= 1);
}
#endif

/* A little physical memory of 16 pages at 0, for the kexec swap list. */
struct fake_ram {
	uint8_t pages[16][4096];
	int reads;
};

static int fake_read_page(void *ctx, uint64_t paddr, void *page)
{
	struct fake_ram *m = ctx;

	m->reads++;
	if (paddr % 4096 || paddr / 4096 >= 16)
		return -ENOENT;
	memcpy(page, m->pages[paddr / 4096], 4096);
	return 0;
}

static void put_entry(struct fake_ram *m, unsigned pfn, unsigned slot, uint64_t entry)
{
	khib_put_le64(m->pages[pfn] + 8 * slot, entry);
}

/* Control page 1 (jump-back entry inside it) names the list head: page 2,
 * whose last slot moves on to page 3, as the kernel's kimage list does. */
static void build_swap_list(struct fake_ram *m)
{
	memset(m, 0, sizeof(*m));
	khib_put_le64(m->pages[1] + 0x830, 0x2000 | 0x2);
	put_entry(m, 2, 0, 0x100000 | 0x1); /* destination 0x100000 */
	put_entry(m, 2, 1, 0x5000 | 0x8);   /* its source */
	put_entry(m, 2, 2, 0x6000 | 0x8);   /* 0x101000 from 0x6000 */
	for (unsigned s = 3; s < 511; s++)
		put_entry(m, 2, s, 0); /* skipped, as by swap_pages */
	put_entry(m, 2, 511, 0x3000 | 0x2);
	put_entry(m, 3, 0, 0x200000 | 0x1);
	put_entry(m, 3, 1, 0x7000 | 0x8);
	put_entry(m, 3, 2, 0x4);
}

TEST(elfcore_kexec_swaps)
{
	struct fake_ram *m = calloc(1, sizeof(*m));
	struct khib_page_swap *s;
	size_t n;

	build_swap_list(m);
	ASSERT_OK(khib_elfcore_kexec_swaps(fake_read_page, m, 0x10fb, 3, &s, &n));
	ASSERT_EQ(n, 3);
	ASSERT_EQ_U64(s[0].dest_paddr, 0x100000);
	ASSERT_EQ_U64(s[0].src_paddr, 0x5000);
	ASSERT_EQ_U64(s[1].dest_paddr, 0x101000);
	ASSERT_EQ_U64(s[1].src_paddr, 0x6000);
	ASSERT_EQ_U64(s[2].dest_paddr, 0x200000);
	ASSERT_EQ_U64(s[2].src_paddr, 0x7000);
	free(s);

	/* More sources than the caller's bound. */
	ASSERT_EQ(khib_elfcore_kexec_swaps(fake_read_page, m, 0x10fb, 2, &s, &n), -EBADMSG);
	/* No jump-back entry; a control page not in the dump. */
	ASSERT_EQ(khib_elfcore_kexec_swaps(fake_read_page, m, 0, 3, &s, &n), -ENODATA);
	ASSERT_EQ(khib_elfcore_kexec_swaps(fake_read_page, m, 0x40000, 3, &s, &n), -ENOENT);
	/* A source before any destination. */
	put_entry(m, 2, 0, 0x9000 | 0x8);
	ASSERT_EQ(khib_elfcore_kexec_swaps(fake_read_page, m, 0x10fb, 3, &s, &n), -EBADMSG);
	/* A page of entries with no way on and no end. */
	build_swap_list(m);
	put_entry(m, 3, 2, 0);
	ASSERT_EQ(khib_elfcore_kexec_swaps(fake_read_page, m, 0x10fb, 3, &s, &n), -EBADMSG);
	/* Indirection pages in a loop: stopped by the budget, after few reads. */
	put_entry(m, 3, 2, 0x2000 | 0x2);
	m->reads = 0;
	ASSERT_EQ(khib_elfcore_kexec_swaps(fake_read_page, m, 0x10fb, 1000, &s, &n), -EBADMSG);
	ASSERT_TRUE(m->reads < 100);
	/* An indirection page outside the dump. */
	put_entry(m, 3, 2, 0x80000 | 0x2);
	ASSERT_EQ(khib_elfcore_kexec_swaps(fake_read_page, m, 0x10fb, 1000, &s, &n), -ENOENT);
	free(m);
}

/* The dump under undo: fake_ram, its pages at 0x100000 and 0x101000 (H's,
 * wanted) written to `written`, in order. */
struct fake_dump {
	struct fake_ram *m;
	uint64_t written[4];
	uint8_t first[4];
	size_t n;
};

static int dump_read(void *ctx, uint64_t paddr, void *page)
{
	return fake_read_page(((struct fake_dump *)ctx)->m, paddr, page);
}

static bool dump_wanted(void *ctx, uint64_t paddr)
{
	(void)ctx;
	return paddr == 0x100000 || paddr == 0x101000;
}

static int dump_write(void *ctx, uint64_t paddr, const void *page)
{
	struct fake_dump *d = ctx;

	if (d->n == 4)
		return -ENOSPC;
	d->first[d->n] = *(const uint8_t *)page;
	d->written[d->n++] = paddr;
	return 0;
}

TEST(elfcore_undo_kexec_swaps)
{
	struct fake_dump d = { .m = calloc(1, sizeof(*d.m)) };
	const struct khib_elf_page_ops ops = { .read = dump_read, .wanted = dump_wanted,
					       .write = dump_write, .ctx = &d };

	build_swap_list(d.m);
	d.m->pages[5][0] = 0x55;
	d.m->pages[6][0] = 0x66;
	ASSERT_OK(khib_elfcore_undo_kexec_swaps(&ops, 0x10fb, 3));
	ASSERT_EQ(d.n, 2); /* 0x200000 is not wanted */
	ASSERT_EQ_U64(d.written[0], 0x100000);
	ASSERT_EQ(d.first[0], 0x55);
	ASSERT_EQ_U64(d.written[1], 0x101000);
	ASSERT_EQ(d.first[1], 0x66);
	/* An unwanted page's source may be missing; a wanted one's may not. */
	put_entry(d.m, 3, 1, 0x90000 | 0x8);
	d.n = 0;
	ASSERT_OK(khib_elfcore_undo_kexec_swaps(&ops, 0x10fb, 3));
	put_entry(d.m, 2, 2, 0x90000 | 0x8);
	ASSERT_EQ(khib_elfcore_undo_kexec_swaps(&ops, 0x10fb, 3), -EBADMSG);
	/* The list's own errors. */
	ASSERT_EQ(khib_elfcore_undo_kexec_swaps(&ops, 0, 3), -ENODATA);
	free(d.m);
}
