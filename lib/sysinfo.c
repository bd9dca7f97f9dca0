/* SPDX-License-Identifier: GPL-2.0-only */
#include "sysinfo.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "kexec.h"
#include "util.h"

static int read_text(const char *root, const char *path, char **ret)
{
	char full[512];

	snprintf(full, sizeof(full), "%s%s", root, path);
	return khib_read_file(full, 1 << 20, ret, NULL);
}

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
	r = read_text(root, "/proc/sys/kernel/random/boot_id", &bootid);
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

	r = read_text(root, "/proc/iomem", &iomem);
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

uint64_t khib_sysinfo_acpi_rsdp(const char *root)
{
	_cleanup_free_ char *bp = NULL;
	char path[512];
	size_t len;

	snprintf(path, sizeof(path), "%s/sys/kernel/boot_params/data", root);
	if (khib_read_file(path, 8192, &bp, &len) < 0 || len < 0x78)
		return 0;
	return khib_get_le64(bp + 0x70);
}

int khib_sysinfo_vmcoreinfo(const char *root, uint64_t *ret_paddr, uint64_t *ret_bytes)
{
	_cleanup_free_ char *text = NULL;
	unsigned long long paddr;
	unsigned int bytes;
	int r;

	r = read_text(root, "/sys/kernel/vmcoreinfo", &text);
	if (r < 0)
		return r;
	if (sscanf(text, "%llx %x", &paddr, &bytes) != 2 || !bytes)
		return -EBADMSG;
	*ret_paddr = paddr;
	*ret_bytes = bytes;
	return 0;
}

static int record_ram(const struct khib_memmap *fw, struct khib_handoff *h)
{
	h->nr_ranges = 0;
	for (size_t i = 0; i < fw->n; i++) {
		if (fw->r[i].type != KHIB_E820_RAM)
			continue;
		if (h->nr_ranges == KHIB_HANDOFF_MAX_RANGES)
			return -E2BIG;
		h->ranges[h->nr_ranges].start = fw->r[i].start;
		h->ranges[h->nr_ranges].bytes = fw->r[i].end - fw->r[i].start;
		h->nr_ranges++;
	}
	return 0;
}

int khib_sysinfo_jump_config(uint64_t region_bytes, uint64_t region_start, struct khib_memmap *fw,
			     struct khib_jump_config *cfg, const char **ret_what)
{
	struct khib_memmap avoid;
	int r;

	*ret_what = "reading the firmware memory map from '/sys/firmware/memmap' "
		    "(needs CONFIG_FIRMWARE_MEMMAP)";
	if ((r = khib_memmap_read_firmware("/sys/firmware/memmap", fw)) < 0)
		return r;
	cfg->firmware = fw;
	*ret_what = "reading the kernel's own ranges from '/proc/iomem'";
	if ((r = khib_sysinfo_avoid_ranges("", &avoid)) < 0)
		return r;
	cfg->region_bytes = region_bytes;
	cfg->region_start = region_start;
	*ret_what = "finding RAM for the region";
	if (!region_start &&
	    (r = khib_kexec_choose_region(fw, &avoid, region_bytes, &cfg->region_start)) < 0)
		return r;
	*ret_what = "finding RAM below 1 MiB in the firmware memory map";
	if ((r = khib_kexec_low_memory(fw, &cfg->low_start, &cfg->low_bytes)) < 0)
		return r;
	*ret_what = "reading this kernel's identity";
	if ((r = khib_sysinfo_identity("", &cfg->handoff)) < 0)
		return r;
	khib_sysinfo_vmcoreinfo("", &cfg->handoff.vmcoreinfo_paddr,
				&cfg->handoff.vmcoreinfo_bytes);
	cfg->acpi_rsdp = khib_sysinfo_acpi_rsdp("");
	cfg->handoff.memmap_hash = khib_memmap_hash(fw);
	*ret_what = "recording the RAM ranges";
	return record_ram(fw, &cfg->handoff);
}
