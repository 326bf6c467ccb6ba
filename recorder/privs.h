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

#include <sys/capability.h>

/* What the live recorder keeps after start-up (README, "Security", says why each). */
extern const cap_value_t privs_recorder_caps[];
extern const unsigned privs_recorder_ncaps;
/* What the calibration launcher keeps: becoming nobody in its sandboxed children. */
extern const cap_value_t privs_launcher_caps[];
extern const unsigned privs_launcher_ncaps;

/*
 * Keeps only keep[0..n) in the effective and permitted sets and the bounding set, empties the
 * inheritable and ambient sets, sets PR_SET_NO_NEW_PRIVS and, when lock_root, locks the
 * securebits so that uid 0 means no capability (SECBIT_NOROOT, SECBIT_NO_SETUID_FIXUP, no
 * ambient raise, all locked). A process without the capability to change these (not root)
 * keeps what it has of keep and drops the rest. 0, or -errno with a reason in err.
 */
int privs_keep_only(const cap_value_t *keep, unsigned n, bool lock_root, char *err,
		    size_t errlen);

/* The names of keep[0..n) ("cap_bpf,cap_perfmon,..."), for messages. */
const char *privs_names(const cap_value_t *keep, unsigned n, char *buf, size_t len);

#endif
