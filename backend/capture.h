/* Capture of a whole process: freeze it, fill the model from /proc, ptrace
 * and remote syscalls, and keep it frozen until released. Tracer thread only. */
#ifndef PROCSNAP_CAPTURE_H
#define PROCSNAP_CAPTURE_H

#include "backend/freeze.h"
#include "backend/remote_syscall.h"
#include "image/model.h"

struct ps_capture {
	struct ps_model model;
	struct ps_frozen frozen;
	int memfd;                    /* /proc/<pid>/mem, for pages process_vm_readv can't read */
};

/* 0 with the process frozen and c filled, or -errno with err filled and the
 * process running as before. */
int ps_capture_take(pid_t pid, struct ps_capture *c, char *err, size_t errlen);

/* Thaw the process and free everything in c. */
void ps_capture_release(struct ps_capture *c);

/* For the parts' remote captures: run syscall nr with three arguments in
 * the thread r borrows; *ret is its result. */
int ps_capture_call(struct ps_remote *r, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
		    long *ret, char *err, size_t errlen);
/* Run a remote syscall that writes len bytes at scratch (its third
 * argument), and copy them out; what names it in err. */
int ps_capture_read_call(struct ps_remote *r, long nr, uint64_t a0, uint64_t a1,
			 uint64_t scratch, void *out, size_t len, const char *what,
			 char *err, size_t errlen);

#endif
