// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_tls_labels.c - tls_label_index(): each label of the NSS key log format that ecap knows
 * is found at its place in tls_labels (the lengths it compares first are made apart from the
 * names), and a label that is not one of them exactly (unknown, a prefix, longer, other case,
 * not NUL-terminated at n) is not.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "tls_labels.h"

static void test_every_label(void **state)
{
	(void)state;
	static const char *const expected[TLS_LABELS_N] = {
		"CLIENT_RANDOM", "CLIENT_EARLY_TRAFFIC_SECRET", "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
		"SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0",
		"SERVER_TRAFFIC_SECRET_0", "EARLY_EXPORTER_SECRET", "EXPORTER_SECRET",
	};
	for (int i = 0; i < TLS_LABELS_N; i++) {
		assert_string_equal(tls_labels[i], expected[i]);
		assert_int_equal(tls_label_index(expected[i], strlen(expected[i])), i);
	}
}

static void test_not_labels(void **state)
{
	(void)state;
	assert_int_equal(tls_label_index("", 0), -1);
	assert_int_equal(tls_label_index("CLIENT_TRAFFIC_SECRET_1", 23), -1);
	assert_int_equal(tls_label_index("CLIENT_RANDOM", 12), -1);           /* a prefix */
	assert_int_equal(tls_label_index("EXPORTER_SECRETS", 16), -1);        /* longer */
	assert_int_equal(tls_label_index("client_random", 13), -1);
	/* n bytes of a longer buffer: the label when those bytes are one */
	assert_int_equal(tls_label_index("EXPORTER_SECRET_AND_MORE", 15), 7);
	assert_int_equal(tls_label_index("EXPORTER_SECRET_AND_MORE", 24), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_label),
		cmocka_unit_test(test_not_labels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
