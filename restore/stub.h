/* The stub: a process created with the image's pid (clone3 set_tid) by a
 * short-lived nursery, so that it ends up a child of init, not of procsnap. */
#ifndef PROCSNAP_RESTORE_STUB_H
#define PROCSNAP_RESTORE_STUB_H

#include <stddef.h>
#include <sys/types.h>

struct ps_stub {
	pid_t pid;       /* the stub, seized and stopped in its interrupt stop */
	pid_t nursery;   /* its parent, our child, waiting for our word */
	int ctl;         /* pipe to the nursery */
};

/* Offsets of a new time namespace, as /proc/<pid>/timens_offsets takes
 * them: "monotonic <sec> <nsec>\nboottime <sec> <nsec>\n". */
struct ps_time_offsets {
	char text[128];
};

/* Tracer thread only. With offsets, the stub is made in a new time
 * namespace with them. 0 or -errno with err filled (EEXIST: pid in use). */
int ps_stub_create(pid_t pid, const struct ps_time_offsets *offsets, struct ps_stub *s,
		   char *err, size_t errlen);

/* The restore succeeded and the stub is detached: the nursery exits and the
 * process is adopted by init (or the nearest subreaper). */
void ps_stub_release(struct ps_stub *s);

/* The restore failed: kill the stub, reap it and the nursery. Nothing is
 * left behind, not even a zombie. */
void ps_stub_destroy(struct ps_stub *s);

#endif
