/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The keys of this machine as the tools see them: the protectors `khib key`
 * enrolled in the key directory (lib/format/protector.h) and a key file named by
 * key-file= or --key-file.  Hibernation seals each image's data key for
 * every one of them; a resume opens the image with whichever it can,
 * asking for a passphrase on the console when that is the only way.
 *
 * SECURITY: key files, passphrases and secret keys are read into
 * khib_secret_alloc() memory and wiped as soon as they served.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"
#include "image.h"
#include "keys.h"
#include "khib.h"
#include "util.h"

static int cmp_protector(const void *a, const void *b)
{
	return strcmp(((const struct khib_protector *)a)->name,
		      ((const struct khib_protector *)b)->name);
}

int khib_tool_load_protector(const char *dir, const char *name, struct khib_protector *ret)
{
	char path[PATH_MAX], reason[KHIB_REASON_MAX] = "";
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((r = khib_read_file(path, KHIB_PROTECTOR_TEXT_MAX, &text, &len)) < 0) {
		khib_err_errno(r, "reading the key protector '%s'", path);
		return r;
	}
	if ((r = khib_protector_parse(text, name, ret, reason)) < 0)
		khib_err("the key protector '%s' does not parse: %s", path, reason);
	return r;
}

int khib_tool_keyring_load(const struct khib_config *cf, struct khib_keyring *ret)
{
	struct khib_keyring kr = { .dir = cf->key_dir[0] ? cf->key_dir : KHIB_KEY_DIR,
				   .key_file = cf->key_file[0] ? cf->key_file : NULL };
	DIR *d = opendir(kr.dir);
	struct dirent *e;
	int r = 0;

	if (!d && errno != ENOENT) {
		r = -errno;
		khib_err_errno(r, "reading the key directory '%s'", kr.dir);
		return r;
	}
	while (d && (e = readdir(d))) {
		struct khib_protector *grown;

		if (!khib_protector_name_valid(e->d_name) || e->d_type == DT_DIR)
			continue;
		if (kr.n == KHIB_MAX_PROTECTORS) {
			khib_err("the key directory '%s' holds more than %u protectors", kr.dir,
				 KHIB_MAX_PROTECTORS);
			r = -E2BIG;
			break;
		}
		if (!(grown = realloc(kr.p, (kr.n + 1) * sizeof(*kr.p)))) {
			khib_err_errno(-ENOMEM, "reading the key directory");
			r = -ENOMEM;
			break;
		}
		kr.p = grown;
		if ((r = khib_tool_load_protector(kr.dir, e->d_name, &kr.p[kr.n])) < 0)
			break;
		kr.n++;
	}
	if (d)
		closedir(d);
	if (r < 0) {
		free(kr.p);
		return r;
	}
	if (kr.n)
		qsort(kr.p, kr.n, sizeof(*kr.p), cmp_protector);
	*ret = kr;
	return 0;
}

void khib_tool_keyring_release(struct khib_keyring *kr)
{
	free(kr->p);
	kr->p = NULL;
	kr->n = 0;
}

bool khib_tool_keyring_empty(const struct khib_keyring *kr)
{
	return !kr->n && !kr->key_file;
}

/* One key file's slot; a key-file protector's file must be the one it
 * enrolled (p NULL: the configured key file, whatever it is). */
static int add_keyfile_slot(const struct khib_protector *p, const char *path,
			    struct khib_image_key *key, const uint8_t uuid[16])
{
	uint8_t *kf;
	size_t len;
	int r;

	if ((r = khib_tool_read_key_file(path, &kf, &len)) < 0)
		return r;
	if (p)
		r = khib_protector_add_slot(p, kf, len, key->key_area, KHIB_KEY_AREA_BYTES,
					    &key->n_slots, uuid, key->dk);
	else
		r = khib_keyslot_add_keyfile(key->key_area, KHIB_KEY_AREA_BYTES, &key->n_slots,
					     uuid, key->dk, kf, len);
	khib_secret_free(kf);
	if (r == -EKEYREJECTED && p)
		khib_err("the key file '%s' is not the one enrolled as '%s' (khib key list)",
			 path, p->name);
	else if (r < 0)
		khib_err_errno(r, "sealing the image key with the key file '%s'", path);
	return r;
}

int khib_tool_image_key(const struct khib_keyring *kr, struct khib_image_key **ret,
			uint8_t uuid[16])
{
	struct khib_image_key *key = NULL;
	int r;

	if ((r = khib_image_key_new(khib_aead_preferred(), &key, uuid)) < 0) {
		khib_err_errno(r, "making an image key");
		return r;
	}
	if (kr->key_file)
		r = add_keyfile_slot(NULL, kr->key_file, key, uuid);
	for (size_t i = 0; r >= 0 && i < kr->n; i++) {
		const struct khib_protector *p = &kr->p[i];

		if (p->type == KHIB_PROTECTOR_KEYFILE) {
			r = add_keyfile_slot(p, p->path, key, uuid);
			continue;
		}
		if (p->type == KHIB_PROTECTOR_TPM2) {
			char reason[KHIB_REASON_MAX] = "";

			if ((r = khib_tool_tpm2_add_slot(p, key, uuid, reason)) < 0)
				khib_err("sealing the image key with the TPM ('%s'): %s", p->name,
					 reason);
			continue;
		}
		r = khib_protector_add_slot(p, NULL, 0, key->key_area, KHIB_KEY_AREA_BYTES,
					    &key->n_slots, uuid, key->dk);
		if (r < 0)
			khib_err_errno(r, "sealing the image key for the key protector '%s'%s",
				       p->name, r == -ENOKEY ? " (it has no public key)" : "");
	}
	if (r < 0) {
		khib_secret_free(key);
		return r;
	}
	*ret = key;
	return 0;
}

int khib_tool_read_passphrase(int fd, const char *prompt, char *buf, size_t max, size_t *ret_len)
{
	struct termios old, quiet;
	bool tty = tcgetattr(fd, &old) == 0;
	size_t n = 0;
	int r = 0;

	/* Echo goes off before the prompt shows: what is typed at it never
	 * reaches the screen (or a serial console's log). */
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		tcsetattr(fd, TCSANOW, &quiet); /* keep what was typed ahead */
	}
	fputs(prompt, stderr);
	fflush(stderr);
	/* Byte by byte: nothing beyond the line is taken from a pipe. */
	for (;;) {
		char c;
		ssize_t got = read(fd, &c, 1);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			break;
		}
		if (got == 0) {
			r = n ? 0 : -ENODATA;
			break;
		}
		if (c == '\n' || c == '\r')
			break;
		if (n + 1 >= max) {
			r = -EMSGSIZE;
			break;
		}
		buf[n++] = c;
	}
	if (tty)
		tcsetattr(fd, TCSANOW, &old);
	buf[n] = '\0';
	if (r < 0) {
		khib_wipe(buf, max);
		return r;
	}
	*ret_len = n;
	return 0;
}

/* The data key through a key file at path: 0, or -errno with reason. */
static int open_with_key_file(const char *path, const uint8_t *area, uint32_t n_slots,
			      const uint8_t uuid[16], uint8_t dk[32], char *reason)
{
	uint8_t *kf;
	size_t len;
	int r;

	if ((r = khib_tool_read_key_file(path, &kf, &len)) < 0)
		return khib_fail(reason, r, "the key file '%s' cannot be read", path);
	r = khib_keyslot_open_keyfile(area, KHIB_KEY_AREA_BYTES, n_slots, uuid, kf, len, dk,
				      reason);
	khib_secret_free(kf);
	return r;
}

/* Ask for p's passphrase up to KHIB_PASSPHRASE_TRIES times and open its
 * slot.  -ECANCELED after the last wrong one, or when nobody answers. */
static int open_with_passphrase(const struct khib_protector *p, int fd, const uint8_t *area,
				uint32_t n_slots, const uint8_t uuid[16], uint8_t dk[32],
				char *reason)
{
	char *pass = khib_secret_alloc(KHIB_PASSPHRASE_MAX + 1);
	uint8_t *sk = khib_secret_alloc(KHIB_SEALED_SK_BYTES), pk[KHIB_SEALED_PK_BYTES];
	int r = -ENOMEM;

	for (unsigned i = 1; pass && sk && i <= KHIB_PASSPHRASE_TRIES; i++) {
		char prompt[KHIB_PROTECTOR_NAME_MAX + 96];
		size_t len;

		snprintf(prompt, sizeof(prompt), "khib: the hibernated system is locked with the "
			 "passphrase '%s' (try %u of %u)\npassphrase: ", p->name, i,
			 KHIB_PASSPHRASE_TRIES);
		r = khib_tool_read_passphrase(fd, prompt, pass, KHIB_PASSPHRASE_MAX + 1, &len);
		if (r < 0) {
			r = khib_fail(reason, -ECANCELED, "no passphrase was given for '%s'",
				      p->name);
			break;
		}
		r = khib_protector_unlock(p, pass, len, pk, sk);
		khib_wipe(pass, KHIB_PASSPHRASE_MAX + 1);
		if (r == -EKEYREJECTED) {
			khib_info("that is not the passphrase of '%s'", p->name);
			r = khib_fail(reason, -ECANCELED, "%u wrong passphrase%s for '%s'", i,
				      i > 1 ? "s" : "", p->name);
			continue;
		}
		if (r < 0) {
			khib_fail(reason, r, "unlocking '%s'", p->name);
			break;
		}
		r = khib_keyslot_open_sealed(area, KHIB_KEY_AREA_BYTES, n_slots, uuid, p->id, pk,
					     sk, dk, reason);
		break;
	}
	khib_secret_free(pass);
	khib_secret_free(sk);
	return r;
}

int khib_tool_open_key(const struct khib_keyring *kr, int console_fd, const uint8_t uuid[16],
		       const uint8_t *area, uint32_t n_slots, uint8_t dk[32],
		       const struct khib_protector **ret_used, char *reason)
{
	int r = khib_fail(reason, -ENOKEY, "the image is encrypted and this boot has no key for "
			  "it (khib key list; key-file= in /etc/khib.conf)");

	*ret_used = NULL;
	if (kr->key_file && (r = open_with_key_file(kr->key_file, area, n_slots, uuid, dk,
						    reason)) >= 0)
		return r;
	/* Key files and the TPM first: they need nobody at the console. */
	for (size_t i = 0; i < kr->n; i++) {
		const struct khib_protector *p = &kr->p[i];

		if (p->type == KHIB_PROTECTOR_KEYFILE &&
		    khib_keyslot_has(area, KHIB_KEY_AREA_BYTES, n_slots, KHIB_SLOT_KEYFILE, p->id))
			r = open_with_key_file(p->path, area, n_slots, uuid, dk, reason);
		else if (p->type == KHIB_PROTECTOR_TPM2 &&
			 khib_keyslot_has(area, KHIB_KEY_AREA_BYTES, n_slots, KHIB_SLOT_TPM2, p->id))
			r = khib_tool_tpm2_open_slot(p, uuid, area, n_slots, dk, reason);
		else
			continue;
		if (r >= 0)
			*ret_used = p;
		/* A replay or a forged TPM slot is refused, whatever else
		 * might open the image. */
		if (r >= 0 || (p->type == KHIB_PROTECTOR_TPM2 && (r == -ESTALE || r == -EKEYREJECTED)))
			return r;
	}
	for (size_t i = 0; i < kr->n; i++) {
		const struct khib_protector *p = &kr->p[i];

		if (p->type != KHIB_PROTECTOR_PASSPHRASE ||
		    !khib_keyslot_has(area, KHIB_KEY_AREA_BYTES, n_slots, KHIB_SLOT_SEALED, p->id))
			continue;
		r = open_with_passphrase(p, console_fd, area, n_slots, uuid, dk, reason);
		if (r >= 0)
			*ret_used = p;
		if (r >= 0 || r == -ECANCELED)
			return r;
	}
	return r;
}
