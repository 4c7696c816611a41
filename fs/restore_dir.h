/* restore/: a writable directory kept in the spool directory on disk, each
 * user's own, the status file of each image in it, and its restore. */
#ifndef PROCSNAP_RESTORE_DIR_H
#define PROCSNAP_RESTORE_DIR_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>

struct ps_prefill;

/* Brings the process of the complete image in image_dir back to life,
 * taking what it can of prefill (memory filled while the image was copied
 * in; may be NULL). Returns 0 with *pid_out set and err a note for status
 * ("" if none), or -errno with a sentence in err. */
typedef int (*ps_restore_fn)(const char *image_dir, struct ps_prefill *prefill, pid_t *pid_out,
			     char *err, size_t errlen);

/* readdir callback: one entry's name and the type bits of its st_mode.
 * Returns nonzero to stop (the caller's buffer is full). */
typedef int (*ps_restore_dirent_fn)(void *ctx, const char *name, mode_t type);

struct ps_restore_handle;
struct fuse_bufvec;

/* Create the spool directory (0700, parents too) if needed and open it:
 * images/<uid>/ holds each user's staged images, tmp/ state files being
 * written. shared (allow_other): restore/ shows as 1777 and new entries
 * belong to the caller who made them. keep_staged: a restored image's
 * files stay. 0 or -errno with a sentence in err. */
int ps_restore_dir_init(const char *spool, int shared, int keep_staged, char *err, size_t errlen);
/* Remove what a procsnap killed before this one left half-written in tmp/;
 * only once the spool is this procsnap's (mount_guard.h). */
void ps_restore_dir_sweep(void);
void ps_restore_dir_fini(void);

/* The restorer a complete image is handed to; set before serving. */
void ps_restore_dir_set_hook(ps_restore_fn fn);

/* Paths are relative to restore/ as the caller sees it: "" is restore/
 * itself, then "img", "img/memory/7f00-7f01", ... in the caller's own
 * namespace (spool_ns.h). Every function returns 0 or -errno. Where a
 * handle is given (fstat, ftruncate, ...) it is used and rel is ignored. */
int ps_restore_getattr(const char *rel, struct ps_restore_handle *h, struct stat *st);
int ps_restore_truncate(const char *rel, struct ps_restore_handle *h, off_t size);
int ps_restore_chmod(const char *rel, struct ps_restore_handle *h, mode_t mode);
int ps_restore_chown(const char *rel, struct ps_restore_handle *h, uid_t uid, gid_t gid);
int ps_restore_utimens(const char *rel, struct ps_restore_handle *h, const struct timespec tv[2]);
int ps_restore_mkdir(const char *rel, mode_t mode);
int ps_restore_unlink(const char *rel);
int ps_restore_rmdir(const char *rel);
/* Moving a file into place may complete an image (rsync does that): the
 * restore then runs here and its error is returned. */
int ps_restore_rename(const char *from, const char *to, unsigned int flags);
int ps_restore_statfs(struct statvfs *st);

int ps_restore_open(const char *rel, int flags, struct ps_restore_handle **out);
int ps_restore_create(const char *rel, mode_t mode, int flags, struct ps_restore_handle **out);
int ps_restore_opendir(const char *rel, struct ps_restore_handle **out);
ssize_t ps_restore_read(struct ps_restore_handle *h, char *buf, size_t size, off_t off);
/* Write src at off into the staged file: aligned writes are queued for the
 * disk (spool_writer.h), their failures reported by a later call on h. */
ssize_t ps_restore_write_buf(struct ps_restore_handle *h, struct fuse_bufvec *src, off_t off);
off_t ps_restore_lseek(struct ps_restore_handle *h, off_t off, int whence);
int ps_restore_fallocate(struct ps_restore_handle *h, int mode, off_t off, off_t len);
int ps_restore_fsync(struct ps_restore_handle *h, int datasync);
int ps_restore_readdir(struct ps_restore_handle *h, ps_restore_dirent_fn fn, void *ctx);
/* Closing the last writer of a complete image runs its restore here. */
int ps_restore_flush(struct ps_restore_handle *h);
void ps_restore_release(struct ps_restore_handle *h);

#endif
