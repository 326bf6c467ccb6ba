// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_ctr_meta.c - container metadata from runtimes (recorder/ctr_*.c), which is hostile
 * input: labels made one sorted, escaped, printable JSON object cut at whole pairs; Docker API
 * answers parsed only when they are about the container asked (depth and size bounded);
 * containerd bundles read with no symlink followed and only when root's (or ours); a fake
 * Docker API on a unix socket (a thread here) that answers, does not know, answers too much
 * or too late; and the worker that asks it, caching answers and misses, never holding up the
 * caller.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctr_docker.h"
#include "ctr_json.h"
#include "ctr_meta.h"
#include "ctr_oci.h"

#define ID_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void labels_of(const char *json, char *out, size_t size)
{
	struct json_object *o = ctr_json_parse(json, strlen(json));
	assert_non_null(o);
	ctr_json_labels(o, out, size);
	json_object_put(o);
}

static void test_labels(void **state)
{
	char out[ECAP_LABELS_MAX];
	(void)state;

	labels_of("{\"b\":\"2\",\"a\":\"1\",\"n\":7,\"q\":\"say \\\"hi\\\" \\\\o/\","
		  "\"bell\":\"\\u0007x\\u00e9\"}", out, sizeof(out));
	/* sorted; numbers left out; quotes and backslashes escaped; the rest printable (each
	 * byte: e-acute is two in UTF-8) */
	assert_string_equal(out, "{\"a\":\"1\",\"b\":\"2\",\"bell\":\"?x??\","
				 "\"q\":\"say \\\"hi\\\" \\\\o/\"}");
	/* what it wrote parses back to the same */
	char again[ECAP_LABELS_MAX];
	labels_of(out, again, sizeof(again));
	assert_string_equal(again, out);
	/* cut at whole pairs: a pair that does not fit is left out, the object stays valid */
	labels_of("{\"a\":\"1\",\"bb\":\"22222222\",\"c\":\"3\"}", out, 20);
	assert_string_equal(out, "{\"a\":\"1\",\"c\":\"3\"}");
	/* keys that differ only in bytes made printable ("\u00e9" is two bytes in UTF-8) come
	 * out the same: one pair is kept (the first by value), so the object reads back to
	 * itself (found by fuzz_ctr_answer) */
	labels_of("{\"\?\?x\":\"2\",\"\\u00e9x\":\"1\",\"y\":\"3\"}", out, sizeof(out));
	assert_string_equal(out, "{\"\?\?x\":\"1\",\"y\":\"3\"}");
	labels_of(out, again, sizeof(again));
	assert_string_equal(again, out);
	ctr_json_labels(NULL, out, sizeof(out));
	assert_string_equal(out, "{}");
	/* not one JSON value */
	assert_null(ctr_json_parse("{\"a\":\"1\"} {}", 12));
	assert_null(ctr_json_parse("{\"a\":", 5));
	char deep[200];
	memset(deep, '[', 40);
	memset(deep + 40, ']', 40);
	assert_null(ctr_json_parse(deep, 80)); /* deeper than CTR_JSON_DEPTH */
}

static const char answer_a[] =
	"{\"Id\":\"" ID_A "\",\"Name\":\"/web-1\",\"Image\":\"sha256:0f0f\","
	"\"Config\":{\"Image\":\"docker.io/library/nginx:1.25\",\"Labels\":{"
	"\"io.kubernetes.pod.name\":\"web-7d9f\",\"io.kubernetes.pod.namespace\":\"prod\","
	"\"io.kubernetes.pod.uid\":\"5e1c7b0a-1111-2222-3333-444455556666\",\"app\":\"web\"}}}";

/* podman: a container in a pod, whose labels are the pod's */
static const char answer_b[] =
	"{\"Id\":\"" ID_B "\",\"Name\":\"in-pod\",\"Config\":{\"Image\":\"x:1\",\"Labels\":{}}}";
static const char pod_a[] =
	"{\"Id\":\"" ID_A "\",\"Name\":\"web\",\"Labels\":{\"io.kubernetes.pod.name\":\"web-7d9f\","
	"\"io.kubernetes.pod.namespace\":\"prod\"}}";

static void test_docker_parse(void **state)
{
	struct ecap_container c;
	(void)state;

	memset(&c, 0, sizeof(c));
	assert_int_equal(ctr_docker_parse(answer_a, strlen(answer_a), ID_A, &c), 0);
	assert_string_equal(c.id, ID_A);
	assert_string_equal(c.name, "web-1");
	assert_string_equal(c.image, "docker.io/library/nginx:1.25");
	assert_string_equal(c.pod_name, "web-7d9f");
	assert_string_equal(c.pod_namespace, "prod");
	assert_string_equal(c.pod_uid, "5e1c7b0a-1111-2222-3333-444455556666");
	assert_non_null(strstr(c.labels, "\"app\":\"web\""));
	/* an answer about another container is no answer */
	memset(&c, 0, sizeof(c));
	assert_int_equal(ctr_docker_parse(answer_a, strlen(answer_a), ID_B, &c), -EBADMSG);
	assert_string_equal(c.name, "");
	/* no Config.Image: the image id; no labels: "{}"; a long name cut */
	char doc[600];
	char name[400];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(doc, sizeof(doc), "{\"Id\":\"%s\",\"Name\":\"/%s\",\"Image\":\"sha256:0f0f\"}",
		 ID_B, name);
	memset(&c, 0, sizeof(c));
	assert_int_equal(ctr_docker_parse(doc, strlen(doc), ID_B, &c), 0);
	assert_string_equal(c.image, "sha256:0f0f");
	assert_string_equal(c.labels, "{}");
	assert_int_equal(strlen(c.name), ECAP_CTR_NAME_MAX - 1);
	assert_int_equal(ctr_docker_parse("[]", 2, ID_A, &c), -EBADMSG);
	assert_int_equal(ctr_docker_parse("not json", 8, ID_A, &c), -EBADMSG);
}

/* ---- containerd bundles, as files made here ---------------------------------------- */

static char tmp[64];

static void put_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
}

static const char bundle_json[] =
	"{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"nginx\"]},\"annotations\":{"
	"\"io.kubernetes.cri.container-type\":\"container\","
	"\"io.kubernetes.cri.container-name\":\"nginx\","
	"\"io.kubernetes.cri.image-name\":\"docker.io/library/nginx:1.25\","
	"\"io.kubernetes.cri.sandbox-name\":\"web-7d9f\","
	"\"io.kubernetes.cri.sandbox-namespace\":\"prod\","
	"\"io.kubernetes.cri.sandbox-uid\":\"5e1c7b0a-1111-2222-3333-444455556666\"}}";

static void test_oci(void **state)
{
	char root[128], p[256], err[256];
	struct ecap_container c;
	(void)state;

	snprintf(tmp, sizeof(tmp), "/tmp/ecap-ctr-test.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	snprintf(root, sizeof(root), "%s/task", tmp);
	assert_int_equal(mkdir(root, 0711), 0);
	snprintf(p, sizeof(p), "%s/moby", root); /* a namespace without it */
	assert_int_equal(mkdir(p, 0711), 0);
	snprintf(p, sizeof(p), "%s/k8s.io", root);
	assert_int_equal(mkdir(p, 0711), 0);
	snprintf(p, sizeof(p), "%s/k8s.io/%s", root, ID_A);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/k8s.io/%s/config.json", root, ID_A);
	put_file(p, bundle_json, 0600);

	memset(&c, 0, sizeof(c));
	assert_int_equal(ctr_oci_lookup(root, ID_A, &c, err, sizeof(err)), 1);
	assert_string_equal(c.id, ID_A);
	assert_string_equal(c.runtime, "containerd");
	assert_string_equal(c.name, "nginx");
	assert_string_equal(c.image, "docker.io/library/nginx:1.25");
	assert_string_equal(c.pod_name, "web-7d9f");
	assert_string_equal(c.pod_namespace, "prod");
	assert_string_equal(c.pod_uid, "5e1c7b0a-1111-2222-3333-444455556666");
	assert_string_equal(c.labels, "");
	assert_int_equal(ctr_oci_lookup(root, ID_B, &c, err, sizeof(err)), 0);
	assert_int_equal(ctr_oci_lookup(root, "../../etc", &c, err, sizeof(err)), -EINVAL);

	/* a config.json others may write is not read */
	snprintf(p, sizeof(p), "%s/k8s.io/%s/config.json", root, ID_A);
	assert_int_equal(chmod(p, 0666), 0);
	assert_int_equal(ctr_oci_lookup(root, ID_A, &c, err, sizeof(err)), -EPERM);
	assert_int_equal(chmod(p, 0600), 0);
	/* nor one that is a symlink (to a file that would answer) */
	char real[256];
	snprintf(real, sizeof(real), "%s/elsewhere.json", tmp);
	put_file(real, bundle_json, 0600);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(real, p), 0);
	assert_true(ctr_oci_lookup(root, ID_A, &c, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "config.json"));
	/* nor a bundle directory that is a symlink */
	snprintf(p, sizeof(p), "%s/k8s.io/%s", root, ID_B);
	snprintf(real, sizeof(real), "%s/k8s.io/%s", root, ID_A);
	assert_int_equal(symlink(real, p), 0);
	assert_int_equal(ctr_oci_lookup(root, ID_B, &c, err, sizeof(err)), 0);
	/* not JSON */
	snprintf(p, sizeof(p), "%s/k8s.io/%s/config.json", root, ID_A);
	assert_int_equal(unlink(p), 0);
	put_file(p, "{\"annotations\":", 0600);
	assert_int_equal(ctr_oci_lookup(root, ID_A, &c, err, sizeof(err)), -EBADMSG);
	/* a root others may write is not walked */
	assert_int_equal(chmod(root, 0777), 0);
	assert_int_equal(ctr_oci_lookup(root, ID_A, &c, err, sizeof(err)), -EPERM);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	assert_int_equal(system(cmd), 0);
}

/* ---- a fake Docker API --------------------------------------------------------------- */

enum mode { ANSWER, NOT_FOUND, TOO_BIG, SILENT, OTHER_ID, PODMAN };

struct fake {
	char path[108];
	int fd;
	enum mode mode;
	int requests;
	pthread_t thread;
	pthread_mutex_t lock;
};

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void respond(int fd, int status, const char *body, size_t n)
{
	char head[200];
	int k = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
			 "Libpod-Api-Version: 4.3.1\r\nContent-Length: %zu\r\n\r\n", status, n);
	send_all(fd, head, (size_t)k);
	send_all(fd, body, n);
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	char req[4096];
	int c;

	while ((c = accept(f->fd, NULL, NULL)) >= 0) {
		size_t got = 0;
		ssize_t n;
		while (got < sizeof(req) - 1 &&
		       (n = recv(c, req + got, sizeof(req) - 1 - got, 0)) > 0) {
			got += (size_t)n;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		pthread_mutex_lock(&f->lock);
		f->requests++;
		enum mode m = f->mode;
		pthread_mutex_unlock(&f->lock);
		if (m == ANSWER && strstr(req, "GET /containers/" ID_A "/json ")) {
			respond(c, 200, answer_a, strlen(answer_a));
		} else if (m == PODMAN && strstr(req, "GET /containers/" ID_B "/json ")) {
			respond(c, 200, answer_b, strlen(answer_b));
		} else if (m == PODMAN &&
			   strstr(req, "GET /v4.0.0/libpod/containers/" ID_B "/json ")) {
			respond(c, 200, "{\"Pod\":\"" ID_A "\"}", 74);
		} else if (m == PODMAN && strstr(req, "GET /v4.0.0/libpod/pods/" ID_A "/json ")) {
			respond(c, 200, pod_a, strlen(pod_a));
		} else if (m == OTHER_ID) {
			respond(c, 200, answer_a, strlen(answer_a));
		} else if (m == TOO_BIG) {
			size_t big = CTR_JSON_MAX + 4096;
			char *b = malloc(big);
			memset(b, ' ', big);
			respond(c, 200, b, big);
			free(b);
		} else if (m == SILENT) {
			usleep(1500000);
		} else {
			respond(c, 404, "{\"message\":\"no such container\"}", 31);
		}
		close(c);
	}
	return NULL;
}

static void fake_start(struct fake *f, enum mode m)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "/tmp/ecap-ctr-api-%d.sock", (int)getpid());
	unlink(f->path);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->path);
	f->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->fd >= 0);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f->fd, 8), 0);
	f->mode = m;
	pthread_mutex_init(&f->lock, NULL);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_mode(struct fake *f, enum mode m)
{
	pthread_mutex_lock(&f->lock);
	f->mode = m;
	pthread_mutex_unlock(&f->lock);
}

static int fake_requests(struct fake *f)
{
	pthread_mutex_lock(&f->lock);
	int n = f->requests;
	pthread_mutex_unlock(&f->lock);
	return n;
}

static void fake_stop(struct fake *f)
{
	shutdown(f->fd, SHUT_RDWR);
	close(f->fd);
	pthread_join(f->thread, NULL);
	pthread_mutex_destroy(&f->lock);
	unlink(f->path);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_docker_inspect(void **state)
{
	struct ctr_docker *d = ctr_docker_new();
	struct ecap_container c;
	struct fake f;
	char err[256];
	(void)state;

	assert_non_null(d);
	fake_start(&f, ANSWER);
	memset(&c, 0, sizeof(c));
	assert_int_equal(ctr_docker_inspect(d, f.path, ID_A, 1000, &c, err, sizeof(err)), 1);
	assert_string_equal(c.name, "web-1");
	assert_int_equal(ctr_docker_inspect(d, f.path, ID_B, 1000, &c, err, sizeof(err)), 0);
	fake_mode(&f, PODMAN); /* the pod's labels, asked of the pod */
	memset(&c, 0, sizeof(c));
	assert_int_equal(ctr_docker_inspect(d, f.path, ID_B, 1000, &c, err, sizeof(err)), 1);
	assert_string_equal(c.name, "in-pod");
	assert_string_equal(c.labels, "{}");
	assert_string_equal(c.pod_name, "web-7d9f");
	assert_string_equal(c.pod_namespace, "prod");
	fake_mode(&f, OTHER_ID); /* answers about A when asked about B */
	assert_int_equal(ctr_docker_inspect(d, f.path, ID_B, 1000, &c, err, sizeof(err)),
			 -EBADMSG);
	fake_mode(&f, TOO_BIG);
	assert_int_equal(ctr_docker_inspect(d, f.path, ID_A, 1000, &c, err, sizeof(err)), -E2BIG);
	fake_mode(&f, SILENT);
	uint64_t t0 = mono_ms();
	assert_int_equal(ctr_docker_inspect(d, f.path, ID_A, 300, &c, err, sizeof(err)),
			 -ETIMEDOUT);
	assert_true(mono_ms() - t0 < 1200);
	/* not a socket, not there */
	assert_int_equal(ctr_docker_inspect(d, "/etc/passwd", ID_A, 300, &c, err, sizeof(err)),
			 -EPERM);
	assert_int_equal(ctr_docker_inspect(d, "/nonexistent/api.sock", ID_A, 300, &c, err,
					    sizeof(err)), -ENOENT);
	assert_int_equal(ctr_docker_inspect(d, f.path, "0123", 300, &c, err, sizeof(err)), -EINVAL);
	fake_stop(&f);
	ctr_docker_free(d);
}

struct got {
	int n;
	struct ecap_container last;
};

static int on_container(void *ctx, const struct ecap_container *c)
{
	struct got *g = ctx;
	g->n++;
	g->last = *c;
	return 0;
}

static void test_worker(void **state)
{
	struct ctr_meta_options o = { .timeout_ms = 500, .quiet = true };
	struct ctr_meta_stats st;
	struct ctr_meta *m;
	struct got g = { 0 };
	struct fake f;
	(void)state;

	fake_start(&f, ANSWER);
	o.api[o.n_api++] = "/nonexistent/api.sock"; /* skipped without a word */
	o.api[o.n_api++] = f.path;
	assert_int_equal(ctr_meta_new(&o, &m), 0);
	/* wanted before the worker starts (the /proc scan comes before the privileges drop) */
	ctr_meta_want(m, ID_A, "podman", "", 1000);
	assert_int_equal(ctr_meta_start(m), 0);
	ctr_meta_want(m, ID_B, "docker", "5e1c7b0a-aaaa-bbbb-cccc-ddddeeeeffff", 1000);
	ctr_meta_want(m, ID_A, "podman", "", 1001); /* asked once */
	for (int i = 0; i < 200 && g.n == 0; i++) {
		usleep(10000);
		assert_int_equal(ctr_meta_collect(m, 2000, 77, on_container, &g), 0);
	}
	assert_int_equal(g.n, 1);
	assert_string_equal(g.last.id, ID_A);
	assert_string_equal(g.last.runtime, "podman"); /* as the cgroup path says */
	assert_string_equal(g.last.name, "web-1");
	assert_int_equal(g.last.first_ns, 77);
	/* B is unknown to the runtime: remembered, not asked again before the retry time */
	for (int i = 0; i < 200 && fake_requests(&f) < 2; i++)
		usleep(10000);
	ctr_meta_stop(m, 1000);
	ctr_meta_get_stats(m, &st);
	assert_int_equal(st.asked, 2);
	assert_int_equal(st.found, 1);
	assert_int_equal(st.unknown, 1);
	assert_int_equal(fake_requests(&f), 2);
	/* A again within the refresh time: nothing new to store; after it: stored again */
	ctr_meta_want(m, ID_A, "podman", "", 3000);
	assert_int_equal(ctr_meta_collect(m, 3000, 88, on_container, &g), 0);
	assert_int_equal(g.n, 1);
	ctr_meta_want(m, ID_A, "podman", "", 2000 + CTR_META_REFRESH_NS);
	assert_int_equal(ctr_meta_collect(m, 2000 + CTR_META_REFRESH_NS, 99, on_container, &g), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.last.first_ns, 77);
	assert_int_equal(g.last.last_ns, 99);
	ctr_meta_free(m);
	fake_stop(&f);
}

/* A runtime that never answers holds up neither want nor collect, and stop gives up. */
static void test_worker_slow_runtime(void **state)
{
	struct ctr_meta_options o = { .timeout_ms = 1000, .quiet = true };
	struct ctr_meta *m;
	struct got g = { 0 };
	struct fake f;
	(void)state;

	fake_start(&f, SILENT);
	o.api[o.n_api++] = f.path;
	assert_int_equal(ctr_meta_new(&o, &m), 0);
	assert_int_equal(ctr_meta_start(m), 0);
	uint64_t t0 = mono_ms();
	for (int i = 0; i < 50; i++) {
		ctr_meta_want(m, ID_A, "podman", "", (uint64_t)i);
		assert_int_equal(ctr_meta_collect(m, (uint64_t)i, 1, on_container, &g), 0);
	}
	assert_true(mono_ms() - t0 < 100);
	assert_int_equal(g.n, 0);
	ctr_meta_stop(m, 100);
	assert_true(mono_ms() - t0 < 2500); /* the lookup's own timeout at most */
	ctr_meta_free(m);
	fake_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_docker_parse),
		cmocka_unit_test(test_oci),
		cmocka_unit_test(test_docker_inspect),
		cmocka_unit_test(test_worker),
		cmocka_unit_test(test_worker_slow_runtime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
