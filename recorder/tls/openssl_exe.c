// SPDX-License-Identifier: GPL-2.0-only
/*
 * openssl_exe.c - OpenSSL built into an executable (lib.h), as Debian's node 20 has it. Such
 * a file cannot be loaded to calibrate, and its SSL layout is its own. Every secret goes
 * through ssl_log_secret(ssl, label, secret, len) (TLS 1.2's master secret as CLIENT_RANDOM
 * too), called whether or not a key-log callback is set: by symbol when the file has a
 * symbol table, else as the common target of the key-log labels' call sites. The client
 * random is where the file's own SSL_get_client_random() reads it. Recognised by holding
 * libssl and libcrypto in one file (SSL_get_client_random and OPENSSL_init_crypto defined).
 */
#include <errno.h>
#include <stdio.h>

#include "lib.h"

int tls_openssl_exe_inspect(struct tls_elf *e, struct tls_probe *p, char *why, size_t len)
{
	uint64_t fn;
	unsigned votes = 0;
	char loc[48];
	int rc;

	if (!tls_probe_has(e, "SSL_get_client_random") || !tls_probe_has(e, "OPENSSL_init_crypto"))
		return -ENOENT;
	p->library = "OpenSSL (in the executable)";
	p->abi = TLS_PROBE_ABI_CALL;
	if (tls_elf_symbol(e, "ssl_log_secret", &fn, NULL) < 0 &&
	    tls_probe_find_logfn(e, 2, &fn, &votes) < 0) {
		snprintf(why, len, "ssl_log_secret not found (no symbol, and the key-log labels' "
			 "call sites do not agree)");
		return -ENOTSUP;
	}
	rc = tls_probe_ssl_logfn(e, p, fn, why, len);
	if (rc < 0)
		return rc;
	snprintf(p->how, sizeof(p->how), "ssl_log_secret at 0x%llx (%s); client random at %s "
		 "(SSL_get_client_random)", (unsigned long long)fn,
		 votes ? "key-log label call sites" : "symbol",
		 tls_probe_loc_text(&p->random, loc, sizeof(loc)));
	return 0;
}
