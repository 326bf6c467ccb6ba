// SPDX-License-Identifier: GPL-2.0-only
/*
 * logfn.c - what the C TLS libraries (OpenSSL in an executable, GnuTLS, BoringSSL) share:
 * finding their key-log function from the call sites of its labels, and decoding a client
 * random accessor (lib.h).
 *
 * Label call sites: the labels ("CLIENT_RANDOM", "CLIENT_HANDSHAKE_TRAFFIC_SECRET", ...) are
 * NUL-terminated strings in read-only data; a call passing one as the second argument loads it
 * with "lea disp32(%rip),%rsi" (48 8d 35 disp32) and calls the logger within a few
 * instructions. Matches are found by bytes (the displacement must land exactly on the label),
 * then decoded forward from there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib.h"

#define CODE_CHUNK (4u << 20)
#define ACCESSOR_BYTES 96u
#define NLABELS 6
#define TARGETS_MAX 32

const char *const tls_probe_labels[] = {
	"CLIENT_RANDOM",
	"CLIENT_HANDSHAKE_TRAFFIC_SECRET",
	"SERVER_HANDSHAKE_TRAFFIC_SECRET",
	"CLIENT_TRAFFIC_SECRET_0",
	"SERVER_TRAFFIC_SECRET_0",
	"EXPORTER_SECRET",
	NULL,
};

struct votes {
	uint64_t target[TARGETS_MAX];
	unsigned n[TARGETS_MAX];
	unsigned used;
};

static void vote(struct votes *v, uint64_t t)
{
	unsigned i;

	for (i = 0; i < v->used; i++)
		if (v->target[i] == t) {
			v->n[i]++;
			return;
		}
	if (v->used < TARGETS_MAX) {
		v->target[v->used] = t;
		v->n[v->used++] = 1;
	}
}

/* Scans one executable segment for "lea label(%rip),%rsi" of any label. */
static int scan_segment(struct tls_elf *e, const struct tls_elf_load *l, const uint64_t *lab,
			unsigned nlab, struct votes *v)
{
	uint8_t *buf = malloc(CODE_CHUNK + 64);
	uint64_t pos;

	if (!buf)
		return -ENOMEM;
	for (pos = 0; pos < l->filesz; pos += CODE_CHUNK) {
		uint64_t len = l->filesz - pos, i;

		if (len > CODE_CHUNK + 64)
			len = CODE_CHUNK + 64;
		if (tls_elf_read_vaddr(e, l->vaddr + pos, buf, len) < 0)
			break;
		for (i = 0; i + 7 <= len && i < CODE_CHUNK; i++) {
			uint64_t at = l->vaddr + pos + i, dest, t;
			int32_t d;
			unsigned k;

			if (buf[i] != 0x48 || buf[i + 1] != 0x8d || buf[i + 2] != 0x35)
				continue;
			d = (int32_t)((uint32_t)buf[i + 3] | (uint32_t)buf[i + 4] << 8 |
				      (uint32_t)buf[i + 5] << 16 | (uint32_t)buf[i + 6] << 24);
			dest = at + 7 + (uint64_t)(int64_t)d;
			for (k = 0; k < nlab && lab[k] != dest; k++)
				;
			if (k == nlab)
				continue;
			if (x86_next_call(buf + i + 7, len - i - 7, at + 7, &t) == 0)
				vote(v, t);
		}
	}
	free(buf);
	return 0;
}

int tls_probe_find_logfn(struct tls_elf *e, unsigned min_votes, uint64_t *fn, unsigned *votes)
{
	struct votes v = { .used = 0 };
	uint64_t lab[NLABELS], s, end;
	unsigned nlab = 0, i, best = 0;
	int tie = 0;

	for (i = 0; tls_probe_labels[i]; i++)
		if (tls_elf_find_string(e, tls_probe_labels[i], &lab[nlab]) == 0)
			nlab++;
	if (!nlab)
		return -ENOENT;
	for (i = 0; i < e->nload; i++)
		if (e->load[i].flags & 1)
			scan_segment(e, &e->load[i], lab, nlab, &v);
	for (i = 0; i < v.used; i++) {
		if (tls_elf_code_range(e, v.target[i], &s, &end) < 0)
			continue;
		if (v.n[i] > best) {
			best = v.n[i];
			*fn = v.target[i];
			tie = 0;
		} else if (v.n[i] == best) {
			tie = 1;
		}
	}
	if (best < min_votes || tie)
		return -ENOENT;
	*votes = best;
	return 0;
}

int tls_probe_accessor_field(struct tls_elf *e, const char *sym, struct x86_loc *loc, char *why,
			   size_t len)
{
	uint8_t code[ACCESSOR_BYTES];
	uint64_t a, size, s, end, n;

	if (tls_elf_symbol(e, sym, &a, &size) < 0) {
		snprintf(why, len, "no symbol %s", sym);
		return -ENOENT;
	}
	if (tls_elf_code_range(e, a, &s, &end) < 0) {
		snprintf(why, len, "%s is not in the code", sym);
		return -EFAULT;
	}
	n = end - a < sizeof(code) ? end - a : sizeof(code);
	if (size && size < n)
		n = size;
	if (tls_elf_read_vaddr(e, a, code, n) < 0 || x86_find_arg0_field(code, n, loc) < 0) {
		snprintf(why, len, "the code of %s does not show where the client random is", sym);
		return -ENOENT;
	}
	return 0;
}

int tls_probe_set_func(struct tls_elf *e, struct tls_probe *p, uint64_t a, char *why,
		     size_t len)
{
	if (tls_elf_code_offset(e, a, &p->func_off) < 0) {
		snprintf(why, len, "the function's address 0x%llx is not in the code",
			 (unsigned long long)a);
		return -EFAULT;
	}
	p->func_addr = a;
	return 0;
}

const char *tls_probe_loc_text(const struct x86_loc *l, char *buf, size_t len)
{
	if (l->nderef)
		snprintf(buf, len, "*(obj+0x%x)+0x%x", l->ptr, l->off);
	else
		snprintf(buf, len, "obj+0x%x", l->off);
	return buf;
}

int tls_probe_has(struct tls_elf *e, const char *name)
{
	uint64_t a;

	return tls_elf_symbol(e, name, &a, NULL) == 0;
}

int tls_probe_ssl_logfn(struct tls_elf *e, struct tls_probe *p, uint64_t fn, char *why,
			size_t len)
{
	int rc = tls_probe_accessor_field(e, "SSL_get_client_random", &p->random, why, len);

	if (rc < 0)
		return rc == -ENOENT ? -ENOTSUP : rc;
	return tls_probe_set_func(e, p, fn, why, len);
}
