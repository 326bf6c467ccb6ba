// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_store_key.c - libFuzzer target for the store key files' reader (schema/store_key_pem.c):
 * store.key and store.pub are store bytes, read as root. The input is taken as a key file's
 * text (pem_find_block for both labels) and as DER (der_ed25519_private, der_ed25519_public).
 * Whatever is accepted must write back to the same key: a seed or public key parsed from DER
 * is written in OpenSSL's form and read again to the same bytes, and a PEM block written from
 * a DER is found again with that DER.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_key_pem.h"

static void check_der(const uint8_t *der, size_t n)
{
	uint8_t seed[32], pub[32], again[32], out[DER_ED25519_PRIVATE_LEN];
	bool has_pub;
	if (der_ed25519_private(der, n, seed, pub, &has_pub) == 0) {
		der_ed25519_private_write(seed, out);
		if (der_ed25519_private(out, sizeof(out), again, pub, &has_pub) || has_pub ||
		    memcmp(seed, again, 32))
			abort();
	}
	if (der_ed25519_public(der, n, pub) == 0) {
		uint8_t po[DER_ED25519_PUBLIC_LEN];
		der_ed25519_public_write(pub, po);
		if (der_ed25519_public(po, sizeof(po), again) || memcmp(pub, again, 32))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const labels[] = { PEM_PRIVATE_LABEL, PEM_PUBLIC_LABEL };
	if (size > STORE_KEY_FILE_MAX)
		return 0;
	check_der(data, size);
	for (size_t i = 0; i < 2; i++) {
		uint8_t der[STORE_KEY_PEM_MAX], der2[STORE_KEY_PEM_MAX];
		size_t n = 0, n2 = 0;
		if (pem_find_block((const char *)data, size, labels[i], der, sizeof(der), &n))
			continue;
		if (n > sizeof(der))
			abort();
		check_der(der, n);
		char pem[4 * STORE_KEY_PEM_MAX];
		size_t len = pem_write_block(labels[i], der, n, pem, sizeof(pem));
		if (len && (pem_find_block(pem, len, labels[i], der2, sizeof(der2), &n2) ||
			    n2 != n || memcmp(der, der2, n)))
			abort();
	}
	return 0;
}
