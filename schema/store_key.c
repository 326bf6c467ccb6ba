// SPDX-License-Identifier: GPL-2.0-only
/*
 * store_key.c - the store's Ed25519 key of store_key.h: making it (EVP_PKEY_ED25519), its two
 * PEM files written whole through a temporary name and a rename (a crash leaves the old file
 * or the new one, never half of one), loading them with O_NOFOLLOW relative to the store's
 * directory descriptor, signing and verifying (EVP_DigestSign/Verify: Ed25519 takes the whole
 * message, no separate digest).
 */
#include "store_key.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"
#include "sha256.h"

void store_key_free(struct store_key *k)
{
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}

void store_key_fp_text(const uint8_t fp[32], char out[STORE_KEY_FP_TEXT])
{
	memcpy(out, "SHA256:", 7);
	*hex_encode(fp, 32, out + 7) = 0;
}

/* Fill pub and fp from k->pkey. */
static int set_public(struct store_key *k)
{
	size_t n = STORE_KEY_RAW_LEN;
	if (EVP_PKEY_get_base_id(k->pkey) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(k->pkey, k->pub, &n) != 1 || n != STORE_KEY_RAW_LEN)
		return -EINVAL;
	return sha256_once(k->pub, STORE_KEY_RAW_LEN, k->fp);
}

int store_key_from_raw(const uint8_t pub[STORE_KEY_RAW_LEN], struct store_key *k)
{
	ecap_crypto_init();
	memset(k, 0, sizeof(*k));
	k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, STORE_KEY_RAW_LEN);
	if (!k->pkey)
		return -EINVAL;
	return set_public(k);
}

/* Open name under dirfd for reading, refusing symlinks; a FILE for PEM_read_*. */
static FILE *open_read(int dirfd, const char *name, char *err, size_t errlen)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", name, e == ELOOP ? "is a symlink" : strerror(e));
		errno = e;
		return NULL;
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		close(fd);
	}
	return f;
}

/*
 * The PKCS#8 form OpenSSL writes for an Ed25519 private key (RFC 8410): this DER prefix, then
 * the 32-byte seed. Read straight into a key, it skips OpenSSL's decoder search, which cost
 * about 2 ms of each export's start (the proof signs every export).
 */
static const uint8_t ed25519_pkcs8_prefix[16] = { 0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05,
						  0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
						  0x04, 0x20 };

/* A "PRIVATE KEY" PEM of exactly that form: its key; NULL for anything else (the caller
 * then asks PEM_read_PrivateKey, which reads every form). */
static EVP_PKEY *read_ed25519_pkcs8(FILE *f)
{
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	long len = 0;
	EVP_PKEY *pkey = NULL;
	if (PEM_read(f, &name, &header, &der, &len) == 1 && !strcmp(name, "PRIVATE KEY") &&
	    !*header && len == (long)sizeof(ed25519_pkcs8_prefix) + STORE_KEY_RAW_LEN &&
	    !memcmp(der, ed25519_pkcs8_prefix, sizeof(ed25519_pkcs8_prefix)))
		pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
						    der + sizeof(ed25519_pkcs8_prefix),
						    STORE_KEY_RAW_LEN);
	if (der)
		OPENSSL_cleanse(der, (size_t)len);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	return pkey;
}

int store_key_load_private(int dirfd, struct store_key *k, char *err, size_t errlen)
{
	ecap_crypto_init();
	memset(k, 0, sizeof(*k));
	FILE *f = open_read(dirfd, STORE_KEY_NAME, err, errlen);
	if (!f)
		return errno == ENOENT ? -ENOENT : -EACCES;
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
		snprintf(err, errlen, "%s: mode %04o: a private key must be readable by its owner "
			 "only", STORE_KEY_NAME, st.st_mode & 07777);
		fclose(f);
		return -EPERM;
	}
	k->pkey = read_ed25519_pkcs8(f);
	if (!k->pkey) {
		rewind(f);
		k->pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	}
	fclose(f);
	if (!k->pkey || set_public(k)) {
		snprintf(err, errlen, "%s: not an Ed25519 private key in PEM", STORE_KEY_NAME);
		store_key_free(k);
		return -EBADMSG;
	}
	k->has_private = true;
	return 0;
}

int store_key_load_public(int dirfd, const char *name, struct store_key *k, char *err,
			  size_t errlen)
{
	ecap_crypto_init();
	memset(k, 0, sizeof(*k));
	FILE *f = open_read(dirfd, name, err, errlen);
	if (!f)
		return errno == ENOENT ? -ENOENT : -EACCES;
	k->pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	if (!k->pkey) {
		rewind(f);
		k->pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	}
	fclose(f);
	if (!k->pkey || set_public(k)) {
		snprintf(err, errlen, "%s: not an Ed25519 public key in PEM", name);
		store_key_free(k);
		return -EBADMSG;
	}
	return 0;
}

/* Write a PEM file whole: NAME.tmp (0600, new), fsync, rename over name. */
static int write_pem(int dirfd, const char *name, EVP_PKEY *pkey, bool private_half, char *err,
		     size_t errlen)
{
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	unlinkat(dirfd, tmp, 0);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -errno;
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	int ok = private_half ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL)
			      : PEM_write_PUBKEY(f, pkey);
	int e = 0;
	if (!ok || fflush(f) || fsync(fd))
		e = ok ? -errno : -EIO;
	if (fclose(f) && !e)
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
	memset(k, 0, sizeof(*k));
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *p = NULL;
	if (!c || EVP_PKEY_keygen_init(c) != 1 || EVP_PKEY_keygen(c, &p) != 1) {
		EVP_PKEY_CTX_free(c);
		return -ENOMEM;
	}
	EVP_PKEY_CTX_free(c);
	k->pkey = p;
	k->has_private = true;
	return set_public(k);
}

int store_key_ensure(int dirfd, struct store_key *k, bool *created, bool *pub_differs,
		     char *err, size_t errlen)
{
	ecap_crypto_init();
	*created = *pub_differs = false;
	int e = store_key_load_private(dirfd, k, err, errlen);
	if (e == -ENOENT) {
		if ((e = generate(k))) {
			snprintf(err, errlen, "%s: cannot make an Ed25519 key", STORE_KEY_NAME);
			return e;
		}
		/* the public half first: a private key never exists without it */
		if ((e = write_pem(dirfd, STORE_PUB_NAME, k->pkey, false, err, errlen)) ||
		    (e = write_pem(dirfd, STORE_KEY_NAME, k->pkey, true, err, errlen))) {
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
		return write_pem(dirfd, STORE_PUB_NAME, k->pkey, false, err, errlen);
	*pub_differs = e || memcmp(pub.pub, k->pub, STORE_KEY_RAW_LEN) != 0;
	store_key_free(&pub);
	return 0;
}

int store_key_sign(const struct store_key *k, const void *msg, size_t len,
		   uint8_t sig[STORE_KEY_SIG_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t n = STORE_KEY_SIG_LEN;
	int ok = c && k->has_private && EVP_DigestSignInit(c, NULL, NULL, NULL, k->pkey) == 1 &&
		 EVP_DigestSign(c, sig, &n, msg, len) == 1 && n == STORE_KEY_SIG_LEN;
	EVP_MD_CTX_free(c);
	return ok ? 0 : -EINVAL;
}

int store_key_verify(const struct store_key *k, const void *msg, size_t len,
		     const uint8_t sig[STORE_KEY_SIG_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, k->pkey) == 1 &&
		 EVP_DigestVerify(c, sig, STORE_KEY_SIG_LEN, msg, len) == 1;
	EVP_MD_CTX_free(c);
	return ok ? 0 : -EBADMSG;
}
