// SPDX-License-Identifier: GPL-2.0-only
/*
 * exec_name.c - the name in an exec record, checked before use (exec_name.h).
 */
#include "exec_name.h"

#include <string.h>

bool exec_record_name(const struct keylog_exec *x, size_t size, char *out, size_t out_size)
{
	static const char deleted[] = " (deleted)";
	const size_t d = sizeof(deleted) - 1;
	size_t n;

	if (out_size)
		out[0] = '\0';
	if (!x || size < sizeof(*x) || x->kind != KL_EV_EXEC)
		return false;
	n = x->name_len;
	if (n == 0 || n >= KL_EXE_NAME_MAX || n >= out_size || x->name[0] != '/' ||
	    memchr(x->name, '\0', n) || (n >= d && memcmp(x->name + n - d, deleted, d) == 0))
		return false;
	memcpy(out, x->name, n);
	out[n] = '\0';
	return true;
}
