/* How long a thread has been asleep when it is about to be stopped. */
#ifndef PROCSNAP_SLEEP_TIME_H
#define PROCSNAP_SLEEP_TIME_H

#include <stdint.h>
#include <sys/types.h>

/* Nanoseconds since thread tid went to sleep; 0 when it is not asleep or
 * this kernel does not tell (no /proc/<tid>/sched). */
uint64_t ps_thread_asleep_ns(pid_t tid);

#endif
