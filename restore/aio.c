/* Checks and restore of AIO contexts: each ring made again by io_setup,
 * moved to its old address (its id), and its unreaped events put back. */
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "restore/part_restore.h"
#include "restore/validate.h"

#define AIO_HEADER_LEN 32U      /* sizeof(struct aio_ring) */
#define AIO_EVENT_LEN 32U       /* sizeof(struct io_event) */
/* Requests submitted at once: at most half of the smallest ring's 126
 * slots, as up to half may sit in other CPUs' counters (ioctx_alloc). */
#define SUBMIT_BATCH 32
/* Scratch layout: the context id or the pipe's fds, then the iocbs and
 * the array of pointers to them that io_submit takes. */
#define SCRATCH_IOCBS 64
#define SCRATCH_PTRS (SCRATCH_IOCBS + SUBMIT_BATCH * sizeof(struct iocb))
/* Ring ids are remade by making the contexts in their order (ioctx_add_table
 * gives a new context the lowest free slot of the process's table, and
 * writes that slot into its ring as id), with filler contexts for the
 * slots in between: an image's ids must stay below this. */
#define MAX_AIO_ID 1024

struct ring_header {
	uint32_t id, nr, head, tail, magic, compat_features, incompat_features, header_length;
};

static unsigned long long ull(uint64_t v)
{
	return (unsigned long long)v;
}

/*
 * io_setup(n) makes a ring of whole pages holding 2 * max(n, 4 * CPUs) + 2
 * events or more (ioctx_alloc, aio_setup_ring): the smallest n that needs
 * as many pages as the image's ring. The ring made is checked afterwards
 * (this machine may count more CPUs).
 */
static uint64_t setup_count(const struct ps_mapping *m)
{
	uint64_t pages = (m->end - m->start) / PS_PAGE_SIZE;

	return pages <= 1 ? 1 : 64 * (pages - 1) - 1;
}

static uint64_t read_sysctl(const char *path)
{
	unsigned long long v = 0;
	FILE *f = fopen(path, "re");

	if (f && fscanf(f, "%llu", &v) != 1)
		v = 0;
	if (f)
		fclose(f);
	return v;
}

/* io_setup fails (EAGAIN) once the contexts of the whole system would ask
 * for more than fs.aio-max-nr events: the image's together must fit in
 * what is left. */
static int check_room(const struct ps_check *v, const struct ps_mapping *m)
{
	uint64_t want = 0, used = read_sysctl("/proc/sys/fs/aio-nr");
	uint64_t max = read_sysctl("/proc/sys/fs/aio-max-nr");

	for (size_t i = 0; i < v->m->maps.count; i++)
		if (v->m->maps.items[i].kind == PS_MAP_AIO)
			want += setup_count(&v->m->maps.items[i]);
	if (max && used + want > max)
		return ps_refuse(v, -EAGAIN, "AIO context 0x%llx: the image's AIO contexts need %llu "
				 "events, and fs.aio-max-nr (%llu) leaves %llu", ull(m->start),
				 ull(want), ull(max), ull(max > used ? max - used : 0));
	return 0;
}

/* Each ring's id is one slot of the table: below MAX_AIO_ID, and its own. */
static int check_id(const struct ps_check *v, const struct ps_mapping *m)
{
	if (m->aio->id >= MAX_AIO_ID)
		return ps_refuse(v, -ENOTSUP, "AIO context 0x%llx has id %u: procsnap remakes ids "
				 "below %d only", ull(m->start), m->aio->id, MAX_AIO_ID);
	for (const struct ps_mapping *o = v->m->maps.items; o < m; o++)
		if (o->kind == PS_MAP_AIO && o->aio && o->aio->id == m->aio->id)
			return ps_refuse(v, -EINVAL, "AIO contexts 0x%llx and 0x%llx both have id %u",
					 ull(o->start), ull(m->start), m->aio->id);
	return 0;
}

int ps_validate_aio(const struct ps_check *v, const struct ps_mapping *m)
{
	int rc;

	if (!m->aio)
		return ps_refuse(v, -EINVAL, "AIO context 0x%llx: the image has no ring for it",
				 ull(m->start));
	rc = check_id(v, m);
	return rc ? rc : check_room(v, m);
}

static int write_stub(struct ps_rctx *c, uint64_t addr, const void *data, size_t len)
{
	struct iovec local = { (void *)data, len }, remote = { (void *)addr, len };

	if (process_vm_writev(c->pid, &local, 1, &remote, 1, 0) != (ssize_t)len)
		return ps_rfail(c, -EIO, "writing AIO ring 0x%llx: %s", ull(addr), strerror(errno));
	return 0;
}

static int read_header(struct ps_rctx *c, uint64_t at, struct ring_header *h)
{
	return ps_rget(c, at, h, sizeof(*h));
}

/* The ring this kernel made must be the image's, field for field. */
static int check_made(struct ps_rctx *c, const struct ps_mapping *m, const struct ring_header *h)
{
	const struct ps_aio_ring *a = m->aio;

	if (h->nr != a->nr)
		return ps_rfail(c, -ENOTSUP, "AIO context 0x%llx: this kernel makes a ring of %u "
				"events for it, the image's had %u", ull(m->start), h->nr, a->nr);
	if (h->id != a->id)
		return ps_rfail(c, -ENOTSUP, "AIO context 0x%llx: the kernel gave it id %u, the "
				"image's was %u", ull(m->start), h->id, a->id);
	if (h->magic != a->magic || h->compat_features != a->compat_features ||
	    h->incompat_features != a->incompat_features || h->header_length != a->header_length)
		return ps_rfail(c, -ENOTSUP, "AIO context 0x%llx: this kernel's rings have features "
				"%u/%u, the image's %u/%u", ull(m->start), h->compat_features,
				h->incompat_features, a->compat_features, a->incompat_features);
	return 0;
}

/* io_setup(n) in the stub: the new context's id (its ring's address). */
static int new_context(struct ps_rctx *c, uint64_t n, const char *what, uint64_t *ctx)
{
	uint64_t zero = 0, at = ps_rput(c, 0, &zero, sizeof(zero));
	long ret;

	if (!at)
		return -EIO;
	ret = ps_rcall(c, what, SYS_io_setup, n, at, 0, 0, 0, 0);
	return ret < 0 ? (int)ret : ps_rget(c, at, ctx, sizeof(*ctx));
}

/* io_setup, then mremap to the old address: aio_ring_mremap makes the
 * moved ring's address the context's id (ctx->user_id). */
static int make_ring(struct ps_rctx *c, const struct ps_mapping *m)
{
	uint64_t ctx, len = m->end - m->start;
	struct ring_header h;
	char what[96];
	long ret;
	int e;

	snprintf(what, sizeof(what), "io_setup for AIO context 0x%llx", ull(m->start));
	e = new_context(c, setup_count(m), what, &ctx);
	if (!e)
		e = read_header(c, ctx, &h);
	if (!e)
		e = read_header(c, ctx, &h);
	if (!e)
		e = check_made(c, m, &h);
	if (e)
		return e;
	snprintf(what, sizeof(what), "moving AIO ring 0x%llx to 0x%llx", ull(ctx), ull(m->start));
	ret = ps_rcall(c, what, SYS_mremap, ctx, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, m->start, 0);
	if (ret >= 0 && (uint64_t)ret != m->start)
		return ps_rfail(c, -EFAULT, "%s: the kernel put it at 0x%lx", what, ret);
	return ret < 0 ? (int)ret : 0;
}

/* k reads of 0 bytes from an empty pipe: each completes at once, inside
 * io_submit (pipe_read returns 0 for an empty request), adding an event. */
static int submit_noops(struct ps_rctx *c, const struct ps_mapping *m, long rfd, uint32_t k)
{
	struct iocb cbs[SUBMIT_BATCH];
	uint64_t ptrs[SUBMIT_BATCH];
	uint64_t at = c->scratch + SCRATCH_IOCBS;
	char what[96];
	long ret;

	memset(cbs, 0, sizeof(cbs));
	for (uint32_t i = 0; i < k; i++) {
		cbs[i].aio_lio_opcode = IOCB_CMD_PREAD;
		cbs[i].aio_fildes = (uint32_t)rfd;
		ptrs[i] = at + i * sizeof(struct iocb);
	}
	if (!ps_rput(c, SCRATCH_IOCBS, cbs, k * sizeof(cbs[0])) ||
	    !ps_rput(c, SCRATCH_PTRS, ptrs, k * sizeof(ptrs[0])))
		return -EIO;
	snprintf(what, sizeof(what), "io_submit into AIO context 0x%llx", ull(m->start));
	ret = ps_rcall(c, what, SYS_io_submit, m->start, k, c->scratch + SCRATCH_PTRS, 0, 0, 0);
	if (ret < 0)
		return (int)ret;
	if ((uint32_t)ret != k)
		return ps_rfail(c, -EAGAIN, "%s: it took %ld of %u requests", what, ret, k);
	return 0;
}

/* The kernel keeps its own tail (ctx->tail), moved only by completions,
 * but reads head from the ring, where user space may write it: bring the
 * tail to the image's head with events consumed as they come. */
static int advance_to(struct ps_rctx *c, const struct ps_mapping *m, long rfd, uint32_t head)
{
	struct ring_header h;
	int e = read_header(c, m->start, &h);

	while (!e && h.tail != head) {
		uint32_t gap = (head + h.nr - h.tail) % h.nr;
		uint32_t k = gap < SUBMIT_BATCH ? gap : SUBMIT_BATCH;

		e = submit_noops(c, m, rfd, k);
		if (!e)
			e = read_header(c, m->start, &h);
		if (!e)
			e = write_stub(c, m->start + offsetof(struct ring_header, head), &h.tail,
				       sizeof(h.tail));
	}
	return e;
}

static int add_events(struct ps_rctx *c, const struct ps_mapping *m, long rfd, size_t n)
{
	int e = 0;

	while (!e && n) {
		uint32_t k = n < SUBMIT_BATCH ? (uint32_t)n : SUBMIT_BATCH;

		e = submit_noops(c, m, rfd, k);
		n -= k;
	}
	return e;
}

/* The no-op events become the image's, slot for slot; then head as the
 * program left it (it may hold a value the kernel reads modulo nr). */
static int write_events(struct ps_rctx *c, const struct ps_mapping *m)
{
	const struct ps_aio_ring *a = m->aio;
	struct ring_header h;
	int e = read_header(c, m->start, &h);

	if (!e && h.tail != a->tail)
		return ps_rfail(c, -EIO, "AIO context 0x%llx: its tail is %u after refilling, "
				"not %u", ull(m->start), h.tail, a->tail);
	for (size_t i = 0; !e && i < a->nevents; i++) {
		uint64_t slot = (a->head % a->nr + i) % a->nr;

		e = write_stub(c, m->start + AIO_HEADER_LEN + slot * AIO_EVENT_LEN, &a->events[i],
			       AIO_EVENT_LEN);
	}
	if (!e)
		e = write_stub(c, m->start + offsetof(struct ring_header, head), &a->head,
			       sizeof(a->head));
	return e;
}

static int open_pipe(struct ps_rctx *c, int fds[2])
{
	uint64_t at = ps_rput(c, 0, (int[2]){ -1, -1 }, 2 * sizeof(int));
	long ret;

	if (!at)
		return -EIO;
	ret = ps_rcall(c, "pipe2 for refilling AIO rings", SYS_pipe2, at, O_CLOEXEC, 0, 0, 0, 0);
	if (ret < 0)
		return (int)ret;
	return ps_rget(c, at, fds, 2 * sizeof(int));
}

static void close_pipe(struct ps_rctx *c, const int fds[2])
{
	ps_rcall(c, "close", SYS_close, (uint64_t)fds[0], 0, 0, 0, 0, 0);
	ps_rcall(c, "close", SYS_close, (uint64_t)fds[1], 0, 0, 0, 0, 0);
}

static int restore_ring(struct ps_rctx *c, const struct ps_mapping *m)
{
	int fds[2], e = make_ring(c, m);

	if (!e)
		e = open_pipe(c, fds);
	if (e)
		return e;
	e = advance_to(c, m, fds[0], m->aio->head % m->aio->nr);
	if (!e)
		e = add_events(c, m, fds[0], m->aio->nevents);
	if (!e)
		e = write_events(c, m);
	close_pipe(c, fds);
	return e;
}

static const struct ps_mapping *ring_with_id(const struct ps_rctx *c, uint32_t id, size_t *left)
{
	*left = 0;
	for (size_t i = 0; i < c->m->maps.count; i++) {
		const struct ps_mapping *m = &c->m->maps.items[i];

		if (m->kind == PS_MAP_AIO && m->aio->id == id)
			return m;
		*left += m->kind == PS_MAP_AIO && m->aio->id > id;
	}
	return NULL;
}

/*
 * io_setup puts a new ring wherever the kernel finds room, which may be the
 * place the layout left for another ring: a filler there would be unmapped
 * by that ring's mremap (MREMAP_FIXED replaces what is at the target) while
 * its context lives on. PROT_NONE placeholders keep every ring's place until
 * its own ring replaces it.
 */
static int hold_places(struct ps_rctx *c)
{
	long ret = 0;

	for (size_t i = 0; ret >= 0 && i < c->m->maps.count; i++) {
		const struct ps_mapping *m = &c->m->maps.items[i];

		if (m->kind == PS_MAP_AIO)
			ret = ps_rcall(c, "holding the place of an AIO ring", SYS_mmap, m->start,
				       m->end - m->start, PROT_NONE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, (uint64_t)-1, 0);
	}
	return ret < 0 ? (int)ret : 0;
}

/* The kernel shows no count of a context's requests still in flight
 * (reqs_available is internal), so none could be saved: the status note
 * says so whenever a context comes back. */
static void note_in_flight(struct ps_rctx *c, size_t nrings)
{
	if (nrings)
		ps_rnote(c, "%zu AIO context%s restored with %s completed events; a request "
			 "still in flight at the checkpoint could not be seen and is not back",
			 nrings, nrings == 1 ? "" : "s", nrings == 1 ? "its" : "their");
}

/* The stub has no context (they are not inherited by fork): slot 0 is the
 * first free one. A slot no ring of the image has gets a filler context,
 * destroyed once every ring is made. */
int ps_restore_aio(struct ps_rctx *c)
{
	uint64_t *fillers = calloc(MAX_AIO_ID, sizeof(*fillers));
	size_t nfillers = 0, left = 1, nrings = 0;
	int e = fillers ? hold_places(c) : ps_rfail(c, -ENOMEM, "out of memory");

	for (uint32_t id = 0; !e && left && id < MAX_AIO_ID; id++) {
		const struct ps_mapping *m = ring_with_id(c, id, &left);

		if (m) {
			e = restore_ring(c, m);
			nrings++;
		} else if (left) {
			e = new_context(c, 1, "io_setup for a filler AIO context", &fillers[nfillers++]);
		}
	}
	for (size_t i = 0; fillers && i < nfillers; i++)
		if (fillers[i] && ps_rcall(c, "io_destroy of a filler AIO context", SYS_io_destroy,
					   fillers[i], 0, 0, 0, 0, 0) < 0 && !e)
			e = -EIO;
	free(fillers);
	if (!e)
		note_in_flight(c, nrings);
	return e;
}
