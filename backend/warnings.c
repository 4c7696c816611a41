/* Warnings of the backend, one line each, handed to the sink the FUSE layer
 * sets (its log: stderr, a file or syslog). */
#include <stdarg.h>
#include <stdio.h>

#include "backend/warnings.h"

static void to_stderr(const char *line)
{
	fprintf(stderr, "procsnap: %s\n", line);
}

static ps_log_fn sink = to_stderr;

void ps_log_set_sink(ps_log_fn fn)
{
	sink = fn ? fn : to_stderr;
}

void ps_warn(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	sink(line);
}
