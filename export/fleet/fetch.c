// SPDX-License-Identifier: GPL-2.0-only
/*
 * fetch.c - the per-host exports of ecap-export --fleet, as child processes of the
 * operator's SSH command (fetch.h). The remote words are only ones we checked or made:
 * the host and store names from the database pass fleet_safe_word(), ids and times are
 * digits, so the remote shell that joins them sees no metacharacter.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fetch.h"
#include "query.h"

#define CMD_WORDS_MAX 32

static int tmp_fd(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/ecap-fleet-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

/* ns since the epoch as ecap-export's exact time form, @SEC.NNNNNNNNN */
static char *epoch_arg(char *out, size_t len, uint64_t ns)
{
	snprintf(out, len, "@%" PRIu64 ".%09" PRIu64, ns / (uint64_t)1000000000,
		 ns % (uint64_t)1000000000);
	return out;
}

static int start(struct fetch_job *j, char **words, size_t nw, const struct query *q,
		 bool no_secrets)
{
	char since[48], until[48];
	char *argv[CMD_WORDS_MAX + 20];
	size_t a = 0;

	if (!fleet_safe_word(j->host) || !fleet_safe_word(j->store)) {
		snprintf(j->why, sizeof(j->why),
			 "its name or store path has characters we do "
			 "not pass to a remote shell");
		return -EINVAL;
	}
	for (size_t i = 0; i < nw; i++)
		argv[a++] = words[i];
	argv[a++] = (char *)j->host;
	argv[a++] = "ecap-export";
	argv[a++] = "--store";
	argv[a++] = (char *)j->store;
	argv[a++] = "--flow-ids";
	argv[a++] = j->ids;
	if (q->has_since) {
		argv[a++] = "--since";
		argv[a++] = epoch_arg(since, sizeof(since), q->flows.since_ns);
	}
	if (q->has_until) {
		argv[a++] = "--until";
		argv[a++] = epoch_arg(until, sizeof(until), q->flows.until_ns);
	}
	if (no_secrets)
		argv[a++] = "--no-secrets";
	argv[a++] = "-q";
	argv[a++] = "-o";
	argv[a++] = "-";
	argv[a] = NULL;

	j->fd = tmp_fd();
	if (j->fd < 0) {
		snprintf(j->why, sizeof(j->why), "no temporary file: %s", strerror(-j->fd));
		return j->fd;
	}
	j->pid = fork();
	if (j->pid < 0) {
		snprintf(j->why, sizeof(j->why), "fork: %s", strerror(errno));
		return -errno;
	}
	if (j->pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(j->fd, 1) < 0)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "ecap-export: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return 0;
}

static void finish(struct fetch_job *j, int status)
{
	j->status = status;
	j->pid = 0;
	if (WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 1)) {
		j->answered = true;
		return;
	}
	if (WIFEXITED(status))
		snprintf(j->why, sizeof(j->why), "the command exited %d%s", WEXITSTATUS(status),
			 WEXITSTATUS(status) == 255 ? " (ssh could not connect)" : "");
	else
		snprintf(j->why, sizeof(j->why), "the command died of signal %d", WTERMSIG(status));
}

int fetch_run(struct fetch_job *jobs, size_t n, const char *cmd, const struct query *q,
	      bool no_secrets, unsigned parallel)
{
	char *copy = strdup(cmd), *save = NULL, *w;
	char *words[CMD_WORDS_MAX];
	size_t nw = 0, next = 0, running = 0;

	if (!copy)
		return -ENOMEM;
	for (w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (nw == CMD_WORDS_MAX) {
			free(copy);
			return -E2BIG;
		}
		words[nw++] = w;
	}
	if (nw == 0) {
		free(copy);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		jobs[i].fd = -1;
		jobs[i].pid = 0;
	}
	while (next < n || running) {
		while (next < n && running < parallel) {
			if (start(&jobs[next], words, nw, q, no_secrets) == 0)
				running++;
			next++;
		}
		if (!running)
			break;
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (size_t i = 0; i < n; i++)
			if (jobs[i].pid == pid) {
				finish(&jobs[i], status);
				running--;
				break;
			}
	}
	free(copy);
	return 0;
}
