/* Running a system call inside a stopped thread of the target, to read what
 * no /proc file shows (sigactions, sigaltstack, itimers, brk...). */
#ifndef PROCSNAP_REMOTE_SYSCALL_H
#define PROCSNAP_REMOTE_SYSCALL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct ps_remote {
	pid_t tid;
	uint64_t syscall_insn;          /* address of a `syscall` instruction in the target */
	struct user_regs_struct saved;  /* the thread's own registers, put back at the end */
	uint64_t saved_mask;            /* its blocked signals, put back at the end */
	int borrowed;                   /* registers currently not the thread's own */
};

/* Find a `syscall` instruction (0f 05) the target already has mapped
 * executable: in its vDSO first, else in any r-x mapping. 0 or -ENOENT. */
int ps_find_syscall_insn(pid_t pid, uint64_t *addr, char *err, size_t errlen);

/* Start borrowing tid (stopped in its interrupt stop) for remote syscalls. */
int ps_remote_begin(struct ps_remote *r, pid_t tid, uint64_t syscall_insn,
		    char *err, size_t errlen);

/* Run syscall nr with up to six arguments in the thread; *ret gets its
 * return value (a negative errno on failure, as the raw syscall gives).
 * Returns 0, or -errno if ptrace itself failed. */
int ps_remote_syscall(struct ps_remote *r, long nr, const uint64_t args[6], long *ret,
		      char *err, size_t errlen);

/* Give the thread its registers back and park it in the interrupt stop it
 * was in, so that a syscall it was inside restarts as the kernel decides. */
int ps_remote_end(struct ps_remote *r, char *err, size_t errlen);

#endif
