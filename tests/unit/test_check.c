/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The verdicts of khib check (lib/system/check.h) about the running kernel, the
 * keys and systemd, against a fake /proc, /sys, /boot, /etc and /usr: each
 * one ok, warned and failed, with the words that say why.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"
#include "test_check_fixture.h"
#include "test_initrd_fixture.h"
#include "util.h"

TEST(check_kexec_jump_by_probe)
{
	struct khib_check_result r;

	VERDICT(khib_check_kexec_jump(check_root(), 0, &r), r, KHIB_CHECK_OK, "can kexec-jump");
	VERDICT(khib_check_kexec_jump(check_root(), -EOPNOTSUPP, &r), r, KHIB_CHECK_FAIL,
		"built without CONFIG_KEXEC_JUMP");
	ASSERT_TRUE(strstr(r.fix, "CONFIG_KEXEC_JUMP=y") != NULL);
	VERDICT(khib_check_kexec_jump(check_root(), -ENOSYS, &r), r, KHIB_CHECK_FAIL,
		"no kexec_load: Function not implemented (built without CONFIG_KEXEC, or a");
	VERDICT(khib_check_kexec_jump(check_root(), -EINVAL, &r), r, KHIB_CHECK_FAIL,
		"probing kexec_load");
}

/* When the kernel does not say (locked down, or not asked), its config does. */
TEST(check_kexec_jump_by_config)
{
	struct fixture_buf text = { 0 }, gz = { 0 };
	struct khib_check_result r;
	const char *config = "CONFIG_KEXEC=y\nCONFIG_KEXEC_JUMP=y\n";

	test_put_text("/proc/sys/kernel/osrelease", "6.1.0-test\n");
	VERDICT(khib_check_kexec_jump(check_root(), KHIB_CHECK_NOT_PROBED, &r), r,
		KHIB_CHECK_WARN, "neither /proc/config.gz nor /boot/config-RELEASE");
	test_put_text("/boot/config-6.1.0-test", "# CONFIG_KEXEC_JUMP is not set\n");
	VERDICT(khib_check_kexec_jump(check_root(), -EPERM, &r), r, KHIB_CHECK_FAIL,
		"says /boot/config-6.1.0-test");
	test_put_text("/boot/config-6.1.0-test", "CONFIG_KEXEC_JUMP_X=y\n");
	VERDICT(khib_check_kexec_jump(check_root(), -EPERM, &r), r, KHIB_CHECK_FAIL,
		"built without");
	test_put_text("/boot/config-6.1.0-test", config);
	VERDICT(khib_check_kexec_jump(check_root(), -EPERM, &r), r, KHIB_CHECK_OK,
		"CONFIG_KEXEC_JUMP=y (/boot/config-6.1.0-test)");
	/* /proc/config.gz is the running kernel's own, and comes first. */
	fixture_put(&text, "# CONFIG_KEXEC_JUMP is not set\n", 31);
	fixture_gzip(&gz, &text);
	test_put_file("/proc/config.gz", gz.p, gz.len);
	VERDICT(khib_check_kexec_jump(check_root(), KHIB_CHECK_NOT_PROBED, &r), r,
		KHIB_CHECK_FAIL, "says /proc/config.gz");
	fixture_buf_free(&text);
	fixture_buf_free(&gz);
}

TEST(check_kexec_allowed)
{
	struct khib_check_result r;

	/* No lockdown LSM: nothing forbids it. */
	VERDICT(khib_check_kexec_allowed(check_root(), 0, &r), r, KHIB_CHECK_OK, "is allowed");
	test_put_text("/sys/kernel/security/lockdown", "none [integrity] confidentiality\n");
	VERDICT(khib_check_kexec_allowed(check_root(), -EPERM, &r), r, KHIB_CHECK_FAIL,
		"locked down (integrity): it forbids kexec_load");
	ASSERT_TRUE(!strstr(r.text, "Secure Boot"));
	test_put_text("/sys/firmware/efi/systab", "ACPI20=0x7fb7e014\n");
	VERDICT(khib_check_kexec_allowed(check_root(), -EPERM, &r), r, KHIB_CHECK_FAIL,
		"(integrity, as under Secure Boot)");
	test_put_text("/sys/kernel/security/lockdown", "[none] integrity confidentiality\n");
	test_put_text("/proc/sys/kernel/kexec_load_disabled", "1\n");
	VERDICT(khib_check_kexec_allowed(check_root(), -EPERM, &r), r, KHIB_CHECK_FAIL,
		"kexec_load is disabled (kernel.kexec_load_disabled = 1");
	test_put_text("/proc/sys/kernel/kexec_load_disabled", "0\n");
	VERDICT(khib_check_kexec_allowed(check_root(), -EPERM, &r), r, KHIB_CHECK_FAIL,
		"CAP_SYS_BOOT");
	VERDICT(khib_check_kexec_allowed(check_root(), KHIB_CHECK_NOT_PROBED, &r), r,
		KHIB_CHECK_OK, "is allowed");
	test_put_text("/sys/kernel/security/lockdown", "no brackets\n");
	VERDICT(khib_check_kexec_allowed(check_root(), 0, &r), r, KHIB_CHECK_WARN,
		"lockdown mode is unreadable");
}

TEST(check_consent)
{
	struct khib_check_result r;

	test_put_text("/sys/power/disk", "[platform] shutdown reboot\n");
	test_put_text("/sys/power/state", "freeze mem disk\n");
	VERDICT(khib_check_consent(check_root(), &r), r, KHIB_CHECK_OK, "nothing makes");
	test_put_text("/sys/power/state", "freeze mem\n");
	test_put_text("/proc/cmdline", "root=/dev/vda nohibernate\n");
	VERDICT(khib_check_consent(check_root(), &r), r, KHIB_CHECK_FAIL,
		"refuses its own hibernation now ('nohibernate' is on its command line): khib "
		"refuses too");
	ASSERT_STREQ(r.fix, "boot without 'nohibernate'");
	test_put_text("/proc/cmdline", "root=/dev/vda\n");
	VERDICT(khib_check_consent(check_root(), &r), r, KHIB_CHECK_FAIL, "memfd_secret");
	ASSERT_TRUE(strstr(r.fix, "memfd_secret") != NULL);
}

static void kernel_is(const char *release, const char *version)
{
	test_put_text("/proc/sys/kernel/osrelease", release);
	test_put_text("/proc/sys/kernel/version", version);
}

/* By version where Linux has the fix; a patched kernel of another series
 * is unknown until a round trip came back to it. */
TEST(check_return_path)
{
	static const struct {
		const char *release, *version;
		int level;
	} cases[] = {
		{ "6.13.0", "#1 SMP", KHIB_CHECK_OK },
		{ "7.1.2-arch1", "#1 SMP", KHIB_CHECK_OK },
		{ "6.12.5", "#1 SMP", KHIB_CHECK_OK },
		{ "6.12.4", "#1 SMP", KHIB_CHECK_WARN },
		{ "6.6.66-foo", "#1 SMP", KHIB_CHECK_OK },
		{ "6.6.65", "#1 SMP", KHIB_CHECK_WARN },
		{ "6.1.192", "#1 SMP", KHIB_CHECK_WARN },
		{ "5.15.170", "#1 SMP", KHIB_CHECK_WARN },
		/* Debian numbers its releases X.Y.0: its version string says. */
		{ "6.1.0-28-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)",
		  KHIB_CHECK_WARN },
		{ "6.12.0-1-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.12.9-1 (2025-01-19)",
		  KHIB_CHECK_OK },
		{ "6.12.0-1-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.11.9-1", KHIB_CHECK_WARN },
		{ "nonsense", "", KHIB_CHECK_WARN },
	};
	struct khib_check_result r;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		kernel_is(cases[i].release, cases[i].version);
		if (khib_check_return_path(check_root(), &r) != cases[i].level)
			test_fail(__FILE__, __LINE__, "%s (%s): %s", cases[i].release,
				  cases[i].version, r.text);
	}
	kernel_is("6.1.192", "#1 SMP");
	VERDICT(khib_check_return_path(check_root(), &r), r, KHIB_CHECK_WARN,
		"whether this kernel (6.1.192) comes back from a kexec jump is unknown");
	ASSERT_TRUE(strstr(r.fix, "khib check --round-trip") != NULL);
}

TEST(check_round_trip_recorded)
{
	struct khib_check_result r;

	/* No /var/lib/khib yet (no /var/lib even, in a minimal root). */
	kernel_is("6.1.192\n", "#1 SMP Mon Jan 1\n");
	ASSERT_OK(khib_check_record_round_trip(check_root()));
	VERDICT(khib_check_return_path(check_root(), &r), r, KHIB_CHECK_OK,
		"this kernel (6.1.192) came back from khib's writer kernel before");
	/* Another build of the same release is another kernel. */
	kernel_is("6.1.192\n", "#2 SMP Tue Jan 2\n");
	VERDICT(khib_check_return_path(check_root(), &r), r, KHIB_CHECK_WARN, "unknown");
	ASSERT_OK(khib_check_record_round_trip(check_root()));
	VERDICT(khib_check_return_path(check_root(), &r), r, KHIB_CHECK_OK, "came back");
}

TEST(check_keys)
{
	struct khib_check_result r;
	char key[512];

	VERDICT(khib_check_keys(false, 0, NULL, &r), r, KHIB_CHECK_FAIL,
		"no key is enrolled, so the image would hold this machine's memory in clear");
	VERDICT(khib_check_keys(true, 1, NULL, &r), r, KHIB_CHECK_FAIL,
		"keys are enrolled and resume refuses images in clear");
	VERDICT(khib_check_keys(true, 0, NULL, &r), r, KHIB_CHECK_OK, "in clear, as asked");
	VERDICT(khib_check_keys(false, 2, NULL, &r), r, KHIB_CHECK_OK, "encrypted for 2 enrolled "
		"keys");
	snprintf(key, sizeof(key), "%s/root/etc/khib/key", test_tmpdir());
	VERDICT(khib_check_keys(false, 0, key, &r), r, KHIB_CHECK_FAIL, "is unreadable");
	test_put_text("/etc/khib/key", "0123456789abcdef0123456789abcdef");
	VERDICT(khib_check_keys(false, 1, key, &r), r, KHIB_CHECK_OK, "1 enrolled key and the "
		"key file");
	VERDICT(khib_check_keys(true, 0, key, &r), r, KHIB_CHECK_FAIL, "refuses images in clear");
}

/* What scripts/install.sh installs for systemd. */
static void systemd_hooks(const char *dir)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/systemd-hibernate.service.d/khib.conf", dir);
	test_put_text(path, "[Service]\nExecStart=\nExecStart=/usr/sbin/khib hibernate\n");
	snprintf(path, sizeof(path), "%s/systemd-logind.service.d/khib.conf", dir);
	test_put_text(path, "[Service]\nEnvironment=SYSTEMD_BYPASS_HIBERNATION_MEMORY_CHECK=1\n");
	snprintf(path, sizeof(path), "%s/khib-discard.service", dir);
	test_put_text(path, "[Service]\nExecStart=/usr/sbin/khib invalidate\n");
}

TEST(check_systemd)
{
	struct khib_check_result r;
	char wants[512];

	VERDICT(khib_check_systemd(check_root(), &r), r, KHIB_CHECK_SKIP,
		"systemd does not run this machine");
	test_put_text("/run/systemd/system/.keep", "");
	VERDICT(khib_check_systemd(check_root(), &r), r, KHIB_CHECK_WARN,
		"`systemctl hibernate` does not run khib (no systemd-hibernate.service.d/khib.conf); "
		"logind refuses hibernation without swap");
	systemd_hooks("/usr/lib/systemd/system");
	VERDICT(khib_check_systemd(check_root(), &r), r, KHIB_CHECK_WARN,
		"khib-discard.service, which discards an image a boot did not resume, is not "
		"enabled");
	ASSERT_TRUE(!strstr(r.text, "logind"));
	snprintf(wants, sizeof(wants), "%s/root/etc/systemd/system/sysinit.target.wants",
		 test_tmpdir());
	test_put_text("/etc/systemd/system/sysinit.target.wants/.keep", "");
	strcat(wants, "/khib-discard.service");
	ASSERT_EQ(symlink("/usr/lib/systemd/system/khib-discard.service", wants), 0);
	VERDICT(khib_check_systemd(check_root(), &r), r, KHIB_CHECK_OK,
		"`systemctl hibernate` runs khib hibernate");
	/* One in /etc of the same name wins: empty, it masks khib's. */
	test_put_text("/etc/systemd/system/systemd-logind.service.d/khib.conf", "");
	VERDICT(khib_check_systemd(check_root(), &r), r, KHIB_CHECK_WARN, "logind refuses");
	test_put_text("/etc/systemd/system/systemd-hibernate.service.d/khib.conf",
		      "[Service]\nExecStart=/usr/bin/other\n");
	VERDICT(khib_check_systemd(check_root(), &r), r, KHIB_CHECK_WARN,
		"`systemctl hibernate` does not run khib");
}
