// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86.c - a small x86-64 instruction length decoder and two readers of TLS accessor code
 * (x86.h).
 *
 * Encoding (Intel SDM vol. 2, ch. 2): legacy prefixes (66, f2, f3, 2e, 3e, 26, 64, 65, 36),
 * REX (40..4f: W 8, R 4, X 2, B 1), opcode (one byte, or 0f and one byte), ModRM (mod 7:6,
 * reg 5:3, rm 2:0), SIB when rm 4 and mod != 3 (scale 7:6, index 5:3, base 2:0; base 5 with
 * mod 0: disp32, no base), displacement (mod 1: 8 bits, mod 2: 32 bits, mod 0 rm 5:
 * rip + disp32), immediate.
 */
#include <errno.h>
#include <string.h>

#include "x86.h"

enum { IMM_NONE, IMM8, IMM16_32, IMM32, IMM_V64 };

/* One-byte opcodes known: whether they have a ModRM byte and what immediate follows. */
static int one_byte(uint8_t op, bool *modrm, int *imm)
{
	*modrm = false;
	*imm = IMM_NONE;
	if (op < 0x40 && (op & 7) < 4) { /* ALU r/m forms: add or adc sbb and sub xor cmp */
		*modrm = true;
		return 0;
	}
	if (op < 0x40 && (op & 7) == 4) {
		*imm = IMM8;
		return 0;
	}
	if (op < 0x40 && (op & 7) == 5) {
		*imm = IMM16_32;
		return 0;
	}
	if (op >= 0x50 && op <= 0x5f)
		return 0;
	if (op == 0x63 || (op >= 0x84 && op <= 0x8b) || op == 0x8d || op == 0xd1 || op == 0xd3 ||
	    op == 0xff || op == 0xfe || op == 0x8f) {
		*modrm = true;
		return 0;
	}
	if ((op >= 0x70 && op <= 0x7f) || op == 0xeb || op == 0xa8 || op == 0x6a) {
		*imm = IMM8;
		return 0;
	}
	if (op == 0x80 || op == 0x83 || op == 0xc0 || op == 0xc1 || op == 0xc6 || op == 0x6b) {
		*modrm = true;
		*imm = IMM8;
		return 0;
	}
	if (op == 0x81 || op == 0xc7 || op == 0x69) {
		*modrm = true;
		*imm = IMM16_32;
		return 0;
	}
	if (op == 0xe8 || op == 0xe9 || op == 0xa9 || op == 0x68) {
		*imm = op == 0xa9 ? IMM16_32 : IMM32;
		return 0;
	}
	if (op >= 0xb8 && op <= 0xbf) {
		*imm = IMM_V64;
		return 0;
	}
	if (op >= 0xb0 && op <= 0xb7) {
		*imm = IMM8;
		return 0;
	}
	if (op == 0x90 || op == 0xc3 || op == 0xcc || op == 0x99 || op == 0x98 || op == 0xc9)
		return 0;
	if (op == 0xf6 || op == 0xf7) { /* group 3: test has an immediate (decided by reg) */
		*modrm = true;
		return 0;
	}
	return -1;
}

static int two_byte(uint8_t op, bool *modrm, int *imm)
{
	*modrm = true;
	*imm = IMM_NONE;
	if ((op >= 0x80 && op <= 0x8f)) {
		*modrm = false;
		*imm = IMM32;
		return 0;
	}
	if (op == 0x05 || op == 0x0b)
		*modrm = false;
	else if (!((op >= 0x40 && op <= 0x4f) || (op >= 0x90 && op <= 0x9f) || op == 0x1e ||
		   op == 0x1f || op == 0x10 || op == 0x11 || op == 0x28 || op == 0x29 ||
		   op == 0x6f || op == 0x7f || op == 0xb6 || op == 0xb7 || op == 0xbe ||
		   op == 0xbf || op == 0xaf || op == 0xd6 || op == 0xef || op == 0x57 ||
		   op == 0x6e || op == 0x7e || op == 0xa3 || op == 0xab))
		return -1;
	return 0;
}

int x86_decode(const uint8_t *p, size_t n, struct x86_insn *in)
{
	size_t i = 0;
	bool opsize = false, modrm;
	int imm, rc;

	memset(in, 0, sizeof(*in));
	in->index = 4;
	while (i < n && i < 4 && (p[i] == 0x66 || p[i] == 0xf2 || p[i] == 0xf3 || p[i] == 0x2e ||
				  p[i] == 0x3e || p[i] == 0x26 || p[i] == 0x64 || p[i] == 0x65 ||
				  p[i] == 0x36)) {
		opsize |= p[i] == 0x66;
		i++;
	}
	if (i < n && (p[i] & 0xf0) == 0x40)
		in->rex = p[i++];
	if (i >= n)
		return -1;
	if (p[i] == 0x0f) {
		if (++i >= n)
			return -1;
		in->op = 0x0f00 | p[i];
		rc = two_byte(p[i], &modrm, &imm);
	} else {
		in->op = p[i];
		rc = one_byte(p[i], &modrm, &imm);
	}
	i++;
	if (rc < 0)
		return -1;
	in->modrm = modrm;
	if (modrm) {
		uint8_t m;

		if (i >= n)
			return -1;
		m = p[i++];
		in->mod = m >> 6;
		in->reg = ((m >> 3) & 7) | ((in->rex & 4) << 1);
		in->rm = (m & 7) | ((in->rex & 1) << 3);
		if (in->mod != 3 && (m & 7) == 4) {
			uint8_t s;

			if (i >= n)
				return -1;
			s = p[i++];
			in->sib = true;
			in->index = ((s >> 3) & 7) | ((in->rex & 2) << 2);
			in->rm = (s & 7) | ((in->rex & 1) << 3);
			if ((s & 7) == 5 && in->mod == 0) {
				in->rm = 16;
				in->mod = 2; /* disp32 follows */
			}
		} else if (in->mod == 0 && (m & 7) == 5) {
			in->rip = true;
			in->mod = 2;
		}
		if (in->mod == 1) {
			if (i + 1 > n)
				return -1;
			in->disp = (int8_t)p[i];
			i += 1;
		} else if (in->mod == 2) {
			if (i + 4 > n)
				return -1;
			in->disp = (int32_t)((uint32_t)p[i] | (uint32_t)p[i + 1] << 8 |
					     (uint32_t)p[i + 2] << 16 | (uint32_t)p[i + 3] << 24);
			i += 4;
		}
		if (in->rip)
			in->mod = 0;
		if ((in->op == 0xf6 || in->op == 0xf7) && (in->reg & 7) < 2)
			imm = in->op == 0xf6 ? IMM8 : IMM16_32;
	}
	if (imm == IMM16_32)
		imm = opsize ? -2 : IMM32;
	if (imm == IMM_V64)
		imm = (in->rex & 8) ? 8 : opsize ? -2 : IMM32;
	{
		size_t sz = imm == IMM8 ? 1 : imm == IMM32 ? 4 : imm == -2 ? 2 : imm == 8 ? 8 : 0;
		int64_t v = 0;
		size_t k;

		if (i + sz > n)
			return -1;
		for (k = 0; k < sz; k++)
			v |= (int64_t)((uint64_t)p[i + k] << (8 * k));
		if (sz && sz < 8 && (v & ((int64_t)1 << (8 * sz - 1))))
			v -= (int64_t)1 << (8 * sz);
		in->imm = v;
		i += sz;
	}
	if (i > 15)
		return -1;
	in->len = (uint8_t)i;
	return (int)i;
}

enum { V_NONE, V_ARG0, V_LOADED };

int x86_find_arg0_field(const uint8_t *code, size_t n, struct x86_loc *out)
{
	struct {
		int kind;
		int32_t ptr;
	} r[17] = { { 0 } };
	struct x86_insn in;
	size_t pos = 0;
	int len;

	r[7].kind = V_ARG0; /* rdi */
	while (pos < n && (len = x86_decode(code + pos, n - pos, &in)) > 0) {
		pos += (size_t)len;
		if (in.op == 0xc3 || in.op == 0xe9 || in.op == 0xeb)
			break;
		if (in.op == 0x8d && in.mod != 3 && !in.sib && !in.rip && in.rm < 16 &&
		    r[in.rm].kind != V_NONE && in.disp >= 0 && in.disp <= 0xffff) {
			if (r[in.rm].kind == V_ARG0)
				*out = (struct x86_loc){ 0, 0, (uint16_t)in.disp };
			else
				*out = (struct x86_loc){ 1, (uint16_t)r[in.rm].ptr,
							 (uint16_t)in.disp };
			return 0;
		}
		if ((in.op == 0x83 || in.op == 0x81) && in.mod == 3 && (in.reg & 7) == 0 &&
		    (in.rex & 8) && r[in.rm].kind == V_LOADED && in.imm >= 0 && in.imm <= 0xffff) {
			*out = (struct x86_loc){ 1, (uint16_t)r[in.rm].ptr, (uint16_t)in.imm };
			return 0;
		}
		if (in.op == 0x8b && (in.rex & 8) && in.mod != 3 && !in.sib && !in.rip &&
		    in.rm < 16 && r[in.rm].kind == V_ARG0 && in.disp >= 0 && in.disp <= 0xffff) {
			r[in.reg].kind = V_LOADED;
			r[in.reg].ptr = in.disp;
			continue;
		}
		if ((in.op == 0x89 || in.op == 0x8b) && in.mod == 3 && (in.rex & 8)) {
			int dst = in.op == 0x89 ? in.rm : in.reg, src = in.op == 0x89 ? in.reg : in.rm;

			r[dst] = r[src];
			continue;
		}
		/* anything else may write its ModRM register operands or rax: forget them */
		if (in.modrm) {
			if (in.op != 0x85 && in.op != 0x84 && in.op != 0x39 && in.op != 0x3b &&
			    !(in.op == 0x83 && (in.reg & 7) == 7) && !(in.op == 0x81 && (in.reg & 7) == 7))
				r[in.reg].kind = V_NONE;
			if (in.mod == 3 && in.op != 0x85 && in.op != 0x84 && in.op != 0x39 &&
			    in.op != 0x3b && in.op != 0x83 && in.op != 0x81)
				r[in.rm].kind = V_NONE;
		}
		if (in.op == 0xe8) /* a call clobbers the argument registers */
			break;
		if ((in.op >= 0xb8 && in.op <= 0xbf) || (in.op >= 0x58 && in.op <= 0x5f))
			r[(in.op & 7) | ((in.rex & 1) << 3)].kind = V_NONE;
	}
	return -ENOENT;
}

int x86_next_call(const uint8_t *code, size_t n, uint64_t addr, uint64_t *target)
{
	struct x86_insn in;
	size_t pos = 0;
	int len, k;

	for (k = 0; k < 12 && pos < n; k++) {
		len = x86_decode(code + pos, n - pos, &in);
		if (len <= 0)
			return -ENOENT;
		pos += (size_t)len;
		if (in.op == 0xe8 || in.op == 0xe9) {
			*target = addr + pos + (uint64_t)in.imm;
			return 0;
		}
		if (in.op == 0xc3 || in.op == 0xeb || (in.op >= 0x70 && in.op <= 0x7f) ||
		    (in.op >= 0x0f80 && in.op <= 0x0f8f) || in.op == 0xff)
			return -ENOENT;
	}
	return -ENOENT;
}
