/* Creating the stub process with a chosen pid. The nursery, a fork of
 * procsnap, clone3()s it with set_tid and then only waits for our word. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
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

/* What the nursery tells: the stub's pid, or which step failed and how. */
enum nursery_stage { STAGE_TIME_NS, STAGE_CLONE };
struct nursery_report {
	enum nursery_stage stage;
	long value;
};

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
/*
 * unshare(CLONE_NEWTIME) makes a time namespace for the nursery's children
 * only; its offsets can be written until a process enters it, which the
 * stub does when clone3 makes it.
 */
static long enter_time_ns(const struct ps_time_offsets *offsets)
{
	size_t len = strlen(offsets->text);
	int fd;

	if (unshare(CLONE_NEWTIME) < 0)
		return -errno;
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, offsets->text, len) != (ssize_t)len) {
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

static void nursery_main(pid_t pid, const struct ps_time_offsets *offsets, int report, int ctl)
{
	struct nursery_report r = { STAGE_TIME_NS, 0 };
	struct clone_args args;
	pid_t want = pid;
	char cmd = 0;
	int status;

	if (offsets)
		r.value = enter_time_ns(offsets);
	if (r.value == 0) {
		memset(&args, 0, sizeof(args));
		args.exit_signal = SIGCHLD;
		args.set_tid = (uint64_t)(uintptr_t)&want;
		args.set_tid_size = 1;
		r.stage = STAGE_CLONE;
		r.value = syscall(SYS_clone3, &args, sizeof(args));
		if (r.value == 0)
			stub_main();
		if (r.value < 0)
			r.value = -errno;
	}
	if (write(report, &r, sizeof(r)) != sizeof(r) || r.value < 0)
		_exit(1);
	/* EOF (procsnap died mid-restore) counts as kill: a half-built
	 * process must never be left running. */
	if (read(ctl, &cmd, 1) != 1 || cmd != CMD_RELEASE) {
		kill((pid_t)r.value, SIGKILL);
		waitpid((pid_t)r.value, &status, __WALL);
	}
	_exit(0);
}

static int start_nursery(pid_t pid, const struct ps_time_offsets *offsets, struct ps_stub *s,
			 struct nursery_report *r)
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
		nursery_main(pid, offsets, report[1], ctl[0]);
	}
	close(report[1]);
	close(ctl[0]);
	s->ctl = ctl[1];
	if (s->nursery < 0) {
		close(report[0]);
		close(ctl[1]);
		return -errno;
	}
	if (read(report[0], r, sizeof(*r)) != sizeof(*r))
		*r = (struct nursery_report){ STAGE_CLONE, -ECHILD };
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

int ps_stub_create(pid_t pid, const struct ps_time_offsets *offsets, struct ps_stub *s,
		   char *err, size_t errlen)
{
	struct nursery_report r;
	int e;

	memset(s, 0, sizeof(*s));
	e = start_nursery(pid, offsets, s, &r);
	if (e < 0) {
		snprintf(err, errlen, "cannot start a process to restore into: %s", strerror(-e));
		return e;
	}
	if (r.value < 0) {
		reap_nursery(s);
		if (r.stage == STAGE_TIME_NS)
			snprintf(err, errlen, "cannot make a time namespace with the clock offsets "
				 "\"%s\": %s", offsets->text, strerror((int)-r.value));
		else if (r.value == -EEXIST)
			snprintf(err, errlen, "pid %d is in use: the original process is still running?", pid);
		else
			snprintf(err, errlen, "clone3 with pid %d failed: %s", pid, strerror((int)-r.value));
		return (int)r.value;
	}
	s->pid = (pid_t)r.value;
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
