/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * replay.h - the replay source: a pcap or pcapng file (or standard input) fed into the
 * recorder's pipeline, as the live source feeds it from the kernel.
 *
 * Each input interface becomes a store interface (its if_name, or "<file>#<n>"); each packet
 * goes to pipeline_packet() with its timestamp at the input's resolution and its epb_flags;
 * a per-packet comment naming a process (ptcpdump's "PID: 1234\nCmd: /usr/bin/curl ..." or
 * ecap's own "pid=1234 comm=curl ...") becomes the packet's process hint; Decryption Secrets
 * Blocks of NSS key log text become secrets. Damaged input is reported with file and byte
 * offset and counted; everything valid before and after it is kept.
 */
#ifndef ECAP_REPLAY_H
#define ECAP_REPLAY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "capfile.h"
#include "pipeline.h"

struct replay_options {
	const char *path;     /* capture file, "-": standard input */
	FILE *err;            /* messages; stderr when NULL */
	bool quiet;           /* no progress line */
	bool progress;        /* show progress even when stderr is not a terminal */
};

struct replay_result {
	uint64_t packets;         /* handed to the pipeline */
	uint64_t bytes_in;        /* input bytes read */
	uint64_t interfaces;
	uint64_t attributed;      /* packets that carried a process comment */
	uint64_t input_errors;    /* damaged places in the input, malformed key log lines */
	uint64_t skipped_bytes;   /* input bytes passed over because they did not parse */
	uint64_t dsb_blocks, dsb_lines, dsb_secrets;
	/* What the store cannot keep as the input has it (replay_run says it once at the end) */
	struct capfile_quirks quirks;
	uint64_t cut;             /* packets longer than ECAP_CAPLEN_MAX: stored cut to it */
	uint64_t comments;        /* packets with a comment: kept only as the process it names */
	bool interrupted;         /* *stop was set before the end of the input */
	bool store_failed;        /* the pipeline or store failed: the run ended there */
	double seconds;           /* wall time of the run */
};

/*
 * Read the whole input into the pipeline (until *stop, when stop is not NULL). Returns 0
 * when the input was read to its end or until stopped (res->input_errors says whether parts
 * were damaged), -errno when it could not be opened (nothing was recorded), or the pipeline's
 * negative error with res->store_failed set. Messages go to opt->err.
 */
int replay_run(const struct replay_options *opt, struct pipeline *p, struct store *s,
	       volatile sig_atomic_t *stop, struct replay_result *res);

/* The line counting the TLS secrets dropped because no recorded ClientHello carried their
 * client_random (nothing when none was); replay_summary() includes it. */
void replay_not_kept(FILE *out, struct pipeline *p);
/* The end-of-run summary: packets, flows, TLS sessions, secrets linked and unlinked. */
void replay_summary(FILE *out, const struct replay_result *res, struct pipeline *p,
		    struct store *s);

/*
 * A process named by a packet comment, ptcpdump's lines ("PID: 1234", "Cmd: /usr/bin/curl",
 * "ThreadId: 5", "UserId: 0", "GroupId: 0"; keys in any case) or key=value words ("pid=1234
 * comm=curl tid= uid= gid="). comm is the basename of Cmd's first word, at most 15 bytes.
 * Returns true with *out filled (out->valid) when a PID was found.
 *
 * When info is not NULL it receives what the comment says of that process beyond that, in
 * ecap's keys (ptcpdump's where it has one): Args, Exe, ParentPID, ParentCmd, NsPID, Start,
 * Cgroup, ContainerId, ContainerRuntime, PodUID; "Peer " lines are the other process and are
 * not read. A process is keyed by pid and start: without a Start line info->pid is 0 (its
 * details cannot be kept). With one, out->start_ns and info->start_ns are that Start on the
 * wall clock (a replayed process's start is not known since any boot).
 */
bool replay_comment_proc(const char *comment, size_t len, struct ecap_proc *out,
			 struct ecap_proc_info *info);

/*
 * The container that a comment's own block (not its "Peer " lines) names with what its
 * runtime said of it: ContainerId with at least one of ContainerName, ContainerImage,
 * ContainerLabels (a JSON object, made again sorted and cut), PodName; also
 * ContainerRuntime, PodNamespace, PodUID. true with *out filled; false (zeroed) otherwise.
 */
bool replay_comment_container(const char *comment, size_t len, struct ecap_container *out);

#endif
