/* threads: N threads (the main one included), each named and counting in its
 * own slot of a static array, to test that every thread is frozen and saved. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

/* One counter per thread, a cache line apart so they do not share lines. */
static volatile uint64_t counters[MAX_THREADS][8];
static pid_t tids[MAX_THREADS];
static pthread_barrier_t started;

static void count_forever(long i)
{
	const struct timespec pause = { 0, 200 * 1000 };   /* 200 us */

	for (;;) {
		/* Alternate a short spin and a short sleep, so that a freeze
		 * finds threads both running and inside a syscall. */
		for (int k = 0; k < 1000; k++)
			counters[i][0]++;
		nanosleep(&pause, NULL);
	}
}

static void *work(void *arg)
{
	long i = (long)arg;

	tids[i] = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&started);
	count_forever(i);
	return NULL;
}

/* Usage: threads [N]: N threads in all, default 8; thread i is "worker<i>"
 * (the main thread, worker 0, keeps the program's name). */
int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 8;

	if (n < 1 || n > MAX_THREADS) {
		fprintf(stderr, "threads: N must be 1..%d\n", MAX_THREADS);
		return 2;
	}
	pthread_barrier_init(&started, NULL, (unsigned)n);   /* workers + main */
	for (long i = 1; i < n; i++) {
		pthread_t t;
		char name[16];

		if (pthread_create(&t, NULL, work, (void *)i) != 0) {
			fprintf(stderr, "threads: pthread_create failed\n");
			return 1;
		}
		snprintf(name, sizeof(name), "worker%ld", i);
		pthread_setname_np(t, name);
	}
	tids[0] = getpid();
	pthread_barrier_wait(&started);   /* every worker has its tid */
	printf("READY tids=");
	for (long i = 0; i < n; i++)
		printf("%s%ld", i ? "," : "", (long)tids[i]);
	printf(" addrs=");
	for (long i = 0; i < n; i++)
		printf("%s%p", i ? "," : "", (void *)&counters[i][0]);
	printf("\n");
	fflush(stdout);
	count_forever(0);
}
