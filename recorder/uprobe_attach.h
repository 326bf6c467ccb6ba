/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * uprobe_attach.h - attaching a BPF program as a uprobe on a file ecap has open.
 *
 * On this kernel, perf_event_open() of a uprobe needs CAP_SYS_ADMIN (CAP_PERFMON alone gets
 * EACCES), and the recorder drops CAP_SYS_ADMIN after start-up. So the perf event is opened by
 * the calibration launcher (tls_calib_launcher.h), which keeps that capability, and handed
 * back as a descriptor; the recorder then attaches its own program to it (bpf_link_create,
 * with the cookie), which CAP_BPF allows. Where no launcher runs (ecap-calibrate, the tests),
 * the caller opens the event itself.
 */
#ifndef ECAP_UPROBE_ATTACH_H
#define ECAP_UPROBE_ATTACH_H

#include <stdbool.h>
#include <stdint.h>

struct bpf_program;
struct bpf_link;

/*
 * Attaches prog at the entry (or, retprobe, the return) of func in the ELF file open on fd,
 * or at file offset offset when func is NULL; cookie is bpf_get_attach_cookie()'s value.
 * The link, or NULL with errno set.
 */
struct bpf_link *uprobe_attach(struct bpf_program *prog, int fd, const char *func,
			       uint64_t offset, bool retprobe, uint64_t cookie);

/* The uprobe perf event itself (what the launcher does): a descriptor, or -errno. */
int uprobe_perf_open(int fd, uint64_t offset, bool retprobe);

#endif
