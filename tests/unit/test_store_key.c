// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_store_key.c - the store key on Nettle (schema/store_key.c, store_key_pem.c) against
 * OpenSSL, which wrote and read every store key before: a key ecap makes is read by OpenSSL
 * as the same key, and signs every message exactly as OpenSSL signs it with that key
 * (Ed25519 is deterministic); keys OpenSSL writes (PKCS#8, SubjectPublicKeyInfo, with text
 * around the PEM block) are read; a signature fails for an altered message or signature and
 * for another key; what is not an Ed25519 key of those forms is refused (an RSA key, an
 * encrypted key, a PKCS#8 v2 key whose public key is not its own, base64 broken, a block with
 * no end, an oversized file), as are a private key others may read and a symlink.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_key.h"
#include "store_key_pem.h"
#include "tmp_store.h"

static int dir_fd(const char *dir)
{
	mkdir(dir, 0700);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void put_file(int dfd, const char *name, const char *text, size_t len, mode_t mode)
{
	unlinkat(dfd, name, 0);
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* OpenSSL's PEM of pkey (private or public half) as text. */
static size_t openssl_pem(EVP_PKEY *pkey, bool private_half, char *out, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	assert_non_null(b);
	assert_int_equal(private_half ? PEM_write_bio_PrivateKey(b, pkey, NULL, NULL, 0, NULL, NULL)
				      : PEM_write_bio_PUBKEY(b, pkey), 1);
	int n = BIO_read(b, out, (int)cap - 1);
	assert_true(n > 0);
	out[n] = 0;
	BIO_free(b);
	return (size_t)n;
}

static EVP_PKEY *openssl_read(int dfd, const char *name, bool private_half)
{
	int fd = openat(dfd, name, O_RDONLY);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "r");
	EVP_PKEY *p = private_half ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
				   : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(p);
	return p;
}

static void test_made_key_is_openssls(void **state)
{
	struct fixture *f = *state;
	struct store_key k, pub;
	bool created, differs;
	char msg[256];
	int dfd = dir_fd(f->dir);
	assert_int_equal(store_key_ensure(dfd, &k, &created, &differs, msg, sizeof(msg)), 0);
	assert_true(created && k.has_private);

	/* both files read by OpenSSL as this very key */
	EVP_PKEY *priv = openssl_read(dfd, STORE_KEY_NAME, true);
	EVP_PKEY *opub = openssl_read(dfd, STORE_PUB_NAME, false);
	uint8_t raw[32];
	size_t n = sizeof(raw);
	assert_int_equal(EVP_PKEY_get_raw_public_key(opub, raw, &n), 1);
	assert_memory_equal(raw, k.pub, 32);
	n = sizeof(raw);
	assert_int_equal(EVP_PKEY_get_raw_public_key(priv, raw, &n), 1);
	assert_memory_equal(raw, k.pub, 32);

	/* the same signatures as OpenSSL's, of messages of every length up to 300 bytes */
	uint8_t m[300], ours[64], theirs[64];
	for (size_t i = 0; i < sizeof(m); i++)
		m[i] = (uint8_t)(i * 37 + 5);
	for (size_t len = 0; len <= sizeof(m); len += 23) {
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		size_t sl = sizeof(theirs);
		assert_int_equal(EVP_DigestSignInit(c, NULL, NULL, NULL, priv), 1);
		assert_int_equal(EVP_DigestSign(c, theirs, &sl, m, len), 1);
		EVP_MD_CTX_free(c);
		assert_int_equal(store_key_sign(&k, m, len, ours), 0);
		assert_memory_equal(ours, theirs, 64);
		assert_int_equal(store_key_verify(&k, m, len, ours), 0);
	}
	/* an altered message or signature, another key: refused */
	assert_int_equal(store_key_sign(&k, m, sizeof(m), ours), 0);
	m[7] ^= 1;
	assert_int_equal(store_key_verify(&k, m, sizeof(m), ours), -EBADMSG);
	m[7] ^= 1;
	ours[40] ^= 0x10;
	assert_int_equal(store_key_verify(&k, m, sizeof(m), ours), -EBADMSG);
	ours[40] ^= 0x10;
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	n = sizeof(raw);
	assert_int_equal(EVP_PKEY_get_raw_public_key(other, raw, &n), 1);
	assert_int_equal(store_key_from_raw(raw, &pub), 0);
	assert_int_equal(store_key_verify(&pub, m, sizeof(m), ours), -EBADMSG);
	/* a public key cannot sign */
	assert_int_equal(store_key_sign(&pub, m, sizeof(m), ours), -EINVAL);

	/* loaded again: the same key; the public file: the same key, no private half */
	store_key_free(&pub);
	assert_int_equal(store_key_ensure(dfd, &pub, &created, &differs, msg, sizeof(msg)), 0);
	assert_false(created || differs);
	assert_memory_equal(pub.fp, k.fp, 32);
	store_key_free(&pub);
	assert_int_equal(store_key_load_public(dfd, STORE_PUB_NAME, &pub, msg, sizeof(msg)), 0);
	assert_memory_equal(pub.fp, k.fp, 32);
	assert_false(pub.has_private);
	store_key_free(&pub);
	EVP_PKEY_free(other);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(opub);
	store_key_free(&k);
	close(dfd);
}

static void test_reads_openssls_keys(void **state)
{
	struct fixture *f = *state;
	struct store_key k, pub;
	char msg[256], pem[1024], text[1200];
	int dfd = dir_fd(f->dir);
	EVP_PKEY *p = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	uint8_t raw[32], sig[64], osig[64];
	size_t n = sizeof(raw);
	assert_int_equal(EVP_PKEY_get_raw_public_key(p, raw, &n), 1);

	/* with text around the block, as `openssl pkey -text` writes */
	size_t l = openssl_pem(p, true, pem, sizeof(pem));
	int tl = snprintf(text, sizeof(text), "ED25519 Private-Key:\r\n%.*sPublic key follows\n",
			  (int)l, pem);
	put_file(dfd, STORE_KEY_NAME, text, (size_t)tl, 0600);
	assert_int_equal(store_key_load_private(dfd, &k, msg, sizeof(msg)), 0);
	assert_memory_equal(k.pub, raw, 32);
	assert_int_equal(store_key_sign(&k, "proof", 5, sig), 0);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	n = sizeof(osig);
	assert_int_equal(EVP_DigestSignInit(c, NULL, NULL, NULL, p), 1);
	assert_int_equal(EVP_DigestSign(c, osig, &n, (const uint8_t *)"proof", 5), 1);
	EVP_MD_CTX_free(c);
	assert_memory_equal(sig, osig, 64);
	/* the private key file read for its public half */
	assert_int_equal(store_key_load_public(dfd, STORE_KEY_NAME, &pub, msg, sizeof(msg)), 0);
	assert_memory_equal(pub.fp, k.fp, 32);
	assert_false(pub.has_private);
	store_key_free(&pub);

	l = openssl_pem(p, false, pem, sizeof(pem));
	put_file(dfd, STORE_PUB_NAME, pem, l, 0644);
	assert_int_equal(store_key_load_public(dfd, STORE_PUB_NAME, &pub, msg, sizeof(msg)), 0);
	assert_memory_equal(pub.pub, raw, 32);
	assert_int_equal(store_key_verify(&pub, "proof", 5, osig), 0);
	store_key_free(&pub);

	/* PKCS#8 version 2 (the public key inside): read when the key is its own, else not */
	uint8_t der[83] = { 0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65,
			    0x70, 0x04, 0x22, 0x04, 0x20 };
	n = 32;
	assert_int_equal(EVP_PKEY_get_raw_private_key(p, der + 16, &n), 1);
	memcpy(der + 48, "\x81\x21\x00", 3);
	memcpy(der + 51, raw, 32);
	l = pem_write_block(PEM_PRIVATE_LABEL, der, sizeof(der), pem, sizeof(pem));
	assert_true(l > 0);
	put_file(dfd, STORE_KEY_NAME, pem, l, 0600);
	store_key_free(&k);
	assert_int_equal(store_key_load_private(dfd, &k, msg, sizeof(msg)), 0);
	assert_memory_equal(k.pub, raw, 32);
	der[60] ^= 1;
	l = pem_write_block(PEM_PRIVATE_LABEL, der, sizeof(der), pem, sizeof(pem));
	put_file(dfd, STORE_KEY_NAME, pem, l, 0600);
	store_key_free(&k);
	assert_int_equal(store_key_load_private(dfd, &k, msg, sizeof(msg)), -EBADMSG);
	assert_non_null(strstr(msg, "not an Ed25519 private key"));
	store_key_free(&k);
	EVP_PKEY_free(p);
	close(dfd);
}

static void test_refuses_others(void **state)
{
	struct fixture *f = *state;
	struct store_key k;
	char msg[256], pem[4096];
	int dfd = dir_fd(f->dir);
	static const char *const bad[] = {
		"", /* empty */
		"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
		"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI!!\n-----END PRIVATE KEY-----\n",
		"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIEMEdn79ZHFXaqu1vrn0P9kwI8cBTWvHFZ47yITdOVRP\n",
		"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIEMEdn79ZHFXaqu1vrn0P9kwI8cBTWvHFZ47yITdOVRP\n-----END ENCRYPTED PRIVATE KEY-----\n",
		"-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nMC4CAQAwBQYDK2VwBCIEIEMEdn79ZHFXaqu1vrn0P9kwI8cBTWvHFZ47yITdOVRP\n-----END PRIVATE KEY-----\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_file(dfd, STORE_KEY_NAME, bad[i], strlen(bad[i]), 0600);
		assert_int_equal(store_key_load_private(dfd, &k, msg, sizeof(msg)), -EBADMSG);
		assert_false(k.has_private);
	}
	/* the good one of the lines above, to show that the refusals were of the changes */
	const char *good = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIEMEdn79ZHFXaqu1vrn0"
			   "P9kwI8cBTWvHFZ47yITdOVRP\n-----END PRIVATE KEY-----\n";
	put_file(dfd, STORE_KEY_NAME, good, strlen(good), 0600);
	assert_int_equal(store_key_load_private(dfd, &k, msg, sizeof(msg)), 0);
	store_key_free(&k);

	/* an RSA key, in the same armour */
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	size_t l = openssl_pem(rsa, true, pem, sizeof(pem));
	put_file(dfd, STORE_KEY_NAME, pem, l, 0600);
	assert_int_equal(store_key_load_private(dfd, &k, msg, sizeof(msg)), -EBADMSG);
	l = openssl_pem(rsa, false, pem, sizeof(pem));
	put_file(dfd, STORE_PUB_NAME, pem, l, 0644);
	assert_int_equal(store_key_load_public(dfd, STORE_PUB_NAME, &k, msg, sizeof(msg)),
			 -EBADMSG);
	EVP_PKEY_free(rsa);

	/* a file longer than any key file */
	char *big = malloc(STORE_KEY_FILE_MAX + 100);
	memset(big, '\n', STORE_KEY_FILE_MAX + 100);
	memcpy(big, good, strlen(good));
	put_file(dfd, STORE_KEY_NAME, big, STORE_KEY_FILE_MAX + 100, 0600);
	assert_int_equal(store_key_load_private(dfd, &k, msg, sizeof(msg)), -EBADMSG);
	free(big);

	/* readable by others; a symlink; none */
	put_file(dfd, STORE_KEY_NAME, good, strlen(good), 0640);
	assert_int_equal(store_key_load_private(dfd, &k, msg, sizeof(msg)), -EPERM);
	assert_non_null(strstr(msg, "mode 0640"));
	put_file(dfd, "real.key", good, strlen(good), 0600);
	unlinkat(dfd, STORE_KEY_NAME, 0);
	assert_int_equal(symlinkat("real.key", dfd, STORE_KEY_NAME), 0);
	assert_int_equal(store_key_load_private(dfd, &k, msg, sizeof(msg)), -EACCES);
	assert_non_null(strstr(msg, "symlink"));
	unlinkat(dfd, STORE_KEY_NAME, 0);
	assert_int_equal(store_key_load_private(dfd, &k, msg, sizeof(msg)), -ENOENT);
	close(dfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_made_key_is_openssls, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_reads_openssls_keys, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_refuses_others, tmp_store_setup,
						tmp_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
