// SPDX-License-Identifier: GPL-2.0-only
/*
 * writer.c - the PCAP-NG output of ecap-export (writer.h).
 *
 * The file is one section:
 *
 *   SHB   shb_userappl "ecap-export VERSION", shb_os (uname), shb_hardware (machine),
 *         opt_comment with the query, the store and the time of export
 *   DSB   secrets type "TLSK": NSS key log lines of every exported TLS session, written
 *         before the first EPB (Wireshark ignores secrets that follow a session's handshake);
 *         with --follow, later DSBs come before the packets of the sessions they unlock
 *   IDB   one per store interface, written just before that interface's first packet:
 *         the store's link type, if_name, if_tsresol 9 (nanoseconds), if_filter when the
 *         recording had a capture filter; the recorded snaplen when no stored packet can
 *         be longer (at least ECAP_CAPLEN_MAX), else 0 (no limit): a replayed file may
 *         hold packets longer than its snaplen, and libpcap refuses a packet longer than
 *         its IDB's snaplen
 *   EPB   timestamps in nanoseconds; epb_flags bits 0-1 direction (01 in, 10 out) when
 *         known; opt_comment naming the processes of the packet's connection (below)
 *   ISB   one per IDB at the end: isb_starttime/isb_endtime of the exported window,
 *         isb_ifrecv = packets exported on the interface, isb_ifdrop = drops recorded in
 *         the window
 *
 * Per-packet comments (EPB opt_comment), modelled on ptcpdump's: one "Key: value" per line,
 * lines separated by "\n" with none after the last:
 *
 *     PID: 1234
 *     TID: 1234
 *     UID: 1000
 *     Cmd: curl
 *     Args: curl -s https://example.org/      (what the recorder learned of the process
 *     Exe: /usr/bin/curl                       from /proc, each line only when known)
 *     ParentPID: 1200
 *     ParentCmd: bash
 *     NsPID: 7                                 (its pid inside its own pid namespace)
 *     Start: 2026-12-05T19:40:01.23Z           (process start: pid and start name it)
 *     Cgroup: /libpod_parent/libpod-0123...
 *     ContainerId: 0123...                     (64 hex digits, from the cgroup path)
 *     ContainerRuntime: podman
 *     ContainerName: web-1                     (what the container's runtime said of it
 *     ContainerImage: docker.io/library/nginx:1.25   at record time, each when known)
 *     ContainerLabels: {"app":"web","io.kubernetes.pod.name":"web-1"}
 *     PodName: web-1                           (a Kubernetes pod: from the runtime's
 *     PodNamespace: default                     io.kubernetes.pod.* labels or CRI
 *     PodUID: 5e1c...                           annotations; the uid also from the cgroup)
 *
 * ContainerLabels is one JSON object of strings, keys sorted (ptcpdump writes the same).
 *
 * This block names the local process whose socket the packet went through on this host:
 * the sender of an outbound packet (epb_flags direction 10), the receiver of an inbound one
 * (01); with no recorded direction, the sender when its process is known, else the
 * receiver. When the other end of the connection is a local process as well (loopback,
 * containers on one host), a second block names it, every key prefixed with "Peer ":
 *
 *     Peer PID: 5678
 *     Peer TID: 5678
 *     Peer UID: 33
 *     Peer Cmd: nginx
 *
 * When only the other end is known, the comment is that "Peer" block alone. TID is left out
 * when it was not recorded (0), Cmd when the name is empty. Packets of connections with no
 * known process, and packets that belong to no connection, have no comment.
 */
#include "writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int writer_init(struct writer *w, int fd, const struct pcapng_shb_info *shb)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	return pcapng_write_shb(&w->b, shb);
}

int writer_init_deferred(struct writer *w, int fd, int (*make_shb)(void *ctx, struct buf *out),
			 void *ctx)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->make_shb = make_shb;
	w->shb_ctx = ctx;
	return 0;
}

int writer_hash(struct writer *w)
{
	if (w->hashing)
		return 0;
	int err = sha256_init(&w->digest);
	w->hashing = err == 0;
	return err;
}

void writer_written(struct writer *w, struct proof_file *out)
{
	memset(out, 0, sizeof(*out));
	out->bytes = w->bytes_out;
	out->packets = w->packets;
	out->dsbs = w->dsbs;
	if (w->hashing)
		sha256_peek(&w->digest, out->sha256);
}

void writer_free(struct writer *w)
{
	if (w->hashing)
		sha256_free(&w->digest);
	buf_free(&w->b);
	free(w->ifmap);
	free(w->ifs);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}

uint32_t writer_snaplen(uint32_t recorded)
{
	return recorded >= ECAP_CAPLEN_MAX ? recorded : 0;
}

int writer_add_iface(struct writer *w, uint32_t store_id, const struct ecap_iface *iface)
{
	struct pcapng_idb_info idb = {
		.linktype = iface->linktype,
		.snaplen = writer_snaplen(iface->snaplen),
		.name = iface->name,
		.filter = iface->filter[0] ? iface->filter : NULL,
		.description = iface->description,
		.tsresol = 9,
	};
	int err;

	if (writer_iface_index(w, store_id) >= 0)
		return 0;
	if (store_id >= w->ifmap_len) {
		size_t n = (size_t)store_id + 16;
		int32_t *m = realloc(w->ifmap, n * sizeof(*m));
		if (!m)
			return -ENOMEM;
		for (size_t i = w->ifmap_len; i < n; i++)
			m[i] = -1;
		w->ifmap = m;
		w->ifmap_len = n;
	}
	if (w->n_ifs == w->ifs_cap) {
		size_t cap = w->ifs_cap ? w->ifs_cap * 2 : 4;
		struct writer_iface *v = realloc(w->ifs, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		w->ifs = v;
		w->ifs_cap = cap;
	}
	err = pcapng_write_idb(&w->b, &idb);
	if (err < 0)
		return err;
	w->ifs[w->n_ifs] = (struct writer_iface){ .store_id = store_id };
	w->ifmap[store_id] = (int32_t)w->n_ifs++;
	return 0;
}

int writer_keylog_line(const struct tls_secret *sec, char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strnlen(sec->label, ECAP_LABEL_MAX), need;

	if (sec->secret_len > ECAP_SECRET_MAX)
		return -EINVAL;
	need = n + 1 + 64 + 1 + 2 * (size_t)sec->secret_len + 1;
	if (need >= len)
		return -ENOSPC;
	memcpy(out, sec->label, n);
	char *p = out + n;
	*p++ = ' ';
	for (int i = 0; i < 32; i++) {
		*p++ = hex[sec->client_random[i] >> 4];
		*p++ = hex[sec->client_random[i] & 15];
	}
	*p++ = ' ';
	for (int i = 0; i < sec->secret_len; i++) {
		*p++ = hex[sec->secret[i] >> 4];
		*p++ = hex[sec->secret[i] & 15];
	}
	*p++ = '\n';
	*p = '\0';
	return (int)(p - out);
}

/* Key log text per DSB: well below PCAPNG_BLOCK_MAX, so readers never refuse it. */
#define DSB_TEXT_MAX (1u << 20)

int writer_secrets(struct writer *w, const struct tls_secret *v, size_t n)
{
	struct buf text = { 0 };
	char line[WRITER_KEYLOG_LINE_MAX];
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		int len = writer_keylog_line(&v[i], line, sizeof(line));
		if (len < 0) {
			err = len;
			goto out;
		}
		if (text.len + (size_t)len > DSB_TEXT_MAX) {
			err = pcapng_write_dsb(&w->b, PCAPNG_SECRETS_TLS, text.data,
					       (uint32_t)text.len);
			if (err < 0)
				goto out;
			w->dsbs++;
			buf_reset(&text);
		}
		err = buf_append(&text, line, (size_t)len);
		if (err < 0)
			goto out;
	}
	if (text.len && (err = pcapng_write_dsb(&w->b, PCAPNG_SECRETS_TLS, text.data,
						 (uint32_t)text.len)) >= 0)
		w->dsbs++;
	if (err >= 0)
		w->secrets += n;
out:
	buf_free(&text);
	return err;
}

int writer_packet(struct writer *w, const struct ecap_packet *pkt, const char *comment)
{
	int32_t idx = writer_iface_index(w, pkt->iface);
	int err;

	if (idx < 0)
		return -ENOENT;
	err = pcapng_write_epb(&w->b, (uint32_t)idx, pkt->ts_ns, pkt->data, pkt->caplen,
			       pkt->origlen, pkt->flags, comment);
	if (err < 0)
		return err;
	struct writer_iface *wi = &w->ifs[idx];
	if (!wi->packets)
		wi->first_ts = pkt->ts_ns;
	wi->last_ts = pkt->ts_ns;
	wi->packets++;
	w->packets++;
	return 0;
}

int writer_isb(struct writer *w, uint32_t idx, uint64_t start_ns, uint64_t end_ns, uint64_t drops)
{
	if (idx >= w->n_ifs)
		return -EINVAL;

	struct pcapng_isb_info isb = {
		.starttime = start_ns,
		.endtime = end_ns,
		.ifrecv = w->ifs[idx].packets,
		.ifdrop = drops,
	};
	return pcapng_write_isb(&w->b, idx, end_ns, &isb);
}

/* len bytes at p to the file, hashed as they go (with writer_hash). */
static int write_all(struct writer *w, const uint8_t *p, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(w->fd, p + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w->hashing)
			sha256_update(&w->digest, p + off, (size_t)n);
		off += (size_t)n;
		w->bytes_out += (size_t)n;
	}
	return 0;
}

int writer_flush(struct writer *w)
{
	int err;

	if (w->make_shb) { /* the first flush: the SHB first */
		struct buf shb = { 0 };
		int (*make)(void *, struct buf *) = w->make_shb;
		w->make_shb = NULL;
		err = make(w->shb_ctx, &shb);
		if (err >= 0)
			err = write_all(w, shb.data, shb.len);
		buf_free(&shb);
		if (err < 0)
			return err;
	}
	if ((err = write_all(w, w->b.data, w->b.len)))
		return err;
	buf_reset(&w->b);
	return 0;
}

int writer_maybe_flush(struct writer *w, size_t threshold)
{
	return w->b.len >= threshold ? writer_flush(w) : 0;
}

/* Appends "\nPRE KEY: VALUE" unless value is empty; returns the new length or -ENOSPC. */
static int put_line(char *out, size_t len, size_t at, const char *pre, const char *key,
		    const char *value)
{
	int n;

	if (!value[0])
		return (int)at;
	n = snprintf(out + at, len - at, "\n%s%s: %s", pre, key, value);
	if (n < 0 || (size_t)n >= len - at)
		return -ENOSPC;
	return (int)(at + (size_t)n);
}

/* The lines of what the recorder learned of a process (ptcpdump's keys where it has one). */
static int put_info(char *out, size_t len, int at, const struct ecap_proc_info *pi,
		    const struct ecap_container *c, const char *pre)
{
	char num[24], when[40];
	time_t secs = (time_t)(pi->start_wall_ns / 1000000000ull);
	struct tm tm;

	at = at < 0 ? at : put_line(out, len, (size_t)at, pre, "Args", pi->args);
	at = at < 0 ? at : put_line(out, len, (size_t)at, pre, "Exe", pi->exe);
	snprintf(num, sizeof(num), "%u", pi->ppid);
	at = at < 0 || !pi->ppid ? at : put_line(out, len, (size_t)at, pre, "ParentPID", num);
	at = at < 0 ? at : put_line(out, len, (size_t)at, pre, "ParentCmd", pi->parent_comm);
	snprintf(num, sizeof(num), "%u", pi->nspid);
	at = at < 0 || !pi->nspid ? at : put_line(out, len, (size_t)at, pre, "NsPID", num);
	if (at >= 0 && pi->start_wall_ns && gmtime_r(&secs, &tm)) {
		snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%02uZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (unsigned)(pi->start_wall_ns % 1000000000ull / 10000000ull));
		at = put_line(out, len, (size_t)at, pre, "Start", when);
	}
	at = at < 0 ? at : put_line(out, len, (size_t)at, pre, "Cgroup", pi->cgroup);
	at = at < 0 ? at : put_line(out, len, (size_t)at, pre, "ContainerId", pi->container_id);
	at = at < 0 ? at : put_line(out, len, (size_t)at, pre, "ContainerRuntime", pi->runtime);
	if (c && c->id[0] && !strcmp(c->id, pi->container_id)) {
		at = at < 0 ? at : put_line(out, len, (size_t)at, pre, "ContainerName", c->name);
		at = at < 0 ? at : put_line(out, len, (size_t)at, pre, "ContainerImage", c->image);
		at = at < 0 ? at : put_line(out, len, (size_t)at, pre, "ContainerLabels",
					    c->labels);
		at = at < 0 ? at : put_line(out, len, (size_t)at, pre, "PodName", c->pod_name);
		at = at < 0 ? at : put_line(out, len, (size_t)at, pre, "PodNamespace",
					    c->pod_namespace);
		if (!pi->pod_uid[0] && at >= 0)
			at = put_line(out, len, (size_t)at, pre, "PodUID", c->pod_uid);
	}
	at = at < 0 ? at : put_line(out, len, (size_t)at, pre, "PodUID", pi->pod_uid);
	return at;
}

/* Appends one process block; returns the new length or -ENOSPC. */
static int put_proc(char *out, size_t len, size_t at, const struct ecap_proc *p, const char *pre)
{
	int n;

	n = snprintf(out + at, len - at, "%s%sPID: %u", at ? "\n" : "", pre, p->pid);
	if (n < 0 || (size_t)n >= len - at)
		return -ENOSPC;
	at += (size_t)n;
	if (p->tid) {
		n = snprintf(out + at, len - at, "\n%sTID: %u", pre, p->tid);
		if (n < 0 || (size_t)n >= len - at)
			return -ENOSPC;
		at += (size_t)n;
	}
	n = snprintf(out + at, len - at, "\n%sUID: %u", pre, p->uid);
	if (n < 0 || (size_t)n >= len - at)
		return -ENOSPC;
	at += (size_t)n;
	if (p->comm[0]) {
		n = snprintf(out + at, len - at, "\n%sCmd: %.*s", pre, ECAP_COMM_LEN, p->comm);
		if (n < 0 || (size_t)n >= len - at)
			return -ENOSPC;
		at += (size_t)n;
	}
	return (int)at;
}

int writer_format_comment(const struct flow_record *flow,
			  const struct ecap_proc_info *const info[2],
			  const struct ecap_container *const ctr[2], enum flow_side primary,
			  char *out, size_t len)
{
	const struct ecap_proc *me = &flow->proc[primary], *peer = &flow->proc[!primary];
	int at = 0;

	if (len == 0)
		return -ENOSPC;
	out[0] = '\0';
	if (me->valid) {
		at = put_proc(out, len, 0, me, "");
		if (at >= 0 && info && info[primary])
			at = put_info(out, len, at, info[primary], ctr ? ctr[primary] : NULL, "");
		if (at < 0)
			return at;
	}
	if (peer->valid) {
		at = put_proc(out, len, (size_t)at, peer, "Peer ");
		if (at >= 0 && info && info[!primary])
			at = put_info(out, len, at, info[!primary], ctr ? ctr[!primary] : NULL,
				      "Peer ");
	}
	return at;
}
