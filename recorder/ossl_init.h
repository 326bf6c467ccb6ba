/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ossl_init.h - the one way ecap-rec's own code starts libcrypto (the TLS 1.3 key schedule,
 * the transcript hashes of calibration): without its configuration file. That file (or any
 * file OPENSSL_CONF names) may load engines and provider modules, code ecap did not ship,
 * into a process that runs as root, and it has nothing to say about the digests ecap asks
 * for. The first initialisation in a process decides, so every function of the recorder that
 * calls libcrypto calls this first, and so do ecap-rec's main() and ctr_meta.c before
 * libcurl, which starts the libcrypto it links. (The store's own digests and key are
 * Nettle's: schema/sha256.c, store_key.c.)
 */
#ifndef ECAP_OSSL_INIT_H
#define ECAP_OSSL_INIT_H

void ecap_ossl_init(void);

#endif
