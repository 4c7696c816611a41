/* restore_clock: notes CLOCK_MONOTONIC and CLOCK_BOOTTIME when it starts; on
 * SIGUSR2 reports how far both went since, and its time namespace's inode. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

static volatile sig_atomic_t verify_requested;

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}

static long long now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Its time namespace, as the inode of the namespace link (0: unknown). */
static unsigned long long time_ns(void)
{
	struct stat st;

	return stat("/proc/self/ns/time", &st) < 0 ? 0 : (unsigned long long)st.st_ino;
}

static void verify(const char *results, long long mono0, long long boot0)
{
	long long mono = now_ns(CLOCK_MONOTONIC), boot = now_ns(CLOCK_BOOTTIME);

	FAIL_IF(results, mono < mono0, "CLOCK_MONOTONIC went back: %lld ns at the start, %lld now",
		mono0, mono);
	FAIL_IF(results, boot < boot0, "CLOCK_BOOTTIME went back: %lld ns at the start, %lld now",
		boot0, boot);
	report_to(results, "OK mono_elapsed_ms=%lld boot_elapsed_ms=%lld time_ns=%llu",
		  (mono - mono0) / 1000000, (boot - boot0) / 1000000, time_ns());
}

/* Usage: restore_clock RESULTS */
int main(int argc, char **argv)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	long long mono0 = now_ns(CLOCK_MONOTONIC), boot0 = now_ns(CLOCK_BOOTTIME);
	struct sigaction sa;

	if (argc != 2) {
		fprintf(stderr, "usage: restore_clock RESULTS\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	printf("READY pid=%d\n", (int)getpid());
	fflush(stdout);
	for (;;) {
		if (verify_requested) {
			verify_requested = 0;
			verify(argv[1], mono0, boot0);
		}
		nanosleep(&tick, NULL);
	}
}
