/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * x86.h - just enough x86-64 decoding to read two facts out of a TLS library's own machine
 * code, never running it: where an accessor such as SSL_get_client_random() or
 * gnutls_session_get_random() finds the client random in the object its first argument points
 * to, and which function a call site passes a key-log label to.
 *
 * The decoder knows the instruction forms compilers emit in such short code (moves, lea, ALU,
 * test/cmp, cmov, push/pop, jumps and calls, nops, endbr64, SSE moves); anything else ends the
 * walk, which then finds nothing. Bytes come from a hostile file: every length is checked.
 */
#ifndef ECAP_TLS_PROBE_X86_H
#define ECAP_TLS_PROBE_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct x86_insn {
	uint8_t len;
	uint8_t rex;            /* 0 or 0x40..0x4f */
	uint16_t op;            /* one-byte opcode, or 0x0f00 | second byte */
	bool modrm;             /* has a ModRM byte */
	uint8_t mod, reg, rm;   /* reg and rm with the REX bits; rm 16: none (SIB without base) */
	bool sib;
	uint8_t index;          /* with REX.X; 4: none */
	bool rip;               /* rip-relative memory operand */
	int32_t disp;
	int64_t imm;
};

/* Decodes the instruction at p (n bytes available). Its length (> 0), or -1 when unknown. */
int x86_decode(const uint8_t *p, size_t n, struct x86_insn *in);

/* Where the client random lies relative to the first argument (RDI) of an accessor. */
struct x86_loc {
	uint8_t nderef;         /* 0 or 1 pointers followed */
	uint16_t ptr;           /* nderef 1: the pointer is read at RDI + ptr */
	uint16_t off;           /* then the random is at base + off */
};

/*
 * Walks code (the accessor's first bytes, at most n) in order and returns the first address
 * formed from RDI: "lea off(%rdi)" (nderef 0), or "mov ptr(%rdi),%r" followed by "lea off(%r)"
 * or "add $off,%r" (nderef 1). 0, or -ENOENT.
 */
int x86_find_arg0_field(const uint8_t *code, size_t n, struct x86_loc *out);

/*
 * From code at virtual address addr (n bytes), up to 12 instructions: the target of the first
 * direct call (or tail jump), unless a return, a conditional or indirect jump comes first.
 * 0 with *target set, or -ENOENT.
 */
int x86_next_call(const uint8_t *code, size_t n, uint64_t addr, uint64_t *target);

#endif
