/* The processes procsnap shows: live user processes (no kernel threads, not
 * procsnap itself) and the ptrace-style access rule for callers. */
#ifndef PROCSNAP_PROCLIST_H
#define PROCSNAP_PROCLIST_H

#include <stddef.h>
#include <sys/types.h>

/* Fill *pids (malloc'd, caller frees) with every live user process. */
int ps_proclist_read(pid_t **pids, size_t *count);

/* Fill *pids (malloc'd, sorted) with every child process of parent, zombies
 * included (CONFIG_PROC_CHILDREN's task/<tid>/children is not on every
 * kernel, so /proc is scanned). */
int ps_proclist_children(pid_t parent, pid_t **pids, size_t *count);

/* 1 if pid is a live user process procsnap shows, else 0. */
int ps_proclist_is_shown(pid_t pid);

/* Thread-group id of the thread tid (FUSE tells callers by thread), or -errno. */
pid_t ps_proclist_tgid(pid_t tid);

/* 0 if a caller with these ids may snapshot pid (same rule as
 * /proc/<pid>/mem: same uids and dumpable, or CAP_SYS_PTRACE), else -EACCES
 * with the reason in err. */
int ps_proclist_may_trace(pid_t caller_tid, uid_t caller_uid, gid_t caller_gid,
			  pid_t pid, char *err, size_t errlen);

#endif
