// SPDX-License-Identifier: GPL-2.0-only
/*
 * privs.c - capability and securebit dropping (privs.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include <linux/securebits.h>
#include <sys/capability.h>

#include "privs.h"

/*
 * The live recorder, once probes are attached and the store is open:
 *   CAP_BPF          BPF map reads and updates, attaching its programs to the uprobe perf
 *                    events the launcher opens (bpf_link_create)
 *   CAP_NET_ADMIN    attaching TC programs to interfaces that come (back), detaching at exit
 *   CAP_SYS_PTRACE   reading /proc/PID/{maps,fd,root} of other users' processes
 *   CAP_DAC_READ_SEARCH  opening the libraries those processes map where only they may read
 *   CAP_CHECKPOINT_RESTORE  /proc/PID/map_files/: the library a chrooted process in a mount
 *                    namespace of its own maps, which no path from here leads to
 * The launcher (tls_calib_launcher.h): CAP_SETUID and CAP_SETGID, to make its sandboxed
 * children nobody; CAP_SYS_ADMIN and CAP_PERFMON, to open uprobe perf events for the recorder
 * on files processes map after the start (on this kernel perf_event_open of a uprobe fails
 * with EACCES under CAP_PERFMON alone).
 * A replay: CAP_DAC_READ_SEARCH, to read the capture and key log files it is given.
 */
static const cap_value_t recorder_caps[] = { CAP_BPF, CAP_NET_ADMIN, CAP_SYS_PTRACE,
					     CAP_DAC_READ_SEARCH, CAP_CHECKPOINT_RESTORE };
static const cap_value_t launcher_caps[] = { CAP_SETUID, CAP_SETGID, CAP_SYS_ADMIN,
					     CAP_PERFMON };
static const cap_value_t replay_caps[] = { CAP_DAC_READ_SEARCH };

static const struct {
	const cap_value_t *caps;
	unsigned n;
} roles[] = {
	[PRIVS_RECORDER] = { recorder_caps, sizeof(recorder_caps) / sizeof(cap_value_t) },
	[PRIVS_LAUNCHER] = { launcher_caps, sizeof(launcher_caps) / sizeof(cap_value_t) },
	[PRIVS_REPLAY] = { replay_caps, sizeof(replay_caps) / sizeof(cap_value_t) },
};

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

int privs_drop(enum privs_role role, char *err, size_t errlen)
{
	const cap_value_t *keep = roles[role].caps;
	unsigned n = roles[role].n;
	bool lock_root = role != PRIVS_LAUNCHER;
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

const char *privs_names(enum privs_role role, char *buf, size_t len)
{
	const cap_value_t *keep = roles[role].caps;
	unsigned n = roles[role].n;
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
