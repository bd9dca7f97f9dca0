/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The verdicts about the running kernel, the keys and systemd (check.h);
 * those about initramfs images are in check_boot.c.
 */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "sysinfo.h"
#include "util.h"

const char *khib_check_level_name(enum khib_check_level level)
{
	static const char *const names[] = { "ok", "skip", "warn", "fail" };

	return names[level];
}

int khib_check_set(struct khib_check_result *ret, enum khib_check_level level, const char *fix,
		   const char *fmt, ...)
{
	va_list ap;

	ret->level = level;
	va_start(ap, fmt);
	vsnprintf(ret->text, sizeof(ret->text), fmt, ap);
	va_end(ap);
	snprintf(ret->fix, sizeof(ret->fix), "%s", fix ? fix : "");
	return level;
}

/* root/path exists (a link: itself, wherever it points). */
static bool root_exists(const char *root, const char *path)
{
	char full[512];
	struct stat st;

	snprintf(full, sizeof(full), "%s%s", root, path);
	return lstat(full, &st) == 0;
}

/* The running kernel's release or version ("/proc/sys/kernel/osrelease"),
 * "" when unreadable. */
static void kernel_string(const char *root, const char *what, char *buf, size_t n)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/proc/sys/kernel/%s", root, what);
	if (khib_read_attr(path, buf, n) < 0)
		buf[0] = '\0';
}

#define FIX_KEXEC_JUMP "boot a kernel built with CONFIG_KEXEC_JUMP=y (Debian's are not; " \
	"'kernel/build.sh --distro-config /boot/config-$(uname -r)' in khib's sources builds " \
	"one from yours)"

int khib_check_kexec_jump(const char *root, int probe, struct khib_check_result *ret)
{
	char release[128], where[160];
	int r;

	if (probe == 0)
		return khib_check_set(ret, KHIB_CHECK_OK, NULL,
				      "this kernel can kexec-jump (CONFIG_KEXEC_JUMP)");
	if (probe == -EOPNOTSUPP)
		return khib_check_set(ret, KHIB_CHECK_FAIL, FIX_KEXEC_JUMP, "this kernel cannot "
				      "kexec-jump (built without CONFIG_KEXEC_JUMP)");
	if (probe == -ENOSYS)
		/* ENOSYS is also what a seccomp filter (a container) answers. */
		return khib_check_set(ret, KHIB_CHECK_FAIL, FIX_KEXEC_JUMP, "this kernel has no "
				      "kexec_load: %s (built without CONFIG_KEXEC, or a seccomp "
				      "filter refuses it)", strerror(ENOSYS));
	if (probe < 0 && probe != -EPERM)
		return khib_check_set(ret, KHIB_CHECK_FAIL, NULL, "probing kexec_load: %s",
				      strerror(-probe));
	/* The kernel would not say: its config does. */
	kernel_string(root, "osrelease", release, sizeof(release));
	r = khib_sysinfo_kconfig(root, release, "CONFIG_KEXEC_JUMP", where, sizeof(where));
	if (r == 1)
		return khib_check_set(ret, KHIB_CHECK_OK, NULL, "this kernel was built with "
				      "CONFIG_KEXEC_JUMP=y (%s)", where);
	if (r == 0)
		return khib_check_set(ret, KHIB_CHECK_FAIL, FIX_KEXEC_JUMP, "this kernel cannot "
				      "kexec-jump (built without CONFIG_KEXEC_JUMP, says %s)", where);
	return khib_check_set(ret, KHIB_CHECK_WARN, "make the kernel's config readable "
			      "(CONFIG_IKCONFIG_PROC, or /boot/config-RELEASE); khib hibernate "
			      "asks the kernel itself", "whether this kernel can kexec-jump is "
			      "unknown: the kernel was not asked, and %s", r == -ENOENT ?
			      "neither /proc/config.gz nor /boot/config-RELEASE is there" :
			      "its config is unreadable");
}

int khib_check_kexec_allowed(const char *root, int probe, struct khib_check_result *ret)
{
	char mode[32], path[512], disabled[8] = "";
	int r = khib_sysinfo_lockdown(root, mode, sizeof(mode));

	if (r < 0)
		return khib_check_set(ret, KHIB_CHECK_WARN, NULL, "the kernel's lockdown mode is "
				      "unreadable ('/sys/kernel/security/lockdown': %s)",
				      strerror(-r));
	if (strcmp(mode, "none"))
		return khib_check_set(ret, KHIB_CHECK_FAIL, "boot without lockdown (lockdown= on "
				      "the command line, or Secure Boot's)", "the kernel is locked "
				      "down (%s%s): it forbids kexec_load, which khib needs to start "
				      "its writer kernel", mode, root_exists(root, "/sys/firmware/efi") ?
				      ", as under Secure Boot" : "");
	snprintf(path, sizeof(path), "%s/proc/sys/kernel/kexec_load_disabled", root);
	if (khib_read_attr(path, disabled, sizeof(disabled)) >= 0 && !strcmp(disabled, "1"))
		return khib_check_set(ret, KHIB_CHECK_FAIL, "reboot without setting it (sysctl.d)",
				      "kexec_load is disabled (kernel.kexec_load_disabled = 1, which "
				      "stays set until the next boot)");
	if (probe == -EPERM)
		return khib_check_set(ret, KHIB_CHECK_FAIL, "run khib as root",
				      "kexec_load is not allowed to this process (it needs "
				      "CAP_SYS_BOOT)");
	return khib_check_set(ret, KHIB_CHECK_OK, NULL, "kexec_load is allowed (no lockdown, "
			      "kernel.kexec_load_disabled = 0)");
}

int khib_check_consent(const char *root, struct khib_check_result *ret)
{
	const char *why = NULL, *fix;
	int r = khib_sysinfo_hibernation_refused(root, &why);

	if (r < 0)
		return khib_check_set(ret, KHIB_CHECK_FAIL, NULL, "reading '/sys/power/state': %s",
				      strerror(-r));
	if (r == 0)
		return khib_check_set(ret, KHIB_CHECK_OK, NULL, "nothing makes this kernel refuse "
				      "its own hibernation now");
	if (strstr(why, "nohibernate"))
		fix = "boot without 'nohibernate'";
	else if (strstr(why, "locked down"))
		fix = "boot without lockdown";
	else
		fix = "end the programs that hold memfd_secret areas";
	return khib_check_set(ret, KHIB_CHECK_FAIL, fix, "this kernel refuses its own hibernation "
			      "now (%s): khib refuses too", why);
}

struct kernel_version {
	unsigned major, minor, sub;
};

/*
 * The version "X.Y.Z" the release starts with; where a distribution names
 * its releases X.Y.0 (Debian's 6.1.0-28-amd64), the X.Y.Z its version
 * string names ("#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)").
 */
static bool kernel_version(const char *release, const char *version, struct kernel_version *v)
{
	int n = sscanf(release, "%u.%u.%u", &v->major, &v->minor, &v->sub);

	if (n < 2)
		return false;
	if (n == 2)
		v->sub = 0;
	for (const char *p = version; !v->sub && *p; p++) {
		struct kernel_version w;

		if ((p == version || p[-1] == ' ') && sscanf(p, "%u.%u.%u", &w.major, &w.minor,
							      &w.sub) == 3 &&
		    w.major == v->major && w.minor == v->minor)
			v->sub = w.sub;
	}
	return true;
}

/* Linux 07fa619f2a40 ("x86/kexec: Restore GDT on return from
 * ::preserve_context kexec"): 6.13, and the stable releases that took it;
 * the 6.1, 5.15 and 5.4 backports failed to apply and none followed. */
static bool has_gdt_fix(const struct kernel_version *v)
{
	if (v->major != 6)
		return v->major > 6;
	return v->minor >= 13 || (v->minor == 12 && v->sub >= 5) || (v->minor == 6 && v->sub >= 66);
}

/* Did a round trip come back to this very kernel before? */
static bool round_trip_recorded(const char *root, const char *release, const char *version)
{
	_cleanup_free_ char *text = NULL;
	char want[512];

	if (khib_read_root_file(root, KHIB_ROUND_TRIP, &text) < 0)
		return false;
	snprintf(want, sizeof(want), "%s\n%s\n", release, version);
	return !strcmp(text, want);
}

int khib_check_return_path(const char *root, struct khib_check_result *ret)
{
	char release[128], version[256];
	struct kernel_version v;

	kernel_string(root, "osrelease", release, sizeof(release));
	kernel_string(root, "version", version, sizeof(version));
	if (release[0] && round_trip_recorded(root, release, version))
		return khib_check_set(ret, KHIB_CHECK_OK, NULL, "this kernel (%s) came back from "
				      "khib's writer kernel before (%s)", release, KHIB_ROUND_TRIP);
	if (kernel_version(release, version, &v) && has_gdt_fix(&v))
		return khib_check_set(ret, KHIB_CHECK_OK, NULL, "this kernel (%u.%u.%u) comes back "
				      "from a kexec jump: Linux has the fix since 6.13, 6.12.5 and "
				      "6.6.66", v.major, v.minor, v.sub);
	return khib_check_set(ret, KHIB_CHECK_WARN, "show it once: khib check --round-trip (save "
			      "your work first)", "whether this kernel (%s) comes back from a kexec "
			      "jump is unknown: Linux has the fix since 6.13, 6.12.5 and 6.6.66, so "
			      "in its series only a patched kernel does (khib's kernel/patches); "
			      "without it the machine resets at the resume", release[0] ? release :
			      "?");
}

int khib_check_record_round_trip(const char *root)
{
	char release[128], version[256], dir[512], path[600], tmp[640];
	_cleanup_close_ int fd = -1;
	int len;

	kernel_string(root, "osrelease", release, sizeof(release));
	kernel_string(root, "version", version, sizeof(version));
	if (!release[0])
		return -ENOENT;
	/* mkdir -p: a minimal root may have no /var/lib yet. */
	snprintf(dir, sizeof(dir), "%s%s/", root, KHIB_STATE_DIR);
	for (char *p = dir + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	snprintf(path, sizeof(path), "%s%s", root, KHIB_ROUND_TRIP);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	len = dprintf(fd, "%s\n%s\n", release, version);
	if (len < 0 || fsync(fd) < 0 || rename(tmp, path) < 0) {
		int r = -errno;

		unlink(tmp);
		return r;
	}
	return 0;
}

int khib_check_keys(bool clear, size_t n_keys, const char *key_file,
		    struct khib_check_result *ret)
{
	if (clear && (n_keys || key_file))
		return khib_check_set(ret, KHIB_CHECK_FAIL, "drop encrypt = no (or --clear), or the "
				      "keys (khib key remove)", "an image in clear is asked for "
				      "(--clear or encrypt = no), but keys are enrolled and resume "
				      "refuses images in clear (khib key list)");
	if (clear)
		return khib_check_set(ret, KHIB_CHECK_OK, NULL, "images are written in clear, as "
				      "asked (encrypt = no or --clear)");
	if (!n_keys && !key_file)
		return khib_check_set(ret, KHIB_CHECK_FAIL, "enroll one (khib key enroll "
				      "passphrase), or ask for clear images (encrypt = no in "
				      "/etc/khib.conf, or --clear)", "no key is enrolled, so the "
				      "image would hold this machine's memory in clear");
	if (key_file && access(key_file, R_OK) < 0)
		return khib_check_set(ret, KHIB_CHECK_FAIL, "put it back, or drop key-file=",
				      "the key file '%s' that images are sealed for is unreadable: %s",
				      key_file, strerror(errno));
	return khib_check_set(ret, KHIB_CHECK_OK, NULL, "images are encrypted for %zu enrolled "
			      "key%s%s%s%s", n_keys, n_keys == 1 ? "" : "s",
			      key_file ? " and the key file '" : "", key_file ? key_file : "",
			      key_file ? "'" : "");
}

/* Where systemd looks for system units, first first. */
static const char *const unit_dirs[] = {
	"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
	"/usr/lib/systemd/system", "/lib/systemd/system",
};

/* The first root/DIR/name, as systemd takes it: 1 with its text in *ret,
 * 0 when there is none or it is masked (a link to /dev/null, empty). */
static int unit_file(const char *root, const char *name, char **ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(unit_dirs); i++) {
		char path[512];
		int r;

		snprintf(path, sizeof(path), "%s/%s", unit_dirs[i], name);
		r = khib_read_root_file(root, path, ret);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return 0;
		if (!**ret) {
			free(*ret);
			*ret = NULL;
			return 0;
		}
		return 1;
	}
	return 0;
}

/* Does unit file `name` hold a line starting with `key` that holds
 * `value`? */
static bool unit_has(const char *root, const char *name, const char *key, const char *value)
{
	_cleanup_free_ char *text = NULL;

	if (unit_file(root, name, &text) <= 0)
		return false;
	for (char *p = text; p && *p;) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		if (!strncmp(p, key, strlen(key)) && strstr(p, value))
			return true;
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

int khib_check_systemd(const char *root, struct khib_check_result *ret)
{
	_cleanup_free_ char *unit = NULL;
	char missing[KHIB_CHECK_TEXT] = "";
	size_t n = 0;

	if (!root_exists(root, "/run/systemd/system"))
		return khib_check_set(ret, KHIB_CHECK_SKIP, NULL, "systemd does not run this "
				      "machine: nothing to hook (khib hibernate hibernates)");
	if (!unit_has(root, "systemd-hibernate.service.d/khib.conf", "ExecStart=", "khib hibernate"))
		n += (size_t)snprintf(missing + n, sizeof(missing) - n, "%s`systemctl hibernate` "
				      "does not run khib (no systemd-hibernate.service.d/khib.conf)",
				      n ? "; " : "");
	if (!unit_has(root, "systemd-logind.service.d/khib.conf", "Environment=",
		      "SYSTEMD_BYPASS_HIBERNATION_MEMORY_CHECK=1") && n < sizeof(missing))
		n += (size_t)snprintf(missing + n, sizeof(missing) - n, "%slogind refuses "
				      "hibernation without swap (no systemd-logind.service.d/khib.conf)",
				      n ? "; " : "");
	if ((unit_file(root, "khib-discard.service", &unit) <= 0 ||
	     !root_exists(root, "/etc/systemd/system/sysinit.target.wants/khib-discard.service")) &&
	    n < sizeof(missing))
		snprintf(missing + n, sizeof(missing) - n, "%skhib-discard.service, which discards "
			 "an image a boot did not resume, is not enabled", n ? "; " : "");
	if (missing[0])
		return khib_check_set(ret, KHIB_CHECK_WARN, "scripts/install.sh installs them (then "
				      "systemctl daemon-reload)", "%s", missing);
	return khib_check_set(ret, KHIB_CHECK_OK, NULL, "`systemctl hibernate` runs khib "
			      "hibernate, logind allows it without swap, khib-discard.service is "
			      "enabled");
}
