/* Capture of a whole process: freeze it, fill the model from /proc, ptrace
 * and remote syscalls, and keep it frozen until released. Tracer thread only. */
#ifndef PROCSNAP_CAPTURE_H
#define PROCSNAP_CAPTURE_H

#include "backend/freeze.h"
#include "backend/memory.h"
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

#endif
