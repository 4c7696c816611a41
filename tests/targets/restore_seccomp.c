/* restore_seccomp: seccomp filters shared by every thread (TSYNC) and one of a
 * thread's own, a thread in strict mode, filters installed by root before it
 * became another user, or filters procsnap refuses (a tree TSYNC cannot
 * rebuild, a supervisor's); on SIGUSR2 each thread checks its filters. */
#include <errno.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define NWORKERS 2
#define OWN_WORKER 1              /* the worker with a filter of its own */

static volatile sig_atomic_t verify_requested;
static const char *results;

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}

static void fail_setup(const char *what)
{
	fprintf(stderr, "restore_seccomp: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* ---- filters: each makes some syscalls fail with its own errno ---- */

/* A filter returning err for syscalls a and b (b may be -1), allowing the rest. */
static int install(int a, int b, int err, unsigned flags)
{
	struct sock_filter prog[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)a, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)b, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
	};
	struct sock_fprog fprog = { sizeof(prog) / sizeof(prog[0]), prog };

	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
}

/* Every thread: getppid and sigaltstack fail with EPERM (sigaltstack is
 * also what procsnap runs in each thread at a checkpoint: suspended for it),
 * getsid with EACCES (a filter with SECCOMP_FILTER_FLAG_LOG); the own
 * worker's getpgrp with ENOTTY. */
static int install_shared(void)
{
	return install(SYS_getppid, SYS_sigaltstack, EPERM, SECCOMP_FILTER_FLAG_TSYNC) ||
	       install(SYS_getsid, -1, EACCES, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG);
}

/* "Key:\t<value>" of /proc/thread-self/status, or -1. */
static long status_field(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/thread-self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':')
			v = strtol(line + klen + 1, NULL, 10);
	fclose(f);
	return v;
}

static int fails_with(long rc, int err)
{
	return rc == -1 && errno == err;
}

/* This thread's filters: what they refuse, what they allow, the counts. */
static int check_filters(int own, char *why)
{
	stack_t old;
	long filters = status_field("Seccomp_filters"), mode = status_field("Seccomp");

	errno = 0;
	CHECK_WHY(!fails_with(syscall(SYS_getppid), EPERM), "getppid was not refused with EPERM (%s)",
		  strerror(errno));
	errno = 0;
	CHECK_WHY(!fails_with(syscall(SYS_sigaltstack, NULL, &old), EPERM),
		  "sigaltstack was not refused with EPERM (%s)", strerror(errno));
	errno = 0;
	CHECK_WHY(!fails_with(syscall(SYS_getsid, 0), EACCES), "getsid was not refused with EACCES (%s)",
		  strerror(errno));
	errno = 0;
	if (own)
		CHECK_WHY(!fails_with(syscall(SYS_getpgrp), ENOTTY),
			  "getpgrp was not refused with its own filter's ENOTTY (%s)", strerror(errno));
	else
		CHECK_WHY(syscall(SYS_getpgrp) < 0, "getpgrp failed without a filter of its own: %s",
			  strerror(errno));
	CHECK_WHY(mode != 2, "/proc/thread-self/status Seccomp: %ld, want 2", mode);
	CHECK_WHY(filters != 2 + own, "/proc/thread-self/status Seccomp_filters: %ld, want %d", filters,
		  2 + own);
	return 0;
}

/* ---- mode filters: the main thread and two workers ---- */

static struct worker {
	pthread_t thread;
	pid_t tid;
	_Atomic int ready;
	_Atomic unsigned asked, answered;   /* check generations */
	char why[WHY_LEN];
	int ok;
} workers[NWORKERS];

static _Atomic int shared_installed;

static void *filtered_worker(void *arg)
{
	struct worker *w = arg;
	int own = w == &workers[OWN_WORKER];

	w->tid = (pid_t)syscall(SYS_gettid);
	while (!atomic_load(&shared_installed))
		pause_ms(5);
	if (own && install(SYS_getpgrp, -1, ENOTTY, 0) != 0)
		fail_setup("the worker's own filter");
	w->ok = check_filters(own, w->why) == 0;
	atomic_store(&w->ready, 1);
	for (;;) {
		unsigned asked = atomic_load(&w->asked);

		if (asked != atomic_load(&w->answered)) {
			w->ok = check_filters(own, w->why) == 0;
			atomic_store(&w->answered, asked);
		}
		pause_ms(10);
	}
	return NULL;
}

/* Each worker checks itself in its own thread; the main thread waits. */
static const char *ask_worker(struct worker *w)
{
	unsigned gen = atomic_load(&w->asked) + 1;

	atomic_store(&w->asked, gen);
	for (int i = 0; i < 500 && atomic_load(&w->answered) != gen; i++)
		pause_ms(10);
	if (atomic_load(&w->answered) != gen)
		return "did not answer within 5 s";
	return w->ok ? NULL : w->why;
}

static void verify_filters(const char *path)
{
	char why[WHY_LEN];
	const char *bad;

	FAIL_IF(path, check_filters(0, why) != 0, "main thread: %s", why);
	for (int i = 0; i < NWORKERS; i++)
		FAIL_IF(path, (bad = ask_worker(&workers[i])), "worker %d (tid %d): %s", i, (int)workers[i].tid,
			bad);
	report_to(path, "OK main and %d workers: getppid, sigaltstack EPERM, getsid EACCES (log filter), "
		  "worker %d's own getpgrp ENOTTY; Seccomp 2, Seccomp_filters 2, 2 and 3", NWORKERS,
		  OWN_WORKER);
}

static void mode_filters(void)
{
	char why[WHY_LEN];

	for (int i = 0; i < NWORKERS; i++)
		if (pthread_create(&workers[i].thread, NULL, filtered_worker, &workers[i]) != 0)
			fail_setup("pthread_create");
	pause_ms(50);
	if (install_shared() != 0)
		fail_setup("the shared filters (TSYNC)");
	atomic_store(&shared_installed, 1);
	for (int i = 0; i < NWORKERS; i++)
		while (!atomic_load(&workers[i].ready))
			pause_ms(5);
	for (int i = 0; i < NWORKERS; i++)
		if (!workers[i].ok) {
			fprintf(stderr, "restore_seccomp: worker %d before the checkpoint: %s\n", i,
				workers[i].why);
			exit(1);
		}
	if (check_filters(0, why) != 0) {
		fprintf(stderr, "restore_seccomp: main thread before the checkpoint: %s\n", why);
		exit(1);
	}
	printf("READY pid=%d mode=filters worker0=%d worker1=%d\n", (int)getpid(), (int)workers[0].tid,
	       (int)workers[1].tid);
	fflush(stdout);
	serve_verify(&verify_requested, verify_filters, results);
}

/* ---- mode strict: a thread that can only read and write its pipes ---- */

static int cmd[2], resp[2];
static pid_t strict_tid;

/* 'e': echo it back; 'x': getpid, which strict mode answers by killing
 * this thread. Nothing else may run here: no libc call but read and write. */
static void *strict_worker(void *arg)
{
	char c;

	(void)arg;
	strict_tid = (pid_t)syscall(SYS_gettid);
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0)
		fail_setup("prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT)");
	for (;;) {
		if (syscall(SYS_read, cmd[0], &c, 1) != 1)
			continue;
		if (c == 'x')
			syscall(SYS_getpid);
		syscall(SYS_write, resp[1], &c, 1);
	}
	return NULL;
}

static long task_field(pid_t tid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':')
			v = strtol(line + klen + 1, NULL, 10);
	fclose(f);
	return v;
}

static int task_exists(pid_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
	return access(path, F_OK) == 0;
}

static void verify_strict(const char *path)
{
	struct pollfd p = { .fd = resp[0], .events = POLLIN };
	char c = 'e';
	int i;

	FAIL_IF(path, task_field(strict_tid, "Seccomp") != 1, "strict thread %d: Seccomp: %ld, want 1",
		(int)strict_tid, task_field(strict_tid, "Seccomp"));
	FAIL_IF(path, status_field("Seccomp") != 0, "main thread: Seccomp: %ld, want 0",
		status_field("Seccomp"));
	FAIL_IF(path, write(cmd[1], &c, 1) != 1, "writing to the strict thread: %s", strerror(errno));
	FAIL_IF(path, poll(&p, 1, 5000) != 1 || read(resp[0], &c, 1) != 1 || c != 'e',
		"the strict thread %d did not echo within 5 s", (int)strict_tid);
	c = 'x';
	FAIL_IF(path, write(cmd[1], &c, 1) != 1, "writing to the strict thread: %s", strerror(errno));
	for (i = 0; i < 500 && task_exists(strict_tid); i++)
		pause_ms(10);
	FAIL_IF(path, task_exists(strict_tid), "strict thread %d is alive 5 s after calling getpid: "
		"it is no longer in strict mode", (int)strict_tid);
	report_to(path, "OK strict thread %d echoed through its pipes, then getpid killed it (the "
		  "process lives on)", (int)strict_tid);
}

static void mode_strict(void)
{
	pthread_t t;

	if (pipe(cmd) != 0 || pipe(resp) != 0)
		fail_setup("pipe");
	if (pthread_create(&t, NULL, strict_worker, NULL) != 0)
		fail_setup("pthread_create");
	while (task_field(strict_tid, "Seccomp") != 1)
		pause_ms(5);
	printf("READY pid=%d mode=strict strict=%d\n", (int)getpid(), (int)strict_tid);
	fflush(stdout);
	serve_verify(&verify_requested, verify_strict, results);
}

/* ---- mode subset: a filter two threads share and the main thread lacks ---- */

static _Atomic pid_t subset_tids[2];

static void *subset_child(void *arg)
{
	(void)arg;
	atomic_store(&subset_tids[1], (pid_t)syscall(SYS_gettid));
	for (;;)
		pause_ms(100);
	return NULL;
}

/* It installs a filter of its own, then makes a thread that inherits it. */
static void *subset_parent(void *arg)
{
	pthread_t t;

	(void)arg;
	if (install(SYS_getppid, -1, EPERM, 0) != 0)
		fail_setup("the worker's filter");
	if (pthread_create(&t, NULL, subset_child, NULL) != 0)
		fail_setup("pthread_create");
	atomic_store(&subset_tids[0], (pid_t)syscall(SYS_gettid));
	for (;;)
		pause_ms(100);
	return NULL;
}

static void mode_subset(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, subset_parent, NULL) != 0)
		fail_setup("pthread_create");
	while (!atomic_load(&subset_tids[0]) || !atomic_load(&subset_tids[1]))
		pause_ms(5);
	printf("READY pid=%d mode=subset a=%d b=%d\n", (int)getpid(), (int)subset_tids[0],
	       (int)subset_tids[1]);
	fflush(stdout);
	for (;;)
		pause_ms(100);
}

/* ---- mode dropped: root installs the filters, then becomes UID:GID ---- */

static void verify_dropped(const char *path)
{
	char why[WHY_LEN];

	FAIL_IF(path, check_filters(0, why) != 0, "%s", why);
	FAIL_IF(path, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0, "no_new_privs is set, it was not");
	report_to(path, "OK uid %d without no_new_privs: getppid, sigaltstack EPERM, getsid EACCES; "
		  "Seccomp 2, Seccomp_filters 2", (int)getuid());
}

/* Root needs no no_new_privs to install a filter (CAP_SYS_ADMIN will do);
 * the filters stay when setresuid drops every capability. */
static void mode_dropped(const char *uid, const char *gid)
{
	char why[WHY_LEN];
	uid_t u = (uid_t)strtoul(uid, NULL, 10);
	gid_t g = (gid_t)strtoul(gid, NULL, 10);

	if (install_shared() != 0)
		fail_setup("the filters (as root, without no_new_privs)");
	if (setgroups(0, NULL) != 0 || setresgid(g, g, g) != 0 || setresuid(u, u, u) != 0)
		fail_setup("becoming the user");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0) {
		fprintf(stderr, "restore_seccomp: no_new_privs is set\n");
		exit(1);
	}
	if (check_filters(0, why) != 0) {
		fprintf(stderr, "restore_seccomp: before the checkpoint: %s\n", why);
		exit(1);
	}
	printf("READY pid=%d mode=dropped uid=%d\n", (int)getpid(), (int)getuid());
	fflush(stdout);
	serve_verify(&verify_requested, verify_dropped, results);
}

/* ---- mode notif: a filter handing getpgrp to a supervisor ---- */

/* SECCOMP_RET_USER_NOTIF is accepted only with FILTER_FLAG_NEW_LISTENER,
 * which returns the listener fd; with it closed, getpgrp fails ENOSYS. */
static void mode_notif(void)
{
	struct sock_filter prog[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpgrp, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog fprog = { sizeof(prog) / sizeof(prog[0]), prog };
	long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
				&fprog);

	if (listener < 0)
		fail_setup("a SECCOMP_RET_USER_NOTIF filter");
	close((int)listener);
	printf("READY pid=%d mode=notif\n", (int)getpid());
	fflush(stdout);
	for (;;)
		pause_ms(100);
}

/* Usage: restore_seccomp filters|strict|subset|notif RESULTS
 *        restore_seccomp dropped RESULTS UID GID (run as root) */
int main(int argc, char **argv)
{
	struct sigaction sa;
	int dropped = argc == 5 && strcmp(argv[1], "dropped") == 0;

	if (argc != 3 && !dropped) {
		fprintf(stderr, "usage: restore_seccomp filters|strict|subset|notif RESULTS\n"
			"       restore_seccomp dropped RESULTS UID GID\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	results = argv[2];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	if (dropped)
		mode_dropped(argv[3], argv[4]);
	/* Filters need no_new_privs or CAP_SYS_ADMIN: with it, a non-root
	 * run installs them too. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		fail_setup("prctl(PR_SET_NO_NEW_PRIVS)");
	if (strcmp(argv[1], "filters") == 0)
		mode_filters();
	else if (strcmp(argv[1], "strict") == 0)
		mode_strict();
	else if (strcmp(argv[1], "subset") == 0)
		mode_subset();
	else if (strcmp(argv[1], "notif") == 0)
		mode_notif();
	fprintf(stderr, "restore_seccomp: unknown mode %s\n", argv[1]);
	return 2;
}
