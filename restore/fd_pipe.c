/* Pipes and FIFOs in the stub, holding their unread bytes again; a pipe whose
 * other end a live process still holds is joined again instead of made anew. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "restore/as_caller.h"
#include "backend/fileio.h"
#include "restore/fd_restore.h"

static long rcall_fd(struct ps_rctx *c, const char *what, long nr, uint64_t a0, uint64_t a1,
		     uint64_t a2)
{
	return ps_rcall(c, what, nr, a0, a1, a2, 0, 0, 0);
}

/* ---- the saved bytes ---- */

/* The bytes of f's data file into wfd, a non-blocking write end of procsnap's
 * own: a pipe too small for them fails (EAGAIN) instead of hanging. */
static int refill(struct ps_rctx *c, const struct ps_fd *f, int wfd)
{
	char buf[65536];
	ssize_t n;
	int fd, rc = 0;

	fd = ps_image_open(c, f->data);
	if (fd < 0)
		return ps_rfail(c, -errno, "fd %d: cannot read %s: %s", f->fd, f->data,
				strerror(errno));
	while (rc == 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		rc = ps_write_all(wfd, buf, (size_t)n, -1);
	if (rc == 0 && n < 0)
		rc = -errno;
	close(fd);
	if (rc < 0)
		return ps_rfail(c, rc, "fd %d: putting its %s unread bytes back: %s", f->fd,
				f->type == PS_FD_FIFO ? "FIFO's" : "pipe's", strerror(-rc));
	return 0;
}

/* ---- a pipe made anew ---- */

/* The pipe's ends, moved above every saved fd so placing them can never
 * overwrite one of them. Made non-blocking: each fd gets its own mode when
 * placed. */
static int make_pipe(struct ps_rctx *c, const struct ps_fd *f, int high, long ends[2])
{
	int pair[2];
	uint64_t at = c->scratch;
	long rc = rcall_fd(c, "pipe2", SYS_pipe2, at, O_CLOEXEC | O_NONBLOCK, 0);

	if (rc < 0 || (rc = ps_rget(c, at, pair, sizeof(pair))) < 0)
		return (int)rc;
	for (int i = 0; i < 2; i++) {
		ends[i] = rcall_fd(c, "moving a new pipe end", SYS_fcntl, (uint64_t)pair[i],
				   F_DUPFD_CLOEXEC, (uint64_t)high);
		rcall_fd(c, "close", SYS_close, (uint64_t)pair[i], 0, 0);
		if (ends[i] < 0)
			return (int)ends[i];
	}
	if (f->u.pipe_size) {
		rc = rcall_fd(c, "fcntl(F_SETPIPE_SZ)", SYS_fcntl, (uint64_t)ends[1], F_SETPIPE_SZ,
			      f->u.pipe_size);
		if (rc < 0)
			return (int)rc;
	}
	return 0;
}

static int refill_new_pipe(struct ps_rctx *c, const struct ps_fd *f, long wend)
{
	int local, rc;

	if (!f->data)
		return 0;
	local = ps_rgrab(c, wend);
	if (local < 0)
		return local;
	rc = refill(c, f, local);
	close(local);
	return rc;
}

/* fd f->fd becomes end (a dup of it, unless it is already there), with its close-on-exec flag and its
 * O_NONBLOCK (a status flag, shared by every fd of that end). */
static int place(struct ps_rctx *c, const struct ps_fd *f, long end)
{
	long rc = end == f->fd
		? rcall_fd(c, "fcntl(F_SETFD) of a pipe end", SYS_fcntl, (uint64_t)end, F_SETFD,
			   f->cloexec ? FD_CLOEXEC : 0)
		: rcall_fd(c, "dup3 of a pipe end", SYS_dup3, (uint64_t)end, (uint64_t)f->fd,
			   f->cloexec ? O_CLOEXEC : 0);

	if (rc >= 0)
		rc = rcall_fd(c, "fcntl(F_SETFL) of a pipe end", SYS_fcntl, (uint64_t)f->fd,
			      F_SETFL, (uint64_t)(f->flags & O_NONBLOCK));
	return rc < 0 ? (int)rc : 0;
}

/* Every fd of the pipe gets its end. */
static int place_pipe_ends(struct ps_rctx *c, const struct ps_fds *fds, uint64_t ino,
			   const long ends[2])
{
	for (size_t i = 0; i < fds->count; i++) {
		const struct ps_fd *f = &fds->items[i];
		int rc;

		if (f->type != PS_FD_PIPE || f->ino != ino)
			continue;
		rc = place(c, f, (f->flags & O_ACCMODE) == O_RDONLY ? ends[0] : ends[1]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A pipe with none of its ends outside the process any more: both ends are
 * made, the process's ones placed, the other closed (a lone reader then
 * reads the saved bytes, then end of file; a lone writer gets EPIPE). */
static int make_and_place(struct ps_rctx *c, const struct ps_fd *f)
{
	const struct ps_fds *fds = &c->m->fds;
	int high = fds->items[fds->count - 1].fd + 1;
	long ends[2] = { -1, -1 };
	int rc = make_pipe(c, f, high, ends);

	if (!rc)
		rc = refill_new_pipe(c, f, ends[1]);
	if (!rc)
		rc = place_pipe_ends(c, fds, f->ino, ends);
	for (int i = 0; i < 2; i++)
		if (ends[i] >= 0)
			rcall_fd(c, "close", SYS_close, (uint64_t)ends[i], 0, 0);
	return rc;
}

/* ---- a pipe still held by a live process ---- */

struct holder {
	pid_t pid;
	int fd;
};

static int holds_pipe(int pid_dir, const char *fd_name, const char *want)
{
	char link[64];
	ssize_t n = readlinkat(pid_dir, fd_name, link, sizeof(link) - 1);

	if (n <= 0)
		return 0;
	link[n] = '\0';
	return strcmp(link, want) == 0;
}

/* The first fd of process pid that is pipe ino, or -1. */
static int pipe_fd_of(const char *pid, const char *want)
{
	char path[300];
	struct dirent *de;
	int fd = -1;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while (fd < 0 && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && holds_pipe(dirfd(d), de->d_name, want))
			fd = atoi(de->d_name);
	closedir(d);
	return fd;
}

/* /proc/<pid> belongs to the process's owner while it is dumpable, which
 * is what opening one of its fds asks of a caller other than root. */
static int may_be_joined(const struct ps_rctx *c, int proc, const char *pid)
{
	struct stat st;

	return c->uid == 0 || (fstatat(proc, pid, &st, 0) == 0 && st.st_uid == c->uid);
}

/* A process (not the stub) that still has pipe ino open: the other end of a
 * shell pipeline, say. Unread bytes are then still in the pipe. For a
 * caller other than root only the caller's own processes count: another's
 * could not be joined (and must not tell that it holds the pipe). */
static int find_holder(struct ps_rctx *c, uint64_t ino, struct holder *h)
{
	char want[48];
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d)
		return 0;
	snprintf(want, sizeof(want), "pipe:[%llu]", (unsigned long long)ino);
	h->fd = -1;
	while (h->fd < 0 && (de = readdir(d)) != NULL) {
		pid_t pid = (pid_t)atoi(de->d_name);

		if (pid <= 0 || pid == c->pid || !may_be_joined(c, dirfd(d), de->d_name))
			continue;
		h->fd = pipe_fd_of(de->d_name, want);
		h->pid = pid;
	}
	closedir(d);
	return h->fd >= 0;
}

/*
 * Opening /proc/<pid>/fd/<n> of a pipe opens that same pipe, like a FIFO, as
 * a new end of the access mode asked for; the kernel lets a caller do so
 * only with a process it may trace (PTRACE_MODE_READ_FSCREDS). O_NONBLOCK
 * so that a write end with no reader left fails with ENXIO instead of
 * waiting for one.
 */
static long open_end_of(struct ps_rctx *c, const struct ps_fd *f, const struct holder *h)
{
	char link[64], who[32], deed[128];
	uint64_t at;

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)h->pid, h->fd);
	at = ps_rput(c, 0, link, strlen(link) + 1);
	if (!at)
		return -EIO;
	snprintf(who, sizeof(who), "fd %d", f->fd);
	snprintf(deed, sizeof(deed), "join the pipe process %d still holds (%s)", (int)h->pid, link);
	return ps_caller_call(c, who, deed, SYS_openat, (uint64_t)(int64_t)AT_FDCWD, at,
			      (uint64_t)((f->flags & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC), 0, 0, 0);
}

/* Every fd of the pipe becomes an end of the live pipe. Returns 1 when the
 * pipe cannot be joined (no reader left for a writer; a holder the caller
 * may not reach after all): make it anew. */
static int join_pipe(struct ps_rctx *c, const struct ps_fd *first, const struct holder *h)
{
	const struct ps_fds *fds = &c->m->fds;

	for (size_t i = 0; i < fds->count; i++) {
		const struct ps_fd *f = &fds->items[i];
		long end;
		int rc;

		if (f->type != PS_FD_PIPE || f->ino != first->ino)
			continue;
		end = open_end_of(c, f, h);
		if ((end == -ENXIO || end == -EACCES || end == -EPERM) && f == first)
			return 1;
		if (end < 0)
			return (int)end;
		rc = place(c, f, end);
		if (end != f->fd)
			rcall_fd(c, "close", SYS_close, (uint64_t)end, 0, 0);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int has_both_ends(const struct ps_fds *fds, uint64_t ino)
{
	int seen = 0;

	for (size_t i = 0; i < fds->count; i++)
		if (fds->items[i].type == PS_FD_PIPE && fds->items[i].ino == ino)
			seen |= (fds->items[i].flags & O_ACCMODE) == O_RDONLY ? 1 : 2;
	return seen == 3;
}

/* A pipe is made (or joined) once, at its lowest fd, and all its fds placed
 * then. */
static int restore_pipe(struct ps_rctx *c, const struct ps_fd *f)
{
	const struct ps_fds *fds = &c->m->fds;
	struct holder h;
	int rc;

	for (const struct ps_fd *g = fds->items; g < f; g++)
		if (g->type == PS_FD_PIPE && g->ino == f->ino)
			return 0;
	if (!has_both_ends(fds, f->ino) && find_holder(c, f->ino, &h)) {
		rc = join_pipe(c, f, &h);
		if (rc <= 0)
			return rc;
	}
	return make_and_place(c, f);
}

/* ---- FIFOs ---- */

/*
 * A FIFO's buffer lives while anyone has it open: if another process kept it
 * open, the bytes are still there; if not, they went with the process and
 * are written back. The stub opens it again through its own fd, O_RDWR,
 * which never blocks on a FIFO, and as the caller: putting bytes into a
 * FIFO takes the right to write to it. While the stub has it open the
 * buffer stays; procsnap writes through a dup.
 */
static int refill_fifo_through(struct ps_rctx *c, const struct ps_fd *f, long rw)
{
	int fd = ps_rgrab(c, rw), queued = 0, rc = 0;
	char what[64];

	if (fd < 0)
		return fd;
	if (ioctl(fd, FIONREAD, &queued) == 0 && queued == 0) {
		snprintf(what, sizeof(what), "fd %d: F_SETPIPE_SZ %u on the FIFO", f->fd, f->u.pipe_size);
		if (f->u.pipe_size)
			rc = (int)rcall_fd(c, what, SYS_fcntl, (uint64_t)rw, F_SETPIPE_SZ, f->u.pipe_size);
		if (rc >= 0)
			rc = refill(c, f, fd);
	}
	close(fd);
	return rc < 0 ? rc : 0;
}

static int refill_fifo(struct ps_rctx *c, const struct ps_fd *f)
{
	char link[64], who[32], deed[PS_PATH_MAX + 64];
	uint64_t at;
	long rw;
	int rc;

	if (!f->data)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", f->fd);
	at = ps_rput(c, 0, link, strlen(link) + 1);
	if (!at)
		return -EIO;
	snprintf(who, sizeof(who), "fd %d", f->fd);
	snprintf(deed, sizeof(deed), "open the FIFO %s for writing its unread bytes back",
		 f->path.data);
	rw = ps_caller_call(c, who, deed, SYS_openat, (uint64_t)(int64_t)AT_FDCWD, at,
			    O_RDWR | O_NONBLOCK | O_CLOEXEC, 0, 0, 0);
	if (rw < 0)
		return (int)rw;
	rc = refill_fifo_through(c, f, rw);
	rcall_fd(c, "close", SYS_close, (uint64_t)rw, 0, 0);
	return rc;
}

/* Opened again by its path, then given back its bytes. */
static int restore_fifo(struct ps_rctx *c, const struct ps_fd *f)
{
	struct stat st;
	long nfd = ps_fd_reopen(c, f, &st);
	int rc;

	if (nfd < 0)
		return (int)nfd;
	rc = ps_fd_place_reopened(c, f, nfd);
	return rc ? rc : refill_fifo(c, f);
}

int ps_restore_fd_pipe(struct ps_rctx *c, const struct ps_fd *f)
{
	return f->type == PS_FD_PIPE ? restore_pipe(c, f) : restore_fifo(c, f);
}

/* ---- checks ---- */

/* A pipe end is read-only or write-only; the other end may be in the
 * process, in another one (restore joins it again) or closed. A FIFO is
 * opened again by its path. */
int ps_validate_fd_pipe(const struct ps_check *v, const struct ps_fd *f)
{
	int mine = f->flags & O_ACCMODE;

	if (f->type != PS_FD_PIPE)
		return ps_fd_check_absolute(v, f);
	if (mine != O_RDONLY && mine != O_WRONLY)
		return ps_refuse(v, -EINVAL, "fd %d: a pipe end open for both reading and "
				    "writing", f->fd);
	return 0;
}

/* A FIFO is opened again, and to write its bytes back, opened read-write. */
int ps_probe_fd_pipe(struct ps_probes *ps, const struct ps_fd *f)
{
	char who[32];
	int rc;

	if (f->type != PS_FD_FIFO)
		return 0;
	rc = ps_fd_probe_reopen(ps, f);
	if (rc || !f->data)
		return rc;
	snprintf(who, sizeof(who), "fd %d", f->fd);
	return ps_probe_add(ps, who, f->path.data, R_OK | W_OK, 0,
			    "open the FIFO %s for writing its unread bytes back", f->path.data);
}

int ps_check_fd_fifo_path(const struct ps_check *v, const struct ps_fd *f)
{
	if (f->type != PS_FD_FIFO)
		return 0;
	return ps_fd_check_path(v, f, S_IFIFO);
}
