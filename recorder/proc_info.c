// SPDX-License-Identifier: GPL-2.0-only
/*
 * proc_info.c - who an owning process is, from /proc (proc_info.h).
 *
 * Files read, each once and bounded: /proc/PID/stat (parent and start time: the fields after
 * the last ')' since the name may hold anything), /proc/PID/status (NSpid), /proc/PID/exe
 * (readlink: the link's text, never followed), /proc/PID/cmdline, /proc/PID/cgroup (the
 * cgroup v2 line "0::PATH"), /proc/PPID/comm. The start time is read first and again last:
 * a pid that was reused meanwhile gives nothing rather than a mix of two processes.
 */
#include "proc_info.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/nsfs.h>

#define STAT_MAX 2048
#define CMDLINE_MAX 4096
#define CGROUP_FILE_MAX 8192
#define STARTTIME_FIELD 22 /* proc(5) */
#define PF_KTHREAD_FLAG 0x00200000ull /* include/linux/sched.h; stat field 9 */

#ifndef NS_GET_MNTNS_ID /* Linux 6.11's uapi: older headers lack it */
#define NS_GET_MNTNS_ID _IOR(0xb7, 0x5, uint64_t)
#endif

uint64_t proc_info_tick_ns(void)
{
	long hz = sysconf(_SC_CLK_TCK);

	return hz > 0 && hz <= 1000000000 ? 1000000000ull / (uint64_t)hz : 10000000ull;
}

ssize_t proc_info_read_fd(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size - 1) {
		n = read(fd, buf + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return (ssize_t)got;
}

/* Up to size-1 bytes of a /proc file, NUL-terminated; the byte count, or -errno. */
static ssize_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t got;

	if (fd < 0)
		return -errno;
	got = proc_info_read_fd(fd, buf, size);
	close(fd);
	return got;
}

/*
 * The numbers of /proc/PID/stat's fields want[0] < want[1] < ... (1-based, as in proc(5); all
 * after the command name, field 2, whose parentheses may hold anything: it ends at the last
 * ')'), into out[]. 0, or -errno.
 */
static int stat_numbers(int pid, const int *want, unsigned long long *out, int n)
{
	char path[64], buf[STAT_MAX];
	const char *p;
	char *end;
	ssize_t got;
	int field, i = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	got = read_file(path, buf, sizeof(buf));
	if (got < 0)
		return (int)got;
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	p++;
	/* p is before field 3 (state); fields are separated by single spaces */
	for (field = 3; i < n; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -EINVAL;
		if (field == want[i]) {
			errno = 0;
			out[i] = strtoull(p, &end, 10);
			if (errno || end == p)
				return -EINVAL;
			i++;
		}
		while (*p && *p != ' ')
			p++;
	}
	return 0;
}

int proc_info_start(int pid, uint64_t *start_ns, uint32_t *ppid)
{
	static const int want[] = { 4, STARTTIME_FIELD };
	unsigned long long v[2];
	int rc = stat_numbers(pid, want, v, 2);

	if (rc < 0)
		return rc;
	if (ppid)
		*ppid = v[0] > UINT32_MAX ? 0 : (uint32_t)v[0];
	if (v[1] > UINT64_MAX / proc_info_tick_ns())
		return -EINVAL;
	*start_ns = v[1] * proc_info_tick_ns();
	return 0;
}

int proc_info_kthread(int pid)
{
	static const int want[] = { 9 }; /* flags */
	unsigned long long flags;
	int rc = stat_numbers(pid, want, &flags, 1);

	return rc < 0 ? rc : (flags & PF_KTHREAD_FLAG) ? 1 : 0;
}

/* w with each NUL byte made a space, as proc_info_printable() makes it (a command line's
 * separators): a byte's low 7 bits plus 0x7f reach its top bit unless all are 0, and the top
 * bit of a byte that is 0 is 0 too; 0x80 shifted by 2 is the byte's 0x20. */
static uint64_t nul_to_space(uint64_t w)
{
	const uint64_t low7 = 0x7f7f7f7f7f7f7f7full;

	return w | (~(((w & low7) + low7) | w | low7) >> 2);
}

/* Whether each of the 8 bytes of w is printable ASCII (0x20..0x7e): none below 0x20 (a byte
 * less than 0x20 borrows into its top bit) and none above 0x7e (adding 1 sets the top bit of
 * 0x7f, which a byte of 0x80 or more has already). */
static bool word_printable(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, tops = 0x8080808080808080ull;

	return (((w - 0x20 * ones) & ~w) | ((w + ones) | w)) & tops ? false : true;
}

void proc_info_printable(char *dst, size_t size, const char *src, size_t n)
{
	size_t k = 0, i = 0, stop;
	uint64_t w;

	while (i < n && k < size - 1) {
		/* 8 bytes at a time while they are printable once NULs are spaces (a command
		 * line, a path); a word with anything else goes byte by byte, as does the tail */
		while (i + 8 <= n && k + 8 <= size - 1) {
			memcpy(&w, src + i, 8);
			w = nul_to_space(w);
			if (!word_printable(w))
				break;
			memcpy(dst + k, &w, 8);
			i += 8;
			k += 8;
		}
		for (stop = i + 8 < n ? i + 8 : n; i < stop && k < size - 1; i++) {
			unsigned char c = (unsigned char)src[i];

			dst[k++] = c == '\0' ? ' ' : c >= 0x20 && c < 0x7f ? (char)c : '?';
		}
	}
	while (k > 0 && dst[k - 1] == ' ')
		k--;
	dst[k] = '\0';
}

const char *proc_info_cgroup2_mount(void)
{
	static char mount[256];
	static int state; /* 0 not looked, 1 found, -1 none */
	char line[1024], *tok[32], *save, *p;
	FILE *mi;
	int n, dash;

	if (state)
		return state > 0 ? mount : NULL;
	state = -1;
	mi = fopen("/proc/self/mountinfo", "re");
	if (!mi)
		return NULL;
	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER" */
	while (state < 0 && fgets(line, sizeof(line), mi)) {
		n = 0;
		dash = -1;
		for (p = strtok_r(line, " \n", &save); p && n < 32; p = strtok_r(NULL, " \n", &save)) {
			if (dash < 0 && n >= 6 && strcmp(p, "-") == 0)
				dash = n;
			tok[n++] = p;
		}
		/* the whole hierarchy (root "/"), at a path without escapes (\040 and such) */
		if (dash > 0 && dash + 1 < n && strcmp(tok[dash + 1], "cgroup2") == 0 &&
		    strcmp(tok[3], "/") == 0 && !strchr(tok[4], '\\') &&
		    strlen(tok[4]) < sizeof(mount)) {
			snprintf(mount, sizeof(mount), "%s", tok[4]);
			state = 1;
		}
	}
	fclose(mi);
	return state > 0 ? mount : NULL;
}

uint64_t proc_info_cgroup_id(const char *cgroup)
{
	const char *mnt = proc_info_cgroup2_mount();
	char dir[4096];
	struct stat st;

	size_t len = strlen(cgroup);

	if (!mnt || cgroup[0] != '/' || strstr(cgroup, "/../") ||
	    (len >= 3 && strcmp(cgroup + len - 3, "/..") == 0) ||
	    (size_t)snprintf(dir, sizeof(dir), "%s%s", mnt, cgroup) >= sizeof(dir))
		return 0;
	if (fstatat(AT_FDCWD, dir, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	return st.st_ino; /* a cgroup v2 id is its directory's inode number */
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

/* A pod uid from n bytes (dashes, or underscores in systemd slice names): 36 characters of
 * hex digits and dashes in the 8-4-4-4-12 form. */
static bool pod_uid_of(const char *s, size_t n, char out[ECAP_POD_UID_MAX])
{
	static const int dash_at[] = { 8, 13, 18, 23 };
	size_t d = 0;

	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i] == '_' ? '-' : s[i];

		if (d < 4 && (int)i == dash_at[d]) {
			if (c != '-')
				return false;
			d++;
		} else if (!all_hex(&c, 1)) {
			return false;
		}
		out[i] = c;
	}
	out[n] = '\0';
	return true;
}

static bool has_prefix(const char *s, size_t n, const char *prefix, size_t *plen)
{
	*plen = strlen(prefix);
	return n >= *plen && memcmp(s, prefix, *plen) == 0;
}

/* The container id and runtime one path component names (n bytes, ".scope" allowed), given
 * the component before it. */
static bool component_container(const char *c, size_t n, const char *prev, size_t prev_n,
				char id[ECAP_CONTAINER_ID_MAX], char runtime[ECAP_RUNTIME_MAX])
{
	static const struct {
		const char *prefix, *runtime;
	} kinds[] = {
		{ "docker-", "docker" },
		{ "cri-containerd-", "containerd" },
		{ "crio-", "crio" },
		{ "libpod-", "podman" },
	};
	char uid[ECAP_POD_UID_MAX];
	const char *rt = NULL;
	size_t plen;

	if (n > 6 && memcmp(c + n - 6, ".scope", 6) == 0)
		n -= 6;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]) && !rt; k++) {
		if (has_prefix(c, n, kinds[k].prefix, &plen)) {
			rt = kinds[k].runtime;
			c += plen;
			n -= plen;
		}
	}
	if (!rt && prev_n == 6 && memcmp(prev, "docker", 6) == 0)
		rt = "docker";
	if (!rt && prev_n > 3 && memcmp(prev, "pod", 3) == 0 &&
	    pod_uid_of(prev + 3, prev_n - 3, uid))
		rt = "cri"; /* kubepods, cgroupfs driver: .../pod<UID>/<ID> */
	if (!rt || n != 64 || !all_hex(c, n))
		return false;    /* "libpod-conmon-ID", "crio-conmon-ID": the monitor, not ID */
	memcpy(id, c, 64);
	id[64] = '\0';
	snprintf(runtime, ECAP_RUNTIME_MAX, "%s", rt);
	return true;
}

void proc_info_container(const char *cgroup, char id[ECAP_CONTAINER_ID_MAX],
			 char runtime[ECAP_RUNTIME_MAX], char pod_uid[ECAP_POD_UID_MAX])
{
	const char *p = cgroup, *prev = "", *slash, *q;
	size_t n, prev_n = 0, plen;
	bool kube = false;

	id[0] = runtime[0] = pod_uid[0] = '\0';
	while (*p) {
		while (*p == '/')
			p++;
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0)
			break;
		if (has_prefix(p, n, "kubepods", &plen))
			kube = true;
		/* kubepods pod slices: "pod<UID>" or "kubepods-<qos>-pod<UID>.slice" */
		if (kube) {
			size_t m = n;

			if (m > 6 && memcmp(p + m - 6, ".slice", 6) == 0)
				m -= 6;
			for (q = p; q + 3 <= p + m; q++)
				if (memcmp(q, "pod", 3) == 0 && (q == p || q[-1] == '-') &&
				    pod_uid_of(q + 3, (size_t)(p + m - q - 3), pod_uid))
					break;
		}
		component_container(p, n, prev, prev_n, id, runtime);
		prev = p;
		prev_n = n;
		p += n;
	}
}

/* The last number of the "NSpid:" line: the pid in the process's own pid namespace. */
static uint32_t nspid_of(int pid)
{
	char path[64], buf[4096];
	unsigned long v = 0;
	const char *p, *nl;
	char *end;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return 0;
	p = strstr(buf, "\nNSpid:");
	if (!p)
		return 0;
	p += 7;
	nl = strchr(p, '\n');
	if (!nl)
		nl = p + strlen(p);
	while (p < nl) {
		while (p < nl && (*p == ' ' || *p == '\t'))
			p++;
		if (p >= nl)
			break;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || end == p || end > nl)
			return 0;
		p = end;
	}
	return v > UINT32_MAX ? 0 : (uint32_t)v;
}

void proc_info_cgroup_of(int pid, char out[ECAP_CGROUP_MAX])
{
	char path[64], *buf = malloc(CGROUP_FILE_MAX);
	const char *p;
	size_t n;

	out[0] = '\0';
	if (!buf)
		return;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (read_file(path, buf, CGROUP_FILE_MAX) >= 0) {
		p = strstr(buf, "0::");
		if (p && (p == buf || p[-1] == '\n')) {
			p += 3;
			n = strcspn(p, "\n");
			proc_info_printable(out, ECAP_CGROUP_MAX, p, n);
		}
	}
	free(buf);
}

void proc_info_args_of(int pid, char out[ECAP_ARGS_MAX])
{
	char path[64], buf[CMDLINE_MAX];
	ssize_t n;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	n = read_file(path, buf, sizeof(buf));
	if (n > 0)
		proc_info_printable(out, ECAP_ARGS_MAX, buf, (size_t)n);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t proc_info_wall_ns(uint64_t boot_ns)
{
	uint64_t now_boot = clock_ns(CLOCK_BOOTTIME), now_wall = clock_ns(CLOCK_REALTIME);

	if (now_boot < boot_ns || now_wall < now_boot - boot_ns)
		return 0;
	return now_wall - (now_boot - boot_ns);
}

int proc_info_cgroup_path(uint64_t id, char *out, size_t size)
{
	const char *mnt = proc_info_cgroup2_mount();
	struct {
		struct file_handle fh;
		uint64_t id;
	} h;
	char link[64], path[4096];
	size_t ml;
	ssize_t n;
	int mfd, fd;

	if (!mnt || !id || size == 0)
		return -ENOENT;
	mfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (mfd < 0)
		return -errno;
	memset(&h, 0, sizeof(h));
	h.fh.handle_bytes = sizeof(uint64_t);
	h.fh.handle_type = 0xfe; /* FILEID_KERNFS: the 64-bit kernfs id, the cgroup id */
	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(mfd);
	if (fd < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	path[n] = '\0';
	ml = strlen(mnt);
	/* the mount itself is "/"; anything outside it is not a cgroup of this hierarchy */
	if (strncmp(path, mnt, ml) != 0 || (path[ml] != '\0' && path[ml] != '/'))
		return -EINVAL;
	if (path[ml] == '\0')
		snprintf(out, size, "/");
	else
		proc_info_printable(out, size, path + ml, strlen(path + ml));
	return 0;
}

int proc_info_read(int pid, uint64_t start_ns, struct ecap_proc_info *out)
{
	char path[64], buf[CMDLINE_MAX];
	uint64_t start, again, parent_start;
	ssize_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = proc_info_start(pid, &start, &out->ppid);
	if (rc < 0)
		return rc;
	if (start_ns && start != start_ns)
		return -ESRCH;
	out->pid = (uint32_t)pid;
	out->start_ns = start;
	out->start_wall_ns = proc_info_wall_ns(start);
	out->nspid = nspid_of(pid);
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, buf, sizeof(buf));
	if (n > 0)
		proc_info_printable(out->exe, sizeof(out->exe), buf, (size_t)n);
	proc_info_args_of(pid, out->args);
	proc_info_cgroup_of(pid, out->cgroup);
	proc_info_container(out->cgroup, out->container_id, out->runtime, out->pod_uid);
	if (out->ppid > 0 && proc_info_start((int)out->ppid, &parent_start, NULL) == 0 &&
	    parent_start <= start) {
		snprintf(path, sizeof(path), "/proc/%u/comm", out->ppid);
		n = read_file(path, buf, ECAP_COMM_LEN + 1);
		if (n > 0)
			proc_info_printable(out->parent_comm, sizeof(out->parent_comm), buf,
					    strcspn(buf, "\n"));
		/* the parent may have been replaced while its name was read */
		if (proc_info_start((int)out->ppid, &again, NULL) < 0 || again != parent_start)
			out->parent_comm[0] = '\0';
	}
	if (proc_info_start(pid, &again, NULL) < 0 || again != start) {
		memset(out, 0, sizeof(*out));
		return -ESRCH;
	}
	return 0;
}

uint64_t proc_info_own_mntns_id(void)
{
	uint64_t id = 0;
	int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (ioctl(fd, NS_GET_MNTNS_ID, &id) < 0)
		id = 0;
	close(fd);
	return id;
}
