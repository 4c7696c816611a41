/* The safety net under a thread borrowed for remote syscalls: if procsnap
 * dies while the thread has borrowed registers, it returns to its own. */
#ifndef PROCSNAP_SAFETY_NET_H
#define PROCSNAP_SAFETY_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

/* Code the target already has mapped executable that the net is made of. */
struct ps_gadgets {
	uint64_t syscall_ret;   /* `syscall`, register-only instructions, `ret` */
	uint64_t sigreturn;     /* `mov $15, %rax` (or %eax), `syscall`; 0: none */
	uint64_t pop_rax;       /* `pop %rax`, `ret`; 0: none */
	uint64_t syscall_insn;  /* any `syscall`: enough without a net */
};

/* Look through the target's executable mappings, the vDSO first. 0, or
 * -ENOENT with err filled when it has no `syscall` instruction at all. */
int ps_find_gadgets(pid_t pid, struct ps_gadgets *g, char *err, size_t errlen);

/* What a net occupies: a region of the thread's stack below its red zone,
 * which no code may expect to keep (a signal frame can land there any
 * time); its bytes are put back when the net is taken down. */
struct ps_safety_net {
	uint64_t low, len;      /* the region */
	unsigned char *saved;   /* its bytes before */
	uint64_t rsp;           /* the stack pointer of every borrowed call */
	uint64_t uc_stack;      /* the frame's uc_stack, for sigaltstack(NULL, .) */
	uint64_t scratch;       /* PS_NET_SCRATCH bytes for syscall arguments */
};

#define PS_NET_SCRATCH 4096

/* Lay a net under thread tid of process pid, whose own registers and
 * signal mask are regs and mask: the rt_sigreturn frame of that state, and
 * the return path into it. 0, or -errno with why filled (no net: the
 * thread can still be borrowed, without one). */
int ps_net_lay(pid_t pid, pid_t tid, const struct ps_gadgets *g,
	       const struct user_regs_struct *regs, uint64_t mask, struct ps_safety_net *n,
	       char *why, size_t whylen);

/* Put back the bytes the net covered. Only once the thread has its own
 * registers again. 0 or -errno. */
int ps_net_remove(pid_t tid, struct ps_safety_net *n);

#endif
