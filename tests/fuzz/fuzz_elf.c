// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_elf.c - libFuzzer target for the ELF reader the TLS probes use (recorder/tls/elf.c) and
 * the inspectors that read a file through it (tls_probe_inspect, recorder/tls/inspect.c): the
 * files are those the host's processes map, so any user can plant one, and ecap-rec reads them
 * as root. Whatever the bytes: no read outside what was read from the file (ASan), no hang,
 * and the symbol tables held after a first lookup answer as the file does on every later
 * lookup, and as the same tables indexed (as one too large to hold is) and read in pieces at
 * each lookup (as one too large to index is), each after a close and an open again.
 *
 * Input: the file's bytes, given to the reader through a memfd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tls/elf.h"
#include "tls/lib.h"

static const char *const names[] = { "SSL_write", "SSL_get_client_random", "gnutls_init",
				     "crypto/tls.(*Conn).Write", "main", "" };

/* A DT_NEEDED name, or (name NULL) the run path: NUL-terminated inside what was read. */
static void needed(void *ctx, const char *name, const char *runpath)
{
	size_t *n = ctx;

	if (!name && !runpath)
		abort();
	*n += strlen(name ? name : runpath);
}

/* The answers for every name, from an ELF open on fd; 0 when it is not one. */
static int answers(int fd, int rc[], uint64_t addr[], uint64_t size[], size_t n)
{
	struct tls_elf e;
	struct tls_probe p;
	char why[256];

	if (tls_elf_open(fd, &e) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t a = 0, s = 0;

		addr[i] = size[i] = 0;
		rc[i] = tls_elf_symbol(&e, names[i], &addr[i], &size[i]);
		/* held from here: the same answer again */
		if (tls_elf_symbol(&e, names[i], &a, &s) != rc[i] ||
		    (rc[i] == 0 && (a != addr[i] || s != size[i])))
			abort();
	}
	memset(&p, 0, sizeof(p));
	(void)tls_probe_inspect(&e, &p, why, sizeof(why));
	if (!memchr(why, '\0', sizeof(why)))
		abort();
	size_t names_len = 0;
	(void)tls_elf_needed(&e, needed, &names_len);
	tls_elf_close(&e);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum { N = sizeof(names) / sizeof(names[0]) };
	int rc1[N], rc2[N];
	uint64_t a1[N], s1[N], a2[N], s2[N];
	int fd = memfd_create("fuzz_elf", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	tls_elf_set_table_limits(4u << 20, 1u << 20); /* the defaults: these tables held */
	if (answers(fd, rc1, a1, s1, N)) {
		/* opened again, the tables read afresh, indexed, then in pieces: the same answers */
		static const uint64_t index_syms[] = { UINT64_MAX, 0 };

		for (size_t k = 0; k < 2; k++) {
			tls_elf_set_table_limits(0, index_syms[k]);
			if (!answers(fd, rc2, a2, s2, N))
				abort();
			for (size_t i = 0; i < N; i++)
				if (rc1[i] != rc2[i] ||
				    (rc1[i] == 0 && (a1[i] != a2[i] || s1[i] != s2[i])))
					abort();
		}
	}
	close(fd);
	return 0;
}
