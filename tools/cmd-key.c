/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib key: the protectors every image's data key is sealed for
 * (lib/format/protector.h), one file each in the key directory.
 *
 *   khib key enroll passphrase [--name NAME]
 *   khib key enroll key-file FILE [--name NAME]
 *   khib key enroll tpm2 [--pcrs LIST] [--tcti TCTI] [--name NAME]
 *   khib key list [--json]
 *   khib key remove NAME
 *   khib key test NAME
 *
 * SECURITY: the key directory is root's alone (0700, files 0600); a
 * passphrase lives in secret memory only while it is used.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"
#include "keys.h"
#include "khib.h"
#include "util.h"

#define MIN_PASSPHRASE 8

static void key_help(FILE *out)
{
	fputs("Usage: khib key enroll passphrase [--name NAME]\n"
	      "       khib key enroll key-file FILE [--name NAME]\n"
	      "       khib key enroll tpm2 [--pcrs LIST] [--tcti TCTI] [--name NAME]\n"
	      "       khib key list [--json]\n"
	      "       khib key remove NAME\n"
	      "       khib key test NAME\n"
	      "\n"
	      "Manage the keys every image is encrypted for.  Each enrolled key (a\n"
	      "protector) gets a slot in each image; any one of them opens it.  Once\n"
	      "one is enrolled, hibernation encrypts and resume refuses images in clear.\n"
	      "\n"
	      "  passphrase   asked for on the console at resume (three tries); hibernation\n"
	      "               needs only its public half and never asks\n"
	      "  key-file     a file of 32 random bytes or more (e.g. on removable media),\n"
	      "               read at hibernation and at resume\n"
	      "  tpm2         this machine's TPM: each image's key sealed to the PCRs of\n"
	      "               this boot (--pcrs, default 7), unsealed at resume without a\n"
	      "               question; a counter in the TPM refuses replayed images\n"
	      "  --tcti TCTI  how to reach the TPM (default device:/dev/tpmrm0)\n"
	      "  --name NAME  what to call it (default: its type, then TYPE-2, ...)\n"
	      "\n"
	      "Protectors live in key-dir= of /etc/khib.conf (default " KHIB_KEY_DIR ").\n"
	      "After a change, refresh the initramfs (update-initramfs -u), which carries\n"
	      "what resume needs: never a passphrase's public half.  A passphrase is read\n"
	      "twice from a terminal, or one line from standard input.\n", out);
}

/* dir/name: a path, or "" when it would not fit. */
static void join(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len)
		buf[0] = '\0';
}

static bool exists(const char *dir, const char *name)
{
	char path[PATH_MAX];

	join(path, sizeof(path), dir, name);
	return access(path, F_OK) == 0;
}

/* The first free name of TYPE, TYPE-2, TYPE-3, ... */
static int default_name(const char *dir, const char *type, char *buf, size_t len)
{
	for (unsigned i = 1; i <= KHIB_MAX_PROTECTORS; i++) {
		int n = i == 1 ? snprintf(buf, len, "%s", type) :
			snprintf(buf, len, "%s-%u", type, i);

		if (n > 0 && (size_t)n < len && !exists(dir, buf))
			return 0;
	}
	return -E2BIG;
}

/* Write the protector's file atomically, root's alone. */
static int save(const char *dir, const struct khib_protector *p)
{
	char path[PATH_MAX], text[KHIB_PROTECTOR_TEXT_MAX];
	int r;

	if ((r = khib_mkdir_parents(dir, 0755)) < 0 ||
	    (mkdir(dir, 0700) < 0 && (r = -errno) != -EEXIST))
		return khib_err_errno(r, "creating the key directory '%s'", dir);
	join(path, sizeof(path), dir, p->name);
	khib_protector_format(p, KHIB_PROTECTOR_FULL, text, sizeof(text));
	if ((r = khib_write_file_atomic(path, text, strlen(text), 0600)) < 0)
		return khib_err_errno(r, "writing the key protector '%s'", path);
	return 0;
}

/* A new passphrase, twice from a terminal, once from a pipe. */
static int ask_new_passphrase(char *pass, size_t max, size_t *len)
{
	bool tty = isatty(STDIN_FILENO);
	char *again;
	size_t n2;
	int r;

	if ((r = khib_tool_read_passphrase(STDIN_FILENO, tty ? "new passphrase: " : "", pass, max,
					   len)) < 0)
		return khib_err_errno(r, "key enroll: reading the passphrase");
	if (*len < MIN_PASSPHRASE) {
		khib_err("key enroll: a passphrase has %u characters at least", MIN_PASSPHRASE);
		return 1;
	}
	if (!tty)
		return 0;
	if (!(again = khib_secret_alloc(max)))
		return khib_err_errno(-ENOMEM, "key enroll");
	r = khib_tool_read_passphrase(STDIN_FILENO, "again: ", again, max, &n2);
	if (r >= 0 && (n2 != *len || memcmp(again, pass, n2)))
		r = -EINVAL;
	khib_secret_free(again);
	if (r < 0)
		khib_err("key enroll: the two passphrases differ");
	return r < 0;
}

static int enroll_passphrase(const char *name, struct khib_protector *p)
{
	char *pass = khib_secret_alloc(KHIB_PASSPHRASE_MAX + 1);
	size_t len;
	int r;

	if (!pass) {
		khib_err_errno(-ENOMEM, "key enroll");
		return -ENOMEM;
	}
	r = ask_new_passphrase(pass, KHIB_PASSPHRASE_MAX + 1, &len) ? -EINVAL : 0;
	if (r >= 0 && (r = khib_protector_new_passphrase(name, pass, len, KHIB_PASSPHRASE_OPSLIMIT,
							 KHIB_PASSPHRASE_MEMLIMIT, p)) < 0)
		khib_err_errno(r, "key enroll: wrapping the new key under the passphrase");
	khib_secret_free(pass);
	return r;
}

static int enroll_key_file(const char *name, const char *file, struct khib_protector *p)
{
	char abs[PATH_MAX];
	uint8_t *kf;
	size_t len;
	int r;

	if (!realpath(file, abs)) {
		khib_err_errno(-errno, "key enroll: the key file '%s'", file);
		return -EINVAL;
	}
	if (khib_tool_read_key_file(abs, &kf, &len) < 0)
		return -EINVAL;
	r = khib_protector_new_keyfile(name, abs, kf, len, p);
	khib_secret_free(kf);
	if (r < 0)
		khib_err_errno(r, "key enroll: the key file '%s'", abs);
	return r;
}

/* One TPM2 key at most: there is one replay counter. */
static bool tpm2_enrolled(const struct khib_config *cf)
{
	struct khib_keyring kr;
	bool found = false;

	if (khib_tool_keyring_load(cf, &kr) < 0)
		return false;
	for (size_t i = 0; i < kr.n; i++)
		found |= kr.p[i].type == KHIB_PROTECTOR_TPM2;
	khib_tool_keyring_release(&kr);
	return found;
}

static int enroll_tpm2(const struct khib_config *cf, const char *name, const char *pcrs,
		       const char *tcti, struct khib_protector *p)
{
	char reason[KHIB_REASON_MAX] = "";
	uint32_t mask;
	int r;

	if (khib_pcr_list_parse(pcrs, &mask) < 0) {
		khib_err("key enroll: --pcrs '%s': expected PCR numbers below 24, e.g. 7 or 0,2,7",
			 pcrs);
		return -EINVAL;
	}
	if (tpm2_enrolled(cf)) {
		khib_err("key enroll: a tpm2 key is enrolled already (khib key list)");
		return -EEXIST;
	}
	if ((r = khib_tool_tpm2_enroll(name, mask, tcti, p, reason)) < 0)
		khib_err("key enroll: the TPM: %s", reason);
	return r;
}

static int enroll(int argc, char **argv, const struct khib_config *cf, const char *dir)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "pcrs", required_argument, NULL, 'p' },
		{ "tcti", required_argument, NULL, 't' },
		{}
	};
	const char *name = NULL, *type, *pcrs = "7", *tcti = NULL;
	char def[KHIB_PROTECTOR_NAME_MAX];
	struct khib_protector p;
	int c, r;

	while ((c = khib_tool_getopt(argc, argv, longopts)) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'p': pcrs = optarg; break;
		case 't': tcti = optarg; break;
		default: return EXIT_USAGE;
		}
	}
	type = optind < argc ? argv[optind] : "";
	if (strcmp(type, "passphrase") && strcmp(type, "key-file") && strcmp(type, "tpm2")) {
		khib_err("key enroll: say what to enroll: passphrase, tpm2, or key-file FILE");
		return EXIT_USAGE;
	}
	if (argc - optind != (strcmp(type, "key-file") ? 1 : 2)) {
		khib_err("key enroll %s: wrong number of arguments", type);
		return EXIT_USAGE;
	}
	if (!name && default_name(dir, type, def, sizeof(def)) < 0) {
		khib_err("key enroll: %u protectors already", KHIB_MAX_PROTECTORS);
		return 1;
	}
	if (!name)
		name = def;
	if (!khib_protector_name_valid(name)) {
		khib_err("key enroll: '%s' is not a name for a key (letters, digits, '_.-')", name);
		return EXIT_USAGE;
	}
	if (exists(dir, name)) {
		khib_err("key enroll: a key named '%s' is enrolled already (khib key remove)", name);
		return 1;
	}
	if (!strcmp(type, "passphrase"))
		r = enroll_passphrase(name, &p);
	else if (!strcmp(type, "tpm2"))
		r = enroll_tpm2(cf, name, pcrs, tcti, &p);
	else
		r = enroll_key_file(name, argv[optind + 1], &p);
	if (r < 0 || save(dir, &p))
		return 1;
	khib_info("enrolled %s '%s'; images are now encrypted for it; refresh the initramfs "
		  "(update-initramfs -u) so that resume can use it", type, name);
	return 0;
}

static void print_json(const struct khib_keyring *kr)
{
	printf("{\"key_dir\":");
	khib_tool_json_str(stdout, kr->dir);
	printf(",\"keys\":[");
	for (size_t i = 0; i < kr->n; i++) {
		const struct khib_protector *p = &kr->p[i];
		char id[2 * KHIB_KEY_ID_BYTES + 1];

		sodium_bin2hex(id, sizeof(id), p->id, sizeof(p->id));
		printf("%s{\"name\":", i ? "," : "");
		khib_tool_json_str(stdout, p->name);
		printf(",\"type\":\"%s\",\"id\":\"%s\"", khib_protector_type_name(p->type), id);
		if (p->type == KHIB_PROTECTOR_KEYFILE) {
			printf(",\"path\":");
			khib_tool_json_str(stdout, p->path);
		} else if (p->type == KHIB_PROTECTOR_TPM2) {
			char pcrs[KHIB_PCR_LIST_MAX];

			khib_pcr_list_format(p->pcr_mask, pcrs, sizeof(pcrs));
			printf(",\"pcrs\":\"%s\"", pcrs);
		} else {
			printf(",\"can_seal\":%s", p->has_public_key ? "true" : "false");
		}
		printf("}");
	}
	printf("]}\n");
}

static int list(int argc, char **argv, const struct khib_config *cf)
{
	static const struct option longopts[] = { { "json", no_argument, NULL, 'j' }, {} };
	_cleanup_(khib_tool_keyring_release) struct khib_keyring kr = { 0 };
	bool json = false;
	int c;

	while ((c = khib_tool_getopt(argc, argv, longopts)) != -1) {
		if (c != 'j')
			return EXIT_USAGE;
		json = true;
	}
	if (optind != argc) {
		khib_err("key list: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (khib_tool_keyring_load(cf, &kr) < 0)
		return 1;
	if (json) {
		print_json(&kr);
		return 0;
	}
	if (!kr.n)
		printf("no keys enrolled in %s%s\n", kr.dir,
		       kr.key_file ? " (key-file= in /etc/khib.conf is used besides)" : "");
	for (size_t i = 0; i < kr.n; i++) {
		const struct khib_protector *p = &kr.p[i];
		char id[2 * KHIB_KEY_ID_BYTES + 1], pcrs[KHIB_PCR_LIST_MAX];

		sodium_bin2hex(id, sizeof(id), p->id, sizeof(p->id));
		khib_pcr_list_format(p->pcr_mask, pcrs, sizeof(pcrs));
		printf("%-20s %-11s %.16s  ", p->name, khib_protector_type_name(p->type), id);
		if (p->type == KHIB_PROTECTOR_KEYFILE)
			printf("%s\n", p->path);
		else if (p->type == KHIB_PROTECTOR_TPM2)
			printf("sealed to PCRs %s\n", pcrs);
		else
			printf("Argon2id; asked for at resume\n");
	}
	return 0;
}

static int remove_key(int argc, char **argv, const char *dir)
{
	char path[PATH_MAX], reason[KHIB_REASON_MAX] = "";
	struct khib_protector p;

	if (argc != 2) {
		khib_err("key remove: give the name of one key (khib key list)");
		return EXIT_USAGE;
	}
	if (!khib_protector_name_valid(argv[1]) || !exists(dir, argv[1])) {
		khib_err("key remove: no key named '%s' in '%s'", argv[1], dir);
		return 1;
	}
	join(path, sizeof(path), dir, argv[1]);
	/* The TPM's replay counter goes with its key; a TPM that cannot be
	 * reached does not keep the user from removing the key. */
	if (khib_tool_load_protector(dir, argv[1], &p) >= 0 && p.type == KHIB_PROTECTOR_TPM2 &&
	    khib_tool_tpm2_remove(&p, reason) < 0)
		khib_warn("key remove: the TPM's replay counter stays: %s", reason);
	if (unlink(path) < 0)
		return khib_err_errno(-errno, "key remove: removing '%s'", path);
	khib_info("removed '%s': images written from now on are not encrypted for it; an image "
		  "already written still opens with it; refresh the initramfs (update-initramfs -u)",
		  argv[1]);
	return 0;
}

/* Does the key work: the passphrase unwraps the key pair the public key
 * belongs to, the key file is the one enrolled. */
static int test_key(int argc, char **argv, const char *dir)
{
	struct khib_protector p;
	uint8_t pk[KHIB_SEALED_PK_BYTES], *sk = NULL, id[KHIB_KEY_ID_BYTES], *kf;
	char *pass = NULL;
	size_t len;
	int r;

	if (argc != 2) {
		khib_err("key test: give the name of one key (khib key list)");
		return EXIT_USAGE;
	}
	if (!khib_protector_name_valid(argv[1]) || khib_tool_load_protector(dir, argv[1], &p) < 0)
		return 1;
	if (p.type == KHIB_PROTECTOR_TPM2) {
		char reason[KHIB_REASON_MAX] = "";
		uint64_t counter;

		if ((r = khib_tool_tpm2_check(&p, &counter, reason)) < 0) {
			khib_err("key test: %s", reason);
			return 1;
		}
		khib_info("key '%s' works: the TPM unseals its key on this boot; replay counter %llu",
			  p.name, (unsigned long long)counter);
		return 0;
	}
	if (p.type == KHIB_PROTECTOR_KEYFILE) {
		if (khib_tool_read_key_file(p.path, &kf, &len) < 0)
			return 1;
		r = khib_keyfile_id(kf, len, id);
		khib_secret_free(kf);
		if (r < 0 || memcmp(id, p.id, sizeof(id))) {
			khib_err("key test: '%s' is not the key file enrolled as '%s'", p.path,
				 p.name);
			return 1;
		}
		khib_info("key '%s' works: %s is the key file enrolled", p.name, p.path);
		return 0;
	}
	pass = khib_secret_alloc(KHIB_PASSPHRASE_MAX + 1);
	sk = khib_secret_alloc(KHIB_SEALED_SK_BYTES);
	r = pass && sk ? khib_tool_read_passphrase(STDIN_FILENO, isatty(STDIN_FILENO) ?
						   "passphrase: " : "", pass,
						   KHIB_PASSPHRASE_MAX + 1, &len) : -ENOMEM;
	if (r >= 0)
		r = khib_protector_unlock(&p, pass, len, pk, sk);
	khib_secret_free(pass);
	khib_secret_free(sk);
	if (r == -EKEYREJECTED) {
		khib_err("key test: that is not the passphrase of '%s'", p.name);
		return 1;
	}
	if (r < 0)
		return khib_err_errno(r, "key test: unlocking '%s'", p.name);
	if (p.has_public_key && memcmp(pk, p.public_key, sizeof(pk))) {
		khib_err("key test: '%s' is damaged: its halves do not match", p.name);
		return 1;
	}
	khib_info("key '%s' works: the passphrase opens it", p.name);
	return 0;
}

static int key_run(int argc, char **argv)
{
	struct khib_config cf;
	const char *dir;
	const char *sub = argc > 1 ? argv[1] : "";

	if (khib_tool_load_config(&cf) < 0)
		return 1;
	dir = cf.key_dir[0] ? cf.key_dir : KHIB_KEY_DIR;
	optind = 1;
	if (!strcmp(sub, "list"))
		return list(argc - 1, argv + 1, &cf);
	if (strcmp(sub, "enroll") && strcmp(sub, "remove") && strcmp(sub, "test")) {
		khib_err("key: say what to do: enroll, list, remove or test (khib key --help)");
		return EXIT_USAGE;
	}
	if (geteuid() != 0) {
		khib_err("key %s: must run as root", sub);
		return 1;
	}
	if (!strcmp(sub, "enroll"))
		return enroll(argc - 1, argv + 1, &cf, dir);
	if (!strcmp(sub, "remove"))
		return remove_key(argc - 1, argv + 1, dir);
	return test_key(argc - 1, argv + 1, dir);
}

const struct khib_command khib_cmd_key = {
	.name = "key",
	.summary = "enroll, list, remove or test the keys images are encrypted for",
	.run = key_run,
	.help = key_help,
};
