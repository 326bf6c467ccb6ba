// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_tls_calibrate.c - calibration of OpenSSL builds (recorder/tls_calibrate.h) and the
 * TLS 1.3 key derivation it relies on (recorder/tls_hkdf.h).
 *
 * Calibrates the system's libssl.so.3, then runs a fresh handshake through that library and
 * reads every located field the way the uprobes do (follow the pointers, read at the offset):
 * each must hold what the library itself reports (SSL_get_client_random, the master key, the
 * keylog callback's secrets, CLIENT/SERVER_HANDSHAKE_TRAFFIC_SECRET derived from the handshake
 * secret and hash). Also: RFC 8448 vectors for HKDF-Expand-Label, the build-id reader on a
 * hand-made ELF file, the cache format and the cache itself, and libraries that are not libssl.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "le.h"
#include "tls_calib_ossl.h"
#include "tls_calibrate.h"
#include "tls_hkdf.h"
#include "tls_lib.h"

static int unhex(const char *s, uint8_t *out, size_t n)
{
	size_t i;
	unsigned v;

	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* RFC 8448 section 3, "Simple 1-RTT Handshake": derive handshake traffic secrets. */
static void test_hkdf_rfc8448(void **state)
{
	uint8_t hs[32], hash[32], want[32], got[32];

	assert_int_equal(unhex("1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac",
			       hs, 32), 0);
	assert_int_equal(unhex("860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8",
			       hash, 32), 0);
	assert_int_equal(tls_hkdf_expand_label(32, hs, "c hs traffic", hash, 32, got, 32), 0);
	unhex("b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21", want, 32);
	assert_memory_equal(got, want, 32);
	assert_int_equal(tls_hkdf_expand_label(32, hs, "s hs traffic", hash, 32, got, 32), 0);
	unhex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38", want, 32);
	assert_memory_equal(got, want, 32);
	/* both under one key, as the recorder derives a handshake's pair */
	static const char *const labels[2] = { "c hs traffic", "s hs traffic" };
	uint8_t pair[64];

	assert_int_equal(tls_hkdf_expand_labels(32, hs, labels, 2, hash, 32, pair, 32), 0);
	unhex("b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21", want, 32);
	assert_memory_equal(pair, want, 32);
	unhex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38", want, 32);
	assert_memory_equal(pair + 32, want, 32);
	/* bad lengths */
	assert_int_equal(tls_hkdf_expand_labels(48, hs, labels, 2, hash, 32, pair, 49), -EINVAL);
	assert_int_equal(tls_hkdf_expand_label(20, hs, "x", hash, 32, got, 20), -EINVAL);
	assert_int_equal(tls_hkdf_expand_label(32, hs, "x", hash, 32, got, 33), -EINVAL);
	assert_int_equal(tls_hkdf_suite_hash_len(0x03001301), 32);
	assert_int_equal(tls_hkdf_suite_hash_len(0x03001302), 48);
	assert_int_equal(tls_hkdf_suite_hash_len(0x03001303), 32);
	assert_int_equal(tls_hkdf_suite_hash_len(0x0300C02F), 0);
}

/* SHA-384 (TLS_AES_256_GCM_SHA384): the pair under one key against libcrypto's one-shot HMAC
 * over HkdfLabel || 0x01 built here by hand. */
static void test_hkdf_sha384(void **state)
{
	static const char *const labels[2] = { "c hs traffic", "s hs traffic" };
	uint8_t secret[48], context[48], pair[96], info[128], want[64];
	unsigned int len;
	size_t i, n;

	for (i = 0; i < 48; i++) {
		secret[i] = (uint8_t)(i * 7 + 1);
		context[i] = (uint8_t)(0xa0 ^ i);
	}
	assert_int_equal(tls_hkdf_expand_labels(48, secret, labels, 2, context, 48, pair, 48), 0);
	for (i = 0; i < 2; i++) {
		n = 0;
		info[n++] = 0;
		info[n++] = 48;
		info[n++] = (uint8_t)(6 + strlen(labels[i]));
		memcpy(info + n, "tls13 ", 6);
		n += 6;
		memcpy(info + n, labels[i], strlen(labels[i]));
		n += strlen(labels[i]);
		info[n++] = 48;
		memcpy(info + n, context, 48);
		n += 48;
		info[n++] = 1;
		assert_non_null(HMAC(EVP_sha384(), secret, 48, info, n, want, &len));
		assert_int_equal(len, 48);
		assert_memory_equal(pair + 48 * i, want, 48);
	}
	/* one label alone gives the same */
	assert_int_equal(tls_hkdf_expand_label(48, secret, labels[1], context, 48, want, 48), 0);
	assert_memory_equal(pair + 48, want, 48);
}

static int system_libssl(char *out, size_t len)
{
	struct link_map *lm = NULL;
	void *h = dlopen("libssl.so.3", RTLD_LAZY | RTLD_LOCAL);

	if (!h)
		return -1;
	if (dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0 || !lm || !realpath(lm->l_name, out)) {
		dlclose(h);
		return -1;
	}
	dlclose(h);
	return 0;
}

/* Reads a field of ssl through its location, as bpf/openssl.bpf.c does. */
static void read_field(const void *ssl, const struct tls_cal_loc *loc, void *out, size_t len)
{
	const uint8_t *base = ssl;
	unsigned i;

	assert_true(loc->found);
	for (i = 0; i < loc->nderef; i++) {
		memcpy(&base, base + loc->ptr[i], sizeof(base));
		assert_non_null(base);
	}
	memcpy(out, base + loc->off, len);
}

static void check_session(const struct tls_calibration *cal, const struct ossl_hs *hs,
			  const void *ssl)
{
	uint8_t buf[64], hsec[64], hash[64], d[64];
	uint32_t v;

	read_field(ssl, &cal->f[TLS_CAL_VERSION], buf, 4);
	v = le32_load(buf);
	assert_int_equal(v, hs->version);
	read_field(ssl, &cal->f[TLS_CAL_CIPHER_ID], buf, 4);
	assert_int_equal(le32_load(buf), hs->cipher_id);
	read_field(ssl, &cal->f[TLS_CAL_CLIENT_RANDOM], buf, 32);
	assert_memory_equal(buf, hs->client_random, 32);
	read_field(ssl, &cal->f[TLS_CAL_IN_INIT], buf, 4);
	assert_int_equal(le32_load(buf), 0);
	if (hs->version == 0x0303) {
		read_field(ssl, &cal->f[TLS_CAL_MASTER_KEY], buf, 48);
		assert_memory_equal(buf, hs->master_key, 48);
		assert_true(hs->has_keylog & 1);
		assert_memory_equal(buf, hs->keylog_master, 48);
		return;
	}
	assert_int_equal(v, 0x0304);
	assert_int_equal(hs->has_keylog & 62, 62);
	assert_int_equal(hs->hash_len, tls_hkdf_suite_hash_len(hs->cipher_id));
	read_field(ssl, &cal->f[TLS_CAL_CLIENT_APP_TRAFFIC], buf, hs->hash_len);
	assert_memory_equal(buf, hs->cats, hs->hash_len);
	read_field(ssl, &cal->f[TLS_CAL_SERVER_APP_TRAFFIC], buf, hs->hash_len);
	assert_memory_equal(buf, hs->sats, hs->hash_len);
	read_field(ssl, &cal->f[TLS_CAL_EXPORTER], buf, hs->hash_len);
	assert_memory_equal(buf, hs->exporter, hs->hash_len);
	read_field(ssl, &cal->f[TLS_CAL_HS_SECRET], hsec, hs->hash_len);
	read_field(ssl, &cal->f[TLS_CAL_HS_HASH], hash, hs->hash_len);
	assert_int_equal(tls_hkdf_expand_label(hs->hash_len, hsec, "c hs traffic", hash,
					       hs->hash_len, d, hs->hash_len), 0);
	assert_memory_equal(d, hs->chts, hs->hash_len);
	assert_int_equal(tls_hkdf_expand_label(hs->hash_len, hsec, "s hs traffic", hash,
					       hs->hash_len, d, hs->hash_len), 0);
	assert_memory_equal(d, hs->shts, hs->hash_len);
}

struct mid {
	const struct tls_calibration *cal;
	unsigned hits;
};

/* In the middle of a handshake the located handshake state says so, on both sides. */
static void midpoint(void *arg, const struct ossl_hs *hs)
{
	struct mid *m = arg;
	uint8_t buf[4];

	read_field(hs->client, &m->cal->f[TLS_CAL_IN_INIT], buf, 4);
	assert_int_not_equal(le32_load(buf), 0);
	read_field(hs->server, &m->cal->f[TLS_CAL_IN_INIT], buf, 4);
	assert_int_not_equal(le32_load(buf), 0);
	m->hits++;
}

static void test_calibrate_system(void **state)
{
	static const char *const suites[] = { NULL, "TLS_AES_128_GCM_SHA256",
					      "TLS_AES_256_GCM_SHA384",
					      "TLS_CHACHA20_POLY1305_SHA256" };
	struct tls_calibration cal;
	struct ossl_lib *l = NULL;
	struct ossl_hs hs;
	struct mid mid = { &cal, 0 };
	char path[PATH_MAX], crypto[PATH_MAX + 4], err[512] = "";
	unsigned i;
	int rc;

	if (system_libssl(path, sizeof(path)) < 0)
		skip();
	rc = tls_calibrate(path, NULL, &cal, err, sizeof(err));
	if (rc < 0)
		fail_msg("calibrating %s: %s", path, err);
	assert_true(tls_calibrate_usable(&cal));
	assert_true(tls_calibrate_has_tls12(&cal));
	assert_true(tls_calibrate_has_tls13(&cal));
	assert_false(cal.from_cache);
	assert_string_equal(cal.path, path);
	assert_true(strncmp(cal.library, "OpenSSL ", 8) == 0);
	print_message("calibrated %s (%s) in %.1f ms\n", path, cal.library,
		      (double)cal.elapsed_us / 1000.0);

	/* Fresh handshakes in this process, including a suite calibration did not use. */
	/* The system's own libssl, in this test's process (the recorder never does this). */
	snprintf(crypto, sizeof(crypto), "%.*slibcrypto%s", (int)(strrchr(path, '/') + 1 - path),
		 path, strrchr(path, '/') + 7);
	rc = ossl_lib_open(path, crypto, &l, err, sizeof(err));
	if (rc < 0)
		fail_msg("%s", err);
	ossl_hs_set_midpoint(l, midpoint, &mid);
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		rc = ossl_hs_run(l, suites[i], &hs, err, sizeof(err));
		if (rc < 0)
			fail_msg("%s", err);
		check_session(&cal, &hs, hs.client);
		check_session(&cal, &hs, hs.server);
		assert_int_equal(ossl_hs_exchange_data(l, &hs, err, sizeof(err)), 0);
		check_session(&cal, &hs, hs.client);
		check_session(&cal, &hs, hs.server);
		ossl_hs_free(l, &hs);
	}
	assert_int_equal(mid.hits, sizeof(suites) / sizeof(suites[0]));
}

static void test_not_libssl(void **state)
{
	struct tls_calibration cal;
	char err[512] = "";
	int rc;

	rc = tls_calibrate("/nonexistent/libssl.so.3", NULL, &cal, err, sizeof(err));
	assert_int_equal(rc, -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/libssl.so.3"));
	/* libcrypto loads but has no SSL_new: reported by path */
	err[0] = '\0';
	rc = tls_calibrate("/etc/hostname", NULL, &cal, err, sizeof(err));
	assert_int_equal(rc, -ENOEXEC);
	assert_non_null(strstr(err, "/etc/hostname"));
}

/* A minimal ELF64 file: header, one PT_NOTE program header, the note. */
static void write_elf(const char *path, bool with_note)
{
	uint8_t f[64 + 56 + 36] = { 0 };
	uint8_t *ph = f + 64, *note = ph + 56;
	int fd;

	memcpy(f, "\177ELF", 4);
	f[4] = 2;
	f[5] = 1;
	f[6] = 1;
	le64_store(f + 0x20, 64);
	le16_store(f + 0x36, 56);
	le16_store(f + 0x38, 1);
	le32_store(ph, with_note ? 4 : 1);
	le64_store(ph + 8, 64 + 56);
	le64_store(ph + 0x20, 36);
	le32_store(note, 4);
	le32_store(note + 4, 20);
	le32_store(note + 8, 3);
	memcpy(note + 12, "GNU", 4);
	for (int i = 0; i < 20; i++)
		note[16 + i] = (uint8_t)(0xa0 + i);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, f, sizeof(f)), (ssize_t)sizeof(f));
	close(fd);
}

static void test_build_id(void **state)
{
	char dir[] = "/tmp/test_tls_calibrate.XXXXXX", path[PATH_MAX], hex[129];

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/lib.so", dir);
	write_elf(path, true);
	assert_int_equal(tls_calibrate_build_id(path, hex, sizeof(hex)), 0);
	assert_string_equal(hex, "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3");
	assert_int_equal(tls_calibrate_build_id(path, hex, 20), -ENODATA); /* too small */
	write_elf(path, false);
	assert_int_equal(tls_calibrate_build_id(path, hex, sizeof(hex)), -ENODATA);
	assert_int_equal(tls_calibrate_build_id("/etc/hostname", hex, sizeof(hex)), -ENODATA);
	assert_int_equal(tls_calibrate_build_id("/nonexistent", hex, sizeof(hex)), -ENOENT);
	unlink(path);
	rmdir(dir);
}

static void test_format_roundtrip(void **state)
{
	struct tls_calibration a = { 0 }, b;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int bad = 0;

	snprintf(a.path, sizeof(a.path), "/opt/x/libssl.so.3");
	snprintf(a.build_id, sizeof(a.build_id), "0123abcd");
	snprintf(a.library, sizeof(a.library), "OpenSSL 3.0.99 test");
	a.f[TLS_CAL_VERSION] = (struct tls_cal_loc){ true, 0, { 0, 0 }, 0 };
	a.f[TLS_CAL_CIPHER_ID] = (struct tls_cal_loc){ true, 2, { 2328, 496 }, 24 };
	a.f[TLS_CAL_MASTER_KEY] = (struct tls_cal_loc){ true, 1, { 2328, 0 }, 80 };
	f = open_memstream(&text, &len);
	assert_int_equal(tls_calibrate_write(&a, f, false), 0);
	fclose(f);
	assert_int_equal(tls_calibrate_parse(text, &b, &bad), 0);
	assert_string_equal(b.path, a.path);
	assert_string_equal(b.build_id, a.build_id);
	assert_string_equal(b.library, a.library);
	assert_memory_equal(b.f, a.f, sizeof(a.f));
	free(text);

	assert_int_equal(tls_calibrate_parse("ecap-calibration 2\nversion 0 0 0 0\nbogus 1\n", &b,
					     &bad), -EINVAL);
	assert_int_equal(bad, 3);
	assert_int_equal(tls_calibrate_parse("ecap-calibration 1\n", &b, &bad), -EINVAL);
	assert_int_equal(bad, 1);
	assert_int_equal(tls_calibrate_parse("ecap-calibration 2\nmaster_key 3 0 0 0\n", &b, &bad),
			 -EINVAL);
	assert_int_equal(bad, 2);
}

static void test_cache(void **state)
{
	char dir[] = "/tmp/test_tls_calibrate.XXXXXX", path[PATH_MAX], file[PATH_MAX * 2],
	     err[512], digest[TLS_LIB_DIGEST_HEX];
	struct tls_calibration a, b;
	struct stat st;
	int fd;

	if (system_libssl(path, sizeof(path)) < 0)
		skip();
	assert_non_null(mkdtemp(dir));
	assert_int_equal(tls_calibrate(path, dir, &a, err, sizeof(err)), 0);
	assert_false(a.from_cache);
	assert_true(a.build_id[0] != '\0');
	/* keyed by the file's content, not by its build-id (which any file can claim) */
	fd = tls_lib_open(path, 0, 0);
	assert_true(fd >= 0);
	assert_int_equal(tls_lib_digest(fd, digest), 0);
	close(fd);
	snprintf(file, sizeof(file), "%s/calibration/%s.txt", dir, digest);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(tls_calibrate(path, dir, &b, err, sizeof(err)), 0);
	assert_true(b.from_cache);
	assert_memory_equal(a.f, b.f, sizeof(a.f));
	/* A damaged cache entry is not trusted: calibrated again and rewritten. */
	fd = open(file, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "garbage\n", 8), 8);
	close(fd);
	assert_int_equal(tls_calibrate(path, dir, &b, err, sizeof(err)), 0);
	assert_false(b.from_cache);
	assert_memory_equal(a.f, b.f, sizeof(a.f));
	assert_int_equal(tls_calibrate(path, dir, &b, err, sizeof(err)), 0);
	assert_true(b.from_cache);
	unlink(file);
	snprintf(file, sizeof(file), "%s/calibration", dir);
	rmdir(file);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hkdf_rfc8448),
		cmocka_unit_test(test_hkdf_sha384),
		cmocka_unit_test(test_calibrate_system),
		cmocka_unit_test(test_not_libssl),
		cmocka_unit_test(test_build_id),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
