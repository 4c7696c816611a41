/* Shared anonymous memory objects mapped more than once (or privately too):
 * one object made again, each of its mappings a view of it. */
#ifndef PROCSNAP_RESTORE_SHARED_MEMORY_H
#define PROCSNAP_RESTORE_SHARED_MEMORY_H

#include "restore/rctx.h"

struct ps_shmem_objects;

struct ps_shmem_objects *ps_shmem_objects_new(void);

/* Whether m maps a shared anonymous memory object of the image (a shmem
 * mapping, or a private mapping of such an object's file). */
int ps_shmem_is_object(const struct ps_rctx *c, const struct ps_mapping *m);

/* Make the shared mapping m at its address with prot, as a view of its
 * object (made at the first of its mappings). */
int ps_shmem_map(struct ps_rctx *c, struct ps_shmem_objects *o, const struct ps_mapping *m,
		 int prot);

/* A descriptor in the stub of m's object, to map it privately. */
long ps_shmem_fd(struct ps_rctx *c, struct ps_shmem_objects *o, const struct ps_mapping *m);

/* Unmap the objects' own mappings and close their descriptors; free o. */
void ps_shmem_objects_end(struct ps_rctx *c, struct ps_shmem_objects *o);

#endif
