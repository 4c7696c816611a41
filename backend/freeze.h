/* Stopping every thread of a process with PTRACE_SEIZE + PTRACE_INTERRUPT
 * (never SIGSTOP) and letting them all go again. Tracer thread only. */
#ifndef PROCSNAP_FREEZE_H
#define PROCSNAP_FREEZE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct ps_frozen_thread {
	pid_t tid;
	uint64_t asleep_ns;     /* how long it had been asleep (0: was not) */
	char wchan[64];         /* where it slept in the kernel ("": not asleep) */
	/* A wait our interrupt ended with EINTR is set to be made again the
	 * moment the thread stops (so that not even procsnap's death hands the
	 * program that EINTR); own_regs are its registers as the stop left
	 * them, which the image keeps. */
	int rewound;
	struct user_regs_struct own_regs;
};

struct ps_frozen {
	pid_t pid;
	struct ps_frozen_thread *threads;   /* the leader first when alive */
	size_t ntids;
};

/* Stop all threads, including ones created while freezing (the thread list
 * is re-read until a pass finds nothing new). A thread that exits meanwhile
 * is dropped. 0, or -errno with err filled and nothing left stopped. */
int ps_freeze(pid_t pid, struct ps_frozen *f, char *err, size_t errlen);

/* Resume every thread exactly as it was (pending syscalls restart as the
 * kernel's own rules say) and forget them. */
void ps_thaw(struct ps_frozen *f);

/* Wait until tid is back in its interrupt stop after it was resumed; used
 * by the remote-syscall code. 0, or -errno (ESRCH: it exited, ETIMEDOUT:
 * still not stopped after 10 s). */
int ps_wait_interrupt_stop(pid_t tid);

/* Chores the tracer thread does whenever it is idle: let go of threads a
 * timed-out freeze left seized once they stop, and collect threads of
 * frozen processes that were killed, so their pids are free again. */
void ps_freeze_idle(void);

#endif
