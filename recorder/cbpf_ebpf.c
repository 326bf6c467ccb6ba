// SPDX-License-Identifier: GPL-2.0-only
/*
 * cbpf_ebpf.c - classic BPF filter programs (pcap_compile) as eBPF programs of type
 * BPF_PROG_TYPE_SCHED_CLS (cbpf_ebpf.h).
 *
 * Semantics kept (those of libpcap's pcap_offline_filter, with the packet being the skb's
 * bytes and len its wire length):
 *   - A, X and M[0..15] are 32-bit and start at 0.
 *   - ld/ldh/ldb [k] and [x + k], ldx 4*([k]&0xf): big-endian loads; a load that does not lie
 *     wholly inside the packet (or whose x + k overflows) ends the program: no match.
 *   - len is the wire length; ALU ops are 32-bit; division or modulo by zero: no match;
 *     a shift by 32 or more gives 0; jumps compare unsigned 32-bit values.
 *   - ret k / ret a: a non-zero value is a match (the snap length it carries is not used:
 *     the capture program applies its own).
 *   Ancillary loads (k >= SKF_AD_OFF, made only for live Linux handles) are ordinary out of
 *   range loads here, as in pcap_offline_filter. Any other opcode: -EOPNOTSUPP.
 *
 * A VLAN tag the device keeps outside the bytes is seen at offset 12, as the recorder stores
 * it (cbpf_emit.c has the details).
 *
 * Program layout (registers and stack: cbpf_emit.h). Each classic instruction becomes a short
 * sequence (packet reads: cbpf_emit.c); jumps go to labels (one per classic instruction, plus
 * internal ones) whose 16-bit offsets are filled in once everything is emitted. Only the
 * instructions reachable from the first are emitted (the verifier refuses dead code). The
 * end: a match tail-calls the "record" program (opts.next_map_fd), no match returns
 * TC_ACT_UNSPEC; both are counted when asked (cbpf_ebpf.h).
 */
#include <assert.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cbpf_ebpf.h"
#include "cbpf_emit.h"

/* counters[key].(u64 at off) += 1 */
static void count(struct em *e, const struct cbpf_ebpf_opts *o, uint32_t off)
{
	size_t out = em_label_new(e);

	em_ins(e, BPF_ST | BPF_MEM | BPF_W, FP, 0, KEY_OFF, (int32_t)o->count_key);
	em_ld_map_fd(e, R1, o->count_map_fd);
	em_ins(e, BPF_ALU64 | BPF_MOV | BPF_X, R2, FP, 0, 0);
	em_ins(e, BPF_ALU64 | BPF_ADD | BPF_K, R2, 0, 0, KEY_OFF);
	em_call(e, BPF_FUNC_map_lookup_elem);
	em_jmp(e, BPF_JMP | BPF_JEQ | BPF_K, R0, 0, 0, out);
	em_ins(e, BPF_LDX | BPF_MEM | BPF_DW, R1, R0, (int16_t)off, 0);
	em_ins(e, BPF_ALU64 | BPF_ADD | BPF_K, R1, 0, 0, 1);
	em_ins(e, BPF_STX | BPF_MEM | BPF_DW, R0, R1, (int16_t)off, 0);
	em_label_at(e, out);
}

static void ret(struct em *e, int32_t v)
{
	em_ins(e, BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, v);
	em_ins(e, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static void epilogue(struct em *e, const struct cbpf_ebpf_opts *o, size_t match, size_t reject)
{
	bool counting = o->count_map_fd >= 0 && o->next_map_fd >= 0;

	if (em_label_used(e, match)) {
		em_label_at(e, match);
		if (o->next_map_fd < 0) {
			ret(e, 1);
		} else {
			if (o->src == CBPF_SRC_HEAD)
				em_ins(e, BPF_LDX | BPF_MEM | BPF_DW, R1, FP, CTX_SAVE_OFF, 0);
			else
				em_ins(e, BPF_ALU64 | BPF_MOV | BPF_X, R1, CTX, 0, 0);
			em_ld_map_fd(e, R2, o->next_map_fd);
			em_ins(e, BPF_ALU64 | BPF_MOV | BPF_K, R3, 0, 0, (int32_t)o->next_index);
			em_call(e, BPF_FUNC_tail_call);
			if (counting)
				count(e, o, o->lost_off);
			ret(e, o->src == CBPF_SRC_HEAD ? 0 : TC_ACT_UNSPEC);
		}
	}
	if (em_label_used(e, reject)) {
		em_label_at(e, reject);
		if (counting)
			count(e, o, o->filtered_off);
		ret(e, o->next_map_fd < 0 || o->src == CBPF_SRC_HEAD ? 0 : TC_ACT_UNSPEC);
	}
}

/* Which instructions can run: jumps only go forward, so one pass finds them. -EINVAL when a
 * jump leaves the program. */
static int reachable(const struct cbpf_insn *p, size_t n, bool *reach, struct em *e)
{
	size_t i, t, f;

	memset(reach, 0, n);
	reach[0] = true;
	for (i = 0; i < n; i++) {
		if (!reach[i])
			continue;
		switch (BPF_CLASS(p[i].code)) {
		case BPF_RET:
			continue;
		case BPF_JMP:
			if (BPF_OP(p[i].code) == BPF_JA) {
				t = i + 1 + p[i].k;
				f = t;
			} else {
				t = i + 1 + p[i].jt;
				f = i + 1 + p[i].jf;
			}
			break;
		default:
			t = f = i + 1;
		}
		if (t >= n || f >= n) {
			em_fail(e, -EINVAL, "instruction %zu jumps or runs past the end", i);
			return e->rc;
		}
		reach[t] = reach[f] = true;
	}
	return 0;
}

static void alu(struct em *e, const struct cbpf_insn *c, size_t next, size_t reject)
{
	uint8_t op = BPF_OP(c->code);
	size_t doit;

	if (op == BPF_NEG) {
		em_ins(e, BPF_ALU | BPF_NEG, RA, 0, 0, 0);
		return;
	}
	if (op != BPF_ADD && op != BPF_SUB && op != BPF_MUL && op != BPF_DIV && op != BPF_OR &&
	    op != BPF_AND && op != BPF_LSH && op != BPF_RSH && op != BPF_MOD && op != BPF_XOR) {
		em_fail(e, -EOPNOTSUPP, "unknown ALU operation %#x", c->code);
		return;
	}
	if (BPF_SRC(c->code) == BPF_K) {
		if ((op == BPF_DIV || op == BPF_MOD) && c->k == 0)
			em_always(e, reject);
		else if ((op == BPF_LSH || op == BPF_RSH) && c->k >= 32)
			em_ins(e, BPF_ALU | BPF_MOV | BPF_K, RA, 0, 0, 0);
		else
			em_ins(e, BPF_ALU | op | BPF_K, RA, 0, 0, (int32_t)c->k);
		return;
	}
	if (op == BPF_DIV || op == BPF_MOD)
		em_jmp(e, BPF_JMP | BPF_JEQ | BPF_K, RX, 0, 0, reject);
	if (op == BPF_LSH || op == BPF_RSH) {
		doit = em_label_new(e);
		em_jmp(e, BPF_JMP | BPF_JLT | BPF_K, RX, 0, 32, doit);
		em_ins(e, BPF_ALU | BPF_MOV | BPF_K, RA, 0, 0, 0);
		em_ja(e, next);
		em_label_at(e, doit);
	}
	em_ins(e, BPF_ALU | op | BPF_X, RA, RX, 0, 0);
}

/* The loads LD and LDX share, into reg: a constant, the packet length, a scratch word.
 * false when c is another kind of load. */
static bool load_common(struct em *e, const struct cbpf_ebpf_opts *o, const struct cbpf_insn *c,
			uint8_t reg)
{
	switch (BPF_MODE(c->code)) {
	case BPF_IMM:
		em_ins(e, BPF_ALU | BPF_MOV | BPF_K, reg, 0, 0, (int32_t)c->k);
		return true;
	case BPF_LEN:
		em_load_len(e, o, reg);
		return true;
	case BPF_MEM:
		if (c->k >= CBPF_MEMWORDS)
			return false;
		em_ins(e, BPF_LDX | BPF_MEM | BPF_W, reg, FP, (int16_t)(MEM_OFF + 4 * c->k), 0);
		return true;
	default:
		return false;
	}
}

static void translate_one(struct em *e, const struct cbpf_ebpf_opts *o,
			  const struct cbpf_insn *p, size_t i, size_t match, size_t reject)
{
	const struct cbpf_insn *c = &p[i];
	static const unsigned size[4] = { 4, 2, 1, 0 }; /* BPF_W, BPF_H, BPF_B >> 3 */
	unsigned sz = size[BPF_SIZE(c->code) >> 3];
	uint8_t op;

	switch (BPF_CLASS(c->code)) {
	case BPF_LD:
		if (load_common(e, o, c, RA))
			return;
		if (BPF_MODE(c->code) == BPF_ABS && sz) {
			em_load_abs(e, o, RA, c->k, sz, reject);
		} else if (BPF_MODE(c->code) == BPF_IND && sz) {
			em_load_ind(e, o, c->k, sz, reject);
		} else {
			em_fail(e, -EOPNOTSUPP, "instruction %zu: unsupported load %#x", i,
				c->code);
		}
		return;
	case BPF_LDX:
		if (load_common(e, o, c, RX))
			return;
		if (BPF_MODE(c->code) == BPF_MSH) {
			em_load_abs(e, o, RX, c->k, 1, reject);
			em_ins(e, BPF_ALU | BPF_AND | BPF_K, RX, 0, 0, 0xf);
			em_ins(e, BPF_ALU | BPF_LSH | BPF_K, RX, 0, 0, 2);
		} else {
			em_fail(e, -EOPNOTSUPP, "instruction %zu: unsupported load into X %#x", i,
			     c->code);
		}
		return;
	case BPF_ST:
	case BPF_STX:
		if (c->k >= CBPF_MEMWORDS) {
			em_fail(e, -EINVAL, "instruction %zu: memory slot %u", i, c->k);
			return;
		}
		em_ins(e, BPF_STX | BPF_MEM | BPF_W, FP, BPF_CLASS(c->code) == BPF_ST ? RA : RX,
		    (int16_t)(MEM_OFF + 4 * c->k), 0);
		return;
	case BPF_ALU:
		alu(e, c, i + 1, reject);
		return;
	case BPF_JMP:
		op = BPF_OP(c->code);
		if (op == BPF_JA) {
			if (c->k)
				em_ja(e, i + 1 + c->k);
			return;
		}
		if (op != BPF_JEQ && op != BPF_JGT && op != BPF_JGE && op != BPF_JSET) {
			em_fail(e, -EOPNOTSUPP, "instruction %zu: unsupported jump %#x", i,
				c->code);
			return;
		}
		if (c->jt != c->jf) {
			if (BPF_SRC(c->code) == BPF_K)
				em_jmp(e, BPF_JMP32 | op | BPF_K, RA, 0, (int32_t)c->k,
				       i + 1 + c->jt);
			else
				em_jmp(e, BPF_JMP32 | op | BPF_X, RA, RX, 0, i + 1 + c->jt);
		}
		if (c->jf)
			em_ja(e, i + 1 + c->jf);
		return;
	case BPF_RET:
		if (BPF_RVAL(c->code) == BPF_K) {
			em_ja(e, c->k ? match : reject);
		} else if (BPF_RVAL(c->code) == BPF_A) {
			em_jmp(e, BPF_JMP32 | BPF_JNE | BPF_K, RA, 0, 0, match);
			em_ja(e, reject);
		} else {
			em_fail(e, -EOPNOTSUPP, "instruction %zu: unsupported return %#x", i,
				c->code);
		}
		return;
	case BPF_MISC:
		if (BPF_MISCOP(c->code) == BPF_TAX)
			em_ins(e, BPF_ALU | BPF_MOV | BPF_X, RX, RA, 0, 0);
		else if (BPF_MISCOP(c->code) == BPF_TXA)
			em_ins(e, BPF_ALU | BPF_MOV | BPF_X, RA, RX, 0, 0);
		else
			em_fail(e, -EOPNOTSUPP, "instruction %zu: unsupported misc %#x", i,
				c->code);
		return;
	}
	em_fail(e, -EOPNOTSUPP, "instruction %zu: unknown class %#x", i, c->code);
}

/* Fills e->v with the translation; e->rc and e->err say why it failed. */
static int translate(struct em *e, const struct cbpf_insn *p, size_t n,
		     const struct cbpf_ebpf_opts *o)
{
	size_t i, match, reject, last = 0;
	bool *reach = NULL;
	long d;

	if (n == 0 || n > CBPF_MAX) {
		em_fail(e, -EINVAL, "a classic program of %zu instructions", n);
		return e->rc;
	}
	if (o->count_map_fd >= 0 && (o->filtered_off % 8 || o->lost_off % 8 ||
				     o->filtered_off > INT16_MAX || o->lost_off > INT16_MAX)) {
		em_fail(e, -EINVAL, "bad counter offsets %u, %u", o->filtered_off, o->lost_off);
		return e->rc;
	}
	e->cap = n * PER_INSN_MAX + 64;
	e->labcap = n * 24 + 16;
	e->fixcap = n * 48 + 16;
	e->v = calloc(e->cap, sizeof(*e->v));
	e->label = calloc(e->labcap, sizeof(*e->label));
	e->fix = calloc(e->fixcap, sizeof(*e->fix));
	reach = calloc(n, 1);
	if (!e->v || !e->label || !e->fix || !reach) {
		free(reach);
		em_fail(e, -ENOMEM, "out of memory (%zu instructions)", n);
		return e->rc;
	}
	for (i = 0; i < n; i++)
		em_label_new(e); /* label i: classic instruction i */
	match = em_label_new(e);
	reject = em_label_new(e);
	e->unknown = match;
	if (o->src == CBPF_SRC_HEAD && (o->vlan != CBPF_VLAN_NONE || o->next_map_fd < 0)) {
		em_fail(e, -EINVAL, "a head filter reads no VLAN tag and needs a record program");
		free(reach);
		return e->rc;
	}
	if (reachable(p, n, reach, e) < 0) {
		free(reach);
		return e->rc;
	}
	em_prologue(e, o);
	for (i = 0; i < n && !e->rc; i++) {
		if (!reach[i])
			continue;
		em_label_at(e, i);
		translate_one(e, o, p, i, match, reject);
		last = i;
	}
	free(reach);
	if (e->rc)
		return e->rc;
	/* The last reachable instruction is a return: reachable() lets no path run off the end
	 * or jump out, so whatever follows `last` would have been reachable too. */
	assert(BPF_CLASS(p[last].code) == BPF_RET);
	epilogue(e, o, match, reject);
	for (i = 0; i < e->nfix && !e->rc; i++) {
		if (e->label[e->fix[i].label] < 0) {
			em_fail(e, -EINVAL, "jump to a label never placed (jump %zu)", i);
			break;
		}
		d = e->label[e->fix[i].label] - (long)e->fix[i].at - 1;
		if (d < INT16_MIN || d > INT16_MAX)
			em_fail(e, -E2BIG, "a jump of %ld instructions does not fit", labs(d));
		e->v[e->fix[i].at].off = (int16_t)d;
	}
	return e->rc;
}

static void em_free(struct em *e)
{
	free(e->v);
	free(e->label);
	free(e->fix);
}

/* The verifier's last non-empty line. */
static void last_line(const char *log, char *out, size_t outsz)
{
	size_t len = strlen(log), end, start;

	while (len && (log[len - 1] == '\n' || log[len - 1] == ' '))
		len--;
	end = len;
	start = end;
	while (start && log[start - 1] != '\n')
		start--;
	snprintf(out, outsz, "the kernel refused the filter program: %.*s", (int)(end - start),
		 log + start);
}

int cbpf_ebpf_load(const struct cbpf_insn *prog, size_t n, const struct cbpf_ebpf_opts *o,
		   char *err, size_t errsz)
{
	struct em e = { .err = err, .errsz = errsz };
	LIBBPF_OPTS(bpf_prog_load_opts, lo);
	enum bpf_prog_type type = BPF_PROG_TYPE_SCHED_CLS;
	char *log;
	int fd, rc;

	if (errsz)
		err[0] = '\0';
	rc = translate(&e, prog, n, o);
	if (rc < 0) {
		em_free(&e);
		return rc;
	}
	if (o->src == CBPF_SRC_HEAD) {
		type = BPF_PROG_TYPE_TRACING;
		lo.expected_attach_type = BPF_TRACE_RAW_TP;
		lo.attach_btf_id = o->attach_btf_id;
	}
	fd = bpf_prog_load(type, "ecap_filter", "GPL", e.v, e.n, &lo);
	if (fd >= 0) {
		em_free(&e);
		return fd;
	}
	rc = fd;
	log = calloc(1, 1 << 20);
	if (log) {
		lo.log_buf = log;
		lo.log_size = 1 << 20;
		lo.log_level = 1;
		fd = bpf_prog_load(type, "ecap_filter", "GPL", e.v, e.n, &lo);
		if (fd >= 0)
			close(fd); /* loaded the second time: report the first failure */
		last_line(log, err, errsz);
		free(log);
	}
	if (!err[0] && errsz)
		snprintf(err, errsz, "the kernel refused the filter program: %s", strerror(-rc));
	em_free(&e);
	return rc;
}

int cbpf_ebpf_test_run(int fd, const uint8_t *pkt, uint32_t len, uint32_t mark, int32_t *ret)
{
	struct __sk_buff ctx;
	LIBBPF_OPTS(bpf_test_run_opts, t);
	int rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.mark = mark;
	t.data_in = pkt;
	t.data_size_in = len;
	t.ctx_in = &ctx;
	t.ctx_size_in = sizeof(ctx);
	t.repeat = 1;
	rc = bpf_prog_test_run_opts(fd, &t);
	if (rc < 0)
		return -errno;
	*ret = (int32_t)t.retval;
	return 0;
}
