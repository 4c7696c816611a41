/* The mounted tree: which path is what, who may snapshot which pid, and the
 * FUSE operations on /, /self, /.errors and /<pid>/; /restore is passed through. */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fuse.h>

#include "fs/errors.h"
#include "fs/holds.h"
#include "fs/spool_ops.h"
#include "fs/tree.h"
#include "backend/proclist.h"
#include "backend/snapshot.h"

/* cp and tar read in st_blksize chunks: make them ask for 1 MiB. */
#define PS_BLKSIZE (1 << 20)

enum node {
	N_NONE,
	N_ROOT,       /* / */
	N_SELF,       /* /self */
	N_ERRORS,     /* /.errors: why the caller's accesses were refused */
	N_ERROR_FILE, /* /.errors/<pid> */
	N_RESTORE,    /* /restore and below; rel is the path below it */
	N_PID_DIR,    /* /<pid>: stat-able without a snapshot */
	N_PID_ENTRY,  /* /<pid>/<rel>: served from the snapshot */
};

struct where {
	enum node node;
	pid_t pid;
	const char *rel;
};

enum handle_kind {
	H_ROOT = 1,
	H_PID,        /* a file or directory of a snapshot */
	H_RESTORE,
	H_ERRORS,     /* /.errors */
	H_ERROR_FILE, /* /.errors/<pid>: its text as it was at open */
};

struct handle {
	struct handle *prev, *next;      /* among the open handles */
	enum handle_kind kind;
	struct ps_hold *hold;            /* H_PID: one use of the hold */
	int idx;                         /* H_PID: file index, -1 for /<pid> */
	struct ps_spool_handle *rh;    /* H_RESTORE */
	char *text;                      /* H_ERROR_FILE */
	size_t len;
	struct timespec when;            /* H_ERROR_FILE: when it was noted */
};

static struct {
	int allow_other;
	struct timespec mounted;
	pthread_mutex_t lock;            /* handles */
	struct handle *handles;          /* open ones, to free at unmount */
} T = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

void ps_tree_setup(int allow_other)
{
	T.allow_other = allow_other;
	clock_gettime(CLOCK_REALTIME, &T.mounted);
}

/* ---- paths ---- */

/* A pid directory name is canonical decimal: "0042" is not pid 42. */
static int parse_pid(const char *s, size_t len, pid_t *out)
{
	long v = 0;
	size_t i;

	if (len == 0 || len > 9 || s[0] == '0')
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*out = (pid_t)v;
	return 1;
}

static struct where classify(const char *path)
{
	struct where w = { N_NONE, 0, "" };
	const char *name, *slash;
	size_t len;

	if (!path || path[0] != '/')
		return w;
	name = path + 1;
	if (!*name) {
		w.node = N_ROOT;
		return w;
	}
	slash = strchr(name, '/');
	len = slash ? (size_t)(slash - name) : strlen(name);
	w.rel = slash ? slash + 1 : "";
	if (len == 7 && !strncmp(name, "restore", 7))
		w.node = N_RESTORE;
	else if (len == 4 && !strncmp(name, "self", 4))
		w.node = slash ? N_NONE : N_SELF;
	else if (len == 7 && !strncmp(name, ".errors", 7) && !slash)
		w.node = N_ERRORS;
	else if (len == 7 && !strncmp(name, ".errors", 7))
		w.node = parse_pid(w.rel, strlen(w.rel), &w.pid) ? N_ERROR_FILE : N_NONE;
	else if (parse_pid(name, len, &w.pid))
		w.node = !slash ? N_PID_DIR : *w.rel ? N_PID_ENTRY : N_NONE;
	return w;
}

/* ---- who may see what ---- */

static pid_t caller_tgid(void)
{
	struct fuse_context *c = fuse_get_context();

	return c->pid > 0 ? ps_proclist_tgid(c->pid) : -1;
}

/* Whether the caller is a thread of process pid: /proc/<pid>/task/<tid>
 * exists only for the threads of pid's thread group, and looking it up is
 * far cheaper than reading the caller's status for its Tgid. */
static int caller_is_thread_of(pid_t pid)
{
	struct fuse_context *c = fuse_get_context();
	char path[64];

	if (c->pid <= 0)
		return 0;
	if (c->pid == pid)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)pid, (int)c->pid);
	return faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) == 0;
}

/* The /proc/<pid>/mem rule, for other users when they are let in at all:
 * 0, or -EPERM (ptrace's word for it) with the reason in why. */
static int caller_may_trace(pid_t pid, char *why, size_t whylen)
{
	struct fuse_context *c = fuse_get_context();
	char err[256] = "";
	int rc;

	if (!T.allow_other || c->uid == 0)
		return 0;
	rc = ps_proclist_may_trace(c->pid, c->uid, c->gid, pid, err, sizeof(err));
	if (rc == 0)
		return 0;
	snprintf(why, whylen, "uid %u may not snapshot process %d: %s", (unsigned)c->uid, (int)pid,
		 err[0] ? err : strerror(-rc));
	return rc == -EACCES ? -EPERM : rc;
}

/* A refused access: its sentence is kept for the caller (/.errors/<pid>).
 * A pid that is not there is just not there (ENOENT), as anywhere else. */
static int tell_caller(pid_t pid, int rc, const char *why)
{
	if (rc < 0 && rc != -ENOENT)
		ps_errors_note(fuse_get_context()->uid, pid, rc, why);
	return rc;
}

/* pid is shown, and the caller may snapshot it. A held snapshot's
 * process was shown when it was taken, and while it lives it stays so:
 * each request on its files then skips reading /proc/<pid>/stat and status. */
static int may_access(pid_t pid, char *why, size_t whylen)
{
	int rc;

	if (!ps_holds_has_current(pid) && !ps_proclist_is_shown(pid))
		return -ENOENT;
	rc = caller_may_trace(pid, why, whylen);
	if (rc < 0)
		fuse_log(FUSE_LOG_INFO, "procsnap: %s\n", why);
	return rc;
}

static int check_visible(pid_t pid)
{
	char why[PS_HOLD_WHY_MAX] = "";

	return tell_caller(pid, may_access(pid, why, sizeof(why)), why);
}

/* Every access below /<pid>/ comes here before touching a snapshot. */
static int hold_for(pid_t pid, struct ps_hold **out)
{
	char why[PS_HOLD_WHY_MAX] = "";
	int rc = 0;

	/* Freezing the caller's own process would stop the very thread that
	 * waits for the answer. */
	if (caller_is_thread_of(pid)) {
		rc = -EDEADLK;
		snprintf(why, sizeof(why), "process %d cannot snapshot itself: stopping it would stop "
			 "the thread that waits for the snapshot", (int)pid);
	} else {
		rc = may_access(pid, why, sizeof(why));
	}
	if (rc == 0)
		rc = ps_holds_get(pid, out, why, sizeof(why));
	/* the snapshot the caller was refused is hers now: no news any more */
	if (rc == 0)
		ps_errors_clear(fuse_get_context()->uid, pid);
	return tell_caller(pid, rc, why);
}

/* ---- attributes ---- */

static void proc_owner(pid_t pid, struct stat *st)
{
	char path[32];
	struct stat ps;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &ps) == 0) {
		st->st_uid = ps.st_uid;
		st->st_gid = ps.st_gid;
	}
}

static void dir_stat(struct stat *st, mode_t perm)
{
	st->st_mode = S_IFDIR | perm;
	/* 1, not 2: tools must not infer a subdirectory count from it */
	st->st_nlink = 1;
	st->st_blksize = PS_BLKSIZE;
}

static int root_stat(struct stat *st)
{
	memset(st, 0, sizeof(*st));
	dir_stat(st, 0555);
	st->st_atim = st->st_mtim = st->st_ctim = T.mounted;
	return 0;
}

static int self_stat(struct stat *st)
{
	char buf[16];
	pid_t tgid = caller_tgid();

	if (tgid <= 0)
		return -ENOENT;
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFLNK | 0777;
	st->st_nlink = 1;
	st->st_size = snprintf(buf, sizeof(buf), "%d", (int)tgid);
	st->st_atim = st->st_mtim = st->st_ctim = T.mounted;
	return 0;
}

static int errors_dir_stat(struct stat *st)
{
	root_stat(st);
	return 0;
}

/* /.errors/<pid>: the caller's own, readable by the caller alone. */
static void error_stat(size_t len, const struct timespec *when, struct stat *st)
{
	struct fuse_context *c = fuse_get_context();

	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0400;
	st->st_nlink = 1;
	st->st_uid = c->uid;
	st->st_gid = c->gid;
	st->st_size = (off_t)len;
	st->st_atim = st->st_mtim = st->st_ctim = *when;
}

static int error_file_stat(pid_t pid, struct stat *st)
{
	char text[PS_ERRORS_TEXT_MAX];
	struct timespec when;
	int rc = ps_errors_text(fuse_get_context()->uid, pid, text, sizeof(text), &when);

	if (rc == 0)
		error_stat(strlen(text), &when, st);
	return rc;
}

/* /<pid> itself: owner and times of /proc/<pid>, no snapshot. */
static int pid_dir_stat(pid_t pid, struct stat *st)
{
	char path[32];
	struct stat ps;
	int rc = check_visible(pid);

	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &ps) < 0)
		return -ENOENT;
	memset(st, 0, sizeof(*st));
	dir_stat(st, 0555);
	st->st_uid = ps.st_uid;
	st->st_gid = ps.st_gid;
	st->st_atim = ps.st_atim;
	st->st_mtim = ps.st_mtim;
	st->st_ctim = ps.st_ctim;
	return 0;
}

/* A file or directory of a snapshot: all stamped with the freeze time. */
static void snap_stat(struct ps_snapshot *s, int idx, struct stat *st)
{
	const struct ps_snapshot_file *f = ps_snapshot_file(s, (size_t)idx);
	struct timespec ts;

	memset(st, 0, sizeof(*st));
	ps_snapshot_time(s, &ts);
	proc_owner(ps_snapshot_pid(s), st);
	st->st_atim = st->st_mtim = st->st_ctim = ts;
	if (f->is_dir) {
		dir_stat(st, 0555);
		return;
	}
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_size = (off_t)f->size;
	st->st_blocks = (blkcnt_t)f->blocks;
	st->st_blksize = PS_BLKSIZE;
}

static int entry_stat(pid_t pid, const char *rel, struct stat *st)
{
	struct ps_hold *hold;
	struct ps_snapshot *s;
	int rc, idx;

	rc = hold_for(pid, &hold);
	if (rc < 0)
		return rc;
	s = ps_hold_snapshot(hold);
	idx = ps_snapshot_lookup(s, rel);
	if (idx >= 0)
		snap_stat(s, idx, st);
	ps_holds_put(hold);
	return idx < 0 ? idx : 0;
}

/* ---- handles ---- */

static struct handle *handle_of(const struct fuse_file_info *fi)
{
	return fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
}

/* Fill h's fields before calling: it is visible to close_all once linked. */
static void handle_link(struct fuse_file_info *fi, struct handle *h)
{
	pthread_mutex_lock(&T.lock);
	h->next = T.handles;
	if (h->next)
		h->next->prev = h;
	T.handles = h;
	pthread_mutex_unlock(&T.lock);
	fi->fh = (uint64_t)(uintptr_t)h;
}

static int handle_new(struct fuse_file_info *fi, enum handle_kind kind,
		      struct ps_hold *hold, int idx, struct ps_spool_handle *rh)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->kind = kind;
	h->hold = hold;
	h->idx = idx;
	h->rh = rh;
	handle_link(fi, h);
	return 0;
}

static void handle_unlink(struct handle *h)
{
	pthread_mutex_lock(&T.lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		T.handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&T.lock);
}

static void handle_free(struct handle *h)
{
	if (!h)
		return;
	handle_unlink(h);
	if (h->kind == H_PID)
		ps_holds_put(h->hold);
	if (h->kind == H_RESTORE)
		ps_spool_release(h->rh);
	free(h->text);
	free(h);
}

void ps_tree_close_all(void)
{
	while (T.handles)
		handle_free(T.handles);
}

/*
 * Files in restore/ are opened with direct_io. Without it the kernel copies
 * each written page into the FUSE inode's page cache first and only hands
 * those pages to the spool: a second GiB of memory for a GiB image, freshly
 * allocated, which nearly doubled the time of cp -r into restore/ (1.3-1.5 s
 * against 0.75 s for 1 GiB). status needs it anyway: it is made up on every
 * read. The price: restore/ files cannot be mmapped, which no copy tool does.
 */
static int restore_handle(struct fuse_file_info *fi, struct ps_spool_handle *rh)
{
	if (handle_new(fi, H_RESTORE, NULL, -1, rh) < 0) {
		ps_spool_release(rh);
		return -ENOMEM;
	}
	fi->direct_io = 1;
	return 0;
}

/* A handle on /<pid> (rel "") or on one snapshot entry; want_dir says
 * which of file or directory the caller needs. */
static int pid_handle(struct fuse_file_info *fi, pid_t pid, const char *rel, int want_dir)
{
	struct ps_hold *hold;
	int rc, idx = -1, is_dir = 1;

	rc = hold_for(pid, &hold);
	if (rc < 0)
		return rc;
	if (*rel) {
		idx = ps_snapshot_lookup(ps_hold_snapshot(hold), rel);
		if (idx < 0)
			rc = idx;
		else
			is_dir = !!ps_snapshot_file(ps_hold_snapshot(hold), (size_t)idx)->is_dir;
	}
	if (rc == 0 && is_dir != want_dir)
		rc = want_dir ? -ENOTDIR : -EISDIR;
	if (rc == 0)
		rc = handle_new(fi, H_PID, hold, idx, NULL);
	if (rc < 0)
		ps_holds_put(hold);
	return rc;
}

/* The caller's text for pid, taken now: it may change while the file is
 * open, as a /proc file does. Served with direct_io, since its size may
 * not be what getattr said. */
static int error_handle(struct fuse_file_info *fi, pid_t pid)
{
	char text[PS_ERRORS_TEXT_MAX];
	struct timespec when;
	struct handle *h;
	int rc;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return -EACCES;
	rc = ps_errors_text(fuse_get_context()->uid, pid, text, sizeof(text), &when);
	if (rc < 0)
		return rc;
	h = calloc(1, sizeof(*h));
	if (!h || !(h->text = strdup(text))) {
		free(h);
		return -ENOMEM;
	}
	h->kind = H_ERROR_FILE;
	h->len = strlen(text);
	h->when = when;
	h->idx = -1;
	handle_link(fi, h);
	fi->direct_io = 1;
	return 0;
}

/* ---- operations ---- */

/* Staged files report 1 MiB blocks too, so cp writes them in 1 MiB
 * requests rather than 128 KiB ones. */
static int restore_stat(const char *rel, struct ps_spool_handle *rh, struct stat *st)
{
	int rc = ps_spool_getattr(rel, rh, st);

	if (rc == 0)
		st->st_blksize = PS_BLKSIZE;
	return rc;
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	struct where w;

	if (h && h->kind == H_RESTORE)
		return restore_stat("", h->rh, st);
	if (h && h->kind == H_PID && h->idx >= 0) {
		snap_stat(ps_hold_snapshot(h->hold), h->idx, st);
		return 0;
	}
	if (h && h->kind == H_PID)
		return pid_dir_stat(ps_snapshot_pid(ps_hold_snapshot(h->hold)), st);
	if (h && h->kind == H_ERROR_FILE) {
		error_stat(h->len, &h->when, st);
		return 0;
	}
	if (h)
		return root_stat(st);
	w = classify(path);
	switch (w.node) {
	case N_ROOT:
		return root_stat(st);
	case N_SELF:
		return self_stat(st);
	case N_ERRORS:
		return errors_dir_stat(st);
	case N_ERROR_FILE:
		return error_file_stat(w.pid, st);
	case N_RESTORE:
		return restore_stat(w.rel, NULL, st);
	case N_PID_DIR:
		return pid_dir_stat(w.pid, st);
	case N_PID_ENTRY:
		return entry_stat(w.pid, w.rel, st);
	default:
		return -ENOENT;
	}
}

static int op_readlink(const char *path, char *buf, size_t size)
{
	struct where w = classify(path);
	pid_t tgid;

	if (w.node != N_SELF)
		return w.node == N_NONE ? -ENOENT : -EINVAL;
	tgid = caller_tgid();
	if (tgid <= 0)
		return -ENOENT;
	snprintf(buf, size, "%d", (int)tgid);
	return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	struct where w = classify(path);
	struct ps_spool_handle *rh;
	int rc;

	switch (w.node) {
	case N_RESTORE:
		rc = ps_spool_open(w.rel, fi->flags, &rh);
		return rc < 0 ? rc : restore_handle(fi, rh);
	case N_PID_ENTRY:
		if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
			return -EACCES;
		/* No page cache: every snapshot is new data under an old
		 * name, and it saves a copy. */
		fi->direct_io = 1;
		fi->noflush = 1;
		return pid_handle(fi, w.pid, w.rel, 0);
	case N_ERROR_FILE:
		return error_handle(fi, w.pid);
	case N_NONE:
		return -ENOENT;
	default:
		return -EISDIR;
	}
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct where w = classify(path);
	struct ps_spool_handle *rh;
	int rc;

	if (w.node != N_RESTORE)
		return -EACCES;
	rc = ps_spool_create(w.rel, mode, fi->flags, &rh);
	return rc < 0 ? rc : restore_handle(fi, rh);
}

static int op_opendir(const char *path, struct fuse_file_info *fi)
{
	struct where w = classify(path);
	struct ps_spool_handle *rh;
	int rc;

	switch (w.node) {
	case N_ROOT:
		return handle_new(fi, H_ROOT, NULL, -1, NULL);
	case N_ERRORS:
		return handle_new(fi, H_ERRORS, NULL, -1, NULL);
	case N_PID_DIR:
	case N_PID_ENTRY:
		return pid_handle(fi, w.pid, w.rel, 1);
	case N_RESTORE:
		rc = ps_spool_opendir(w.rel, &rh);
		return rc < 0 ? rc : restore_handle(fi, rh);
	case N_SELF:
	case N_ERROR_FILE:
		return -ENOTDIR;
	default:
		return -ENOENT;
	}
}

static int fill(void *buf, fuse_fill_dir_t filler, const char *name, mode_t type)
{
	struct stat st = { .st_mode = type };

	return filler(buf, name, &st, 0, 0);
}

/* Hidden from a non-root caller under allow_other: what it cannot trace. */
static int listed(pid_t pid)
{
	char why[PS_HOLD_WHY_MAX];

	return caller_may_trace(pid, why, sizeof(why)) == 0;
}

static int readdir_root(void *buf, fuse_fill_dir_t filler)
{
	pid_t *pids = NULL;
	size_t n = 0, i;
	char name[16];
	int rc = ps_proclist_read(&pids, &n);

	if (rc < 0)
		return rc;
	if (fill(buf, filler, ".", S_IFDIR) || fill(buf, filler, "..", S_IFDIR) ||
	    fill(buf, filler, "self", S_IFLNK) || fill(buf, filler, "restore", S_IFDIR) ||
	    fill(buf, filler, ".errors", S_IFDIR))
		goto out;
	for (i = 0; i < n; i++) {
		if (!listed(pids[i]))
			continue;
		snprintf(name, sizeof(name), "%d", (int)pids[i]);
		if (fill(buf, filler, name, S_IFDIR))
			break;
	}
out:
	free(pids);
	return 0;
}

/* The entry's name if it sits right inside the directory prefix ("" for
 * the image root), else NULL. */
static const char *child_name(const char *name, const char *prefix, size_t plen)
{
	if (plen) {
		if (strncmp(name, prefix, plen) || name[plen] != '/')
			return NULL;
		name += plen + 1;
	}
	return *name && !strchr(name, '/') ? name : NULL;
}

static int readdir_snapshot(struct handle *h, void *buf, fuse_fill_dir_t filler)
{
	struct ps_snapshot *s = ps_hold_snapshot(h->hold);
	const char *prefix = h->idx >= 0 ? ps_snapshot_file(s, (size_t)h->idx)->name : "";
	size_t plen = strlen(prefix), i, n = ps_snapshot_nfiles(s);
	const struct ps_snapshot_file *f;
	const char *child;

	if (fill(buf, filler, ".", S_IFDIR) || fill(buf, filler, "..", S_IFDIR))
		return 0;
	for (i = 0; i < n; i++) {
		f = ps_snapshot_file(s, i);
		child = child_name(f->name, prefix, plen);
		if (child && fill(buf, filler, child, f->is_dir ? S_IFDIR : S_IFREG))
			break;
	}
	return 0;
}

struct restore_fill {
	void *buf;
	fuse_fill_dir_t filler;
};

static int error_dirent(void *ctx, pid_t pid)
{
	struct restore_fill *rf = ctx;
	char name[16];

	snprintf(name, sizeof(name), "%d", (int)pid);
	return fill(rf->buf, rf->filler, name, S_IFREG);
}

/* Only the caller's own: nobody learns what others were refused. */
static int readdir_errors(struct restore_fill *rf)
{
	if (fill(rf->buf, rf->filler, ".", S_IFDIR) || fill(rf->buf, rf->filler, "..", S_IFDIR))
		return 0;
	ps_errors_list(fuse_get_context()->uid, error_dirent, rf);
	return 0;
}

static int restore_dirent(void *ctx, const char *name, mode_t type)
{
	struct restore_fill *rf = ctx;

	return fill(rf->buf, rf->filler, name, type);
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct handle *h = handle_of(fi);
	struct restore_fill rf = { buf, filler };

	(void)path;
	(void)off;
	(void)flags;
	if (!h)
		return -EBADF;
	switch (h->kind) {
	case H_ROOT:
		return readdir_root(buf, filler);
	case H_PID:
		return readdir_snapshot(h, buf, filler);
	case H_RESTORE:
		return ps_spool_readdir(h->rh, restore_dirent, &rf);
	case H_ERRORS:
		return readdir_errors(&rf);
	case H_ERROR_FILE:
		return -ENOTDIR;
	}
	return -EBADF;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	handle_free(handle_of(fi));
	return 0;
}

static size_t text_read(const struct handle *h, char *buf, size_t size, off_t off)
{
	size_t n;

	if (off < 0 || (size_t)off >= h->len)
		return 0;
	n = h->len - (size_t)off < size ? h->len - (size_t)off : size;
	memcpy(buf, h->text + off, n);
	return n;
}

static int op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	(void)path;
	if (h && h->kind == H_RESTORE)
		return (int)ps_spool_read(h->rh, buf, size, off);
	if (h && h->kind == H_ERROR_FILE)
		return (int)text_read(h, buf, size, off);
	if (!h || h->kind != H_PID || h->idx < 0)
		return -EISDIR;
	return (int)ps_snapshot_read(ps_hold_snapshot(h->hold), (size_t)h->idx, buf, size, off);
}

/* The bytes of a write into restore/ go to its spool file, through a
 * write-behind buffer when aligned (spool_ops.c, spool_writer.c). */
static int op_write_buf(const char *path, struct fuse_bufvec *src, off_t off,
			struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	(void)path;
	if (!h || h->kind != H_RESTORE)
		return -EBADF;
	return (int)ps_spool_write_buf(h->rh, src, off);
}

static int op_flush(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	(void)path;
	return h && h->kind == H_RESTORE ? ps_spool_flush(h->rh) : 0;
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	(void)path;
	return h && h->kind == H_RESTORE ? ps_spool_fsync(h->rh, datasync) : 0;
}

/* A text is all data, with the only hole at its end. */
static off_t text_seek(const struct handle *h, off_t off, int whence)
{
	if (off < 0 || (size_t)off >= h->len)
		return -ENXIO;
	return whence == SEEK_HOLE ? (off_t)h->len : off;
}

/* The kernel answers SEEK_SET/CUR/END itself; only SEEK_DATA and SEEK_HOLE
 * come here, so that cp and tar can skip a mapping's holes. */
static off_t op_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	const struct ps_snapshot_file *f;

	(void)path;
	if (h && h->kind == H_RESTORE)
		return ps_spool_lseek(h->rh, off, whence);
	if (h && h->kind == H_ERROR_FILE)
		return text_seek(h, off, whence);
	if (!h || h->kind != H_PID || h->idx < 0)
		return -EISDIR;
	if (whence == SEEK_DATA || whence == SEEK_HOLE)
		return ps_snapshot_seek(ps_hold_snapshot(h->hold), (size_t)h->idx, off, whence);
	f = ps_snapshot_file(ps_hold_snapshot(h->hold), (size_t)h->idx);
	if (whence == SEEK_SET)
		return off;
	if (whence == SEEK_END)
		return (off_t)f->size + off;
	return -EINVAL;
}

static int op_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	(void)path;
	if (!h || h->kind != H_RESTORE)
		return -EBADF;
	return ps_spool_fallocate(h->rh, mode, off, len);
}

/* Outside restore/ nothing can be changed. */
static int read_only(const struct where *w)
{
	return w->node == N_NONE ? -ENOENT : -EACCES;
}

static int op_mkdir(const char *path, mode_t mode)
{
	struct where w = classify(path);

	return w.node == N_RESTORE ? ps_spool_mkdir(w.rel, mode) : read_only(&w);
}

static int op_unlink(const char *path)
{
	struct where w = classify(path);

	return w.node == N_RESTORE ? ps_spool_unlink(w.rel) : read_only(&w);
}

static int op_rmdir(const char *path)
{
	struct where w = classify(path);

	return w.node == N_RESTORE ? ps_spool_rmdir(w.rel) : read_only(&w);
}

static int op_rename(const char *from, const char *to, unsigned int flags)
{
	struct where wf = classify(from), wt = classify(to);

	if (wf.node == N_RESTORE && wt.node == N_RESTORE)
		return ps_spool_rename(wf.rel, wt.rel, flags);
	/* mv from a snapshot into restore/ then copies instead */
	if (wf.node == N_PID_ENTRY && wt.node == N_RESTORE)
		return -EXDEV;
	return wf.node == N_RESTORE ? -EXDEV : read_only(&wf);
}

/* No links in restore/: an image holds only files and directories. */
static int op_symlink(const char *target, const char *path)
{
	struct where w = classify(path);

	(void)target;
	return w.node == N_RESTORE ? -EPERM : read_only(&w);
}

static int op_link(const char *from, const char *to)
{
	struct where w = classify(to);

	(void)from;
	return w.node == N_RESTORE ? -EPERM : read_only(&w);
}

static int op_mknod(const char *path, mode_t mode, dev_t dev)
{
	struct where w = classify(path);

	(void)mode;
	(void)dev;
	return w.node == N_RESTORE ? -EPERM : read_only(&w);
}

/* For the setattr family: the restore handle or path, or a refusal. */
static int setattr_target(const char *path, struct fuse_file_info *fi,
			  const char **rel, struct ps_spool_handle **rh)
{
	struct handle *h = handle_of(fi);
	struct where w;

	*rel = "";
	*rh = NULL;
	if (h && h->kind == H_RESTORE) {
		*rh = h->rh;
		return 0;
	}
	if (h)
		return -EPERM;
	w = classify(path);
	if (w.node != N_RESTORE)
		return w.node == N_NONE ? -ENOENT : -EPERM;
	*rel = w.rel;
	return 0;
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct ps_spool_handle *rh;
	const char *rel;
	int rc = setattr_target(path, fi, &rel, &rh);

	if (rc == -EPERM)
		return -EACCES;
	return rc < 0 ? rc : ps_spool_truncate(rel, rh, size);
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct ps_spool_handle *rh;
	const char *rel;
	int rc = setattr_target(path, fi, &rel, &rh);

	return rc < 0 ? rc : ps_spool_chmod(rel, rh, mode);
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	struct ps_spool_handle *rh;
	const char *rel;
	int rc = setattr_target(path, fi, &rel, &rh);

	return rc < 0 ? rc : ps_spool_chown(rel, rh, uid, gid);
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct ps_spool_handle *rh;
	const char *rel;
	int rc = setattr_target(path, fi, &rel, &rh);

	return rc < 0 ? rc : ps_spool_utimens(rel, rh, tv);
}

static int op_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	return ps_spool_statfs(st);
}

void ps_tree_operations(struct fuse_operations *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->getattr = op_getattr;
	ops->readlink = op_readlink;
	ops->mknod = op_mknod;
	ops->mkdir = op_mkdir;
	ops->unlink = op_unlink;
	ops->rmdir = op_rmdir;
	ops->symlink = op_symlink;
	ops->rename = op_rename;
	ops->link = op_link;
	ops->chmod = op_chmod;
	ops->chown = op_chown;
	ops->truncate = op_truncate;
	ops->open = op_open;
	ops->read = op_read;
	ops->write_buf = op_write_buf;
	ops->statfs = op_statfs;
	ops->flush = op_flush;
	ops->release = op_release;
	ops->fsync = op_fsync;
	ops->opendir = op_opendir;
	ops->readdir = op_readdir;
	ops->releasedir = op_release;
	ops->create = op_create;
	ops->utimens = op_utimens;
	ops->fallocate = op_fallocate;
	ops->lseek = op_lseek;
}
