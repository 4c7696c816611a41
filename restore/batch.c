/* A queue of syscalls for the stub, run there in one go by a small loop on
 * the trampoline's code page: one resume of the stub for many syscalls. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>

#include "backend/fault_point.h"
#include "restore/as_caller.h"
#include "restore/batch.h"

/*
 * The trampoline's code. r12 points at the table, r13 counts its entries;
 * `syscall` clobbers only rax, rcx and r11, so both survive each call.
 * An entry is { nr, a0..a5, ret }, 64 bytes.
 */
static const unsigned char code[] = {
	0x0f, 0x05,                         /* 00: syscall            (ps_rcall's) */
	0x4d, 0x85, 0xed,                   /* 02: loop: test r13, r13 */
	0x74, 0x3a,                         /* 05: je done            (-> 41) */
	0x49, 0x8b, 0x04, 0x24,             /* 07: mov rax, [r12] */
	0x49, 0x8b, 0x7c, 0x24, 0x08,       /* 0b: mov rdi, [r12+8] */
	0x49, 0x8b, 0x74, 0x24, 0x10,       /* 10: mov rsi, [r12+16] */
	0x49, 0x8b, 0x54, 0x24, 0x18,       /* 15: mov rdx, [r12+24] */
	0x4d, 0x8b, 0x54, 0x24, 0x20,       /* 1a: mov r10, [r12+32] */
	0x4d, 0x8b, 0x44, 0x24, 0x28,       /* 1f: mov r8, [r12+40] */
	0x4d, 0x8b, 0x4c, 0x24, 0x30,       /* 24: mov r9, [r12+48] */
	0x0f, 0x05,                         /* 29: syscall */
	0x49, 0x89, 0x44, 0x24, 0x38,       /* 2b: mov [r12+56], rax */
	0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff, /* 30: cmp rax, -4095 */
	0x73, 0x09,                         /* 36: jae done           (unsigned: an -errno) */
	0x49, 0x83, 0xc4, 0x40,             /* 38: add r12, 64 */
	0x49, 0xff, 0xcd,                   /* 3c: dec r13 */
	0xeb, 0xc1,                         /* 3f: jmp loop           (-> 02) */
	0xcc,                               /* 41: done: int3 */
};

#define LOOP_AT 0x02
#define DONE_AT 0x41

struct entry {
	uint64_t nr, a[6], ret;
};

struct ps_batch {
	uint64_t table;                 /* in the stub: PS_BATCH_MAX entries */
	uint64_t data_at;               /* in the stub: PS_BATCH_DATA bytes after them */
	size_t n, data_used;
	struct entry e[PS_BATCH_MAX];
	char *what[PS_BATCH_MAX];       /* each entry's sentence prefix */
	unsigned char placed[PS_BATCH_MAX];  /* its result must be its a0 (mmap) */
	unsigned char data[PS_BATCH_DATA];
};

_Static_assert(sizeof(struct entry) == 64, "the executor steps 64 bytes an entry");
_Static_assert(sizeof(code) == DONE_AT + 1 && sizeof(code) <= 4096,
	       "the executor fits the trampoline's code page, int3 last");

const unsigned char *ps_batch_code(size_t *len)
{
	*len = sizeof(code);
	return code;
}

int ps_batch_begin(struct ps_rctx *c, uint64_t area)
{
	c->batch = calloc(1, sizeof(*c->batch));
	if (!c->batch)
		return ps_rfail(c, -ENOMEM, "out of memory");
	c->batch->table = area;
	c->batch->data_at = area + PS_BATCH_MAX * sizeof(struct entry);
	return 0;
}

static void empty(struct ps_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->what[i]);
	b->n = 0;
	b->data_used = 0;
}

void ps_batch_drop(struct ps_rctx *c)
{
	if (!c->batch)
		return;
	empty(c->batch);
	free(c->batch);
	c->batch = NULL;
}

int ps_batch_end(struct ps_rctx *c)
{
	int e = ps_rcall_flush(c);

	ps_batch_drop(c);
	return e;
}

/* ---- queueing ---- */

static int queue(struct ps_rctx *c, const char *what, int placed, long nr, const uint64_t a[6])
{
	struct ps_batch *b = c->batch;
	int e;

	if (!ps_caller_may_run(c, nr))
		return ps_rfail(c, -EPERM, "internal: %s would reach a path with procsnap's rights "
				"instead of uid %u's", what, (unsigned)c->uid);
	if (b->n == PS_BATCH_MAX) {
		e = ps_rcall_flush(c);
		if (e < 0)
			return e;
	}
	b->what[b->n] = strdup(what);
	if (!b->what[b->n])
		return ps_rfail(c, -ENOMEM, "out of memory");
	b->e[b->n] = (struct entry){ (uint64_t)nr, { a[0], a[1], a[2], a[3], a[4], a[5] }, 0 };
	b->placed[b->n] = (unsigned char)placed;
	b->n++;
	return 0;
}

int ps_rcall_later(struct ps_rctx *c, const char *what, long nr, uint64_t a0, uint64_t a1,
		   uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	const uint64_t a[6] = { a0, a1, a2, a3, a4, a5 };
	long ret;

	if (c->batch)
		return queue(c, what, 0, nr, a);
	ret = ps_rcall(c, what, nr, a0, a1, a2, a3, a4, a5);
	return ret < 0 ? (int)ret : 0;
}

static int placed_at(struct ps_rctx *c, const char *what, uint64_t addr, long ret)
{
	if ((uint64_t)ret != addr)
		return ps_rfail(c, -EFAULT, "%s: the kernel placed it at 0x%lx", what, ret);
	return 0;
}

int ps_rmap_later(struct ps_rctx *c, const char *what, uint64_t addr, uint64_t len, int prot,
		  int flags, long fd, uint64_t off)
{
	const uint64_t a[6] = { addr, len, (uint64_t)prot, (uint64_t)flags, (uint64_t)fd, off };
	long ret;

	if (c->batch)
		return queue(c, what, 1, SYS_mmap, a);
	ret = ps_rcall(c, what, SYS_mmap, a[0], a[1], a[2], a[3], a[4], a[5]);
	return ret < 0 ? (int)ret : placed_at(c, what, addr, ret);
}

uint64_t ps_rput_later(struct ps_rctx *c, const void *data, size_t len)
{
	struct ps_batch *b = c->batch;
	size_t room = (len + 7) & ~(size_t)7;   /* each piece 8-byte aligned */
	uint64_t at;

	if (!b)
		return ps_rput(c, 0, data, len);
	if (room > PS_BATCH_DATA) {
		ps_rfail(c, -E2BIG, "internal: %zu bytes do not fit beside the queued syscalls", len);
		return 0;
	}
	/* a flush empties the data area too: make room for the call that
	 * will read these bytes now, so that queueing it does not flush */
	if ((b->data_used + room > PS_BATCH_DATA || b->n == PS_BATCH_MAX) && ps_rcall_flush(c) < 0)
		return 0;
	memcpy(b->data + b->data_used, data, len);
	at = b->data_at + b->data_used;
	b->data_used += room;
	return at;
}

/* ---- running the queue ---- */

static int write_queue(struct ps_rctx *c, const struct ps_batch *b)
{
	size_t tlen = b->n * sizeof(struct entry);
	struct iovec local[2] = { { (void *)b->e, tlen }, { (void *)b->data, b->data_used } };
	struct iovec remote[2] = { { (void *)b->table, tlen }, { (void *)b->data_at, b->data_used } };

	if (process_vm_writev(c->pid, local, 2, remote, 2, 0) != (ssize_t)(tlen + b->data_used))
		return ps_rfail(c, -EIO, "writing %zu queued syscalls into the new process: %s", b->n,
				strerror(errno));
	return 0;
}

/* Not ps_rget, which would flush this very queue first. */
static int read_results(struct ps_rctx *c, struct ps_batch *b)
{
	size_t len = b->n * sizeof(struct entry);
	struct iovec local = { b->e, len }, remote = { (void *)b->table, len };

	if (process_vm_readv(c->pid, &local, 1, &remote, 1, 0) != (ssize_t)len)
		return ps_rfail(c, -EIO, "reading the results of %zu queued syscalls: %s", b->n,
				strerror(errno));
	return 0;
}

/* Every signal blocked, as remote_syscall.c keeps them while the thread is
 * borrowed: a pending one is not dequeued under our registers. */
static int block_all(struct ps_rctx *c)
{
	uint64_t all = ~0ULL;

	if (ptrace(PTRACE_SETSIGMASK, c->r.tid, sizeof(all), &all) < 0)
		return -errno;
	c->r.masked = 1;
	return 0;
}

/* Whether the stop in status is the executor's int3 (rip just past it). */
static int at_done(struct ps_rctx *c, int status, struct user_regs_struct *regs)
{
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP || (status >> 16))
		return 0;
	if (ptrace(PTRACE_GETREGS, c->r.tid, 0, regs) < 0)
		return 0;
	return regs->rip == c->tramp + DONE_AT + 1;
}

/* A fault inside the executor would fault again on every resume. */
static int is_fault(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE;
}

/*
 * Resume the stub and wait for the int3 at the executor's end. Any other
 * stop is passed over: an event or group stop, or a signal the kernel
 * forced through the blocked mask (suppressed: the stub has no handlers
 * of the process yet), but a fault, which would come back at once.
 */
static int wait_done(struct ps_rctx *c, struct user_regs_struct *regs)
{
	int status;

	if (ptrace(PTRACE_CONT, c->r.tid, 0, 0) < 0)
		return -errno;
	ps_fault_point("batch-run");
	for (;;) {
		if (waitpid(c->r.tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (at_done(c, status, regs))
			return 0;
		if (WIFSTOPPED(status) && !(status >> 16) && is_fault(WSTOPSIG(status)))
			return -EFAULT;
		if (ptrace(PTRACE_CONT, c->r.tid, 0, 0) < 0)
			return -errno;
	}
}

/*
 * The executor's int3 raises a forced SIGTRAP (force_sig): since every
 * signal is blocked, the kernel unblocks SIGTRAP in the thread's mask (and
 * resets its disposition to the default) so that it is delivered. The
 * tracer sees its signal-delivery-stop and, by not passing the signal on,
 * discards it; the mask is then blocked whole again.
 */
static int run_queue(struct ps_rctx *c, struct ps_batch *b, size_t *ran)
{
	struct user_regs_struct regs = c->r.saved;
	int e;

	regs.rip = c->tramp + LOOP_AT;
	regs.r12 = b->table;
	regs.r13 = b->n;
	/* not inside a syscall: no restart rewinding of these registers */
	regs.orig_rax = (uint64_t)-1;
	if (ptrace(PTRACE_SETREGS, c->r.tid, 0, &regs) < 0)
		return -errno;
	c->r.borrowed = 1;
	e = block_all(c);
	if (e == 0)
		e = wait_done(c, &regs);
	if (e == 0)
		e = block_all(c);
	if (e == 0 && (regs.r12 < b->table || (regs.r12 - b->table) / sizeof(struct entry) > b->n))
		e = -EFAULT;
	if (e == 0)
		*ran = (regs.r12 - b->table) / sizeof(struct entry);
	return e;
}

/* The first misplaced mapping among the ran entries that succeeded, then
 * the entry the executor stopped at (ran < n: its result is an -errno). */
static int judge(struct ps_rctx *c, const struct ps_batch *b, size_t ran)
{
	long ret;

	for (size_t i = 0; i < ran; i++)
		if (b->placed[i] && placed_at(c, b->what[i], b->e[i].a[0], (long)b->e[i].ret) < 0)
			return -EFAULT;
	if (ran == b->n)
		return 0;
	ret = (long)b->e[ran].ret;
	if (ret >= 0 || ret < -4095)
		return ps_rfail(c, -EFAULT, "internal: the queued %s stopped the queue without "
				"failing", b->what[ran]);
	return ps_rfail(c, (int)ret, "%s: %s", b->what[ran], strerror((int)-ret));
}

int ps_rcall_flush(struct ps_rctx *c)
{
	struct ps_batch *b = c->batch;
	size_t ran = 0;
	int e;

	if (!b || b->n == 0)
		return 0;
	e = write_queue(c, b);
	if (e == 0) {
		e = run_queue(c, b, &ran);
		if (e < 0)
			ps_rfail(c, e, "thread %d: running %zu queued syscalls: %s", c->r.tid, b->n,
				 strerror(-e));
	}
	if (e == 0)
		e = read_results(c, b);
	if (e == 0)
		e = judge(c, b, ran);
	empty(b);
	return e;
}
