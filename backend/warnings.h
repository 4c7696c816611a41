/* Warnings of the backend (what it did that a user may want to know but
 * that fails nothing), sent where the FUSE layer logs. */
#ifndef PROCSNAP_WARNINGS_H
#define PROCSNAP_WARNINGS_H

typedef void (*ps_log_fn)(const char *line);

/* Where warnings go; until set, to stderr. */
void ps_log_set_sink(ps_log_fn fn);

void ps_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
