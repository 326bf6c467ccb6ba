// SPDX-License-Identifier: GPL-2.0-only
/*
 * ossl.c - the OpenSSL API for the TLS benchmark client (main.c). Built twice: against the
 * system's shared OpenSSL 3 (bench_tls_openssl) and linked with BoringSSL's libssl.so.0 from
 * android-boringssl (bench_tls_boringssl). Only functions both libraries export under the same
 * name and signature are used (no macros over SSL_ctrl); TLS 1.3, the default of both; the
 * server's certificate is not checked.
 */
#include <openssl/ssl.h>

#include "bench_tls.h"

static SSL_CTX *ctx;

static int ossl_init(void)
{
	ctx = SSL_CTX_new(TLS_client_method());
	return ctx ? 0 : -1;
}

static void *ossl_open(int fd)
{
	SSL *s = SSL_new(ctx);

	if (!s)
		return NULL;
	if (SSL_set_fd(s, fd) != 1 || SSL_connect(s) != 1) {
		SSL_free(s);
		return NULL;
	}
	return s;
}

static int ossl_write(void *s, const void *buf, size_t len)
{
	return SSL_write(s, buf, (int)len) == (int)len ? 0 : -1;
}

static void ossl_close(void *s)
{
	SSL_shutdown(s);
	SSL_free(s);
}

const struct bench_tls_lib bench_tls_lib = {
	.name = BENCH_TLS_NAME,
	.init = ossl_init,
	.open = ossl_open,
	.write = ossl_write,
	.close = ossl_close,
};
