// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_ctr_answer.c - libFuzzer target for what container runtimes say (recorder/ctr_*.c):
 * a Docker API answer (ctr_docker_parse), an OCI bundle's config.json (ctr_oci_parse), the
 * container lines of an export comment read back (replay_comment_container), and podman's
 * container and pod inspections (ctr_docker_parse_pod_of, ctr_docker_parse_pod). The first
 * byte picks the parser; the rest is given as is, of exactly its size (a read past it is
 * caught). Whatever parses must come out NUL-terminated printable ASCII in every field, and
 * labels, when there are any, one JSON object that parses again to itself.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctr_docker.h"
#include "ctr_json.h"
#include "ctr_oci.h"
#include "replay.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t size)
{
	if (!memchr(s, 0, size))
		abort();
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			abort();
}

static void check(const struct ecap_container *c)
{
	char again[ECAP_LABELS_MAX];
	struct json_object *o;

	check_text(c->id, sizeof(c->id));
	check_text(c->runtime, sizeof(c->runtime));
	check_text(c->name, sizeof(c->name));
	check_text(c->image, sizeof(c->image));
	check_text(c->labels, sizeof(c->labels));
	check_text(c->pod_name, sizeof(c->pod_name));
	check_text(c->pod_namespace, sizeof(c->pod_namespace));
	check_text(c->pod_uid, sizeof(c->pod_uid));
	if (!c->labels[0])
		return;
	o = ctr_json_parse(c->labels, strlen(c->labels));
	if (!o || !json_object_is_type(o, json_type_object))
		abort();
	ctr_json_labels(o, again, sizeof(again));
	json_object_put(o);
	if (strcmp(again, c->labels) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ecap_container c;
	char *buf;
	int rc;

	if (size < 1)
		return 0;
	buf = malloc(size - 1 ? size - 1 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	memset(&c, 0, sizeof(c));
	switch (data[0] % 5) {
	case 0:
		rc = ctr_docker_parse(buf, size - 1, ID, &c);
		if (rc == 0 && strcmp(c.id, ID) != 0)
			abort(); /* an answer is kept only about the container asked */
		break;
	case 1:
		rc = ctr_oci_parse(buf, size - 1, &c);
		break;
	case 2:
		rc = replay_comment_container(buf, size - 1, &c) ? 0 : -1;
		break;
	case 3: {
		char pod[ECAP_CONTAINER_ID_MAX];
		rc = ctr_docker_parse_pod_of(buf, size - 1, pod);
		if (rc == 0 && (strlen(pod) != 64 || strspn(pod, "0123456789abcdef") != 64))
			abort();
		rc = -1;
		break;
	}
	default:
		rc = ctr_docker_parse_pod(buf, size - 1, ID, &c);
		break;
	}
	if (rc == 0)
		check(&c);
	free(buf);
	return 0;
}
