// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_capfile.c - libFuzzer target for the capture file reader (recorder/capfile.c): pcap in
 * either byte order and resolution, pcapng with its blocks and options. The input is handed
 * to capfile_open_fd() through a memfd, as ecap-rec --replay reads a file, and every item is
 * read to the end: packets' bytes are touched so that a pointer past the buffer shows up
 * under AddressSanitizer, and errors must name an offset inside the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;

static uint8_t touch(const uint8_t *p, size_t n)
{
	uint8_t x = 0;
	for (size_t i = 0; i < n; i++)
		x ^= p[i];
	return x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (memfd < 0 && (memfd = memfd_create("fuzz-capfile", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(memfd, 0) || (size && pwrite(memfd, data, size, 0) != (ssize_t)size) ||
	    lseek(memfd, 0, SEEK_SET))
		abort();

	struct capfile *cf;
	if (capfile_open_fd(memfd, "fuzz", &cf))
		return 0;
	struct capfile_item it;
	volatile uint8_t sink = 0;
	int r, errors = 0;
	while ((r = capfile_next(cf, &it)) != 0) {
		if (r == -EBADMSG) {
			/* each damaged place is reported once and the reader moves on */
			if (!capfile_error(cf)[0] || ++errors > (int)size + 1)
				abort();
			continue;
		}
		if (r < 0)
			break;
		switch (it.kind) {
		case CAPFILE_PACKET:
			if (it.caplen > it.origlen && it.origlen)
				; /* allowed: the reader reports what the file says */
			sink ^= touch(it.data, it.caplen);
			if (it.comment)
				sink ^= touch((const uint8_t *)it.comment, it.comment_len);
			break;
		case CAPFILE_INTERFACE:
			sink ^= (uint8_t)strnlen(it.ifc->name, sizeof(it.ifc->name));
			if (strnlen(it.ifc->name, sizeof(it.ifc->name)) == sizeof(it.ifc->name) ||
			    strnlen(it.ifc->filter, sizeof(it.ifc->filter)) == sizeof(it.ifc->filter))
				abort(); /* names must be terminated */
			break;
		case CAPFILE_SECRETS:
			sink ^= touch(it.secrets, it.secrets_len);
			break;
		}
		if (it.offset > size)
			abort();
	}
	if (capfile_offset(cf) > size)
		abort();
	capfile_close(cf);
	(void)sink;
	return 0;
}
