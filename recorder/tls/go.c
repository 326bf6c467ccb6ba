// SPDX-License-Identifier: GPL-2.0-only
/*
 * go.c - Go crypto/tls (lib.h): crypto/tls.(*Config).writeKeyLog(label, clientRandom, secret)
 * is called for every secret, before its KeyLogWriter == nil check, and is not inlined. It is
 * found by symbol, or in a stripped executable (-s -w) through Go's own line table, which the
 * runtime needs and so always keeps. Only Go >= 1.17 (register ABI) is probed; the Go version
 * comes from .go.buildinfo.
 *
 * .gopclntab (src/runtime/symtab.go, pcHeader), little endian, ptrSize 8:
 *   magic u32: 0xfffffff0 (Go 1.18, 1.19), 0xfffffff1 (1.20+), 0xfffffffa (1.16, 1.17),
 *             0xfffffffb (1.2 to 1.15: stack ABI, not probed)
 *   u8 pad[2], u8 minLC, u8 ptrSize (8)
 *   1.18+: nfunc @8, nfiles @16, textStart @24, funcnameOffset @32, cuOffset @40,
 *          filetabOffset @48, pctabOffset @56, pclnOffset @64 (all uintptr)
 *          functab at pclnOffset: nfunc+1 pairs {entryOff u32, funcOff u32}; the func at
 *          pclnOffset + funcOff: {entryOff u32, nameOff i32}; entry = textStart + entryOff;
 *          name: NUL-terminated at funcnameOffset + nameOff.
 *   1.16/1.17: nfunc @8, nfiles @16, funcnameOffset @24, cuOffset @32, filetabOffset @40,
 *          pctabOffset @48, pclnOffset @56; functab pairs {entry uintptr, funcOff uintptr};
 *          the func: {entry uintptr, nameOff i32}.
 * .go.buildinfo (src/debug/buildinfo): "\xff Go buildinf:" (14 bytes), ptrSize u8, flags u8;
 *   flags & 2: at 32 the version as a uvarint length and bytes; else two pointers at 16 and
 *   16 + ptrSize to Go strings {ptr, len}, the first being the version.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../schema/le.h"
#include "lib.h"

#define WRITE_KEYLOG "crypto/tls.(*Config).writeKeyLog"
#define NFUNC_MAX (1u << 24)

static void go_version(struct tls_elf *e, char *out, size_t len)
{
	uint64_t addr, size, sptr, slen;
	uint8_t h[48], *b;

	out[0] = '\0';
	b = tls_elf_section_read(e, ".go.buildinfo", &addr, &size);
	if (!b)
		return;
	if (size < 32 || memcmp(b, "\xff Go buildinf:", 14) != 0 || b[14] != 8)
		goto out;
	if (b[15] & 2) {
		uint64_t n = 0, i = 32;
		unsigned shift = 0;

		while (i < size && shift < 35) {
			n |= (uint64_t)(b[i] & 0x7f) << shift;
			shift += 7;
			if (!(b[i++] & 0x80))
				break;
		}
		if (n < len && n <= size - i) {
			memcpy(out, b + i, n);
			out[n] = '\0';
		}
		goto out;
	}
	/* before Go 1.18: a pointer to a string header {ptr, len} */
	if (tls_elf_read_vaddr(e, le64_load(b + 16), h, 16) < 0)
		goto out;
	sptr = le64_load(h);
	slen = le64_load(h + 8);
	if (slen < len && tls_elf_read_vaddr(e, sptr, out, slen) == 0)
		out[slen] = '\0';
	else
		out[0] = '\0';
out:
	free(b);
}

/* Whether version ("go1.19.8", "go1.21rc2", "devel ...") is a Go before 1.17. */
static int before_117(const char *v)
{
	unsigned major, minor;

	if (sscanf(v, "go%u.%u", &major, &minor) != 2)
		return 0;
	return major == 1 && minor < 17;
}

/* Looks name up in the line table t (size bytes). 0 with *entry, -ENOENT or -ENOTSUP. */
static int pclntab_lookup(const uint8_t *t, uint64_t size, const char *name, uint64_t *entry,
			  char *why, size_t len)
{
	uint32_t magic;
	uint64_t nfunc, text = 0, fnames, pcln, i, ent = 8;
	size_t nlen = strlen(name) + 1;
	int new;

	if (size < 72 || t[7] != 8) {
		snprintf(why, len, ".gopclntab too short or not 64-bit");
		return -ENOTSUP;
	}
	magic = le32_load(t);
	if (magic == 0xfffffffb) {
		snprintf(why, len, "Go before 1.16 (stack ABI) is not probed");
		return -ENOTSUP;
	}
	if (magic != 0xfffffff0 && magic != 0xfffffff1 && magic != 0xfffffffa) {
		snprintf(why, len, "unknown .gopclntab magic 0x%08x", magic);
		return -ENOTSUP;
	}
	new = magic != 0xfffffffa;
	nfunc = le64_load(t + 8);
	if (new) {
		text = le64_load(t + 24);
		fnames = le64_load(t + 32);
		pcln = le64_load(t + 64);
	} else {
		fnames = le64_load(t + 24);
		pcln = le64_load(t + 56);
		ent = 16;
	}
	if (nfunc > NFUNC_MAX || pcln > size || fnames > size || (nfunc + 1) * ent > size - pcln) {
		snprintf(why, len, ".gopclntab header out of bounds");
		return -ENOTSUP;
	}
	for (i = 0; i < nfunc; i++) {
		const uint8_t *ft = t + pcln + i * ent;
		uint64_t foff = new ? le32_load(ft + 4) : le64_load(ft + 8), f, e;
		int32_t noff;

		if (foff > size - pcln || size - pcln - foff < 12)
			continue;
		f = pcln + foff;
		e = new ? text + le32_load(t + f) : le64_load(t + f);
		noff = (int32_t)le32_load(t + f + (new ? 4 : 8));
		if (noff < 0 || (uint64_t)noff > size - fnames || size - fnames - (uint64_t)noff < nlen)
			continue;
		if (memcmp(t + fnames + (uint64_t)noff, name, nlen) == 0) {
			*entry = e;
			return 0;
		}
	}
	return -ENOENT;
}

int tls_go_inspect(struct tls_elf *e, struct tls_probe *p, char *why, size_t len)
{
	uint64_t a = 0, addr, size;
	const char *how;
	uint8_t *t;
	int rc;

	t = tls_elf_section_read(e, ".gopclntab", &addr, &size);
	if (!t)
		return -ENOENT; /* not a Go program (or one whose sections are gone) */
	p->library = "Go crypto/tls";
	p->abi = TLS_PROBE_ABI_GO;
	go_version(e, p->version, sizeof(p->version));
	/* the line table first: it is smaller than a symbol table and always there */
	how = ".gopclntab";
	rc = pclntab_lookup(t, size, WRITE_KEYLOG, &a, why, len);
	if (rc < 0 && tls_elf_symbol(e, WRITE_KEYLOG, &a, NULL) == 0) {
		how = "symbol";
		rc = 0;
	}
	if (rc < 0) {
		free(t);
		return rc; /* -ENOENT: a Go program without crypto/tls */
	}
	free(t);
	if (before_117(p->version)) {
		snprintf(why, len, "%s passes arguments on the stack (before Go 1.17): not probed",
			 p->version);
		return -ENOTSUP;
	}
	rc = tls_probe_set_func(e, p, a, why, len);
	if (rc < 0)
		return rc;
	snprintf(p->how, sizeof(p->how), "%s at 0x%llx (%s)", WRITE_KEYLOG,
		 (unsigned long long)a, how);
	return 0;
}
