/* The restore trigger: when an image copied into restore/ is complete, it is
 * handed to the restorer, and once restored its files leave the spool. */
#ifndef PROCSNAP_SPOOL_RESTORE_H
#define PROCSNAP_SPOOL_RESTORE_H

#include <stddef.h>
#include <sys/types.h>

struct ps_prefill;

/* Brings the process of the complete image in image_dir back to life,
 * taking what it can of prefill (memory filled while the image was copied
 * in; may be NULL). Returns 0 with *pid_out set and err a note for status
 * ("" if none), or -errno with a sentence in err. */
typedef int (*ps_spool_restore_fn)(const char *image_dir, struct ps_prefill *prefill,
				   pid_t *pid_out, char *err, size_t errlen);

/* The restorer a complete image is handed to; set before serving. */
void ps_spool_set_restorer(ps_spool_restore_fn fn);

/* If image key is now complete and nobody else is writing it (own: the
 * caller's own writers, 1 from a flush, 0 otherwise), restore it here,
 * synchronously, so that the close() or rename() that completed it
 * reports the outcome: 0 or the restore's -errno. */
int ps_spool_maybe_restore(const char *key, unsigned own);

/* The image.json of key, read through the restorer one at a time and
 * none bigger than the codec reads: */
/* Whether key is complete (ps_restore_check_staged), -EFBIG if its
 * image.json is too big, with a sentence in err. */
int ps_spool_check_complete(const char *key, char *err, size_t errlen);
/* The pid it names, or 0 if it cannot tell. */
pid_t ps_spool_staged_pid(const char *key);
/* Remove the files it lists, then image.json. */
void ps_spool_remove_listed(const char *key);

#endif
