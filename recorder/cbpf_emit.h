/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cbpf_emit.h - the eBPF emitter behind cbpf_ebpf.c: an instruction buffer with labels whose
 * 16-bit jump offsets are filled in at the end, and the sequences that read the packet
 * (cbpf_emit.c). Only cbpf_ebpf.c and cbpf_emit.c include it.
 *
 * Registers of the generated program: r6 the skb (context), r7 A, r8 X, r9 the VLAN tag
 * (TPID << 16 | TCI, 0: none); r0-r5 are scratch for helper calls. Stack: M[i] at
 * fp - 64 + 4 * i, the load buffer at fp - 72, a saved load offset at fp - 80, the counter
 * key at fp - 84. With CBPF_SRC_HEAD, r6 is the head (struct ecap_any_head) instead and the
 * context is kept at fp - 96.
 */
#ifndef ECAP_CBPF_EMIT_H
#define ECAP_CBPF_EMIT_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbpf_ebpf.h"

#define R0 BPF_REG_0
#define R1 BPF_REG_1
#define R2 BPF_REG_2
#define R3 BPF_REG_3
#define R4 BPF_REG_4
#define R5 BPF_REG_5
#define CTX BPF_REG_6
#define RA BPF_REG_7
#define RX BPF_REG_8
#define TAG BPF_REG_9
#define FP BPF_REG_10

#define MEM_OFF (-64)
#define BUF_OFF (-72)
#define SAVE_OFF (-80)
#define KEY_OFF (-84)
#define CTX_SAVE_OFF (-96)      /* CBPF_SRC_HEAD: the program's context, for the tail call */
#define CBPF_MEMWORDS 16
#define CBPF_MAX 4096
#define PER_INSN_MAX 160        /* eBPF instructions one classic instruction may become */
#define TC_ACT_UNSPEC (-1)

struct fix {
	size_t at;      /* jump instruction */
	size_t label;
};

struct em {
	struct bpf_insn *v;
	size_t n, cap;
	long *label;    /* position of each label, -1: not placed */
	size_t nlabels, labcap;
	struct fix *fix;
	size_t nfix, fixcap;
	int rc;
	bool head;      /* CBPF_SRC_HEAD */
	size_t unknown; /* CBPF_SRC_HEAD: where a load past the head goes (the match label) */
	char *err;
	size_t errsz;
};

/* The first failure wins: e->rc and the message in e->err. */
void em_fail(struct em *e, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void em_ins(struct em *e, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm);
size_t em_label_new(struct em *e);
void em_label_at(struct em *e, size_t l);
/* A jump (BPF_JMP or BPF_JMP32 class | op | BPF_K or BPF_X) to label l. */
void em_jmp(struct em *e, uint8_t code, uint8_t dst, uint8_t src, int32_t imm, size_t l);
void em_ja(struct em *e, size_t l);
/* A jump to l that the verifier's structural check sees as conditional (always taken), so
 * that what follows does not count as unreachable. */
void em_always(struct em *e, size_t l);
bool em_label_used(const struct em *e, size_t l);
void em_ld_map_fd(struct em *e, uint8_t dst, int fd);
void em_call(struct em *e, int32_t helper);

/* Sets up r6-r9 and zeroes M[] (the tag as o->vlan says). */
void em_prologue(struct em *e, const struct cbpf_ebpf_opts *o);
/* dst = size bytes at constant offset k, big-endian; out of the packet: jump to reject. */
void em_load_abs(struct em *e, const struct cbpf_ebpf_opts *o, uint8_t dst, uint32_t k,
		 unsigned size, size_t reject);
/* A = size bytes at X + k. */
void em_load_ind(struct em *e, const struct cbpf_ebpf_opts *o, uint32_t k, unsigned size,
		 size_t reject);
/* dst = the wire length. */
void em_load_len(struct em *e, const struct cbpf_ebpf_opts *o, uint8_t dst);

#endif
