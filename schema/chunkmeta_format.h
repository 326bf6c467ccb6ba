/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * chunkmeta_format.h - the byte sizes and section numbers of a chunk's metadata frame, shared
 * by its decoder (chunkmeta.c, whose opening comment specifies the format) and its encoder
 * (chunkmeta_encode.c). Not used outside them.
 */
#ifndef ECAP_CHUNKMETA_FORMAT_H
#define ECAP_CHUNKMETA_FORMAT_H

#include "chunkmeta.h"

#define SKIPPABLE_MAGIC 0x184D2A5Eu
#define FRAME_HDR 8
#define PROC_LEN 45
#define FLOW_LEN (8 + 1 + 1 + 2 + 2 + 16 + 16 + 8 + 2 * PROC_LEN)
#define FLOWSTAT_LEN 36
#define SESSION_LEN 40
#define DROPS_LEN 20
#define BLOCK_LEN 28
#define INTEGRITY_LEN (CHUNKMETA_DIGEST_LEN + 2)
#define PROCINFO_FIXED 56
#define OWNER_START_LEN 16
#define HEADER_BLOCKS_LEN 4
#define CONTAINER_FIXED (16 + 2 * CONTAINER_TEXT_COUNT)
#define LINK_LEN 26

enum { SEC_IFACES = 1, SEC_FLOWS, SEC_FLOWSTATS, SEC_PKTFLOW, SEC_SESSIONS, SEC_DROPS,
       SEC_BLOCKS, SEC_ORDER, SEC_BLOCKMAX, SEC_INTEGRITY, SEC_PROCS, SEC_OWNER_START,
       SEC_HEADER_BLOCKS, SEC_CONTAINERS = 14, SEC_LINKS = 15, SEC_IFACE_NETNS = 16, SEC_READ_PLAN,
       SEC_FLOWDIR, SEC_DIGEST_KIND };
#define READ_PLAN_LEN 4
#define DIGEST_KIND_LEN 4

/* The text fields of a process record, in their encoded order, with their sizes. */
#define PROCINFO_TEXTS(X) \
	X(exe) X(args) X(cgroup) X(container_id) X(runtime) X(pod_uid)
#define PROCINFO_TEXT_COUNT 6

/* The text fields of a container record, in their encoded order. */
#define CONTAINER_TEXTS(X) \
	X(id) X(runtime) X(name) X(image) X(labels) X(pod_name) X(pod_namespace) X(pod_uid)
#define CONTAINER_TEXT_COUNT 8

#endif
