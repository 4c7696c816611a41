/* Writing a whole buffer to a file, a pipe or a socket (retried after
 * EINTR and short writes), opening a file we hold again, and opening a path
 * confined beneath a directory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend/fileio.h"

int ps_write_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = off >= 0 ? pwrite(fd, p, len, off) : write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

int ps_reopen(int fd, int flags)
{
	char link[64];

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	return open(link, flags | O_CLOEXEC);
}

/* RESOLVE_BENEATH refuses ".." above dirfd and absolute paths (EXDEV);
 * RESOLVE_NO_SYMLINKS refuses a symlink in any component, the last one
 * included (ELOOP), so no check-then-open race is left for a swap. */
int ps_open_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, *path ? path : ".", &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

static int valid_base(const char *base)
{
	size_t len = strlen(base);

	return len && len <= NAME_MAX && strcmp(base, ".") && strcmp(base, "..");
}

int ps_open_parent_beneath(int dirfd, const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	size_t len;

	*base = slash ? slash + 1 : path;
	if (!valid_base(*base))
		return -EINVAL;
	len = slash ? (size_t)(slash - path) : 0;
	if (len >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, len);
	dir[len] = '\0';
	return ps_open_beneath(dirfd, dir, O_PATH | O_DIRECTORY, 0);
}
