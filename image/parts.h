/* The parts of a process's state, one row each: the file of the image it is
 * in and its operations in every layer (capture, codec, checks, free). */
#ifndef PROCSNAP_PARTS_H
#define PROCSNAP_PARTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/model.h"

/* json_t is jansson's struct json_t: named here, so that restore/, which
 * includes this header for struct ps_check, never sees jansson. */
struct json_t;
struct ps_capture;
struct ps_remote;

/* What a part's checks before a restore see: the image, the directory it
 * is in, and who asks for the restore. */
struct ps_check {
	const struct ps_model *m;
	const char *dir;
	uid_t uid;                 /* the caller */
	gid_t gid;
	char *err;
	size_t errlen;
};

/*
 * A part is a file (or, for registers, a file per thread) of the image: its
 * operations take the whole model, because a part's checks and restore read
 * other parts (a timer names a thread, memory the exe). The descriptors are
 * one part here; fds.json's entries are dispatched by their own table of
 * descriptor kinds (image/fd_kinds.h), whose operations take one entry.
 *
 * The rows are in the order of the files in image.json: capture fills them
 * in that order, encode writes them in it, loading reads them in it.
 *
 * Restoring is not a row's operation: the parts' restore steps interleave
 * (memory's trampoline brackets everything, fds come before the layout,
 * registers last), so restore/restorer.c runs them in one explicit list,
 * each step naming its part; their declarations are in restore/part_restore.h.
 */
struct ps_part {
	const char *name;          /* "process", "memory", ... */
	/* Its JSON file in the image, or NULL when its keys are in another
	 * part's file (timers: the end of process.json, written and read by
	 * that file's codec through image/timers_json.c). */
	const char *file;
	int per_thread;            /* one file per thread: registers/<tid>.json */
	/* Images made before the part existed lack its file: then it is not
	 * read, and the part's model stays zero. */
	int optional;
	uint64_t max_size;         /* of its file on disk (image/image_limits.h) */
	size_t max_memory;         /* parsing it may take */

	/* backend/<part>.c, in three passes over all parts: what /proc and
	 * ptrace show of the stopped process; what only a syscall inside it
	 * gives, in each thread's remote session (thread 0: the main one);
	 * what must wait until no scratch page is mapped (the address space). */
	int (*capture)(struct ps_capture *c, char *err, size_t errlen);
	int (*capture_remote)(struct ps_remote *r, uint64_t scratch, struct ps_model *m,
			      size_t thread, char *err, size_t errlen);
	int (*capture_late)(struct ps_capture *c, char *err, size_t errlen);

	/* image/<part>_json.c: its file for thread (0 but for registers); a
	 * new reference, NULL on ENOMEM. */
	struct json_t *(*encode)(const struct ps_model *m, size_t thread);
	/* Fill the part (the slot m->threads[thread] for registers) from its
	 * file, checked against image.json (m->meta) and the parts before
	 * it. 0 or -errno with err naming the file and field. */
	int (*decode)(const struct json_t *j, struct ps_model *m, size_t thread, char *err, size_t errlen);

	/* restore/<part>.c: what this system and this image must be for the
	 * restore to start; 0 or -errno with err saying why not. Runs as
	 * procsnap, before anything is created (restore/validate.c). */
	int (*validate)(const struct ps_check *v);
	/* The same, for what the caller reaches by name (files): run in a
	 * child that has taken the caller's ids. */
	int (*validate_as_caller)(const struct ps_check *v);

	void (*free)(struct ps_model *m);
};

extern const struct ps_part ps_parts[];
extern const size_t ps_nparts;

#endif
