// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_elf_symbols.c - symbols by name in symbol tables too large to hold (recorder/tls/elf.c):
 * a made-up ELF file whose .symtab holds 300,000 symbols, their names laid out in another
 * order than the symbols (a planted file chooses it), gives the answers of a plain reading of
 * the same bytes, and a lookup costs a few reads (before, each one read the whole table again,
 * its names 4 KiB at a time: 200,000 pread calls for /usr/bin/node at a recorder's start).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc_io.h"
#include "tls/elf.h"

#define NSYMS 300000u
#define LONGEST 4095u /* the longest name lookups find (recorder/tls/elf.c: STR_WINDOW - 1) */

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* The file's tables, built in memory and written to a memfd. */
struct image {
	uint8_t *sym, *str;
	uint64_t symsize, strsize, strcap;
};

static uint32_t add_name(struct image *im, const char *name, size_t len, int nul)
{
	uint32_t at = (uint32_t)im->strsize;

	assert_true(im->strsize + len + 1 <= im->strcap);
	memcpy(im->str + im->strsize, name, len);
	im->strsize += len;
	if (nul)
		im->str[im->strsize++] = '\0';
	return at;
}

static void set_sym(struct image *im, uint32_t i, uint32_t name, uint8_t type, uint16_t shndx,
		    uint64_t value)
{
	uint8_t *s = im->sym + 24ull * i;

	put32(s, name);
	s[4] = (uint8_t)(0x10 | type); /* global */
	put16(s + 6, shndx);
	put64(s + 8, value);
	put64(s + 16, i);
}

/* Writes an ELF file to fd: the headers, a .symtab of symsize bytes of sym, then the section
 * headers and their names, then a .strtab that claims strsize bytes, of which the first
 * strlen_written are str (the rest a hole). */
static void write_elf(int fd, const uint8_t *sym, uint64_t symsize, const uint8_t *str,
		      uint64_t strlen_written, uint64_t strsize)
{
	static const char shstr[] = "\0.symtab\0.strtab\0.shstrtab";
	uint8_t h[64 + 56] = { 0 }, sh[4 * 64] = { 0 };
	uint64_t symoff = sizeof(h), shstroff = symoff + symsize;
	uint64_t shoff = (shstroff + sizeof(shstr) + 7) & ~7ull, stroff = shoff + sizeof(sh);

	memcpy(h, "\177ELF\2\1\1", 7);
	put16(h + 16, 3);               /* ET_DYN */
	put16(h + 18, 62);              /* x86-64 */
	put32(h + 20, 1);
	put64(h + 32, 64);              /* e_phoff */
	put64(h + 40, shoff);
	put16(h + 52, 64);
	put16(h + 54, 56);
	put16(h + 56, 1);
	put16(h + 58, 64);
	put16(h + 60, 4);
	put16(h + 62, 3);
	put32(h + 64, 1);               /* PT_LOAD, r-x, the headers */
	put32(h + 68, 5);
	put64(h + 64 + 32, sizeof(h));
	put64(h + 64 + 40, sizeof(h));
	/* [1] .symtab (2), its names in [2]; [2] .strtab (3); [3] .shstrtab (3) */
	put32(sh + 64, 1);
	put32(sh + 64 + 4, 2);
	put64(sh + 64 + 24, symoff);
	put64(sh + 64 + 32, symsize);
	put32(sh + 64 + 40, 2);
	put64(sh + 64 + 56, 24);
	put32(sh + 128, 9);
	put32(sh + 128 + 4, 3);
	put64(sh + 128 + 24, stroff);
	put64(sh + 128 + 32, strsize);
	put32(sh + 192, 17);
	put32(sh + 192 + 4, 3);
	put64(sh + 192 + 24, shstroff);
	put64(sh + 192 + 32, sizeof(shstr));
	assert_int_equal(pwrite(fd, h, sizeof(h), 0), sizeof(h));
	assert_int_equal(pwrite(fd, sym, symsize, (off_t)symoff), (ssize_t)symsize);
	assert_int_equal(pwrite(fd, shstr, sizeof(shstr), (off_t)shstroff), sizeof(shstr));
	assert_int_equal(pwrite(fd, sh, sizeof(sh), (off_t)shoff), sizeof(sh));
	assert_int_equal(pwrite(fd, str, strlen_written, (off_t)stroff), (ssize_t)strlen_written);
	assert_int_equal(ftruncate(fd, (off_t)(stroff + strsize)), 0);
}

/* Symbol i (1 <= i < NSYMS - 8) is "s<i>", a defined function at i * 16; the names are laid
 * out in a shuffled order. The last symbols: "dup" undefined, then a defined object at 2 and a
 * function at 3; "sect" a section symbol; defined ones named LONGEST and LONGEST + 1 'x's, at
 * 5 and 6; "tail" last in the names, without its NUL. Returns the memfd. */
static int make_file(void)
{
	struct image im = { .symsize = 24ull * NSYMS, .strcap = 16ull * NSYMS + 3 * LONGEST };
	uint32_t *order = malloc(sizeof(*order) * NSYMS), i, n = NSYMS - 8, d;
	char name[32], *longname = malloc(LONGEST + 1);
	int fd = memfd_create("elf", MFD_CLOEXEC);

	im.sym = calloc(1, im.symsize);
	im.str = calloc(1, im.strcap);
	assert_true(order && longname && im.sym && im.str && fd >= 0);
	add_name(&im, "", 0, 1);
	for (i = 0; i < n - 1; i++)
		order[i] = i + 1;
	srand(21);
	for (i = n - 2; i > 0; i--) {
		uint32_t j = (uint32_t)rand() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < n - 1; i++) {
		uint32_t k = order[i];

		snprintf(name, sizeof(name), "s%u", k);
		set_sym(&im, k, add_name(&im, name, strlen(name), 1), 2, 1, 16ull * k);
	}
	d = add_name(&im, "dup", 3, 1);
	set_sym(&im, n, d, 2, 0, 1);
	set_sym(&im, n + 1, d, 1, 1, 2);
	set_sym(&im, n + 2, d, 2, 1, 3);
	set_sym(&im, n + 3, add_name(&im, "sect", 4, 1), 3, 1, 4);
	memset(longname, 'x', LONGEST + 1);
	set_sym(&im, n + 4, add_name(&im, longname, LONGEST, 1), 2, 1, 5);
	set_sym(&im, n + 5, add_name(&im, longname, LONGEST + 1, 1), 2, 1, 6);
	set_sym(&im, n + 6, add_name(&im, "tail", 4, 0), 2, 1, 7);

	write_elf(fd, im.sym, im.symsize, im.str, im.strsize, im.strsize);
	free(order);
	free(longname);
	free(im.sym);
	free(im.str);
	return fd;
}

static void test_large_table_answers(void **state)
{
	int fd = make_file();
	char name[32], *longname = malloc(LONGEST + 2);
	uint64_t a = 0, sz = 0, before;
	struct tls_elf e;
	unsigned k;

	(void)state;
	assert_non_null(longname);
	assert_int_equal(tls_elf_open(fd, &e), 0);
	before = proc_io_now().syscr;
	for (k = 0; k < 40; k++) {
		uint32_t i = 1 + (uint32_t)(((uint64_t)k * 7919u * 37u) % (NSYMS - 9));

		snprintf(name, sizeof(name), "s%u", i);
		assert_int_equal(tls_elf_symbol(&e, name, &a, &sz), 0);
		assert_int_equal(a, 16ull * i);
		assert_int_equal(sz, i);
	}
	/* the first defined one in table order (an object counts as a function does) */
	assert_int_equal(tls_elf_symbol(&e, "dup", &a, NULL), 0);
	assert_int_equal(a, 2);
	assert_int_equal(tls_elf_symbol(&e, "sect", &a, NULL), -ENOENT);
	assert_int_equal(tls_elf_symbol(&e, "tail", &a, NULL), -ENOENT);
	assert_int_equal(tls_elf_symbol(&e, "s0", &a, NULL), -ENOENT);
	assert_int_equal(tls_elf_symbol(&e, "s", &a, NULL), -ENOENT);
	assert_int_equal(tls_elf_symbol(&e, "s1x", &a, NULL), -ENOENT);
	assert_int_equal(tls_elf_symbol(&e, "gnutls_init", &a, NULL), -ENOENT);
	/* 48 lookups: the index's pass (3 windows of names, the symbols 74 reads each), then a
	 * symbol and a name a match; reading the table at each lookup made millions */
	assert_true(proc_io_now().syscr - before < 600);
	/* the longest name found, and one byte longer: not found, as before the index */
	memset(longname, 'x', LONGEST + 1);
	longname[LONGEST] = '\0';
	assert_int_equal(tls_elf_symbol(&e, longname, &a, NULL), 0);
	assert_int_equal(a, 5);
	longname[LONGEST] = 'x';
	longname[LONGEST + 1] = '\0';
	assert_int_equal(tls_elf_symbol(&e, longname, &a, NULL), -ENOENT);
	longname[LONGEST - 1] = '\0';
	assert_int_equal(tls_elf_symbol(&e, longname, &a, NULL), -ENOENT);
	tls_elf_close(&e);
	free(longname);
	close(fd);
}

/* A table of SPARSE_SYMS symbols whose names lie SPARSE_GAP bytes apart in a .strtab that
 * claims a TiB (a hole: any user can make such a file): the index reads what the symbols
 * point at, not the table's claimed size. (Its first version read the symbols once a MiB of
 * names, a million times here; reading in pieces, as before it, made a read a symbol at each
 * lookup.) */
#define SPARSE_SYMS 5000u
#define SPARSE_GAP 800000u
static void test_sparse_name_table(void **state)
{
	uint8_t *sym = calloc(SPARSE_SYMS, 24);
	int fd = memfd_create("elf", MFD_CLOEXEC);
	struct proc_io before, after;
	struct image im = { .sym = sym };
	char name[32];
	struct tls_elf e;
	uint64_t a = 0;
	uint32_t i;

	(void)state;
	assert_true(sym && fd >= 0);
	/* each name written where its symbol points, after the file's headers (write_elf puts the
	 * .strtab last): in pieces, to keep the holes */
	write_elf(fd, sym, 24ull * SPARSE_SYMS, (const uint8_t *)"", 1, 1ull << 40);
	assert_int_equal(tls_elf_open(fd, &e), 0);
	uint64_t stroff = (uint64_t)lseek(fd, 0, SEEK_END) - (1ull << 40);
	tls_elf_close(&e);
	for (i = 1; i < SPARSE_SYMS; i++) {
		snprintf(name, sizeof(name), "n%u", i);
		set_sym(&im, i, i * SPARSE_GAP, 2, 1, 16ull * i);
		off_t at = (off_t)(stroff + (uint64_t)i * SPARSE_GAP);

		assert_int_equal(pwrite(fd, name, strlen(name) + 1, at), (ssize_t)strlen(name) + 1);
	}
	assert_int_equal(pwrite(fd, sym, 24ull * SPARSE_SYMS, 64 + 56), 24 * SPARSE_SYMS);
	assert_int_equal(tls_elf_open(fd, &e), 0);
	before = proc_io_now();
	for (i = 1; i < SPARSE_SYMS; i += SPARSE_SYMS / 10) {
		snprintf(name, sizeof(name), "n%u", i);
		assert_int_equal(tls_elf_symbol(&e, name, &a, NULL), 0);
		assert_int_equal(a, 16ull * i);
	}
	assert_int_equal(tls_elf_symbol(&e, "n0", &a, NULL), -ENOENT);
	after = proc_io_now();
	/* the symbols once, a window of a name or two each, two reads a match */
	assert_true(after.syscr - before.syscr < SPARSE_SYMS + 100);
	assert_true(after.rchar - before.rchar < 64ull << 20);
	tls_elf_close(&e);
	free(sym);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_large_table_answers),
		cmocka_unit_test(test_sparse_name_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
