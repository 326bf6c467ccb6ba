// SPDX-License-Identifier: GPL-2.0-only
/*
 * privs.c - capability and securebit dropping (privs.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include <linux/securebits.h>

#include "privs.h"

/*
 * The live recorder, once probes are attached and the store is open:
 *   CAP_BPF          BPF map reads and updates, loading the per-interface filters again
 *   CAP_PERFMON      attaching uprobes to TLS libraries that processes map later
 *   CAP_NET_ADMIN    attaching TC programs to interfaces that come (back), detaching at exit
 *   CAP_SYS_PTRACE   reading /proc/PID/{maps,fd,root} of other users' processes
 *   CAP_DAC_READ_SEARCH  opening the libraries those processes map where only they may read
 */
const cap_value_t privs_recorder_caps[] = { CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN,
					    CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH };
const unsigned privs_recorder_ncaps = sizeof(privs_recorder_caps) / sizeof(cap_value_t);
const cap_value_t privs_launcher_caps[] = { CAP_SETUID, CAP_SETGID };
const unsigned privs_launcher_ncaps = sizeof(privs_launcher_caps) / sizeof(cap_value_t);

static bool kept(const cap_value_t *keep, unsigned n, cap_value_t c)
{
	for (unsigned i = 0; i < n; i++)
		if (keep[i] == c)
			return true;
	return false;
}

static int fail(char *err, size_t errlen, const char *what)
{
	int e = errno ? errno : EPERM;

	snprintf(err, errlen, "%s: %s", what, strerror(e));
	return -e;
}

int privs_keep_only(const cap_value_t *keep, unsigned n, bool lock_root, char *err,
		    size_t errlen)
{
	const unsigned bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
			      SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
			      SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
	cap_t cur = cap_get_proc(), want = cap_init();
	cap_flag_value_t has;
	bool can_setpcap;
	cap_value_t c;
	int rc = 0;

	if (!cur || !want) {
		rc = fail(err, errlen, "cap_get_proc");
		goto out;
	}
	can_setpcap = cap_get_flag(cur, CAP_SETPCAP, CAP_EFFECTIVE, &has) == 0 && has;
	if (lock_root && can_setpcap && prctl(PR_SET_SECUREBITS, bits) < 0) {
		rc = fail(err, errlen, "PR_SET_SECUREBITS");
		goto out;
	}
	for (c = 0; cap_valid(c); c++) {
		if (kept(keep, n, c))
			continue;
		if (can_setpcap && CAP_IS_SUPPORTED(c) && cap_drop_bound(c) < 0) {
			rc = fail(err, errlen, "cap_drop_bound");
			goto out;
		}
	}
	if (cap_reset_ambient() < 0 && errno != EINVAL && errno != EPERM) {
		rc = fail(err, errlen, "cap_reset_ambient");
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		if (cap_get_flag(cur, keep[i], CAP_PERMITTED, &has) < 0 || !has)
			continue;
		if (cap_set_flag(want, CAP_EFFECTIVE, 1, &keep[i], CAP_SET) < 0 ||
		    cap_set_flag(want, CAP_PERMITTED, 1, &keep[i], CAP_SET) < 0) {
			rc = fail(err, errlen, "cap_set_flag");
			goto out;
		}
	}
	if (cap_set_proc(want) < 0) {
		rc = fail(err, errlen, "cap_set_proc");
		goto out;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		rc = fail(err, errlen, "PR_SET_NO_NEW_PRIVS");
out:
	cap_free(cur);
	cap_free(want);
	return rc;
}

const char *privs_names(const cap_value_t *keep, unsigned n, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n && used < len; i++) {
		char *name = cap_to_name(keep[i]);

		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "",
					 name ? name : "?");
		cap_free(name);
	}
	return buf;
}
