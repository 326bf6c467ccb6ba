// SPDX-License-Identifier: GPL-2.0-only
/*
 * boringssl.c - BoringSSL (lib.h), as Debian's android-libboringssl ships it (libssl.so.0,
 * stripped). Every secret goes through bssl::ssl_log_secret(ssl, label, Span secret), called
 * whether or not a key-log callback is set: found as the common target of the calls that
 * pass the key-log labels. The client random is where the exported SSL_get_client_random()
 * reads it (ssl->s3->client_random: one pointer followed). Recognised by its symbols:
 * SSL_get_client_random and the BoringSSL-only SSL_CTX_set_grease_enabled.
 */
#include <errno.h>
#include <stdio.h>

#include "lib.h"

int tls_boringssl_inspect(struct tls_elf *e, struct tls_probe *p, char *why, size_t len)
{
	uint64_t fn;
	unsigned votes;
	char loc[48];
	int rc;

	if (!tls_probe_has(e, "SSL_get_client_random") ||
	    !tls_probe_has(e, "SSL_CTX_set_grease_enabled"))
		return -ENOENT;
	p->library = "BoringSSL";
	p->abi = TLS_PROBE_ABI_CALL;
	if (tls_probe_find_logfn(e, 2, &fn, &votes) < 0) {
		snprintf(why, len, "ssl_log_secret not found: the key-log labels' call sites do "
			 "not agree");
		return -ENOTSUP;
	}
	rc = tls_probe_ssl_logfn(e, p, fn, why, len);
	if (rc < 0)
		return rc;
	snprintf(p->how, sizeof(p->how), "ssl_log_secret at 0x%llx: the call target of %u "
		 "key-log label sites; client random at %s (SSL_get_client_random)",
		 (unsigned long long)fn, votes, tls_probe_loc_text(&p->random, loc, sizeof(loc)));
	return 0;
}
