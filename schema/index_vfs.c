// SPDX-License-Identifier: GPL-2.0-only
/*
 * index_vfs.c - the index's SQLite VFS: the system's default VFS ("unix"), except that the
 * write-ahead log's frames of one commit reach the file in one write instead of two per page.
 *
 * SQLite writes each WAL frame as two calls, its 24-byte header and then the page, and a
 * group commit of the store writes about a hundred frames: two hundred pwrite calls of which
 * each costs more in the kernel (about 1.4 us here) than copying its page. This VFS keeps the
 * frames of a WAL file that follow one another in a buffer and writes them with one call
 * when:
 *   - the page of a commit frame (a frame header whose "database size after commit" word is
 *     not zero) has been added: so COMMIT returns only after its frames are in the file, and
 *     a failed write (a full disk) fails the COMMIT, as it did without the buffer, before
 *     SQLite publishes the frames to readers in the WAL index;
 *   - a write does not follow the buffered bytes, or would overflow the buffer;
 *   - anything else is done with the file (read, sync, truncate, size, lock, file control,
 *     close): each sees the file as if every write had gone straight to it.
 * The bytes that reach the file, and their order, are those SQLite wrote; only the number of
 * system calls changes. The database file and every other file go to the default VFS's own
 * methods untouched.
 *
 * A name through a directory descriptor, "/proc/self/fd/N/NAME" (store_path_at(): how a store
 * opens its index through the directory it checked), is kept as it is: the default VFS would
 * make it a "full" path by following each symbolic link, /proc/self/fd/N included, into the
 * directory's path by name (about 11 system calls), and then open the index, its WAL and its
 * shared memory by that name, which leads elsewhere once the directory is renamed, replaced
 * or covered by a mount, and is refused beyond 512 bytes. Kept, every open, access and delete
 * of the database, "-wal" and "-shm" goes through the descriptor's own directory, as openat()
 * on it would.
 */
#include "index_vfs.h"

#include <ctype.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Room for the frames of one commit (a frame is a page of 4 KiB and its 24-byte header). */
#define WAL_BUF_BYTES (1u << 20)
#define WAL_FRAME_HDR 24
/* The most the default VFS writes in one call (its seekAndWrite() keeps 17 bits of a
 * length): the buffer goes out in pieces of this size. */
#define WAL_WRITE_MAX (124u * 1024)

struct wal_file {
	sqlite3_file base;          /* our methods */
	sqlite3_file *real;         /* the default VFS's file, right after this struct */
	uint8_t *buf;               /* WAL_BUF_BYTES: the file bytes [off, off + len) */
	size_t len;
	sqlite3_int64 off;
	sqlite3_int64 commit_page;  /* where the page of a commit frame goes; -1: none pending */
};

static sqlite3_vfs vfs;
static sqlite3_vfs *base_vfs;
static int register_rc;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static sqlite3_file *real_of(sqlite3_file *f)
{
	return ((struct wal_file *)f)->real;
}

/* The buffered bytes into the file. The buffer is empty afterwards, whatever happened: a
 * failed write fails the transaction, whose frames SQLite then writes again or never uses. */
static int flush(struct wal_file *w)
{
	if (!w->len)
		return SQLITE_OK;
	size_t n = w->len;
	w->len = 0;
	for (size_t at = 0; at < n; at += WAL_WRITE_MAX) {
		size_t k = n - at < WAL_WRITE_MAX ? n - at : WAL_WRITE_MAX;
		int rc = w->real->pMethods->xWrite(w->real, w->buf + at, (int)k,
						   w->off + (sqlite3_int64)at);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

static int wal_close(sqlite3_file *f)
{
	struct wal_file *w = (struct wal_file *)f;
	int rc = flush(w);
	int rc2 = w->real->pMethods->xClose(w->real);
	free(w->buf);
	w->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int wal_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 off)
{
	struct wal_file *w = (struct wal_file *)f;
	int rc;
	if (amt <= 0 || (size_t)amt > WAL_WRITE_MAX) {
		if ((rc = flush(w)) != SQLITE_OK)
			return rc;
		return w->real->pMethods->xWrite(w->real, p, amt, off);
	}
	bool follows = off == w->off + (sqlite3_int64)w->len;
	if (w->len && (!follows || w->len + (size_t)amt > WAL_BUF_BYTES) &&
	    (rc = flush(w)) != SQLITE_OK)
		return rc;
	if (!w->len)
		w->off = off;
	memcpy(w->buf + w->len, p, (size_t)amt);
	w->len += (size_t)amt;
	if (amt == WAL_FRAME_HDR && be32((const uint8_t *)p + 4))
		w->commit_page = off + WAL_FRAME_HDR;
	else if (off == w->commit_page) {
		w->commit_page = -1;
		return flush(w);
	}
	return SQLITE_OK;
}

/* Every other method: the buffered bytes first, then the default VFS's. */
#define FLUSHED(call)                                              \
	do {                                                       \
		int rc_ = flush((struct wal_file *)f);             \
		if (rc_ != SQLITE_OK)                              \
			return rc_;                                \
		return real_of(f)->pMethods->call;                 \
	} while (0)

static int wal_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 off)
{
	FLUSHED(xRead(real_of(f), p, amt, off));
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	FLUSHED(xTruncate(real_of(f), size));
}

static int wal_sync(sqlite3_file *f, int flags)
{
	FLUSHED(xSync(real_of(f), flags));
}

static int wal_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	FLUSHED(xFileSize(real_of(f), size));
}

static int wal_lock(sqlite3_file *f, int level)
{
	FLUSHED(xLock(real_of(f), level));
}

static int wal_unlock(sqlite3_file *f, int level)
{
	FLUSHED(xUnlock(real_of(f), level));
}

static int wal_check_reserved(sqlite3_file *f, int *out)
{
	FLUSHED(xCheckReservedLock(real_of(f), out));
}

static int wal_file_control(sqlite3_file *f, int op, void *arg)
{
	FLUSHED(xFileControl(real_of(f), op, arg));
}

static int wal_sector_size(sqlite3_file *f)
{
	return real_of(f)->pMethods->xSectorSize(real_of(f));
}

static int wal_device_chars(sqlite3_file *f)
{
	return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}

/* Version 1 methods only: SQLite uses shared memory and memory maps of the database file,
 * never of its WAL. */
static const sqlite3_io_methods wal_methods = {
	.iVersion = 1,
	.xClose = wal_close,
	.xRead = wal_read,
	.xWrite = wal_write,
	.xTruncate = wal_truncate,
	.xSync = wal_sync,
	.xFileSize = wal_file_size,
	.xLock = wal_lock,
	.xUnlock = wal_unlock,
	.xCheckReservedLock = wal_check_reserved,
	.xFileControl = wal_file_control,
	.xSectorSize = wal_sector_size,
	.xDeviceCharacteristics = wal_device_chars,
};

static size_t real_offset(void)
{
	return (sizeof(struct wal_file) + 15) & ~(size_t)15;
}

static int vfs_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
	(void)v;
	if (!(flags & SQLITE_OPEN_WAL)) /* the default VFS's file, in our room, as it is */
		return base_vfs->xOpen(base_vfs, name, f, flags, out_flags);
	struct wal_file *w = (struct wal_file *)f;
	memset(w, 0, sizeof(*w));
	w->real = (sqlite3_file *)((uint8_t *)f + real_offset());
	memset(w->real, 0, (size_t)base_vfs->szOsFile);
	w->commit_page = -1;
	if (!(w->buf = malloc(WAL_BUF_BYTES)))
		return SQLITE_NOMEM;
	int rc = base_vfs->xOpen(base_vfs, name, w->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		free(w->buf);
		w->buf = NULL;
		if (w->real->pMethods) /* SQLite closes what xOpen left open: the real file */
			w->real->pMethods->xClose(w->real);
		return rc;
	}
	w->base.pMethods = &wal_methods;
	return SQLITE_OK;
}

/* Whether name is "/proc/self/fd/N/NAME": a file in the directory of descriptor N. */
static bool through_dirfd(const char *name)
{
	static const char prefix[] = "/proc/self/fd/";
	const char *p = name + sizeof(prefix) - 1;

	if (strncmp(name, prefix, sizeof(prefix) - 1) != 0 || !isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	return *p == '/' && p[1] && p[1] != '.' && !strchr(p + 1, '/');
}

static int vfs_full_pathname(sqlite3_vfs *v, const char *name, int room, char *out)
{
	(void)v;
	if (!through_dirfd(name))
		return base_vfs->xFullPathname(base_vfs, name, room, out);
	size_t n = strlen(name);
	if (room <= 0 || n >= (size_t)room)
		return SQLITE_CANTOPEN;
	memcpy(out, name, n + 1);
	return SQLITE_OK;
}

/* Everything but xOpen, xFullPathname (and the size of a file) is the default VFS's. */
#define PASS(name, params, args)                   \
	static int vfs_##name params                      \
	{                                                 \
		(void)v;                                  \
		return base_vfs->x##name args;            \
	}
PASS(Delete, (sqlite3_vfs *v, const char *n, int s), (base_vfs, n, s))
PASS(Access, (sqlite3_vfs *v, const char *n, int fl, int *o), (base_vfs, n, fl, o))
PASS(Randomness, (sqlite3_vfs *v, int k, char *o), (base_vfs, k, o))
PASS(Sleep, (sqlite3_vfs *v, int us), (base_vfs, us))
PASS(GetLastError, (sqlite3_vfs *v, int k, char *o), (base_vfs, k, o))
PASS(CurrentTimeInt64, (sqlite3_vfs *v, sqlite3_int64 *o), (base_vfs, o))
#undef PASS

static int vfs_current_time(sqlite3_vfs *v, double *o)
{
	(void)v;
	return base_vfs->xCurrentTime(base_vfs, o);
}

static void *vfs_dl_open(sqlite3_vfs *v, const char *n)
{
	(void)v;
	return base_vfs->xDlOpen(base_vfs, n);
}

static void vfs_dl_error(sqlite3_vfs *v, int k, char *o)
{
	(void)v;
	base_vfs->xDlError(base_vfs, k, o);
}

static void (*vfs_dl_sym(sqlite3_vfs *v, void *h, const char *s))(void)
{
	(void)v;
	return base_vfs->xDlSym(base_vfs, h, s);
}

static void vfs_dl_close(sqlite3_vfs *v, void *h)
{
	(void)v;
	base_vfs->xDlClose(base_vfs, h);
}

static void register_once(void)
{
	base_vfs = sqlite3_vfs_find(NULL);
	if (!base_vfs || base_vfs->iVersion < 2) {
		register_rc = SQLITE_ERROR;
		return;
	}
	vfs = (sqlite3_vfs){
		.iVersion = 2,
		/* room for a WAL file: ours, then the default VFS's */
		.szOsFile = (int)(real_offset() + (size_t)base_vfs->szOsFile),
		.mxPathname = base_vfs->mxPathname,
		.zName = INDEX_VFS_NAME,
		.xOpen = vfs_open,
		.xDelete = vfs_Delete,
		.xAccess = vfs_Access,
		.xFullPathname = vfs_full_pathname,
		.xDlOpen = vfs_dl_open,
		.xDlError = vfs_dl_error,
		.xDlSym = vfs_dl_sym,
		.xDlClose = vfs_dl_close,
		.xRandomness = vfs_Randomness,
		.xSleep = vfs_Sleep,
		.xCurrentTime = vfs_current_time,
		.xGetLastError = vfs_GetLastError,
		.xCurrentTimeInt64 = vfs_CurrentTimeInt64,
	};
	register_rc = sqlite3_vfs_register(&vfs, 0);
}

int index_vfs_register(void)
{
	pthread_once(&once, register_once);
	return register_rc;
}
