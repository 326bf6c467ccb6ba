/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ring_pos.h - whether a BPF ring buffer holds records the reader has not taken: its consumer
 * and producer positions, mapped read-only (libbpf 1.1 has no call for it). The producer's
 * position moves when a record is reserved, before it is submitted, so a record still being
 * written counts. Used by the reader's long sleep (live.c, bpf/reader_wake.h).
 */
#ifndef ECAP_RING_POS_H
#define ECAP_RING_POS_H

#include <stdbool.h>
#include <stddef.h>

struct ring_pos {
	void *map; /* NULL: not mapped (every question answers "waiting") */
	size_t len;
};

/* Maps the positions of the ring behind map_fd. 0 or a negative errno. */
int ring_pos_open(struct ring_pos *r, int map_fd);
/* Whether records (or a reservation) wait past the reader's position. */
bool ring_pos_waiting(const struct ring_pos *r);
/* The reader's position: the bytes taken so far (it only grows); 0 when not mapped. */
unsigned long ring_pos_taken(const struct ring_pos *r);
void ring_pos_close(struct ring_pos *r);

#endif
