// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_exec_name.c - libFuzzer target for the executable's name an exec record carries
 * (recorder/exec_name.c): the name is built in BPF from directory entries any user can name,
 * so the record is hostile input. Whatever the bytes, a name taken must be NUL-terminated
 * within the output, start with '/', hold no NUL before its end and not end in " (deleted)";
 * the printable form made of it (proc_info_printable, as the recorder shows it) must hold only
 * printable ASCII.
 *
 * Input: the record's bytes (as many as given, at most one record; the rest zero), and the
 * record size claimed is the input's length, so short records are tried too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec_name.h"
#include "proc_info.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keylog_exec x;
	char name[KL_EXE_NAME_MAX], shown[4 * KL_EXE_NAME_MAX];

	memset(&x, 0, sizeof(x));
	memcpy(&x, data, size < sizeof(x) ? size : sizeof(x));
	if (size >= 1)
		x.kind = data[0] & 1 ? KL_EV_EXEC : x.kind; /* reach the checks past the kind */
	if (!exec_record_name(&x, size, name, sizeof(name))) {
		if (name[0])
			abort(); /* refused: the output must be empty */
		return 0;
	}
	size_t n = strnlen(name, sizeof(name));
	if (n == sizeof(name) || n == 0 || name[0] != '/' || n != x.name_len)
		abort();
	if (n >= 10 && memcmp(name + n - 10, " (deleted)", 10) == 0)
		abort();
	proc_info_printable(shown, sizeof(shown), name, n);
	for (const char *p = shown; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			abort();
	return 0;
}
