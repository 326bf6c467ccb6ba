// SPDX-License-Identifier: GPL-2.0-only
/*
 * live_tls.c - TLS secrets from the OpenSSL uprobes (live_tls.h, bpf/openssl.bpf.c).
 *
 * One BPF object serves every library: each calibrated libssl gets a slot in the "ossl_cfg"
 * map (its field locations) and the slot number as the attach cookie of its uprobes. Events
 * carry the raw fields; here they become key log records: TLS 1.2 CLIENT_RANDOM from the
 * master key; TLS 1.3 handshake traffic secrets derived from the handshake secret and the
 * transcript hash with HKDF-Expand-Label (or read directly when the build keeps them), and the
 * application traffic and exporter secrets, hash_len bytes as the cipher suite says. Feeding
 * a pipeline, a TLS 1.3 session goes as one item with the handshake secret and transcript hash
 * in place of the handshake traffic secrets (pipeline_tls13), derived only when the session is
 * recorded.
 * A table of fingerprints of (label, client random, secret) drops repeats: the client and the
 * server of one session on this host report the same secrets. It is a set of DEDUPE_WAYS
 * fingerprints (one 64-byte line) per client random, one way per label, so that a session's
 * five secrets cost one cache line rather than five lines scattered over the table.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "hash_words.h"
#include "le.h"
#include "live_tls.h"
#include "ring_pos.h"
#include "live_internal.h"
#include "live_keylog.h"
#include "live_tls_find.h"
#include "openssl.h"
#include "openssl.skel.h"
#include "proc_maps.h"
#include "calib_worker.h"
#include "tls_calibrate.h"
#include "tls_hkdf.h"
#include "tls_labels.h"
#include "tls_lib.h"
#include "uprobe_attach.h"

#define DEDUPE_SETS (1u << 13)
#define DEDUPE_WAYS 8 /* one 64-byte line */
#define HANDSHAKE_SLOTS (1u << 12)
#define RESCAN_NS (10ull * 1000000000ull)
#define KNOWN_MAX 64
/* How long the start waits for its libraries' calibrations (on the calibration thread): a
 * tenth of a second each on a quiet host, so that recording mostly begins with their probes
 * attached; one that takes longer (a library whose code spins or sleeps, a starved CPU) has
 * its probes attached once its result comes, while recording. */
#define START_CALIB_WAIT_MS 2000

_Static_assert(DEDUPE_WAYS * sizeof(uint64_t) == 64, "a dedupe set is one cache line");
_Static_assert(TLS_LABELS_N <= DEDUPE_WAYS, "a way per known label");
_Static_assert((int)TLS_CAL_NFIELDS == (int)OSSL_F_NR, "field lists differ");
_Static_assert((int)TLS_CAL_EXPORTER == (int)OSSL_F_EXPORTER, "field order differs");
_Static_assert((int)TLS_CAL_HS_SECRET == (int)OSSL_F_HS_SECRET, "field order differs");
_Static_assert((int)TLS_CAL_CLIENT_RANDOM == (int)OSSL_F_CLIENT_RANDOM, "field order differs");
_Static_assert((int)TLS_CAL_IN_INIT == (int)OSSL_F_IN_INIT, "field order differs");

static const char *const probed_functions[] = {
	"SSL_do_handshake", "SSL_read", "SSL_write", "SSL_read_ex", "SSL_write_ex",
};
#define NFUNCS (sizeof(probed_functions) / sizeof(probed_functions[0]))

/* A libssl file met: calibrated or being calibrated, attached or given up on (failed). The
 * table holds KNOWN_MAX, in the order met; when it is full, a new file only root can have
 * written takes the place of one given up on (known_room), so that a user's planted files
 * cannot fill it and leave a system's libssl, met later, unwatched. */
struct known_file {
	dev_t dev;
	ino_t ino;
	bool attached;
	bool failed;
	bool trusted;  /* only root can have written it (calib_worker_trusted) */
};

struct live_tls {
	struct openssl_bpf *skel;
	struct ring_buffer *rb;     /* ossl_events */
	struct ring_pos pos;        /* ossl_events' positions (the long sleep) */
	struct live_keylog *kl;     /* Go, OpenSSL in executables, GnuTLS, BoringSSL */
	struct ring_buffer *kl_rb;  /* kl's events and exec records (NULL: no key-log probes) */
	live_tls_secret_fn fn;
	/* NULL: handshake traffic secrets are derived as they come (ecap-calibrate --watch) */
	int (*hs_fn)(void *ctx, const struct tls13_material *m);
	void *ctx;
	struct pipeline *pipeline;  /* fn is pipeline_fn (live_tls_start), else NULL */
	bool quiet;
	bool no_dedupe;
	const char *store_dir;      /* NULL or store_path */
	char store_path[PATH_MAX];
	struct tls_calibration cal[OSSL_LIBS_MAX];
	struct bpf_link *links[OSSL_LIBS_MAX][2 * NFUNCS + 1]; /* last: SSL_free */
	uint32_t nlibs;
	struct known_file known[KNOWN_MAX];
	size_t nknown;
	bool known_full_said;
	struct calib_worker *calib;  /* NULL: calibrations at once (the start) */
	uint64_t next_scan_ns;
	struct live_tls_seen rescan_seen; /* the libssl files met in the current rescan */
	live_tls_exe_fn exe_fn;
	void *exe_ctx;
	struct live_tls_stats st;
	int cb_error;
	uint64_t (*dedupe)[DEDUPE_WAYS]; /* [DEDUPE_SETS], 64-byte aligned: emit() */
	uint64_t handshakes[HANDSHAKE_SLOTS]; /* seen_handshake() */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct known_file *known_find(struct live_tls *t, const struct tls_lib_file *f)
{
	size_t i;

	for (i = 0; i < t->nknown; i++)
		if (t->known[i].dev == f->dev && t->known[i].ino == f->ino)
			return &t->known[i];
	return NULL;
}

/* A place in the full table for a file only root can have written (trusted): that of the
 * oldest entry given up on that a user could have written, else of the oldest given up on.
 * The entries after it move down (the order met is kept) and the last place is returned;
 * NULL when none, or for a file a user could have written (which would forget others of its
 * kind at each rescan, to be calibrated again at the next). */
static struct known_file *known_room(struct live_tls *t, bool trusted)
{
	size_t i, pick = KNOWN_MAX;

	if (!trusted)
		return NULL;
	for (i = 0; i < t->nknown && pick == KNOWN_MAX; i++)
		if (t->known[i].failed && !t->known[i].trusted)
			pick = i;
	for (i = 0; i < t->nknown && pick == KNOWN_MAX; i++)
		if (t->known[i].failed)
			pick = i;
	if (pick == KNOWN_MAX)
		return NULL;
	memmove(&t->known[pick], &t->known[pick + 1],
		(t->nknown - pick - 1) * sizeof(t->known[0]));
	t->st.libs_forgotten++;
	return &t->known[t->nknown - 1];
}

static void to_config(const struct tls_calibration *cal, struct ossl_config *cfg)
{
	unsigned i;

	memset(cfg, 0, sizeof(*cfg));
	cfg->valid = 1;
	for (i = 0; i < OSSL_F_NR; i++) {
		const struct tls_cal_loc *l = &cal->f[i];

		cfg->f[i].nderef = l->found ? l->nderef : OSSL_ABSENT;
		cfg->f[i].ptr[0] = l->ptr[0];
		cfg->f[i].ptr[1] = l->ptr[1];
		cfg->f[i].off = l->off;
	}
}

static void detach_lib(struct live_tls *t, uint32_t slot)
{
	size_t i;

	for (i = 0; i < 2 * NFUNCS + 1; i++) {
		bpf_link__destroy(t->links[slot][i]);
		t->links[slot][i] = NULL;
	}
}

/*
 * Attaches the probes of slot to the library open on fd: SSL_do_handshake (entry and return),
 * SSL_free (entry), and SSL_read/SSL_write and their _ex forms: entry only when the build's
 * handshake state is calibrated, else entry and return. Returns how many functions are
 * probed, or -errno.
 */
static int attach_lib(struct live_tls *t, uint32_t slot, int fd)
{
	bool entry_only = t->cal[slot].f[TLS_CAL_IN_INIT].found;
	struct bpf_link *l;
	size_t i, ok = 0;
	int err = 0, ret;

	for (i = 0; i < NFUNCS; i++) {
		if (i > 0 && entry_only) {
			l = uprobe_attach(t->skel->progs.ossl_io, fd, probed_functions[i], 0, false,
					  slot);
			if (l) {
				t->links[slot][2 * i] = l;
				ok++;
			} else {
				err = -errno;
			}
			continue;
		}
		for (ret = 0; ret < 2; ret++) {
			l = uprobe_attach(ret ? t->skel->progs.ossl_exit : t->skel->progs.ossl_enter,
					  fd, probed_functions[i], 0, ret, slot);
			if (!l) {
				err = -errno;
				break;
			}
			t->links[slot][2 * i + ret] = l;
		}
		if (ret == 2)
			ok++;
		else if (t->links[slot][2 * i]) {
			/* an entry probe without its return probe would only fill ossl_pending */
			bpf_link__destroy(t->links[slot][2 * i]);
			t->links[slot][2 * i] = NULL;
		}
	}
	t->links[slot][2 * NFUNCS] = uprobe_attach(t->skel->progs.ossl_free, fd, "SSL_free", 0,
						   false, slot);
	if (t->links[slot][2 * NFUNCS])
		ok++;
	if (!t->links[slot][0] && !t->links[slot][2] && !t->links[slot][2 * NFUNCS]) {
		/* neither SSL_do_handshake, SSL_read nor SSL_free: nothing useful attached */
		detach_lib(t, slot);
		return err ? err : -ENOENT;
	}
	return (int)ok;
}

/* A calibration's outcome for the file open on fd (known as k): its probes configured and
 * attached in the next slot, or why not said. */
static void use_calibration(struct live_tls *t, struct known_file *k, int fd, const char *path,
			    int rc, const char *err, const struct tls_calibration *cal)
{
	struct ossl_config cfg;
	uint32_t slot = t->nlibs;

	k->failed = true; /* until attached below */
	if (rc < 0) {
		fprintf(stderr, "ecap-rec: tls: %s: cannot calibrate, skipped: %s\n", path, err);
		t->st.libs_failed++;
		return;
	}
	if (slot >= OSSL_LIBS_MAX) {
		fprintf(stderr, "ecap-rec: tls: %s: skipped, already watching %u libraries\n", path,
			OSSL_LIBS_MAX);
		t->st.libs_failed++;
		return;
	}
	t->cal[slot] = *cal;
	to_config(&t->cal[slot], &cfg);
	if (bpf_map__update_elem(t->skel->maps.ossl_cfg, &slot, sizeof(slot), &cfg, sizeof(cfg),
				 BPF_ANY) < 0) {
		fprintf(stderr, "ecap-rec: tls: %s: cannot configure the probes: %s\n", path,
			strerror(errno));
		t->st.libs_failed++;
		return;
	}
	rc = attach_lib(t, slot, fd);
	if (rc < 0) {
		fprintf(stderr, "ecap-rec: tls: %s: cannot attach uprobes: %s\n", path,
			strerror(-rc));
		t->st.libs_failed++;
		return;
	}
	k->attached = true;
	k->failed = false;
	t->nlibs++;
	t->st.libs_attached++;
	if (!t->quiet)
		fprintf(stderr, "ecap-rec: tls: watching %s (%s, %s%s%s, %s in %.1f ms, %d of %zu "
			"functions)\n", path, t->cal[slot].library,
			tls_calibrate_has_tls12(&t->cal[slot]) ? "TLS 1.2" : "",
			tls_calibrate_has_tls12(&t->cal[slot]) &&
				tls_calibrate_has_tls13(&t->cal[slot]) ? " and " : "",
			tls_calibrate_has_tls13(&t->cal[slot]) ? "TLS 1.3" : "",
			t->cal[slot].from_cache ? "cached calibration" : "calibrated",
			(double)t->cal[slot].elapsed_us / 1000.0, rc, NFUNCS + 1);
}

/*
 * Calibrates and attaches one file unless it is known already: on the calibration thread
 * (t->calib), the file known from now on and its probes attached when the result is taken
 * (calibrations_done(): live_tls_poll(), or the start's wait); at once without that thread.
 */
static int add_file(void *ctx, const struct tls_lib_file *f)
{
	struct live_tls *t = ctx;
	struct known_file *k = known_find(t, f);
	struct tls_calibration cal;
	char err[512] = "";
	bool trusted;
	int rc, fd;

	if (k)
		return 0;
	/* One open file for everything: the inode calibrated is the inode probed. */
	fd = f->fd >= 0 ? fcntl(f->fd, F_DUPFD_CLOEXEC, 0) : tls_lib_open(f->path, f->dev, f->ino);
	if (fd < 0 && f->fd >= 0)
		fd = -errno;
	trusted = fd >= 0 && calib_worker_trusted(fd);
	if (t->nknown < KNOWN_MAX) {
		k = &t->known[t->nknown++];
	} else if (!(k = known_room(t, trusted))) {
		if (!t->known_full_said)
			fprintf(stderr, "ecap-rec: tls: %s: skipped, %u libssl files known and none "
				"to forget\n", f->path, KNOWN_MAX);
		t->known_full_said = true;
		if (fd >= 0)
			close(fd);
		return 0;
	}
	k->dev = f->dev;
	k->ino = f->ino;
	k->attached = false;
	k->failed = true; /* until a calibration is under way or done */
	k->trusted = trusted;
	if (fd < 0) {
		fprintf(stderr, "ecap-rec: tls: %s: cannot open, skipped: %s\n", f->path,
			strerror(-fd));
		t->st.libs_failed++;
		return 0;
	}
	if (t->nlibs >= OSSL_LIBS_MAX) {
		fprintf(stderr, "ecap-rec: tls: %s: skipped, already watching %u libraries\n",
			f->path, OSSL_LIBS_MAX);
		t->st.libs_failed++;
		close(fd);
		return 0;
	}
	if (t->calib) {
		k->failed = false; /* under way: not to be forgotten */
		rc = calib_worker_submit(t->calib, fd, f->path, f->dev, f->ino, trusted);
		if (rc < 0) {
			k->failed = true;
			fprintf(stderr, "ecap-rec: tls: %s: cannot calibrate, skipped: %s\n",
				f->path, strerror(-rc));
			t->st.libs_failed++;
		}
		return 0;
	}
	rc = tls_calibrate_fd(fd, f->path, t->store_dir, &cal, err, sizeof(err));
	use_calibration(t, k, fd, f->path, rc, err, &cal);
	close(fd);
	return 0;
}

/* The probes of the calibrations the thread finished. */
static void calibrations_done(struct live_tls *t)
{
	struct tls_lib_file f = { .fd = -1 };
	struct known_file *k;
	struct calib_job *j;

	while ((j = calib_worker_take(t->calib))) {
		f.dev = j->dev;
		f.ino = j->ino;
		k = known_find(t, &f);
		if (k)
			use_calibration(t, k, j->fd, j->path, j->rc, j->err, &j->cal);
		calib_worker_job_free(j);
	}
}

/* The start's calibrations taken as they finish (their failures too), for
 * START_CALIB_WAIT_MS at most. */
static void wait_start_calibrations(struct live_tls *t)
{
	uint64_t end = mono_ns() + START_CALIB_WAIT_MS * 1000000ull, now;
	struct pollfd p = { .fd = calib_worker_fd(t->calib), .events = POLLIN };

	while (calib_worker_busy(t->calib) && (now = mono_ns()) < end) {
		if (poll(&p, 1, (int)((end - now + 999999) / 1000000)) < 0 && errno != EINTR)
			return;
		calibrations_done(t);
	}
}

static void add_path(struct live_tls *t, const char *path)
{
	char real[PATH_MAX];
	struct tls_lib_file f;
	int rc = live_tls_file(realpath(path, real) ? real : path, &f);

	if (rc < 0) {
		fprintf(stderr, "ecap-rec: tls: %s: %s, skipped\n", path, strerror(-rc));
		t->st.libs_failed++;
		return;
	}
	add_file(t, &f);
}

/* ---- events ---- */

static bool all_zero(const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* A 64-bit hash of the whole secret (label, client_random, secret), never 0: the label is
 * zero-filled to its full size by the caller. */
static uint64_t fingerprint(const struct tls_secret *s)
{
	return hash_words(0x9e3779b97f4a7c15ull, (const uint8_t *)s,
			  offsetof(struct tls_secret, secret) + s->secret_len) | 1;
}

/* The fingerprint's way in its client random's set: the label's, so that the secrets of one
 * session do not push each other out; an unknown label takes the way its fingerprint says. */
static size_t dedupe_way(const struct tls_secret *s, uint64_t fp)
{
	int i = tls_label_index(s->label, strnlen(s->label, sizeof(s->label)));

	return i >= 0 ? (size_t)i : (size_t)(fp >> 8) & (DEDUPE_WAYS - 1);
}

/* The first 8 bytes of a client random, hashed: its set in the dedupe table (low bits) and its
 * slot in the handshakes table (the bits above). */
static uint64_t random_hash(const uint8_t *random)
{
	return hash_words(0, random, 8);
}

static size_t handshake_slot(uint64_t h)
{
	return (size_t)(h >> 20) & (HANDSHAKE_SLOTS - 1);
}

static int emit(struct live_tls *t, const char *label, const uint8_t *random,
		const uint8_t *secret, size_t len, const struct ecap_proc *who)
{
	struct tls_secret s = { 0 };
	uint64_t fp, *slot;
	int rc;

	if (len > ECAP_SECRET_MAX || all_zero(secret, len)) {
		t->st.zero_dropped++;
		return 0;
	}
	memcpy(s.label, label, strnlen(label, sizeof(s.label) - 1)); /* s is zeroed */
	memcpy(s.client_random, random, 32);
	memcpy(s.secret, secret, len);
	s.secret_len = (uint8_t)len;
	fp = fingerprint(&s);
	slot = &t->dedupe[random_hash(random) & (DEDUPE_SETS - 1)][dedupe_way(&s, fp)];
	if (*slot == fp && !t->no_dedupe) {
		explicit_bzero(&s, sizeof(s));
		t->st.duplicates++;
		return 0;
	}
	*slot = fp;
	rc = t->fn(t->ctx, &s, who);
	explicit_bzero(&s, sizeof(s));
	if (rc < 0)
		return rc;
	t->st.secrets++;
	return 0;
}

/* A secret from the key-log function probes (live_keylog.h). */
static int keylog_emit(void *ctx, const char *label, const uint8_t *client_random,
		       const uint8_t *secret, size_t len, const struct ecap_proc *who)
{
	struct live_tls *t = ctx;

	t->st.events++;
	return emit(t, label, client_random, secret, len, who);
}

/*
 * Whether this very handshake came a moment ago: both ends of a connection on this host (a
 * client and a server using the probed libssl) report the same secrets, and the second report
 * would only derive them again for emit() to drop. The fingerprint covers what the secrets are
 * made of and nothing else: each field is read OSSL_SECRET_LEN bytes long, and past a 4-byte
 * version or cipher, a 32-byte random or a secret shorter than 48 bytes lie other members of
 * the SSL object (pointers, the end's role), which differ between the two ends. TLS 1.3: the
 * version, the cipher, the client random and, hash_len bytes each, the handshake secret and
 * transcript hash and the five secrets kept by the build; earlier versions: the master key.
 * The bits of read_ok for those fields count too. The fingerprint's slot (of a direct-mapped
 * table) is the client random's (handshake_slot()): known, and loaded, before it is made.
 */
static bool seen_handshake(struct live_tls *t, const struct ossl_event *e, uint32_t version,
			   size_t hash_len, size_t slot)
{
	uint32_t want = (1u << OSSL_F_VERSION) | (1u << OSSL_F_CIPHER_ID) |
			(1u << OSSL_F_CLIENT_RANDOM);
	/* the fields one after the other, hashed in one pass (hash_words.h: four lanes) */
	uint8_t all[4 + 4 + 32 + (OSSL_F_EXPORTER - OSSL_F_HS_SECRET + 1) * OSSL_SECRET_LEN];
	size_t n;
	uint64_t fp;
	int f;

	if (t->no_dedupe)
		return false;
	if (version == 0x0304)
		for (f = OSSL_F_HS_SECRET; f <= OSSL_F_EXPORTER; f++)
			want |= 1u << f;
	else
		want |= 1u << OSSL_F_MASTER_KEY;
	memcpy(all, e->field[OSSL_F_VERSION], 4);
	memcpy(all + 4, e->field[OSSL_F_CIPHER_ID], 4);
	memcpy(all + 8, e->field[OSSL_F_CLIENT_RANDOM], 32);
	n = 40;
	if (version == 0x0304)
		for (f = OSSL_F_HS_SECRET; f <= OSSL_F_EXPORTER; f++, n += hash_len)
			memcpy(all + n, e->field[f], hash_len);
	else {
		memcpy(all + n, e->field[OSSL_F_MASTER_KEY], 48);
		n += 48;
	}
	fp = hash_words(0x9e3779b97f4a7c15ull ^ (e->read_ok & want), all, n) | 1;
	explicit_bzero(all, n);
	if (t->handshakes[slot] == fp)
		return true;
	t->handshakes[slot] = fp;
	return false;
}

/* Whether the event carries what the handshake traffic secrets are derived from. */
static bool hs_derivable(const struct ossl_event *e, size_t hl)
{
	return (e->read_ok & (3u << OSSL_F_HS_SECRET)) == (3u << OSSL_F_HS_SECRET) &&
	       !all_zero(e->field[OSSL_F_HS_SECRET], hl) && !all_zero(e->field[OSSL_F_HS_HASH], hl);
}

/* A TLS 1.3 handshake traffic secret the build keeps: 0, or -ENODATA when it was not read. */
static int hs_kept(const struct ossl_event *e, enum ossl_field f, size_t hl, uint8_t *out)
{
	if (!(e->read_ok & (1u << f)))
		return -ENODATA;
	memcpy(out, e->field[f], hl);
	return 0;
}

/*
 * The two TLS 1.3 handshake traffic secrets into c and s: kept by the build, or derived from
 * the handshake secret and transcript hash (both labels under one HMAC key when both are
 * derived). *c_ok and *s_ok say which could be had.
 */
static void hs_traffic(const struct ossl_event *e, const struct tls_calibration *cal, size_t hl,
		       uint8_t *c, uint8_t *s, bool *c_ok, bool *s_ok)
{
	static const char *const labels[2] = { "c hs traffic", "s hs traffic" };
	bool c_kept = cal->f[OSSL_F_CLIENT_HS_TRAFFIC].found;
	bool s_kept = cal->f[OSSL_F_SERVER_HS_TRAFFIC].found;
	uint8_t both[2 * OSSL_SECRET_LEN];

	*c_ok = c_kept && hs_kept(e, OSSL_F_CLIENT_HS_TRAFFIC, hl, c) == 0;
	*s_ok = s_kept && hs_kept(e, OSSL_F_SERVER_HS_TRAFFIC, hl, s) == 0;
	if (c_kept && s_kept)
		return;
	if (!hs_derivable(e, hl))
		return;
	if (!c_kept && !s_kept) {
		if (tls_hkdf_expand_labels(hl, e->field[OSSL_F_HS_SECRET], labels, 2,
					   e->field[OSSL_F_HS_HASH], hl, both, hl) == 0) {
			memcpy(c, both, hl);
			memcpy(s, both + hl, hl);
			*c_ok = *s_ok = true;
		}
		explicit_bzero(both, sizeof(both));
		return;
	}
	if (!c_kept)
		*c_ok = tls_hkdf_expand_label(hl, e->field[OSSL_F_HS_SECRET], labels[0],
					      e->field[OSSL_F_HS_HASH], hl, c, hl) == 0;
	else
		*s_ok = tls_hkdf_expand_label(hl, e->field[OSSL_F_HS_SECRET], labels[1],
					      e->field[OSSL_F_HS_HASH], hl, s, hl) == 0;
}

/* The TLS 1.3 handshake traffic secrets, derived now. */
static int hs_now(struct live_tls *t, const struct ossl_event *e, const struct tls_calibration *cal,
		  size_t hl, const uint8_t *cr, const struct ecap_proc *who)
{
	uint8_t dc[OSSL_SECRET_LEN], ds[OSSL_SECRET_LEN];
	bool c_ok, s_ok;
	int rc = 0;

	hs_traffic(e, cal, hl, dc, ds, &c_ok, &s_ok);
	if (c_ok)
		rc = emit(t, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", cr, dc, hl, who);
	else
		t->st.zero_dropped++;
	if (rc == 0 && s_ok)
		rc = emit(t, "SERVER_HANDSHAKE_TRAFFIC_SECRET", cr, ds, hl, who);
	else if (rc == 0)
		t->st.zero_dropped++;
	explicit_bzero(dc, sizeof(dc));
	explicit_bzero(ds, sizeof(ds));
	return rc;
}

/* A handshake traffic secret the build keeps, handed over as it is. */
static int hs_kept_emit(struct live_tls *t, const struct ossl_event *e, enum ossl_field f,
			const char *label, size_t hl, const uint8_t *cr, const struct ecap_proc *who)
{
	uint8_t b[OSSL_SECRET_LEN];
	int rc = 0;

	if (hs_kept(e, f, hl, b) == 0)
		rc = emit(t, label, cr, b, hl, who);
	else
		t->st.zero_dropped++;
	explicit_bzero(b, sizeof(b));
	return rc;
}

/*
 * A TLS 1.3 session handed over as one item (struct tls13_material): the handshake secret and
 * transcript hash from which the handshake traffic secrets the build does not keep are
 * derived, and the application traffic and exporter secrets as read. The pipeline derives
 * and stores them when the session is recorded, and never derives them otherwise. Secrets the
 * build keeps go as they are.
 */
static int tls13_later(struct live_tls *t, const struct ossl_event *e,
		       const struct tls_calibration *cal, size_t hl, const uint8_t *cr,
		       const struct ecap_proc *who)
{
	static const enum ossl_field app[3] = { OSSL_F_CLIENT_APP_TRAFFIC, OSSL_F_SERVER_APP_TRAFFIC,
						OSSL_F_EXPORTER };
	bool c_kept = cal->f[OSSL_F_CLIENT_HS_TRAFFIC].found;
	bool s_kept = cal->f[OSSL_F_SERVER_HS_TRAFFIC].found;
	struct tls13_material m;
	unsigned derive, n, i;
	int rc = 0;

	if (c_kept)
		rc = hs_kept_emit(t, e, OSSL_F_CLIENT_HS_TRAFFIC, "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
				  hl, cr, who);
	if (rc == 0 && s_kept)
		rc = hs_kept_emit(t, e, OSSL_F_SERVER_HS_TRAFFIC, "SERVER_HANDSHAKE_TRAFFIC_SECRET",
				  hl, cr, who);
	if (rc < 0)
		return rc;
	memset(&m, 0, sizeof(m));
	derive = (c_kept ? 0 : TLS13_CLIENT_HS) | (s_kept ? 0 : TLS13_SERVER_HS);
	if (derive && hs_derivable(e, hl)) {
		m.has = (uint8_t)derive;
		memcpy(m.hs_secret, e->field[OSSL_F_HS_SECRET], hl);
		memcpy(m.hs_hash, e->field[OSSL_F_HS_HASH], hl);
	} else if (derive) {
		t->st.zero_dropped += (unsigned)__builtin_popcount(derive);
	}
	for (i = 0; i < 3; i++)
		if ((e->read_ok & (1u << app[i])) && !all_zero(e->field[app[i]], hl)) {
			m.has |= (uint8_t)(TLS13_CLIENT_APP << i);
			memcpy(m.app[i], e->field[app[i]], hl);
		} else if (e->read_ok & (1u << app[i])) {
			t->st.zero_dropped++;
		}
	n = tls13_material_count(&m);
	if (n) {
		memcpy(m.client_random, cr, 32);
		m.hash_len = (uint8_t)hl;
		rc = t->hs_fn(t->ctx, &m);
	}
	explicit_bzero(&m, sizeof(m));
	if (rc < 0)
		return rc;
	t->st.secrets += n;
	return 0;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct live_tls *t = ctx;
	const struct ossl_event *e = data;
	const struct tls_calibration *cal;
	struct ecap_proc who = { .valid = true };
	const uint8_t *cr;
	uint32_t version, cipher;
	uint64_t rh;
	size_t hl;
	int rc = 0;

	t->st.events++;
	if (size < sizeof(*e) || e->lib >= t->nlibs)
		return 0;
	/* the whole of the next event (the secrets are spread over it), while this one is
	 * handled */
	live_ring_prefetch_next(data, size, (unsigned)((sizeof(*e) + 63) / 64));
	cal = &t->cal[e->lib];
	who.pid = e->pid;
	who.tid = e->tid;
	memcpy(who.comm, e->comm, sizeof(who.comm) - 1);
	version = le32_load(e->field[OSSL_F_VERSION]);
	cipher = le32_load(e->field[OSSL_F_CIPHER_ID]);
	cr = e->field[OSSL_F_CLIENT_RANDOM];
	if (!(e->read_ok & (1u << OSSL_F_CLIENT_RANDOM)) || all_zero(cr, 32)) {
		t->st.zero_dropped++;
		return 0;
	}
	/* The lines looked at for this client random, each a miss when read: the handshake's
	 * slot (read once the fields are hashed), the pipeline's entry and, for the secrets that
	 * go through emit() (not a TLS 1.3 session's material for the pipeline), the dedupe
	 * set. A repeat of a handshake finds them loaded by the first. */
	rh = random_hash(cr);
	__builtin_prefetch(&t->handshakes[handshake_slot(rh)], 1);
	if (version != 0x0304 || !t->hs_fn)
		__builtin_prefetch(t->dedupe[rh & (DEDUPE_SETS - 1)], 1);
	if (t->pipeline)
		pipeline_secret_soon(t->pipeline, cr);
	hl = version == 0x0304 ? tls_hkdf_suite_hash_len(cipher) : 0;
	if (seen_handshake(t, e, version, hl ? hl : OSSL_SECRET_LEN, handshake_slot(rh))) {
		t->st.duplicates++;
		return 0;
	}
	if (version != 0x0304) {
		if (e->read_ok & (1u << OSSL_F_MASTER_KEY))
			rc = emit(t, "CLIENT_RANDOM", cr, e->field[OSSL_F_MASTER_KEY], 48, &who);
		else
			t->st.zero_dropped++;
		goto out;
	}
	if (!hl) {
		t->st.zero_dropped++;
		goto out;
	}
	if (t->hs_fn) {
		rc = tls13_later(t, e, cal, hl, cr, &who);
		goto out;
	}
	rc = hs_now(t, e, cal, hl, cr, &who);
	if (rc == 0 && (e->read_ok & (1u << OSSL_F_CLIENT_APP_TRAFFIC)))
		rc = emit(t, "CLIENT_TRAFFIC_SECRET_0", cr, e->field[OSSL_F_CLIENT_APP_TRAFFIC], hl,
			  &who);
	if (rc == 0 && (e->read_ok & (1u << OSSL_F_SERVER_APP_TRAFFIC)))
		rc = emit(t, "SERVER_TRAFFIC_SECRET_0", cr, e->field[OSSL_F_SERVER_APP_TRAFFIC], hl,
			  &who);
	if (rc == 0 && (e->read_ok & (1u << OSSL_F_EXPORTER)))
		rc = emit(t, "EXPORTER_SECRET", cr, e->field[OSSL_F_EXPORTER], hl, &who);
out:
	if (rc < 0)
		t->cb_error = rc;
	return rc;
}

/* ---- start, poll, stop ---- */

static int pipeline_fn(void *ctx, const struct tls_secret *s, const struct ecap_proc *who)
{
	int rc = pipeline_secret(ctx, s);

	return rc < 0 ? rc : 0;
}

static int pipeline_hs_fn(void *ctx, const struct tls13_material *m)
{
	int rc = pipeline_tls13(ctx, m);

	return rc < 0 ? rc : 0;
}

static int rescan_one(void *ctx, const struct tls_lib_file *f)
{
	return add_file(ctx, f);
}

/* A maps line read by the key-log rescan: a libssl mapped there is one of ours. True when the
 * file needs no other look by name: not a libssl, or one add_file() took (attached or not). */
static bool rescan_line(void *ctx, const char *pid, const struct proc_maps_line *m)
{
	struct live_tls *t = ctx;
	struct tls_lib_file f = { .dev = makedev(m->major, m->minor), .ino = (ino_t)m->inode };

	live_tls_find_line(pid, m, &t->rescan_seen, rescan_one, t);
	return !live_tls_is_libssl(m->path) || known_find(t, &f);
}

/* A libssl that a new program needs, open on FD (found in the program's own root). */
static void exec_libssl(void *ctx, int fd, const char *name)
{
	struct tls_lib_file f = { .fd = fd };
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    snprintf(f.path, sizeof(f.path), "%s", name) >= (int)sizeof(f.path))
		return;
	f.dev = st.st_dev;
	f.ino = st.st_ino;
	add_file(ctx, &f);
}

static int start(const struct live_options *opt, live_tls_secret_fn fn,
		 int (*hs_fn)(void *ctx, const struct tls13_material *m), void *ctx,
		 struct live_tls **out)
{
	struct live_tls *t;
	char sys[PATH_MAX];
	size_t i;
	int rc;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->dedupe = aligned_alloc(64, DEDUPE_SETS * sizeof(*t->dedupe));
	if (!t->dedupe) {
		free(t);
		return -ENOMEM;
	}
	memset(t->dedupe, 0, DEDUPE_SETS * sizeof(*t->dedupe));
	t->fn = fn;
	t->hs_fn = hs_fn;
	t->ctx = ctx;
	t->quiet = opt->quiet;
	if (opt->store_dir) {
		snprintf(t->store_path, sizeof(t->store_path), "%s", opt->store_dir);
		t->store_dir = t->store_path;
	}
	t->skel = openssl_bpf__open_and_load();
	if (!t->skel) {
		rc = -errno;
		fprintf(stderr, "ecap-rec: tls: cannot load the OpenSSL probes: %s\n",
			strerror(-rc));
		goto fail;
	}
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.ossl_events), on_event, t, NULL);
	if (!t->rb) {
		rc = -errno;
		fprintf(stderr, "ecap-rec: tls: cannot open the secrets ring buffer: %s\n",
			strerror(-rc));
		goto fail;
	}
	/* not fatal: without the positions the reader never sleeps past its tick */
	ring_pos_open(&t->pos, bpf_map__fd(t->skel->maps.ossl_events));
	/* Calibrations on a thread of their own, the start's too (queued until live_tls_begin
	 * starts it): neither the start nor the reader of the rings waits for one beyond
	 * START_CALIB_WAIT_MS. A wait on the OpenSSL ring wakes for their results. */
	if (calib_worker_new(t->store_dir, &t->calib) == 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = 0 };

		if (epoll_ctl(ring_buffer__epoll_fd(t->rb), EPOLL_CTL_ADD,
			      calib_worker_fd(t->calib), &ev) < 0) {
			calib_worker_free(t->calib);
			t->calib = NULL;
		}
	}
	if (!t->calib)
		fprintf(stderr, "ecap-rec: tls: no calibration thread: libraries are calibrated by "
			"the thread that reads the rings\n");
	if (live_tls_find_system(sys, sizeof(sys)) == 0)
		add_path(t, sys);
	for (i = 0; i < opt->n_libssl && i < LIVE_LIBSSL_MAX; i++)
		add_path(t, opt->libssl[i]);
	live_tls_find_mapped(rescan_one, t);
	live_keylog_start(t->quiet, &t->kl_rb, keylog_emit, t, &t->kl);
	if (t->kl_rb) {
		/* a wait on the OpenSSL ring (live_tls_fd, live_tls_poll) wakes for the key-log
		 * ring too: its epoll set holds the other's (ring 0 is processed for it: the
		 * OpenSSL ring, which a wake-up reads anyway) */
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = 0 };

		if (epoll_ctl(ring_buffer__epoll_fd(t->rb), EPOLL_CTL_ADD,
			      ring_buffer__epoll_fd(t->kl_rb), &ev) < 0) {
			rc = -errno;
			fprintf(stderr, "ecap-rec: tls: key-log probes: %s\n", strerror(-rc));
			goto fail;
		}
	}
	live_keylog_set_libssl_fn(t->kl, exec_libssl);
	t->next_scan_ns = mono_ns() + RESCAN_NS;
	if (t->nlibs == 0 && !t->kl && !(t->calib && calib_worker_busy(t->calib))) {
		fprintf(stderr, "ecap-rec: tls: no TLS library could be watched: TLS secrets "
			"will not be recorded\n");
		rc = -ENOENT;
		goto fail;
	}
	*out = t;
	return 0;
fail:
	live_tls_stop(t);
	return rc;
}

int live_tls_start(const struct live_options *opt, struct pipeline *p, struct live_tls **out)
{
	int rc = start(opt, pipeline_fn, pipeline_hs_fn, p, out);

	if (rc == 0)
		(*out)->pipeline = p;
	return rc;
}

int live_tls_start_cb(const struct live_options *opt, live_tls_secret_fn fn, void *ctx,
		      struct live_tls **out)
{
	return start(opt, fn, NULL, ctx, out);
}

void live_tls_begin(struct live_tls *t)
{
	int rc;

	if (!t || !t->calib)
		return;
	rc = calib_worker_start(t->calib);
	if (rc < 0)
		fprintf(stderr, "ecap-rec: tls: no calibration thread: %s\n", strerror(-rc));
	wait_start_calibrations(t);
}

int live_tls_fd(const struct live_tls *t)
{
	return ring_buffer__epoll_fd(t->rb);
}

int live_tls_poll_exec(struct live_tls *t)
{
	return t->kl_rb ? ring_buffer__consume(t->kl_rb) : 0;
}

int live_tls_poll(struct live_tls *t, int timeout_ms)
{
	uint64_t now;
	int rc, n;

	t->cb_error = 0;
	rc = timeout_ms ? ring_buffer__poll(t->rb, timeout_ms) : 0;
	/* Events the probes submitted without waking us (below a quarter of the ring) are
	 * read by consuming, which does not wait for a wakeup. */
	if (rc >= 0) {
		n = ring_buffer__consume(t->rb);
		rc = n < 0 ? n : rc + n;
	}
	if (t->cb_error < 0)
		return t->cb_error;
	if (rc >= 0) {
		n = live_tls_poll_exec(t);
		rc = n < 0 ? n : rc + n;
	}
	if (t->calib && calib_worker_busy(t->calib))
		calibrations_done(t);
	now = mono_ns();
	if (now >= t->next_scan_ns) {
		/* one pass over the processes' maps for both kinds of probes */
		if (t->kl) {
			t->rescan_seen.n = 0;
			live_keylog_rescan(t->kl, rescan_line, t);
		} else {
			live_tls_find_mapped(rescan_one, t);
		}
		t->next_scan_ns = now + RESCAN_NS;
	}
	return rc;
}

static void exe_named(void *ctx, uint32_t dev, uint64_t ino, uint64_t mntns_id, const char *path,
		      uint64_t mono_ns)
{
	struct live_tls *t = ctx;

	t->exe_fn(t->exe_ctx, dev, ino, mntns_id, path, mono_ns);
}

void live_tls_set_exe_fn(struct live_tls *t, live_tls_exe_fn fn, void *ctx)
{
	t->exe_fn = fn;
	t->exe_ctx = ctx;
	live_keylog_set_exe_fn(t->kl, fn ? exe_named : NULL);
}

void live_tls_set_dedupe(struct live_tls *t, bool on)
{
	t->no_dedupe = !on;
}

void live_tls_get_stats(const struct live_tls *t, struct live_tls_stats *st)
{
	uint32_t probed, failed;

	*st = t->st;
	if (t->skel && t->skel->bss)
		st->lost = t->skel->bss->ossl_counters[OSSL_CNT_RING_FULL];
	live_keylog_counts(t->kl, &probed, &failed);
	st->libs_attached += probed;
	st->libs_failed += failed;
	st->lost += live_keylog_lost(t->kl);
	struct live_keylog_rescans r;
	live_keylog_rescan_stats(t->kl, &r);
	st->rescans = r.rescans;
	st->rescan_visits = r.visits;
}

void live_tls_set_asleep(struct live_tls *t, bool asleep)
{
	if (t->skel && t->skel->bss)
		__atomic_store_n(&t->skel->bss->reader_asleep, asleep ? 1 : 0, __ATOMIC_SEQ_CST);
	live_keylog_set_asleep(t->kl, asleep);
}

bool live_tls_waiting(const struct live_tls *t)
{
	return ring_pos_waiting(&t->pos) || live_keylog_waiting(t->kl);
}

unsigned long live_tls_taken(const struct live_tls *t)
{
	return ring_pos_taken(&t->pos) + live_keylog_taken(t->kl);
}

int live_tls_take_execs(struct live_tls *t)
{
	int n;

	if (!live_keylog_waiting(t->kl))
		return 0;
	n = live_tls_poll_exec(t); /* the key-log ring: the exec records are there */
	return n < 0 ? n : 0;
}

void live_tls_stop(struct live_tls *t)
{
	uint32_t i;

	if (!t)
		return;
	calib_worker_free(t->calib);
	ring_pos_close(&t->pos);
	for (i = 0; i < OSSL_LIBS_MAX; i++)
		detach_lib(t, i);
	ring_buffer__free(t->rb);
	ring_buffer__free(t->kl_rb);
	live_keylog_stop(t->kl);
	openssl_bpf__destroy(t->skel);
	free(t->dedupe);
	free(t);
}
