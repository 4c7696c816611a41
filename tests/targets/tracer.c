/* A debugger stand-in for the tests: forks a child, PTRACE_SEIZEs it and
 * lets it run, passing its signals on. Prints "READY pid=<child>
 * tracer=<self>" once the child is traced; on SIGUSR1 it lets the child go
 * (PTRACE_DETACH), prints "DETACHED" and waits to be killed. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t detach_asked;

static void on_usr1(int sig)
{
	(void)sig;
	detach_asked = 1;
}

/* Stays alive, doing nothing, until killed, or until the tracer dies: a
 * test that kills the tracer leaves nothing behind. */
static void child_main(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;)
		pause();
}

/* PTRACE_DETACH wants a stopped tracee: stop it with PTRACE_INTERRUPT
 * first, which a seized tracee allows without a signal. */
static int let_go(pid_t child)
{
	int status;

	if (ptrace(PTRACE_INTERRUPT, child, 0, 0) < 0 || waitpid(child, &status, 0) < 0 ||
	    ptrace(PTRACE_DETACH, child, 0, 0) < 0) {
		perror("detaching the child");
		return 1;
	}
	printf("DETACHED\n");
	fflush(stdout);
	for (;;)
		pause();
}

/* Every stop of a seized tracee is one of its signals on the way (nothing
 * else was asked for): let it through, as a debugger would. */
static int follow(pid_t child)
{
	int status;

	for (;;) {
		if (detach_asked)
			return let_go(child);
		if (waitpid(child, &status, 0) < 0) {
			if (errno == EINTR && detach_asked)
				return let_go(child);
			if (errno == EINTR)
				continue;
			perror("waitpid");
			return 1;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return 0;
		if (WIFSTOPPED(status) && ptrace(PTRACE_CONT, child, 0, WSTOPSIG(status)) < 0) {
			perror("ptrace(PTRACE_CONT)");
			return 1;
		}
	}
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };   /* no SA_RESTART: waitpid returns */
	pid_t child;

	sigaction(SIGUSR1, &sa, NULL);
	child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0)
		child_main();
	/* PTRACE_SEIZE does not stop the child: it runs on, traced by us */
	if (ptrace(PTRACE_SEIZE, child, 0, 0) < 0) {
		fprintf(stderr, "ptrace(PTRACE_SEIZE, %d): %s\n", (int)child, strerror(errno));
		kill(child, SIGKILL);
		return 1;
	}
	printf("READY pid=%d tracer=%d\n", (int)child, (int)getpid());
	fflush(stdout);
	return follow(child);
}
