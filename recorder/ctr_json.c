// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctr_json.c - a container runtime's JSON, bounded and made printable (ctr_json.h).
 */
#include "ctr_json.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc_info.h"

struct json_object *ctr_json_parse(const char *text, size_t n)
{
	struct json_tokener *tok;
	struct json_object *obj;

	if (n == 0 || n > CTR_JSON_MAX)
		return NULL;
	tok = json_tokener_new_ex(CTR_JSON_DEPTH);
	if (!tok)
		return NULL;
	obj = json_tokener_parse_ex(tok, text, (int)n);
	/* one whole value, nothing after it but blanks (text is n bytes, not a C string) */
	if (obj && json_tokener_get_error(tok) == json_tokener_success) {
		for (size_t i = json_tokener_get_parse_end(tok); i < n && obj; i++) {
			if (!strchr(" \t\r\n", text[i]) || !text[i]) {
				json_object_put(obj);
				obj = NULL;
			}
		}
	} else if (obj) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

/* obj's member at path, of any type; NULL when a step is missing or not an object. */
static struct json_object *member(struct json_object *obj, const char *path)
{
	char name[64];
	const char *dot;
	size_t n;

	while (obj && json_object_is_type(obj, json_type_object)) {
		dot = strchr(path, '.');
		n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(name))
			return NULL;
		memcpy(name, path, n);
		name[n] = '\0';
		if (!json_object_object_get_ex(obj, name, &obj))
			return NULL;
		if (!dot)
			return obj;
		path = dot + 1;
	}
	return NULL;
}

const char *ctr_json_string(struct json_object *obj, const char *path, size_t *len)
{
	struct json_object *m = member(obj, path);

	if (!m || !json_object_is_type(m, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(m);
	return json_object_get_string(m);
}

struct json_object *ctr_json_object(struct json_object *obj, const char *path)
{
	struct json_object *m = member(obj, path);

	return m && json_object_is_type(m, json_type_object) ? m : NULL;
}

bool ctr_json_text(struct json_object *obj, const char *path, char *out, size_t size)
{
	size_t n;
	const char *s = ctr_json_string(obj, path, &n);

	out[0] = '\0';
	if (!s)
		return false;
	proc_info_printable(out, size, s, n);
	return true;
}

bool ctr_json_key_text(struct json_object *obj, const char *key, char *out, size_t size)
{
	struct json_object *m;

	out[0] = '\0';
	if (!obj || !json_object_object_get_ex(obj, key, &m) ||
	    !json_object_is_type(m, json_type_string))
		return false;
	proc_info_printable(out, size, json_object_get_string(m),
			    (size_t)json_object_get_string_len(m));
	return true;
}

struct pair {
	char key[128], value[256];
};

/* by key, then by value: the order of pairs whose keys came out the same is fixed too */
static int cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->value, y->value);
}

/* s as a JSON string ("..." with '"' and '\' escaped) at out, which holds 2 * strlen(s) + 3
 * bytes; its length. */
static size_t put_string(char *out, const char *s)
{
	size_t k = 0;

	out[k++] = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			out[k++] = '\\';
		out[k++] = *s;
	}
	out[k++] = '"';
	return k;
}

int ctr_json_labels(struct json_object *labels, char *out, size_t size)
{
	char pair[2 * (sizeof(((struct pair *)0)->key) + sizeof(((struct pair *)0)->value)) + 8];
	struct pair *v;
	size_t n = 0, at = 1, k;
	int kept = 0;

	if (size < 3)
		return 0;
	snprintf(out, size, "{}");
	if (!labels || !json_object_is_type(labels, json_type_object))
		return 0;
	v = calloc(CTR_LABELS_PAIRS_MAX, sizeof(*v));
	if (!v)
		return 0;
	json_object_object_foreach(labels, key, val) {
		if (n == CTR_LABELS_PAIRS_MAX)
			break;
		if (!json_object_is_type(val, json_type_string))
			continue;
		proc_info_printable(v[n].key, sizeof(v[n].key), key, strlen(key));
		proc_info_printable(v[n].value, sizeof(v[n].value), json_object_get_string(val),
				    (size_t)json_object_get_string_len(val));
		if (v[n].key[0])
			n++;
	}
	qsort(v, n, sizeof(*v), cmp_pair);
	for (size_t i = 0; i < n; i++) {
		/* Keys that differ only in bytes made printable, or beyond the length kept, come
		 * out the same: one object with a key twice is read differently by each reader (and
		 * would not read back to itself), so only the first of them, by value, is kept. */
		if (i > 0 && strcmp(v[i].key, v[i - 1].key) == 0)
			continue;
		k = 0;
		if (kept)
			pair[k++] = ',';
		k += put_string(pair + k, v[i].key);
		pair[k++] = ':';
		k += put_string(pair + k, v[i].value);
		/* the pair, the closing brace and the NUL must fit: else the pair is left out */
		if (at + k + 2 > size)
			continue;
		memcpy(out + at, pair, k);
		at += k;
		kept++;
	}
	out[at] = '}';
	out[at + 1] = '\0';
	free(v);
	return kept;
}

void ctr_json_pod(struct json_object *labels, const char *name_key, const char *ns_key,
		  const char *uid_key, struct ecap_container *c)
{
	ctr_json_key_text(labels, name_key, c->pod_name, sizeof(c->pod_name));
	ctr_json_key_text(labels, ns_key, c->pod_namespace, sizeof(c->pod_namespace));
	ctr_json_key_text(labels, uid_key, c->pod_uid, sizeof(c->pod_uid));
}
