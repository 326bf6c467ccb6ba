// SPDX-License-Identifier: GPL-2.0-only
/*
 * inspect.c - which of the key-log probed TLS libraries a file is (lib.h): the per-library
 * inspectors tried in turn, and the text ecap-calibrate --inspect prints.
 */
#include <errno.h>
#include <string.h>

#include "lib.h"

int tls_probe_inspect(struct tls_elf *e, struct tls_probe *p, char *why, size_t len)
{
	static int (*const fns[])(struct tls_elf *, struct tls_probe *, char *, size_t) = {
		tls_go_inspect, tls_gnutls_inspect, tls_boringssl_inspect,
		tls_openssl_exe_inspect,
	};
	size_t i;
	int rc;

	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		memset(p, 0, sizeof(*p));
		why[0] = '\0';
		rc = fns[i](e, p, why, len);
		if (rc != -ENOENT)
			return rc;
	}
	return -ENOENT;
}

int tls_probe_describe(int fd, const char *name, FILE *out)
{
	struct tls_probe p;
	struct tls_elf e;
	char why[256];
	int rc = tls_elf_open(fd, &e);

	if (rc < 0) {
		fprintf(out, "%s: not an x86-64 ELF file\n", name);
		return rc;
	}
	rc = tls_probe_inspect(&e, &p, why, sizeof(why));
	tls_elf_close(&e);
	if (rc == -ENOENT)
		fprintf(out, "%s: none of Go crypto/tls, OpenSSL in an executable, GnuTLS, "
			"BoringSSL\n", name);
	else if (rc < 0)
		fprintf(out, "%s: %s%s%s: cannot be probed: %s\n", name, p.library,
			p.version[0] ? " " : "", p.version, why[0] ? why : strerror(-rc));
	else
		fprintf(out, "%s: %s%s%s: %s; uprobe at file offset 0x%llx\n", name, p.library,
			p.version[0] ? " " : "", p.version, p.how,
			(unsigned long long)p.func_off);
	return rc;
}
