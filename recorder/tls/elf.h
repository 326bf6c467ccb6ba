/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * elf.h - reading a TLS library or executable that another process mapped (hostile input) as
 * an ELF file, by file descriptor, without loading or running any of it: program and section
 * headers, symbols by name (.symtab, then .dynsym), bytes at a virtual address, strings in the
 * read-only data, and virtual address to file offset (what a uprobe needs).
 *
 * Only ELF64 little-endian x86-64 is read (the probes read x86-64 registers). Every offset and
 * length from the file is checked against the file's size before use; reads go through
 * pread() into our own buffers (no mapping: a file truncated under us cannot fault us).
 */
#ifndef ECAP_TLS_PROBE_ELF_H
#define ECAP_TLS_PROBE_ELF_H

#include <stddef.h>
#include <stdint.h>

#define TLS_ELF_SECTION_MAX (256u << 20) /* largest section read whole */

struct tls_elf_load {
	uint64_t vaddr, off, filesz;
	uint32_t flags;          /* PF_X 1, PF_W 2, PF_R 4 */
};

/* A symbol table as read at its first lookup (elf.c). */
struct tls_elf_syms {
	uint8_t *sym, *str;               /* its symbols and names, whole (state 1) */
	uint64_t symsize, strsize;
	uint64_t *keys, nkeys;            /* state 3: name hash << 32 | symbol number, sorted */
	uint64_t symoff, stroff;          /* state 3: where the symbols and names are */
	int state;                        /* 0 not read yet, 1 held, 2 too large: read in pieces
					     at each lookup, 3 too large to hold: indexed (elf.c),
					     -1 absent */
};

struct tls_elf {
	int fd;
	uint64_t size;                    /* of the file */
	uint16_t type;                    /* ET_EXEC 2, ET_DYN 3 */
	struct tls_elf_load load[16];     /* PT_LOAD entries, in file order */
	unsigned nload;
	uint8_t *shdr;                    /* section headers, shnum * 64 bytes */
	unsigned shnum;
	uint8_t *shstr;                   /* section name string table */
	uint64_t shstr_len;
	struct tls_elf_syms tab[2];       /* .symtab, .dynsym: freed by tls_elf_close() */
};

/* Reads the headers of the ELF file open on fd (which stays the caller's). 0, -ENOEXEC (not
 * an x86-64 ELF64 file, or its headers do not hold together) or -errno. */
int tls_elf_open(int fd, struct tls_elf *e);
void tls_elf_close(struct tls_elf *e);

/* The section called name: its address, file offset and size (within the file). 0 or -ENOENT. */
int tls_elf_section(const struct tls_elf *e, const char *name, uint64_t *addr, uint64_t *off,
		    uint64_t *size);

/* Reads a whole section into a new buffer (free()). NULL with errno set. */
uint8_t *tls_elf_section_read(const struct tls_elf *e, const char *name, uint64_t *addr,
			      uint64_t *size);

/* A defined function or object symbol by exact name (.symtab first, then .dynsym): its address
 * and size. Each table is read from the file once per tls_elf_open() (kept in e until
 * tls_elf_close()) unless it is too large to hold. 0, -ENOENT or -errno. */
int tls_elf_symbol(struct tls_elf *e, const char *name, uint64_t *addr, uint64_t *size);

/* Tests and the fuzz target: symbol tables of more than hold_bytes (symbols or names) are not
 * held whole, and of those, tables of more than index_syms symbols are not indexed but read in
 * pieces at each lookup. Defaults: 4 MiB and 1,048,576 symbols (elf.c). For the tables read
 * after the call (a table is read at its first lookup). */
void tls_elf_set_table_limits(uint64_t hold_bytes, uint64_t index_syms);

/* Copies len bytes at virtual address vaddr (inside one PT_LOAD's file bytes). 0 or -EFAULT. */
int tls_elf_read_vaddr(const struct tls_elf *e, uint64_t vaddr, void *buf, size_t len);

/* Whether vaddr lies in an executable PT_LOAD; its file offset (a uprobe's offset). 0 or
 * -EFAULT. */
int tls_elf_code_offset(const struct tls_elf *e, uint64_t vaddr, uint64_t *off);

/* The executable PT_LOAD's range holding vaddr. 0 or -EFAULT. */
int tls_elf_code_range(const struct tls_elf *e, uint64_t vaddr, uint64_t *start, uint64_t *end);

/* The virtual address of the first NUL-terminated copy of s (with its NUL, and a NUL or the
 * segment's start before it) in a read-only, non-executable PT_LOAD. 0 or -ENOENT. */
int tls_elf_find_string(const struct tls_elf *e, const char *s, uint64_t *vaddr);

/*
 * Calls fn for each DT_NEEDED name of e, then once with runpath set to its DT_RUNPATH (or
 * DT_RPATH) when it has one (name NULL). Names are bounded NUL-terminated strings from .dynstr.
 */
int tls_elf_needed(struct tls_elf *e, void (*fn)(void *ctx, const char *name,
						 const char *runpath), void *ctx);

#endif
