/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * exec_name.h - the executable's name an exec record carries (bpf/tlslog.h struct
 * keylog_exec, built by bpf/exe_path.h), checked as hostile input before it is used in place
 * of readlink(/proc/PID/exe).
 */
#ifndef ECAP_EXEC_NAME_H
#define ECAP_EXEC_NAME_H

#include <stdbool.h>
#include <stddef.h>

#include "tlslog.h"

/*
 * The record's name into out (size bytes, NUL-terminated) when it is one: the record is
 * whole (size bytes of data), its name_len is inside the name field and below size, the name
 * starts with '/', holds no NUL before name_len and does not end in " (deleted)" (which the
 * probe never builds: such a name is not a path). false (out "") otherwise, and then the name
 * is read from /proc as before. The bytes are kept as they are (the caller makes them
 * printable, as it does readlink's text).
 */
bool exec_record_name(const struct keylog_exec *x, size_t size, char *out, size_t out_size);

#endif
