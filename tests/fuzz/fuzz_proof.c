// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_proof.c - libFuzzer target for what ecap-verify reads from files it cannot trust:
 * export proofs (proof_parse), seal records and the chain file's header (seal_decode,
 * seal_chain_header_check), exports (proof_scan_file over a PCAP-NG in a memfd, every EPB
 * handed to the packet hash as verify does) and segment files walked for their digest
 * (seal_acc_file, as a sealed segment is checked). Each input is used all these ways; a
 * record or proof that is accepted must hold within its bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proof.h"
#include "seal.h"

static int on_epb(uint64_t ts, uint32_t caplen, uint32_t origlen, const uint8_t *data,
		  uint64_t off, void *ctx)
{
	(void)off;
	*(uint64_t *)ctx ^= proof_packet_hash(ts, caplen, origlen, data);
	return 0;
}

static int as_file(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a proof */
	struct proof p;
	char why[256];
	memset(&p, 0, sizeof(p));
	if (proof_parse(&p, (const char *)data, size, why, sizeof(why)) == 0 &&
	    p.signed_len > size)
		abort();
	free(p.v);

	/* seal records back to back, after a chain header when there is one */
	uint8_t fp[32];
	const char *w;
	size_t off = seal_chain_header_check(data, size, fp, &w) == 0 ? SEAL_CHAIN_HEADER_LEN : 0;
	while (off < size) {
		struct seal s;
		long r = seal_decode(data + off, size - off, &s, &w);
		if (r <= 0)
			break;
		if ((size_t)r > size - off || s.length != (uint32_t)r)
			abort();
		off += (size_t)r;
	}

	/* an export, and a segment */
	int fd = as_file(data, size);
	struct proof_file f;
	uint64_t acc = 0, bad;
	if (proof_scan_file(fd, &f, on_epb, &acc, &w, &bad) == 0 && f.bytes != size)
		abort();
	struct seal_acc a = { 0 };
	struct seal_walk sw;
	uint8_t d[SHA256_LEN];
	if (seal_acc_begin(&a, 1) == 0 && seal_acc_file(&a, fd, 0, size, &sw) == 0) {
		if (seal_acc_digest(&a, d) || a.len != size)
			abort();
	}
	seal_acc_free(&a);
	close(fd);
	return 0;
}
