// SPDX-License-Identifier: GPL-2.0-only
/*
 * uprobe_attach.c - uprobes through the launcher (uprobe_attach.h): the function's offset from
 * the file's symbols, the perf event from the launcher (or uprobe_perf.c), the link ours.
 */
#include <errno.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "tls/elf.h"
#include "tls_calib_launcher.h"
#include "uprobe_attach.h"

/* A function's file offset, from the ELF file's own symbol tables (tls/elf.h). */
static int func_offset(int fd, const char *func, uint64_t *off)
{
	struct tls_elf e;
	uint64_t addr, size;
	int rc = tls_elf_open(fd, &e);

	if (rc < 0)
		return rc;
	rc = tls_elf_symbol(&e, func, &addr, &size);
	if (rc == 0)
		rc = tls_elf_code_offset(&e, addr, off);
	tls_elf_close(&e);
	return rc;
}

struct bpf_link *uprobe_attach(struct bpf_program *prog, int fd, const char *func,
			       uint64_t offset, bool retprobe, uint64_t cookie)
{
	LIBBPF_OPTS(bpf_perf_event_opts, po, .bpf_cookie = cookie);
	struct bpf_link *link;
	int pfd, rc;

	if (func && (rc = func_offset(fd, func, &offset)) < 0) {
		errno = rc == -EFAULT ? ENOENT : -rc;
		return NULL;
	}
	pfd = tls_calib_launcher_running() ? tls_calib_launcher_uprobe(fd, offset, retprobe)
					   : uprobe_perf_open(fd, offset, retprobe);
	if (pfd < 0) {
		errno = -pfd;
		return NULL;
	}
	link = bpf_program__attach_perf_event_opts(prog, pfd, &po);
	if (!link) {
		rc = errno;
		close(pfd);
		errno = rc;
	}
	return link;
}
