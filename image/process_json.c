/* process.json: ids, comm, exe, cmdline, environ, cwd, root, umask,
 * credentials, rlimits, personality, mm layout with auxv; then the timers'. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "image/codec.h"
#include "image/json_util.h"
#include "backend/sentence.h"

#define MAX_ID 0xfffffffeLL /* uid_t/gid_t; (uid_t)-1 means "no change", never an id */

static const char *const uid_names[4] = { "real", "effective", "saved", "fs" };

/* Indexed by RLIMIT_*, which is the same on every Linux arch but four. */
static const char *const rlimit_names[PS_NRLIMITS] = {
	"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK",
	"RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE",
	"RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
	"RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
};

static const struct ps_name seccomp_names[] = {
	{ 0, "disabled" }, { 1, "strict" }, { 2, "filter" }, { 0, NULL },
};

static const struct ps_name auxv_names[] = {
	{ 0, "AT_NULL" }, { 1, "AT_IGNORE" }, { 2, "AT_EXECFD" }, { 3, "AT_PHDR" },
	{ 4, "AT_PHENT" }, { 5, "AT_PHNUM" }, { 6, "AT_PAGESZ" }, { 7, "AT_BASE" },
	{ 8, "AT_FLAGS" }, { 9, "AT_ENTRY" }, { 10, "AT_NOTELF" }, { 11, "AT_UID" },
	{ 12, "AT_EUID" }, { 13, "AT_GID" }, { 14, "AT_EGID" }, { 15, "AT_PLATFORM" },
	{ 16, "AT_HWCAP" }, { 17, "AT_CLKTCK" }, { 23, "AT_SECURE" },
	{ 24, "AT_BASE_PLATFORM" }, { 25, "AT_RANDOM" }, { 26, "AT_HWCAP2" },
	{ 27, "AT_RSEQ_FEATURE_SIZE" }, { 28, "AT_RSEQ_ALIGN" }, { 29, "AT_HWCAP3" },
	{ 30, "AT_HWCAP4" }, { 31, "AT_EXECFN" }, { 33, "AT_SYSINFO_EHDR" },
	{ 51, "AT_MINSIGSTKSZ" }, { 0, NULL },
};

/* ---- encoding ---- */

static json_t *encode_strlist(const struct ps_strlist *l)
{
	json_t *a = json_array();
	int rc = 0;

	for (size_t i = 0; i < l->count; i++)
		rc |= json_array_append_new(a, ps_json_bytes(l->items[i].data, l->items[i].len));
	if (rc) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *encode_ids(const unsigned *ids)
{
	json_t *o = json_object();
	int rc = 0;

	for (int i = 0; i < 4; i++)
		rc |= json_object_set_new(o, uid_names[i], json_integer(ids[i]));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *encode_groups(const struct ps_creds *c)
{
	json_t *a = json_array();
	int rc = 0;

	for (size_t i = 0; i < c->ngroups; i++)
		rc |= json_array_append_new(a, json_integer(c->groups[i]));
	if (rc) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *encode_creds(const struct ps_creds *c)
{
	json_t *o = json_object();
	int rc = 0;

	rc |= json_object_set_new(o, "uid", encode_ids(c->uid));
	rc |= json_object_set_new(o, "gid", encode_ids(c->gid));
	rc |= json_object_set_new(o, "groups", encode_groups(c));
	rc |= json_object_set_new(o, "cap_inheritable", ps_json_hex(c->cap_inh));
	rc |= json_object_set_new(o, "cap_permitted", ps_json_hex(c->cap_prm));
	rc |= json_object_set_new(o, "cap_effective", ps_json_hex(c->cap_eff));
	rc |= json_object_set_new(o, "cap_bounding", ps_json_hex(c->cap_bnd));
	rc |= json_object_set_new(o, "cap_ambient", ps_json_hex(c->cap_amb));
	rc |= json_object_set_new(o, "securebits", ps_json_hex(c->securebits));
	rc |= json_object_set_new(o, "no_new_privs", json_boolean(c->no_new_privs));
	rc |= json_object_set_new(o, "dumpable", json_integer(c->dumpable));
	rc |= json_object_set_new(o, "seccomp", ps_json_enum(c->seccomp, seccomp_names));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *encode_rlim_value(uint64_t v)
{
	return v == PS_RLIM_INFINITY ? json_string("unlimited") : ps_json_count(v);
}

static json_t *encode_rlimits(const struct ps_rlimit *r)
{
	json_t *o = json_object();
	int rc = 0;

	for (int i = 0; i < PS_NRLIMITS; i++)
		rc |= json_object_set_new(o, rlimit_names[i],
					  json_pack("{s:o,s:o}",
						    "cur", encode_rlim_value(r[i].cur),
						    "max", encode_rlim_value(r[i].max)));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *encode_auxv(const struct ps_mm *mm)
{
	json_t *a = json_array();
	int rc = 0;

	for (size_t i = 0; i < mm->nauxv; i++)
		rc |= json_array_append_new(a, json_pack("{s:o,s:o}",
				"type", ps_json_enum((long long)mm->auxv[i].type, auxv_names),
				"value", ps_json_hex(mm->auxv[i].value)));
	if (rc) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *encode_mm(const struct ps_mm *mm)
{
	json_t *o = json_object();
	int rc = 0;

	rc |= json_object_set_new(o, "start_code", ps_json_hex(mm->start_code));
	rc |= json_object_set_new(o, "end_code", ps_json_hex(mm->end_code));
	rc |= json_object_set_new(o, "start_data", ps_json_hex(mm->start_data));
	rc |= json_object_set_new(o, "end_data", ps_json_hex(mm->end_data));
	rc |= json_object_set_new(o, "start_brk", ps_json_hex(mm->start_brk));
	rc |= json_object_set_new(o, "brk", ps_json_hex(mm->brk));
	rc |= json_object_set_new(o, "start_stack", ps_json_hex(mm->start_stack));
	rc |= json_object_set_new(o, "arg_start", ps_json_hex(mm->arg_start));
	rc |= json_object_set_new(o, "arg_end", ps_json_hex(mm->arg_end));
	rc |= json_object_set_new(o, "env_start", ps_json_hex(mm->env_start));
	rc |= json_object_set_new(o, "env_end", ps_json_hex(mm->env_end));
	rc |= json_object_set_new(o, "auxv", encode_auxv(mm));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *encode_children(const struct ps_process *p)
{
	json_t *a = json_array();
	int rc = a ? 0 : -1;

	for (size_t i = 0; a && i < p->nchildren; i++)
		rc |= json_array_append_new(a, json_integer(p->children[i]));
	if (rc) {
		json_decref(a);
		return NULL;
	}
	return a;
}

json_t *ps_encode_process(const struct ps_process *p)
{
	json_t *o = ps_json_new_file();
	int rc = 0;

	rc |= json_object_set_new(o, "pid", json_integer(p->pid));
	rc |= json_object_set_new(o, "ppid", json_integer(p->ppid));
	rc |= json_object_set_new(o, "pgid", json_integer(p->pgid));
	rc |= json_object_set_new(o, "sid", json_integer(p->sid));
	rc |= json_object_set_new(o, "comm", ps_json_comm(p->comm));
	rc |= json_object_set_new(o, "exe", ps_json_bytes(p->exe.data, p->exe.len));
	rc |= json_object_set_new(o, "cwd", ps_json_bytes(p->cwd.data, p->cwd.len));
	rc |= json_object_set_new(o, "root", ps_json_bytes(p->root.data, p->root.len));
	rc |= json_object_set_new(o, "cmdline", encode_strlist(&p->cmdline));
	rc |= json_object_set_new(o, "environ", encode_strlist(&p->environ));
	rc |= json_object_set_new(o, "umask", ps_json_octal(p->umask));
	rc |= json_object_set_new(o, "credentials", encode_creds(&p->creds));
	rc |= json_object_set_new(o, "rlimits", encode_rlimits(p->rlimits));
	rc |= json_object_set_new(o, "personality", ps_json_hex(p->personality));
	rc |= json_object_set_new(o, "mm", encode_mm(&p->mm));
	rc |= ps_encode_timers(p, o);
	rc |= json_object_set_new(o, "children", encode_children(p));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- decoding ---- */

static int decode_ids(const json_t *j, long long *pid, struct ps_process *p,
		      struct ps_jerr *e)
{
	long long ppid, pgid, sid;

	if (ps_jget_int(j, "pid", 1, PS_PID_MAX, pid, e) ||
	    ps_jget_int(j, "ppid", 0, PS_PID_MAX, &ppid, e) ||
	    ps_jget_int(j, "pgid", 0, PS_PID_MAX, &pgid, e) ||
	    ps_jget_int(j, "sid", 0, PS_PID_MAX, &sid, e))
		return -EINVAL;
	p->pid = (pid_t)*pid;
	p->ppid = (pid_t)ppid;
	p->pgid = (pid_t)pgid;
	p->sid = (pid_t)sid;
	return 0;
}

/* The strings of array a, their bytes (and NULs) added to *bytes, which
 * cmdline and environ share. */
static int decode_strlist(const json_t *a, const char *key, struct ps_strlist *l,
			  size_t *bytes, struct ps_jerr *e)
{
	size_t n = json_array_size(a);
	char field[64];

	l->items = calloc(n ? n : 1, sizeof(*l->items));
	if (!l->items)
		return ps_jerr_nomem(e);
	for (size_t i = 0; i < n; i++) {
		snprintf(field, sizeof(field), "%s[%zu]", key, i);
		if (ps_jv_bytes(json_array_get(a, i), field, PS_MAX_ARGS_BYTES, &l->items[i], e))
			return -EINVAL;
		l->count = i + 1;
		*bytes += l->items[i].len + 1;
		if (*bytes > PS_MAX_ARGS_BYTES)
			return ps_jerr_fail(e, "fields \"cmdline\" and \"environ\" hold %zu bytes "
					    "with %s, more than the %d a process may have", *bytes,
					    field, PS_MAX_ARGS_BYTES);
	}
	return 0;
}

/* cmdline and environ, within the bounds exec puts on them together. */
static int decode_args(const json_t *j, struct ps_process *p, struct ps_jerr *e)
{
	const json_t *args, *env;
	size_t n, bytes = 0;

	if (ps_jget_array(j, "cmdline", &args, e) || ps_jget_array(j, "environ", &env, e))
		return -EINVAL;
	n = json_array_size(args) + json_array_size(env);
	if (n > PS_MAX_ARGS)
		return ps_jerr_fail(e, "fields \"cmdline\" and \"environ\" hold %zu strings, more "
				    "than the %d a process may have", n, PS_MAX_ARGS);
	if (decode_strlist(args, "cmdline", &p->cmdline, &bytes, e) ||
	    decode_strlist(env, "environ", &p->environ, &bytes, e))
		return -EINVAL;
	return 0;
}

static int decode_paths(const json_t *j, struct ps_process *p, struct ps_jerr *e)
{
	if (ps_jget_comm(j, "comm", p->comm, e) ||
	    ps_jget_path(j, "exe", 0, &p->exe, e))
		return -EINVAL;
	if (p->exe.len && p->exe.data[0] != '/')
		return ps_jerr_fail(e, "field \"exe\" must be empty or an absolute path");
	if (ps_jget_path(j, "cwd", 1, &p->cwd, e) ||
	    ps_jget_path(j, "root", 1, &p->root, e) ||
	    decode_args(j, p, e))
		return -EINVAL;
	return 0;
}

static int decode_id_set(const json_t *c, const char *key, unsigned *ids, struct ps_jerr *e)
{
	const json_t *o;
	size_t mark;
	long long v;

	if (ps_jget_object(c, key, &o, e))
		return -EINVAL;
	mark = ps_jerr_push(e, "%s", key);
	for (int i = 0; i < 4; i++) {
		if (ps_jget_int(o, uid_names[i], 0, MAX_ID, &v, e))
			return -EINVAL;
		ids[i] = (unsigned)v;
	}
	ps_jerr_pop(e, mark);
	return 0;
}

static int decode_groups(const json_t *c, struct ps_creds *cr, struct ps_jerr *e)
{
	const json_t *a;
	size_t n;
	long long v;
	char field[32];

	if (ps_jget_array_max(c, "groups", PS_MAX_GROUPS, "supplementary groups a process may have",
			      &a, &n, e))
		return -EINVAL;
	cr->groups = calloc(n ? n : 1, sizeof(*cr->groups));
	if (!cr->groups)
		return ps_jerr_nomem(e);
	cr->ngroups = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(field, sizeof(field), "groups[%zu]", i);
		if (ps_jv_int(json_array_get(a, i), field, 0, MAX_ID, &v, e))
			return -EINVAL;
		cr->groups[i] = (gid_t)v;
	}
	return 0;
}

/* Absent in images of before it: no children known. Sorted and distinct,
 * never the process itself. */
static int decode_children(const json_t *j, struct ps_process *p, struct ps_jerr *e)
{
	const json_t *a;
	size_t n;
	long long v;
	char field[40];

	if (!ps_jhas(j, "children"))
		return 0;
	if (ps_jget_array_max(j, "children", PS_MAX_CHILDREN, "child processes a process may have",
			      &a, &n, e))
		return -EINVAL;
	p->children = calloc(n ? n : 1, sizeof(*p->children));
	if (!p->children)
		return ps_jerr_nomem(e);
	for (size_t i = 0; i < n; i++) {
		snprintf(field, sizeof(field), "children[%zu]", i);
		if (ps_jv_int(json_array_get(a, i), field, 1, PS_PID_MAX, &v, e))
			return -EINVAL;
		if ((i > 0 && v <= p->children[i - 1]) || v == p->pid)
			return ps_jerr_fail(e, "field \"%s\" is %lld: children are listed in increasing "
					    "order, once each, and never the process itself", field, v);
		p->children[i] = (pid_t)v;
		p->nchildren = i + 1;
	}
	return 0;
}

static int decode_caps(const json_t *c, struct ps_creds *cr, struct ps_jerr *e)
{
	uint64_t securebits;

	if (ps_jget_hex(c, "cap_inheritable", UINT64_MAX, &cr->cap_inh, e) ||
	    ps_jget_hex(c, "cap_permitted", UINT64_MAX, &cr->cap_prm, e) ||
	    ps_jget_hex(c, "cap_effective", UINT64_MAX, &cr->cap_eff, e) ||
	    ps_jget_hex(c, "cap_bounding", UINT64_MAX, &cr->cap_bnd, e) ||
	    ps_jget_hex(c, "cap_ambient", UINT64_MAX, &cr->cap_amb, e) ||
	    ps_jget_hex(c, "securebits", UINT32_MAX, &securebits, e))
		return -EINVAL;
	cr->securebits = (uint32_t)securebits;
	return 0;
}

static int decode_creds(const json_t *j, struct ps_creds *cr, struct ps_jerr *e)
{
	const json_t *c;
	long long seccomp, dumpable;
	size_t mark;

	if (ps_jget_object(j, "credentials", &c, e))
		return -EINVAL;
	mark = ps_jerr_push(e, "credentials");
	if (decode_id_set(c, "uid", cr->uid, e) ||
	    decode_id_set(c, "gid", cr->gid, e) ||
	    decode_groups(c, cr, e) ||
	    decode_caps(c, cr, e) ||
	    ps_jget_bool(c, "no_new_privs", &cr->no_new_privs, e) ||
	    ps_jget_int(c, "dumpable", 0, 2, &dumpable, e) ||
	    ps_jget_enum(c, "seccomp", seccomp_names, 0, &seccomp, e))
		return -EINVAL;
	cr->seccomp = (int)seccomp;
	cr->dumpable = (int)dumpable;
	ps_jerr_pop(e, mark);
	return 0;
}

static int decode_rlim_value(const json_t *r, const char *key, uint64_t *out,
			     struct ps_jerr *e)
{
	const json_t *v = json_object_get(r, key);

	if (json_is_string(v) && strcmp(json_string_value(v), "unlimited") == 0) {
		*out = PS_RLIM_INFINITY;
		return 0;
	}
	return ps_jget_count(r, key, out, e);
}

static int rlimit_index(const char *name)
{
	for (int i = 0; i < PS_NRLIMITS; i++)
		if (strcmp(rlimit_names[i], name) == 0)
			return i;
	return -1;
}

static int decode_rlimit(const json_t *o, int i, struct ps_rlimit *r, struct ps_jerr *e)
{
	const json_t *lim;
	size_t mark;

	if (ps_jget_object(o, rlimit_names[i], &lim, e))
		return -EINVAL;
	mark = ps_jerr_push(e, "%s", rlimit_names[i]);
	if (decode_rlim_value(lim, "cur", &r->cur, e) ||
	    decode_rlim_value(lim, "max", &r->max, e))
		return -EINVAL;
	if (r->cur > r->max)   /* setrlimit refuses it */
		return ps_jerr_fail(e, "field \"cur\" is above \"max\"");
	ps_jerr_pop(e, mark);
	return 0;
}

static int decode_rlimits(const json_t *j, struct ps_rlimit *r, struct ps_jerr *e)
{
	const json_t *o;
	const char *key;
	const json_t *v;
	size_t mark;

	if (ps_jget_object(j, "rlimits", &o, e))
		return -EINVAL;
	mark = ps_jerr_push(e, "rlimits");
	json_object_foreach((json_t *)o, key, v)
		if (rlimit_index(key) < 0)
			return ps_jerr_fail(e, "\"%s\" is not a resource limit of Linux", key);
	for (int i = 0; i < PS_NRLIMITS; i++)
		if (decode_rlimit(o, i, &r[i], e))
			return -EINVAL;
	ps_jerr_pop(e, mark);
	return 0;
}

static int decode_auxv_entry(const json_t *v, struct ps_auxv_entry *a, struct ps_jerr *e)
{
	long long type;

	if (ps_jv_object(v, "auxv[]", e) ||
	    ps_jget_enum(v, "type", auxv_names, 1, &type, e) ||
	    ps_jget_hex(v, "value", UINT64_MAX, &a->value, e))
		return -EINVAL;
	if (type < 0)
		return ps_jerr_fail(e, "field \"type\" is %lld, not an AT_* number", type);
	a->type = (uint64_t)type;
	return 0;
}

/* PR_SET_MM_AUXV takes a bounded vector that ends with AT_NULL. */
static int decode_auxv(const json_t *mmj, struct ps_mm *mm, struct ps_jerr *e)
{
	const json_t *a;
	size_t n;

	if (ps_jget_array_max(mmj, "auxv", PS_MAX_AUXV, "entries an auxiliary vector may have",
			      &a, &n, e))
		return -EINVAL;
	if (n == 0)
		return ps_jerr_fail(e, "field \"auxv\" is empty: it must end with AT_NULL");
	mm->auxv = calloc(n, sizeof(*mm->auxv));
	if (!mm->auxv)
		return ps_jerr_nomem(e);
	mm->nauxv = n;
	for (size_t i = 0; i < n; i++) {
		size_t mark = ps_jerr_push(e, "auxv[%zu]", i);
		if (decode_auxv_entry(json_array_get(a, i), &mm->auxv[i], e))
			return -EINVAL;
		if ((mm->auxv[i].type == 0) != (i == n - 1))
			return ps_jerr_fail(e, "AT_NULL must be the last entry, and only it");
		ps_jerr_pop(e, mark);
	}
	return 0;
}

/* The pairs PR_SET_MM_MAP checks for order, checked here first. */
static int check_mm_order(const struct ps_mm *mm, struct ps_jerr *e)
{
	if (mm->start_code > mm->end_code)
		return ps_jerr_fail(e, "field \"start_code\" is above \"end_code\"");
	if (mm->start_data > mm->end_data)
		return ps_jerr_fail(e, "field \"start_data\" is above \"end_data\"");
	if (mm->start_brk > mm->brk)
		return ps_jerr_fail(e, "field \"start_brk\" is above \"brk\"");
	if (mm->arg_start > mm->arg_end)
		return ps_jerr_fail(e, "field \"arg_start\" is above \"arg_end\"");
	if (mm->env_start > mm->env_end)
		return ps_jerr_fail(e, "field \"env_start\" is above \"env_end\"");
	return 0;
}

static int decode_mm(const json_t *j, struct ps_mm *mm, struct ps_jerr *e)
{
	const json_t *o;
	size_t mark;

	if (ps_jget_object(j, "mm", &o, e))
		return -EINVAL;
	mark = ps_jerr_push(e, "mm");
	if (ps_jget_addr(o, "start_code", &mm->start_code, e) ||
	    ps_jget_addr(o, "end_code", &mm->end_code, e) ||
	    ps_jget_addr(o, "start_data", &mm->start_data, e) ||
	    ps_jget_addr(o, "end_data", &mm->end_data, e) ||
	    ps_jget_addr(o, "start_brk", &mm->start_brk, e) ||
	    ps_jget_addr(o, "brk", &mm->brk, e) ||
	    ps_jget_addr(o, "start_stack", &mm->start_stack, e) ||
	    ps_jget_addr(o, "arg_start", &mm->arg_start, e) ||
	    ps_jget_addr(o, "arg_end", &mm->arg_end, e) ||
	    ps_jget_addr(o, "env_start", &mm->env_start, e) ||
	    ps_jget_addr(o, "env_end", &mm->env_end, e) ||
	    check_mm_order(mm, e) ||
	    decode_auxv(o, mm, e))
		return -EINVAL;
	ps_jerr_pop(e, mark);
	return 0;
}

static int decode_all(const json_t *j, struct ps_process *p, struct ps_jerr *e)
{
	long long pid;
	uint64_t umask, personality;

	if (ps_jcheck_format(j, e) ||
	    decode_ids(j, &pid, p, e) ||
	    decode_paths(j, p, e) ||
	    ps_jget_octal(j, "umask", 0777, &umask, e) ||
	    decode_creds(j, &p->creds, e) ||
	    decode_rlimits(j, p->rlimits, e) ||
	    ps_jget_hex(j, "personality", UINT32_MAX, &personality, e) ||
	    decode_mm(j, &p->mm, e) ||
	    ps_decode_timers(j, p, e) ||
	    decode_children(j, p, e))
		return -EINVAL;
	p->umask = (unsigned)umask;
	p->personality = (unsigned long)personality;
	return 0;
}

int ps_decode_process(const json_t *j, struct ps_process *out, char *err, size_t errlen)
{
	struct ps_jerr e;
	int rc;

	ps_jerr_init(&e, err, errlen, "process.json");
	memset(out, 0, sizeof(*out));
	rc = decode_all(j, out, &e);
	if (rc)
		ps_process_free(out);
	return ps_jerr_rc(&e, rc);
}

json_t *ps_encode_process_part(const struct ps_model *m, size_t thread)
{
	(void)thread;
	return ps_encode_process(&m->proc);
}

int ps_decode_process_part(const json_t *j, struct ps_model *m, size_t thread,
			   char *err, size_t errlen)
{
	int rc = ps_decode_process(j, &m->proc, err, errlen);

	(void)thread;
	if (!rc && m->proc.pid != m->meta.pid)
		rc = ps_fail(err, errlen, -EINVAL, "process.json is for pid %d, but image.json for "
			     "pid %d", m->proc.pid, m->meta.pid);
	return rc;
}
