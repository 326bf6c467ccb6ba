// SPDX-License-Identifier: GPL-2.0-only
/*
 * live_keylog.c - the key-log function probes (live_keylog.h, bpf/tlslog.bpf.c): which files
 * get them, attaching by file descriptor, and the events.
 *
 * A file is opened through the process that maps it (/proc/PID/exe, /proc/PID/map_files/
 * RANGE: the mapped inode itself, in whatever mount namespace) and the uprobe is attached
 * through /proc/self/fd/N of that open file, so the inode inspected is the inode probed.
 * Uprobes are per inode with pid -1: every process running the file, now or later, is
 * covered. Each inode is inspected once; a table remembers the verdict.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "../schema/decimal.h"
#include "tlslog.h"
#include "tlslog.skel.h"
#include "live_keylog.h"
#include "ring_pos.h"
#include "kthread_set.h"
#include "exec_name.h"
#include "live_internal.h"
#include "proc_info.h"
#include "proc_maps.h"
#include "proc_maps_query.h"
#include "maps_iter.h"
#include "uprobe_attach.h"
#include "tls/lib.h"

#define SEEN_MAX 8192u
#define SEEN_SLOTS (2 * SEEN_MAX) /* open addressing, a power of 2: at most half full */
#define NEEDED_MAX 64u
#define NEEDED_DEPTH 3 /* levels of DT_NEEDED below a new program followed at its exec */

enum verdict { V_OTHER, V_PROBED, V_FAILED };

struct seen_file {
	dev_t dev;
	ino_t ino;
	uint8_t verdict;
	uint8_t named;      /* a rescan's maps_fn had its name and wants no other look */
};

struct live_keylog {
	struct tlslog_bpf *skel;
	struct kthread_set kthreads;      /* pids the rescans skip (kthread_set.h) */
	struct ring_pos pos;              /* kl_events' positions (the long sleep) */
	live_keylog_fn fn;
	live_keylog_libssl_fn libssl_fn;  /* with ctx */
	live_keylog_exe_fn exe_fn;        /* with ctx */
	void *ctx;
	bool quiet;
	struct bpf_link *links[KL_FILES_MAX];
	struct bpf_link *exec_link;       /* sched_process_exec */
	uint64_t exec_ns;                 /* CLOCK_MONOTONIC of the exec being handled, or 0 */
	uint64_t exec_mntns_id;           /* its process's mount namespace (bpf/mntns_id.h) */
	uint64_t exec_names;              /* executables named by the exec record itself */
	struct tls_probe probe[KL_FILES_MAX];
	uint32_t nprobed, nfailed;
	struct seen_file *seen;
	size_t nseen;
	uint32_t *slot;                   /* SEEN_SLOTS: index + 1 into seen, 0 empty */
	bool full_said;
	bool no_query;                    /* the kernel has no PROCMAP_QUERY: rescans read text */
	uint32_t self_pid;                /* ours: a rescan looks at it until own_scanned says */
	uint8_t own_scanned;              /* 1: a rescan looked at our maps; 2: one with a line_fn */
	struct maps_iter *iter;           /* NULL: rescans walk /proc (maps_iter.h) */
	struct live_keylog_rescans rescans;
	char maps_buf[64 * 1024];         /* stdio's buffer for /proc/PID/maps */
};

static uint32_t seen_hash(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)ino * 0xff51afd7ed558ccdull);

	return (uint32_t)(h ^ (h >> 29)) & (SEEN_SLOTS - 1);
}

/* The entry of (dev, ino), or NULL; *at: the empty slot where it would go. */
static struct seen_file *seen_find(struct live_keylog *k, dev_t dev, ino_t ino, uint32_t *at)
{
	uint32_t i = seen_hash(dev, ino);

	while (k->slot[i]) {
		struct seen_file *s = &k->seen[k->slot[i] - 1];

		if (s->dev == dev && s->ino == ino)
			return s;
		i = (i + 1) & (SEEN_SLOTS - 1);
	}
	if (at)
		*at = i;
	return NULL;
}

/* dev as the kernel encodes it (struct keylog_file, struct keylog_exec) */
static uint32_t kernel_dev(dev_t dev)
{
	return ((uint32_t)major(dev) << 20) | minor(dev);
}

/* Tells the exec probe that st's file was looked at: its next execs need no record. Best
 * effort: a file missing from the map only costs a record that user space then skips. */
static void mark_known(struct live_keylog *k, const struct stat *st)
{
	struct keylog_file f = {
		.dev = kernel_dev(st->st_dev),
		.ino = st->st_ino,
	};
	uint8_t one = 1;

	bpf_map__update_elem(k->skel->maps.kl_known, &f, sizeof(f), &one, sizeof(one), BPF_ANY);
}

static int attach(struct live_keylog *k, int fd, const struct tls_probe *p)
{
	struct keylog_config cfg = { 0 };
	uint32_t slot = k->nprobed;

	if (slot >= KL_FILES_MAX)
		return -ENOSPC;
	cfg.abi = p->abi == TLS_PROBE_ABI_GO ? KL_ABI_GO : KL_ABI_CALL;
	cfg.nderef = p->random.nderef;
	cfg.ptr[0] = p->random.ptr;
	cfg.off = p->random.off;
	if (bpf_map__update_elem(k->skel->maps.kl_cfg, &slot, sizeof(slot), &cfg, sizeof(cfg),
				 BPF_ANY) < 0)
		return -errno;
	k->links[slot] = uprobe_attach(p->abi == TLS_PROBE_ABI_GO ? k->skel->progs.kl_go :
								      k->skel->progs.kl_call,
				       fd, NULL, p->func_off, false, slot);
	if (!k->links[slot])
		return -errno;
	k->probe[slot] = *p;
	k->nprobed++;
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Inspects and probes the file open on fd, once per inode. name: for messages. */
static void consider_fd(struct live_keylog *k, int fd, const char *name)
{
	struct tls_probe p;
	struct seen_file *s;
	struct tls_elf e;
	char why[256];
	struct stat st;
	uint32_t at;
	int rc;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || seen_find(k, st.st_dev, st.st_ino, &at))
		return;
	if (k->nseen == SEEN_MAX) {
		if (!k->full_said)
			fprintf(stderr, "ecap-rec: tls: %u files looked at: no more are\n", SEEN_MAX);
		k->full_said = true;
		return;
	}
	s = &k->seen[k->nseen++];
	k->slot[at] = (uint32_t)k->nseen;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->verdict = V_OTHER;
	mark_known(k, &st);
	if (tls_elf_open(fd, &e) < 0)
		return;
	rc = tls_probe_inspect(&e, &p, why, sizeof(why));
	tls_elf_close(&e);
	if (rc == -ENOENT)
		return;
	if (rc == 0)
		rc = attach(k, fd, &p);
	if (rc < 0) {
		s->verdict = V_FAILED;
		k->nfailed++;
		fprintf(stderr, "ecap-rec: tls: %s: %s%s%s, skipped: %s\n", name,
			p.library ? p.library : "TLS library", p.version[0] ? " " : "", p.version,
			why[0] ? why : strerror(-rc));
		return;
	}
	s->verdict = V_PROBED;
	if (k->quiet)
		return;
	if (k->exec_ns)
		snprintf(why, sizeof(why), "; attached %.1f ms after the exec that mapped it",
			 (double)(mono_ns() - k->exec_ns) / 1e6);
	else
		why[0] = '\0';
	fprintf(stderr, "ecap-rec: tls: watching %s (%s%s%s: %s%s)\n", name, p.library,
		p.version[0] ? " " : "", p.version, p.how, why);
}

/*
 * The name of the file open on fd, opened through VIA (/proc/PID/exe, /proc/PID/map_files/...):
 * SHOWN (the path the kernel shows for it) when that path leads to the same file from here,
 * else VIA followed by SHOWN in parentheses (a container's file, or one replaced since).
 */
static const char *file_name(int fd, const char *via, const char *shown, char *buf, size_t len)
{
	struct stat a, b;

	if (shown[0] == '/' && stat(shown, &a) == 0 && fstat(fd, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return shown;
	snprintf(buf, len, "%s (%s as the process sees it)", via, shown);
	return buf;
}

static void consider_path(struct live_keylog *k, const char *path, const char *name)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	char buf[2 * PATH_MAX];

	if (fd < 0)
		return;
	consider_fd(k, fd, file_name(fd, path, name, buf, sizeof(buf)));
	close(fd);
}

/* ---- what a new program needs: DT_NEEDED, resolved in its root ---- */

struct needed {
	char name[NEEDED_MAX][256];
	unsigned n;
	char runpath[512];
};

static void on_needed(void *ctx, const char *name, const char *runpath)
{
	struct needed *nd = ctx;

	if (runpath)
		snprintf(nd->runpath, sizeof(nd->runpath), "%s", runpath);
	else if (nd->n < NEEDED_MAX && !strchr(name, '/') && strlen(name) < sizeof(nd->name[0]))
		snprintf(nd->name[nd->n++], sizeof(nd->name[0]), "%s", name);
}

/* The directories the dynamic linker searches on Debian x86-64, after the runpath. */
static const char *const lib_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib",
	"/usr/lib",
};

/*
 * Opens ROOT/DIR/NAME with every component, symlinks included, resolved inside ROOTFD (a
 * process's /proc/PID/root): a container's absolute symlink means its own root, never the
 * host's, and no magic link leads out. PATH gets the name shown for the file.
 */
static int open_in_root(int rootfd, const char *root, const char *dir, const char *name,
			char *path, size_t len)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char rel[PATH_MAX];

	if (snprintf(rel, sizeof(rel), "%s/%s", dir, name) >= (int)sizeof(rel) ||
	    snprintf(path, len, "%s%s", root, rel) >= (int)len)
		return -ENAMETOOLONG;
	return (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
}

/*
 * The libraries a new file needs, and theirs in turn (curl needs libcurl, which needs libssl),
 * DEPTH levels deep, each found as the dynamic linker would inside ROOT (the process's root,
 * open on ROOTFD); a library seen before is not followed again.
 */
static void consider_needed(struct live_keylog *k, int fd, int rootfd, const char *root,
			    int depth)
{
	struct needed *nd = calloc(1, sizeof(*nd));
	char path[PATH_MAX], dirs[512], *dir, *save = NULL;
	struct tls_elf e;
	unsigned i, j;

	if (!nd)
		return;
	if (tls_elf_open(fd, &e) == 0) {
		tls_elf_needed(&e, on_needed, nd);
		tls_elf_close(&e);
	}
	for (i = 0; i < nd->n; i++) {
		int lfd = -1;

		snprintf(dirs, sizeof(dirs), "%s", nd->runpath);
		for (dir = strtok_r(dirs, ":", &save); dir && lfd < 0;
		     dir = strtok_r(NULL, ":", &save)) {
			if (dir[0] != '/')
				continue; /* $ORIGIN and relative entries are not followed */
			lfd = open_in_root(rootfd, root, dir, nd->name[i], path, sizeof(path));
		}
		for (j = 0; j < sizeof(lib_dirs) / sizeof(lib_dirs[0]) && lfd < 0; j++)
			lfd = open_in_root(rootfd, root, lib_dirs[j], nd->name[i], path,
					   sizeof(path));
		if (lfd >= 0) {
			size_t before = k->nseen;

			consider_fd(k, lfd, path);
			if (k->libssl_fn && (strncmp(nd->name[i], "libssl.so", 9) == 0 ||
					     strncmp(nd->name[i], "libssl-", 7) == 0))
				k->libssl_fn(k->ctx, lfd, path);
			if (depth > 0 && k->nseen != before)
				consider_needed(k, lfd, rootfd, root, depth - 1);
			close(lfd);
		}
	}
	free(nd);
}

/* ---- processes ---- */

/*
 * Tells exe_fn the name of the program pid has just exec'd (in the exec record's mount
 * namespace): name, /proc/PID/exe's text, only when that link, followed afterwards, still
 * leads to (kdev, ino), the file the exec ran (so that a second exec does not pair a name with
 * another file).
 */
static void tell_exe(struct live_keylog *k, const char *pid, uint32_t kdev, uint64_t ino,
		     const char *name)
{
	char path[64];
	struct stat st;
	size_t n = strlen(name), d = strlen(" (deleted)");

	if (!k->exe_fn || k->exec_ns == 0 || !k->exec_mntns_id || name[0] != '/' ||
	    (n >= d && strcmp(name + n - d, " (deleted)") == 0))
		return;
	snprintf(path, sizeof(path), "/proc/%s/exe", pid);
	if (stat(path, &st) < 0 || st.st_ino != ino || kernel_dev(st.st_dev) != kdev)
		return;
	k->exe_fn(k->ctx, kdev, ino, k->exec_mntns_id, name, k->exec_ns);
}

/* An exec of a program looked at before (x->known): only its name, from the record when the
 * probe built it (no /proc look: the process may be gone by now), else from /proc/PID/exe. */
static void name_exe(struct live_keylog *k, const char *pid, const struct keylog_exec *x,
		     size_t size)
{
	char path[64], name[PATH_MAX];
	ssize_t l;

	if (!k->exe_fn || !x->ino)
		return;
	if (exec_record_name(x, size, name, sizeof(name))) {
		if (!x->mntns_id)
			return;
		k->exe_fn(k->ctx, (uint32_t)x->dev, x->ino, x->mntns_id, name, x->ts_ns);
		k->exec_names++;
		if (live_debug()) {
			char shown[KL_EXE_NAME_MAX];

			proc_info_printable(shown, sizeof(shown), name, strlen(name));
			fprintf(stderr, "ecap-rec: tls: exec of pid %s named by its record: %s\n", pid,
				shown);
		}
		return;
	}
	snprintf(path, sizeof(path), "/proc/%s/exe", pid);
	l = readlink(path, name, sizeof(name) - 1);
	if (l <= 0)
		return;
	name[l] = '\0';
	tell_exe(k, pid, (uint32_t)x->dev, x->ino, name);
}

/* Its executable (and, when new, the libraries it needs), then the files it maps; at an exec
 * (needed), only when the executable is new. line_fn: as in live_keylog_rescan(). */
static void scan_pid(struct live_keylog *k, const char *pid, bool needed,
		     live_keylog_maps_fn line_fn, void *ctx)
{
	char path[PATH_MAX], line[PATH_MAX + 128], root[64];
	int fd;
	FILE *m;

	snprintf(path, sizeof(path), "/proc/%s/exe", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		size_t before = k->nseen;
		char name[PATH_MAX], buf[2 * PATH_MAX];
		struct stat st;
		ssize_t l;

		/*
		 * A program met before needs no name (consider_fd() would not look at it again).
		 * At an exec it also ends the look: its libraries were looked at when it was met
		 * (at its first exec, or in the start's scan of the system directories), and those
		 * it loads later are the rescan's. Without this, every exec on the host (a build
		 * runs thousands a second) read the new process's maps.
		 */
		bool is_file = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);

		if (is_file && seen_find(k, st.st_dev, st.st_ino, NULL)) {
			/* an exec of a program met before: only its name, for proc_owner */
			if (needed && k->exe_fn) {
				l = readlink(path, name, sizeof(name) - 1);
				name[l > 0 ? l : 0] = '\0';
				if (l > 0)
					tell_exe(k, pid, kernel_dev(st.st_dev), st.st_ino, name);
			}
			close(fd);
			if (needed)
				return;
		} else {
			l = readlink(path, name, sizeof(name) - 1);
			name[l > 0 ? l : 0] = '\0';
			consider_fd(k, fd, l > 0 ? file_name(fd, path, name, buf, sizeof(buf)) :
						   path);
			if (needed && is_file && l > 0)
				tell_exe(k, pid, kernel_dev(st.st_dev), st.st_ino, name);
			if (needed && k->nseen != before) {
				int rootfd;

				snprintf(root, sizeof(root), "/proc/%s/root", pid);
				rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (rootfd >= 0) {
					consider_needed(k, fd, rootfd, root, NEEDED_DEPTH);
					close(rootfd);
				}
			}
			close(fd);
		}
	}
	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	m = fopen(path, "re");
	if (!m)
		return;
	/* a process's maps in a few reads, not one per 4 KiB */
	setvbuf(m, k->maps_buf, _IOFBF, sizeof(k->maps_buf));
	while (fgets(line, sizeof(line), m)) {
		struct proc_maps_line ml;

		line[strcspn(line, "\n")] = '\0';
		if (!proc_maps_parse(line, &ml))
			continue;
		if (line_fn)
			line_fn(ctx, pid, &ml);
		if (!ml.path || ml.perms[2] != 'x' || strstr(ml.path, " (deleted)"))
			continue;
		/* seen already (as maps names it): no need to open it again */
		if (seen_find(k, makedev(ml.major, ml.minor), (ino_t)ml.inode, NULL))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/map_files/%llx-%llx", pid,
			 (unsigned long long)ml.start, (unsigned long long)ml.end);
		consider_path(k, path, ml.path);
	}
	fclose(m);
}

/*
 * The programs and libraries of the system's usual directories (and one level below the
 * library directories, e.g. android/), so that a library or program is probed before its first
 * use, not at its first exec. Regular files only: links lead to files listed anyway.
 */
static const char *const system_dirs[] = {
	"/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/usr/libexec",
	"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/local/lib",
};

static void scan_dir(struct live_keylog *k, const char *path, int depth)
{
	struct dirent *de;
	char name[PATH_MAX];
	DIR *d;
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "%s/%s", path, de->d_name);
		if (de->d_type == DT_DIR && depth > 0 && strstr(path, "/lib")) {
			scan_dir(k, name, depth - 1);
			continue;
		}
		if (de->d_type != DT_REG)
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		consider_fd(k, fd, name);
		close(fd);
	}
	closedir(d);
}

/*
 * An unlinked file mapped executable by pid: looked at only when it is the process's own
 * executable (as scan_pid() does through /proc/PID/exe), never as a library.
 */
static void consider_deleted_exe(struct live_keylog *k, const char *pid,
				 const struct proc_maps_line *m)
{
	char path[64], buf[2 * PATH_MAX];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/exe", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && st.st_ino == (ino_t)m->inode &&
	    st.st_dev == makedev(m->major, m->minor))
		consider_fd(k, fd, file_name(fd, path, m->path, buf, sizeof(buf)));
	close(fd);
}

/*
 * One executable file mapping of pid met by a rescan (ml: numbers, path NULL): the name is
 * asked by PROCMAP_QUERY on *maps_fd (pid's /proc/PID/maps, opened here at the first name
 * asked when it is -1), and line_fn given the mapping, only for a file no rescan has named
 * yet, or whose line_fn wanted another look. What scan_pid() does with the text otherwise: a
 * file not seen is looked at through /proc/PID/map_files. The name is the mapping's at that
 * address now: when another has taken its place since ml was read, every look checks the
 * inode it opens (consider_fd() by what it opened, live_tls_find_line() against ml).
 */
static void rescan_mapping(struct live_keylog *k, const char *pid, struct proc_maps_line *ml,
			   int *maps_fd, live_keylog_maps_fn line_fn, void *ctx)
{
	struct seen_file *s = seen_find(k, makedev(ml->major, ml->minor), (ino_t)ml->inode, NULL);
	char path[128], name[PATH_MAX];
	bool done;

	if (s && s->named)
		return;
	if (*maps_fd < 0) {
		snprintf(path, sizeof(path), "/proc/%s/maps", pid);
		*maps_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (*maps_fd < 0)
			return;
	}
	if (proc_maps_query_name(*maps_fd, ml->start, name, sizeof(name)) < 0 || name[0] != '/')
		return;
	ml->path = name;
	done = line_fn && line_fn(ctx, pid, ml);
	if (strstr(name, " (deleted)")) {
		if (!s)
			consider_deleted_exe(k, pid, ml);
		return; /* named by what it was: asked again next time */
	}
	if (!s) {
		snprintf(path, sizeof(path), "/proc/%s/map_files/%llx-%llx", pid,
			 (unsigned long long)ml->start, (unsigned long long)ml->end);
		consider_path(k, path, name);
		s = seen_find(k, makedev(ml->major, ml->minor), (ino_t)ml->inode, NULL);
	}
	if (s && done)
		s->named = 1;
}

/*
 * A rescan of pid by PROCMAP_QUERY: its executable file mappings only, as numbers, each as
 * rescan_mapping() says. Returns -ENOTTY when the kernel has no such query (nothing was done),
 * else the number of executable file mappings the process has.
 */
static int rescan_pid_query(struct live_keylog *k, const char *pid, live_keylog_maps_fn line_fn,
			    void *ctx)
{
	char path[128];
	struct proc_maps_line ml;
	uint64_t addr = 0;
	int fd, rc, mappings = 0;

	if (snprintf(path, sizeof(path), "/proc/%s/maps", pid) >= (int)sizeof(path))
		return 0; /* not a pid */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while ((rc = proc_maps_query_exec(fd, &addr, &ml)) == 1) {
		mappings++;
		rescan_mapping(k, pid, &ml, &fd, line_fn, ctx);
	}
	close(fd);
	return rc == -ENOTTY ? rc : mappings;
}

/* A rescan through the BPF iterator (maps_iter.h): the process whose mappings come now. */
struct iter_rescan {
	struct live_keylog *k;
	live_keylog_maps_fn line_fn;
	void *ctx;
	uint32_t pid;
	char pid_s[DECIMAL_U64_MAX];
	int maps_fd;        /* pid's /proc/PID/maps once a name was asked, else -1 */
};

static bool iter_mapping(void *arg, uint32_t pid, const struct proc_maps_line *m)
{
	struct iter_rescan *r = arg;
	struct live_keylog *k = r->k;
	struct proc_maps_line ml = *m;

	if (pid != r->pid) {
		if (r->maps_fd >= 0)
			close(r->maps_fd);
		r->maps_fd = -1;
		r->pid = pid;
		decimal_u64(r->pid_s, pid);
		/* our own maps: as live_keylog_rescan() says */
		if (pid == k->self_pid) {
			if (k->own_scanned >= (r->line_fn ? 2 : 1))
				return false;
			k->own_scanned = r->line_fn ? 2 : 1;
		}
		k->rescans.visits++;
	}
	rescan_mapping(k, r->pid_s, &ml, &r->maps_fd, r->line_fn, r->ctx);
	return true;
}

/* The rescan by the iterator; false when it could not be read (then /proc is walked). */
static bool rescan_by_iter(struct live_keylog *k, live_keylog_maps_fn line_fn, void *ctx)
{
	struct iter_rescan r = { .k = k, .line_fn = line_fn, .ctx = ctx, .maps_fd = -1 };
	int n = maps_iter_read(k->iter, iter_mapping, &r);

	if (r.maps_fd >= 0)
		close(r.maps_fd);
	if (n >= 0)
		return true;
	if (!k->quiet)
		fprintf(stderr, "ecap-rec: tls: the maps iterator failed (%s): rescans read /proc\n",
			strerror(-n));
	maps_iter_close(k->iter);
	k->iter = NULL;
	return false;
}

/* A /proc entry's pid (decimal, 1..INT32_MAX), or 0. */
static uint32_t pid_of(const char *name)
{
	unsigned long v = 0;

	for (const char *c = name; *c; c++) {
		if (!isdigit((unsigned char)*c) || v > INT32_MAX / 10)
			return 0;
		v = v * 10 + (unsigned long)(*c - '0');
	}
	return v <= INT32_MAX ? (uint32_t)v : 0;
}

void live_keylog_rescan(struct live_keylog *k, live_keylog_maps_fn line_fn, void *ctx)
{
	struct dirent *de;
	uint32_t pid;
	DIR *d;
	int n;

	k->rescans.rescans++;
	if (k->iter && rescan_by_iter(k, line_fn, ctx))
		return;
	d = opendir("/proc");
	if (!d)
		return;
	kthread_set_prune(&k->kthreads);
	while ((de = readdir(d))) {
		pid = pid_of(de->d_name);
		if (!pid || kthread_set_has(&k->kthreads, pid))
			continue;
		/*
		 * Our own maps change only by what we load, and we load no TLS library after the
		 * start (the calibration's target runs in a child of its own): looked at once by a
		 * rescan of each kind (the start's, then the first with a line_fn), then skipped.
		 * Here it was the process with the most executable mappings (48 libraries).
		 */
		if (pid == k->self_pid) {
			if (k->own_scanned >= (line_fn ? 2 : 1))
				continue;
			k->own_scanned = line_fn ? 2 : 1;
		}
		k->rescans.visits++;
		if (!k->no_query) {
			n = rescan_pid_query(k, de->d_name, line_fn, ctx);
			if (n == -ENOTTY)
				k->no_query = true;
			else if (n == 0 && kthread_set_consider(&k->kthreads, pid) < 0)
				kthread_set_free(&k->kthreads); /* no memory: skip none */
		}
		if (k->no_query)
			scan_pid(k, de->d_name, false, line_fn, ctx);
	}
	closedir(d);
}

void live_keylog_rescan_stats(const struct live_keylog *k, struct live_keylog_rescans *out)
{
	if (k)
		*out = k->rescans;
	else
		memset(out, 0, sizeof(*out));
}

/* ---- events ---- */

static int on_event(void *ctx, void *data, size_t size)
{
	struct live_keylog *k = ctx;
	const struct keylog_event *e = data;
	struct ecap_proc who = { .valid = true };
	char label[KL_LABEL_MAX + 1];
	char pid[DECIMAL_U64_MAX];

	if (size >= sizeof(struct keylog_exec) && e->kind == KL_EV_EXEC) {
		const struct keylog_exec *x = data;

		decimal_u64(pid, x->pid);
		k->exec_ns = x->ts_ns;
		k->exec_mntns_id = x->mntns_id;
		if (x->known)
			name_exe(k, pid, x, size);
		else
			scan_pid(k, pid, true, NULL, NULL);
		k->exec_ns = 0;
		return 0;
	}
	if (size < sizeof(*e) || e->kind != KL_EV_SECRET || e->lib >= k->nprobed ||
	    e->secret_len == 0 || e->secret_len > KL_SECRET_MAX || e->random_len != 32)
		return 0;
	memcpy(label, e->label, KL_LABEL_MAX);
	label[KL_LABEL_MAX] = '\0';
	who.pid = e->pid;
	who.tid = e->tid;
	memcpy(who.comm, e->comm, sizeof(who.comm) - 1);
	return k->fn(k->ctx, label, e->client_random, e->secret, e->secret_len, &who);
}

/* The probes, kl_self only where the kernel has its tracepoint (without it the exec records
 * carry no names: learn_own_root()). NULL with errno. */
static struct tlslog_bpf *open_and_load(void)
{
	struct tlslog_bpf *skel = tlslog_bpf__open();
	int rc;

	if (!skel)
		return NULL;
	if (libbpf_find_vmlinux_btf_id("task_rename", BPF_TRACE_RAW_TP) < 0)
		bpf_program__set_autoload(skel->progs.kl_self, false);
	rc = tlslog_bpf__load(skel);
	if (rc < 0) {
		tlslog_bpf__destroy(skel);
		errno = -rc;
		return NULL;
	}
	return skel;
}

/*
 * Lets the exec probe learn our root directory (bpf/exe_path.h stops there, as readlink of
 * /proc/PID/exe does for us): kl_self records it when this process renames itself, to the name
 * it has. Until then, and for good when that fails, exec records carry no names and /proc is
 * read as before.
 */
static void learn_own_root(struct live_keylog *k)
{
	struct bpf_link *l;
	char comm[16] = "";

	if (!bpf_program__autoload(k->skel->progs.kl_self))
		return;
	k->skel->bss->kl_self_tgid = (uint32_t)getpid();
	l = bpf_program__attach(k->skel->progs.kl_self);
	if (!l)
		return;
	if (prctl(PR_GET_NAME, comm) == 0)
		prctl(PR_SET_NAME, comm);
	bpf_link__destroy(l);
	k->skel->bss->kl_self_tgid = 0;
	if (!k->quiet && !k->skel->bss->kl_root_dentry)
		fprintf(stderr, "ecap-rec: tls: exec records carry no names here: programs are "
			"named from /proc\n");
}

int live_keylog_start(bool quiet, struct ring_buffer **rb, live_keylog_fn fn, void *ctx,
		      struct live_keylog **out)
{
	struct live_keylog *k = calloc(1, sizeof(*k));
	size_t i;
	int rc;

	*out = NULL;
	if (!k)
		return -ENOMEM;
	k->fn = fn;
	k->ctx = ctx;
	k->quiet = quiet;
	k->self_pid = (uint32_t)getpid();
	k->seen = calloc(SEEN_MAX, sizeof(*k->seen));
	k->slot = calloc(SEEN_SLOTS, sizeof(*k->slot));
	k->skel = open_and_load();
	if (!k->seen || !k->slot || !k->skel) {
		rc = k->seen && k->slot ? -errno : -ENOMEM;
		fprintf(stderr, "ecap-rec: tls: cannot load the key-log probes: %s\n",
			strerror(-rc));
		live_keylog_stop(k);
		return rc;
	}
	if (*rb) {
		rc = ring_buffer__add(*rb, bpf_map__fd(k->skel->maps.kl_events), on_event, k);
	} else {
		*rb = ring_buffer__new(bpf_map__fd(k->skel->maps.kl_events), on_event, k, NULL);
		rc = *rb ? 0 : -errno;
	}
	if (rc < 0) {
		fprintf(stderr, "ecap-rec: tls: key-log probes: %s\n", strerror(-rc));
		live_keylog_stop(k);
		return rc;
	}
	/* not fatal: without the positions the reader never sleeps past its tick */
	ring_pos_open(&k->pos, bpf_map__fd(k->skel->maps.kl_events));
	learn_own_root(k);
	k->exec_link = bpf_program__attach(k->skel->progs.kl_exec);
	if (!k->exec_link)
		rc = -errno;
	if (rc < 0)
		fprintf(stderr, "ecap-rec: tls: key-log probes: no exec events (%s): programs "
			"started later are found by the rescan only\n", strerror(-rc));
	/* not fatal: without the iterator, rescans walk /proc as before */
	k->iter = maps_iter_open();
	if (!k->iter && !quiet)
		fprintf(stderr, "ecap-rec: tls: no maps iterator (%s): rescans read every "
			"process's /proc/PID/maps\n", strerror(errno));
	for (i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++)
		scan_dir(k, system_dirs[i], 1);
	live_keylog_rescan(k, NULL, NULL);
	malloc_trim(0); /* the large symbol tables read are freed: give the memory back */
	*out = k;
	return 0;
}

void live_keylog_set_libssl_fn(struct live_keylog *k, live_keylog_libssl_fn fn)
{
	if (k)
		k->libssl_fn = fn;
}

void live_keylog_set_exe_fn(struct live_keylog *k, live_keylog_exe_fn fn)
{
	if (k)
		k->exe_fn = fn;
}

void live_keylog_counts(const struct live_keylog *k, uint32_t *probed, uint32_t *failed)
{
	*probed = k ? k->nprobed : 0;
	*failed = k ? k->nfailed : 0;
}

uint64_t live_keylog_lost(const struct live_keylog *k)
{
	return k && k->skel && k->skel->bss ? k->skel->bss->kl_counters[KL_CNT_RING_FULL] : 0;
}

void live_keylog_set_asleep(struct live_keylog *k, bool asleep)
{
	if (k && k->skel && k->skel->bss)
		__atomic_store_n(&k->skel->bss->reader_asleep, asleep ? 1 : 0, __ATOMIC_SEQ_CST);
}

bool live_keylog_waiting(const struct live_keylog *k)
{
	return k && ring_pos_waiting(&k->pos);
}

unsigned long live_keylog_taken(const struct live_keylog *k)
{
	return k ? ring_pos_taken(&k->pos) : 0;
}

void live_keylog_stop(struct live_keylog *k)
{
	uint32_t i;

	if (!k)
		return;
	ring_pos_close(&k->pos);
	maps_iter_close(k->iter);
	kthread_set_free(&k->kthreads);
	bpf_link__destroy(k->exec_link);
	for (i = 0; i < KL_FILES_MAX; i++)
		bpf_link__destroy(k->links[i]);
	tlslog_bpf__destroy(k->skel);
	free(k->seen);
	free(k->slot);
	free(k);
}
