/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Writes an image seed with a file system table into the directory argv[1]
 * (make-corpus.sh runs it): the unit tests' small synthetic machine through
 * the real writer, with three file system stamps, so that the fuzzer starts
 * from an image whose table it can mutate.
 */
#include <stdio.h>
#include <string.h>

#include "image.h"
#include "test_image_fixture.h"

int main(int argc, char **argv)
{
	struct khib_fsstamp fs[3] = { 0 };
	struct khib_writer_params p;
	struct khib_target *t;
	struct fx_machine m;
	char path[4096];
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: make-corpus-image DIR\n");
		return 2;
	}
	for (int i = 0; i < 3; i++) {
		fs[i].kind = KHIB_FS_EXT;
		memset(fs[i].uuid, 0x70 + i, sizeof(fs[i].uuid));
		fs[i].mnt_count = (uint16_t)(3 * i + 1);
		fs[i].incompat = 0x2c6;
		fs[i].mtime = 1764000000 + (uint64_t)i;
		snprintf(fs[i].where, sizeof(fs[i].where), i ? "/home%d" : "/", i);
	}
	fx_machine_small(&m, 5);
	fx_params(&m, &p, KHIB_CODEC_LZ4, 16, 1);
	p.fs = fs;
	p.n_fs = 3;
	snprintf(path, sizeof(path), "%s/small-fs-table.img", argv[1]);
	r = khib_target_open(path, KHIB_TARGET_WRITE | KHIB_TARGET_CREATE, &t);
	if (r >= 0) {
		r = fx_write(&m, t, &p);
		khib_target_free(t);
	}
	fx_machine_release(&m);
	if (r < 0)
		fprintf(stderr, "make-corpus-image: %s: %s\n", path, strerror(-r));
	return r < 0;
}
