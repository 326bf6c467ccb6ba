/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * owner_rows_drop.h - retention's last step on owner_flows (index.c index_drop_chunks): the
 * rows of the owners whose flows went that no flow of their owner is left in.
 */
#ifndef ECAP_OWNER_ROWS_DROP_H
#define ECAP_OWNER_ROWS_DROP_H

#include <sqlite3.h>
#include <stdint.h>

/*
 * Deletes each owner_flows row that may hold an owner in temp.gone_owners (comm, uid, pid,
 * start, netns: of that process, or a group of its name, uid and netns whose pids include
 * it, index.sql), starts at or before last_gone (the last flow that went) and has no flow of
 * its process or group left in its run. Called once the flows have gone. An SQLite result
 * code: SQLITE_OK, or the error of the statement that failed (SQLITE_NOMEM for memory).
 */
int owner_rows_drop(sqlite3 *db, int64_t last_gone);

#endif
