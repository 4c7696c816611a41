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
#include "image/json_util.h"
#include "backend/proc_parse.h"
#include "restore/as_caller.h"
#include "image/fd_kinds.h"
#include "restore/fd_restore.h"
#include "restore/validate.h"
#include "backend/sentence.h"

struct vctx {
	const struct ps_model *m;
	const char *dir;
	uid_t uid;                 /* the caller */
	gid_t gid;
	char *err;
	size_t errlen;
};

static int refuse(struct vctx *v, int e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(struct vctx *v, int e, const char *fmt, ...)
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

static int check_machine(struct vctx *v)
{
	const struct ps_image_meta *meta = &v->m->meta;
	struct utsname u;

	if (strcmp(meta->arch, "x86_64") != 0)
		return refuse(v, -EINVAL, "the image is for %s; this machine is x86_64", meta->arch);
	if (meta->page_size != 4096 || sysconf(_SC_PAGESIZE) != 4096)
		return refuse(v, -EINVAL, "the image has %ld-byte pages; restore needs 4096-byte pages "
			      "(this machine has %ld)", meta->page_size, sysconf(_SC_PAGESIZE));
	if (uname(&u) < 0)
		return refuse(v, -errno, "uname: %s", strerror(errno));
	/* Only the release matters: a reboot (another boot_id) is fine. */
	if (strcmp(meta->kernel, u.release) != 0)
		return refuse(v, -EINVAL, "the image was taken on kernel %s; this is %s: "
			      "the vDSO would differ", meta->kernel, u.release);
	return 0;
}

static int check_threads(struct vctx *v)
{
	const struct ps_model *m = v->m;

	if (m->nthreads == 0)
		return refuse(v, -EINVAL, "the image has no threads");
	for (size_t i = 1; i < m->nthreads; i++)
		for (size_t j = 0; j < i; j++)
			if (m->threads[i].tid == m->threads[j].tid)
				return refuse(v, -EINVAL, "the image lists thread %d twice",
					      m->threads[i].tid);
	if (m->threads[0].tid != m->proc.pid)
		return refuse(v, -EINVAL, "the image's first thread is tid %d, not the process's "
			      "pid %d", m->threads[0].tid, m->proc.pid);
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
static int refuse_pid_taken(struct vctx *v, pid_t pid)
{
	struct ps_stat st;
	char path[48], *text;
	size_t len;
	pid_t tgid;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (ps_read_file(path, &text, &len) < 0)
		return refuse(v, -EBUSY, "pid %d is in use", pid);
	rc = ps_parse_stat(text, &st);
	free(text);
	if (rc < 0)
		return refuse(v, -EBUSY, "pid %d is in use", pid);
	tgid = read_tgid(pid);
	if (tgid != pid)
		return refuse(v, -EBUSY, "pid %d is taken by a thread of process %d (%s)",
			      pid, tgid, st.comm);
	if (st.state == 'Z')
		return refuse(v, -EBUSY, "pid %d is taken by process %s (state Z: a zombie that its "
			      "parent, pid %d, has not reaped)", pid, st.comm, st.ppid);
	if (strcmp(st.comm, v->m->proc.comm) == 0)
		return refuse(v, -EBUSY, "pid %d is in use: the original process is still running? "
			      "(%s, state %c)", pid, st.comm, st.state);
	return refuse(v, -EBUSY, "pid %d is taken by process %s (state %c)", pid, st.comm,
		      st.state);
}

/* Every other thread gets its old tid back with clone3's set_tid too. */
static int check_thread_ids(struct vctx *v, long max)
{
	for (size_t i = 1; i < v->m->nthreads; i++) {
		pid_t tid = v->m->threads[i].tid;

		if (tid <= 1 || tid >= max)
			return refuse(v, -EINVAL, "thread %d cannot be restored: its id is not "
				      "between 2 and pid_max (%ld)", tid, max);
		if (pid_in_use(tid))
			return refuse_pid_taken(v, tid);
	}
	return 0;
}

static int check_pid(struct vctx *v)
{
	pid_t pid = v->m->proc.pid;
	long max = read_pid_max();

	if (pid <= 1)
		return refuse(v, -EINVAL, "pid %d cannot be restored: pid 1 is init", pid);
	/* clone3's set_tid takes only pids below pid_max. */
	if (pid >= max)
		return refuse(v, -EINVAL, "pid %d is not below this machine's pid_max (%ld): "
			      "raise kernel.pid_max to restore it", pid, max);
	if (pid_in_use(pid))
		return refuse_pid_taken(v, pid);
	if (pid_is_group(pid))
		return refuse(v, -EBUSY, "pid %d is in use as the process group of running "
			      "processes (their leader has exited)", pid);
	return check_thread_ids(v, max);
}

/* ---- process state restore cannot recreate yet ---- */

static int check_pending_list(struct vctx *v, const struct ps_siginfo *q, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (q[i].signo == SIGKILL)
			return refuse(v, -EINVAL, "a SIGKILL is pending: the process was being "
				      "killed at the checkpoint");
		/* Queued in the stub, a stop would take effect in the middle
		 * of the restore, which drives the stub by ptrace. */
		if (q[i].signo == SIGSTOP)
			return refuse(v, -ENOTSUP, "a SIGSTOP is pending: restoring a pending stop "
				      "is not supported yet");
	}
	return 0;
}

static int has_thread(const struct ps_model *m, pid_t tid)
{
	for (size_t i = 0; i < m->nthreads; i++)
		if (m->threads[i].tid == tid)
			return 1;
	return 0;
}

/* A timer that signals one thread must name a thread of the image. */
static int check_timers(struct vctx *v)
{
	const struct ps_process *p = &v->m->proc;

	for (size_t i = 0; i < p->ntimers; i++) {
		const struct ps_posix_timer *t = &p->timers[i];

		if ((t->notify & SIGEV_THREAD_ID) && !has_thread(v->m, t->notify_tid))
			return refuse(v, -EINVAL, "POSIX timer %d signals thread %d, which is not in "
				      "the image", t->id, t->notify_tid);
		if (i && t->id <= p->timers[i - 1].id)
			return refuse(v, -EINVAL, "POSIX timer %d is listed twice or out of order",
				      t->id);
	}
	return 0;
}

static int check_process_state(struct vctx *v)
{
	const struct ps_model *m = v->m;
	int rc;

	if (m->proc.creds.seccomp == 2)
		return refuse(v, -ENOTSUP, "seccomp filters cannot be restored");
	if (m->proc.creds.seccomp != 0)
		return refuse(v, -ENOTSUP, "seccomp strict mode cannot be restored");
	rc = check_timers(v);
	if (!rc)
		rc = check_pending_list(v, m->signals.shared_pending, m->signals.nshared_pending);
	for (size_t i = 0; !rc && i < m->nthreads; i++)
		rc = check_pending_list(v, m->threads[i].pending, m->threads[i].npending);
	return rc;
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
static int check_caps(struct vctx *v)
{
	const struct ps_creds *cr = &v->m->proc.creds;
	uint64_t own = 0, extra;
	int rc;

	if (cr->cap_eff & ~cr->cap_prm)
		return refuse(v, -EINVAL, "the image's effective capabilities %#llx are not all "
			      "permitted (%#llx)", ull(cr->cap_eff), ull(cr->cap_prm));
	if (cr->cap_amb & ~(cr->cap_prm & cr->cap_inh))
		return refuse(v, -EINVAL, "the image's ambient capabilities %#llx are not all both "
			      "permitted and inheritable", ull(cr->cap_amb));
	rc = own_permitted_caps(&own);
	if (rc < 0)
		return refuse(v, rc, "capget: %s", strerror(-rc));
	extra = (cr->cap_prm | cr->cap_inh) & ~own;
	if (extra)
		return refuse(v, -EPERM, "the image has capabilities %#llx that procsnap itself "
			      "does not hold here (first: capability %d)", ull(extra),
			      __builtin_ctzll(extra));
	return 0;
}

/* ---- the caller's authority (DESIGN §5) ---- */

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

static int check_caller_groups(struct vctx *v)
{
	const struct ps_creds *cr = &v->m->proc.creds;
	gid_t *mine;
	int n, rc = 0;

	if (caller_groups(v->uid, v->gid, &mine, &n) < 0)
		return refuse(v, -ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < cr->ngroups; i++) {
		int member = 0;

		for (int j = 0; j < n && !member; j++)
			member = mine[j] == cr->groups[i];
		if (!member)
			rc = refuse(v, -EPERM, "the image has supplementary group %u; uid %u is not "
				    "a member of it", (unsigned)cr->groups[i], (unsigned)v->uid);
	}
	free(mine);
	return rc;
}

static int check_caller_ids(struct vctx *v)
{
	const struct ps_creds *cr = &v->m->proc.creds;

	for (int i = 0; i < 4; i++)
		if (cr->uid[i] != v->uid)
			return refuse(v, -EPERM, "the image runs as uid %u; you are uid %u",
				      (unsigned)cr->uid[i], (unsigned)v->uid);
	for (int i = 0; i < 4; i++)
		if (cr->gid[i] != v->gid)
			return refuse(v, -EPERM, "the image runs as gid %u; your gid is %u",
				      (unsigned)cr->gid[i], (unsigned)v->gid);
	if (cr->cap_eff | cr->cap_prm | cr->cap_inh | cr->cap_amb)
		return refuse(v, -EPERM, "the image holds capabilities (permitted %#llx, effective "
			      "%#llx, inheritable %#llx, ambient %#llx); only root may restore it",
			      ull(cr->cap_prm), ull(cr->cap_eff), ull(cr->cap_inh), ull(cr->cap_amb));
	/* A chroot with a setuid binary and a forged /etc is a way to root. */
	if (strcmp(v->m->proc.root.data, "/") != 0)
		return refuse(v, -EPERM, "the image is chrooted to %s; only root may restore a "
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
static int run_probes(struct vctx *v, const struct ps_probes *ps)
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
static int check_proc_links(struct vctx *v, const struct ps_probes *ps)
{
	char link[64];

	for (size_t i = 0; i < ps->n; i++) {
		const struct probe *p = &ps->p[i];

		if (ps_proc_link_in(p->path, link, sizeof(link)))
			return refuse(v, -EPERM, "%s: %s goes through %s into a process's files: only "
				      "root may restore such a path", p->who, p->path, link);
	}
	return 0;
}

static int check_caller_paths(struct vctx *v)
{
	struct ps_probes ps = { NULL, 0, 0 };
	int rc = list_probes(v->m, &ps);

	rc = rc ? refuse(v, -ENOMEM, "out of memory") : check_proc_links(v, &ps);
	free_probes(&ps);
	return rc;
}

static int check_caller(struct vctx *v)
{
	int rc;

	if (v->uid == 0)
		return 0;
	rc = check_caller_ids(v);
	return rc ? rc : check_caller_paths(v);
}

/* ---- memory ---- */

/* Content files hold the whole range, holes included. */
static int check_content(struct vctx *v, const struct ps_mapping *map)
{
	uint64_t len = map->end - map->start;
	const struct ps_image_file *f = ps_image_file_find(&v->m->meta, map->content);
	char path[PS_PATH_MAX + PS_MEMORY_NAME_MAX];
	struct stat st;

	if (!f)
		return refuse(v, -EINVAL, "image.json does not list %s", map->content);
	if (f->size != len)
		return refuse(v, -EINVAL, "image.json says %s is %llu bytes, but its mapping "
			      "%llx-%llx is %llu bytes", map->content, ull(f->size),
			      ull(map->start), ull(map->end), ull(len));
	snprintf(path, sizeof(path), "%s/%s", v->dir, map->content);
	if (lstat(path, &st) < 0)
		return refuse(v, -errno, "%s: %s", map->content, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return refuse(v, -EINVAL, "%s is not a regular file", map->content);
	if ((uint64_t)st.st_size != len)
		return refuse(v, -EINVAL, "%s is %llu bytes, but its mapping %llx-%llx is %llu bytes",
			      map->content, ull(st.st_size), ull(map->start), ull(map->end),
			      ull(len));
	return 0;
}

static void format_time(char *buf, size_t len, int64_t sec, long nsec)
{
	time_t t = (time_t)sec;
	struct tm tm;
	char day[32] = "?";

	if (gmtime_r(&t, &tm))
		strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09ldZ", day, nsec);
}

/* The build-id of the file at path now, "" if it has none. */
static int current_build_id(const char *path, char *out, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	int rc;

	out[0] = '\0';
	if (fd < 0)
		return -errno;
	rc = ps_elf_build_id(fd, out, len);
	close(fd);
	if (rc == -ENOENT || rc == -ERANGE) {   /* none, or longer than any saved one */
		out[0] = '\0';
		return 0;
	}
	return rc;
}

/* The same file as at the checkpoint: clean pages are read back from it. */
static int check_mapped_file(struct vctx *v, const struct ps_mapping *map)
{
	const struct ps_file_id *id = &map->file;
	const char *path = map->path.data;
	char now_id[sizeof(id->build_id)], then_t[64], now_t[64];
	struct stat st;
	int rc;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return refuse(v, -ENOENT, "%s is missing", path);
		return refuse(v, -errno, "%s: %s", path, strerror(errno));
	}
	if (id->build_id[0]) {
		if (!S_ISREG(st.st_mode))
			return refuse(v, -ESTALE, "%s changed since the checkpoint (it is no longer "
				      "a regular file)", path);
		rc = current_build_id(path, now_id, sizeof(now_id));
		if (rc < 0)
			return refuse(v, rc, "%s: cannot read its build-id: %s", path, strerror(-rc));
		if (strcmp(now_id, id->build_id) != 0)
			return refuse(v, -ESTALE, "%s changed since the checkpoint (build-id differs)",
				      path);
	}
	if ((uint64_t)st.st_size != id->size)
		return refuse(v, -ESTALE, "%s changed since the checkpoint (size %llu -> %llu)",
			      path, ull(id->size), ull(st.st_size));
	if (st.st_mtim.tv_sec != id->mtime_sec || st.st_mtim.tv_nsec != id->mtime_nsec) {
		format_time(then_t, sizeof(then_t), id->mtime_sec, id->mtime_nsec);
		format_time(now_t, sizeof(now_t), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		return refuse(v, -ESTALE, "%s changed since the checkpoint (modified %s -> %s)",
			      path, then_t, now_t);
	}
	return 0;
}

/* A file mapped several times in a row (a library's segments) is checked once. */
static int same_file(const struct ps_mapping *a, const struct ps_mapping *b)
{
	return a && a->kind == PS_MAP_FILE && !a->deleted &&
	       strcmp(a->path.data, b->path.data) == 0 &&
	       memcmp(&a->file, &b->file, sizeof(a->file)) == 0;
}

/* A mapping of a file that is gone: a shared one carries its bytes; a
 * private one has only its own changed pages, the rest must come from the
 * file's content, saved with a descriptor the process still holds. */
static int check_gone_file(struct vctx *v, const struct ps_mapping *map)
{
	if (map->shared || ps_fd_of_file(&v->m->fds, map->file.dev_major, map->file.dev_minor,
					 map->file.ino))
		return 0;
	return refuse(v, -ENOTSUP, "mapping %llx-%llx of the deleted file %s: its unchanged pages "
		      "were not saved (no descriptor of the process holds the file)",
		      ull(map->start), ull(map->end), map->path.data);
}

static int check_mapping(struct vctx *v, const struct ps_mapping *map)
{
	int rc = map->content ? check_content(v, map) : 0;

	if (rc)
		return rc;
	switch (map->kind) {
	case PS_MAP_FILE:
		return map->deleted ? check_gone_file(v, map) : 0;
	case PS_MAP_OTHER:
		return refuse(v, -ENOTSUP, "mapping %llx-%llx (%s): the kernel makes these itself; "
			      "they cannot be restored", ull(map->start), ull(map->end),
			      map->path.data);
	default:
		return 0;
	}
}

static int check_memory(struct vctx *v)
{
	const struct ps_maps *maps = &v->m->maps;
	int rc = 0;

	for (size_t i = 0; !rc && i < maps->count; i++)
		rc = check_mapping(v, &maps->items[i]);
	return rc;
}

/* Mapped files are the very files of the checkpoint: their clean pages are
 * read back from them. */
static int check_mapped_files(struct vctx *v)
{
	const struct ps_maps *maps = &v->m->maps;
	int rc = 0;

	for (size_t i = 0; !rc && i < maps->count; i++) {
		const struct ps_mapping *map = &maps->items[i];

		if (map->kind == PS_MAP_FILE && !map->deleted &&
		    !same_file(i ? &maps->items[i - 1] : NULL, map))
			rc = check_mapped_file(v, map);
	}
	return rc;
}

static int check_exe(struct vctx *v)
{
	if (!v->m->proc.exe.len)
		return refuse(v, -ENOTSUP, "the image names no executable: restoring a process "
			      "without one is not supported");
	return 0;
}

/* The exe link is set from this path (the file itself is checked as one of
 * the mappings). For a caller other than root it must not be a set-id
 * program: the link would say the process runs one it never ran. */
static int check_exe_file(struct vctx *v)
{
	const char *exe = v->m->proc.exe.data;
	struct stat st;

	if (stat(exe, &st) < 0)
		return errno == ENOENT ? refuse(v, -ENOENT, "the executable %s is missing", exe)
				       : refuse(v, -errno, "the executable %s: %s", exe,
						strerror(errno));
	if (!S_ISREG(st.st_mode))
		return refuse(v, -EINVAL, "the executable %s is not a regular file", exe);
	if (v->uid && (st.st_mode & (S_ISUID | S_ISGID)))
		return refuse(v, -EPERM, "the executable %s is set-user-ID or set-group-ID: only "
			      "root may restore a process with such an executable", exe);
	return 0;
}

/* ---- the vDSO ----
 * arch_prctl(ARCH_MAP_VDSO_64) maps this kernel's vDSO, with its [vvar*]
 * data pages at fixed offsets from it, where the image had them: the
 * program holds pointers into that code, so the image's must be the same
 * size and in the same places. */

#define MAX_KERNEL_SPECIALS 8

struct special {
	char name[32];
	uint64_t start, end;
};

static char *next_line(char *line)
{
	char *nl = strchr(line, '\n');

	return nl ? nl + 1 : line + strlen(line);
}

/* This kernel's [vdso] (first) and [vvar*] mappings, from procsnap's own maps. */
static int kernel_vdso_layout(struct special *out, size_t *n)
{
	struct ps_maps_line *ml = malloc(sizeof(*ml));
	char *text, *line;
	size_t len, k = 1;
	int rc = ml ? ps_read_file("/proc/self/maps", &text, &len) : -ENOMEM;

	if (rc < 0) {
		free(ml);
		return rc;
	}
	memset(&out[0], 0, sizeof(out[0]));
	for (line = text; *line; line = next_line(line)) {
		struct special *s;

		if (ps_parse_maps_line(line, ml) < 0)
			continue;
		if (strcmp(ml->path, "[vdso]") == 0)
			s = &out[0];
		else if (strncmp(ml->path, "[vvar", 5) == 0 && k < MAX_KERNEL_SPECIALS)
			s = &out[k++];
		else
			continue;
		snprintf(s->name, sizeof(s->name), "%.31s", ml->path);
		s->start = ml->start;
		s->end = ml->end;
	}
	free(text);
	free(ml);
	*n = k;
	return 0;
}

static const struct ps_mapping *find_mapping_named(const struct ps_maps *maps,
						   enum ps_map_kind kind, const char *name,
						   size_t *count)
{
	const struct ps_mapping *found = NULL;

	*count = 0;
	for (size_t i = 0; i < maps->count; i++) {
		const struct ps_mapping *map = &maps->items[i];

		if (map->kind == kind && (!name || strcmp(map->path.data, name) == 0)) {
			found = found ? found : map;
			(*count)++;
		}
	}
	return found;
}

/* "-0x7000", "+0x2000" */
static const char *offset_text(char buf[24], int64_t off)
{
	uint64_t mag = off < 0 ? -(uint64_t)off : (uint64_t)off;

	snprintf(buf, 24, "%c0x%llx", off < 0 ? '-' : '+', ull(mag));
	return buf;
}

static int check_vvar(struct vctx *v, const struct special *k, const struct special *kvdso,
		      const struct ps_mapping *vdso)
{
	size_t n;
	const struct ps_mapping *map = find_mapping_named(&v->m->maps, PS_MAP_VVAR, k->name, &n);
	int64_t off_image, off_here;
	char at_image[24], at_here[24];

	if (!map)
		return refuse(v, -EINVAL, "the image has no %s mapping, which this kernel maps "
			      "next to the vDSO: it was taken with another vDSO layout", k->name);
	if (n > 1)
		return refuse(v, -EINVAL, "the image has %zu %s mappings; a process has one", n,
			      k->name);
	if (map->end - map->start != k->end - k->start)
		return refuse(v, -EINVAL, "the image's %s is %llu bytes, this kernel's %llu: the "
			      "vDSO's data pages differ", k->name, ull(map->end - map->start),
			      ull(k->end - k->start));
	off_image = (int64_t)(map->start - vdso->start);
	off_here = (int64_t)(k->start - kvdso->start);
	if (off_image != off_here)
		return refuse(v, -EINVAL, "the image's %s is at [vdso]%s, this kernel maps it at "
			      "[vdso]%s: the vDSO cannot be put back with its data pages", k->name,
			      offset_text(at_image, off_image), offset_text(at_here, off_here));
	return 0;
}

static int check_vdso(struct vctx *v)
{
	struct special k[MAX_KERNEL_SPECIALS];
	size_t nk, n, nvvar;
	const struct ps_mapping *vdso = find_mapping_named(&v->m->maps, PS_MAP_VDSO, NULL, &n);
	int rc;

	find_mapping_named(&v->m->maps, PS_MAP_VVAR, NULL, &nvvar);
	if (n == 0 && nvvar == 0)
		return 0;       /* it ran without a vDSO (vdso=0), and will again */
	if (n != 1)
		return refuse(v, -EINVAL, "the image has %zu [vdso] mappings; a process has "
			      "exactly one", n);
	rc = kernel_vdso_layout(k, &nk);
	if (rc < 0)
		return refuse(v, rc, "/proc/self/maps: %s", strerror(-rc));
	if (!k[0].end)
		return refuse(v, -ENOTSUP, "this kernel maps no vDSO into processes (booted with "
			      "vdso=0?), but the program has one and holds pointers into it");
	if (vdso->end - vdso->start != k[0].end - k[0].start)
		return refuse(v, -EINVAL, "the image's [vdso] is %llu bytes, this kernel's %llu: "
			      "the vDSO code differs, and the program holds pointers into it",
			      ull(vdso->end - vdso->start), ull(k[0].end - k[0].start));
	for (size_t i = 1; i < nk; i++) {
		rc = check_vvar(v, &k[i], &k[0], vdso);
		if (rc)
			return rc;
	}
	if (nvvar != nk - 1)
		return refuse(v, -EINVAL, "the image has %zu [vvar*] mappings; this kernel maps "
			      "%zu next to the vDSO", nvvar, nk - 1);
	return 0;
}

/* ---- descriptors: each checked by its kind (image/fd_kinds.c) ---- */

static struct ps_fd_check fd_check_of(struct vctx *v)
{
	return (struct ps_fd_check){ v->m, v->uid, v->gid, v->err, v->errlen };
}

static int check_fds(struct vctx *v)
{
	struct ps_fd_check fc = fd_check_of(v);

	return ps_validate_fds(&fc);
}

/* Files opened by their path at restore, whose type is known. */
static int check_fd_paths(struct vctx *v)
{
	struct ps_fd_check fc = fd_check_of(v);

	return ps_validate_fd_files(&fc);
}

/* ---- the checks that look at files ---- */

static int check_files(struct vctx *v)
{
	struct ps_probes ps = { NULL, 0, 0 };
	int rc = 0;

	if (v->uid) {
		rc = list_probes(v->m, &ps) ? refuse(v, -ENOMEM, "out of memory") : run_probes(v, &ps);
		free_probes(&ps);
	}
	if (!rc)
		rc = check_exe_file(v);
	if (!rc)
		rc = check_mapped_files(v);
	return rc ? rc : check_fd_paths(v);
}

/* In the forked child: only raw syscalls for the ids (setgroups() and
 * friends in glibc would signal threads the child does not have). Leaving
 * uid 0 for good empties the capability sets, unless securebits keep them:
 * then nothing is checked. */
static int become_caller(struct vctx *v)
{
	const struct ps_creds *cr = &v->m->proc.creds;
	uint64_t caps = 0;

	if (syscall(SYS_setgroups, cr->ngroups, cr->groups) < 0 ||
	    syscall(SYS_setresgid, v->gid, v->gid, v->gid) < 0 ||
	    syscall(SYS_setresuid, v->uid, v->uid, v->uid) < 0)
		return refuse(v, -EPERM, "cannot take uid %u to check its access to the image's "
			      "files: %s", (unsigned)v->uid, strerror(errno));
	if (own_permitted_caps(&caps) < 0 || caps)
		return refuse(v, -EPERM, "uid %u kept capabilities %#llx when procsnap took it to "
			      "check its access to the image's files", (unsigned)v->uid, ull(caps));
	return 0;
}

static _Noreturn void files_child(struct vctx *v, int out)
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
static int wait_files_child(struct vctx *v, pid_t child, int in)
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
		return refuse(v, -EIO, "checking uid %u's access to the image's files failed",
			      (unsigned)v->uid);
	return rc;
}

static int check_files_as_caller(struct vctx *v)
{
	int pipefd[2], rc;
	pid_t child;

	if (v->uid == 0)
		return check_files(v);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return refuse(v, -errno, "pipe: %s", strerror(errno));
	child = fork();
	if (child == 0) {
		close(pipefd[0]);
		files_child(v, pipefd[1]);
	}
	rc = errno;
	close(pipefd[1]);
	if (child < 0)
		rc = refuse(v, -rc, "fork: %s", strerror(rc));
	else
		rc = wait_files_child(v, child, pipefd[0]);
	close(pipefd[0]);
	return rc;
}

int ps_validate_image(const struct ps_model *m, const char *dir, uid_t caller_uid,
		      gid_t caller_gid, char *err, size_t errlen)
{
	struct vctx v = { m, dir, caller_uid, caller_gid, err, errlen };
	int (*const checks[])(struct vctx *) = {
		check_machine, check_threads, check_pid, check_process_state, check_caller,
		check_caps, check_vdso, check_memory, check_exe, check_fds, check_files_as_caller,
	};

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		int rc = checks[i](&v);

		if (rc)
			return rc;
	}
	return 0;
}
