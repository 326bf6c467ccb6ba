// SPDX-License-Identifier: GPL-2.0-only
/*
 * planted_libssl.c - a hostile "libssl.so.3" for the sandbox tests (tests/live/sandbox.sh,
 * tests/unit/test_sandbox.c). Its constructor, and each exported function calibration would
 * call, report on stderr what they can do (uid, capabilities, no_new_privs, seccomp, whether
 * /etc/shadow opens), then, depending on PLANTED_MODE, try what the sandbox must stop:
 *   0  open a file for writing (PLANTED_MARKER) and write the report there
 *   1  socket()
 *   2  execve("/bin/sh")
 *   3  nothing in the constructor; built with -lssl, so that calibration finds every other
 *      symbol in the real libssl behind it: the exported functions below run, report, call
 *      the real ones, and SSL_CTX_new then tries the write of mode 0
 *   4  never return from the constructor (sleep for ever): a calibration that waits without
 *      working, ended by the sandbox's idle bound (tests/live/calib_sleeper_first.sh)
 *   5  never return from the constructor: work (spin) for PLANTED_SPIN_S seconds of wall time,
 *      then sleep for ever: a calibration that holds the calibration thread that long
 *      (tests/live/calib_off_loop.sh, calib_start_off_loop.sh)
 * A report line is "planted: WHERE uid=U euid=E capeff=HEX capbnd=HEX nnp=N seccomp=N
 * shadow=yes|no".
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PLANTED_MODE
#define PLANTED_MODE 0
#endif
#ifndef PLANTED_SPIN_S
#define PLANTED_SPIN_S 15
#endif
#ifndef PLANTED_MARKER
#define PLANTED_MARKER "/tmp/ecap-planted-marker"
#endif

static void status_field(const char *key, char *out, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	snprintf(out, len, "?");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key))) {
			snprintf(out, len, "%s", line + strlen(key));
			out[strcspn(out, " \t\n")] = '\0';
			break;
		}
	fclose(f);
}

static void report(const char *where)
{
	char eff[32], bnd[32], nnp[8], sec[8];
	int fd = open("/etc/shadow", O_RDONLY);

	status_field("CapEff:\t", eff, sizeof(eff));
	status_field("CapBnd:\t", bnd, sizeof(bnd));
	status_field("NoNewPrivs:\t", nnp, sizeof(nnp));
	status_field("Seccomp:\t", sec, sizeof(sec));
	dprintf(2, "planted: %s uid=%d euid=%d capeff=%s capbnd=%s nnp=%s seccomp=%s shadow=%s\n",
		where, (int)getuid(), (int)geteuid(), eff, bnd, nnp, sec, fd >= 0 ? "yes" : "no");
	if (fd >= 0)
		close(fd);
}

static void try_write(void)
{
	int fd = open(PLANTED_MARKER, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		dprintf(fd, "written by the planted library as uid %d\n", (int)getuid());
		close(fd);
	}
}

__attribute__((constructor)) static void planted_init(void)
{
	report("constructor");
	if (PLANTED_MODE == 0) {
		try_write();
	} else if (PLANTED_MODE == 1) {
		socket(AF_INET, SOCK_STREAM, 0);
	} else if (PLANTED_MODE == 2) {
		char *const argv[] = { "sh", "-c", "id", NULL };

		execve("/bin/sh", argv, NULL);
	} else if (PLANTED_MODE == 4) {
		for (;;)
			sleep(100);
	} else if (PLANTED_MODE == 5) {
		for (time_t t0 = time(NULL); time(NULL) - t0 < PLANTED_SPIN_S;)
			;
		for (;;)
			sleep(100);
	}
}

/* What calibration calls first; each reports, then does what the real one does (mode 3). */
int CRYPTO_set_mem_functions(void *m, void *r, void *f);
int CRYPTO_set_mem_functions(void *m, void *r, void *f)
{
	int (*real)(void *, void *, void *) = (int (*)(void *, void *, void *))dlsym(RTLD_NEXT,
		"CRYPTO_set_mem_functions");

	report("CRYPTO_set_mem_functions");
	return real ? real(m, r, f) : 0;
}

void *SSL_CTX_new(const void *method);
void *SSL_CTX_new(const void *method)
{
	void *(*real)(const void *) = (void *(*)(const void *))dlsym(RTLD_NEXT, "SSL_CTX_new");

	report("SSL_CTX_new");
	try_write();
	return real ? real(method) : NULL;
}
