/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cpu_choice.h - a code path chosen at run time by what the CPU has (crc32c.c's folding,
 * sha256_x2.c's sixteen AVX-512 lanes): asked once, kept in a state word (0: not asked yet,
 * 1: take it, 2: do not), which tests and benchmarks may set to forbid the path or ask again.
 */
#ifndef ECAP_CPU_CHOICE_H
#define ECAP_CPU_CHOICE_H

#include <stdbool.h>

static inline bool cpu_choice(int *state, bool (*cpu_has)(void))
{
	int s = __atomic_load_n(state, __ATOMIC_RELAXED);
	if (!s) {
		s = cpu_has() ? 1 : 2;
		__atomic_store_n(state, s, __ATOMIC_RELAXED);
	}
	return s == 1;
}

/* allow: ask the CPU again at the next use; else never take the path. */
static inline void cpu_choice_allow(int *state, bool allow)
{
	__atomic_store_n(state, allow ? 0 : 2, __ATOMIC_RELAXED);
}

#endif
