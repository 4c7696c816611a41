/* The list of processes procsnap shows (live user processes, no kernel
 * threads, no zombies, not procsnap) and the /proc/<pid>/mem access rule. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/proclist.h"
#include "backend/proc_parse.h"

#define PF_KTHREAD 0x00200000UL
#define CAP_SYS_PTRACE_BIT 19

/* A kernel thread has no user memory; a zombie ('Z') or dead ('X') task
 * has nothing left to snapshot. */
static int is_live_user_task(const struct ps_stat *st)
{
	if (st->flags & PF_KTHREAD)
		return 0;
	return st->state != 'Z' && st->state != 'X';
}

/* "1234" -> 1234; anything else (".", "self", "1234x") -> 0. */
static pid_t pid_from_name(const char *name)
{
	long v = 0;
	const char *p;

	if (!*name)
		return 0;
	for (p = name; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return 0;
		v = v * 10 + (*p - '0');
		if (v > INT_MAX)
			return 0;
	}
	return (pid_t)v;
}

static int append_pid(pid_t **v, size_t *n, size_t *cap, pid_t pid)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		pid_t *nv = realloc(*v, ncap * sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = pid;
	return 0;
}

static int compare_pids(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

typedef int (*keep_fn)(const struct ps_stat *st, pid_t arg);

/* /proc lists thread-group leaders only, so every entry is a process. A
 * process that exits while we read it is simply left out. */
static int scan_processes(keep_fn keep, pid_t arg, pid_t **pids, size_t *count)
{
	pid_t *v = NULL, self = getpid();
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	*pids = NULL;
	*count = 0;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		pid_t pid = pid_from_name(de->d_name);
		struct ps_stat st;

		if (pid <= 0 || pid == self)
			continue;
		if (ps_read_stat(pid, &st) < 0 || !keep(&st, arg))
			continue;
		rc = append_pid(&v, &n, &cap, pid);
		if (rc < 0)
			break;
	}
	closedir(d);
	if (rc < 0) {
		free(v);
		return rc;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), compare_pids);
	*pids = v;
	*count = n;
	return 0;
}

static int keep_shown(const struct ps_stat *st, pid_t arg)
{
	(void)arg;
	return is_live_user_task(st);
}

int ps_proclist_read(pid_t **pids, size_t *count)
{
	return scan_processes(keep_shown, 0, pids, count);
}

/* stat's ppid is the tgid of the parent, whichever of its threads forked;
 * zombies count: they are children their parent has yet to wait for. */
static int keep_child_of(const struct ps_stat *st, pid_t parent)
{
	return st->ppid == parent && !(st->flags & PF_KTHREAD);
}

int ps_proclist_children(pid_t parent, pid_t **pids, size_t *count)
{
	return scan_processes(keep_child_of, parent, pids, count);
}

/* /proc/<tid> exists for every thread even though /proc does not list it:
 * only a thread-group leader is a process procsnap shows. */
int ps_proclist_is_shown(pid_t pid)
{
	struct ps_stat st;

	if (pid <= 0 || pid == getpid())
		return 0;
	if (ps_read_stat(pid, &st) < 0 || !is_live_user_task(&st))
		return 0;
	return ps_proclist_tgid(pid) == pid;
}

pid_t ps_proclist_tgid(pid_t tid)
{
	struct ps_status st;
	int rc;

	if (tid <= 0)
		return -EINVAL;
	rc = ps_read_status(tid, &st);
	if (rc < 0)
		return rc;
	free(st.groups);
	return st.tgid;
}

/* ---- the access rule ---- */

static int same_user_namespace(pid_t tid)
{
	char path[64], theirs[64], ours[64];
	ssize_t a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)tid);
	a = readlink(path, theirs, sizeof(theirs) - 1);
	b = readlink("/proc/self/ns/user", ours, sizeof(ours) - 1);
	if (a < 0 || b < 0)
		return 0;
	return a == b && memcmp(theirs, ours, (size_t)a) == 0;
}

/* CAP_SYS_PTRACE counts only for uid 0 in procsnap's own user namespace: a
 * container's root shows a full CapEff too, but its capabilities are only
 * worth something inside its namespace. */
static int caller_is_privileged(pid_t caller_tid, uid_t caller_uid)
{
	struct ps_status st;

	if (caller_uid != 0 || caller_tid <= 0)
		return 0;
	if (ps_read_status(caller_tid, &st) < 0)
		return 0;
	free(st.groups);
	if (!(st.cap_eff & (1ULL << CAP_SYS_PTRACE_BIT)))
		return 0;
	return same_user_namespace(caller_tid);
}

static int ids_match_uid(const struct ps_status *t, uid_t uid)
{
	return t->uid[0] == uid && t->uid[1] == uid && t->uid[2] == uid;
}

static int ids_match_gid(const struct ps_status *t, gid_t gid)
{
	return t->gid[0] == gid && t->gid[1] == gid && t->gid[2] == gid;
}

/* /proc/<pid>/status does not show the dumpable flag, but proc acts on it:
 * the files under /proc/<pid> that are not world-readable (mem, fd, ...)
 * are owned by the effective uid while the process is dumpable, and by root
 * once it is not (it changed credentials, ran a setuid program, or called
 * prctl(PR_SET_DUMPABLE, 0)). /proc/<pid> itself is exempt (it always shows
 * the euid, for ps), so the sign is the owner of /proc/<pid>/mem: an owner
 * other than the euid means "not dumpable". For a process whose euid is 0
 * the sign tells nothing; such a process only passes the uid rule for a
 * uid-0 caller anyway. */
static int target_is_dumpable(pid_t pid, const struct ps_status *t, int *dumpable)
{
	char path[64];
	struct stat sb;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	if (stat(path, &sb) < 0)
		return -errno;
	*dumpable = sb.st_uid == t->uid[1];
	return 0;
}

static void explain_uid_mismatch(pid_t pid, const struct ps_status *t, uid_t uid,
				 char *err, size_t errlen)
{
	if (t->uid[0] == t->uid[1] && t->uid[1] == t->uid[2])
		snprintf(err, errlen, "process %d belongs to uid %u; you (uid %u) may not trace it",
			 (int)pid, (unsigned)t->uid[0], (unsigned)uid);
	else
		snprintf(err, errlen,
			 "process %d runs with uids %u (real), %u (effective), %u (saved); "
			 "you (uid %u) may not trace it unless all three are yours",
			 (int)pid, (unsigned)t->uid[0], (unsigned)t->uid[1],
			 (unsigned)t->uid[2], (unsigned)uid);
}

static void explain_gid_mismatch(pid_t pid, const struct ps_status *t, gid_t gid,
				 char *err, size_t errlen)
{
	snprintf(err, errlen,
		 "process %d runs with gids %u (real), %u (effective), %u (saved); "
		 "you (gid %u) may not trace it unless all three are yours",
		 (int)pid, (unsigned)t->gid[0], (unsigned)t->gid[1], (unsigned)t->gid[2],
		 (unsigned)gid);
}

int ps_proclist_may_trace(pid_t caller_tid, uid_t caller_uid, gid_t caller_gid,
			  pid_t pid, char *err, size_t errlen)
{
	struct ps_status t;
	int rc, dumpable = 0;

	if (caller_is_privileged(caller_tid, caller_uid))
		return 0;
	rc = ps_read_status(pid, &t);
	if (rc < 0) {
		snprintf(err, errlen, "reading /proc/%d/status: %s", (int)pid, strerror(-rc));
		return rc;
	}
	free(t.groups);
	if (!ids_match_uid(&t, caller_uid)) {
		explain_uid_mismatch(pid, &t, caller_uid, err, errlen);
		return -EACCES;
	}
	if (!ids_match_gid(&t, caller_gid)) {
		explain_gid_mismatch(pid, &t, caller_gid, err, errlen);
		return -EACCES;
	}
	rc = target_is_dumpable(pid, &t, &dumpable);
	if (rc < 0) {
		snprintf(err, errlen, "checking whether process %d is dumpable (stat /proc/%d/mem): %s",
			 (int)pid, (int)pid, strerror(-rc));
		return rc;
	}
	if (!dumpable) {
		snprintf(err, errlen,
			 "process %d is not dumpable (it changed credentials or called "
			 "prctl(PR_SET_DUMPABLE, 0)); only root with CAP_SYS_PTRACE may trace it",
			 (int)pid);
		return -EACCES;
	}
	return 0;
}
