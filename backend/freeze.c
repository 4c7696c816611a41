/* Freezing and thawing a whole thread group under ptrace: seize each thread,
 * interrupt it, wait for its stop, and loop until the thread set is stable. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/freeze.h"
#include "backend/proc_parse.h"
#include "backend/sentence.h"
#include "backend/sleep_time.h"
#include "backend/syscall_restart.h"

static int has_tid(const struct ps_frozen *f, pid_t tid)
{
	for (size_t i = 0; i < f->ntids; i++)
		if (f->threads[i].tid == tid)
			return 1;
	return 0;
}

static int add_thread(struct ps_frozen *f, const struct ps_frozen_thread *t)
{
	struct ps_frozen_thread *n = realloc(f->threads, (f->ntids + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	f->threads = n;
	f->threads[f->ntids++] = *t;
	return 0;
}

/* How long a thread may take to reach its interrupt stop. A thread blocked
 * in a FUSE request to this very mount never does while we wait: it is
 * queued behind us on the tracer thread. */
#define STOP_TIMEOUT_MS 10000

/* Threads seized but not yet stopped when we gave up on them: they will
 * stop as soon as they leave the kernel, and must then be let go. */
static pid_t *stragglers;
static size_t nstragglers;

static void add_straggler(pid_t tid)
{
	pid_t *n = realloc(stragglers, (nstragglers + 1) * sizeof(*n));

	if (!n)
		return;    /* it stays stopped until procsnap exits: the kernel frees it then */
	stragglers = n;
	stragglers[nstragglers++] = tid;
}

/*
 * PTRACE_DETACH works only on a tracee in a ptrace stop. One that is not
 * has been killed (it is on its way out: SIGKILL wakes even a stopped
 * tracee) or has not reached its stop yet. A dying tracee becomes a zombie
 * that only its tracer's wait releases: until then its parent's wait()
 * blocks and its pid stays taken. So it is waited for now, or, if it has
 * not finished dying, by the idle chores, as a straggler is let go.
 */
static void let_go(pid_t tid)
{
	int status;

	if (ptrace(PTRACE_DETACH, tid, 0, 0) == 0)
		return;
	if (waitpid(tid, &status, __WALL | WNOHANG) == 0)
		add_straggler(tid);
}

/* Every frozen process, so that the idle chores can see its threads die. */
static struct ps_frozen **held;
static size_t nheld;

static void hold(struct ps_frozen *f)
{
	struct ps_frozen **n = realloc(held, (nheld + 1) * sizeof(*n));

	if (!n)
		return;    /* its death is then collected at thaw, as before */
	held = n;
	held[nheld++] = f;
}

static void unhold(struct ps_frozen *f)
{
	for (size_t i = 0; i < nheld; i++) {
		if (held[i] != f)
			continue;
		held[i] = held[--nheld];
		return;
	}
}

/*
 * A frozen process killed meanwhile (kill -9 after cp -r) becomes a zombie
 * that only its tracer can release: until we wait for it, its parent cannot
 * reap it and its pid stays taken, which would make an immediate restore of
 * the same image fail. So dead threads are collected as soon as they die.
 */
static void collect_dead(struct ps_frozen *f)
{
	size_t kept = 0;

	for (size_t i = 0; i < f->ntids; i++) {
		int status;
		pid_t r = waitpid(f->threads[i].tid, &status, __WALL | WNOHANG);

		if (r > 0 && (WIFEXITED(status) || WIFSIGNALED(status)))
			continue;
		f->threads[kept++] = f->threads[i];
	}
	f->ntids = kept;
}

static void release_stragglers(void)
{
	size_t kept = 0;

	for (size_t i = 0; i < nstragglers; i++) {
		int status;
		pid_t r = waitpid(stragglers[i], &status, __WALL | WNOHANG);

		if (r == 0) {
			stragglers[kept++] = stragglers[i];
			continue;
		}
		if (r > 0 && WIFSTOPPED(status))
			ptrace(PTRACE_DETACH, stragglers[i], 0,
			       (status >> 16) ? 0 : (void *)(long)WSTOPSIG(status));
	}
	nstragglers = kept;
}

void ps_freeze_idle(void)
{
	release_stragglers();
	for (size_t i = 0; i < nheld; i++)
		collect_dead(held[i]);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Like waitpid(tid, __WALL), but gives up with -ETIMEDOUT at deadline.
 * The first polls come fast: a thread reaches its stop within
 * microseconds, and until procsnap has seen the stop (and rewound a wait
 * the interrupt ended) its death would hand the program an EINTR. */
static pid_t wait_until(pid_t tid, int *status, long deadline)
{
	useconds_t pause = 10;

	for (;;) {
		pid_t r = waitpid(tid, status, __WALL | WNOHANG);

		if (r != 0)
			return r;
		if (now_ms() >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		usleep(pause);
		if (pause < 1000)
			pause *= 2;
	}
}

/*
 * A seized thread reports PTRACE_EVENT_STOP once the interrupt lands. Before
 * that it may report a signal-delivery-stop for a signal it was about to
 * take: we let that signal through (the program would have got it anyway)
 * and the interrupt, which is sticky, traps right after.
 */
int ps_wait_interrupt_stop(pid_t tid)
{
	long deadline = now_ms() + STOP_TIMEOUT_MS;

	for (;;) {
		int status;
		pid_t r = wait_until(tid, &status, deadline);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (!WIFSTOPPED(status))
			continue;
		if ((status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		if (status >> 16)
			continue;       /* an event we did not ask for: keep waiting */
		if (ptrace(PTRACE_CONT, tid, 0, (void *)(long)WSTOPSIG(status)) < 0)
			return -errno;
	}
}

/* A signal the thread will take as soon as it runs: then the EINTR its wait
 * returned is the right answer and must stay. */
static int has_deliverable_signal(pid_t tid)
{
	struct ps_status st;
	int yes;

	if (ps_read_status(tid, &st) < 0)
		return 1;
	yes = ((st.sig_pnd | st.shd_pnd) & ~st.sig_blk) != 0;
	free(st.groups);
	return yes;
}

/* Our PTRACE_INTERRUPT ends epoll_wait and the like with EINTR, as SIGSTOP
 * would: they are made again, so that a snapshot stays invisible to the
 * program, with what was left of their timeout (the time frozen does not
 * count). Done the moment the thread stops: from then on, whenever and
 * however it is let go (procsnap's death included), it waits on. */
static void rewind_interrupted_wait(struct ps_frozen_thread *t)
{
	struct user_regs_struct regs;

	if (ptrace(PTRACE_GETREGS, t->tid, 0, &t->own_regs) < 0)
		return;
	regs = t->own_regs;
	if (!ps_restart_interrupted_wait(&regs) || has_deliverable_signal(t->tid))
		return;
	ps_shorten_restarted_timeout(&regs, (long)t->own_regs.orig_rax, t->asleep_ns);
	t->rewound = ptrace(PTRACE_SETREGS, t->tid, 0, &regs) == 0;
}

static int seize_thread(struct ps_frozen_thread *t, struct ps_sleep_clocks *clocks)
{
	pid_t tid = t->tid;
	int e;

	/* TRACESYSGOOD marks syscall-stops as SIGTRAP|0x80: should procsnap die
	 * during a remote syscall, the kernel then re-sends that invalid signal
	 * number, i.e. nothing, instead of a real SIGTRAP. No EXITKILL: the
	 * process must outlive us. */
	if (ptrace(PTRACE_SEIZE, tid, 0, (void *)PTRACE_O_TRACESYSGOOD) < 0)
		return -errno;
	/* Seizing changes nothing; the interrupt wakes a sleeping thread, and
	 * then nothing tells any more since when it slept. */
	t->asleep_ns = ps_thread_asleep_ns(tid, clocks);
	ps_thread_wchan(tid, t->wchan, sizeof(t->wchan));
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
		int e = -errno;

		let_go(tid);
		return e;
	}
	e = ps_wait_interrupt_stop(tid);
	if (e == 0)
		rewind_interrupted_wait(t);
	/* Not stopped, so it cannot be detached yet (PTRACE_DETACH needs a
	 * stopped tracee): it is let go when it stops. */
	if (e == -ETIMEDOUT)
		add_straggler(tid);
	return e;
}

/* Who traces pid, or 0. */
/* " (comm)" of a process, for a sentence; out has room for 64 bytes. */
static int format_comm(const char *text, size_t len, void *out)
{
	(void)len;
	snprintf(out, 64, " (%.*s)", (int)strcspn(text, "\n"), text);
	return 0;
}

static pid_t tracer_of(pid_t pid)
{
	struct ps_status st;

	if (ps_read_status(pid, &st) < 0)
		return 0;
	free(st.groups);
	return st.tracer_pid;
}

static int is_our_thread(pid_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d", tid);
	return access(path, F_OK) == 0;
}

/* The sentence, and the errno that fits it: EBUSY for a process another
 * tracer has (gdb, strace, or our own straggler), ESRCH for one gone. */
static int describe_seize_error(pid_t pid, int e, char *err, size_t errlen)
{
	pid_t tracer = e == -EPERM ? tracer_of(pid) : 0;
	char comm[64] = "";

	if (tracer && is_our_thread(tracer)) {
		snprintf(err, errlen, "process %d is still being let go by procsnap after an "
			 "earlier snapshot (a thread of it has not stopped yet): try again", pid);
		return -EBUSY;
	}
	if (tracer) {
		ps_proc_parse(tracer, "comm", format_comm, comm);
		return ps_fail(err, errlen, -EBUSY, "process %d is already traced by pid %d%s: a "
			       "process can have one tracer only", pid, tracer, comm);
	}
	if (e == -ETIMEDOUT) {
		snprintf(err, errlen, "process %d did not stop within %d s: a thread is blocked "
			 "in the kernel (reading this very mount, or in uninterruptible I/O)",
			 pid, STOP_TIMEOUT_MS / 1000);
		return e;
	}
	if (e == -ESRCH) {
		snprintf(err, errlen, "process %d exited", pid);
		return e;
	}
	snprintf(err, errlen, "cannot stop process %d: ptrace(PTRACE_SEIZE): %s", pid, strerror(-e));
	return e;
}

/* One pass over /proc/<pid>/task: seize every thread not yet stopped.
 * Returns how many were added, or -errno. */
static int freeze_pass(struct ps_frozen *f, struct ps_sleep_clocks *clocks, char *err,
		       size_t errlen)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	int added = 0, r = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", f->pid);
	d = opendir(path);
	if (!d) {
		snprintf(err, errlen, "process %d exited", f->pid);
		return -ESRCH;
	}
	while ((de = readdir(d))) {
		struct ps_frozen_thread t = { .tid = atoi(de->d_name) };
		pid_t tid = t.tid;

		if (tid <= 0 || has_tid(f, tid))
			continue;
		r = seize_thread(&t, clocks);
		if (r == -ESRCH)
			continue;       /* it exited between readdir and seize */
		if (r < 0) {
			r = describe_seize_error(f->pid, r, err, errlen);
			break;
		}
		r = add_thread(f, &t);
		if (r < 0) {
			let_go(tid);
			snprintf(err, errlen, "out of memory while stopping process %d", f->pid);
			break;
		}
		added++;
	}
	closedir(d);
	return r < 0 ? r : added;
}

/* Put the group leader first: it is the thread that owns the pid. */
static void leader_first(struct ps_frozen *f)
{
	for (size_t i = 1; i < f->ntids; i++) {
		struct ps_frozen_thread t = f->threads[i];

		if (t.tid != f->pid)
			continue;
		f->threads[i] = f->threads[0];
		f->threads[0] = t;
		return;
	}
}

/*
 * A seccomp filter (or strict mode) may kill or trap the thread on the
 * syscalls procsnap injects. PTRACE_O_SUSPEND_SECCOMP lifts it for this
 * tracee while procsnap traces it: it needs CAP_SYS_ADMIN and ends with the
 * ptrace link, so a dying procsnap leaves the thread filtered as before.
 * Set once every thread is stopped: a thread still running could have
 * synchronized a filter onto one already stopped (TSYNC).
 */
static int suspend_seccomp(const struct ps_frozen *f, char *err, size_t errlen)
{
	for (size_t i = 0; i < f->ntids; i++) {
		pid_t tid = f->threads[i].tid;
		struct ps_status st;

		if (ps_read_status(tid, &st) < 0)
			continue;
		free(st.groups);
		if (st.seccomp && ptrace(PTRACE_SETOPTIONS, tid, 0,
					 (void *)(PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP)) < 0)
			return ps_fail(err, errlen, -errno, "thread %d has seccomp mode %d, which procsnap "
				       "must suspend to run syscalls in it (PTRACE_O_SUSPEND_SECCOMP, "
				       "which needs CAP_SYS_ADMIN): %s", tid, st.seccomp, strerror(errno));
	}
	return 0;
}

int ps_freeze(pid_t pid, struct ps_frozen *f, char *err, size_t errlen)
{
	struct ps_sleep_clocks *clocks = calloc(1, sizeof(*clocks));
	int r;

	memset(f, 0, sizeof(*f));
	f->pid = pid;
	if (!clocks) {
		snprintf(err, errlen, "out of memory while stopping process %d", pid);
		return -ENOMEM;
	}
	do {
		r = freeze_pass(f, clocks, err, errlen);
	} while (r > 0);
	free(clocks);
	if (r == 0 && f->ntids == 0) {
		snprintf(err, errlen, "process %d exited", pid);
		r = -ESRCH;
	}
	if (r == 0)
		r = suspend_seccomp(f, err, errlen);
	if (r < 0) {
		ps_thaw(f);
		return r;
	}
	leader_first(f);
	hold(f);
	return 0;
}

void ps_thaw(struct ps_frozen *f)
{
	unhold(f);
	for (size_t i = 0; i < f->ntids; i++)
		let_go(f->threads[i].tid);
	free(f->threads);
	f->threads = NULL;
	f->ntids = 0;
}
