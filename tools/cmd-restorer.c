/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The restore kernel's work.  `khib resume` in a normal boot (R0) checked
 * the image completely and kexec'd this kernel (R) into the region the
 * writer kernel used.  R writes every saved page back, invalidates the
 * image durably (so it is never resumed twice), and jumps to the
 * hibernated kernel's re-entry point with a segment over its control pages
 * (now restored).  That kernel's relocate code swaps its pages back into
 * this region and it resumes its devices and carries on.
 *
 * A failure before the jump invalidates the image and reboots into a
 * normal boot: what R wrote so far is in no kernel's memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "handoff.h"
#include "image.h"
#include "kexec.h"
#include "khib.h"
#include "restore.h"
#include "save.h"
#include "util.h"

#define DEVMEM "/dev/mem"

static __attribute__((noreturn, format(printf, 3, 4)))
void fail_reboot(struct khib_target *t, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	khib_err_errno(err, "resume failed: %s", msg);
	if (t && khib_image_invalidate(t) < 0)
		khib_err("could not invalidate the image either");
	khib_target_free(t);
	khib_info("rebooting into a normal boot");
	sync();
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

static void progress(void *ctx, uint64_t done, uint64_t total)
{
	khib_console_progress(ctx, done, total);
}

int khib_restorer_main(const struct khib_handoff *h)
{
	struct khib_handoff back = *h;
	struct khib_target *t = NULL;
	struct khib_reader *rd = NULL;
	struct khib_console_progress pr;
	char reason[KHIB_REASON_MAX] = "";
	const struct khib_image_info *info;
	int r;

	khib_info("restore kernel up: resuming %s from '/dev/%s'", h->release, h->target_name);
	if ((r = khib_save_open_target(h, "/dev", &t)) < 0)
		fail_reboot(NULL, r, "opening the image on '/dev/%s'", h->target_name);
	if ((r = khib_reader_open(t, 0, &rd, reason)) < 0)
		fail_reboot(t, r, "reading the image: %s", reason);
	info = khib_reader_info(rd);
	/* R runs where the writer kernel ran; anything else is not this image. */
	if (info->resume.region_start != h->region_start ||
	    info->resume.region_size != h->region_bytes) {
		khib_reader_free(rd);
		fail_reboot(t, -ESTALE, "the image was not written from this region");
	}
	khib_console_progress_init(&pr, "restoring memory");
	r = khib_restore_memory(rd, h, DEVMEM, h->threads, progress, &pr, reason);
	back.jump_back_entry = info->resume.jump_back_entry;
	khib_reader_free(rd);
	if (r < 0)
		fail_reboot(t, r, "restoring memory: %s", reason);
	khib_info("memory restored in %.1f s", khib_console_progress_elapsed(&pr));

	/* Never resumed twice: the image dies before the jump. */
	if ((r = khib_image_invalidate(t)) < 0)
		fail_reboot(t, r, "invalidating the image before the jump");
	khib_target_free(t);
	t = NULL;
	if ((r = khib_kexec_load_jump_back(&back, DEVMEM)) < 0)
		fail_reboot(NULL, r, "loading the jump into the resumed kernel at 0x%" PRIx64,
			    back.jump_back_entry);
	khib_info("jumping into the resumed kernel");
	r = khib_kexec_jump();
	fail_reboot(NULL, r, "jumping into the resumed kernel");
}
