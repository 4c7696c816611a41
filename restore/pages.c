/* Filling a rebuilt mapping with its saved pages from its memory file: long
 * runs with O_DIRECT reads and two threads, short ones in batches. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend/fileio.h"
#include "image/file_names.h"
#include "restore/pages.h"
#include "restore/prefill.h"

#define IOV_BATCH 512
/* A run this long is read with O_DIRECT; shorter ones, many to a
 * process_vm_writev, through the page cache (a disk read each would cost
 * more than their copy). */
#define LONG_RUN (64ULL << 10)
#define BOUNCE (4ULL << 20)
#define FILL_THREADS 2

static int is_long(const struct ps_extent *r)
{
	return r->count * PS_PAGE_SIZE >= LONG_RUN;
}

/* ---- long runs: read with O_DIRECT, written by two threads ---- */

/*
 * A long run is read from the memory file in BOUNCE-sized chunks into a
 * buffer of each thread's, then written into the process. The file is
 * reopened (through /proc/self/fd, so it is the same file) with O_DIRECT
 * where its file system has it: on a disk spool the bytes then come from the
 * disk without settling in the page cache, and a restore puts fresh memory
 * under the image once (the process's pages), not twice. tmpfs takes
 * O_DIRECT and reads from memory as before.
 *
 * Most of the time goes into the new process's page faults (allocating and
 * zeroing each page), not the copy. Faults on different pages of one mm run
 * in parallel, and one thread's disk read overlaps the other's faults, so
 * two threads take chunks in turn.
 */
struct chunk {
	uint64_t off, len;          /* in the mapping */
};

struct long_fill {
	pid_t pid;
	const struct ps_mapping *m;
	int fd;
	struct chunk *chunks;
	size_t n;
	size_t next;                /* the next chunk to take, atomically */
	int err;                    /* the first failure's errno */
};

static int open_direct(int fd)
{
	int dfd = ps_reopen(fd, O_RDONLY | O_DIRECT);

	return dfd >= 0 ? dfd : ps_reopen(fd, O_RDONLY);
}

static size_t count_chunks(const struct ps_mapping *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->ndata; i++)
		if (is_long(&m->data[i]))
			n += (m->data[i].count * PS_PAGE_SIZE + BOUNCE - 1) / BOUNCE;
	return n;
}

static void list_chunks(const struct ps_mapping *m, struct chunk *out)
{
	size_t n = 0;

	for (size_t i = 0; i < m->ndata; i++) {
		uint64_t off = m->data[i].first * PS_PAGE_SIZE, end = off + m->data[i].count * PS_PAGE_SIZE;

		if (!is_long(&m->data[i]))
			continue;
		for (; off < end; off += BOUNCE)
			out[n++] = (struct chunk){ off, end - off < BOUNCE ? end - off : BOUNCE };
	}
}

/* Where the mapping's first byte is in its content file, which may begin
 * with the mappings before it. */
static off_t file_base(const struct ps_mapping *m)
{
	return (off_t)(m->start - m->content_start);
}

static int copy_chunk(struct long_fill *f, const struct chunk *k, char *buf)
{
	struct iovec local = { buf, k->len }, remote = { (void *)(f->m->start + k->off), k->len };
	ssize_t n = pread(f->fd, buf, k->len, file_base(f->m) + (off_t)k->off);

	if (n != (ssize_t)k->len)
		return n < 0 ? errno : ENODATA;
	if (process_vm_writev(f->pid, &local, 1, &remote, 1, 0) != (ssize_t)k->len)
		return errno ? errno : EIO;
	return 0;
}

static void *fill_chunks(void *arg)
{
	struct long_fill *f = arg;
	char *buf;
	int e;

	/* O_DIRECT reads need an aligned buffer */
	e = posix_memalign((void **)&buf, PS_PAGE_SIZE, BOUNCE);
	if (e) {
		__atomic_store_n(&f->err, e, __ATOMIC_RELAXED);
		return NULL;
	}
	for (;;) {
		size_t k = __atomic_fetch_add(&f->next, 1, __ATOMIC_RELAXED);

		if (k >= f->n || __atomic_load_n(&f->err, __ATOMIC_RELAXED))
			break;
		e = copy_chunk(f, &f->chunks[k], buf);
		if (e) {
			__atomic_store_n(&f->err, e, __ATOMIC_RELAXED);
			break;
		}
	}
	free(buf);
	return NULL;
}

static int fill_long_runs(struct ps_rctx *c, const struct ps_mapping *m, int fd, const char *what)
{
	struct long_fill f = { .pid = c->pid, .m = m, .n = count_chunks(m) };
	pthread_t helpers[FILL_THREADS - 1];
	size_t started = 0;

	if (!f.n)
		return 0;
	f.chunks = calloc(f.n, sizeof(*f.chunks));
	if (!f.chunks)
		return ps_rfail(c, -ENOMEM, "%s: out of memory", what);
	list_chunks(m, f.chunks);
	f.fd = open_direct(fd);
	if (f.fd < 0) {
		free(f.chunks);
		return ps_rfail(c, -errno, "%s: cannot reopen %s: %s", what, m->content,
				strerror(errno));
	}
	while (started < FILL_THREADS - 1 && started + 1 < f.n &&
	       pthread_create(&helpers[started], NULL, fill_chunks, &f) == 0)
		started++;
	fill_chunks(&f);
	while (started)
		pthread_join(helpers[--started], NULL);
	close(f.fd);
	free(f.chunks);
	if (f.err == ENODATA)
		return ps_rfail(c, -EIO, "%s: %s ends before its saved pages do: was it cut "
				"while the restore read it?", what, m->content);
	if (f.err)
		return ps_rfail(c, -f.err, "%s: writing its pages from %s into the new process: %s",
				what, m->content, strerror(f.err));
	return 0;
}

/* ---- short runs: procsnap writes them ---- */

static int has_short_runs(const struct ps_mapping *m)
{
	for (size_t i = 0; i < m->ndata; i++)
		if (!is_long(&m->data[i]))
			return 1;
	return 0;
}

/* From the file mapped read-only here, IOV_BATCH runs per
 * process_vm_writev; only the short runs' pages are touched. */
static int write_short_runs(struct ps_rctx *c, const struct ps_mapping *m, const char *src)
{
	struct iovec local[IOV_BATCH], remote[IOV_BATCH];
	size_t i = 0;

	while (i < m->ndata) {
		size_t n = 0, want = 0;

		for (; i < m->ndata && n < IOV_BATCH; i++) {
			const struct ps_extent *r = &m->data[i];
			uint64_t a = r->first * PS_PAGE_SIZE, len = r->count * PS_PAGE_SIZE;

			if (is_long(r))
				continue;
			local[n] = (struct iovec){ (void *)(src + a), len };
			remote[n] = (struct iovec){ (void *)(m->start + a), len };
			want += len;
			n++;
		}
		if (n && process_vm_writev(c->pid, local, n, remote, n, 0) != (ssize_t)want)
			return -(errno ? errno : EIO);
	}
	return 0;
}

/*
 * The content file last read, kept open and mapped read-only whole: the
 * small mappings that share one file would otherwise open, map, unmap and
 * close it once each, thousands of times in a program with many mappings.
 */
struct ps_content_file {
	char name[PS_MEMORY_NAME_MAX];
	int fd;
	const char *map;            /* the whole file, or NULL until a short run needs it */
	uint64_t len;
};

void ps_pages_end(struct ps_rctx *c)
{
	struct ps_content_file *f = c->content;

	if (!f)
		return;
	if (f->map)
		munmap((void *)f->map, f->len);
	close(f->fd);
	free(f);
	c->content = NULL;
}

/* m's content file, open (and its size checked) once for all its mappings. */
static struct ps_content_file *content_of(struct ps_rctx *c, const struct ps_mapping *m,
					  const char *what)
{
	struct ps_content_file *f;
	struct stat st;
	int e;

	if (c->content && strcmp(c->content->name, m->content) == 0)
		return c->content;
	ps_pages_end(c);
	f = calloc(1, sizeof(*f));
	if (!f) {
		ps_rfail(c, -ENOMEM, "%s: out of memory", what);
		return NULL;
	}
	f->len = m->content_end - m->content_start;
	snprintf(f->name, sizeof(f->name), "%s", m->content);
	f->fd = ps_image_open(c, m->content);
	e = f->fd < 0 || fstat(f->fd, &st) < 0 ? errno : 0;
	if (e || (uint64_t)st.st_size != f->len) {
		ps_rfail(c, -EIO, "%s: cannot read %s: %s", what, m->content,
			 e ? strerror(e) : "its size changed since the image was checked");
		if (f->fd >= 0)
			close(f->fd);
		free(f);
		return NULL;
	}
	c->content = f;
	return f;
}

static int write_short(struct ps_rctx *c, const struct ps_mapping *m, struct ps_content_file *f,
		       const char *what)
{
	void *src;
	int e;

	if (!has_short_runs(m))
		return 0;
	if (!f->map) {
		src = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, f->fd, 0);
		if (src == MAP_FAILED)
			return ps_rfail(c, -errno, "%s: cannot map %s: %s", what, m->content,
					strerror(errno));
		f->map = src;
	}
	e = write_short_runs(c, m, f->map + file_base(m));
	if (e < 0)
		return ps_rfail(c, e, "%s: writing its pages into the new process: %s", what,
				strerror(-e));
	return 0;
}

static int fill_from_file(struct ps_rctx *c, const struct ps_mapping *m, const char *what)
{
	struct ps_content_file *f;
	int e;

	if (!m->ndata)
		return 0;
	f = content_of(c, m, what);
	if (!f)
		return -EIO;
	e = fill_long_runs(c, m, f->fd, what);
	if (e == 0)
		e = write_short(c, m, f, what);
	return e;
}

int ps_pages_fill(struct ps_rctx *c, const struct ps_mapping *m, const char *what,
		  const struct ps_prefill_region *done)
{
	struct ps_mapping todo = *m;
	int e;

	if (!done)
		return fill_from_file(c, m, what);
	/* only the runs the nursery did not get */
	todo.data = calloc(m->ndata ? m->ndata : 1, sizeof(*todo.data));
	if (!todo.data)
		return ps_rfail(c, -ENOMEM, "out of memory");
	todo.ndata = 0;
	for (size_t i = 0; i < m->ndata; i++)
		if (!ps_prefill_covers(done, m->data[i].first, m->data[i].count))
			todo.data[todo.ndata++] = m->data[i];
	e = fill_from_file(c, &todo, what);
	free(todo.data);
	return e;
}

/* ---- a mapping that may not be made writable: through /proc/<pid>/mem ---- */

/*
 * Writes to /proc/<pid>/mem are made with FOLL_FORCE, as a debugger's: they
 * copy a private page on write even where the mapping is read-only, without
 * making it writable (and so without charging it: no "ac"). Slower than
 * process_vm_writev, and only for such mappings.
 */
static int force_runs(struct ps_rctx *c, const struct ps_mapping *m, int fd, int memfd,
		      char *buf, const char *what)
{
	for (size_t i = 0; i < m->ndata; i++) {
		uint64_t off = m->data[i].first * PS_PAGE_SIZE;
		uint64_t end = off + m->data[i].count * PS_PAGE_SIZE;

		for (; off < end; off += BOUNCE) {
			size_t len = end - off < BOUNCE ? end - off : BOUNCE;

			if (pread(fd, buf, len, file_base(m) + (off_t)off) != (ssize_t)len)
				return ps_rfail(c, -EIO, "%s: %s ends before its saved pages do",
						what, m->content);
			if (pwrite(memfd, buf, len, (off_t)(m->start + off)) != (ssize_t)len)
				return ps_rfail(c, -(errno ? errno : EIO), "%s: writing its pages "
						"through /proc/%d/mem: %s", what, (int)c->pid,
						strerror(errno ? errno : EIO));
		}
	}
	return 0;
}

int ps_pages_fill_forced(struct ps_rctx *c, const struct ps_mapping *m, const char *what)
{
	char path[64], *buf;
	int fd, memfd, e;

	if (!m->ndata)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)c->pid);
	fd = ps_image_open(c, m->content);
	if (fd < 0)
		return ps_rfail(c, -EIO, "%s: cannot read %s: %s", what, m->content, strerror(errno));
	memfd = open(path, O_RDWR | O_CLOEXEC);
	buf = malloc(BOUNCE);
	if (memfd < 0 || !buf)
		e = ps_rfail(c, memfd < 0 ? -errno : -ENOMEM, "%s: cannot open %s: %s", what, path,
			     memfd < 0 ? strerror(errno) : "out of memory");
	else
		e = force_runs(c, m, fd, memfd, buf, what);
	free(buf);
	if (memfd >= 0)
		close(memfd);
	close(fd);
	return e;
}
