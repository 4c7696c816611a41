/* Shared anonymous memory objects mapped more than once (or privately too):
 * one object made again, each of its mappings a view of it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "restore/as_caller.h"
#include "restore/batch.h"
#include "restore/layout.h"
#include "restore/shared_memory.h"

/*
 * An object is made by one MAP_SHARED|MAP_ANONYMOUS mmap as long as the
 * object was (the kernel sets the new shmem file's size to the mapping's
 * length: shmem_zero_setup), at an address free in the image; every shared
 * mapping of it is then made by mremap(base + offset, 0, len, MREMAP_FIXED):
 * an old_size of 0 on a shared mapping makes a new mapping of the same pages
 * (mremap(2)), at the offset the source address has in the object. Private
 * mappings need a descriptor: the held one's, or one opened through
 * /proc/self/map_files of the base. The bases lie side by side in arenas
 * (below), unmapped once the layout is built.
 */
struct shmem_object {
	uint32_t dev_major, dev_minor;
	uint64_t ino;
	uint64_t base, len;     /* procsnap's own mapping of the whole object */
	long fd;                /* -1 until a private mapping needs one */
};

/*
 * A process may have thousands of objects: finding a free place for each
 * (a read of the stub's maps) would cost a read per object, so procsnap
 * reserves an arena at a time, free in the image and in the stub, as one
 * PROT_NONE mapping, and lays the objects in it side by side with
 * MAP_FIXED. The reservation keeps the kernel from placing anything of its
 * own (an io_setup ring, say) in the part not used yet.
 */
#define ARENA_MIN (1ULL << 30)

struct arena {
	uint64_t base, len, used;
};

/* Each object of the image once, sorted by identity and built on first
 * use: a process may have thousands of objects among tens of thousands of
 * mappings, and every mapping looks its object up. */
struct identity {
	uint32_t dev_major, dev_minor;
	uint64_t ino;
	size_t first;           /* the index of its first mapping, in address order */
	uint64_t size;          /* the object's size, as its first shmem mapping saw it */
	uint64_t reach;         /* the largest offset a mapping of it starts at */
	long made;              /* its index in items once made, else -1 */
};

struct ps_shmem_objects {
	struct shmem_object *items;
	size_t n;
	struct arena *arenas;
	size_t narenas;
	struct identity *ids;   /* NULL until the first lookup */
	size_t nids;
};

struct ps_shmem_objects *ps_shmem_objects_new(void)
{
	return calloc(1, sizeof(struct ps_shmem_objects));
}

static int same_object(const struct ps_mapping *a, const struct ps_mapping *b)
{
	return a->file.ino == b->file.ino && a->file.dev_major == b->file.dev_major &&
	       a->file.dev_minor == b->file.dev_minor;
}

/* A shmem mapping of the image that names its object (images of before the
 * "file" field do not: each such mapping is an object of its own). */
static const struct ps_mapping *shmem_of(const struct ps_maps *maps, const struct ps_mapping *m)
{
	for (size_t i = 0; i < maps->count; i++) {
		const struct ps_mapping *o = &maps->items[i];

		if (o->kind == PS_MAP_SHMEM && o->file.ino && same_object(o, m))
			return o;
	}
	return NULL;
}

int ps_shmem_is_object(const struct ps_rctx *c, const struct ps_mapping *m)
{
	if (m->kind == PS_MAP_SHMEM)
		return m->file.ino != 0;
	return m->kind == PS_MAP_FILE && m->deleted && shmem_of(&c->m->maps, m) != NULL;
}

static int compare_ids(const void *pa, const void *pb)
{
	const struct identity *a = pa, *b = pb;

	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	if (a->dev_major != b->dev_major)
		return a->dev_major < b->dev_major ? -1 : 1;
	if (a->dev_minor != b->dev_minor)
		return a->dev_minor < b->dev_minor ? -1 : 1;
	return a->first < b->first ? -1 : a->first > b->first;
}

/* One entry per mapping that may view an object, sorted, then folded into
 * one per identity: its first shmem mapping's size, its furthest offset. */
static int index_objects(struct ps_rctx *c, struct ps_shmem_objects *o)
{
	const struct ps_maps *maps = &c->m->maps;
	size_t n = 0, k = 0;

	o->ids = calloc(maps->count ? maps->count : 1, sizeof(*o->ids));
	if (!o->ids)
		return ps_rfail(c, -ENOMEM, "out of memory");
	for (size_t i = 0; i < maps->count; i++) {
		const struct ps_mapping *m = &maps->items[i];

		if (m->kind == PS_MAP_SHMEM || m->kind == PS_MAP_FILE)
			o->ids[n++] = (struct identity){ m->file.dev_major, m->file.dev_minor,
							 m->file.ino, i, 0, m->offset, -1 };
	}
	qsort(o->ids, n, sizeof(*o->ids), compare_ids);
	for (size_t i = 0; i < n; i++) {
		const struct ps_mapping *m = &maps->items[o->ids[i].first];
		struct identity *id = &o->ids[k];

		if (i == 0 || o->ids[i].ino != id->ino || o->ids[i].dev_major != id->dev_major ||
		    o->ids[i].dev_minor != id->dev_minor) {
			id = &o->ids[i == 0 ? 0 : ++k];
			*id = o->ids[i];
			id->size = UINT64_MAX;
		}
		if (m->offset > id->reach)
			id->reach = m->offset;
		if (id->size == UINT64_MAX && m->kind == PS_MAP_SHMEM && m->file.ino)
			id->size = m->file.size;
	}
	o->nids = n ? k + 1 : 0;
	for (size_t i = 0; i < o->nids; i++)
		if (o->ids[i].size == UINT64_MAX)
			o->ids[i].size = 0;      /* no shmem mapping: never an object */
	return 0;
}

static struct identity *identity_of(struct ps_rctx *c, struct ps_shmem_objects *o,
				    const struct ps_mapping *m)
{
	struct identity key = { m->file.dev_major, m->file.dev_minor, m->file.ino, 0, 0, 0, -1 };
	size_t lo = 0, hi;

	if (!o->ids && index_objects(c, o) < 0)
		return NULL;
	hi = o->nids;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (compare_ids(&o->ids[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* key.first is 0: lo is the identity itself, if it is there */
	if (lo < o->nids && o->ids[lo].ino == key.ino && o->ids[lo].dev_major == key.dev_major &&
	    o->ids[lo].dev_minor == key.dev_minor)
		return &o->ids[lo];
	ps_rfail(c, -EIO, "internal: the shared memory object of mapping %llx-%llx is not indexed",
		 (unsigned long long)m->start, (unsigned long long)m->end);
	return NULL;
}

/* The object's length: its size at the checkpoint, or as far as its
 * mappings reach if that is further (a mapping may start past its end). */
static uint64_t object_len(const struct identity *id)
{
	uint64_t len = (id->size + PS_PAGE_SIZE - 1) & ~(uint64_t)(PS_PAGE_SIZE - 1);

	if (id->reach >= len)
		len = id->reach + PS_PAGE_SIZE;
	return len ? len : PS_PAGE_SIZE;
}

/*
 * An object a descriptor of the process still holds is that descriptor's
 * file, made again before the layout (restore/fd_content.c): the mappings
 * must view that very file, or a write through the descriptor would not
 * show in them. It is opened again read-write through /proc/self/fd/<n>
 * (the kernel checks the access against the file, for the caller).
 */
static long reopen_held(struct ps_rctx *c, const struct ps_fd *held, const char *what)
{
	char link[64];
	uint64_t at;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", held->fd);
	at = ps_rput(c, 0, link, strlen(link) + 1);
	if (!at)
		return -EIO;
	return ps_caller_call(c, what, "open it again for reading and writing", SYS_openat,
			      (uint64_t)(int64_t)AT_FDCWD, at, O_RDWR | O_CLOEXEC, 0, 0, 0);
}

/* procsnap's mapping of the whole object at at: of the held descriptor's
 * file, or of a new shared anonymous object. *fd gets the descriptor, or -1. */
static long map_whole(struct ps_rctx *c, const struct ps_mapping *m, uint64_t at, uint64_t len,
		      long *fd)
{
	const struct ps_fd *held = ps_fd_of_file(&c->m->fds, m->file.dev_major, m->file.dev_minor,
						 m->file.ino);
	char what[96];

	snprintf(what, sizeof(what), "the shared memory object of mapping %llx-%llx",
		 (unsigned long long)m->start, (unsigned long long)m->end);
	*fd = held ? reopen_held(c, held, what) : -1;
	if (*fd < 0 && held)
		return *fd;
	/* MAP_FIXED: the result is at or an error, queued like the rest */
	return ps_rcall_later(c, what, SYS_mmap, at, len, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_FIXED | (held ? 0 : MAP_ANONYMOUS),
			      (uint64_t)*fd, 0);
}

static int reserve_arena(struct ps_rctx *c, struct ps_shmem_objects *o, uint64_t len)
{
	uint64_t want = len > ARENA_MIN ? len : ARENA_MIN, at;
	struct arena *grown = realloc(o->arenas, (o->narenas + 1) * sizeof(*grown));
	long ret;
	int e;

	if (!grown)
		return ps_rfail(c, -ENOMEM, "out of memory");
	o->arenas = grown;
	e = ps_layout_pick_free(c, want, &at);
	if (e < 0)
		return e;
	ret = ps_rcall(c, "mmap of procsnap's room for the shared memory objects", SYS_mmap, at,
		       want, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
		       (uint64_t)-1, 0);
	if (ret < 0)
		return (int)ret;
	o->arenas[o->narenas++] = (struct arena){ at, want, 0 };
	return 0;
}

/* Where the next object of len bytes goes: after the last one, or in a new
 * arena when the last has no room left. */
static int place_object(struct ps_rctx *c, struct ps_shmem_objects *o, uint64_t len,
			uint64_t *at)
{
	struct arena *a = o->narenas ? &o->arenas[o->narenas - 1] : NULL;
	int e;

	if (!a || a->len - a->used < len) {
		e = reserve_arena(c, o, len);
		if (e < 0)
			return e;
		a = &o->arenas[o->narenas - 1];
	}
	*at = a->base + a->used;
	a->used += len;
	return 0;
}

static struct shmem_object *make_object(struct ps_rctx *c, struct ps_shmem_objects *o,
					const struct ps_mapping *m, struct identity *id)
{
	struct shmem_object *grown, *obj;
	uint64_t len = object_len(id), at;
	long ret, fd = -1;
	int e = place_object(c, o, len, &at);

	if (e < 0)
		return NULL;
	ret = map_whole(c, m, at, len, &fd);
	if (ret < 0) {
		if (fd >= 0)
			ps_rcall(c, "close", SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
		return NULL;
	}
	grown = realloc(o->items, (o->n + 1) * sizeof(*grown));
	if (!grown) {
		if (fd >= 0)
			ps_rcall(c, "close", SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
		ps_rfail(c, -ENOMEM, "out of memory");
		return NULL;
	}
	o->items = grown;
	obj = &grown[o->n++];
	*obj = (struct shmem_object){ m->file.dev_major, m->file.dev_minor, m->file.ino, at, len, fd };
	id->made = (long)(o->n - 1);
	return obj;
}

static struct shmem_object *object_of(struct ps_rctx *c, struct ps_shmem_objects *o,
				      const struct ps_mapping *m)
{
	struct identity *id = identity_of(c, o, m);

	if (!id)
		return NULL;
	return id->made >= 0 ? &o->items[id->made] : make_object(c, o, m, id);
}

int ps_shmem_map(struct ps_rctx *c, struct ps_shmem_objects *o, const struct ps_mapping *m,
		 int prot)
{
	struct shmem_object *obj = object_of(c, o, m);
	uint64_t len = m->end - m->start;
	char what[96];
	int e;

	if (!obj)
		return c->err[0] ? -EIO : ps_rfail(c, -EIO, "making a shared memory object");
	snprintf(what, sizeof(what), "mremap of the shared memory object to %llx-%llx",
		 (unsigned long long)m->start, (unsigned long long)m->end);
	/* MREMAP_FIXED: the result is m->start or an error, so both queue */
	e = ps_rcall_later(c, what, SYS_mremap, obj->base + m->offset, 0, len,
			   MREMAP_MAYMOVE | MREMAP_FIXED, m->start, 0);
	if (e == 0 && prot != (PROT_READ | PROT_WRITE))
		e = ps_rcall_later(c, what, SYS_mprotect, m->start, len, (uint64_t)prot, 0, 0, 0);
	return e;
}

long ps_shmem_fd(struct ps_rctx *c, struct ps_shmem_objects *o, const struct ps_mapping *m)
{
	struct shmem_object *obj = object_of(c, o, m);
	char link[96];
	uint64_t at;

	if (!obj)
		return c->err[0] ? -EIO : ps_rfail(c, -EIO, "making a shared memory object");
	if (obj->fd >= 0)
		return obj->fd;
	/* map_files/ links open only with CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE:
	 * procsnap's, for the process's own object, read-only (a private map). */
	snprintf(link, sizeof(link), "/proc/self/map_files/%llx-%llx", (unsigned long long)obj->base,
		 (unsigned long long)(obj->base + obj->len));
	at = ps_rput(c, 0, link, strlen(link) + 1);
	if (!at)
		return -EIO;
	obj->fd = ps_rcall(c, "opening the shared memory object for a private mapping", SYS_openat,
			   (uint64_t)(int64_t)AT_FDCWD, at, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	return obj->fd;
}

void ps_shmem_objects_end(struct ps_rctx *c, struct ps_shmem_objects *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->narenas; i++)
		ps_rcall(c, "munmap of procsnap's room for the shared memory objects", SYS_munmap,
			 o->arenas[i].base, o->arenas[i].len, 0, 0, 0, 0);
	for (size_t i = 0; i < o->n; i++)
		if (o->items[i].fd >= 0)
			ps_rcall(c, "close", SYS_close, (uint64_t)o->items[i].fd, 0, 0, 0, 0, 0);
	free(o->arenas);
	free(o->ids);
	free(o->items);
	free(o);
}
