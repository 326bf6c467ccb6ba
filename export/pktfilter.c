// SPDX-License-Identifier: GPL-2.0-only
/*
 * pktfilter.c - libpcap expressions over stored packets (pktfilter.h).
 *
 * The snaplen given to pcap_open_dead only bounds what the compiled program may read; the
 * packet's own caplen bounds it at run time, as in a capture file.
 *
 * libpcap (and the D-Bus, systemd and libgcrypt libraries it needs) is loaded by the first
 * expression, not linked: most exports have none, and loading it cost each one about 1 ms of
 * CPU at start (BENCHMARKS section 10).
 */
#include "pktfilter.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILTER_SNAPLEN 262144
#define PCAP_SONAME "libpcap.so.0.8"

/* The libpcap functions used, through pointers that load_libpcap() fills. */
static struct {
	pcap_t *(*open_dead)(int linktype, int snaplen);
	int (*compile)(pcap_t *p, struct bpf_program *prog, const char *expr, int optimize,
		       bpf_u_int32 netmask);
	char *(*geterr)(pcap_t *p);
	void (*close)(pcap_t *p);
	void (*freecode)(struct bpf_program *prog);
	int (*offline_filter)(const struct bpf_program *prog, const struct pcap_pkthdr *h,
			      const u_char *pkt);
} lp;

static int load_libpcap(char *err, size_t errlen)
{
	static int state; /* 0 not tried, 1 loaded, -1 failed */
	static char why[256];
	if (state == 0) {
		void *h = dlopen(PCAP_SONAME, RTLD_NOW | RTLD_LOCAL);
		const char *missing = NULL;
#define RESOLVE(field, name)                                                                    \
	if (h && !missing && !(*(void **)&lp.field = dlsym(h, name)))                           \
		missing = name;
		RESOLVE(open_dead, "pcap_open_dead")
		RESOLVE(compile, "pcap_compile")
		RESOLVE(geterr, "pcap_geterr")
		RESOLVE(close, "pcap_close")
		RESOLVE(freecode, "pcap_freecode")
		RESOLVE(offline_filter, "pcap_offline_filter")
#undef RESOLVE
		if (!h)
			snprintf(why, sizeof(why), "a PCAP-FILTER needs libpcap, which could not "
				 "be loaded (install the package libpcap0.8): %s", dlerror());
		else if (missing)
			snprintf(why, sizeof(why), "%s has no function %s", PCAP_SONAME, missing);
		state = h && !missing ? 1 : -1;
	}
	if (state < 0)
		snprintf(err, errlen, "%s", why);
	return state > 0 ? 0 : -ENOENT;
}

static int compile(const char *expr, int linktype, struct bpf_program *prog, char *err,
		   size_t errlen)
{
	if (load_libpcap(err, errlen) < 0)
		return -EINVAL;
	pcap_t *p = lp.open_dead(linktype, FILTER_SNAPLEN);
	int rc = 0;

	if (!p) {
		snprintf(err, errlen, "libpcap cannot open link type %d", linktype);
		return -EINVAL;
	}
	if (lp.compile(p, prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errlen, "%s", lp.geterr(p));
		rc = -EINVAL;
	}
	lp.close(p);
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
		lp.freecode(&prog);
		return 0;
	}
	if (compile(f->expr, DLT_RAW, &prog, err2, sizeof(err2)) == 0) {
		lp.freecode(&prog);
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
	return lp.offline_filter(&f->progs[pkt->iface].prog, &h, pkt->data) != 0;
}

void pktfilter_free(struct pktfilter *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->progs[i].ok)
			lp.freecode(&f->progs[i].prog);
	free(f->progs);
	memset(f, 0, sizeof(*f));
}
