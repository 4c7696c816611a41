/* Checks and restore of the process part's attributes in the stub: cwd and
 * root, umask, personality, comm, rlimits, session and group. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include "restore/as_caller.h"
#include "restore/part_restore.h"
#include "restore/validate.h"

static const char *const rlimit_names[PS_NRLIMITS] = {
	"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE",
	"RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",
	"RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
	"RLIMIT_RTPRIO", "RLIMIT_RTTIME",
};

static int call_ok(long rc)
{
	return rc < 0 ? (int)rc : 0;
}

static long call_with_path(struct ps_rctx *c, const char *what, long nr, const struct ps_bytes *p)
{
	uint64_t addr = ps_rput(c, 0, p->data, p->len + 1);

	if (!addr)
		return -EIO;
	return ps_rcall(c, what, nr, addr, 0, 0, 0, 0, 0);
}

/* The working directory, reached and entered as the caller: fchdir checks
 * the right to enter it on the directory that was opened. */
static int enter_cwd(struct ps_rctx *c, const char *cwd)
{
	static const char who[] = "the working directory";
	char deed[PS_PATH_MAX + 16];
	long fd = ps_caller_open(c, who, cwd, O_PATH | O_DIRECTORY | O_CLOEXEC, 0), rc;

	if (fd < 0)
		return (int)fd;
	snprintf(deed, sizeof(deed), "enter %s", cwd);
	rc = ps_caller_call(c, who, deed, SYS_fchdir, (uint64_t)fd, 0, 0, 0, 0, 0);
	ps_rcall(c, "close", SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
	return call_ok(rc);
}

/* cwd and root are paths as procsnap saw them (readlink of /proc/<pid>/cwd
 * and root resolve against the reader's root), so the cwd is entered first,
 * from procsnap's root; chroot then leaves the cwd where it is, whether
 * inside the new root, as usual, or outside it, as the original had it.
 * Everything that opens a path in the stub must come before this. Only a
 * root caller restores a chroot (validate.c). */
static int restore_dirs(struct ps_rctx *c)
{
	const struct ps_process *p = &c->m->proc;
	char what[PS_PATH_MAX + 64];
	int rc;

	rc = enter_cwd(c, p->cwd.data);
	if (rc || strcmp(p->root.data, "/") == 0)
		return rc;
	snprintf(what, sizeof(what), "chroot %s", p->root.data);
	return call_ok(call_with_path(c, what, SYS_chroot, &p->root));
}

static int restore_identity(struct ps_rctx *c)
{
	const struct ps_process *p = &c->m->proc;
	char what[64];
	int rc;

	rc = call_ok(ps_rcall(c, "umask", SYS_umask, p->umask, 0, 0, 0, 0, 0));
	if (rc)
		return rc;
	/* Flags such as ADDR_NO_RANDOMIZE act at the next execve;
	 * READ_IMPLIES_EXEC at the next mmap. */
	snprintf(what, sizeof(what), "personality(%#lx)", p->personality);
	return call_ok(ps_rcall(c, what, SYS_personality, p->personality, 0, 0, 0, 0, 0));
}

static int get_rlimit(struct ps_rctx *c, int res, uint64_t addr, struct ps_rlimit *out)
{
	char what[64];
	long rc;

	snprintf(what, sizeof(what), "prlimit64(%s)", rlimit_names[res]);
	rc = ps_rcall(c, what, SYS_prlimit64, 0, (uint64_t)res, 0, addr, 0, 0);
	return rc < 0 ? (int)rc : ps_rget(c, addr, out, sizeof(*out));
}

static long set_rlimit(struct ps_rctx *c, int res, uint64_t addr, const struct ps_rlimit *lim)
{
	char what[96];

	snprintf(what, sizeof(what), "prlimit64(%s, %llu/%llu)", rlimit_names[res],
		 (unsigned long long)lim->cur, (unsigned long long)lim->max);
	if (!ps_rput(c, 0, lim, sizeof(*lim)))
		return -EIO;
	return ps_rcall(c, what, SYS_prlimit64, 0, (uint64_t)res, addr, 0, 0, 0);
}

/* struct ps_rlimit is the kernel's struct rlimit64, RLIM64_INFINITY included. */
static int restore_rlimit(struct ps_rctx *c, int res)
{
	const struct ps_rlimit *want = &c->m->proc.rlimits[res];
	uint64_t addr = c->scratch;
	struct ps_rlimit now, within;
	long rc;

	rc = get_rlimit(c, res, addr, &now);
	if (rc || (now.cur == want->cur && now.max == want->max))
		return (int)rc;
	rc = set_rlimit(c, res, addr, want);
	if (rc != -EPERM || want->max <= now.max)
		return call_ok(rc);
	/* Raising a hard limit needs CAP_SYS_RESOURCE (and for RLIMIT_NOFILE
	 * no more than fs.nr_open), which the stub may lack: keep the hard
	 * limit it has, and the image's soft limit as far as that allows. */
	within.max = now.max;
	within.cur = want->cur < now.max ? want->cur : now.max;
	return call_ok(set_rlimit(c, res, addr, &within));
}

static int restore_rlimits(struct ps_rctx *c)
{
	int rc = 0;

	for (int res = 0; !rc && res < PS_NRLIMITS; res++)
		rc = restore_rlimit(c, res);
	return rc;
}

/* Within its session, the process rejoins its group if that still exists
 * (setpgid says EPERM for a group that is not in the caller's session),
 * else it leads a group of its own. */
static int restore_group(struct ps_rctx *c)
{
	const struct ps_process *p = &c->m->proc;
	long pgid = ps_rcall(c, "getpgid", SYS_getpgid, 0, 0, 0, 0, 0, 0);
	char what[64];
	long rc;

	if (pgid < 0 || pgid == p->pgid)
		return call_ok(pgid);
	if (p->pgid != p->pid) {
		snprintf(what, sizeof(what), "setpgid(0, %d)", p->pgid);
		rc = ps_rcall(c, what, SYS_setpgid, 0, (uint64_t)p->pgid, 0, 0, 0, 0);
		if (rc != -EPERM)
			return call_ok(rc);
	}
	return call_ok(ps_rcall(c, "setpgid(0, 0)", SYS_setpgid, 0, 0, 0, 0, 0, 0));
}

/* A session is entered only by fork: the stub, forked from procsnap, is in
 * procsnap's session and can be in no other. So the process keeps its
 * session when that is procsnap's (procsnap run in the foreground where the
 * process ran), and otherwise gets one of its own, as when it led its
 * session; setsid also makes it the leader of a new group. */
static int restore_session(struct ps_rctx *c)
{
	const struct ps_process *p = &c->m->proc;
	long sid = ps_rcall(c, "getsid", SYS_getsid, 0, 0, 0, 0, 0, 0);

	if (sid < 0)
		return (int)sid;
	if (p->sid == sid && p->sid != p->pid)
		return restore_group(c);
	return call_ok(ps_rcall(c, "setsid", SYS_setsid, 0, 0, 0, 0, 0, 0));
}

int ps_restore_process_attrs(struct ps_rctx *c)
{
	int rc;

	rc = restore_dirs(c);
	if (!rc)
		rc = restore_identity(c);
	if (!rc)
		rc = restore_rlimits(c);
	if (!rc)
		rc = restore_session(c);
	return rc;
}

static int check_exe(const struct ps_check *v)
{
	if (!v->m->proc.exe.len)
		return ps_refuse(v, -ENOTSUP, "the image names no executable: restoring a process "
			      "without one is not supported");
	return 0;
}

/* The exe link is set from this path (the file itself is checked as one of
 * the mappings). For a caller other than root it must not be a set-id
 * program: the link would say the process runs one it never ran. */
int ps_validate_process_as_caller(const struct ps_check *v)
{
	const char *exe = v->m->proc.exe.data;
	struct stat st;

	if (stat(exe, &st) < 0)
		return errno == ENOENT ? ps_refuse(v, -ENOENT, "the executable %s is missing", exe)
				       : ps_refuse(v, -errno, "the executable %s: %s", exe,
						strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ps_refuse(v, -EINVAL, "the executable %s is not a regular file", exe);
	if (v->uid && (st.st_mode & (S_ISUID | S_ISGID)))
		return ps_refuse(v, -EPERM, "the executable %s is set-user-ID or set-group-ID: only "
			      "root may restore a process with such an executable", exe);
	return 0;
}

/* A process brought back without the children it had would find its
 * wait() failing (ECHILD), a pipeline's other stages gone, its shared
 * memory no longer shared: the image holds this process alone. */
static int check_children(const struct ps_check *v)
{
	const struct ps_process *p = &v->m->proc;

	if (!p->nchildren)
		return 0;
	return ps_refuse(v, -ENOTSUP, "process %d had %zu child process%s when it was saved "
			 "(%d%s), which the image does not hold: it would come back without "
			 "them", p->pid, p->nchildren, p->nchildren > 1 ? "es" : "",
			 p->children[0], p->nchildren > 1 ? ", ..." : "");
}

/* seccomp is the seccomp part's (restore/seccomp.c). */
int ps_validate_process(const struct ps_check *v)
{
	int rc = check_exe(v);

	return rc ? rc : check_children(v);
}
