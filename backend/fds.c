/* Capture of fds.json: every descriptor of a stopped process, typed from the
 * file it leads to, with flags/position/mount from fdinfo; none is dropped. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kcmp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backend/fds.h"
#include "backend/fds_anon.h"
#include "backend/sockets.h"
#include "image/json_util.h"
#include "backend/proc_parse.h"

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

static int set_text(char **dst, const char *text)
{
	*dst = strdup(text);
	return *dst ? 0 : -ENOMEM;
}

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

static int mark_unsupported(struct ps_fd *f, const char *reason)
{
	f->supported = 0;
	free(f->unsupported_reason);
	return set_text(&f->unsupported_reason, reason);
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
	char reason[128];

	if (n >= 2 && name[0] == '[' && name[n - 1] == ']') {
		name++;
		n -= 2;
	}
	if (n == 0) {
		name = "anon_inode";
		n = strlen(name);
	}
	f->type = PS_FD_ANON;
	f->kind = strndup(name, n);
	if (!f->kind)
		return -ENOMEM;
	if (ps_anon_kind_known(f->kind))
		return 0;   /* its state comes from fdinfo */
	snprintf(reason, sizeof(reason), "%s descriptors are not saved yet", f->kind);
	return mark_unsupported(f, reason);
}

static int classify_regular(struct ps_fd *f, const struct stat *st)
{
	static const char memfd_prefix[] = "/memfd:";

	if (strncmp(f->path.data, memfd_prefix, sizeof(memfd_prefix) - 1) == 0 &&
	    has_suffix(&f->path, deleted_suffix, DELETED_LEN)) {
		strip_deleted_suffix(f);
		f->type = PS_FD_ANON;
		return set_text(&f->kind, "memfd");
	}
	f->type = PS_FD_REG;
	if (set_text(&f->kind, "file") < 0)
		return -ENOMEM;
	if (link_says_deleted(f, st))
		strip_deleted_suffix(f);   /* its content is saved: see capture_contents */
	return 0;
}

static int classify_directory(struct ps_fd *f, const struct stat *st)
{
	f->type = PS_FD_DIR;
	if (set_text(&f->kind, "directory") < 0)
		return -ENOMEM;
	if (link_says_deleted(f, st)) {
		strip_deleted_suffix(f);
		return mark_unsupported(f, "the directory was removed while open; "
					"it cannot be opened again");
	}
	return 0;
}

static int set_kind_unsupported(struct ps_fd *f, enum ps_fd_type type, const char *kind,
				const char *reason)
{
	f->type = type;
	if (set_text(&f->kind, kind) < 0)
		return -ENOMEM;
	return mark_unsupported(f, reason);
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
		return set_text(&f->kind, "char");
	case S_IFBLK:
		return set_kind_unsupported(f, PS_FD_BLK, "block", "block devices are not saved yet");
	case S_IFIFO:
		if (strncmp(f->path.data, "pipe:[", 6) == 0) {
			f->type = PS_FD_PIPE;
			return set_text(&f->kind, "pipe");
		}
		f->type = PS_FD_FIFO;   /* reopened by its path; bytes as a pipe's */
		return set_text(&f->kind, "fifo");
	case S_IFSOCK:
		f->type = PS_FD_SOCKET;
		return set_text(&f->kind, "socket");
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

/* fdinfo's common lines, and for an epoll fd the descriptors it watches. */
static int read_fdinfo(pid_t pid, struct ps_fd *f, struct ps_fdinfo *info)
{
	char path[64], *text;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, f->fd);
	rc = ps_read_file(path, &text, &len);
	if (rc < 0)
		return rc;
	rc = ps_parse_fdinfo(text, info);
	if (rc == 0 && ps_fd_is_epoll(f))
		rc = ps_parse_epoll_targets(text, &f->epoll, &f->nepoll);
	else if (rc == 0 && f->type == PS_FD_ANON && f->supported)
		rc = ps_capture_anon_state(pid, f, text);
	free(text);
	return rc;
}

/* Keeps the fd in the list, unsupported, saying which /proc file failed:
 * "<action> /proc/<pid>/<dir>/<fd>: <errno text>". */
static int mark_broken(struct ps_fd *f, pid_t pid, const char *action, const char *dir, int rc)
{
	char reason[160];

	snprintf(reason, sizeof(reason), "%s /proc/%d/%s/%d: %s", action, (int)pid, dir, f->fd,
		 strerror(-rc));
	if (!f->kind && set_text(&f->kind, "unknown") < 0)
		return -ENOMEM;
	return mark_unsupported(f, reason);
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
 * or -ENOMEM. Any other failure keeps the fd, marked unsupported. */
static int capture_one_fd(pid_t pid, int dirfd, int fd, struct ps_fd *f)
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

	rc = read_fdinfo(pid, f, &info);
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

/*
 * The unread bytes of a pipe, without taking them: a second open of the
 * pipe through /proc/<pid>/fd/<n> (O_NONBLOCK: a read end never blocks
 * opening), then tee(), which duplicates pipe buffers into another pipe
 * instead of consuming them.
 */
static int peek_pipe(int dirfd, struct ps_fd *f)
{
	char name[16];
	int fd, tmp[2] = { -1, -1 }, size, rc = 0;
	ssize_t n;

	snprintf(name, sizeof(name), "%d", f->fd);
	fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return mark_unsupported(f, "cannot open the pipe again to read what it holds");
	size = fcntl(fd, F_GETPIPE_SZ);
	if (size <= 0 || pipe2(tmp, O_NONBLOCK | O_CLOEXEC) < 0 ||
	    fcntl(tmp[1], F_SETPIPE_SZ, size) < size) {
		rc = mark_unsupported(f, "cannot make a pipe as large as this one to peek into it");
		goto out;
	}
	f->pipe_size = (uint32_t)size;
	n = tee(fd, tmp[1], (size_t)size, SPLICE_F_NONBLOCK);
	if (n < 0 && errno != EAGAIN) {
		rc = mark_unsupported(f, "tee() of the pipe's contents failed");
		goto out;
	}
	if (n > 0) {
		f->bytes = malloc((size_t)n);
		if (!f->bytes || read(tmp[0], f->bytes, (size_t)n) != n) {
			rc = f->bytes ? mark_unsupported(f, "reading the pipe's contents back failed")
				      : -ENOMEM;
			goto out;
		}
		f->nbytes = (size_t)n;
	}
out:
	close(fd);
	if (tmp[0] >= 0) {
		close(tmp[0]);
		close(tmp[1]);
	}
	return rc;
}

static int is_pipe_like(const struct ps_fd *f)
{
	return f->type == PS_FD_PIPE || f->type == PS_FD_FIFO;
}

/* Each pipe's or FIFO's contents once, with its lowest fd (restore refills
 * it there), and its size with every fd of it. */
static int capture_pipes(int dirfd, struct ps_fd *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct ps_fd *f = &items[i];
		size_t j;
		int rc;

		if (!is_pipe_like(f) || !f->supported || f->is_dup)
			continue;
		for (j = 0; j < i && !(is_pipe_like(&items[j]) && items[j].ino == f->ino); j++)
			;
		if (j < i) {
			f->pipe_size = items[j].pipe_size;
			continue;
		}
		rc = peek_pipe(dirfd, f);
		if (rc < 0)
			return rc;
		if (f->nbytes) {
			char name[32];

			ps_fd_data_name(name, sizeof(name), f->fd);
			f->data = strdup(name);
			if (!f->data)
				return -ENOMEM;
		}
	}
	return 0;
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

/* ---- deleted files and memfds: their content ---- */

/* Size, owner and seals of a file whose bytes go into fds/<n>; the bytes
 * themselves are read when the image is (snapshot.c). */
static int capture_content(int dirfd, struct ps_fd *f)
{
	char name[32], reason[160];
	struct stat st;
	int fd, seals;

	snprintf(name, sizeof(name), "%d", f->fd);
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(reason, sizeof(reason), "cannot open the file again to save its content: %s",
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return mark_unsupported(f, reason);
	}
	f->size = (uint64_t)st.st_size;
	f->uid = st.st_uid;
	f->gid = st.st_gid;
	seals = fcntl(fd, F_GET_SEALS);
	f->seals = seals > 0 ? (uint32_t)seals : 0;
	close(fd);
	ps_fd_data_name(name, sizeof(name), f->fd);
	f->data = strdup(name);
	return f->data ? 0 : -ENOMEM;
}

static int capture_contents(int dirfd, struct ps_fd *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc;

		if (!items[i].supported || items[i].is_dup || !ps_fd_has_content(&items[i]))
			continue;
		rc = capture_content(dirfd, &items[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A socket's unread messages go into fds/<n>. */
static int name_socket_data(struct ps_fd *items, size_t n)
{
	char name[32];

	for (size_t i = 0; i < n; i++) {
		if (!items[i].sock || !items[i].nbytes)
			continue;
		ps_fd_data_name(name, sizeof(name), items[i].fd);
		items[i].data = strdup(name);
		if (!items[i].data)
			return -ENOMEM;
	}
	return 0;
}

int ps_capture_fds(pid_t pid, struct ps_fds *fds, char *err, size_t errlen)
{
	char path[64];
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
	if (!items) {
		rc = -ENOMEM;
		goto nomem;
	}
	for (i = 0; i < count; i++) {
		rc = capture_one_fd(pid, dirfd, nums[i], &items[n]);
		if (rc < 0) {
			ps_fd_free(&items[n]);
			goto nomem;
		}
		if (rc == 0)
			n++;
		else
			ps_fd_free(&items[n]);
	}
	capture_dups(pid, items, n);
	rc = capture_pipes(dirfd, items, n);
	if (rc == 0)
		rc = capture_contents(dirfd, items, n);
	if (rc == 0)
		rc = ps_capture_sockets(pid, items, n);
	if (rc == 0)
		rc = name_socket_data(items, n);
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
	free(nums);
	close(dirfd);
	return rc;
}
