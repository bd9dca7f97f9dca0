/* SPDX-License-Identifier: GPL-2.0-only */
#include "elfcore.h"
#include "util.h"

#include <elf.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define VMCOREINFO_NAME "VMCOREINFO"
#define NOTE_ALIGN 4 /* Linux's ELF64 core notes use 4-byte padding */

void khib_elfcore_free(struct khib_elfcore *c)
{
	if (!c)
		return;
	free(c->loads);
	free(c->vmcoreinfo);
	free(c);
}

static int check_ehdr(const uint8_t *e, uint64_t file_bytes, uint64_t *ret_phoff,
		      uint16_t *ret_phnum, char *reason)
{
	uint64_t phoff = khib_get_le64(e + offsetof(Elf64_Ehdr, e_phoff));
	uint16_t phentsize = khib_get_le16(e + offsetof(Elf64_Ehdr, e_phentsize));
	uint16_t phnum = khib_get_le16(e + offsetof(Elf64_Ehdr, e_phnum));

	if (memcmp(e, ELFMAG, SELFMAG))
		return khib_fail(reason, -EBADMSG, "not an ELF file");
	if (e[EI_CLASS] != ELFCLASS64 || e[EI_DATA] != ELFDATA2LSB || e[EI_VERSION] != EV_CURRENT)
		return khib_fail(reason, -EOPNOTSUPP, "not a little-endian ELF64 file");
	if (khib_get_le16(e + offsetof(Elf64_Ehdr, e_type)) != ET_CORE)
		return khib_fail(reason, -EOPNOTSUPP, "not an ELF core file");
	if (phentsize != sizeof(Elf64_Phdr) || phnum == 0 || phnum == PN_XNUM)
		return khib_fail(reason, -EBADMSG, "bad program header table (%u entries of %u bytes)",
			    phnum, phentsize);
	if (!khib_range_within(phoff, (uint64_t)phnum * sizeof(Elf64_Phdr), file_bytes))
		return khib_fail(reason, -EBADMSG, "program headers past the end of the file");
	*ret_phoff = phoff;
	*ret_phnum = phnum;
	return 0;
}

/* Walk a note segment; keep the VMCOREINFO note's text. */
static int parse_notes(struct khib_elfcore *c, const uint8_t *n, uint64_t len, char *reason)
{
	uint64_t p = 0;

	while (len - p >= 12) {
		uint64_t namesz = khib_get_le32(n + p), descsz = khib_get_le32(n + p + 4);
		uint64_t name_off = p + 12, desc_off = name_off + ALIGN_UP(namesz, (uint64_t)NOTE_ALIGN);
		uint64_t next = desc_off + ALIGN_UP(descsz, (uint64_t)NOTE_ALIGN);

		/* Sizes are 32-bit, so these sums cannot wrap a uint64_t. */
		if (desc_off > len || desc_off + descsz > len)
			return khib_fail(reason, -EBADMSG, "note at %" PRIu64 " runs past its segment", p);
		if (namesz == sizeof(VMCOREINFO_NAME) && !memcmp(n + name_off, VMCOREINFO_NAME, namesz) &&
		    !c->vmcoreinfo) {
			c->vmcoreinfo = malloc(descsz + 1);
			if (!c->vmcoreinfo)
				return khib_fail(reason, -ENOMEM, "no memory for the VMCOREINFO note");
			memcpy(c->vmcoreinfo, n + desc_off, descsz);
			c->vmcoreinfo[descsz] = '\0';
			c->vmcoreinfo_bytes = descsz;
		}
		if (next >= len)
			break;
		p = next;
	}
	return 0;
}

static int read_notes(struct khib_elfcore *c, khib_elf_read_fn *rd, void *ctx, uint64_t off,
		      uint64_t len, char *reason)
{
	_cleanup_free_ uint8_t *buf = NULL;
	int r;

	if (!khib_range_within(off, len, c->file_bytes))
		return khib_fail(reason, -EBADMSG, "note segment past the end of the file");
	if (len > KHIB_ELF_MAX_NOTES)
		return khib_fail(reason, -EOVERFLOW, "note segment too large");
	buf = malloc(len + 1);
	if (!buf)
		return khib_fail(reason, -ENOMEM, "no memory for a note segment of %" PRIu64
				 " bytes", len);
	r = rd(ctx, buf, len, off);
	if (r < 0)
		return khib_fail(reason, r, "cannot read notes: %s", strerror(-r));
	return parse_notes(c, buf, len, reason);
}

static int add_load(struct khib_elfcore *c, const uint8_t *ph, size_t idx, char *reason)
{
	struct khib_elf_load *l = &c->loads[c->n_loads];

	l->paddr = khib_get_le64(ph + offsetof(Elf64_Phdr, p_paddr));
	l->vaddr = khib_get_le64(ph + offsetof(Elf64_Phdr, p_vaddr));
	l->offset = khib_get_le64(ph + offsetof(Elf64_Phdr, p_offset));
	l->filesz = khib_get_le64(ph + offsetof(Elf64_Phdr, p_filesz));
	l->memsz = khib_get_le64(ph + offsetof(Elf64_Phdr, p_memsz));
	if (l->filesz > l->memsz || !khib_range_within(l->offset, l->filesz, c->file_bytes))
		return khib_fail(reason, -EBADMSG, "PT_LOAD %zu: data past the end of the file", idx);
	if (!khib_range_within(l->paddr, l->memsz, UINT64_MAX))
		return khib_fail(reason, -EOVERFLOW, "PT_LOAD %zu: address range wraps around", idx);
	c->n_loads++;
	return 0;
}

static int parse(struct khib_elfcore *c, khib_elf_read_fn *rd, void *ctx, char *reason)
{
	uint8_t ehdr[sizeof(Elf64_Ehdr)];
	_cleanup_free_ uint8_t *ph = NULL;
	uint64_t phoff = 0;
	uint16_t phnum = 0;
	int r;

	if (c->file_bytes < sizeof(ehdr))
		return khib_fail(reason, -EBADMSG, "file too short for an ELF header");
	r = rd(ctx, ehdr, sizeof(ehdr), 0);
	if (r < 0)
		return khib_fail(reason, r, "cannot read ELF header: %s", strerror(-r));
	r = check_ehdr(ehdr, c->file_bytes, &phoff, &phnum, reason);
	if (r < 0)
		return r;
	c->machine = khib_get_le16(ehdr + offsetof(Elf64_Ehdr, e_machine));
	ph = malloc((size_t)phnum * sizeof(Elf64_Phdr));
	c->loads = calloc(phnum, sizeof(*c->loads));
	if (!ph || !c->loads)
		return khib_fail(reason, -ENOMEM, "no memory for %u program headers", phnum);
	r = rd(ctx, ph, (size_t)phnum * sizeof(Elf64_Phdr), phoff);
	if (r < 0)
		return khib_fail(reason, r, "cannot read program headers: %s", strerror(-r));
	for (size_t i = 0; i < phnum; i++) {
		const uint8_t *p = ph + i * sizeof(Elf64_Phdr);
		uint32_t type = khib_get_le32(p + offsetof(Elf64_Phdr, p_type));

		if (type == PT_LOAD)
			r = add_load(c, p, i, reason);
		else if (type == PT_NOTE)
			r = read_notes(c, rd, ctx, khib_get_le64(p + offsetof(Elf64_Phdr, p_offset)),
				       khib_get_le64(p + offsetof(Elf64_Phdr, p_filesz)), reason);
		if (r < 0)
			return r;
	}
	return 0;
}

int khib_elfcore_parse(khib_elf_read_fn *rd, void *ctx, uint64_t file_bytes,
		       struct khib_elfcore **ret, char *reason)
{
	struct khib_elfcore *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return khib_fail(reason, -ENOMEM, "%s", strerror(ENOMEM));
	c->file_bytes = file_bytes;
	r = parse(c, rd, ctx, reason);
	if (r < 0) {
		khib_elfcore_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

struct mem_src {
	const uint8_t *buf;
	size_t len;
};

static int mem_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct mem_src *m = ctx;

	if (!khib_range_within(off, len, m->len))
		return -EIO;
	memcpy(buf, m->buf + off, len);
	return 0;
}

int khib_elfcore_parse_mem(const void *buf, size_t len, struct khib_elfcore **ret, char *reason)
{
	struct mem_src m = { buf, len };

	return khib_elfcore_parse(mem_read, &m, len, ret, reason);
}

/* relocate_kernel_64.S: DATA(x) = KEXEC_CONTROL_CODE_MAX_SIZE (2048) + x;
 * CP_PA_BACKUP_PAGES_MAP = DATA(0x30).  include/linux/kexec.h: IND_*. */
#define KEXEC_CP_BACKUP_PAGES_MAP 0x830
#define KEXEC_IND_DESTINATION 0x1
#define KEXEC_IND_INDIRECTION 0x2
#define KEXEC_IND_DONE 0x4
#define KEXEC_IND_SOURCE 0x8
#define KEXEC_ENTRIES_PER_PAGE 512

int khib_elfcore_kexec_swaps(khib_elf_page_fn *read_page, void *ctx, uint64_t jump_back_paddr,
			     size_t max_swaps, struct khib_page_swap **ret, size_t *ret_n)
{
	_cleanup_free_ uint8_t *page = malloc(4096);
	_cleanup_free_ struct khib_page_swap *s = calloc(max_swaps ? max_swaps : 1, sizeof(*s));
	/* Entries are read like swap_pages does: the flag tests in its order,
	 * an indirection entry moves to the next page, anything else is skipped.
	 * A list of n sources has fewer than n + its pages + segments entries,
	 * so a budget stops a loop of indirection pages. */
	size_t n = 0, slot = KEXEC_ENTRIES_PER_PAGE, budget = 2 * max_swaps + 4096;
	uint64_t entry, dest = 0;
	bool have_dest = false;
	int r;

	if (!page || !s)
		return -ENOMEM;
	if (!jump_back_paddr)
		return -ENODATA;
	r = read_page(ctx, jump_back_paddr & ~4095ULL, page);
	if (r < 0)
		return r;
	entry = khib_get_le64(page + KEXEC_CP_BACKUP_PAGES_MAP);
	for (;;) {
		if (entry & KEXEC_IND_DESTINATION) {
			dest = entry & ~4095ULL;
			have_dest = true;
		} else if (entry & KEXEC_IND_INDIRECTION) {
			r = read_page(ctx, entry & ~4095ULL, page);
			if (r < 0)
				return r;
			slot = 0;
		} else if (entry & KEXEC_IND_DONE) {
			break;
		} else if (entry & KEXEC_IND_SOURCE) {
			if (!have_dest || n == max_swaps || dest > UINT64_MAX - 4096)
				return -EBADMSG;
			s[n++] = (struct khib_page_swap){ dest, entry & ~4095ULL };
			dest += 4096;
		}
		if (slot == KEXEC_ENTRIES_PER_PAGE || budget-- == 0)
			return -EBADMSG;
		entry = khib_get_le64(page + 8 * slot++);
	}
	*ret = TAKE_PTR(s);
	*ret_n = n;
	return 0;
}

int khib_elfcore_undo_kexec_swaps(const struct khib_elf_page_ops *ops, uint64_t jump_back_paddr,
				  size_t max_swaps)
{
	_cleanup_free_ struct khib_page_swap *s = NULL;
	_cleanup_free_ uint8_t *page = malloc(4096);
	size_t n;
	int r;

	if (!page)
		return -ENOMEM;
	r = khib_elfcore_kexec_swaps(ops->read, ops->ctx, jump_back_paddr, max_swaps, &s, &n);
	if (r < 0)
		return r;
	for (size_t k = 0; k < n; k++) {
		if (!ops->wanted(ops->ctx, s[k].dest_paddr))
			continue; /* the dump's own page: nothing to undo */
		r = ops->read(ops->ctx, s[k].src_paddr, page);
		if (r < 0)
			return r == -ENOENT ? -EBADMSG : r;
		r = ops->write(ops->ctx, s[k].dest_paddr, page);
		if (r < 0)
			return r;
	}
	return 0;
}

static void put_phdr(uint8_t *p, uint32_t type, uint64_t off, uint64_t vaddr, uint64_t paddr,
		     uint64_t filesz, uint64_t memsz, uint64_t align)
{
	khib_put_le32(p + offsetof(Elf64_Phdr, p_type), type);
	khib_put_le32(p + offsetof(Elf64_Phdr, p_flags), type == PT_LOAD ? PF_R | PF_W | PF_X : 0);
	khib_put_le64(p + offsetof(Elf64_Phdr, p_offset), off);
	khib_put_le64(p + offsetof(Elf64_Phdr, p_vaddr), vaddr);
	khib_put_le64(p + offsetof(Elf64_Phdr, p_paddr), paddr);
	khib_put_le64(p + offsetof(Elf64_Phdr, p_filesz), filesz);
	khib_put_le64(p + offsetof(Elf64_Phdr, p_memsz), memsz);
	khib_put_le64(p + offsetof(Elf64_Phdr, p_align), align);
}

static void put_ehdr(uint8_t *e, uint16_t machine, uint16_t phnum)
{
	memcpy(e, ELFMAG, SELFMAG);
	e[EI_CLASS] = ELFCLASS64;
	e[EI_DATA] = ELFDATA2LSB;
	e[EI_VERSION] = EV_CURRENT;
	khib_put_le16(e + offsetof(Elf64_Ehdr, e_type), ET_CORE);
	khib_put_le16(e + offsetof(Elf64_Ehdr, e_machine), machine);
	khib_put_le32(e + offsetof(Elf64_Ehdr, e_version), EV_CURRENT);
	khib_put_le64(e + offsetof(Elf64_Ehdr, e_phoff), sizeof(Elf64_Ehdr));
	khib_put_le16(e + offsetof(Elf64_Ehdr, e_ehsize), sizeof(Elf64_Ehdr));
	khib_put_le16(e + offsetof(Elf64_Ehdr, e_phentsize), sizeof(Elf64_Phdr));
	khib_put_le16(e + offsetof(Elf64_Ehdr, e_phnum), phnum);
}

int khib_elfcore_build(struct khib_elf_load *loads, size_t n_loads, uint16_t machine,
		       const void *vmcoreinfo, size_t vmcoreinfo_bytes, uint8_t **ret_hdr,
		       size_t *ret_hdr_bytes, uint64_t *ret_file_bytes)
{
	size_t nnote = vmcoreinfo ? 1 : 0, phnum = n_loads + nnote;
	size_t note_bytes = nnote ? 12 + ALIGN_UP(sizeof(VMCOREINFO_NAME), (size_t)NOTE_ALIGN) +
					    ALIGN_UP(vmcoreinfo_bytes, (size_t)NOTE_ALIGN) : 0;
	size_t note_off = sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr);
	size_t hdr_bytes = note_off + note_bytes;
	uint64_t off = ALIGN_UP((uint64_t)hdr_bytes, 4096ULL);
	uint8_t *h, *ph;

	if (phnum > KHIB_ELF_MAX_PHDRS || vmcoreinfo_bytes > KHIB_ELF_MAX_NOTES)
		return -EOVERFLOW;
	h = calloc(1, hdr_bytes);
	if (!h)
		return -ENOMEM;
	put_ehdr(h, machine, (uint16_t)phnum);
	ph = h + sizeof(Elf64_Ehdr);
	if (nnote) {
		uint8_t *n = h + note_off;

		put_phdr(ph, PT_NOTE, note_off, 0, 0, note_bytes, note_bytes, 0);
		ph += sizeof(Elf64_Phdr);
		khib_put_le32(n, sizeof(VMCOREINFO_NAME));
		khib_put_le32(n + 4, (uint32_t)vmcoreinfo_bytes);
		khib_put_le32(n + 8, 0);
		memcpy(n + 12, VMCOREINFO_NAME, sizeof(VMCOREINFO_NAME));
		memcpy(n + 12 + ALIGN_UP(sizeof(VMCOREINFO_NAME), (size_t)NOTE_ALIGN), vmcoreinfo,
		       vmcoreinfo_bytes);
	}
	for (size_t i = 0; i < n_loads; i++, ph += sizeof(Elf64_Phdr)) {
		loads[i].offset = off;
		loads[i].filesz = loads[i].memsz;
		put_phdr(ph, PT_LOAD, off, loads[i].vaddr, loads[i].paddr, loads[i].memsz,
			 loads[i].memsz, 0);
		off += ALIGN_UP(loads[i].memsz, 4096ULL);
	}
	*ret_hdr = h;
	*ret_hdr_bytes = hdr_bytes;
	*ret_file_bytes = off;
	return 0;
}

int khib_elfcore_build_phys(struct khib_elf_load *loads, size_t n_loads, uint16_t machine,
			    uint64_t note_paddr, uint64_t note_bytes, uint8_t **ret_hdr,
			    size_t *ret_hdr_bytes)
{
	size_t phnum = n_loads + 1, hdr_bytes = sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr);
	uint8_t *h, *ph;

	if (!n_loads || !note_bytes)
		return -EINVAL;
	if (phnum > KHIB_ELF_MAX_PHDRS || note_bytes > KHIB_ELF_MAX_NOTES)
		return -EOVERFLOW;
	h = calloc(1, hdr_bytes);
	if (!h)
		return -ENOMEM;
	put_ehdr(h, machine, (uint16_t)phnum);
	ph = h + sizeof(Elf64_Ehdr);
	put_phdr(ph, PT_NOTE, note_paddr, 0, note_paddr, note_bytes, note_bytes, 0);
	for (size_t i = 0; i < n_loads; i++) {
		ph += sizeof(Elf64_Phdr);
		loads[i].offset = loads[i].paddr;
		loads[i].filesz = loads[i].memsz;
		put_phdr(ph, PT_LOAD, loads[i].paddr, loads[i].vaddr, loads[i].paddr, loads[i].memsz,
			 loads[i].memsz, 0);
	}
	*ret_hdr = h;
	*ret_hdr_bytes = hdr_bytes;
	return 0;
}
