/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tmp_store.h - the cmocka fixture of the unit tests that need a store: a fresh temporary
 * directory per test, with the store's path (DIR/s, not yet created) in f->dir, removed
 * with everything in it after the test.
 */
#ifndef ECAP_TEST_TMP_STORE_H
#define ECAP_TEST_TMP_STORE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
	char dir[64];
};

static inline int tmp_store_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/ecap-test-store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	strcat(f->dir, "/s");
	*state = f;
	return 0;
}

static inline int tmp_store_teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strlen(f->dir) - 2), f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

#endif
