/* The order of a restore: each step may rely on the ones before it (the
 * layout on the trampoline, the exe link on procsnap being unmapped...). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>

#include "creds.h"
#include "fds.h"
#include "image_read.h"
#include "layout.h"
#include "process.h"
#include "rctx.h"
#include "regs.h"
#include "restorer.h"
#include "signals.h"
#include "stub.h"
#include "tracer.h"
#include "validate.h"

struct restore_job {
	const struct ps_model *m;
	const char *dir;
	char *err;
	size_t errlen;
};

/* Everything between a seized stub and a process ready to run. */
static int build(struct ps_rctx *c)
{
	const struct ps_thread *main_thread = &c->m->threads[0];
	int e = ps_restore_unregister_rseq(c);

	if (e == 0)
		e = ps_layout_map_trampoline(c);
	if (e == 0)
		e = ps_restore_fds(c);
	if (e == 0)
		e = ps_layout_clear(c);
	if (e == 0)
		e = ps_layout_build(c);
	if (e == 0)
		e = ps_layout_set_mm(c);
	if (e == 0)
		e = ps_restore_process_attrs(c);
	if (e == 0)
		e = ps_restore_sigactions(c);
	if (e == 0)
		e = ps_restore_thread_state(c, main_thread);
	if (e == 0)
		e = ps_restore_shared_pending(c);
	if (e == 0)
		e = ps_restore_thread_pending(c, main_thread);
	if (e == 0)
		e = ps_restore_creds(c);
	if (e == 0)
		e = ps_layout_unmap_trampoline(c);
	if (e == 0)
		e = ps_restore_final_regs(c, main_thread);
	return e;
}

static int restore_on_tracer(void *arg)
{
	struct restore_job *j = arg;
	struct ps_rctx c = { .m = j->m, .dir = j->dir, .err = j->err, .errlen = j->errlen };
	struct ps_stub stub;
	uint64_t insn;
	int e = ps_stub_create(j->m->meta.pid, &stub, j->err, j->errlen);

	if (e < 0)
		return e;
	c.pid = stub.pid;
	e = ps_find_syscall_insn(c.pid, &insn, j->err, j->errlen);
	if (e == 0)
		e = ps_remote_begin(&c.r, c.pid, insn, j->err, j->errlen);
	if (e == 0)
		e = build(&c);
	if (e == 0 && ptrace(PTRACE_DETACH, c.pid, 0, 0) < 0)
		e = ps_rfail(&c, -errno, "letting process %d go (PTRACE_DETACH): %s", c.pid,
			     strerror(errno));
	if (e < 0) {
		ps_stub_destroy(&stub);
		return e;
	}
	ps_stub_release(&stub);
	return 0;
}

int ps_restore_image(const char *dir, uid_t uid, gid_t gid, pid_t *pid_out,
		     char *err, size_t errlen)
{
	struct ps_model m;
	struct restore_job job = { &m, dir, err, errlen };
	int e;

	memset(&m, 0, sizeof(m));
	e = ps_image_read(dir, &m, err, errlen);
	if (e == 0)
		e = ps_validate_image(&m, dir, uid, gid, err, errlen);
	if (e == 0) {
		e = ps_tracer_call(restore_on_tracer, &job);
		if (e == -ESHUTDOWN)
			snprintf(err, errlen, "procsnap is shutting down");
	}
	if (e == 0)
		*pid_out = m.meta.pid;
	ps_model_free(&m);
	return e;
}
