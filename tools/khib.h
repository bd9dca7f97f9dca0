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
#include <stdio.h>

#define EXIT_USAGE 2

struct khib_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand */
	void (*help)(FILE *out);
	bool hidden;			   /* internal: not listed by --help */
};

/* "khib: <message>" on stderr, one line. */
void khib_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, followed by ": <strerror(-err)>"; returns 1 (exit code). */
int khib_err_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "khib: <message>" on stdout (progress and results). */
void khib_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define DECLARE_COMMAND(n) extern const struct khib_command khib_cmd_##n

DECLARE_COMMAND(jump);
DECLARE_COMMAND(jump_back);

#endif
