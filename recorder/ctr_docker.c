// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctr_docker.c - the Docker API's container inspection (ctr_docker.h).
 *
 * libcurl, HTTP only, over the unix socket: no proxy (the environment's http_proxy must not
 * send the request elsewhere), no redirect, no content encoding (no decompression of what a
 * runtime sends), no signals (it runs on a worker thread), a connect and a total timeout, and
 * the body kept up to CTR_JSON_MAX bytes: a longer one aborts the transfer. Of the answer:
 * Id (must be the id asked about: a wrong answer is worse than none), Name (without Docker's
 * leading '/'), Config.Image (the image as the container was created from it; the image id
 * when that is missing), Config.Labels, and the pod its io.kubernetes.pod.* labels name.
 * podman (it says so in a Libpod-Api-Version header) keeps a pod's labels on the pod, not on
 * its containers: when the container's labels name no pod, its pod (libpod's container
 * inspection, "Pod": 64 hex digits) is asked for them (libpod's pod inspection, whose "Id"
 * must be that pod). What those two say is only added: their failure leaves the answer.
 */
#include "ctr_docker.h"

#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctr_json.h"

struct ctr_docker {
	CURL *curl;
	char *body;
	size_t len;
	bool too_big;
	bool libpod;          /* the answer came from podman */
};

struct ctr_docker *ctr_docker_new(void)
{
	struct ctr_docker *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->body = malloc(CTR_JSON_MAX);
	d->curl = d->body ? curl_easy_init() : NULL;
	if (!d->curl) {
		free(d->body);
		free(d);
		return NULL;
	}
	return d;
}

void ctr_docker_free(struct ctr_docker *d)
{
	if (!d)
		return;
	curl_easy_cleanup(d->curl);
	free(d->body);
	free(d);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct ctr_docker *d = ctx;
	size_t n = size * nmemb;

	if (n > CTR_JSON_MAX - d->len) {
		d->too_big = true;
		return 0; /* aborts the transfer */
	}
	memcpy(d->body + d->len, p, n);
	d->len += n;
	return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct ctr_docker *d = ctx;
	size_t n = size * nmemb;
	static const char key[] = "Libpod-Api-Version:";

	if (n >= sizeof(key) - 1 && strncasecmp(p, key, sizeof(key) - 1) == 0)
		d->libpod = true;
	return n;
}

int ctr_docker_parse_pod_of(const char *json, size_t n, char pod[ECAP_CONTAINER_ID_MAX])
{
	struct json_object *doc = ctr_json_parse(json, n);

	pod[0] = '\0';
	if (!doc)
		return -EBADMSG;
	ctr_json_text(doc, "Pod", pod, ECAP_CONTAINER_ID_MAX);
	json_object_put(doc);
	if (strlen(pod) != 64 || strspn(pod, "0123456789abcdef") != 64)
		pod[0] = '\0';
	return pod[0] ? 0 : -ENOENT;
}

int ctr_docker_parse_pod(const char *json, size_t n, const char *pod, struct ecap_container *out)
{
	struct json_object *doc = ctr_json_parse(json, n);
	char got[ECAP_CONTAINER_ID_MAX];

	if (!doc)
		return -EBADMSG;
	if (!ctr_json_text(doc, "Id", got, sizeof(got)) || strcmp(got, pod) != 0) {
		json_object_put(doc);
		return -EBADMSG;
	}
	ctr_json_pod(ctr_json_object(doc, "Labels"), "io.kubernetes.pod.name",
		     "io.kubernetes.pod.namespace", "io.kubernetes.pod.uid", out);
	json_object_put(doc);
	return 0;
}

int ctr_docker_parse(const char *json, size_t n, const char *id, struct ecap_container *out)
{
	struct json_object *doc = ctr_json_parse(json, n), *labels;
	char got[ECAP_CONTAINER_ID_MAX], name[ECAP_CTR_NAME_MAX + 1];

	if (!doc)
		return -EBADMSG;
	if (!ctr_json_text(doc, "Id", got, sizeof(got)) || strcmp(got, id) != 0) {
		json_object_put(doc);
		return -EBADMSG;
	}
	snprintf(out->id, sizeof(out->id), "%s", id);
	ctr_json_text(doc, "Name", name, sizeof(name));
	snprintf(out->name, sizeof(out->name), "%.*s", (int)sizeof(out->name) - 1,
		 name[0] == '/' ? name + 1 : name);
	if (!ctr_json_text(doc, "Config.Image", out->image, sizeof(out->image)) || !out->image[0])
		ctr_json_text(doc, "Image", out->image, sizeof(out->image));
	labels = ctr_json_object(doc, "Config.Labels");
	ctr_json_labels(labels, out->labels, sizeof(out->labels));
	ctr_json_pod(labels, "io.kubernetes.pod.name", "io.kubernetes.pod.namespace",
		     "io.kubernetes.pod.uid", out);
	json_object_put(doc);
	return 0;
}

/* The socket is root's (or ours), and a socket: else it is not asked. */
static int check_socket(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISSOCK(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid())) {
		snprintf(err, errlen, "%s: not a socket of root's: not asked", path);
		return -EPERM;
	}
	return 0;
}

/* GET path on the socket: the HTTP status with the body in d, or -errno with err said. */
static int get(struct ctr_docker *d, const char *socket_path, const char *path, int timeout_ms,
	       char *err, size_t errlen)
{
	char url[192];
	long status = 0;
	CURLcode rc;

	snprintf(url, sizeof(url), "http://localhost%s", path);
	d->len = 0;
	d->too_big = false;
	curl_easy_reset(d->curl);
	curl_easy_setopt(d->curl, CURLOPT_URL, url);
	curl_easy_setopt(d->curl, CURLOPT_UNIX_SOCKET_PATH, socket_path);
	curl_easy_setopt(d->curl, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(d->curl, CURLOPT_PROXY, "");
	curl_easy_setopt(d->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(d->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(d->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(d->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(d->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CTR_JSON_MAX);
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(d->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(d->curl, CURLOPT_HEADERDATA, d);
	rc = curl_easy_perform(d->curl);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s: %s", socket_path,
			 d->too_big ? "answer larger than 512 KiB" : curl_easy_strerror(rc));
		return d->too_big || rc == CURLE_FILESIZE_EXCEEDED ? -E2BIG :
		       rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT :
		       rc == CURLE_COULDNT_CONNECT ? -ECONNREFUSED : -EIO;
	}
	curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
	return (int)status;
}

/* podman's pod of container id, and the pod its labels name, into out (when it says). */
static void libpod_pod(struct ctr_docker *d, const char *socket_path, const char *id,
		       int timeout_ms, struct ecap_container *out)
{
	char path[192], pod[ECAP_CONTAINER_ID_MAX], err[256];

	snprintf(path, sizeof(path), "/v4.0.0/libpod/containers/%s/json", id);
	if (get(d, socket_path, path, timeout_ms, err, sizeof(err)) != 200 ||
	    ctr_docker_parse_pod_of(d->body, d->len, pod) < 0)
		return;
	snprintf(path, sizeof(path), "/v4.0.0/libpod/pods/%s/json", pod);
	if (get(d, socket_path, path, timeout_ms, err, sizeof(err)) == 200)
		ctr_docker_parse_pod(d->body, d->len, pod, out);
}

int ctr_docker_inspect(struct ctr_docker *d, const char *socket_path, const char *id,
		       int timeout_ms, struct ecap_container *out, char *err, size_t errlen)
{
	char path[128];
	int r;

	err[0] = '\0';
	if (strlen(id) != 64 || strspn(id, "0123456789abcdef") != 64) {
		snprintf(err, errlen, "not a container id");
		return -EINVAL;
	}
	r = check_socket(socket_path, err, errlen);
	if (r < 0)
		return r;
	d->libpod = false;
	snprintf(path, sizeof(path), "/containers/%s/json", id);
	r = get(d, socket_path, path, timeout_ms, err, errlen);
	if (r == 404)
		return 0;
	if (r >= 0 && r != 200) {
		snprintf(err, errlen, "%s: HTTP status %d", socket_path, r);
		return -EIO;
	}
	if (r < 0)
		return r;
	r = ctr_docker_parse(d->body, d->len, id, out);
	if (r < 0) {
		snprintf(err, errlen, "%s: the answer is not an inspection of %.12s", socket_path,
			 id);
		return r;
	}
	if (d->libpod && !out->pod_name[0])
		libpod_pod(d, socket_path, id, timeout_ms, out);
	return 1;
}
