// SPDX-License-Identifier: GPL-2.0-only
/*
 * store_seal.c - the writer's side of seals (seal.h): the store key made or loaded when a
 * writer opens the store, the chain file opened for appending (a torn record from a crash
 * cut), the current segment's digest kept up chunk by chunk, and a signed seal appended when
 * the segment is sealed.
 *
 * Order on disk, so that a crash leaves a chain that is valid as far as it goes:
 *   1. the segment's bytes are made durable (fdatasync)
 *   2. the seal is appended to the chain file and made durable
 *   3. the index marks the segment sealed (committed with the next group commit).
 * A crash between 2 and 3: at the next open, the chain says the segment is sealed and the
 * index follows it (the segment is never appended to again). A crash during 2: the torn
 * record is cut and the segment, still open, is sealed again when it fills. Segments that
 * the index has sealed but the chain does not hold (an older store, written before seals
 * came in) are sealed when a writer opens the store, with the "late" flag.
 *
 * A full disk (drop_when_full, live recording) does not stop the writer for a seal either:
 * a seal that cannot be appended is made late, from the segment's file, before the next
 * one (seals stay in segment order); until then ecap-verify reports the segment as having
 * no seal.
 */
#include "store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "seal.h"
#include "segment.h"

struct store_sealer {
	struct store_key key;
	int chain_fd;
	uint64_t chain_end;
	uint64_t next_index;
	uint8_t last[SHA256_LEN];   /* the last record's digest */
	uint32_t last_segment;      /* the segment of the last record, 0 when none */
	struct seal_acc acc;        /* the segment being written */
	bool acc_open;
	bool key_created;           /* this open made the key */
	struct buf rec;
	/* segments sealed while the disk had no room for their seal (drop_when_full), in
	 * order: sealed late from their files before the next seal */
	uint32_t *pending;
	size_t n_pending, cap_pending;
};

/* A new chain file: its header written whole under a temporary name, then renamed. */
static int create_chain(struct store *s, const uint8_t fp[32])
{
	uint8_t hdr[SEAL_CHAIN_HEADER_LEN];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	seal_chain_header(fp, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec, hdr);
	const char *tmp = SEAL_CHAIN_NAME ".tmp";
	unlinkat(s->dirfd, tmp, 0);
	int fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return store_fail(s, -errno, "%s/%s: %s", s->dir, tmp, strerror(errno));
	int err = 0;
	if (pwrite(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) || fsync(fd))
		err = errno ? -errno : -EIO;
	close(fd);
	if (!err && renameat(s->dirfd, tmp, s->dirfd, SEAL_CHAIN_NAME))
		err = -errno;
	if (err)
		return store_fail(s, err, "%s/%s: %s", s->dir, SEAL_CHAIN_NAME, strerror(-err));
	fsync(s->dirfd);
	return 0;
}

/* Read the chain (cutting a torn tail) and open it for appending. */
static int open_chain(struct store *s, struct store_sealer *z)
{
	struct seal_chain c;
	int err = seal_chain_read(s->dirfd, &c);
	if (err == -ENOENT) {
		if ((err = create_chain(s, z->key.fp)))
			return err;
		err = seal_chain_read(s->dirfd, &c);
	}
	if (err) {
		seal_chain_free(&c);
		return store_fail(s, err, "%s/%s: %s", s->dir, SEAL_CHAIN_NAME, strerror(-err));
	}
	z->chain_fd = openat(s->dirfd, SEAL_CHAIN_NAME, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (z->chain_fd < 0) {
		err = store_fail(s, -errno, "%s/%s: %s", s->dir, SEAL_CHAIN_NAME, strerror(errno));
		goto out;
	}
	if (c.header_why)
		store_notice(s, "%s: %s; new seals are appended (ecap-verify reports it)",
			     SEAL_CHAIN_NAME, c.header_why);
	else if (memcmp(c.header_fp, z->key.fp, 32))
		store_notice(s, "%s names another key than %s (ecap-verify reports it)",
			     SEAL_CHAIN_NAME, STORE_KEY_NAME);
	z->chain_end = c.len;
	if (c.torn && !c.header_why) {
		/* a crash while a seal was appended: its segment was not marked sealed */
		if (ftruncate(z->chain_fd, (off_t)c.end) || fsync(z->chain_fd)) {
			err = store_fail(s, -errno, "%s/%s: truncate: %s", s->dir, SEAL_CHAIN_NAME,
					 strerror(errno));
			goto out;
		}
		store_notice(s, "%s: cut a torn seal record (%zu bytes at offset %zu) left by a "
			     "crash", SEAL_CHAIN_NAME, c.len - c.end, c.end);
		z->chain_end = c.end;
	} else if (c.bad_why) {
		store_notice(s, "%s: offset %zu: %s; new seals are appended after it (ecap-verify "
			     "reports it)", SEAL_CHAIN_NAME, c.end, c.bad_why);
	}
	if (c.n) {
		const struct seal *l = &c.v[c.n - 1];
		z->next_index = l->index + 1;
		memcpy(z->last, l->self, SHA256_LEN);
		z->last_segment = l->segment;
	}
out:
	seal_chain_free(&c);
	return err;
}

/* Append a seal for the segment whose digest a holds; make the segment durable first. */
static int write_seal(struct store *s, struct store_sealer *z, const struct seal_acc *a,
		      int seg_fd, uint16_t flags)
{
	struct seal rec;
	int err;
	memset(&rec, 0, sizeof(rec));
	if (!s->opt.no_sync && fdatasync(seg_fd))
		return store_fail(s, -errno, "%s: fdatasync: %s", s->dir, strerror(errno));
	seal_fill_host(&rec);
	rec.flags = flags;
	rec.segment = a->segment;
	rec.index = z->next_index;
	rec.seg_len = a->len;
	rec.first_chunk = a->first_chunk;
	rec.last_chunk = a->last_chunk;
	rec.chunks = a->chunks;
	rec.first_ns = a->first_ns;
	rec.last_ns = a->last_ns;
	memcpy(rec.prev, z->last, SHA256_LEN);
	buf_reset(&z->rec);
	if ((err = seal_acc_digest(a, rec.digest)) ||
	    (err = seal_encode(&rec, &z->key, &z->rec)))
		return store_fail(s, err, "%s: sealing segment %u: %s", s->dir, rec.segment,
				  strerror(-err));
	ssize_t n = pwrite(z->chain_fd, z->rec.data, z->rec.len, (off_t)z->chain_end);
	if (n != (ssize_t)z->rec.len || (!s->opt.no_sync && fdatasync(z->chain_fd))) {
		err = n < 0 || n == (ssize_t)z->rec.len ? -errno : -ENOSPC;
		if (ftruncate(z->chain_fd, (off_t)z->chain_end)) {
			/* a torn record is cut at the next open */
		}
		return store_fail(s, err, "%s/%s: appending the seal of segment %u: %s", s->dir,
				  SEAL_CHAIN_NAME, rec.segment, strerror(-err));
	}
	z->chain_end += z->rec.len;
	z->next_index++;
	memcpy(z->last, rec.self, SHA256_LEN);
	z->last_segment = rec.segment;
	return 0;
}

/* Seal, with the late flag, a segment the index has sealed and the chain does not hold. */
static int seal_late(struct store *s, struct store_sealer *z, uint32_t id)
{
	char name[SEGMENT_NAME_MAX];
	struct stat st;
	segment_name(id, name);
	int fd = openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : store_fail(s, -errno, "%s/%s: %s", s->dir, name,
							strerror(errno));
	struct seal_acc a = { 0 };
	int err = fstat(fd, &st) ? -errno : seal_acc_begin(&a, id);
	if (!err)
		err = seal_acc_file(&a, fd, 0, (uint64_t)st.st_size, NULL);
	if (err)
		err = store_fail(s, err, "%s/%s: %s", s->dir, name, strerror(-err));
	else
		err = write_seal(s, z, &a, fd, SEAL_FLAG_LATE);
	seal_acc_free(&a);
	close(fd);
	return err;
}

/* The index follows the chain: segments it holds are sealed; sealed ones it lacks get a
 * seal now. */
static int reconcile(struct store *s, struct store_sealer *z)
{
	char sql[128];
	int err;
	if (z->last_segment) {
		snprintf(sql, sizeof(sql), "UPDATE segments SET sealed = 1 WHERE id <= %u AND "
			 "sealed = 0", z->last_segment);
		if (sqlite3_exec(index_db(s->ix), sql, NULL, NULL, NULL) != SQLITE_OK)
			return store_fail(s, -EIO, "%s: %s", s->dir, sqlite3_errmsg(index_db(s->ix)));
	}
	for (;;) {
		int64_t id = 0;
		snprintf(sql, sizeof(sql), "SELECT min(id) FROM segments WHERE sealed = 1 AND "
			 "id > %u", z->last_segment);
		if ((err = index_scalar(s->ix, sql, 0, &id)))
			return store_fail(s, err, "%s: %s", s->dir, index_errmsg(s->ix));
		if (!id)
			return 0;
		uint32_t before = z->last_segment;
		if ((err = seal_late(s, z, (uint32_t)id)))
			return err;
		if (z->last_segment == before) /* the file is gone: skip it */
			z->last_segment = (uint32_t)id;
	}
}

int store_seal_open(struct store *s)
{
	struct store_sealer *z = calloc(1, sizeof(*z));
	char msg[256] = "";
	bool created, differs;
	if (!z)
		return -ENOMEM;
	z->chain_fd = -1;
	s->sealer = z;
	int err = store_key_ensure(s->dirfd, &z->key, &created, &differs, msg, sizeof(msg));
	if (err)
		return store_fail(s, err, "%s/%s", s->dir, msg);
	char fp[STORE_KEY_FP_TEXT];
	store_key_fp_text(z->key.fp, fp);
	z->key_created = created;
	if (differs)
		store_notice(s, "%s does not hold the public half of %s (%s); seals are signed "
			     "with %s", STORE_PUB_NAME, STORE_KEY_NAME, fp, STORE_KEY_NAME);
	if ((err = open_chain(s, z)))
		return err;
	uint32_t before = z->last_segment;
	if ((err = reconcile(s, z)))
		return err;
	if (z->last_segment != before)
		store_notice(s, "sealed the segments up to %u that had no seal (late seals)",
			     z->last_segment);
	return 0;
}

int store_seal_segment_begin(struct store *s, uint32_t id, int fd, uint64_t size)
{
	struct store_sealer *z = s->sealer;
	int err = seal_acc_begin(&z->acc, id);
	if (!err && size)
		err = seal_acc_file(&z->acc, fd, 0, size, NULL);
	z->acc_open = !err;
	return err ? store_fail(s, err, "%s: segment %u: %s", s->dir, id, strerror(-err)) : 0;
}

void store_seal_chunk(struct store *s, const struct chunk_meta *m, uint64_t length,
		      uint64_t pad, const uint8_t link[32])
{
	struct store_sealer *z = s->sealer;
	if (z->acc_open) {
		seal_acc_chunk(&z->acc, m, length, link);
		if (pad)
			seal_acc_pad(&z->acc, pad);
	}
}

static bool disk_full(int err)
{
	return err == -ENOSPC || err == -EDQUOT;
}

/* Seal the segments whose seals found the disk full, oldest first. */
static int seal_pending(struct store *s, struct store_sealer *z)
{
	size_t done = 0;
	int err = 0;
	while (done < z->n_pending && !(err = seal_late(s, z, z->pending[done])))
		done++;
	memmove(z->pending, z->pending + done, (z->n_pending - done) * sizeof(*z->pending));
	z->n_pending -= done;
	if (done && !err)
		store_notice(s, "the seals that found the disk full are written now (late)");
	return err;
}

int store_seal_segment(struct store *s, int seg_fd)
{
	struct store_sealer *z = s->sealer;
	if (!z->acc_open)
		return 0;
	int err = z->n_pending ? seal_pending(s, z) : 0;
	if (!err)
		err = write_seal(s, z, &z->acc, seg_fd, 0);
	if (!err)
		z->acc_open = false;
	/* a failure leaves the digest open: the segment is not sealed, and a later try (or the
	 * next writer) seals it with the chunks it has by then */
	if (!err || !s->opt.drop_when_full || !disk_full(err))
		return err;
	z->acc_open = false;
	uint32_t *slot = chunkmeta_grow((void **)&z->pending, &z->n_pending, &z->cap_pending,
					sizeof(*slot));
	if (!slot)
		return store_fail(s, -ENOMEM, "%s: %s", s->dir, strerror(ENOMEM));
	*slot = z->acc.segment;
	if (z->n_pending == 1)
		store_notice(s, "%s; the segment is sealed late when there is room", store_errmsg(s));
	return 0;
}

bool store_signing_key(const struct store *s, char fp[72])
{
	const struct store_sealer *z = s->sealer;
	fp[0] = 0;
	if (!z)
		return false;
	store_key_fp_text(z->key.fp, fp);
	return z->key_created;
}

void store_seal_free(struct store *s)
{
	struct store_sealer *z = s->sealer;
	if (!z)
		return;
	if (z->chain_fd >= 0)
		close(z->chain_fd);
	store_key_free(&z->key);
	seal_acc_free(&z->acc);
	free(z->pending);
	buf_free(&z->rec);
	free(z);
	s->sealer = NULL;
}
