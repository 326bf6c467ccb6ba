/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pktfilter.h - a libpcap filter expression applied to stored packets, compiled once per
 * store interface for that interface's link type (pcap_open_dead + pcap_compile) and run
 * with pcap_offline_filter.
 */
#ifndef ECAP_EXPORT_PKTFILTER_H
#define ECAP_EXPORT_PKTFILTER_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "records.h"

struct pktfilter_prog {
	bool compiled;          /* tried */
	bool ok;                /* compiled for this link type */
	struct bpf_program prog;
};

struct pktfilter {
	const char *expr;              /* NULL: every packet passes */
	struct pktfilter_prog *progs;  /* by store interface id */
	size_t n;
};

/*
 * Checks the expression (on Ethernet, else raw IP) so that a typo is a usage error. 0, or
 * -EINVAL with libpcap's message in err.
 */
int pktfilter_init(struct pktfilter *f, const char *expr, char *err, size_t errlen);
/*
 * Compiles for a store interface. 0, or -EINVAL with the message in err when the
 * expression does not apply to its link type (its packets then never match).
 */
int pktfilter_prepare(struct pktfilter *f, uint32_t iface, const struct ecap_iface *info,
		      char *err, size_t errlen);
/* Whether the interface has been prepared. */
static inline bool pktfilter_prepared(const struct pktfilter *f, uint32_t iface)
{
	return !f->expr || (iface < f->n && f->progs[iface].compiled);
}
/* Only after pktfilter_prepare() for pkt->iface. */
bool pktfilter_match(const struct pktfilter *f, const struct ecap_packet *pkt);
void pktfilter_free(struct pktfilter *f);

#endif
