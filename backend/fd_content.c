/* Capture of files whose bytes go into the image, for the file kind (a
 * file deleted while open) and the memfd kind: size, owner and seals. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/fd_capture.h"

/* Size, owner and seals of a file whose bytes go into fds/<n>; the bytes
 * themselves are read when the image is (snapshot.c). */
static int capture_content(int dirfd, struct ps_fd *f)
{
	char name[32];
	struct stat st;
	int fd, seals;

	snprintf(name, sizeof(name), "%d", f->fd);
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return ps_fd_unsupported(f, "cannot open the file again to save its content: %s",
					 strerror(e));
	}
	f->u.content.size = (uint64_t)st.st_size;
	f->u.content.uid = st.st_uid;
	f->u.content.gid = st.st_gid;
	seals = fcntl(fd, F_GET_SEALS);
	f->u.content.seals = seals > 0 ? (uint32_t)seals : 0;
	close(fd);
	return ps_fd_name_data(f);
}

/* A file deleted while open: its bytes are saved (others are opened again
 * by their path). */
int ps_capture_fd_file(struct ps_fd_capture *cx, struct ps_fd *f)
{
	if (f->is_dup || !ps_fd_has_content(f))
		return 0;
	return capture_content(cx->dirfd, f);
}

int ps_capture_fd_memfd(struct ps_fd_capture *cx, struct ps_fd *f)
{
	if (f->is_dup)
		return 0;
	return capture_content(cx->dirfd, f);
}
