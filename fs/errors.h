/* Why an access below /<pid>/ was refused, kept for the caller who made it
 * and served to that caller alone as /.errors/<pid>. */
#ifndef PROCSNAP_ERRORS_H
#define PROCSNAP_ERRORS_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* Keep for uid that its access to pid failed with -err, because of
 * sentence; replaces what uid had for pid. The oldest go first: at most
 * PS_ERRORS_PER_UID per caller, PS_ERRORS_MAX in all. */
#define PS_ERRORS_PER_UID 64
#define PS_ERRORS_MAX 1024
void ps_errors_note(uid_t uid, pid_t pid, int err, const char *sentence);

/* uid's access to pid worked: what it had for pid is no longer the news. */
void ps_errors_clear(uid_t uid, pid_t pid);

/* uid's text for pid ("<strerror>: <sentence>\n") into buf, and when it
 * was noted. 0, or -ENOENT if there is none. Texts are shorter than
 * PS_ERRORS_TEXT_MAX. */
#define PS_ERRORS_TEXT_MAX 640
int ps_errors_text(uid_t uid, pid_t pid, char *buf, size_t len, struct timespec *when);

/* Each pid uid has a text for; stops when fn returns nonzero. */
void ps_errors_list(uid_t uid, int (*fn)(void *ctx, pid_t pid), void *ctx);

#endif
