/* What the target programs share: the results file (each verdict one line,
 * written in one write() so that a reader never sees half of it), the loop
 * in which they wait to be told to check themselves, and /proc lookups. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

void report_to(const char *path, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, (size_t)n) != n)
		fprintf(stderr, "%s: cannot write %s: %s\n", program_invocation_short_name, path,
			strerror(errno));
	if (fd >= 0)
		close(fd);
}

void serve_verify(volatile sig_atomic_t *requested, void (*verify)(const char *results),
		  const char *results)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (;;) {
		if (*requested) {
			*requested = 0;
			verify(results);
		}
		nanosleep(&tick, NULL);
	}
}

int thread_syscall(pid_t tid)
{
	char path[64], buf[128] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf[0] >= '0' && buf[0] <= '9' ? atoi(buf) : -1;
}
