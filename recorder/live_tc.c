// SPDX-License-Identifier: GPL-2.0-only
/*
 * live_tc.c - TC clsact filters of the live recorder: attach, detach, and clean up after a
 * recorder that was killed before it could detach.
 *
 * Our filters sit at priority ECAP_TC_PRIORITY (bpf/ecap.h) with the recorder's pid as
 * handle, so several recorders (with different stores) can capture the same interface, and
 * run a program named ecap_ingress or ecap_egress. Each program carries the pid of the
 * recorder that loaded it (owner_pid in its .rodata, found through the map's BTF), so a
 * filter of a recorder that still runs is told from a stale one left by a recorder that was
 * killed before it could detach: those are found by listing the filters of every interface
 * (an RTM_GETTFILTER dump over rtnetlink) and removed.
 *
 * The clsact qdisc is created when missing and removed at the end only if we created it and
 * no other filter uses it. A qdisc that only stale filters used is removed with them, or,
 * when this recorder attaches there, taken over as if it had created it.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "ecap.h"
#include "live_internal.h"

static enum bpf_tc_attach_point tc_point(enum live_tc_point p)
{
	return p == LIVE_TC_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS;
}

static const char *point_name(enum live_tc_point p)
{
	return p == LIVE_TC_INGRESS ? "ingress" : "egress";
}

static uint32_t tc_parent(enum live_tc_point p)
{
	return TC_H_MAKE(TC_H_CLSACT, p == LIVE_TC_INGRESS ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
}

static uint32_t our_handle(void)
{
	return (uint32_t)getpid();
}

int live_tc_attach(int ifindex, enum live_tc_point point, int prog_fd, bool *created)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = tc_point(point));
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = our_handle(),
			    .priority = ECAP_TC_PRIORITY, .prog_fd = prog_fd);
	int rc;

	live_libbpf_mute(true); /* an existing qdisc (EEXIST) is fine: no kernel message */
	rc = bpf_tc_hook_create(&hook);
	live_libbpf_mute(false);
	if (rc == 0)
		*created = true;
	else if (rc != -EEXIST)
		return rc;
	return bpf_tc_attach(&hook, &opts);
}

int live_tc_present(int ifindex, enum live_tc_point point)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = tc_point(point));
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = our_handle(),
			    .priority = ECAP_TC_PRIORITY);
	int rc;

	live_libbpf_mute(true); /* a missing filter or qdisc is an answer, not a message */
	rc = bpf_tc_query(&hook, &opts);
	live_libbpf_mute(false);
	if (rc == 0)
		return 1;
	return rc == -ENOENT || rc == -EINVAL ? 0 : rc;
}

/*
 * The same question as bpf_tc_query() asks (an RTM_GETTFILTER for our handle, at our priority,
 * protocol ETH_P_ALL, kind "bpf": the kernel answers with the filter, or an error), asked over
 * a socket the caller keeps: libbpf's opens, binds and closes a netlink socket at each call,
 * and this runs every second for each hook. The answer to a request is queued before send()
 * returns (rtnetlink answers in the sender's context), so it is read without waiting;
 * messages of other requests (an earlier one's, whose reading failed) are skipped by their
 * sequence number, and datagrams from anything but the kernel are not read as answers.
 */
int live_tc_present_on(int nl, uint32_t *seq, int ifindex, enum live_tc_point point)
{
	struct {
		struct nlmsghdr n;
		struct tcmsg t;
		char attrs[16];
	} req;
	union {
		struct nlmsghdr n;
		char b[4096];
	} buf;
	struct rtattr *kind;
	struct nlmsghdr nh;
	ssize_t len;
	size_t off;
	int tries;

	memset(&req, 0, sizeof(req));
	req.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg));
	req.n.nlmsg_type = RTM_GETTFILTER;
	req.n.nlmsg_flags = NLM_F_REQUEST;
	req.n.nlmsg_seq = ++*seq;
	req.t.tcm_family = AF_UNSPEC;
	req.t.tcm_ifindex = ifindex;
	req.t.tcm_parent = tc_parent(point);
	req.t.tcm_handle = our_handle();
	req.t.tcm_info = TC_H_MAKE((uint32_t)ECAP_TC_PRIORITY << 16, htons(ETH_P_ALL));
	kind = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.n.nlmsg_len));
	kind->rta_type = TCA_KIND;
	kind->rta_len = RTA_LENGTH(sizeof("bpf"));
	memcpy(RTA_DATA(kind), "bpf", sizeof("bpf"));
	req.n.nlmsg_len = NLMSG_ALIGN(req.n.nlmsg_len) + RTA_ALIGN(kind->rta_len);
	if (send(nl, &req, req.n.nlmsg_len, 0) < 0)
		return -errno;
	for (tries = 0; tries < 8; tries++) {
		struct sockaddr_nl from;
		socklen_t flen = sizeof(from);

		len = recvfrom(nl, &buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
			       &flen);
		if (len < 0)
			return errno == EINTR ? -EINTR : -errno;
		if (flen < sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0)
			continue; /* only the kernel answers */
		for (off = 0; off + sizeof(nh) <= (size_t)len;) {
			memcpy(&nh, buf.b + off, sizeof(nh));
			if (nh.nlmsg_len < sizeof(nh) || nh.nlmsg_len > (size_t)len - off)
				return -EBADMSG;
			if (nh.nlmsg_seq == *seq) {
				struct nlmsgerr e;

				if (nh.nlmsg_type == RTM_NEWTFILTER)
					return 1;
				if (nh.nlmsg_type != NLMSG_ERROR ||
				    nh.nlmsg_len < NLMSG_LENGTH(sizeof(e)))
					return -EBADMSG;
				memcpy(&e, buf.b + off + NLMSG_HDRLEN, sizeof(e));
				/* as live_tc_present(): no filter there, or no qdisc */
				return e.error == -ENOENT || e.error == -EINVAL ? 0
				       : e.error < 0 ? e.error : -EBADMSG;
			}
			off += NLMSG_ALIGN(nh.nlmsg_len);
		}
	}
	return -EAGAIN;
}

int live_tc_detach(int ifindex, enum live_tc_point point)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = tc_point(point));
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = our_handle(),
			    .priority = ECAP_TC_PRIORITY);

	return bpf_tc_detach(&hook, &opts);
}

struct filter_id {
	uint32_t handle;
	uint16_t priority;
};

#define FILTERS_MAX 256

/*
 * The filters under a clsact parent: (handle, priority) of each, at most `max`. Returns how
 * many there are (may exceed max), or -errno. A dump answers with one message per filter
 * (handle set) and one per priority's classifier (handle 0), which are not counted.
 */
static int list_filters(int ifindex, uint32_t parent, struct filter_id *out, int max)
{
	struct {
		struct nlmsghdr n;
		struct tcmsg t;
	} req;
	char buf[16384];
	struct nlmsghdr nh;
	struct tcmsg tm;
	ssize_t len;
	size_t off;
	int fd, count = 0, rc = 0;
	bool done = false;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	memset(&req, 0, sizeof(req));
	req.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg));
	req.n.nlmsg_type = RTM_GETTFILTER;
	req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.n.nlmsg_seq = 1;
	req.t.tcm_family = AF_UNSPEC;
	req.t.tcm_ifindex = ifindex;
	req.t.tcm_parent = parent;
	if (send(fd, &req, req.n.nlmsg_len, 0) < 0) {
		rc = -errno;
		goto out;
	}
	while (!done) {
		len = recv(fd, buf, sizeof(buf), 0);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (len == 0)
			break;
		for (off = 0; off + sizeof(nh) <= (size_t)len;) {
			memcpy(&nh, buf + off, sizeof(nh));
			if (nh.nlmsg_len < sizeof(nh) || nh.nlmsg_len > (size_t)len - off) {
				rc = -EBADMSG;
				goto out;
			}
			if (nh.nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (nh.nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr e;

				if (nh.nlmsg_len < NLMSG_LENGTH(sizeof(e))) {
					rc = -EBADMSG;
					goto out;
				}
				memcpy(&e, buf + off + NLMSG_HDRLEN, sizeof(e));
				rc = e.error;
				goto out;
			}
			if (nh.nlmsg_type == RTM_NEWTFILTER &&
			    nh.nlmsg_len >= NLMSG_LENGTH(sizeof(tm))) {
				memcpy(&tm, buf + off + NLMSG_HDRLEN, sizeof(tm));
				if (tm.tcm_handle != 0) {
					if (count < max) {
						out[count].handle = tm.tcm_handle;
						out[count].priority = (uint16_t)(tm.tcm_info >> 16);
					}
					count++;
				}
			}
			off += NLMSG_ALIGN(nh.nlmsg_len);
		}
	}
	rc = count;
out:
	close(fd);
	return rc;
}

int live_tc_release_hook(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int in, eg;

	in = list_filters(ifindex, tc_parent(LIVE_TC_INGRESS), NULL, 0);
	eg = list_filters(ifindex, tc_parent(LIVE_TC_EGRESS), NULL, 0);
	if (in < 0)
		return in;
	if (eg < 0)
		return eg;
	if (in + eg > 0)
		return 0; /* someone else's filters: the qdisc stays */
	return bpf_tc_hook_destroy(&hook);
}

/* Offset of the variable `name` in the data section described by value_type_id. */
static int datasec_offset(const struct btf *btf, uint32_t value_type_id, const char *name)
{
	const struct btf_type *sec = btf__type_by_id(btf, value_type_id);
	const struct btf_var_secinfo *vs;
	const struct btf_type *var;
	int i;

	if (!sec || !btf_is_datasec(sec))
		return -ENOENT;
	vs = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vs++) {
		var = btf__type_by_id(btf, vs->type);
		if (var && strcmp(btf__name_by_offset(btf, var->name_off), name) == 0)
			return (int)vs->offset;
	}
	return -ENOENT;
}

static uint32_t map_owner(uint32_t map_id)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info), key = 0, pid = 0;
	struct btf *btf = NULL;
	uint8_t *val = NULL;
	size_t nlen;
	int fd, off;

	fd = bpf_map_get_fd_by_id(map_id);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		goto out;
	nlen = strnlen(info.name, sizeof(info.name));
	if (nlen < 7 || strcmp(info.name + nlen - 7, ".rodata") != 0 || !info.btf_id ||
	    info.value_size < 4 || info.value_size > (1u << 20))
		goto out;
	btf = btf__load_from_kernel_by_id(info.btf_id);
	if (!btf)
		goto out;
	off = datasec_offset(btf, info.btf_value_type_id, "owner_pid");
	if (off < 0 || (uint32_t)off + 4 > info.value_size)
		goto out;
	val = malloc(info.value_size);
	if (!val || bpf_map_lookup_elem(fd, &key, val) < 0)
		goto out;
	memcpy(&pid, val + off, 4);
out:
	free(val);
	btf__free(btf);
	close(fd);
	return pid;
}

uint32_t live_tc_prog_owner(int prog_fd)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info), ids[16], i, n, pid = 0;

	memset(&info, 0, sizeof(info));
	info.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	info.map_ids = (uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0)
		return 0;
	n = info.nr_map_ids < sizeof(ids) / sizeof(ids[0]) ? info.nr_map_ids
							    : sizeof(ids) / sizeof(ids[0]);
	for (i = 0; i < n && !pid; i++)
		pid = map_owner(ids[i]);
	return pid;
}

/* Whether pid is a running ecap-rec (its comm), other than us. */
static bool recorder_alive(uint32_t pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (pid == 0 || pid == (uint32_t)getpid())
		return false;
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return false;
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, "ecap-rec") == 0;
}

/* 1: removed a stale filter of ours, 0: not ours or its recorder runs. */
static int check_filter(const struct if_nameindex *ifc, enum live_tc_point point,
			uint32_t handle)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifc->if_index,
			    .attach_point = tc_point(point));
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = ECAP_TC_PRIORITY);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, del, .handle = handle, .priority = ECAP_TC_PRIORITY);
	struct bpf_prog_info info;
	uint32_t len = sizeof(info), owner;
	int fd, rc;

	if (bpf_tc_query(&hook, &opts) < 0)
		return 0;
	fd = bpf_prog_get_fd_by_id(opts.prog_id);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	rc = bpf_obj_get_info_by_fd(fd, &info, &len);
	owner = rc == 0 ? live_tc_prog_owner(fd) : 0;
	close(fd);
	if (rc < 0 || (strcmp(info.name, "ecap_ingress") && strcmp(info.name, "ecap_egress")))
		return 0; /* not our program: leave it */
	if (recorder_alive(owner))
		return 0; /* another recorder, capturing into its own store */
	rc = bpf_tc_detach(&hook, &del);
	if (rc < 0) {
		fprintf(stderr, "ecap-rec: cannot remove stale filter on %s %s: %s\n",
			ifc->if_name, point_name(point), strerror(-rc));
		return 0;
	}
	fprintf(stderr, "ecap-rec: removed a stale capture filter from %s %s (left by pid %u)\n",
		ifc->if_name, point_name(point), owner);
	return 1;
}

/* The stale filters removed from ifc were the last ones under its clsact qdisc: the qdisc
 * goes too, unless this recorder is about to attach there (claim), which then owns it. */
static void release_emptied(const struct if_nameindex *ifc, bool (*claim)(int, void *),
			    void *ctx)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifc->if_index,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int in, eg, rc;

	in = list_filters((int)ifc->if_index, tc_parent(LIVE_TC_INGRESS), NULL, 0);
	eg = list_filters((int)ifc->if_index, tc_parent(LIVE_TC_EGRESS), NULL, 0);
	if (in != 0 || eg != 0)
		return; /* other filters use it, or it cannot be told: it stays */
	if (claim && claim((int)ifc->if_index, ctx))
		return;
	rc = bpf_tc_hook_destroy(&hook);
	if (rc < 0 && rc != -ENOENT && rc != -EINVAL)
		fprintf(stderr, "ecap-rec: cannot remove the clsact qdisc left on %s: %s\n",
			ifc->if_name, strerror(-rc));
	else if (rc == 0)
		fprintf(stderr, "ecap-rec: removed the clsact qdisc that only the stale filters "
			"used from %s\n", ifc->if_name);
}

int live_tc_remove_stale(bool (*claim)(int ifindex, void *ctx), void *ctx)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	struct filter_id f[FILTERS_MAX];
	int removed = 0, here, n, k, p;

	if (!ifs)
		return -errno;
	for (i = ifs; i->if_index; i++) {
		here = 0;
		for (p = LIVE_TC_INGRESS; p <= LIVE_TC_EGRESS; p++) {
			n = list_filters((int)i->if_index, tc_parent((enum live_tc_point)p), f,
					 FILTERS_MAX);
			if (n > FILTERS_MAX)
				n = FILTERS_MAX;
			for (k = 0; k < n; k++)
				if (f[k].priority == ECAP_TC_PRIORITY)
					here += check_filter(i, (enum live_tc_point)p,
							     f[k].handle);
		}
		if (here)
			release_emptied(i, claim, ctx);
		removed += here;
	}
	if_freenameindex(ifs);
	return removed;
}
