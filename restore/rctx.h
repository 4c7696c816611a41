/* One restore in progress: the model being built, the stub process that is
 * becoming it, and syscalls run inside that stub. Tracer thread only. */
#ifndef PROCSNAP_RCTX_H
#define PROCSNAP_RCTX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/model.h"
#include "backend/remote_syscall.h"

/* The scratch area: a read-write page pair of the trampoline, in the stub,
 * for syscall arguments that live in memory (paths, structs). */
#define PS_SCRATCH_SIZE 8192

struct ps_batch;
struct ps_prefill_region;
struct ps_sysv_state;
struct ps_content_file;

struct ps_rctx {
	const struct ps_model *m;
	const char *dir;            /* the image directory (in the spool) */
	uid_t uid;                  /* who asked for the restore (0: root) */
	gid_t gid;
	/* Caller mode (as_caller.c): whether the main thread has the caller's
	 * credentials now, and the capabilities it takes back when it leaves. */
	int as_caller;
	uint64_t cap_prm, cap_inh;
	pid_t pid;                  /* the stub: pid and tid of the main thread */
	struct ps_remote r;         /* the stub's main thread, borrowed for syscalls */
	uint64_t tramp;             /* trampoline: code page, then the scratch pages */
	uint64_t scratch;           /* = tramp + 4096 */
	/* Syscalls queued for the stub while the layout is built (batch.h);
	 * NULL: none, each runs at once. */
	struct ps_batch *batch;
	char *err;
	size_t errlen;
	/* Per mapping of m: the memory the nursery filled for it while the
	 * image was copied in, which the stub inherited (NULL: none). */
	const struct ps_prefill_region **adopted;
	/* The SysV segments attached so far, and which of them this restore
	 * made (restore/sysv_shm.c). */
	struct ps_sysv_state *sysv;
	/* The content file the page fills read last, kept open (pages.c). */
	struct ps_content_file *content;
	/* What the user should know of a restore that succeeded ("fd 0: ...
	 * is gone, /dev/null is open there instead"); status shows it. */
	char note[512];
};

/* Run syscall nr in the stub, after what is queued (batch.h). Returns the syscall's result (>= 0), or a
 * negative errno: then err says "<what>: <strerror>". what names the thing
 * ("open /var/log/app.log for fd 3"). A syscall that resolves a path or a
 * socket address is refused (EPERM) for a non-root caller outside caller
 * mode (as_caller.h). */
long ps_rcall(struct ps_rctx *c, const char *what, long nr, uint64_t a0, uint64_t a1,
	      uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);

/* Copy len bytes to scratch + off in the stub, once the queued syscalls
 * have run (batch.h); returns the stub address, or
 * 0 with err filled. off + len must fit in PS_SCRATCH_SIZE. */
uint64_t ps_rput(struct ps_rctx *c, size_t off, const void *data, size_t len);

/* Read len bytes from the stub's address addr, once the queued syscalls
 * have run. 0 or -errno with err filled. */
int ps_rget(struct ps_rctx *c, uint64_t addr, void *out, size_t len);

/* A descriptor of procsnap's own for the stub's fd, from pidfd_getfd, so
 * that a file's content or a socket's queue is filled with plain I/O. The
 * caller closes it. Returns it, or -errno with err filled. */
int ps_rgrab(struct ps_rctx *c, long fd);

/* A file of the image (name as image.json lists it) opened read-only in
 * procsnap, confined beneath the image directory (ps_open_beneath). The
 * fd, or -1 with errno set. */
int ps_image_open(const struct ps_rctx *c, const char *name);

/* Append a sentence to the note ("; " between sentences). */
void ps_rnote(struct ps_rctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fill err (printf-style) and return e, for one-line error exits. */
int ps_rfail(struct ps_rctx *c, int e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
