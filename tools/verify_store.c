// SPDX-License-Identifier: GPL-2.0-only
/*
 * verify_store.c - `ecap-verify STORE`: the store's seal chain end to end, without the
 * index (a cache anyone could rewrite): the key, the chain file's header, every seal
 * against the one before it and the key, every segment file against its seal, and the
 * segment still being written chunk by chunk. The format is specified in schema/seal.c.
 *
 * What counts as what:
 *   - a seal whose segment file is gone is retention when every older seal's segment is
 *     gone too (retention deletes the oldest first); a gap in the middle is a break;
 *   - a record cut short at the end of the chain file, or a chunk cut short at the end of
 *     the open segment, is the torn tail of a crash, reported as such (status 4);
 *   - everything else that differs is a break (status 1).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hex.h"
#include "seal.h"
#include "segment.h"
#include "store_key.h"
#include "store_path.h"
#include "units.h"
#include "verify.h"

static unsigned breaks, torn;
static char first_break[1024];

void verify_say(bool problem, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	puts(line);
	if (problem && !breaks++)
		snprintf(first_break, sizeof(first_break), "%s", line);
}

unsigned verify_breaks(void)
{
	return breaks;
}

const char *verify_first_break(void)
{
	return first_break;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static bool has_id(const uint32_t *ids, size_t n, uint32_t id)
{
	return bsearch(&id, ids, n, sizeof(id), cmp_u32) != NULL;
}

/* The key seals must verify with: the trusted one (--key) when given, else store.pub. */
static int load_key(const struct verify_opts *o, int dirfd, struct store_key *k)
{
	char msg[256], fp[STORE_KEY_FP_TEXT], tfp[STORE_KEY_FP_TEXT];
	struct store_key pub = { 0 };
	int err = store_key_load_public(dirfd, STORE_PUB_NAME, &pub, msg, sizeof(msg));
	if (err)
		verify_say(o->key == NULL, "%s/%s", o->store, msg);
	if (!o->key) {
		*k = pub;
		return err;
	}
	if ((err = store_key_load_public(AT_FDCWD, o->key, k, msg, sizeof(msg)))) {
		fprintf(stderr, "ecap-verify: %s\n", msg);
		store_key_free(&pub);
		return err;
	}
	if (pub.loaded && memcmp(pub.fp, k->fp, 32)) {
		store_key_fp_text(pub.fp, fp);
		store_key_fp_text(k->fp, tfp);
		verify_say(true, "%s/%s: holds key %s, not the trusted key %s (%s): the store's key "
			   "was replaced", o->store, STORE_PUB_NAME, fp, tfp, o->key);
	}
	store_key_free(&pub);
	return 0;
}

/* The chain's records, each against the one before it and the key. */
static void check_seals(const struct verify_opts *o, const struct seal_chain *c,
			const struct store_key *k)
{
	char fp[STORE_KEY_FP_TEXT], kfp[STORE_KEY_FP_TEXT];
	static const uint8_t zero[SHA256_LEN];
	store_key_fp_text(k->fp, kfp);
	if (c->header_why) {
		verify_say(true, "%s/%s: offset 0: %s", o->store, SEAL_CHAIN_NAME, c->header_why);
	} else if (memcmp(c->header_fp, k->fp, 32)) {
		store_key_fp_text(c->header_fp, fp);
		verify_say(true, "%s/%s: offset 16: the chain was begun for key %s, the key is %s: "
			   "the store's key was replaced", o->store, SEAL_CHAIN_NAME, fp, kfp);
	}
	for (size_t i = 0; i < c->n; i++) {
		const struct seal *s = &c->v[i], *p = i ? &c->v[i - 1] : NULL;
		const char *f = SEAL_CHAIN_NAME;
		unsigned long long off = s->offset;
		if (s->index != i)
			verify_say(true, "%s/%s: offset %llu: seal record %zu says it is number %llu: "
				   "a seal was removed or inserted before it", o->store, f, off, i,
				   (unsigned long long)s->index);
		if (memcmp(s->prev, p ? p->self : zero, SHA256_LEN))
			verify_say(true, "%s/%s: offset %llu: seal %zu (segment %u) does not link to "
				   "the seal before it: its previous-seal digest differs from the "
				   "digest of the record at offset %llu", o->store, f, off, i,
				   s->segment, p ? (unsigned long long)p->offset : 0ull);
		if (memcmp(s->key_fp, k->fp, 32)) {
			store_key_fp_text(s->key_fp, fp);
			verify_say(true, "%s/%s: offset %llu: seal %zu (segment %u) names key %s, "
				   "not %s", o->store, f, off, i, s->segment, fp, kfp);
		}
		if (seal_check_sig(s, c->bytes + s->offset, k))
			verify_say(true, "%s/%s: offset %llu: seal %zu (segment %u): the signature "
				   "does not verify with key %s: the record was altered, or signed "
				   "with another key", o->store, f, off, i, s->segment, kfp);
		if (p && (s->segment <= p->segment || s->first_chunk <= p->last_chunk))
			verify_say(true, "%s/%s: offset %llu: seal %zu (segment %u, chunks %llu..%llu) "
				   "does not follow seal %zu (segment %u, chunks up to %llu)", o->store,
				   f, off, i, s->segment, (unsigned long long)s->first_chunk,
				   (unsigned long long)s->last_chunk, i - 1, p->segment,
				   (unsigned long long)p->last_chunk);
		if (o->verbose) {
			char t[40];
			units_format_time(s->sealed_ns, t, sizeof(t));
			printf("%s: seal %zu: segment %u, %u chunks, sealed %s%s on %s (machine-id %s, "
			       "boot %s) by %s, clock %s\n", f, i, s->segment, s->chunks, t,
			       s->flags & SEAL_FLAG_LATE ? " (late)" : "", s->host, s->machine_id,
			       s->boot_id, s->version, s->clock_status & 0x40 ? "not synchronised" :
			       "synchronised");
		}
	}
	if (c->torn) {
		verify_say(false, "%s/%s: offset %zu: torn tail: %zu bytes of a seal record cut "
			   "short by the end of the file (a crash while sealing, not tampering; "
			   "the next ecap-rec cuts it and seals that segment again)", o->store,
			   SEAL_CHAIN_NAME, c->end, c->len - c->end);
		torn++;
	} else if (c->bad_why) {
		verify_say(true, "%s/%s: offset %zu: %s", o->store, SEAL_CHAIN_NAME, c->end,
			   c->bad_why);
	}
}

/* One segment file walked whole; its digest into digest. -errno when unreadable. */
static int walk_segment(const struct verify_opts *o, int dirfd, uint32_t id, uint64_t *size,
			uint8_t digest[SHA256_LEN], struct seal_acc *acc, struct seal_walk *w)
{
	char name[SEGMENT_NAME_MAX];
	struct stat st;
	segment_name(id, name);
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int err = fstat(fd, &st) ? -errno : seal_acc_begin(acc, id);
	if (!err)
		err = seal_acc_file(acc, fd, 0, (uint64_t)st.st_size, w);
	if (!err)
		err = seal_acc_digest(acc, digest);
	*size = (uint64_t)st.st_size;
	close(fd);
	if (err)
		verify_say(true, "%s/%s: %s", o->store, name, strerror(-err));
	return err;
}

static void check_sealed(const struct verify_opts *o, int dirfd, const struct seal *s,
			 size_t i, struct seal_acc *acc)
{
	char name[SEGMENT_NAME_MAX];
	uint8_t d[SHA256_LEN];
	struct seal_walk w;
	uint64_t size = 0;
	segment_name(s->segment, name);
	if (walk_segment(o, dirfd, s->segment, &size, d, acc, &w))
		return;
	if (w.first_bad_off != UINT64_MAX)
		verify_say(true, "%s/%s: offset %llu: %s (sealed segment, seal %zu)", o->store,
			   name, (unsigned long long)w.first_bad_off, w.first_bad_why, i);
	if (!memcmp(d, s->digest, SHA256_LEN)) {
		if (o->verbose)
			printf("%s: sealed by seal %zu, %llu chunks, digest matches%s\n", name, i,
			       (unsigned long long)w.chunks, w.no_digest ? " (chunks from before "
			       "digests: no digest of their own, the seal covers them)" : "");
		return;
	}
	if (acc->first_chunk != s->first_chunk || acc->last_chunk != s->last_chunk)
		verify_say(true, "%s/%s: holds chunks %llu..%llu, but seal %zu (%s offset %llu) "
			   "sealed chunks %llu..%llu of segment %u: the file was replaced or "
			   "swapped with another", o->store, name,
			   (unsigned long long)acc->first_chunk, (unsigned long long)acc->last_chunk,
			   i, SEAL_CHAIN_NAME, (unsigned long long)s->offset,
			   (unsigned long long)s->first_chunk, (unsigned long long)s->last_chunk,
			   s->segment);
	else if (size != s->seg_len)
		verify_say(true, "%s/%s: %llu bytes, but seal %zu (%s offset %llu) sealed %llu: "
			   "bytes were %s", o->store, name, (unsigned long long)size, i,
			   SEAL_CHAIN_NAME, (unsigned long long)s->offset,
			   (unsigned long long)s->seg_len, size > s->seg_len ? "added" : "removed");
	else if (w.first_bad_off == UINT64_MAX)
		verify_say(true, "%s/%s: its digest differs from seal %zu's (%s offset %llu): its "
			   "chunks were altered and their checksums and digests made to match",
			   o->store, name, i, SEAL_CHAIN_NAME, (unsigned long long)s->offset);
}

/* A segment no seal covers: the one being written (newer than every seal), or a stray. */
static void check_open(const struct verify_opts *o, int dirfd, uint32_t id, uint32_t last_sealed,
		       bool newest, struct seal_acc *acc)
{
	char name[SEGMENT_NAME_MAX];
	uint8_t d[SHA256_LEN];
	struct seal_walk w;
	uint64_t size = 0;
	segment_name(id, name);
	if (id <= last_sealed) {
		verify_say(true, "%s/%s: no seal of the chain covers it, but newer segments are "
			   "sealed: it was added or renamed", o->store, name);
		return;
	}
	if (walk_segment(o, dirfd, id, &size, d, acc, &w))
		return;
	/* recovery's rule: a bad region with no valid chunk after it, at the end of the file
	 * being written, is a torn tail */
	bool torn_tail = w.gaps == 1 && w.digest_mismatches == 0 && newest &&
			 w.tail_gap_off == w.first_bad_off;
	if (torn_tail) {
		verify_say(false, "%s/%s: offset %llu: torn tail: %s, with nothing valid after it "
			   "(a crash while writing, not tampering; the next ecap-rec cuts it)",
			   o->store, name, (unsigned long long)w.first_bad_off, w.first_bad_why);
		torn++;
	} else if (w.first_bad_off != UINT64_MAX) {
		verify_say(true, "%s/%s: offset %llu: %s (segment not sealed yet)", o->store, name,
			   (unsigned long long)w.first_bad_off, w.first_bad_why);
	}
	verify_say(false, "%s/%s: not sealed yet (being written): %llu chunks checked against "
		   "their own digests; no signature covers them until the segment is sealed",
		   o->store, name, (unsigned long long)w.chunks);
}

int verify_store(const struct verify_opts *o)
{
	struct store_key k = { 0 };
	struct seal_chain c = { 0 };
	struct seal_acc acc = { 0 };
	uint32_t *ids = NULL;
	size_t n_ids = 0;
	int rc = VERIFY_CANNOT;

	char why[512];
	int dirfd = store_path_open(o->store, false, why, sizeof(why));
	if (dirfd < 0) {
		fprintf(stderr, "ecap-verify: %s\n", why);
		return dirfd == -EPERM || dirfd == -EACCES ? VERIFY_USAGE : VERIFY_CANNOT;
	}
	int err = seal_chain_read(dirfd, &c);
	if (err) {
		fprintf(stderr, "ecap-verify: %s/%s: %s%s\n", o->store, SEAL_CHAIN_NAME,
			strerror(-err), err == -ENOENT ? " (not a store, or one that no ecap-rec "
			"with seals has written yet)" : "");
		goto out;
	}
	if (load_key(o, dirfd, &k) || segment_list_dir(dirfd, &ids, &n_ids))
		goto out;
	check_seals(o, &c, &k);
	if (o->has_published && o->published_index >= c.n)
		verify_say(true, "%s/%s: has %zu seals, no seal %llu (published): the chain was cut "
			   "or rewritten", o->store, SEAL_CHAIN_NAME, c.n, o->published_index);
	else if (o->has_published && memcmp(c.v[o->published_index].self, o->published, 32))
		verify_say(true, "%s/%s: offset %llu: seal %llu differs from the digest published "
			   "for it: the chain was rewritten (and signed again)", o->store,
			   SEAL_CHAIN_NAME, (unsigned long long)c.v[o->published_index].offset,
			   o->published_index);

	/* every seal's segment, oldest first; gone ones must be a prefix (retention) */
	bool seen_present = false;
	size_t retained = 0;
	uint32_t last_sealed = 0;
	for (size_t i = 0; i < c.n; i++) {
		const struct seal *s = &c.v[i];
		char name[SEGMENT_NAME_MAX];
		segment_name(s->segment, name);
		if (s->segment > last_sealed)
			last_sealed = s->segment;
		if (!has_id(ids, n_ids, s->segment)) {
			if (seen_present)
				verify_say(true, "%s/%s: missing, but it was sealed (seal %zu, %s offset "
					   "%llu) and older segments are still here: retention deletes "
					   "the oldest first, so it was deleted by something else",
					   o->store, name, i, SEAL_CHAIN_NAME,
					   (unsigned long long)s->offset);
			else
				retained++;
			continue;
		}
		seen_present = true;
		check_sealed(o, dirfd, s, i, &acc);
	}
	for (size_t j = 0; j < n_ids; j++) {
		bool sealed = false;
		for (size_t i = 0; i < c.n && !sealed; i++)
			sealed = c.v[i].segment == ids[j];
		if (!sealed)
			check_open(o, dirfd, ids[j], last_sealed, j + 1 == n_ids, &acc);
	}
	char fp[STORE_KEY_FP_TEXT], head[2 * SHA256_LEN + 1] = "";
	store_key_fp_text(k.fp, fp);
	printf("%s: %zu seals, %zu segments deleted by retention (their seals kept), key %s%s\n",
	       o->store, c.n, retained, fp, o->key ? " (trusted, --key)" : "");
	if (c.n) { /* what to publish off the host: it fixes everything sealed up to it */
		*hex_encode(c.v[c.n - 1].self, SHA256_LEN, head) = 0;
		printf("%s: newest seal %zu (segment %u): SHA-256 %s\n", o->store, c.n - 1,
		       c.v[c.n - 1].segment, head);
	}
	rc = breaks ? VERIFY_BROKEN : torn ? VERIFY_TORN : VERIFY_OK;
	if (rc == VERIFY_BROKEN)
		printf("NOT verified: %u breaks; the first: %s\n", breaks, first_break);
	else
		printf("%s\n", rc == VERIFY_OK ? "verified: the chain is whole" :
		       "verified, except a torn tail left by a crash");
out:
	seal_acc_free(&acc);
	store_key_free(&k);
	seal_chain_free(&c);
	free(ids);
	close(dirfd);
	return rc;
}
