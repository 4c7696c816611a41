/* Running a system call inside a stopped thread of the target, to read what
 * no /proc file shows (sigactions, sigaltstack, itimers, brk...). */
#ifndef PROCSNAP_REMOTE_SYSCALL_H
#define PROCSNAP_REMOTE_SYSCALL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "backend/safety_net.h"

struct ps_remote {
	pid_t tid;
	uint64_t syscall_insn;          /* address of a `syscall` instruction in the target */
	struct user_regs_struct saved;  /* the thread's own registers, put back at the end */
	uint64_t saved_mask;            /* its blocked signals, put back at the end */
	int borrowed;                   /* registers currently not the thread's own */
	int masked;                     /* every signal blocked by us */
	struct ps_safety_net net;       /* net.rsp == 0: borrowed without one */
};

/* Start borrowing tid (stopped in its interrupt stop) for remote syscalls,
 * without a safety net: for a process that must die with procsnap anyway
 * (the restore's stub, traced with PTRACE_O_EXITKILL). */
int ps_remote_begin(struct ps_remote *r, pid_t tid, uint64_t syscall_insn,
		    char *err, size_t errlen);

/* The same for thread tid of a live process pid, with a safety net under
 * it (safety_net.h) so that procsnap's death at any instant leaves the
 * thread as it was. Where no net can be laid, why says why and the thread
 * is borrowed without one. */
int ps_remote_begin_safe(struct ps_remote *r, pid_t pid, pid_t tid, const struct ps_gadgets *g,
			 char *why, size_t whylen, char *err, size_t errlen);

/* Memory of the target for syscall arguments and results while borrowed:
 * PS_NET_SCRATCH bytes under the thread's stack, or 0 without a net. */
uint64_t ps_remote_scratch(const struct ps_remote *r);

/* Run syscall nr with up to six arguments in the thread; *ret gets its
 * return value (a negative errno on failure, as the raw syscall gives).
 * Returns 0, or -errno if ptrace itself failed. */
int ps_remote_syscall(struct ps_remote *r, long nr, const uint64_t args[6], long *ret,
		      char *err, size_t errlen);

/* Give the thread its registers and mask back, take the net down, and park
 * it in the interrupt stop it was in, so that a syscall it was inside
 * restarts as the kernel decides. */
int ps_remote_end(struct ps_remote *r, char *err, size_t errlen);

#endif
