/* Caller mode: for a caller other than root, every object an image names is
 * opened, made, bound or watched by the stub with the caller's credentials. */
#ifndef PROCSNAP_RESTORE_AS_CALLER_H
#define PROCSNAP_RESTORE_AS_CALLER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "restore/rctx.h"

/* The stub's main thread takes the caller's uid, gid and the image's groups
 * (which validation proved are the caller's), with no effective
 * capabilities; leaving gives procsnap's back. Nothing for a root caller. 0
 * or -errno with err filled. */
int ps_caller_enter(struct ps_rctx *c);
int ps_caller_leave(struct ps_rctx *c);

/* Whether syscall nr may be injected now: one that resolves a path or a
 * socket address runs for a non-root caller only in caller mode, in the
 * main thread (ps_rcall asks before every injected syscall). */
int ps_caller_may_run(const struct ps_rctx *c, long nr);

/* Whether path, as written, goes through a link of /proc into what some
 * process sees (/proc/<pid>/root, cwd, exe, fd/, map_files/, ns/, also
 * under task/<tid>, and anything under /proc/self or /proc/thread-self),
 * which a caller other than root may not restore. link gets that part
 * ("/proc/1234/root"). */
int ps_proc_link_in(const char *path, char *link, size_t len);

/* The sentence of a refusal the kernel made for the caller: "fd 3: uid 1001
 * may not open /etc/shadow for reading (Permission denied)". deed is what
 * was tried ("open /etc/shadow for reading"), e the positive errno. */
void ps_caller_refusal(char *buf, size_t len, const char *who, uid_t uid, const char *deed,
		       int e);

/* Inject syscall nr, which reaches what deed names ("bind a socket to
 * /run/x.sock"), for who ("fd 4"). Its result, or -errno with err filled:
 * the refusal sentence above when the kernel denied a non-root caller. */
long ps_caller_call(struct ps_rctx *c, const char *who, const char *deed, long nr, uint64_t a0,
		    uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);

/* Open path, named by the image, in the stub: refused for a non-root
 * caller if it goes through a /proc link (as written, or through a symlink
 * the kernel meets: openat2 RESOLVE_NO_MAGICLINKS). The stub's new fd, or
 * -errno with err filled. */
long ps_caller_open(struct ps_rctx *c, const char *who, const char *path, int flags,
		    unsigned mode);

/* fstat of the stub's descriptor fd. 0 or -errno with err filled. */
int ps_caller_fstat(struct ps_rctx *c, const char *who, long fd, struct stat *st);

#endif
