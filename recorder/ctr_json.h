/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctr_json.h - what ecap keeps of a container runtime's JSON (a Docker API answer, an OCI
 * bundle's config.json, a ContainerLabels comment read back): parsing bounded in size and
 * depth (json-c), strings cut to their field and made printable ASCII, labels as one JSON
 * object of strings with sorted keys, cut at whole pairs, and the Kubernetes pod they name.
 * Everything parsed here comes from outside ecap and is treated as hostile.
 */
#ifndef ECAP_CTR_JSON_H
#define ECAP_CTR_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "../schema/records.h"

struct json_object;

#define CTR_JSON_MAX (512u * 1024)   /* the largest answer parsed */
#define CTR_JSON_DEPTH 16            /* the deepest nesting parsed */
#define CTR_LABELS_PAIRS_MAX 256     /* labels looked at (the rest are left out) */

/* Exactly one JSON value in n bytes (at most CTR_JSON_MAX, depth at most CTR_JSON_DEPTH);
 * NULL when it is not. Release with json_object_put(). */
struct json_object *ctr_json_parse(const char *text, size_t n);

/* obj's member at path ("Config.Image": objects down to the last name) when it is a
 * string: its bytes and length; NULL otherwise. */
const char *ctr_json_string(struct json_object *obj, const char *path, size_t *len);
/* obj's member at path when it is an object; NULL otherwise. */
struct json_object *ctr_json_object(struct json_object *obj, const char *path);

/* The string at path into out (size bytes), printable ASCII; false (out "") when absent. */
bool ctr_json_text(struct json_object *obj, const char *path, char *out, size_t size);

/* The same for obj's member named key (which may hold dots, as annotations' names do). */
bool ctr_json_key_text(struct json_object *obj, const char *key, char *out, size_t size);

/* The string members of object labels as {"key":"value",...} in out: keys sorted, texts
 * printable ASCII, '"' and '\' escaped, pairs that do not fit left out whole, and of keys
 * that come out the same only the first by value. NULL labels (the runtime has none) give
 * "{}". Returns the count of pairs written. */
int ctr_json_labels(struct json_object *labels, char *out, size_t size);

/* The pod that labels (or annotations) name with keys name_key, ns_key and uid_key. */
void ctr_json_pod(struct json_object *labels, const char *name_key, const char *ns_key,
		  const char *uid_key, struct ecap_container *c);

#endif
