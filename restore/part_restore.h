/* Checks and restore of the parts of a process (image/parts.h): what each
 * part's restore/<part>.c offers the validator and the restorer. */
#ifndef PROCSNAP_PART_RESTORE_H
#define PROCSNAP_PART_RESTORE_H

#include <sys/user.h>
#include <time.h>

#include "image/parts.h"
#include "restore/rctx.h"

/* process: restore/process.c */
/* Refuses what a restore cannot recreate of the process: no exe. */
int ps_validate_process(const struct ps_check *v);
/* As the caller (restore/validate.c): the executable is a regular file,
 * and no set-id program unless the caller is root. */
int ps_validate_process_as_caller(const struct ps_check *v);
/* cwd, root, umask, rlimits, personality, comm, session and group. */
int ps_restore_process_attrs(struct ps_rctx *c);

/* timers: restore/timers.c */
/* A timer that signals one thread names a thread of the image; ids are
 * listed once, in order. */
int ps_validate_timers(const struct ps_check *v);
/* The three interval timers, armed with their remaining time. */
int ps_restore_itimers(struct ps_rctx *c);
/* Every POSIX timer of the image (timer_create) with the id the program
 * holds, armed with its remaining time. Needs the threads (a timer may
 * signal one of them). */
int ps_restore_posix_timers(struct ps_rctx *c);

/* memory: restore/memory.c (the mappings made in restore/layout.c, their
 * pages filled in restore/pages.c) */
/* Every mapping can be made again here, with its content file; the
 * image's vDSO and [vvar*] are where this kernel can put its own. */
int ps_validate_memory(const struct ps_check *v);
/* As the caller: mapped files are the very files of the checkpoint. */
int ps_validate_memory_as_caller(const struct ps_check *v);

/* aio: restore/aio.c (memory's mappings of kind "aio") */
/* The mapping has its ring in the image. */
int ps_validate_aio(const struct ps_check *v, const struct ps_mapping *m);
/* Every AIO context: io_setup, its ring moved to the image's address (the
 * context id), its head, tail and unreaped events as they were. After the
 * layout, where the rings' places were left free. */
int ps_restore_aio(struct ps_rctx *c);

/* sysv_shm: restore/sysv_shm.c (memory's mappings of kind "sysv") */
/* The segment exists here as it was (same id, key, size), or can be made
 * with its id: not taken by another, and the caller is root. Its
 * attachment is whole in the image. */
int ps_validate_sysv_shm(const struct ps_check *v, const struct ps_mapping *m);
/* From the layout, in place of mmap: the segment found, or made again
 * (with its owners, mode, lock, and removed again if it was), then
 * attached at the mapping's place with its protection. */
int ps_sysv_shm_attach(struct ps_rctx *c, const struct ps_mapping *m);
/* Whether the mapping's saved pages go in: only into a segment made again
 * (a live one's bytes are the ones that count). */
int ps_sysv_shm_needs_fill(const struct ps_rctx *c, const struct ps_mapping *m);
/* At the end of a restore: a failed one removes the segments it made;
 * procsnap lets go of its own attachments of them. */
void ps_sysv_shm_end(struct ps_rctx *c, int failed);

/* signals: restore/signals.c */
/* Refuses pending signals a restore cannot queue (SIGKILL, SIGSTOP). */
int ps_validate_signals(const struct ps_check *v);
/* Every disposition with rt_sigaction. */
int ps_restore_sigactions(struct ps_rctx *c);
/* Queue the shared pending signals and each thread's own (tid = the
 * thread's, already existing). Signals are blocked while this runs. */
int ps_restore_shared_pending(struct ps_rctx *c);
int ps_restore_thread_pending(struct ps_rctx *c, const struct ps_thread *t);

/* seccomp: restore/seccomp.c */
/* Refuses a filter that hands syscalls to a supervisor (SECCOMP_RET_USER_NOTIF),
 * a sharing of filters TSYNC cannot rebuild, an image whose main thread's
 * mode disagrees with process.json, seccomp in an image without
 * seccomp.json, and, for a non-root caller, filters the process could not
 * install itself (neither no_new_privs nor CAP_SYS_ADMIN saved). */
int ps_validate_seccomp(const struct ps_check *v);
/* From the main thread, once every thread exists and before credentials:
 * PTRACE_O_SUSPEND_SECCOMP on every thread, then the chain all threads
 * share, with SECCOMP_FILTER_FLAG_TSYNC. */
int ps_restore_seccomp_shared(struct ps_rctx *c);
/* In thread t: the filters only it holds, then strict mode if it had it. */
int ps_restore_seccomp_thread(struct ps_rctx *c, const struct ps_thread *t);

/* registers: restore/registers.c (the threads made in restore/threads.c) */
/* One thread per tid, the first being the process's main thread. */
int ps_validate_registers(const struct ps_check *v);
/* The stub inherited procsnap's rseq registration: the kernel would write
 * into that area (soon unmapped) on every return to user space. */
int ps_restore_unregister_rseq(struct ps_rctx *c);
/* sigaltstack, set_robust_list, set_tid_address, rseq, run in the thread. */
int ps_restore_thread_state(struct ps_rctx *c, const struct ps_thread *t);
/* A timespec that a restarted sleep needs in the thread's memory: the
 * time it has left, to be written at `at` (0: nothing to write). */
struct ps_restart_time {
	uint64_t at;
	struct timespec left;
};
/* The address of the relative timeout (a struct timespec) that the restart
 * of the syscall regs stopped in must shorten, or 0 when it needs none. */
uint64_t ps_restart_timeout_arg(const struct user_regs_struct *regs);
/* Turn an interrupted restart-block syscall (ERESTART_RESTARTBLOCK, whose
 * in-kernel restart state died with the old process) into one the kernel
 * restarts from registers alone, for what was left of its time: timeout is
 * what ps_restart_timeout_arg's address held (NULL when it gave 0),
 * asleep_ns how long the thread had slept when frozen. When the new
 * timeout must be in memory, w says where and what. EINTR remains only when
 * a signal is about to interrupt it (signal_due) or the call is unknown. */
void ps_restart_fixup(struct user_regs_struct *regs, const struct timespec *timeout,
		      uint64_t asleep_ns, int signal_due, struct ps_restart_time *w);
/* Load the thread's registers, xsave area and signal mask and park it in
 * an interrupt stop, from which the kernel restarts an interrupted syscall
 * exactly as it would have in the original process. */
int ps_restore_final_regs(struct ps_rctx *c, const struct ps_thread *t);

/* attributes: restore/attributes.c */
/* Refuses what cannot be set again (IO flusher, core cookie, syscall user
 * dispatch, NUMA policy, shadow stack, LAM, per-thread credentials) and, for a non-root caller, what it
 * could not set itself (nice, real-time, loginuid, oom_score_adj < 0). */
int ps_validate_attributes(const struct ps_check *v);
/* The audit login uid, written by the stub itself: in caller mode, with
 * the process attributes (restore/process.c). */
int ps_restore_loginuid(struct ps_rctx *c);
/* oom_score_adj, coredump_filter, autogroup nice, THP, child
 * subreaper, memory merge, membarrier registrations, AMX permission, the
 * futex hash's size. */
int ps_restore_process_attributes(struct ps_rctx *c);
/* Timer slack, io priority, CPU affinity, speculation, MCE kill, TSC, CPUID, nice and
 * scheduling, run in the thread, before the credentials. */
int ps_restore_thread_attributes(struct ps_rctx *c, const struct ps_thread *t);
/* The parent-death signal, which a change of credentials clears. */
int ps_restore_thread_pdeathsig(struct ps_rctx *c, const struct ps_thread *t);
/* Memory-deny-write-execute, once no mapping will change any more. */
int ps_restore_mdwe(struct ps_rctx *c);

#endif
