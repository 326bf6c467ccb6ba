// SPDX-License-Identifier: GPL-2.0-only
/*
 * cbpf_emit.c - the eBPF emitter of cbpf_ebpf.c (cbpf_emit.h): instructions and labels, and
 * the packet reads.
 *
 * Packet bytes come through bpf_skb_load_bytes into the load buffer (it works on non-linear
 * skbs and checks the bounds), then a byte swap to host order. A VLAN tag the device keeps
 * outside the bytes (vlan_present) is seen where the capture program puts it back: at offset
 * 12 (TPID, TCI), the rest of the packet 4 bytes further, len 4 larger; as there, only when
 * len > 12. A load that lies wholly before or after the tag is one helper call at a shifted
 * offset; one that touches the tag is put together byte by byte. For constant offsets the
 * case is chosen here; for x + k at run time.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cbpf_emit.h"
#include "ecap.h"

void em_fail(struct em *e, int rc, const char *fmt, ...)
{
	va_list ap;

	if (e->rc)
		return;
	e->rc = rc;
	va_start(ap, fmt);
	vsnprintf(e->err, e->errsz, fmt, ap);
	va_end(ap);
}

void em_ins(struct em *e, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct bpf_insn *i;

	if (e->n >= e->cap) {
		em_fail(e, -E2BIG, "the translation outgrew its room (%zu instructions)", e->n);
		return;
	}
	i = &e->v[e->n++];
	memset(i, 0, sizeof(*i));
	i->code = code;
	i->dst_reg = dst & 0xf;
	i->src_reg = src & 0xf;
	i->off = off;
	i->imm = imm;
}

size_t em_label_new(struct em *e)
{
	if (e->nlabels >= e->labcap) {
		em_fail(e, -E2BIG, "too many labels (%zu)", e->nlabels);
		return 0;
	}
	e->label[e->nlabels] = -1;
	return e->nlabels++;
}

void em_label_at(struct em *e, size_t l)
{
	if (l < e->nlabels)
		e->label[l] = (long)e->n;
}

/* A jump (BPF_JMP or BPF_JMP32 class | op | BPF_K or BPF_X) to label l. */
void em_jmp(struct em *e, uint8_t code, uint8_t dst, uint8_t src, int32_t imm, size_t l)
{
	if (e->nfix >= e->fixcap) {
		em_fail(e, -E2BIG, "too many jumps (%zu)", e->nfix);
		return;
	}
	e->fix[e->nfix].at = e->n;
	e->fix[e->nfix].label = l;
	e->nfix++;
	em_ins(e, code, dst, src, 0, imm);
}

void em_ja(struct em *e, size_t l)
{
	em_jmp(e, BPF_JMP | BPF_JA, 0, 0, 0, l);
}

/* A jump to l that the verifier's structural check (check_cfg) sees as conditional, so that
 * what follows does not count as unreachable; it is always taken. */
void em_always(struct em *e, size_t l)
{
	em_ins(e, BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 0);
	em_jmp(e, BPF_JMP | BPF_JEQ | BPF_K, R0, 0, 0, l);
}

bool em_label_used(const struct em *e, size_t l)
{
	size_t i;

	for (i = 0; i < e->nfix; i++)
		if (e->fix[i].label == l)
			return true;
	return false;
}

void em_ld_map_fd(struct em *e, uint8_t dst, int fd)
{
	em_ins(e, BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd);
	em_ins(e, 0, 0, 0, 0, 0);
}

void em_call(struct em *e, int32_t helper)
{
	em_ins(e, BPF_JMP | BPF_CALL, 0, 0, 0, helper);
}

/* CBPF_SRC_HEAD (struct ecap_any_head: len at 0, caplen at 4, off at 8, data at 16): dst =
 * size bytes at the offset in r2; past the packet: reject; past the head: e->unknown. */
static void load_head_r2(struct em *e, uint8_t dst, unsigned size, size_t reject)
{
	static const uint8_t sz[5] = { 0, BPF_B, BPF_H, 0, BPF_W };
	size_t beyond = em_label_new(e), done = em_label_new(e);

	em_ins(e, BPF_ALU64 | BPF_MOV | BPF_X, R3, R2, 0, 0);
	em_ins(e, BPF_ALU64 | BPF_ADD | BPF_K, R3, 0, 0, (int32_t)size);
	em_ins(e, BPF_LDX | BPF_MEM | BPF_W, R4, CTX, 4, 0);
	em_jmp(e, BPF_JMP | BPF_JGT | BPF_X, R3, R4, 0, beyond);
	/* inside the head: bounds the verifier can follow */
	em_jmp(e, BPF_JMP | BPF_JGT | BPF_K, R2, 0, (int32_t)(ECAP_ANY_HEAD - size), e->unknown);
	em_ins(e, BPF_LDX | BPF_MEM | BPF_W, R5, CTX, 8, 0);
	em_jmp(e, BPF_JMP | BPF_JGT | BPF_K, R5, 0, ECAP_ANY_L2_MAX, e->unknown);
	em_ins(e, BPF_ALU64 | BPF_MOV | BPF_X, R1, CTX, 0, 0);
	em_ins(e, BPF_ALU64 | BPF_ADD | BPF_X, R1, R5, 0, 0);
	em_ins(e, BPF_ALU64 | BPF_ADD | BPF_X, R1, R2, 0, 0);
	em_ins(e, BPF_LDX | BPF_MEM | sz[size], dst, R1, 16, 0);
	if (size > 1)
		em_ins(e, BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, (int32_t)size * 8);
	em_ja(e, done);
	em_label_at(e, beyond);
	em_ins(e, BPF_LDX | BPF_MEM | BPF_W, R4, CTX, 0, 0);
	em_jmp(e, BPF_JMP | BPF_JGT | BPF_X, R3, R4, 0, reject);
	em_ja(e, e->unknown);
	em_label_at(e, done);
}

/* dst = size bytes at the offset in r2, big-endian; out of the packet: jump to reject. */
static void load_at_r2(struct em *e, uint8_t dst, unsigned size, size_t reject)
{
	static const uint8_t sz[5] = { 0, BPF_B, BPF_H, 0, BPF_W };

	if (e->head) {
		load_head_r2(e, dst, size, reject);
		return;
	}

	em_ins(e, BPF_ALU64 | BPF_MOV | BPF_X, R1, CTX, 0, 0);
	em_ins(e, BPF_ALU64 | BPF_MOV | BPF_X, R3, FP, 0, 0);
	em_ins(e, BPF_ALU64 | BPF_ADD | BPF_K, R3, 0, 0, BUF_OFF);
	em_ins(e, BPF_ALU64 | BPF_MOV | BPF_K, R4, 0, 0, (int32_t)size);
	em_call(e, BPF_FUNC_skb_load_bytes);
	em_jmp(e, BPF_JMP | BPF_JNE | BPF_K, R0, 0, 0, reject);
	em_ins(e, BPF_LDX | BPF_MEM | sz[size], dst, FP, BUF_OFF, 0);
	if (size > 1)
		em_ins(e, BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, (int32_t)size * 8);
}

/* dst = (dst << 8) | r0 */
static void shift_in_r0(struct em *e, uint8_t dst)
{
	em_ins(e, BPF_ALU | BPF_LSH | BPF_K, dst, 0, 0, 8);
	em_ins(e, BPF_ALU | BPF_OR | BPF_X, dst, R0, 0, 0);
}

/* r0 = the byte at the virtual (tagged) offset in r2, known only at run time. */
static void vbyte_runtime(struct em *e, size_t reject)
{
	size_t m4 = em_label_new(e), load = em_label_new(e), tag = em_label_new(e);
	size_t end = em_label_new(e);

	em_jmp(e, BPF_JMP | BPF_JGE | BPF_K, R2, 0, 16, m4);
	em_jmp(e, BPF_JMP | BPF_JGE | BPF_K, R2, 0, 12, tag);
	em_ja(e, load);
	em_label_at(e, m4);
	em_ins(e, BPF_ALU64 | BPF_SUB | BPF_K, R2, 0, 0, 4);
	em_label_at(e, load);
	load_at_r2(e, R0, 1, reject);
	em_ja(e, end);
	em_label_at(e, tag);
	em_ins(e, BPF_ALU64 | BPF_MOV | BPF_K, R1, 0, 0, 15);
	em_ins(e, BPF_ALU64 | BPF_SUB | BPF_X, R1, R2, 0, 0);
	em_ins(e, BPF_ALU64 | BPF_LSH | BPF_K, R1, 0, 0, 3);
	em_ins(e, BPF_ALU64 | BPF_MOV | BPF_X, R0, TAG, 0, 0);
	em_ins(e, BPF_ALU64 | BPF_RSH | BPF_X, R0, R1, 0, 0);
	em_ins(e, BPF_ALU64 | BPF_AND | BPF_K, R0, 0, 0, 0xff);
	em_label_at(e, end);
}

/* dst = size bytes at constant offset k (ld/ldh/ldb [k], and the byte of ldx msh). */
void em_load_abs(struct em *e, const struct cbpf_ebpf_opts *o, uint8_t dst, uint32_t k,
		     unsigned size, size_t reject)
{
	size_t plain, done;
	uint32_t i, vo;

	if (k > INT32_MAX - 4) {
		em_always(e, reject); /* past any packet */
		return;
	}
	if (o->vlan == CBPF_VLAN_NONE || k + size <= 12) {
		em_ins(e, BPF_ALU64 | BPF_MOV | BPF_K, R2, 0, 0, (int32_t)k);
		load_at_r2(e, dst, size, reject);
		return;
	}
	plain = em_label_new(e);
	done = em_label_new(e);
	em_jmp(e, BPF_JMP | BPF_JEQ | BPF_K, TAG, 0, 0, plain);
	if (k >= 16) {
		em_ins(e, BPF_ALU64 | BPF_MOV | BPF_K, R2, 0, 0, (int32_t)(k - 4));
		load_at_r2(e, dst, size, reject);
	} else if (k >= 12 && k + size <= 16) {
		em_ins(e, BPF_ALU | BPF_MOV | BPF_X, dst, TAG, 0, 0);
		if (16 - k - size)
			em_ins(e, BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0,
			       (int32_t)(8 * (16 - k - size)));
		if (size < 4)
			em_ins(e, BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, size == 1 ? 0xff : 0xffff);
	} else {
		em_ins(e, BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, 0);
		for (i = 0; i < size; i++) {
			vo = k + i;
			if (vo >= 12 && vo < 16) {
				em_ins(e, BPF_ALU | BPF_MOV | BPF_X, R0, TAG, 0, 0);
				if (vo != 15)
					em_ins(e, BPF_ALU | BPF_RSH | BPF_K, R0, 0, 0,
					    (int32_t)(8 * (15 - vo)));
				em_ins(e, BPF_ALU | BPF_AND | BPF_K, R0, 0, 0, 0xff);
			} else {
				em_ins(e, BPF_ALU64 | BPF_MOV | BPF_K, R2, 0, 0,
				    (int32_t)(vo < 12 ? vo : vo - 4));
				load_at_r2(e, R0, 1, reject);
			}
			shift_in_r0(e, dst);
		}
	}
	em_ja(e, done);
	em_label_at(e, plain);
	em_ins(e, BPF_ALU64 | BPF_MOV | BPF_K, R2, 0, 0, (int32_t)k);
	load_at_r2(e, dst, size, reject);
	em_label_at(e, done);
}

/* A = size bytes at X + k. */
void em_load_ind(struct em *e, const struct cbpf_ebpf_opts *o, uint32_t k, unsigned size,
		     size_t reject)
{
	size_t plain, done, m4;
	unsigned i;

	if (k > INT32_MAX - 4) {
		em_always(e, reject);
		return;
	}
	em_ins(e, BPF_ALU | BPF_MOV | BPF_X, R2, RX, 0, 0);
	em_ins(e, BPF_ALU64 | BPF_ADD | BPF_K, R2, 0, 0, (int32_t)k);
	em_jmp(e, BPF_JMP | BPF_JGT | BPF_K, R2, 0, INT32_MAX - 4, reject);
	if (o->vlan == CBPF_VLAN_NONE) {
		load_at_r2(e, RA, size, reject);
		return;
	}
	plain = em_label_new(e);
	done = em_label_new(e);
	m4 = em_label_new(e);
	em_jmp(e, BPF_JMP | BPF_JEQ | BPF_K, TAG, 0, 0, plain);
	em_jmp(e, BPF_JMP | BPF_JGE | BPF_K, R2, 0, 16, m4);
	em_ins(e, BPF_ALU64 | BPF_MOV | BPF_X, R3, R2, 0, 0);
	em_ins(e, BPF_ALU64 | BPF_ADD | BPF_K, R3, 0, 0, (int32_t)size);
	em_jmp(e, BPF_JMP | BPF_JLE | BPF_K, R3, 0, 12, plain);
	em_ins(e, BPF_STX | BPF_MEM | BPF_DW, FP, R2, SAVE_OFF, 0);
	em_ins(e, BPF_ALU | BPF_MOV | BPF_K, RA, 0, 0, 0);
	for (i = 0; i < size; i++) {
		em_ins(e, BPF_LDX | BPF_MEM | BPF_DW, R2, FP, SAVE_OFF, 0);
		if (i)
			em_ins(e, BPF_ALU64 | BPF_ADD | BPF_K, R2, 0, 0, (int32_t)i);
		vbyte_runtime(e, reject);
		shift_in_r0(e, RA);
	}
	em_ja(e, done);
	em_label_at(e, m4);
	em_ins(e, BPF_ALU64 | BPF_SUB | BPF_K, R2, 0, 0, 4);
	em_label_at(e, plain);
	load_at_r2(e, RA, size, reject);
	em_label_at(e, done);
}

/* dst = len (4 more with a tag outside the bytes). */
void em_load_len(struct em *e, const struct cbpf_ebpf_opts *o, uint8_t dst)
{
	size_t l;

	if (o->src == CBPF_SRC_HEAD) {
		em_ins(e, BPF_LDX | BPF_MEM | BPF_W, dst, CTX, 0, 0);
		return;
	}
	em_ins(e, BPF_LDX | BPF_MEM | BPF_W, dst, CTX, offsetof(struct __sk_buff, len), 0);
	if (o->vlan == CBPF_VLAN_NONE)
		return;
	l = em_label_new(e);
	em_jmp(e, BPF_JMP | BPF_JEQ | BPF_K, TAG, 0, 0, l);
	em_ins(e, BPF_ALU | BPF_ADD | BPF_K, dst, 0, 0, 4);
	em_label_at(e, l);
}

void em_prologue(struct em *e, const struct cbpf_ebpf_opts *o)
{
	size_t none, proto;
	int i;

	em_ins(e, BPF_ALU64 | BPF_MOV | BPF_X, CTX, R1, 0, 0);
	em_ins(e, BPF_ALU64 | BPF_MOV | BPF_K, RA, 0, 0, 0);
	em_ins(e, BPF_ALU64 | BPF_MOV | BPF_K, RX, 0, 0, 0);
	for (i = 1; i <= CBPF_MEMWORDS / 2; i++)
		em_ins(e, BPF_ST | BPF_MEM | BPF_DW, FP, 0, (int16_t)(-8 * i), 0);
	if (o->src == CBPF_SRC_HEAD) {
		/* the context kept for the tail call; r6 = the head, none: record */
		e->head = true;
		em_ins(e, BPF_STX | BPF_MEM | BPF_DW, FP, R1, CTX_SAVE_OFF, 0);
		em_ins(e, BPF_ST | BPF_MEM | BPF_W, FP, 0, KEY_OFF, (int32_t)o->head_key);
		em_ld_map_fd(e, R1, o->head_map_fd);
		em_ins(e, BPF_ALU64 | BPF_MOV | BPF_X, R2, FP, 0, 0);
		em_ins(e, BPF_ALU64 | BPF_ADD | BPF_K, R2, 0, 0, KEY_OFF);
		em_call(e, BPF_FUNC_map_lookup_elem);
		em_jmp(e, BPF_JMP | BPF_JEQ | BPF_K, R0, 0, 0, e->unknown);
		em_ins(e, BPF_ALU64 | BPF_MOV | BPF_X, CTX, R0, 0, 0);
		return;
	}
	if (o->vlan == CBPF_VLAN_NONE)
		return;
	none = em_label_new(e);
	em_ins(e, BPF_ALU64 | BPF_MOV | BPF_K, TAG, 0, 0, 0);
	em_ins(e, BPF_LDX | BPF_MEM | BPF_W, R0, CTX, offsetof(struct __sk_buff, len), 0);
	em_jmp(e, BPF_JMP | BPF_JLE | BPF_K, R0, 0, 12, none);
	if (o->vlan == CBPF_VLAN_MARK) {
		em_ins(e, BPF_LDX | BPF_MEM | BPF_W, TAG, CTX, offsetof(struct __sk_buff, mark), 0);
		em_label_at(e, none);
		return;
	}
	proto = em_label_new(e);
	em_ins(e, BPF_LDX | BPF_MEM | BPF_W, R0, CTX, offsetof(struct __sk_buff, vlan_present), 0);
	em_jmp(e, BPF_JMP | BPF_JEQ | BPF_K, R0, 0, 0, none);
	em_ins(e, BPF_LDX | BPF_MEM | BPF_W, TAG, CTX, offsetof(struct __sk_buff, vlan_proto), 0);
	em_ins(e, BPF_ALU | BPF_END | BPF_TO_BE, TAG, 0, 0, 16);
	em_jmp(e, BPF_JMP | BPF_JNE | BPF_K, TAG, 0, 0, proto);
	em_ins(e, BPF_ALU64 | BPF_MOV | BPF_K, TAG, 0, 0, 0x8100);
	em_label_at(e, proto);
	em_ins(e, BPF_ALU64 | BPF_LSH | BPF_K, TAG, 0, 0, 16);
	em_ins(e, BPF_LDX | BPF_MEM | BPF_W, R0, CTX, offsetof(struct __sk_buff, vlan_tci), 0);
	em_ins(e, BPF_ALU64 | BPF_AND | BPF_K, R0, 0, 0, 0xffff);
	em_ins(e, BPF_ALU64 | BPF_OR | BPF_X, TAG, R0, 0, 0);
	em_label_at(e, none);
}
