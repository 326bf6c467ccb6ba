/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * seal_check.h - for the unit tests of seals (include after cmocka.h): check a store's whole
 * chain as ecap-verify does: header and key, every seal's index, link, signature, and a walk
 * over its segment file giving its digest, length and chunks.
 */
#ifndef ECAP_TEST_SEAL_CHECK_H
#define ECAP_TEST_SEAL_CHECK_H

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seal.h"
#include "segment.h"
#include "store_key.h"

/* Every seal of the chain checks: links, key, signature, and a walk over its segment file
 * gives its digest. Returns the seal count; *late (may be NULL) the count of late seals. */
static inline size_t check_chain(const char *dir, size_t *late)
{
	struct seal_chain c;
	struct store_key k;
	char msg[256];
	static const uint8_t zero[32];
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(seal_chain_read(dfd, &c), 0);
	assert_false(c.torn);
	assert_null(c.bad_why);
	assert_null(c.header_why);
	assert_int_equal(c.end, c.len);
	assert_int_equal(store_key_load_public(dfd, STORE_PUB_NAME, &k, msg, sizeof(msg)), 0);
	assert_memory_equal(c.header_fp, k.fp, 32);
	if (late)
		*late = 0;
	for (size_t i = 0; i < c.n; i++) {
		const struct seal *s = &c.v[i];
		if (late && (s->flags & SEAL_FLAG_LATE))
			(*late)++;
		assert_int_equal(s->index, i);
		assert_memory_equal(s->prev, i ? c.v[i - 1].self : zero, 32);
		assert_int_equal(seal_check_sig(s, c.bytes + s->offset, &k), 0);
		char name[SEGMENT_NAME_MAX];
		segment_name(s->segment, name);
		int fd = openat(dfd, name, O_RDONLY);
		assert_true(fd >= 0);
		struct stat st;
		assert_int_equal(fstat(fd, &st), 0);
		assert_int_equal((uint64_t)st.st_size, s->seg_len);
		struct seal_acc a = { 0 };
		struct seal_walk w;
		uint8_t d[32];
		assert_int_equal(seal_acc_begin(&a, s->segment), 0);
		assert_int_equal(seal_acc_file(&a, fd, 0, (uint64_t)st.st_size, &w), 0);
		assert_int_equal(seal_acc_digest(&a, d), 0);
		assert_memory_equal(d, s->digest, 32);
		assert_int_equal(w.chunks, s->chunks);
		assert_int_equal(w.gaps, 0);
		assert_int_equal(w.digest_mismatches, 0);
		assert_int_equal(w.no_digest, 0);
		assert_int_equal(a.first_chunk, s->first_chunk);
		assert_int_equal(a.last_chunk, s->last_chunk);
		seal_acc_free(&a);
		close(fd);
	}
	size_t n = c.n;
	seal_chain_free(&c);
	store_key_free(&k);
	close(dfd);
	return n;
}

#endif
