// SPDX-License-Identifier: GPL-2.0-only
/*
 * elf.c - a bounded ELF64 reader for TLS library files (elf.h).
 *
 * Layout read (ELF-64 Object File Format 1.5, System V gABI), all little endian:
 *   header:  e_ident[16] ("\177ELF", class 2, data 1), e_type u16 @16, e_machine u16 @18 (62),
 *            e_phoff u64 @32, e_shoff u64 @40, e_phentsize u16 @54 (56), e_phnum u16 @56,
 *            e_shentsize u16 @58 (64), e_shnum u16 @60, e_shstrndx u16 @62.
 *   phdr:    p_type u32 @0 (PT_LOAD 1), p_flags u32 @4, p_offset @8, p_vaddr @16,
 *            p_filesz @32, p_memsz @40.
 *   shdr:    sh_name u32 @0, sh_type u32 @4, sh_addr @16, sh_offset @24, sh_size @32,
 *            sh_link u32 @40, sh_entsize @56 (SHT_NOBITS 8 has no file bytes).
 *   sym:     st_name u32 @0, st_info u8 @4 (type: low 4 bits, FUNC 2, OBJECT 1), st_shndx u16
 *            @6 (0: undefined), st_value u64 @8, st_size u64 @16; 24 bytes each.
 * Every (offset, size) pair is checked against the file size without overflow before a read.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../schema/le.h"
#include "elf.h"

#define SHNUM_MAX 4096u
/* The section names' table read at open: SHNUM_MAX names of 255 bytes and their NULs. Real
 * ones hold a few hundred bytes; a planted file could claim up to TLS_ELF_SECTION_MAX, read
 * into memory at each open of it. */
#define SHSTR_MAX (SHNUM_MAX * 256u)
#define STR_SEARCH_CHUNK (1u << 20)

static int in_file(const struct tls_elf *e, uint64_t off, uint64_t len)
{
	return off <= e->size && len <= e->size - off;
}

static int read_at(const struct tls_elf *e, uint64_t off, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	if (!in_file(e, off, len))
		return -EFAULT;
	while (got < len) {
		n = pread(e->fd, (uint8_t *)buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EFAULT;
		got += (size_t)n;
	}
	return 0;
}

static uint8_t *read_new(const struct tls_elf *e, uint64_t off, uint64_t len)
{
	uint8_t *b;
	int rc;

	if (len > TLS_ELF_SECTION_MAX || !in_file(e, off, len)) {
		errno = EFBIG;
		return NULL;
	}
	b = malloc(len ? len : 1);
	if (!b)
		return NULL;
	rc = read_at(e, off, b, len);
	if (rc < 0) {
		free(b);
		errno = -rc;
		return NULL;
	}
	return b;
}

int tls_elf_open(int fd, struct tls_elf *e)
{
	uint8_t h[64], ph[56];
	uint64_t phoff, shoff, stroff, strsz;
	unsigned phnum, i, stridx;
	struct stat st;
	uint8_t *sh;

	memset(e, 0, sizeof(*e));
	e->fd = fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOEXEC;
	e->size = (uint64_t)st.st_size;
	if (read_at(e, 0, h, sizeof(h)) < 0 || memcmp(h, "\177ELF", 4) || h[4] != 2 || h[5] != 1 ||
	    le16_load(h + 18) != 62)
		return -ENOEXEC;
	e->type = le16_load(h + 16);
	phoff = le64_load(h + 32);
	shoff = le64_load(h + 40);
	phnum = le16_load(h + 56);
	e->shnum = le16_load(h + 60);
	stridx = le16_load(h + 62);
	if ((e->type != 2 && e->type != 3) || (phnum && le16_load(h + 54) != 56) ||
	    (e->shnum && le16_load(h + 58) != 64) || e->shnum > SHNUM_MAX)
		return -ENOEXEC;
	for (i = 0; i < phnum; i++) {
		struct tls_elf_load *l;

		if (phoff > e->size || read_at(e, phoff + 56ull * i, ph, sizeof(ph)) < 0)
			return -ENOEXEC;
		if (le32_load(ph) != 1)
			continue;
		if (e->nload == sizeof(e->load) / sizeof(e->load[0]))
			return -ENOEXEC;
		l = &e->load[e->nload++];
		l->flags = le32_load(ph + 4);
		l->off = le64_load(ph + 8);
		l->vaddr = le64_load(ph + 16);
		l->filesz = le64_load(ph + 32);
		if (!in_file(e, l->off, l->filesz) || l->vaddr > UINT64_MAX - l->filesz)
			return -ENOEXEC;
	}
	if (!e->nload)
		return -ENOEXEC;
	if (!e->shnum)
		return 0;
	if (stridx >= e->shnum)
		goto bad;
	e->shdr = read_new(e, shoff, 64ull * e->shnum);
	if (!e->shdr)
		goto bad;
	sh = e->shdr + 64ull * stridx;
	stroff = le64_load(sh + 24);
	strsz = le64_load(sh + 32);
	if (strsz > SHSTR_MAX)
		goto bad;
	e->shstr = read_new(e, stroff, strsz);
	if (!e->shstr)
		goto bad;
	e->shstr_len = strsz;
	return 0;
bad:
	tls_elf_close(e);
	return -ENOEXEC;
}

void tls_elf_close(struct tls_elf *e)
{
	unsigned i;

	free(e->shdr);
	free(e->shstr);
	e->shdr = e->shstr = NULL;
	e->shnum = 0;
	for (i = 0; i < sizeof(e->tab) / sizeof(e->tab[0]); i++) {
		free(e->tab[i].sym);
		free(e->tab[i].str);
		free(e->tab[i].keys);
		memset(&e->tab[i], 0, sizeof(e->tab[i]));
	}
}

/* The section header of the section named name, or of type (when name is NULL); NULL. */
static const uint8_t *find_shdr(const struct tls_elf *e, const char *name, uint32_t type)
{
	unsigned i;

	for (i = 0; e->shdr && i < e->shnum; i++) {
		const uint8_t *sh = e->shdr + 64ull * i;
		uint32_t n = le32_load(sh);

		if (name) {
			size_t len = strlen(name);

			if (n < e->shstr_len && e->shstr_len - n > len &&
			    memcmp(e->shstr + n, name, len + 1) == 0)
				return sh;
		} else if (le32_load(sh + 4) == type) {
			return sh;
		}
	}
	return NULL;
}

int tls_elf_section(const struct tls_elf *e, const char *name, uint64_t *addr, uint64_t *off,
		    uint64_t *size)
{
	const uint8_t *sh = find_shdr(e, name, 0);

	if (!sh || le32_load(sh + 4) == 8 || !in_file(e, le64_load(sh + 24), le64_load(sh + 32)))
		return -ENOENT;
	if (addr)
		*addr = le64_load(sh + 16);
	if (off)
		*off = le64_load(sh + 24);
	if (size)
		*size = le64_load(sh + 32);
	return 0;
}

uint8_t *tls_elf_section_read(const struct tls_elf *e, const char *name, uint64_t *addr,
			      uint64_t *size)
{
	uint64_t off, sz;

	if (tls_elf_section(e, name, addr, &off, &sz) < 0) {
		errno = ENOENT;
		return NULL;
	}
	*size = sz;
	return read_new(e, off, sz);
}

/*
 * A symbol table (type 2 SHT_SYMTAB or 11 SHT_DYNSYM) is read whole at its first lookup and
 * kept until tls_elf_close() when its symbols and its names each fit in HOLD_MAX: an
 * inspection asks a file for several names (gnutls_init, SSL_get_client_random twice, ...),
 * and a program the host runs for the first time was read, into fresh memory, once per name.
 * A larger table (node's .symtab: 2.6 MB of symbols, 7.5 MB of names) is indexed at its first
 * lookup instead (state 3, tab_index): one pass over its symbols and one over the names they
 * point at keeps, for each defined function or object, a 32-bit hash of its name and its
 * place in the table, sorted; a lookup then reads only the symbols whose hash is the name's,
 * and their names, to compare them (a planted table whose names all share a hash costs a
 * lookup two reads a symbol: no more than reading it in pieces). The index costs 8 bytes a
 * symbol (node's: 0.9 MB) and is kept until tls_elf_close().
 * Before it, each lookup of such a table read all of it again, its names 4 KiB at a time
 * (200,000 pread calls for /usr/bin/node at every recorder's start).
 * A table of more than IDX_SYMS_MAX symbols is read in pieces at each lookup (lookup_pieces),
 * costing no more memory than the pieces: SYM_CHUNK bytes of symbols, and a STR_WINDOW window
 * of names moved on a miss.
 */
#define SYM_CHUNK (24u * 4096u)
#define STR_WINDOW 4096u
#define HOLD_MAX (4u << 20)     /* a table whose symbols and names each fit is held whole */
#define IDX_SYMS_MAX (1u << 20) /* a larger table is not indexed: 8 MiB of index at most */

/* The limits in force (tls_elf_set_table_limits: tests and the fuzz target lower them, so
 * that small files take the index and the pieces too). */
static uint64_t hold_max = HOLD_MAX;
static uint64_t index_syms_max = IDX_SYMS_MAX;

void tls_elf_set_table_limits(uint64_t hold_bytes, uint64_t index_syms)
{
	hold_max = hold_bytes;
	index_syms_max = index_syms;
}

/* Names this long or longer are left out of the index: lookup_pieces() never found them
 * either (its window of names holds a name and its NUL). */
#define NAME_LONGEST STR_WINDOW
#define NAME_WINDOW (1u << 20)  /* names read up to NAME_WINDOW (+ NAME_LONGEST) bytes at a time */

/* The table of type: its symbols' and names' places in the file, checked. 0 or -ENOENT. */
static int tab_place(const struct tls_elf *e, uint32_t type, uint64_t *symoff, uint64_t *symsize,
		     uint64_t *stroff, uint64_t *strsize)
{
	const uint8_t *sh = find_shdr(e, NULL, type), *strsh;
	uint32_t link;

	if (!sh)
		return -ENOENT;
	link = le32_load(sh + 40);
	if (link >= e->shnum || le64_load(sh + 56) != 24)
		return -ENOENT;
	strsh = e->shdr + 64ull * link;
	*symoff = le64_load(sh + 24);
	*symsize = le64_load(sh + 32) / 24 * 24;
	*stroff = le64_load(strsh + 24);
	*strsize = le64_load(strsh + 32);
	if (!in_file(e, *symoff, *symsize) || !in_file(e, *stroff, *strsize) || *strsize == 0)
		return -ENOENT;
	return 0;
}

/* Whether symbol s (24 bytes) is a defined function or object whose name, at its offset in a
 * table of strsize bytes, can be len bytes and a NUL. */
static bool sym_wanted(const uint8_t *s, uint64_t strsize, size_t len)
{
	uint8_t t = s[4] & 0xf;

	return (t == 1 || t == 2) && le16_load(s + 6) != 0 && strsize > len &&
	       le32_load(s) < strsize - len;
}

static void sym_answer(const uint8_t *s, uint64_t *addr, uint64_t *size)
{
	*addr = le64_load(s + 8);
	if (size)
		*size = le64_load(s + 16);
}

/* Reads the table of type whole into t, if it is there and small enough (t->state 1), else
 * marks it absent (-1: ENOENT) or to be read in pieces (2). 0 or -ENOMEM. */
static int tab_load(const struct tls_elf *e, uint32_t type, struct tls_elf_syms *t)
{
	uint64_t symoff, symsize, stroff, strsize;

	t->state = -1;
	if (tab_place(e, type, &symoff, &symsize, &stroff, &strsize) < 0)
		return 0;
	if (symsize > hold_max || strsize > hold_max) {
		t->state = 2;
		return 0;
	}
	t->sym = malloc(symsize ? symsize : 1);
	t->str = malloc(strsize);
	if (!t->sym || !t->str) {
		free(t->sym);
		free(t->str);
		t->sym = t->str = NULL;
		t->state = 0;
		return -ENOMEM;
	}
	if (read_at(e, symoff, t->sym, symsize) < 0 || read_at(e, stroff, t->str, strsize) < 0) {
		free(t->sym);
		free(t->str);
		t->sym = t->str = NULL;
		return 0; /* unreadable: as absent, as before */
	}
	t->symsize = symsize;
	t->strsize = strsize;
	t->state = 1;
	return 0;
}

static int lookup_held(const struct tls_elf_syms *t, const char *name, uint64_t *addr,
		       uint64_t *size)
{
	size_t len = strlen(name);
	uint64_t i;

	for (i = 0; i + 24 <= t->symsize; i += 24) {
		const uint8_t *s = t->sym + i;

		if (sym_wanted(s, t->strsize, len) &&
		    memcmp(t->str + le32_load(s), name, len + 1) == 0) {
			sym_answer(s, addr, size);
			return 0;
		}
	}
	return -ENOENT;
}

static int lookup_pieces(const struct tls_elf *e, uint32_t type, const char *name,
			 uint64_t *addr, uint64_t *size)
{
	uint64_t symoff, symsize, stroff, strsize, pos, wbase = 0, wlen = 0;
	size_t len = strlen(name);
	uint8_t *sym = NULL, *win = NULL;
	int rc = -ENOENT;

	if (tab_place(e, type, &symoff, &symsize, &stroff, &strsize) < 0 || strsize <= len)
		return -ENOENT;
	sym = malloc(SYM_CHUNK);
	win = malloc(STR_WINDOW);
	if (!sym || !win) {
		rc = -ENOMEM;
		goto out;
	}
	for (pos = 0; pos < symsize && rc == -ENOENT; pos += SYM_CHUNK) {
		uint64_t n = symsize - pos < SYM_CHUNK ? symsize - pos : SYM_CHUNK, i;

		if (read_at(e, symoff + pos, sym, n) < 0)
			break;
		for (i = 0; i + 24 <= n; i += 24) {
			const uint8_t *s = sym + i;
			uint32_t nm = le32_load(s);

			if (!sym_wanted(s, strsize, len))
				continue;
			if (nm < wbase || nm + len + 1 > wbase + wlen) {
				wbase = nm;
				wlen = strsize - nm < STR_WINDOW ? strsize - nm : STR_WINDOW;
				if (wlen < len + 1 || read_at(e, stroff + wbase, win, wlen) < 0) {
					wlen = 0;
					continue;
				}
			}
			if (memcmp(win + (nm - wbase), name, len + 1) != 0)
				continue;
			sym_answer(s, addr, size);
			rc = 0;
			break;
		}
	}
out:
	free(sym);
	free(win);
	return rc;
}

/* FNV-1a, 32 bits, of a name's len bytes: the index's key (collisions cost a read, no more). */
static uint32_t name_hash(const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u;

	while (len--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static int key_order(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The wanted symbols of sym (n bytes, the first numbered first) as name offset << 32 | symbol
 * number, appended to keys. */
static void index_symbols(const uint8_t *sym, uint64_t n, uint64_t first, uint64_t strsize,
			  uint64_t *keys, uint64_t *nkeys)
{
	for (uint64_t i = 0; i + 24 <= n; i += 24)
		if (sym_wanted(sym + i, strsize, 0))
			keys[(*nkeys)++] = (uint64_t)le32_load(sym + i) << 32 | (first + i / 24);
}

/*
 * Indexes a table too large to hold (tab_load's state 2) into t: state 3, or left at 2 when it
 * has more than IDX_SYMS_MAX symbols or cannot be read. The symbols are read once, SYM_CHUNK
 * bytes at a time, and their name offsets sorted; the names are then read in that order, a
 * window from the first name not yet read over the names that follow it closely (each within
 * NAME_LONGEST of the one before, all within NAME_WINDOW of the first), with NAME_LONGEST
 * more for the last one's bytes. So what is read is bounded by the symbols (at most 2 *
 * NAME_LONGEST bytes and one read a symbol), whatever size the name table claims and in
 * whatever order a planted file lays its names out; a real table's names, one after the
 * other, take a read a NAME_WINDOW. Each name is then kept as the hash of its bytes up to its
 * NUL, with its symbol's number, and the index sorted by hash. 0 or -ENOMEM.
 */
static int tab_index(const struct tls_elf *e, uint32_t type, struct tls_elf_syms *t)
{
	uint64_t symoff, symsize, stroff, strsize, pos, nkeys = 0, nout = 0, i, j;
	uint64_t wbase = 0, wlen = 0;
	uint8_t *sym = NULL, *win = NULL;
	uint64_t *keys = NULL;
	int rc = 0;

	if (tab_place(e, type, &symoff, &symsize, &stroff, &strsize) < 0 ||
	    symsize / 24 > index_syms_max)
		return 0;
	sym = malloc(SYM_CHUNK);
	win = malloc(NAME_WINDOW + NAME_LONGEST);
	keys = malloc(symsize / 24 * sizeof(*keys) + 1);
	if (!sym || !win || !keys) {
		rc = -ENOMEM;
		goto fail;
	}
	for (pos = 0; pos < symsize; pos += SYM_CHUNK) {
		uint64_t n = symsize - pos < SYM_CHUNK ? symsize - pos : SYM_CHUNK;

		if (read_at(e, symoff + pos, sym, n) < 0)
			goto fail;
		index_symbols(sym, n, pos / 24, strsize, keys, &nkeys);
	}
	qsort(keys, nkeys, sizeof(*keys), key_order); /* by name offset */
	for (i = 0; i < nkeys; i++) {
		uint64_t nm = keys[i] >> 32, room = strsize - nm; /* sym_wanted: nm < strsize */
		const uint8_t *name, *end;

		if (room > NAME_LONGEST)
			room = NAME_LONGEST;
		if (nm < wbase || nm + room > wbase + wlen) {
			for (j = i + 1; j < nkeys && (keys[j] >> 32) - nm < NAME_WINDOW &&
					(keys[j] >> 32) - (keys[j - 1] >> 32) <= NAME_LONGEST;
			     j++)
				;
			wbase = nm;
			wlen = (keys[j - 1] >> 32) - nm + NAME_LONGEST;
			if (wlen > strsize - nm)
				wlen = strsize - nm;
			if (read_at(e, stroff + wbase, win, wlen) < 0)
				goto fail;
		}
		name = win + (nm - wbase);
		end = memchr(name, '\0', room);
		if (end) /* else too long to be looked up, or not ended in the table */
			keys[nout++] = (uint64_t)name_hash(name, (size_t)(end - name)) << 32 |
				       (keys[i] & 0xffffffffu);
	}
	qsort(keys, nout, sizeof(*keys), key_order); /* by hash, then table order */
	t->keys = keys;
	t->nkeys = nout;
	t->symoff = symoff;
	t->stroff = stroff;
	t->symsize = symsize;
	t->strsize = strsize;
	t->state = 3;
	keys = NULL;
fail:
	free(sym);
	free(win);
	free(keys);
	return rc;
}

/* A lookup in an indexed table: the symbols whose names hash as name's, in table order, each
 * read again and compared in full, so that the answer is the first symbol of the table with
 * that name, as lookup_pieces() gives. */
static int lookup_indexed(const struct tls_elf *e, const struct tls_elf_syms *t, const char *name,
			  uint64_t *addr, uint64_t *size)
{
	size_t len = strlen(name), lo = 0, hi = t->nkeys;
	uint64_t key = (uint64_t)name_hash((const uint8_t *)name, len) << 32;
	uint8_t s[24], buf[NAME_LONGEST];

	if (len >= NAME_LONGEST)
		return -ENOENT;
	while (lo < hi) { /* the first key of the hash */
		size_t mid = lo + (hi - lo) / 2;

		if (t->keys[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < t->nkeys && t->keys[lo] >> 32 == key >> 32; lo++) {
		uint64_t at = (t->keys[lo] & 0xffffffffu) * 24;

		if (at + 24 > t->symsize || read_at(e, t->symoff + at, s, sizeof(s)) < 0 ||
		    !sym_wanted(s, t->strsize, len) ||
		    read_at(e, t->stroff + le32_load(s), buf, len + 1) < 0 ||
		    memcmp(buf, name, len + 1) != 0)
			continue;
		sym_answer(s, addr, size);
		return 0;
	}
	return -ENOENT;
}

static int lookup_tab(struct tls_elf *e, unsigned which, uint32_t type, const char *name,
		      uint64_t *addr, uint64_t *size)
{
	struct tls_elf_syms *t = &e->tab[which];
	int rc;

	if (t->state == 0) {
		rc = tab_load(e, type, t);
		if (rc < 0)
			return rc;
		if (t->state == 2) {
			rc = tab_index(e, type, t);
			if (rc < 0)
				return rc;
		}
	}
	if (t->state == 1)
		return lookup_held(t, name, addr, size);
	if (t->state == 3)
		return lookup_indexed(e, t, name, addr, size);
	if (t->state == 2)
		return lookup_pieces(e, type, name, addr, size);
	return -ENOENT;
}

int tls_elf_symbol(struct tls_elf *e, const char *name, uint64_t *addr, uint64_t *size)
{
	int rc = lookup_tab(e, 0, 2, name, addr, size);

	return rc == -ENOENT ? lookup_tab(e, 1, 11, name, addr, size) : rc;
}

static const struct tls_elf_load *load_of(const struct tls_elf *e, uint64_t vaddr, size_t len)
{
	unsigned i;

	for (i = 0; i < e->nload; i++) {
		const struct tls_elf_load *l = &e->load[i];

		if (vaddr >= l->vaddr && vaddr - l->vaddr <= l->filesz &&
		    len <= l->filesz - (vaddr - l->vaddr))
			return l;
	}
	return NULL;
}

int tls_elf_read_vaddr(const struct tls_elf *e, uint64_t vaddr, void *buf, size_t len)
{
	const struct tls_elf_load *l = load_of(e, vaddr, len);

	if (!l)
		return -EFAULT;
	return read_at(e, l->off + (vaddr - l->vaddr), buf, len);
}

int tls_elf_code_range(const struct tls_elf *e, uint64_t vaddr, uint64_t *start, uint64_t *end)
{
	const struct tls_elf_load *l = load_of(e, vaddr, 1);

	if (!l || !(l->flags & 1))
		return -EFAULT;
	*start = l->vaddr;
	*end = l->vaddr + l->filesz;
	return 0;
}

int tls_elf_code_offset(const struct tls_elf *e, uint64_t vaddr, uint64_t *off)
{
	const struct tls_elf_load *l = load_of(e, vaddr, 1);

	if (!l || !(l->flags & 1))
		return -EFAULT;
	*off = l->off + (vaddr - l->vaddr);
	return 0;
}

int tls_elf_find_string(const struct tls_elf *e, const char *s, uint64_t *vaddr)
{
	size_t n = strlen(s) + 1;
	uint8_t *buf;
	unsigned i;

	buf = malloc(STR_SEARCH_CHUNK + n);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < e->nload; i++) {
		const struct tls_elf_load *l = &e->load[i];
		uint64_t pos;

		if ((l->flags & 3) || l->filesz < n)
			continue;
		/* chunks overlap by n bytes so that no match is cut */
		for (pos = 0; pos + n <= l->filesz; pos += STR_SEARCH_CHUNK) {
			uint64_t len = l->filesz - pos;
			const uint8_t *p, *end;

			if (len > STR_SEARCH_CHUNK + n)
				len = STR_SEARCH_CHUNK + n;
			if (read_at(e, l->off + pos, buf, len) < 0)
				break;
			end = buf + len;
			for (p = buf; p + n <= end; p++) {
				p = memchr(p, s[0], (size_t)(end - p));
				if (!p || p + n > end)
					break;
				if (memcmp(p, s, n) != 0 || (p > buf && p[-1] != 0) ||
				    (p == buf && pos > 0))
					continue;
				*vaddr = l->vaddr + pos + (uint64_t)(p - buf);
				free(buf);
				return 0;
			}
		}
	}
	free(buf);
	return -ENOENT;
}

int tls_elf_needed(struct tls_elf *e, void (*fn)(void *ctx, const char *name,
						 const char *runpath), void *ctx)
{
	uint64_t dsize, ssize, i, run = UINT64_MAX;
	uint8_t *dyn, *str;

	dyn = tls_elf_section_read(e, ".dynamic", NULL, &dsize);
	if (!dyn)
		return -ENOENT;
	str = tls_elf_section_read(e, ".dynstr", NULL, &ssize);
	if (!str) {
		free(dyn);
		return -ENOENT;
	}
	for (i = 0; i + 16 <= dsize; i += 16) {
		uint64_t tag = le64_load(dyn + i), v = le64_load(dyn + i + 8);

		if (tag == 0)
			break;
		if (v >= ssize || !memchr(str + v, 0, ssize - v))
			continue;
		if (tag == 1)
			fn(ctx, (const char *)str + v, NULL);
		else if (tag == 29 || (tag == 15 && run == UINT64_MAX))
			run = v;
	}
	if (run != UINT64_MAX)
		fn(ctx, NULL, (const char *)str + run);
	free(dyn);
	free(str);
	return 0;
}
