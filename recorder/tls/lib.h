/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lib.h - the one interface behind which each TLS library that ecap probes through its own
 * key-log function lives (one file per library in recorder/tls/): given an ELF file (a library
 * or an executable some process mapped), say whether it is that library and, if so, where to
 * put the uprobe and how to read the client random there.
 *
 *   go.c           Go crypto/tls: (*Config).writeKeyLog, by symbol or through .gopclntab
 *   openssl_exe.c  OpenSSL linked into an executable (node): ssl_log_secret
 *   gnutls.c       GnuTLS: _gnutls_call_keylog_func
 *   boringssl.c    BoringSSL: bssl::ssl_log_secret
 * Shared OpenSSL (libssl.so) is not here: its SSL object is calibrated (tls_calibrate.h).
 *
 * Everything is learned from the file's bytes (symbols, Go's line table, the code of the
 * library's own accessors, the call sites of its key-log labels): nothing of it is loaded or
 * run. Every value found is validated before use.
 */
#ifndef ECAP_TLS_PROBE_LIB_H
#define ECAP_TLS_PROBE_LIB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "elf.h"
#include "x86.h"

enum tls_probe_abi {
	TLS_PROBE_ABI_GO = 1,     /* KL_ABI_GO (bpf/tlslog.h) */
	TLS_PROBE_ABI_CALL,       /* KL_ABI_CALL: f(obj, label, secret, len), random in obj */
};

struct tls_probe {
	const char *library;    /* "Go crypto/tls", "GnuTLS", ... */
	char version[64];       /* as the file says it, or "" */
	char how[320];          /* how the function and the client random were found */
	uint64_t func_addr;     /* virtual address of the probed function */
	uint64_t func_off;      /* its file offset: where the uprobe goes */
	enum tls_probe_abi abi;
	struct x86_loc random;  /* TLS_PROBE_ABI_CALL: the client random from the first argument */
};

/*
 * Each library's inspector: 0 when e is that library and p is filled; -ENOENT when e is not
 * that library (nothing to say); another negative errno when it is, but cannot be probed, with
 * the reason in why.
 */
int tls_go_inspect(struct tls_elf *e, struct tls_probe *p, char *why, size_t len);
int tls_openssl_exe_inspect(struct tls_elf *e, struct tls_probe *p, char *why, size_t len);
int tls_gnutls_inspect(struct tls_elf *e, struct tls_probe *p, char *why, size_t len);
int tls_boringssl_inspect(struct tls_elf *e, struct tls_probe *p, char *why, size_t len);

/* Tries every inspector in turn: the first answer that is not -ENOENT. */
int tls_probe_inspect(struct tls_elf *e, struct tls_probe *p, char *why, size_t len);

/* Inspects the file open on fd and says on out what it is and how it would be probed
 * (ecap-calibrate --inspect). 0 probe-able, -ENOENT none of these libraries, or -errno. */
int tls_probe_describe(int fd, const char *name, FILE *out);

/* ---- shared by the C libraries (logfn.c) ---- */

/* The key-log labels of TLS 1.2 and 1.3 (NSS key log names). */
extern const char *const tls_probe_labels[];

/*
 * The function the library passes its key-log labels to: every "lea label(%rip),%rsi" in the
 * code whose next call is direct votes for that call's target; the target with most votes,
 * when it has at least min_votes and no other target has as many. 0 with *fn and *votes, or
 * -ENOENT.
 */
int tls_probe_find_logfn(struct tls_elf *e, unsigned min_votes, uint64_t *fn, unsigned *votes);

/* Decodes the accessor sym (e.g. SSL_get_client_random) for where the client random lies
 * relative to its first argument. 0, or -ENOENT / -errno with why filled. */
int tls_probe_accessor_field(struct tls_elf *e, const char *sym, struct x86_loc *loc, char *why,
			   size_t len);

/* Fills p->func_addr and p->func_off for the code address a, checking it is code. 0 or
 * -EFAULT with why. */
int tls_probe_set_func(struct tls_elf *e, struct tls_probe *p, uint64_t a, char *why,
		     size_t len);

/*
 * For OpenSSL's and BoringSSL's ssl_log_secret(SSL *, ...) at code address fn: the client
 * random from SSL_get_client_random's code, and the probe's function. 0, -ENOTSUP (the
 * accessor cannot be read) or -errno, with why filled.
 */
int tls_probe_ssl_logfn(struct tls_elf *e, struct tls_probe *p, uint64_t fn, char *why,
			size_t len);

/* The random's location as text: "obj+0x160" or "*(obj+0x30)+0x30". */
const char *tls_probe_loc_text(const struct x86_loc *l, char *buf, size_t len);

/* Whether name is a defined symbol of e. */
int tls_probe_has(struct tls_elf *e, const char *name);

#endif
