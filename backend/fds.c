/* Capture of fds.json: every descriptor of a stopped process, typed from the
 * file it leads to, with flags/position/mount from fdinfo; none is dropped. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kcmp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backend/fd_capture.h"
#include "image/file_names.h"
#include "backend/proc_parse.h"
#include "image/fd_kinds.h"

static const char deleted_suffix[] = " (deleted)";
#define DELETED_LEN (sizeof(deleted_suffix) - 1)

/* ---- listing ---- */

static int compare_ints(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int fd_from_name(const char *name)
{
	long v = 0;

	if (!*name)
		return -1;
	for (; *name; name++) {
		if (*name < '0' || *name > '9' || v > 0x7fffffff / 10)
			return -1;
		v = v * 10 + (*name - '0');
	}
	return (int)v;
}

/* The numbers under /proc/<pid>/fd, sorted. dirfd stays open. */
static int list_fd_numbers(int dirfd, int **nums, size_t *count)
{
	size_t n = 0, cap = 0;
	int *v = NULL, dup_fd;
	struct dirent *de;
	DIR *d;

	dup_fd = dup(dirfd);
	if (dup_fd < 0)
		return -errno;
	d = fdopendir(dup_fd);
	if (!d) {
		int rc = -errno;

		close(dup_fd);
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		int fd = fd_from_name(de->d_name);

		if (fd < 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			int *nv = realloc(v, ncap * sizeof(*v));

			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = fd;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), compare_ints);
	*nums = v;
	*count = n;
	return 0;
}

/* ---- one descriptor ---- */

static int set_path(struct ps_fd *f, const char *path, size_t len)
{
	f->path.data = malloc(len + 1);
	if (!f->path.data)
		return -ENOMEM;
	memcpy(f->path.data, path, len);
	f->path.data[len] = '\0';
	f->path.len = len;
	return 0;
}

int ps_fd_unsupported(struct ps_fd *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	f->supported = 0;
	free(f->unsupported_reason);
	va_start(ap, fmt);
	n = vasprintf(&f->unsupported_reason, fmt, ap);
	va_end(ap);
	if (n < 0)
		f->unsupported_reason = NULL;
	return n < 0 ? -ENOMEM : 0;
}

int ps_fd_name_data(struct ps_fd *f)
{
	char name[32];

	ps_fd_data_name(name, sizeof(name), f->fd);
	free(f->data);
	f->data = strdup(name);
	return f->data ? 0 : -ENOMEM;
}

int ps_fd_capture_pidfd(struct ps_fd_capture *cx)
{
	if (cx->pidfd < 0)
		cx->pidfd = (int)syscall(SYS_pidfd_open, cx->pid, 0);
	return cx->pidfd;
}

static int has_suffix(const struct ps_bytes *b, const char *suffix, size_t slen)
{
	return b->len > slen && memcmp(b->data + b->len - slen, suffix, slen) == 0;
}

static void strip_deleted_suffix(struct ps_fd *f)
{
	f->path.len -= DELETED_LEN;
	f->path.data[f->path.len] = '\0';
	f->deleted = 1;
}

/* " (deleted)" at the end of the link means the file was unlinked, unless
 * the file's real name ends that way: then that name still leads to the very
 * same inode. (The link text is relative to procsnap's own root.) */
static int link_says_deleted(const struct ps_fd *f, const struct stat *st)
{
	struct stat now;

	if (!has_suffix(&f->path, deleted_suffix, DELETED_LEN))
		return 0;
	if (st->st_nlink == 0)
		return 1;
	if (stat(f->path.data, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino)
		return 0;
	return 1;
}

/* "anon_inode:[eventfd]" -> "eventfd", "anon_inode:inotify" -> "inotify" */
static int set_anon_kind(struct ps_fd *f)
{
	const char *name = f->path.data + strlen("anon_inode:");
	size_t n = strlen(name);
	char *bare;
	int rc;

	if (n >= 2 && name[0] == '[' && name[n - 1] == ']') {
		name++;
		n -= 2;
	}
	if (n == 0) {
		name = "anon_inode";
		n = strlen(name);
	}
	f->type = PS_FD_ANON;
	bare = strndup(name, n);
	if (!bare)
		return -ENOMEM;
	f->kind = ps_fd_kind_of_anon(bare);
	if (f->kind != PS_FD_KIND_OTHER) {
		free(bare);
		return 0;   /* its state comes from fdinfo */
	}
	rc = ps_fd_set_other(f, bare);
	if (rc == 0)
		rc = ps_fd_unsupported(f, "%s descriptors are not saved yet", bare);
	free(bare);
	return rc;
}

static int classify_regular(struct ps_fd *f, const struct stat *st)
{
	static const char memfd_prefix[] = "/memfd:";

	if (strncmp(f->path.data, memfd_prefix, sizeof(memfd_prefix) - 1) == 0 &&
	    has_suffix(&f->path, deleted_suffix, DELETED_LEN)) {
		strip_deleted_suffix(f);
		f->type = PS_FD_ANON;
		f->kind = PS_FD_KIND_MEMFD;
		return 0;
	}
	f->type = PS_FD_REG;
	f->kind = PS_FD_KIND_FILE;
	if (link_says_deleted(f, st))
		strip_deleted_suffix(f);   /* its content is saved: see capture_contents */
	return 0;
}

static int classify_directory(struct ps_fd *f, const struct stat *st)
{
	f->type = PS_FD_DIR;
	f->kind = PS_FD_KIND_DIR;
	if (link_says_deleted(f, st)) {
		strip_deleted_suffix(f);
		return ps_fd_unsupported(f, "the directory was removed while open; "
					 "it cannot be opened again");
	}
	return 0;
}

/* A descriptor of no kind procsnap saves, listed under name. */
static int set_kind_unsupported(struct ps_fd *f, enum ps_fd_type type, const char *name,
				const char *reason)
{
	int rc;

	f->type = type;
	rc = ps_fd_set_other(f, name);
	return rc ? rc : ps_fd_unsupported(f, "%s", reason);
}

/* Sets type, kind, deleted and (for kinds not saved yet) the reason. */
static int classify_fd(struct ps_fd *f, const struct stat *st)
{
	char reason[128];

	f->supported = 1;
	/* Anonymous inodes have no file type bits at all (mode 0600). */
	if (strncmp(f->path.data, "anon_inode:", strlen("anon_inode:")) == 0)
		return set_anon_kind(f);
	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		return classify_regular(f, st);
	case S_IFDIR:
		return classify_directory(f, st);
	case S_IFCHR:
		f->type = PS_FD_CHR;
		f->kind = ps_fd_kind_of_chr(major(st->st_rdev));
		return 0;
	case S_IFBLK:
		return set_kind_unsupported(f, PS_FD_BLK, "block", "block devices are not saved yet");
	case S_IFIFO:
		f->kind = PS_FD_KIND_PIPE;
		if (strncmp(f->path.data, "pipe:[", 6) == 0) {
			f->type = PS_FD_PIPE;
			return 0;
		}
		f->type = PS_FD_FIFO;   /* reopened by its path; bytes as a pipe's */
		return 0;
	case S_IFSOCK:
		/* unix until the socket is looked at (fd_socket.c) */
		f->type = PS_FD_SOCKET;
		f->kind = PS_FD_KIND_UNIX;
		return 0;
	default:
		snprintf(reason, sizeof(reason),
			 "descriptors of this kind (file mode 0%o) are not recognised",
			 (unsigned)st->st_mode);
		return set_kind_unsupported(f, PS_FD_OTHER, "unknown", reason);
	}
}

static void fill_from_stat(struct ps_fd *f, const struct stat *st)
{
	f->mode = st->st_mode;
	f->ino = st->st_ino;
	f->dev_major = major(st->st_dev);
	f->dev_minor = minor(st->st_dev);
	f->rdev_major = major(st->st_rdev);
	f->rdev_minor = minor(st->st_rdev);
}

static void fill_from_fdinfo(struct ps_fd *f, const struct ps_fdinfo *info)
{
	f->pos = info->pos;
	f->cloexec = (info->flags & O_CLOEXEC) != 0;
	f->flags = info->flags & ~O_CLOEXEC;
	f->mnt_id = info->mnt_id;
}

/* fdinfo's common lines; its text is kept in *text for the fd's kind. */
static int read_fdinfo(pid_t pid, struct ps_fd *f, struct ps_fdinfo *info, char **text)
{
	char path[64];
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, f->fd);
	rc = ps_read_file(path, text, &len);
	if (rc < 0)
		return rc;
	rc = ps_parse_fdinfo(*text, info);
	if (rc < 0) {
		free(*text);
		*text = NULL;
	}
	return rc;
}

/* Keeps the fd in the list, unsupported, saying which /proc file failed:
 * "<action> /proc/<pid>/<dir>/<fd>: <errno text>". */
static int mark_broken(struct ps_fd *f, pid_t pid, const char *action, const char *dir, int rc)
{
	if (f->kind == PS_FD_KIND_OTHER && !f->kind_name && ps_fd_set_other(f, "unknown") < 0)
		return -ENOMEM;
	return ps_fd_unsupported(f, "%s /proc/%d/%s/%d: %s", action, (int)pid, dir, f->fd,
				 strerror(-rc));
}

/* The link text, or "" with the fd marked unsupported when it is unreadable.
 * Returns 1 when the fd was closed meanwhile. */
static int read_fd_link(pid_t pid, int dirfd, const char *name, struct ps_fd *f)
{
	char *link = malloc(PS_PATH_MAX + 1);
	ssize_t n;
	int rc, e;

	if (!link)
		return -ENOMEM;
	n = readlinkat(dirfd, name, link, PS_PATH_MAX + 1);
	e = n < 0 ? errno : n > PS_PATH_MAX ? ENAMETOOLONG : 0;
	if (e == ENOENT) {
		free(link);
		return 1;
	}
	rc = e ? set_path(f, "", 0) : set_path(f, link, (size_t)n);
	free(link);
	if (rc < 0)
		return rc;
	if (e)
		return mark_broken(f, pid, "reading the link", "fd", -e);
	return 0;
}

/* Returns 0, 1 when the fd was closed meanwhile (not an entry any more),
 * or -ENOMEM. Any other failure keeps the fd, marked unsupported. *fdinfo
 * is its fdinfo text, or NULL. */
static int capture_one_fd(pid_t pid, int dirfd, int fd, struct ps_fd *f, char **fdinfo)
{
	struct ps_fdinfo info;
	struct stat st;
	char name[16];
	int rc;

	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->type = PS_FD_OTHER;
	snprintf(name, sizeof(name), "%d", fd);
	rc = read_fd_link(pid, dirfd, name, f);
	if (rc != 0 || f->unsupported_reason)
		return rc;

	/* Without AT_SYMLINK_NOFOLLOW the magic link leads to the open file. */
	if (fstatat(dirfd, name, &st, 0) < 0) {
		if (errno == ENOENT)
			return 1;
		return mark_broken(f, pid, "stat of", "fd", -errno);
	}
	fill_from_stat(f, &st);
	rc = classify_fd(f, &st);
	if (rc < 0)
		return rc;

	rc = read_fdinfo(pid, f, &info, fdinfo);
	if (rc == -ENOENT)
		return 1;
	if (rc < 0)
		return mark_broken(f, pid, "reading", "fdinfo", rc);
	fill_from_fdinfo(f, &info);
	return 0;
}

static void free_fd_items(struct ps_fd *items, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		ps_fd_free(&items[i]);
	free(items);
}

/* ---- open files shared by several fds ---- */

/*
 * kcmp(KCMP_FILE) tells whether two fds of a process lead to the same open
 * file (dup, fork), which shares the offset and status flags; a second open
 * of the same path does not. Only fds on the same inode can share a file,
 * so only those are compared. Pipes are left to capture_pipes (their ends
 * are made once and placed at every fd).
 */
static void capture_dups(pid_t pid, struct ps_fd *items, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct ps_fd *f = &items[i];

		if (f->type == PS_FD_PIPE)
			continue;
		for (size_t j = 0; j < i; j++) {
			const struct ps_fd *g = &items[j];

			if (g->is_dup || g->ino != f->ino || g->dev_major != f->dev_major ||
			    g->dev_minor != f->dev_minor)
				continue;
			if (syscall(SYS_kcmp, pid, pid, KCMP_FILE, g->fd, f->fd) == 0) {
				f->is_dup = 1;
				f->dup_of = g->fd;
				break;
			}
		}
	}
}

/* Each kind's own state, once the dups are known; then what needs the
 * others captured (a socket's peer). */
static int capture_kinds(struct ps_fd_capture *cx, char **fdinfo)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < cx->n; i++) {
		const struct ps_fd_kind_ops *ops = ps_fd_ops(&cx->items[i]);

		cx->fdinfo = fdinfo[i];
		if (cx->items[i].supported && ops->capture)
			rc = ops->capture(cx, &cx->items[i]);
	}
	cx->fdinfo = NULL;
	for (size_t i = 0; rc == 0 && i < cx->n; i++) {
		const struct ps_fd_kind_ops *ops = ps_fd_ops(&cx->items[i]);

		if (cx->items[i].supported && ops->capture_links)
			rc = ops->capture_links(cx, &cx->items[i]);
	}
	if (cx->pidfd >= 0)
		close(cx->pidfd);
	return rc;
}

static void free_texts(char **texts, size_t n)
{
	for (size_t i = 0; texts && i < n; i++)
		free(texts[i]);
	free(texts);
}

int ps_capture_fds(pid_t pid, struct ps_fds *fds, char *err, size_t errlen)
{
	char path[64], **fdinfo = NULL;
	struct ps_fd *items = NULL;
	size_t count = 0, n = 0, i;
	int dirfd, *nums = NULL, rc;

	fds->items = NULL;
	fds->count = 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "opening %s: %s", path, strerror(-rc));
		return rc;
	}
	rc = list_fd_numbers(dirfd, &nums, &count);
	if (rc < 0) {
		snprintf(err, errlen, "listing %s: %s", path, strerror(-rc));
		goto out;
	}
	items = calloc(count ? count : 1, sizeof(*items));
	fdinfo = calloc(count ? count : 1, sizeof(*fdinfo));
	if (!items || !fdinfo) {
		rc = -ENOMEM;
		goto nomem;
	}
	for (i = 0; i < count; i++) {
		rc = capture_one_fd(pid, dirfd, nums[i], &items[n], &fdinfo[n]);
		if (rc < 0) {
			ps_fd_free(&items[n]);
			goto nomem;
		}
		if (rc == 0) {
			n++;
			continue;
		}
		ps_fd_free(&items[n]);
		free(fdinfo[n]);
		fdinfo[n] = NULL;
	}
	capture_dups(pid, items, n);
	rc = capture_kinds(&(struct ps_fd_capture){ pid, dirfd, -1, NULL, items, n }, fdinfo);
	if (rc < 0)
		goto nomem;
	if (n == 0) {
		free(items);
		items = NULL;
	}
	fds->items = items;
	fds->count = n;
	items = NULL;
	goto out;
nomem:
	snprintf(err, errlen, "capturing the descriptors of process %d: %s", (int)pid,
		 strerror(-rc));
	free_fd_items(items, n);
out:
	free_texts(fdinfo, count);
	free(nums);
	close(dirfd);
	return rc;
}
