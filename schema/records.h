/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * records.h - the records that travel from a source, through the recorder, into the store
 * and back out to export: packets, flows with their owning processes, TLS secrets.
 *
 * These are in-memory types. Their on-disk encodings live in chunkmeta.c (segments) and
 * index.sql (SQLite); nothing here is ever cast over bytes from a file.
 */
#ifndef ECAP_RECORDS_H
#define ECAP_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

/* epb_flags direction bits (pcapng EPB option 2, bits 0-1). */
enum pkt_dir {
	PKT_DIR_UNKNOWN = 0,
	PKT_DIR_INBOUND = 1,
	PKT_DIR_OUTBOUND = 2,
};

/* A packet as a source hands it over and as a chunk reader returns it. */
struct ecap_packet {
	uint64_t ts_ns;      /* wall clock, nanoseconds since the Unix epoch */
	uint32_t iface;      /* store interface id (store_add_interface) */
	uint32_t caplen;     /* bytes at data */
	uint32_t origlen;    /* length on the wire */
	uint32_t flags;      /* epb_flags; bits 0-1 are enum pkt_dir */
	uint64_t flow_id;    /* 0: belongs to no flow */
	const uint8_t *data; /* starts at the interface's link-layer header */
};

/* The longest packet a store keeps (one EPB fits a 256 KiB block of the data frame); a
 * longer one is stored cut to this, with its original length. */
#define ECAP_CAPLEN_MAX (256u * 1024 - 64u)

/* An interface as recorded: one pcapng IDB. */
#define ECAP_IFNAME_MAX 64
#define ECAP_FILTER_MAX 256
#define ECAP_IFDESC_MAX 128
struct ecap_iface {
	char name[ECAP_IFNAME_MAX];     /* "eth0", or "file.pcap#0" for a replayed interface */
	uint16_t linktype;              /* LINKTYPE_* */
	uint32_t snaplen;               /* 0: unlimited */
	char filter[ECAP_FILTER_MAX];   /* the capture filter text, "" when none */
	/* -i any: where the device is (its identity in the store with the fields above), and
	 * what the IDB says of it (if_description). 0, 0, "" for other interfaces. */
	uint32_t netns;                 /* inode of the device's network namespace */
	uint32_t ifindex;               /* its index there */
	char description[ECAP_IFDESC_MAX];
};

/* The process owning one end of a flow. */
#define ECAP_COMM_LEN 16
struct ecap_proc {
	bool valid;
	uint32_t pid, tid, uid, gid;
	char comm[ECAP_COMM_LEN];       /* NUL-terminated */
	uint64_t cgroup_id;             /* 0: unknown */
	uint32_t netns;                 /* inode of the net namespace, 0: unknown */
	uint64_t start_ns;              /* when the process started, ns since boot at clock-tick
					 * resolution (/proc/PID/stat starttime); 0: unknown.
					 * With pid it names one process: pids are reused. */
};

/*
 * What a process was, learned at record time (from /proc, checked against its start time)
 * and kept because processes and containers vanish. Keyed by (pid, start_ns). Text fields
 * are NUL-terminated, printable ASCII only (anything else from the process is replaced by
 * '?'), "" when unknown; numbers 0 when unknown.
 */
#define ECAP_EXE_MAX 256
#define ECAP_ARGS_MAX 512
#define ECAP_CGROUP_MAX 256
#define ECAP_CONTAINER_ID_MAX 65
#define ECAP_RUNTIME_MAX 16
#define ECAP_POD_UID_MAX 40
struct ecap_proc_info {
	uint32_t pid;
	uint64_t start_ns;              /* as in struct ecap_proc */
	uint64_t start_wall_ns;         /* the same moment on the wall clock */
	uint32_t ppid;
	char parent_comm[ECAP_COMM_LEN];
	uint32_t nspid;                 /* the pid inside its own pid namespace */
	char exe[ECAP_EXE_MAX];         /* /proc/PID/exe */
	char args[ECAP_ARGS_MAX];       /* the command line, arguments joined by spaces, cut */
	char cgroup[ECAP_CGROUP_MAX];   /* cgroup v2 path */
	char container_id[ECAP_CONTAINER_ID_MAX]; /* from the cgroup path, lower-case hex */
	char runtime[ECAP_RUNTIME_MAX]; /* docker, containerd, crio, podman */
	char pod_uid[ECAP_POD_UID_MAX]; /* from a kubepods cgroup path */
};

/*
 * A container as its runtime described it at record time (the Docker API, which podman
 * serves too, or a containerd OCI bundle), kept because containers vanish. Keyed by id (the
 * 64 hex digits of the cgroup path). Text fields are NUL-terminated printable ASCII ("" when
 * the runtime did not say); labels is a JSON object of strings, keys sorted, cut at whole
 * pairs to fit ("{}": the runtime said there are none). first_ns and last_ns: when the
 * recorder first and last stored the record (wall clock, ns).
 */
#define ECAP_CTR_NAME_MAX 128
#define ECAP_IMAGE_MAX 256
#define ECAP_LABELS_MAX 2048
#define ECAP_POD_NAME_MAX 254           /* a Kubernetes name: 253 characters at most */
#define ECAP_POD_NAMESPACE_MAX 64       /* a DNS label: 63 */
struct ecap_container {
	char id[ECAP_CONTAINER_ID_MAX];
	char runtime[ECAP_RUNTIME_MAX];
	char name[ECAP_CTR_NAME_MAX];
	char image[ECAP_IMAGE_MAX];
	char labels[ECAP_LABELS_MAX];
	char pod_name[ECAP_POD_NAME_MAX];
	char pod_namespace[ECAP_POD_NAMESPACE_MAX];
	char pod_uid[ECAP_POD_UID_MAX];
	uint64_t first_ns, last_ns;
};

/* Flow ends: the initiator (sent the first packet / the SYN) is A, the responder B. */
enum flow_side {
	FLOW_SIDE_A = 0,
	FLOW_SIDE_B = 1,
};

/* IP protocol numbers used for flows. */
enum {
	FLOW_PROTO_ICMP = 1,
	FLOW_PROTO_TCP = 6,
	FLOW_PROTO_UDP = 17,
	FLOW_PROTO_ICMPV6 = 58,
};

/* A flow's identity: addresses are 16 bytes, IPv4 as ::ffff:a.b.c.d (v4-mapped). */
struct flow_key {
	uint8_t proto;
	uint8_t family;      /* 4 or 6 */
	uint8_t addr_a[16];
	uint8_t addr_b[16];
	uint16_t port_a;     /* host order; ICMP: type<<8|code of the first packet */
	uint16_t port_b;     /* host order; ICMP: the echo identifier, 0 for other messages */
};

/* What the store keeps of a flow beyond its per-chunk packet counts. */
struct flow_record {
	uint64_t id;                   /* store-wide, > 0 */
	struct flow_key key;
	uint64_t first_ns;             /* time of its first packet */
	struct ecap_proc proc[2];      /* indexed by enum flow_side */
};

/* A TLS key log line's worth: label, client_random, secret. */
#define ECAP_SECRET_MAX 64
#define ECAP_LABEL_MAX 48
struct tls_secret {
	char label[ECAP_LABEL_MAX];    /* CLIENT_RANDOM, CLIENT_TRAFFIC_SECRET_0, ... */
	uint8_t client_random[32];
	uint8_t secret_len;
	uint8_t secret[ECAP_SECRET_MAX];
};

#endif
