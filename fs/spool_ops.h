/* restore/: the FUSE operations on the staged images in the spool, each
 * user's own, by path or on an open handle. */
#ifndef PROCSNAP_SPOOL_OPS_H
#define PROCSNAP_SPOOL_OPS_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>

/* readdir callback: one entry's name and the type bits of its st_mode.
 * Returns nonzero to stop (the caller's buffer is full). */
typedef int (*ps_spool_dirent_fn)(void *ctx, const char *name, mode_t type);

struct ps_spool_handle;
struct fuse_bufvec;

/* Paths are relative to restore/ as the caller sees it: "" is restore/
 * itself, then "img", "img/memory/7f00-7f01", ... in the caller's own
 * namespace (spool_ns.h). Every function returns 0 or -errno. Where a
 * handle is given (fstat, ftruncate, ...) it is used and rel is ignored. */
int ps_spool_getattr(const char *rel, struct ps_spool_handle *h, struct stat *st);
int ps_spool_truncate(const char *rel, struct ps_spool_handle *h, off_t size);
int ps_spool_chmod(const char *rel, struct ps_spool_handle *h, mode_t mode);
int ps_spool_chown(const char *rel, struct ps_spool_handle *h, uid_t uid, gid_t gid);
int ps_spool_utimens(const char *rel, struct ps_spool_handle *h, const struct timespec tv[2]);
int ps_spool_mkdir(const char *rel, mode_t mode);
int ps_spool_unlink(const char *rel);
int ps_spool_rmdir(const char *rel);
/* Moving a file into place may complete an image (rsync does that): the
 * restore then runs here and its error is returned. */
int ps_spool_rename(const char *from, const char *to, unsigned int flags);
int ps_spool_statfs(struct statvfs *st);

int ps_spool_open(const char *rel, int flags, struct ps_spool_handle **out);
int ps_spool_create(const char *rel, mode_t mode, int flags, struct ps_spool_handle **out);
int ps_spool_opendir(const char *rel, struct ps_spool_handle **out);
ssize_t ps_spool_read(struct ps_spool_handle *h, char *buf, size_t size, off_t off);
/* Write src at off into the staged file: aligned writes are queued for the
 * disk (spool_writer.h), their failures reported by a later call on h. */
ssize_t ps_spool_write_buf(struct ps_spool_handle *h, struct fuse_bufvec *src, off_t off);
off_t ps_spool_lseek(struct ps_spool_handle *h, off_t off, int whence);
int ps_spool_fallocate(struct ps_spool_handle *h, int mode, off_t off, off_t len);
int ps_spool_fsync(struct ps_spool_handle *h, int datasync);
int ps_spool_readdir(struct ps_spool_handle *h, ps_spool_dirent_fn fn, void *ctx);
/* Closing the last writer of a complete image runs its restore here. */
int ps_spool_flush(struct ps_spool_handle *h);
void ps_spool_release(struct ps_spool_handle *h);

#endif
