/* The table of descriptor kinds: for each kind of fd, its name and the
 * functions that capture, encode, decode, check, restore and free it. */
#ifndef PROCSNAP_FD_KINDS_H
#define PROCSNAP_FD_KINDS_H

#include <stdint.h>

#include "image/model.h"

/* Declared by the layers the table points into; named here only so that
 * restore/ can include this header without jansson (json_t is struct json_t). */
struct json_t;
struct ps_jerr;
struct ps_fd_capture;    /* backend/fd_capture.h */
struct ps_check;      /* image/parts.h */
struct ps_probes;        /* restore/fd_restore.h */
struct ps_rctx;          /* restore/rctx.h */

/*
 * One row per kind. Every operation may be NULL: the kind has nothing to do
 * there. Unlike a part of the image (image/parts.h), which is a file of its
 * own, a kind is one entry of fds.json: its operations take the entry, and
 * what all entries share (number, flags, path, dups) is done around them.
 */
struct ps_fd_kind_ops {
	enum ps_fd_kind kind;
	const char *name;            /* the kind's own name: its files are fd_<name>.* */
	const char *anon_inode;      /* what /proc shows after "anon_inode:", or NULL */
	/* Its own state from the live process, once every fd of the process is
	 * listed and its dups known. A state that cannot be read marks f
	 * unsupported with the reason; only -ENOMEM fails. */
	int (*capture)(struct ps_fd_capture *cx, struct ps_fd *f);
	/* After every fd was captured: what needs the others (a socket's peer). */
	int (*capture_links)(struct ps_fd_capture *cx, struct ps_fd *f);
	/* Its fields of fds.json, written into o after "data" (in every entry,
	 * dup or unsupported: the kind decides what it writes then). */
	int (*encode)(struct json_t *o, const struct ps_fd *f);
	/* The same fields read back; f's common fields are decoded already. */
	int (*decode)(const struct json_t *j, struct ps_fd *f, struct ps_jerr *e);
	/* Checks against this system before a restore starts, for a supported
	 * fd that is no dup. 0, or -errno with the sentence in v->err. */
	int (*validate)(const struct ps_check *v, const struct ps_fd *f);
	/* Checks that look at the files the fd names, run as the caller
	 * (restore/validate.c forks for that). */
	int (*validate_files)(const struct ps_check *v, const struct ps_fd *f);
	/* The names the restore reaches as the caller (opens, makes, binds,
	 * watches), which are probed with its rights first. */
	int (*probes)(struct ps_probes *ps, const struct ps_fd *f);
	/* The fd made again in the stub at f->fd (supported, no dup). */
	int (*restore)(struct ps_rctx *c, const struct ps_fd *f);
	/* Once every fd exists (an epoll fd's registrations), for every entry
	 * of the kind, dups too. */
	int (*restore_links)(struct ps_rctx *c, const struct ps_fd *f);
	/* Frees what f->u holds for this kind. */
	void (*free)(struct ps_fd *f);
};

/* The row of kind k (PS_FD_KIND_OTHER for any value out of range). */
const struct ps_fd_kind_ops *ps_fd_kind_ops(enum ps_fd_kind k);
/* The row of f's kind. */
const struct ps_fd_kind_ops *ps_fd_ops(const struct ps_fd *f);

/* The kind of an anonymous inode by the name /proc shows ("eventfd"), or
 * PS_FD_KIND_OTHER for one procsnap does not save. */
enum ps_fd_kind ps_fd_kind_of_anon(const char *name);
/* The kind of a character device by its numbers: a terminal, or a file. */
enum ps_fd_kind ps_fd_kind_of_chr(uint32_t rdev_major);

/* fds.json's "kind" of f: "file", "eventpoll", "socket"..., NULL if none. */
const char *ps_fd_kind_json_name(const struct ps_fd *f);
/* f's kind from its type, device and support, for a socket the family of
 * its "socket" object (-1: none), for an anonymous inode fds.json's "kind"
 * name (NULL: none). A name other than the kind's own is kept in
 * f->kind_name, to be written back as it was. 0 or -ENOMEM. */
int ps_fd_kind_from_json_name(struct ps_fd *f, const char *name, int family);
/* f becomes of the catch-all kind, named name (copied). 0 or -ENOMEM. */
int ps_fd_set_other(struct ps_fd *f, const char *name);
/* f becomes of the catch-all kind under the "kind" name it had. */
int ps_fd_make_other(struct ps_fd *f);

#endif
