/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * privs.h - dropping what a process does not need: capabilities (effective, permitted,
 * inheritable, ambient and the bounding set), locked securebits and no_new_privs, so that
 * nothing it runs afterwards (execve of a set-uid or file-capability program, setuid back to
 * 0) gives any of it back. libcap does the capability sets.
 */
#ifndef ECAP_PRIVS_H
#define ECAP_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

/* Who drops: each keeps its own set (privs.c lists them and why, README says it too). */
enum privs_role {
	PRIVS_RECORDER, /* live ecap-rec once probes are attached and the store is open */
	PRIVS_LAUNCHER, /* the calibration launcher (tls_calib_launcher.h) */
	PRIVS_REPLAY,   /* ecap-rec --replay once the store is open */
};

/*
 * Keeps only role's capabilities in the effective and permitted sets and the bounding set,
 * empties the inheritable and ambient sets, sets PR_SET_NO_NEW_PRIVS and, except for the
 * launcher (whose children must lose everything when they become nobody), locks the
 * securebits so that uid 0 means no capability (SECBIT_NOROOT, SECBIT_NO_SETUID_FIXUP, no
 * ambient raise, all locked). A process that cannot change these (not root) keeps what it has
 * of the set and drops the rest. 0, or -errno with a reason in err.
 */
int privs_drop(enum privs_role role, char *err, size_t errlen);

/* role's capabilities by name ("cap_bpf,cap_perfmon,..."), for messages. */
const char *privs_names(enum privs_role role, char *buf, size_t len);

#endif
