/* Reading a saved image directory into the model: image.json, the presence,
 * size and CRC-32 of every file it lists, then each JSON part decoded. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "image/codec.h"
#include "image/crc32.h"
#include "image/image_read.h"
#include "backend/fileio.h"
#include "backend/sentence.h"
#include "image/json_util.h"
#include "image/parts.h"

#define CHUNK (64 << 10)

/* How large a JSON part may be on disk, and how much memory parsing it may
 * take (image_limits.h): both checked before it is read or parsed. */
struct part_limits {
	uint64_t size;
	size_t memory;
};

static const struct part_limits image_limits = {
	PS_MAX_IMAGE_JSON_SIZE, PS_MAX_IMAGE_JSON_MEMORY };

/* ---- opening files of an untrusted image ---- */

/* Open a listed file for reading: a regular file, no symlink anywhere.
 * O_NONBLOCK so that a FIFO put in its place cannot hang the restore. */
static int open_listed(int dirfd, const char *name)
{
	const char *base;
	int pfd = ps_open_parent_beneath(dirfd, name, &base);
	struct stat st;
	int fd;

	if (pfd < 0)
		return pfd;
	fd = openat(pfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	fd = fd < 0 ? -errno : fd;
	close(pfd);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

static int stat_listed(int dirfd, const char *name, struct stat *st)
{
	const char *base;
	int pfd = ps_open_parent_beneath(dirfd, name, &base);
	int rc;

	if (pfd < 0)
		return pfd;
	rc = fstatat(pfd, base, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	close(pfd);
	return rc;
}

/* Present, regular, and exactly the size image.json says. A file still
 * being copied is short (-EAGAIN); one that is longer is not that file. */
static int check_present(int dirfd, const struct ps_image_file *f, char *err, size_t errlen)
{
	struct stat st;
	int rc = stat_listed(dirfd, f->name, &st);

	if (rc == -ENOENT)
		return ps_fail(err, errlen, -EAGAIN, "%s is missing", f->name);
	if (rc == -ELOOP)
		return ps_fail(err, errlen, -EINVAL, "%s is reached through a symbolic link", f->name);
	if (rc == -ENOTDIR)
		return ps_fail(err, errlen, -EINVAL, "%s: a part of its path is not a directory", f->name);
	if (rc)
		return ps_fail(err, errlen, rc, "%s: %s", f->name, strerror(-rc));
	if (!S_ISREG(st.st_mode))
		return ps_fail(err, errlen, -EINVAL, "%s is not a regular file", f->name);
	if ((uint64_t)st.st_size < f->size)
		return ps_fail(err, errlen, -EAGAIN, "%s is %" PRIu64 " bytes short", f->name,
			    f->size - (uint64_t)st.st_size);
	if ((uint64_t)st.st_size > f->size)
		return ps_fail(err, errlen, -EINVAL, "%s is %" PRIu64 " bytes longer than image.json says",
			    f->name, (uint64_t)st.st_size - f->size);
	return 0;
}

/* ---- reading ---- */

/* The whole of a listed file, at most max bytes (refused before anything is
 * read or allocated), into a new buffer with a NUL after it. */
static int read_listed(int dirfd, const struct ps_image_file *f, uint64_t max,
		       char **out, char *err, size_t errlen)
{
	size_t want = (size_t)f->size + 1;   /* one byte more tells a file that grew */
	size_t got = 0;
	ssize_t n = 0;
	char *buf;
	int fd, rerr;

	if (f->size > max)
		return ps_fail(err, errlen, -EINVAL, "%s is %" PRIu64 " bytes, more than the %" PRIu64
			    " MiB it may be", f->name, f->size, max >> 20);
	fd = open_listed(dirfd, f->name);
	if (fd < 0)
		return ps_fail(err, errlen, fd, "%s: %s", f->name, strerror(-fd));
	buf = malloc(want + 1);
	if (!buf) {
		close(fd);
		return ps_fail(err, errlen, -ENOMEM, "%s: out of memory", f->name);
	}
	while (got < want && (n = read(fd, buf + got, want - got)) > 0)
		got += (size_t)n;
	rerr = errno;
	close(fd);
	if (n < 0 || got != f->size) {
		free(buf);
		if (n < 0)
			return ps_fail(err, errlen, -EIO, "%s: %s", f->name, strerror(rerr));
		return ps_fail(err, errlen, -EINVAL, "%s is not the %" PRIu64 " bytes image.json says",
			    f->name, f->size);
	}
	buf[got] = '\0';
	*out = buf;
	return 0;
}

static int check_crc(const struct ps_image_file *f, uint32_t crc, char *err, size_t errlen)
{
	if (!f->has_crc || crc == f->crc32)
		return 0;
	return ps_fail(err, errlen, -EINVAL, "%s is damaged: its CRC-32 is 0x%08" PRIx32
		    " but image.json says 0x%08" PRIx32, f->name, crc, f->crc32);
}

/* A JSON part's CRC is checked where it is read, on the very bytes it is
 * parsed from (load_part): reading it here too would read it twice. */
static int is_json(const char *name)
{
	size_t len = strlen(name);

	return len > 5 && strcmp(name + len - 5, ".json") == 0;
}

/* Size of a listed file, and the CRC-32 of one that is not a JSON part,
 * read in chunks (data files can be large). */
static int verify_listed(int dirfd, const struct ps_image_file *f, char *err, size_t errlen)
{
	uint64_t total = 0;
	uint32_t crc = 0;
	char *buf;
	ssize_t n;
	int fd, rc = check_present(dirfd, f, err, errlen);

	if (rc || !f->has_crc || is_json(f->name))
		return rc;
	fd = open_listed(dirfd, f->name);
	if (fd < 0)
		return ps_fail(err, errlen, fd, "%s: %s", f->name, strerror(-fd));
	buf = malloc(CHUNK);
	if (!buf) {
		close(fd);
		return ps_fail(err, errlen, -ENOMEM, "%s: out of memory", f->name);
	}
	while ((n = read(fd, buf, CHUNK)) > 0) {
		crc = ps_crc32(crc, buf, (size_t)n);
		total += (uint64_t)n;
	}
	rc = n < 0 ? -errno : 0;
	free(buf);
	close(fd);
	if (rc)
		return ps_fail(err, errlen, -EIO, "%s: %s", f->name, strerror(-rc));
	if (total != f->size)
		return ps_fail(err, errlen, -EINVAL, "%s changed size while being read", f->name);
	return check_crc(f, crc, err, errlen);
}

/* A listed JSON part: read once, checked (size, CRC) and parsed from the
 * same bytes, so what is decoded is what was checked. */
static int load_part(int dirfd, const struct ps_image_meta *meta, const char *name,
		     const struct part_limits *lim, json_t **out, char *err, size_t errlen)
{
	const struct ps_image_file *f = ps_image_file_find(meta, name);
	char *buf;
	int rc;

	if (!f)
		return ps_fail(err, errlen, -EINVAL, "image.json does not list %s", name);
	rc = read_listed(dirfd, f, lim->size, &buf, err, errlen);
	if (rc)
		return rc;
	rc = check_crc(f, ps_crc32(0, buf, f->size), err, errlen);
	if (!rc) {
		*out = ps_json_load(buf, f->size, name, lim->memory, err, errlen);
		rc = *out ? 0 : -EINVAL;
	}
	free(buf);
	return rc;
}

/* image.json is not listed in itself: its size is whatever is on disk. */
static int load_meta(int dirfd, struct ps_image_meta *meta, char *err, size_t errlen)
{
	struct ps_image_file self = { .name = "image.json" };
	struct stat st;
	json_t *j;
	char *buf;
	int rc = stat_listed(dirfd, self.name, &st);

	if (rc == -ENOENT)
		return ps_fail(err, errlen, -EAGAIN, "image.json is missing");
	if (rc)
		return ps_fail(err, errlen, rc, "image.json: %s", strerror(-rc));
	if (!S_ISREG(st.st_mode))
		return ps_fail(err, errlen, -EINVAL, "image.json is not a regular file");
	self.size = (uint64_t)st.st_size;
	rc = read_listed(dirfd, &self, image_limits.size, &buf, err, errlen);
	if (rc)
		return rc;
	j = ps_json_load(buf, self.size, "image.json", image_limits.memory, err, errlen);
	free(buf);
	if (!j)
		return -EINVAL;
	rc = ps_decode_image_meta(j, meta, err, errlen);
	json_decref(j);
	return rc;
}

static int open_image_dir(const char *dir, char *err, size_t errlen)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return ps_fail(err, errlen, -errno, "cannot open image directory %s: %s",
			    dir, strerror(errno));
	return fd;
}

int ps_image_check_complete(const char *dir, char *err, size_t errlen)
{
	struct ps_image_meta meta = { 0 };
	int dirfd = open_image_dir(dir, err, errlen);
	int rc;

	if (dirfd < 0)
		return dirfd;
	rc = load_meta(dirfd, &meta, err, errlen);
	for (size_t i = 0; rc == 0 && i < meta.nfiles; i++)
		rc = check_present(dirfd, &meta.files[i], err, errlen);
	ps_image_meta_free(&meta);
	close(dirfd);
	return rc;
}

/* ---- the parts ---- */

/* A part's one file, decoded into m. */
static int read_part(int dirfd, struct ps_model *m, const struct ps_part *p, char *err,
		     size_t errlen)
{
	const struct part_limits lim = { p->max_size, p->max_memory };
	json_t *j;
	int rc = load_part(dirfd, &m->meta, p->file, &lim, &j, err, errlen);

	if (rc)
		return rc;
	rc = p->decode(j, m, 0, err, errlen);
	json_decref(j);
	return rc;
}

static int is_registers_name(const char *name)
{
	return strncmp(name, "registers/", 10) == 0;
}

/* The tid of "registers/<tid>.json", or 0 when name is not of that form. */
static pid_t registers_tid(const char *name)
{
	char expect[64];
	long tid;

	if (!is_registers_name(name) || name[10] < '1' || name[10] > '9')
		return 0;
	tid = strtol(name + 10, NULL, 10);
	if (tid < 1 || tid > PS_PID_MAX)
		return 0;
	ps_registers_file_name(expect, sizeof(expect), (pid_t)tid);
	return strcmp(name, expect) == 0 ? (pid_t)tid : 0;
}

static int read_thread(int dirfd, struct ps_model *m, const struct ps_part *p, const char *name,
		       pid_t tid, size_t slot, char *err, size_t errlen)
{
	const struct part_limits lim = { p->max_size, p->max_memory };
	json_t *j;
	int rc = load_part(dirfd, &m->meta, name, &lim, &j, err, errlen);

	if (rc)
		return rc;
	rc = p->decode(j, m, slot, err, errlen);
	json_decref(j);
	if (!rc && m->threads[slot].tid != tid)
		rc = ps_fail(err, errlen, -EINVAL, "%s holds the registers of tid %d", name,
			     m->threads[slot].tid);
	return rc;
}

static size_t count_registers(const struct ps_image_meta *meta)
{
	size_t n = 0;

	for (size_t i = 0; i < meta->nfiles; i++)
		n += is_registers_name(meta->files[i].name);
	return n;
}

/* Before any file is read: one registers file per thread. */
static int check_thread_count(const struct ps_image_meta *meta, char *err, size_t errlen)
{
	size_t n = count_registers(meta);

	if (n > PS_MAX_THREADS)
		return ps_fail(err, errlen, -EINVAL, "image.json lists %zu registers files, more than "
			    "the %d threads an image may hold", n, PS_MAX_THREADS);
	return 0;
}

/* Signals queued to the process and to its threads share one bound, checked
 * as each thread is read: what is held before the refusal stays within twice
 * the bound. */
static int count_queued(size_t *queued, const struct ps_thread *t, const char *name,
			char *err, size_t errlen)
{
	*queued += t->npending;
	if (*queued > PS_MAX_PENDING)
		return ps_fail(err, errlen, -EINVAL, "%s brings the signals queued in the image "
			    "(signals.json and registers/) to %zu, more than the %d an image may "
			    "hold", name, *queued, PS_MAX_PENDING);
	return 0;
}

/* One thread per listed registers/<tid>.json, the main thread (tid == pid)
 * first: restore starts from it. */
static int read_threads(int dirfd, struct ps_model *m, const struct ps_part *p, char *err,
			size_t errlen)
{
	const struct ps_image_meta *meta = &m->meta;
	char main_name[64];
	size_t n = count_registers(meta), next = 1, queued = m->signals.nshared_pending;
	int rc;

	ps_registers_file_name(main_name, sizeof(main_name), meta->pid);
	if (!ps_image_file_find(meta, main_name))
		return ps_fail(err, errlen, -EINVAL, "image.json does not list %s, the main thread's "
			    "registers", main_name);
	m->threads = calloc(n, sizeof(*m->threads));
	if (!m->threads)
		return ps_fail(err, errlen, -ENOMEM, "registers: out of memory");
	m->nthreads = n;   /* slots fill out of order; unfilled ones free as zero */
	for (size_t i = 0; i < meta->nfiles; i++) {
		const char *name = meta->files[i].name;
		pid_t tid = registers_tid(name);
		struct ps_thread *t;
		size_t slot;

		if (!is_registers_name(name))
			continue;
		if (!tid)
			return ps_fail(err, errlen, -EINVAL, "image.json lists %s, which is not "
				    "registers/<tid>.json", name);
		slot = tid == meta->pid ? 0 : next++;
		t = &m->threads[slot];
		rc = read_thread(dirfd, m, p, name, tid, slot, err, errlen);
		if (!rc)
			rc = count_queued(&queued, t, name, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

static int read_all(int dirfd, struct ps_model *m, char *err, size_t errlen)
{
	int rc = load_meta(dirfd, &m->meta, err, errlen);

	if (!rc)
		rc = check_thread_count(&m->meta, err, errlen);
	for (size_t i = 0; rc == 0 && i < m->meta.nfiles; i++)
		rc = verify_listed(dirfd, &m->meta.files[i], err, errlen);
	/* Each part's file in the order of the table (image/parts.h); parts
	 * whose keys are in another's file were read with it. */
	for (size_t i = 0; !rc && i < ps_nparts; i++) {
		const struct ps_part *p = &ps_parts[i];

		if (p->per_thread)
			rc = read_threads(dirfd, m, p, err, errlen);
		else if (p->file && (!p->optional || ps_image_file_find(&m->meta, p->file)))
			rc = read_part(dirfd, m, p, err, errlen);
	}
	return rc;
}

int ps_image_read(const char *dir, struct ps_model *m, char *err, size_t errlen)
{
	int dirfd = open_image_dir(dir, err, errlen);
	int rc;

	memset(m, 0, sizeof(*m));
	if (dirfd < 0)
		return dirfd;
	rc = read_all(dirfd, m, err, errlen);
	close(dirfd);
	if (rc)
		ps_model_free(m);
	return rc;
}

/* ---- an image still being copied in ---- */

/* The first size bytes of fd, read whole and NUL-terminated, or NULL. */
static char *read_whole(int fd, size_t size)
{
	char *buf = malloc(size + 1);
	size_t got = 0;
	ssize_t n;

	if (!buf)
		return NULL;
	while (got < size && (n = pread(fd, buf + got, size - got, (off_t)got)) > 0)
		got += (size_t)n;
	if (got < size) {
		free(buf);
		return NULL;
	}
	buf[size] = '\0';
	return buf;
}

/*
 * image.json of the image directory image_fd decoded into meta: 0, or
 * -errno; meta is the caller's to free either way. The image is still
 * being copied in by its user: image.json is opened without following a
 * symlink, without blocking on a FIFO, and read only up to its limit.
 */
int ps_image_read_staged_meta(int image_fd, struct ps_image_meta *meta)
{
	char err[256], *text;
	json_t *j = NULL;
	struct stat st;
	int fd, rc = -EINVAL;

	fd = openat(image_fd, "image.json", O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PS_MAX_IMAGE_JSON_SIZE) {
		close(fd);
		return -EINVAL;
	}
	text = read_whole(fd, (size_t)st.st_size);
	close(fd);
	if (text)
		j = ps_json_load(text, (size_t)st.st_size, "image.json", PS_MAX_IMAGE_JSON_MEMORY,
				 err, sizeof(err));
	free(text);
	if (j)
		rc = ps_decode_image_meta(j, meta, err, sizeof(err));
	json_decref(j);
	return rc;
}
