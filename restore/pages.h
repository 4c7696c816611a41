/* The saved pages of a mapping, put back into the rebuilt mapping from the
 * image's memory file with process_vm_writev. */
#ifndef PROCSNAP_RESTORE_PAGES_H
#define PROCSNAP_RESTORE_PAGES_H

#include "restore/rctx.h"

struct ps_prefill_region;

/* Fill m's saved pages (its data runs, nothing else) from its memory file
 * in the image, but those the nursery filled already (done, may be NULL).
 * m must be mapped and writable. what names the mapping for errors. 0 or
 * -errno with err filled. */
int ps_pages_fill(struct ps_rctx *c, const struct ps_mapping *m, const char *what,
		  const struct ps_prefill_region *done);

/* The same for a private mapping that may not be made writable (it had no
 * "ac"): written through /proc/<pid>/mem, whose writes force their way. */
int ps_pages_fill_forced(struct ps_rctx *c, const struct ps_mapping *m, const char *what);

/* Close the content file the fills kept open (a run of small mappings
 * shares one); at the end of every restore, failed or not. */
void ps_pages_end(struct ps_rctx *c);

#endif
