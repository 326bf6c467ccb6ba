/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * flowids.h - exact local flow ids for ecap-export --flow-ids (what ecap-export --fleet asks
 * each host for): "7,12,40-45", parsed into a sealed idset, and written back in the same
 * compact form.
 */
#ifndef ECAP_EXPORT_FLOWIDS_H
#define ECAP_EXPORT_FLOWIDS_H

#include <stddef.h>

#include "idset.h"

/* Ids and ranges (A-B, A <= B) separated by commas; at most FLOWIDS_MAX ids in all.
 * 0 or -EINVAL (malformed, a zero id, too many). Appends to out, then seals it. */
#define FLOWIDS_MAX 10000000u
int flowids_parse(const char *s, struct idset *out);
/* A sealed set as "1-3,7": a malloc'd string, or NULL (errno). */
char *flowids_format(const struct idset *s);

#endif
