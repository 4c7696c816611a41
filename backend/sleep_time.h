/* How long a thread has been asleep when it is about to be stopped. */
#ifndef PROCSNAP_SLEEP_TIME_H
#define PROCSNAP_SLEEP_TIME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PS_SLEEP_MAX_CPUS 1024

/* Each CPU's scheduler clock against CLOCK_MONOTONIC, measured the first
 * time a thread that last ran there is looked at; zero it for each freeze. */
struct ps_sleep_clocks {
	int64_t offset[PS_SLEEP_MAX_CPUS];
	uint8_t known[PS_SLEEP_MAX_CPUS];
};

/* Nanoseconds since thread tid went to sleep; 0 when it is not asleep or
 * this kernel does not tell (no /proc/<tid>/sched). */
uint64_t ps_thread_asleep_ns(pid_t tid, struct ps_sleep_clocks *k);

/* Where thread tid sleeps in the kernel (/proc/<tid>/wchan, a function
 * name), into out; "" when it is not asleep or this kernel does not tell. */
void ps_thread_wchan(pid_t tid, char *out, size_t len);

#endif
