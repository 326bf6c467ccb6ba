/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * page_faults.h - for the unit tests (include after cmocka.h): the page faults the calling
 * thread has taken, and whether counts of them are checked. Under a sanitizer every first
 * touch of memory also faults its shadow memory, so a test that memory was made resident
 * ahead checks its bytes there but not its fault counts: tools/test.sh sets
 * ECAP_NO_PERF_CHECK=1 for the ASan and TSan runs, as for the throughput checks.
 */
#ifndef ECAP_TEST_PAGE_FAULTS_H
#define ECAP_TEST_PAGE_FAULTS_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static inline long page_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static inline bool page_faults_checked(void)
{
	const char *skip = getenv("ECAP_NO_PERF_CHECK");
	static bool said;

	if (skip && strcmp(skip, "1") == 0) {
		if (!said)
			print_message("page fault counts not checked (ECAP_NO_PERF_CHECK=1: a "
				      "sanitizer's shadow memory faults too)\n");
		said = true;
		return false;
	}
	return true;
}

#endif
