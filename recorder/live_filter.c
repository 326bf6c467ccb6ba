// SPDX-License-Identifier: GPL-2.0-only
/*
 * live_filter.c - the PCAP-FILTER expression of a live recording, compiled with libpcap for
 * each link type in use (pcap_open_dead + pcap_compile). The classic BPF goes to the kernel
 * (live_filter_cbpf -> live_kfilter.c, translated by cbpf_ebpf.c), so that packets that do
 * not match are not even copied; where that fails, it runs here in user space on each packet
 * the TC programs copied (pcap_offline_filter), which saves disk but not capture work.
 *
 * Kept apart from the other live files: <pcap.h> and <bpf/libbpf.h> both define
 * struct bpf_program and struct bpf_insn.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbpf_ebpf.h"
#include "decode.h"
#include "live_internal.h"

#define FILTER_SNAPLEN_DEFAULT 262144

struct compiled {
	uint16_t linktype;
	struct bpf_program prog;
};

struct live_filter {
	char *expr;
	uint32_t snaplen;
	struct compiled v[2];
	size_t n;
};

static int dlt_of(uint16_t linktype)
{
	switch (linktype) {
	case DECODE_LT_ETHERNET:
		return DLT_EN10MB;
	case DECODE_LT_RAW:
		return DLT_RAW;
	default:
		return -1;
	}
}

int live_filter_new(const char *expr, uint32_t snaplen, struct live_filter **out)
{
	struct live_filter *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->expr = strdup(expr);
	if (!f->expr) {
		free(f);
		return -ENOMEM;
	}
	f->snaplen = snaplen ? snaplen : FILTER_SNAPLEN_DEFAULT;
	*out = f;
	return 0;
}

int live_filter_prepare(struct live_filter *f, uint16_t linktype)
{
	struct compiled *c;
	pcap_t *dead;
	size_t i;
	int dlt = dlt_of(linktype);

	for (i = 0; i < f->n; i++)
		if (f->v[i].linktype == linktype)
			return 0;
	if (dlt < 0 || f->n == sizeof(f->v) / sizeof(f->v[0])) {
		fprintf(stderr, "ecap-rec: no packet filter for link type %u\n", linktype);
		return -EINVAL;
	}
	dead = pcap_open_dead(dlt, (int)f->snaplen);
	if (!dead)
		return -ENOMEM;
	c = &f->v[f->n];
	if (pcap_compile(dead, &c->prog, f->expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		fprintf(stderr, "ecap-rec: bad filter expression '%s': %s\n", f->expr,
			pcap_geterr(dead));
		pcap_close(dead);
		return -EINVAL;
	}
	pcap_close(dead);
	c->linktype = linktype;
	f->n++;
	return 0;
}

bool live_filter_match(const struct live_filter *f, uint16_t linktype, const uint8_t *data,
		       uint32_t caplen, uint32_t len)
{
	struct pcap_pkthdr h = { .caplen = caplen, .len = len };
	size_t i;

	for (i = 0; i < f->n; i++)
		if (f->v[i].linktype == linktype)
			return pcap_offline_filter(&f->v[i].prog, &h, data) != 0;
	return false;
}

int live_filter_cbpf(const struct live_filter *f, uint16_t linktype, struct cbpf_insn **out,
		     size_t *n)
{
	const struct bpf_program *prog = NULL;
	struct cbpf_insn *v;
	size_t i;

	for (i = 0; i < f->n; i++)
		if (f->v[i].linktype == linktype)
			prog = &f->v[i].prog;
	if (!prog || prog->bf_len == 0)
		return -ENOENT;
	v = calloc(prog->bf_len, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < prog->bf_len; i++) {
		v[i].code = prog->bf_insns[i].code;
		v[i].jt = prog->bf_insns[i].jt;
		v[i].jf = prog->bf_insns[i].jf;
		v[i].k = prog->bf_insns[i].k;
	}
	*out = v;
	*n = prog->bf_len;
	return 0;
}

void live_filter_free(struct live_filter *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n; i++)
		pcap_freecode(&f->v[i].prog);
	free(f->expr);
	free(f);
}
