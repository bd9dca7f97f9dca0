/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ELF core header `khib hibernate` passes to the writer kernel with
 * elfcorehdr=: built from a jump config, then read back the way
 * fs/proc/vmcore.c reads it, from physical memory, with lib/elfcore's
 * parser (p_offset is a physical address, so the "file" is a fake physical
 * address space holding the header at 0 and the VMCOREINFO note in place).
 */
#include "elfcore.h"
#include "harness.h"
#include "image.h"
#include "kexec.h"
#include "save.h"
#include "test_kexec_fixture.h"
#include "util.h"

#include <elf.h>
#include <stdlib.h>

/* As the kernel lays it out (kernel/crash_core.c): one note, then an empty
 * one, in a buffer of VMCOREINFO_NOTE_SIZE bytes. */
#define NOTE_BYTES (12 * 2 + 12 + 4096)
static const char vmci[] = "OSRELEASE=6.1.192\nPAGESIZE=4096\nSYMBOL(init_top_pgt)=ffffffff8a40a000\n"
			   "KERNELOFFSET=9000000\n";

static void fill_note(uint8_t *n)
{
	memset(n, 0, NOTE_BYTES);
	khib_put_le32(n, sizeof("VMCOREINFO"));
	khib_put_le32(n + 4, sizeof(vmci) - 1);
	memcpy(n + 12, "VMCOREINFO", sizeof("VMCOREINFO"));
	memcpy(n + 24, vmci, sizeof(vmci) - 1);
}

struct phys {
	const uint8_t *hdr;
	size_t hdr_bytes;
	uint64_t note_paddr;
	uint8_t note[NOTE_BYTES];
};

static int phys_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct phys *m = ctx;

	if (khib_range_within(off, len, m->hdr_bytes)) {
		memcpy(buf, m->hdr + off, len);
		return 0;
	}
	if (off >= m->note_paddr && khib_range_within(off - m->note_paddr, len, NOTE_BYTES)) {
		memcpy(buf, m->note + (off - m->note_paddr), len);
		return 0;
	}
	return -EIO;
}

/* QEMU 512 MiB, a 64 MiB region at the top, low memory below 640 KiB. */
static void config_512m(struct khib_jump_config *cfg, struct khib_memmap *fw)
{
	qemu_512m(fw);
	*cfg = (struct khib_jump_config){
		.region_start = 0x1be00000,
		.region_bytes = 64 * MiB,
		.firmware = fw,
	};
	ASSERT_OK(khib_kexec_low_memory(fw, &cfg->low_start, &cfg->low_bytes));
	cfg->handoff.nr_ranges = 0;
	for (size_t i = 0; i < fw->n; i++)
		if (fw->r[i].type == KHIB_E820_RAM) {
			cfg->handoff.ranges[cfg->handoff.nr_ranges].start = fw->r[i].start;
			cfg->handoff.ranges[cfg->handoff.nr_ranges].bytes = fw->r[i].end - fw->r[i].start;
			cfg->handoff.nr_ranges++;
		}
	cfg->handoff.vmcoreinfo_paddr = 0x3ffe000;
	cfg->handoff.vmcoreinfo_bytes = NOTE_BYTES;
}

/* Build, check the raw headers, parse back, compare with the saved ranges. */
static void check_header(const struct khib_jump_config *cfg)
{
	static struct phys m;
	struct khib_handoff h = cfg->handoff;
	_cleanup_free_ uint8_t *hdr = NULL;
	_cleanup_free_ struct khib_range *rg = NULL;
	struct khib_elfcore *c = NULL;
	char reason[KHIB_REASON_MAX] = "";
	size_t bytes, n;
	uint64_t total;
	const uint8_t *ph;

	ASSERT_OK(khib_kexec_build_elfcorehdr(cfg, &hdr, &bytes));
	h.region_start = cfg->region_start;
	h.region_bytes = cfg->region_bytes;
	h.low_start = cfg->low_start;
	h.low_bytes = cfg->low_bytes;
	ASSERT_OK(khib_save_ranges(&h, &rg, &n, &total));
	ASSERT_EQ(bytes, sizeof(Elf64_Ehdr) + (n + 1) * sizeof(Elf64_Phdr));
	ASSERT_TRUE(bytes <= 4096);

	/* What fs/proc/vmcore.c checks, and the note in place. */
	ASSERT_MEMEQ(hdr, ELFMAG, SELFMAG);
	ASSERT_EQ(hdr[EI_CLASS], ELFCLASS64);
	ASSERT_EQ(khib_get_le16(hdr + offsetof(Elf64_Ehdr, e_type)), ET_CORE);
	ASSERT_EQ(khib_get_le16(hdr + offsetof(Elf64_Ehdr, e_machine)), EM_X86_64);
	ASSERT_EQ(khib_get_le32(hdr + offsetof(Elf64_Ehdr, e_version)), EV_CURRENT);
	ASSERT_EQ(khib_get_le16(hdr + offsetof(Elf64_Ehdr, e_ehsize)), sizeof(Elf64_Ehdr));
	ASSERT_EQ(khib_get_le16(hdr + offsetof(Elf64_Ehdr, e_phentsize)), sizeof(Elf64_Phdr));
	ASSERT_EQ(khib_get_le16(hdr + offsetof(Elf64_Ehdr, e_phnum)), n + 1);
	ph = hdr + sizeof(Elf64_Ehdr);
	ASSERT_EQ(khib_get_le32(ph + offsetof(Elf64_Phdr, p_type)), PT_NOTE);
	ASSERT_EQ_U64(khib_get_le64(ph + offsetof(Elf64_Phdr, p_offset)), h.vmcoreinfo_paddr);
	ASSERT_EQ_U64(khib_get_le64(ph + offsetof(Elf64_Phdr, p_paddr)), h.vmcoreinfo_paddr);
	ASSERT_EQ_U64(khib_get_le64(ph + offsetof(Elf64_Phdr, p_memsz)), NOTE_BYTES);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = ph + (i + 1) * sizeof(Elf64_Phdr);

		ASSERT_EQ(khib_get_le32(p + offsetof(Elf64_Phdr, p_type)), PT_LOAD);
		ASSERT_EQ_U64(khib_get_le64(p + offsetof(Elf64_Phdr, p_offset)), rg[i].paddr);
		ASSERT_EQ_U64(khib_get_le64(p + offsetof(Elf64_Phdr, p_paddr)), rg[i].paddr);
		ASSERT_EQ_U64(khib_get_le64(p + offsetof(Elf64_Phdr, p_vaddr)), UINT64_MAX);
		ASSERT_EQ_U64(khib_get_le64(p + offsetof(Elf64_Phdr, p_filesz)), rg[i].npages * 4096);
		ASSERT_EQ_U64(khib_get_le64(p + offsetof(Elf64_Phdr, p_memsz)), rg[i].npages * 4096);
	}

	m.hdr = hdr;
	m.hdr_bytes = bytes;
	m.note_paddr = h.vmcoreinfo_paddr;
	fill_note(m.note);
	ASSERT_OK(khib_elfcore_parse(phys_read, &m, UINT64_MAX, &c, reason));
	ASSERT_EQ(c->machine, EM_X86_64);
	ASSERT_EQ(c->n_loads, n);
	for (size_t i = 0; i < n; i++) {
		ASSERT_EQ_U64(c->loads[i].paddr, rg[i].paddr);
		ASSERT_EQ_U64(c->loads[i].offset, rg[i].paddr);
		ASSERT_EQ_U64(c->loads[i].memsz, rg[i].npages * 4096);
		ASSERT_EQ_U64(c->loads[i].filesz, c->loads[i].memsz);
		/* Nothing of the writer's own memory is offered as N's. */
		ASSERT_TRUE(!khib_ranges_overlap(rg[i].paddr, c->loads[i].memsz, cfg->region_start,
						 cfg->region_bytes));
		ASSERT_TRUE(!khib_ranges_overlap(rg[i].paddr, c->loads[i].memsz, cfg->low_start,
						 cfg->low_bytes));
	}
	ASSERT_STREQ((const char *)c->vmcoreinfo, vmci);
	khib_elfcore_free(c);
}

TEST(elfcorehdr_512m)
{
	static struct khib_memmap fw;
	struct khib_jump_config cfg;

	config_512m(&cfg, &fw);
	check_header(&cfg);
	{
		/* The page below low memory, the RAM below the region, above it. */
		_cleanup_free_ uint8_t *hdr = NULL;
		struct khib_elfcore *c = NULL;
		static struct phys m;
		size_t bytes;

		ASSERT_OK(khib_kexec_build_elfcorehdr(&cfg, &hdr, &bytes));
		m.hdr = hdr;
		m.hdr_bytes = bytes;
		m.note_paddr = cfg.handoff.vmcoreinfo_paddr;
		fill_note(m.note);
		ASSERT_OK(khib_elfcore_parse(phys_read, &m, UINT64_MAX, &c, NULL));
		ASSERT_EQ(c->n_loads, 3);
		ASSERT_EQ_U64(c->loads[0].paddr, 0);
		ASSERT_EQ_U64(c->loads[0].memsz, 0x1000);
		ASSERT_EQ_U64(c->loads[1].paddr, 0x100000);
		ASSERT_EQ_U64(c->loads[1].memsz, 0x1be00000 - 0x100000);
		ASSERT_EQ_U64(c->loads[2].paddr, 0x1fe00000);
		ASSERT_EQ_U64(c->loads[2].memsz, 0x1ffe0000 - 0x1fe00000);
		khib_elfcore_free(c);
	}
}

TEST(elfcorehdr_4g)
{
	static struct khib_memmap fw;
	struct khib_jump_config cfg;

	config_512m(&cfg, &fw);
	qemu_4g(&fw);
	cfg.handoff.nr_ranges = 3;
	cfg.handoff.ranges[0].start = 0;
	cfg.handoff.ranges[0].bytes = 0x9fc00;
	cfg.handoff.ranges[1].start = 0x100000;
	cfg.handoff.ranges[1].bytes = 0x7fee0000;
	cfg.handoff.ranges[2].start = 0x100000000ULL;
	cfg.handoff.ranges[2].bytes = 2 * GiB;
	cfg.region_start = 0x178000000ULL;
	cfg.region_bytes = 128 * MiB;
	cfg.handoff.vmcoreinfo_paddr = 0x110000000ULL; /* above 4 GiB */
	check_header(&cfg);
}

/* Without a note, or with one the writer kernel cannot see as N's. */
TEST(elfcorehdr_refused)
{
	static struct khib_memmap fw;
	struct khib_jump_config cfg;
	uint8_t *hdr = (uint8_t *)0x5a;
	size_t bytes = 77;

	config_512m(&cfg, &fw);
	cfg.handoff.vmcoreinfo_bytes = 0;
	ASSERT_EQ(khib_kexec_build_elfcorehdr(&cfg, &hdr, &bytes), -ENODATA);
	cfg.handoff.vmcoreinfo_bytes = NOTE_BYTES;
	/* In the region, straddling its start, in low memory, past the end of
	 * RAM, in a firmware hole. */
	static const uint64_t bad[] = { 0x1c000000, 0x1be00000 - 0x800, 0x2000, 0x1ffdf800,
					0x9f800, 0xa0000 };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cfg.handoff.vmcoreinfo_paddr = bad[i];
		ASSERT_EQ(khib_kexec_build_elfcorehdr(&cfg, &hdr, &bytes), -ERANGE);
	}
	ASSERT_TRUE(hdr == (uint8_t *)0x5a);
	ASSERT_EQ(bytes, 77);
	/* Right up to the region is fine. */
	cfg.handoff.vmcoreinfo_paddr = 0x1be00000 - NOTE_BYTES;
	check_header(&cfg);
	cfg.handoff.vmcoreinfo_paddr = 0x1fe00000;
	check_header(&cfg);
}

/* The most ranges a handoff holds still give a one-page header. */
TEST(elfcorehdr_many_ranges)
{
	static struct khib_memmap fw;
	struct khib_jump_config cfg;

	config_512m(&cfg, &fw);
	cfg.handoff.nr_ranges = KHIB_HANDOFF_MAX_RANGES;
	for (uint32_t i = 0; i < KHIB_HANDOFF_MAX_RANGES; i++) {
		cfg.handoff.ranges[i].start = 0x100000 + 0x400000ULL * i;
		cfg.handoff.ranges[i].bytes = 0x200000;
	}
	/* The last one runs through the region, which cuts it in two. */
	cfg.handoff.ranges[63].bytes = 0x1ffe0000 - cfg.handoff.ranges[63].start;
	cfg.handoff.vmcoreinfo_paddr = 0x100000;
	check_header(&cfg);
	{
		_cleanup_free_ uint8_t *hdr = NULL;
		size_t bytes;

		ASSERT_OK(khib_kexec_build_elfcorehdr(&cfg, &hdr, &bytes));
		ASSERT_EQ(bytes, sizeof(Elf64_Ehdr) + 66 * sizeof(Elf64_Phdr));
	}
	check_header(&cfg);
}

TEST(elfcore_build_phys_refused)
{
	struct khib_elf_load l = { .paddr = 0x100000, .memsz = 4096 };
	uint8_t *hdr = NULL;
	size_t bytes = 0;

	ASSERT_EQ(khib_elfcore_build_phys(&l, 0, EM_X86_64, 0x1000, 100, &hdr, &bytes), -EINVAL);
	ASSERT_EQ(khib_elfcore_build_phys(&l, 1, EM_X86_64, 0x1000, 0, &hdr, &bytes), -EINVAL);
	ASSERT_TRUE(hdr == NULL);
	ASSERT_OK(khib_elfcore_build_phys(&l, 1, EM_X86_64, 0x1000, 100, &hdr, &bytes));
	ASSERT_EQ(bytes, sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr));
	ASSERT_EQ_U64(l.offset, 0x100000);
	ASSERT_EQ_U64(l.filesz, 4096);
	free(hdr);
}
