// SPDX-License-Identifier: GPL-2.0-only
/*
 * store_owners.c - store_put_process(), store_put_container() and store_put_flow_link(), and
 * the records of a flow's owners and of its NAT link brought along with the flow's own into
 * each epoch (store_flow_epoch).
 *
 * Retention keeps a process record only as long as a chunk that carried it, and a container
 * record while a process record names it. A writer stores a live flow's record again in each
 * epoch (so in each segment) where the flow has packets; this file makes the records of its
 * owning processes, and of their containers, follow: the writer keeps the records it was
 * given last in direct-mapped caches, by (pid, start) and by container id, each with the epoch
 * it last went into, and a flow record whose owner's record is not in the open chunk's epoch
 * yet brings it (and its container's) along. So each segment holds what an export's comments
 * and a selection by --exe, --container, --pod or --cgroup need for every flow with packets in
 * it, for the index as written and as rebuilt from the segments that retention kept. The
 * same for a NAT link (flow_links: through it a selection by owner finds the translated end,
 * and comments name its owner), kept by the flow before the translation and brought along
 * with that flow's record. A record that lost its slot to another is not brought along: its
 * details then go with their chunk (as before), the flow and its owner's pid and name stay.
 * No SQL; three lookups per flow record; a record per owner, link and segment. A cache's slots
 * are pointers; a slot's first record takes the next entry of the cache's pool, so the memory
 * touched follows the processes, containers and links met (a page per three or four new
 * processes), not the 1.7 MB the full caches take.
 */
#include "store_impl.h"
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PROC_SLOTS 1024u /* powers of two */
#define CTR_SLOTS 128u
#define LINK_SLOTS 1024u

struct cached_proc {
	struct ecap_proc_info info;
	uint32_t epoch;         /* the latest epoch it went into; 0: empty slot */
};

struct cached_ctr {
	struct ecap_container c;
	uint32_t epoch;
};

struct cached_link {
	struct flow_link link;
	uint32_t epoch;
};

struct owner_cache {
	struct cached_proc *procs[PROC_SLOTS];  /* NULL: never used */
	struct cached_ctr *ctrs[CTR_SLOTS];
	struct cached_link *links[LINK_SLOTS];  /* by pre_id */
	struct cached_proc *proc_pool;          /* PROC_SLOTS entries, taken in order */
	struct cached_ctr *ctr_pool;
	struct cached_link *link_pool;
	uint32_t procs_used, ctrs_used, links_used;
	bool any_link;          /* a link was ever cached: else no flow record looks (a host
				 * without NAT between namespaces never pays the slot's miss) */
};

/* The entry in slot *slot; when it has none and make, the pool's next (used < n). */
#define SLOT_ENTRY(slot, pool, used, make) \
	(!*(slot) && (make) ? (*(slot) = &(pool)[(used)++]) : *(slot))

static struct cached_proc *proc_slot(struct owner_cache *oc, uint32_t pid, uint64_t start,
				     bool make)
{
	uint64_t h = ((uint64_t)pid * 0x9E3779B97F4A7C15ull) ^ start;
	h ^= h >> 29;
	struct cached_proc **slot = &oc->procs[(h * 0xBF58476D1CE4E5B9ull >> 40) & (PROC_SLOTS - 1)];
	return SLOT_ENTRY(slot, oc->proc_pool, oc->procs_used, make);
}

static struct cached_ctr *ctr_slot(struct owner_cache *oc, const char *id, bool make)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < ECAP_CONTAINER_ID_MAX && id[i]; i++)
		h = (h ^ (uint8_t)id[i]) * 1099511628211ull;
	struct cached_ctr **slot = &oc->ctrs[h & (CTR_SLOTS - 1)];
	return SLOT_ENTRY(slot, oc->ctr_pool, oc->ctrs_used, make);
}

static struct cached_link *link_slot(struct owner_cache *oc, uint64_t pre_id, bool make)
{
	struct cached_link **slot = &oc->links[(pre_id * 0x9E3779B97F4A7C15ull >> 40) &
					       (LINK_SLOTS - 1)];
	return SLOT_ENTRY(slot, oc->link_pool, oc->links_used, make);
}

/* The pools' bytes, in one mapping. */
static size_t pools_size(void)
{
	return PROC_SLOTS * sizeof(struct cached_proc) + CTR_SLOTS * sizeof(struct cached_ctr) +
	       LINK_SLOTS * sizeof(struct cached_link);
}

/* Made by a writer's open (store_owners_prepare), else at the first record: the slots
 * (17 KiB), hit at random, made resident at once (mem_populate: about 1 us a page, against
 * 12-17 us a page fault on the VMs measured); and the pools, an anonymous mapping whose pages
 * the kernel makes as entries are first written (taken in order, written whole). */
static struct owner_cache *cache(struct store *s)
{
	struct owner_cache *oc = s->owners;
	if (oc || !(oc = calloc(1, sizeof(*oc))))
		return oc;
	void *m = mmap(NULL, pools_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (m == MAP_FAILED) {
		free(oc);
		return NULL;
	}
	mem_populate(oc, sizeof(*oc));
	oc->proc_pool = m;
	oc->ctr_pool = (struct cached_ctr *)(oc->proc_pool + PROC_SLOTS);
	oc->link_pool = (struct cached_link *)(oc->ctr_pool + CTR_SLOTS);
	return s->owners = oc;
}

/* A writer's open: the cache made, and its pools' memory too (mem_populate), so that the
 * first processes' entries cost no page fault on the writer's thread (unit.store_prepare). */
int store_owners_prepare(struct store *s)
{
	struct owner_cache *oc = cache(s);
	if (!oc)
		return -ENOMEM;
	if (!oc->procs_used && !oc->ctrs_used && !oc->links_used)
		mem_populate(oc->proc_pool, pools_size());
	return 0;
}

void store_owners_free(struct store *s)
{
	if (s->owners)
		munmap(s->owners->proc_pool, pools_size());
	free(s->owners);
	s->owners = NULL;
}

int store_put_process(struct store *s, const struct ecap_proc_info *pi)
{
	int err = chunk_builder_add_process(&s->cb, pi);
	if (err)
		return store_fail(s, err, "%s: %s", s->dir, strerror(-err));
	struct owner_cache *oc = pi->start_ns ? cache(s) : NULL;
	if (oc) {
		struct cached_proc *p = proc_slot(oc, pi->pid, pi->start_ns, true);
		p->info = *pi;
		p->epoch = store_flow_epoch(s);
	}
	return 0;
}

int store_put_container(struct store *s, const struct ecap_container *c)
{
	int err = chunk_builder_add_container(&s->cb, c);
	if (err)
		return store_fail(s, err, "%s: %s", s->dir, strerror(-err));
	struct owner_cache *oc = c->id[0] ? cache(s) : NULL;
	if (oc) {
		struct cached_ctr *k = ctr_slot(oc, c->id, true);
		k->c = *c;
		k->epoch = store_flow_epoch(s);
	}
	return 0;
}

int store_put_flow_link(struct store *s, const struct flow_link *link)
{
	int err = chunk_builder_add_link(&s->cb, link);
	store_chunk_begun(s);
	if (err)
		return store_fail(s, err, "%s: %s", s->dir, strerror(-err));
	struct owner_cache *oc = cache(s);
	if (oc) {
		struct cached_link *k = link_slot(oc, link->pre_id, true);
		k->link = *link;
		k->epoch = store_flow_epoch(s);
		oc->any_link = true;
	}
	return 0;
}

/* The NAT link of flow id as its pre_id (the flow before the translation) into the open
 * chunk, when its latest epoch is not the open chunk's. */
static int bring_link(struct store *s, uint64_t id)
{
	uint32_t epoch = store_flow_epoch(s);
	if (!s->owners->any_link)
		return 0;
	struct cached_link *k = link_slot(s->owners, id, false);
	if (!k || !k->epoch || k->epoch == epoch || k->link.pre_id != id)
		return 0;
	k->epoch = epoch;
	return chunk_builder_add_link(&s->cb, &k->link);
}

/* The records of the owner p's process and container into the open chunk, when their latest
 * epoch is not the open chunk's. */
static int bring_owner(struct store *s, const struct ecap_proc *p)
{
	if (!p->valid || !p->start_ns)
		return 0;
	uint32_t epoch = store_flow_epoch(s);
	struct cached_proc *cp = proc_slot(s->owners, p->pid, p->start_ns, false);
	if (!cp || !cp->epoch || cp->epoch == epoch || cp->info.pid != p->pid ||
	    cp->info.start_ns != p->start_ns)
		return 0;
	int err = chunk_builder_add_process(&s->cb, &cp->info);
	if (err)
		return err;
	cp->epoch = epoch;
	if (!cp->info.container_id[0])
		return 0;
	struct cached_ctr *k = ctr_slot(s->owners, cp->info.container_id, false);
	if (!k || !k->epoch || k->epoch == epoch ||
	    strncmp(k->c.id, cp->info.container_id, ECAP_CONTAINER_ID_MAX))
		return 0;
	k->epoch = epoch;
	return chunk_builder_add_container(&s->cb, &k->c);
}

int store_put_flow(struct store *s, const struct flow_record *flow)
{
	int err = chunk_builder_add_flow(&s->cb, flow);
	for (int side = 0; side < 2 && !err && s->owners; side++)
		err = bring_owner(s, &flow->proc[side]);
	if (!err && s->owners)
		err = bring_link(s, flow->id);
	store_chunk_begun(s);
	return err ? store_fail(s, err, "%s: %s", s->dir, strerror(-err)) : 0;
}
