/* Capture of inotify descriptors: each watch's number and mask from fdinfo,
 * and the watched inode's path, found again by its file handle. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backend/fd_capture.h"
#include "backend/proc_parse.h"

/* The kernel's internal dev_t, as fdinfo prints sdev. */
static uint32_t kernel_major(uint32_t sdev) { return sdev >> 20; }
static uint32_t kernel_minor(uint32_t sdev) { return sdev & 0xfffff; }

/*
 * A directory on the filesystem whose device is sdev, for open_by_handle_at:
 * a mount point of that device in the process's own mount table, reached
 * through /proc/<pid>/root so a process in a chroot or mount namespace of its
 * own is looked at as it sees itself.
 */
static int open_mount_of(pid_t pid, uint32_t sdev)
{
	char path[PATH_MAX + 64], *text, *line, *save = NULL;
	size_t len;
	int fd = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	if (ps_read_file(path, &text, &len) < 0)
		return -EIO;
	for (line = strtok_r(text, "\n", &save); line && fd < 0; line = strtok_r(NULL, "\n", &save)) {
		unsigned maj, min;
		char mnt[PATH_MAX];

		/* "<id> <parent> <maj>:<min> <root> <mount point> ..." */
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, mnt) != 3 ||
		    maj != kernel_major(sdev) || min != kernel_minor(sdev))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, mnt);
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	free(text);
	return fd;
}

/* The path of the watched inode, as procsnap sees it (our root is the
 * process's in every case this restores). open_by_handle_at needs
 * CAP_DAC_READ_SEARCH, which procsnap has as root. */
static int watch_path(pid_t pid, const struct ps_inotify_line *l, struct ps_inotify_watch *w,
		      char *why, size_t whylen)
{
	char buf[sizeof(struct file_handle) + PS_FHANDLE_MAX], link[64], path[PATH_MAX];
	struct file_handle *h = (struct file_handle *)buf;
	int mfd = open_mount_of(pid, l->sdev), fd;
	struct stat st;
	ssize_t n;

	if (mfd < 0) {
		snprintf(why, whylen, "no mount of device %u:%u for watch %d", kernel_major(l->sdev),
			 kernel_minor(l->sdev), l->wd);
		return -ENOENT;
	}
	h->handle_bytes = l->handle_bytes;
	h->handle_type = l->handle_type;
	memcpy(h->f_handle, l->handle, l->handle_bytes);
	fd = open_by_handle_at(mfd, h, O_PATH | O_CLOEXEC);
	close(mfd);
	if (fd < 0) {
		snprintf(why, whylen, "the inode of watch %d cannot be found again: %s", l->wd,
			 strerror(errno));
		return -errno;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path));
	if (n < 0 || n >= (ssize_t)sizeof(path) || fstat(fd, &st) < 0 || st.st_nlink == 0) {
		snprintf(why, whylen, "the file of watch %d has no name any more", l->wd);
		close(fd);
		return -ENOENT;
	}
	close(fd);
	ps_bytes_set(&w->path, path, (size_t)n);
	if (!w->path.data)
		return -ENOMEM;
	w->dev_major = major(st.st_dev);
	w->dev_minor = minor(st.st_dev);
	return 0;
}

static int by_wd(const void *a, const void *b)
{
	const struct ps_inotify_line *x = a, *y = b;

	return (x->wd > y->wd) - (x->wd < y->wd);
}

/* fdinfo lists the newest watch first; fds.json and restore want wd order. */
int ps_capture_fd_inotify(struct ps_fd_capture *cx, struct ps_fd *f)
{
	struct ps_inotify_line *lines;
	char why[256];
	size_t n;
	int rc = 0;

	if (ps_parse_inotify(cx->fdinfo, &lines, &n) < 0)
		return ps_fd_unsupported(f, "its fdinfo has unreadable inotify lines");
	qsort(lines, n, sizeof(*lines), by_wd);
	f->u.inotify.watches = calloc(n ? n : 1, sizeof(*f->u.inotify.watches));
	if (!f->u.inotify.watches) {
		free(lines);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct ps_inotify_watch *w = &f->u.inotify.watches[i];

		w->wd = lines[i].wd;
		w->mask = lines[i].mask;
		w->ino = lines[i].ino;
		f->u.inotify.nwatches = i + 1;
		rc = watch_path(cx->pid, &lines[i], w, why, sizeof(why));
		if (rc == -ENOMEM)
			break;
		if (rc < 0) {
			rc = ps_fd_unsupported(f, "%s", why);
			break;
		}
	}
	free(lines);
	return rc == -ENOMEM ? rc : 0;
}
