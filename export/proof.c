// SPDX-License-Identifier: GPL-2.0-only
/*
 * proof.c - the proof beside an export, OUT.pcapng.ecap-proof.
 *
 * Why a sidecar file and not a custom block in the PCAP-NG: tshark 4.0 shows custom blocks
 * (0x0BAD, 0x40000BAD) as extra frames, which would shift frame numbers in every report
 * made from the file, and the signature must cover the whole file it vouches for (a block
 * inside cannot sign itself without a rule for leaving it out). The export stays a plain
 * PCAP-NG; the SHB comment names the host, key and seal, and the proof.
 *
 * FORMAT: UTF-8 text, one "key value" per line, lines in this order, '\n' after each:
 *
 *   ecap-proof 1
 *   file NAME                      the export's file name when written (informative)
 *   bytes N                        its length
 *   sha256 HEX                     SHA-256 of all its bytes
 *   packets N                      its EPBs
 *   dsbs N                         its Decryption Secrets Blocks
 *   exported NS                    CLOCK_REALTIME of the export, ns
 *   host NAME                      the exporting host (hostname; '\n' would be '?')
 *   machine-id ID                  its /etc/machine-id
 *   store-key SHA256:HEX           fingerprint of the store key that signs this proof
 *   recorders V[,V...]             recorder versions that wrote the source chunks
 *   seal I HEX | seal none         the newest seal covering a source chunk: its position in
 *                                  the store's chain and its digest
 *   chain-head I HEX | chain-head none   the newest seal in the chain at export time
 *   chunks N
 *   chunk ID SEG OFF LEN HEX|- I|- N lines, by chunk id: a source chunk (one the export read),
 *                                  where it was stored, its chunk digest (metadata section
 *                                  10: a SHA-256 of its data frame, of the kind its section
 *                                  19 names, schema/chunk_digest.c; - for a chunk older than
 *                                  digests) and the seal of its segment
 *                                  (- when its segment was not sealed yet)
 *   signature HEX                  Ed25519 (128 hex digits) of every byte before this line
 *
 * What verifies what (ecap-verify --export): the file's length, digest and counts against
 * the proof (an altered byte, a packet removed, a DSB added all change them); the signature
 * with the store's key (or a trusted copy); with the store at hand, each source chunk still
 * there is read again, its digest compared and every EPB of the file looked up among their
 * packets, and the seals named must be in the chain with those digests. ecap-export takes the
 * length, digest and counts from its writer, over the bytes it wrote (check_written says why
 * that, and not a read-back of the file).
 */
#include "proof.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"
#include "le.h"
#include "segment.h"

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 1u
#define BT_EPB 6u
#define BT_DSB 10u
#define MAX_IFACES 4096

/* ---- building ---------------------------------------------------------------------- */

int proof_begin(struct proof *p, int store_dirfd, char *why, size_t whylen)
{
	memset(p, 0, sizeof(*p));
	/* the directory the export reads, checked when it was opened: not the path walked and
	 * checked again, which costs two dozen system calls and could meanwhile lead elsewhere */
	p->dirfd = fcntl(store_dirfd, F_DUPFD_CLOEXEC, 3);
	if (p->dirfd < 0) {
		int e = errno;
		snprintf(why, whylen, "the store's directory: %s", strerror(e));
		return -e;
	}
	int err = store_key_load_private(p->dirfd, &p->key, why, whylen);
	if (err)
		return err;
	if (seal_chain_read(p->dirfd, &p->chain) && p->chain.n == 0)
		memset(&p->chain, 0, sizeof(p->chain));
	seal_fill_host(&p->host);
	return 0;
}

void proof_free(struct proof *p)
{
	store_key_free(&p->key);
	seal_chain_free(&p->chain);
	free(p->v);
	if (p->dirfd > 0)
		close(p->dirfd);
	memset(p, 0, sizeof(*p));
}

static uint64_t seal_of(const struct proof *p, uint32_t segment)
{
	for (size_t i = p->chain.n; i-- > 0;)
		if (p->chain.v[i].segment == segment)
			return i;
	return PROOF_NONE;
}

static void add_version(struct proof *p, const char *v)
{
	size_t vl = strlen(v);
	for (const char *s = p->versions; *s;) {
		size_t l = strcspn(s, ",");
		if (l == vl && !strncmp(s, v, l))
			return;
		s += l + (s[l] == ',');
	}
	size_t at = strlen(p->versions);
	if (at + vl + 2 < sizeof(p->versions))
		snprintf(p->versions + at, sizeof(p->versions) - at, "%s%s", at ? "," : "", v);
}

/* The segment file being read, kept open from chunk to chunk. */
struct seg_file {
	int fd;
	uint32_t seg;
	uint64_t size;     /* when last looked at: looked at again when a chunk ends past it */
};

/* The digest and version of c's metadata into c, checked: of a chunk with a read plan, its
 * integrity section alone. */
static int read_digest(struct seg_file *f, struct proof_chunk *c, struct chunk_meta *m,
		       struct buf *frames)
{
	static const struct chunkmeta_want digest = { .digest_only = true };
	const char *why;
	long r = segment_read_plan(f->fd, c->offset, f->size, c->length, &digest, m, frames,
				   &why);
	if (r < 0)
		return (int)r;
	c->has_digest = m->has_digest;
	memcpy(c->digest, m->digest, SHA256_LEN);
	snprintf(c->version, sizeof(c->version), "%s", m->has_digest ? m->version : "");
	c->state = PROOF_CONFIRMED;
	return 0;
}

/* Bytes read at a chunk's start for the digest its metadata claims: the frame's header and
 * the first bytes of its body, which start with the integrity section in a chunk with a
 * read plan. */
#define PEEK_BYTES 1024

/* Open c's segment (kept open in f across chunks of the same segment). */
static int seg_open(struct proof *p, const struct proof_chunk *c, struct seg_file *f)
{
	char name[SEGMENT_NAME_MAX];
	struct stat st;
	if (f->fd < 0 || f->seg != c->segment) {
		if (f->fd >= 0)
			close(f->fd);
		segment_name(c->segment, name);
		f->fd = openat(p->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		f->seg = c->segment;
		f->size = 0;
		if (f->fd < 0)
			return -errno;
	}
	if (c->offset + c->length > f->size) {
		if (fstat(f->fd, &st))
			return -errno;
		f->size = (uint64_t)st.st_size;
	}
	return 0;
}

/*
 * The digest and version of a chunk not read yet, for the SHB: what the first PEEK_BYTES of
 * its metadata claim (one small read; the export's read of the chunk, which checks the whole
 * frame, confirms it), else a checked read.
 */
static int read_chunk(struct proof *p, struct proof_chunk *c, struct seg_file *f,
		      struct chunk_meta *m, struct buf *frames)
{
	uint8_t head[PEEK_BYTES];
	const char *why;
	int err = seg_open(p, c, f);
	if (err)
		return err;
	size_t want = c->length < sizeof(head) ? c->length : sizeof(head);
	ssize_t got = c->offset < f->size ? pread(f->fd, head, want, (off_t)c->offset) : 0;
	long r = got == (ssize_t)want ? chunkmeta_peek_digest(head, want, m, &why) : -ENOENT;
	if (r > 0 && m->id == c->id) {
		c->has_digest = true;
		memcpy(c->digest, m->digest, SHA256_LEN);
		snprintf(c->version, sizeof(c->version), "%s", m->version);
		c->state = PROOF_PEEKED;
		return 0;
	}
	return read_digest(f, c, m, frames);
}

static size_t find_id(const struct proof *p, uint64_t id)
{
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int proof_add_chunks(struct proof *p, const struct chunk_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t at = find_id(p, refs[i].id);
		if (at < p->n && p->v[at].id == refs[i].id)
			continue;
		if (!chunkmeta_grow((void **)&p->v, &p->n, &p->cap, sizeof(*p->v)))
			return -ENOMEM;
		memmove(p->v + at + 1, p->v + at, (p->n - 1 - at) * sizeof(*p->v));
		p->v[at] = (struct proof_chunk){ .id = refs[i].id, .segment = refs[i].segment,
						 .offset = refs[i].offset, .length = refs[i].length,
						 .seal = seal_of(p, refs[i].segment),
						 .state = PROOF_UNREAD };
	}
	return 0;
}

/* c's digest and version from m, a checked read of its metadata; a peeked entry must agree. */
static int confirm(struct proof_chunk *c, const struct chunk_meta *m)
{
	if (c->state == PROOF_UNREAD) {
		c->has_digest = m->has_digest;
		memcpy(c->digest, m->digest, SHA256_LEN);
		snprintf(c->version, sizeof(c->version), "%s", m->has_digest ? m->version : "");
		c->state = PROOF_CONFIRMED;
		return 0;
	}
	if (m->id != c->id || !m->has_digest || memcmp(c->digest, m->digest, SHA256_LEN) ||
	    strcmp(c->version, m->version))
		return -EBADMSG;
	c->state = PROOF_CONFIRMED;
	return 0;
}

int proof_confirm(struct proof *p, const struct chunk_meta *m)
{
	size_t at = find_id(p, m->id);
	if (at == p->n || p->v[at].id != m->id || p->v[at].state == PROOF_CONFIRMED)
		return 0;
	return confirm(&p->v[at], m);
}

/* What a walk reading chunks' metadata keeps from chunk to chunk. */
struct meta_reader {
	struct chunk_meta m;
	struct buf frames;
	struct seg_file f;
};

static void meta_reader_free(struct meta_reader *r)
{
	if (r->f.fd >= 0)
		close(r->f.fd);
	chunkmeta_free(&r->m);
	buf_free(&r->frames);
}

/* The chunks still unread, peeked at (read_chunk); *bad_id: the one that failed. */
static int peek_unread(struct proof *p, uint64_t *bad_id)
{
	struct meta_reader r = { .f.fd = -1 };
	int err = 0;
	for (size_t i = 0; i < p->n && !err; i++) {
		*bad_id = p->v[i].id;
		if (p->v[i].state == PROOF_UNREAD)
			err = read_chunk(p, &p->v[i], &r.f, &r.m, &r.frames);
	}
	meta_reader_free(&r);
	return err;
}

/* The recorder versions of the chunks (all read or peeked at), in chunk order. */
static void collect_versions(struct proof *p)
{
	p->versions[0] = 0;
	for (size_t i = 0; i < p->n; i++)
		add_version(p, p->v[i].has_digest ? p->v[i].version : "ecap before seals");
}

/* The chunks no read confirmed (the export stopped before them, or read none of them), read
 * and checked now. */
static int confirm_rest(struct proof *p, uint64_t *bad_id)
{
	struct meta_reader r = { .f.fd = -1 };
	int err = 0;
	for (size_t i = 0; i < p->n && !err; i++) {
		struct proof_chunk *c = &p->v[i], was = *c;
		if (c->state == PROOF_CONFIRMED)
			continue;
		*bad_id = c->id;
		if (!(err = seg_open(p, c, &r.f)) &&
		    !(err = read_digest(&r.f, c, &r.m, &r.frames)) && was.state == PROOF_PEEKED)
			err = confirm(&was, &r.m);
	}
	meta_reader_free(&r);
	return err;
}

/* The newest seal covering a source chunk; *open: a source chunk's segment is unsealed. */
static uint64_t covering_seal(const struct proof *p, uint32_t *open_seg)
{
	uint64_t best = PROOF_NONE;
	*open_seg = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (p->v[i].seal == PROOF_NONE)
			*open_seg = p->v[i].segment;
		else if (best == PROOF_NONE || p->v[i].seal > best)
			best = p->v[i].seal;
	}
	return best;
}

int proof_shb_lines(struct proof *p, char *out, size_t cap)
{
	char fp[STORE_KEY_FP_TEXT], d[2 * SHA256_LEN + 1] = "", seal[320];
	uint32_t open_seg;
	uint64_t bad_id;
	int err = peek_unread(p, &bad_id);
	if (err)
		return err;
	collect_versions(p);
	uint64_t k = covering_seal(p, &open_seg);
	store_key_fp_text(p->key.fp, fp);
	if (k != PROOF_NONE) {
		*hex_encode(p->chain.v[k].self, SHA256_LEN, d) = 0;
		snprintf(seal, sizeof(seal), "%" PRIu64 " of the store's chain (segment %u, "
			 "SHA-256 %s)", k, p->chain.v[k].segment, d);
	} else {
		snprintf(seal, sizeof(seal), "none yet");
	}
	if (open_seg) {
		size_t l = strlen(seal);
		snprintf(seal + l, sizeof(seal) - l, "; segment %u was not sealed at export time",
			 open_seg);
	}
	snprintf(out, cap, "Host: %s\nMachine-ID: %s\nRecorded by: %s\nStore key: %s\nSeal: %s\n"
		 "Proof: signed list of source chunks in the file's name + \"%s\" (ecap-verify "
		 "--export)", p->host.host, p->host.machine_id,
		 *p->versions ? p->versions : "no packets", fp, seal, PROOF_SUFFIX);
	return 0;
}

/* Room reserved before a line is formatted: a chunk line is under 160 bytes. */
#define PROOF_LINE_ROOM 256

static void put_line(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_line(struct buf *b, const char *fmt, ...)
{
	/* formatted once into the room there is (a line is rarely longer), again when not */
	va_list ap;
	if (buf_reserve(b, PROOF_LINE_ROOM))
		return;
	va_start(ap, fmt);
	int n = vsnprintf((char *)b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n + 2 > b->cap - b->len) {
		if (buf_reserve(b, (size_t)n + 2))
			return;
		va_start(ap, fmt);
		vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	for (int i = 0; i < n; i++)
		if (b->data[b->len + i] == '\n')
			b->data[b->len + i] = '?';
	b->len += (size_t)n;
	b->data[b->len++] = '\n';
}

static const char *hex32(const uint8_t *d, char out[65])
{
	*hex_encode(d, 32, out) = 0;
	return out;
}

static void put_seal_line(struct buf *b, const char *key, const struct proof *p, uint64_t i)
{
	char h[65];
	if (i == PROOF_NONE)
		put_line(b, "%s none", key);
	else
		put_line(b, "%s %" PRIu64 " %s", key, i, hex32(p->chain.v[i].self, h));
}

/*
 * Why no read-back of the file: the bytes reach it through one writer, ecap-export's, which
 * hashes and counts exactly what it hands to write(2) (writer_written); the file is a regular
 * file it created and truncated, and no other code writes to its descriptor. Reading the
 * file back by its path could add nothing the digest of the written bytes lacks: it read the
 * page cache (the same bytes, not the disk's), and it signed whatever the path named by
 * then, a file another process might have put there. What could change the file besides
 * the writer is another process writing to it: appending or truncating changes its size,
 * checked here on the descriptor written through; bytes changed in place are what
 * ecap-verify finds (the digest differs), never signed as ecap-export's.
 */
static int check_written(const char *export_path, const struct stat *st,
			 const struct proof_file *written, char *why, size_t whylen)
{
	struct stat now;
	if (!st || !S_ISREG(st->st_mode)) {
		snprintf(why, whylen, "%s: not a regular file", export_path);
		return -EINVAL;
	}
	if ((uint64_t)st->st_size != written->bytes) {
		snprintf(why, whylen, "%s: %llu bytes, where ecap-export wrote %" PRIu64 ": another "
			 "process wrote to it meanwhile", export_path,
			 (unsigned long long)st->st_size, written->bytes);
		return -EBADMSG;
	}
	if (stat(export_path, &now) || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
		snprintf(why, whylen, "%s: no longer the file ecap-export wrote (removed or "
			 "replaced meanwhile)", export_path);
		return -ESTALE;
	}
	return 0;
}

int proof_write(struct proof *p, const char *export_path, const struct stat *st,
		const struct proof_file *written, char *why, size_t whylen)
{
	struct buf b = { 0 };
	char h[65], fp[STORE_KEY_FP_TEXT], path[4096], tmp[4200];
	uint32_t open_seg;
	int fd, err = check_written(export_path, st, written, why, whylen);
	if (err)
		return err;
	p->file = *written;
	uint64_t bad_id = 0;
	if ((err = confirm_rest(p, &bad_id))) {
		snprintf(why, whylen, "chunk %" PRIu64 ": %s", bad_id,
			 err == -EBADMSG ? "its metadata changed while it was exported" :
					   strerror(-err));
		return err;
	}
	collect_versions(p);
	const char *base = strrchr(export_path, '/');
	store_key_fp_text(p->key.fp, fp);
	put_line(&b, "ecap-proof 1");
	put_line(&b, "file %s", base ? base + 1 : export_path);
	put_line(&b, "bytes %" PRIu64, p->file.bytes);
	put_line(&b, "sha256 %s", hex32(p->file.sha256, h));
	put_line(&b, "packets %" PRIu64, p->file.packets);
	put_line(&b, "dsbs %" PRIu64, p->file.dsbs);
	put_line(&b, "exported %" PRIu64, p->host.sealed_ns);
	put_line(&b, "host %s", p->host.host);
	put_line(&b, "machine-id %s", p->host.machine_id);
	put_line(&b, "store-key %s", fp);
	put_line(&b, "recorders %s", *p->versions ? p->versions : "-");
	put_seal_line(&b, "seal", p, covering_seal(p, &open_seg));
	put_seal_line(&b, "chain-head", p, p->chain.n ? p->chain.n - 1 : PROOF_NONE);
	put_line(&b, "chunks %zu", p->n);
	for (size_t i = 0; i < p->n; i++) {
		const struct proof_chunk *c = &p->v[i];
		char s[24];
		snprintf(s, sizeof(s), "%" PRIu64, c->seal);
		put_line(&b, "chunk %" PRIu64 " %u %" PRIu64 " %u %s %s", c->id, c->segment,
			 c->offset, c->length, c->has_digest ? hex32(c->digest, h) : "-",
			 c->seal == PROOF_NONE ? "-" : s);
	}
	uint8_t sig[STORE_KEY_SIG_LEN];
	char sighex[2 * STORE_KEY_SIG_LEN + 1];
	if ((err = store_key_sign(&p->key, b.data, b.len, sig))) {
		snprintf(why, whylen, "signing the proof failed");
		goto out;
	}
	*hex_encode(sig, sizeof(sig), sighex) = 0;
	put_line(&b, "signature %s", sighex);
	snprintf(path, sizeof(path), "%s%s", export_path, PROOF_SUFFIX);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len || fsync(fd) ||
	    rename(tmp, path)) {
		err = -errno;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		unlink(tmp);
	}
	if (fd >= 0)
		close(fd);
out:
	buf_free(&b);
	return err;
}

/* ---- reading ----------------------------------------------------------------------- */

uint64_t proof_packet_hash(uint64_t ts_ns, uint32_t caplen, uint32_t origlen,
			   const uint8_t *data)
{
	struct sha256 h = { 0 };
	uint8_t hdr[16], d[SHA256_LEN];
	le64_store(hdr, ts_ns);
	le32_store(hdr + 8, caplen);
	le32_store(hdr + 12, origlen);
	if (sha256_init(&h))
		return 0;
	sha256_update(&h, hdr, sizeof(hdr));
	sha256_update(&h, data, caplen);
	sha256_final(&h, d);
	sha256_free(&h);
	return le64_load(d);
}

#define SCAN_BAD(msg)            \
	do {                     \
		*why = (msg);    \
		err = -EBADMSG;  \
		goto out;        \
	} while (0)

/* The if_tsresol option (code 9) of an IDB's options, as nanoseconds per unit; 0 when the
 * resolution is not a power of ten ecap can convert. */
static uint64_t idb_ns_per_unit(const uint8_t *opt, const uint8_t *end)
{
	uint8_t r = 6;
	while (end - opt >= 4) {
		uint16_t code = le16_load(opt), len = le16_load(opt + 2);
		if (code == 0 || (size_t)(end - opt - 4) < len)
			break;
		if (code == 9 && len >= 1)
			r = opt[4];
		opt += 4 + ((len + 3u) & ~3u);
	}
	if (r & 0x80 || r > 9)
		return 0;
	uint64_t n = 1;
	for (int i = r; i < 9; i++)
		n *= 10;
	return n;
}

int proof_scan_file(int fd, struct proof_file *f,
		    int (*on_epb)(uint64_t ts_ns, uint32_t caplen, uint32_t origlen,
				  const uint8_t *data, uint64_t off, void *ctx),
		    void *ctx, const char **why, uint64_t *bad_off)
{
	struct stat st;
	uint64_t ns_unit[MAX_IFACES];
	size_t n_if = 0;
	int err = 0;
	memset(f, 0, sizeof(*f));
	*why = NULL;
	*bad_off = 0;
	if (fstat(fd, &st))
		return -errno;
	f->bytes = (uint64_t)st.st_size;
	if (f->bytes < 28) {
		*why = "shorter than a section header block";
		return -EBADMSG;
	}
	const uint8_t *m = mmap(NULL, f->bytes, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	if ((err = sha256_once(m, f->bytes, f->sha256)))
		goto out;
	for (uint64_t off = 0; off < f->bytes; off += le32_load(m + off + 4)) {
		*bad_off = off;
		if (f->bytes - off < 12)
			SCAN_BAD("bytes after the last block");
		uint32_t type = le32_load(m + off), len = le32_load(m + off + 4);
		if (len < 12 || len % 4 || len > f->bytes - off)
			SCAN_BAD("a block's length is not valid");
		if (le32_load(m + off + len - 4) != len)
			SCAN_BAD("a block's trailing length differs from its leading one");
		const uint8_t *b = m + off;
		f->blocks++;
		if (off == 0 && (type != BT_SHB || len < 28 || le32_load(b + 8) != 0x1A2B3C4Du))
			SCAN_BAD("not a little-endian PCAP-NG section (ecap writes those)");
		if (type == BT_SHB) {
			n_if = 0;
		} else if (type == BT_IDB) {
			if (len < 20 || n_if == MAX_IFACES)
				SCAN_BAD("an interface block is too short, or one too many");
			ns_unit[n_if++] = idb_ns_per_unit(b + 16, b + len - 4);
		} else if (type == BT_DSB) {
			f->dsbs++;
		} else if (type == BT_EPB) {
			if (len < 32)
				SCAN_BAD("a packet block is too short");
			uint32_t ifid = le32_load(b + 8), cap = le32_load(b + 20);
			if (ifid >= n_if || !ns_unit[ifid])
				SCAN_BAD("a packet names an interface with no usable block");
			if (cap > len - 32)
				SCAN_BAD("a packet's captured length overruns its block");
			uint64_t ts = ((uint64_t)le32_load(b + 12) << 32 | le32_load(b + 16)) *
				      ns_unit[ifid];
			f->packets++;
			if (on_epb && (err = on_epb(ts, cap, le32_load(b + 24), b + 28, off, ctx)))
				goto out;
		}
	}
out:
	munmap((void *)m, f->bytes);
	return err;
}

/* The next line of the proof (without '\n'): its start and length; -1 at the end. */
static int next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *ll)
{
	if (*pos >= len)
		return -1;
	const char *s = text + *pos, *nl = memchr(s, '\n', len - *pos);
	if (!nl)
		return -1;
	*line = s;
	*ll = (size_t)(nl - s);
	*pos += *ll + 1;
	return 0;
}

static int parse_hex32(const char *s, uint8_t out[32])
{
	return strlen(s) == 64 && !hex_decode(s, 64, out) ? 0 : -1;
}

/* "seal I HEX" or "seal none" */
static int parse_seal(const char *v, uint64_t *i, uint8_t d[32])
{
	char h[80];
	unsigned long long x;
	if (!strcmp(v, "none")) {
		*i = PROOF_NONE;
		return 0;
	}
	if (sscanf(v, "%llu %79s", &x, h) != 2 || parse_hex32(h, d))
		return -1;
	*i = x;
	return 0;
}

static int parse_chunk(const char *v, struct proof_chunk *c)
{
	char d[80], s[32];
	unsigned long long id, off, seal;
	unsigned seg, len;
	int n = 0;
	if (sscanf(v, "%llu %u %llu %u %79s %31s%n", &id, &seg, &off, &len, d, s, &n) != 6 ||
	    v[n])
		return -1;
	*c = (struct proof_chunk){ .id = id, .segment = seg, .offset = off, .length = len,
				   .seal = PROOF_NONE };
	if (strcmp(d, "-")) {
		if (parse_hex32(d, c->digest))
			return -1;
		c->has_digest = true;
	}
	if (strcmp(s, "-")) {
		if (sscanf(s, "%llu", &seal) != 1)
			return -1;
		c->seal = seal;
	}
	return 0;
}

int proof_parse(struct proof *p, const char *text, size_t len, char *why, size_t whylen)
{
	static const char *const keys[] = { "ecap-proof", "file", "bytes", "sha256", "packets",
					     "dsbs", "exported", "host", "machine-id", "store-key",
					     "recorders", "seal", "chain-head", "chunks" };
	size_t pos = 0, ll, lineno = 0;
	const char *line;
	char v[4096];
	unsigned long long x = 0, n_chunks = 0;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]) + 2; k++) {
		size_t start = pos;
		if (k == 14 && n_chunks == 0)
			continue; /* no chunk lines */
		if (next_line(text, len, &pos, &line, &ll))
			goto bad;
		lineno++;
		const char *key = k < 14 ? keys[k] : k == 14 ? "chunk" : "signature";
		size_t kl = strlen(key);
		if (ll <= kl + 1 || ll - kl - 1 >= sizeof(v) || strncmp(line, key, kl) ||
		    line[kl] != ' ')
			goto bad;
		memcpy(v, line + kl + 1, ll - kl - 1);
		v[ll - kl - 1] = 0;
		int bad = 0;
		switch (k) {
		case 0: bad = strcmp(v, "1"); break;
		case 2: bad = sscanf(v, "%llu", &x) != 1; p->file.bytes = x; break;
		case 3: bad = parse_hex32(v, p->file.sha256); break;
		case 4: bad = sscanf(v, "%llu", &x) != 1; p->file.packets = x; break;
		case 5: bad = sscanf(v, "%llu", &x) != 1; p->file.dsbs = x; break;
		case 6: bad = sscanf(v, "%llu", &x) != 1; p->exported_ns = x; break;
		case 7: snprintf(p->host_name, sizeof(p->host_name), "%s", v); break;
		case 8: snprintf(p->machine_id, sizeof(p->machine_id), "%s", v); break;
		case 9: bad = strncmp(v, "SHA256:", 7) || parse_hex32(v + 7, p->key_fp); break;
		case 10: snprintf(p->versions, sizeof(p->versions), "%s", v); break;
		case 11: bad = parse_seal(v, &p->seal_index, p->seal_digest); break;
		case 12: bad = parse_seal(v, &p->head_index, p->head_digest); break;
		case 13: bad = sscanf(v, "%llu", &n_chunks) != 1 || n_chunks > (1u << 30); break;
		case 14:
			for (unsigned long long i = 0; i < n_chunks && !bad; i++) {
				if (i && (next_line(text, len, &pos, &line, &ll) || ll <= 6 ||
					  ll - 6 >= sizeof(v) || strncmp(line, "chunk ", 6)))
					goto bad;
				if (i) {
					lineno++;
					memcpy(v, line + 6, ll - 6);
					v[ll - 6] = 0;
				}
				struct proof_chunk *c = chunkmeta_grow((void **)&p->v, &p->n, &p->cap,
								       sizeof(*c));
				if (!c)
					return -ENOMEM;
				bad = parse_chunk(v, c);
			}
			break;
		case 15:
			p->signed_len = start;
			bad = strlen(v) != 2 * STORE_KEY_SIG_LEN ||
			      hex_decode(v, 2 * STORE_KEY_SIG_LEN, p->sig);
			break;
		}
		if (bad)
			goto bad;
	}
	if (pos != len) {
		lineno++;
		goto bad;
	}
	return 0;
bad:
	snprintf(why, whylen, "line %zu does not parse as the proof format says", lineno);
	return -EBADMSG;
}
