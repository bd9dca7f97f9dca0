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
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "bzimage.h"
#include "codec.h"
#include "config.h"
#include "fscheck.h"
#include "handoff.h"
#include "hibernate.h"
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

#define MAX_FILE_BYTES (512u << 20)

struct hib_opts {
	const char *target, *kernel, *initrd, *append, *key_file;
	uint64_t region_bytes, region_start;	/* region_bytes 0: sized for this machine */
	enum khib_codec codec;
	int level;
	unsigned threads;
	bool test, keep_free, force, clear;
};

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
	      "  --codec C[:LEVEL]    none, lz4 (default) or zstd\n"
	      "  --threads N          compression threads in the writer kernel\n"
	      "  --region-size SIZE   RAM the writer kernel runs in (default: a free\n"
	      "                       crashkernel= reservation, else what it needs on\n"
	      "                       this machine, 32M up to 8 GiB of RAM)\n"
	      "  --region-start ADDR  put that region here (as a restore kernel started\n"
	      "                       by the boot loader needs; default: chosen)\n"
	      "  --kernel FILE        writer kernel (default " KHIB_DEFAULT_KERNEL ")\n"
	      "  --initrd FILE        its initramfs (default " KHIB_DEFAULT_INITRD ")\n"
	      "  --append ARGS        writer kernel command line, instead of the default\n"
	      "                       '" KHIB_DEFAULT_APPEND "'\n"
	      "                       (khib.handoff= is added)\n", out);
}

/* Defaults, then /etc/khib.conf, then the command line. */
static void config_defaults(const struct khib_config *cf, struct hib_opts *o)
{
	*o = (struct hib_opts){ .kernel = KHIB_DEFAULT_KERNEL, .initrd = KHIB_DEFAULT_INITRD,
				.append = KHIB_DEFAULT_APPEND,
				.codec = KHIB_CODEC_LZ4, .level = 1 };
	if (cf->target[0])
		o->target = cf->target;
	if (cf->kernel[0])
		o->kernel = cf->kernel;
	if (cf->initrd[0])
		o->initrd = cf->initrd;
	if (cf->append[0])
		o->append = cf->append;
	if (cf->key_file[0])
		o->key_file = cf->key_file;
	o->clear = !cf->encrypt;
	if (cf->has_codec) {
		o->codec = cf->codec;
		o->level = cf->codec_level;
	}
	if (cf->has_threads)
		o->threads = cf->threads;
	if (cf->has_region_size)
		o->region_bytes = cf->region_size;
	if (cf->has_region_start)
		o->region_start = cf->region_start;
	o->keep_free = cf->keep_free_pages;
}

static int parse_opts(int argc, char **argv, struct hib_opts *o)
{
	static const struct option longopts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "append", required_argument, NULL, 'a' },
		{ "region-size", required_argument, NULL, 's' },
		{ "region-start", required_argument, NULL, 'S' },
		{ "codec", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 'j' },
		{ "test", no_argument, NULL, 'T' },
		{ "keep-free-pages", no_argument, NULL, 'F' },
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
		case 'f': o->force = true; break;
		case 's':
			if (khib_parse_size(optarg, &o->region_bytes) < 0 || !o->region_bytes ||
			    !IS_ALIGNED(o->region_bytes, KHIB_REGION_ALIGN)) {
				khib_err("--region-size '%s': not a positive multiple of 2M", optarg);
				return -EINVAL;
			}
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

/* Why kexec_load said EPERM, in the kernel's terms. */
static int kexec_forbidden(void)
{
	char mode[32], disabled[8] = "";

	if (khib_sysinfo_lockdown("", mode, sizeof(mode)) >= 0 && strcmp(mode, "none")) {
		khib_err("the kernel is locked down (%s%s): it forbids kexec_load, which khib "
			 "needs to start its writer kernel", mode,
			 access("/sys/firmware/efi", F_OK) == 0 ? ", as under Secure Boot" : "");
		return 1;
	}
	if (khib_read_attr("/proc/sys/kernel/kexec_load_disabled", disabled,
			   sizeof(disabled)) >= 0 && !strcmp(disabled, "1")) {
		khib_err("kexec_load is disabled (kernel.kexec_load_disabled = 1, which stays "
			 "set until the next boot)");
		return 1;
	}
	khib_err("kexec_load is not allowed to this process (it needs CAP_SYS_BOOT)");
	return 1;
}

/* Where the kernel would refuse its own hibernation, khib refuses too. */
static int check_kernel_consents(void)
{
	const char *why = NULL;
	int r = khib_sysinfo_hibernation_refused("", &why);

	if (r < 0)
		return khib_err_errno(r, "reading '/sys/power/state'");
	if (r > 0) {
		khib_err("this kernel refuses its own hibernation now (%s): khib refuses too", why);
		return 1;
	}
	return 0;
}

static int check_kexec(void)
{
	int r = khib_kexec_probe_jump();

	switch (r) {
	case 0: return 0;
	case -EOPNOTSUPP:
		khib_err("this kernel cannot kexec-jump (built without CONFIG_KEXEC_JUMP)");
		return 1;
	case -ENOSYS:
		khib_err("this kernel has no kexec_load (built without CONFIG_KEXEC)");
		return 1;
	case -EPERM:
		return kexec_forbidden();
	default:
		return khib_err_errno(r, "probing kexec_load");
	}
}

/*
 * A crashkernel= reservation with no crash kernel loaded is RAM this kernel
 * never uses: the writer runs there and the load takes a few MiB instead
 * of the region (lib/kexec.h region_reserved).  Used when no region was
 * given and it is large enough; *ret_reserved says so.
 */
static bool crash_region(struct hib_opts *o, uint64_t need)
{
	uint64_t cs, cb, start, end;
	bool loaded;

	if (khib_sysinfo_crash_region("", &cs, &cb, &loaded) < 0)
		return false;
	start = ALIGN_UP(cs, KHIB_REGION_ALIGN);
	end = ALIGN_DOWN(cs + cb, KHIB_REGION_ALIGN);
	if (loaded) {
		khib_info("a crash kernel is loaded into the crashkernel= reservation: the writer "
			  "kernel runs in this kernel's memory instead");
		return false;
	}
	if (end <= start || end - start < need) {
		khib_info("the crashkernel= reservation (%" PRIu64 " MiB) is smaller than the %" PRIu64
			  " MiB the writer kernel needs: it runs in this kernel's memory instead",
			  cb >> 20, need >> 20);
		return false;
	}
	o->region_start = start;
	o->region_bytes = end - start;
	khib_info("the writer kernel runs in the crashkernel= reservation at 0x%" PRIx64 " (%" PRIu64
		  " MiB)", start, o->region_bytes >> 20);
	return true;
}

/* The default region fits this machine; a given one must let the writer
 * kernel boot, or the jump would end in its OOM panic, with no way back. */
static int size_region(struct hib_opts *o, const struct khib_bzimage *bz, size_t initrd_bytes,
		       bool *ret_reserved)
{
	uint64_t floor = khib_kexec_region_floor(bz->init_size, initrd_bytes);

	*ret_reserved = false;
	if (!o->region_bytes) {
		uint64_t want = khib_kexec_default_region_bytes(
			(uint64_t)sysconf(_SC_PHYS_PAGES) * KHIB_PAGE_SIZE, o->threads);

		if (want < floor)
			want = floor;
		if (!o->region_start && (*ret_reserved = crash_region(o, want)))
			return 0;
		o->region_bytes = want;
		return 0;
	}
	if (o->region_bytes < floor) {
		khib_err("--region-size %" PRIu64 "M: the writer kernel '%s' needs at least %" PRIu64
			 "M (%" PRIu64 "M to decompress and run, %zuK of initramfs, %lluM to boot)",
			 o->region_bytes >> 20, o->kernel, floor >> 20,
			 ((uint64_t)bz->init_size + (1 << 20) - 1) >> 20, initrd_bytes >> 10,
			 KHIB_KEXEC_BOOT_EXTRA_BYTES >> 20);
		return 1;
	}
	return 0;
}

/* The writer writes raw sectors: only over what is khib's, or --force. */
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

/*
 * An image holds every secret of this machine: it is written in clear only
 * when asked for, and never while a key is enrolled (resume would refuse
 * it as a downgrade).
 */
static int check_encryption(const struct hib_opts *o, const struct khib_keyring *kr)
{
	bool keys = !khib_tool_keyring_empty(kr);

	if (o->clear && keys) {
		khib_err("hibernate: an image in clear is asked for (--clear or encrypt = no), but "
			 "keys are enrolled and resume refuses images in clear (khib key list)");
		return 1;
	}
	if (!o->clear && !keys) {
		khib_err("hibernate: no key is enrolled, so the image would hold this machine's "
			 "memory in clear: enroll one (khib key enroll passphrase), or ask for "
			 "clear images (encrypt = no in /etc/khib.conf, or --clear)");
		return 1;
	}
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

/* A region the user placed must be RAM and keep off this kernel's image. */
static int check_region(const struct khib_jump_config *cfg)
{
	struct khib_memmap avoid;
	int r = khib_sysinfo_avoid_ranges("", &avoid);

	if (r < 0)
		return khib_err_errno(r, "reading the kernel's own ranges from '/proc/iomem'");
	if (!khib_memmap_find(cfg->firmware, cfg->region_start, cfg->region_start + cfg->region_bytes,
			      KHIB_E820_RAM)) {
		khib_err("--region-start 0x%" PRIx64 ": the region is not all RAM", cfg->region_start);
		return 1;
	}
	for (size_t i = 0; i < avoid.n; i++)
		if (khib_ranges_overlap(cfg->region_start, cfg->region_bytes, avoid.r[i].start,
					avoid.r[i].end - avoid.r[i].start)) {
			khib_err("--region-start 0x%" PRIx64 ": the region overlaps this kernel's own "
				 "image at 0x%" PRIx64, cfg->region_start, avoid.r[i].start);
			return 1;
		}
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
 * (lib/memory.h).  Refuses with the numbers when they are not there.
 */
static int check_memory(const struct khib_jump_config *cfg, const struct khib_jump_plan *plan)
{
	uint64_t need = khib_jump_plan_load_pages(plan, ram_top(cfg->firmware)) * KHIB_PAGE_SIZE;
	uint64_t need_mib = (need + (1 << 20) - 1) >> 20;
	struct khib_room room;
	char region[64];
	int r = khib_memory_make_room("", need, &room);

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
		return khib_err_errno(r, "finding free memory for the writer kernel "
				      "('/proc/meminfo', '/proc/zoneinfo', '/proc/sys/vm/drop_caches')");
	khib_info("loading the writer kernel takes %" PRIu64 " MiB of this kernel's memory (%" PRIu64
		  " MiB free)", need_mib, room.after.usable_bytes >> 20);
	if (room.dropped_caches)
		khib_info("dropped clean caches to make room for the writer kernel (%" PRIu64
			  " MiB): %" PRIu64 " MiB free now, %" PRIu64 " MiB before",
			  need_mib, room.after.usable_bytes >> 20,
			  room.before.usable_bytes >> 20);
	return 0;
}

static double real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
		khib_info("resumed from the image on '%s'; the machine was off for %.1f s", o->target,
			  real_now() - (double)st.time_ns / 1e9);
		return 0;
	case KHIB_STATUS_TESTED:
		khib_info("test passed: %" PRIu64 " MiB saved (%" PRIu64 " MiB written) in %.1f s, "
			  "verified and discarded; back after %.1f s",
			  st.saved_pages >> 8, st.image_bytes >> 20, (double)st.elapsed_ns / 1e9,
			  real_now() - t_jump);
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
 * A locked page for the writer kernel's report, outside its region and
 * low memory: a page there is swapped out of the writer's sight by the
 * jump, the report would never arrive, and a resumed kernel would say its
 * hibernation failed (about once in ten runs with a 64 MiB region in 512
 * MiB under SeaBIOS, two in three under OVMF, whose boot services memory
 * the kernel frees late lies where the region goes).  Pages that land
 * there stay locked until one does not, so the allocator hands out others.
 */
#define STATUS_PAGE_TRIES 4096

static int pin_status_page(const struct khib_jump_config *cfg, void **ret, uint64_t *ret_paddr)
{
	_cleanup_free_ void **rejected = calloc(STATUS_PAGE_TRIES, sizeof(*rejected));
	size_t n = 0;
	int r;

	if (!rejected)
		return -ENOMEM;
	for (;;) {
		r = khib_physmem_pin_page(ret, ret_paddr);
		if (r < 0 || khib_kexec_page_outside(cfg, *ret_paddr))
			break;
		if (n == STATUS_PAGE_TRIES) {
			khib_physmem_unpin_page(*ret);
			r = -EADDRINUSE;
			break;
		}
		rejected[n++] = *ret;
	}
	while (n)
		khib_physmem_unpin_page(rejected[--n]);
	return r;
}

static int jump(const struct hib_opts *o, struct khib_jump_config *cfg)
{
	struct khib_jump_plan plan;
	struct khib_status st = { 0 };
	void *page = NULL;
	uint64_t paddr, again;
	double t0;
	int r;

	/* Whether the load fits first: the plan without the status page is
	 * the same size, and that check has the numbers a user needs. */
	cfg->handoff.status_paddr = 0;
	if ((r = khib_jump_plan_build(cfg, &plan)) < 0)
		return khib_err_errno(r, "planning the jump to '%s' (region of %" PRIu64 " MiB)",
				      o->kernel, cfg->region_bytes >> 20);
	r = check_memory(cfg, &plan);
	khib_jump_plan_release(&plan);
	if (r)
		return 1;
	if ((r = pin_status_page(cfg, &page, &paddr)) < 0)
		return khib_err_errno(r, "locking a status page outside the writer kernel's region");
	if (getrandom(&st.nonce, sizeof(st.nonce), 0) != sizeof(st.nonce)) {
		khib_physmem_unpin_page(page);
		return khib_err_errno(-errno, "getrandom");
	}
	khib_status_encode(&st, page);
	cfg->handoff.status_paddr = paddr;
	cfg->handoff.status_nonce = st.nonce;

	r = khib_jump_plan_build(cfg, &plan);
	if (r < 0) {
		khib_physmem_unpin_page(page);
		return khib_err_errno(r, "planning the jump to '%s' (region of %" PRIu64 " MiB)",
				      o->kernel, cfg->region_bytes >> 20);
	}
	if (hib_retire_old_image(o->target)) {
		khib_jump_plan_release(&plan);
		khib_physmem_unpin_page(page);
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
	/* The page must not have moved since its address went into the handoff. */
	if (r >= 0 && (khib_physmem_page_paddr(page, &again) < 0 || again != paddr)) {
		khib_kexec_unload();
		r = -EAGAIN;
	}
	if (r < 0) {
		khib_physmem_unpin_page(page);
		return khib_err_errno(r, "loading the writer kernel '%s'", o->kernel);
	}
	khib_info("%s: jumping to the writer kernel", o->test ? "testing hibernation" : "hibernating");
	t0 = real_now();
	r = khib_kexec_jump();
	khib_kexec_unload(); /* one jump per load on 6.1 */
	if (r < 0)
		r = khib_err_errno(r, "jumping to the writer kernel");
	else
		r = report(o, page, st.nonce, t0);
	khib_physmem_unpin_page(page);
	return r;
}

static int hibernate_run(int argc, char **argv)
{
	struct hib_opts o;
	struct khib_config cf;
	struct khib_memmap fw;
	struct khib_jump_config cfg = { 0 };
	struct khib_bzimage bz;
	_cleanup_free_ char *kernel = NULL, *initrd = NULL;
	_cleanup_free_ uint8_t *elfcorehdr = NULL;
	size_t kernel_bytes, initrd_bytes;
	_cleanup_(khib_preflight_release) struct khib_preflight pf = { 0 };
	char reason[KHIB_REASON_MAX];
	const char *what;
	char compact[8];
	_cleanup_(secret_freep) uint8_t *keypage = NULL;
	_cleanup_(khib_tool_keyring_release) struct khib_keyring keys = { 0 };
	bool reserved, held;
	int r;

	if (khib_tool_load_config(&cf) < 0)
		return 1;
	config_defaults(&cf, &o);
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
	if (check_encryption(&o, &keys) || key_page(&o, &keys, &keypage) || check_kexec() ||
	    check_kernel_consents())
		return 1;
	if ((r = khib_read_file(o.kernel, MAX_FILE_BYTES, &kernel, &kernel_bytes)) < 0)
		return khib_err_errno(r, "reading the writer kernel '%s'", o.kernel);
	if ((r = khib_bzimage_parse(kernel, kernel_bytes, &bz)) < 0)
		return khib_err_errno(r, "'%s' is not a kernel khib can load", o.kernel);
	if ((r = khib_read_file(o.initrd, MAX_FILE_BYTES, &initrd, &initrd_bytes)) < 0)
		return khib_err_errno(r, "reading the writer initramfs '%s'", o.initrd);
	if ((r = size_region(&o, &bz, initrd_bytes, &reserved)))
		return r;
	if ((r = khib_sysinfo_jump_config(o.region_bytes, o.region_start, &fw, &cfg, &what)) < 0)
		return khib_err_errno(r, "%s", what);
	if (o.region_start && !reserved && check_region(&cfg))
		return 1;
	if ((r = khib_preflight_target(o.target, &cfg.handoff, &pf, reason)) < 0) {
		khib_err("target '%s': %s", o.target, reason);
		return 1;
	}
	if (hib_check_beneath_crypt(o.target, &pf, keypage) ||
	    hib_check_initramfs_map(o.target, &pf) ||
	    hib_check_capacity(o.target, &cfg.handoff, pf.capacity) ||
	    hib_check_owned(o.target, o.force) ||
	    record_file_systems(&cfg.handoff))
		return 1;
	cfg.key_page = keypage;
	cfg.extmap = pf.extmap;
	cfg.extmap_bytes = pf.extmap_bytes;

	cfg.kernel = kernel;
	cfg.kernel_bytes = kernel_bytes;
	cfg.initrd = initrd;
	cfg.initrd_bytes = initrd_bytes;
	cfg.cmdline = o.append;
	cfg.region_reserved = reserved;
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
