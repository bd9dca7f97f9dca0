/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib init: /init of khib's writer and restore kernels.  It mounts what
 * they need, then the handoff block on the command line says which work
 * this kernel does: the writer's (cmd-writer.c) or the restorer's
 * (cmd-restorer.c); a restore kernel the boot loader started has none.
 */
#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "crypt.h"
#include "fileio.h"
#include "handoff.h"
#include "handoff_read.h"
#include "khib.h"
#include "util.h"

static void mount_api_filesystems(void)
{
	/* EBUSY: already mounted (the kernel may have mounted devtmpfs). */
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
}

/* khib.role=restore: a restore kernel the boot loader started. */
static bool is_direct_restore(void)
{
	_cleanup_free_ char *cmdline = NULL;
	char role[16];

	return khib_read_file("/proc/cmdline", 65536, &cmdline, NULL) >= 0 &&
	       khib_cmdline_get(cmdline, "khib.role", role, sizeof(role)) >= 0 &&
	       !strcmp(role, "restore");
}

static int init_run(int argc, char **argv)
{
	char reason[KHIB_REASON_MAX] = "";
	struct khib_handoff h;
	int r;

	(void)argv;
	if (argc != 1) {
		khib_err("init: takes no arguments");
		return EXIT_USAGE;
	}
	if (getpid() != 1) {
		khib_err("init: only runs as /init of khib's writer or restore kernel");
		return 1;
	}
	mount_api_filesystems();
	khib_console_mirror();
	/* This kernel makes no key: never wait for its random generator. */
	if ((r = khib_crypt_init_nonblocking()) < 0)
		khib_warn("starting libsodium: %s", strerror(-r));
	r = khib_handoff_find("/proc/cmdline", KHIB_DEVMEM, &h, reason);
	if (r == -ENOENT && is_direct_restore())
		return khib_restorer_direct();
	if (r < 0) {
		/* Without the handoff there is no way back: stop here. */
		if (reason[0])
			khib_err("reading the handoff block: %s; cannot continue or return, halting",
				 reason);
		else
			khib_err_errno(r, "reading the handoff block; cannot continue or return, halting");
		reboot(RB_HALT_SYSTEM);
		return 1;
	}
	if (h.flags & KHIB_HANDOFF_RESTORE)
		return khib_restorer_main(&h);
	return khib_writer_main(&h);
}

static void init_help(FILE *out)
{
	fputs("Usage: khib init\n"
	      "\n"
	      "/init of khib's writer and restore kernels (internal).  The handoff\n"
	      "block named by khib.handoff= says which: the writer saves the\n"
	      "hibernating kernel's memory, then powers off or jumps back; the\n"
	      "restorer writes an image back to memory and jumps into it.\n", out);
}

const struct khib_command khib_cmd_init = {
	.name = "init",
	.summary = "/init of the writer and restore kernels (internal)",
	.run = init_run,
	.hashes_images = true,
	.help = init_help,
	.hidden = true,
};
