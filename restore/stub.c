/* Creating the stub process with a chosen pid. The nursery, a fork of
 * procsnap, clone3()s it with set_tid and then only waits for our word. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "freeze.h"
#include "stub.h"

#define CMD_RELEASE 'r'
#define CMD_KILL 'k'

/* The stub only waits to be seized: it runs procsnap's code, which the
 * restore unmaps before it ever runs again. */
static void stub_main(void)
{
	for (;;)
		syscall(SYS_pause);
}

/*
 * The nursery runs in a fork of a multi-threaded process, so it uses raw
 * system calls only. clone3's set_tid asks for an exact pid in our pid
 * namespace (it needs CAP_SYS_ADMIN there); EEXIST means it is taken.
 */
static void nursery_main(pid_t pid, int report, int ctl)
{
	struct clone_args args;
	pid_t want = pid;
	long child;
	char cmd = 0;
	int status;

	memset(&args, 0, sizeof(args));
	args.exit_signal = SIGCHLD;
	args.set_tid = (uint64_t)(uintptr_t)&want;
	args.set_tid_size = 1;
	child = syscall(SYS_clone3, &args, sizeof(args));
	if (child == 0)
		stub_main();
	if (child < 0)
		child = -errno;
	if (write(report, &child, sizeof(child)) != sizeof(child) || child < 0)
		_exit(1);
	/* EOF (procsnap died mid-restore) counts as kill: a half-built
	 * process must never be left running. */
	if (read(ctl, &cmd, 1) != 1 || cmd != CMD_RELEASE) {
		kill((pid_t)child, SIGKILL);
		waitpid((pid_t)child, &status, __WALL);
	}
	_exit(0);
}

static int start_nursery(pid_t pid, struct ps_stub *s, long *child)
{
	int report[2], ctl[2];

	if (pipe2(report, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(ctl, O_CLOEXEC) < 0) {
		close(report[0]);
		close(report[1]);
		return -errno;
	}
	s->nursery = fork();
	if (s->nursery == 0) {
		close(report[0]);
		close(ctl[1]);
		nursery_main(pid, report[1], ctl[0]);
	}
	close(report[1]);
	close(ctl[0]);
	s->ctl = ctl[1];
	if (s->nursery < 0) {
		close(report[0]);
		close(ctl[1]);
		return -errno;
	}
	if (read(report[0], child, sizeof(*child)) != sizeof(*child))
		*child = -ECHILD;
	close(report[0]);
	return 0;
}

static void reap_nursery(struct ps_stub *s)
{
	int status;

	close(s->ctl);
	while (waitpid(s->nursery, &status, 0) < 0 && errno == EINTR)
		;
}

static int seize_stub(pid_t pid)
{
	if (ptrace(PTRACE_SEIZE, pid, 0, (void *)PTRACE_O_TRACESYSGOOD) < 0)
		return -errno;
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0)
		return -errno;
	return ps_wait_interrupt_stop(pid);
}

int ps_stub_create(pid_t pid, struct ps_stub *s, char *err, size_t errlen)
{
	long child = 0;
	int e;

	memset(s, 0, sizeof(*s));
	e = start_nursery(pid, s, &child);
	if (e < 0) {
		snprintf(err, errlen, "cannot start a process to restore into: %s", strerror(-e));
		return e;
	}
	if (child < 0) {
		reap_nursery(s);
		if (child == -EEXIST)
			snprintf(err, errlen, "pid %d is in use: the original process is still running?", pid);
		else
			snprintf(err, errlen, "clone3 with pid %d failed: %s", pid, strerror((int)-child));
		return (int)child;
	}
	s->pid = (pid_t)child;
	e = seize_stub(s->pid);
	if (e < 0) {
		snprintf(err, errlen, "cannot take control of the new process %d: %s", pid, strerror(-e));
		ps_stub_destroy(s);
	}
	return e;
}

/* If the nursery is gone already, the write fails and nothing is lost:
 * its exit has orphaned (release) or killed (EOF) the stub just the same. */
static void tell_nursery(struct ps_stub *s, char cmd)
{
	ssize_t n = write(s->ctl, &cmd, 1);

	(void)n;
}

void ps_stub_release(struct ps_stub *s)
{
	tell_nursery(s, CMD_RELEASE);
	reap_nursery(s);
}

/* We are the stub's tracer: its death is reported to us first, and its
 * parent (the nursery) can reap it only after we have waited for it. */
void ps_stub_destroy(struct ps_stub *s)
{
	int status;

	kill(s->pid, SIGKILL);
	while (waitpid(s->pid, &status, __WALL) >= 0 && !WIFEXITED(status) && !WIFSIGNALED(status))
		;
	tell_nursery(s, CMD_KILL);
	reap_nursery(s);
}
