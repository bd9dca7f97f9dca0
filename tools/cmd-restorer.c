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

#include "crypt.h"
#include "blockmap.h"
#include "checksum.h"
#include "fileio.h"
#include "handoff.h"
#include "handoff_read.h"
#include "image.h"
#include "kexec.h"
#include "khib.h"
#include "memmap_file.h"
#include "restore.h"
#include "resume.h"
#include "save.h"
#include "targetdev.h"
#include "util.h"

static __attribute__((noreturn, format(printf, 3, 4)))
void fail_reboot(struct khib_target *t, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err)
		khib_err_errno(err, "resume failed: %s", msg);
	else
		khib_err("resume failed: %s", msg);
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

/* Write the image back, invalidate it, jump into N.  Never returns. */
static __attribute__((noreturn))
void restore_and_jump(const struct khib_handoff *h, struct khib_target *t, struct khib_reader *rd,
		      bool verify_first)
{
	const struct khib_image_info *info = khib_reader_info(rd);
	struct khib_handoff back = *h;
	struct khib_console_progress pr;
	char reason[KHIB_REASON_MAX] = "";
	int r;

	/* R runs where the writer kernel ran; anything else is not this image. */
	if (info->resume.region_start != h->region_start ||
	    info->resume.region_bytes != h->region_bytes) {
		khib_reader_free(rd);
		fail_reboot(t, -ESTALE, "the image was not written from this region");
	}
	khib_console_progress_init(&pr, "restoring memory");
	r = khib_restore_memory(rd, h, KHIB_DEVMEM, h->threads, verify_first, progress, &pr,
				reason);
	back.jump_back_entry = info->resume.jump_back_entry;
	khib_reader_free(rd);
	if (r < 0)	/* the reason names the error already */
		fail_reboot(t, 0, "restoring memory: %s", reason);
	khib_info("memory restored in %.1f s", khib_console_progress_elapsed(&pr));

	/* Never resumed twice: the image dies before the jump. */
	if ((r = khib_image_invalidate(t)) < 0)
		fail_reboot(t, r, "invalidating the image before the jump");
	khib_target_free(t);
	if ((r = khib_kexec_load_jump_back(&back, KHIB_DEVMEM)) < 0)
		fail_reboot(NULL, r, "loading the jump into the resumed kernel at 0x%" PRIx64,
			    back.jump_back_entry);
	khib_info("jumping into the resumed kernel");
	r = khib_kexec_jump();
	fail_reboot(NULL, r, "jumping into the resumed kernel");
}

/* The key R0 unwrapped and passed in the key page.  SECURITY: in secret
 * memory; this kernel never returns to free it, and its memory is lost at
 * the jump or the reboot. */
static struct khib_image_key *the_key;
static uint8_t the_uuid[16];

static int take_key(uint64_t paddr)
{
	if (!(the_key = khib_secret_alloc(sizeof(*the_key))))
		return -ENOMEM;
	return khib_keypage_take(KHIB_DEVMEM, paddr, the_key, the_uuid);
}

static int key_from_page(void *ctx, const uint8_t uuid[16], const uint8_t *area, uint32_t n_slots,
			 uint8_t dk[32], char *reason)
{
	(void)ctx;
	(void)area;
	(void)n_slots;
	if (memcmp(uuid, the_uuid, sizeof(the_uuid)))
		return khib_fail(reason, -ESTALE, "the key page is for another image");
	memcpy(dk, the_key->dk, sizeof(the_key->dk));
	return 0;
}

/* Started by khib resume in a normal boot, which checked the image. */
int khib_restorer_main(const struct khib_handoff *h)
{
	struct khib_target *t = NULL;
	struct khib_reader *rd = NULL;
	char reason[KHIB_REASON_MAX] = "", name[KHIB_BLOCKMAP_NAME_LEN];
	int r;

	khib_info("restore kernel up: resuming %s from '/dev/%s'", h->release, h->target_name);
	khib_info("checksum: XXH3, %s build (measured: %s)", khib_hash_in_use(),
		  khib_tool_hash_report);
	if ((r = khib_save_open_target(h, KHIB_DEVMEM, &t, name, reason)) < 0)
		fail_reboot(NULL, 0, "opening the image's target: %s", reason);
	if (strcmp(name, h->target_name))
		khib_info("the image is on '%s' here ('%s' in N): found by its disk's identity %s",
			  name, h->target_name, h->target_id);
	if (h->key_paddr && (r = take_key(h->key_paddr)) < 0)
		fail_reboot(t, r, "reading the key page at 0x%" PRIx64, h->key_paddr);
	r = khib_reader_open_keyed(t, 0, h->key_paddr ? key_from_page : NULL, NULL, &rd, reason);
	if (r < 0)
		fail_reboot(t, 0, "reading the image: %s", reason);
	restore_and_jump(h, t, rd, false);
}

/* What the handoff would say, from the image and this machine; reason
 * says why not (-ESTALE: the image is of another machine). */
static int direct_handoff(const struct khib_image_info *info, struct khib_handoff *h,
			  char *reason)
{
	struct khib_memmap fw;
	int r;

	memset(h, 0, sizeof(*h));
	if ((r = khib_memmap_read_firmware("/sys/firmware/memmap", &fw)) < 0)
		return khib_fail(reason, r, "reading the firmware memory map from "
				 "'/sys/firmware/memmap': %s", strerror(-r));
	h->region_start = info->resume.region_start;
	h->region_bytes = info->resume.region_bytes;
	h->low_start = info->resume.lowmem_start;
	h->low_bytes = info->resume.lowmem_size;
	if ((r = khib_handoff_record_ram(&fw, h)) < 0)
		return khib_fail(reason, r, "the firmware memory map has more than %u RAM ranges",
				 KHIB_HANDOFF_MAX_RANGES);
	/* Same machine, same firmware map; the kernel build may differ. */
	struct khib_kernel_identity running = { .memmap_hash = khib_memmap_hash(&fw) };
	return khib_image_check_identity(info, &running, reason);
}

/*
 * Started directly by the boot loader (khib.role=restore, no handoff): this
 * kernel was built to run at the region's address and booted with only the
 * region and low memory as RAM.  It checks that, finds the image through
 * khib.resume=, and restores it, checking each chunk as it goes.  Without a
 * usable image it reboots: the next boot is the normal one.
 */
int khib_restorer_direct(void)
{
	_cleanup_free_ char *iomem = NULL;
	struct khib_target *t = NULL;
	struct khib_reader *rd = NULL;
	struct khib_handoff h;
	char path[4096], reason[KHIB_REASON_MAX] = "";
	int r;

	khib_info("restore kernel up (started by the boot loader)");
	if ((r = khib_restore_configured_device("/proc/cmdline", path, sizeof(path))) < 0)
		fail_reboot(NULL, r, "finding khib.resume= on the kernel command line");
	if ((r = khib_target_open(path, KHIB_TARGET_WRITE, &t)) < 0)
		fail_reboot(NULL, r, "opening the image '%s'", path);
	r = khib_reader_open(t, 0, &rd, reason);
	if (r == -ENODATA) {
		khib_target_free(t);
		fail_reboot(NULL, r, "no image on '%s'", path);
	}
	if (r < 0)
		fail_reboot(t, r, "reading the image on '%s': %s", path, reason);
	if ((r = khib_read_file("/proc/iomem", 1 << 20, &iomem, NULL)) < 0 ||
	    (r = khib_restore_check_placement(khib_reader_info(rd), iomem, reason)) < 0) {
		/* The image is fine; this kernel is not.  Leave the image be. */
		khib_reader_free(rd);
		khib_target_free(t);
		if (reason[0])
			fail_reboot(NULL, 0, "%s", reason);
		fail_reboot(NULL, r, "reading '/proc/iomem'");
	}
	if ((r = direct_handoff(khib_reader_info(rd), &h, reason)) < 0) {
		khib_reader_free(rd);
		fail_reboot(t, 0, "checking the image on '%s' against this machine: %s", path,
			    reason);
	}
	if ((r = khib_tool_check_file_systems(rd, reason)) < 0) {
		khib_reader_free(rd);
		fail_reboot(t, r, "%s", reason);
	}
	/* Each chunk is checked as it is written, and N entered only when all
	 * checked out; after a restore that did not finish, all of them
	 * first. */
	uint32_t tries;
	if ((r = khib_resume_begin_restore(t, &tries, reason)) < 0) {
		khib_reader_free(rd);
		fail_reboot(t, 0, "'%s': %s", path, reason);
	}
	khib_info("resuming %s from '%s'%s", khib_reader_info(rd)->kernel.uts_release, path,
		  tries ? ", every chunk checked first: a restore of it did not finish" : "");
	restore_and_jump(&h, t, rd, tries > 0);
}
