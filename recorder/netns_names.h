/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netns_names.h - the names that network namespaces have in /run/netns (ip netns add,
 * podman, CNI), by inode, for naming the interfaces `ecap-rec -i any` finds in them.
 *
 * A namespace whose inode is not known makes /run/netns be read again (a directory listing
 * and one fstatat per entry, AT_SYMLINK_NOFOLLOW: an entry is a bind mount of the namespace,
 * whose inode it shows), at most once per unknown inode: a namespace without a name is
 * remembered as such. Names are printable ASCII, at most NETNS_NAME_MAX - 1 bytes; other
 * entries are ignored. A namespace remembered as nameless is looked for again when the
 * directory's mtime has changed since it was last read (a name added later, such as `ip netns
 * attach`, is found for the next interface made in it). The table is bounded (NETNS_NAMES_MAX); when it is full it is
 * emptied and filled again on demand.
 */
#ifndef ECAP_NETNS_NAMES_H
#define ECAP_NETNS_NAMES_H

#include <stddef.h>
#include <stdint.h>

#define NETNS_NAME_MAX 40
#define NETNS_NAMES_MAX 4096
#define NETNS_DIR "/run/netns"

struct netns_names;

int netns_names_new(const char *dir, struct netns_names **out);
void netns_names_free(struct netns_names *n);
/* The name of namespace inode in dir, or NULL when it has none there. The pointer stays
 * valid until the next call. */
const char *netns_names_lookup(struct netns_names *n, uint32_t inode);

#endif
