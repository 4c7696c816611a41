/* Thread creation in the stub: an injected clone3 with set_tid, caught by
 * PTRACE_O_TRACECLONE before the new thread runs a single instruction. */
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "backend/freeze.h"
#include "restore/threads.h"

/* What a pthread is to the kernel. CLONE_SETTLS, CLONE_CHILD_CLEARTID and
 * CLONE_PARENT_SETTID are not asked for: fs_base comes with the registers,
 * clear_child_tid from set_tid_address in the thread, and the tid the
 * parent was told is already in the restored memory. */
#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | \
		      CLONE_SYSVSEM)

/*
 * TRACECLONE makes the kernel attach every new thread to us and stop it
 * (PTRACE_EVENT_STOP, as the stub was seized) before it returns to user
 * space: it would otherwise run from the trampoline with no stack of its own.
 * The options replace the stub's: EXITKILL must stay (stub.c), and the
 * threads inherit it.
 */
static int trace_clones(struct ps_rctx *c)
{
	long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE;

	if (ptrace(PTRACE_SETOPTIONS, c->pid, 0, (void *)opts) < 0)
		return ps_rfail(c, -errno, "PTRACE_SETOPTIONS(TRACECLONE) on the new process: %s",
				strerror(errno));
	return 0;
}

static int create_one(struct ps_rctx *c, struct ps_rthread *th)
{
	struct clone_args args;
	pid_t tid = th->t->tid;
	uint64_t tid_at, args_at;
	char what[64];
	long ret;
	int e;

	tid_at = ps_rput(c, sizeof(args), &tid, sizeof(tid));
	if (!tid_at)
		return -EIO;
	memset(&args, 0, sizeof(args));
	args.flags = THREAD_FLAGS;
	args.set_tid = tid_at;
	args.set_tid_size = 1;
	args_at = ps_rput(c, 0, &args, sizeof(args));
	if (!args_at)
		return -EIO;
	snprintf(what, sizeof(what), "clone3 of thread %d", tid);
	ret = ps_rcall(c, what, SYS_clone3, args_at, sizeof(args), 0, 0, 0, 0);
	if (ret < 0)
		return ret == -EEXIST ? ps_rfail(c, -EEXIST, "thread id %d is in use", tid) : (int)ret;
	th->created = 1;
	e = ps_wait_interrupt_stop(tid);
	if (e < 0)
		return ps_rfail(c, e, "new thread %d did not stop: %s", tid, strerror(-e));
	return ps_remote_begin(&th->r, tid, c->tramp, c->err, c->errlen);
}

int ps_threads_create(struct ps_rctx *c, struct ps_rthread *th, size_t n)
{
	int e = n ? trace_clones(c) : 0;

	for (size_t i = 0; e == 0 && i < n; i++)
		e = create_one(c, &th[i]);
	return e;
}

int ps_threads_run(struct ps_rctx *c, struct ps_rthread *th,
		   int (*fn)(struct ps_rctx *c, const struct ps_thread *t))
{
	struct ps_remote main_thread = c->r;
	int e;

	c->r = th->r;
	e = fn(c, th->t);
	th->r = c->r;
	c->r = main_thread;
	return e;
}

void ps_threads_reap(const struct ps_rthread *th, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int status;

		if (!th[i].created)
			continue;
		while (waitpid(th[i].t->tid, &status, __WALL) >= 0 &&
		       !WIFEXITED(status) && !WIFSIGNALED(status))
			;
	}
}
