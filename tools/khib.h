/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The khib program: one binary, one subcommand per file (cmd-*.c).  Tools
 * own argv, messages and exit codes; all real work is in libkhib.
 *
 * Exit codes: 0 success, 1 the operation failed, 2 bad usage.
 */
#ifndef KHIB_TOOL_H
#define KHIB_TOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdint.h>
#include <stdio.h>

#define EXIT_USAGE 2

struct khib_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand */
	void (*help)(FILE *out);
	bool hidden;			   /* internal: not listed by --help */
	bool hashes_images;		   /* reads or writes whole images: pick the
					      fastest checksum build first */
};

/* "khib: <message>" on stderr, one line. */
void khib_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, followed by ": <strerror(-err)>"; returns 1 (exit code). */
int khib_err_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* strerror(), in khib's words where they say more (-ENOTBLK from
 * khib_open_input(): "not a regular file or block device"). */
const char *khib_tool_strerror(int err);
/* "khib: warning: <message>" on stderr: something the user should know,
 * the command goes on. */
void khib_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "khib: <message>" on stdout (progress and results). */
void khib_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define DECLARE_COMMAND(n) extern const struct khib_command khib_cmd_##n

DECLARE_COMMAND(check);
DECLARE_COMMAND(jump);
DECLARE_COMMAND(jump_back);
DECLARE_COMMAND(hibernate);
DECLARE_COMMAND(init);
DECLARE_COMMAND(resume);

/* khib's writer and restore kernel, as the package installs them. */
#define KHIB_DEFAULT_KERNEL "/usr/lib/khib/vmlinuz"
#define KHIB_DEFAULT_INITRD "/usr/lib/khib/initrd.img"

/* The most of a kernel or an initramfs file the tools read. */
#define KHIB_KERNEL_FILE_MAX_BYTES (512u << 20)

/* Physical memory, as the writer and restore kernels read and write it. */
#define KHIB_DEVMEM "/dev/mem"

/* Where the initramfs keeps the target map (lib/format/targetmap.h) its hook
 * wrote (the root file system keeps a copy of the last one,
 * KHIB_INITRAMFS_MAP in lib/system/check.h). */
#define KHIB_TARGET_MAP "/etc/khib/target.map"

/* The writer and restore kernels' command line: progress on the screen
 * (tty0) and on the first serial port, which is /dev/console. */
#define KHIB_DEFAULT_APPEND "console=tty0 console=ttyS0 nr_cpus=1 quiet"

/*
 * In khib's own kernels: send stdout and stderr to every console the
 * kernel has (/proc/consoles: the screen, tty0, and the serial port with
 * console=tty0 console=ttyS0), not only to /dev/console, which is the last
 * of them: the user looks at the screen, tests read the serial port.
 * Returns how many consoles now get the output (1: left as it was).
 */
int khib_console_mirror(void);

/* Progress lines for the console of khib's own kernels (console.c):
 * "khib: saving memory:  40% (205/512 MiB), 310 MB/s, ETA 1 s", every 10%
 * or 2 s, whatever the output is (a serial console is no terminal). */
struct khib_console_progress {
	const char *what;
	double t0, last;
	unsigned last_pct;
};
void khib_console_progress_init(struct khib_console_progress *p, const char *what);
void khib_console_progress(struct khib_console_progress *p, uint64_t done_pages,
			   uint64_t total_pages);
double khib_console_progress_elapsed(const struct khib_console_progress *p);

/* The kernel, initramfs and command line of khib's writer and restore
 * kernels: kernel=, initrd= and append= of cf, else the defaults above. */
struct khib_config;
void khib_tool_kernel_files(const struct khib_config *cf, const char **ret_kernel,
			    const char **ret_initrd, const char **ret_append);

/*
 * The writer or restore kernel's command line: `append`, plus
 * - pci-stub.ids= for every AHCI controller (class 0x010601) when the disk
 *   it uses (`disk`, under /sys/class/block) is not below one: that kernel
 *   then leaves them alone, rather than probing their ports (0.1-0.3 s of
 *   its boot on QEMU's q35, whose six ports are empty) and resetting a
 *   controller the hibernated kernel drives; not when append names
 *   pci-stub.ids itself or the disk's place is unknown;
 * - nolapic_timer when append gives it one CPU (nr_cpus=1) and the CPU has
 *   no TSC-deadline timer (/proc/cpuinfo): that kernel would otherwise
 *   calibrate its local APIC timer against the PIT or HPET for HZ/10 ticks
 *   (0.1 s, 0.14 s under TCG); on one CPU that global timer ticks instead.
 * Returns append or buf.
 */
const char *khib_tool_kernel_cmdline(const char *append, const char *disk, char *buf, size_t n);

/* /etc/khib.conf, or the file $KHIB_CONFIG names.  On a bad file prints
 * one line naming it and returns -EINVAL. */
int khib_tool_load_config(struct khib_config *ret);
/* That file's path. */
const char *khib_tool_config_path(void);

/* What khib_hash_pick_fastest() measured when khib started ("" if it
 * could not). */
extern char khib_tool_hash_report[128];

/* khib resume through /dev/snapshot (resume-snapshot.c), the snapshot op
 * of khib_resume() (lib/flows/resume.h): does not return on success;
 * KHIB_RESUME_FALLBACK when the snapshot path cannot be taken and nothing
 * changed (unless forced, the reason for taking the kexec path is said);
 * KHIB_RESUME_BAD_IMAGE when a chunk is bad; -errno otherwise.  reason
 * (KHIB_REASON_MAX bytes) says why.  *verified: every chunk was
 * read and found good.  threads: as khib_snapshot_write()'s. */
struct khib_reader;
struct khib_target;
int khib_resume_snapshot(struct khib_reader *rd, struct khib_target *t, const char *path,
			 unsigned threads, bool forced, bool *verified, char *reason);

/* The writer kernel's work (cmd-writer.c), entered from `khib init`. */
struct khib_handoff;
int khib_writer_main(const struct khib_handoff *h);

/* The restore kernel's work (cmd-restorer.c), entered from `khib init`. */
int khib_restorer_main(const struct khib_handoff *h);
/* A restore kernel started by the boot loader (khib.role=restore). */
int khib_restorer_direct(void);

/* Shared by the image commands. */
struct khib_target;
struct khib_reader;
/* Open an image read-only, an encrypted one with key_file (NULL: none;
 * with KHIB_READER_PUBLIC in flags an encrypted image without a key opens
 * as its public view); on failure prints one line and returns 1. */
int khib_tool_open_image(const char *path, unsigned flags, const char *key_file,
			 struct khib_target **ret_t, struct khib_reader **ret_r);

/* Do both paths name one existing file (or device)?  Then an input must
 * not be written over as the output (common.c). */
bool khib_tool_same_file(const char *a, const char *b);

/* The image's file systems against this boot's disks (lib/system/fscheck.h):
 * -ESTALE with reason filled when one was used since; those not found
 * are named in a note on stdout. */
int khib_tool_check_file_systems(const struct khib_reader *rd, char *reason);

/* A key file's bytes in secret memory (khib_secret_free()); prints one line
 * and returns -errno when it cannot be read or is not 32 bytes to 1 MiB. */
int khib_tool_read_key_file(const char *path, uint8_t **ret, size_t *ret_bytes);

/* The options of the commands that start one of khib's kernels in a
 * region of RAM (hibernate, jump), the same names and letters in both:
 * 'k' --kernel, 'i' --initrd, 'a' --append, 's' --region-size (see
 * khib_tool_parse_region_size()), 'S' --region-start. */
#define KHIB_TOOL_KERNEL_OPTIONS                                                                \
	{ "kernel", required_argument, NULL, 'k' }, { "initrd", required_argument, NULL, 'i' },  \
	{ "append", required_argument, NULL, 'a' },                                             \
	{ "region-size", required_argument, NULL, 's' },                                        \
	{ "region-start", required_argument, NULL, 'S' }

/* getopt_long() over long options only, with the errors in khib's words
 * ("khib: CMD: unknown option '--x'"); '?' for either. */
struct option;
int khib_tool_getopt(int argc, char **argv, const struct option *longopts);

/* khib_jump_plan_build()'s failure for kernel in cfg's region, said in one
 * line (-ENOSPC: the region is too small); returns 1. */
struct khib_jump_config;
int khib_tool_plan_failed(int err, const char *kernel, const struct khib_jump_config *cfg);

/* The wall clock in seconds: the clock both sides of a kexec jump share
 * (the writer kernel's report is stamped with it). */
double khib_tool_now_s(void);

/* s as a JSON string, quoted and escaped. */
void khib_tool_json_str(FILE *f, const char *s);

/* --threads N: 0..1024; prints the error. */
int khib_tool_parse_threads(const char *s, unsigned *ret);
/* --region-size SIZE: a positive multiple of KHIB_REGION_ALIGN; prints the
 * error. */
int khib_tool_parse_region_size(const char *s, uint64_t *ret);

/* Percent progress on stderr, only on a terminal or when forced. */
struct khib_progress {
	bool on;
	const char *what;
	unsigned long long total;
	int last;
};
void khib_progress_init(struct khib_progress *p, bool force, const char *what, uint64_t total);
void khib_progress_update(struct khib_progress *p, uint64_t done);
void khib_progress_done(struct khib_progress *p);

DECLARE_COMMAND(inspect);
DECLARE_COMMAND(key);
DECLARE_COMMAND(verify);
DECLARE_COMMAND(export_elf);
DECLARE_COMMAND(import_elf);
DECLARE_COMMAND(invalidate);
DECLARE_COMMAND(target);
DECLARE_COMMAND(setup);

#endif
