// SPDX-License-Identifier: GPL-2.0-only
/*
 * store_maint.c - keeping a store whole: recovery when a writer opens it (finish deletions,
 * forget vanished segments, re-index chunks that reached the disk without their rows, cut a
 * torn tail), retention (whole sealed segments, oldest first), the index rebuild from
 * segments alone, and fsck.
 *
 * Damage to one chunk loses that chunk only: a scan that meets a bad chunk looks for the next
 * chunk's metadata magic and goes on from there. Only a bad region with nothing valid after
 * it at the end of a file is a torn tail, and only that is cut. A scan steps over padding
 * frames (segment_read_pad) where a chunk may start; one that is not exactly as the writer
 * makes it is a bad region like any other (the chunk before it is kept), one cut short by
 * the end of the file a torn tail.
 */
#include "store_impl.h"
#include "store_path.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "seal.h"
#include "segment.h"

struct secret_list {
	struct tls_secret *v;
	size_t n, cap;
};

static int collect_secret(const struct tls_secret *sec, void *ctx)
{
	struct secret_list *l = ctx;
	struct tls_secret *slot = chunkmeta_grow((void **)&l->v, &l->n, &l->cap, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	*slot = *sec;
	return 0;
}

/* Read, verify and parse the chunk at off. Returns its length, -ENODATA, -EBADMSG (why). */
static long load_chunk(int fd, uint64_t off, uint64_t size, struct chunk_view *v,
		       struct secret_list *secrets, const char **why)
{
	long r = segment_read_chunk(fd, off, size, &v->meta, &v->frames, why);
	if (r <= 0)
		return r ? r : -EBADMSG;
	int err = segment_decompress(&v->meta, &v->frames, &v->raw, why);
	if (!err)
		err = chunk_view_parse(v, why);
	if (!err && secrets) {
		secrets->n = 0;
		err = chunk_view_walk_secrets(v, collect_secret, secrets);
		if (err == -EBADMSG)
			*why = "a DSB line does not parse";
	}
	return err ? err : r;
}

int store_scan_segment(struct store *s, uint32_t seg, uint64_t from, bool cut_tail,
		       FILE *report, uint64_t *problems)
{
	char name[SEGMENT_NAME_MAX];
	struct chunk_view v = { 0 };
	struct secret_list secrets = { 0 };
	struct stat st;
	int err = 0;

	segment_name(seg, name);
	int fd = openat(s->dirfd, name, (cut_tail ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return store_fail(s, -errno, "%s/%s: %s", s->dir, name, strerror(errno));
	if (fstat(fd, &st)) {
		err = store_fail(s, -errno, "%s/%s: %s", s->dir, name, strerror(errno));
		goto out;
	}
	uint64_t size = (uint64_t)st.st_size, off = from, end = from;
	while (off < size) {
		const char *why = NULL;
		long r = segment_read_pad(fd, off, size, &why);
		if (r > 0) {
			off += (uint64_t)r;
			end = off;
			continue;
		}
		if (r == 0)
			r = load_chunk(fd, off, size, &v, &secrets, &why);
		if (r > 0) {
			v.meta.segment = seg;
			/* chunks indexed after the fact may repeat secrets: looked up */
			if (s->ix && (err = index_add_chunk(s->ix, &v.meta, secrets.v, secrets.n,
							    true))) {
				store_fail(s, err, "%s: indexing %s offset %llu: %s", s->dir, name,
					   (unsigned long long)off, index_errmsg(s->ix));
				goto out;
			}
			off += (uint64_t)r;
			end = off;
			continue;
		}
		if (r != -ENODATA && r != -EBADMSG) {
			err = store_fail(s, (int)r, "%s/%s: offset %llu: %s", s->dir, name,
					 (unsigned long long)off, strerror((int)-r));
			goto out;
		}
		uint64_t next = r == -EBADMSG ? segment_resync(fd, off + 1, size) : size;
		if (problems)
			(*problems)++;
		if (report)
			fprintf(report, "%s/%s: offset %llu: %s (%llu bytes %s)\n", s->dir, name,
				(unsigned long long)off,
				r == -ENODATA ? "chunk cut short (torn tail)" : why,
				(unsigned long long)(next - off),
				next == size ? "to the end of the file" : "skipped");
		if (next == size) {
			if (cut_tail) {
				if (ftruncate(fd, (off_t)off)) {
					err = store_fail(s, -errno, "%s/%s: truncate: %s", s->dir, name,
							 strerror(errno));
					goto out;
				}
				fsync(fd);
				store_notice(s, "%s: cut %llu damaged or torn bytes at offset %llu",
					     name, (unsigned long long)(size - off),
					     (unsigned long long)off);
			}
			break;
		}
		store_notice(s, "%s: offset %llu: %s; %llu bytes skipped, chunks after it kept",
			     name, (unsigned long long)off, why ? why : "damaged chunk",
			     (unsigned long long)(next - off));
		off = next;
	}
	if (s->ix && end > from && (err = index_set_segment(s->ix, seg, end, false)))
		store_fail(s, err, "%s: %s", s->dir, index_errmsg(s->ix));
out:
	close(fd);
	chunk_view_free_contents(&v);
	free(secrets.v);
	return err;
}

/* Segment files present in the directory, sorted by id. */
static int list_segments(struct store *s, uint32_t **ids, size_t *n)
{
	int err = segment_list_dir(s->dirfd, ids, n);

	return err ? store_fail(s, err, "%s: %s", s->dir, strerror(-err)) : 0;
}

static int ids_query(struct store *s, const char *sql, uint32_t **ids, size_t *n)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	*ids = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(index_db(s->ix), sql, -1, &st, NULL) != SQLITE_OK)
		return store_fail(s, -EIO, "%s: %s", s->dir, index_errmsg(s->ix));
	while (sqlite3_step(st) == SQLITE_ROW) {
		uint32_t *slot = chunkmeta_grow((void **)ids, n, &cap, sizeof(*slot));
		if (!slot) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		*slot = (uint32_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return 0;
}

static int delete_segment(struct store *s, uint32_t id)
{
	char name[SEGMENT_NAME_MAX];
	int err;
	segment_name(id, name);
	if ((err = index_begin(s->ix)) || (err = index_mark_segment_deleting(s->ix, id)) ||
	    (err = index_commit(s->ix)))
		return store_fail(s, err, "%s: %s", s->dir, index_errmsg(s->ix));
	if (unlinkat(s->dirfd, name, 0) && errno != ENOENT)
		return store_fail(s, -errno, "%s/%s: %s", s->dir, name, strerror(errno));
	store_secrets_forget(s); /* its secrets go with it */
	if ((err = index_begin(s->ix)) || (err = index_drop_segment(s->ix, id)) ||
	    (err = index_commit(s->ix)))
		return store_fail(s, err, "%s: %s", s->dir, index_errmsg(s->ix));
	return 0;
}

int store_recover(struct store *s)
{
	uint32_t *ids = NULL, *files = NULL;
	size_t n = 0, n_files = 0;
	int err;

	if ((err = ids_query(s, "SELECT id FROM segments WHERE deleting = 1", &ids, &n)))
		goto out;
	for (size_t i = 0; i < n && !err; i++)
		err = delete_segment(s, ids[i]);
	free(ids);
	ids = NULL;
	if (err || (err = list_segments(s, &files, &n_files)))
		goto out;

	if ((err = ids_query(s, "SELECT id FROM segments ORDER BY id", &ids, &n)))
		goto out;
	if ((err = index_begin(s->ix)))
		goto sqlfail;
	for (size_t i = 0; i < n; i++) {
		bool present = false;
		for (size_t j = 0; j < n_files && !present; j++)
			present = files[j] == ids[i];
		if (present)
			continue;
		char name[SEGMENT_NAME_MAX];
		segment_name(ids[i], name);
		store_notice(s, "%s is listed in the index but missing; its chunks are dropped",
			     name);
		if ((err = index_drop_segment(s->ix, ids[i])))
			goto sqlfail;
	}
	for (size_t j = 0; j < n_files; j++) {
		char name[SEGMENT_NAME_MAX];
		struct stat st;
		int64_t indexed = 0;
		char sql[96];
		segment_name(files[j], name);
		if (fstatat(s->dirfd, name, &st, 0))
			continue;
		snprintf(sql, sizeof(sql), "SELECT bytes FROM segments WHERE id = %u", files[j]);
		if ((err = index_scalar(s->ix, sql, 0, &indexed)))
			goto sqlfail;
		if ((uint64_t)st.st_size < (uint64_t)indexed) {
			store_notice(s, "%s is shorter (%lld bytes) than the index says (%lld); "
				     "chunks beyond its end are dropped", name,
				     (long long)st.st_size, (long long)indexed);
			if ((err = index_drop_chunks(s->ix, files[j], (uint64_t)st.st_size)))
				goto sqlfail;
			indexed = st.st_size;
		}
		if ((uint64_t)st.st_size > (uint64_t)indexed) {
			if ((err = store_scan_segment(s, files[j], (uint64_t)indexed, true, NULL, NULL)))
				goto rollback;
			int64_t now_indexed = 0;
			index_scalar(s->ix, sql, 0, &now_indexed);
			if (now_indexed > indexed)
				store_notice(s, "%s: re-indexed chunks from offset %lld to %lld that "
					     "had reached the disk without their index rows", name,
					     (long long)indexed, (long long)now_indexed);
		}
		if (j + 1 < n_files) {
			snprintf(sql, sizeof(sql), "UPDATE segments SET sealed = 1 WHERE id = %u",
				 files[j]);
			if (sqlite3_exec(index_db(s->ix), sql, NULL, NULL, NULL) != SQLITE_OK) {
				err = -EIO;
				goto sqlfail;
			}
		}
	}
	if ((err = index_commit(s->ix)))
		goto sqlfail;
	goto out;
sqlfail:
	store_fail(s, err, "%s: recovery: %s", s->dir, index_errmsg(s->ix));
rollback:
	index_rollback(s->ix);
out:
	free(ids);
	free(files);
	return err;
}

static uint64_t index_file_bytes(struct store *s)
{
	static const char *const names[] = { "index.db", "index.db-wal", "index.db-shm" };
	uint64_t total = 0;
	for (size_t i = 0; i < 3; i++) {
		struct stat st;
		if (!fstatat(s->dirfd, names[i], &st, 0))
			total += (uint64_t)st.st_size;
	}
	return total;
}

int store_apply_retention(struct store *s)
{
	int err = store_commit(s);
	if (err)
		return err;
	for (;;) {
		int64_t total = 0, newest = 0, oldest_id = 0, oldest_last = 0;
		if ((err = index_scalar(s->ix, "SELECT sum(bytes) FROM segments", 0, &total)) ||
		    (err = index_scalar(s->ix, "SELECT max(last_ns) FROM segments", 0, &newest)) ||
		    (err = index_scalar(s->ix, "SELECT min(id) FROM segments WHERE sealed = 1", 0,
					&oldest_id)))
			return store_fail(s, err, "%s: retention: %s", s->dir, index_errmsg(s->ix));
		if (!oldest_id || (s->seg_fd >= 0 && (uint32_t)oldest_id == s->seg_id))
			return 0;
		char sql[96];
		snprintf(sql, sizeof(sql), "SELECT last_ns FROM segments WHERE id = %lld",
			 (long long)oldest_id);
		if ((err = index_scalar(s->ix, sql, 0, &oldest_last)))
			return store_fail(s, err, "%s: retention: %s", s->dir, index_errmsg(s->ix));
		total += (int64_t)index_file_bytes(s) + (int64_t)chunk_builder_raw_size(&s->cb);
		bool too_big = s->opt.max_size && (uint64_t)total > s->opt.max_size;
		bool too_old = s->opt.max_age_ns && newest > 0 &&
			       (uint64_t)oldest_last + s->opt.max_age_ns < (uint64_t)newest;
		if (!too_big && !too_old)
			return 0;
		if ((err = delete_segment(s, (uint32_t)oldest_id)))
			return err;
		s->st.segments_deleted++;
	}
}

/* ---- rebuild and fsck ------------------------------------------------------------ */

int store_rebuild(const char *dir, const struct store_options *opt, bool verbose)
{
	char from[4096], to[4096], why[PATH_MAX + 200];
	int dfd = store_path_open(dir, false, why, sizeof(why));
	if (dfd < 0) {
		fprintf(stderr, "ecap: store %s refused: %s\n", dir, why);
		return dfd;
	}
	int fd = openat(dfd, STORE_LOCK_NAME, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		fprintf(stderr, "ecap: %s: not an ecap store (no lock file): %s\n", dir,
			strerror(e));
		close(dfd);
		return -e;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		fprintf(stderr, "ecap: %s: store is in use by a writer; stop it first\n", dir);
		close(fd);
		return -EBUSY;
	}
	char stamp[32];
	snprintf(stamp, sizeof(stamp), ".old-%lld", (long long)time(NULL));
	static const char *const names[] = { "index.db", "index.db-wal", "index.db-shm" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(to, sizeof(to), "%s%s", names[i], stamp);
		if (renameat(dfd, names[i], dfd, to) && errno != ENOENT) {
			int e = errno;
			fprintf(stderr, "ecap: %s/%s: cannot move the old index aside: %s\n", dir,
				names[i], strerror(e));
			close(fd);
			close(dfd);
			return -e;
		}
	}
	close(fd); /* store_open takes the lock again */

	struct store_options o;
	if (opt)
		o = *opt;
	else
		store_options_default(&o);
	o.quiet = !verbose;
	struct store *s = NULL;
	int err = store_open(dir, STORE_WRITE, &o, &s);
	if (!err)
		err = store_sync(s);
	if (err) {
		fprintf(stderr, "ecap: rebuild failed: %s\n", s ? store_errmsg(s) : strerror(-err));
		store_close(s);
		for (size_t i = 0; i < 3; i++) { /* put the old index back */
			snprintf(from, sizeof(from), "%s%s", names[i], stamp);
			renameat(dfd, from, dfd, names[i]);
		}
		close(dfd);
		return err;
	}
	store_close(s);
	for (size_t i = 0; i < 3; i++) {
		snprintf(from, sizeof(from), "%s%s", names[i], stamp);
		unlinkat(dfd, from, 0);
	}
	close(dfd);
	return 0;
}

struct fsck_chunk {
	uint64_t id, offset;
	uint32_t segment, length;
};

/* found[] is in (segment, offset) order: files are scanned by id, each from its start. */
static size_t find_chunk(const struct fsck_chunk *found, size_t n, uint32_t seg, uint64_t off)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct fsck_chunk *c = &found[mid];
		if (c->segment < seg || (c->segment == seg && c->offset < off))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && found[lo].segment == seg && found[lo].offset == off ? lo : n;
}

int store_fsck(const char *dir, FILE *report)
{
	struct store_options o;
	store_options_default(&o);
	o.quiet = true;
	struct store *s = NULL;
	uint64_t problems = 0;
	int err;

	/* Modes first: a reader refuses loose ones, fsck reports them. */
	struct stat st;
	char refused[PATH_MAX + 200];
	int dfd = store_path_open(dir, false, refused, sizeof(refused));
	if (dfd < 0)
		return fprintf(report, "store %s refused: %s\n", dir, refused), dfd;
	if (fstat(dfd, &st)) {
		int e = errno;
		close(dfd);
		return fprintf(report, "%s: %s\n", dir, strerror(e)), -e;
	}
	if (st.st_mode & 077) {
		fprintf(report, "%s: directory mode %04o, should be 0700\n", dir, st.st_mode & 07777);
		problems++;
	}
	int lfd = dup(dfd);
	DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			char p[4096];
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			if (de->d_name[0] == '.' ||
			    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
			    !S_ISREG(st.st_mode))
				continue;
			if (st.st_mode & 077) {
				fprintf(report, "%s: mode %04o, should be 0600\n", p,
					st.st_mode & 07777);
				problems++;
			}
			uint32_t id;
			if (!segment_parse_name(de->d_name, &id) && strcmp(de->d_name, "lock") &&
			    !seal_is_store_file(de->d_name) &&
			    strncmp(de->d_name, "index.db", 8) && strcmp(de->d_name, "calibration")) {
				fprintf(report, "%s: not a file of an ecap store\n", p);
				problems++;
			}
		}
		closedir(d);
	}
	/* The index is opened directly, not through store_open: a reader would refuse the
	 * loose modes that fsck is there to report. */
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->ix_lock, NULL);
	s->dir = strdup(dir);
	s->opt = o;
	s->dirfd = dfd;
	s->lockfd = s->seg_fd = s->seg_dio_fd = s->unsynced_fd = s->read_fd = -1;
	int ie = faccessat(dfd, STORE_INDEX_NAME, F_OK, AT_SYMLINK_NOFOLLOW) ? -ENOENT :
		 store_open_index_reader(s);
	if (ie == -EBUSY) /* an older index, in use by a writer */
		fprintf(report, "%s\n", s->errmsg);
	else if (ie)
		fprintf(report, "%s: no readable index (%s); run ecap-fsck --rebuild\n", dir,
			s->dirfd < 0 ? strerror(-ie) : ie == -ENOENT ? "index.db" : s->errmsg);
	if (ie) {
		problems++;
		s->ix = NULL;
	}

	/* Every chunk of every segment: checksum, decompression, pcapng structure. */
	uint32_t *files = NULL;
	size_t n_files = 0;
	struct fsck_chunk *found = NULL;
	size_t n_found = 0, cap_found = 0;
	if ((err = list_segments(s, &files, &n_files)))
		goto out;
	struct chunk_view v = { 0 };
	for (size_t j = 0; j < n_files; j++) {
		char name[SEGMENT_NAME_MAX];
		segment_name(files[j], name);
		int fd = openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st)) {
			fprintf(report, "%s/%s: %s\n", dir, name, strerror(errno));
			problems++;
			if (fd >= 0)
				close(fd);
			continue;
		}
		uint64_t size = (uint64_t)st.st_size, off = 0;
		while (off < size) {
			const char *why = NULL;
			long r = segment_read_pad(fd, off, size, &why);
			if (r > 0) {
				off += (uint64_t)r;
				continue;
			}
			if (r == 0)
				r = load_chunk(fd, off, size, &v, NULL, &why);
			if (r > 0) {
				struct fsck_chunk *c = chunkmeta_grow((void **)&found, &n_found,
								      &cap_found, sizeof(*c));
				if (!c) {
					err = -ENOMEM;
					close(fd);
					goto out;
				}
				c->id = v.meta.id;
				c->segment = files[j];
				c->offset = off;
				c->length = (uint32_t)r;
				off += (uint64_t)r;
				continue;
			}
			uint64_t next = r == -ENODATA ? size : segment_resync(fd, off + 1, size);
			fprintf(report, "%s/%s: offset %llu: %s (%llu bytes)\n", dir, name,
				(unsigned long long)off,
				r == -ENODATA ? "chunk cut short (torn tail)" :
				why ? why : strerror((int)-r),
				(unsigned long long)(next - off));
			problems++;
			off = next;
		}
		close(fd);
	}
	chunk_view_free_contents(&v);

	/* Every index row against what the segments hold, and the other way round. */
	if (s->ix) {
		sqlite3_stmt *q;
		sqlite3_prepare_v2(index_db(s->ix), "SELECT id, segment, offset, length FROM chunks "
				   "ORDER BY id", -1, &q, NULL);
		uint8_t *seen = calloc(n_found ? n_found : 1, 1);
		while (q && seen && sqlite3_step(q) == SQLITE_ROW) {
			uint64_t id = (uint64_t)sqlite3_column_int64(q, 0);
			uint32_t seg = (uint32_t)sqlite3_column_int64(q, 1);
			uint64_t off = (uint64_t)sqlite3_column_int64(q, 2);
			uint32_t len = (uint32_t)sqlite3_column_int64(q, 3);
			size_t k = find_chunk(found, n_found, seg, off);
			char name[SEGMENT_NAME_MAX];
			segment_name(seg, name);
			if (k == n_found) {
				fprintf(report, "%s/%s: offset %llu: index row of chunk %llu points "
					"at no valid chunk\n", dir, name, (unsigned long long)off,
					(unsigned long long)id);
				problems++;
			} else if (found[k].id != id || found[k].length != len) {
				fprintf(report, "%s/%s: offset %llu: index row of chunk %llu disagrees "
					"with the chunk there (id %llu, %u bytes)\n", dir, name,
					(unsigned long long)off, (unsigned long long)id,
					(unsigned long long)found[k].id, found[k].length);
				problems++;
				seen[k] = 1;
			} else {
				seen[k] = 1;
			}
		}
		for (size_t k = 0; seen && k < n_found; k++)
			if (!seen[k]) {
				char name[SEGMENT_NAME_MAX];
				segment_name(found[k].segment, name);
				fprintf(report, "%s/%s: offset %llu: chunk %llu is not in the index "
					"(ecap-rec re-indexes it at its next start; or "
					"ecap-fsck --rebuild)\n", dir, name,
					(unsigned long long)found[k].offset,
					(unsigned long long)found[k].id);
				problems++;
			}
		free(seen);
		sqlite3_finalize(q);
		sqlite3_stmt *ic;
		if (sqlite3_prepare_v2(index_db(s->ix), "PRAGMA quick_check", -1, &ic, NULL) ==
		    SQLITE_OK) {
			while (sqlite3_step(ic) == SQLITE_ROW) {
				const char *r = (const char *)sqlite3_column_text(ic, 0);
				if (r && strcmp(r, "ok")) {
					fprintf(report, "%s/%s: %s\n", dir, STORE_INDEX_NAME, r);
					problems++;
				}
			}
			sqlite3_finalize(ic);
		}
	}
	err = 0;
out:
	free(files);
	free(found);
	index_close(s->ix);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->dir);
	free(s);
	return err ? err : (int)(problems > 0x7fffffff ? 0x7fffffff : problems);
}
