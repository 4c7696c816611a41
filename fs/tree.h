/* The mounted tree: /, /self, /<pid>/ served from held snapshots, /restore
 * handed to spool_ops; every FUSE operation except init and destroy. */
#ifndef PROCSNAP_TREE_H
#define PROCSNAP_TREE_H

struct fuse_operations;

/* allow_other: callers other than root see and snapshot only the
 * processes they could ptrace. */
void ps_tree_setup(int allow_other);

/* Fill ops with the tree's operations; init and destroy are left NULL for
 * the caller, which owns the daemon's lifecycle. */
void ps_tree_operations(struct fuse_operations *ops);

/* Free every handle still open when the filesystem goes away (the kernel
 * will never release them), giving back their holds. Call from destroy,
 * before the holds are stopped. */
void ps_tree_close_all(void);

#endif
