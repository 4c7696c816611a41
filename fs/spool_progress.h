/* How far a staged image's copy has come: the files image.json lists, read
 * once, and how many of them (in its order) are already there whole. */
#ifndef PROCSNAP_SPOOL_PROGRESS_H
#define PROCSNAP_SPOOL_PROGRESS_H

#include <stdint.h>

/* Calls fn(ctx, name, size) for each file image.json of key lists; 0, or
 * -errno if it cannot be read and decoded (fn not called). */
typedef void (*ps_progress_file_fn)(void *ctx, const char *name, uint64_t size);
typedef int (*ps_progress_list_fn)(const char *key, ps_progress_file_fn fn, void *ctx);

/*
 * Whether the image key may be complete, answered at the close of each of
 * its files without reading image.json again: 0 if some listed file is
 * surely missing or short, 1 if the full check (ps_restore_check_staged)
 * is worth its cost: every file is there, or image.json cannot be listed,
 * or a file is something the full check must judge (too long, not a file).
 * list reads image.json's list, once per version of image.json.
 */
int ps_progress_may_be_complete(const char *key, ps_progress_list_fn list);

/* The full check disagreed (a file was removed behind the cursor) or the
 * image is done with: forget what is known of key. */
void ps_progress_forget(const char *key);

void ps_progress_fini(void);

#endif
