/* reaper: runs CMD as a child subreaper and reaps every orphan reparented to
 * it, so that processes a test restores and kills do not linger as zombies.
 *
 * Usage: reaper CMD [ARGS...]. Restored processes are children of init, and
 * an init that does not reap (as in some containers) would keep them as
 * zombies forever, holding their pids. With this wrapper as an ancestor of the
 * test (and so of the procsnap it mounts), orphans come here instead. After
 * CMD exits, descendants still dying are reaped for a short grace period;
 * then the exit status of CMD is returned (a signal death as 128 + signo), so
 * 77 (skip) passes through. CMD sees PROCSNAP_REAPER=<pid of this reaper>. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GRACE_MS 2000   /* after CMD exits: how long to wait for dying orphans */

static volatile pid_t child;

/* Signals meant for the test go to CMD; the reaper stays to reap. */
static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Warn about children still alive after the grace period: they will be
 * reparented further up (to init) when the reaper exits. */
static void report_left(void)
{
	char path[300], buf[512], *open, *close;
	pid_t self = getpid();
	struct dirent *d;
	DIR *proc = opendir("/proc");
	FILE *f;
	int ppid;

	while (proc && (d = readdir(proc))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
		open = strchr(buf, '(');
		close = strrchr(buf, ')');
		if (!open || !close || sscanf(close + 1, " %*c %d", &ppid) != 1 || ppid != self)
			continue;
		fprintf(stderr, "reaper: warning: process %s (%.*s) is still running after the command exited\n",
			d->d_name, (int)(close - open - 1), open + 1);
	}
	if (proc)
		closedir(proc);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	char env[32];
	int status = 0, cmd_status = 0;
	long deadline;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: reaper CMD [ARGS...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
		perror("reaper: prctl(PR_SET_CHILD_SUBREAPER)");
		return 2;
	}
	snprintf(env, sizeof(env), "%d", (int)getpid());
	setenv("PROCSNAP_REAPER", env, 1);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);

	pid = fork();
	if (pid < 0) {
		perror("reaper: fork");
		return 2;
	}
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		execvp(argv[1], argv + 1);
		fprintf(stderr, "reaper: cannot run %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	child = pid;

	/* Until CMD exits: reap it and every orphan that comes here. */
	for (;;) {
		pid_t got = waitpid(-1, &status, 0);

		if (got == pid) {
			cmd_status = status;
			break;
		}
		if (got < 0 && errno != EINTR) {
			perror("reaper: waitpid");
			return 2;
		}
	}
	child = 0;

	/* Then a grace period for orphans still dying (a restored process the
	 * test has just killed); done at once when no child is left at all. */
	deadline = now_ms() + GRACE_MS;
	for (;;) {
		pid_t got = waitpid(-1, &status, WNOHANG);

		if (got > 0)
			continue;
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;  /* ECHILD: nothing left */
		if (now_ms() >= deadline) {
			report_left();
			break;
		}
		usleep(10 * 1000);
	}

	if (WIFEXITED(cmd_status))
		return WEXITSTATUS(cmd_status);
	if (WIFSIGNALED(cmd_status))
		return 128 + WTERMSIG(cmd_status);
	return 1;
}
