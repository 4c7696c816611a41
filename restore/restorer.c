/* The order of a restore: each step may rely on the ones before it (the
 * layout on the trampoline, the exe link on procsnap being unmapped...). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/stat.h>

#include "restore/as_caller.h"
#include "restore/creds.h"
#include "backend/fault_point.h"
#include "image/image_read.h"
#include "restore/layout.h"
#include "restore/pages.h"
#include "restore/part_restore.h"
#include "restore/prefill.h"
#include "restore/rctx.h"
#include "restore/restorer.h"
#include "restore/fd_restore.h"
#include "restore/stub.h"
#include "restore/threads.h"
#include "backend/tracer.h"
#include "restore/validate.h"

struct restore_job {
	const struct ps_model *m;
	const char *dir;
	uid_t uid;
	gid_t gid;
	const struct ps_restore_options *opt;
	struct ps_prefill *prefill;
	char *err;
	size_t errlen;
};

static int creds_of(struct ps_rctx *c, const struct ps_thread *t)
{
	(void)t;
	return ps_restore_creds(c);
}

/* One step of a restore: run once from the main thread, or in every
 * thread (the main one as c->r last, the others borrowed in turn). */
struct step {
	int (*once)(struct ps_rctx *c);
	int (*each_thread)(struct ps_rctx *c, const struct ps_thread *t);
};

/*
 * The address space and everything process-wide, from the main thread,
 * in caller mode: every file, device, directory and socket name the image
 * names is reached with the caller's credentials (only PR_SET_MM_MAP steps
 * out of it). Each step is of the part (image/parts.h) named beside it.
 */
static const struct step process_steps[] = {
	{ ps_restore_unregister_rseq, NULL },  /* registers */
	{ ps_layout_map_trampoline, NULL },    /* memory */
	{ ps_caller_enter, NULL },             /* its arguments go through the scratch pages */
	{ ps_restore_fds, NULL },              /* fds: before the layout takes procsnap's away */
	{ ps_layout_clear, NULL },             /* memory */
	{ ps_layout_build, NULL },             /* memory */
	{ ps_restore_aio, NULL },              /* memory: rings where the layout left room */
	{ ps_layout_set_mm, NULL },            /* memory, process's mm */
	{ ps_restore_process_attrs, NULL },    /* process */
	{ ps_restore_loginuid, NULL },         /* attributes: as the caller, who may set an unset one */
	{ ps_restore_itimers, NULL },          /* timers: ITIMER_REAL runs from when it is armed */
	{ ps_restore_sigactions, NULL },       /* signals */
	{ ps_caller_leave, NULL },
};

/*
 * Once the threads exist (created after the steps above: clone3's set_tid
 * needs CAP_SYS_ADMIN in the creating thread). Credentials are per thread,
 * so each sets its own; the trampoline goes only when no thread needs it
 * any more, and registers come last, the main thread's very last.
 */
static const struct step thread_steps[] = {
	{ NULL, ps_restore_thread_state },     /* registers */
	{ ps_restore_shared_pending, NULL },   /* signals */
	{ NULL, ps_restore_thread_pending },   /* signals */
	{ ps_restore_posix_timers, NULL },     /* timers: one may signal a thread */
	{ ps_restore_process_attributes, NULL },  /* attributes: with root's rights, checked */
	{ NULL, ps_restore_thread_attributes },   /* attributes: per thread, before creds */
	{ ps_restore_seccomp_shared, NULL },   /* seccomp: TSYNC before any thread's own */
	{ NULL, ps_restore_seccomp_thread },   /* seccomp: while the thread may still install */
	{ NULL, creds_of },                    /* process */
	{ NULL, ps_restore_thread_pdeathsig }, /* attributes: creds clear it */
	{ ps_listen_unix_sockets, NULL },      /* fds */
	{ ps_restore_mdwe, NULL },             /* attributes: no W+X mapping after it */
	{ ps_layout_unmap_trampoline, NULL },  /* memory */
	{ NULL, ps_restore_final_regs },       /* registers */
};

static int run_step(struct ps_rctx *c, struct ps_rthread *th, size_t n, const struct step *s)
{
	int e = 0;

	if (s->once)
		return s->once(c);
	for (size_t i = 0; e == 0 && i < n; i++)
		e = ps_threads_run(c, &th[i], s->each_thread);
	return e ? e : s->each_thread(c, &c->m->threads[0]);
}

static int run_steps(struct ps_rctx *c, struct ps_rthread *th, size_t n, const struct step *s,
		     size_t nsteps)
{
	int e = 0;

	for (size_t i = 0; e == 0 && i < nsteps; i++)
		e = run_step(c, th, n, &s[i]);
	return e;
}

static int build(struct ps_rctx *c, struct ps_rthread *th, size_t n)
{
	int e = run_steps(c, th, n, process_steps, sizeof(process_steps) / sizeof(process_steps[0]));

	if (e == 0)
		e = ps_threads_create(c, th, n);
	if (e == 0)
		e = run_steps(c, th, n, thread_steps, sizeof(thread_steps) / sizeof(thread_steps[0]));
	return e;
}

static int detach_all(struct ps_rctx *c, const struct ps_rthread *th, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ptrace(PTRACE_DETACH, th[i].t->tid, 0, 0) < 0)
			return ps_rfail(c, -errno, "letting thread %d go (PTRACE_DETACH): %s",
					th[i].t->tid, strerror(errno));
	if (ptrace(PTRACE_DETACH, c->pid, 0, 0) < 0)
		return ps_rfail(c, -errno, "letting process %d go (PTRACE_DETACH): %s", c->pid,
				strerror(errno));
	return 0;
}

/* "monotonic <sec> <nsec>": what to add to the clock now for it to read
 * what it read at the checkpoint. The seconds carry the sign, the
 * nanoseconds are always 0..999999999 (the kernel's timespec form). */
static void format_offset(char *buf, size_t len, const char *name, uint64_t then,
			  clockid_t clock)
{
	struct timespec now;
	int64_t delta, sec, nsec;

	clock_gettime(clock, &now);
	delta = (int64_t)then - ((int64_t)now.tv_sec * 1000000000LL + now.tv_nsec);
	sec = delta / 1000000000LL;
	nsec = delta % 1000000000LL;
	if (nsec < 0) {
		nsec += 1000000000LL;
		sec--;
	}
	snprintf(buf, len, "%s %lld %lld\n", name, (long long)sec, (long long)nsec);
}

static void time_offsets(const struct ps_image_meta *meta, struct ps_time_offsets *o)
{
	size_t used;

	format_offset(o->text, sizeof(o->text), "monotonic", meta->monotonic_ns, CLOCK_MONOTONIC);
	used = strlen(o->text);
	format_offset(o->text + used, sizeof(o->text) - used, "boottime", meta->boottime_ns,
		      CLOCK_BOOTTIME);
}

/*
 * The memory the nursery filled while the image was copied in: the
 * regions of it some mapping takes over. With none, the nursery is let go
 * and the stub comes from a new one, as without an early fill.
 */
static int adopt_prefill(struct ps_rctx *c, struct ps_prefill *p, struct ps_nursery *n,
			 struct ps_prefill_region **regions, size_t *count)
{
	int got = p ? ps_prefill_take(p, n, regions) : 0, used;

	*count = got > 0 ? (size_t)got : 0;
	if (got <= 0)
		return 0;
	used = ps_layout_adopt(c, *regions, *count);
	if (used > 0)
		return 0;
	ps_nursery_end(n);
	ps_prefill_regions_free(*regions, *count);
	*regions = NULL;
	*count = 0;
	return used < 0 ? used : 0;
}

static int restore_on_tracer(void *arg)
{
	struct restore_job *j = arg;
	struct ps_rctx c = { .m = j->m, .dir = j->dir, .uid = j->uid, .gid = j->gid,
			     .err = j->err, .errlen = j->errlen };
	size_t n = j->m->nthreads - 1;
	struct ps_rthread *th = calloc(n ? n : 1, sizeof(*th));
	struct ps_time_offsets offsets;
	struct ps_prefill_region *regions = NULL;
	struct ps_nursery nursery;
	size_t nregions = 0;
	struct ps_stub stub;
	struct ps_gadgets gadgets;
	int e;

	if (!th)
		return ps_rfail(&c, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		th[i].t = &j->m->threads[i + 1];
	if (j->opt->timens && j->m->meta.has_clocks)
		time_offsets(&j->m->meta, &offsets);
	e = adopt_prefill(&c, j->prefill, &nursery, &regions, &nregions);
	if (e == 0)
		e = ps_stub_create(j->m->meta.pid,
				   j->opt->timens && j->m->meta.has_clocks ? &offsets : NULL,
				   nregions ? &nursery : NULL, &stub, j->err, j->errlen);
	if (e == 0) {
		c.pid = stub.pid;
		e = ps_find_gadgets(c.pid, &gadgets, j->err, j->errlen);
		if (e == 0)
			e = ps_remote_begin(&c.r, c.pid, gadgets.syscall_insn, j->err, j->errlen);
		if (e == 0)
			e = build(&c, th, n);
		ps_fault_point("restore-built");
		if (e == 0)
			e = detach_all(&c, th, n);
		ps_fault_point("restore-detached");
		if (e < 0) {
			kill(stub.pid, SIGKILL);
			ps_threads_reap(th, n);
			ps_stub_destroy(&stub);
			ps_sysv_shm_end(&c, 1);
		} else {
			ps_sysv_shm_end(&c, 0);
			ps_stub_release(&stub);
			snprintf(j->err, j->errlen, "%s", c.note);
		}
	}
	ps_pages_end(&c);
	free(th);
	free(c.adopted);
	ps_prefill_regions_free(regions, nregions);
	return e;
}

int ps_restore_image(const char *dir, uid_t uid, gid_t gid, const struct ps_restore_options *opt,
		     struct ps_prefill *prefill, pid_t *pid_out, char *err, size_t errlen)
{
	struct ps_model m;
	struct restore_job job = { &m, dir, uid, gid, opt, prefill, err, errlen };
	int e;

	memset(&m, 0, sizeof(m));
	e = ps_image_read(dir, &m, err, errlen);
	if (e == 0)
		e = ps_validate_image(&m, dir, uid, gid, err, errlen);
	if (e == 0) {
		e = ps_tracer_call(restore_on_tracer, &job);
		if (e == -ESHUTDOWN)
			snprintf(err, errlen, "procsnap is shutting down");
	}
	if (e == 0)
		*pid_out = m.meta.pid;
	ps_model_free(&m);
	return e;
}

/* ---- for the spool ---- */

int ps_restore_check_staged(const char *dir, char *err, size_t errlen)
{
	return ps_image_check_complete(dir, err, errlen);
}

pid_t ps_restore_staged_pid(int image_fd)
{
	struct ps_image_meta meta = { 0 };
	pid_t pid = ps_image_read_staged_meta(image_fd, &meta) == 0 ? meta.pid : 0;

	ps_image_meta_free(&meta);
	return pid;
}

int ps_restore_staged_files(int image_fd, ps_restore_name_fn fn, void *ctx)
{
	struct ps_image_meta meta = { 0 };
	int rc = ps_image_read_staged_meta(image_fd, &meta);

	for (size_t i = 0; rc == 0 && i < meta.nfiles; i++)
		fn(ctx, meta.files[i].name, meta.files[i].size);
	ps_image_meta_free(&meta);
	return rc;
}

/* ---- the early fill, for the spool (restore/prefill.h) ---- */

struct ps_prefill *ps_restore_prefill_new(void)
{
	return ps_prefill_new();
}

void ps_restore_prefill_get(struct ps_prefill *p)
{
	ps_prefill_get(p);
}

void ps_restore_prefill_put(struct ps_prefill *p)
{
	ps_prefill_put(p);
}

void ps_restore_prefill_abandon(struct ps_prefill *p)
{
	ps_prefill_abandon(p);
	ps_prefill_put(p);
}

int ps_restore_prefill_start(struct ps_prefill *p, uint64_t start, uint64_t end, dev_t dev,
			     ino_t ino)
{
	return ps_prefill_region(p, start, end, dev, ino);
}

void ps_restore_prefill_feed(struct ps_prefill *p, uint64_t start, uint64_t off, const void *buf,
			     size_t len)
{
	ps_prefill_write(p, start, off, buf, len);
}

void ps_restore_prefill_stop(struct ps_prefill *p, uint64_t start)
{
	ps_prefill_drop(p, start);
}
