/* Parsers for the /proc files procsnap reads (stat, status, maps, smaps,
 * limits, fdinfo, auxv, cmdline/environ, timers): pure text-to-struct code. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <elf.h>

#include "backend/proc_parse.h"

/* ------------------------------------------------------------------ */
/* Reading whole files                                                 */
/* ------------------------------------------------------------------ */

static int grow_buffer(char **buf, size_t *cap, size_t need)
{
	size_t ncap = *cap ? *cap : 4096;
	char *nbuf;

	while (ncap < need)
		ncap *= 2;
	if (ncap == *cap)
		return 0;
	nbuf = realloc(*buf, ncap);
	if (!nbuf)
		return -ENOMEM;
	*buf = nbuf;
	*cap = ncap;
	return 0;
}

/* /proc files report st_size 0, so read until EOF whatever fstat says. */
int ps_read_file(const char *path, char **buf, size_t *len)
{
	char *data = NULL;
	size_t cap = 0, used = 0;
	int fd, rc;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		rc = grow_buffer(&data, &cap, used + 4096 + 1);
		if (rc < 0)
			goto fail;
		n = read(fd, data + used, cap - used - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	data[used] = '\0';
	*buf = data;
	*len = used;
	return 0;
fail:
	close(fd);
	free(data);
	return rc;
}

int ps_proc_parse(pid_t pid, const char *name, ps_text_parser parse, void *arg)
{
	char path[64 + PS_PATH_MAX], *text;
	size_t len;
	int rc;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	else
		snprintf(path, sizeof(path), "/proc/%s", name);
	rc = ps_read_file(path, &text, &len);
	if (rc < 0)
		return rc;
	rc = parse(text, len, arg);
	free(text);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Strict number parsing: the whole token must be a number.           */
/* ------------------------------------------------------------------ */

static int parse_u64_base(const char *s, size_t n, int base, uint64_t *out)
{
	char tmp[64], *end;
	unsigned long long v;

	if (n == 0 || n >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (!isxdigit((unsigned char)tmp[0]))
		return -EINVAL;             /* no sign, no leading blanks */
	errno = 0;
	v = strtoull(tmp, &end, base);
	if (errno || *end != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_i64(const char *s, size_t n, int64_t *out)
{
	char tmp[64], *end;
	long long v;

	if (n == 0 || n >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (!isdigit((unsigned char)tmp[0]) && tmp[0] != '-')
		return -EINVAL;
	errno = 0;
	v = strtoll(tmp, &end, 10);
	if (errno || *end != '\0' || end == tmp)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_int_token(const char *s, size_t n, int *out)
{
	int64_t v;

	if (parse_i64(s, n, &v) < 0 || v < INT_MIN || v > INT_MAX)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int parse_u32_token(const char *s, size_t n, int base, uint32_t *out)
{
	uint64_t v;

	if (parse_u64_base(s, n, base, &v) < 0 || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Splits [s, end) on blanks (space, tab) into at most max tokens;
 * returns the token count, or -EINVAL if there are more than max. */
struct token {
	const char *s;
	size_t n;
};

static int split_blanks(const char *s, const char *end, struct token *tok, int max)
{
	int count = 0;

	while (s < end) {
		const char *start;

		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		if (s >= end)
			break;
		start = s;
		while (s < end && *s != ' ' && *s != '\t')
			s++;
		if (count == max)
			return -EINVAL;
		tok[count].s = start;
		tok[count].n = (size_t)(s - start);
		count++;
	}
	return count;
}

/* Skips n blank-separated fields from s; returns where the next begins. */
static const char *skip_fields(const char *s, const char *end, int n)
{
	while (n-- > 0) {
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		while (s < end && *s != ' ' && *s != '\t')
			s++;
	}
	return s;
}

static const char *line_end(const char *s)
{
	const char *nl = strchr(s, '\n');

	return nl ? nl : s + strlen(s);
}

/* ------------------------------------------------------------------ */
/* /proc/<pid>/stat                                                    */
/* ------------------------------------------------------------------ */

#define STAT_FIELDS_AFTER_COMM 50   /* fields 3..52 */

static int parse_stat_fields(const struct token *f, int nf, struct ps_stat *out)
{
	/* f[0] is field 3 (state); field k is f[k - 3]. */
	static const int u64_fields[] = { 22, 26, 27, 28, 45, 46, 47, 48, 49, 50, 51 };
	uint64_t *u64_dest[] = {
		&out->start_time, &out->start_code, &out->end_code, &out->start_stack,
		&out->start_data, &out->end_data, &out->start_brk,
		&out->arg_start, &out->arg_end, &out->env_start, &out->env_end,
	};
	int64_t v;
	uint64_t u;
	size_t i;

	if (nf < 51 - 2)
		return -EINVAL;             /* truncated: fields up to env_end are needed */
	if (f[0].n != 1)
		return -EINVAL;
	out->state = f[0].s[0];
	if (parse_int_token(f[4 - 3].s, f[4 - 3].n, &out->ppid) < 0 ||
	    parse_int_token(f[5 - 3].s, f[5 - 3].n, &out->pgrp) < 0 ||
	    parse_int_token(f[6 - 3].s, f[6 - 3].n, &out->session) < 0)
		return -EINVAL;
	if (parse_u64_base(f[9 - 3].s, f[9 - 3].n, 10, &u) < 0)
		return -EINVAL;
	out->flags = (unsigned long)u;
	if (parse_i64(f[20 - 3].s, f[20 - 3].n, &v) < 0)
		return -EINVAL;
	out->num_threads = (long)v;
	if (parse_int_token(f[39 - 3].s, f[39 - 3].n, &out->processor) < 0)
		return -EINVAL;
	for (i = 0; i < sizeof(u64_fields) / sizeof(u64_fields[0]); i++) {
		const struct token *t = &f[u64_fields[i] - 3];

		if (parse_u64_base(t->s, t->n, 10, u64_dest[i]) < 0)
			return -EINVAL;
	}
	return 0;
}

int ps_parse_stat(const char *text, struct ps_stat *out)
{
	struct token f[STAT_FIELDS_AFTER_COMM + 8];
	const char *open_paren, *close_paren, *end;
	size_t comm_len;
	int nf;

	memset(out, 0, sizeof(*out));
	open_paren = strchr(text, '(');
	close_paren = strrchr(text, ')');   /* comm may hold ')' : the LAST one ends it */
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -EINVAL;
	if (open_paren == text || open_paren[-1] != ' ' ||
	    parse_int_token(text, (size_t)(open_paren - 1 - text), &out->pid) < 0)
		return -EINVAL;
	comm_len = (size_t)(close_paren - open_paren - 1);
	if (comm_len >= PS_COMM_LEN)
		comm_len = PS_COMM_LEN - 1;  /* kernel workers may show longer names */
	memcpy(out->comm, open_paren + 1, comm_len);
	out->comm[comm_len] = '\0';

	end = text + strlen(text);
	if (end > close_paren + 1 && end[-1] == '\n')
		end--;
	if (close_paren[1] != ' ')
		return -EINVAL;
	/* Fields a future kernel appends beyond the array are not needed. */
	end = skip_fields(close_paren + 1, end, (int)(sizeof(f) / sizeof(f[0])));
	nf = split_blanks(close_paren + 1, end, f, (int)(sizeof(f) / sizeof(f[0])));
	if (nf < 0)
		return -EINVAL;
	return parse_stat_fields(f, nf, out);
}

/* ------------------------------------------------------------------ */
/* /proc/<pid>/status                                                  */
/* ------------------------------------------------------------------ */

static int parse_id_quad(const char *s, const char *end, uint32_t out[4])
{
	struct token t[4];
	int i;

	if (split_blanks(s, end, t, 4) != 4)
		return -EINVAL;
	for (i = 0; i < 4; i++)
		if (parse_u32_token(t[i].s, t[i].n, 10, &out[i]) < 0)
			return -EINVAL;
	return 0;
}

static int parse_groups(const char *s, const char *end, gid_t **groups, size_t *ngroups)
{
	size_t cap = 0, n = 0;
	gid_t *g = NULL;

	while (s < end) {
		struct token t;
		uint32_t v;

		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		if (s >= end)
			break;
		t.s = s;
		while (s < end && *s != ' ' && *s != '\t')
			s++;
		t.n = (size_t)(s - t.s);
		if (parse_u32_token(t.s, t.n, 10, &v) < 0)
			goto bad;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			gid_t *ng = realloc(g, ncap * sizeof(*g));

			if (!ng) {
				free(g);
				return -ENOMEM;
			}
			g = ng;
			cap = ncap;
		}
		g[n++] = v;
	}
	free(*groups);
	*groups = g;
	*ngroups = n;
	return 0;
bad:
	free(g);
	return -EINVAL;
}

static int parse_one_token(const char *s, const char *end, int base, uint64_t *out)
{
	struct token t;

	if (split_blanks(s, end, &t, 1) != 1)
		return -EINVAL;
	return parse_u64_base(t.s, t.n, base, out);
}

static int parse_one_int(const char *s, const char *end, int *out)
{
	struct token t;

	if (split_blanks(s, end, &t, 1) != 1)
		return -EINVAL;
	return parse_int_token(t.s, t.n, out);
}

enum status_seen { SEEN_TGID = 1, SEEN_UID = 2, SEEN_GID = 4 };

/* Is word one of the blank-separated words between s and end? */
static int has_word(const char *s, const char *end, const char *word)
{
	size_t n = strlen(word);

	while (s < end) {
		const char *w;

		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		w = s;
		while (s < end && *s != ' ' && *s != '\t')
			s++;
		if ((size_t)(s - w) == n && memcmp(w, word, n) == 0)
			return 1;
	}
	return 0;
}

/* One "Key:\tvalue" line; keys procsnap does not use are skipped. */
static int parse_status_line(const char *key, size_t klen, const char *v, const char *end,
			     struct ps_status *out, unsigned *seen)
{
	static const struct {
		const char *key;
		size_t off;
	} masks[] = {
		{ "SigPnd", offsetof(struct ps_status, sig_pnd) },
		{ "ShdPnd", offsetof(struct ps_status, shd_pnd) },
		{ "SigBlk", offsetof(struct ps_status, sig_blk) },
		{ "SigIgn", offsetof(struct ps_status, sig_ign) },
		{ "SigCgt", offsetof(struct ps_status, sig_cgt) },
		{ "CapInh", offsetof(struct ps_status, cap_inh) },
		{ "CapPrm", offsetof(struct ps_status, cap_prm) },
		{ "CapEff", offsetof(struct ps_status, cap_eff) },
		{ "CapBnd", offsetof(struct ps_status, cap_bnd) },
		{ "CapAmb", offsetof(struct ps_status, cap_amb) },
	};
	uint64_t u;
	size_t i;

#define KEY_IS(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
	if (KEY_IS("Tgid")) {
		*seen |= SEEN_TGID;
		return parse_one_int(v, end, &out->tgid);
	}
	if (KEY_IS("TracerPid"))
		return parse_one_int(v, end, &out->tracer_pid);
	if (KEY_IS("Umask")) {
		if (parse_one_token(v, end, 8, &u) < 0 || u > 0777)
			return -EINVAL;
		out->umask = (unsigned)u;
		return 0;
	}
	if (KEY_IS("Uid")) {
		*seen |= SEEN_UID;
		return parse_id_quad(v, end, out->uid);
	}
	if (KEY_IS("Gid")) {
		*seen |= SEEN_GID;
		return parse_id_quad(v, end, out->gid);
	}
	if (KEY_IS("Groups"))
		return parse_groups(v, end, &out->groups, &out->ngroups);
	if (KEY_IS("NoNewPrivs"))
		return parse_one_int(v, end, &out->no_new_privs);
	if (KEY_IS("Seccomp"))
		return parse_one_int(v, end, &out->seccomp);
	if (KEY_IS("untag_mask"))
		return parse_one_token(v, end, 16, &out->untag_mask);
	if (KEY_IS("x86_Thread_features")) {
		out->shstk = has_word(v, end, "shstk");
		return 0;
	}
#undef KEY_IS
	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		if (klen == strlen(masks[i].key) && memcmp(key, masks[i].key, klen) == 0) {
			if (parse_one_token(v, end, 16, &u) < 0)
				return -EINVAL;
			*(uint64_t *)((char *)out + masks[i].off) = u;
			return 0;
		}
	}
	return 0;
}

/* Tgid, Uid and Gid must be present; other lines are optional (a zombie has
 * no Umask line, older kernels lack some) and stay 0 when missing. */
int ps_parse_status(const char *text, struct ps_status *out)
{
	const char *s = text;
	unsigned seen = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	out->untag_mask = UINT64_MAX;
	while (*s) {
		const char *end = line_end(s);
		const char *colon = memchr(s, ':', (size_t)(end - s));

		if (colon) {
			rc = parse_status_line(s, (size_t)(colon - s), colon + 1, end, out, &seen);
			if (rc < 0)
				goto fail;
		}
		s = *end ? end + 1 : end;
	}
	if (seen != (SEEN_TGID | SEEN_UID | SEEN_GID)) {
		rc = -EINVAL;
		goto fail;
	}
	return 0;
fail:
	free(out->groups);
	out->groups = NULL;
	out->ngroups = 0;
	return rc;
}

/* ------------------------------------------------------------------ */
/* /proc/<pid>/maps and smaps                                          */
/* ------------------------------------------------------------------ */

static int parse_perms(const struct token *t, struct ps_maps_line *out)
{
	const char *p = t->s;

	if (t->n != 4)
		return -EINVAL;
	if ((p[0] != 'r' && p[0] != '-') || (p[1] != 'w' && p[1] != '-') ||
	    (p[2] != 'x' && p[2] != '-') || (p[3] != 'p' && p[3] != 's'))
		return -EINVAL;
	out->prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) |
		    (p[2] == 'x' ? PROT_EXEC : 0);
	out->shared = p[3] == 's';
	return 0;
}

static int parse_range(const struct token *t, uint64_t *start, uint64_t *end)
{
	const char *dash = memchr(t->s, '-', t->n);

	if (!dash)
		return -EINVAL;
	if (parse_u64_base(t->s, (size_t)(dash - t->s), 16, start) < 0 ||
	    parse_u64_base(dash + 1, t->n - (size_t)(dash + 1 - t->s), 16, end) < 0 ||
	    *end < *start)
		return -EINVAL;
	return 0;
}

static int parse_dev(const struct token *t, uint32_t *major, uint32_t *minor)
{
	const char *colon = memchr(t->s, ':', t->n);

	if (!colon)
		return -EINVAL;
	if (parse_u32_token(t->s, (size_t)(colon - t->s), 16, major) < 0 ||
	    parse_u32_token(colon + 1, t->n - (size_t)(colon + 1 - t->s), 16, minor) < 0)
		return -EINVAL;
	return 0;
}

static int copy_map_path(const char *s, const char *end, struct ps_maps_line *out)
{
	static const char deleted[] = " (deleted)";
	const size_t dlen = sizeof(deleted) - 1;
	size_t n;

	/* The kernel pads with spaces up to a column; the path itself starts
	 * with '/' or '[' (or "anon_inode:"), never with a blank. */
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	n = (size_t)(end - s);
	if (n > dlen && memcmp(end - dlen, deleted, dlen) == 0) {
		out->deleted = 1;
		n -= dlen;
	}
	if (n >= sizeof(out->path))
		return -ENAMETOOLONG;
	memcpy(out->path, s, n);
	out->path[n] = '\0';
	return 0;
}

int ps_parse_maps_line(const char *line, struct ps_maps_line *out)
{
	const char *end = line_end(line);
	struct token t[5];

	memset(out, 0, sizeof(*out));
	if (split_blanks(line, skip_fields(line, end, 5), t, 5) != 5)
		return -EINVAL;
	if (parse_range(&t[0], &out->start, &out->end) < 0 ||
	    parse_perms(&t[1], out) < 0 ||
	    parse_u64_base(t[2].s, t[2].n, 16, &out->offset) < 0 ||
	    parse_dev(&t[3], &out->dev_major, &out->dev_minor) < 0 ||
	    parse_u64_base(t[4].s, t[4].n, 10, &out->ino) < 0)
		return -EINVAL;
	return copy_map_path(t[4].s + t[4].n, end, out);
}

/* Splits the VmFlags value into a NULL-terminated array of pointers into
 * buf (modified in place). */
static int split_vmflags(char *buf, char ***flags, size_t *nflags)
{
	size_t cap = 8, n = 0;
	char **v = malloc(cap * sizeof(*v)), *save = NULL, *tok;

	if (!v)
		return -ENOMEM;
	for (tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (n + 1 >= cap) {
			char **nv = realloc(v, cap * 2 * sizeof(*v));

			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap *= 2;
		}
		v[n++] = tok;
	}
	v[n] = NULL;
	*flags = v;
	*nflags = n;
	return 0;
}

static int report_vmflags(struct ps_smaps_entry *e, const char *s, const char *end,
			  ps_smaps_cb cb, void *arg)
{
	size_t len = (size_t)(end - s);
	char *copy = malloc(len + 1), **flags = NULL;
	size_t nflags = 0;
	int rc;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, s, len);
	copy[len] = '\0';
	rc = split_vmflags(copy, &flags, &nflags);
	e->flags = flags;
	e->nflags = nflags;
	if (rc == 0)
		rc = cb(e, arg);
	free(flags);
	free(copy);
	return rc;
}

/* A "Rss:" or "Swap:" line's value in kB into *kb; 1 if the line was it. */
static int match_kb_line(const char *s, const char *end, const char *key, uint64_t *kb)
{
	size_t klen = strlen(key);
	const char *v;

	if ((size_t)(end - s) <= klen || memcmp(s, key, klen) != 0)
		return 0;
	v = s + klen;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	*kb = strtoull(v, NULL, 10);
	return 1;
}

/* The flags array and its strings are only valid during the callback: the
 * callback copies what it keeps. A non-zero return from cb stops the walk
 * and is returned. Only mappings with a VmFlags line are reported. */
int ps_parse_smaps(const char *text, ps_smaps_cb cb, void *arg)
{
	static const char key[] = "VmFlags:";
	const char *s = text;
	int have_map = 0, rc;
	struct ps_smaps_entry e = { 0 };

	while (*s) {
		const char *end = line_end(s);

		if ((size_t)(end - s) >= sizeof(key) - 1 && memcmp(s, key, sizeof(key) - 1) == 0) {
			if (!have_map)
				return -EINVAL;
			rc = report_vmflags(&e, s + sizeof(key) - 1, end, cb, arg);
			if (rc)
				return rc;
		} else if (match_kb_line(s, end, "Rss:", &e.rss_kb) ||
			   match_kb_line(s, end, "Swap:", &e.swap_kb)) {
			/* recorded for the current mapping */
		} else if (isxdigit((unsigned char)*s) && !isupper((unsigned char)*s)) {
			struct ps_maps_line *ml = malloc(sizeof(*ml));

			if (!ml)
				return -ENOMEM;
			rc = ps_parse_maps_line(s, ml);
			memset(&e, 0, sizeof(e));
			e.start = ml->start;
			free(ml);
			if (rc < 0)
				return -EINVAL;
			have_map = 1;
		}
		s = *end ? end + 1 : end;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* /proc/<pid>/limits                                                  */
/* ------------------------------------------------------------------ */

static const struct {
	const char *name;
	int resource;
} limit_rows[PS_NRLIMITS] = {
	{ "Max cpu time", RLIMIT_CPU },
	{ "Max file size", RLIMIT_FSIZE },
	{ "Max data size", RLIMIT_DATA },
	{ "Max stack size", RLIMIT_STACK },
	{ "Max core file size", RLIMIT_CORE },
	{ "Max resident set", RLIMIT_RSS },
	{ "Max processes", RLIMIT_NPROC },
	{ "Max open files", RLIMIT_NOFILE },
	{ "Max locked memory", RLIMIT_MEMLOCK },
	{ "Max address space", RLIMIT_AS },
	{ "Max file locks", RLIMIT_LOCKS },
	{ "Max pending signals", RLIMIT_SIGPENDING },
	{ "Max msgqueue size", RLIMIT_MSGQUEUE },
	{ "Max nice priority", RLIMIT_NICE },
	{ "Max realtime priority", RLIMIT_RTPRIO },
	{ "Max realtime timeout", RLIMIT_RTTIME },
};

static int parse_limit_value(const struct token *t, uint64_t *out)
{
	if (t->n == 9 && memcmp(t->s, "unlimited", 9) == 0) {
		*out = PS_RLIM_INFINITY;
		return 0;
	}
	return parse_u64_base(t->s, t->n, 10, out);
}

static int limit_row_index(const char *s, const char *end)
{
	int i;

	for (i = 0; i < PS_NRLIMITS; i++) {
		size_t n = strlen(limit_rows[i].name);

		/* The name is followed by padding: "Max file size" must not
		 * match a row that merely starts the same way. */
		if ((size_t)(end - s) > n && memcmp(s, limit_rows[i].name, n) == 0 &&
		    (s[n] == ' ' || s[n] == '\t'))
			return i;
	}
	return -1;
}

int ps_parse_limits(const char *text, struct ps_rlimit out[PS_NRLIMITS])
{
	unsigned seen = 0;
	const char *s = text;

	memset(out, 0, sizeof(struct ps_rlimit) * PS_NRLIMITS);
	while (*s) {
		const char *end = line_end(s);
		int row = limit_row_index(s, end);

		if (row >= 0) {
			struct token t[2];
			struct ps_rlimit *r = &out[limit_rows[row].resource];
			const char *v = s + strlen(limit_rows[row].name);

			/* soft, hard, then an optional unit */
			if (split_blanks(v, skip_fields(v, end, 2), t, 2) != 2 ||
			    parse_limit_value(&t[0], &r->cur) < 0 ||
			    parse_limit_value(&t[1], &r->max) < 0)
				return -EINVAL;
			seen |= 1u << row;
		}
		s = *end ? end + 1 : end;
	}
	return seen == (1u << PS_NRLIMITS) - 1 ? 0 : -EINVAL;
}

/* ------------------------------------------------------------------ */
/* /proc/<pid>/fdinfo/<n>                                              */
/* ------------------------------------------------------------------ */

static int parse_epoll_line(const char *s, struct ps_epoll_target *t)
{
	unsigned long long data, ino;
	unsigned events;
	int fd;

	if (sscanf(s, "tfd: %d events: %x data: %llx pos:%*u ino:%llx", &fd, &events, &data,
		   &ino) != 4 || fd < 0)
		return -EINVAL;
	t->fd = fd;
	t->events = events;
	t->data = data;
	t->ino = ino;
	return 0;
}

int ps_parse_epoll_targets(const char *text, struct ps_epoll_target **out, size_t *n)
{
	const char *s = text;

	*out = NULL;
	*n = 0;
	for (; *s; s = *line_end(s) ? line_end(s) + 1 : line_end(s)) {
		struct ps_epoll_target *grown;

		if (strncmp(s, "tfd:", 4) != 0)
			continue;
		grown = realloc(*out, (*n + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		*out = grown;
		if (parse_epoll_line(s, &grown[*n]) < 0) {
			free(*out);
			*out = NULL;
			*n = 0;
			return -EINVAL;
		}
		(*n)++;
	}
	return 0;
}

/* The value after "key" at the start of a line of text, or NULL. */
static const char *fdinfo_value(const char *text, const char *key)
{
	size_t klen = strlen(key);

	for (const char *s = text; *s; s = *line_end(s) ? line_end(s) + 1 : line_end(s))
		if (strncmp(s, key, klen) == 0)
			return s + klen;
	return NULL;
}

int ps_parse_eventfd(const char *text, struct ps_eventfd *out)
{
	const char *count = fdinfo_value(text, "eventfd-count:");
	const char *sem = fdinfo_value(text, "eventfd-semaphore:");
	uint64_t v;

	memset(out, 0, sizeof(*out));
	/* eventfd-semaphore appeared in Linux 6.6; without it the mode is unknown */
	if (!count || !sem || parse_one_token(count, line_end(count), 16, &out->count) < 0 ||
	    parse_one_token(sem, line_end(sem), 10, &v) < 0 || v > 1)
		return -EINVAL;
	out->semaphore = (int)v;
	return 0;
}

static int parse_timespec_pair(const char *v, uint64_t *ns)
{
	unsigned long long sec, nsec;

	if (!v || sscanf(v, " (%llu, %llu)", &sec, &nsec) != 2 || nsec >= 1000000000ULL ||
	    sec > UINT64_MAX / 1000000000ULL - 1)
		return -EINVAL;
	*ns = sec * 1000000000ULL + nsec;
	return 0;
}

int ps_parse_timerfd(const char *text, struct ps_timerfd *out)
{
	const char *clock = fdinfo_value(text, "clockid:");
	const char *ticks = fdinfo_value(text, "ticks:");
	const char *flags = fdinfo_value(text, "settime flags:");
	uint64_t f;

	memset(out, 0, sizeof(*out));
	if (!clock || !ticks || !flags ||
	    parse_one_int(clock, line_end(clock), &out->clock) < 0 ||
	    parse_one_token(ticks, line_end(ticks), 10, &out->ticks) < 0 ||
	    parse_one_token(flags, line_end(flags), 8, &f) < 0 || f > INT_MAX ||
	    parse_timespec_pair(fdinfo_value(text, "it_value:"), &out->value_ns) < 0 ||
	    parse_timespec_pair(fdinfo_value(text, "it_interval:"), &out->interval_ns) < 0)
		return -EINVAL;
	out->settime_flags = (int)f;
	return 0;
}

int ps_parse_signalfd(const char *text, uint64_t *mask)
{
	const char *v = fdinfo_value(text, "sigmask:");

	if (!v || parse_one_token(v, line_end(v), 16, mask) < 0)
		return -EINVAL;
	return 0;
}

static int parse_handle_hex(const char *s, const char *end, struct ps_inotify_line *w)
{
	for (unsigned i = 0; i < w->handle_bytes; i++) {
		unsigned byte;

		if (end - s < 2 || sscanf(s, "%2x", &byte) != 1)
			return -EINVAL;
		w->handle[i] = (unsigned char)byte;
		s += 2;
	}
	return 0;
}

static int parse_inotify_line(const char *s, struct ps_inotify_line *w)
{
	unsigned wd, sdev, mask, bytes;
	unsigned long long ino;
	int type, off = 0;

	if (sscanf(s, "inotify wd:%x ino:%llx sdev:%x mask:%x ignored_mask:%*x fhandle-bytes:%x "
		   "fhandle-type:%x f_handle:%n", &wd, &ino, &sdev, &mask, &bytes, &type, &off) != 6 ||
	    off == 0 || wd == 0 || wd > INT_MAX || bytes > PS_FHANDLE_MAX)
		return -EINVAL;
	w->wd = (int)wd;
	w->ino = ino;
	w->sdev = sdev;
	w->mask = mask;
	w->handle_bytes = bytes;
	w->handle_type = type;
	return parse_handle_hex(s + off, line_end(s), w);
}

int ps_parse_inotify(const char *text, struct ps_inotify_line **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	for (const char *s = text; *s; s = *line_end(s) ? line_end(s) + 1 : line_end(s)) {
		struct ps_inotify_line *grown;

		if (strncmp(s, "inotify wd:", 11) != 0)
			continue;
		grown = realloc(*out, (*n + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		*out = grown;
		if (parse_inotify_line(s, &grown[*n]) < 0) {
			free(*out);
			*out = NULL;
			*n = 0;
			return -EINVAL;
		}
		(*n)++;
	}
	return 0;
}

int ps_parse_sched_exec_start(const char *text, uint64_t *ns)
{
	const char *v = fdinfo_value(text, "se.exec_start");
	unsigned long long ms;
	char frac[16] = "";
	uint64_t sub = 0;

	if (!v || sscanf(v, " : %llu.%15[0-9]", &ms, frac) < 1)
		return -EINVAL;
	/* the fraction has 6 digits (ns); read it as such, whatever its width
	 * (frac is zero-filled past what sscanf wrote) */
	for (int i = 0; i < 6; i++)
		sub = sub * 10 + (frac[i] ? (uint64_t)(frac[i] - '0') : 0);
	*ns = (uint64_t)ms * 1000000ULL + sub;
	return 0;
}

int ps_parse_autogroup(const char *text, int *nice)
{
	const char *at = strstr(text, " nice ");

	*nice = 0;
	if (text[strspn(text, " \n")] == '\0')
		return 0;
	if (!at || sscanf(at, " nice %d", nice) != 1 || *nice < -20 || *nice > 19)
		return -EINVAL;
	return 0;
}

int ps_parse_fdinfo(const char *text, struct ps_fdinfo *out)
{
	enum { SEEN_POS = 1, SEEN_FLAGS = 2, SEEN_MNT = 4 };
	const char *s = text;
	unsigned seen = 0;
	uint64_t u;

	memset(out, 0, sizeof(*out));
	while (*s) {
		const char *end = line_end(s);
		const char *colon = memchr(s, ':', (size_t)(end - s));
		size_t klen = colon ? (size_t)(colon - s) : 0;

#define KEY_IS(k) (colon && klen == sizeof(k) - 1 && memcmp(s, k, klen) == 0)
		if (KEY_IS("pos")) {
			if (parse_one_token(colon + 1, end, 10, &out->pos) < 0)
				return -EINVAL;
			seen |= SEEN_POS;
		} else if (KEY_IS("flags")) {
			if (parse_one_token(colon + 1, end, 8, &u) < 0 || u > INT_MAX)
				return -EINVAL;
			out->flags = (int)u;
			seen |= SEEN_FLAGS;
		} else if (KEY_IS("mnt_id")) {
			if (parse_one_int(colon + 1, end, &out->mnt_id) < 0)
				return -EINVAL;
			seen |= SEEN_MNT;
		} else if (KEY_IS("ino")) {
			if (parse_one_token(colon + 1, end, 10, &out->ino) < 0)
				return -EINVAL;
		}
#undef KEY_IS
		s = *end ? end + 1 : end;
	}
	return seen == (SEEN_POS | SEEN_FLAGS | SEEN_MNT) ? 0 : -EINVAL;
}

/* ------------------------------------------------------------------ */
/* /proc/<pid>/auxv                                                    */
/* ------------------------------------------------------------------ */

int ps_parse_auxv(const void *buf, size_t len, struct ps_auxv_entry **out, size_t *n)
{
	const size_t pair = 2 * sizeof(unsigned long);
	size_t count, i;
	struct ps_auxv_entry *v;

	*out = NULL;
	*n = 0;
	if (len == 0 || len % pair != 0)
		return -EINVAL;
	for (count = 0; count < len / pair; count++) {
		unsigned long type;

		memcpy(&type, (const char *)buf + count * pair, sizeof(type));
		if (type == AT_NULL)
			break;
	}
	if (count == len / pair)
		return -EINVAL;             /* no AT_NULL: truncated */
	count++;
	v = calloc(count, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		unsigned long w[2];

		memcpy(w, (const char *)buf + i * pair, sizeof(w));
		v[i].type = w[0];
		v[i].value = w[1];
	}
	*out = v;
	*n = count;
	return 0;
}

/* ------------------------------------------------------------------ */
/* NUL-separated strings                                               */
/* ------------------------------------------------------------------ */

static int set_bytes(struct ps_bytes *b, const char *data, size_t len)
{
	b->data = malloc(len + 1);
	if (!b->data)
		return -ENOMEM;
	memcpy(b->data, data, len);
	b->data[len] = '\0';
	b->len = len;
	return 0;
}

static void free_strlist_items(struct ps_bytes *items, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(items[i].data);
	free(items);
}

int ps_split_nul(const char *buf, size_t len, struct ps_strlist *out)
{
	size_t count = 0, i, k, start;
	struct ps_bytes *items;

	out->items = NULL;
	out->count = 0;
	for (i = 0; i < len; i++)
		if (buf[i] == '\0')
			count++;
	if (len > 0 && buf[len - 1] != '\0')
		count++;                    /* last string without its NUL */
	if (count == 0)
		return 0;
	items = calloc(count, sizeof(*items));
	if (!items)
		return -ENOMEM;
	for (i = 0, k = 0, start = 0; i <= len && k < count; i++) {
		if (i == len || buf[i] == '\0') {
			if (set_bytes(&items[k], buf + start, i - start) < 0) {
				free_strlist_items(items, k);
				return -ENOMEM;
			}
			k++;
			start = i + 1;
		}
	}
	out->items = items;
	out->count = count;
	return 0;
}

/* ------------------------------------------------------------------ */
/* /proc/<pid>/timers                                                  */
/* ------------------------------------------------------------------ */

/* "signal: 10/0000000000001234" (the value is %px: hex, no 0x) */
static int parse_timer_signal(const char *v, const char *end, struct ps_posix_timer *t)
{
	struct token tok;
	const char *slash;

	if (split_blanks(v, end, &tok, 1) != 1)
		return -EINVAL;
	slash = memchr(tok.s, '/', tok.n);
	if (!slash || parse_int_token(tok.s, (size_t)(slash - tok.s), &t->signo) < 0)
		return -EINVAL;
	slash++;
	if (tok.s + tok.n - slash > 2 && slash[0] == '0' && (slash[1] == 'x' || slash[1] == 'X'))
		slash += 2;
	return parse_u64_base(slash, (size_t)(tok.s + tok.n - slash), 16, &t->sigval);
}

/* "notify: signal/pid.1234", "none/pid.1234", "signal/tid.1235", "thread/..." */
static int parse_timer_notify(const char *v, const char *end, struct ps_posix_timer *t)
{
	struct token tok;
	const char *slash, *dot;
	size_t mlen;
	int who;

	if (split_blanks(v, end, &tok, 1) != 1)
		return -EINVAL;
	slash = memchr(tok.s, '/', tok.n);
	if (!slash)
		return -EINVAL;
	mlen = (size_t)(slash - tok.s);
	if (mlen == 6 && memcmp(tok.s, "signal", 6) == 0)
		t->notify = SIGEV_SIGNAL;
	else if (mlen == 4 && memcmp(tok.s, "none", 4) == 0)
		t->notify = SIGEV_NONE;
	else if (mlen == 6 && memcmp(tok.s, "thread", 6) == 0)
		t->notify = SIGEV_THREAD;
	else
		return -EINVAL;
	dot = memchr(slash, '.', (size_t)(tok.s + tok.n - slash));
	if (!dot || dot - slash != 4)
		return -EINVAL;
	if (parse_int_token(dot + 1, (size_t)(tok.s + tok.n - dot - 1), &who) < 0)
		return -EINVAL;
	if (memcmp(slash + 1, "tid", 3) == 0) {
		t->notify |= SIGEV_THREAD_ID;
		t->notify_tid = who;
	} else if (memcmp(slash + 1, "pid", 3) != 0) {
		return -EINVAL;
	}
	return 0;
}

static int append_timer(struct ps_posix_timer **v, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		struct ps_posix_timer *nv = realloc(*v, ncap * sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	memset(&(*v)[*n], 0, sizeof(**v));
	(*n)++;
	return 0;
}

enum timer_seen { T_ID = 1, T_SIGNAL = 2, T_NOTIFY = 4, T_CLOCK = 8, T_ALL = 15 };

static int parse_timer_line(const char *key, size_t klen, const char *v, const char *end,
			    struct ps_posix_timer *t, unsigned *seen)
{
#define KEY_IS(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
	if (KEY_IS("signal")) {
		*seen |= T_SIGNAL;
		return parse_timer_signal(v, end, t);
	}
	if (KEY_IS("notify")) {
		*seen |= T_NOTIFY;
		return parse_timer_notify(v, end, t);
	}
	if (KEY_IS("ClockID")) {
		*seen |= T_CLOCK;
		return parse_one_int(v, end, &t->clock);
	}
#undef KEY_IS
	return 0;                           /* a field newer kernels may add */
}

static int compare_timer_ids(const void *a, const void *b)
{
	const struct ps_posix_timer *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* Each timer is a block starting with "ID:"; the kernel lists the newest
 * first, the result is sorted by id. */
int ps_parse_timers(const char *text, struct ps_posix_timer **out, size_t *n)
{
	struct ps_posix_timer *v = NULL;
	size_t count = 0, cap = 0;
	unsigned seen = T_ALL;
	const char *s = text;
	int rc;

	*out = NULL;
	*n = 0;
	while (*s) {
		const char *end = line_end(s);
		const char *colon = memchr(s, ':', (size_t)(end - s));

		if (colon && colon - s == 2 && memcmp(s, "ID", 2) == 0) {
			if (seen != T_ALL)
				goto fail_einval;   /* previous block truncated */
			rc = append_timer(&v, &count, &cap);
			if (rc < 0) {
				free(v);
				return rc;
			}
			seen = T_ID;
			if (parse_one_int(colon + 1, end, &v[count - 1].id) < 0)
				goto fail_einval;
		} else if (colon) {
			if (count == 0 || parse_timer_line(s, (size_t)(colon - s), colon + 1, end,
							   &v[count - 1], &seen) < 0)
				goto fail_einval;
		} else if (end != s) {
			goto fail_einval;
		}
		s = *end ? end + 1 : end;
	}
	if (seen != T_ALL)
		goto fail_einval;           /* last block truncated */
	if (count > 1)
		qsort(v, count, sizeof(*v), compare_timer_ids);
	*out = v;
	*n = count;
	return 0;
fail_einval:
	free(v);
	return -EINVAL;
}

static int parse_stat_text(const char *text, size_t len, void *out)
{
	(void)len;
	return ps_parse_stat(text, out);
}

int ps_read_stat(pid_t id, struct ps_stat *out)
{
	return ps_proc_parse(id, "stat", parse_stat_text, out);
}

static int parse_status_text(const char *text, size_t len, void *out)
{
	(void)len;
	return ps_parse_status(text, out);
}

int ps_read_status(pid_t id, struct ps_status *out)
{
	return ps_proc_parse(id, "status", parse_status_text, out);
}
