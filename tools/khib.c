/* SPDX-License-Identifier: GPL-2.0-only */
#include "config.h"
#include "fileio.h"
#include "hashpick.h"
#include "khib.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static const struct khib_command *const commands[] = {
	&khib_cmd_check,
	&khib_cmd_setup,
	&khib_cmd_hibernate,
	&khib_cmd_jump,
	&khib_cmd_jump_back,
	&khib_cmd_init,
	&khib_cmd_resume,
	&khib_cmd_inspect,
	&khib_cmd_verify,
	&khib_cmd_export_elf,
	&khib_cmd_import_elf,
	&khib_cmd_invalidate,
	&khib_cmd_target,
	&khib_cmd_key,
};

const char *khib_tool_strerror(int err)
{
	/* khib_open_input()'s refusal reads better in words of its own. */
	if (err == -ENOTBLK || err == ENOTBLK)
		return "not a regular file or block device";
	return strerror(err > 0 ? err : -err);
}

static __attribute__((format(printf, 3, 0))) void vmsg(FILE *f, int err, const char *fmt,
							 va_list ap)
{
	fputs("khib: ", f);
	vfprintf(f, fmt, ap);
	if (err)
		fprintf(f, ": %s", khib_tool_strerror(err));
	fputc('\n', f);
	fflush(f);
	/* On a console, let the line out before the kernel prints over it
	 * (freezing, kexec): its messages do not wait for the tty. */
	if (isatty(fileno(f)))
		tcdrain(fileno(f));
}

void khib_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(stderr, 0, fmt, ap);
	va_end(ap);
}

int khib_err_errno(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(stderr, err ? err : EIO, fmt, ap);
	va_end(ap);
	return 1;
}

void khib_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("khib: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void khib_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(stdout, 0, fmt, ap);
	va_end(ap);
}

const char *khib_tool_config_path(void)
{
	const char *path = getenv("KHIB_CONFIG");

	return path && *path ? path : KHIB_CONFIG_PATH;
}

int khib_tool_load_config(struct khib_config *ret)
{
	const char *path = khib_tool_config_path();
	char reason[KHIB_REASON_MAX] = "";
	int r;

	r = khib_config_load(path, ret, reason);
	if (r < 0) {
		khib_err("%s: %s", path, reason);
		return -EINVAL;
	}
	return 0;
}

static void usage(FILE *out)
{
	fputs("Usage: khib COMMAND [OPTIONS...]\n"
	      "\n"
	      "Kexec-based hibernation for Linux.\n"
	      "\n"
	      "Commands:\n", out);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!commands[i]->hidden)
			fprintf(out, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
	fputs("\n"
	      "Run 'khib COMMAND --help' for a command's options; see khib(8).\n", out);
}

char khib_tool_hash_report[128];

int main(int argc, char **argv)
{
	/* As /init of khib's own kernels there is no shell to pass a command. */
	if (getpid() == 1) {
		khib_hash_pick_fastest(khib_tool_hash_report, sizeof(khib_tool_hash_report));
		char *init_argv[] = { (char *)"init", NULL };
		return khib_cmd_init.run(1, init_argv);
	}
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("khib %s\n", KHIB_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct khib_command *c = commands[i];

		if (strcmp(argv[1], c->name))
			continue;
		for (int j = 2; j < argc; j++) {
			if (!strcmp(argv[j], "--"))
				break;
			if (!strcmp(argv[j], "--help") || !strcmp(argv[j], "-h")) {
				c->help(stdout);
				return 0;
			}
		}
		/* A few milliseconds, where all of an image is hashed. */
		if (c->hashes_images)
			khib_hash_pick_fastest(khib_tool_hash_report,
					       sizeof(khib_tool_hash_report));
		return c->run(argc - 1, argv + 1);
	}
	khib_err("unknown command '%s' (see 'khib --help')", argv[1]);
	return EXIT_USAGE;
}
