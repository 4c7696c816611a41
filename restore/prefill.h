/* Early fill: while a memory file is being copied into restore/, its bytes
 * also go into a nursery's memory at the mapping's address, for the stub. */
#ifndef PROCSNAP_RESTORE_PREFILL_H
#define PROCSNAP_RESTORE_PREFILL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/model.h"
#include "restore/stub.h"

/* One mapping's memory in the nursery, and the spool file it mirrors. */
struct ps_prefill_region {
	uint64_t start, end;
	dev_t dev;
	ino_t ino;
	struct ps_extent *filled;  /* pages written, sorted and merged once taken */
	size_t nfilled, cap;
	int valid;                 /* 0 once the file was changed another way */
};

/* An image's early fill; reference-counted, thread-safe. */
struct ps_prefill;

struct ps_prefill *ps_prefill_new(void);
void ps_prefill_get(struct ps_prefill *p);
/* The last reference ends the nursery if the restore did not take it. */
void ps_prefill_put(struct ps_prefill *p);

/* Start mirroring the spool file dev/ino, which holds the pages of the
 * mapping [start, end): the nursery (made on first use) maps that range. 0
 * or -errno (then the file is simply not mirrored). */
int ps_prefill_region(struct ps_prefill *p, uint64_t start, uint64_t end, dev_t dev, ino_t ino);

/* Bytes written at off of the region's file (page-aligned, whole pages)
 * are on disk: copy them into the nursery too. */
void ps_prefill_write(struct ps_prefill *p, uint64_t start, uint64_t off, const void *buf,
		      size_t len);

/* The region's file changed some other way: its pages are not to be used. */
void ps_prefill_drop(struct ps_prefill *p, uint64_t start);

/* None of it is to be used: end the nursery now. */
void ps_prefill_abandon(struct ps_prefill *p);

/* For the restore: the nursery and the regions still valid, sorted by
 * start, each with its filled runs sorted and merged; p is spent after.
 * Returns the number of regions (then *n is the caller's to hand to
 * ps_stub_create), 0 if there is nothing to take, or -errno. */
int ps_prefill_take(struct ps_prefill *p, struct ps_nursery *n, struct ps_prefill_region **out);
void ps_prefill_regions_free(struct ps_prefill_region *r, size_t count);

/* Whether pages [first, first + count) of r were all filled. */
int ps_prefill_covers(const struct ps_prefill_region *r, uint64_t first, uint64_t count);

#endif
