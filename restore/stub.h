/* The stub: a process created with the image's pid (clone3 set_tid) by a
 * short-lived nursery, so that it ends up a child of init, not of procsnap. */
#ifndef PROCSNAP_RESTORE_STUB_H
#define PROCSNAP_RESTORE_STUB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The nursery: a fork of procsnap, our child, that does as it is told
 * through two pipes and, in the end, clone3()s the stub. */
struct ps_nursery {
	pid_t pid;
	int ctl;         /* commands to it */
	int report;      /* its answers */
};

struct ps_stub {
	pid_t pid;       /* the stub, seized and stopped in its interrupt stop */
	struct ps_nursery nursery;  /* its parent, waiting for our word */
};

/* Offsets of a new time namespace, as /proc/<pid>/timens_offsets takes
 * them: "monotonic <sec> <nsec>\nboottime <sec> <nsec>\n". */
struct ps_time_offsets {
	char text[128];
};

/* Start a nursery that waits for commands. 0 or -errno. */
int ps_nursery_start(struct ps_nursery *n);

/* Have the nursery map len bytes of private anonymous memory at exactly
 * start (read-write), for procsnap to fill; the stub inherits them. 0 or
 * -errno (EEXIST: something of the nursery's own is there). */
int ps_nursery_map(struct ps_nursery *n, uint64_t start, uint64_t len);

/* Let an unused nursery go (it exits) and reap it. */
void ps_nursery_end(struct ps_nursery *n);

/* Tracer thread only. The stub is made by the nursery from (which then
 * belongs to s, whatever happens), or by a new one if from is NULL. With
 * offsets, the stub is made in a new time namespace with them. 0 or -errno
 * with err filled (EEXIST: pid in use). */
int ps_stub_create(pid_t pid, const struct ps_time_offsets *offsets, struct ps_nursery *from,
		   struct ps_stub *s, char *err, size_t errlen);

/* The restore succeeded and the stub is detached: the nursery exits and the
 * process is adopted by init (or the nearest subreaper). */
void ps_stub_release(struct ps_stub *s);

/* The restore failed: kill the stub, reap it and the nursery. Nothing is
 * left behind, not even a zombie. */
void ps_stub_destroy(struct ps_stub *s);

#endif
