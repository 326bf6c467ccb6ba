// SPDX-License-Identifier: GPL-2.0-only
/*
 * proc_owner.c - who a socket's owning process is, from the kernel's record of it, with the
 * executable and cgroup paths named once and remembered (proc_owner.h).
 *
 * Both memories are direct-mapped tables (a newer entry replaces an older one in its slot),
 * and an entry older than NAME_TTL_NS is looked up again. An executable's name that old is
 * checked first where that is possible without the process (which may be gone: a short-lived
 * client's socket is often read after its exit): in our own mount namespace, the name must
 * still lead to the very file (device and inode), else /proc/PID/exe is read as for a new one.
 *
 * A name is remembered per mount namespace by the namespace's id, which the kernel never gives
 * to another namespace (bpf/mntns_id.h), not by its inode number, which goes to the next new
 * namespace as soon as one is freed: a name learnt in one container would otherwise answer for
 * the same file in the next. Where the kernel side has no id (0), nothing is remembered across
 * processes: each is named from its own /proc/PID/exe, or not at all. Our own namespace's id
 * comes from ioctl(NS_GET_MNTNS_ID) (Linux 6.11+); without it, old names are not checked
 * by path but read again.
 *
 * Both tables are made memory at start (table_mem.h): under a loop of `ip netns exec` clients
 * each client's name falls in a slot of its own (a new namespace each), and with the pages
 * made as first written, each of the executables table's 72 pages was a page fault (and, on a
 * VM whose host shadows page tables, a first touch) on the thread that reads the rings.
 *
 * A process's start on the wall clock is its start plus the offset the recorder measures once
 * a second (proc_owner_set_wall), not two clock reads for each new process.
 */
#include "proc_owner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "proc_info.h"
#include "table_mem.h"

#define EXE_SLOTS 1024u
#define CGROUP_SLOTS 256u
#define NAME_TTL_NS (60ull * 1000000000ull)

struct exe_name {
	uint64_t ino;           /* 0: empty */
	uint32_t dev;           /* the kernel's encoding, as in struct ecap_owner */
	uint64_t mntns_id;      /* the namespace it was named in (never 0 in a used entry) */
	uint64_t at_ns;
	char path[ECAP_EXE_MAX];
};

struct cgroup_name {
	uint64_t id;            /* 0: empty */
	uint64_t at_ns;
	char path[ECAP_CGROUP_MAX];
	char container_id[ECAP_CONTAINER_ID_MAX];
	char runtime[ECAP_RUNTIME_MAX];
	char pod_uid[ECAP_POD_UID_MAX];
};

struct proc_owner {
	uint64_t own_mntns_id;  /* our mount namespace's id (0: unknown) */
	bool wall_set;          /* boot_to_wall_ns given (proc_owner_set_wall) */
	int64_t boot_to_wall_ns;
	struct exe_name *exe;
	struct cgroup_name *cg;
	struct proc_owner_stats st;
};

struct proc_owner *proc_owner_new(void)
{
	struct proc_owner *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->exe = table_mem_new(EXE_SLOTS, sizeof(*c->exe), true);
	c->cg = table_mem_new(CGROUP_SLOTS, sizeof(*c->cg), true);
	if (!c->exe || !c->cg) {
		proc_owner_free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->own_mntns_id = proc_info_own_mntns_id();
	return c;
}

void proc_owner_free(struct proc_owner *c)
{
	if (!c)
		return;
	table_mem_free(c->exe, EXE_SLOTS, sizeof(*c->exe), true);
	table_mem_free(c->cg, CGROUP_SLOTS, sizeof(*c->cg), true);
	free(c);
}

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xff51afd7ed558ccdull;

	return h ^ (h >> 31);
}

static bool fresh(uint64_t at_ns, uint64_t now_ns)
{
	return now_ns >= at_ns && now_ns - at_ns < NAME_TTL_NS;
}

/* dev as the kernel encodes it (struct ecap_owner.exe_dev) */
static uint32_t kernel_dev(dev_t dev)
{
	return ((uint32_t)major(dev) << 20) | minor(dev);
}

/*
 * The path of pid's executable from /proc/PID/exe (the link's text, never followed by name),
 * and whether that link leads to the file the kernel named (dev, ino): the stat follows the
 * kernel's own link to the open file. The caller checks pid's start time afterwards.
 */
static bool exe_of(int pid, const struct ecap_owner *w, char out[ECAP_EXE_MAX])
{
	char link[64], buf[PATH_MAX];
	struct stat st;
	ssize_t n;

	out[0] = '\0';
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, buf, sizeof(buf));
	if (n <= 0)
		return false;
	proc_info_printable(out, ECAP_EXE_MAX, buf, (size_t)n);
	return w->exe_ino && stat(link, &st) == 0 && st.st_ino == w->exe_ino &&
	       kernel_dev(st.st_dev) == w->exe_dev;
}

static struct exe_name *exe_slot(struct proc_owner *c, uint32_t dev, uint64_t ino,
				 uint64_t mntns_id)
{
	return &c->exe[mix(ino ^ mntns_id, dev) & (EXE_SLOTS - 1)];
}

/* Whether the remembered name x, too old to be trusted as it is, still names its file: only
 * in our own mount namespace (another's names lead elsewhere from here), the last component
 * not followed (readlink of /proc/PID/exe never ends in a symlink). */
static bool exe_still_named(const struct proc_owner *c, const struct exe_name *x)
{
	struct stat st;

	return c->own_mntns_id && x->mntns_id == c->own_mntns_id && x->path[0] == '/' &&
	       fstatat(AT_FDCWD, x->path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	       st.st_ino == x->ino && kernel_dev(st.st_dev) == x->dev;
}

void proc_owner_exe_named(struct proc_owner *c, uint32_t dev, uint64_t ino, uint64_t mntns_id,
			  const char *path, uint64_t now_ns)
{
	struct exe_name *x = exe_slot(c, dev, ino, mntns_id);

	if (!ino || !mntns_id || path[0] != '/')
		return;
	proc_info_printable(x->path, sizeof(x->path), path, strlen(path));
	x->ino = ino;
	x->dev = dev;
	x->mntns_id = mntns_id;
	x->at_ns = now_ns;
	c->st.exe_told++;
}

static void cgroup_remember(struct proc_owner *c, uint64_t id, const struct ecap_proc_info *info,
			    uint64_t now_ns)
{
	struct cgroup_name *e = &c->cg[mix(id, 0) & (CGROUP_SLOTS - 1)];

	e->id = id;
	e->at_ns = now_ns;
	memcpy(e->path, info->cgroup, sizeof(e->path));
	memcpy(e->container_id, info->container_id, sizeof(e->container_id));
	memcpy(e->runtime, info->runtime, sizeof(e->runtime));
	memcpy(e->pod_uid, info->pod_uid, sizeof(e->pod_uid));
}

static const struct cgroup_name *cgroup_named(struct proc_owner *c, uint64_t id, uint64_t now_ns)
{
	struct cgroup_name *e = &c->cg[mix(id, 0) & (CGROUP_SLOTS - 1)];

	if (!id)
		return NULL;
	if (e->id == id && fresh(e->at_ns, now_ns))
		return e;
	c->st.cgroup_named++;
	if (proc_info_cgroup_path(id, e->path, sizeof(e->path)) < 0) {
		e->id = 0;
		return NULL;
	}
	proc_info_container(e->path, e->container_id, e->runtime, e->pod_uid);
	e->id = id;
	e->at_ns = now_ns;
	return e;
}

void proc_owner_set_wall(struct proc_owner *c, int64_t boot_to_wall_ns)
{
	c->wall_set = true;
	c->boot_to_wall_ns = boot_to_wall_ns;
}

/* A start time (CLOCK_BOOTTIME) on the wall clock; 0 when it would be before 1970 or past
 * what the numbers hold. */
static uint64_t start_wall(const struct proc_owner *c, uint64_t start_ns)
{
	if (!c->wall_set)
		return proc_info_wall_ns(start_ns);
	if (start_ns > (uint64_t)INT64_MAX ||
	    (c->boot_to_wall_ns > 0 && (int64_t)start_ns > INT64_MAX - c->boot_to_wall_ns) ||
	    (int64_t)start_ns + c->boot_to_wall_ns < 0)
		return 0;
	return (uint64_t)((int64_t)start_ns + c->boot_to_wall_ns);
}

void proc_owner_info(struct proc_owner *c, const struct ecap_owner *w, uint64_t start_ns,
		     uint64_t now_ns, struct ecap_proc_info *info)
{
	struct exe_name *x = NULL;
	const struct cgroup_name *cg;
	char exe[ECAP_EXE_MAX], args[ECAP_ARGS_MAX], cgroup[ECAP_CGROUP_MAX];
	bool read_exe = false, read_args = false, read_cgroup = false, exe_is_file = false;
	uint32_t args_len = w->args_len < ECAP_ARGS_BPF ? w->args_len : ECAP_ARGS_BPF;
	uint32_t args_want = w->args_total < ECAP_ARGS_BPF ? w->args_total : ECAP_ARGS_BPF;
	uint64_t again;
	int pid = (int)w->pid;

	memset(info, 0, sizeof(*info));
	info->pid = w->pid;
	info->start_ns = start_ns;
	info->start_wall_ns = start_wall(c, start_ns);
	info->ppid = w->ppid;
	info->nspid = w->nspid;
	proc_info_printable(info->parent_comm, sizeof(info->parent_comm), w->parent_comm,
			    strnlen(w->parent_comm, sizeof(w->parent_comm)));
	proc_info_printable(info->args, sizeof(info->args), w->args, args_len);
	cg = cgroup_named(c, w->cgroup_id, now_ns);
	if (cg) {
		memcpy(info->cgroup, cg->path, sizeof(info->cgroup));
		memcpy(info->container_id, cg->container_id, sizeof(info->container_id));
		memcpy(info->runtime, cg->runtime, sizeof(info->runtime));
		memcpy(info->pod_uid, cg->pod_uid, sizeof(info->pod_uid));
	}
	/* remembered only by a namespace id: without one, every process is named from /proc */
	if (w->exe_ino && w->mntns_id) {
		x = exe_slot(c, w->exe_dev, w->exe_ino, w->mntns_id);
		bool same = x->ino == w->exe_ino && x->dev == w->exe_dev &&
			    x->mntns_id == w->mntns_id;

		if (same && !fresh(x->at_ns, now_ns) && exe_still_named(c, x)) {
			x->at_ns = now_ns;
			c->st.exe_checked++;
		}
		if (same && fresh(x->at_ns, now_ns)) {
			memcpy(info->exe, x->path, sizeof(info->exe));
			c->st.exe_cached++;
		} else {
			read_exe = true;
		}
	} else {
		read_exe = true;
	}
	/* the command line was not paged in when the kernel read it */
	read_args = args_len < args_want;
	read_cgroup = !cg;
	if (!pid || !start_ns || !(read_exe || read_args || read_cgroup))
		return;
	c->st.proc_reads++;
	if (read_exe)
		exe_is_file = exe_of(pid, w, exe);
	if (read_args)
		proc_info_args_of(pid, args);
	if (read_cgroup)
		proc_info_cgroup_of(pid, cgroup);
	/* all of it read before the start is checked: a reused pid gives nothing */
	if (proc_info_start(pid, &again, NULL) < 0 || again != start_ns)
		return;
	if (read_exe && exe[0]) {
		memcpy(info->exe, exe, sizeof(info->exe));
		c->st.exe_named++;
		if (x && exe_is_file) {
			x->ino = w->exe_ino;
			x->dev = w->exe_dev;
			x->mntns_id = w->mntns_id;
			x->at_ns = now_ns;
			memcpy(x->path, exe, sizeof(x->path));
		}
	}
	if (read_args && args[0])
		memcpy(info->args, args, sizeof(info->args));
	if (read_cgroup && cgroup[0]) {
		memcpy(info->cgroup, cgroup, sizeof(info->cgroup));
		proc_info_container(info->cgroup, info->container_id, info->runtime,
				    info->pod_uid);
		/* remembered when the path is the id's (the process may have moved since) */
		if (w->cgroup_id && proc_info_cgroup_id(cgroup) == w->cgroup_id)
			cgroup_remember(c, w->cgroup_id, info, now_ns);
	}
}

void proc_owner_get_stats(const struct proc_owner *c, struct proc_owner_stats *st)
{
	*st = c->st;
}
