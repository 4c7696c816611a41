/* Capture of the parts of a process (image/parts.h): what each part's
 * backend/<part>.c reads from the frozen process into the model. */
#ifndef PROCSNAP_PART_CAPTURE_H
#define PROCSNAP_PART_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend/capture.h"
#include "backend/remote_syscall.h"
#include "image/model.h"

/*
 * Each part captures in up to three steps, in this order over all parts
 * (backend/capture.c): what /proc and ptrace show of the stopped process;
 * then what only a syscall run inside it can read, in each thread's
 * remote session (thread 0 is the main thread; scratch: the address of at
 * least 2 KiB of writable memory in the target); then, once no scratch
 * page is mapped any more, the rest (the address space itself).
 */

/* process: backend/process.c */
/* Fill every field of the process part that /proc gives. Left for the
 * remote session: creds.securebits, creds.dumpable, mm.brk. */
int ps_capture_process(struct ps_capture *c, char *err, size_t errlen);
int ps_capture_process_proc(pid_t pid, struct ps_process *p, char *err, size_t errlen);
int ps_capture_process_remote(struct ps_remote *r, uint64_t scratch, struct ps_model *m,
			      size_t thread, char *err, size_t errlen);

/* memory: backend/memory.c */
/* Fill maps (one entry per /proc/<pid>/maps line, each with the runs of
 * pages that must be saved) from the stopped process. */
int ps_capture_memory(struct ps_capture *c, char *err, size_t errlen);
/* In the main thread's session: whether mlockall(MCL_FUTURE) is in force
 * (maps.lock_future). */
int ps_capture_memory_remote(struct ps_remote *r, uint64_t scratch, struct ps_model *m,
			     size_t thread, char *err, size_t errlen);
int ps_capture_maps(pid_t pid, struct ps_maps *maps, char *err, size_t errlen);
/* aio: backend/aio.c */
/* Each PS_MAP_AIO mapping's ring: header and completed, unreaped events. */
int ps_capture_aio(pid_t pid, struct ps_maps *maps, char *err, size_t errlen);

/* sysv_shm: backend/sysv_shm.c */
/* Each PS_MAP_SYSV mapping's segment, from /proc/sysvipc/shm (the process
 * must be in procsnap's IPC namespace). */
int ps_capture_sysv_shm(pid_t pid, struct ps_maps *maps, char *err, size_t errlen);

/* Read the content file of mapping m: saved pages from the process, holes
 * as zeros. memfd is /proc/<pid>/mem, used for pages process_vm_readv
 * cannot read (PROT_NONE). Returns bytes read or -errno. */
ssize_t ps_memory_read(pid_t pid, int memfd, const struct ps_mapping *m,
		       char *buf, size_t size, uint64_t off);
/* SEEK_DATA / SEEK_HOLE over the content file of m. */
off_t ps_memory_seek(const struct ps_mapping *m, off_t off, int whence);

/* seccomp: backend/seccomp.c */
/* Each thread's seccomp mode and filters (PTRACE_SECCOMP_GET_FILTER), the
 * filters of identical chains saved once; after the registers part, whose
 * threads it follows. */
int ps_capture_seccomp(struct ps_capture *c, char *err, size_t errlen);

/* registers: backend/registers.c */
/* Every thread the freeze stopped, each with what ptrace and /proc give. */
int ps_capture_registers(struct ps_capture *c, char *err, size_t errlen);
/* The thread's alternate signal stack and clear_child_tid, which need a
 * syscall in the thread itself. */
int ps_capture_registers_remote(struct ps_remote *r, uint64_t scratch, struct ps_model *m,
				size_t thread, char *err, size_t errlen);
/* Fill everything of t that ptrace and /proc give; altstack and
 * clear_child_tid need a remote syscall and are filled by the caller.
 * own_regs, if not NULL, are the registers to save instead of the ones the
 * thread has now (the freeze rewound a wait in it). */
int ps_capture_thread(pid_t pid, pid_t tid, const struct user_regs_struct *own_regs,
		      struct ps_thread *t, char *err, size_t errlen);
/* The thread's rseq registration (PTRACE_GET_RSEQ_CONFIGURATION): area,
 * length and signature; ptr 0 when none. 0 or -errno. */
int ps_read_rseq_config(pid_t tid, uint64_t *ptr, uint32_t *len, uint32_t *sig);

/* signals: backend/signals.c */
/* Every signal's disposition, read with rt_sigaction in the main thread. */
int ps_capture_signals_remote(struct ps_remote *r, uint64_t scratch, struct ps_model *m,
			      size_t thread, char *err, size_t errlen);
/* The process-wide pending queue. */
int ps_capture_signals(struct ps_capture *c, char *err, size_t errlen);
int ps_capture_sigactions(struct ps_remote *r, uint64_t scratch, struct ps_signals *s,
			  char *err, size_t errlen);
/* Read a pending-signal queue with PTRACE_PEEKSIGINFO: the thread's own
 * (shared = 0) or the process-wide one (shared = 1), without dequeuing. */
int ps_peek_pending(pid_t tid, int shared, struct ps_siginfo **out, size_t *n,
		    char *err, size_t errlen);

/* timers: backend/timers.c */
/* The POSIX timers /proc/<pid>/timers lists, without their times. */
int ps_capture_timers(struct ps_capture *c, char *err, size_t errlen);
int ps_capture_timers_proc(pid_t pid, struct ps_process *p, char *err, size_t errlen);
/* The interval timers, and each POSIX timer's remaining time and overrun,
 * from the main thread. */
int ps_capture_timers_remote(struct ps_remote *r, uint64_t scratch, struct ps_model *m,
			     size_t thread, char *err, size_t errlen);

/* attributes: backend/attributes.c */
/* oom_score_adj, loginuid, coredump_filter, autogroup nice from /proc;
 * each thread's scheduling, io priority and syscall user dispatch. */
int ps_capture_attributes(struct ps_capture *c, char *err, size_t errlen);
/* Each thread's prctl settings (timer slack, parent-death signal,
 * speculation, securebits, no_new_privs, MCE kill, TSC, IO flusher, CPUID,
 * core cookie) and, in the main thread, the process's (THP, subreaper,
 * memory merge, MDWE, membarrier registrations, AMX permission). */
int ps_capture_attributes_remote(struct ps_remote *r, uint64_t scratch, struct ps_model *m,
				 size_t thread, char *err, size_t errlen);

#endif
