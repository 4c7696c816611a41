/* attributes.json: what the process ("process") and each thread ("threads",
 * by tid) set on themselves; every value checked against the kernel's range. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/codec.h"
#include "image/image_limits.h"
#include "image/json_util.h"

/* The policies sched_setattr accepts (SCHED_ISO, 4, is reserved). */
static const struct ps_name policies[] = {
	{ 0, "SCHED_OTHER" }, { 1, "SCHED_FIFO" }, { 2, "SCHED_RR" }, { 3, "SCHED_BATCH" },
	{ 5, "SCHED_IDLE" }, { 6, "SCHED_DEADLINE" }, { 0, NULL },
};

/* What sched_getattr reports of sched_flags: reset-on-fork and the util
 * clamp flags (SCHED_FLAG_*); anything else is refused. */
#define SCHED_FLAGS_KNOWN 0x7fULL
#define MEMBARRIER_KNOWN ((1U << 4) | (1U << 6) | (1U << 8))
#define XCOMP_KNOWN 0xffffffffffffffffULL
/* Securebits 0-11: the six of capabilities and their locks, and Linux
 * 6.14's exec restrictions and their locks. */
#define SECUREBITS_KNOWN 0xfff

/* ---- encoding ---- */

static json_t *encode_sched(const struct ps_sched *s)
{
	json_t *o = json_object();
	int rc = 0;

	rc |= json_object_set_new(o, "policy", ps_json_enum(s->policy, policies));
	rc |= json_object_set_new(o, "flags", ps_json_hex(s->flags));
	rc |= json_object_set_new(o, "nice", json_integer(s->nice));
	rc |= json_object_set_new(o, "priority", json_integer(s->priority));
	rc |= json_object_set_new(o, "runtime_ns", ps_json_count(s->runtime));
	rc |= json_object_set_new(o, "deadline_ns", ps_json_count(s->deadline));
	rc |= json_object_set_new(o, "period_ns", ps_json_count(s->period));
	rc |= json_object_set_new(o, "util_min", json_integer(s->util_min));
	rc |= json_object_set_new(o, "util_max", json_integer(s->util_max));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *encode_thread(const struct ps_thread_attrs *t)
{
	json_t *o = json_object(), *spec = json_array(), *cpus = json_array();
	int rc = 0;

	for (int i = 0; i < 3; i++)
		rc |= json_array_append_new(spec, json_integer(t->spec[i]));
	for (int i = 0; i < PS_CPU_WORDS; i++)
		rc |= json_array_append_new(cpus, ps_json_hex(t->cpus[i]));
	rc |= json_object_set_new(o, "tid", json_integer(t->tid));
	rc |= json_object_set_new(o, "sched", encode_sched(&t->sched));
	rc |= json_object_set_new(o, "cpus", cpus);
	rc |= json_object_set_new(o, "mempolicy", json_integer(t->mempolicy));
	rc |= json_object_set_new(o, "shadow_stack", json_boolean(t->shstk));
	rc |= json_object_set_new(o, "ioprio", ps_json_hex(t->ioprio));
	rc |= json_object_set_new(o, "timerslack_ns", ps_json_count(t->timerslack_ns));
	rc |= json_object_set_new(o, "pdeathsig", json_integer(t->pdeathsig));
	rc |= json_object_set_new(o, "speculation", spec);
	rc |= json_object_set_new(o, "securebits", ps_json_hex(t->securebits));
	rc |= json_object_set_new(o, "no_new_privs", json_boolean(t->no_new_privs));
	rc |= json_object_set_new(o, "mce_kill", json_integer(t->mce_kill));
	rc |= json_object_set_new(o, "tsc", json_integer(t->tsc));
	rc |= json_object_set_new(o, "io_flusher", json_boolean(t->io_flusher));
	rc |= json_object_set_new(o, "cpuid", json_boolean(t->cpuid));
	rc |= json_object_set_new(o, "core_cookie", ps_json_hex(t->core_cookie));
	rc |= json_object_set_new(o, "syscall_user_dispatch", ps_json_hex(t->sud_mode));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *encode_process(const struct ps_attributes *a)
{
	json_t *o = json_object();
	int rc = 0;

	rc |= json_object_set_new(o, "oom_score_adj", json_integer(a->oom_score_adj));
	rc |= json_object_set_new(o, "loginuid", json_integer(a->loginuid));
	rc |= json_object_set_new(o, "coredump_filter", ps_json_hex(a->coredump_filter));
	rc |= json_object_set_new(o, "autogroup_nice", json_integer(a->autogroup_nice));
	rc |= json_object_set_new(o, "thp_disable", json_boolean(a->thp_disable));
	rc |= json_object_set_new(o, "child_subreaper", json_boolean(a->child_subreaper));
	rc |= json_object_set_new(o, "memory_merge", json_integer(a->memory_merge));
	rc |= json_object_set_new(o, "mdwe", json_integer(a->mdwe));
	rc |= json_object_set_new(o, "membarrier", ps_json_hex(a->membarrier));
	rc |= json_object_set_new(o, "xcomp_perm", ps_json_hex(a->xcomp_perm));
	rc |= json_object_set_new(o, "untag_mask", ps_json_hex(a->untag_mask));
	rc |= json_object_set_new(o, "futex_slots", json_integer(a->futex_slots));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *ps_encode_attributes_part(const struct ps_model *m, size_t thread)
{
	const struct ps_attributes *a = &m->attrs;
	json_t *o = ps_json_new_file(), *threads = json_array();
	int rc = 0;

	(void)thread;
	for (size_t i = 0; i < a->nthreads; i++)
		rc |= json_array_append_new(threads, encode_thread(&a->threads[i]));
	rc |= json_object_set_new(o, "process", encode_process(a));
	rc |= json_object_set_new(o, "threads", threads);
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- decoding ---- */

static int get_int(const json_t *o, const char *key, long long min, long long max, int *out,
		   struct ps_jerr *e)
{
	long long v;

	if (ps_jget_int(o, key, min, max, &v, e))
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int get_u32(const json_t *o, const char *key, long long max, uint32_t *out,
		   struct ps_jerr *e)
{
	long long v;

	if (ps_jget_int(o, key, 0, max, &v, e))
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int get_hex32(const json_t *o, const char *key, uint64_t max, uint32_t *out,
		     struct ps_jerr *e)
{
	uint64_t v;

	if (ps_jget_hex(o, key, max, &v, e))
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Ranges as the kernel keeps them: nice -20..19, real-time priority
 * 0..99, util clamps 0..1024 with min <= max. */
static int decode_sched(const json_t *j, struct ps_sched *s, struct ps_jerr *e)
{
	const json_t *o;
	long long policy;

	if (ps_jget_object(j, "sched", &o, e) || ps_jget_enum(o, "policy", policies, 0, &policy, e) ||
	    ps_jget_hex(o, "flags", SCHED_FLAGS_KNOWN, &s->flags, e) ||
	    get_int(o, "nice", -20, 19, &s->nice, e) ||
	    get_u32(o, "priority", 99, &s->priority, e) ||
	    ps_jget_count(o, "runtime_ns", &s->runtime, e) ||
	    ps_jget_count(o, "deadline_ns", &s->deadline, e) ||
	    ps_jget_count(o, "period_ns", &s->period, e) ||
	    get_u32(o, "util_min", 1024, &s->util_min, e) ||
	    get_u32(o, "util_max", 1024, &s->util_max, e))
		return -EINVAL;
	s->policy = (uint32_t)policy;
	if (s->util_min > s->util_max)
		return ps_jerr_fail(e, "sched: util_min %u is above util_max %u", s->util_min,
				    s->util_max);
	if ((s->policy == 1 || s->policy == 2) != (s->priority != 0))
		return ps_jerr_fail(e, "sched: priority %u does not fit the policy", s->priority);
	return 0;
}

static int decode_speculation(const json_t *j, int spec[3], struct ps_jerr *e)
{
	const json_t *a;
	size_t n;

	if (ps_jget_array_max(j, "speculation", 3, "misfeatures procsnap knows", &a, &n, e))
		return -EINVAL;
	if (n != 3)
		return ps_jerr_fail(e, "speculation has %zu entries, not 3", n);
	for (size_t i = 0; i < 3; i++) {
		long long v;

		if (ps_jv_int(json_array_get(a, i), "speculation", -1, 0x1f, &v, e))
			return -EINVAL;
		spec[i] = (int)v;
	}
	return 0;
}

/* PS_CPU_WORDS words of 64 CPUs; a thread runs on at least one. */
static int decode_cpus(const json_t *j, uint64_t cpus[PS_CPU_WORDS], struct ps_jerr *e)
{
	const json_t *a;
	uint64_t any = 0;
	size_t n;

	if (ps_jget_array_max(j, "cpus", PS_CPU_WORDS, "words of the CPU mask", &a, &n, e))
		return -EINVAL;
	if (n != PS_CPU_WORDS)
		return ps_jerr_fail(e, "cpus has %zu words, not %d", n, PS_CPU_WORDS);
	for (size_t i = 0; i < n; i++) {
		const char *s;

		if (ps_jv_string(json_array_get(a, i), "cpus", 18, &s, e))
			return -EINVAL;
		if (strncmp(s, "0x", 2) != 0 || !s[2] || strspn(s + 2, "0123456789abcdef") != strlen(s + 2))
			return ps_jerr_fail(e, "cpus word %zu is not \"0x\" and hex digits", i);
		cpus[i] = strtoull(s + 2, NULL, 16);
		any |= cpus[i];
	}
	if (!any)
		return ps_jerr_fail(e, "cpus allows no CPU at all");
	return 0;
}

static int decode_thread(const json_t *j, struct ps_thread_attrs *t, struct ps_jerr *e)
{
	if (ps_jv_object(j, "thread", e))
		return -EINVAL;
	if (get_int(j, "tid", 1, PS_PID_MAX, &t->tid, e) || decode_sched(j, &t->sched, e) ||
	    decode_cpus(j, t->cpus, e) || get_int(j, "mempolicy", 0, 7, &t->mempolicy, e) ||
	    ps_jget_bool(j, "shadow_stack", &t->shstk, e) ||
	    get_hex32(j, "ioprio", 0xffff, &t->ioprio, e) ||
	    ps_jget_count(j, "timerslack_ns", &t->timerslack_ns, e) ||
	    get_int(j, "pdeathsig", 0, PS_NSIG, &t->pdeathsig, e) ||
	    decode_speculation(j, t->spec, e) ||
	    get_hex32(j, "securebits", SECUREBITS_KNOWN, &t->securebits, e) ||
	    ps_jget_bool(j, "no_new_privs", &t->no_new_privs, e) ||
	    get_int(j, "mce_kill", 0, 2, &t->mce_kill, e) ||
	    get_int(j, "tsc", 0, 2, &t->tsc, e) ||
	    ps_jget_bool(j, "io_flusher", &t->io_flusher, e) ||
	    ps_jget_bool(j, "cpuid", &t->cpuid, e) ||
	    ps_jget_hex(j, "core_cookie", UINT64_MAX, &t->core_cookie, e) ||
	    ps_jget_hex(j, "syscall_user_dispatch", 1, &t->sud_mode, e))
		return -EINVAL;
	return 0;
}

static int decode_process(const json_t *j, struct ps_attributes *a, struct ps_jerr *e)
{
	const json_t *o;
	long long loginuid;

	if (ps_jget_object(j, "process", &o, e) ||
	    get_int(o, "oom_score_adj", -1000, 1000, &a->oom_score_adj, e) ||
	    ps_jget_int(o, "loginuid", 0, UINT32_MAX, &loginuid, e) ||
	    get_hex32(o, "coredump_filter", 0x1ff, &a->coredump_filter, e) ||
	    get_int(o, "autogroup_nice", -20, 19, &a->autogroup_nice, e) ||
	    ps_jget_bool(o, "thp_disable", &a->thp_disable, e) ||
	    ps_jget_bool(o, "child_subreaper", &a->child_subreaper, e) ||
	    get_int(o, "memory_merge", -1, 1, &a->memory_merge, e) ||
	    get_int(o, "mdwe", -1, 3, &a->mdwe, e) ||
	    get_hex32(o, "membarrier", MEMBARRIER_KNOWN, &a->membarrier, e) ||
	    ps_jget_hex(o, "xcomp_perm", XCOMP_KNOWN, &a->xcomp_perm, e) ||
	    ps_jget_hex(o, "untag_mask", UINT64_MAX, &a->untag_mask, e) ||
	    get_int(o, "futex_slots", -1, 1 << 30, &a->futex_slots, e))
		return -EINVAL;
	a->loginuid = (uint32_t)loginuid;
	if (a->membarrier & ~MEMBARRIER_KNOWN)
		return ps_jerr_fail(e, "process: membarrier %#x holds registrations procsnap does "
				    "not know", (unsigned)a->membarrier);
	return 0;
}

/* Each entry names a thread of the image, once; it goes to that thread's
 * slot, so a->threads[i] is m->threads[i]'s. */
static int decode_threads(const json_t *j, struct ps_model *m, struct ps_jerr *e)
{
	struct ps_attributes *a = &m->attrs;
	const json_t *arr;
	size_t n;

	if (ps_jget_array_max(j, "threads", m->nthreads, "threads the image has", &arr, &n, e))
		return -EINVAL;
	if (n != m->nthreads)
		return ps_jerr_fail(e, "threads has %zu entries for the image's %zu threads", n,
				    m->nthreads);
	a->threads = calloc(n ? n : 1, sizeof(*a->threads));
	if (!a->threads)
		return ps_jerr_nomem(e);
	a->nthreads = n;
	for (size_t i = 0; i < n; i++) {
		struct ps_thread_attrs t = { 0 };
		size_t mark = ps_jerr_push(e, "threads[%zu]", i), slot;

		if (decode_thread(json_array_get(arr, i), &t, e))
			return -EINVAL;
		for (slot = 0; slot < m->nthreads && m->threads[slot].tid != t.tid; slot++)
			;
		if (slot == m->nthreads)
			return ps_jerr_fail(e, "tid %d is not a thread of the image", t.tid);
		if (a->threads[slot].tid)
			return ps_jerr_fail(e, "tid %d is listed twice", t.tid);
		a->threads[slot] = t;
		ps_jerr_pop(e, mark);
	}
	return 0;
}

int ps_decode_attributes_part(const json_t *j, struct ps_model *m, size_t thread, char *err,
			      size_t errlen)
{
	struct ps_jerr e;
	int rc;

	(void)thread;
	ps_jerr_init(&e, err, errlen, "attributes.json");
	memset(&m->attrs, 0, sizeof(m->attrs));
	rc = ps_jcheck_format(j, &e);
	if (!rc)
		rc = decode_process(j, &m->attrs, &e);
	if (!rc)
		rc = decode_threads(j, m, &e);
	if (rc) {
		free(m->attrs.threads);
		memset(&m->attrs, 0, sizeof(m->attrs));
		return ps_jerr_rc(&e, rc);
	}
	m->attrs.present = 1;
	return 0;
}
