// SPDX-License-Identifier: GPL-2.0-only
/*
 * pktfilter.c - libpcap expressions over stored packets (pktfilter.h).
 *
 * The snaplen given to pcap_open_dead only bounds what the compiled program may read; the
 * packet's own caplen bounds it at run time, as in a capture file.
 */
#include "pktfilter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILTER_SNAPLEN 262144

static int compile(const char *expr, int linktype, struct bpf_program *prog, char *err,
		   size_t errlen)
{
	pcap_t *p = pcap_open_dead(linktype, FILTER_SNAPLEN);
	int rc = 0;

	if (!p) {
		snprintf(err, errlen, "libpcap cannot open link type %d", linktype);
		return -EINVAL;
	}
	if (pcap_compile(p, prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errlen, "%s", pcap_geterr(p));
		rc = -EINVAL;
	}
	pcap_close(p);
	return rc;
}

int pktfilter_init(struct pktfilter *f, const char *expr, char *err, size_t errlen)
{
	struct bpf_program prog;
	char err2[PCAP_ERRBUF_SIZE + 64];

	memset(f, 0, sizeof(*f));
	f->expr = expr && *expr ? expr : NULL;
	if (!f->expr)
		return 0;
	if (compile(f->expr, DLT_EN10MB, &prog, err, errlen) == 0) {
		pcap_freecode(&prog);
		return 0;
	}
	if (compile(f->expr, DLT_RAW, &prog, err2, sizeof(err2)) == 0) {
		pcap_freecode(&prog);
		return 0;
	}
	return -EINVAL;
}

int pktfilter_prepare(struct pktfilter *f, uint32_t iface, const struct ecap_iface *info,
		      char *err, size_t errlen)
{
	if (!f->expr)
		return 0;
	if (iface >= f->n) {
		size_t n = (size_t)iface + 16;
		struct pktfilter_prog *v = realloc(f->progs, n * sizeof(*v));
		if (!v)
			return -ENOMEM;
		memset(v + f->n, 0, (n - f->n) * sizeof(*v));
		f->progs = v;
		f->n = n;
	}
	struct pktfilter_prog *p = &f->progs[iface];
	if (p->compiled)
		return p->ok ? 0 : -EINVAL;
	p->compiled = true;
	if (compile(f->expr, info->linktype, &p->prog, err, errlen) < 0)
		return -EINVAL;
	p->ok = true;
	return 0;
}

bool pktfilter_match(const struct pktfilter *f, const struct ecap_packet *pkt)
{
	struct pcap_pkthdr h;

	if (!f->expr)
		return true;
	if (pkt->iface >= f->n || !f->progs[pkt->iface].ok)
		return false;
	memset(&h, 0, sizeof(h));
	h.caplen = pkt->caplen;
	h.len = pkt->origlen;
	return pcap_offline_filter(&f->progs[pkt->iface].prog, &h, pkt->data) != 0;
}

void pktfilter_free(struct pktfilter *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->progs[i].ok)
			pcap_freecode(&f->progs[i].prog);
	free(f->progs);
	memset(f, 0, sizeof(*f));
}
