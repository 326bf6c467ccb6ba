// SPDX-License-Identifier: GPL-2.0-only
/*
 * openssl.bpf.c - the TLS secrets of OpenSSL sessions, read from the SSL object by uprobes on
 * libssl (no kprobes, no fentry: uprobes work where those do not).
 *
 * Attached by user space (recorder/live_tls.c) by path with pid -1 to each calibrated libssl,
 * with the library's slot in "ossl_cfg" as the attach cookie:
 *   ossl_enter  uprobe on SSL_do_handshake: remembers the SSL pointer per thread, unless this
 *               process already reported the session whose client random the object holds
 *               now ("ossl_done").
 *   ossl_exit   uretprobe on the same: when the call succeeded (return value > 0: the
 *               handshake is complete), reads every calibrated field and, when the session's
 *               secrets are there (TLS 1.3: both application traffic secrets non-zero;
 *               TLS 1.0-1.2: the master key non-zero), writes one struct ossl_event
 *               (bpf/openssl.h) to "ossl_events".
 *   ossl_io     uprobe on SSL_read, SSL_write, SSL_read_ex, SSL_write_ex (handshakes that
 *               happen inside them): the same reading at entry, when the build's handshake
 *               state (in_init) says no handshake is under way. One trap per call, and after
 *               the first report only a map lookup. Builds whose handshake state could not be
 *               calibrated get ossl_enter/ossl_exit on these functions instead (a return value
 *               > 0 means application data moved, so the handshake is complete).
 *   ossl_free   uprobe on SSL_free: the same reading, once, for a session not reported yet.
 * TLS 1.3 handshake traffic secrets are not kept by OpenSSL 3.0: the record carries the
 * handshake secret and transcript hash, and user space derives them.
 *
 * Reading happens after the handshake on purpose: mid-handshake a TLS 1.2 client still holds
 * the session it offered for resumption. The probes never change what the program does; on
 * any read failure the field stays zero and user space drops it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "openssl.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, OSSL_LIBS_MAX);
	__type(key, __u32);
	__type(value, struct ossl_config);
} ossl_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	/* 1 MiB: at 2,000 handshakes/s with both ends probed, 0.4 s of events (256 KiB: 0.1 s) when
	 * ecap-rec's reader waits for a core; 256 KiB lost whole sessions' secrets at load 9-12 */
	__uint(max_entries, 1 << 20);
} ossl_events SEC(".maps");

/* Wake the reader (which drains every 100 ms anyway) only when 64 KiB wait, or when it sleeps
 * longer (reader_wake.h). */
#include "reader_wake.h"
#define OSSL_WAKE_BYTES (64 * 1024)

struct pending {
	__u64 ssl;
	__u32 lib;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH); /* a thread that never returns ages out */
	__uint(max_entries, 16384);
	__type(key, __u64);             /* pid_tgid */
	__type(value, struct pending);
} ossl_pending SEC(".maps");

struct done_key {
	__u32 tgid;
	__u32 pad;
	__u64 ssl;
};

struct random32 {
	__u64 w[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct done_key);
	__type(value, struct random32);  /* the client random already reported */
} ossl_done SEC(".maps");

__u64 ossl_counters[OSSL_CNT_NR];

static __always_inline void count(enum ossl_counter c)
{
	__sync_fetch_and_add(&ossl_counters[c], 1);
}

/* The address of a located field, or 0. */
static __always_inline __u64 loc_addr(const struct ossl_loc *loc, __u64 ssl)
{
	__u64 base = ssl, p = 0;

	if (loc->nderef > 2)
		return 0;
	if (loc->nderef >= 1) {
		if (bpf_probe_read_user(&p, sizeof(p), (void *)(base + loc->ptr[0])) || !p)
			return 0;
		base = p;
	}
	if (loc->nderef >= 2) {
		if (bpf_probe_read_user(&p, sizeof(p), (void *)(base + loc->ptr[1])) || !p)
			return 0;
		base = p;
	}
	return base + loc->off;
}

#define READ_FIELD(e, cfg, ssl, idx, len)                                                      \
	do {                                                                                   \
		__u64 a_ = loc_addr(&(cfg)->f[idx], ssl);                                      \
		if (a_ && !bpf_probe_read_user((e)->field[idx], len, (void *)a_))              \
			(e)->read_ok |= 1u << (idx);                                           \
		else if ((cfg)->f[idx].nderef != OSSL_ABSENT)                                  \
			count(OSSL_CNT_READ_FAIL);                                             \
	} while (0)

static __always_inline int nonzero48(const __u8 *b)
{
	const __u64 *w = (const __u64 *)b;

	return (w[0] | w[1] | w[2] | w[3] | w[4] | w[5]) != 0;
}

/* Whether ssl's client random is the one already reported. */
static __always_inline int holds_random(const struct ossl_config *cfg, __u64 ssl,
					const struct random32 *seen)
{
	__u64 a = loc_addr(&cfg->f[OSSL_F_CLIENT_RANDOM], ssl);
	struct random32 cr = {};

	if (!a || bpf_probe_read_user(&cr, sizeof(cr), (void *)a))
		return 0;
	return cr.w[0] == seen->w[0] && cr.w[1] == seen->w[1] && cr.w[2] == seen->w[2] &&
	       cr.w[3] == seen->w[3];
}

SEC("uprobe")
int BPF_KPROBE(ossl_enter, void *ssl)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 lib = (__u32)bpf_get_attach_cookie(ctx);
	struct done_key dk = { .tgid = id >> 32, .ssl = (__u64)ssl };
	struct pending pd = { .ssl = (__u64)ssl, .lib = lib };
	struct ossl_config *cfg;
	struct random32 *seen;

	if (!ssl)
		return 0;
	cfg = bpf_map_lookup_elem(&ossl_cfg, &lib);
	if (!cfg || !cfg->valid)
		return 0;
	seen = bpf_map_lookup_elem(&ossl_done, &dk);
	if (seen && holds_random(cfg, (__u64)ssl, seen))
		return 0;
	bpf_map_update_elem(&ossl_pending, &id, &pd, BPF_ANY);
	return 0;
}

/* Reads the session of ssl and reports it when complete; 0 reported or nothing to do. */
static __always_inline int capture(__u64 id, __u64 ssl, __u32 lib)
{
	struct ossl_config *cfg;
	struct ossl_event *e;
	struct done_key dk = {};
	struct random32 cr;
	__u32 version;

	cfg = bpf_map_lookup_elem(&ossl_cfg, &lib);
	if (!cfg || !cfg->valid)
		return 0;
	e = bpf_ringbuf_reserve(&ossl_events, sizeof(*e), 0);
	if (!e) {
		count(OSSL_CNT_RING_FULL);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	READ_FIELD(e, cfg, ssl, OSSL_F_VERSION, 4);
	READ_FIELD(e, cfg, ssl, OSSL_F_CIPHER_ID, 4);
	READ_FIELD(e, cfg, ssl, OSSL_F_CLIENT_RANDOM, 32);
	READ_FIELD(e, cfg, ssl, OSSL_F_MASTER_KEY, OSSL_SECRET_LEN);
	READ_FIELD(e, cfg, ssl, OSSL_F_HS_SECRET, OSSL_SECRET_LEN);
	READ_FIELD(e, cfg, ssl, OSSL_F_HS_HASH, OSSL_SECRET_LEN);
	READ_FIELD(e, cfg, ssl, OSSL_F_CLIENT_HS_TRAFFIC, OSSL_SECRET_LEN);
	READ_FIELD(e, cfg, ssl, OSSL_F_SERVER_HS_TRAFFIC, OSSL_SECRET_LEN);
	READ_FIELD(e, cfg, ssl, OSSL_F_CLIENT_APP_TRAFFIC, OSSL_SECRET_LEN);
	READ_FIELD(e, cfg, ssl, OSSL_F_SERVER_APP_TRAFFIC, OSSL_SECRET_LEN);
	READ_FIELD(e, cfg, ssl, OSSL_F_EXPORTER, OSSL_SECRET_LEN);

	version = *(__u32 *)e->field[OSSL_F_VERSION];
	if (version == 0x0304) {
		if (!nonzero48(e->field[OSSL_F_CLIENT_APP_TRAFFIC]) ||
		    !nonzero48(e->field[OSSL_F_SERVER_APP_TRAFFIC]))
			goto discard;
	} else if (version >= 0x0301 && version <= 0x0303) {
		if (!nonzero48(e->field[OSSL_F_MASTER_KEY]))
			goto discard;
	} else {
		goto discard;
	}
	__builtin_memcpy(&cr, e->field[OSSL_F_CLIENT_RANDOM], sizeof(cr));
	dk.tgid = id >> 32;
	dk.ssl = ssl;
	bpf_map_update_elem(&ossl_done, &dk, &cr, BPF_ANY);
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->lib = lib;
	bpf_ringbuf_submit(e, reader_wake_flags(bpf_ringbuf_query(&ossl_events, BPF_RB_AVAIL_DATA) >=
							OSSL_WAKE_BYTES ? BPF_RB_FORCE_WAKEUP :
									  BPF_RB_NO_WAKEUP));
	count(OSSL_CNT_EVENTS);
	return 0;
discard:
	bpf_ringbuf_discard(e, 0);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(ossl_exit, long ret)
{
	__u64 id = bpf_get_current_pid_tgid(), ssl;
	struct pending *pd;
	__u32 lib;

	pd = bpf_map_lookup_elem(&ossl_pending, &id);
	if (!pd)
		return 0;
	ssl = pd->ssl;
	lib = pd->lib;
	bpf_map_delete_elem(&ossl_pending, &id);
	if ((int)ret <= 0)
		return 0;
	return capture(id, ssl, lib);
}

SEC("uprobe")
int BPF_KPROBE(ossl_io, void *ssl)
{
	__u64 id = bpf_get_current_pid_tgid(), a;
	__u32 lib = (__u32)bpf_get_attach_cookie(ctx), in_init = 1;
	struct done_key dk = { .tgid = id >> 32, .ssl = (__u64)ssl };
	struct ossl_config *cfg;
	struct random32 *seen;

	if (!ssl)
		return 0;
	cfg = bpf_map_lookup_elem(&ossl_cfg, &lib);
	if (!cfg || !cfg->valid || cfg->f[OSSL_F_IN_INIT].nderef == OSSL_ABSENT)
		return 0;
	seen = bpf_map_lookup_elem(&ossl_done, &dk);
	if (seen && holds_random(cfg, (__u64)ssl, seen))
		return 0;
	a = loc_addr(&cfg->f[OSSL_F_IN_INIT], (__u64)ssl);
	if (!a || bpf_probe_read_user(&in_init, sizeof(in_init), (void *)a) || in_init)
		return 0;
	return capture(id, (__u64)ssl, lib);
}

/*
 * SSL_free: the last look at a session whose handshake and data went through functions that
 * are not probed (the SSL BIO calls libssl's internal read and write: openssl s_server -www).
 */
SEC("uprobe")
int BPF_KPROBE(ossl_free, void *ssl)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct done_key dk = { .tgid = id >> 32, .ssl = (__u64)ssl };
	__u32 lib = (__u32)bpf_get_attach_cookie(ctx);
	struct ossl_config *cfg;
	struct random32 *seen;

	if (!ssl)
		return 0;
	cfg = bpf_map_lookup_elem(&ossl_cfg, &lib);
	if (!cfg || !cfg->valid)
		return 0;
	seen = bpf_map_lookup_elem(&ossl_done, &dk);
	if (seen && holds_random(cfg, (__u64)ssl, seen)) {
		bpf_map_delete_elem(&ossl_done, &dk);
		return 0;
	}
	/*
	 * No in_init check here: a fatal error sets it again after a completed handshake (an
	 * unexpected EOF from the peer is enough), and those sessions must be reported.
	 */
	capture(id, (__u64)ssl, lib);
	bpf_map_delete_elem(&ossl_done, &dk);
	return 0;
}
