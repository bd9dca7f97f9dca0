/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The khib image: a hibernated kernel's memory, written once by the writer
 * kernel and read back by the restore path and the offline tools.  The byte
 * layout is in doc/FORMAT.md and only lib/image_*.c know it.
 *
 * Invariants the API keeps:
 *   - an image is valid only once its commit record is durable, and the
 *     commit record is written after everything else is durable;
 *   - khib_writer_new() destroys any previous commit record (durably) before
 *     writing anything else, so a crash at any point leaves "no image" or a
 *     complete valid image, never a mix;
 *   - the reader validates the commit record, header, range table and chunk
 *     index before it returns, and each chunk's checksums before any of its
 *     pages is handed out;
 *   - nothing here prints or exits; failures are -errno, and where the image
 *     is at fault a one-line reason is written to the caller's buffer.
 *
 * Errors (see FORMAT.md): -ENODATA no image (no commit record), -EBADMSG
 * corrupt, -ESTALE parts of another image, -EOPNOTSUPP unknown version, flag,
 * codec or encryption, -EOVERFLOW absurd sizes, -ENOSPC target too small,
 * -EINVAL bad arguments.
 *
 * SECURITY: an image holds every secret of the hibernated machine.  The
 * library never writes uninitialised memory to disk (padding is zeroed) and
 * keeps nothing after khib_*_free(); protecting the target is the caller's job.
 */
#ifndef KHIB_IMAGE_H
#define KHIB_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "fsstamp.h"
#include "target.h"
#include "util.h"

#define KHIB_UUID_BYTES 16
#define KHIB_UTS_LEN 65 /* __NEW_UTS_LEN + 1 */
#define KHIB_DEFAULT_CHUNK_PAGES 1024
#define KHIB_MAX_CHUNK_PAGES 65536

/* A run of physical pages; paddr page aligned. */
struct khib_range {
	uint64_t paddr;
	uint64_t npages;
};

/* Who was hibernated: lets a restorer refuse an image from another kernel,
 * boot or machine (-ESTALE). */
struct khib_kernel_identity {
	char uts_release[KHIB_UTS_LEN];
	char uts_version[KHIB_UTS_LEN];
	uint8_t boot_id[16];
	uint64_t memmap_hash; /* of the firmware memory map N booted with */
	uint32_t e820_crc32;  /* the e820 checksum N's own hibernation would compute */
	uint64_t num_physpages; /* N's get_num_physpages() (present pages), 0 unknown */
};

/* What resume needs besides the pages. */
struct khib_resume_info {
	uint64_t jump_back_entry; /* N's re-entry address (physical) */
	uint64_t region_start;    /* the region H ran in: not saved */
	uint64_t region_bytes;
	uint64_t lowmem_start;    /* low memory H needed (real-mode trampoline) */
	uint64_t lowmem_size;
	uint64_t direct_map_base; /* N's PAGE_OFFSET, for ELF export; 0 unknown */
};

/* Encryption, as the header says it in public (doc/FORMAT.md). */
#define KHIB_KEY_AREA_BYTES 3072	/* key slots, after the header */
struct khib_encryption_info {
	uint32_t algorithm;		/* enum khib_aead (crypt.h); 0: in clear */
	uint32_t n_slots;		/* key slots in the key area */
};

/*
 * What encrypts an image: its data key and the key area the protectors
 * fill (lib/format/keyslot.h) so that a resume finds that key again.  SECURITY:
 * dk is the image's secret; keep this in khib_secret_alloc() memory.
 */
struct khib_image_key {
	uint32_t aead;			/* enum khib_aead */
	uint8_t dk[32];
	uint32_t n_slots;
	uint8_t key_area[KHIB_KEY_AREA_BYTES];
};

struct khib_image_info {
	uint32_t version;
	uint64_t incompat_flags, compat_flags;
	uint8_t uuid[KHIB_UUID_BYTES];
	uint64_t created_ns; /* CLOCK_REALTIME when the writer started */
	uint32_t page_size;
	unsigned codec;
	int codec_level;
	uint32_t chunk_pages;
	uint64_t total_ram_pages; /* all of N's RAM, saved or not */
	uint64_t saved_pages;     /* pages in the range table */
	uint64_t stored_pages;    /* pages with data in chunks */
	uint64_t zero_pages;
	uint64_t excluded_pages;  /* in a range but not saved (free pages) */
	uint64_t n_ranges, n_chunks;
	uint64_t data_bytes;      /* bytes of chunk data on the target */
	uint64_t image_bytes;     /* bytes of the target the image uses */
	uint64_t vmcoreinfo_bytes;
	uint64_t n_fs;            /* file system stamps (lib/format/fsstamp.h) */
	struct khib_kernel_identity kernel;
	struct khib_resume_info resume;
	struct khib_encryption_info encryption;
	bool committed;
	/* Restores of this image that began and did not finish (a power cut,
	 * a restore kernel that failed and could not invalidate it):
	 * khib_image_count_restore(). */
	uint32_t restore_attempts;
};

struct khib_chunk_info {
	uint64_t paddr;
	uint32_t npages, stored_pages, zero_pages;
	uint64_t disk_offset;
	uint32_t disk_bytes;
	uint32_t header_bytes;	/* the chunk header; its payload follows */
};

/* ---- writer ---- */

struct khib_writer_params {
	enum khib_codec codec;
	int codec_level;
	unsigned threads;     /* 0: all online CPUs */
	uint32_t chunk_pages; /* 0: KHIB_DEFAULT_CHUNK_PAGES */
	/* Sorted, non-overlapping, page aligned; copied. */
	const struct khib_range *ranges;
	size_t n_ranges;
	uint64_t total_ram_pages;
	struct khib_kernel_identity kernel;
	struct khib_resume_info resume;
	const void *vmcoreinfo; /* the VMCOREINFO note's text, copied; may be NULL */
	size_t vmcoreinfo_bytes;
	/* N's file systems as they were on disk (at most KHIB_FSSTAMP_MAX);
	 * copied; the resume side refuses the image if one was used since. */
	const struct khib_fsstamp *fs;
	size_t n_fs;
	bool fs_complete;	/* fs holds every block-device file system N had */
	/* Encrypt and authenticate with this key (NULL: in clear); copied. */
	const struct khib_image_key *key;
	const uint8_t *uuid;    /* NULL: random */
	uint64_t created_ns;    /* 0: now */
};

struct khib_writer_stats {
	uint64_t fed_pages, stored_pages, zero_pages, excluded_pages;
	uint64_t data_bytes;
	/* Chunks stored raw under a codec: incompressible, as found by a
	 * sample (not compressed whole), or by compressing all of it. */
	uint64_t raw_by_sample, raw_by_trial;
};

struct khib_writer;

/* Upper bound of the bytes an image of these ranges can take on a target:
 * every page stored incompressible plus all metadata (with room for
 * KHIB_FSSTAMP_MAX file system stamps).  -EOVERFLOW, -EINVAL. */
int khib_image_max_bytes(const struct khib_range *ranges, size_t n_ranges, uint32_t chunk_pages,
			 size_t vmcoreinfo_bytes, uint64_t *ret_bytes);

/* A new image UUID (RFC 4122 version 4) without ever blocking: a writer
 * kernel just booted may have no entropy yet.  Uniqueness matters for an
 * image id, not secrecy. */
void khib_image_uuid_new(uint8_t uuid[KHIB_UUID_BYTES]);

/* Refuses a fixed-size target smaller than the worst case (-ENOSPC), then
 * destroys any old commit record durably. */
int khib_writer_new(struct khib_target *t, const struct khib_writer_params *p,
		    struct khib_writer **ret);
/*
 * Feed pages in ascending order, every page of every range exactly once
 * (add: saved with its content; skip: excluded, e.g. free pages).  `pages` is
 * borrowed: it must stay mapped and unchanged until khib_writer_sync() or
 * khib_writer_finish() returns.  After a failure every call returns it.
 */
int khib_writer_add(struct khib_writer *w, uint64_t paddr, const void *pages, uint64_t npages);
int khib_writer_skip(struct khib_writer *w, uint64_t paddr, uint64_t npages);
/* Wait for every chunk fed so far to be written; borrowed pages are free. */
int khib_writer_sync(struct khib_writer *w);
/* Write metadata, flush, write the commit record, flush: the image is valid. */
int khib_writer_finish(struct khib_writer *w);
void khib_writer_get_stats(struct khib_writer *w, struct khib_writer_stats *ret);
/* Without a successful finish the target holds no valid image. */
void khib_writer_free(struct khib_writer *w);

/* Destroy the commit record at its fixed place and make that durable. */
int khib_image_invalidate(struct khib_target *t);

/*
 * Count a restore of the committed image on t as begun, durably, before
 * anything of it is restored: *ret_before gets the restores that began
 * before this one (and, since a finished restore invalidates the image,
 * did not finish).  The commit record's errors (-ENODATA: no image); the
 * record is rewritten as it was, in the same sector (written atomically,
 * as the commit protocol assumes).
 */
int khib_image_count_restore(struct khib_target *t, uint32_t *ret_before);

/* Who owns a target, by its first two blocks (image_format.h). */
enum khib_probe {
	KHIB_PROBE_EMPTY,	/* zeros */
	KHIB_PROBE_IMAGE,	/* a khib image, committed or not */
	KHIB_PROBE_OTHER,	/* something else */
};

/* khib_image_probe() of t's first blocks; a target smaller than that is
 * KHIB_PROBE_OTHER when it holds anything but zeros. */
int khib_target_probe(struct khib_target *t, enum khib_probe *ret);

/* ---- reader ---- */

/* Open an image without a valid commit record (for inspect); info->committed
 * tells, khib_reader_commit_error() says why not. */
#define KHIB_READER_UNCOMMITTED (1u << 0)
/* Only the header, what anybody may read of an encrypted image (inspect
 * without its key): no ranges, chunks or tables. */
#define KHIB_READER_PUBLIC (1u << 1)

/*
 * The data key of an encrypted image: look through its key area (n_slots
 * slots, lib/format/keyslot.h) for a slot this caller can open and fill dk.
 * -ENOKEY when none opens (reason filled).  Nothing the slots say is trusted
 * before the header MAC under the key checks out.
 */
typedef int khib_key_fn(void *ctx, const uint8_t uuid[KHIB_UUID_BYTES], const uint8_t *key_area,
			uint32_t n_slots, uint8_t dk[32], char *reason);

enum khib_page_kind {
	KHIB_PAGES_DATA,     /* data points at npages * page_size bytes */
	KHIB_PAGES_ZERO,     /* data NULL; the pages were all zero */
	KHIB_PAGES_EXCLUDED, /* data NULL; not saved */
};

/* Called with runs of pages; runs of one chunk come in ascending order from
 * one thread, different chunks concurrently from up to `threads` threads
 * (one chunk after the other, in the image's order, with in_order).  A
 * negative return stops the read and is returned. */
typedef int khib_pages_fn(void *ctx, uint64_t paddr, uint64_t npages, enum khib_page_kind kind,
			  const void *data);

struct khib_read_opts {
	unsigned threads;    /* 0: all online CPUs */
	bool verify_first;   /* check every chunk before handing out any page */
	/* Hand out the chunks one at a time in the image's order, as one
	 * thread would, while the other threads read, check and decode the
	 * chunks that follow: for a consumer that takes pages in order (the
	 * kernel's /dev/snapshot). */
	bool in_order;
	/* Read and check only the chunk headers (their page maps, hashed in
	 * the index), not the payloads: runs of data pages come with data
	 * NULL.  For planning what a second, full read will hand out. */
	bool headers_only;
	khib_pages_fn *fn;   /* NULL: only verify */
	void *ctx;
};

struct khib_reader;

/* reason: NULL or KHIB_REASON_MAX bytes, filled on every failure.  An
 * encrypted image gives -ENOKEY here unless KHIB_READER_PUBLIC. */
int khib_reader_open(struct khib_target *t, unsigned flags, struct khib_reader **ret, char *reason);
/* The same with a way to its data key: authenticates the header and every
 * table, and every chunk as it is read. */
int khib_reader_open_keyed(struct khib_target *t, unsigned flags, khib_key_fn *key_fn, void *ctx,
			   struct khib_reader **ret, char *reason);
void khib_reader_free(struct khib_reader *r);
const struct khib_image_info *khib_reader_info(const struct khib_reader *r);
/* 0 if committed, else the -errno (reason filled) that a strict open gives. */
int khib_reader_commit_error(const struct khib_reader *r, char *reason);
const struct khib_range *khib_reader_ranges(const struct khib_reader *r, size_t *ret_n);
int khib_reader_chunk(const struct khib_reader *r, size_t i, struct khib_chunk_info *ret);
/* -ENODATA when the image has no VMCOREINFO. */
int khib_reader_vmcoreinfo(const struct khib_reader *r, const void **ret, size_t *ret_bytes);
/* An encrypted image's key area (KHIB_KEY_AREA_BYTES) and its slot count,
 * as the header block holds it (authenticated only once opened with its
 * key); NULL for an image in clear. */
const uint8_t *khib_reader_key_area(const struct khib_reader *r, uint32_t *ret_slots);
/* The image's file system stamps (none in an image without them). */
const struct khib_fsstamp *khib_reader_fs(const struct khib_reader *r, size_t *ret_n);
int khib_reader_read(struct khib_reader *r, const struct khib_read_opts *o, char *reason);
/* Decode every chunk and check every checksum. */
int khib_reader_verify(struct khib_reader *r, unsigned threads, char *reason);

/* -ESTALE (reason filled) unless the image was written for this kernel and
 * firmware memory map; empty strings / zero ids in `running` are not compared. */
int khib_image_check_identity(const struct khib_image_info *info,
			      const struct khib_kernel_identity *running, char *reason);

#endif
