/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * khib inspect: what an image holds (header, ranges, sizes, validity), as
 * text or JSON.  Reads only metadata: fast on any image size.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image.h"
#include "keyslot.h"
#include "khib.h"
#include "util.h"

static void inspect_help(FILE *out)
{
	fputs("Usage: khib inspect IMAGE [--json] [--key-file FILE]\n"
	      "\n"
	      "Show an image's header, saved ranges, sizes, compression ratio and\n"
	      "whether it is committed (valid).  Reads metadata only; 'khib verify'\n"
	      "checks the data.  Of an encrypted image without its key, only what\n"
	      "is public: the header and its key slots.  Exit status 0 if the image\n"
	      "is committed, 1 if not.\n"
	      "\n"
	      "  --json           machine-readable output\n"
	      "  --key-file FILE  the key file of an encrypted image\n", out);
}

static void hex(FILE *f, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", b[i]);
}

static double ratio(const struct khib_image_info *i)
{
	return i->data_bytes ? (double)(i->stored_pages * i->page_size) / (double)i->data_bytes : 0.0;
}

/* How the image is encrypted, and which keys open it (public: the key
 * area is in clear). */
static void print_encryption_text(const struct khib_reader *r)
{
	const struct khib_image_info *i = khib_reader_info(r);
	struct khib_keyslot_info slots[16];
	uint32_t n_slots;
	const uint8_t *area = khib_reader_key_area(r, &n_slots);
	int n;

	if (!area) {
		printf("encryption:     none (the image is memory in clear)\n");
		return;
	}
	printf("encryption:     %s, %u key slot%s%s\n", khib_aead_name(i->encryption.algorithm),
	       n_slots, n_slots == 1 ? "" : "s",
	       khib_reader_ranges(r, &(size_t){ 0 }) ? "" : " (no key given: only what is public)");
	n = khib_keyslot_list(area, KHIB_KEY_AREA_BYTES, n_slots, slots, ARRAY_SIZE(slots));
	for (int k = 0; k < n; k++) {
		printf("  %-8s ", khib_keyslot_type_name(slots[k].type));
		hex(stdout, slots[k].id, sizeof(slots[k].id));
		printf("\n");
	}
}

/* The file systems the resume side checks (lib/format/fsstamp.h). */
static void print_fs_text(const struct khib_reader *r)
{
	size_t n;
	const struct khib_fsstamp *fs = khib_reader_fs(r, &n);
	char uuid[37];

	printf("file systems:   %zu%s\n", n, n ? " (ext2/3/4, checked at resume)" : "");
	for (size_t k = 0; k < n; k++) {
		khib_fsstamp_uuid_str(fs[k].uuid, uuid);
		printf("  %s %s mount count %u\n", uuid, fs[k].where, fs[k].mnt_count);
	}
}

static void print_encryption_json(const struct khib_reader *r)
{
	const struct khib_image_info *i = khib_reader_info(r);
	struct khib_keyslot_info slots[16];
	uint32_t n_slots;
	const uint8_t *area = khib_reader_key_area(r, &n_slots);
	int n = area ? khib_keyslot_list(area, KHIB_KEY_AREA_BYTES, n_slots, slots,
					  ARRAY_SIZE(slots)) : 0;

	printf(",\"encryption\":\"%s\",\"public_only\":%s,\"key_slots\":[",
	       khib_aead_name(i->encryption.algorithm) ? khib_aead_name(i->encryption.algorithm) : "?",
	       khib_reader_ranges(r, &(size_t){ 0 }) || !area ? "false" : "true");
	for (int k = 0; k < n; k++) {
		printf("%s{\"type\":\"%s\",\"id\":\"", k ? "," : "",
		       khib_keyslot_type_name(slots[k].type));
		hex(stdout, slots[k].id, sizeof(slots[k].id));
		printf("\"}");
	}
	printf("]");
}

static void print_fs_json(const struct khib_reader *r)
{
	size_t n;
	const struct khib_fsstamp *fs = khib_reader_fs(r, &n);
	char uuid[37];

	printf(",\"file_systems\":[");
	for (size_t k = 0; k < n; k++) {
		khib_fsstamp_uuid_str(fs[k].uuid, uuid);
		printf("%s{\"uuid\":\"%s\",\"where\":", k ? "," : "", uuid);
		khib_tool_json_str(stdout, fs[k].where);
		printf(",\"mount_count\":%u,\"mount_time\":%" PRIu64 ",\"write_time\":%" PRIu64
		       ",\"last_check\":%" PRIu64 "}", fs[k].mnt_count, fs[k].mtime, fs[k].wtime,
		       fs[k].lastcheck);
	}
	printf("]");
}

/* Where each chunk lies on the target: for tools and tests that look at
 * (or damage) one chunk without knowing the format's byte layout.  None
 * for an encrypted image opened without its key (its index is sealed). */
static void print_chunks_json(const struct khib_reader *r)
{
	struct khib_chunk_info ci;

	printf(",\"chunk_index\":[");
	for (size_t k = 0; khib_reader_chunk(r, k, &ci) == 0; k++)
		printf("%s{\"paddr\":%" PRIu64 ",\"npages\":%" PRIu32 ",\"stored_pages\":%" PRIu32
		       ",\"zero_pages\":%" PRIu32 ",\"disk_offset\":%" PRIu64 ",\"disk_bytes\":%"
		       PRIu32 ",\"payload_offset\":%" PRIu64 "}", k ? "," : "", ci.paddr, ci.npages,
		       ci.stored_pages, ci.zero_pages, ci.disk_offset, ci.disk_bytes,
		       ci.disk_offset + ci.header_bytes);
	printf("]");
}

static void print_text(const char *path, struct khib_reader *r)
{
	const struct khib_image_info *i = khib_reader_info(r);
	char reason[KHIB_REASON_MAX] = "", when[64] = "?";
	time_t sec = (time_t)(i->created_ns / 1000000000ULL);
	struct tm tm;
	const struct khib_range *rg;
	size_t n;

	if (gmtime_r(&sec, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	khib_reader_commit_error(r, reason);
	printf("image:          %s\n", path);
	printf("valid:          %s%s%s\n", i->committed ? "yes (committed)" : "no", i->committed ? "" : ": ",
	       i->committed ? "" : reason);
	if (i->restore_attempts)
		printf("restores:       %" PRIu32 " began and did not finish\n", i->restore_attempts);
	printf("format:         version %" PRIu32 ", incompat 0x%" PRIx64 ", compat 0x%" PRIx64 "\n",
	       i->version, i->incompat_flags, i->compat_flags);
	printf("uuid:           ");
	hex(stdout, i->uuid, sizeof(i->uuid));
	printf("\ncreated:        %s\n", when);
	printf("codec:          %s level %d, chunks of %" PRIu32 " pages\n", khib_codec_name(i->codec),
	       i->codec_level, i->chunk_pages);
	printf("kernel:         %s %s\nboot id:        ", i->kernel.uts_release, i->kernel.uts_version);
	hex(stdout, i->kernel.boot_id, sizeof(i->kernel.boot_id));
	printf("\nmemory map:     hash 0x%016" PRIx64 ", e820 crc32 0x%08" PRIx32 ", %" PRIu64
	       " present pages\n", i->kernel.memmap_hash, i->kernel.e820_crc32,
	       i->kernel.num_physpages);
	printf("jump back:      0x%" PRIx64 "\n", i->resume.jump_back_entry);
	printf("writer region:  0x%" PRIx64 " + 0x%" PRIx64 "\n", i->resume.region_start,
	       i->resume.region_bytes);
	printf("low memory:     0x%" PRIx64 " + 0x%" PRIx64 "\n", i->resume.lowmem_start,
	       i->resume.lowmem_size);
	printf("pages:          %" PRIu64 " RAM, %" PRIu64 " saved: %" PRIu64 " stored, %" PRIu64
	       " zero, %" PRIu64 " excluded\n", i->total_ram_pages, i->saved_pages, i->stored_pages,
	       i->zero_pages, i->excluded_pages);
	printf("size:           %" PRIu64 " bytes on target, %" PRIu64 " of chunk data, ratio %.2f\n",
	       i->image_bytes, i->data_bytes, ratio(i));
	printf("chunks:         %" PRIu64 "\nvmcoreinfo:     %" PRIu64 " bytes\n", i->n_chunks,
	       i->vmcoreinfo_bytes);
	print_encryption_text(r);
	print_fs_text(r);
	rg = khib_reader_ranges(r, &n);
	printf("ranges:         %zu\n", n);
	for (size_t k = 0; k < n; k++)
		printf("  0x%012" PRIx64 "-0x%012" PRIx64 " %10" PRIu64 " pages\n", rg[k].paddr,
		       rg[k].paddr + rg[k].npages * i->page_size - 1, rg[k].npages);
}

static void print_json(const char *path, struct khib_reader *r)
{
	const struct khib_image_info *i = khib_reader_info(r);
	char reason[KHIB_REASON_MAX] = "";
	const struct khib_range *rg;
	size_t n;

	khib_reader_commit_error(r, reason);
	printf("{\"image\":");
	khib_tool_json_str(stdout, path);
	printf(",\"valid\":%s,\"reason\":", i->committed ? "true" : "false");
	khib_tool_json_str(stdout, i->committed ? "" : reason);
	printf(",\"restore_attempts\":%" PRIu32, i->restore_attempts);
	printf(",\"version\":%" PRIu32 ",\"incompat_flags\":%" PRIu64 ",\"compat_flags\":%" PRIu64
	       ",\"uuid\":\"", i->version, i->incompat_flags, i->compat_flags);
	hex(stdout, i->uuid, sizeof(i->uuid));
	printf("\",\"created_ns\":%" PRIu64 ",\"codec\":\"%s\",\"codec_level\":%d,\"chunk_pages\":%" PRIu32,
	       i->created_ns, khib_codec_name(i->codec), i->codec_level, i->chunk_pages);
	printf(",\"uts_release\":");
	khib_tool_json_str(stdout, i->kernel.uts_release);
	printf(",\"uts_version\":");
	khib_tool_json_str(stdout, i->kernel.uts_version);
	printf(",\"boot_id\":\"");
	hex(stdout, i->kernel.boot_id, sizeof(i->kernel.boot_id));
	printf("\",\"num_physpages\":%" PRIu64, i->kernel.num_physpages);
	printf(",\"memmap_hash\":%" PRIu64 ",\"e820_crc32\":%" PRIu32 ",\"jump_back_entry\":%" PRIu64
	       ",\"region_start\":%" PRIu64 ",\"region_size\":%" PRIu64 ",\"lowmem_start\":%" PRIu64
	       ",\"lowmem_size\":%" PRIu64, i->kernel.memmap_hash, i->kernel.e820_crc32,
	       i->resume.jump_back_entry, i->resume.region_start, i->resume.region_bytes,
	       i->resume.lowmem_start, i->resume.lowmem_size);
	printf(",\"total_ram_pages\":%" PRIu64 ",\"saved_pages\":%" PRIu64 ",\"stored_pages\":%" PRIu64
	       ",\"zero_pages\":%" PRIu64 ",\"excluded_pages\":%" PRIu64 ",\"image_bytes\":%" PRIu64
	       ",\"data_bytes\":%" PRIu64 ",\"ratio\":%.4f,\"chunks\":%" PRIu64
	       ",\"vmcoreinfo_bytes\":%" PRIu64, i->total_ram_pages, i->saved_pages,
	       i->stored_pages, i->zero_pages, i->excluded_pages, i->image_bytes, i->data_bytes,
	       ratio(i), i->n_chunks, i->vmcoreinfo_bytes);
	print_encryption_json(r);
	print_fs_json(r);
	printf(",\"ranges\":[");
	rg = khib_reader_ranges(r, &n);
	for (size_t k = 0; k < n; k++)
		printf("%s{\"paddr\":%" PRIu64 ",\"npages\":%" PRIu64 "}", k ? "," : "", rg[k].paddr,
		       rg[k].npages);
	printf("]");
	print_chunks_json(r);
	printf("}\n");
}

static int inspect_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "key-file", required_argument, NULL, 'K' },
		{}
	};
	const char *key_file = NULL;
	struct khib_target *t;
	struct khib_reader *r;
	bool json = false;
	int c, ret;

	optind = 1;
	while ((c = khib_tool_getopt(argc, argv, longopts)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'K')
			key_file = optarg;
		else
			return EXIT_USAGE;
	}
	if (argc - optind != 1) {
		khib_err("expected one IMAGE (see 'khib inspect --help')");
		return EXIT_USAGE;
	}
	if (khib_tool_open_image(argv[optind], KHIB_READER_UNCOMMITTED | KHIB_READER_PUBLIC, key_file,
				 &t, &r))
		return 1;
	if (json)
		print_json(argv[optind], r);
	else
		print_text(argv[optind], r);
	ret = khib_reader_info(r)->committed ? 0 : 1;
	khib_reader_free(r);
	khib_target_free(t);
	return ret;
}

const struct khib_command khib_cmd_inspect = {
	.name = "inspect",
	.summary = "show an image's header, ranges and sizes",
	.run = inspect_run,
	.help = inspect_help,
};
