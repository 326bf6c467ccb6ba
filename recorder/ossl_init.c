// SPDX-License-Identifier: GPL-2.0-only
/*
 * ossl_init.c - libcrypto started without its configuration file (ossl_init.h).
 */
#include "ossl_init.h"

#include <openssl/crypto.h>

void ecap_ossl_init(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
}
