/* Files still mapped but gone from the filesystem (memfds, deleted files):
 * mapped from the descriptor the process still holds, or from a new memfd. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "restore/as_caller.h"
#include "restore/gone_files.h"

#define MEMFD_PREFIX "/memfd:"

struct gone_file {
	uint32_t dev_major, dev_minor;
	uint64_t ino;
	int writable;
	long fd;               /* in the stub */
};

struct ps_gone_files {
	struct gone_file *items;
	size_t n;
};

struct ps_gone_files *ps_gone_files_new(void)
{
	return calloc(1, sizeof(struct ps_gone_files));
}

static int same_file(const struct gone_file *g, const struct ps_file_id *id)
{
	return g->ino == id->ino && g->dev_major == id->dev_major && g->dev_minor == id->dev_minor;
}

/* The file was open for writing when mapped shared: "mw" (VM_MAYWRITE),
 * which do_mmap keeps on a shared mapping only then; mprotect needs it. */
static int wants_write(const struct ps_mapping *m)
{
	for (size_t i = 0; m->shared && i < m->nvm_flags; i++)
		if (!strcmp(m->vm_flags[i], "mw"))
			return 1;
	return 0;
}

/* The file's descriptor the process holds, opened again through the magic
 * link /proc/self/fd/<n>, which reaches a file without a name; the kernel
 * checks the new access mode against the file, for the caller. */
static long reopen_held(struct ps_rctx *c, const struct ps_fd *f, int writable, const char *who)
{
	char link[64], deed[96];
	uint64_t at;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", f->fd);
	at = ps_rput(c, 0, link, strlen(link) + 1);
	if (!at)
		return -EIO;
	snprintf(deed, sizeof(deed), "open it again through fd %d for %s", f->fd,
		 writable ? "reading and writing" : "reading");
	return ps_caller_call(c, who, deed, SYS_openat, (uint64_t)(int64_t)AT_FDCWD, at,
			      (uint64_t)((writable ? O_RDWR : O_RDONLY) | O_CLOEXEC), 0, 0, 0);
}

/* The file's size at the checkpoint (fstat through map_files), or, in an
 * image without it, how far into the file the image's mappings of it reach.
 * A mapping may reach past the end: its pages there fault with SIGBUS, as
 * they did. */
static uint64_t mapped_size(const struct ps_maps *maps, const struct ps_file_id *id)
{
	uint64_t size = 0;

	if (id->size)
		return id->size;

	for (size_t i = 0; i < maps->count; i++) {
		const struct ps_mapping *o = &maps->items[i];

		if (o->kind == PS_MAP_FILE && o->deleted && o->file.ino == id->ino &&
		    o->file.dev_major == id->dev_major && o->file.dev_minor == id->dev_minor &&
		    o->offset + (o->end - o->start) > size)
			size = o->offset + (o->end - o->start);
	}
	return size;
}

/*
 * A shared mapping of a file no descriptor holds any more: a new memfd (of
 * the same name for a memfd) as large as the mappings reach; their saved
 * bytes fill it through the mappings themselves. All mappings of one file
 * share it, so what one writes the others see, as before.
 */
static long make_memfd(struct ps_rctx *c, const struct ps_mapping *m, const char *what)
{
	const char *name = m->path.data;
	uint64_t at;
	long fd, rc;

	if (strncmp(name, MEMFD_PREFIX, strlen(MEMFD_PREFIX)) == 0)
		name += strlen(MEMFD_PREFIX);
	else if (strrchr(name, '/'))
		name = strrchr(name, '/') + 1;
	at = ps_rput(c, 0, name, strnlen(name, 249) + 1);
	if (!at)
		return -EIO;
	fd = ps_rcall(c, what, SYS_memfd_create, at, MFD_CLOEXEC, 0, 0, 0, 0);
	if (fd < 0)
		return fd;
	rc = ps_rcall(c, what, SYS_ftruncate, (uint64_t)fd, mapped_size(&c->m->maps, &m->file),
		      0, 0, 0, 0);
	return rc < 0 ? rc : fd;
}

static struct gone_file *remember(struct ps_gone_files *g, const struct ps_mapping *m, long fd,
				  int writable)
{
	struct gone_file *grown = realloc(g->items, (g->n + 1) * sizeof(*grown));

	if (!grown)
		return NULL;
	g->items = grown;
	grown[g->n] = (struct gone_file){ m->file.dev_major, m->file.dev_minor, m->file.ino,
					  writable, fd };
	return &grown[g->n++];
}

long ps_gone_file_fd(struct ps_rctx *c, struct ps_gone_files *g, const struct ps_mapping *m)
{
	const struct ps_fd *held = ps_fd_of_file(&c->m->fds, m->file.dev_major, m->file.dev_minor,
						 m->file.ino);
	int writable = wants_write(m);
	char what[PS_PATH_MAX + 96];
	long fd;

	for (size_t i = 0; i < g->n; i++)
		if (same_file(&g->items[i], &m->file) && (g->items[i].writable || !writable))
			return g->items[i].fd;
	snprintf(what, sizeof(what), "mapping %llx-%llx of the deleted %s",
		 (unsigned long long)m->start, (unsigned long long)m->end, m->path.data);
	if (held) {
		fd = reopen_held(c, held, writable, what);
	} else {
		for (size_t i = 0; i < g->n; i++)
			if (same_file(&g->items[i], &m->file))
				return g->items[i].fd;   /* our memfd is read-write */
		fd = make_memfd(c, m, what);
		writable = 1;
	}
	if (fd < 0)
		return fd;
	if (!remember(g, m, fd, writable))
		return ps_rfail(c, -ENOMEM, "out of memory");
	return fd;
}

void ps_gone_files_close(struct ps_rctx *c, struct ps_gone_files *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++)
		ps_rcall(c, "close", SYS_close, (uint64_t)g->items[i].fd, 0, 0, 0, 0, 0);
	free(g->items);
	free(g);
}
