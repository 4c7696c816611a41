/* The spool on disk: its images/ and tmp/ directories, every path below
 * images/ opened confined beneath it, and what such a path names. */
#ifndef PROCSNAP_SPOOL_DIR_H
#define PROCSNAP_SPOOL_DIR_H

#include <dirent.h>
#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* "<uid>/<name>": an image, below images/ */
#define PS_SPOOL_KEY_MAX (NAME_MAX + 16)

/* Create the spool directory (0700, parents too) if needed and open it:
 * images/<uid>/ holds each user's staged images, tmp/ state files being
 * written. shared (allow_other): restore/ shows as 1777 and new entries
 * belong to the caller who made them. keep_staged: a restored image's
 * files stay. 0 or -errno with a sentence in err. */
int ps_spool_init(const char *spool, int shared, int keep_staged, char *err, size_t errlen);
/* Remove what a procsnap killed before this one left half-written in tmp/;
 * only once the spool is this procsnap's (mount_guard.h). */
void ps_spool_sweep(void);
/* Stop the spool's thread and let go of all it knows and holds. */
void ps_spool_fini(void);

int ps_spool_images_fd(void);   /* images/: a directory per uid */
int ps_spool_tmp_fd(void);      /* tmp/: state files being written */
int ps_spool_shared(void);
int ps_spool_keep_staged(void);

/* Open path (relative to images/, "" for images/ itself) without leaving
 * images/: no "..", no symlink, no magic link. The fd or -errno. */
int ps_spool_open_beneath(const char *path, int flags, mode_t mode);
/* Open the directory holding path's last component (O_PATH, beneath
 * images/) for the *at() calls; *base is that component. fd or -errno. */
int ps_spool_open_parent(const char *path, const char **base);
/* The absolute path of the image key. 0 or -ENAMETOOLONG. */
int ps_spool_image_path(const char *key, char *buf, size_t len);

/* A directory stream of name in dirfd (NULL: of dirfd itself, from its
 * start), never following a symlink. NULL with errno on failure. */
DIR *ps_spool_dir_stream(int dirfd, const char *name);

/* Paths below images/: "<uid>" is a namespace, "<uid>/<name>" the top of
 * one, where images are, "<uid>/<name>/..." inside an image. */

/* 1 with the image path is or lies in, in key: "1001/img" for "1001/img"
 * and "1001/img/x"; 0 if none. */
int ps_spool_image_key(const char *path, char key[PS_SPOOL_KEY_MAX]);
/* What of path lies below its image: "x/y" of "1001/img/x/y"; NULL for
 * the image itself and above. */
const char *ps_spool_below_image(const char *path);
/* 1 with the image path lies strictly inside of in key, 0 if none. */
int ps_spool_inside_image(const char *path, char key[PS_SPOOL_KEY_MAX]);
/* "<uid>/<name>": the top of a namespace. */
int ps_spool_is_top(const char *path);
/* key names a directory (not a symlink to one). */
int ps_spool_is_image_dir(const char *key);
/* "<uid>/img/status" where img is a directory: the virtual status file. */
int ps_spool_is_status(const char *path);

#endif
