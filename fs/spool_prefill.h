/* The early fill, seen from the spool: a big memory file copied into an image
 * with aligned writes is mirrored into the image's nursery as it is written. */
#ifndef PROCSNAP_SPOOL_PREFILL_H
#define PROCSNAP_SPOOL_PREFILL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ps_prefill;

/* One open file's mirror into its image's early fill; zeroed, then image
 * set to the key of the image the file lies in ("" if none). */
struct ps_spool_mirror {
	struct ps_prefill *fill;   /* NULL: the file is not mirrored */
	uint64_t region;           /* the mapping's start */
	const char *image;
};

/* Mirror the file fd, just created at path with O_DIRECT writes, if it is
 * a memory file worth it ("<uid>/<image>/memory/<start>-<end>", big). */
void ps_spool_mirror_start(struct ps_spool_mirror *m, int fd, const char *path);
/* spool_writer.h's tee, with m as its ctx: a write is on disk (ok), or
 * failed. Runs in a writer thread; m lives until its writes settle. */
void ps_spool_mirror_tee(void *ctx, int ok, off_t off, const void *buf, size_t len);
/* The file changed another way (an unaligned write, a cut): its pages in
 * the nursery are not to be used. */
void ps_spool_mirror_stop(struct ps_spool_mirror *m);
/* The file is closed. */
void ps_spool_mirror_end(struct ps_spool_mirror *m);

/* Something changed in image key that no mirror saw: its early fill is
 * let go now. */
void ps_spool_abandon_fill(const char *key);

#endif
