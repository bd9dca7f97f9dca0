/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Can this machine hibernate with khib, and resume?  One verdict per fact,
 * each decided here once, for `khib check` (which shows them all) and
 * `khib hibernate` (which refuses on the first that fails, before it
 * changes anything): the running kernel, its consent, the keys, the writer
 * kernel's initramfs, the initramfs this machine boots with, systemd's
 * hooks.  The target's verdicts are in lib/system/preflight.h.
 *
 * Every verdict is a level and one sentence saying what was found, with
 * the fix when there is one; nothing here prints.  `root` prefixes every
 * path of the machine (tests pass a fake tree, the tools "").
 */
#ifndef KHIB_CHECK_H
#define KHIB_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "initrd.h"

/* From better to worse: SKIP is a check that does not apply here. */
enum khib_check_level { KHIB_CHECK_OK, KHIB_CHECK_SKIP, KHIB_CHECK_WARN, KHIB_CHECK_FAIL };

#define KHIB_CHECK_TEXT 512

struct khib_check_result {
	enum khib_check_level level;
	char text[KHIB_CHECK_TEXT];	/* what was found, one sentence */
	char fix[KHIB_CHECK_TEXT];	/* what to do about it; "" when nothing */
};

/* "ok", "skip", "warn", "fail". */
const char *khib_check_level_name(enum khib_check_level level);

/* Fill ret; returns level. */
int khib_check_set(struct khib_check_result *ret, enum khib_check_level level, const char *fix,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* What khib keeps on the root file system. */
#define KHIB_STATE_DIR "/var/lib/khib"
/* The target map khib's initramfs hook last put into an initramfs. */
#define KHIB_INITRAMFS_MAP KHIB_STATE_DIR "/initramfs.map"
/* The kernel (release and version) a round trip through khib's writer
 * kernel came back to (khib_check_record_round_trip()). */
#define KHIB_ROUND_TRIP KHIB_STATE_DIR "/round-trip"
/* khib's initramfs-tools hook, as scripts/install.sh installs it. */
#define KHIB_INITRAMFS_HOOK "/usr/share/initramfs-tools/hooks/khib"

/* khib_kexec_probe_jump() was not called (it would unload a kernel loaded
 * for kexec): the kernel's config decides. */
#define KHIB_CHECK_NOT_PROBED 1

/*
 * Can this kernel kexec-jump?  `probe` is khib_kexec_probe_jump()'s answer,
 * which decides unless it is -EPERM (kexec_load is refused before the
 * flags are looked at) or KHIB_CHECK_NOT_PROBED; then CONFIG_KEXEC_JUMP in
 * /proc/config.gz or /boot/config-RELEASE does, and warns when neither
 * says.
 */
int khib_check_kexec_jump(const char *root, int probe, struct khib_check_result *ret);

/* Does this kernel let khib call kexec_load: lockdown (/sys/kernel/security/
 * lockdown), kernel.kexec_load_disabled, and a probe's -EPERM otherwise
 * (CAP_SYS_BOOT). */
int khib_check_kexec_allowed(const char *root, int probe, struct khib_check_result *ret);

/* Would this kernel allow its own hibernation now (khib refuses where it
 * would not: khib_sysinfo_hibernation_refused())? */
int khib_check_consent(const char *root, struct khib_check_result *ret);

/*
 * Does this kernel come back from a kexec jump?  Linux up to 6.12 reloads
 * no GDT on the way back and the machine resets (kernel/patches/0001;
 * upstream 07fa619f2a40).  By its version where that is known upstream:
 * 6.13 and later, 6.12.5 and later 6.12, 6.6.66 and later 6.6 have the
 * fix; other series got none, so whether this kernel has it (patched) is
 * unknown: a warning, unless a round trip already came back to this very
 * kernel (KHIB_ROUND_TRIP).  The version is the release's, or, where a
 * distribution numbers its releases X.Y.0, the one its version string
 * names ("Debian 6.1.119-1").
 */
int khib_check_return_path(const char *root, struct khib_check_result *ret);

/* Note that a round trip through the writer kernel came back to this
 * kernel (after `khib hibernate --test` passed, or a resume). */
int khib_check_record_round_trip(const char *root);

/*
 * Will images be encrypted, and is that what the configuration asks for?
 * clear: encrypt = no or --clear; n_keys: the protectors enrolled;
 * key_file: key-file= or --key-file, or NULL, which must be readable.
 * Fails on clear with keys (resume refuses such images) and on no keys
 * without clear (memory in clear only when asked); warns on clear.
 */
int khib_check_keys(bool clear, size_t n_keys, const char *key_file,
		    struct khib_check_result *ret);

/*
 * How an initramfs's khib (its bytes in m) compares with this khib (the
 * file self, e.g. /proc/self/exe, whose build stamp is `stamp`, a string
 * "khib-build: VERSION, ..." that the binary carries):
 */
enum khib_build_match {
	KHIB_BUILD_SAME,	/* the same bytes */
	KHIB_BUILD_SIBLING,	/* another build with the same stamp */
	KHIB_BUILD_OTHER,	/* another stamp: `what` names it */
	KHIB_BUILD_NONE,	/* no stamp: not khib, or a khib before stamps */
};
int khib_check_build_match(const struct khib_initrd_member *m, const char *self,
			   const char *stamp, char *what, size_t n);

/*
 * The writer kernel's initramfs (in memory, buf, from `path`): its /init
 * must be this khib, which hands over to it and whose images its restore
 * side reads.  Warns when it is another build of the same stamp, and when
 * it cannot be read (a compression khib does not read).
 */
int khib_check_writer_initrd(const void *buf, size_t len, const char *path, const char *self,
			     const char *stamp, struct khib_check_result *ret);

/*
 * The initramfs this machine boots with, root/boot/initrd.img-RELEASE: it
 * must carry khib and its init-premount script (khib's initramfs-tools
 * hook puts them there), that khib must be this one, and its
 * /etc/khib.conf must name `target` (NULL: none configured), or the next
 * boot does not resume the image.  Skipped with neither the hook nor
 * that file (resume is then up to this machine's own initramfs).
 */
int khib_check_boot_initramfs(const char *root, const char *self, const char *stamp,
			      const char *target, struct khib_check_result *ret);

/*
 * systemd's hooks, when systemd runs (root/run/systemd/system): the
 * drop-ins that make `systemctl hibernate` run khib hibernate and let
 * logind allow it without swap, and khib-discard.service enabled.  Looked
 * for where systemd looks (/etc, /run, /usr/local/lib, /usr/lib, /lib),
 * the first of a name winning; a warning names what is missing.
 */
int khib_check_systemd(const char *root, struct khib_check_result *ret);

#endif
