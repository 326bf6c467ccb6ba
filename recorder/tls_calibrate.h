/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tls_calibrate.h - where one exact libssl build keeps a session's secrets in its SSL object.
 *
 * Offsets differ between OpenSSL versions and vendor builds, so they are measured, not tabled:
 * in a child process the exact library (and the libcrypto next to it) is loaded into a fresh
 * link-map namespace, an in-memory handshake runs with a keylog callback (TLS 1.2, TLS 1.3
 * with TLS_AES_128_GCM_SHA256 and with TLS_AES_256_GCM_SHA384), and the known values (client
 * random, master key, traffic secrets, the transcript hash, the handshake secret found through
 * HKDF-Expand-Label) are searched for in the SSL object and the heap objects it points to.
 * Every location found is then checked against fresh handshakes, on client and server objects.
 *
 * A location is a path from the SSL pointer: follow up to two pointers (at ptr[0] in the SSL
 * object, then at ptr[1] in the object that points to), then read at off. All reads are of
 * TLS_CAL_READ_LEN bytes, which every located field allows (OpenSSL's secret arrays are
 * EVP_MAX_MD_SIZE long).
 *
 * The work runs in a sandboxed child (sandbox.h), never in the caller: it runs the target's
 * code. Results are cached per library content (SHA-256 of the file, not its build-id, which
 * any file can claim) as DIR/calibration/<sha256>.txt, mode 0600. Cache format (also the
 * child's answer after its "ok <us>" line), one item per line, '#' comments:
 *   ecap-calibration 2
 *   path <library path>
 *   build_id <hex>
 *   library <OpenSSL_version() text>
 *   <field name> <nderef> <ptr0> <ptr1> <off>       (decimal; fields not found are absent)
 */
#ifndef ECAP_TLS_CALIBRATE_H
#define ECAP_TLS_CALIBRATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TLS_CAL_READ_LEN 48

enum tls_cal_field {
	TLS_CAL_VERSION,         /* int: 0x0303 TLS 1.2, 0x0304 TLS 1.3 */
	TLS_CAL_CIPHER_ID,       /* uint32 SSL_CIPHER id of the negotiated suite */
	TLS_CAL_CLIENT_RANDOM,   /* 32 bytes */
	TLS_CAL_MASTER_KEY,      /* TLS <= 1.2 master secret, 48 bytes */
	TLS_CAL_HS_SECRET,       /* TLS 1.3 handshake secret */
	TLS_CAL_HS_HASH,         /* TLS 1.3 transcript hash ClientHello..ServerHello */
	TLS_CAL_CLIENT_HS_TRAFFIC, /* optional: only when the build keeps it */
	TLS_CAL_SERVER_HS_TRAFFIC, /* optional */
	TLS_CAL_CLIENT_APP_TRAFFIC,
	TLS_CAL_SERVER_APP_TRAFFIC,
	TLS_CAL_EXPORTER,
	TLS_CAL_IN_INIT,         /* optional: int, non-zero while a handshake is under way */
	TLS_CAL_NFIELDS
};

struct tls_cal_loc {
	bool found;
	uint8_t nderef;          /* 0..2 pointers followed */
	uint16_t ptr[2];
	uint16_t off;
};

struct tls_calibration {
	char path[PATH_MAX];
	char build_id[2 * 64 + 1];   /* hex, "" when the file has no build-id note */
	char library[96];            /* OpenSSL_version(OPENSSL_VERSION) of the build */
	struct tls_cal_loc f[TLS_CAL_NFIELDS];
	bool from_cache;
	uint64_t elapsed_us;         /* time the calibration (or the cache lookup) took */
};

/* "version", "client_random", ... (the cache and JSON names). */
const char *tls_calibrate_field_name(enum tls_cal_field f);

/* Bytes read at a field's location: 4 (version, cipher id, in_init), 32 (client random),
 * else 48. */
size_t tls_calibrate_read_len(enum tls_cal_field f);

/*
 * Whether cal is usable for capture: version, cipher id and client random located, plus the
 * TLS 1.2 master key or the TLS 1.3 set (handshake secrets or both handshake hash and secret,
 * both application traffic secrets, exporter). A build with only one of the two protocol
 * versions calibrated still captures that one.
 */
bool tls_calibrate_usable(const struct tls_calibration *cal);
bool tls_calibrate_has_tls12(const struct tls_calibration *cal);
bool tls_calibrate_has_tls13(const struct tls_calibration *cal);

/*
 * Calibrates the libssl at path (cache_dir: a store directory whose calibration/ subdirectory
 * caches results, or NULL for none). Returns 0 with *out filled, or a negative errno with a
 * reason in err (-ENOENT no such file, -ENOEXEC not a loadable libssl, -ENODATA values not
 * found or not validated, -ETIMEDOUT the child hung).
 */
int tls_calibrate(const char *path, const char *cache_dir, struct tls_calibration *out,
		  char *err, size_t errlen);

/*
 * The same for a library already open (tls_lib.h) as fd; path names it in messages and in
 * *out, and leads to the libcrypto beside it.
 */
int tls_calibrate_fd(int fd, const char *path, const char *cache_dir,
		     struct tls_calibration *out, char *err, size_t errlen);

/*
 * Parses what the calibration child wrote (len bytes, not trusted: any bytes, any length).
 * 0 with *out filled (its path and build_id left empty), or -errno with a reason in err.
 */
int tls_calibrate_parse_answer(const char *buf, size_t len, struct tls_calibration *out,
			       char *err, size_t errlen);

struct sandbox_result;
/* Runs the calibration child in the sandbox: fds[0] the libssl, fds[1] its libcrypto. */
int tls_calibrate_child_run(const int *fds, unsigned nfds, struct sandbox_result *res);

/* The hex NT_GNU_BUILD_ID of an ELF file. 0, -ENODATA (no note) or -errno. */
int tls_calibrate_build_id(const char *path, char *hex, size_t hexlen);
int tls_calibrate_build_id_fd(int fd, char *hex, size_t hexlen);

/* Writes cal in the cache format, or as one JSON object when json. 0 or -errno. */
int tls_calibrate_write(const struct tls_calibration *cal, FILE *f, bool json);

/*
 * Parses the cache format from text (NUL-terminated). 0, or -EINVAL with the line number of
 * the first bad line in *bad_line.
 */
int tls_calibrate_parse(const char *text, struct tls_calibration *out, int *bad_line);

/*
 * The work of the child: loads the library (and crypto_path first when not NULL) into the
 * calling process and runs it. Only for the sandboxed child: it runs foreign code.
 */
int tls_calibrate_in_process(const char *path, const char *crypto_path,
			     struct tls_calibration *out, char *err, size_t errlen);

#endif
