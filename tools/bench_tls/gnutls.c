// SPDX-License-Identifier: GPL-2.0-only
/*
 * gnutls.c - GnuTLS for the TLS benchmark client (main.c): the library's default priorities
 * (TLS 1.3 here), the server's certificate not checked.
 */
#include <gnutls/gnutls.h>

#include "bench_tls.h"

static gnutls_certificate_credentials_t cred;

static int gnu_init(void)
{
	return gnutls_certificate_allocate_credentials(&cred) < 0 ? -1 : 0;
}

static void *gnu_open(int fd)
{
	gnutls_session_t s;
	int r;

	if (gnutls_init(&s, GNUTLS_CLIENT) < 0)
		return NULL;
	if (gnutls_set_default_priority(s) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0) {
		gnutls_deinit(s);
		return NULL;
	}
	gnutls_transport_set_int(s, fd);
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0) {
		gnutls_deinit(s);
		return NULL;
	}
	return s;
}

static int gnu_write(void *s, const void *buf, size_t len)
{
	ssize_t r;

	do
		r = gnutls_record_send(s, buf, len);
	while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
	return r == (ssize_t)len ? 0 : -1;
}

static void gnu_close(void *s)
{
	gnutls_bye(s, GNUTLS_SHUT_WR);
	gnutls_deinit(s);
}

const struct bench_tls_lib bench_tls_lib = {
	.name = "gnutls",
	.init = gnu_init,
	.open = gnu_open,
	.write = gnu_write,
	.close = gnu_close,
};
