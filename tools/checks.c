/* SPDX-License-Identifier: GPL-2.0-only */
#include "checks.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "handoff.h"
#include "image_format.h"
#include "kexec.h"
#include "khib.h"
#include "memmap.h"
#include "memory.h"
#include "save.h"
#include "sysinfo.h"
#include "util.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const char khib_build_stamp[] = "khib-build: " KHIB_VERSION ", handoff "
	STR(KHIB_HANDOFF_VERSION) ", image format " STR(KHIB_FMT_VERSION);

int khib_tool_refuse(int level, const struct khib_check_result *r)
{
	const char *sep = r->fix[0] ? "; " : "";

	if (level == KHIB_CHECK_FAIL) {
		khib_err("%s%s%s", r->text, sep, r->fix);
		return 1;
	}
	if (level == KHIB_CHECK_WARN)
		khib_warn("%s%s%s", r->text, sep, r->fix);
	return 0;
}

int khib_tool_probe_kexec(bool careful)
{
	char loaded[8] = "";

	if (careful && khib_read_attr("/sys/kernel/kexec_loaded", loaded, sizeof(loaded)) >= 0 &&
	    !strcmp(loaded, "1"))
		return KHIB_CHECK_NOT_PROBED;
	return khib_kexec_probe_jump();
}

void khib_tool_writer_release(struct khib_writer *w)
{
	free(w->kernel);
	free(w->initrd);
	w->kernel = w->initrd = NULL;
}

/*
 * A crashkernel= reservation with no crash kernel loaded is RAM this kernel
 * never uses: the writer runs there and the load takes a few MiB instead
 * of the region (lib/system/kexec.h region_reserved).  Used when no region was
 * given and it is large enough; note says which, or why not.
 */
static bool crash_region(struct khib_writer *w, uint64_t need, char *note, size_t n)
{
	uint64_t cs, cb, start, end;
	bool loaded;

	if (khib_sysinfo_crash_region("", &cs, &cb, &loaded) < 0)
		return false;
	start = ALIGN_UP(cs, KHIB_REGION_ALIGN);
	end = ALIGN_DOWN(cs + cb, KHIB_REGION_ALIGN);
	if (loaded) {
		snprintf(note, n, "a crash kernel is loaded into the crashkernel= reservation: the "
			 "writer kernel runs in this kernel's memory instead");
		return false;
	}
	if (end <= start || end - start < need) {
		snprintf(note, n, "the crashkernel= reservation (%" PRIu64 " MiB) is smaller than "
			 "the %" PRIu64 " MiB the writer kernel needs: it runs in this kernel's "
			 "memory instead", cb >> 20, need >> 20);
		return false;
	}
	w->region_start = start;
	w->region_bytes = end - start;
	snprintf(note, n, "the writer kernel runs in the crashkernel= reservation at 0x%" PRIx64
		 " (%" PRIu64 " MiB)", start, w->region_bytes >> 20);
	return true;
}

uint64_t khib_tool_default_region_bytes(unsigned threads)
{
	return khib_kexec_default_region_bytes((uint64_t)sysconf(_SC_PHYS_PAGES) * KHIB_PAGE_SIZE,
					       threads);
}

/* Room for the load of a region of `bytes` in memory this kernel has or
 * can free by dropping clean caches (MemAvailable), headroom kept. */
static bool load_fits(const struct khib_writer *w, uint64_t bytes)
{
	struct khib_meminfo m;
	uint64_t need = bytes + w->kernel_bytes + w->initrd_bytes + KHIB_LOAD_HEADROOM_BYTES;

	return khib_meminfo_read("", &m) >= 0 && m.available_bytes >= need;
}

/* The default region fits this machine: room for the writer's 4 MiB chunks
 * when this kernel has the memory to load it (they save faster), else for
 * 1 MiB ones (a full machine: the smaller load fits where the other would
 * not).  A given one must let the writer kernel boot, or the jump would
 * end in its OOM panic, with no way back. */
static int size_region(struct khib_writer *w, const char *kernel, char *note, size_t n,
		       struct khib_check_result *ret)
{
	uint64_t floor = khib_kexec_region_floor(w->bz.init_size, w->initrd_bytes);

	w->reserved = false;
	if (!w->region_bytes) {
		uint64_t want = khib_tool_default_region_bytes(w->threads);
		uint64_t roomy;

		if (want < floor)
			want = floor;
		roomy = ALIGN_UP(want + khib_save_big_chunks_extra_bytes(w->threads),
				 KHIB_REGION_ALIGN);
		if (!w->region_start && (w->reserved = crash_region(w, want, note, n)))
			return KHIB_CHECK_OK;
		w->region_bytes = load_fits(w, roomy) ? roomy : want;
		return KHIB_CHECK_OK;
	}
	if (w->region_bytes < floor)
		return khib_check_set(ret, KHIB_CHECK_FAIL, NULL, "--region-size %" PRIu64 "M: the "
				      "writer kernel '%s' needs at least %" PRIu64 "M (%" PRIu64 "M "
				      "to decompress and run, %zuK of initramfs, %lluM to boot)",
				      w->region_bytes >> 20, kernel, floor >> 20,
				      ((uint64_t)w->bz.init_size + (1 << 20) - 1) >> 20,
				      w->initrd_bytes >> 10, KHIB_KEXEC_BOOT_EXTRA_BYTES >> 20);
	return KHIB_CHECK_OK;
}

int khib_tool_check_writer(const char *kernel, const char *initrd, struct khib_writer *w,
			   char *note, size_t n, struct khib_check_result *ret)
{
	const char *fix = "install khib's writer kernel (scripts/install.sh), or name it (kernel= "
			  "and initrd= in /etc/khib.conf)";
	int r;

	note[0] = '\0';
	r = khib_read_file(kernel, KHIB_KERNEL_FILE_MAX_BYTES, &w->kernel, &w->kernel_bytes);
	if (r < 0)
		return khib_check_set(ret, KHIB_CHECK_FAIL, fix, "reading the writer kernel '%s': "
				      "%s", kernel, khib_tool_strerror(r));
	if ((r = khib_bzimage_parse(w->kernel, w->kernel_bytes, &w->bz)) < 0)
		return khib_check_set(ret, KHIB_CHECK_FAIL, fix, "'%s' is not a kernel khib can "
				      "load: %s", kernel, khib_tool_strerror(r));
	r = khib_read_file(initrd, KHIB_KERNEL_FILE_MAX_BYTES, &w->initrd, &w->initrd_bytes);
	if (r < 0)
		return khib_check_set(ret, KHIB_CHECK_FAIL, fix, "reading the writer initramfs '%s': "
				      "%s", initrd, khib_tool_strerror(r));
	if (size_region(w, kernel, note, n, ret) == KHIB_CHECK_FAIL)
		return KHIB_CHECK_FAIL;
	if (w->reserved)
		return khib_check_set(ret, KHIB_CHECK_OK, NULL, "the writer kernel '%s' loads, to "
				      "run in the crashkernel= reservation (%" PRIu64 " MiB)", kernel,
				      w->region_bytes >> 20);
	return khib_check_set(ret, KHIB_CHECK_OK, NULL, "the writer kernel '%s' loads, to run in "
			      "%" PRIu64 " MiB of this kernel's memory", kernel,
			      w->region_bytes >> 20);
}

int khib_tool_check_placed_region(const struct khib_writer *w, const struct khib_jump_config *cfg,
				  struct khib_check_result *ret)
{
	struct khib_memmap avoid;
	int r;

	if (!w->region_start || w->reserved)
		return KHIB_CHECK_OK;
	if ((r = khib_sysinfo_avoid_ranges("", &avoid)) < 0)
		return khib_check_set(ret, KHIB_CHECK_FAIL, NULL, "reading the kernel's own ranges "
				      "from '/proc/iomem': %s", strerror(-r));
	if (!khib_memmap_find(cfg->firmware, cfg->region_start, cfg->region_start + cfg->region_bytes,
			      KHIB_E820_RAM))
		return khib_check_set(ret, KHIB_CHECK_FAIL, NULL, "--region-start 0x%" PRIx64 ": the "
				      "region is not all RAM", cfg->region_start);
	for (size_t i = 0; i < avoid.n; i++)
		if (khib_ranges_overlap(cfg->region_start, cfg->region_bytes, avoid.r[i].start,
					avoid.r[i].end - avoid.r[i].start))
			return khib_check_set(ret, KHIB_CHECK_FAIL, NULL, "--region-start 0x%" PRIx64
					      ": the region overlaps this kernel's own image at 0x%"
					      PRIx64, cfg->region_start, avoid.r[i].start);
	return KHIB_CHECK_OK;
}
