/* A held snapshot as image files: the JSON files encoded once at capture
 * time, memory files read from the frozen process on demand. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "backend/capture.h"
#include "image/codec.h"
#include "image/crc32.h"
#include "image/json_util.h"
#include "image/parts.h"
#include "backend/part_capture.h"
#include "backend/proc_parse.h"
#include "backend/snapshot.h"
#include "backend/tracer.h"

struct image_file {
	struct ps_snapshot_file pub;
	char *data;          /* encoded JSON; NULL for directories and memory */
	long map;            /* index in model.maps of a memory file's first mapping, else -1 */
	size_t nmaps;        /* how many adjacent mappings, from map on, the file holds */
	int content_fd;      /* a deleted file or memfd of the process, else -1 */
};

struct ps_snapshot {
	struct ps_capture cap;
	uint64_t start_time;          /* of the process, from /proc/<pid>/stat */
	int pidfd;                    /* the process itself, or -1 */
	struct image_file *files;
	size_t nfiles, files_cap;
	size_t *by_name;              /* indices of files, sorted by name, for lookups */
	struct ps_snapshot *next;     /* in the list of live snapshots */
};

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ps_snapshot *live;

/* Room for one more file: the array doubles, so 20,000 memory files cost
 * 15 reallocations, not 20,000 copies of a growing array. */
static int reserve_file(struct ps_snapshot *s)
{
	size_t cap = s->files_cap ? s->files_cap * 2 : 64;
	struct image_file *grown;

	if (s->nfiles < s->files_cap)
		return 0;
	grown = realloc(s->files, cap * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	s->files = grown;
	s->files_cap = cap;
	return 0;
}

static struct image_file *add_file(struct ps_snapshot *s, const char *name)
{
	struct image_file *f;

	if (reserve_file(s) < 0)
		return NULL;
	f = &s->files[s->nfiles];
	memset(f, 0, sizeof(*f));
	f->map = -1;
	f->content_fd = -1;
	f->pub.name = strdup(name);
	if (!f->pub.name)
		return NULL;
	s->nfiles++;
	return f;
}

static int add_dir(struct ps_snapshot *s, const char *name)
{
	struct image_file *f = add_file(s, name);

	if (!f)
		return -ENOMEM;
	f->pub.is_dir = 1;
	return 0;
}

/* Takes ownership of j. */
static int add_json(struct ps_snapshot *s, const char *name, json_t *j)
{
	struct image_file *f;
	size_t len;
	char *text;

	if (!j)
		return -ENOMEM;
	text = ps_json_dump(j, &len);
	json_decref(j);
	if (!text)
		return -ENOMEM;
	f = add_file(s, name);
	if (!f) {
		free(text);
		return -ENOMEM;
	}
	f->data = text;
	f->pub.size = len;
	f->pub.blocks = (len + 511) / 512;
	return 0;
}

/* One file per content name: a run of adjacent mappings shares one
 * (backend/memory.c names them). */
static int add_memory_files(struct ps_snapshot *s)
{
	const struct ps_maps *maps = &s->cap.model.maps;

	for (size_t i = 0; i < maps->count; i++) {
		const struct ps_mapping *m = &maps->items[i];
		struct image_file *f;

		if (!m->content)
			continue;
		if (i > 0 && maps->items[i - 1].content &&
		    strcmp(maps->items[i - 1].content, m->content) == 0) {
			f = &s->files[s->nfiles - 1];
			f->nmaps++;
			f->pub.blocks += m->data_pages * (PS_PAGE_SIZE / 512);
			continue;
		}
		f = add_file(s, m->content);
		if (!f)
			return -ENOMEM;
		f->map = (long)i;
		f->nmaps = 1;
		f->pub.size = m->content_end - m->content_start;
		f->pub.blocks = m->data_pages * (PS_PAGE_SIZE / 512);
	}
	return 0;
}

/* fds/<n> of a pipe: its unread bytes, peeked at capture. */
static int add_pipe_bytes(struct image_file *f, const struct ps_fd *fd)
{
	f->data = malloc(fd->nbytes);
	if (!f->data)
		return -ENOMEM;
	memcpy(f->data, fd->bytes, fd->nbytes);
	f->pub.size = fd->nbytes;
	f->pub.blocks = (fd->nbytes + 511) / 512;
	return 0;
}

/* fds/<n> of a deleted file or memfd: read from the file itself through
 * the process's fd link (the process is frozen: nobody of it writes), with
 * its holes, as a memory file is. */
static int add_file_content(struct ps_snapshot *s, struct image_file *f, const struct ps_fd *fd)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)s->cap.frozen.pid, fd->fd);
	f->content_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->content_fd < 0 || fstat(f->content_fd, &st) < 0)
		return -errno;
	f->pub.size = fd->u.content.size;
	f->pub.blocks = (uint64_t)st.st_blocks;
	return 0;
}

/* fds/<n>: bytes a descriptor holds. */
static int add_fd_files(struct ps_snapshot *s)
{
	const struct ps_fds *fds = &s->cap.model.fds;
	int dir = 0;

	for (size_t i = 0; i < fds->count; i++) {
		const struct ps_fd *fd = &fds->items[i];
		struct image_file *f;
		int e;

		if (!fd->data || (!fd->nbytes && !ps_fd_has_content(fd)))
			continue;
		if (!dir && add_dir(s, "fds") < 0)
			return -ENOMEM;
		dir = 1;
		f = add_file(s, fd->data);
		if (!f)
			return -ENOMEM;
		e = ps_fd_has_content(fd) ? add_file_content(s, f, fd) : add_pipe_bytes(f, fd);
		if (e < 0)
			return e;
	}
	return 0;
}

/* A part with one file per thread: its directory, then registers/<tid>.json
 * for each thread. */
static int add_thread_files(struct ps_snapshot *s, const struct ps_part *p)
{
	const struct ps_model *m = &s->cap.model;
	char name[64];
	int e = add_dir(s, "registers");

	for (size_t i = 0; e == 0 && i < m->nthreads; i++) {
		ps_registers_file_name(name, sizeof(name), m->threads[i].tid);
		e = add_json(s, name, p->encode(m, i));
	}
	return e;
}

/* A part's file, after its directory ("memory/maps.json" comes after "memory"). */
static int add_part_file(struct ps_snapshot *s, const struct ps_part *p)
{
	const char *slash = strchr(p->file, '/');
	char dir[64];
	int e = 0;

	if (slash) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - p->file), p->file);
		e = add_dir(s, dir);
	}
	return e ? e : add_json(s, p->file, p->encode(&s->cap.model, 0));
}

static void fill_meta_environment(struct ps_image_meta *meta)
{
	struct utsname u;
	char *boot_id = NULL;
	size_t len;

	meta->format = PS_FORMAT_VERSION;
	snprintf(meta->arch, sizeof(meta->arch), "x86_64");
	if (uname(&u) == 0)
		snprintf(meta->kernel, sizeof(meta->kernel), "%s", u.release);
	if (ps_read_file("/proc/sys/kernel/random/boot_id", &boot_id, &len) == 0) {
		if (len && boot_id[len - 1] == '\n')
			boot_id[len - 1] = 0;
		snprintf(meta->boot_id, sizeof(meta->boot_id), "%s", boot_id);
	}
	free(boot_id);
	meta->page_size = sysconf(_SC_PAGESIZE);
}

/* image.json lists every other file with its size, and the CRC of every
 * JSON file (memory bytes are not in hand here, and reading them only to
 * checksum would cost a full pass over the address space). */
static int add_image_json(struct ps_snapshot *s)
{
	struct ps_image_meta *meta = &s->cap.model.meta;
	size_t n = 0;

	fill_meta_environment(meta);
	meta->files = calloc(s->nfiles ? s->nfiles : 1, sizeof(*meta->files));
	if (!meta->files)
		return -ENOMEM;
	for (size_t i = 0; i < s->nfiles; i++) {
		const struct image_file *f = &s->files[i];
		struct ps_image_file *out = &meta->files[n];

		if (f->pub.is_dir)
			continue;
		out->name = strdup(f->pub.name);
		if (!out->name)
			return -ENOMEM;
		out->size = f->pub.size;
		if (f->data) {
			out->has_crc = 1;
			out->crc32 = ps_crc32(0, f->data, f->pub.size);
		}
		meta->nfiles = ++n;
	}
	return add_json(s, "image.json", ps_encode_image_meta(meta));
}

static int cmp_names(const void *a, const void *b, void *files)
{
	const struct image_file *f = files;

	return strcmp(f[*(const size_t *)a].pub.name, f[*(const size_t *)b].pub.name);
}

/* Every FUSE request names its file by path: a sorted index makes each
 * lookup a binary search instead of a scan of 20,000 names. */
static int index_names(struct ps_snapshot *s)
{
	s->by_name = malloc((s->nfiles ? s->nfiles : 1) * sizeof(*s->by_name));
	if (!s->by_name)
		return -ENOMEM;
	for (size_t i = 0; i < s->nfiles; i++)
		s->by_name[i] = i;
	qsort_r(s->by_name, s->nfiles, sizeof(*s->by_name), cmp_names, s->files);
	return 0;
}

/*
 * The image's files in the order image.json lists them: each part's JSON
 * file in the order of the table (image/parts.h), then the data files of
 * memory and descriptors, then the files one per thread, image.json last.
 */
static int build_files(struct ps_snapshot *s)
{
	int e = 0;

	for (size_t i = 0; e == 0 && i < ps_nparts; i++)
		if (ps_parts[i].file && !ps_parts[i].per_thread)
			e = add_part_file(s, &ps_parts[i]);
	if (e == 0)
		e = add_memory_files(s);
	if (e == 0)
		e = add_fd_files(s);
	for (size_t i = 0; e == 0 && i < ps_nparts; i++)
		if (ps_parts[i].per_thread)
			e = add_thread_files(s, &ps_parts[i]);
	if (e == 0)
		e = add_image_json(s);
	if (e == 0)
		e = index_names(s);
	return e;
}

struct take_job {
	pid_t pid;
	struct ps_capture *cap;
	char *err;
	size_t errlen;
};

static int take_on_tracer(void *arg)
{
	struct take_job *j = arg;

	return ps_capture_take(j->pid, j->cap, j->err, j->errlen);
}

static int release_on_tracer(void *arg)
{
	ps_capture_release(arg);
	return 0;
}

static void free_files(struct ps_snapshot *s)
{
	for (size_t i = 0; i < s->nfiles; i++) {
		free((char *)s->files[i].pub.name);
		free(s->files[i].data);
		if (s->files[i].content_fd >= 0)
			close(s->files[i].content_fd);
	}
	free(s->files);
	free(s->by_name);
}

static void unlist(struct ps_snapshot *s)
{
	pthread_mutex_lock(&live_lock);
	for (struct ps_snapshot **p = &live; *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			break;
		}
	}
	pthread_mutex_unlock(&live_lock);
}

static void destroy(struct ps_snapshot *s)
{
	if (s->pidfd >= 0)
		close(s->pidfd);
	if (ps_tracer_call(release_on_tracer, &s->cap) < 0)
		ps_capture_release(&s->cap);    /* tracer gone: its tracees were freed with it */
	free_files(s);
	free(s);
}

/* The process's start time, which a later process with the same pid does
 * not share; 0 if it is gone. */
static uint64_t start_time_of(pid_t pid)
{
	struct ps_stat st;

	if (ps_read_stat(pid, &st) < 0)
		return 0;
	return st.state == 'Z' || st.state == 'X' ? 0 : st.start_time;
}

/*
 * Asked at every FUSE request on the snapshot. A pidfd names the very
 * process, never a later one with its pid, and poll() says POLLIN once it
 * has exited (a zombie included): one syscall, where reading
 * /proc/<pid>/stat costs an open, a read and a close.
 */
int ps_snapshot_is_current(const struct ps_snapshot *s)
{
	struct pollfd p = { s->pidfd, POLLIN, 0 };
	uint64_t now;

	if (s->pidfd >= 0 && poll(&p, 1, 0) >= 0)
		return !(p.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL));
	now = start_time_of(ps_snapshot_pid(s));
	return now != 0 && now == s->start_time;
}

int ps_snapshot_take(pid_t pid, struct ps_snapshot **out, char *err, size_t errlen)
{
	struct ps_snapshot *s = calloc(1, sizeof(*s));
	struct take_job job = { pid, NULL, err, errlen };
	int e;

	if (!s)
		return -ENOMEM;
	job.cap = &s->cap;
	e = ps_tracer_call(take_on_tracer, &job);
	if (e == -ESHUTDOWN)
		snprintf(err, errlen, "procsnap is shutting down");
	if (e < 0) {
		free(s);
		return e;
	}
	s->start_time = start_time_of(pid);
	s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	e = build_files(s);
	if (e < 0) {
		snprintf(err, errlen, "process %d: encoding its image failed: %s", pid, strerror(-e));
		destroy(s);
		return e;
	}
	pthread_mutex_lock(&live_lock);
	s->next = live;
	live = s;
	pthread_mutex_unlock(&live_lock);
	*out = s;
	return 0;
}

void ps_snapshot_release(struct ps_snapshot *s)
{
	unlist(s);
	destroy(s);
}

pid_t ps_snapshot_pid(const struct ps_snapshot *s)
{
	return s->cap.model.meta.pid;
}

void ps_snapshot_time(const struct ps_snapshot *s, struct timespec *ts)
{
	ts->tv_sec = s->cap.model.meta.taken_sec;
	ts->tv_nsec = s->cap.model.meta.taken_nsec;
}

size_t ps_snapshot_nfiles(const struct ps_snapshot *s)
{
	return s->nfiles;
}

const struct ps_snapshot_file *ps_snapshot_file(const struct ps_snapshot *s, size_t i)
{
	return i < s->nfiles ? &s->files[i].pub : NULL;
}

int ps_snapshot_lookup(const struct ps_snapshot *s, const char *relpath)
{
	size_t lo = 0, hi = s->nfiles;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->files[s->by_name[mid]].pub.name, relpath);

		if (c == 0)
			return (int)s->by_name[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -ENOENT;
}

/* The file may have shrunk since (another process holding a memfd): what
 * is gone reads as zeros, so the file keeps the size image.json states. */
static ssize_t read_content(const struct image_file *f, char *buf, size_t size, off_t off)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = pread(f->content_fd, buf + done, size - done, off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	memset(buf + done, 0, size - done);
	return (ssize_t)size;
}

/* Each mapping of the file gives the bytes of its own part of the range
 * (the mappings are adjacent: together they cover it). */
static ssize_t read_memory_file(struct ps_snapshot *s, const struct image_file *f, char *buf,
				size_t size, uint64_t off)
{
	const struct ps_mapping *maps = &s->cap.model.maps.items[f->map];
	uint64_t base = maps[0].content_start;

	if (off >= f->pub.size)
		return 0;
	if (size > f->pub.size - off)
		size = f->pub.size - off;
	for (size_t k = 0; k < f->nmaps; k++) {
		uint64_t from = maps[k].start - base, to = maps[k].end - base;
		uint64_t a = off > from ? off : from, b = off + size < to ? off + size : to;
		ssize_t r;

		if (a >= b)
			continue;
		r = ps_memory_read(s->cap.frozen.pid, s->cap.memfd, &maps[k], buf + (a - off), b - a,
				   a - from);
		if (r < 0)
			return r;
	}
	return (ssize_t)size;
}

ssize_t ps_snapshot_read(struct ps_snapshot *s, size_t i, char *buf, size_t size, off_t off)
{
	const struct image_file *f;

	if (i >= s->nfiles || off < 0)
		return -EINVAL;
	f = &s->files[i];
	if (f->pub.is_dir)
		return -EISDIR;
	if (f->map >= 0)
		return read_memory_file(s, f, buf, size, (uint64_t)off);
	if ((uint64_t)off >= f->pub.size)
		return 0;
	if (size > f->pub.size - off)
		size = f->pub.size - off;
	if (f->content_fd >= 0)
		return read_content(f, buf, size, off);
	memcpy(buf, f->data + off, size);
	return size;
}

/* SEEK_DATA and SEEK_HOLE across the file's mappings: a run of data may go
 * on from one mapping into the next. */
static off_t seek_memory_file(const struct ps_snapshot *s, const struct image_file *f, off_t off,
			      int whence)
{
	const struct ps_mapping *maps = &s->cap.model.maps.items[f->map];
	uint64_t base = maps[0].content_start;

	if (off < 0 || (uint64_t)off >= f->pub.size)
		return -ENXIO;
	for (size_t k = 0; k < f->nmaps; k++) {
		uint64_t from = maps[k].start - base, to = maps[k].end - base;
		off_t r;

		if (to <= (uint64_t)off)
			continue;
		r = ps_memory_seek(&maps[k], (uint64_t)off > from ? (off_t)((uint64_t)off - from) : 0,
				   whence);
		if (whence == SEEK_DATA && r >= 0)
			return (off_t)from + r;
		if (whence == SEEK_HOLE && r >= 0 && (uint64_t)r < to - from)
			return (off_t)from + r;
		if (r < 0 && r != -ENXIO)
			return r;
	}
	return whence == SEEK_DATA ? -ENXIO : (off_t)f->pub.size;
}

/* The file's own holes; past its current end (it shrank) is one hole. */
static off_t seek_content(const struct image_file *f, off_t off, int whence)
{
	off_t r = lseek(f->content_fd, off, whence);

	if (r < 0 && errno == ENXIO)
		return whence == SEEK_HOLE ? off : -ENXIO;
	if (r < 0)
		return -errno;
	return r > (off_t)f->pub.size ? (off_t)f->pub.size : r;
}

off_t ps_snapshot_seek(const struct ps_snapshot *s, size_t i, off_t off, int whence)
{
	const struct image_file *f;

	if (i >= s->nfiles)
		return -EINVAL;
	f = &s->files[i];
	if (f->map >= 0)
		return seek_memory_file(s, f, off, whence);
	if (off < 0 || (uint64_t)off >= f->pub.size)
		return -ENXIO;
	if (f->content_fd >= 0)
		return seek_content(f, off, whence);
	return whence == SEEK_DATA ? off : (off_t)f->pub.size;
}

int ps_backend_start(char *err, size_t errlen)
{
	return ps_tracer_start(err, errlen);
}

void ps_backend_stop(void)
{
	for (;;) {
		struct ps_snapshot *s;

		pthread_mutex_lock(&live_lock);
		s = live;
		if (s)
			live = s->next;
		pthread_mutex_unlock(&live_lock);
		if (!s)
			break;
		destroy(s);
	}
	ps_tracer_stop();
}
