// SPDX-License-Identifier: GPL-2.0-only
/*
 * tls_calibrate.c - calibration of a libssl build (tls_calibrate.h): the cache, the sandboxed
 * child that does the work (tls_calib_search.c) and the text and JSON formats.
 *
 * The search loads a foreign library, whose constructors and functions are code ecap did not
 * ship, so it runs only in the sandbox (sandbox.h): as nobody, without capabilities, under
 * seccomp, in its own namespaces, given the library as an open descriptor (the file that was
 * checked is the file that loads). A build that crashes, hangs or attacks costs a report, not
 * the recorder. The child answers on its stdout, in the cache format (see tls_calibrate.h)
 * after a first line "ok <microseconds>", or one line "error <errno> <reason>"; the parent
 * parses that as untrusted input (tls_calibrate_parse_answer): it can at worst make that one
 * library's secrets wrong or missing (the probes read user memory through bounded offsets).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "le.h"
#include "sandbox.h"
#include "tls_calib_launcher.h"
#include "tls_calibrate.h"
#include "tls_lib.h"

/* CPU time of the calibration child (sandbox.h: its wall-clock bound is 20 times this) */
#define CHILD_CPU_MS 30000
#define RESULT_MAX 8192
#define FORMAT_LINE "ecap-calibration 2"
/* Where the sandboxed child finds the library and its libcrypto (descriptors 3 and 4). */
#define CHILD_SSL_PATH "/proc/self/fd/3"
#define CHILD_CRYPTO_PATH "/proc/self/fd/4"

static const char *const field_names[TLS_CAL_NFIELDS] = {
	[TLS_CAL_VERSION] = "version",
	[TLS_CAL_CIPHER_ID] = "cipher_id",
	[TLS_CAL_CLIENT_RANDOM] = "client_random",
	[TLS_CAL_MASTER_KEY] = "master_key",
	[TLS_CAL_HS_SECRET] = "handshake_secret",
	[TLS_CAL_HS_HASH] = "handshake_hash",
	[TLS_CAL_CLIENT_HS_TRAFFIC] = "client_handshake_traffic",
	[TLS_CAL_SERVER_HS_TRAFFIC] = "server_handshake_traffic",
	[TLS_CAL_CLIENT_APP_TRAFFIC] = "client_app_traffic",
	[TLS_CAL_SERVER_APP_TRAFFIC] = "server_app_traffic",
	[TLS_CAL_EXPORTER] = "exporter",
	[TLS_CAL_IN_INIT] = "in_init",
};

const char *tls_calibrate_field_name(enum tls_cal_field f)
{
	return (unsigned)f < TLS_CAL_NFIELDS ? field_names[f] : "?";
}

size_t tls_calibrate_read_len(enum tls_cal_field f)
{
	if (f == TLS_CAL_VERSION || f == TLS_CAL_CIPHER_ID || f == TLS_CAL_IN_INIT)
		return 4;
	if (f == TLS_CAL_CLIENT_RANDOM)
		return 32;
	return TLS_CAL_READ_LEN;
}

bool tls_calibrate_has_tls12(const struct tls_calibration *c)
{
	return c->f[TLS_CAL_MASTER_KEY].found;
}

bool tls_calibrate_has_tls13(const struct tls_calibration *c)
{
	bool hs = (c->f[TLS_CAL_CLIENT_HS_TRAFFIC].found &&
		   c->f[TLS_CAL_SERVER_HS_TRAFFIC].found) ||
		  (c->f[TLS_CAL_HS_SECRET].found && c->f[TLS_CAL_HS_HASH].found);

	return hs && c->f[TLS_CAL_CLIENT_APP_TRAFFIC].found &&
	       c->f[TLS_CAL_SERVER_APP_TRAFFIC].found;
}

bool tls_calibrate_usable(const struct tls_calibration *c)
{
	return c->f[TLS_CAL_VERSION].found && c->f[TLS_CAL_CIPHER_ID].found &&
	       c->f[TLS_CAL_CLIENT_RANDOM].found &&
	       (tls_calibrate_has_tls12(c) || tls_calibrate_has_tls13(c));
}

/* ---- build-id ---- */

static int read_at(int fd, uint64_t off, void *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);

	return n == (ssize_t)len ? 0 : (n < 0 ? -errno : -ENODATA);
}

/* Scans one PT_NOTE segment for NT_GNU_BUILD_ID ("GNU", type 3). */
static int scan_notes(const uint8_t *p, size_t len, char *hex, size_t hexlen)
{
	size_t pos = 0, namesz, descsz, i;
	uint32_t type;

	while (pos + 12 <= len) {
		namesz = le32_load(p + pos);
		descsz = le32_load(p + pos + 4);
		type = le32_load(p + pos + 8);
		pos += 12;
		if (namesz > len - pos || ((namesz + 3) & ~(size_t)3) > len - pos)
			return -ENODATA;
		if (type == 3 && namesz == 4 && memcmp(p + pos, "GNU", 4) == 0) {
			pos += 4;
			if (descsz > len - pos || descsz == 0 || 2 * descsz + 1 > hexlen)
				return -ENODATA;
			for (i = 0; i < descsz; i++)
				snprintf(hex + 2 * i, 3, "%02x", p[pos + i]);
			return 0;
		}
		pos += (namesz + 3) & ~(size_t)3;
		if (descsz > len - pos)
			return -ENODATA;
		pos += (descsz + 3) & ~(size_t)3;
	}
	return -ENODATA;
}

int tls_calibrate_build_id(const char *path, char *hex, size_t hexlen)
{
	int fd = tls_lib_open(path, 0, 0), rc;

	if (fd < 0)
		return fd;
	rc = tls_calibrate_build_id_fd(fd, hex, hexlen);
	close(fd);
	return rc;
}

int tls_calibrate_build_id_fd(int fd, char *hex, size_t hexlen)
{
	uint8_t eh[64], ph[56], *notes;
	uint64_t phoff, off, size;
	unsigned phentsize, phnum, i;
	int rc = -ENODATA;

	if (read_at(fd, 0, eh, sizeof(eh)) < 0 || memcmp(eh, "\177ELF", 4) != 0 || eh[4] != 2 ||
	    eh[5] != 1)
		goto out; /* only 64-bit little-endian ELF */
	phoff = le64_load(eh + 0x20);
	phentsize = le16_load(eh + 0x36);
	phnum = le16_load(eh + 0x38);
	if (phentsize < sizeof(ph))
		goto out;
	for (i = 0; i < phnum && rc < 0; i++) {
		if (read_at(fd, phoff + (uint64_t)i * phentsize, ph, sizeof(ph)) < 0)
			break;
		if (le32_load(ph) != 4 /* PT_NOTE */)
			continue;
		off = le64_load(ph + 8);
		size = le64_load(ph + 0x20);
		if (size == 0 || size > 65536)
			continue;
		notes = malloc(size);
		if (!notes) {
			rc = -ENOMEM;
			break;
		}
		if (read_at(fd, off, notes, size) == 0)
			rc = scan_notes(notes, size, hex, hexlen);
		free(notes);
	}
out:
	return rc;
}

/* ---- formats ---- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

int tls_calibrate_write(const struct tls_calibration *c, FILE *f, bool json)
{
	unsigned i;

	if (!json) {
		fprintf(f, FORMAT_LINE "\npath %s\nbuild_id %s\nlibrary %s\n", c->path,
			c->build_id[0] ? c->build_id : "-", c->library);
		for (i = 0; i < TLS_CAL_NFIELDS; i++)
			if (c->f[i].found)
				fprintf(f, "%s %u %u %u %u\n", field_names[i], c->f[i].nderef,
					c->f[i].ptr[0], c->f[i].ptr[1], c->f[i].off);
		return ferror(f) ? -EIO : 0;
	}
	fputs("{\"path\":", f);
	json_str(f, c->path);
	fputs(",\"build_id\":", f);
	json_str(f, c->build_id);
	fputs(",\"library\":", f);
	json_str(f, c->library);
	fprintf(f, ",\"from_cache\":%s,\"elapsed_us\":%llu,\"tls12\":%s,\"tls13\":%s,"
		"\"fields\":{", c->from_cache ? "true" : "false",
		(unsigned long long)c->elapsed_us, tls_calibrate_has_tls12(c) ? "true" : "false",
		tls_calibrate_has_tls13(c) ? "true" : "false");
	for (i = 0; i < TLS_CAL_NFIELDS; i++) {
		const struct tls_cal_loc *l = &c->f[i];

		fprintf(f, "%s\"%s\":", i ? "," : "", field_names[i]);
		if (!l->found) {
			fputs("null", f);
			continue;
		}
		fputs("{\"deref\":[", f);
		if (l->nderef > 0)
			fprintf(f, "%u", l->ptr[0]);
		if (l->nderef > 1)
			fprintf(f, ",%u", l->ptr[1]);
		fprintf(f, "],\"off\":%u}", l->off);
	}
	fputs("}}\n", f);
	return ferror(f) ? -EIO : 0;
}

static int parse_field(const char *line, struct tls_calibration *out)
{
	char name[40];
	unsigned nd, p0, p1, off, i;

	if (sscanf(line, "%39s %u %u %u %u", name, &nd, &p0, &p1, &off) != 5 || nd > 2 ||
	    p0 > 65535 || p1 > 65535 || off > 65535)
		return -EINVAL;
	for (i = 0; i < TLS_CAL_NFIELDS; i++) {
		if (strcmp(name, field_names[i]) != 0)
			continue;
		out->f[i] = (struct tls_cal_loc){ .found = true, .nderef = (uint8_t)nd,
						  .ptr = { (uint16_t)p0, (uint16_t)p1 },
						  .off = (uint16_t)off };
		return 0;
	}
	return -EINVAL;
}

int tls_calibrate_parse(const char *text, struct tls_calibration *out, int *bad_line)
{
	const char *p = text, *nl;
	char line[PATH_MAX + 32];
	int lineno = 0;
	size_t len;

	memset(out, 0, sizeof(*out));
	for (; *p; p = nl ? nl + 1 : p + len) {
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		lineno++;
		if (len >= sizeof(line))
			goto bad;
		memcpy(line, p, len);
		line[len] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (lineno == 1) {
			if (strcmp(line, FORMAT_LINE) != 0)
				goto bad;
		} else if (!strncmp(line, "path ", 5)) {
			snprintf(out->path, sizeof(out->path), "%.*s", PATH_MAX - 1, line + 5);
		} else if (!strncmp(line, "build_id ", 9)) {
			snprintf(out->build_id, sizeof(out->build_id), "%.*s",
				 (int)sizeof(out->build_id) - 1,
				 strcmp(line + 9, "-") ? line + 9 : "");
		} else if (!strncmp(line, "library ", 8)) {
			snprintf(out->library, sizeof(out->library), "%.*s",
				 (int)sizeof(out->library) - 1, line + 8);
		} else if (parse_field(line, out) < 0) {
			goto bad;
		}
		if (!nl)
			break;
	}
	if (lineno == 0)
		goto bad;
	return 0;
bad:
	if (bad_line)
		*bad_line = lineno;
	return -EINVAL;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- cache ---- */

/* DIR/calibration/<sha256 of the library file>.txt */
static int cache_path(const char *dir, const char *digest, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/calibration/%s.txt", dir, digest);

	return n > 0 && (size_t)n < outlen ? 0 : -ENAMETOOLONG;
}

static int cache_load(const char *file, struct tls_calibration *out)
{
	char *buf;
	ssize_t n;
	int fd, rc;

	fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(RESULT_MAX);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, buf, RESULT_MAX - 1);
	close(fd);
	if (n <= 0) {
		free(buf);
		return -ENODATA;
	}
	buf[n] = '\0';
	rc = tls_calibrate_parse(buf, out, NULL);
	free(buf);
	return rc;
}

static void cache_store(const char *dir, const char *file, const struct tls_calibration *c)
{
	char sub[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;
	int fd;

	if (snprintf(sub, sizeof(sub), "%s/calibration", dir) >= (int)sizeof(sub) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", file) >= (int)sizeof(tmp))
		return;
	if (mkdir(sub, 0700) < 0 && errno != EEXIST)
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return;
	}
	if (tls_calibrate_write(c, f, false) < 0 || fflush(f) != 0 || fsync(fd) != 0) {
		fclose(f);
		unlink(tmp);
		return;
	}
	fclose(f);
	if (rename(tmp, file) < 0)
		unlink(tmp);
}

/* ---- the sandboxed child ---- */

/* Runs in the sandbox (sandbox.h): the libssl is descriptor 3, its libcrypto 4 when given. */
static int child_main(void *arg)
{
	const bool *has_crypto = arg;
	struct tls_calibration c;
	char err[512] = "";
	int rc;

	/* Offsets do not depend on the configuration, but which versions can be tried does. */
	setenv("OPENSSL_CONF", "/dev/null", 1);
	rc = tls_calibrate_in_process(CHILD_SSL_PATH, *has_crypto ? CHILD_CRYPTO_PATH : NULL,
				      &c, err, sizeof(err));
	if (rc < 0) {
		printf("error %d %s\n", -rc, err[0] ? err : strerror(-rc));
	} else {
		printf("ok %llu\n", (unsigned long long)c.elapsed_us);
		tls_calibrate_write(&c, stdout, false);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int tls_calibrate_child_run(const int *fds, unsigned nfds, struct sandbox_result *res)
{
	bool has_crypto = nfds > 1;

	if (nfds < 1 || nfds > 2)
		return -EINVAL;
	return sandbox_run(child_main, &has_crypto, fds, nfds, RESULT_MAX, CHILD_CPU_MS, res);
}

/* Keeps printable ASCII of the child's text, for messages. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

int tls_calibrate_parse_answer(const char *buf, size_t len, struct tls_calibration *out,
			       char *err, size_t errlen)
{
	char *text, *body, *nl;
	unsigned long long us = 0;
	int code = 0, consumed = 0, rc;

	memset(out, 0, sizeof(*out));
	/* The child's bytes up to the first NUL, as a string of our own. */
	text = strndup(buf, len > RESULT_MAX ? RESULT_MAX : len);
	if (!text)
		return -ENOMEM;
	if (sscanf(text, "error %d %n", &code, &consumed) == 1 && consumed > 0) {
		body = text + consumed;
		body[strcspn(body, "\n")] = '\0';
		/* The child names the library by its descriptor; the caller names it by path. */
		if (!strncmp(body, CHILD_SSL_PATH ": ", sizeof(CHILD_SSL_PATH ": ") - 1))
			body += sizeof(CHILD_SSL_PATH ": ") - 1;
		sanitize(body);
		rc = code > 0 && code < 4096 ? -code : -EIO;
		if (body[0])
			snprintf(err, errlen, "%.200s", body);
		else
			snprintf(err, errlen, "the calibration child failed without a reason (%s)",
				 strerror(-rc));
		goto out;
	}
	nl = strchr(text, '\n');
	if (sscanf(text, "ok %llu", &us) != 1 || !nl) {
		snprintf(err, errlen, "the calibration child gave no answer");
		rc = -EIO;
		goto out;
	}
	rc = tls_calibrate_parse(nl + 1, out, NULL);
	if (rc < 0) {
		snprintf(err, errlen, "the calibration child gave an unreadable answer");
		goto out;
	}
	/* What the child says of itself is only shown, never used. */
	out->path[0] = '\0';
	out->build_id[0] = '\0';
	sanitize(out->library);
	out->elapsed_us = us;
out:
	free(text);
	return rc;
}

/* Calibration through the launcher when one runs (ecap-rec), else in a child of ours. */
static int run_child(int fd, int crypto_fd, const char *path, struct tls_calibration *out,
		     char *err, size_t errlen)
{
	int fds[2] = { fd, crypto_fd }, rc;
	unsigned nfds = crypto_fd >= 0 ? 2 : 1;
	struct sandbox_result res;
	char how[96], e[400] = "";

	rc = tls_calib_launcher_running() ? tls_calib_launcher_run(fds, nfds, &res)
					    : tls_calibrate_child_run(fds, nfds, &res);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot start the calibration sandbox: %s", path,
			 strerror(-rc));
		return rc;
	}
	if (res.timed_out || !WIFEXITED(res.status) ||
	    (WEXITSTATUS(res.status) != 0 && WEXITSTATUS(res.status) != 1)) {
		/* What it said on stderr, one line: untrusted, so printable ASCII only. */
		for (char *c = res.err; *c; c++)
			if (*c == '\n')
				*c = c[1] ? '|' : '\0';
		sanitize(res.err);
		snprintf(err, errlen, "%s: calibration child %s%s%.400s", path,
			 sandbox_describe(&res, how, sizeof(how)), res.err[0] ? "; it said: " : "",
			 res.err);
		sandbox_result_free(&res);
		return res.timed_out ? -ETIMEDOUT : -EIO;
	}
	rc = tls_calibrate_parse_answer(res.out, res.out_len, out, e, sizeof(e));
	sandbox_result_free(&res);
	if (rc < 0)
		snprintf(err, errlen, "%s%s%s", strstr(e, path) ? "" : path,
			 strstr(e, path) ? "" : ": ", e);
	return rc;
}

int tls_calibrate_fd(int fd, const char *path, const char *cache_dir,
		     struct tls_calibration *out, char *err, size_t errlen)
{
	char digest[TLS_LIB_DIGEST_HEX] = "", id[sizeof(out->build_id)] = "", file[PATH_MAX];
	uint64_t t0 = now_us();
	bool cacheable;
	int rc, crypto_fd;

	/* The cache is keyed by the file's content: a library that copies another's build-id
	 * (anyone can write one) never gets, nor leaves, another library's calibration. */
	cacheable = cache_dir && tls_lib_digest(fd, digest) == 0 &&
		    cache_path(cache_dir, digest, file, sizeof(file)) == 0;
	tls_calibrate_build_id_fd(fd, id, sizeof(id));
	if (cacheable && cache_load(file, out) == 0 && tls_calibrate_usable(out)) {
		snprintf(out->path, sizeof(out->path), "%s", path);
		snprintf(out->build_id, sizeof(out->build_id), "%s", id);
		sanitize(out->library);
		out->from_cache = true;
		out->elapsed_us = now_us() - t0;
		return 0;
	}
	crypto_fd = tls_lib_open_crypto(path);
	rc = run_child(fd, crypto_fd, path, out, err, errlen);
	if (crypto_fd >= 0)
		close(crypto_fd);
	if (rc < 0)
		return rc;
	snprintf(out->path, sizeof(out->path), "%s", path);
	snprintf(out->build_id, sizeof(out->build_id), "%s", id);
	out->from_cache = false;
	if (cacheable)
		cache_store(cache_dir, file, out);
	return 0;
}

int tls_calibrate(const char *path, const char *cache_dir, struct tls_calibration *out,
		  char *err, size_t errlen)
{
	int fd = tls_lib_open(path, 0, 0), rc;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 fd == -ELOOP	 ? "a symbolic link (give the file it leads to)"
			 : fd == -EINVAL ? "not a regular file"
					 : strerror(-fd));
		return fd;
	}
	rc = tls_calibrate_fd(fd, path, cache_dir, out, err, errlen);
	close(fd);
	return rc;
}
