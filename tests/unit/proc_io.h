/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * proc_io.h - for the unit tests (include after cmocka.h): what this process has read and
 * written so far, from /proc/self/io (bytes by read/write calls, and the calls), this read of
 * it included. A test that a reader makes few system calls, or reads few bytes, compares two.
 */
#ifndef ECAP_TEST_PROC_IO_H
#define ECAP_TEST_PROC_IO_H

#include <stdio.h>

struct proc_io {
	unsigned long long rchar, wchar, syscr, syscw;
};

static inline struct proc_io proc_io_now(void)
{
	struct proc_io io = { 0, 0, 0, 0 };
	FILE *f = fopen("/proc/self/io", "re");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "rchar: %llu wchar: %llu syscr: %llu syscw: %llu", &io.rchar,
				&io.wchar, &io.syscr, &io.syscw),
			 4);
	fclose(f);
	return io;
}

#endif
