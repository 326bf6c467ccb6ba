/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * openssl.h - shared across the kernel boundary by bpf/openssl.bpf.c and recorder/live_tls.c:
 * where a calibrated libssl keeps each secret (one struct ossl_config per attached library,
 * map "ossl_cfg", index = the uprobe's attach cookie) and the record the probes put into the
 * "ossl_events" ring buffer. Fixed-width __uN types, explicit padding, no pointers.
 *
 * A location is the SSL pointer, followed through nderef (0..2) pointers read at ptr[0], ptr[1],
 * then off: the same model as recorder/tls_calibrate.h. nderef OSSL_ABSENT: not located.
 */
#ifndef ECAP_BPF_OPENSSL_H
#define ECAP_BPF_OPENSSL_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define OSSL_LIBS_MAX 16u
#define OSSL_SECRET_LEN 48u   /* bytes read for every secret; 32 for the random, 4 for ints */
#define OSSL_ABSENT 0xffffu

/* Field order: the same as enum tls_cal_field (recorder/tls_calibrate.h). */
enum ossl_field {
	OSSL_F_VERSION = 0,
	OSSL_F_CIPHER_ID,
	OSSL_F_CLIENT_RANDOM,
	OSSL_F_MASTER_KEY,
	OSSL_F_HS_SECRET,
	OSSL_F_HS_HASH,
	OSSL_F_CLIENT_HS_TRAFFIC,
	OSSL_F_SERVER_HS_TRAFFIC,
	OSSL_F_CLIENT_APP_TRAFFIC,
	OSSL_F_SERVER_APP_TRAFFIC,
	OSSL_F_EXPORTER,
	OSSL_F_IN_INIT,         /* int, non-zero during a handshake; not copied into events */
	OSSL_F_NR,
};

struct ossl_loc {
	__u16 nderef;           /* 0..2, or OSSL_ABSENT */
	__u16 ptr[2];
	__u16 off;
};

struct ossl_config {
	__u32 valid;            /* 0: slot unused */
	__u32 pad;
	struct ossl_loc f[OSSL_F_NR];
};

/* Kernel-side counters (global array "ossl_counters"). */
enum ossl_counter {
	OSSL_CNT_EVENTS = 0,    /* records written */
	OSSL_CNT_RING_FULL,     /* records lost: no room in the ring buffer */
	OSSL_CNT_READ_FAIL,     /* a location could not be read (field left zero) */
	OSSL_CNT_NR,
};

/* One completed handshake as one process's libssl holds it. Slot bytes beyond a field's
 * length (4 for version and cipher id, 32 for the random) are zero. */
struct ossl_event {
	__u64 ts_ns;            /* CLOCK_MONOTONIC */
	__u32 pid, tid;
	char comm[16];
	__u32 lib;              /* attach cookie: index into ossl_cfg */
	__u32 read_ok;          /* bit per enum ossl_field: read succeeded */
	__u8 field[OSSL_F_NR][OSSL_SECRET_LEN];
};

#endif
