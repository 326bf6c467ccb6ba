/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * verify.h - the two checks of ecap-verify: a store's seal chain (verify_store.c) and an
 * export with its proof (verify_export.c). Both print one line per finding to standard
 * output, each naming the file and the offset, and return an exit status below.
 */
#ifndef ECAP_VERIFY_H
#define ECAP_VERIFY_H

#include <stdbool.h>

enum verify_status {
	VERIFY_OK = 0,      /* everything checked holds */
	VERIFY_BROKEN = 1,  /* a break: altered, missing, added or reordered bytes, wrong key */
	VERIFY_USAGE = 2,   /* also a store refused for its path (store_path.h), as elsewhere */
	VERIFY_CANNOT = 3,  /* nothing to verify could be read (no store, no proof, no key) */
	VERIFY_TORN = 4,    /* intact, except a torn tail a crash left (not tampering) */
};

struct verify_opts {
	const char *store;      /* STORE directory */
	const char *key;        /* a trusted public key file (PEM), or NULL */
	const char *export_path;
	const char *proof_path; /* default: EXPORT.ecap-proof */
	bool has_published;     /* --published I:HEX: a seal digest published off the host */
	unsigned long long published_index;
	unsigned char published[32];
	bool verbose;
};

int verify_store(const struct verify_opts *o);
int verify_export(const struct verify_opts *o);

/* One finding: "what: message" on stdout; problem counts it as a break. */
void verify_say(bool problem, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Breaks reported so far, and the first one's line. */
unsigned verify_breaks(void);
const char *verify_first_break(void);

#endif
