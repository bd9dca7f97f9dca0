/* SPDX-License-Identifier: GPL-2.0-only */
#include "sysinfo.h"

#include <ctype.h>
#include <limits.h>
#include <dirent.h>
#include <stdlib.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <zlib.h>

#include "bzimage.h"
#include "checksum.h"
#include "fileio.h"
#include "image.h"
#include "image_format.h"
#include "memmap_file.h"
#include "util.h"

int khib_parse_uuid(const char *s, uint8_t ret[16])
{
	uint8_t out[16];
	size_t n = 0;

	for (const char *p = s; *p; p++) {
		int v;

		if (*p == '-')
			continue;
		if (*p == '\n' && !p[1])
			break; /* as read from a file */
		if (!isxdigit((unsigned char)*p) || n == 32)
			return -EINVAL;
		v = isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
		if (n % 2 == 0)
			out[n / 2] = (uint8_t)(v << 4);
		else
			out[n / 2] |= (uint8_t)v;
		n++;
	}
	if (n != 32)
		return -EINVAL;
	memcpy(ret, out, 16);
	return 0;
}

int khib_sysinfo_identity(const char *root, struct khib_handoff *h)
{
	_cleanup_free_ char *bootid = NULL;
	struct utsname u;
	int r;

	if (uname(&u) < 0)
		return -errno;
	r = khib_read_root_file(root, "/proc/sys/kernel/random/boot_id", &bootid);
	if (r < 0)
		return r;
	r = khib_parse_uuid(bootid, h->boot_id);
	if (r < 0)
		return r;
	snprintf(h->release, sizeof(h->release), "%s", u.release);
	snprintf(h->version, sizeof(h->version), "%s", u.version);
	return 0;
}

int khib_sysinfo_avoid_ranges(const char *root, struct khib_memmap *ret)
{
	static const char *const names[] = {
		"Kernel code", "Kernel rodata", "Kernel data", "Kernel bss", "Crash kernel",
	};
	_cleanup_free_ char *iomem = NULL;
	struct khib_memmap m = { 0 };
	int r, found = 0;

	r = khib_read_root_file(root, "/proc/iomem", &iomem);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		r = khib_memmap_iomem_find(iomem, names[i], KHIB_E820_RESERVED, &m);
		if (r < 0)
			return r;
		found += r;
	}
	/* Without "Kernel code" the addresses were hidden (not root?). */
	if (!found)
		return -EPERM;
	r = khib_memmap_normalize(&m);
	if (r < 0)
		return r;
	*ret = m;
	return 0;
}

int khib_sysinfo_crash_region(const char *root, uint64_t *ret_start, uint64_t *ret_bytes,
			      bool *ret_loaded)
{
	_cleanup_free_ char *iomem = NULL, *loaded = NULL;
	struct khib_memmap m = { 0 };
	const struct khib_mem_range *best = NULL;
	int r;

	if ((r = khib_read_root_file(root, "/proc/iomem", &iomem)) < 0)
		return r;
	if ((r = khib_memmap_iomem_find(iomem, "Crash kernel", KHIB_E820_RESERVED, &m)) < 0)
		return r;
	for (size_t i = 0; i < m.n; i++)
		if (!best || m.r[i].end - m.r[i].start > best->end - best->start)
			best = &m.r[i];
	if (!best || !best->start)
		return -ENOENT; /* none, or addresses hidden from non-root */
	/* Unreadable: as good as loaded, the region is not ours to take. */
	*ret_loaded = khib_read_root_file(root, "/sys/kernel/kexec_crash_loaded", &loaded) < 0 ||
		      loaded[0] != '0';
	*ret_start = best->start;
	*ret_bytes = best->end - best->start;
	return 0;
}

/* The value of a "KEY=0x..." line of /sys/firmware/efi/systab; 0 if none. */
static uint64_t systab_value(const char *text, const char *key)
{
	size_t len = strlen(key);

	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		char *end;
		unsigned long long v;

		if (!strncmp(line, key, len) && !strncmp(line + len, "=0x", 3) &&
		    isxdigit((unsigned char)line[len + 3])) {
			errno = 0;
			v = strtoull(line + len + 3, &end, 16);
			if (!errno && (*end == '\n' || !*end))
				return v;
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	return 0;
}

/* This kernel's zero page, as its boot loader filled it; *ret_len bytes
 * of it (it is binary: NUL bytes are data). */
static int read_zero_page(const char *root, char **ret, size_t *ret_len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/sys/kernel/boot_params/data", root);
	return khib_read_file(path, 8192, ret, ret_len);
}

uint64_t khib_sysinfo_acpi_rsdp(const char *root)
{
	_cleanup_free_ char *bp = NULL, *systab = NULL;
	size_t len;
	uint64_t rsdp = 0;

	if (read_zero_page(root, &bp, &len) >= 0 && len >= 0x78)
		rsdp = khib_get_le64(bp + 0x70);
	if (rsdp)
		return rsdp;
	/*
	 * Booted through the EFI stub, the zero page holds none: 6.1's stub
	 * decompresses the kernel itself and skips extract_kernel(), which
	 * fills the field, and the kernel takes the RSDP from the EFI
	 * configuration table.  A kernel khib starts boots without EFI and
	 * would search the BIOS area, where UEFI firmware need not put one
	 * (OVMF does not): without ACPI it finds no MADT, no power-off.  So
	 * pass what this kernel found, ACPI 2.0's first, as kexec_file_load
	 * does (arch/x86/kernel/kexec-bzimage64.c).
	 */
	if (khib_read_root_file(root, "/sys/firmware/efi/systab", &systab) < 0)
		return 0;
	rsdp = systab_value(systab, "ACPI20");
	return rsdp ? rsdp : systab_value(systab, "ACPI");
}

void khib_sysinfo_screen_info(const char *root, const struct khib_memmap *fw, uint8_t *ret)
{
	_cleanup_free_ char *bp = NULL;
	uint64_t base, bytes;
	size_t len;

	memset(ret, 0, KHIB_SCREEN_INFO_BYTES);
	if (read_zero_page(root, &bp, &len) < 0 || len < KHIB_SCREEN_INFO_BYTES)
		return;
	if (khib_screen_info_framebuffer((const uint8_t *)bp, &base, &bytes) &&
	    khib_memmap_overlaps(fw, base, base + bytes, KHIB_E820_RAM))
		return;
	memcpy(ret, bp, KHIB_SCREEN_INFO_BYTES);
}

int khib_sysinfo_vmcoreinfo(const char *root, uint64_t *ret_paddr, uint64_t *ret_bytes)
{
	_cleanup_free_ char *text = NULL;
	unsigned long long paddr;
	unsigned int bytes;
	int r;

	r = khib_read_root_file(root, "/sys/kernel/vmcoreinfo", &text);
	if (r < 0)
		return r;
	if (sscanf(text, "%llx %x", &paddr, &bytes) != 2 || !bytes)
		return -EBADMSG;
	*ret_paddr = paddr;
	*ret_bytes = bytes;
	return 0;
}

int khib_sysinfo_image_worst_case(const char *root, uint64_t *ret_bytes)
{
	_cleanup_free_ struct khib_memmap *fw = malloc(sizeof(*fw));
	_cleanup_free_ struct khib_range *ranges = NULL;
	uint64_t paddr, vmcoreinfo = KHIB_MAX_VMCOREINFO;
	char dir[PATH_MAX];
	size_t n = 0;
	int r;

	if (!fw)
		return -ENOMEM;
	snprintf(dir, sizeof(dir), "%s/sys/firmware/memmap", root);
	if ((r = khib_memmap_read_firmware(dir, fw)) < 0)
		return r;
	if (!(ranges = calloc(fw->n ? fw->n : 1, sizeof(*ranges))))
		return -ENOMEM;
	for (size_t i = 0; i < fw->n; i++) {
		uint64_t start = ALIGN_UP(fw->r[i].start, KHIB_PAGE_SIZE);
		uint64_t end = ALIGN_DOWN(fw->r[i].end, KHIB_PAGE_SIZE);

		if (fw->r[i].type == KHIB_E820_RAM && end > start)
			ranges[n++] = (struct khib_range){ start, (end - start) >> KHIB_PAGE_SHIFT };
	}
	if (!n)
		return -ENODATA;
	/* The note's real size where the kernel says it, else the most the
	 * format takes. */
	khib_sysinfo_vmcoreinfo(root, &paddr, &vmcoreinfo);
	return khib_image_max_bytes(ranges, n, 0, vmcoreinfo, ret_bytes);
}

int khib_sysinfo_num_physpages(const char *root, uint64_t *ret)
{
	_cleanup_free_ char *text = NULL;
	uint64_t total = 0;
	unsigned found = 0;
	int r = khib_read_root_file(root, "/proc/zoneinfo", &text);

	if (r < 0)
		return r;
	for (char *p = text; (p = strstr(p, "\n        present ")); p++) {
		unsigned long long v;

		if (sscanf(p, "\n        present %llu", &v) != 1)
			return -EBADMSG;
		total += v;
		found++;
	}
	if (!found)
		return -EBADMSG;
	*ret = total;
	return 0;
}

/* e820 type numbers for e820_type_to_string()'s names; one name for one
 * type only (the kernel prints "System RAM" for two, but the firmware
 * table never holds the kernel's own type). */
static int e820_type_strict(const char *name, uint32_t *ret)
{
	static const struct { const char *name; uint32_t type; } t[] = {
		{ "System RAM", 1 }, { "Reserved", 2 }, { "ACPI Tables", 3 },
		{ "ACPI Non-volatile Storage", 4 }, { "Unusable memory", 5 },
		{ "Persistent Memory", 7 }, { "Persistent Memory (legacy)", 12 },
		{ "Soft Reserved", 0xefffffff },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (!strcmp(name, t[i].name)) {
			*ret = t[i].type;
			return 0;
		}
	return -EOPNOTSUPP;
}

static int read_memmap_attr(const char *dir, unsigned idx, const char *attr, char *buf, size_t n)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%u/%s", dir, idx, attr);
	return khib_read_attr(path, buf, n);
}

int khib_sysinfo_e820_crc32(const char *dir, uint32_t *ret)
{
	/* e820_table: u32 nr_entries, then packed 20-byte entries. */
	uint8_t table[4 + 20 * KHIB_MEMMAP_MAX];
	unsigned n = 0;
	int r;

	for (;; n++) {
		char s[64], e[64], t[64];
		uint64_t start, end;
		uint32_t type;

		r = read_memmap_attr(dir, n, "start", s, sizeof(s));
		if (r == -ENOENT)
			break;
		if (r < 0 || (r = read_memmap_attr(dir, n, "end", e, sizeof(e))) < 0 ||
		    (r = read_memmap_attr(dir, n, "type", t, sizeof(t))) < 0)
			return r;
		if (n == KHIB_MEMMAP_MAX)
			return -E2BIG;
		if (khib_parse_size(s, &start) < 0 || khib_parse_size(e, &end) < 0 || end < start)
			return -EBADMSG;
		if ((r = e820_type_strict(t, &type)) < 0)
			return r;
		khib_put_le64(table + 4 + 20 * n, start);
		khib_put_le64(table + 4 + 20 * n + 8, end - start + 1);
		khib_put_le32(table + 4 + 20 * n + 16, type);
	}
	if (!n)
		return -ENOENT;
	khib_put_le32(table, n);
	*ret = khib_crc32(table, 4 + 20 * (size_t)n);
	return 0;
}

int khib_sysinfo_zone_spans(const char *root, struct khib_memmap *ret)
{
	_cleanup_free_ char *text = NULL;
	struct khib_memmap m = { 0 };
	int r = khib_read_root_file(root, "/proc/zoneinfo", &text);

	if (r < 0)
		return r;
	/* Each zone: "Node 0, zone    DMA32", "spanned N", ..., and for a
	 * populated zone, later, "start_pfn: N". */
	for (char *z = strstr(text, "Node "); z; ) {
		char *next = strstr(z + 1, "\nNode ");
		char *sp = strstr(z, "\n        spanned "), *st = strstr(z, "\n  start_pfn:");
		unsigned long long spanned, start;

		if (next)
			*next = '\0';
		if (sp && st && sscanf(sp, "\n        spanned %llu", &spanned) == 1 &&
		    sscanf(st, "\n  start_pfn: %llu", &start) == 1 && spanned &&
		    (r = khib_memmap_add(&m, start * KHIB_PAGE_SIZE, (start + spanned) * KHIB_PAGE_SIZE,
					 KHIB_E820_RAM)) < 0)
			return r;
		z = next ? next + 1 : NULL;
	}
	if (!m.n)
		return -EBADMSG;
	if ((r = khib_memmap_normalize(&m)) < 0)
		return r;
	*ret = m;
	return 0;
}

/* lib/kstrtox.c kstrtobool(): 1 true, 0 false, -EINVAL neither. */
static int kernel_bool(const char *s)
{
	switch (s[0]) {
	case 'y': case 'Y': case 't': case 'T': case '1':
		return 1;
	case 'n': case 'N': case 'f': case 'F': case '0':
		return 0;
	case 'o': case 'O':
		if (s[1] == 'n' || s[1] == 'N')
			return 1;
		if (s[1] == 'f' || s[1] == 'F')
			return 0;
		break;
	}
	return -EINVAL;
}

/* On (1), off (0), or not given (-ENOENT); in a cmdline whose parameter
 * names use '_' only. */
static int boot_bool(const char *cmdline, const char *key)
{
	char val[64];
	int r = khib_cmdline_get(cmdline, key, val, sizeof(val));

	if (r == -ENOENT)
		return r;
	/* Unreadable: the kernel may have taken an earlier value; assume on. */
	return r < 0 ? 1 : kernel_bool(val) != 0;
}

int khib_sysinfo_free_pages_matter(const char *root, const char *release, const char **ret_why)
{
	_cleanup_free_ char *cmdline = NULL;
	int r, free_on;

	r = khib_read_root_file(root, "/proc/cmdline", &cmdline);
	if (r < 0)
		return r;
	/* parameq(): dashes and underscores in a name are the same. */
	for (char *p = cmdline, *word = p; *p; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\n')
			word = p + 1;
		else if (*p == '-' && !memchr(word, '=', (size_t)(p - word)))
			*p = '_';
	}
	if (boot_bool(cmdline, "page_poison") == 1) {
		*ret_why = "page_poison is on";
		return 1;
	}
	free_on = boot_bool(cmdline, "init_on_free");
	if (free_on == 1) {
		*ret_why = "init_on_free is on";
		return 1;
	}
	if (free_on == 0)
		return 0;
	if (khib_sysinfo_kconfig(root, release, "CONFIG_INIT_ON_FREE_DEFAULT_ON", NULL, 0) == 1) {
		*ret_why = "init_on_free is on (CONFIG_INIT_ON_FREE_DEFAULT_ON)";
		return 1;
	}
	return 0;
}

/* A gzip'ed file, unpacked into a NUL-terminated buffer of at most max
 * bytes. */
static int read_gz(const char *path, size_t max, char **ret)
{
	gzFile f = gzopen(path, "rbe");
	_cleanup_free_ char *buf = malloc(max + 1);
	int n;

	if (!f)
		return errno ? -errno : -ENOMEM;
	if (!buf) {
		gzclose(f);
		return -ENOMEM;
	}
	n = gzread(f, buf, (unsigned)max + 1);
	gzclose(f);
	if (n < 0)
		return -EBADMSG;
	if ((size_t)n > max)
		return -EFBIG;
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

int khib_sysinfo_kconfig(const char *root, const char *release, const char *name, char *where,
			 size_t n)
{
	_cleanup_free_ char *text = NULL;
	char path[512], line[128];
	const char *src = "/proc/config.gz";
	size_t len = strlen(name);
	int r;

	snprintf(path, sizeof(path), "%s%s", root, src);
	r = read_gz(path, 8 << 20, &text);
	if (r < 0) {
		snprintf(line, sizeof(line), "/boot/config-%s", release);
		src = line;
		if ((r = khib_read_root_file(root, src, &text)) < 0)
			return r;
	}
	if (where)
		snprintf(where, n, "%s", src);
	/* "CONFIG_X=y" at the start of a line; "# CONFIG_X is not set" */
	for (const char *p = text; p && *p;) {
		if (!strncmp(p, name, len) && p[len] == '=')
			return p[len + 1] == 'y' || p[len + 1] == 'm';
		if ((p = strchr(p, '\n')))
			p++;
	}
	return 0;
}

int khib_sysinfo_lockdown(const char *root, char *ret, size_t n)
{
	_cleanup_free_ char *text = NULL;
	const char *open_br, *close_br;
	int r = khib_read_root_file(root, "/sys/kernel/security/lockdown", &text);

	if (r == -ENOENT) {
		snprintf(ret, n, "none");
		return 0;
	}
	if (r < 0)
		return r;
	if (!(open_br = strchr(text, '[')) || !(close_br = strchr(open_br, ']')) ||
	    (size_t)(close_br - open_br) > n)
		return -EBADMSG;
	snprintf(ret, n, "%.*s", (int)(close_br - open_br - 1), open_br + 1);
	return 0;
}

/* word as a word of a list separated by white space ("disk" in /sys/power/state). */
static bool has_word(const char *text, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = text; (p = strstr(p, word)); p += len)
		if ((p == text || isspace((unsigned char)p[-1])) &&
		    (!p[len] || isspace((unsigned char)p[len])))
			return true;
	return false;
}

int khib_sysinfo_hibernation_refused(const char *root, const char **ret_why)
{
	_cleanup_free_ char *state = NULL, *disk = NULL, *cmdline = NULL;
	char lockdown[32];
	int r;

	if (khib_read_root_file(root, "/sys/power/disk", &disk) < 0)
		return 0; /* no CONFIG_HIBERNATION: nothing to learn */
	if ((r = khib_read_root_file(root, "/sys/power/state", &state)) < 0)
		return r;
	if (has_word(state, "disk"))
		return 0;
	if (khib_read_root_file(root, "/proc/cmdline", &cmdline) >= 0 &&
	    khib_cmdline_has(cmdline, "nohibernate")) {
		*ret_why = "'nohibernate' is on its command line";
		return 1;
	}
	if (khib_sysinfo_lockdown(root, lockdown, sizeof(lockdown)) >= 0 &&
	    strcmp(lockdown, "none")) {
		*ret_why = "it is locked down";
		return 1;
	}
	*ret_why = "memfd_secret areas are in use (pages not even the kernel may read)";
	return 1;
}

int khib_sysinfo_cpu_flag(const char *root, const char *flag)
{
	_cleanup_free_ char *text = NULL;
	char *line, *end;
	int r;

	if ((r = khib_read_root_file(root, "/proc/cpuinfo", &text)) < 0)
		return r;
	/* The first processor's "flags\t\t: fpu vme ...", as far as its newline. */
	for (line = text; line; line = (end = strchr(line, '\n')) ? end + 1 : NULL)
		if (!strncmp(line, "flags", 5) && (line[5] == '\t' || line[5] == ' ' ||
						   line[5] == ':'))
			break;
	if (!line || !(line = strchr(line, ':')))
		return -ENODATA;
	if ((end = strchr(line, '\n')))
		*end = '\0';
	return has_word(line + 1, flag);
}

int khib_sysinfo_block_below_pci_class(const char *root, const char *name, uint32_t class,
				       uint32_t mask)
{
	char path[PATH_MAX], real[PATH_MAX], devices[PATH_MAX], attr[32];
	size_t floor;

	if (strchr(name, '/') || !name[0])
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/sys/class/block/%s", root, name);
	if (!realpath(path, real))
		return -errno;
	snprintf(devices, sizeof(devices), "%s/sys/devices", root);
	if (!realpath(devices, path))
		return -errno;
	floor = strlen(path);
	/* From the block device up to /sys/devices; each PCI function on the
	 * way has a class attribute (0xCCSSPP). */
	for (char *slash; strlen(real) > floor && (slash = strrchr(real, '/')); *slash = '\0') {
		char file[PATH_MAX + 8];
		unsigned long v;
		char *end;

		snprintf(file, sizeof(file), "%s/class", real);
		if (khib_read_attr(file, attr, sizeof(attr)) < 0)
			continue;
		errno = 0;
		v = strtoul(attr, &end, 16);
		if (!errno && end != attr && (v & mask) == class)
			return 1;
	}
	return 0;
}
