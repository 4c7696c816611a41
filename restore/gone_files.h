/* Files still mapped but gone from the filesystem (memfds, deleted files):
 * what the restore maps them from. */
#ifndef PROCSNAP_RESTORE_GONE_FILES_H
#define PROCSNAP_RESTORE_GONE_FILES_H

#include "restore/rctx.h"

struct ps_gone_files;

struct ps_gone_files *ps_gone_files_new(void);

/* A descriptor in the stub to mmap m (a mapping of a deleted file) from,
 * open for what m needs; it stays open until ps_gone_files_close. -errno
 * with err filled on failure. */
long ps_gone_file_fd(struct ps_rctx *c, struct ps_gone_files *g, const struct ps_mapping *m);

/* Close every descriptor opened for the mappings, and free g. */
void ps_gone_files_close(struct ps_rctx *c, struct ps_gone_files *g);

#endif
