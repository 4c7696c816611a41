/* restore_signals: a SA_SIGINFO handler on an alternate stack, an ignored signal,
 * a blocked mask and a queued SIGRTMIN+1 (value 42) pending at the checkpoint. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define ALTSTACK_SIZE (64 * 1024)

static volatile sig_atomic_t verify_requested;
static volatile int usr1_count, usr1_pid, usr1_code, usr1_on_altstack;
static volatile int rt_count, rt_value, rt_code, rt_pid;
static char *altstack;
static pid_t ready_pid;

static void on_usr2(int sig)
{
	verify_requested = 1;
}

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	char here;

	usr1_count++;
	usr1_pid = si->si_pid;
	usr1_code = si->si_code;
	usr1_on_altstack = &here >= altstack && &here < altstack + ALTSTACK_SIZE;
}

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	rt_count++;
	rt_value = si->si_value.sival_int;
	rt_code = si->si_code;
	rt_pid = si->si_pid;
}

/* Once only: it consumes the pending signal. */
static void verify(const char *results)
{
	const int rt = SIGRTMIN + 1;
	static int done;
	struct sigaction sa;
	sigset_t set;
	stack_t ss;

	FAIL_IF(results, done++, "verification runs once only: the first one consumed the pending signal");

	/* The state as saved: dispositions, mask, pending queue, alt stack. */
	FAIL_IF(results, sigaction(SIGUSR1, NULL, &sa) != 0, "sigaction(SIGUSR1): %s", strerror(errno));
	FAIL_IF(results, !(sa.sa_flags & SA_SIGINFO) || sa.sa_sigaction != on_usr1,
		"SIGUSR1: handler %p flags 0x%x, want on_usr1 %p with SA_SIGINFO",
		(void *)sa.sa_sigaction, (unsigned)sa.sa_flags, (void *)on_usr1);
	FAIL_IF(results, !(sa.sa_flags & SA_RESTART) || !(sa.sa_flags & SA_ONSTACK),
		"SIGUSR1: flags 0x%x lack SA_RESTART or SA_ONSTACK", (unsigned)sa.sa_flags);
	FAIL_IF(results, !sigismember(&sa.sa_mask, SIGTERM) || sigismember(&sa.sa_mask, SIGINT),
		"SIGUSR1: sa_mask does not hold exactly SIGTERM of {SIGTERM, SIGINT}");
	FAIL_IF(results, sigaction(SIGHUP, NULL, &sa) != 0 || sa.sa_handler != SIG_IGN, "SIGHUP is no longer ignored");
	FAIL_IF(results, sigaction(SIGQUIT, NULL, &sa) != 0 || sa.sa_handler != SIG_DFL, "SIGQUIT is not SIG_DFL");
	FAIL_IF(results, sigaltstack(NULL, &ss) != 0 || ss.ss_sp != altstack || ss.ss_size != ALTSTACK_SIZE ||
		(ss.ss_flags & SS_DISABLE), "sigaltstack is %p size %zu flags 0x%x, want %p size %d",
		ss.ss_sp, ss.ss_size, (unsigned)ss.ss_flags, (void *)altstack, ALTSTACK_SIZE);
	sigprocmask(SIG_BLOCK, NULL, &set);
	FAIL_IF(results, !sigismember(&set, rt) || sigismember(&set, SIGUSR1) || !sigismember(&set, SIGWINCH),
		"signal mask: SIGRTMIN+1 %d SIGWINCH %d SIGUSR1 %d (want blocked, blocked, not)",
		sigismember(&set, rt), sigismember(&set, SIGWINCH), sigismember(&set, SIGUSR1));
	sigpending(&set);
	FAIL_IF(results, !sigismember(&set, rt), "SIGRTMIN+1 is no longer pending");
	FAIL_IF(results, rt_count, "the handler of SIGRTMIN+1 ran %d times while it was blocked", rt_count);

	/* A handler still works, on the alternate stack, with the right sender. */
	FAIL_IF(results, raise(SIGUSR1) != 0, "raise(SIGUSR1): %s", strerror(errno));
	FAIL_IF(results, usr1_count != 1, "raise(SIGUSR1) ran the handler %d times", usr1_count);
	FAIL_IF(results, usr1_pid != getpid() || usr1_code != SI_TKILL,
		"SIGUSR1 si_pid %d si_code %d, want %d and SI_TKILL (%d)",
		usr1_pid, usr1_code, (int)getpid(), SI_TKILL);
	FAIL_IF(results, !usr1_on_altstack, "the SIGUSR1 handler did not run on the alternate stack");

	/* The pending signal is delivered once, with its value, when unblocked. */
	sigemptyset(&set);
	sigaddset(&set, rt);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	FAIL_IF(results, rt_count != 1, "unblocking SIGRTMIN+1 ran its handler %d times, want once", rt_count);
	FAIL_IF(results, rt_value != 42 || rt_code != SI_QUEUE || rt_pid != ready_pid,
		"SIGRTMIN+1 value %d si_code %d si_pid %d, want 42, SI_QUEUE (%d), %d",
		rt_value, rt_code, rt_pid, SI_QUEUE, (int)ready_pid);
	sigpending(&set);
	FAIL_IF(results, sigismember(&set, rt), "SIGRTMIN+1 is still pending after its delivery");

	report_to(results, "OK handlers, flags, masks, alternate stack; SIGUSR1 from pid %d; "
	       "SIGRTMIN+1 pending with value %d delivered once", usr1_pid, rt_value);
}

/* Usage: restore_signals RESULTS */
int main(int argc, char **argv)
{
	const int rt = SIGRTMIN + 1;
	union sigval v = { .sival_int = 42 };
	struct sigaction sa;
	sigset_t set;
	stack_t ss;

	if (argc != 2) {
		fprintf(stderr, "usage: restore_signals RESULTS\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	ready_pid = getpid();

	altstack = malloc(ALTSTACK_SIZE);
	ss.ss_sp = altstack;
	ss.ss_size = ALTSTACK_SIZE;
	ss.ss_flags = 0;
	if (!altstack || sigaltstack(&ss, NULL) != 0) {
		perror("sigaltstack");
		return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaction(SIGUSR1, &sa, NULL);

	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(rt, &sa, NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_DFL);

	sigemptyset(&set);
	sigaddset(&set, rt);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (sigqueue(getpid(), rt, v) != 0) {
		perror("sigqueue");
		return 1;
	}
	sigpending(&set);
	if (!sigismember(&set, rt)) {
		fprintf(stderr, "restore_signals: SIGRTMIN+1 is not pending\n");
		return 1;
	}

	printf("READY pid=%d rt=%d\n", (int)ready_pid, rt);
	fflush(stdout);

	serve_verify(&verify_requested, verify, argv[1]);
}
