// SPDX-License-Identifier: GPL-2.0-only
/*
 * verify_export.c - `ecap-verify --export FILE`: an export against its proof (the format is
 * specified in export/proof.c). Without the store (--key only): the proof's signature, and
 * the file's length, packet and DSB counts and SHA-256 against it; that shows the file is
 * byte for byte what ecap-export wrote from the chunks the proof lists. With the store: the
 * seals the proof names must be in the chain with the same digests, each source chunk still
 * in the store is read again and compared with its digest in the proof, and when all of them
 * are there every packet of the file is looked up among their packets. Source chunks that
 * retention deleted leave the signature and their seals as the evidence.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chunk.h"
#include "chunk_digest.h"
#include "hex.h"
#include "proof.h"
#include "segment.h"
#include "store_path.h"
#include "verify.h"

struct pkt_hash {
	uint64_t h, off;
};

struct hashes {
	struct pkt_hash *v;
	size_t n, cap;
};

static int push_hash(struct hashes *l, uint64_t h, uint64_t off)
{
	struct pkt_hash *s = chunkmeta_grow((void **)&l->v, &l->n, &l->cap, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->h = h;
	s->off = off;
	return 0;
}

static int on_epb(uint64_t ts, uint32_t caplen, uint32_t origlen, const uint8_t *data,
		  uint64_t off, void *ctx)
{
	return push_hash(ctx, proof_packet_hash(ts, caplen, origlen, data), off);
}

static int cmp_hash(const void *a, const void *b)
{
	uint64_t x = ((const struct pkt_hash *)a)->h, y = ((const struct pkt_hash *)b)->h;
	return x < y ? -1 : x > y;
}

static int read_text(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_size > (64 << 20) || !(*out = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return -EFBIG;
	}
	ssize_t n = read(fd, *out, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(*out);
		return -EIO;
	}
	*len = (size_t)n;
	return 0;
}

static int load_keys(const struct verify_opts *o, int dirfd, struct store_key *k)
{
	char msg[256], a[STORE_KEY_FP_TEXT], b[STORE_KEY_FP_TEXT];
	int err = o->key ? store_key_load_public(AT_FDCWD, o->key, k, msg, sizeof(msg))
			 : store_key_load_public(dirfd, STORE_PUB_NAME, k, msg, sizeof(msg));
	if (err) {
		fprintf(stderr, "ecap-verify: %s\n", msg);
		return err;
	}
	struct store_key pub;
	if (o->key && dirfd >= 0 &&
	    !store_key_load_public(dirfd, STORE_PUB_NAME, &pub, msg, sizeof(msg))) {
		if (memcmp(pub.fp, k->fp, 32)) {
			store_key_fp_text(pub.fp, a);
			store_key_fp_text(k->fp, b);
			verify_say(true, "%s/%s: holds key %s, not the trusted key %s", o->store,
				   STORE_PUB_NAME, a, b);
		}
		store_key_free(&pub);
	}
	return 0;
}

/* The file against the proof's length, counts and digest. */
static void check_file(const struct verify_opts *o, const struct proof *p,
		       const struct proof_file *f)
{
	const char *e = o->export_path;
	if (f->packets != p->file.packets)
		verify_say(true, "%s: holds %" PRIu64 " packets, the proof says %" PRIu64 ": packets "
			   "were %s", e, f->packets, p->file.packets,
			   f->packets < p->file.packets ? "removed" : "added");
	if (f->dsbs != p->file.dsbs)
		verify_say(true, "%s: holds %" PRIu64 " Decryption Secrets Blocks, the proof says "
			   "%" PRIu64 ": DSBs were %s", e, f->dsbs, p->file.dsbs,
			   f->dsbs < p->file.dsbs ? "removed" : "added");
	if (f->bytes != p->file.bytes)
		verify_say(true, "%s: %" PRIu64 " bytes, the proof says %" PRIu64 ": bytes were %s",
			   e, f->bytes, p->file.bytes, f->bytes < p->file.bytes ? "removed" :
			   "added");
	if (memcmp(f->sha256, p->file.sha256, SHA256_LEN))
		verify_say(true, "%s: its SHA-256 differs from the proof's: the file is not the one "
			   "ecap-export wrote", e);
}

/* One source chunk read again: its digest against the proof's, its packets into src. */
static void check_chunk(const struct verify_opts *o, int dirfd, const struct proof_chunk *c,
			struct chunk_view *v, struct hashes *src, size_t *gone)
{
	char name[SEGMENT_NAME_MAX];
	struct stat st;
	const char *why = NULL;
	uint8_t d[SHA256_LEN];
	segment_name(c->segment, name);
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		(*gone)++;
		if (o->verbose)
			printf("%s: chunk %" PRIu64 ": its segment is gone (retention)\n", name,
			       c->id);
		return;
	}
	long r = fstat(fd, &st) ? -errno :
		 segment_read_chunk(fd, c->offset, (uint64_t)st.st_size, &v->meta, &v->frames, &why);
	close(fd);
	if (r < 0 || (uint64_t)r != c->length || v->meta.id != c->id) {
		verify_say(true, "%s/%s: offset %" PRIu64 ": chunk %" PRIu64 " of the proof is not "
			   "there (%s)", o->store, name, c->offset, c->id,
			   r < 0 ? why ? why : strerror((int)-r) : "another chunk or length");
		return;
	}
	size_t mlen = v->frames.len - v->meta.data_len;
	int err = chunk_digest_frame(&v->meta, v->frames.data + mlen, v->meta.data_len, d, &why);
	if (err == -EBADMSG) {
		verify_say(true, "%s/%s: offset %" PRIu64 ": chunk %" PRIu64 "'s data frame cannot "
			   "be checked: %s", o->store, name, c->offset, c->id, why);
		return;
	}
	if (err || (c->has_digest && memcmp(d, c->digest, SHA256_LEN))) {
		verify_say(true, "%s/%s: offset %" PRIu64 ": chunk %" PRIu64 "'s data frame differs "
			   "from the digest in the proof", o->store, name, c->offset, c->id);
		return;
	}
	if (segment_decompress(&v->meta, &v->frames, &v->raw, &why) || chunk_view_parse(v, &why)) {
		verify_say(true, "%s/%s: offset %" PRIu64 ": chunk %" PRIu64 ": %s", o->store, name,
			   c->offset, c->id, why ? why : "does not decode");
		return;
	}
	for (size_t i = 0; i < v->n_pkts; i++) {
		const struct chunk_pkt *k = &v->pkts[i];
		if (push_hash(src, proof_packet_hash(k->ts_ns, k->caplen, k->origlen,
						     v->raw.data + k->data_off), 0))
			return;
	}
}

/* The proof's seals against the chain; its chunks against the store. */
static void check_store(const struct verify_opts *o, int dirfd, const struct proof *p,
			const struct hashes *pkts)
{
	struct seal_chain c;
	struct chunk_view v = { 0 };
	struct hashes src = { 0 };
	size_t gone = 0;
	char h[65];
	if (seal_chain_read(dirfd, &c)) {
		verify_say(true, "%s: no seal chain to check the proof's seals against", o->store);
		return;
	}
	const uint64_t idx[2] = { p->seal_index, p->head_index };
	const uint8_t *dig[2] = { p->seal_digest, p->head_digest };
	for (int i = 0; i < 2; i++) {
		if (idx[i] == PROOF_NONE)
			continue;
		if (idx[i] >= c.n || memcmp(c.v[idx[i]].self, dig[i], SHA256_LEN))
			verify_say(true, "%s/%s: the proof names seal %" PRIu64 " with digest %s, "
				   "the chain %s", o->store, SEAL_CHAIN_NAME, idx[i],
				   (*hex_encode(dig[i], 32, h) = 0, h),
				   idx[i] >= c.n ? "has no such seal" : "holds another seal there");
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct proof_chunk *k = &p->v[i];
		if (k->seal != PROOF_NONE && (k->seal >= c.n || c.v[k->seal].segment != k->segment))
			verify_say(true, "%s/%s: the proof says seal %" PRIu64 " covers chunk %" PRIu64
				   " (segment %u); the chain does not", o->store, SEAL_CHAIN_NAME,
				   k->seal, k->id, k->segment);
		check_chunk(o, dirfd, k, &v, &src, &gone);
	}
	if (gone) {
		printf("%s: %zu of %zu source chunks are gone (retention): the packets are vouched "
		       "for by the signed digests and seals, not compared one by one\n", o->store,
		       gone, p->n);
	} else {
		qsort(src.v, src.n, sizeof(*src.v), cmp_hash);
		size_t missing = 0;
		for (size_t i = 0; i < pkts->n; i++) {
			if (bsearch(&pkts->v[i], src.v, src.n, sizeof(*src.v), cmp_hash))
				continue;
			if (!missing++)
				verify_say(true, "%s: offset %" PRIu64 ": a packet that none of the "
					   "proof's source chunks holds", o->export_path,
					   pkts->v[i].off);
		}
		printf("%s: %zu packets looked up in %zu source chunks: %zu found, %zu not\n",
		       o->export_path, pkts->n, p->n, pkts->n - missing, missing);
	}
	chunk_view_free_contents(&v);
	free(src.v);
	seal_chain_free(&c);
}

int verify_export(const struct verify_opts *o)
{
	struct proof p = { 0 };
	struct proof_file f;
	struct store_key k = { 0 };
	struct hashes pkts = { 0 };
	char path[4096], why[512], fp[STORE_KEY_FP_TEXT];
	char *text = NULL;
	size_t len = 0;
	const char *w;
	uint64_t bad;
	int rc = VERIFY_CANNOT, dirfd = -1;

	snprintf(path, sizeof(path), "%s%s", o->export_path, PROOF_SUFFIX);
	const char *pp = o->proof_path ? o->proof_path : path;
	int err = read_text(pp, &text, &len);
	if (err) {
		fprintf(stderr, "ecap-verify: %s: %s\n", pp, strerror(-err));
		return VERIFY_CANNOT;
	}
	if (o->store && (dirfd = store_path_open(o->store, false, why, sizeof(why))) < 0) {
		fprintf(stderr, "ecap-verify: %s\n", why);
		if (dirfd == -EPERM || dirfd == -EACCES)
			rc = VERIFY_USAGE;
		goto out;
	}
	if (load_keys(o, dirfd, &k))
		goto out;
	int fd = open(o->export_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "ecap-verify: %s: %s\n", o->export_path, strerror(errno));
		goto out;
	}
	if (proof_parse(&p, text, len, why, sizeof(why))) {
		verify_say(true, "%s: %s", pp, why);
	} else {
		if (memcmp(p.key_fp, k.fp, 32)) {
			store_key_fp_text(p.key_fp, fp);
			verify_say(true, "%s: signed for key %s, which is not the key given", pp, fp);
		}
		if (store_key_verify(&k, text, p.signed_len, p.sig))
			verify_say(true, "%s: the signature does not verify: the proof was altered, "
				   "or signed with another key", pp);
		err = proof_scan_file(fd, &f, o->store ? on_epb : NULL, &pkts, &w, &bad);
		if (err == -EBADMSG)
			verify_say(true, "%s: offset %" PRIu64 ": %s", o->export_path, bad, w);
		else if (err)
			verify_say(true, "%s: %s", o->export_path, strerror(-err));
		check_file(o, &p, &f);
		if (o->store)
			check_store(o, dirfd, &p, &pkts);
	}
	close(fd);
	store_key_fp_text(k.fp, fp);
	if (verify_breaks()) {
		printf("NOT verified: %u breaks; the first: %s\n", verify_breaks(),
		       verify_first_break());
		rc = VERIFY_BROKEN;
	} else {
		printf("verified: %s is the file ecap-export wrote (%" PRIu64 " packets, %" PRIu64
		       " DSBs, from %zu chunks recorded by %s on %s, machine-id %s), signed with "
		       "key %s\n", o->export_path, p.file.packets, p.file.dsbs, p.n, p.versions,
		       p.host_name, p.machine_id, fp);
		rc = VERIFY_OK;
	}
out:
	if (dirfd >= 0)
		close(dirfd);
	free(text);
	free(pkts.v);
	free(p.v);
	store_key_free(&k);
	return rc;
}
