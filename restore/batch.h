/* A queue of syscalls for the stub, run there in one go by a small loop on
 * the trampoline's code page: one resume of the stub for many syscalls. */
#ifndef PROCSNAP_RESTORE_BATCH_H
#define PROCSNAP_RESTORE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "restore/rctx.h"

/* Calls a queue holds (64 bytes each in the stub) and bytes of argument
 * data beside them: the trampoline keeps PS_BATCH_AREA bytes for both. */
#define PS_BATCH_MAX 1024
#define PS_BATCH_DATA 16384
#define PS_BATCH_AREA (PS_BATCH_MAX * 64 + PS_BATCH_DATA)

/*
 * The trampoline's code page: `syscall` at offset 0 (for ps_rcall), then
 * the loop that runs a queue. *len gets its length.
 */
const unsigned char *ps_batch_code(size_t *len);

/*
 * Start queueing into the stub's area at (PS_BATCH_AREA bytes, read-write,
 * used by nothing else), the trampoline's code at c->tramp. The queue
 * lives until ps_batch_end or ps_batch_drop (layout.c: while the address
 * space is cleared, and while it is built); while it lives, everything
 * that touches the stub otherwise must flush it first, so that effects
 * happen in program order: ps_rcall, ps_rput and ps_rget do it
 * themselves, and a page fill calls ps_rcall_flush before writing.
 * The executor stops on int3, whose SIGTRAP the kernel forces: a blocked
 * SIGTRAP gets its default disposition back, so a queue may only live
 * before the process's own sigactions are restored.
 */
int ps_batch_begin(struct ps_rctx *c, uint64_t area);

/* Flush what is queued and end the queue: 0 or the flush's -errno. */
int ps_batch_end(struct ps_rctx *c);

/* End the queue without running it (the restore failed: the stub dies). */
void ps_batch_drop(struct ps_rctx *c);

/*
 * Queue syscall nr, whose result only tells success from failure. what
 * names it as for ps_rcall, and is copied. Without a queue (no trampoline
 * yet) it is ps_rcall at once. Returns 0, or a negative errno with err
 * filled: the caller-mode check (ps_caller_may_run) refused it, or a full
 * queue was flushed and one of its calls failed.
 */
int ps_rcall_later(struct ps_rctx *c, const char *what, long nr, uint64_t a0, uint64_t a1,
		   uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);

/*
 * Queue mmap(addr, len, prot, flags, fd, off) with MAP_FIXED_NOREPLACE in
 * flags: its result must be addr, or the flush fails with "<what>: the
 * kernel placed it at 0x..." (a kernel before 4.17 takes the flag for a
 * hint). 0 or -errno as ps_rcall_later.
 */
int ps_rmap_later(struct ps_rctx *c, const char *what, uint64_t addr, uint64_t len, int prot,
		  int flags, long fd, uint64_t off);

/*
 * len bytes that the next queued call reads (a name): copied beside the
 * queue, written into the stub with it. Returns their address in the stub,
 * or 0 with err filled. They stay until the queue next runs, which is not
 * before that call is queued. Without a queue, ps_rput at scratch offset 0.
 */
uint64_t ps_rput_later(struct ps_rctx *c, const void *data, size_t len);

/*
 * Run every queued call in order in the stub, stopping at the first that
 * fails. 0, or that call's -errno with err "<what>: <strerror>" as
 * ps_rcall would have written it. The queue is empty afterwards either way.
 */
int ps_rcall_flush(struct ps_rctx *c);

#endif
