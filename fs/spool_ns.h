/* Whose images a path of restore/ names: every user has a namespace of her
 * own in the spool (images/<uid>/), and root sees everyone's. */
#ifndef PROCSNAP_SPOOL_NS_H
#define PROCSNAP_SPOOL_NS_H

#include <limits.h>
#include <sys/types.h>

/* A path below restore/ as its caller means it, as a path below the spool's
 * images/ directory: "<uid>/<path>" in the caller's own namespace. Root
 * names user 1001's image "img" as "img@1001" (so restore/ lists it to
 * root), and may read and remove it but not write it: whoever completes
 * an image restores it with their own rights, which must be its owner's. */
struct ps_place {
	char path[PATH_MAX];
	int foreign;         /* root, in another user's namespace */
};

/* 0, -EINVAL for a "." or ".." in rel, -ENAMETOOLONG. */
int ps_ns_place(const char *rel, uid_t caller, struct ps_place *p);

/* Make sure the namespace path lies in exists (images/<uid>, 0700, root's:
 * the files in it are its user's, the directory is procsnap's). */
int ps_ns_ensure(int images_fd, const char *path);

/* Root's listing of restore/ beyond its own images: every other user's
 * top-level entries as "<name>@<uid>", with their d_type bits. Stops when fn
 * returns nonzero. 0 or -errno. */
typedef int (*ps_ns_entry_fn)(void *ctx, const char *name, mode_t type);
int ps_ns_list_others(int images_fd, ps_ns_entry_fn fn, void *ctx);

#endif
