/* The restore of one image, end to end: read and validate it, build the
 * process from a stub under ptrace, and let it run, or leave nothing. */
#ifndef PROCSNAP_RESTORE_RESTORER_H
#define PROCSNAP_RESTORE_RESTORER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Restore the complete image in dir on behalf of a caller with uid/gid
 * (docs/security.md). 0 with *pid_out running and in err what the user should
 * know of it ("" if nothing), or -errno with one sentence in err; on
 * failure no process is left and dir is untouched. */
struct ps_restore_options {
	/* In a new time namespace whose CLOCK_MONOTONIC and CLOCK_BOOTTIME go
	 * on from the values they had at the checkpoint. */
	int timens;
};

struct ps_prefill;
/* prefill (may be NULL): memory filled while the image was copied in; the
 * restore takes what it can use of it, and it is spent afterwards. */
int ps_restore_image(const char *dir, uid_t uid, gid_t gid, const struct ps_restore_options *opt,
		     struct ps_prefill *prefill, pid_t *pid_out, char *err, size_t errlen);

/* ---- for the spool (fs/): an image being copied in ---- */

/* Whether the image in dir is complete: image.json parses and every file
 * it lists is there whole. 0, -EAGAIN with what is missing in err, or
 * -EINVAL when image.json itself is malformed. Reads no memory. */
int ps_restore_check_staged(const char *dir, char *err, size_t errlen);

/* The pid the image.json in the image directory image_fd names, or 0 if
 * it cannot tell (missing, not a regular file, malformed). */
pid_t ps_restore_staged_pid(int image_fd);

/* Calls fn with each file name that image.json (in the image directory
 * image_fd) lists, relative to the image, and its listed size. 0, or
 * -errno if image.json cannot be read and decoded (then fn was not called). */
typedef void (*ps_restore_name_fn)(void *ctx, const char *name, uint64_t size);
int ps_restore_staged_files(int image_fd, ps_restore_name_fn fn, void *ctx);

/* ---- the early fill: memory filled while an image is copied in ---- */

/* A new early fill for one image (reference-counted, thread-safe), or NULL. */
struct ps_prefill *ps_restore_prefill_new(void);
void ps_restore_prefill_get(struct ps_prefill *p);
/* Drop a reference; the last one ends the nursery if no restore took it. */
void ps_restore_prefill_put(struct ps_prefill *p);
/* None of it is to be used: end the nursery now, and drop the caller's
 * reference. */
void ps_restore_prefill_abandon(struct ps_prefill *p);

/* Start mirroring the spool file dev/ino, which holds the pages of the
 * mapping [start, end). 0 or -errno (the file is then not mirrored). */
int ps_restore_prefill_start(struct ps_prefill *p, uint64_t start, uint64_t end, dev_t dev,
			     ino_t ino);
/* Whole pages written at off of the mapping's file at start are on disk:
 * copy them into the nursery too. */
void ps_restore_prefill_feed(struct ps_prefill *p, uint64_t start, uint64_t off, const void *buf,
			     size_t len);
/* The mapping's file at start changed some other way: its pages are not
 * to be used. */
void ps_restore_prefill_stop(struct ps_prefill *p, uint64_t start);

#endif
