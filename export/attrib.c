// SPDX-License-Identifier: GPL-2.0-only
/*
 * attrib.c - the flow id -> comment map of attrib.h: open addressing with linear probing,
 * grown at half load. Entries are never removed during an export.
 *
 * Which side's comment a packet gets (writer.c documents the text):
 *   outbound packet   the sender's side is the local one
 *   inbound packet    the receiver's side
 *   no direction      the sender's side when its process is known, else the receiver's
 *   sender unknown    (not IP, or the addresses do not tell) the side whose process is
 *                     known, A before B
 */
#include "attrib.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "writer.h"

int attrib_init(struct attrib *a, struct store *store)
{
	memset(a, 0, sizeof(*a));
	a->store = store;
	if (store) {
		int n = store_has_links(store);
		if (n < 0)
			return n;
		a->links = n > 0;
	}
	a->cap = 64; /* grown as flows come: an export of one connection touches 4.5 KiB, not 72 */
	a->slots = calloc(a->cap, sizeof(*a->slots));
	return a->slots ? 0 : -ENOMEM;
}

static void entry_clear(struct attrib_entry *e)
{
	free(e->comment[0]);
	free(e->comment[1]);
	memset(e, 0, sizeof(*e));
}

void attrib_free(struct attrib *a)
{
	for (size_t i = 0; i < a->cap; i++)
		if (a->slots[i].flow_id)
			entry_clear(&a->slots[i]);
	free(a->slots);
	free(a->text);
	memset(a, 0, sizeof(*a));
}

static size_t hash(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdull;
	id ^= id >> 33;
	return (size_t)id;
}

static struct attrib_entry *find_slot(struct attrib_entry *slots, size_t cap, uint64_t id)
{
	size_t i = hash(id) & (cap - 1);
	while (slots[i].flow_id && slots[i].flow_id != id)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int grow(struct attrib *a)
{
	size_t cap = a->cap * 2;
	struct attrib_entry *s = calloc(cap, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < a->cap; i++)
		if (a->slots[i].flow_id)
			*find_slot(s, cap, a->slots[i].flow_id) = a->slots[i];
	free(a->slots);
	a->slots = s;
	a->cap = cap;
	return 0;
}

/* What the store recorded of side's process; NULL when nothing (or no store). */
static const struct ecap_proc_info *info_of(struct attrib *a, const struct ecap_proc *p,
					    struct ecap_proc_info *buf)
{
	if (!a->store || !p->valid || !p->start_ns)
		return NULL;
	return store_get_process(a->store, p->pid, p->start_ns, buf) == 1 ? buf : NULL;
}

/* What the store recorded of the container of a process; NULL when nothing. The last one
 * asked is kept: the flows of one container come in runs. */
static const struct ecap_container *container_of(struct attrib *a,
						  const struct ecap_proc_info *pi)
{
	if (!pi || !pi->container_id[0])
		return NULL;
	if (strcmp(a->ctr.id, pi->container_id) != 0) {
		if (store_get_container(a->store, pi->container_id, &a->ctr) != 1)
			memset(&a->ctr, 0, sizeof(a->ctr));
		/* a miss is remembered too, under its id */
		snprintf(a->ctr.id, sizeof(a->ctr.id), "%s", pi->container_id);
		a->ctr_known = a->ctr.last_ns != 0 || a->ctr.name[0] || a->ctr.image[0];
	}
	return a->ctr_known ? &a->ctr : NULL;
}

int attrib_put(struct attrib *a, const struct flow_record *given)
{
	char *text = a->text;
	struct attrib_entry e = { .flow_id = given->id, .key = given->key };
	struct ecap_proc_info buf[2];
	const struct ecap_proc_info *info[2];
	struct ecap_container cbuf;
	const struct ecap_container *ctr[2];
	struct flow_record linked = *given;
	const struct flow_record *rec = &linked;

	if (!rec->id)
		return -EINVAL;
	/* an end without an owner of its own: the owner of the end it is before or after NAT */
	if (a->links && store_fill_linked_owners(a->store, &linked) < 0)
		return -EIO;
	if (!text && !(text = a->text = malloc(WRITER_COMMENT_MAX)))
		return -ENOMEM;
	info[0] = info_of(a, &rec->proc[0], &buf[0]);
	info[1] = info_of(a, &rec->proc[1], &buf[1]);
	ctr[0] = container_of(a, info[0]);
	if (ctr[0]) {
		cbuf = *ctr[0];
		ctr[0] = &cbuf;
	}
	ctr[1] = container_of(a, info[1]);
	for (int side = 0; side < 2; side++) {
		e.known[side] = rec->proc[side].valid;
		int n = writer_format_comment(rec, info, ctr, (enum flow_side)side, text,
					      WRITER_COMMENT_MAX);
		if (n < 0) {
			entry_clear(&e);
			return n;
		}
		if (n > 0 && !(e.comment[side] = strdup(text))) {
			entry_clear(&e);
			return -ENOMEM;
		}
	}
	if ((a->n + 1) * 2 > a->cap && grow(a) < 0) {
		entry_clear(&e);
		return -ENOMEM;
	}
	struct attrib_entry *slot = find_slot(a->slots, a->cap, rec->id);
	if (slot->flow_id)
		entry_clear(slot);
	else
		a->n++;
	*slot = e;
	return 0;
}

const struct attrib_entry *attrib_get(struct attrib *a, uint64_t flow_id)
{
	struct flow_record rec;
	struct attrib_entry *slot;

	if (!flow_id)
		return NULL;
	slot = find_slot(a->slots, a->cap, flow_id);
	if (slot->flow_id)
		return slot;
	if (!a->store || store_get_flow(a->store, flow_id, &rec) < 0) {
		/* Remember the miss as an entry with nothing known, so it is asked once. */
		memset(&rec, 0, sizeof(rec));
		rec.id = flow_id;
		a->lookups_failed++;
	}
	rec.id = flow_id;
	if (attrib_put(a, &rec) < 0)
		return NULL;
	return find_slot(a->slots, a->cap, flow_id);
}

const char *attrib_comment(const struct attrib_entry *e, int sender, uint32_t flags)
{
	int dir = (int)(flags & 3);

	if (!e)
		return NULL;
	if (sender < 0) {
		if (e->known[FLOW_SIDE_A])
			return e->comment[FLOW_SIDE_A];
		return e->comment[FLOW_SIDE_B];
	}
	if (dir == PKT_DIR_OUTBOUND)
		return e->comment[sender];
	if (dir == PKT_DIR_INBOUND)
		return e->comment[!sender];
	return e->known[sender] ? e->comment[sender] : e->comment[!sender];
}
