// SPDX-License-Identifier: GPL-2.0-only
/*
 * proc_sockets.c - owners of the sockets that predate the recorder, from /proc.
 *
 * The socket tables of every network namespace in use (the recorder's own, then each one a
 * process is in that was not read yet: /proc/PID/net/ shows PID's namespace) are parsed line
 * by line (format in proc_sockets.h) into one array, each entry tagged with the namespace of
 * its table, and sorted by inode; then every /proc/PID/fd entry whose link reads
 * "socket:[INODE]" is looked up there by binary search. A table is kept only when its
 * process was in the same namespace before and after it was read. The first (lowest) pid
 * found for a socket is its owner: /proc lists pids in ascending order, so that is usually
 * the process that created it and passed it on to children. Everything read from /proc is
 * checked: a line that does not parse is skipped (and counted), a process that exits while we
 * look is skipped.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc_info.h"
#include "proc_sockets.h"

#include "../schema/hex.h"

#define TCP_LISTEN_STATE 0x0A

struct sock_table {
	struct proc_sock *v;
	size_t n, cap;
	bool *taken;            /* per entry: already reported */
};

/* Exactly `digits` hex digits at *p into *v; advances *p. */
static bool parse_hex(const char **p, int digits, uint32_t *v)
{
	uint32_t x = 0;
	int i, d;

	for (i = 0; i < digits; i++) {
		d = hex_digit_value((unsigned char)(*p)[i]);
		if (d < 0)
			return false;
		x = x << 4 | (uint32_t)d;
	}
	*p += digits;
	*v = x;
	return true;
}

/*
 * "ADDR:PORT". The kernel printed each 32-bit word of the address as it sits in memory
 * read as a host integer, so storing the parsed word back in host order restores the
 * network-order bytes on any host.
 */
static bool parse_endpoint(const char **p, bool v6, uint8_t addr[16], uint16_t *port)
{
	uint32_t w, port32;
	int i;

	memset(addr, 0, 16);
	if (v6) {
		for (i = 0; i < 4; i++) {
			if (!parse_hex(p, 8, &w))
				return false;
			memcpy(addr + 4 * i, &w, 4);
		}
	} else {
		if (!parse_hex(p, 8, &w))
			return false;
		addr[10] = 0xff;
		addr[11] = 0xff;
		memcpy(addr + 12, &w, 4);
	}
	if (**p != ':')
		return false;
	(*p)++;
	if (!parse_hex(p, 4, &port32))
		return false;
	*port = (uint16_t)port32;
	return true;
}

static void skip_spaces(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

/* Skip one whitespace-separated field; false at the end of the line. */
static bool skip_field(const char **p)
{
	skip_spaces(p);
	if (**p == '\0' || **p == '\n')
		return false;
	while (**p && **p != ' ' && **p != '\t' && **p != '\n')
		(*p)++;
	return true;
}

int proc_sockets_parse_line(const char *line, bool v6, uint8_t proto, struct proc_sock *out)
{
	const char *p = line;
	uint32_t state;
	char *end;
	unsigned long long inode;
	int i;

	skip_spaces(&p);
	if (strncmp(p, "sl", 2) == 0)
		return 0;
	/* "%4d:" slot number */
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p++ != ':')
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->proto = proto;
	skip_spaces(&p);
	if (!parse_endpoint(&p, v6, out->local_addr, &out->local_port) || *p != ' ')
		return -EINVAL;
	skip_spaces(&p);
	if (!parse_endpoint(&p, v6, out->remote_addr, &out->remote_port) || *p != ' ')
		return -EINVAL;
	skip_spaces(&p);
	if (!parse_hex(&p, 2, &state) || *p != ' ')
		return -EINVAL;
	out->state = (uint8_t)state;
	/* tx:rx queues, tr:tm->when, retrnsmt, uid, timeout: then the inode */
	for (i = 0; i < 5; i++)
		if (!skip_field(&p))
			return -EINVAL;
	skip_spaces(&p);
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	errno = 0;
	inode = strtoull(p, &end, 10);
	if (errno || (*end != ' ' && *end != '\n' && *end != '\0'))
		return -EINVAL;
	out->inode = inode;
	return 1;
}

static int table_add(struct sock_table *t, const struct proc_sock *ps)
{
	struct proc_sock *nv;
	size_t ncap;

	if (t->n == t->cap) {
		ncap = t->cap ? t->cap * 2 : 256;
		if (ncap > SIZE_MAX / sizeof(*nv))
			return -ENOMEM;
		nv = realloc(t->v, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		t->v = nv;
		t->cap = ncap;
	}
	t->v[t->n++] = *ps;
	return 0;
}

static int read_table(struct sock_table *t, const char *path, bool v6, uint8_t proto,
		      uint32_t netns, unsigned *bad)
{
	struct proc_sock ps;
	char line[512];
	FILE *f;
	int rc = 0, r;

	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno; /* no IPv6: no tcp6 */
	while (fgets(line, sizeof(line), f)) {
		r = proc_sockets_parse_line(line, v6, proto, &ps);
		if (r < 0) {
			(*bad)++;
			continue;
		}
		if (r == 0 || ps.inode == 0 || ps.local_port == 0)
			continue;
		if (proto == 6 && ps.state == TCP_LISTEN_STATE)
			continue;
		ps.netns = netns;
		rc = table_add(t, &ps);
		if (rc < 0)
			break;
	}
	fclose(f);
	return rc;
}

static int cmp_inode(const void *a, const void *b)
{
	const struct proc_sock *x = a, *y = b;

	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

static struct proc_sock *table_find(struct sock_table *t, uint64_t inode, size_t *idx)
{
	size_t lo = 0, hi = t->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t->v[mid].inode < inode) {
			lo = mid + 1;
		} else if (t->v[mid].inode > inode) {
			hi = mid;
		} else {
			*idx = mid;
			return &t->v[mid];
		}
	}
	return NULL;
}

/* Reads a small /proc file into buf (NUL-terminated). */
static int read_small(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

static uint64_t cgroup_id_of(int pid)
{
	char path[64], buf[4096], cg[PATH_MAX];
	const char *p;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return 0;
	/* cgroup v2: the line "0::/path" */
	p = strstr(buf, "0::");
	if (!p || (p != buf && p[-1] != '\n'))
		return 0;
	p += 3;
	n = strcspn(p, "\n");
	if (n >= sizeof(cg))
		return 0;
	memcpy(cg, p, n);
	cg[n] = '\0';
	return proc_info_cgroup_id(cg);
}

int proc_sockets_read_proc(int pid, struct ecap_proc *out)
{
	char path[64], buf[4096];
	const char *p;
	unsigned long uid, gid;
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	rc = read_small(path, buf, sizeof(buf));
	if (rc < 0)
		return rc;
	n = strcspn(buf, "\n");
	if (n >= sizeof(out->comm))
		n = sizeof(out->comm) - 1;
	memcpy(out->comm, buf, n);
	out->comm[n] = '\0';

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	rc = read_small(path, buf, sizeof(buf));
	if (rc < 0)
		return rc;
	p = strstr(buf, "\nUid:");
	if (!p || sscanf(p + 5, "%lu", &uid) != 1)
		return -EINVAL;
	p = strstr(buf, "\nGid:");
	if (!p || sscanf(p + 5, "%lu", &gid) != 1)
		return -EINVAL;
	out->uid = (uint32_t)uid;
	out->gid = (uint32_t)gid;
	out->pid = (uint32_t)pid;
	out->tid = (uint32_t)pid;
	out->cgroup_id = cgroup_id_of(pid);
	out->netns = proc_sockets_netns(pid);
	if (proc_info_start(pid, &out->start_ns, NULL) < 0)
		out->start_ns = 0;
	out->valid = true;
	return 0;
}

uint32_t proc_sockets_netns(int pid)
{
	char path[64];
	struct stat st;

	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/net");
	if (stat(path, &st) < 0)
		return 0;
	if (st.st_ino == 0 || st.st_ino > UINT32_MAX) {
		errno = ERANGE; /* the kernel's namespace inodes are 32-bit */
		return 0;
	}
	return (uint32_t)st.st_ino;
}

/* The namespaces whose tables were read. */
struct ns_set {
	uint32_t *v;
	size_t n, cap;
};

static bool ns_seen(const struct ns_set *s, uint32_t netns)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == netns)
			return true;
	return false;
}

static int ns_add(struct ns_set *s, uint32_t netns)
{
	uint32_t *nv;
	size_t ncap;

	if (s->n == s->cap) {
		ncap = s->cap ? s->cap * 2 : 16;
		if (ncap > SIZE_MAX / sizeof(*nv))
			return -ENOMEM;
		nv = realloc(s->v, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n++] = netns;
	return 0;
}

/*
 * The four tables of the namespace of pid (0: the recorder's own), tagged netns. When pid is
 * no longer in netns after reading (it moved, or exited and its pid was reused), what was
 * read is dropped again and 0 returned: the next process of that namespace is asked instead.
 * Returns 1 when the tables were kept.
 */
static int read_ns_tables(struct sock_table *t, int pid, uint32_t netns, unsigned *bad)
{
	static const struct {
		const char *name;
		bool v6;
		uint8_t proto;
	} tables[] = {
		{ "tcp", false, 6 },
		{ "tcp6", true, 6 },
		{ "udp", false, 17 },
		{ "udp6", true, 17 },
	};
	size_t before = t->n, i;
	unsigned bad_here = 0;
	char path[64];
	int rc;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (pid > 0)
			snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, tables[i].name);
		else
			snprintf(path, sizeof(path), "/proc/self/net/%s", tables[i].name);
		rc = read_table(t, path, tables[i].v6, tables[i].proto, netns, &bad_here);
		if (rc < 0) {
			t->n = before;
			if (pid == 0 || rc == -ENOMEM)
				fprintf(stderr, "ecap-rec: cannot read %s: %s\n", path,
					strerror(-rc));
			return pid == 0 || rc == -ENOMEM ? rc : 0;
		}
	}
	if (proc_sockets_netns(pid) != netns) {
		t->n = before;
		return 0;
	}
	*bad += bad_here;
	return 1;
}

/* A pid from a /proc entry name; 0 for anything else. */
static int pid_of(const char *name)
{
	char *end;
	long pid;

	if (!isdigit((unsigned char)name[0]))
		return 0;
	errno = 0;
	pid = strtol(name, &end, 10);
	if (errno || *end != '\0' || pid <= 0 || pid > INT_MAX)
		return 0;
	return (int)pid;
}

/* The tables of the recorder's namespace, then of every other namespace a process is in. */
static int read_all_tables(struct sock_table *t, unsigned *bad)
{
	struct ns_set seen = { 0 };
	struct dirent *de;
	uint32_t netns;
	int rc, pid;
	DIR *d;

	netns = proc_sockets_netns(0);
	if (netns == 0)
		return errno ? -errno : -EINVAL;
	rc = read_ns_tables(t, 0, netns, bad);
	if (rc < 0)
		return rc;
	rc = ns_add(&seen, netns);
	d = rc < 0 ? NULL : opendir("/proc");
	if (!d) {
		rc = rc < 0 ? rc : -errno;
		free(seen.v);
		return rc;
	}
	while ((de = readdir(d))) {
		pid = pid_of(de->d_name);
		if (pid == 0)
			continue;
		netns = proc_sockets_netns(pid);
		if (netns == 0 || ns_seen(&seen, netns))
			continue;
		rc = read_ns_tables(t, pid, netns, bad);
		if (rc < 0)
			break;
		if (rc > 0) {
			rc = ns_add(&seen, netns);
			if (rc < 0)
				break;
		}
		rc = 0;
	}
	closedir(d);
	free(seen.v);
	return rc;
}

static int scan_pid(struct sock_table *t, int pid,
		    int (*fn)(void *ctx, const struct proc_sock *ps, const struct ecap_proc *owner),
		    void *ctx, int *reported)
{
	char path[64], link[64];
	struct ecap_proc owner;
	bool have_owner = false;
	struct dirent *de;
	unsigned long long inode;
	struct proc_sock *ps;
	size_t idx;
	ssize_t n;
	DIR *d;
	int rc = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return 0; /* gone, or a kernel thread we may not read */
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%.16s", pid, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%llu]", &inode) != 1)
			continue;
		ps = table_find(t, inode, &idx);
		if (!ps || t->taken[idx])
			continue;
		if (!have_owner) {
			if (proc_sockets_read_proc(pid, &owner) < 0)
				break;
			have_owner = true;
		}
		t->taken[idx] = true;
		rc = fn(ctx, ps, &owner);
		if (rc < 0)
			break;
		(*reported)++;
	}
	closedir(d);
	return rc;
}

int proc_sockets_scan(int (*fn)(void *ctx, const struct proc_sock *ps,
				const struct ecap_proc *owner),
		      void *ctx)
{
	struct sock_table t = { 0 };
	struct dirent *de;
	unsigned bad = 0;
	int reported = 0, rc = 0, pid;
	DIR *d = NULL;

	rc = read_all_tables(&t, &bad);
	if (rc < 0)
		goto out;
	if (bad)
		fprintf(stderr, "ecap-rec: %u unreadable lines in /proc/net socket tables "
			"skipped\n", bad);
	if (t.n == 0)
		goto out;
	qsort(t.v, t.n, sizeof(*t.v), cmp_inode);
	t.taken = calloc(t.n, sizeof(*t.taken));
	if (!t.taken) {
		rc = -ENOMEM;
		goto out;
	}
	d = opendir("/proc");
	if (!d) {
		rc = -errno;
		goto out;
	}
	while ((de = readdir(d))) {
		pid = pid_of(de->d_name);
		if (pid == 0)
			continue;
		rc = scan_pid(&t, pid, fn, ctx, &reported);
		if (rc < 0)
			goto out;
	}
	rc = reported;
out:
	if (d)
		closedir(d);
	free(t.taken);
	free(t.v);
	return rc;
}
