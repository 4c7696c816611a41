/* How long a thread has been asleep, by the scheduler's own clock: read
 * before the freeze wakes it, so that a wait's timeout can go on from there. */
#include <stdio.h>
#include <stdlib.h>

#include "proc_parse.h"
#include "sleep_time.h"

static int exec_start_of(const char *path, uint64_t *ns)
{
	char *text;
	size_t len;
	int rc;

	if (ps_read_file(path, &text, &len) < 0)
		return -1;
	rc = ps_parse_sched_exec_start(text, ns);
	free(text);
	return rc;
}

static int is_asleep(pid_t tid)
{
	char path[64], *text;
	struct ps_stat st;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
	if (ps_read_file(path, &text, &len) < 0)
		return 0;
	rc = ps_parse_stat(text, &st);
	free(text);
	return rc == 0 && (st.state == 'S' || st.state == 'D');
}

/*
 * A sleeping thread's se.exec_start is when it stopped running; our own,
 * while we run, is about now (the scheduler updates the running thread's at
 * every tick), both on the scheduler's clock. The difference errs short, by
 * at most a tick, never long: a wait resumed with the rest of its timeout
 * can end late, never early. A thread woken and put back to sleep inside the
 * same wait (poll re-checking its fds) reads as asleep since then: short too.
 */
uint64_t ps_thread_asleep_ns(pid_t tid)
{
	char path[64];
	uint64_t then, now;

	if (!is_asleep(tid))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/sched", (int)tid);
	if (exec_start_of(path, &then) < 0 || exec_start_of("/proc/thread-self/sched", &now) < 0)
		return 0;
	return now > then ? now - then : 0;
}
