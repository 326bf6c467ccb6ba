// SPDX-License-Identifier: GPL-2.0-only
/*
 * store.c - opening and closing a store, and the writer: packets into the open chunk,
 * chunks into the current segment, index rows into a transaction that a group commit makes
 * durable only after the segment bytes it points at are (fdatasync, then COMMIT).
 *
 * Durability window: a chunk closes at chunk_bytes or chunk_age; its rows commit at the
 * first store_tick at least commit_interval after the previous commit. A crash loses at most
 * the chunks of that window, and recovery (store_maint.c) re-indexes chunks that reached the
 * disk without their rows.
 *
 * A full disk (drop_when_full, live recording) does not stop the writer: store_full.c.
 */
#include "store_impl.h"
#include "store_path.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "chunk_writer.h"
#include "segment.h"

#define NS_PER_SEC 1000000000ull
/* The most bytes of a chunk that store_tick seals on its caller's thread: a few ms of work,
 * which the recorder's rings hold many times over meanwhile. */
#define STORE_HERE_MAX (1u << 20)

void store_options_default(struct store_options *o)
{
	memset(o, 0, sizeof(*o));
	o->chunk_bytes = 1u << 20;
	o->chunk_age_ns = NS_PER_SEC;
	o->commit_interval_ns = NS_PER_SEC;
	o->segment_bytes = 64u << 20;
}

int store_fail(struct store *s, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

void store_notice(struct store *s, const char *fmt, ...)
{
	if (s->opt.quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ecap: %s: ", s->dir);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

const char *store_errmsg(const struct store *s)
{
	return s->errmsg;
}

int store_dir_fd(const struct store *s)
{
	return s->dirfd;
}

const char *store_dir(const struct store *s)
{
	return s->dir;
}

static uint64_t mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* A store holds TLS secrets: the directory must be 0700 and every file in it 0600. A writer
 * repairs looser modes and says so; a reader refuses them. */
static int check_modes(struct store *s)
{
	struct stat st;
	if (fstat(s->dirfd, &st))
		return store_fail(s, -errno, "%s: %s", s->dir, strerror(errno));
	if (st.st_mode & 077) {
		if (s->mode != STORE_WRITE)
			return store_fail(s, -EPERM,
					  "%s: store directory has mode %04o, but a store holds TLS "
					  "secrets and must be 0700 (chmod 700 it, or let ecap-rec "
					  "repair it)", s->dir, st.st_mode & 07777);
		if (fchmod(s->dirfd, 0700))
			return store_fail(s, -errno, "%s: chmod 0700: %s", s->dir, strerror(errno));
		store_notice(s, "directory mode %04o was too open; set to 0700", st.st_mode & 07777);
	}
	int fd = dup(s->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d)
		return store_fail(s, -errno, "%s: %s", s->dir, strerror(errno));
	struct dirent *de;
	int err = 0;
	while ((de = readdir(d)) && !err) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(s->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		if (!(st.st_mode & 077))
			continue;
		if (s->mode != STORE_WRITE) {
			err = store_fail(s, -EPERM,
					 "%s/%s: mode %04o, but store files hold TLS secrets and "
					 "must be 0600 (chmod 600 it, or let ecap-rec repair it)",
					 s->dir, de->d_name, st.st_mode & 07777);
		} else {
			int ffd = openat(s->dirfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (ffd < 0 || fchmod(ffd, 0600))
				err = store_fail(s, -errno, "%s/%s: chmod 0600: %s", s->dir,
						 de->d_name, strerror(errno));
			else
				store_notice(s, "%s had mode %04o; set to 0600", de->d_name,
					     st.st_mode & 07777);
			if (ffd >= 0)
				close(ffd);
		}
	}
	closedir(d);
	return err;
}

/* Opens the store's lock file and takes it without waiting: its descriptor; or -EWOULDBLOCK
 * with the pid the holder wrote into it in holder ("" when none); or another -errno. */
static int lock_store(struct store *s, char holder[32])
{
	holder[0] = 0;
	int fd = openat(s->dirfd, STORE_LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	int e = errno;
	if (e == EWOULDBLOCK) {
		ssize_t n = pread(fd, holder, 31, 0);
		holder[n > 0 ? n : 0] = 0;
		holder[strcspn(holder, "\n")] = 0;
	}
	close(fd);
	return -e;
}

static int take_lock(struct store *s)
{
	char pid[32];
	int fd = lock_store(s, pid);
	if (fd == -EWOULDBLOCK)
		return store_fail(s, -EBUSY, "%s: store is in use by another writer%s%s%s", s->dir,
				  *pid ? " (pid " : "", pid, *pid ? ")" : "");
	if (fd < 0)
		return store_fail(s, fd, "%s/%s: %s", s->dir, STORE_LOCK_NAME, strerror(-fd));
	s->lockfd = fd;
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(s->lockfd, 0) == 0 && pwrite(s->lockfd, pid, (size_t)n, 0) < 0)
		return store_fail(s, -errno, "%s/%s: %s", s->dir, STORE_LOCK_NAME, strerror(errno));
	return 0;
}

int store_load_interfaces(struct store *s)
{
	sqlite3_stmt *st;
	sqlite3 *db = index_db(s->ix);
	/* interface_netns came with schema version 5: an older store read as it is lacks it */
	if (sqlite3_prepare_v2(db, "SELECT i.id, i.name, i.linktype, i.snaplen, i.filter, n.netns, "
				   "n.ifindex, n.description FROM interfaces i LEFT JOIN "
				   "interface_netns n ON n.iface = i.id ORDER BY i.id", -1, &st,
			       NULL) != SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT id, name, linktype, snaplen, filter, 0, 0, NULL FROM "
				   "interfaces ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return store_fail(s, -EIO, "%s: %s", s->dir, sqlite3_errmsg(db));
	s->n_ifaces = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id < 0 || id > 65535)
			continue;
		while (s->n_ifaces <= (size_t)id) {
			struct ecap_iface *f = chunkmeta_grow((void **)&s->ifaces, &s->n_ifaces,
							      &s->cap_ifaces, sizeof(*f));
			if (!f) {
				sqlite3_finalize(st);
				return -ENOMEM;
			}
		}
		struct ecap_iface *f = &s->ifaces[id];
		snprintf(f->name, sizeof(f->name), "%s", (const char *)sqlite3_column_text(st, 1));
		f->linktype = (uint16_t)sqlite3_column_int(st, 2);
		f->snaplen = (uint32_t)sqlite3_column_int64(st, 3);
		snprintf(f->filter, sizeof(f->filter), "%s", (const char *)sqlite3_column_text(st, 4));
		f->netns = (uint32_t)sqlite3_column_int64(st, 5);
		f->ifindex = (uint32_t)sqlite3_column_int64(st, 6);
		snprintf(f->description, sizeof(f->description), "%s",
			 sqlite3_column_type(st, 7) == SQLITE_TEXT
				 ? (const char *)sqlite3_column_text(st, 7) : "");
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_fail(s, -EIO, "%s: %s", s->dir, sqlite3_errmsg(db));
}

static int open_index(struct store *s, bool create, bool may_migrate)
{
	char path[64], err[600] = "";
	/* Through the directory's descriptor: the store that was checked is the one opened. */
	if (store_path_at(s->dirfd, STORE_INDEX_NAME, path, sizeof(path)))
		return store_fail(s, -ENAMETOOLONG, "%s: path too long", s->dir);
	struct stat st;
	if (!fstatat(s->dirfd, STORE_INDEX_NAME, &st, AT_SYMLINK_NOFOLLOW) && !S_ISREG(st.st_mode))
		return store_fail(s, -EPERM, "%s/%s: not a regular file", s->dir, STORE_INDEX_NAME);
	int e = index_open(path, create, may_migrate, &s->ix, err, sizeof(err));
	if (!e)
		return 0;
	/* Messages name the store, not the descriptor. */
	size_t plen = strlen(path) - strlen(STORE_INDEX_NAME);
	if (!strncmp(err, path, plen))
		return store_fail(s, e, "%s/%s", s->dir, err + plen);
	return store_fail(s, e, "%s", err);
}

/*
 * A reader's page cache: small. Its queries are lookups through a few hot pages, and scans
 * that read each page once (an export of a long-lived flow reads the row of every chunk in its
 * range, about 0.35 pages per chunk): the writer's 16 MiB cache would fault in fresh memory
 * for every page such a scan reads (1 ms of CPU per 1 GB of store), a small one reuses its
 * pages. The operating system's page cache holds the file either way. 128 KiB (32 pages):
 * with 512 KiB, the 140 pages a sparse export reads at 250 MB were each a fresh allocation
 * and page fault (385 faults in all, 285 now), and no page is read twice at either size.
 */
static void reader_cache(struct store *s)
{
	sqlite3_exec(index_db(s->ix), "PRAGMA cache_size = -128", NULL, NULL, NULL);
}

/*
 * A reader that changed nothing leaves the write-ahead log as it found it when it closes.
 * SQLite's last connection to close checkpoints the log and deletes it and its shared-memory
 * file, and the next one to open creates both again: with no recorder running, every export
 * paid for making and removing two files (about 1 ms of CPU, a sixth of a sparse export at
 * 250 MB), and checkpointed a log it had not written. Now the empty log and its index stay
 * until a writer, whose close checkpoints and removes them, as before. A log that a killed
 * writer left full stays full until the next writer opens the store (each reader reads it
 * to rebuild its index, as every reader did while it waited for the first one to close).
 */
static void reader_leaves_log(struct store *s)
{
	sqlite3_db_config(index_db(s->ix), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
}

/*
 * The index for a reader. One of an older schema is migrated only while no writer holds the
 * store: a running ecap-rec of the older version would go on writing the old layout into
 * the new tables. The reader takes the writer lock for the migration, and fails if a writer
 * has it.
 */
int store_open_index_reader(struct store *s)
{
	int err = open_index(s, false, false);
	if (!err) {
		reader_cache(s);
		reader_leaves_log(s);
	}
	if (err != -ESTALE)
		return err;
	char pid[32];
	int fd = lock_store(s, pid);
	if (fd == -EWOULDBLOCK)
		return store_fail(s, -EBUSY, "%s: the index is of an older schema, and the writer "
				  "recording into the store%s%s%s may be an older ecap-rec: restart it "
				  "with this version, which updates the index", s->dir,
				  *pid ? " (pid " : "", pid, *pid ? ")" : "");
	if (fd < 0)
		return store_fail(s, fd, "%s/%s: %s", s->dir, STORE_LOCK_NAME, strerror(-fd));
	err = open_index(s, false, true);
	close(fd); /* the lock goes with it */
	if (!err)
		reader_cache(s);
	return err;
}

static int init_writer(struct store *s)
{
	int64_t v;
	int err = chunk_builder_init(&s->cb);
	if (!err)
		err = chunk_builder_init(&s->cb_spare);
	if (!err)
		err = chunk_builder_prepare(&s->cb, s->opt.chunk_bytes);
	if (!err)
		err = chunk_builder_prepare(&s->cb_spare, s->opt.chunk_bytes);
	if (!err)
		err = chunk_writer_new(!s->opt.sync_writer, &s->writer);
	if (!err && !s->opt.buffered_writes)
		err = chunk_writer_stage(s->writer);
	if (err)
		return store_fail(s, err, "%s: %s", s->dir, strerror(-err));
	s->cb.run = s->cb_spare.run = &s->run;
	s->seg_fd = s->seg_dio_fd = -1;
	s->cb_epoch = 1; /* a flow never stored has epoch 0 (store_flow_epoch) */
	s->unsynced_fd = -1;
	if ((err = store_recover(s)) || (err = store_seal_open(s)))
		return err;
	/* the memory the first chunks would fault in, made now (after the seal chain is open:
	 * a store killed meanwhile verifies as before) */
	if ((err = chunk_writer_prepare(s->writer, s->opt.chunk_bytes)) ||
	    (err = index_prepare(s->ix)) || (err = store_owners_prepare(s)))
		return store_fail(s, err, "%s: %s", s->dir, strerror(-err));
	if ((err = index_scalar(s->ix, "SELECT max(id) FROM flows", 0, &v)))
		return store_fail(s, err, "%s: %s", s->dir, index_errmsg(s->ix));
	s->next_flow_id = (uint64_t)v + 1;
	if (!index_get_setting(s->ix, "next_flow_id", &v) && (uint64_t)v > s->next_flow_id)
		s->next_flow_id = (uint64_t)v;
	/* a flow named only by a chunk that recovery just indexed (a session's flow whose record
	 * no chunk holds): the previous writer noted it at no commit */
	if (index_flow_ids_named(s->ix) >= s->next_flow_id)
		s->next_flow_id = index_flow_ids_named(s->ix) + 1;
	if ((err = index_scalar(s->ix, "SELECT max(id) FROM chunks", 0, &v)))
		return store_fail(s, err, "%s: %s", s->dir, index_errmsg(s->ix));
	s->next_chunk_id = (uint64_t)v + 1;
	if (!index_get_setting(s->ix, "next_chunk_id", &v) && (uint64_t)v > s->next_chunk_id)
		s->next_chunk_id = (uint64_t)v;
	/* ids are SQLite's signed integers: a store whose rows or settings name the largest (a
	 * damaged or forged chunk indexed at recovery) has none left to give */
	if (s->next_flow_id >= (uint64_t)INT64_MAX || s->next_chunk_id >= (uint64_t)INT64_MAX)
		return store_fail(s, -ERANGE,
				  "%s: the index names flow or chunk ids up to %" PRIu64
				  " and %" PRIu64 ", the largest a store can number: it is "
				  "damaged (ecap-fsck %s)",
				  s->dir, s->next_flow_id - 1, s->next_chunk_id - 1, s->dir);
	s->now_mono = s->last_commit_mono = s->last_retention_mono = mono_now();
	s->last_optimize_mono = s->now_mono;
	return store_load_interfaces(s);
}

int store_open(const char *dir, enum store_mode mode, const struct store_options *opt,
	       struct store **out)
{
	struct store *s = calloc(1, sizeof(*s));
	int err;
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->ix_lock, NULL);
	*out = s;
	s->dirfd = s->lockfd = s->seg_fd = s->seg_dio_fd = s->unsynced_fd = s->read_fd = -1;
	s->mode = mode;
	if (opt)
		s->opt = *opt;
	else
		store_options_default(&s->opt);
	const char *bw = getenv("ECAP_BUFFERED_WRITES");
	if (bw && *bw && strcmp(bw, "0"))
		s->opt.buffered_writes = true;
	s->dir = strdup(dir);
	if (!s->dir)
		return -ENOMEM;
	/* Retention deletes whole sealed segments: keep them small next to the size limit so
	 * that the store stays close to it (an eighth of it, 1 MiB at least). */
	if (s->opt.max_size && s->opt.segment_bytes > s->opt.max_size / 8)
		s->opt.segment_bytes = s->opt.max_size / 8 > (1u << 20) ? s->opt.max_size / 8 : 1u << 20;

	if (mode == STORE_WRITE)
		umask(077);
	/* Only a path that no other user could have bent leads to a store (store_path.h). */
	char why[PATH_MAX + 200];
	s->dirfd = store_path_open(dir, mode == STORE_WRITE, why, sizeof(why));
	if (s->dirfd < 0) {
		err = s->dirfd;
		s->dirfd = -1;
		if (err == -ENOENT)
			return store_fail(s, err, "%s: no such store", dir);
		return store_fail(s, err, "store %s refused: %s", dir, why);
	}
	if (mode == STORE_WRITE && (err = take_lock(s)))
		return err;
	if ((err = check_modes(s)))
		return err;
	if (mode == STORE_READ) {
		if (faccessat(s->dirfd, STORE_INDEX_NAME, F_OK, 0))
			return store_fail(s, -ENOENT, "%s: not an ecap store (no %s)", dir,
					  STORE_INDEX_NAME);
		mode_t old = umask(077);
		err = store_open_index_reader(s);
		umask(old);
		if (err)
			return err;
		return store_load_interfaces(s);
	}
	if ((err = open_index(s, true, true)))
		return err;
	return init_writer(s);
}

/* ---- the writer -------------------------------------------------------------------- */

int store_add_interface(struct store *s, const struct ecap_iface *iface, uint32_t *id)
{
	for (size_t i = 0; i < s->n_ifaces; i++) {
		const struct ecap_iface *f = &s->ifaces[i];
		if (f->linktype == iface->linktype && f->snaplen == iface->snaplen &&
		    !strcmp(f->name, iface->name) && !strcmp(f->filter, iface->filter) &&
		    f->netns == iface->netns && f->ifindex == iface->ifindex &&
		    !strcmp(f->description, iface->description)) {
			*id = (uint32_t)i;
			return 0;
		}
	}
	if (s->n_ifaces >= 65535)
		return store_fail(s, -ENOSPC, "%s: too many interfaces", s->dir);
	struct ecap_iface *f = chunkmeta_grow((void **)&s->ifaces, &s->n_ifaces, &s->cap_ifaces,
					      sizeof(*f));
	if (!f)
		return -ENOMEM;
	*f = *iface;
	f->name[sizeof(f->name) - 1] = 0;
	f->filter[sizeof(f->filter) - 1] = 0;
	f->description[sizeof(f->description) - 1] = 0;
	*id = (uint32_t)(s->n_ifaces - 1);
	return 0;
}

uint64_t store_new_flow_id(struct store *s)
{
	/* 0: none left (an id must stay one of SQLite's signed integers) */
	return s->next_flow_id < (uint64_t)INT64_MAX ? s->next_flow_id++ : 0;
}

static int open_segment(struct store *s)
{
	char name[SEGMENT_NAME_MAX];
	int64_t last = 0, sealed = 1;
	int err = index_scalar(s->ix, "SELECT max(id) FROM segments", 0, &last);
	if (!err && last)
		err = index_scalar(s->ix, "SELECT sealed FROM segments WHERE id = (SELECT max(id) "
				   "FROM segments)", 1, &sealed);
	if (err)
		return store_fail(s, err, "%s: %s", s->dir, index_errmsg(s->ix));
	if ((int64_t)s->seg_id > last)
		last = s->seg_id, sealed = 1; /* sealed in memory, row not yet committed */
	uint32_t id = (uint32_t)(sealed ? last + 1 : last);
	segment_name(id, name);
	int fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return store_fail(s, -errno, "%s/%s: %s", s->dir, name, strerror(errno));
	struct stat st;
	if (fstat(fd, &st)) {
		close(fd);
		return store_fail(s, -errno, "%s/%s: %s", s->dir, name, strerror(errno));
	}
	if (st.st_size == 0)
		fsync(s->dirfd); /* the new file's name must survive a crash too */
	if ((err = store_seal_segment_begin(s, id, fd, (uint64_t)st.st_size))) {
		close(fd);
		return err;
	}
	s->seg_fd = fd;
	s->seg_dio_fd = s->opt.buffered_writes ? -1 : chunk_writer_open_direct(s->dirfd, name);
	s->seg_id = id;
	s->seg_size = (uint64_t)st.st_size;
	return 0;
}

static void close_direct(struct store *s)
{
	if (s->seg_dio_fd >= 0)
		close(s->seg_dio_fd);
	s->seg_dio_fd = -1;
}

static int seal_segment(struct store *s)
{
	int err = store_seal_segment(s, s->seg_fd); /* the chain first: store_seal.c */
	if (err)
		return err;
	err = index_set_segment(s->ix, s->seg_id, s->seg_size, true);
	if (err)
		return store_fail(s, err, "%s: %s", s->dir, index_errmsg(s->ix));
	/* the blocks the writer allocated ahead past the end (chunk_writer.c) given back; ext4
	 * truncates them also when the length does not change */
	if (s->seg_dio_fd >= 0 && ftruncate(s->seg_fd, (off_t)s->seg_size))
		store_notice(s, "segment %u: giving back the space allocated past its end: %s",
			     s->seg_id, strerror(errno));
	if (s->unsynced_fd >= 0) {
		fdatasync(s->unsynced_fd);
		close(s->unsynced_fd);
	}
	s->unsynced_fd = s->seg_fd;
	s->seg_fd = -1;
	close_direct(s);
	s->st.segments++;
	return 0;
}

/* Collect the chunk in flight (waiting for it when block), index it, and seal the segment
 * when it is full. 0 when nothing was in flight or it is still running; with drop_when_full,
 * also when the disk was full (the chunk's packets are then counted in packets_lost). */
static int finish_chunk(struct store *s, bool block)
{
	if (!s->inflight)
		return 0;
	struct chunk_job *j = chunk_writer_wait(s->writer, block);
	if (!j)
		return 0;
	s->inflight = false;
	if (j->dio_refused) {
		store_notice(s, "the file system refused a direct write (O_DIRECT); segments are "
			     "written through the page cache from now on");
		close_direct(s);
		s->opt.buffered_writes = true;
	}
	struct chunk_builder *cb = j->cb;
	struct chunk_meta *m = &cb->meta;
	int err = j->err;
	if (err) {
		char name[SEGMENT_NAME_MAX];
		segment_name(s->seg_id, name);
		if (ftruncate(s->seg_fd, (off_t)s->seg_size)) {
			/* the torn tail is cut at the next open */
		}
		uint32_t lost = m->packets;
		s->st.packets_lost += lost;
		store_secrets_forget(s); /* the carry-over may not keep them all */
		s->chunks_lost++;        /* nor every record: writers store them again */
		bool drop = s->opt.drop_when_full && (err == -ENOSPC || err == -EDQUOT);
		int cerr = drop ? store_carry_over(s, cb) : 0;
		chunk_builder_reset(cb);
		/* Commit the rows of the chunks written before this one now (the cut gave back
		 * the failed write's space): a writer that stops here leaves them indexed. When
		 * that fails too, recovery re-indexes them at the next open. The failed chunk
		 * has no rows: its writer never called index_written. */
		int commit_err = store_commit(s);
		if (drop) {
			s->full = true;
			if (commit_err)
				return commit_err;
			if (cerr)
				return store_fail(s, cerr, "%s: keeping the flows of a chunk "
						  "the full disk refused: %s", s->dir,
						  strerror(-cerr));
			return 0;
		}
		return store_fail(s, err, "%s/%s: writing chunk %llu at offset %llu: %s%s; its %u "
				  "packets were not stored (%llu lost in all)", s->dir, name,
				  (unsigned long long)j->id, (unsigned long long)s->seg_size,
				  strerror(-err), j->low_space ? " (4 MiB are kept free for the index)" : "",
				  lost, (unsigned long long)s->st.packets_lost);
	}
	if ((err = j->index_err)) {
		/* The chunk is on disk, its rows are not all in the transaction: drop the
		 * transaction; the next writer to open the store re-indexes these chunks. */
		index_rollback(s->ix);
		s->txn_open = false;
		if (!store_index_full(s, err)) {
			s->seg_size += j->length + j->pad;
			chunk_builder_reset(cb);
			return store_fail(s, err, "%s: indexing chunk %llu: %s (the chunks since "
					  "the last commit are re-indexed at the next start)",
					  s->dir, (unsigned long long)j->id, index_errmsg(s->ix));
		}
		store_fall_behind(s); /* no room for the index: store_catch_up() re-indexes them */
	}
	store_seal_chunk(s, m, j->length, j->pad, j->link);
	s->seg_size += j->length + j->pad;
	s->full = s->ix_behind;
	s->st.chunks++;
	s->st.packets += m->packets;
	s->st.bytes_raw += m->raw_len;
	s->st.bytes_stored += j->length;
	s->st.bytes_direct += j->direct;
	s->st.bytes_padding += j->pad;
	s->st.secrets += cb->n_secrets;
	s->st.tls_sessions += m->n_sessions;
	chunk_builder_reset(cb);
	/* behind, the segment grows on: its seal would need the index */
	if (s->seg_size >= s->opt.segment_bytes && !s->ix_behind) {
		/* The segment takes no chunk of a new epoch (store_flow_epoch): an empty open
		 * chunk begins one now, for the next segment; one with packets already, of the
		 * segment's epoch, joins it as its last chunk (close_chunk), and the seal waits
		 * for that chunk. */
		if (s->cb_epoch == s->sub_epoch && chunk_builder_empty(&s->cb))
			s->cb_epoch++;
		if (s->cb_epoch == s->sub_epoch)
			return 0;
		if ((err = seal_segment(s)))
			return err;
		/* Size retention at every seal, not only on store_tick's timer: a fast writer
		 * (a replay) would otherwise run far past the limit, or fill the disk. */
		if (s->opt.max_size && (err = store_apply_retention(s)))
			return err;
	}
	return 0;
}

/* On the writer's thread, right after the chunk's bytes were written: its index rows. */
static int index_written(struct chunk_job *j, void *ctx)
{
	struct store *s = ctx;
	struct chunk_meta *m = &j->cb->meta;
	m->segment = j->segment;
	m->offset = j->offset;
	m->length = (uint32_t)j->length;
	m->pad = (uint32_t)j->pad;
	pthread_mutex_lock(&s->ix_lock);
	/* store_put_secret() let in only secrets the store did not hold */
	int err = index_add_chunk(s->ix, m, j->cb->secrets, j->cb->n_secrets, false);
	pthread_mutex_unlock(&s->ix_lock);
	return err;
}

/* Hand the open chunk to the writer and go on with an empty one. The writer compresses,
 * writes and indexes it while the caller fills the next; the caller collects it before
 * handing over another, so the writer only ever uses the index inside the transaction
 * opened here. here: the caller's thread does that work now and collects the chunk (a chunk
 * closed by its age: see store_tick). */
static int close_chunk(struct store *s, bool here)
{
	int err;
	if (chunk_builder_empty(&s->cb))
		return 0;
	/* A writer still busy with the previous chunk: compress this one meanwhile. */
	if (s->inflight)
		chunk_writer_help(s->writer, &s->cb);
	if ((err = finish_chunk(s, true)))
		return err;
	if (s->seg_fd < 0 && (err = open_segment(s)))
		return err;
	if (!s->txn_open && !s->ix_behind) {
		if ((err = index_begin(s->ix)))
			return store_fail(s, err, "%s: %s", s->dir, index_errmsg(s->ix));
		s->txn_open = true;
		s->txn_seg = s->seg_id;
		s->txn_off = s->seg_size;
	}
	struct chunk_builder full = s->cb;
	s->cb = s->cb_spare;
	s->cb_spare = full;
	s->job = (struct chunk_job){ .cb = &s->cb_spare, .id = s->next_chunk_id++,
				     .segment = s->seg_id, .fd = s->seg_fd, .dio_fd = s->seg_dio_fd,
				     .offset = s->seg_size,
				     .on_written = s->ix_behind ? NULL : index_written, .ctx = s };
	s->inflight = true;
	s->chunk_opened_mono = 0;
	s->sub_epoch = s->cb_epoch;
	/* a chunk that joined a full segment is its last: the next begins a new epoch */
	if (s->seg_size >= s->opt.segment_bytes && !s->ix_behind)
		s->cb_epoch++;
	if (here) {
		chunk_writer_run(s->writer, &s->job);
		return finish_chunk(s, true);
	}
	chunk_writer_submit(s->writer, &s->job);
	return s->opt.sync_writer ? finish_chunk(s, true) : 0;
}

/* Makes the segments durable, then the open transaction. */
int store_commit_txn(struct store *s)
{
	int err;
	if (!s->opt.no_sync) {
		if (s->unsynced_fd >= 0 && fdatasync(s->unsynced_fd))
			return store_fail(s, -errno, "%s: fdatasync: %s", s->dir, strerror(errno));
		if (s->seg_fd >= 0 && fdatasync(s->seg_fd))
			return store_fail(s, -errno, "%s: fdatasync: %s", s->dir, strerror(errno));
	}
	if (s->unsynced_fd >= 0) {
		close(s->unsynced_fd);
		s->unsynced_fd = -1;
	}
	/* the flow ids the chunks written name (those given out for the open chunk are on no
	 * disk yet: under a steady load there always are some, and noting them rewrote the
	 * settings row at every commit); the chunk ids given out, all written by now */
	if ((err = index_note_next_ids(s->ix, index_flow_ids_named(s->ix) + 1,
				       s->next_chunk_id)) ||
	    (err = index_commit(s->ix))) {
		if (store_index_full(s, err)) {
			/* SQLite rolled the transaction back; its chunks are on disk */
			index_rollback(s->ix);
			s->txn_open = false;
			store_fall_behind(s);
			return 0;
		}
		return store_fail(s, err, "%s: commit: %s", s->dir, index_errmsg(s->ix));
	}
	s->txn_open = false;
	s->last_commit_mono = s->now_mono;
	uint64_t now_chunks = index_totals_now_chunks(s->ix);
	if (now_chunks != s->totals_now_said) {
		store_notice(s, "no memory to gather flow totals: %llu chunks in all had theirs "
			     "written flow by flow (nothing lost)", (unsigned long long)now_chunks);
		s->totals_now_said = now_chunks;
	}
	return 0;
}

int store_commit(struct store *s)
{
	int err = finish_chunk(s, true);
	if (err)
		return err;
	if (s->ix_behind)
		return store_catch_up(s);
	if (!s->txn_open)
		return 0;
	return store_commit_txn(s);
}

int store_append_packet(struct store *s, const struct ecap_packet *pkt)
{
	uint32_t none = UINT32_MAX;
	return store_append_flow_packet(s, pkt, &none);
}

int store_append_flow_packet(struct store *s, const struct ecap_packet *pkt, uint32_t *flow_stat)
{
	if (pkt->iface >= s->n_ifaces)
		return store_fail(s, -EINVAL, "packet on unknown interface %u", pkt->iface);
	int err = chunk_builder_add_flow_packet(&s->cb, pkt, &s->ifaces[pkt->iface], flow_stat);
	if (err)
		return store_fail(s, err, "%s: %s", s->dir, strerror(-err));
	store_chunk_begun(s);
	if (chunk_builder_raw_size(&s->cb) >= s->opt.chunk_bytes)
		return close_chunk(s, false);
	return 0;
}

uint32_t store_flow_epoch(const struct store *s)
{
	return s->cb_epoch + s->chunks_lost;
}

int store_put_tls_session(struct store *s, const uint8_t client_random[32], uint64_t flow_id)
{
	int err = chunk_builder_add_session(&s->cb, client_random, flow_id);
	if (err)
		return store_fail(s, err, "%s: %s", s->dir, strerror(-err));
	store_chunk_begun(s);
	return 0;
}

int store_put_drops(struct store *s, uint32_t iface, uint64_t ts_ns, uint64_t count)
{
	int err = chunk_builder_add_drops(&s->cb, iface, ts_ns, count);
	s->st.drops += count;
	if (err)
		return store_fail(s, err, "%s: %s", s->dir, strerror(-err));
	store_chunk_begun(s);
	return 0;
}

int store_tick(struct store *s, uint64_t now_mono_ns)
{
	int err;
	s->now_mono = now_mono_ns;
	if ((err = finish_chunk(s, false)))
		return err;
	/* A chunk closed by its age, up to STORE_HERE_MAX bytes, is sealed, written and indexed
	 * on this thread, and so committed below in this tick: a second of a light load (a few
	 * tens of KiB to a few hundred), for which the writer's thread cost more than the work
	 * (the hand-off's wake-up, the chunk's bytes read on the other core, and the caller's
	 * next wake-up, up to a poll interval later, to collect it and commit: BENCHMARKS.md,
	 * i21chunk). Larger chunks (closed by their size, or by their age with a --chunk-size
	 * above it) keep the writer's thread, which seals and writes them while the caller goes
	 * on reading what comes. */
	if (s->chunk_opened_mono && now_mono_ns - s->chunk_opened_mono >= s->opt.chunk_age_ns) {
		if ((err = close_chunk(s, chunk_builder_raw_size(&s->cb) <= STORE_HERE_MAX)))
			return err;
		s->age_closed = true;
	}
	/* The group commit runs once per interval; and as soon as a chunk closed by its age is
	 * written and indexed, so that a quiet connection's last packets are durable and found
	 * by queries about one chunk age after them rather than up to one interval more. Chunks
	 * close by age at most once per chunk age, so this adds at most one commit per age. */
	bool indexed = s->age_closed && !s->inflight;
	if (indexed)
		s->age_closed = false;
	if ((s->txn_open || s->ix_behind) &&
	    (indexed || now_mono_ns - s->last_commit_mono >= s->opt.commit_interval_ns) &&
	    (err = store_commit(s)))
		return err;
	if (s->ix_behind)
		return 0; /* retention and optimize need the index */
	if (!s->txn_open && now_mono_ns - s->last_optimize_mono >= 600 * NS_PER_SEC) {
		s->last_optimize_mono = now_mono_ns;
		index_optimize(s->ix);
	}
	if ((s->opt.max_size || s->opt.max_age_ns) &&
	    now_mono_ns - s->last_retention_mono >= 2 * NS_PER_SEC) {
		s->last_retention_mono = now_mono_ns;
		return store_apply_retention(s);
	}
	return 0;
}

bool store_wants_tick(const struct store *s)
{
	return s->chunk_opened_mono || s->inflight || s->age_closed || s->txn_open || s->ix_behind;
}

bool store_chunk_ageing(const struct store *s)
{
	return s->chunk_opened_mono != 0;
}

uint64_t store_chunk_due_if_begun(const struct store *s)
{
	return (s->now_mono ? s->now_mono : 1) + s->opt.chunk_age_ns;
}

uint64_t store_tick_due(const struct store *s)
{
	uint64_t due = 0;
	if (s->inflight || s->age_closed || s->ix_behind)
		return 1;
	if (s->chunk_opened_mono)
		due = s->chunk_opened_mono + s->opt.chunk_age_ns;
	if (s->txn_open && (!due || s->last_commit_mono + s->opt.commit_interval_ns < due))
		due = s->last_commit_mono + s->opt.commit_interval_ns;
	return due ? due : 1;
}

int store_sync(struct store *s)
{
	s->now_mono = mono_now();
	int err = close_chunk(s, false);
	return err ? err : store_commit(s);
}

int store_close(struct store *s)
{
	int err = 0;
	if (!s)
		return 0;
	if (s->mode == STORE_WRITE && s->ix) {
		s->last_catchup_mono = 0; /* a last try, now */
		err = store_sync(s);
		if (s->ix_behind)
			store_notice(s, "the index has no room for the last chunks; the next "
				     "writer to open the store indexes them");
		if (!err && !s->ix_behind && (s->opt.max_size || s->opt.max_age_ns))
			err = store_apply_retention(s);
		if (!err && !s->ix_behind)
			index_optimize(s->ix);
	}
	sqlite3_finalize(s->get_flow_st);
	sqlite3_finalize(s->get_proc_st);
	sqlite3_finalize(s->get_links_st);
	sqlite3_finalize(s->get_ctr_st);
	flow_keys_cache_free(&s->flow_keys_cache);
	index_close(s->ix);
	if (s->seg_fd >= 0)
		close(s->seg_fd);
	if (s->read_fd >= 0)
		close(s->read_fd);
	buf_free(&s->read_scratch);
	buf_free(&s->read_frames);
	free(s->read_keep);
	store_read_spares_free(s);
	store_secrets_read_free(s);
	store_owners_free(s);
	close_direct(s);
	if (s->unsynced_fd >= 0)
		close(s->unsynced_fd);
	if (s->lockfd >= 0)
		close(s->lockfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	chunk_writer_free(s->writer);
	store_seal_free(s);
	if (s->cb.slots)
		chunk_builder_free(&s->cb);
	if (s->cb_spare.slots)
		chunk_builder_free(&s->cb_spare);
	free(s->run.last_ns);
	free(s->ifaces);
	free(s->seen);
	free(s->dir);
	free(s);
	return err;
}
