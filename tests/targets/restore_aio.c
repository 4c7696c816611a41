/* restore_aio: three AIO contexts: one with reaped events behind it and K
 * completed writes not yet reaped, one whose unreaped events wrap around
 * the end of its ring, one never used, and a gap in their ids (a context
 * destroyed); on SIGUSR2 checks the rings (as libaio's fast path reads
 * them, ids included), io_getevents, and new requests. */
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "report.h"

#define REAPED 3       /* events reaped before the checkpoint: head moves on */
#define PENDING 5      /* completed, left in the ring */
#define CHUNK 512
#define WRAP_REAPED 120   /* of the 127 slots a ring of io_setup(16) has */
#define WRAP_PENDING 10

struct ring {
	uint32_t id, nr, head, tail, magic, compat_features, incompat_features, header_length;
	struct io_event events[];
};

static volatile sig_atomic_t verify_requested;
static aio_context_t busy, idle, wrapped;
static uint32_t ids[3];   /* busy's, idle's and wrapped's ring id */
static int file_fd;
static struct iocb cbs[REAPED + PENDING];
static char bufs[REAPED + PENDING][CHUNK];

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}

static long submit(aio_context_t ctx, struct iocb *cb)
{
	struct iocb *list[1] = { cb };

	return syscall(SYS_io_submit, ctx, 1L, list);
}

static void prepare(int i)
{
	memset(bufs[i], 'a' + i, CHUNK);
	cbs[i].aio_lio_opcode = IOCB_CMD_PWRITE;
	cbs[i].aio_fildes = (uint32_t)file_fd;
	cbs[i].aio_buf = (uint64_t)(uintptr_t)bufs[i];
	cbs[i].aio_nbytes = CHUNK;
	cbs[i].aio_offset = (int64_t)i * CHUNK;
	cbs[i].aio_data = 1000 + (uint64_t)i;
}

/* The ring as the program reads it without a syscall. */
static int check_ring(char *why)
{
	const struct ring *r = (const struct ring *)busy;

	CHECK_WHY(r->magic != 0xa10a10a1, "ring magic is 0x%x", r->magic);
	CHECK_WHY(r->head != REAPED || r->tail != REAPED + PENDING,
		  "ring head/tail are %u/%u, want %d/%d", r->head, r->tail, REAPED, REAPED + PENDING);
	for (int i = REAPED; i < REAPED + PENDING; i++) {
		const struct io_event *ev = &r->events[i];

		CHECK_WHY(ev->data != 1000 + (uint64_t)i || ev->obj != (uint64_t)(uintptr_t)&cbs[i] ||
			  ev->res != CHUNK || ev->res2 != 0,
			  "ring slot %d holds data %llu obj %llx res %lld", i,
			  (unsigned long long)ev->data, (unsigned long long)ev->obj, (long long)ev->res);
	}
	return 0;
}

static int check_getevents(char *why)
{
	struct io_event ev[PENDING + 1];
	struct timespec zero = { 0, 0 };
	long n = syscall(SYS_io_getevents, busy, 0L, (long)PENDING + 1, ev, &zero);

	CHECK_WHY(n != PENDING, "io_getevents returned %ld (%s), want %d", n,
		  n < 0 ? strerror(errno) : "events", PENDING);
	for (int i = 0; i < PENDING; i++)
		CHECK_WHY(ev[i].data != 1000 + (uint64_t)(REAPED + i) ||
			  ev[i].obj != (uint64_t)(uintptr_t)&cbs[REAPED + i] || ev[i].res != CHUNK,
			  "event %d: data %llu res %lld", i, (unsigned long long)ev[i].data,
			  (long long)ev[i].res);
	return 0;
}

/* A new write on ctx completes and is reaped with io_getevents. */
static int check_new_request(aio_context_t ctx, const char *name, char *why)
{
	struct io_event ev;
	struct timespec second = { 1, 0 };
	long n;

	prepare(0);
	cbs[0].aio_data = 4242;
	CHECK_WHY(submit(ctx, &cbs[0]) != 1, "io_submit on the %s context: %s", name, strerror(errno));
	n = syscall(SYS_io_getevents, ctx, 1L, 1L, &ev, &second);
	CHECK_WHY(n != 1 || ev.data != 4242 || ev.res != CHUNK,
		  "the new request on the %s context: io_getevents gave %ld", name, n);
	return 0;
}

/* Its events are in slots 120..126 then 0..2: io_getevents returns them in order. */
static int check_wrapped(char *why)
{
	const struct ring *r = (const struct ring *)wrapped;
	struct io_event ev[WRAP_PENDING + 1];
	struct timespec zero = { 0, 0 };
	long n;

	CHECK_WHY(r->head != WRAP_REAPED || r->tail != (WRAP_REAPED + WRAP_PENDING) % r->nr,
		  "wrapped ring head/tail are %u/%u", r->head, r->tail);
	n = syscall(SYS_io_getevents, wrapped, 0L, (long)WRAP_PENDING + 1, ev, &zero);
	CHECK_WHY(n != WRAP_PENDING, "io_getevents on the wrapped ring returned %ld", n);
	for (int i = 0; i < WRAP_PENDING; i++)
		CHECK_WHY(ev[i].data != 5000 + (uint64_t)i || ev[i].res != CHUNK,
			  "wrapped event %d: data %llu", i, (unsigned long long)ev[i].data);
	return 0;
}

static int check_ids(char *why)
{
	const aio_context_t ctx[3] = { busy, idle, wrapped };

	for (int i = 0; i < 3; i++)
		CHECK_WHY(((const struct ring *)ctx[i])->id != ids[i], "ring %d has id %u, want %u", i,
			  ((const struct ring *)ctx[i])->id, ids[i]);
	return 0;
}

static void verify(const char *results)
{
	char why[WHY_LEN];

	if (check_ids(why) || check_ring(why) || check_getevents(why) || check_wrapped(why) ||
	    check_new_request(busy, "busy", why) || check_new_request(idle, "idle", why) ||
	    check_new_request(wrapped, "wrapped", why)) {
		report_to(results, "FAIL %s", why);
		return;
	}
	report_to(results, "OK AIO ring at 0x%llx: head, tail and %d unreaped events as before, "
		  "io_getevents returned them; %d events wrapping around a ring's end too; new "
		  "requests work on all three contexts", (unsigned long long)busy, PENDING,
		  WRAP_PENDING);
}

/* WRAP_REAPED writes submitted and reaped, then WRAP_PENDING left. */
static int fill_wrapped(void)
{
	struct io_event ev;
	struct iocb cb;

	if (syscall(SYS_io_setup, 16L, &wrapped) < 0)
		return -1;
	for (int i = 0; i < WRAP_REAPED + WRAP_PENDING; i++) {
		memset(&cb, 0, sizeof(cb));
		cb.aio_lio_opcode = IOCB_CMD_PWRITE;
		cb.aio_fildes = (uint32_t)file_fd;
		cb.aio_buf = (uint64_t)(uintptr_t)bufs[0];
		cb.aio_nbytes = CHUNK;
		cb.aio_data = i < WRAP_REAPED ? 0 : 5000 + (uint64_t)(i - WRAP_REAPED);
		if (submit(wrapped, &cb) != 1)
			return -1;
		if (i < WRAP_REAPED && syscall(SYS_io_getevents, wrapped, 1L, 1L, &ev, NULL) != 1)
			return -1;
	}
	return 0;
}

/* Usage: restore_aio RESULTS DIR */
int main(int argc, char **argv)
{
	struct io_event ev[REAPED];
	aio_context_t gap = 0;
	struct sigaction sa;
	char path[4096];

	if (argc != 3) {
		fprintf(stderr, "usage: restore_aio RESULTS DIR\n");
		return 2;
	}
	close_range(3, ~0U, 0);
	snprintf(path, sizeof(path), "%s/aio.dat", argv[2]);
	file_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (file_fd < 0 || syscall(SYS_io_setup, 16L, &busy) < 0 ||
	    syscall(SYS_io_setup, 1L, &gap) < 0 || syscall(SYS_io_setup, 200L, &idle) < 0) {
		perror("restore_aio: setup");
		return 1;
	}
	for (int i = 0; i < REAPED + PENDING; i++) {
		prepare(i);
		if (submit(busy, &cbs[i]) != 1) {
			perror("restore_aio: io_submit");
			return 1;
		}
		/* Buffered writes complete inside io_submit; the first ones are reaped. */
		if (i == REAPED - 1 && syscall(SYS_io_getevents, busy, (long)REAPED, (long)REAPED, ev,
					       NULL) != REAPED) {
			perror("restore_aio: io_getevents");
			return 1;
		}
	}
	if (fill_wrapped() < 0 || syscall(SYS_io_destroy, gap) < 0) {
		perror("restore_aio: the wrapped ring, the gap");
		return 1;
	}
	ids[0] = ((struct ring *)busy)->id;
	ids[1] = ((struct ring *)idle)->id;
	ids[2] = ((struct ring *)wrapped)->id;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	printf("READY pid=%d busy=0x%llx idle=0x%llx tail=%u ids=%u,%u,%u\n", (int)getpid(),
	       (unsigned long long)busy, (unsigned long long)idle, ((struct ring *)busy)->tail,
	       ids[0], ids[1], ids[2]);
	fflush(stdout);
	serve_verify(&verify_requested, verify, argv[1]);
}
