/* seccomp.json: every distinct seccomp filter once (program, flags, the one
 * before it) and each thread's mode and most recent filter. */
#include <errno.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <string.h>

#include "image/codec.h"
#include "image/json_util.h"

#define INSN_BYTES 8                   /* struct sock_filter */
#define FLAG_LOG 2                     /* SECCOMP_FILTER_FLAG_LOG */

static const struct ps_name mode_names[] = {
	{ PS_SECCOMP_NONE, "disabled" },
	{ PS_SECCOMP_STRICT, "strict" },
	{ PS_SECCOMP_FILTER, "filter" },
	{ 0, NULL },
};

static const struct ps_flag filter_flags[] = {
	{ FLAG_LOG, FLAG_LOG, "log" },
	{ 0, 0, NULL },
};

/* ---- encoding ---- */

/* The program as the kernel's struct sock_filter array, little-endian:
 * code (2 bytes), jt, jf, k (4 bytes). */
static void put_insns(const struct ps_seccomp_filter *f, uint8_t *out)
{
	for (size_t i = 0; i < f->ninsns; i++, out += INSN_BYTES) {
		const struct ps_bpf_insn *in = &f->insns[i];

		out[0] = (uint8_t)in->code;
		out[1] = (uint8_t)(in->code >> 8);
		out[2] = in->jt;
		out[3] = in->jf;
		for (int b = 0; b < 4; b++)
			out[4 + b] = (uint8_t)(in->k >> (8 * b));
	}
}

static json_t *encode_filter(const struct ps_seccomp_filter *f)
{
	uint8_t *bytes = malloc(f->ninsns * INSN_BYTES + 1);
	json_t *o = json_object();
	int rc = !bytes;

	if (bytes)
		put_insns(f, bytes);
	rc |= json_object_set_new(o, "parent", json_integer(f->parent));
	rc |= json_object_set_new(o, "flags", ps_json_flags(f->log ? FLAG_LOG : 0, filter_flags));
	rc |= json_object_set_new(o, "program", bytes ? ps_json_blob(bytes, f->ninsns * INSN_BYTES) : NULL);
	free(bytes);
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *encode_thread(const struct ps_seccomp_thread *t)
{
	json_t *o = json_object();
	int rc = 0;

	rc |= json_object_set_new(o, "tid", json_integer(t->tid));
	rc |= json_object_set_new(o, "mode", ps_json_enum(t->mode, mode_names));
	rc |= json_object_set_new(o, "filter", json_integer(t->filter));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *ps_encode_seccomp_part(const struct ps_model *m, size_t thread)
{
	const struct ps_seccomp *s = &m->seccomp;
	json_t *o = ps_json_new_file();
	json_t *filters = json_array(), *threads = json_array();
	int rc = 0;

	(void)thread;
	for (size_t i = 0; i < s->nfilters; i++)
		rc |= json_array_append_new(filters, encode_filter(&s->filters[i]));
	for (size_t i = 0; i < s->nthreads; i++)
		rc |= json_array_append_new(threads, encode_thread(&s->threads[i]));
	rc |= json_object_set_new(o, "filters", filters);
	rc |= json_object_set_new(o, "threads", threads);
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- decoding ---- */

static int decode_program(const json_t *j, struct ps_seccomp_filter *f, struct ps_jerr *e)
{
	uint8_t *bytes = NULL;
	size_t len = 0;

	if (ps_jget_blob(j, "program", (size_t)PS_MAX_SECCOMP_INSNS * INSN_BYTES, &bytes, &len, e))
		return ps_jerr_rc(e, -EINVAL);
	if (len == 0 || len % INSN_BYTES) {
		free(bytes);
		return ps_jerr_fail(e, "field \"program\" has %zu bytes, not 1 to %d instructions of %d bytes",
				    len, PS_MAX_SECCOMP_INSNS, INSN_BYTES);
	}
	f->ninsns = len / INSN_BYTES;
	f->insns = calloc(f->ninsns, sizeof(*f->insns));
	if (!f->insns) {
		free(bytes);
		return ps_jerr_nomem(e);
	}
	for (size_t i = 0; i < f->ninsns; i++) {
		const uint8_t *b = bytes + i * INSN_BYTES;

		f->insns[i].code = (uint16_t)(b[0] | b[1] << 8);
		f->insns[i].jt = b[2];
		f->insns[i].jf = b[3];
		f->insns[i].k = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 |
				(uint32_t)b[7] << 24;
	}
	free(bytes);
	return 0;
}

/*
 * What the kernel accepts of a seccomp program (seccomp_check_filter and
 * bpf_check_classic): only these instructions; seccomp_data loads inside
 * its 64 bytes and 4-aligned; scratch memory M[0..15]; no division by a
 * constant 0; every jump inside the program; a return last. Checked here
 * so that a forged image is refused when it is read, not half-way through
 * a restore.
 */
#define SECCOMP_DATA_SIZE 64
#define BPF_MEMWORDS_ 16

static int is_allowed_code(uint16_t code)
{
	switch (code) {
	case BPF_LD | BPF_W | BPF_ABS: case BPF_LD | BPF_W | BPF_LEN: case BPF_LDX | BPF_W | BPF_LEN:
	case BPF_RET | BPF_K: case BPF_RET | BPF_A:
	case BPF_ALU | BPF_ADD | BPF_K: case BPF_ALU | BPF_ADD | BPF_X:
	case BPF_ALU | BPF_SUB | BPF_K: case BPF_ALU | BPF_SUB | BPF_X:
	case BPF_ALU | BPF_MUL | BPF_K: case BPF_ALU | BPF_MUL | BPF_X:
	case BPF_ALU | BPF_DIV | BPF_K: case BPF_ALU | BPF_DIV | BPF_X:
	case BPF_ALU | BPF_AND | BPF_K: case BPF_ALU | BPF_AND | BPF_X:
	case BPF_ALU | BPF_OR | BPF_K: case BPF_ALU | BPF_OR | BPF_X:
	case BPF_ALU | BPF_XOR | BPF_K: case BPF_ALU | BPF_XOR | BPF_X:
	case BPF_ALU | BPF_LSH | BPF_K: case BPF_ALU | BPF_LSH | BPF_X:
	case BPF_ALU | BPF_RSH | BPF_K: case BPF_ALU | BPF_RSH | BPF_X:
	case BPF_ALU | BPF_NEG:
	case BPF_LD | BPF_IMM: case BPF_LDX | BPF_IMM:
	case BPF_MISC | BPF_TAX: case BPF_MISC | BPF_TXA:
	case BPF_LD | BPF_MEM: case BPF_LDX | BPF_MEM: case BPF_ST: case BPF_STX:
	case BPF_JMP | BPF_JA:
	case BPF_JMP | BPF_JEQ | BPF_K: case BPF_JMP | BPF_JEQ | BPF_X:
	case BPF_JMP | BPF_JGE | BPF_K: case BPF_JMP | BPF_JGE | BPF_X:
	case BPF_JMP | BPF_JGT | BPF_K: case BPF_JMP | BPF_JGT | BPF_X:
	case BPF_JMP | BPF_JSET | BPF_K: case BPF_JMP | BPF_JSET | BPF_X:
		return 1;
	default:
		return 0;
	}
}

/* Why instruction i of f cannot be, or NULL. */
static const char *bad_insn(const struct ps_seccomp_filter *f, size_t i)
{
	const struct ps_bpf_insn *in = &f->insns[i];
	size_t left = f->ninsns - i - 1;          /* instructions after it */

	if (!is_allowed_code(in->code))
		return "is not one a seccomp program may hold";
	if (in->code == (BPF_LD | BPF_W | BPF_ABS) && (in->k >= SECCOMP_DATA_SIZE || in->k % 4))
		return "loads outside struct seccomp_data";
	if ((in->code == (BPF_LD | BPF_MEM) || in->code == (BPF_LDX | BPF_MEM) || in->code == BPF_ST ||
	     in->code == BPF_STX) && in->k >= BPF_MEMWORDS_)
		return "names a scratch word beyond the 16 there are";
	if (in->code == (BPF_ALU | BPF_DIV | BPF_K) && in->k == 0)
		return "divides by 0";
	if (in->code == (BPF_JMP | BPF_JA))
		return in->k >= left ? "jumps past the end" : NULL;
	if (BPF_CLASS(in->code) == BPF_JMP && (in->jt >= left || in->jf >= left))
		return "jumps past the end";
	return NULL;
}

static int check_program(const struct ps_seccomp_filter *f, struct ps_jerr *e)
{
	for (size_t i = 0; i < f->ninsns; i++) {
		const char *why = bad_insn(f, i);

		if (why)
			return ps_jerr_fail(e, "field \"program\": instruction %zu (code 0x%x) %s", i,
					    f->insns[i].code, why);
	}
	if (BPF_CLASS(f->insns[f->ninsns - 1].code) != BPF_RET)
		return ps_jerr_fail(e, "field \"program\" does not end with a return");
	return 0;
}

/* A parent always comes before its children: the filters form trees, never
 * a cycle. */
static int decode_filter(const json_t *j, size_t index, struct ps_seccomp_filter *f,
			 struct ps_jerr *e)
{
	long long parent;
	uint64_t flags;

	if (ps_jv_object(j, "filters[]", e) ||
	    ps_jget_int(j, "parent", -1, (long long)index - 1, &parent, e) ||
	    ps_jget_flags(j, "flags", filter_flags, &flags, e))
		return ps_jerr_rc(e, -EINVAL);
	if (flags & ~(uint64_t)FLAG_LOG)
		return ps_jerr_fail(e, "field \"flags\" has 0x%llx, which procsnap does not know",
				    (unsigned long long)(flags & ~(uint64_t)FLAG_LOG));
	f->parent = (long)parent;
	f->log = (flags & FLAG_LOG) != 0;
	if (decode_program(j, f, e))
		return ps_jerr_rc(e, -EINVAL);
	return check_program(f, e);
}

static int decode_filters(const json_t *j, struct ps_seccomp *s, struct ps_jerr *e)
{
	const json_t *a;
	size_t n;

	if (ps_jget_array_max(j, "filters", PS_MAX_SECCOMP_FILTERS, "seccomp filters an image may hold",
			      &a, &n, e))
		return ps_jerr_rc(e, -EINVAL);
	s->filters = calloc(n ? n : 1, sizeof(*s->filters));
	if (!s->filters)
		return ps_jerr_nomem(e);
	for (size_t i = 0; i < n; i++) {
		size_t mark = ps_jerr_push(e, "filter %zu", i);
		int rc = decode_filter(json_array_get(a, i), i, &s->filters[i], e);

		s->nfilters = i + 1;
		if (rc)
			return rc;
		ps_jerr_pop(e, mark);
	}
	return 0;
}

/* One entry per thread of the image, in its order; a filter exactly when
 * the mode is "filter". */
static int decode_thread(const json_t *j, const struct ps_thread *want, size_t nfilters,
			 struct ps_seccomp_thread *t, struct ps_jerr *e)
{
	long long tid, mode, filter;

	if (ps_jv_object(j, "threads[]", e) ||
	    ps_jget_int(j, "tid", 1, PS_PID_MAX, &tid, e) ||
	    ps_jget_enum(j, "mode", mode_names, 0, &mode, e) ||
	    ps_jget_int(j, "filter", -1, (long long)nfilters - 1, &filter, e))
		return ps_jerr_rc(e, -EINVAL);
	if (tid != want->tid)
		return ps_jerr_fail(e, "field \"tid\" is %lld, but the image's thread here is %d", tid,
				    (int)want->tid);
	if ((mode == PS_SECCOMP_FILTER) != (filter >= 0))
		return ps_jerr_fail(e, "field \"filter\" is %lld with mode \"%s\": a filter is named "
				    "exactly when the mode is \"filter\"", filter,
				    mode == PS_SECCOMP_FILTER ? "filter" : "disabled or strict");
	t->tid = (pid_t)tid;
	t->mode = (int)mode;
	t->filter = (long)filter;
	return 0;
}

static int decode_threads(const json_t *j, const struct ps_model *m, struct ps_seccomp *s,
			  struct ps_jerr *e)
{
	const json_t *a;
	size_t n;

	if (ps_jget_array_max(j, "threads", PS_MAX_THREADS, "threads an image may hold", &a, &n, e))
		return ps_jerr_rc(e, -EINVAL);
	if (n != m->nthreads)
		return ps_jerr_fail(e, "field \"threads\" has %zu entries, but the image has %zu threads",
				    n, m->nthreads);
	s->threads = calloc(n ? n : 1, sizeof(*s->threads));
	if (!s->threads)
		return ps_jerr_nomem(e);
	s->nthreads = n;
	for (size_t i = 0; i < n; i++) {
		size_t mark = ps_jerr_push(e, "thread %zu", i);

		if (decode_thread(json_array_get(a, i), &m->threads[i], s->nfilters, &s->threads[i], e))
			return ps_jerr_rc(e, -EINVAL);
		ps_jerr_pop(e, mark);
	}
	return 0;
}

int ps_decode_seccomp_part(const json_t *j, struct ps_model *m, size_t thread, char *err,
			   size_t errlen)
{
	struct ps_seccomp *s = &m->seccomp;
	struct ps_jerr e;
	int rc;

	(void)thread;
	ps_jerr_init(&e, err, errlen, "seccomp.json");
	ps_seccomp_free(s);
	rc = ps_jcheck_format(j, &e);
	if (!rc)
		rc = decode_filters(j, s, &e);
	if (!rc)
		rc = decode_threads(j, m, s, &e);
	if (rc) {
		ps_seccomp_free(s);
		return rc;
	}
	s->saved = 1;
	return 0;
}
