// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_calib_answer.c - libFuzzer target for the parser of the calibration child's answer
 * (tls_calibrate_parse_answer, recorder/tls_calibrate.c): the child runs foreign code, so its
 * answer is hostile input. The input is given as is, of exactly its size (a read past it is
 * caught). What parses must stay in bounds: offsets at most 65535, at most two pointer hops,
 * a NUL-terminated printable library name, no path or build-id taken from the child; what does
 * not parse always says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls_calibrate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_calibration cal;
	char err[256] = "", *buf = malloc(size ? size : 1);
	int rc;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	rc = tls_calibrate_parse_answer(buf, size, &cal, err, sizeof(err));
	if (rc < 0 && !err[0])
		abort();
	if (rc == 0) {
		if (cal.path[0] || cal.build_id[0] || !memchr(cal.library, 0, sizeof(cal.library)))
			abort();
		for (const char *c = cal.library; *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				abort();
		for (int f = 0; f < TLS_CAL_NFIELDS; f++)
			if (cal.f[f].found && cal.f[f].nderef > 2)
				abort();
	}
	free(buf);
	return 0;
}
