// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_common.h - what the store benchmarks (bench_store, bench_sessions) share: a clock, the
 * process's CPU time (all threads), and a fast deterministic generator for payloads.
 */
#ifndef ECAP_BENCH_COMMON_H
#define ECAP_BENCH_COMMON_H

#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

static inline uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* xorshift64: the same sequence on every run, so runs compare */
static uint64_t bench_rng = 0x9E3779B97F4A7C15ull;
static inline uint64_t next_rand(void)
{
	bench_rng ^= bench_rng << 13;
	bench_rng ^= bench_rng >> 7;
	bench_rng ^= bench_rng << 17;
	return bench_rng;
}

#endif
