/* Each staged image's state as procsnap knows it: who writes it, whether its
 * restore runs, how it went (kept in the spool), and the status file showing it. */
#ifndef PROCSNAP_SPOOL_STATUS_H
#define PROCSNAP_SPOOL_STATUS_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fs/image_state.h"
#include "fs/spool_dir.h"

/* A status: a result or a reason, a prefix, a newline. */
#define PS_SPOOL_STATUS_MAX (PS_RESULT_MAX + 64)

struct ps_prefill;

/* Forget every image (at the end: no request runs any more). */
void ps_spool_images_fini(void);

/* The image key changed by path (a file made, removed, renamed, cut): an
 * outcome other than a process still running is forgotten. */
void ps_spool_image_changed(const char *key);
/* Something of it was set (a mode, an owner): not a change of what it
 * holds, but it is not quiet. */
void ps_spool_image_touched(const char *key);
/* It is gone, or another one is in its place (rmdir, rename): what
 * procsnap knows of it is read from the spool again. */
void ps_spool_image_reload(const char *key);

/* A writer opens: wait for a restore in progress to finish reading the
 * image, then count the writer. 0 or -ENOMEM. */
int ps_spool_image_begin_write(const char *key);
void ps_spool_image_end_write(const char *key);

enum ps_spool_claim {
	PS_SPOOL_CLAIM_NONE,     /* being written by others, running, or settled */
	PS_SPOOL_CLAIM_RESTORE,  /* never restored (or changed since): restore it */
	PS_SPOOL_CLAIM_CLEANUP,  /* restored, its process runs: only its files to remove */
};
/* Claim the right to restore key, or to remove its staged files: no other
 * writer than the caller's own (own = 1 from a flush, 0 from a rename or a
 * change by path), nothing running. Marks it running. */
enum ps_spool_claim ps_spool_image_claim(const char *key, unsigned own);
/* End a claim; st (NULL: unchanged) is the image's state now, and saved
 * whether it is in the spool; tidy: its staged files are to go once it is
 * quiet. */
void ps_spool_image_unclaim(const char *key, const struct ps_image_state *st, int saved, int tidy);

/* Keep st in the spool as key's state. 0 or -errno (logged). */
int ps_spool_save_state(const char *key, const struct ps_image_state *st);
/* The outcomes a restore ends in, as the status shows them: "restored
 * <pid>; <note>" (note may be ""), "failed: <why>". */
void ps_spool_state_restored(struct ps_image_state *st, pid_t pid, const char *note);
void ps_spool_state_failed(struct ps_image_state *st, const char *why);

/* The early fill of key for a new mirror, with a reference for the caller:
 * made on first use; NULL if the image is restored or being restored. */
struct ps_prefill *ps_spool_image_fill(const char *key);
/* Take key's early fill away from it (the caller has its reference), or NULL. */
struct ps_prefill *ps_spool_image_take_fill(const char *key);
/* For the reaper: the early fill of an image that no writer has had open
 * for a while, taken away from it; NULL if none. */
struct ps_prefill *ps_spool_take_idle_fill(void);
/* For the reaper: a restored image quiet for a while, claimed (so that no
 * writer comes in while its files go), its key in key. 1 if one, 0. */
int ps_spool_take_tidy(char key[PS_SPOOL_KEY_MAX]);

/* The text of key's status file: its outcome, or why it is incomplete. */
void ps_spool_status_text(const char *key, char *out, size_t len);
/* The attributes of the status file with that text: the image's, as a
 * read-only regular file. 0 or -errno. */
int ps_spool_status_stat(const char *key, const char *text, struct stat *st);

#endif
