// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_tls_probe.c - the readers of TLS library files behind the key-log probes
 * (recorder/tls/): the x86-64 decoding of client-random accessors and label call sites, on
 * machine code as Debian 12's node, BoringSSL and GnuTLS builds have it (bytes copied from
 * objdump), and the ELF reader against damaged files: every mutation of a real executable's
 * headers is refused or read within bounds, never followed outside the file; and the bytes an
 * inspection reads (each symbol table once, whatever the names looked up).
 */
#include <errno.h>
#include <fcntl.h>
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
#include "tls/lib.h"
#include "tls/x86.h"

/* node 20's SSL_get_client_random: mov $0x20,%eax; test; je; cmp; lea 0x160(%rdi),%rcx; ... */
static const uint8_t node_random[] = {
	0xb8, 0x20, 0x00, 0x00, 0x00, 0x48, 0x85, 0xd2, 0x74, 0x5e, 0x48, 0x83, 0xfa, 0x20,
	0x48, 0x8d, 0x8f, 0x60, 0x01, 0x00, 0x00, 0x48, 0x0f, 0x46, 0xc2, 0x89, 0xc2, 0x83,
	0xf8, 0x08, 0x72, 0x50, 0x48, 0x8b, 0x97, 0x60, 0x01, 0x00, 0x00,
};
/* BoringSSL's: ... mov 0x30(%rdi),%rax; add $0x30,%rax; ... */
static const uint8_t bssl_random[] = {
	0x53, 0x48, 0x85, 0xd2, 0x74, 0x25, 0x48, 0x83, 0xfa, 0x20, 0xbb, 0x20, 0x00, 0x00,
	0x00, 0x48, 0x0f, 0x42, 0xda, 0x48, 0x8b, 0x47, 0x30, 0x48, 0x83, 0xc0, 0x30, 0x48,
	0x89, 0xf7, 0x48, 0x89, 0xc6, 0x48, 0x89, 0xda,
};
/* GnuTLS's gnutls_session_get_random: lea 0x50(%rdi),%rax (client), add $0x70,%rdi (server) */
static const uint8_t gnutls_random[] = {
	0x48, 0x85, 0xf6, 0x74, 0x0e, 0x48, 0x8d, 0x47, 0x50, 0xc7, 0x46, 0x08, 0x20, 0x00,
	0x00, 0x00, 0x48, 0x89, 0x06, 0x48, 0x85, 0xd2, 0x74, 0x0e, 0x48, 0x83, 0xc7, 0x70,
	0xc7, 0x42, 0x08, 0x20, 0x00, 0x00, 0x00, 0x48, 0x89, 0x3a, 0xc3,
};
/* BoringSSL at 0x36710: lea CLIENT_RANDOM(%rip),%rsi; mov %r14,%rdi; mov %rbx,%rdx;
 * call 0x4ab60 */
static const uint8_t bssl_call[] = {
	0x48, 0x8d, 0x35, 0x87, 0xc6, 0xfd, 0xff, 0x4c, 0x89, 0xf7, 0x48, 0x89, 0xda,
	0xe8, 0x3e, 0x44, 0x01, 0x00,
};

static void test_accessors(void **state)
{
	struct x86_loc l;

	(void)state;
	assert_int_equal(x86_find_arg0_field(node_random, sizeof(node_random), &l), 0);
	assert_int_equal(l.nderef, 0);
	assert_int_equal(l.off, 0x160);
	assert_int_equal(x86_find_arg0_field(bssl_random, sizeof(bssl_random), &l), 0);
	assert_int_equal(l.nderef, 1);
	assert_int_equal(l.ptr, 0x30);
	assert_int_equal(l.off, 0x30);
	assert_int_equal(x86_find_arg0_field(gnutls_random, sizeof(gnutls_random), &l), 0);
	assert_int_equal(l.nderef, 0);
	assert_int_equal(l.off, 0x50);
	/* cut before the lea: nothing found, nothing read beyond n */
	assert_int_equal(x86_find_arg0_field(node_random, 16, &l), -ENOENT);
	assert_int_equal(x86_find_arg0_field(bssl_random, 24, &l), -ENOENT);
}

static void test_next_call(void **state)
{
	uint64_t t = 0;

	(void)state;
	/* decoding starts after the 7-byte lea, at 0x36717 */
	assert_int_equal(x86_next_call(bssl_call + 7, sizeof(bssl_call) - 7, 0x36717, &t), 0);
	assert_int_equal(t, 0x4ab60);
	/* the call cut short, and a return before any call */
	assert_int_equal(x86_next_call(bssl_call + 7, sizeof(bssl_call) - 9, 0x36717, &t),
			 -ENOENT);
	assert_int_equal(x86_next_call(gnutls_random + 35, 4, 0x1000, &t), -ENOENT);
}

static void test_decode_lengths(void **state)
{
	struct x86_insn in;
	static const uint8_t endbr[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	static const uint8_t movabs[] = { 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t unknown[] = { 0x0f, 0x0b + 0x30 };

	(void)state;
	assert_int_equal(x86_decode(endbr, sizeof(endbr), &in), 4);
	assert_int_equal(x86_decode(movabs, sizeof(movabs), &in), 10);
	assert_int_equal(x86_decode(movabs, 9, &in), -1);
	assert_int_equal(x86_decode(unknown, sizeof(unknown), &in), -1);
	assert_int_equal(x86_decode(gnutls_random + 9, 7, &in), 7); /* movl $0x20,0x8(%rsi) */
	assert_int_equal(in.imm, 0x20);
	assert_int_equal(in.disp, 8);
}

/* A copy of this test's own executable in a memfd, headers damaged at random, inspected. */
static void test_elf_damaged(void **state)
{
	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	uint8_t *img;
	off_t size;
	unsigned i, refused = 0, read = 0;

	(void)state;
	assert_true(self >= 0);
	size = lseek(self, 0, SEEK_END);
	assert_true(size > 4096);
	img = malloc((size_t)size);
	assert_non_null(img);
	assert_int_equal(pread(self, img, (size_t)size, 0), size);
	close(self);
	srand(14);
	for (i = 0; i < 400; i++) {
		int fd = memfd_create("elf", MFD_CLOEXEC);
		struct tls_probe p;
		struct tls_elf e;
		uint64_t shoff = 0;
		char why[256];
		unsigned k, n = 1 + (unsigned)rand() % 8;
		off_t len = i % 5 == 4 ? (off_t)(rand() % size) : size; /* some truncated */

		assert_true(fd >= 0);
		size_t at[8];
		uint8_t old[8];

		memcpy(&shoff, img + 40, 8);
		for (k = 0; k < n; k++) {
			/* the ELF header, the program headers or the section headers */
			at[k] = rand() % 3 == 0 ? (size_t)(rand() % 64) :
				rand() % 2 ? 64 + (size_t)(rand() % 512) :
				(size_t)(shoff + (uint64_t)(rand() % 2048)) % (size_t)size;
			old[k] = img[at[k]];
			img[at[k]] = (uint8_t)rand();
		}
		assert_int_equal(write(fd, img, (size_t)len), len);
		while (k-- > 0)
			img[at[k]] = old[k];
		if (tls_elf_open(fd, &e) < 0) {
			refused++;
		} else {
			uint64_t a;

			read++;
			tls_elf_symbol(&e, "main", &a, NULL);
			tls_probe_inspect(&e, &p, why, sizeof(why));
			tls_elf_close(&e);
		}
		close(fd);
	}
	free(img);
	/* both outcomes happened: the mutations reached the checks */
	assert_true(refused > 0);
	assert_true(read > 0);
}

/* An ELF file whose section-name table claims 64 MiB (inside the file: a hole after the
 * executable's bytes) is refused at open, not read into memory (before: read whole, as any
 * section up to TLS_ELF_SECTION_MAX, at each open of the file). */
static void test_elf_huge_section_names(void **state)
{
	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	int fd = memfd_create("elf", MFD_CLOEXEC);
	uint64_t shoff, size, big = 64ull << 20;
	uint16_t stridx;
	struct tls_elf e;
	uint8_t *img;

	(void)state;
	assert_true(self >= 0 && fd >= 0);
	size = (uint64_t)lseek(self, 0, SEEK_END);
	img = malloc(size);
	assert_non_null(img);
	assert_int_equal(pread(self, img, size, 0), (ssize_t)size);
	close(self);
	memcpy(&shoff, img + 40, 8);
	memcpy(&stridx, img + 62, 2);
	assert_true(stridx != 0 && shoff + 64ull * stridx + 40 <= size);
	memcpy(img + shoff + 64ull * stridx + 24, &size, 8); /* sh_offset: the hole */
	memcpy(img + shoff + 64ull * stridx + 32, &big, 8);  /* sh_size */
	assert_int_equal(write(fd, img, size), (ssize_t)size);
	assert_int_equal(ftruncate(fd, (off_t)(size + big)), 0);
	free(img);
	assert_int_equal(tls_elf_open(fd, &e), -ENOEXEC);
	close(fd);
}

/* The undamaged executable: read, its symbols found, and not a TLS library. */
static void test_elf_self(void **state)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	struct tls_probe p;
	struct tls_elf e;
	uint64_t a = 0, off = 0;
	char why[256];

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(tls_elf_open(fd, &e), 0);
	assert_int_equal(tls_elf_symbol(&e, "test_elf_self", &a, NULL), 0);
	assert_int_equal(tls_elf_code_offset(&e, a, &off), 0);
	assert_int_equal(tls_elf_symbol(&e, "no_such_symbol_here", &a, NULL), -ENOENT);
	assert_int_equal(tls_elf_find_string(&e, "CLIENT_RANDOM", &a), 0); /* tls_probe_labels */
	assert_int_equal(tls_probe_inspect(&e, &p, why, sizeof(why)), -ENOENT);
	tls_elf_close(&e);
	close(fd);
}

/* The size of the section of type (2 .symtab, 11 .dynsym) and of its names. */
static uint64_t table_bytes(const struct tls_elf *e, uint32_t type)
{
	for (unsigned i = 0; i < e->shnum; i++) {
		const uint8_t *sh = e->shdr + 64ull * i, *str;
		uint32_t t, link;
		uint64_t size, strsize;

		memcpy(&t, sh + 4, 4);
		if (t != type)
			continue;
		memcpy(&link, sh + 40, 4);
		memcpy(&size, sh + 32, 8);
		assert_true(link < e->shnum);
		str = e->shdr + 64ull * link;
		memcpy(&strsize, str + 32, 8);
		return size + strsize;
	}
	return 0;
}

/*
 * An inspection asks the file for several names (GnuTLS's, then OpenSSL's and BoringSSL's
 * SSL_get_client_random twice): each symbol table and its names are read once, not once per
 * name (for a program the host runs the first time, each read was fresh memory).
 */
static void test_elf_tables_read_once(void **state)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	uint64_t before, tables, a = 0, b = 0;
	struct tls_probe p;
	struct tls_elf e;
	char why[256];

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(tls_elf_open(fd, &e), 0);
	tables = table_bytes(&e, 2) + table_bytes(&e, 11);
	assert_true(table_bytes(&e, 2) > 0 && table_bytes(&e, 11) > 0);
	before = proc_io_now().rchar;
	assert_int_equal(tls_probe_inspect(&e, &p, why, sizeof(why)), -ENOENT);
	assert_int_equal(tls_elf_symbol(&e, "test_elf_tables_read_once", &a, NULL), 0);
	assert_int_equal(tls_elf_symbol(&e, "no_such_symbol_here", &b, NULL), -ENOENT);
	/* imported from libcmocka.so, undefined here (malloc is not: ThreadSanitizer's runtime,
	 * linked into the executable, defines it) */
	assert_int_equal(tls_elf_symbol(&e, "_cmocka_run_group_tests", &b, NULL), -ENOENT);
	/* both tables once, and the /proc/self/io read; three times before */
	assert_true(proc_io_now().rchar - before <= tables + 4096);
	tls_elf_close(&e);
	/* closed and opened again: read again, the same answers */
	assert_int_equal(tls_elf_open(fd, &e), 0);
	assert_int_equal(tls_elf_symbol(&e, "test_elf_tables_read_once", &b, NULL), 0);
	assert_int_equal(b, a);
	tls_elf_close(&e);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_next_call),
		cmocka_unit_test(test_decode_lengths),
		cmocka_unit_test(test_elf_self),
		cmocka_unit_test(test_elf_damaged),
		cmocka_unit_test(test_elf_huge_section_names),
		cmocka_unit_test(test_elf_tables_read_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
