/* How long a thread has been asleep, by the scheduler's own clock: read
 * before the freeze wakes it, so that a wait's timeout can go on from there. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/proc_parse.h"
#include "backend/sleep_time.h"

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

static int64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * se.exec_start is on the task clock of one CPU's run queue, which leaves
 * out the time that CPU spent on interrupts and, in a VM, stolen by the
 * host: CPUs drift apart by seconds over a machine's life. So each CPU's
 * clock is compared with CLOCK_MONOTONIC from that CPU itself: our thread
 * moves there, where being scheduled in has just set its own exec_start to
 * that CPU's now, and comes back.
 */
static int calibrate(int cpu, int64_t *offset)
{
	cpu_set_t was, there;
	uint64_t now;
	int64_t mono;
	int rc;

	if (pthread_getaffinity_np(pthread_self(), sizeof(was), &was) != 0)
		return -1;
	CPU_ZERO(&there);
	CPU_SET(cpu, &there);
	if (pthread_setaffinity_np(pthread_self(), sizeof(there), &there) != 0)
		return -1;
	sched_yield();
	mono = monotonic_ns();
	rc = exec_start_of("/proc/thread-self/sched", &now);
	pthread_setaffinity_np(pthread_self(), sizeof(was), &was);
	if (rc < 0)
		return -1;
	*offset = (int64_t)now - mono;
	return 0;
}

/* The task clock of cpu now, calibrated once per freeze. */
static int cpu_clock_now(struct ps_sleep_clocks *k, int cpu, uint64_t *now)
{
	if (cpu < 0 || cpu >= PS_SLEEP_MAX_CPUS)
		return -1;
	if (!k->known[cpu]) {
		if (calibrate(cpu, &k->offset[cpu]) < 0)
			return -1;
		k->known[cpu] = 1;
	}
	*now = (uint64_t)(monotonic_ns() + k->offset[cpu]);
	return 0;
}

/*
 * A sleeping thread's se.exec_start is when it stopped running, on the
 * clock of the CPU it ran on last. The estimate errs short, never long (a
 * thread woken and put back to sleep inside the same wait, as poll does
 * when one of its fds stirs, reads as asleep since then): a wait resumed
 * with the rest of its timeout can end late, never early.
 */
uint64_t ps_thread_asleep_ns(pid_t tid, struct ps_sleep_clocks *k)
{
	char path[64], *text;
	struct ps_stat st;
	uint64_t then, now;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
	if (ps_read_file(path, &text, &len) < 0)
		return 0;
	rc = ps_parse_stat(text, &st);
	free(text);
	if (rc < 0 || (st.state != 'S' && st.state != 'D'))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/sched", (int)tid);
	if (exec_start_of(path, &then) < 0 || cpu_clock_now(k, st.processor, &now) < 0)
		return 0;
	return now > then ? now - then : 0;
}

/* Read, like the time asleep, before the interrupt wakes the thread: then
 * the wchan is that of the ptrace stop. */
void ps_thread_wchan(pid_t tid, char *out, size_t len)
{
	char path[64], *text;
	size_t n;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)tid);
	if (ps_read_file(path, &text, &n) < 0)
		return;
	snprintf(out, len, "%.*s", (int)strcspn(text, "\n"), text);
	free(text);
}
