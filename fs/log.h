/* procsnap's log: where each line goes (stderr in the foreground, syslog
 * once daemonized, and a file of the operator's with -o log=FILE). */
#ifndef PROCSNAP_LOG_H
#define PROCSNAP_LOG_H

#include <stddef.h>

/* Take over fuse_log, writing to stderr. file (may be NULL): also append
 * every line to it, opened now, before the daemon changes directory.
 * 0 or -errno with a sentence in err. */
int ps_log_start(const char *file, char *err, size_t errlen);

/* The daemon has no stderr any more: lines go to syslog instead. */
void ps_log_to_syslog(void);

void ps_log_stop(void);

#endif
