/* The other threads of a restored process: created by its main thread with
 * clone3 and their original tids, then each borrowed for its own syscalls. */
#ifndef PROCSNAP_RESTORE_THREADS_H
#define PROCSNAP_RESTORE_THREADS_H

#include "restore/rctx.h"

struct ps_rthread {
	const struct ps_thread *t;  /* its saved state */
	struct ps_remote r;         /* the new thread, stopped, borrowed */
	int created;
};

/* Create m->threads[1..] as th[0..], each stopped under ptrace in its
 * interrupt stop. On failure the ones created are marked in th. */
int ps_threads_create(struct ps_rctx *c, struct ps_rthread *th, size_t n);

/* Run fn(c, t) with c borrowing thread th instead of the main thread. */
int ps_threads_run(struct ps_rctx *c, struct ps_rthread *th,
		   int (*fn)(struct ps_rctx *c, const struct ps_thread *t));

/* After the process was killed: wait for each created thread, which as our
 * tracee would otherwise stay a zombie and keep its leader from exiting. */
void ps_threads_reap(const struct ps_rthread *th, size_t n);

#endif
