/* registers/<tid>.json: one thread's registers by name, xsave area, syscall
 * restart state, signal mask and queue, sigaltstack, rseq, tid address, robust list. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "image/codec.h"
#include "image/json_util.h"

#define XSAVE_MIN 576   /* legacy FXSAVE area (512) + XSAVE header (64) */
#define RSEQ_ALIGN 32   /* the kernel refuses a misaligned struct rseq */

/* Every field of user_regs_struct, in the order a person reads them. */
static const struct reg_field {
	const char *name;
	size_t offset;
} reg_fields[] = {
#define REG(r) { #r, offsetof(struct user_regs_struct, r) }
	REG(rip), REG(rsp), REG(rbp), REG(eflags),
	REG(rax), REG(rbx), REG(rcx), REG(rdx), REG(rsi), REG(rdi),
	REG(r8), REG(r9), REG(r10), REG(r11), REG(r12), REG(r13), REG(r14), REG(r15),
	REG(orig_rax),
	REG(cs), REG(ss), REG(ds), REG(es), REG(fs), REG(gs),
	REG(fs_base), REG(gs_base),
#undef REG
};
#define NREGS (sizeof(reg_fields) / sizeof(reg_fields[0]))

static const struct ps_flag altstack_flags[] = {
	{ 1, 1, "SS_ONSTACK" }, { 2, 2, "SS_DISABLE" },
	{ 1ULL << 31, 1ULL << 31, "SS_AUTODISARM" }, { 0, 0, NULL },
};
#define ALTSTACK_KNOWN (1ULL | 2ULL | 1ULL << 31)

static unsigned long long *reg_at(struct user_regs_struct *r, size_t i)
{
	return (unsigned long long *)((char *)r + reg_fields[i].offset);
}

static unsigned long long reg_value(const struct user_regs_struct *r, size_t i)
{
	return *(const unsigned long long *)((const char *)r + reg_fields[i].offset);
}

/* ---- encoding ---- */

static json_t *encode_regs(const struct user_regs_struct *r)
{
	json_t *o = json_object();
	int rc = 0;

	for (size_t i = 0; i < NREGS; i++)
		rc |= json_object_set_new(o, reg_fields[i].name, ps_json_hex(reg_value(r, i)));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *encode_pending(const struct ps_siginfo *q, size_t n)
{
	json_t *a = json_array();
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		rc |= json_array_append_new(a, ps_json_siginfo(&q[i]));
	if (rc) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *encode_syscall(const struct ps_thread *t)
{
	return json_pack("{s:b,s:I,s:I,s:o}", "in_syscall", t->in_syscall,
			 "nr", (json_int_t)t->syscall_nr, "ret", (json_int_t)t->syscall_ret,
			 "asleep_ns", ps_json_count(t->asleep_ns));
}

static json_t *encode_altstack(const struct ps_thread *t)
{
	return json_pack("{s:o,s:o,s:o}", "sp", ps_json_hex(t->altstack_sp),
			 "size", ps_json_count(t->altstack_size),
			 "flags", ps_json_flags((uint32_t)t->altstack_flags, altstack_flags));
}

static json_t *encode_rseq(const struct ps_thread *t)
{
	return json_pack("{s:o,s:I,s:o}", "ptr", ps_json_hex(t->rseq_ptr),
			 "len", (json_int_t)t->rseq_len, "sig", ps_json_hex(t->rseq_sig));
}

json_t *ps_encode_thread(const struct ps_thread *t)
{
	json_t *o = ps_json_new_file();
	int rc = 0;

	rc |= json_object_set_new(o, "tid", json_integer(t->tid));
	rc |= json_object_set_new(o, "comm", ps_json_comm(t->comm));
	rc |= json_object_set_new(o, "regs", encode_regs(&t->regs));
	rc |= json_object_set_new(o, "xsave", ps_json_blob(t->xsave, t->xsave_len));
	rc |= json_object_set_new(o, "syscall", encode_syscall(t));
	rc |= json_object_set_new(o, "sigmask", ps_json_hex(t->sigmask));
	rc |= json_object_set_new(o, "pending", encode_pending(t->pending, t->npending));
	rc |= json_object_set_new(o, "sigaltstack", encode_altstack(t));
	rc |= json_object_set_new(o, "rseq", encode_rseq(t));
	rc |= json_object_set_new(o, "clear_child_tid", ps_json_hex(t->clear_child_tid));
	rc |= json_object_set_new(o, "robust_list", json_pack("{s:o,s:o}",
			"head", ps_json_hex(t->robust_list),
			"len", ps_json_count(t->robust_list_len)));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- decoding ---- */

static int is_selector(const char *name)
{
	return name[1] == 's' && name[2] == '\0';   /* cs ss ds es fs gs */
}

/* PTRACE_SETREGS refuses selectors wider than 16 bits and fs/gs bases
 * outside user space: say so here rather than fail mid-restore. */
static int decode_regs(const json_t *j, struct user_regs_struct *r, struct ps_jerr *e)
{
	const json_t *o;
	size_t mark;

	if (ps_jget_object(j, "regs", &o, e))
		return -EINVAL;
	mark = ps_jerr_push(e, "regs");
	for (size_t i = 0; i < NREGS; i++) {
		const char *name = reg_fields[i].name;
		uint64_t v;
		int rc;

		if (is_selector(name))
			rc = ps_jget_hex(o, name, 0xffff, &v, e);
		else if (strcmp(name, "fs_base") == 0 || strcmp(name, "gs_base") == 0)
			rc = ps_jget_addr(o, name, &v, e);
		else
			rc = ps_jget_hex(o, name, UINT64_MAX, &v, e);
		if (rc)
			return rc;
		*reg_at(r, i) = v;
	}
	ps_jerr_pop(e, mark);
	return 0;
}

static int decode_xsave(const json_t *j, struct ps_thread *t, struct ps_jerr *e)
{
	if (ps_jget_blob(j, "xsave", PS_XSAVE_MAX, &t->xsave, &t->xsave_len, e))
		return -EINVAL;
	if (t->xsave_len && t->xsave_len < XSAVE_MIN)
		return ps_jerr_fail(e, "field \"xsave\" is %zu bytes, less than the %d of any xsave area",
				    t->xsave_len, XSAVE_MIN);
	return 0;
}

static int decode_syscall(const json_t *j, struct ps_thread *t, struct ps_jerr *e)
{
	const json_t *o;
	long long nr, ret;
	size_t mark;

	if (ps_jget_object(j, "syscall", &o, e))
		return -EINVAL;
	mark = ps_jerr_push(e, "syscall");
	if (ps_jget_bool(o, "in_syscall", &t->in_syscall, e) ||
	    ps_jget_int(o, "nr", t->in_syscall ? 0 : INT64_MIN, INT64_MAX, &nr, e) ||
	    ps_jget_int(o, "ret", INT64_MIN, INT64_MAX, &ret, e) ||
	    (ps_jhas(o, "asleep_ns") && ps_jget_count(o, "asleep_ns", &t->asleep_ns, e)))
		return -EINVAL;
	t->syscall_nr = (long)nr;
	t->syscall_ret = (long)ret;
	ps_jerr_pop(e, mark);
	return 0;
}

static int decode_pending(const json_t *j, struct ps_thread *t, struct ps_jerr *e)
{
	return ps_jget_siginfo_list(j, "pending", &t->pending, &t->npending, e);
}

static int decode_altstack(const json_t *j, struct ps_thread *t, struct ps_jerr *e)
{
	const json_t *o;
	uint64_t flags;
	size_t mark;

	if (ps_jget_object(j, "sigaltstack", &o, e))
		return -EINVAL;
	mark = ps_jerr_push(e, "sigaltstack");
	if (ps_jget_addr(o, "sp", &t->altstack_sp, e) ||
	    ps_jget_count(o, "size", &t->altstack_size, e) ||
	    ps_jget_flags(o, "flags", altstack_flags, &flags, e))
		return -EINVAL;
	if (flags & ~ALTSTACK_KNOWN)
		return ps_jerr_fail(e, "field \"flags\" has bits sigaltstack does not know");
	t->altstack_flags = (int)(uint32_t)flags;
	ps_jerr_pop(e, mark);
	return 0;
}

static int decode_rseq(const json_t *j, struct ps_thread *t, struct ps_jerr *e)
{
	const json_t *o;
	long long len;
	uint64_t sig;
	size_t mark;

	if (ps_jget_object(j, "rseq", &o, e))
		return -EINVAL;
	mark = ps_jerr_push(e, "rseq");
	if (ps_jget_addr(o, "ptr", &t->rseq_ptr, e) ||
	    ps_jget_int(o, "len", 0, UINT32_MAX, &len, e) ||
	    ps_jget_hex(o, "sig", UINT32_MAX, &sig, e))
		return -EINVAL;
	if (t->rseq_ptr % RSEQ_ALIGN)
		return ps_jerr_fail(e, "field \"ptr\" is not %d-byte aligned", RSEQ_ALIGN);
	t->rseq_len = (uint32_t)len;
	t->rseq_sig = (uint32_t)sig;
	ps_jerr_pop(e, mark);
	return 0;
}

static int decode_robust_list(const json_t *j, struct ps_thread *t, struct ps_jerr *e)
{
	const json_t *o;
	size_t mark;

	if (ps_jget_object(j, "robust_list", &o, e))
		return -EINVAL;
	mark = ps_jerr_push(e, "robust_list");
	if (ps_jget_addr(o, "head", &t->robust_list, e) ||
	    ps_jget_count(o, "len", &t->robust_list_len, e))
		return -EINVAL;
	ps_jerr_pop(e, mark);
	return 0;
}

/* Errors name the file by the tid once it is known. */
static int decode_tid(const json_t *j, struct ps_thread *t, struct ps_jerr *e)
{
	long long tid;

	if (ps_jget_int(j, "tid", 1, PS_PID_MAX, &tid, e))
		return -EINVAL;
	t->tid = (pid_t)tid;
	ps_registers_file_name(e->file, sizeof(e->file), t->tid);
	return 0;
}

static int decode_all(const json_t *j, struct ps_thread *t, struct ps_jerr *e)
{
	if (ps_jcheck_format(j, e) ||
	    decode_tid(j, t, e) ||
	    ps_jget_comm(j, "comm", t->comm, e) ||
	    decode_regs(j, &t->regs, e) ||
	    decode_xsave(j, t, e) ||
	    decode_syscall(j, t, e) ||
	    ps_jget_hex(j, "sigmask", UINT64_MAX, &t->sigmask, e) ||
	    decode_pending(j, t, e) ||
	    decode_altstack(j, t, e) ||
	    decode_rseq(j, t, e) ||
	    ps_jget_addr(j, "clear_child_tid", &t->clear_child_tid, e) ||
	    decode_robust_list(j, t, e))
		return -EINVAL;
	return 0;
}

int ps_decode_thread(const json_t *j, struct ps_thread *out, char *err, size_t errlen)
{
	struct ps_jerr e;
	int rc;

	ps_jerr_init(&e, err, errlen, "registers");
	memset(out, 0, sizeof(*out));
	rc = decode_all(j, out, &e);
	if (rc)
		ps_thread_free(out);
	return ps_jerr_rc(&e, rc);
}

json_t *ps_encode_registers_part(const struct ps_model *m, size_t thread)
{
	return ps_encode_thread(&m->threads[thread]);
}

int ps_decode_registers_part(const json_t *j, struct ps_model *m, size_t thread,
			     char *err, size_t errlen)
{
	return ps_decode_thread(j, &m->threads[thread], err, errlen);
}
