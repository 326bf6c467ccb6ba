// SPDX-License-Identifier: GPL-2.0-only
/*
 * seal.c - segment digests, seal records and the chain file.
 *
 * FORMAT (all integers little-endian)
 *
 * Chunk digest: a SHA-256 of a chunk's data frame as stored, kept in its metadata (section
 * 10, chunkmeta.c; of the kind section 19 names, chunk_digest.c: over each data block's
 * SHA-256 in chunks since it, of the frame in one stream before). Chunk link: SHA-256(meta frame bytes || chunk digest); the meta
 * frame carries the digest too (in chunks written since seals came in) and its CRC-32C.
 *
 * Segment digest: SHA-256 of
 *     "ECAPSEG1", u32 segment id,
 *     for each element of the file in order:
 *        a chunk:  u8 1, its link (32)
 *        a gap:    u8 2, u64 length, SHA-256 of its bytes (bytes that are no valid chunk:
 *                  damage that recovery skipped before the segment was sealed)
 *        padding:  u8 3, u64 length (a padding frame after a chunk, chunkmeta.c; its bytes
 *                  are its magic, its length and zeros, all fixed by where it starts, so
 *                  a walker accepts it only when every byte is so: any other byte there
 *                  makes it a gap, whose element differs, and the digest with it)
 *     u64 the file's length.
 * The writer computes it as it writes (one pass over the data frame's blocks, for the chunk
 * digest; the link hashes the small meta frame); a verifier walks the file and gets the same value
 * when no byte changed. Any change to a byte, a chunk moved, dropped or added, a segment
 * renamed into another's place, changes it.
 *
 * Chain file STORE/chain.ecap: a 64-byte header, then seal records back to back, appended
 * only, never rewritten; retention deletes segments, never seals.
 *   header:  0 "ECAPCHN1"   8 u16 version (1)  10 u16 header length (64)  12 u32 0
 *           16 32 fingerprint of the store key   48 u64 created (CLOCK_REALTIME ns)
 *           56 u32 0   60 u32 CRC-32C of bytes 0..59
 *   record:  0 u32 magic "ESL1" (0x314C5345)     4 u32 length (whole record, <= 4096)
 *            8 u16 version (1)  10 u16 flags (1: sealed late, when a writer opened the store)
 *           12 u32 segment id   16 u64 index (0, 1, 2 ...: position in the chain)
 *           24 u64 segment length   32 u64 first chunk id   40 u64 last chunk id
 *           48 u32 chunks   52 u32 0   56 u64 first_ns   64 u64 last_ns (packet times)
 *           72 u64 sealed at (CLOCK_REALTIME ns)
 *           80 32 segment digest   112 32 previous record's digest (zeros at index 0)
 *          144 32 fingerprint of the store key
 *          176 i32 adjtimex() state (0 TIME_OK .. 5 TIME_ERROR: clock not synchronised)
 *          180 u32 adjtimex status bits   184 i64 maxerror (us)   192 i64 esterror (us)
 *          200 four strings, each u16 length then bytes: hostname, /etc/machine-id,
 *              boot id (/proc/sys/kernel/random/boot_id), recorder version
 *          then 64 bytes: the Ed25519 signature of every byte before it.
 * A record's digest is the SHA-256 of all its bytes, signature included.
 *
 * Valid chain: the header's CRC holds and names the store key; record i has index i, links
 * to record i-1's digest, names the store key and carries its signature; segments follow in
 * increasing id and chunk ids. A record cut short by the end of the file is a torn tail (a
 * crash while sealing: the writer cuts it at its next open, and seals that segment again);
 * anything else that does not decode is damage.
 */
#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include "chunk_digest.h"
#include "crc32c.h"
#include "ecap_config.h"
#include "le.h"
#include "segment.h"
#include "sha256_x2.h"

#define RECORD_MAGIC 0x314C5345u
#define SEAL_VERSION 1

/* ---- digests ------------------------------------------------------------------------- */

/* A metadata frame up to this long is linked in one piece (seal_chunk_link). */
#define LINK_ONE_SHOT (8u * 1024)

int seal_chunk_link(const uint8_t *meta_frame, size_t meta_len, const uint8_t data_digest[32],
		    uint8_t link[SHA256_LEN])
{
	if (meta_len <= LINK_ONE_SHOT) {
		/* the frame and the digest side by side, hashed at once by sha256_x1: no hash
		 * context made and freed for each chunk a writer closes */
		uint8_t msg[LINK_ONE_SHOT + SHA256_LEN];
		memcpy(msg, meta_frame, meta_len);
		memcpy(msg + meta_len, data_digest, SHA256_LEN);
		return sha256_x1(msg, meta_len + SHA256_LEN, link);
	}
	struct sha256 h = { 0 };
	int err = sha256_init(&h);
	if (!err) {
		sha256_update(&h, meta_frame, meta_len);
		sha256_update(&h, data_digest, SHA256_LEN);
		sha256_final(&h, link);
	}
	sha256_free(&h);
	return err;
}

int seal_acc_begin(struct seal_acc *a, uint32_t segment)
{
	struct sha256 h = a->h;
	memset(a, 0, sizeof(*a));
	a->h = h;
	a->segment = segment;
	int err = sha256_init(&a->h);
	if (err)
		return err;
	uint8_t hdr[12];
	memcpy(hdr, "ECAPSEG1", 8);
	le32_store(hdr + 8, segment);
	sha256_update(&a->h, hdr, sizeof(hdr));
	return 0;
}

void seal_acc_chunk(struct seal_acc *a, const struct chunk_meta *m, uint64_t length,
		    const uint8_t link[SHA256_LEN])
{
	uint8_t tag = 1;
	sha256_update(&a->h, &tag, 1);
	sha256_update(&a->h, link, SHA256_LEN);
	if (!a->chunks || m->id < a->first_chunk)
		a->first_chunk = m->id;
	if (m->id > a->last_chunk)
		a->last_chunk = m->id;
	if (m->packets && (!a->first_ns || m->first_ns < a->first_ns))
		a->first_ns = m->first_ns;
	if (m->last_ns > a->last_ns)
		a->last_ns = m->last_ns;
	a->chunks++;
	a->len += length;
}

void seal_acc_pad(struct seal_acc *a, uint64_t length)
{
	uint8_t el[9];
	el[0] = 3;
	le64_store(el + 1, length);
	sha256_update(&a->h, el, sizeof(el));
	a->len += length;
}

int seal_acc_digest(const struct seal_acc *a, uint8_t out[SHA256_LEN])
{
	struct sha256 c = { 0 };
	int err = sha256_copy(&c, &a->h);
	if (!err) {
		uint8_t len[8];
		le64_store(len, a->len);
		sha256_update(&c, len, 8);
		sha256_final(&c, out);
	}
	sha256_free(&c);
	return err;
}

void seal_acc_free(struct seal_acc *a)
{
	sha256_free(&a->h);
}

static int pread_all(int fd, uint8_t *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ENODATA;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Bytes [off, end) of fd that are no chunk: element 2. */
static int acc_gap(struct seal_acc *a, int fd, uint64_t off, uint64_t end)
{
	uint8_t buf[65536], d[SHA256_LEN], hdr[9];
	struct sha256 g = { 0 };
	int err = sha256_init(&g);
	for (uint64_t o = off; !err && o < end;) {
		size_t n = end - o < sizeof(buf) ? (size_t)(end - o) : sizeof(buf);
		if (!(err = pread_all(fd, buf, n, o)))
			sha256_update(&g, buf, n);
		o += n;
	}
	if (!err) {
		sha256_final(&g, d);
		hdr[0] = 2;
		le64_store(hdr + 1, end - off);
		sha256_update(&a->h, hdr, 9);
		sha256_update(&a->h, d, SHA256_LEN);
		a->len += end - off;
	}
	sha256_free(&g);
	return err;
}

static void walk_bad(struct seal_walk *w, uint64_t off, const char *why)
{
	if (w && w->first_bad_off == UINT64_MAX) {
		w->first_bad_off = off;
		w->first_bad_why = why;
	}
}

/* A chunk whose digest differs (or cannot be made: why), named with its id and, when a
 * block's CRC-32C shows it, the data block. */
static void walk_mismatch(struct seal_walk *w, uint64_t off, const struct chunk_meta *m,
			  const uint8_t *data, const char *why)
{
	if (w->first_bad_off != UINT64_MAX)
		return;
	struct chunk_digest_where at;
	if (why) {
		snprintf(w->first_bad_text, sizeof(w->first_bad_text), "chunk %llu: the data "
			 "frame's SHA-256 cannot be checked: %s", (unsigned long long)m->id, why);
	} else {
		chunk_digest_where(m, data, m->data_len, &at);
		if (at.block == SIZE_MAX)
			snprintf(w->first_bad_text, sizeof(w->first_bad_text), "chunk %llu: the "
				 "data frame's SHA-256 differs from the one in its chunk metadata",
				 (unsigned long long)m->id);
		else
			snprintf(w->first_bad_text, sizeof(w->first_bad_text), "chunk %llu: the "
				 "data frame's SHA-256 differs from the one in its chunk metadata: "
				 "data block %zu of %zu (data frame bytes %u..%u): %s",
				 (unsigned long long)m->id, at.block + 1, m->n_blocks,
				 m->blocks[at.block].data_off,
				 m->blocks[at.block].data_off + m->blocks[at.block].data_len,
				 at.why);
	}
	walk_bad(w, off, w->first_bad_text);
}

static void walk_version(struct seal_walk *w, const char *v)
{
	for (size_t i = 0; i < w->n_versions; i++)
		if (!strcmp(w->versions[i], v))
			return;
	if (w->n_versions < 4)
		snprintf(w->versions[w->n_versions++], CHUNKMETA_VERSION_MAX, "%s", v);
}

int seal_acc_file(struct seal_acc *a, int fd, uint64_t from, uint64_t to, struct seal_walk *w)
{
	struct chunk_meta m = { 0 };
	struct buf frames = { 0 };
	int err = 0;
	if (w) {
		memset(w, 0, sizeof(*w));
		w->first_bad_off = w->tail_gap_off = UINT64_MAX;
	}
	for (uint64_t off = from; off < to && !err;) {
		const char *why = NULL;
		long r = segment_read_pad(fd, off, to, &why);
		if (r > 0) {
			seal_acc_pad(a, (uint64_t)r);
			if (w)
				w->pads++;
			off += (uint64_t)r;
			continue;
		}
		if (r == 0)
			r = segment_read_chunk(fd, off, to, &m, &frames, &why);
		if (r > 0) {
			uint8_t d[SHA256_LEN], link[SHA256_LEN];
			size_t mlen = frames.len - m.data_len;
			const uint8_t *data = frames.data + mlen;
			const char *cwhy = NULL;
			int derr = chunk_digest_frame(&m, data, m.data_len, d, &cwhy);
			if (derr == -EBADMSG) /* a digest it cannot make: the seal cannot match */
				derr = sha256_once(data, m.data_len, d);
			if ((err = derr) || (err = seal_chunk_link(frames.data, mlen, d, link)))
				break;
			seal_acc_chunk(a, &m, (uint64_t)r, link);
			if (w) {
				w->chunks++;
				if (!m.has_digest) {
					w->no_digest++;
				} else if (cwhy || memcmp(d, m.digest, SHA256_LEN)) {
					w->digest_mismatches++;
					walk_mismatch(w, off, &m, data, cwhy);
				}
				walk_version(w, m.has_digest ? m.version : "ecap before 0.1 seals");
			}
			off += (uint64_t)r;
			continue;
		}
		if (r != -ENODATA && r != -EBADMSG) {
			err = (int)r;
			break;
		}
		uint64_t next = r == -EBADMSG ? segment_resync(fd, off + 1, to) : to;
		if (w) {
			w->gaps++;
			if (next == to)
				w->tail_gap_off = off;
			walk_bad(w, off, r == -ENODATA ? "a chunk is cut short by the end of the "
				 "segment" : why ? why : "bytes that are no valid chunk");
		}
		err = acc_gap(a, fd, off, next);
		off = next;
	}
	chunkmeta_free(&m);
	buf_free(&frames);
	return err;
}

/* ---- seal records ------------------------------------------------------------------ */

static void read_line_file(const char *path, char *out, size_t cap)
{
	out[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, cap - 1);
	close(fd);
	out[n > 0 ? n : 0] = 0;
	out[strcspn(out, "\n")] = 0;
}

void seal_fill_host(struct seal *s)
{
	if (gethostname(s->host, sizeof(s->host) - 1))
		s->host[0] = 0;
	s->host[sizeof(s->host) - 1] = 0;
	read_line_file("/etc/machine-id", s->machine_id, sizeof(s->machine_id));
	read_line_file("/proc/sys/kernel/random/boot_id", s->boot_id, sizeof(s->boot_id));
	snprintf(s->version, sizeof(s->version), "ecap %s", ECAP_VERSION);
	struct timex tx = { .modes = 0 };
	s->clock_state = adjtimex(&tx);
	s->clock_status = (uint32_t)tx.status;
	s->clock_maxerror_us = tx.maxerror;
	s->clock_esterror_us = tx.esterror;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	s->sealed_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint8_t *put_str(uint8_t *p, const char *str)
{
	size_t n = strlen(str);
	le16_store(p, (uint16_t)n);
	memcpy(p + 2, str, n);
	return p + 2 + n;
}

int seal_encode(struct seal *s, const struct store_key *k, struct buf *out)
{
	const char *strs[4] = { s->host, s->machine_id, s->boot_id, s->version };
	size_t len = SEAL_FIXED_LEN + STORE_KEY_SIG_LEN;
	for (size_t i = 0; i < 4; i++)
		len += 2 + strlen(strs[i]);
	if (len > SEAL_RECORD_MAX)
		return -E2BIG;
	int err = buf_reserve(out, len);
	if (err)
		return err;
	memcpy(s->key_fp, k->fp, 32);
	uint8_t *p = out->data + out->len;
	memset(p, 0, SEAL_FIXED_LEN);
	le32_store(p, RECORD_MAGIC);
	le32_store(p + 4, (uint32_t)len);
	le16_store(p + 8, SEAL_VERSION);
	le16_store(p + 10, s->flags);
	le32_store(p + 12, s->segment);
	le64_store(p + 16, s->index);
	le64_store(p + 24, s->seg_len);
	le64_store(p + 32, s->first_chunk);
	le64_store(p + 40, s->last_chunk);
	le32_store(p + 48, s->chunks);
	le64_store(p + 56, s->first_ns);
	le64_store(p + 64, s->last_ns);
	le64_store(p + 72, s->sealed_ns);
	memcpy(p + 80, s->digest, 32);
	memcpy(p + 112, s->prev, 32);
	memcpy(p + 144, s->key_fp, 32);
	le32_store(p + 176, (uint32_t)s->clock_state);
	le32_store(p + 180, s->clock_status);
	le64_store(p + 184, (uint64_t)s->clock_maxerror_us);
	le64_store(p + 192, (uint64_t)s->clock_esterror_us);
	uint8_t *q = p + SEAL_FIXED_LEN;
	for (size_t i = 0; i < 4; i++)
		q = put_str(q, strs[i]);
	if ((err = store_key_sign(k, p, len - STORE_KEY_SIG_LEN, s->sig)))
		return err;
	memcpy(q, s->sig, STORE_KEY_SIG_LEN);
	s->length = (uint32_t)len;
	out->len += len;
	return sha256_once(p, len, s->self);
}

#define BAD(msg)                 \
	do {                     \
		*why = (msg);    \
		return -EBADMSG; \
	} while (0)

static int get_str(const uint8_t **p, const uint8_t *end, char *out, size_t cap)
{
	if (end - *p < 2)
		return -1;
	size_t n = le16_load(*p);
	if (n >= cap || (size_t)(end - *p - 2) < n)
		return -1;
	memcpy(out, *p + 2, n);
	out[n] = 0;
	if (memchr(out, 0, n))
		return -1;
	*p += 2 + n;
	return 0;
}

long seal_decode(const uint8_t *p, size_t avail, struct seal *s, const char **why)
{
	*why = NULL;
	if (avail < 8)
		return -ENODATA;
	if (le32_load(p) != RECORD_MAGIC)
		BAD("not a seal record (bad magic)");
	uint32_t len = le32_load(p + 4);
	if (len < SEAL_FIXED_LEN + 8 + STORE_KEY_SIG_LEN || len > SEAL_RECORD_MAX)
		BAD("seal record length is implausible");
	if (len > avail)
		return -ENODATA;
	if (le16_load(p + 8) != SEAL_VERSION)
		BAD("unknown seal record version");
	memset(s, 0, sizeof(*s));
	s->flags = le16_load(p + 10);
	s->segment = le32_load(p + 12);
	s->index = le64_load(p + 16);
	s->seg_len = le64_load(p + 24);
	s->first_chunk = le64_load(p + 32);
	s->last_chunk = le64_load(p + 40);
	s->chunks = le32_load(p + 48);
	s->first_ns = le64_load(p + 56);
	s->last_ns = le64_load(p + 64);
	s->sealed_ns = le64_load(p + 72);
	memcpy(s->digest, p + 80, 32);
	memcpy(s->prev, p + 112, 32);
	memcpy(s->key_fp, p + 144, 32);
	s->clock_state = (int32_t)le32_load(p + 176);
	s->clock_status = le32_load(p + 180);
	s->clock_maxerror_us = (int64_t)le64_load(p + 184);
	s->clock_esterror_us = (int64_t)le64_load(p + 192);
	const uint8_t *q = p + SEAL_FIXED_LEN, *end = p + len - STORE_KEY_SIG_LEN;
	if (get_str(&q, end, s->host, sizeof(s->host)) ||
	    get_str(&q, end, s->machine_id, sizeof(s->machine_id)) ||
	    get_str(&q, end, s->boot_id, sizeof(s->boot_id)) ||
	    get_str(&q, end, s->version, sizeof(s->version)))
		BAD("a string of the seal record overruns it");
	if (q != end)
		BAD("seal record has bytes after its strings");
	memcpy(s->sig, end, STORE_KEY_SIG_LEN);
	s->length = len;
	if (sha256_once(p, len, s->self))
		return -ENOMEM;
	return (long)len;
}

int seal_check_sig(const struct seal *s, const uint8_t *rec, const struct store_key *k)
{
	return store_key_verify(k, rec, s->length - STORE_KEY_SIG_LEN, s->sig);
}

/* ---- the chain file ---------------------------------------------------------------- */

void seal_chain_header(const uint8_t key_fp[32], uint64_t created_ns,
		       uint8_t out[SEAL_CHAIN_HEADER_LEN])
{
	memset(out, 0, SEAL_CHAIN_HEADER_LEN);
	memcpy(out, "ECAPCHN1", 8);
	le16_store(out + 8, SEAL_VERSION);
	le16_store(out + 10, SEAL_CHAIN_HEADER_LEN);
	memcpy(out + 16, key_fp, 32);
	le64_store(out + 48, created_ns);
	le32_store(out + 60, crc32c(0, out, 60));
}

int seal_chain_header_check(const uint8_t *p, size_t len, uint8_t key_fp[32], const char **why)
{
	*why = NULL;
	if (len < SEAL_CHAIN_HEADER_LEN)
		BAD("the chain file is shorter than its header");
	if (memcmp(p, "ECAPCHN1", 8))
		BAD("the chain file does not start with its magic");
	if (le16_load(p + 8) != SEAL_VERSION || le16_load(p + 10) != SEAL_CHAIN_HEADER_LEN)
		BAD("unknown chain file version");
	if (crc32c(0, p, 60) != le32_load(p + 60))
		BAD("the chain file's header fails its checksum");
	memcpy(key_fp, p + 16, 32);
	return 0;
}

void seal_chain_free(struct seal_chain *c)
{
	free(c->bytes);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

int seal_chain_read(int dirfd, struct seal_chain *c)
{
	memset(c, 0, sizeof(*c));
	int fd = openat(dirfd, SEAL_CHAIN_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int err = 0;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		err = fstat(fd, &st) ? -errno : -EINVAL;
		goto out;
	}
	c->len = (size_t)st.st_size;
	if (!(c->bytes = malloc(c->len ? c->len : 1))) {
		err = -ENOMEM;
		goto out;
	}
	if (c->len && (err = pread_all(fd, c->bytes, c->len, 0)))
		goto out;
	if (seal_chain_header_check(c->bytes, c->len, c->header_fp, &c->header_why)) {
		if (c->len < SEAL_CHAIN_HEADER_LEN) {
			c->torn = true;
			c->header_why = NULL;
		}
		goto out;
	}
	c->end = SEAL_CHAIN_HEADER_LEN;
	while (c->end < c->len) {
		struct seal s;
		const char *why;
		long r = seal_decode(c->bytes + c->end, c->len - c->end, &s, &why);
		if (r == -ENODATA) {
			c->torn = true;
			break;
		}
		if (r < 0) {
			c->bad_why = why;
			break;
		}
		struct seal *slot = chunkmeta_grow((void **)&c->v, &c->n, &c->cap, sizeof(*slot));
		if (!slot) {
			err = -ENOMEM;
			break;
		}
		*slot = s;
		slot->offset = c->end;
		c->end += (size_t)r;
	}
out:
	close(fd);
	return err;
}

bool seal_is_store_file(const char *name)
{
	return !strcmp(name, SEAL_CHAIN_NAME) || !strcmp(name, STORE_KEY_NAME) ||
	       !strcmp(name, STORE_PUB_NAME);
}
