/* restore_threads_pc: producers and consumers over a bounded queue guarded by a
 * mutex and two condition variables. Producers put sequence numbers 1, 2, 3...
 * (each item with a checksum), consumers check each item they take is the last
 * one taken + 1: an item lost, duplicated or corrupted across a checkpoint is
 * caught the moment it is taken, and recorded. The queue is small and the two
 * sides alternate between bursts and pauses, so that a checkpoint finds
 * threads waiting on "not full", on "not empty", on the mutex, or running.
 * On SIGUSR2 the main thread reports: no error, items still flowing, and
 * produced - consumed == what the queue holds. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define QSIZE 8
#define NPROD 2
#define NCONS 2
#define MAGIC UINT64_C(0x9e3779b97f4a7c15)

struct item {
	uint64_t seq;
	uint64_t check;   /* seq * MAGIC: a torn or stale item does not match */
};

/* Everything below the mutex is guarded by it. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static struct item queue[QSIZE];
static unsigned head, len;              /* queue[head] is the oldest */
static struct {
	uint64_t produced;                  /* the last sequence number put */
	uint64_t consumed;                  /* the last sequence number taken */
	uint64_t per_consumer[NCONS];       /* items each consumer took */
	uint64_t per_producer[NPROD];       /* items each producer put */
} st;
static char error[256];                 /* the first inconsistency seen */

static volatile sig_atomic_t verify_requested;
static const char *results;
#define report(...) report_to(results, __VA_ARGS__)
static uint64_t last_consumed;          /* at the last verify (main thread only) */
static unsigned verifies;

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}


static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Bursts of `burst` items, each item `gap` us apart, then `rest` us idle:
 * producers and consumers have different rhythms, so the queue fills up
 * and runs dry in turn. */
struct rhythm {
	int burst;
	long gap, rest;
};

static void *producer(void *arg)
{
	long i = (long)arg;
	const struct rhythm r = i ? (struct rhythm){ 40, 0, 3000 } : (struct rhythm){ 7, 200, 1000 };

	for (int k = 0;; k++) {
		pthread_mutex_lock(&lock);
		while (len == QSIZE)
			pthread_cond_wait(&not_full, &lock);
		st.produced++;
		queue[(head + len) % QSIZE] = (struct item){ st.produced, st.produced * MAGIC };
		len++;
		st.per_producer[i]++;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&lock);
		if (r.gap)
			sleep_us(r.gap);
		if (k % r.burst == r.burst - 1)
			sleep_us(r.rest);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	long i = (long)arg;
	const struct rhythm r = i ? (struct rhythm){ 64, 0, 5000 } : (struct rhythm){ 5, 300, 700 };
	struct item it;

	for (int k = 0;; k++) {
		pthread_mutex_lock(&lock);
		while (len == 0)
			pthread_cond_wait(&not_empty, &lock);
		it = queue[head];
		head = (head + 1) % QSIZE;
		len--;
		if (!error[0] && it.check != it.seq * MAGIC)
			snprintf(error, sizeof(error), "consumer %ld took item %" PRIu64 " with check %#" PRIx64
				 ", not %#" PRIx64 " (corrupted)", i, it.seq, it.check, it.seq * MAGIC);
		else if (!error[0] && it.seq != st.consumed + 1)
			snprintf(error, sizeof(error), "consumer %ld took item %" PRIu64 " after %" PRIu64 ": %s",
				 i, it.seq, st.consumed, it.seq <= st.consumed ? "duplicated" : "items lost");
		st.consumed = it.seq;
		st.per_consumer[i]++;
		pthread_cond_signal(&not_full);
		pthread_mutex_unlock(&lock);
		if (r.gap)
			sleep_us(r.gap);
		if (k % r.burst == r.burst - 1)
			sleep_us(r.rest);
	}
	return NULL;
}

static void verify(void)
{
	uint64_t produced, consumed, by_consumers = 0, by_producers = 0, c0;
	unsigned queued;
	char err[sizeof(error)];

	verifies++;
	pthread_mutex_lock(&lock);
	c0 = st.consumed;
	pthread_mutex_unlock(&lock);
	sleep_us(200 * 1000);
	pthread_mutex_lock(&lock);
	produced = st.produced;
	consumed = st.consumed;
	queued = len;
	for (int i = 0; i < NCONS; i++)
		by_consumers += st.per_consumer[i];
	for (int i = 0; i < NPROD; i++)
		by_producers += st.per_producer[i];
	memcpy(err, error, sizeof(err));
	/* What the queue holds must be consumed+1 .. produced, in order. */
	for (unsigned k = 0; k < len && !err[0]; k++)
		if (queue[(head + k) % QSIZE].seq != consumed + 1 + k)
			snprintf(err, sizeof(err), "queue slot %u holds %" PRIu64 ", expected %" PRIu64, k,
				 queue[(head + k) % QSIZE].seq, consumed + 1 + k);
	pthread_mutex_unlock(&lock);

	if (err[0])
		report("FAIL verify %u: %s", verifies, err);
	else if (consumed <= c0 || consumed <= last_consumed)
		report("FAIL verify %u: nothing consumed in 200 ms (stuck at %" PRIu64 ", last verify %" PRIu64 ")",
		       verifies, consumed, last_consumed);
	else if (produced - consumed != queued)
		report("FAIL verify %u: produced %" PRIu64 " - consumed %" PRIu64 " != %u queued", verifies,
		       produced, consumed, queued);
	else if (by_consumers != consumed || by_producers != produced)
		report("FAIL verify %u: consumers took %" PRIu64 " items and producers put %" PRIu64
		       ", but the sequence is at %" PRIu64 " taken, %" PRIu64 " put", verifies,
		       by_consumers, by_producers, consumed, produced);
	else
		report("OK verify %u: items 1..%" PRIu64 " taken in order, none lost or repeated; %u queued",
		       verifies, consumed, queued);
	last_consumed = consumed;
}

/* Usage: restore_threads_pc RESULTS */
int main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t usr2, old;
	pthread_t t;

	if (argc != 2) {
		fprintf(stderr, "usage: restore_threads_pc RESULTS\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	results = argv[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	/* SIGUSR2 only for the main thread: the others are born with it blocked. */
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, &old);
	for (long i = 0; i < NPROD; i++)
		if (pthread_create(&t, NULL, producer, (void *)i) != 0)
			return 1;
	for (long i = 0; i < NCONS; i++)
		if (pthread_create(&t, NULL, consumer, (void *)i) != 0)
			return 1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	printf("READY pid=%d consumed=%p produced=%p\n", (int)getpid(), (void *)&st.consumed,
	       (void *)&st.produced);
	fflush(stdout);
	for (;;) {
		sigset_t none;

		sigemptyset(&none);
		pthread_sigmask(SIG_BLOCK, &usr2, NULL);
		while (!verify_requested)
			sigsuspend(&none);   /* the main thread waits in sigsuspend */
		verify_requested = 0;
		pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);
		verify();
	}
}
