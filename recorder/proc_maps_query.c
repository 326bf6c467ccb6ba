// SPDX-License-Identifier: GPL-2.0-only
/*
 * proc_maps_query.c - executable file mappings by PROCMAP_QUERY (proc_maps_query.h).
 *
 * The ioctl's argument (include/uapi/linux/fs.h, Linux 6.11), declared here since the system's
 * headers may be older: size (of the struct, for the kernel's versioning), query_flags,
 * query_addr in; vma_start, vma_end, vma_flags (PROCMAP_QUERY_VMA_* bits), vma_page_size,
 * vma_offset, inode, dev_major, dev_minor out; vma_name_size in/out with vma_name_addr (a
 * buffer for the name, or 0 and 0 for none); build_id_size and build_id_addr the same for the
 * ELF build id (not asked here). With COVERING_OR_NEXT_VMA the mapping that covers query_addr
 * or else the next one is returned; FILE_BACKED_VMA and the permission bits in query_flags
 * keep only mappings that have them; -ENOENT when there is none.
 */
#include "proc_maps_query.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

struct ecap_procmap_query {
	uint64_t size;
	uint64_t query_flags;
	uint64_t query_addr;
	uint64_t vma_start;
	uint64_t vma_end;
	uint64_t vma_flags;
	uint64_t vma_page_size;
	uint64_t vma_offset;
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t vma_name_size;
	uint32_t build_id_size;
	uint64_t vma_name_addr;
	uint64_t build_id_addr;
};

_Static_assert(sizeof(struct ecap_procmap_query) == 104, "PROCMAP_QUERY's struct is 104 bytes");

#define ECAP_PROCMAP_QUERY _IOWR('f', 17, struct ecap_procmap_query)
#define Q_READABLE 0x01u
#define Q_WRITABLE 0x02u
#define Q_EXECUTABLE 0x04u
#define Q_SHARED 0x08u
#define Q_COVERING_OR_NEXT 0x10u
#define Q_FILE_BACKED 0x20u

static int query(int fd, struct ecap_procmap_query *q)
{
	return ioctl(fd, ECAP_PROCMAP_QUERY, q) < 0 ? -errno : 0;
}

int proc_maps_query_exec(int fd, uint64_t *addr, struct proc_maps_line *m)
{
	struct ecap_procmap_query q;
	int rc;

	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.query_flags = Q_COVERING_OR_NEXT | Q_FILE_BACKED | Q_EXECUTABLE;
	q.query_addr = *addr;
	rc = query(fd, &q);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	/* forward only: a mapping before the last one, or empty, would loop */
	if (q.vma_end <= q.vma_start || q.vma_end <= *addr)
		return -EIO;
	memset(m, 0, sizeof(*m));
	m->start = q.vma_start;
	m->end = q.vma_end;
	m->offset = q.vma_offset;
	m->inode = q.inode;
	m->major = q.dev_major;
	m->minor = q.dev_minor;
	m->perms[0] = q.vma_flags & Q_READABLE ? 'r' : '-';
	m->perms[1] = q.vma_flags & Q_WRITABLE ? 'w' : '-';
	m->perms[2] = q.vma_flags & Q_EXECUTABLE ? 'x' : '-';
	m->perms[3] = q.vma_flags & Q_SHARED ? 's' : 'p';
	m->perms[4] = '\0';
	m->path = NULL;
	*addr = q.vma_end;
	return 1;
}

int proc_maps_query_name(int fd, uint64_t addr, char *name, size_t len)
{
	struct ecap_procmap_query q;
	int rc;

	if (len < 2 || len > UINT32_MAX)
		return -EINVAL;
	name[0] = '\0';
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.query_flags = Q_FILE_BACKED;
	q.query_addr = addr;
	q.vma_name_size = (uint32_t)len;
	q.vma_name_addr = (uint64_t)(uintptr_t)name;
	rc = query(fd, &q);
	if (rc < 0)
		return rc;
	/* the size returned counts the NUL; none, or one that does not end there, is no name */
	if (q.vma_name_size == 0 || q.vma_name_size > len || name[q.vma_name_size - 1] != '\0') {
		name[0] = '\0';
		return -EIO;
	}
	return 0;
}
