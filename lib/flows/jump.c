/* SPDX-License-Identifier: GPL-2.0-only */
#include "jump.h"

#include <errno.h>
#include <string.h>

#include "memmap_file.h"
#include "sysinfo.h"
#include "util.h"

/* The step that failed and the errno's text. */
static int step_failed(char *reason, int err, const char *step)
{
	return khib_fail(reason, err, "%s: %s", step, strerror(-err));
}

int khib_jump_config_read(uint64_t region_bytes, uint64_t region_start, struct khib_memmap *fw,
			  struct khib_jump_config *cfg, char *reason)
{
	struct khib_memmap avoid;
	int r;

	if ((r = khib_memmap_read_firmware("/sys/firmware/memmap", fw)) < 0)
		return step_failed(reason, r, "reading the firmware memory map from "
				   "'/sys/firmware/memmap' (needs CONFIG_FIRMWARE_MEMMAP)");
	cfg->firmware = fw;
	if ((r = khib_sysinfo_avoid_ranges("", &avoid)) < 0)
		return step_failed(reason, r, "reading the kernel's own ranges from '/proc/iomem'");
	cfg->region_bytes = region_bytes;
	cfg->region_start = region_start;
	if (!region_start &&
	    (r = khib_kexec_choose_region(fw, &avoid, region_bytes, &cfg->region_start)) < 0)
		return step_failed(reason, r, "finding RAM for the region");
	if ((r = khib_kexec_low_memory(fw, &cfg->low_start, &cfg->low_bytes)) < 0)
		return step_failed(reason, r, "finding RAM below 1 MiB in the firmware memory map");
	if ((r = khib_sysinfo_identity("", &cfg->handoff)) < 0)
		return step_failed(reason, r, "reading this kernel's identity");
	khib_sysinfo_vmcoreinfo("", &cfg->handoff.vmcoreinfo_paddr,
				&cfg->handoff.vmcoreinfo_bytes);
	cfg->acpi_rsdp = khib_sysinfo_acpi_rsdp("");
	khib_sysinfo_screen_info("", fw, cfg->screen_info);
	cfg->handoff.memmap_hash = khib_memmap_hash(fw);
	/* For a resume through the kernel's own /dev/snapshot; 0: unknown. */
	if (khib_sysinfo_num_physpages("", &cfg->handoff.num_physpages) < 0)
		cfg->handoff.num_physpages = 0;
	if (khib_sysinfo_e820_crc32("/sys/firmware/memmap", &cfg->handoff.e820_crc32) < 0)
		cfg->handoff.e820_crc32 = 0;
	if ((r = khib_handoff_record_ram(fw, &cfg->handoff)) < 0)
		return step_failed(reason, r, "recording the RAM ranges");
	return 0;
}
