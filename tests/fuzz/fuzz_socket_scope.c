// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_socket_scope.c - libFuzzer target for the recording filter as socket_scope.c reasons
 * about it (recorder/socket_scope_parse.c, socket_scope.c): the filter is a user's string
 * (deep nesting, huge numbers, long words), and what the scope leaves out is never recorded
 * with an owner, so a wrong "no" loses evidence.
 *
 * Input: the filter's text up to the first newline, then an Ethernet frame (the rest). The
 * text must parse without harm whatever it is. When the scope understood it, the frame is
 * run through libpcap's program of the same text and decoded as the recorder keys it: when
 * it passes and has TCP or UDP ports, every socket that could own it (the sender or the
 * receiver, connected, unconnected, bound to its address or to any, :: for either version)
 * must be kept (socket_scope_needed) and be within the kernel's protocols and ports
 * (socket_scope_ports), as tests/unit/test_socket_scope.c checks for packets made by hand.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../socket_scope_owners.h"

#define FILTER_MAX 4096
#define KERNEL_PORTS 4096

/* Every socket that could own the decoded packet is kept; abort() otherwise. */
static void owners_kept(const struct socket_scope *s, const struct decoded *d)
{
	static uint16_t ports[KERNEL_PORTS];
	struct socket_owner so[SCOPE_OWNERS];
	uint8_t protos;
	bool all;
	size_t n;
	int rc = socket_scope_ports(s, &protos, &all, ports, KERNEL_PORTS, &n);

	if (rc < 0 && rc != -ENOSPC)
		abort();
	owners_of(d, so);
	for (size_t i = 0; i < SCOPE_OWNERS; i++)
		if (!socket_scope_needed(s, &so[i]) || !within_kernel(&so[i], protos, all, ports, n))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t text_len = nl ? (size_t)(nl - data) : size;
	const uint8_t *frame = nl ? nl + 1 : data + size;
	uint32_t frame_len = (uint32_t)(size - (size_t)(frame - data));
	struct socket_scope *s = NULL;
	struct bpf_program prog;
	struct pcap_pkthdr h = { .caplen = frame_len, .len = frame_len };
	struct decoded d;
	char *text;
	pcap_t *dead;

	if (text_len > FILTER_MAX)
		return 0;
	text = malloc(text_len + 1);
	if (!text)
		return 0;
	memcpy(text, data, text_len);
	text[text_len] = '\0';
	if (socket_scope_new(text, &s) < 0) {
		free(text);
		return 0;
	}
	if (!socket_scope_active(s)) {
		if (!socket_scope_why(s)[0])
			abort(); /* every socket kept: it must say why */
		goto out;
	}
	dead = pcap_open_dead(DLT_EN10MB, 262144);
	if (!dead)
		goto out;
	/* understood means libpcap compiled it: the same text must compile here */
	if (pcap_compile(dead, &prog, text, 1, PCAP_NETMASK_UNKNOWN) != 0)
		abort();
	if (pcap_offline_filter(&prog, &h, frame) &&
	    decode_packet(DECODE_LT_ETHERNET, frame, frame_len, &d) == DECODE_L4 &&
	    (d.proto == 6 || d.proto == 17))
		owners_kept(s, &d);
	pcap_freecode(&prog);
	pcap_close(dead);
out:
	socket_scope_free(s);
	free(text);
	return 0;
}
