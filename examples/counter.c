/* counter: increments a counter in static memory thousands of times a second
 * and prints it every second, so a snapshot or a restore can be seen at work. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* The state worth saving: read it out of memory/<start>-<end> at its address. */
static volatile uint64_t counter;

int main(void)
{
	const struct timespec pause = { 0, 100 * 1000 };   /* 100 us */
	struct timespec now;
	time_t last;

	printf("READY pid=%ld addr=%p\n", (long)getpid(), (void *)&counter);
	fflush(stdout);

	clock_gettime(CLOCK_MONOTONIC, &now);
	last = now.tv_sec;
	for (;;) {
		counter++;
		nanosleep(&pause, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec != last) {
			last = now.tv_sec;
			printf("count=%" PRIu64 "\n", counter);
			fflush(stdout);
		}
	}
}
