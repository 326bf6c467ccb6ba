// SPDX-License-Identifier: GPL-2.0-only
/*
 * gnutls.c - GnuTLS (lib.h): every secret passes through the internal
 * _gnutls_call_keylog_func(session, label, data, size), which calls the session's key-log
 * function (gnutls_init() installs one that writes $SSLKEYLOGFILE) whether or not a file is
 * set. The library is stripped: the function is the target of the call that follows
 * "lea CLIENT_RANDOM(%rip),%rsi", and is checked to read the session's key-log function
 * pointer at the offset that the exported gnutls_session_get_keylog_function() reads. The
 * client random is at the offset gnutls_session_get_random() returns for it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib.h"

#define HEAD_BYTES 48u

/* The offset at which accessor code reads from RDI first ("mov disp(%rdi),%reg"), or -1. */
static long first_rdi_load(const uint8_t *code, size_t n)
{
	struct x86_insn in;
	size_t pos = 0;
	int len;

	while (pos < n && (len = x86_decode(code + pos, n - pos, &in)) > 0) {
		pos += (size_t)len;
		if (in.op == 0x8b && (in.rex & 8) && in.mod != 3 && !in.sib && !in.rip &&
		    in.rm == 7)
			return in.disp;
		if (in.op == 0xc3 || in.op == 0xe8 || in.op == 0xe9)
			break;
	}
	return -1;
}

static long code_rdi_load(struct tls_elf *e, uint64_t a)
{
	uint8_t code[HEAD_BYTES];
	uint64_t s, end, n;

	if (tls_elf_code_range(e, a, &s, &end) < 0)
		return -1;
	n = end - a < sizeof(code) ? end - a : sizeof(code);
	if (tls_elf_read_vaddr(e, a, code, n) < 0)
		return -1;
	return first_rdi_load(code, n);
}

int tls_gnutls_inspect(struct tls_elf *e, struct tls_probe *p, char *why, size_t len)
{
	uint64_t getter, fn;
	unsigned votes;
	long off, used;
	int rc;

	if (!tls_probe_has(e, "gnutls_init") || !tls_probe_has(e, "gnutls_session_get_random"))
		return -ENOENT;
	p->library = "GnuTLS";
	p->abi = TLS_PROBE_ABI_CALL;
	if (tls_elf_symbol(e, "gnutls_session_get_keylog_function", &getter, NULL) < 0) {
		snprintf(why, len, "no gnutls_session_get_keylog_function (GnuTLS before 3.6.13 "
			 "logs no secrets)");
		return -ENOTSUP;
	}
	off = code_rdi_load(e, getter);
	if (off < 0) {
		snprintf(why, len, "cannot read gnutls_session_get_keylog_function's code");
		return -ENOTSUP;
	}
	if (tls_probe_find_logfn(e, 1, &fn, &votes) < 0) {
		snprintf(why, len, "no call site of the key-log labels found");
		return -ENOTSUP;
	}
	used = code_rdi_load(e, fn);
	if (used != off) {
		snprintf(why, len, "the function called with CLIENT_RANDOM (0x%llx) does not read "
			 "the key-log function (session+0x%lx)", (unsigned long long)fn, off);
		return -ENOTSUP;
	}
	rc = tls_probe_accessor_field(e, "gnutls_session_get_random", &p->random, why, len);
	if (rc < 0 || p->random.nderef != 0)
		return rc < 0 ? (rc == -ENOENT ? -ENOTSUP : rc) : -ENOTSUP;
	rc = tls_probe_set_func(e, p, fn, why, len);
	if (rc < 0)
		return rc;
	snprintf(p->how, sizeof(p->how), "_gnutls_call_keylog_func at 0x%llx: the call after "
		 "CLIENT_RANDOM (%u site%s), reads session+0x%lx as "
		 "gnutls_session_get_keylog_function does; client random at session+0x%x "
		 "(gnutls_session_get_random)", (unsigned long long)fn, votes, votes == 1 ? "" : "s",
		 off, p->random.off);
	return 0;
}
