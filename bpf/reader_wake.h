/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * reader_wake.h - the reader's long sleep (recorder/live.c): when nothing is recorded and the
 * store waits for no tick, ecap-rec sleeps until its next once-a-second duty instead of
 * polling every 100 ms. Before it sleeps it sets reader_asleep in each object that feeds a
 * ring it must read at once (packets, TLS secrets), through the skeleton's mapped .bss; a
 * program that submits a record while it is set wakes the reader (BPF_RB_FORCE_WAKEUP),
 * whatever the ring's fill threshold. The reader clears it when it wakes. The flag is read
 * after the record is reserved, so a record reserved before the reader set it is seen by the
 * reader's look at the ring's positions after setting it (recorder/ring_pos.h).
 * Included by BPF programs only, after vmlinux.h and bpf_helpers.h.
 */
#ifndef ECAP_BPF_READER_WAKE_H
#define ECAP_BPF_READER_WAKE_H

volatile __u32 reader_asleep = 0;

/* flags for bpf_ringbuf_submit(): a wakeup when the reader sleeps, else the caller's */
static __always_inline __u64 reader_wake_flags(__u64 otherwise)
{
	return reader_asleep ? BPF_RB_FORCE_WAKEUP : otherwise;
}

#endif
