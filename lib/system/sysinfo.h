/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Facts about the running kernel that a jump or an image records: its
 * identity (release, version, boot id), where its own image lies (so a
 * region avoids it), the ACPI root pointer it was given, and its VMCOREINFO
 * note.  Read from /proc and /sys; `root` prefixes every path (tests pass a
 * fake tree, the tools pass "").
 */
#ifndef KHIB_SYSINFO_H
#define KHIB_SYSINFO_H

#include <stdbool.h>
#include <stdint.h>

#include "handoff.h"
#include "memmap.h"

/* uname release and version, /proc/sys/kernel/random/boot_id. */
int khib_sysinfo_identity(const char *root, struct khib_handoff *h);

/* Ranges a jumped-to kernel must not use: the running kernel's code, data
 * and bss, and any crash kernel reservation, from /proc/iomem. */
int khib_sysinfo_avoid_ranges(const char *root, struct khib_memmap *ret);

/*
 * The running kernel's crash kernel reservation (crashkernel=), the largest
 * "Crash kernel" range in /proc/iomem, and whether a crash kernel is loaded
 * into it (/sys/kernel/kexec_crash_loaded).  -ENOENT without one.
 */
int khib_sysinfo_crash_region(const char *root, uint64_t *ret_start, uint64_t *ret_bytes,
			      bool *ret_loaded);

/*
 * The console the running kernel was booted with (screen_info, the first
 * KHIB_SCREEN_INFO_BYTES of its zero page), for the writer and restore
 * kernels to print on the same screen: VGA text or the firmware's linear
 * framebuffer.  SAFETY: a framebuffer that overlaps RAM in the firmware
 * map `fw` would have those kernels write into the running kernel's
 * memory; then, or when unknown, *ret is all zeros (no screen).
 */
void khib_sysinfo_screen_info(const char *root, const struct khib_memmap *fw, uint8_t *ret);

/* The ACPI root pointer the running kernel uses: acpi_rsdp_addr from its
 * zero page, else (an EFI boot) ACPI20= or ACPI= of
 * /sys/firmware/efi/systab; 0 if unknown. */
uint64_t khib_sysinfo_acpi_rsdp(const char *root);

/* The most an image of this machine can take on a target: every page of
 * the RAM in its firmware map (root/sys/firmware/memmap) stored
 * incompressible, with all metadata (khib_image_max_bytes()); more than any
 * hibernation needs, since the writer's region and low memory are not
 * saved.  What `khib setup` sizes a target for. */
int khib_sysinfo_image_worst_case(const char *root, uint64_t *ret_bytes);

/* Physical address and size of the VMCOREINFO note; -ENOENT without one. */
int khib_sysinfo_vmcoreinfo(const char *root, uint64_t *ret_paddr, uint64_t *ret_bytes);

/* The kernel's get_num_physpages(): the sum of "present" in /proc/zoneinfo. */
int khib_sysinfo_num_physpages(const char *root, uint64_t *ret);

/* The page frames of the running kernel's populated zones, as byte ranges:
 * what its hibernation can restore into (start_pfn and spanned in
 * /proc/zoneinfo). */
int khib_sysinfo_zone_spans(const char *root, struct khib_memmap *ret);

/*
 * The checksum the kernel's hibernation puts in its image header and checks
 * on restore (arch/x86/power/hibernate.c compute_e820_crc32): CRC-32 of
 * e820_table_firmware as it sits in memory — a u32 entry count, then per
 * entry u64 address, u64 size, u32 type, packed.  Rebuilt from
 * /sys/firmware/memmap (`dir`), whose entries are that table in order.
 * -EOPNOTSUPP for a type name the kernel prints for several types.
 */
int khib_sysinfo_e820_crc32(const char *dir, uint32_t *ret);

/*
 * Does the running kernel rely on what its free pages hold?  With
 * init_on_free it takes them to be zero (a __GFP_ZERO allocation is not
 * cleared again), with page_poison to hold the poison pattern: an image that
 * leaves free pages out must not be made then.  Reads root/proc/cmdline (as
 * the kernel reads early parameters: the last `key=` wins, '-' and '_' are
 * the same, values as kstrtobool(); an unreadable value counts as on) and,
 * when init_on_free is not given, CONFIG_INIT_ON_FREE_DEFAULT_ON=y in the
 * kernel's config (khib_sysinfo_kconfig(); none: taken as off).
 * 1 with *ret_why naming the reason, 0, or -errno.
 */
int khib_sysinfo_free_pages_matter(const char *root, const char *release, const char **ret_why);

/*
 * Is the running kernel built with `name` ("CONFIG_KEXEC_JUMP")?  Its
 * config from root/proc/config.gz (CONFIG_IKCONFIG_PROC), else
 * root/boot/config-RELEASE: 1 set (=y or =m), 0 not set, and the file it
 * read in where (n bytes, may be NULL); -ENOENT when neither is there.
 */
int khib_sysinfo_kconfig(const char *root, const char *release, const char *name, char *where,
			 size_t n);

/*
 * The lockdown mode of the running kernel ("none", "integrity",
 * "confidentiality"), the bracketed word of /sys/kernel/security/lockdown;
 * "none" without the lockdown LSM.  ret: at least 16 bytes.
 */
int khib_sysinfo_lockdown(const char *root, char *ret, size_t n);

/*
 * Would the running kernel refuse its own hibernation now?  Built with it
 * (/sys/power/disk exists) but "disk" missing from /sys/power/state means
 * hibernation_available() is false: `nohibernate` on its command line,
 * lockdown, or memfd_secret areas in use (their promise is that not even
 * the kernel reads those pages; an image of them would break it).  1 with
 * *ret_why naming the reason, 0 when it would not refuse (or was built
 * without hibernation), -errno.
 */
int khib_sysinfo_hibernation_refused(const char *root, const char **ret_why);

/*
 * Does block device `name` (under /sys/class/block) sit below a PCI
 * function of class `class` (its `class` attribute, masked with `mask`),
 * e.g. a SATA disk below its AHCI controller (0x010601)?  1 yes, 0 no,
 * -errno (no such block device).
 */
#define KHIB_PCI_CLASS_AHCI 0x010601
int khib_sysinfo_block_below_pci_class(const char *root, const char *name, uint32_t class,
				       uint32_t mask);

/*
 * Does this machine's CPU have `flag` (a word of /proc/cpuinfo's "flags",
 * e.g. tsc_deadline_timer)?  The first processor's line speaks for all.  1
 * yes, 0 no, -ENODATA (no flags line), -errno.
 */
int khib_sysinfo_cpu_flag(const char *root, const char *flag);

/* Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into 16 bytes. */
int khib_parse_uuid(const char *s, uint8_t ret[16]);

#endif
