/* procsnap's log: every fuse_log line goes to stderr in the foreground or to
 * syslog once daemonized, and with -o log=FILE to that file as well. */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <fuse_log.h>

#include "backend/fileio.h"
#include "fs/log.h"

#define LINE_MAX_LEN 2048

static struct {
	int fd;          /* -o log=FILE, or -1 */
	int syslog;      /* daemonized: no stderr any more */
} L = { .fd = -1 };

/* "2026-01-31 12:00:00 [1234] " then the line, in one write(): with
 * O_APPEND the kernel keeps lines of concurrent threads whole. */
static void write_file_line(const char *line)
{
	char buf[LINE_MAX_LEN + 64];
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, " [%d] %s", (int)getpid(), line);
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (buf[n - 1] != '\n')
		buf[n++] = '\n';
	/* a failure has nowhere left to be told */
	ps_write_all(L.fd, buf, n, -1);
}

static void log_line(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char line[LINE_MAX_LEN];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (L.syslog)
		syslog((int)level, "%s", line);   /* fuse_log_level is syslog's, one to one */
	else
		fputs(line, stderr);
	if (L.fd >= 0)
		write_file_line(line);
}

int ps_log_start(const char *file, char *err, size_t errlen)
{
	if (file) {
		/* 0600: refusals name other users' processes and files */
		L.fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
		if (L.fd < 0) {
			int e = errno;

			snprintf(err, errlen, "cannot open the log file %s: %s", file, strerror(e));
			return -e;
		}
	}
	fuse_set_log_func(log_line);
	return 0;
}

void ps_log_to_syslog(void)
{
	openlog("procsnap", LOG_PID, LOG_DAEMON);
	L.syslog = 1;
}

void ps_log_stop(void)
{
	fuse_set_log_func(NULL);
	if (L.syslog)
		closelog();
	L.syslog = 0;
	if (L.fd >= 0)
		close(L.fd);
	L.fd = -1;
}
