/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pmerge.h - the hosts' PCAP-NG answers merged into one section: one SHB saying which hosts
 * answered and which did not, an IDB per host interface named IFACE@HOST (nanosecond
 * timestamps), every DSB of every host before the first packet, then the packets of all
 * hosts in timestamp order, each comment starting with "Host: NAME". Every answer is
 * parsed and checked whole before anything of it is written: a host whose bytes do not
 * hold (one section of well-formed blocks, packets on declared interfaces) counts as not
 * answered.
 */
#ifndef ECAP_FLEET_PMERGE_H
#define ECAP_FLEET_PMERGE_H

#include <stddef.h>
#include <stdint.h>

struct pmerge_input {
	const char *host;
	int fd;		    /* the answer, read from offset 0 */
	const uint8_t *map; /* filled by pmerge_check */
	size_t len;
	uint64_t packets;
	char why[160]; /* set when the answer is refused */
};

/* Map and verify one answer: 0, or -EBADMSG with in->why set. */
int pmerge_check(struct pmerge_input *in);
/* Write the merged file to fd. ok[]: the answers that passed pmerge_check. shb_comment
 * names the hosts. 0 or -errno. */
int pmerge_write(int fd, struct pmerge_input **ok, size_t n, const char *shb_comment,
		 uint64_t *packets_out);
void pmerge_release(struct pmerge_input *in);

#endif
