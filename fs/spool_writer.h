/* Write-behind into the spool: aligned writes into restore/ are taken into
 * a small set of buffers and written to disk with O_DIRECT by writer threads. */
#ifndef PROCSNAP_SPOOL_WRITER_H
#define PROCSNAP_SPOOL_WRITER_H

#include <stddef.h>
#include <sys/types.h>

struct fuse_bufvec;

/* O_DIRECT wants offsets, sizes and buffers aligned to the logical block
 * size; a page covers every block device's. */
#define PS_SPOOL_DIRECT_ALIGN 4096

/* The largest write taken behind: a FUSE request's data (max_write). */
#define PS_SPOOL_WRITE_MAX (1u << 20)

/* One open file's queued writes; zeroed before use. A handle's writes must
 * have settled (ps_spool_settle) before its descriptors are closed. */
struct ps_spool_writes {
	int pending;                /* queued or being written */
	int err;                    /* the first failure: the handle is done for */
	off_t failed_at;            /* the lowest offset a write failed at */
};

/* Start the writer threads and their buffers. 0 or -errno with a
 * sentence in err. */
int ps_spool_writer_start(char *err, size_t errlen);
void ps_spool_writer_stop(void);

/* Take src (size bytes, block-aligned at off) into a buffer and queue it
 * for direct_fd, to be written there with O_DIRECT (or to buffered_fd if
 * the file system refuses that write). Returns size once the bytes are
 * taken, or the -errno of a write of w that failed: after one failure,
 * every later write fails too. tee (may be NULL) sees the bytes too. */
/* Called by a writer thread once a write is done (ok: on disk), with the
 * bytes still in hand. */
typedef void (*ps_spool_tee_fn)(void *ctx, int ok, off_t off, const void *buf, size_t len);

ssize_t ps_spool_write_behind(struct ps_spool_writes *w, int direct_fd, int buffered_fd,
			      struct fuse_bufvec *src, off_t off, ps_spool_tee_fn tee, void *ctx);

/* Wait until w's writes are on disk. 0, or the -errno of the first that
 * failed, with *failed_at where the file's good bytes end. */
int ps_spool_settle(struct ps_spool_writes *w, off_t *failed_at);

#endif
