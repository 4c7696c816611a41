/* procsnap's command line: the mount point, procsnap's own options (hold=,
 * spool=, log=, keep_staged, -f, -d) and the rest handed to libfuse. */
#ifndef PROCSNAP_OPTIONS_H
#define PROCSNAP_OPTIONS_H

#include <fuse_opt.h>

#define PS_DEFAULT_HOLD 2.0
#define PS_DEFAULT_SPOOL "/var/lib/procsnap/spool"

struct ps_options {
	char *mountpoint;       /* absolute (realpath), malloc'd */
	double hold;            /* seconds a snapshot outlives its last handle */
	char *spool;            /* spool directory as given, malloc'd */
	int foreground;         /* -f or -d: do not daemonize */
	int allow_other;        /* -o allow_other: check callers' rights */
	int timens;             /* -o timens: restored processes' monotonic time goes on */
	int keep_staged;        /* -o keep_staged: a restored image stays in the spool */
	char *log;              /* -o log=FILE: every log line goes there too, malloc'd */
	struct fuse_args args;  /* what fuse_new gets */
};

/* Parse argv. Returns 0 to go on, 1 when --help or --version was printed
 * (exit 0), -1 after printing a one-line error to stderr (exit 1). */
int ps_options_parse(int argc, char **argv, struct ps_options *o);

void ps_options_free(struct ps_options *o);

#endif
