/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib hibernate: save this machine's memory to disk through a writer
 * kernel, and power off.  Runs in the normal kernel (N).
 *
 * Every check happens before anything changes; each failure is one line.
 * Then: sync, load the writer kernel (H) with a preserve-context kexec, and
 * jump.  When this process runs again the machine either resumed from the
 * image, or H aborted (or --test finished) and jumped back; the status page
 * H wrote tells which, and this command reports it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bzimage.h"
#include "check.h"
#include "checks.h"
#include "codec.h"
#include "config.h"
#include "fscheck.h"
#include "handoff.h"
#include "hibernate.h"
#include "jump.h"
#include "keyslot.h"
#include "image.h"
#include "kexec.h"
#include "keys.h"
#include "khib.h"
#include "memory.h"
#include "physmem.h"
#include "preflight.h"
#include "save.h"
#include "sysinfo.h"
#include "util.h"

static void hibernate_help(FILE *out)
{
	fputs("Usage: khib hibernate --target DEVICE|FILE [OPTIONS]\n"
	      "\n"
	      "Save all of memory to DEVICE (a block device or partition that is not\n"
	      "mounted) or FILE (fully allocated, e.g. with fallocate) through khib's\n"
	      "writer kernel, then power off.  The next boot resumes.\n"
	      "\n"
	      "  --target PATH        where the image goes (default: target= in\n"
	      "                       /etc/khib.conf or $KHIB_CONFIG, which also give\n"
	      "                       the defaults of the options below)\n"
	      "  --test               write, verify and discard the image, then come back\n"
	      "  --force              write to a target that holds something else (a file\n"
	      "                       system, a partition table, swap...)\n"
	      "  --key-file FILE      seal the image for FILE (32 random bytes or more)\n"
	      "                       instead of key-file= in /etc/khib.conf, besides the\n"
	      "                       key protectors enrolled (khib key)\n"
	      "  --clear              write the image in clear, unencrypted (as encrypt = no\n"
	      "                       in /etc/khib.conf); refused while a key is enrolled\n"
	      "  --keep-free-pages    save free pages too (automatic with init_on_free=1\n"
	      "                       or page_poison=1 on this kernel's command line)\n"
	      "  --keep-caches        keep the clean page cache, which by default is\n"
	      "                       dropped before the jump (less to save and restore,\n"
	      "                       files to read again after the resume); as\n"
	      "                       drop-caches = no in /etc/khib.conf\n"
	      "  --drop-caches        drop it, whatever /etc/khib.conf says\n"
	      "  --codec C[:LEVEL]    none, lz4 (default) or zstd\n"
	      "  --threads N          compression threads in the writer kernel\n"
	      "  --region-size SIZE   RAM the writer kernel runs in (default: a free\n"
	      "                       crashkernel= reservation, else what it needs on\n"
	      "                       this machine: 36M up to 8 GiB of RAM, and 16M\n"
	      "                       more for faster 4M chunks when there is room)\n"
	      "  --region-start ADDR  put that region here (as a restore kernel started\n"
	      "                       by the boot loader needs; default: chosen)\n"
	      "  --kernel FILE        writer kernel (default " KHIB_DEFAULT_KERNEL ")\n"
	      "  --initrd FILE        its initramfs (default " KHIB_DEFAULT_INITRD ")\n"
	      "  --append ARGS        writer kernel command line, instead of the default\n"
	      "                       '" KHIB_DEFAULT_APPEND "'\n"
	      "                       (khib.handoff= is added)\n", out);
}

/* Defaults, then /etc/khib.conf, then the command line. */
void hib_config_defaults(const struct khib_config *cf, struct hib_opts *o)
{
	*o = (struct hib_opts){ .codec = KHIB_CODEC_LZ4, .level = 1 };
	khib_tool_kernel_files(cf, &o->kernel, &o->initrd, &o->append);
	if (cf->target[0])
		o->target = cf->target;
	if (cf->key_file[0])
		o->key_file = cf->key_file;
	o->clear = !cf->encrypt;
	if (cf->has_codec) {
		o->codec = cf->codec;
		o->level = cf->codec_level;
	}
	if (cf->has_threads)
		o->threads = cf->threads;
	if (cf->has_region_bytes)
		o->region_bytes = cf->region_bytes;
	if (cf->has_region_start)
		o->region_start = cf->region_start;
	o->keep_free = cf->keep_free_pages;
	o->drop_caches = cf->drop_caches;
}

static int parse_opts(int argc, char **argv, struct hib_opts *o)
{
	static const struct option longopts[] = {
		{ "target", required_argument, NULL, 't' },
		KHIB_TOOL_KERNEL_OPTIONS,
		{ "codec", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 'j' },
		{ "test", no_argument, NULL, 'T' },
		{ "keep-free-pages", no_argument, NULL, 'F' },
		{ "drop-caches", no_argument, NULL, 'D' },
		{ "keep-caches", no_argument, NULL, 'E' },
		{ "force", no_argument, NULL, 'f' },
		{ "key-file", required_argument, NULL, 'K' },
		{ "clear", no_argument, NULL, 'C' },
		{}
	};
	int c;

	optind = 1;
	while ((c = khib_tool_getopt(argc, argv, longopts)) != -1) {
		switch (c) {
		case 't': o->target = optarg; break;
		case 'K': o->key_file = optarg; break;
		case 'C': o->clear = true; break;
		case 'k': o->kernel = optarg; break;
		case 'i': o->initrd = optarg; break;
		case 'a': o->append = optarg; break;
		case 'T': o->test = true; break;
		case 'F': o->keep_free = true; break;
		case 'D': o->drop_caches = true; break;
		case 'E': o->drop_caches = false; break;
		case 'f': o->force = true; break;
		case 's':
			if (khib_tool_parse_region_size(optarg, &o->region_bytes) < 0)
				return -EINVAL;
			break;
		case 'S':
			if (khib_parse_size(optarg, &o->region_start) < 0 || !o->region_start ||
			    !IS_ALIGNED(o->region_start, KHIB_REGION_ALIGN)) {
				khib_err("--region-start '%s': not a 2M-aligned address", optarg);
				return -EINVAL;
			}
			break;
		case 'c':
			if (khib_codec_parse(optarg, &o->codec, &o->level) < 0) {
				khib_err("--codec '%s': expected none, lz4[:LEVEL] or zstd[:LEVEL]", optarg);
				return -EINVAL;
			}
			break;
		case 'j':
			if (khib_tool_parse_threads(optarg, &o->threads) < 0)
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc) {
		khib_err("hibernate: unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (!o->target) {
		khib_err("hibernate: no target: give --target or set target= in /etc/khib.conf");
		return -EINVAL;
	}
	return 0;
}

/* The stamps of N's ext2/3/4 file systems go with the image: a resume
 * refuses it if one of them was mounted, checked or written since. */
static int record_file_systems(struct khib_handoff *h)
{
	char unchecked[256], reason[KHIB_REASON_MAX] = "";
	size_t n;
	int r;

	r = khib_fs_record("", h->fs, KHIB_HANDOFF_MAX_FS, &n, unchecked, sizeof(unchecked),
			   reason);
	if (r < 0)
		return khib_err_errno(r, "recording the mounted file systems: %s", reason);
	h->nr_fs = (uint32_t)n;
	if (!unchecked[0])
		h->flags |= KHIB_HANDOFF_FS_COMPLETE;
	else
		khib_info("note: resume cannot tell whether these were mounted elsewhere meanwhile "
			  "(only ext2/3/4 are checked): %s", unchecked);
	return 0;
}

static void secret_freep(uint8_t **p)
{
	khib_secret_free(*p);
}

/*
 * With keys, the image is encrypted: a fresh data key and image UUID, the
 * data key sealed in a slot for each key, all in a key page for the writer
 * kernel (kexec.h).  *ret_page stays NULL for an image in clear.
 * SECURITY: everything secret is in khib_secret_alloc() memory, wiped on
 * free; the page is freed after the jump.
 */
static int key_page(const struct hib_opts *o, const struct khib_keyring *kr, uint8_t **ret_page)
{
	struct khib_image_key *key;
	uint8_t uuid[16];

	*ret_page = NULL;
	if (o->clear)
		return 0;
	if (khib_tool_image_key(kr, &key, uuid) < 0)
		return 1;
	*ret_page = khib_secret_alloc(KHIB_KEYPAGE_BYTES);
	if (*ret_page)
		khib_keypage_encode(key, uuid, *ret_page);
	khib_secret_free(key);
	if (!*ret_page)
		return khib_err_errno(-ENOMEM, "making the image's key page");
	return 0;
}

/*
 * The ELF core header that gives the writer kernel a /proc/vmcore of this
 * machine (for makedumpfile and friends; the writer itself reads /dev/mem).
 * Without one the hibernation still works, so a failure is only reported.
 */
static uint8_t *add_elfcorehdr(struct khib_jump_config *cfg)
{
	uint8_t *hdr = NULL;
	size_t bytes;
	int r = khib_kexec_build_elfcorehdr(cfg, &hdr, &bytes);

	if (r >= 0) {
		cfg->elfcorehdr = hdr;
		cfg->elfcorehdr_bytes = bytes;
	} else if (r == -ENODATA) {
		khib_warn("no VMCOREINFO note in '/sys/kernel/vmcoreinfo': "
			  "the writer kernel will have no /proc/vmcore");
	} else if (r == -ERANGE) {
		khib_warn("the VMCOREINFO note at 0x%" PRIx64 " lies in the writer "
			  "kernel's memory: it will have no /proc/vmcore",
			  cfg->handoff.vmcoreinfo_paddr);
	} else {
		khib_warn("building the ELF core header for the writer kernel: %s", strerror(-r));
	}
	return hdr;
}

/*
 * The writer leaves this kernel's free pages out of the image, and the
 * resume leaves whatever it finds in them.  With init_on_free or page_poison
 * this kernel relies on their content, so they are saved then.
 */
static uint64_t free_pages_flag(const struct hib_opts *o, const struct khib_handoff *h)
{
	const char *why = NULL;
	int r;

	if (o->keep_free)
		return KHIB_HANDOFF_KEEP_FREE;
	r = khib_sysinfo_free_pages_matter("", h->release, &why);
	if (r < 0) {
		khib_warn("saving free pages too: reading '/proc/cmdline': %s", strerror(-r));
		return KHIB_HANDOFF_KEEP_FREE;
	}
	if (r > 0) {
		khib_info("%s: saving free pages too", why);
		return KHIB_HANDOFF_KEEP_FREE;
	}
	return 0;
}

/* The highest RAM address in the firmware map. */
static uint64_t ram_top(const struct khib_memmap *fw)
{
	uint64_t top = 0;

	for (size_t i = 0; i < fw->n; i++)
		if (fw->r[i].type == KHIB_E820_RAM && fw->r[i].end > top)
			top = fw->r[i].end;
	return top;
}

/*
 * Loading the plan takes a page of this kernel for every page of it: find
 * them before the load, so that the OOM killer never runs on our behalf
 * (lib/system/memory.h).  Refuses with the numbers when they are not there.
 */
static int check_memory(const struct khib_jump_config *cfg, const struct khib_jump_plan *plan,
			bool drop)
{
	uint64_t need = khib_jump_plan_load_pages(plan, ram_top(cfg->firmware)) * KHIB_PAGE_SIZE;
	uint64_t need_mib = (need + (1 << 20) - 1) >> 20;
	struct khib_room room;
	char region[64];
	int r = khib_memory_make_room("", need, drop, &room);

	if (cfg->region_reserved)
		snprintf(region, sizeof(region), "its region is reserved");
	else
		snprintf(region, sizeof(region), "its %" PRIu64 " MiB region", cfg->region_bytes >> 20);

	if (r == -ENOMEM) {
		khib_err("not enough free memory to load the writer kernel: it takes %" PRIu64
			 " MiB (%s) and %llu MiB must stay free, but only %" PRIu64 " MiB are "
			 "free%s (MemAvailable %" PRIu64 " of %" PRIu64 " MiB); free some memory%s",
			 need_mib, region,
			 KHIB_LOAD_HEADROOM_BYTES >> 20, room.after.usable_bytes >> 20,
			 room.dropped_caches ? " after dropping clean caches" : "",
			 room.after.available_bytes >> 20, room.after.total_bytes >> 20,
			 cfg->region_reserved ? "" : ", choose a smaller --region-size, or let the "
			 "writer run in a crashkernel= reservation (khib(8))");
		return 1;
	}
	if (r < 0)
		return khib_err_errno(r, "finding free memory for the writer kernel%s "
				      "('/proc/meminfo', '/proc/zoneinfo', '/proc/sys/vm/drop_caches')",
				      drop ? " and dropping clean caches (--keep-caches keeps them)" : "");
	if (room.dropped_caches)
		khib_info("dropped clean caches%s: %" PRIu64 " MiB free now, %" PRIu64 " MiB before",
			  drop ? "" : " to make room for the writer kernel",
			  room.after.usable_bytes >> 20, room.before.usable_bytes >> 20);
	khib_info("loading the writer kernel takes %" PRIu64 " MiB of this kernel's memory (%" PRIu64
		  " MiB free)", need_mib, room.after.usable_bytes >> 20);
	return 0;
}

/* Back in this kernel from the writer kernel, or resumed: this kernel comes
 * back from a kexec jump, and `khib check` knows it from now on. */
static void record_round_trip(void)
{
	int r = khib_check_record_round_trip("");

	if (r < 0)
		khib_warn("noting the round trip in '%s': %s", KHIB_ROUND_TRIP, strerror(-r));
}

/* What the status page says happened, as the command's result. */
static int report(const struct hib_opts *o, void *page, uint64_t nonce, double t_jump)
{
	struct khib_status st;
	int r = khib_status_decode(page, nonce, &st);

	if (r < 0)
		return khib_err_errno(r, "back from the writer kernel, but its status page is unreadable");
	switch (st.state) {
	case KHIB_STATUS_SAVING:
		record_round_trip();
		khib_info("resumed from the image on '%s'; the machine was off for %.1f s", o->target,
			  khib_tool_now_s() - (double)st.time_ns / 1e9);
		return 0;
	case KHIB_STATUS_TESTED:
		record_round_trip();
		khib_info("test passed: %" PRIu64 " MiB saved (%" PRIu64 " MiB written) in %.1f s, "
			  "verified and discarded; back after %.1f s",
			  st.saved_pages >> 8, st.image_bytes >> 20, (double)st.elapsed_ns / 1e9,
			  khib_tool_now_s() - t_jump);
		return 0;
	case KHIB_STATUS_ABORTED:
		khib_err("hibernation aborted in the writer kernel: %s", st.reason);
		hib_discard_after_abort(o->target);
		return 1;
	default:
		khib_err("back from the writer kernel without a report from it");
		hib_discard_after_abort(o->target);
		return 1;
	}
}

/*
 * A pinned page for the writer kernel's report (it cannot move, so the
 * writer writes into this page and no other: lib/system/physmem.h),
 * outside its region and low memory: a page there is swapped out of the
 * writer's sight by the jump, the report would never arrive, and a resumed
 * kernel would say its hibernation failed (about once in ten runs with a
 * 64 MiB region in 512 MiB under SeaBIOS, two in three under OVMF, whose
 * boot services memory the kernel frees late lies where the region goes).
 * Pages that land there stay allocated until one does not, so the allocator
 * hands out others: up to 16 MiB, taken in batches.
 */
#define STATUS_PAGE_TRIES 4096

static bool outside_region(const void *cfg, uint64_t paddr)
{
	return khib_kexec_page_outside(cfg, paddr);
}

static int pin_status_page(const struct khib_jump_config *cfg, struct khib_pinned_page *ret)
{
	return khib_physmem_pin_page_where(outside_region, cfg, STATUS_PAGE_TRIES, ret);
}

static int jump(const struct hib_opts *o, struct khib_jump_config *cfg)
{
	struct khib_jump_plan plan;
	struct khib_status st = { 0 };
	_cleanup_(khib_physmem_unpin_page) struct khib_pinned_page pin = { 0 };
	uint8_t nonce[KHIB_UUID_BYTES];
	uint64_t again;
	double t0;
	int r;

	/* Whether the load fits first: the plan without the status page is
	 * the same size, and that check has the numbers a user needs. */
	cfg->handoff.status_paddr = 0;
	if ((r = khib_jump_plan_build(cfg, &plan)) < 0)
		return khib_tool_plan_failed(r, o->kernel, cfg);
	r = check_memory(cfg, &plan, o->drop_caches);
	khib_jump_plan_release(&plan);
	if (r)
		return 1;
	if ((r = pin_status_page(cfg, &pin)) < 0)
		return khib_err_errno(r, "locking a status page outside the writer kernel's region");
	/* The nonce only tells this jump's report from an older one: it need
	 * not wait for the kernel's random generator, which a freshly booted
	 * machine can make wait a second (1.0-1.2 s seen under TCG). */
	khib_image_uuid_new(nonce);
	memcpy(&st.nonce, nonce, sizeof(st.nonce));
	khib_status_encode(&st, pin.page);
	cfg->handoff.status_paddr = pin.paddr;
	cfg->handoff.status_nonce = st.nonce;

	r = khib_jump_plan_build(cfg, &plan);
	if (r < 0)
		return khib_tool_plan_failed(r, o->kernel, cfg);
	if (hib_retire_old_image(o->target)) {
		khib_jump_plan_release(&plan);
		return 1;
	}
	/* Should memory run out between that check and the load all the same
	 * (a process growing), the OOM killer ends this command, not the
	 * user's work. */
	if ((r = khib_memory_oom_first("")) < 0)
		khib_warn("making khib the OOM killer's first choice "
			  "('/proc/self/oom_score_adj'): %s", strerror(-r));
	sync();
	r = khib_kexec_load_plan(&plan);
	khib_jump_plan_release(&plan);
	/* The page is pinned (lib/system/physmem.h) and cannot have moved
	 * since its address went into the handoff; should it all the same,
	 * the writer must not write into a frame that is someone else's. */
	if (r >= 0 && (khib_physmem_page_paddr(pin.page, &again) < 0 || again != pin.paddr)) {
		khib_kexec_unload();
		r = -EAGAIN;
	}
	if (r < 0)
		return khib_err_errno(r, "loading the writer kernel '%s'", o->kernel);
	khib_info("%s: jumping to the writer kernel", o->test ? "testing hibernation" : "hibernating");
	t0 = khib_tool_now_s();
	r = khib_kexec_jump();
	khib_kexec_unload(); /* one jump per load on 6.1 */
	if (r < 0)
		r = khib_err_errno(r, "jumping to the writer kernel");
	else
		r = report(o, pin.page, st.nonce, t0);
	return r;
}

/*
 * The checks `khib check` shows (tools/checks.h), in an order that refuses
 * with what the user most needs to hear first, each failure one line,
 * warnings said on the way; the keys have been read and sealed.  Fills the
 * writer, the jump config and the target's preflight.
 */
static int hibernate_checks(const struct hib_opts *o, bool encrypted, struct khib_writer *w,
			    struct khib_memmap *fw, struct khib_jump_config *cfg,
			    struct khib_preflight *pf)
{
	struct khib_check_result res;
	int probe = khib_tool_probe_kexec(false);
	char note[256];
	char reason[KHIB_REASON_MAX] = "";

	if (khib_tool_refuse(khib_check_kexec_allowed("", probe, &res), &res) ||
	    khib_tool_refuse(khib_check_kexec_jump("", probe, &res), &res) ||
	    khib_tool_refuse(khib_check_consent("", &res), &res) ||
	    khib_tool_refuse(khib_check_return_path("", &res), &res))
		return 1;
	w->region_bytes = o->region_bytes;
	w->region_start = o->region_start;
	w->threads = o->threads;
	if (khib_tool_refuse(khib_tool_check_writer(o->kernel, o->initrd, w, note, sizeof(note),
						      &res), &res))
		return 1;
	if (note[0])
		khib_info("%s", note);
	if (khib_tool_refuse(khib_check_writer_initrd(w->initrd, w->initrd_bytes, o->initrd,
						       KHIB_SELF, khib_build_stamp, &res), &res))
		return 1;
	if (khib_jump_config_read(w->region_bytes, w->region_start, fw, cfg, reason) < 0) {
		khib_err("%s", reason);
		return 1;
	}
	if (khib_tool_refuse(khib_tool_check_placed_region(w, cfg, &res), &res) ||
	    khib_tool_refuse(khib_preflight_check("", o->target, encrypted, o->force,
						   &cfg->handoff, pf, &res), &res))
		return 1;
	return khib_tool_refuse(khib_check_boot_initramfs("", KHIB_SELF, khib_build_stamp,
							   o->target, &res), &res);
}

static int hibernate_run(int argc, char **argv)
{
	struct hib_opts o;
	struct khib_config cf;
	struct khib_memmap fw;
	struct khib_jump_config cfg = { 0 };
	_cleanup_(khib_tool_writer_release) struct khib_writer w = { 0 };
	_cleanup_free_ uint8_t *elfcorehdr = NULL;
	_cleanup_(khib_preflight_release) struct khib_preflight pf = { 0 };
	struct khib_check_result res;
	char compact[8], cmdline[KHIB_PAGE_SIZE];
	_cleanup_(secret_freep) uint8_t *keypage = NULL;
	_cleanup_(khib_tool_keyring_release) struct khib_keyring keys = { 0 };
	bool held;
	int r;

	if (khib_tool_load_config(&cf) < 0)
		return 1;
	hib_config_defaults(&cf, &o);
	if (parse_opts(argc, argv, &o) < 0)
		return EXIT_USAGE;
	if (geteuid() != 0) {
		khib_err("hibernate: must run as root");
		return 1;
	}
	if (khib_tool_keyring_load(&cf, &keys) < 0)
		return 1;
	keys.key_file = o.key_file;
	/* The keys first: a key file that is gone or changed stops it here. */
	if (khib_tool_refuse(khib_check_keys(o.clear, keys.n, keys.key_file, &res), &res) ||
	    key_page(&o, &keys, &keypage) ||
	    hibernate_checks(&o, keypage != NULL, &w, &fw, &cfg, &pf) ||
	    record_file_systems(&cfg.handoff))
		return 1;
	cfg.key_page = keypage;
	cfg.extmap = pf.extmap;
	cfg.extmap_bytes = pf.extmap_bytes;

	cfg.kernel = w.kernel;
	cfg.kernel_bytes = w.kernel_bytes;
	cfg.initrd = w.initrd;
	cfg.initrd_bytes = w.initrd_bytes;
	cfg.cmdline = khib_tool_kernel_cmdline(o.append, cfg.handoff.target_name, cmdline,
					       sizeof(cmdline));
	cfg.region_reserved = w.reserved;
	cfg.handoff.codec = o.codec;
	cfg.handoff.codec_level = o.level;
	cfg.handoff.threads = o.threads;
	cfg.handoff.flags |= (o.test ? KHIB_HANDOFF_TEST : 0) | free_pages_flag(&o, &cfg.handoff);
	elfcorehdr = add_elfcorehdr(&cfg);
	held = khib_memory_hold_mlocked("", compact, sizeof(compact)) >= 0;
	r = jump(&o, &cfg);
	if (held)
		khib_memory_release_mlocked("", compact);
	return r;
}

const struct khib_command khib_cmd_hibernate = {
	.name = "hibernate",
	.summary = "save memory to disk through the writer kernel and power off",
	.run = hibernate_run,
	.help = hibernate_help,
};
