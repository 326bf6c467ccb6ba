/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * any_point.h - which point of a packet's path records it under `ecap-rec -i any`: the rules
 * of capture_any.bpf.c (its opening comment says them) as functions of the device, shared with
 * conntrack_any.bpf.c, which must name the namespace where a packet sent by a device that
 * records nothing (the host's end of a container's veth) is recorded. Included by BPF
 * programs only, after vmlinux.h, bpf_helpers.h and bpf_core_read.h.
 */
#ifndef ECAP_BPF_ANY_POINT_H
#define ECAP_BPF_ANY_POINT_H

enum dev_kind { KIND_OTHER = 0, KIND_VETH, KIND_BRIDGE };

static __always_inline enum dev_kind dev_kind(struct net_device *dev)
{
	const struct rtnl_link_ops *ops = BPF_CORE_READ(dev, rtnl_link_ops);
	const char *kind;
	char k[8] = {};

	if (!ops)
		return KIND_OTHER;
	kind = BPF_CORE_READ(ops, kind);
	if (!kind || bpf_probe_read_kernel_str(k, sizeof(k), kind) < 0)
		return KIND_OTHER;
	if (k[0] == 'v' && k[1] == 'e' && k[2] == 't' && k[3] == 'h' && k[4] == 0)
		return KIND_VETH;
	if (k[0] == 'b' && k[1] == 'r' && k[2] == 'i' && k[3] == 'd' && k[4] == 'g' &&
	    k[5] == 'e' && k[6] == 0)
		return KIND_BRIDGE;
	return KIND_OTHER;
}

static __always_inline __u32 dev_netns(struct net_device *dev)
{
	return BPF_CORE_READ(dev, nd_net.net, ns.inum);
}

/* The peer of a veth (its struct veth_priv sits in the device's private area). */
static __always_inline struct net_device *veth_peer(struct net_device *dev)
{
	struct veth_priv *vp;
	__u64 off;

	if (bpf_core_field_exists(dev->priv))
		off = bpf_core_field_offset(struct net_device, priv);
	else
		off = (bpf_core_type_size(struct net_device) + 31) & ~31ull;
	vp = (struct veth_priv *)((char *)dev + off);
	return BPF_CORE_READ(vp, peer);
}

/* Whether the end dev (of namespace netns, index ifindex) of a veth pair records the pair's
 * packets: the end outside the recorder's namespace when exactly one end is, else the end
 * with the larger (namespace inode, ifindex). *peer_netns: the other end's namespace (0 when
 * the pair is being torn down: then this end records, rather than lose the packet). */
static __always_inline bool veth_chosen(struct net_device *dev, __u32 netns, __u32 ifindex,
					__u32 recorder_netns, __u32 *peer_netns)
{
	struct net_device *peer = veth_peer(dev);
	__u32 pns, pidx;
	bool out, pout;

	*peer_netns = 0;
	if (!peer)
		return true;
	pns = dev_netns(peer);
	pidx = BPF_CORE_READ(peer, ifindex);
	*peer_netns = pns;
	out = netns != recorder_netns;
	pout = pns != recorder_netns;
	if (out != pout)
		return out;
	return netns > pns || (netns == pns && ifindex > pidx);
}

#endif
