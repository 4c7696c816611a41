/* Creating the stub process with a chosen pid. The nursery, a fork of
 * procsnap, clone3()s it with set_tid, with any memory procsnap filled early. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/freeze.h"
#include "restore/stub.h"

/* What procsnap asks of the nursery, one struct per write (< PIPE_BUF). */
enum nursery_op { CMD_MAP = 'm', CMD_CLONE = 'c', CMD_RELEASE = 'r', CMD_KILL = 'k' };
struct nursery_cmd {
	enum nursery_op op;
	uint64_t start, len;               /* CMD_MAP */
	pid_t pid;                         /* CMD_CLONE */
	int has_offsets;
	struct ps_time_offsets offsets;
};

/* What the nursery tells: the stub's pid or a mapping's address, or which
 * step failed and how. */
enum nursery_stage { STAGE_MAP, STAGE_TIME_NS, STAGE_CLONE };
struct nursery_report {
	enum nursery_stage stage;
	long value;
};

#define NURSERY_MAPS 64

/* The stub only waits to be seized: it runs procsnap's code, which the
 * restore unmaps before it ever runs again. */
static void stub_main(void)
{
	for (;;)
		syscall(SYS_pause);
}

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

/*
 * clone3's set_tid asks for an exact pid in our pid namespace (it needs
 * CAP_SYS_ADMIN there); EEXIST means it is taken. The stub is a fork: it
 * shares the nursery's anonymous pages copy-on-write, so the nursery
 * unmaps the ones it was filled through (CMD_MAP) before it answers. They
 * are then the stub's alone, and its writes to them copy nothing.
 */
static struct nursery_report clone_stub(const struct nursery_cmd *c, uint64_t maps[][2],
					size_t nmaps)
{
	struct nursery_report r = { STAGE_TIME_NS, 0 };
	struct clone_args args;
	pid_t want = c->pid;

	if (c->has_offsets)
		r.value = enter_time_ns(&c->offsets);
	if (r.value < 0)
		return r;
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
	for (size_t i = 0; r.value > 0 && i < nmaps; i++)
		munmap((void *)(uintptr_t)maps[i][0], maps[i][1]);
	return r;
}

/* Private anonymous memory at exactly start, for a mapping of the image
 * that procsnap fills while the image is still being copied in. */
static struct nursery_report map_fixed(const struct nursery_cmd *c, uint64_t maps[][2],
				       size_t *nmaps)
{
	struct nursery_report r = { STAGE_MAP, -ENOSPC };
	void *at;

	if (*nmaps == NURSERY_MAPS)
		return r;
	at = mmap((void *)(uintptr_t)c->start, c->len, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	r.value = at == MAP_FAILED ? -errno : (long)(uintptr_t)at;
	if (at != MAP_FAILED && (uint64_t)(uintptr_t)at != c->start) {
		munmap(at, c->len);
		r.value = -EEXIST;
	}
	if (r.value > 0) {
		maps[*nmaps][0] = c->start;
		maps[*nmaps][1] = c->len;
		(*nmaps)++;
	}
	return r;
}

/* All but the two pipes: a nursery may live as long as an image takes to
 * copy in, and must not keep procsnap's files (the FUSE device, a socket
 * being restored for another image) open meanwhile. */
static void close_all_but(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo > 0)
		syscall(SYS_close_range, 0, lo - 1, 0);
	if (hi > lo + 1)
		syscall(SYS_close_range, lo + 1, hi - 1, 0);
	syscall(SYS_close_range, hi + 1, ~0U, 0);
}

/*
 * The nursery runs in a fork of a multi-threaded process, so it uses plain
 * system calls only. It does what it is told until it has a stub; then
 * CMD_RELEASE lets it exit and the stub goes to init. Anything else, EOF
 * included (procsnap died mid-restore), kills the stub: a half-built
 * process must never be left running.
 */
static void nursery_main(int report, int ctl)
{
	uint64_t maps[NURSERY_MAPS][2];
	struct nursery_report r;
	struct nursery_cmd c;
	size_t nmaps = 0;
	pid_t stub = 0;
	int status;

	close_all_but(report, ctl);
	/* procsnap may die while a stub is being made: the report then fails
	 * with EPIPE, and SIGPIPE must not end the nursery before it has
	 * killed that stub. */
	signal(SIGPIPE, SIG_IGN);
	while (read(ctl, &c, sizeof(c)) == sizeof(c)) {
		if (c.op == CMD_RELEASE && stub > 0)
			_exit(0);
		if (c.op == CMD_MAP && !stub)
			r = map_fixed(&c, maps, &nmaps);
		else if (c.op == CMD_CLONE && !stub)
			r = clone_stub(&c, maps, nmaps);
		else
			break;
		if (c.op == CMD_CLONE && r.value > 0)
			stub = (pid_t)r.value;
		if (write(report, &r, sizeof(r)) != sizeof(r))
			break;
		if (c.op == CMD_CLONE && r.value < 0)
			_exit(1);
	}
	if (stub > 0) {
		kill(stub, SIGKILL);
		waitpid(stub, &status, __WALL);
	}
	_exit(0);
}

int ps_nursery_start(struct ps_nursery *n)
{
	int report[2], ctl[2];

	if (pipe2(report, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(ctl, O_CLOEXEC) < 0) {
		close(report[0]);
		close(report[1]);
		return -errno;
	}
	n->pid = fork();
	if (n->pid == 0) {
		close(report[0]);
		close(ctl[1]);
		nursery_main(report[1], ctl[0]);
	}
	close(report[1]);
	close(ctl[0]);
	if (n->pid < 0) {
		close(report[0]);
		close(ctl[1]);
		return -errno;
	}
	n->ctl = ctl[1];
	n->report = report[0];
	return 0;
}

/* One command and its answer; ECHILD if the nursery is gone. */
static struct nursery_report ask(struct ps_nursery *n, const struct nursery_cmd *c)
{
	struct nursery_report r = { c->op == CMD_MAP ? STAGE_MAP : STAGE_CLONE, -ECHILD };

	if (write(n->ctl, c, sizeof(*c)) != sizeof(*c) ||
	    read(n->report, &r, sizeof(r)) != sizeof(r))
		r.value = -ECHILD;
	return r;
}

int ps_nursery_map(struct ps_nursery *n, uint64_t start, uint64_t len)
{
	struct nursery_cmd c = { .op = CMD_MAP, .start = start, .len = len };
	struct nursery_report r = ask(n, &c);

	return r.value < 0 ? (int)r.value : 0;
}

/* If the nursery is gone already, the write fails and nothing is lost:
 * its exit has orphaned (release) or killed (EOF) the stub just the same. */
static void tell(struct ps_nursery *n, enum nursery_op op)
{
	struct nursery_cmd c = { .op = op };
	ssize_t w = write(n->ctl, &c, sizeof(c));

	(void)w;
}

void ps_nursery_end(struct ps_nursery *n)
{
	int status;

	close(n->ctl);
	close(n->report);
	while (waitpid(n->pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* EXITKILL: should procsnap die before the restore is done, the kernel
 * kills the half-made process with it (its nursery would too, on EOF, but
 * only after the stub had run on from borrowed registers). */
static int seize_stub(pid_t pid)
{
	if (ptrace(PTRACE_SEIZE, pid, 0, (void *)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)) < 0)
		return -errno;
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0)
		return -errno;
	return ps_wait_interrupt_stop(pid);
}

int ps_stub_create(pid_t pid, const struct ps_time_offsets *offsets, struct ps_nursery *from,
		   struct ps_stub *s, char *err, size_t errlen)
{
	struct nursery_cmd c = { .op = CMD_CLONE, .pid = pid };
	struct nursery_report r;
	int e;

	memset(s, 0, sizeof(*s));
	if (from) {
		s->nursery = *from;
	} else if ((e = ps_nursery_start(&s->nursery)) < 0) {
		snprintf(err, errlen, "cannot start a process to restore into: %s", strerror(-e));
		return e;
	}
	if (offsets) {
		c.has_offsets = 1;
		c.offsets = *offsets;
	}
	r = ask(&s->nursery, &c);
	if (r.value < 0) {
		ps_nursery_end(&s->nursery);
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

void ps_stub_release(struct ps_stub *s)
{
	tell(&s->nursery, CMD_RELEASE);
	ps_nursery_end(&s->nursery);
}

/* We are the stub's tracer: its death is reported to us first, and its
 * parent (the nursery) can reap it only after we have waited for it. */
void ps_stub_destroy(struct ps_stub *s)
{
	int status;

	kill(s->pid, SIGKILL);
	while (waitpid(s->pid, &status, __WALL) >= 0 && !WIFEXITED(status) && !WIFSIGNALED(status))
		;
	tell(&s->nursery, CMD_KILL);
	ps_nursery_end(&s->nursery);
}
