/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The writer kernel's work.  `khib hibernate` in the normal kernel (N)
 * kexec-jumps into a small kernel (H) whose initramfs holds this program as
 * /init (khib init, cmd-init.c).  It reads the handoff block, saves N's
 * memory to the target and commits the image, then powers the machine
 * off.  Any failure before the commit leaves no valid image, is reported to
 * N through the status page, and jumps back to N, which carries on as if
 * nothing happened.
 *
 * With the handoff's TEST flag it also verifies the committed image, then
 * invalidates it (N keeps running, so the image must never be resumed) and
 * jumps back.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/reboot.h>
#include <time.h>
#include <unistd.h>

#include "blockmap.h"
#include "checksum.h"
#include "crypt.h"
#include "elfcore.h"
#include "elfcore_file.h"
#include "fileio.h"
#include "handoff.h"
#include "handoff_read.h"
#include "image.h"
#include "kexec.h"
#include "khib.h"
#include "memory.h"
#include "physmem.h"
#include "save.h"
#include "util.h"

struct writer {
	struct khib_handoff h;
	struct khib_physmap status_map; /* N's status page, if it checked out */
	struct khib_status status;
	struct khib_console_progress progress;
	uint64_t least_free_bytes;	/* of this kernel's RAM, while saving */
	unsigned sampled_pct;
	struct khib_image_key *key;	/* an encrypted image's, until verified */
};

/* Map N's status page and check that it is the one N prepared. */
static void open_status(struct writer *wr)
{
	struct khib_status st;

	if (!wr->h.status_paddr)
		return;
	int r = khib_physmem_map(KHIB_DEVMEM, wr->h.status_paddr, KHIB_STATUS_BYTES, 1,
				 &wr->status_map);
	if (r < 0) {
		khib_err_errno(r, "mapping N's status page at 0x%" PRIx64 "; not reporting there",
			       wr->h.status_paddr);
		return;
	}
	if (khib_status_decode(wr->status_map.ptr, wr->h.status_nonce, &st) < 0) {
		khib_err("status page at 0x%" PRIx64 " does not hold N's nonce; not reporting there",
			 wr->h.status_paddr);
		khib_physmem_unmap(&wr->status_map);
		return;
	}
	wr->status = st;
}

static void set_status(struct writer *wr, enum khib_status_state state)
{
	wr->status.state = state;
	wr->status.time_ns = khib_clock_ns(CLOCK_REALTIME);
	if (wr->status_map.ptr)
		khib_status_encode(&wr->status, wr->status_map.ptr);
}

static void progress(void *ctx, uint64_t done, uint64_t total)
{
	struct writer *wr = ctx;
	unsigned pct = total ? (unsigned)(done * 100 / total) : 100;
	struct khib_meminfo m;

	khib_console_progress(&wr->progress, done, total);
	/* How much of the region the writer really needs: the least free
	 * memory seen, sampled once per percent. */
	if (pct != wr->sampled_pct && khib_meminfo_read("", &m) >= 0 &&
	    m.free_bytes < wr->least_free_bytes)
		wr->least_free_bytes = m.free_bytes;
	wr->sampled_pct = pct;
}

static __attribute__((noreturn)) void jump_back(struct writer *wr)
{
	int r = khib_kexec_load_jump_back(&wr->h, KHIB_DEVMEM);

	if (r >= 0)
		r = khib_kexec_jump();
	khib_err_errno(r, "jumping back to the hibernating kernel; halting");
	sync();
	reboot(RB_HALT_SYSTEM);
	for (;;)
		pause();
}

/* Report err to N and go back: nothing was committed.  The reason is the
 * status page's; callers fill it, then call this. */
static __attribute__((noreturn)) void abort_with_status(struct writer *wr, int err)
{
	wr->status.error = err;
	set_status(wr, KHIB_STATUS_ABORTED);
	khib_err("hibernation aborted: %s", wr->status.reason);
	khib_info("no image was committed; returning to the hibernating kernel");
	jump_back(wr);
}

/* What failed, then the errno's text. */
static void abort_to_n(struct writer *wr, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

static void abort_to_n(struct writer *wr, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(wr->status.reason, sizeof(wr->status.reason), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(wr->status.reason) - 2 && err)
		snprintf(wr->status.reason + n, sizeof(wr->status.reason) - (size_t)n, ": %s",
			 strerror(-err));
	abort_with_status(wr, err);
}

/* What failed, then the reason the library gave: it fills one on every
 * failure (khib_fail, khib_fail_or_errno), so no errno text is added. */
static __attribute__((noreturn)) void abort_because(struct writer *wr, int err, const char *what,
						    const char *reason)
{
	char *out = wr->status.reason;
	size_t n = sizeof(wr->status.reason);

	/* Cut short where it does not fit: the status page's field is fixed. */
	if (snprintf(out, n, "%s: %s", what, reason) >= (int)n)
		memcpy(out + n - 4, "...", 4);
	abort_with_status(wr, err);
}

/* The key the image was just written with (test mode verifies it). */
static int key_of_save(void *ctx, const uint8_t uuid[16], const uint8_t *area, uint32_t n_slots,
		       uint8_t dk[32], char *reason)
{
	const struct khib_image_key *key = ctx;

	(void)uuid;
	(void)area;
	(void)n_slots;
	(void)reason;
	memcpy(dk, key->dk, sizeof(key->dk));
	return 0;
}

static __attribute__((noreturn)) void test_and_return(struct writer *wr, struct khib_target *t)
{
	char reason[KHIB_REASON_MAX] = "";
	struct khib_reader *rd = NULL;
	int r;

	khib_info("test mode: verifying the committed image");
	r = khib_reader_open_keyed(t, 0, wr->key ? key_of_save : NULL, wr->key, &rd, reason);
	if (r >= 0)
		r = khib_reader_verify(rd, wr->h.threads, reason);
	khib_reader_free(rd);
	khib_secret_free(wr->key); /* SECURITY: no key outlives its use */
	wr->key = NULL;
	/* N keeps running: this image must never be resumed. */
	int q = khib_image_invalidate(t);
	khib_target_free(t);
	if (r < 0)
		abort_because(wr, r, "verifying the image", reason);
	if (q < 0)
		abort_to_n(wr, q, "invalidating the test image");
	khib_info("test mode: image verified and invalidated; returning");
	set_status(wr, KHIB_STATUS_TESTED);
	jump_back(wr);
}

/* Do /proc/vmcore's loads (from the ELF core header N passed with
 * elfcorehdr=) cover exactly the ranges this writer saves? */
static bool vmcore_matches(const struct khib_handoff *h, const struct khib_elfcore *c)
{
	_cleanup_free_ struct khib_range *rg = NULL;
	size_t n;
	uint64_t total;

	if (khib_save_ranges(h, &rg, &n, &total) < 0 || n != c->n_loads)
		return false;
	for (size_t i = 0; i < n; i++)
		if (c->loads[i].paddr != rg[i].paddr ||
		    c->loads[i].memsz != rg[i].npages * KHIB_PAGE_SIZE)
			return false;
	return true;
}

/* Say what /proc/vmcore offers.  Only a report: the writer reads N's
 * memory through /dev/mem, and works without /proc/vmcore. */
static void report_vmcore(const struct khib_handoff *h)
{
	struct khib_elfcore *c = NULL;
	char reason[KHIB_REASON_MAX] = "";
	uint64_t bytes = 0;
	int r = khib_elfcore_parse_path("/proc/vmcore", &c, reason);

	if (r < 0) {
		khib_warn("/proc/vmcore: %s (carrying on with /dev/mem)",
			  r == -ENOENT ? "missing (no elfcorehdr= from the hibernating kernel?)" :
			  reason);
		return;
	}
	for (size_t i = 0; i < c->n_loads; i++)
		bytes += c->loads[i].memsz;
	khib_info("/proc/vmcore: %" PRIu64 " MiB in %zu ranges, %s VMCOREINFO", bytes >> 20,
		  c->n_loads, c->vmcoreinfo ? "with" : "without");
	if (!vmcore_matches(h, c))
		khib_warn("/proc/vmcore does not cover the ranges being saved");
	khib_elfcore_free(c);
}

/* One line on the free pages: how much was left out, or why none was. */
static void report_free_pages(const struct khib_save_result *res)
{
	if (res->free_kept) {
		khib_info("free pages saved too, as the hibernating kernel asked "
			  "(init_on_free, page_poison or --keep-free-pages)");
	} else if (res->filter_error) {
		khib_warn("free pages not excluded, every page saved: %s",
			  res->filter_reason);
	} else {
		khib_info("free pages: %" PRIu64 " MiB excluded (%" PRIu64 " buddy blocks%s, "
			  "found in %.3f s)",
			  res->stats.excluded_pages >> 8, res->filter.buddy_blocks,
			  res->filter.rejected_blocks ? ", some not trusted and saved" : "",
			  (double)res->filter_ns / 1e9);
	}
}

/* The chunk size this kernel's memory allows; a region too small for this
 * machine: back to N, before an OOM panic here could leave it lost. */
static uint32_t chunk_pages_or_abort(struct writer *wr)
{
	struct khib_meminfo m;
	uint32_t chunk;
	int r = khib_meminfo_read("", &m);

	if (r < 0)
		abort_to_n(wr, r, "reading this kernel's free memory");
	chunk = khib_save_chunk_pages(&wr->h, wr->h.threads, m.free_bytes);
	if (!chunk) {
		uint64_t need = khib_save_memory_needed(&wr->h, wr->h.threads,
						       KHIB_SAVE_CHUNK_PAGES_MIN);

		abort_to_n(wr, -ENOMEM, "the writer kernel has %" PRIu64 " MiB free in its %" PRIu64
			   " MiB region and needs %" PRIu64 " MiB: give it a larger --region-size",
			   m.free_bytes >> 20, wr->h.region_bytes >> 20, (need + (1 << 20) - 1) >> 20);
	}
	khib_info("%u KiB chunks: %" PRIu64 " MiB free in the %" PRIu64 " MiB region",
		  chunk * (unsigned)(KHIB_PAGE_SIZE >> 10), m.free_bytes >> 20, wr->h.region_bytes >> 20);
	return chunk;
}

int khib_writer_main(const struct khib_handoff *h)
{
	struct writer wr = { .h = *h, .least_free_bytes = UINT64_MAX, .sampled_pct = 101 };
	struct khib_target *t = NULL;
	struct khib_save_result res;
	char reason[KHIB_REASON_MAX], name[KHIB_BLOCKMAP_NAME_LEN];
	uint32_t chunk;
	int r;

	open_status(&wr);
	khib_info("writer kernel up: saving %s (%s) to '%s'", wr.h.release,
		  wr.h.flags & KHIB_HANDOFF_TEST ? "test mode" : "hibernation", wr.h.target_name);
	report_vmcore(&wr.h);
	khib_info("checksum: XXH3, %s build (measured: %s)", khib_hash_in_use(),
		  khib_tool_hash_report);

	chunk = chunk_pages_or_abort(&wr);
	r = khib_save_open_target(&wr.h, KHIB_DEVMEM, &t, name, reason);
	if (r < 0)
		abort_because(&wr, r, "opening the target", reason);
	if (strcmp(name, wr.h.target_name))
		khib_info("the target is '%s' here ('%s' in N): found by its disk's identity %s",
			  name, wr.h.target_name, wr.h.target_id);

	set_status(&wr, KHIB_STATUS_SAVING);
	khib_console_progress_init(&wr.progress, "saving memory");
	r = khib_save_memory(&wr.h, t, KHIB_DEVMEM, chunk, progress, &wr, &res);
	if (r < 0) {
		khib_target_free(t);
		abort_to_n(&wr, r, "saving memory to '/dev/%s'", wr.h.target_name);
	}
	double el = khib_console_progress_elapsed(&wr.progress);
	report_free_pages(&res);
	khib_info("writer kernel memory: at least %" PRIu64 " MiB of its %" PRIu64 " MiB region "
		  "stayed free (chunks of %u KiB)", wr.least_free_bytes >> 20,
		  wr.h.region_bytes >> 20, chunk * 4);
	if (res.stats.raw_by_sample + res.stats.raw_by_trial)
		khib_info("incompressible chunks stored raw: %" PRIu64 " judged by a sample, %" PRIu64
			  " after compressing them whole", res.stats.raw_by_sample,
			  res.stats.raw_by_trial);
	khib_info("image committed: %" PRIu64 " MiB of RAM, %" PRIu64 " MiB stored, %" PRIu64
		  " zero pages skipped, %.1f s",
		  res.saved_pages >> 8, res.stats.data_bytes >> 20, res.stats.zero_pages, el);
	wr.status.saved_pages = res.saved_pages;
	wr.status.stored_pages = res.stats.stored_pages;
	wr.status.image_bytes = res.stats.data_bytes;
	wr.status.elapsed_ns = (uint64_t)(el * 1e9);
	memcpy(wr.status.image_uuid, res.uuid, 16);
	wr.key = res.key;

	if (wr.h.flags & KHIB_HANDOFF_TEST)
		test_and_return(&wr, t);
	khib_target_free(t);
	khib_secret_free(wr.key); /* SECURITY: wiped before the power goes */
	khib_info("powering off");
	sync();
	reboot(RB_POWER_OFF);
	return khib_err_errno(-errno, "powering off");
}
