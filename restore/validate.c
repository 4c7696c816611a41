/* Checks of a decoded image across its files, against this machine and
 * against the caller's authority, before a restore creates anything. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "backend/elf_buildid.h"
#include "image/image_limits.h"
#include "backend/proc_parse.h"
#include "restore/as_caller.h"
#include "image/fd_kinds.h"
#include "restore/fd_restore.h"
#include "restore/validate.h"
#include "image/parts.h"
#include "backend/sentence.h"

int ps_refuse(const struct ps_check *v, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ps_vfail(v->err, v->errlen, e, fmt, ap);
	va_end(ap);
	return e;
}

static unsigned long long ull(uint64_t x)
{
	return (unsigned long long)x;
}

/* ---- the machine ---- */

static int check_machine(struct ps_check *v)
{
	const struct ps_image_meta *meta = &v->m->meta;
	struct utsname u;

	if (strcmp(meta->arch, "x86_64") != 0)
		return ps_refuse(v, -EINVAL, "the image is for %s; this machine is x86_64", meta->arch);
	if (meta->page_size != 4096 || sysconf(_SC_PAGESIZE) != 4096)
		return ps_refuse(v, -EINVAL, "the image has %ld-byte pages; restore needs 4096-byte pages "
			      "(this machine has %ld)", meta->page_size, sysconf(_SC_PAGESIZE));
	if (uname(&u) < 0)
		return ps_refuse(v, -errno, "uname: %s", strerror(errno));
	/* Only the release matters: a reboot (another boot_id) is fine. */
	if (strcmp(meta->kernel, u.release) != 0)
		return ps_refuse(v, -EINVAL, "the image was taken on kernel %s; this is %s: "
			      "the vDSO would differ", meta->kernel, u.release);
	return 0;
}

/* ---- the pid ---- */

static long read_pid_max(void)
{
	char *text;
	size_t len;
	long max;

	if (ps_read_file("/proc/sys/kernel/pid_max", &text, &len) < 0)
		return PS_PID_MAX;
	max = strtol(text, NULL, 10);
	free(text);
	return max > 0 ? max : PS_PID_MAX;
}

/* kill(pid, 0) finds processes, zombies included (EPERM: someone else's);
 * /proc/<n> also answers for the tid of another process's thread, which
 * holds its number as firmly. */
static int pid_in_use(pid_t pid)
{
	char path[32];

	if (kill(pid, 0) == 0 || errno == EPERM)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d", pid);
	return access(path, F_OK) == 0;
}

/* A process group outlives its leader while members remain, and the kernel
 * gives no process a pid that is still some group's id. */
static int pid_is_group(pid_t pid)
{
	return kill(-pid, 0) == 0 || errno == EPERM;
}

static pid_t read_tgid(pid_t pid)
{
	struct ps_status st;

	if (ps_read_status(pid, &st) < 0)
		return pid;
	free(st.groups);
	return st.tgid;
}

/* Who holds pid now, in words a person can act on. */
static int refuse_pid_taken(struct ps_check *v, pid_t pid)
{
	struct ps_stat st;
	char path[48], *text;
	size_t len;
	pid_t tgid;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (ps_read_file(path, &text, &len) < 0)
		return ps_refuse(v, -EBUSY, "pid %d is in use", pid);
	rc = ps_parse_stat(text, &st);
	free(text);
	if (rc < 0)
		return ps_refuse(v, -EBUSY, "pid %d is in use", pid);
	tgid = read_tgid(pid);
	if (tgid != pid)
		return ps_refuse(v, -EBUSY, "pid %d is taken by a thread of process %d (%s)",
			      pid, tgid, st.comm);
	if (st.state == 'Z')
		return ps_refuse(v, -EBUSY, "pid %d is taken by process %s (state Z: a zombie that its "
			      "parent, pid %d, has not reaped)", pid, st.comm, st.ppid);
	if (strcmp(st.comm, v->m->proc.comm) == 0)
		return ps_refuse(v, -EBUSY, "pid %d is in use: the original process is still running? "
			      "(%s, state %c)", pid, st.comm, st.state);
	return ps_refuse(v, -EBUSY, "pid %d is taken by process %s (state %c)", pid, st.comm,
		      st.state);
}

/* Every other thread gets its old tid back with clone3's set_tid too. */
static int check_thread_ids(struct ps_check *v, long max)
{
	for (size_t i = 1; i < v->m->nthreads; i++) {
		pid_t tid = v->m->threads[i].tid;

		if (tid <= 1 || tid >= max)
			return ps_refuse(v, -EINVAL, "thread %d cannot be restored: its id is not "
				      "between 2 and pid_max (%ld)", tid, max);
		if (pid_in_use(tid))
			return refuse_pid_taken(v, tid);
	}
	return 0;
}

static int check_pid(struct ps_check *v)
{
	pid_t pid = v->m->proc.pid;
	long max = read_pid_max();

	if (pid <= 1)
		return ps_refuse(v, -EINVAL, "pid %d cannot be restored: pid 1 is init", pid);
	/* clone3's set_tid takes only pids below pid_max. */
	if (pid >= max)
		return ps_refuse(v, -EINVAL, "pid %d is not below this machine's pid_max (%ld): "
			      "raise kernel.pid_max to restore it", pid, max);
	if (pid_in_use(pid))
		return refuse_pid_taken(v, pid);
	if (pid_is_group(pid))
		return ps_refuse(v, -EBUSY, "pid %d is in use as the process group of running "
			      "processes (their leader has exited)", pid);
	return check_thread_ids(v, max);
}

/* ---- each part of the image, by its own checks (image/parts.c) ---- */

static int check_parts(struct ps_check *v)
{
	for (size_t i = 0; i < ps_nparts; i++) {
		int rc = ps_parts[i].validate ? ps_parts[i].validate(v) : 0;

		if (rc)
			return rc;
	}
	return 0;
}

/* ---- capabilities: what the kernel and procsnap itself allow ---- */

static int own_permitted_caps(uint64_t *caps)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	*caps = (uint64_t)data[1].permitted << 32 | data[0].permitted;
	return 0;
}

/* capset refuses effective bits outside permitted, and ambient bits must be
 * in both permitted and inheritable; the stub, a fork of procsnap, can only
 * hand out capabilities procsnap holds. */
static int check_caps(struct ps_check *v)
{
	const struct ps_creds *cr = &v->m->proc.creds;
	uint64_t own = 0, extra;
	int rc;

	if (cr->cap_eff & ~cr->cap_prm)
		return ps_refuse(v, -EINVAL, "the image's effective capabilities %#llx are not all "
			      "permitted (%#llx)", ull(cr->cap_eff), ull(cr->cap_prm));
	if (cr->cap_amb & ~(cr->cap_prm & cr->cap_inh))
		return ps_refuse(v, -EINVAL, "the image's ambient capabilities %#llx are not all both "
			      "permitted and inheritable", ull(cr->cap_amb));
	rc = own_permitted_caps(&own);
	if (rc < 0)
		return ps_refuse(v, rc, "capget: %s", strerror(-rc));
	extra = (cr->cap_prm | cr->cap_inh) & ~own;
	if (extra)
		return ps_refuse(v, -EPERM, "the image has capabilities %#llx that procsnap itself "
			      "does not hold here (first: capability %d)", ull(extra),
			      __builtin_ctzll(extra));
	return 0;
}

/* ---- the caller's authority (docs/security.md) ---- */

/* The groups uid belongs to by the group database, always including gid. */
static int caller_groups(uid_t uid, gid_t gid, gid_t **out, int *n)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int want = 64;
	gid_t *g = NULL;

	getpwuid_r(uid, &pw, buf, sizeof(buf), &res);
	for (;;) {
		gid_t *grown = realloc(g, (size_t)want * sizeof(*g));

		if (!grown) {
			free(g);
			return -ENOMEM;
		}
		g = grown;
		if (!res) {
			g[0] = gid;
			want = 1;
			break;
		}
		if (getgrouplist(res->pw_name, gid, g, &want) >= 0)
			break;
	}
	*out = g;
	*n = want;
	return 0;
}

static int check_caller_groups(struct ps_check *v)
{
	const struct ps_creds *cr = &v->m->proc.creds;
	gid_t *mine;
	int n, rc = 0;

	if (caller_groups(v->uid, v->gid, &mine, &n) < 0)
		return ps_refuse(v, -ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < cr->ngroups; i++) {
		int member = 0;

		for (int j = 0; j < n && !member; j++)
			member = mine[j] == cr->groups[i];
		if (!member)
			rc = ps_refuse(v, -EPERM, "the image has supplementary group %u; uid %u is not "
				    "a member of it", (unsigned)cr->groups[i], (unsigned)v->uid);
	}
	free(mine);
	return rc;
}

static int check_caller_ids(struct ps_check *v)
{
	const struct ps_creds *cr = &v->m->proc.creds;

	for (int i = 0; i < 4; i++)
		if (cr->uid[i] != v->uid)
			return ps_refuse(v, -EPERM, "the image runs as uid %u; you are uid %u",
				      (unsigned)cr->uid[i], (unsigned)v->uid);
	for (int i = 0; i < 4; i++)
		if (cr->gid[i] != v->gid)
			return ps_refuse(v, -EPERM, "the image runs as gid %u; your gid is %u",
				      (unsigned)cr->gid[i], (unsigned)v->gid);
	if (cr->cap_eff | cr->cap_prm | cr->cap_inh | cr->cap_amb)
		return ps_refuse(v, -EPERM, "the image holds capabilities (permitted %#llx, effective "
			      "%#llx, inheritable %#llx, ambient %#llx); only root may restore it",
			      ull(cr->cap_prm), ull(cr->cap_eff), ull(cr->cap_inh), ull(cr->cap_amb));
	/* A chroot with a setuid binary and a forged /etc is a way to root. */
	if (strcmp(v->m->proc.root.data, "/") != 0)
		return ps_refuse(v, -EPERM, "the image is chrooted to %s; only root may restore a "
			      "chrooted process", v->m->proc.root.data);
	return check_caller_groups(v);
}

/* ---- what the image names, as the caller may reach it ----
 * The restore opens, makes, binds and watches everything as the caller
 * (as_caller.c): that is the enforcement. These checks come first only to
 * refuse early with a clear sentence, and for a caller other than root
 * they run in a forked child that has taken the caller's credentials
 * (credentials are per thread, and procsnap's own must not change), so
 * that no sentence tells about a file the caller could not reach. */

struct probe {
	char who[64];                     /* "fd 3", "the executable"... */
	const char *path;                 /* what faccessat tries */
	int mode;                         /* R_OK | W_OK | X_OK, or F_OK */
	char *deed;                       /* "open /x for reading" (owned) */
	char *dir;                        /* path, when it is a directory made from a name (owned) */
};

struct ps_probes {
	struct probe *p;
	size_t n, max;
};

static const char *mode_words(int mode)
{
	if ((mode & (R_OK | W_OK)) == (R_OK | W_OK))
		return "reading and writing";
	return mode & W_OK ? "writing" : "reading";
}

char *ps_path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

static void free_probes(struct ps_probes *ps)
{
	for (size_t i = 0; ps->p && i < ps->n; i++) {
		free(ps->p[i].deed);
		free(ps->p[i].dir);
	}
	free(ps->p);
}

int ps_probe_add(struct ps_probes *ps, const char *who, const char *path, int mode, int is_dir,
		 const char *deed_fmt, const char *named)
{
	struct probe *p;
	int len = snprintf(NULL, 0, deed_fmt, named, mode_words(mode));

	if (ps->n == ps->max) {
		size_t max = ps->max ? 2 * ps->max : 16;
		struct probe *grown = realloc(ps->p, max * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		ps->p = grown;
		ps->max = max;
	}
	p = &ps->p[ps->n];
	memset(p, 0, sizeof(*p));
	snprintf(p->who, sizeof(p->who), "%s", who);
	p->mode = mode;
	p->deed = malloc((size_t)len + 1);
	p->dir = is_dir ? ps_path_dir(path) : NULL;
	p->path = is_dir ? p->dir : path;
	if (!p->deed || (is_dir && !p->dir)) {
		free(p->deed);
		free(p->dir);
		return -ENOMEM;
	}
	snprintf(p->deed, (size_t)len + 1, deed_fmt, named, mode_words(mode));
	ps->n++;
	return 0;
}

static int probe_map(struct ps_probes *ps, const struct ps_mapping *map)
{
	int writes = map->shared && (map->prot & PROT_WRITE);
	char who[64];

	if (map->kind != PS_MAP_FILE || map->deleted)
		return 0;
	snprintf(who, sizeof(who), "mapping %llx-%llx", ull(map->start), ull(map->end));
	return ps_probe_add(ps, who, map->path.data, R_OK | (writes ? W_OK : 0), 0, "open %s for %s",
			 map->path.data);
}

/* Everything the restore reaches by a name of the image: the cwd, the
 * executable, fds (and the directories their files are made in, the
 * sockets they connect to, the inodes they watch), mapped files. */
static int list_probes(const struct ps_model *m, struct ps_probes *ps)
{
	const char *exe = m->proc.exe.data, *cwd = m->proc.cwd.data;
	int rc = ps_probe_add(ps, "the working directory", cwd, X_OK, 0, "enter %s", cwd);

	if (!rc)
		rc = ps_probe_add(ps, "the executable", exe, R_OK, 0, "open %s for %s", exe);
	if (!rc)
		rc = ps_probe_add(ps, "the executable", exe, X_OK, 0, "run %s", exe);
	for (size_t i = 0; !rc && i < m->fds.count; i++) {
		const struct ps_fd *f = &m->fds.items[i];

		if (!f->is_dup && f->supported && ps_fd_ops(f)->probes)
			rc = ps_fd_ops(f)->probes(ps, f);
	}
	for (size_t i = 0; !rc && i < m->maps.count; i++)
		rc = probe_map(ps, &m->maps.items[i]);
	return rc;
}

/* A missing file is not reported here: the checks of each file name it
 * better. */
static int run_probes(struct ps_check *v, const struct ps_probes *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		const struct probe *p = &ps->p[i];

		if (faccessat(AT_FDCWD, p->path, p->mode, AT_EACCESS) == 0 || errno == ENOENT)
			continue;
		ps_caller_refusal(v->err, v->errlen, p->who, v->uid, p->deed, errno);
		return -EACCES;
	}
	return 0;
}

/* The rule on what a name may be: no way through /proc into what a process
 * sees (as_caller.c enforces it again at the open). Paths only: nothing is
 * looked up. */
static int check_proc_links(struct ps_check *v, const struct ps_probes *ps)
{
	char link[64];

	for (size_t i = 0; i < ps->n; i++) {
		const struct probe *p = &ps->p[i];

		if (ps_proc_link_in(p->path, link, sizeof(link)))
			return ps_refuse(v, -EPERM, "%s: %s goes through %s into a process's files: only "
				      "root may restore such a path", p->who, p->path, link);
	}
	return 0;
}

static int check_caller_paths(struct ps_check *v)
{
	struct ps_probes ps = { NULL, 0, 0 };
	int rc = list_probes(v->m, &ps);

	rc = rc ? ps_refuse(v, -ENOMEM, "out of memory") : check_proc_links(v, &ps);
	free_probes(&ps);
	return rc;
}

static int check_caller(struct ps_check *v)
{
	int rc;

	if (v->uid == 0)
		return 0;
	rc = check_caller_ids(v);
	return rc ? rc : check_caller_paths(v);
}

/* ---- the checks that look at files ---- */

static int check_files(struct ps_check *v)
{
	struct ps_probes ps = { NULL, 0, 0 };
	int rc = 0;

	if (v->uid) {
		rc = list_probes(v->m, &ps) ? ps_refuse(v, -ENOMEM, "out of memory") : run_probes(v, &ps);
		free_probes(&ps);
	}
	for (size_t i = 0; !rc && i < ps_nparts; i++)
		if (ps_parts[i].validate_as_caller)
			rc = ps_parts[i].validate_as_caller(v);
	return rc;
}

/* In the forked child: only raw syscalls for the ids (setgroups() and
 * friends in glibc would signal threads the child does not have). Leaving
 * uid 0 for good empties the capability sets, unless securebits keep them:
 * then nothing is checked. */
static int become_caller(struct ps_check *v)
{
	const struct ps_creds *cr = &v->m->proc.creds;
	uint64_t caps = 0;

	if (syscall(SYS_setgroups, cr->ngroups, cr->groups) < 0 ||
	    syscall(SYS_setresgid, v->gid, v->gid, v->gid) < 0 ||
	    syscall(SYS_setresuid, v->uid, v->uid, v->uid) < 0)
		return ps_refuse(v, -EPERM, "cannot take uid %u to check its access to the image's "
			      "files: %s", (unsigned)v->uid, strerror(errno));
	if (own_permitted_caps(&caps) < 0 || caps)
		return ps_refuse(v, -EPERM, "uid %u kept capabilities %#llx when procsnap took it to "
			      "check its access to the image's files", (unsigned)v->uid, ull(caps));
	return 0;
}

static _Noreturn void files_child(struct ps_check *v, int out)
{
	int rc = become_caller(v);
	size_t len;

	if (rc == 0)
		rc = check_files(v);
	len = rc ? strnlen(v->err, v->errlen) : 0;
	if (write(out, &rc, sizeof(rc)) != sizeof(rc) || (len && write(out, v->err, len) < 0))
		_exit(1);
	_exit(0);
}

/* The child's verdict: its rc, then its sentence. */
static int wait_files_child(struct ps_check *v, pid_t child, int in)
{
	size_t got = 0;
	ssize_t n;
	int rc = -EIO, status;

	do
		n = read(in, &rc, sizeof(rc));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(rc))
		rc = -EIO;
	while (rc && got + 1 < v->errlen && (n = read(in, v->err + got, v->errlen - 1 - got)) != 0) {
		if (n > 0)
			got += (size_t)n;
		else if (errno != EINTR)
			break;
	}
	if (rc && v->errlen)
		v->err[got] = '\0';
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == -EIO && !got)
		return ps_refuse(v, -EIO, "checking uid %u's access to the image's files failed",
			      (unsigned)v->uid);
	return rc;
}

static int check_files_as_caller(struct ps_check *v)
{
	int pipefd[2], rc;
	pid_t child;

	if (v->uid == 0)
		return check_files(v);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return ps_refuse(v, -errno, "pipe: %s", strerror(errno));
	child = fork();
	if (child == 0) {
		close(pipefd[0]);
		files_child(v, pipefd[1]);
	}
	rc = errno;
	close(pipefd[1]);
	if (child < 0)
		rc = ps_refuse(v, -rc, "fork: %s", strerror(rc));
	else
		rc = wait_files_child(v, child, pipefd[0]);
	close(pipefd[0]);
	return rc;
}

int ps_validate_image(const struct ps_model *m, const char *dir, uid_t caller_uid,
		      gid_t caller_gid, char *err, size_t errlen)
{
	struct ps_check v = { m, dir, caller_uid, caller_gid, err, errlen };
	int (*const checks[])(struct ps_check *) = {
		check_machine, check_pid, check_parts, check_caller,
		check_caps, check_files_as_caller,
	};

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		int rc = checks[i](&v);

		if (rc)
			return rc;
	}
	return 0;
}
