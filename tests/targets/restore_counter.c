/* restore_counter: counts in static memory and appends "n=<count>" to LOG every
 * 10 ms; on SIGUSR2 checks that LOG holds 1..count once each, in order. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

static volatile uint64_t counter;            /* the state a restore must keep */
static volatile sig_atomic_t verify_requested;
static char write_error[128];                /* the first failed append, if any */

static void on_usr2(int sig)
{
	verify_requested = 1;
}

/* LOG must be exactly "n=1\n" .. "n=<counter>\n". */
static void verify(const char *results, const char *log)
{
	uint64_t want = 1, got;
	char line[64];
	FILE *f;

	if (write_error[0]) {
		report_to(results, "FAIL %s", write_error);
		return;
	}
	f = fopen(log, "r");
	if (!f) {
		report_to(results, "FAIL cannot open %s: %s", log, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "n=%" SCNu64, &got) != 1 || got != want) {
			report_to(results, "FAIL log line %" PRIu64 " is '%.*s', expected n=%" PRIu64,
			       want, (int)strcspn(line, "\n"), line, want);
			fclose(f);
			return;
		}
		want++;
	}
	fclose(f);
	if (want - 1 != counter)
		report_to(results, "FAIL log ends at n=%" PRIu64 " but the counter is %" PRIu64,
		       want - 1, counter);
	else
		report_to(results, "OK count=%" PRIu64 ": log lines n=1..%" PRIu64 " in order, none missing",
		       counter, counter);
}

/* Usage: restore_counter RESULTS LOG */
int main(int argc, char **argv)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };   /* 10 ms */
	struct sigaction sa;
	char line[64];
	int logfd, n;

	if (argc != 3) {
		fprintf(stderr, "usage: restore_counter RESULTS LOG\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	logfd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (logfd < 0) {
		perror(argv[2]);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);

	printf("READY pid=%d addr=%p logfd=%d\n", (int)getpid(), (void *)&counter, logfd);
	fflush(stdout);

	for (;;) {
		if (verify_requested) {
			verify_requested = 0;
			verify(argv[1], argv[2]);
		}
		counter++;
		n = snprintf(line, sizeof(line), "n=%" PRIu64 "\n", counter);
		if (write(logfd, line, (size_t)n) != n && !write_error[0])
			snprintf(write_error, sizeof(write_error), "append of n=%" PRIu64 " to fd %d: %s",
				 counter, logfd, strerror(errno));
		nanosleep(&tick, NULL);
	}
}
