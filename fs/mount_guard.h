/* One procsnap per mount point and per spool: a second mount on either is
 * refused before anything is mounted. */
#ifndef PROCSNAP_MOUNT_GUARD_H
#define PROCSNAP_MOUNT_GUARD_H

#include <stddef.h>

/* -EBUSY with a sentence in err if a procsnap is mounted on mountpoint
 * (per /proc/self/mountinfo), else 0. */
int ps_guard_mountpoint(const char *mountpoint, char *err, size_t errlen);

/* Lock spool (the directory, which exists) for this process's life: the
 * lock file "lock" in it is flock'ed and names our pid and mountpoint for
 * the next one. -EBUSY with a sentence naming the holder, or -errno. */
int ps_guard_spool(const char *spool, const char *mountpoint, char *err, size_t errlen);

/* After daemonizing: the lock file names the daemon's pid. */
void ps_guard_spool_owner(void);

void ps_guard_release(void);

#endif
