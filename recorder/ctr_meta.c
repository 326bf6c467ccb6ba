// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctr_meta.c - container metadata, looked up on a worker thread and cached (ctr_meta.h).
 *
 * The cache is CTR_META_SLOTS entries searched in order (a host runs hundreds of containers
 * at most; an entry is looked for once per process and minute, not per packet). An entry is
 * queued (to be asked), busy (being asked: the worker holds only its id), found, or unknown
 * (asked again after CTR_META_RETRY_NS). When every entry is taken, the one wanted longest
 * ago that is neither queued nor busy makes room; when none can, the want is dropped and
 * counted. Which runtime is asked: containerd's bundles for a container whose cgroup path
 * says containerd or kubepods, then the Docker-API sockets in order (the runtime podman or
 * docker puts its own socket first among the defaults). A socket that is not there is
 * skipped without a word; any other failure is said once per socket and kind on stderr.
 */
#include "ctr_meta.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <time.h>

#include "ctr_docker.h"
#include "ctr_oci.h"
#include "ossl_init.h"

enum slot_state { S_FREE, S_QUEUED, S_BUSY, S_FOUND, S_UNKNOWN };

struct slot {
	enum slot_state state;
	char id[ECAP_CONTAINER_ID_MAX];
	char runtime[ECAP_RUNTIME_MAX];
	char pod_uid[ECAP_POD_UID_MAX];
	bool emit;                /* found, and to be stored */
	uint64_t want_ns;         /* last wanted */
	uint64_t stored_ns;       /* last handed to be stored, 0: never */
	uint64_t retry_ns;        /* unknown: not asked before then */
	struct ecap_container c;
};

struct ctr_meta {
	struct ctr_meta_options opt;
	const char *api[CTR_META_API_MAX + 2];
	size_t n_api;
	pthread_mutex_t lock;
	pthread_cond_t work, idle;
	pthread_t thread;
	bool started, stop;
	size_t pending;           /* queued and busy */
	size_t n_emit;            /* slots with emit set: collect walks the slots only then */
	struct slot *slots;
	struct ctr_meta_stats st;
	char said[CTR_META_API_MAX + 3][96]; /* the last failure said per source */
};

/* A slot's description is to be stored at the next ctr_meta_collect(). Under the lock. */
static void set_emit(struct ctr_meta *m, struct slot *s)
{
	if (!s->emit)
		m->n_emit++;
	s->emit = true;
}

static uint64_t now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ctr_meta_new(const struct ctr_meta_options *opt, struct ctr_meta **out)
{
	struct ctr_meta *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->slots = calloc(CTR_META_SLOTS, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return -ENOMEM;
	}
	m->opt = *opt;
	if (!m->opt.oci_root)
		m->opt.oci_root = CTR_OCI_ROOT;
	if (m->opt.timeout_ms <= 0)
		m->opt.timeout_ms = CTR_META_TIMEOUT_MS;
	for (size_t i = 0; i < opt->n_api && i < CTR_META_API_MAX; i++)
		m->api[m->n_api++] = opt->api[i];
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->work, NULL);
	pthread_cond_init(&m->idle, NULL);
	/* before any thread: libcurl's global state (HTTP over a unix socket needs no TLS);
	 * libcurl starts the libcrypto it links, so ecap's start without configuration first */
	ecap_ossl_init();
	curl_global_init(CURL_GLOBAL_NOTHING);
	*out = m;
	return 0;
}

/* The Docker-API sockets to ask about a container of runtime, in order. */
static size_t api_order(const struct ctr_meta *m, const char *runtime, const char **v)
{
	size_t n = 0;

	if (m->n_api) {
		for (size_t i = 0; i < m->n_api; i++)
			v[n++] = m->api[i];
		return n;
	}
	if (!strcmp(runtime, "crio"))
		return 0; /* CRI-O serves no Docker API */
	if (!strcmp(runtime, "docker")) {
		v[n++] = CTR_DOCKER_SOCKET;
		v[n++] = CTR_PODMAN_SOCKET;
	} else {
		v[n++] = CTR_PODMAN_SOCKET;
		v[n++] = CTR_DOCKER_SOCKET;
	}
	return n;
}

/* Says a source's failure once (until it fails otherwise). Worker thread. */
static void say(struct ctr_meta *m, size_t source, const char *err)
{
	if (m->opt.quiet || !strncmp(m->said[source], err, sizeof(m->said[0]) - 1))
		return;
	snprintf(m->said[source], sizeof(m->said[0]), "%s", err);
	fprintf(stderr, "ecap-rec: container metadata: %s\n", err);
}

/* 1 found, 0 unknown to every runtime asked, <0 no runtime could answer. Worker thread. */
static int lookup(struct ctr_meta *m, struct ctr_docker *d, const struct slot *want,
		  struct ecap_container *out)
{
	const char *api[CTR_META_API_MAX + 2];
	size_t n = api_order(m, want->runtime, api);
	char err[256];
	int r, rc = 0;

	if (!strcmp(want->runtime, "containerd") || !strcmp(want->runtime, "cri")) {
		r = ctr_oci_lookup(m->opt.oci_root, want->id, out, err, sizeof(err));
		if (r == 1)
			return 1;
		if (r < 0 && r != -ENOENT) {
			say(m, CTR_META_API_MAX + 2, err);
			rc = r;
		}
	}
	for (size_t i = 0; i < n; i++) {
		memset(out, 0, sizeof(*out));
		r = ctr_docker_inspect(d, api[i], want->id, m->opt.timeout_ms, out, err,
				       sizeof(err));
		if (r == 1)
			return 1;
		if (r < 0 && r != -ENOENT) {
			say(m, i, err);
			rc = r;
		}
	}
	return rc;
}

static struct slot *next_queued(struct ctr_meta *m)
{
	for (size_t i = 0; i < CTR_META_SLOTS; i++)
		if (m->slots[i].state == S_QUEUED)
			return &m->slots[i];
	return NULL;
}

static void *worker(void *arg)
{
	struct ctr_meta *m = arg;
	struct ctr_docker *d = ctr_docker_new();
	struct ecap_container c;
	struct slot want, *s;
	cap_t none = cap_init();
	uint64_t t0, dt;
	int rc;

	/* what it parses is hostile: this thread keeps no capability (the others keep theirs) */
	if (!none || cap_set_proc(none) < 0)
		fprintf(stderr, "ecap-rec: container metadata: cannot drop capabilities: %s\n",
			strerror(errno));
	cap_free(none);
	pthread_mutex_lock(&m->lock);
	for (;;) {
		while (!m->stop && !(s = next_queued(m)))
			pthread_cond_wait(&m->work, &m->lock);
		if (m->stop)
			break;
		s->state = S_BUSY;
		want = *s;
		pthread_mutex_unlock(&m->lock);

		memset(&c, 0, sizeof(c));
		t0 = now_mono();
		rc = d ? lookup(m, d, &want, &c) : -ENOMEM;
		dt = now_mono() - t0;

		pthread_mutex_lock(&m->lock);
		m->st.asked++;
		m->st.latency_sum_ns += dt;
		if (dt > m->st.latency_max_ns)
			m->st.latency_max_ns = dt;
		/* s stays this id's: a busy slot is never taken for another */
		if (rc == 1) {
			m->st.found++;
			s->state = S_FOUND;
			s->c = c;
			snprintf(s->c.id, sizeof(s->c.id), "%s", s->id);
			snprintf(s->c.runtime, sizeof(s->c.runtime), "%s", s->runtime);
			if (!s->c.pod_uid[0])
				snprintf(s->c.pod_uid, sizeof(s->c.pod_uid), "%s", s->pod_uid);
			set_emit(m, s);
		} else {
			rc == 0 ? m->st.unknown++ : m->st.failed++;
			s->state = S_UNKNOWN;
			s->retry_ns = now_mono() + CTR_META_RETRY_NS;
		}
		m->pending--;
		pthread_cond_broadcast(&m->idle);
	}
	pthread_mutex_unlock(&m->lock);
	ctr_docker_free(d);
	return NULL;
}

int ctr_meta_start(struct ctr_meta *m)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the worker takes no signal */
	rc = pthread_create(&m->thread, NULL, worker, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return -rc;
	m->started = true;
	return 0;
}

/* The slot of id, or a slot for it (NULL: every slot is queued or busy). Under the lock. */
static struct slot *slot_for(struct ctr_meta *m, const char *id)
{
	struct slot *free_slot = NULL, *oldest = NULL;

	for (size_t i = 0; i < CTR_META_SLOTS; i++) {
		struct slot *s = &m->slots[i];

		if (s->state == S_FREE) {
			if (!free_slot)
				free_slot = s;
			continue;
		}
		if (!strcmp(s->id, id))
			return s;
		if ((s->state == S_FOUND || s->state == S_UNKNOWN) && !s->emit &&
		    (!oldest || s->want_ns < oldest->want_ns))
			oldest = s;
	}
	if (!free_slot && oldest)
		memset(oldest, 0, sizeof(*oldest));
	return free_slot ? free_slot : oldest;
}

void ctr_meta_want(struct ctr_meta *m, const char *id, const char *runtime, const char *pod_uid,
		   uint64_t now_ns)
{
	struct slot *s;

	if (!m || strlen(id) != 64)
		return;
	pthread_mutex_lock(&m->lock);
	m->st.wanted++;
	s = slot_for(m, id);
	if (!s) {
		m->st.dropped++;
	} else if (s->state == S_FREE) {
		snprintf(s->id, sizeof(s->id), "%s", id);
		snprintf(s->runtime, sizeof(s->runtime), "%s", runtime);
		snprintf(s->pod_uid, sizeof(s->pod_uid), "%s", pod_uid);
		s->state = S_QUEUED;
		m->pending++;
		pthread_cond_signal(&m->work);
	} else if (s->state == S_UNKNOWN && now_ns >= s->retry_ns) {
		s->state = S_QUEUED;
		m->pending++;
		pthread_cond_signal(&m->work);
	} else if (s->state == S_FOUND && s->stored_ns &&
		   now_ns - s->stored_ns >= CTR_META_REFRESH_NS) {
		set_emit(m, s);
	}
	if (s)
		s->want_ns = now_ns;
	pthread_mutex_unlock(&m->lock);
}

int ctr_meta_collect(struct ctr_meta *m, uint64_t now_ns, uint64_t wall_ns,
		     int (*fn)(void *ctx, const struct ecap_container *c), void *ctx)
{
	int rc = 0;

	if (!m)
		return 0;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < CTR_META_SLOTS && rc == 0 && m->n_emit; i++) {
		struct slot *s = &m->slots[i];

		if (!s->emit)
			continue;
		if (!s->c.first_ns)
			s->c.first_ns = wall_ns;
		s->c.last_ns = wall_ns;
		rc = fn(ctx, &s->c);
		s->emit = false;
		m->n_emit--;
		s->stored_ns = now_ns ? now_ns : 1;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void ctr_meta_stop(struct ctr_meta *m, int wait_ms)
{
	uint64_t until = now_mono() + (uint64_t)wait_ms * 1000000ull;
	struct timespec ts;

	if (!m || !m->started)
		return;
	pthread_mutex_lock(&m->lock);
	while (m->pending && now_mono() < until) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&m->idle, &m->lock, &ts);
	}
	m->stop = true;
	pthread_cond_signal(&m->work);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	m->started = false;
}

void ctr_meta_get_stats(struct ctr_meta *m, struct ctr_meta_stats *st)
{
	pthread_mutex_lock(&m->lock);
	*st = m->st;
	pthread_mutex_unlock(&m->lock);
}

void ctr_meta_free(struct ctr_meta *m)
{
	if (!m)
		return;
	ctr_meta_stop(m, 0);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->work);
	pthread_cond_destroy(&m->idle);
	free(m->slots);
	free(m);
	curl_global_cleanup();
}
