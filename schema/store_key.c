// SPDX-License-Identifier: GPL-2.0-only
/*
 * store_key.c - the store's Ed25519 key of store_key.h on Nettle (libhogweed's
 * ed25519_sha512_*, RFC 8032): making it (32 bytes from getrandom), its two PEM files
 * (store_key_pem.c) written whole through a temporary name and a rename (a crash leaves the
 * old file or the new one, never half of one), loading them with O_NOFOLLOW relative to the
 * store's directory descriptor, signing and verifying. Not libcrypto: OpenSSL 3 fetches its
 * algorithms through providers and name tables that it builds at the first use, 6 M
 * instructions of every export's start for one key and one signature (BENCHMARKS section 10).
 * Ed25519 signatures are deterministic, so the same key signs the same bytes the same way
 * with either library (test_store_key checks it against OpenSSL).
 */
#include "store_key.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/eddsa.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"
#include "sha256.h"
#include "store_key_pem.h"

void store_key_free(struct store_key *k)
{
	explicit_bzero(k, sizeof(*k));
}

void store_key_fp_text(const uint8_t fp[32], char out[STORE_KEY_FP_TEXT])
{
	memcpy(out, "SHA256:", 7);
	*hex_encode(fp, 32, out + 7) = 0;
}

static int set_fingerprint(struct store_key *k)
{
	k->loaded = true;
	return sha256_once(k->pub, STORE_KEY_RAW_LEN, k->fp);
}

int store_key_from_raw(const uint8_t pub[STORE_KEY_RAW_LEN], struct store_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->pub, pub, STORE_KEY_RAW_LEN);
	return set_fingerprint(k);
}

/* The private half: its public key derived from the seed (one that the file also holds must
 * be the same). */
static int set_private(struct store_key *k, const uint8_t seed[32], const uint8_t *pub_in_file)
{
	memcpy(k->seed, seed, STORE_KEY_RAW_LEN);
	ed25519_sha512_public_key(k->pub, k->seed);
	if (pub_in_file && memcmp(pub_in_file, k->pub, STORE_KEY_RAW_LEN))
		return -EBADMSG;
	k->has_private = true;
	return set_fingerprint(k);
}

/* dirfd's file name, whole (at most STORE_KEY_FILE_MAX bytes), refusing symlinks; with
 * private_half, refusing a file others may read. Its length, or -errno with a message. */
static ssize_t read_key_file(int dirfd, const char *name, bool private_half, char *text,
			     char *err, size_t errlen)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", name, e == ELOOP ? "is a symlink" : strerror(e));
		return e == ENOENT ? -ENOENT : -EACCES;
	}
	ssize_t n = -EACCES;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", name);
	} else if (private_half && (st.st_mode & 077)) {
		snprintf(err, errlen, "%s: mode %04o: a private key must be readable by its owner "
			 "only", name, st.st_mode & 07777);
		n = -EPERM;
	} else if (st.st_size > STORE_KEY_FILE_MAX) {
		snprintf(err, errlen, "%s: %lld bytes: longer than a key file (%d at most)", name,
			 (long long)st.st_size, STORE_KEY_FILE_MAX);
		n = -EBADMSG;
	} else {
		size_t got = 0;
		ssize_t r = 1;
		while (got < STORE_KEY_FILE_MAX && (r = read(fd, text + got,
							     STORE_KEY_FILE_MAX - got)) > 0)
			got += (size_t)r;
		n = r < 0 ? -EIO : (ssize_t)got;
		if (r < 0)
			snprintf(err, errlen, "%s: %s", name, strerror(errno));
	}
	close(fd);
	return n;
}

/* A private key in text: 0, or -EBADMSG (-ENOENT: no private key block). */
static int parse_private(const char *text, size_t len, struct store_key *k)
{
	uint8_t der[128], seed[32], pub[32];
	size_t n;
	bool has_pub;
	int e = pem_find_block(text, len, PEM_PRIVATE_LABEL, der, sizeof(der), &n);
	if (!e)
		e = der_ed25519_private(der, n, seed, pub, &has_pub);
	if (!e)
		e = set_private(k, seed, has_pub ? pub : NULL);
	explicit_bzero(der, sizeof(der));
	explicit_bzero(seed, sizeof(seed));
	return e;
}

int store_key_load_private(int dirfd, struct store_key *k, char *err, size_t errlen)
{
	char text[STORE_KEY_FILE_MAX];
	memset(k, 0, sizeof(*k));
	ssize_t n = read_key_file(dirfd, STORE_KEY_NAME, true, text, err, errlen);
	if (n < 0)
		return (int)n;
	int e = parse_private(text, (size_t)n, k);
	explicit_bzero(text, sizeof(text));
	if (e) {
		snprintf(err, errlen, "%s: not an Ed25519 private key in PEM (PKCS#8)",
			 STORE_KEY_NAME);
		store_key_free(k);
		return -EBADMSG;
	}
	return 0;
}

int store_key_load_public(int dirfd, const char *name, struct store_key *k, char *err,
			  size_t errlen)
{
	char text[STORE_KEY_FILE_MAX];
	uint8_t der[128];
	size_t dl;
	memset(k, 0, sizeof(*k));
	ssize_t n = read_key_file(dirfd, name, false, text, err, errlen);
	if (n < 0)
		return (int)n;
	int e = pem_find_block(text, (size_t)n, PEM_PUBLIC_LABEL, der, sizeof(der), &dl);
	if (!e)
		e = der_ed25519_public(der, dl, k->pub) ? -EBADMSG : set_fingerprint(k);
	else if (e == -ENOENT && !(e = parse_private(text, (size_t)n, k)))
		k->has_private = false; /* only its public half is asked for */
	explicit_bzero(text, sizeof(text));
	if (e) {
		snprintf(err, errlen, "%s: not an Ed25519 public key in PEM", name);
		store_key_free(k);
		return -EBADMSG;
	}
	explicit_bzero(k->seed, sizeof(k->seed));
	return 0;
}

/* Write a PEM file whole: NAME.tmp (0600, new), fsync, rename over name. */
static int write_pem(int dirfd, const char *name, const struct store_key *k, bool private_half,
		     char *err, size_t errlen)
{
	char tmp[64], pem[STORE_KEY_PEM_MAX];
	uint8_t der[DER_ED25519_PRIVATE_LEN];
	size_t n;
	if (private_half) {
		der_ed25519_private_write(k->seed, der);
		n = pem_write_block(PEM_PRIVATE_LABEL, der, DER_ED25519_PRIVATE_LEN, pem,
				    sizeof(pem));
	} else {
		der_ed25519_public_write(k->pub, der);
		n = pem_write_block(PEM_PUBLIC_LABEL, der, DER_ED25519_PUBLIC_LEN, pem, sizeof(pem));
	}
	explicit_bzero(der, sizeof(der));
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	unlinkat(dirfd, tmp, 0);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		explicit_bzero(pem, sizeof(pem));
		return -errno;
	}
	int e = 0;
	if (!n || write(fd, pem, n) != (ssize_t)n || fsync(fd))
		e = n ? -errno : -EINVAL;
	explicit_bzero(pem, sizeof(pem));
	if (close(fd) && !e)
		e = -errno;
	if (!e && renameat(dirfd, tmp, dirfd, name))
		e = -errno;
	if (e) {
		snprintf(err, errlen, "%s: writing the store key: %s", name, strerror(-e));
		unlinkat(dirfd, tmp, 0);
		return e;
	}
	fsync(dirfd);
	return 0;
}

static int generate(struct store_key *k)
{
	uint8_t seed[32];
	size_t got = 0;
	memset(k, 0, sizeof(*k));
	while (got < sizeof(seed)) {
		ssize_t r = getrandom(seed + got, sizeof(seed) - got, 0);
		if (r < 0 && errno != EINTR)
			return -errno;
		got += r > 0 ? (size_t)r : 0;
	}
	int e = set_private(k, seed, NULL);
	explicit_bzero(seed, sizeof(seed));
	return e;
}

int store_key_ensure(int dirfd, struct store_key *k, bool *created, bool *pub_differs,
		     char *err, size_t errlen)
{
	*created = *pub_differs = false;
	int e = store_key_load_private(dirfd, k, err, errlen);
	if (e == -ENOENT) {
		if ((e = generate(k))) {
			snprintf(err, errlen, "%s: cannot make an Ed25519 key: %s", STORE_KEY_NAME,
				 strerror(-e));
			return e;
		}
		/* the public half first: a private key never exists without it */
		if ((e = write_pem(dirfd, STORE_PUB_NAME, k, false, err, errlen)) ||
		    (e = write_pem(dirfd, STORE_KEY_NAME, k, true, err, errlen))) {
			store_key_free(k);
			return e;
		}
		*created = true;
		return 0;
	}
	if (e)
		return e;
	struct store_key pub;
	char perr[128];
	e = store_key_load_public(dirfd, STORE_PUB_NAME, &pub, perr, sizeof(perr));
	if (e == -ENOENT)
		return write_pem(dirfd, STORE_PUB_NAME, k, false, err, errlen);
	*pub_differs = e || memcmp(pub.pub, k->pub, STORE_KEY_RAW_LEN) != 0;
	store_key_free(&pub);
	return 0;
}

int store_key_sign(const struct store_key *k, const void *msg, size_t len,
		   uint8_t sig[STORE_KEY_SIG_LEN])
{
	if (!k->has_private)
		return -EINVAL;
	ed25519_sha512_sign(k->pub, k->seed, len, msg, sig);
	return 0;
}

int store_key_verify(const struct store_key *k, const void *msg, size_t len,
		     const uint8_t sig[STORE_KEY_SIG_LEN])
{
	return k->loaded && ed25519_sha512_verify(k->pub, len, msg, sig) ? 0 : -EBADMSG;
}
