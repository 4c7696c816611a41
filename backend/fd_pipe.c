/* Capture of pipes and FIFOs: their capacity and their unread bytes, peeked
 * at without taking them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend/fd_capture.h"

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
		return ps_fd_unsupported(f, "cannot open the pipe again to read what it holds");
	size = fcntl(fd, F_GETPIPE_SZ);
	if (size <= 0 || pipe2(tmp, O_NONBLOCK | O_CLOEXEC) < 0 ||
	    fcntl(tmp[1], F_SETPIPE_SZ, size) < size) {
		rc = ps_fd_unsupported(f, "cannot make a pipe as large as this one to peek into it");
		goto out;
	}
	f->u.pipe_size = (uint32_t)size;
	n = tee(fd, tmp[1], (size_t)size, SPLICE_F_NONBLOCK);
	if (n < 0 && errno != EAGAIN) {
		rc = ps_fd_unsupported(f, "tee() of the pipe's contents failed");
		goto out;
	}
	if (n > 0) {
		f->bytes = malloc((size_t)n);
		if (!f->bytes || read(tmp[0], f->bytes, (size_t)n) != n) {
			rc = f->bytes ? ps_fd_unsupported(f, "reading the pipe's contents back failed")
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

/* Each pipe's or FIFO's contents once, with its lowest fd (restore refills
 * it there), and its size with every fd of it. */
int ps_capture_fd_pipe(struct ps_fd_capture *cx, struct ps_fd *f)
{
	size_t i = (size_t)(f - cx->items), j;
	int rc;

	if (f->is_dup)
		return 0;
	for (j = 0; j < i; j++)
		if (cx->items[j].kind == PS_FD_KIND_PIPE && cx->items[j].ino == f->ino)
			break;
	if (j < i) {
		f->u.pipe_size = cx->items[j].u.pipe_size;
		return 0;
	}
	rc = peek_pipe(cx->dirfd, f);
	if (rc < 0 || !f->nbytes)
		return rc;
	return ps_fd_name_data(f);
}
