/* Write-behind into the spool: aligned writes into restore/ are taken into
 * a small set of buffers and written to disk with O_DIRECT by writer threads. */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fuse.h>

#include "backend/fileio.h"
#include "fs/spool_writer.h"

/*
 * Why: a write into restore/ is a FUSE round trip, and with O_DIRECT the
 * disk's latency would be added to every one of them, the copy tool
 * waiting for each before it reads its next chunk. Taking the bytes into
 * a buffer and answering at once lets the disk work while the tool goes
 * on; the buffers are few and reused, so they stay in memory that is
 * already there (the page cache would instead take fresh memory for the
 * whole image). A failure comes back on the file's next write and on its
 * close, and the file is cut where it happened (spool_ops.c): a later
 * write that succeeded must not leave a full-sized file with a hole in it
 * that would pass for a complete image.
 */
/* Four threads: each write is an O_DIRECT write then, for a big memory
 * file, a copy into the nursery (restore/prefill.c, page faults): while
 * some wait for the disk the others fault. On a 1 GiB image, 4 did better
 * than 2 (cp -r into restore/ 1.34-1.63 s against 1.69-2.37 s), 6 no
 * better than 4. */
#define NBUF 32
#define BUF_SIZE PS_SPOOL_WRITE_MAX
#define NTHREADS 4

struct job {
	struct ps_spool_writes *w;
	int direct_fd, buffered_fd;
	off_t off;
	size_t len;
	int buf;                    /* index into W.bufs */
	ps_spool_tee_fn tee;
	void *ctx;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t work;        /* a job was queued, or stop */
	pthread_cond_t done;        /* a job finished: a buffer is free, pending fell */
	char *bufs[NBUF];
	int free_bufs[NBUF];
	int nfree;
	struct job queue[NBUF];     /* a ring; never more jobs than buffers */
	int head, count;
	pthread_t threads[NTHREADS];
	int nthreads;
	int stop;
} W = { .mu = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER };

/* A file system may refuse a direct write it has no block alignment for
 * (EINVAL): the same bytes then go through the page cache. */
static int write_job(const struct job *j)
{
	int e = -ps_write_all(j->direct_fd, W.bufs[j->buf], j->len, j->off);

	if (e == EINVAL)
		e = -ps_write_all(j->buffered_fd, W.bufs[j->buf], j->len, j->off);
	return e;
}

static void *writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&W.mu);
	for (;;) {
		struct job j;
		int e;

		while (!W.count && !W.stop)
			pthread_cond_wait(&W.work, &W.mu);
		if (!W.count)
			break;
		j = W.queue[W.head];
		W.head = (W.head + 1) % NBUF;
		W.count--;
		pthread_mutex_unlock(&W.mu);
		e = write_job(&j);
		if (j.tee)
			j.tee(j.ctx, e == 0, j.off, W.bufs[j.buf], j.len);
		pthread_mutex_lock(&W.mu);
		if (e && (!j.w->err || j.off < j.w->failed_at)) {
			j.w->err = j.w->err ? j.w->err : e;
			j.w->failed_at = j.off;
		}
		j.w->pending--;
		W.free_bufs[W.nfree++] = j.buf;
		pthread_cond_broadcast(&W.done);
	}
	pthread_mutex_unlock(&W.mu);
	return NULL;
}

int ps_spool_writer_start(char *err, size_t errlen)
{
	int e;

	for (int i = 0; i < NBUF; i++) {
		e = posix_memalign((void **)&W.bufs[i], PS_SPOOL_DIRECT_ALIGN, BUF_SIZE);
		if (e) {
			snprintf(err, errlen, "cannot allocate the spool's write buffers: %s", strerror(e));
			ps_spool_writer_stop();
			return -e;
		}
		W.free_bufs[W.nfree++] = i;
	}
	W.stop = 0;
	for (; W.nthreads < NTHREADS; W.nthreads++) {
		e = pthread_create(&W.threads[W.nthreads], NULL, writer_main, NULL);
		if (e) {
			snprintf(err, errlen, "cannot start the spool's writer threads: %s", strerror(e));
			ps_spool_writer_stop();
			return -e;
		}
	}
	return 0;
}

/* Queued jobs are written before the threads end. */
void ps_spool_writer_stop(void)
{
	pthread_mutex_lock(&W.mu);
	W.stop = 1;
	pthread_cond_broadcast(&W.work);
	pthread_mutex_unlock(&W.mu);
	for (int i = 0; i < W.nthreads; i++)
		pthread_join(W.threads[i], NULL);
	W.nthreads = 0;
	for (int i = 0; i < NBUF; i++) {
		free(W.bufs[i]);
		W.bufs[i] = NULL;
	}
	W.nfree = 0;
}

/* A free buffer, waiting for one; -1 if w has a failure to report. */
static int take_buffer(struct ps_spool_writes *w, int *err)
{
	int b = -1;

	pthread_mutex_lock(&W.mu);
	while (!w->err && !W.nfree)
		pthread_cond_wait(&W.done, &W.mu);
	if (w->err)
		*err = w->err;
	else
		b = W.free_bufs[--W.nfree];
	pthread_mutex_unlock(&W.mu);
	return b;
}

static void give_back(int b)
{
	pthread_mutex_lock(&W.mu);
	W.free_bufs[W.nfree++] = b;
	pthread_cond_broadcast(&W.done);
	pthread_mutex_unlock(&W.mu);
}

static void queue_job(const struct job *j)
{
	pthread_mutex_lock(&W.mu);
	W.queue[(W.head + W.count) % NBUF] = *j;
	W.count++;
	j->w->pending++;
	pthread_cond_signal(&W.work);
	pthread_mutex_unlock(&W.mu);
}

ssize_t ps_spool_write_behind(struct ps_spool_writes *w, int direct_fd, int buffered_fd,
			      struct fuse_bufvec *src, off_t off, ps_spool_tee_fn tee, void *ctx)
{
	size_t size = fuse_buf_size(src);
	struct fuse_bufvec dst = FUSE_BUFVEC_INIT(size);
	struct job j = { w, direct_fd, buffered_fd, off, size, -1, tee, ctx };
	ssize_t n;
	int e = 0;

	if (size > BUF_SIZE)
		return -EINVAL;
	j.buf = take_buffer(w, &e);
	if (j.buf < 0)
		return -e;
	dst.buf[0].mem = W.bufs[j.buf];
	n = fuse_buf_copy(&dst, src, 0);
	if (n != (ssize_t)size) {
		give_back(j.buf);
		return n < 0 ? n : -EIO;
	}
	queue_job(&j);
	return n;
}

int ps_spool_settle(struct ps_spool_writes *w, off_t *failed_at)
{
	int e;

	pthread_mutex_lock(&W.mu);
	while (w->pending)
		pthread_cond_wait(&W.done, &W.mu);
	e = w->err;
	*failed_at = w->failed_at;
	pthread_mutex_unlock(&W.mu);
	return -e;
}
