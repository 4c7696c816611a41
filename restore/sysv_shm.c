/* Checks and restore of SysV shared memory segments: each attached one is
 * found again by its id, or made again with that id, and attached. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "restore/as_caller.h"
#include "restore/part_restore.h"
#include "restore/validate.h"

/* A segment this restore attached: made by it (then filled, given its
 * owners and mode, removed again if it was), or found alive here. */
struct ps_sysv_made {
	int32_t shmid;
	int created;
	int removed;               /* IPC_RMID done: the id is no longer ours */
	void *hold;                /* procsnap's own attachment of a segment it made */
	const struct ps_sysv_shm *s;
};

struct ps_sysv_state {
	struct ps_sysv_made *items;
	size_t count;
};

static unsigned long long ull(uint64_t v)
{
	return (unsigned long long)v;
}

static uint64_t segment_span(const struct ps_sysv_shm *s)
{
	return (s->size + PS_PAGE_SIZE - 1) / PS_PAGE_SIZE * PS_PAGE_SIZE;
}

/* The key a segment shows: IPC_RMID makes it IPC_PRIVATE (ipc/shm.c do_shm_rmid). */
static key_t key_now(const struct ps_sysv_shm *s)
{
	return s->removed ? IPC_PRIVATE : (key_t)s->key;
}

/* 1 if the segment with the image's id exists here and is the image's
 * (same key, same size), 0 if no segment has that id, -EEXIST if another
 * one has it (*found says which). IPC_STAT by id needs read permission,
 * which procsnap's CAP_IPC_OWNER gives. */
static int find_here(const struct ps_sysv_shm *s, struct shmid_ds *found)
{
	if (shmctl(s->shmid, IPC_STAT, found) < 0)
		return errno == EINVAL || errno == EIDRM ? 0 : -errno;
	if (found->shm_perm.__key == key_now(s) && found->shm_segsz == s->size)
		return 1;
	return -EEXIST;
}

/* The pieces of one attachment (split by mprotect) follow one another:
 * shmat attaches the whole segment, so the image must have all of it. */
static int check_whole(const struct ps_check *v, const struct ps_mapping *m)
{
	const struct ps_maps *maps = &v->m->maps;
	size_t i = (size_t)(m - maps->items);
	const struct ps_mapping *prev = i ? &maps->items[i - 1] : NULL;
	const struct ps_mapping *next = i + 1 < maps->count ? &maps->items[i + 1] : NULL;
	int joined_before = prev && prev->kind == PS_MAP_SYSV && prev->end == m->start &&
			    prev->sysv->shmid == m->sysv->shmid &&
			    prev->offset + (prev->end - prev->start) == m->offset;
	int joined_after = next && next->kind == PS_MAP_SYSV && next->start == m->end &&
			   next->sysv->shmid == m->sysv->shmid &&
			   m->offset + (m->end - m->start) == next->offset;

	if ((m->offset && !joined_before) ||
	    (!joined_after && m->offset + (m->end - m->start) != segment_span(m->sysv)))
		return ps_refuse(v, -ENOTSUP, "mapping %llx-%llx attaches only part of SysV segment "
				 "%d (%llu bytes): shmat can only attach it whole", ull(m->start),
				 ull(m->end), m->sysv->shmid, ull(m->sysv->size));
	return 0;
}

/* Every mapping of one segment says the same of it. */
static int check_agrees(const struct ps_check *v, const struct ps_mapping *m)
{
	for (size_t i = 0; i < v->m->maps.count; i++) {
		const struct ps_sysv_shm *o = v->m->maps.items[i].sysv;

		if (!o || o->shmid != m->sysv->shmid)
			continue;
		if (memcmp(o, m->sysv, sizeof(*o)) != 0)
			return ps_refuse(v, -EINVAL, "SysV segment %d: its mappings in maps.json "
					 "disagree on its key, size, mode or owners", o->shmid);
		return 0;
	}
	return 0;
}

/* Making a segment with a chosen id takes a write to kernel.shm_next_id,
 * which needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE): done for root
 * callers only (docs/security.md). */
static int check_here(const struct ps_check *v, const struct ps_sysv_shm *s)
{
	struct shmid_ds ds;
	int r = find_here(s, &ds);

	if (r == -EEXIST)
		return ps_refuse(v, -EEXIST, "SysV segment %d (key 0x%08x, %llu bytes) cannot be made "
				 "again: id %d is taken here by another segment (key 0x%08x, %llu "
				 "bytes)", s->shmid, s->key, ull(s->size), s->shmid,
				 (unsigned)ds.shm_perm.__key, ull(ds.shm_segsz));
	if (r < 0)
		return ps_refuse(v, r, "SysV segment %d: shmctl(IPC_STAT): %s", s->shmid,
				 strerror(-r));
	if (r == 1)
		return 0;
	if (v->uid != 0)
		return ps_refuse(v, -EPERM, "SysV segment %d (key 0x%08x) is gone and must be made "
				 "again with the same id, which takes setting kernel.shm_next_id: "
				 "only root may restore it", s->shmid, s->key);
	if (key_now(s) != IPC_PRIVATE && shmget(key_now(s), 0, 0) >= 0)
		return ps_refuse(v, -EEXIST, "SysV segment %d cannot be made again: its key 0x%08x "
				 "is taken here by segment %d", s->shmid, s->key,
				 shmget(key_now(s), 0, 0));
	return 0;
}

/* A segment made with SHM_HUGETLB lives on hugetlbfs (VmFlags "ht"):
 * shmget here makes segments of base pages only. */
static int check_small_pages(const struct ps_check *v, const struct ps_mapping *m)
{
	for (size_t i = 0; i < m->nvm_flags; i++)
		if (!strcmp(m->vm_flags[i], "ht"))
			return ps_refuse(v, -ENOTSUP, "SysV segment %d uses huge pages (SHM_HUGETLB), "
					 "which this restore does not make", m->sysv->shmid);
	return 0;
}

int ps_validate_sysv_shm(const struct ps_check *v, const struct ps_mapping *m)
{
	int rc;

	if (!m->sysv)
		return ps_refuse(v, -EINVAL, "mapping %llx-%llx: the image does not say which SysV "
				 "segment it attaches", ull(m->start), ull(m->end));
	rc = check_agrees(v, m);
	if (!rc)
		rc = check_small_pages(v, m);
	if (!rc)
		rc = check_whole(v, m);
	if (!rc)
		rc = check_here(v, m->sysv);
	return rc;
}

/* ---- making a segment with its id ---- */

static int write_next_id(int32_t id)
{
	char buf[16];
	int fd = open("/proc/sys/kernel/shm_next_id", O_WRONLY | O_CLOEXEC), len, ok;

	if (fd < 0)
		return -1;
	len = snprintf(buf, sizeof(buf), "%d", (int)id);
	ok = write(fd, buf, (size_t)len) == len;
	close(fd);
	return ok ? 0 : -1;
}

/*
 * shm_next_id is used (and reset to -1) by the next segment made in this
 * IPC namespace, whoever makes it; the segment takes its creator's ids
 * (cuid, cgid) from the maker's effective ids: it is made in a child of
 * procsnap, whose own ids never change. The child writes the id it got
 * and exits with 0, or exits with an errno.
 */
static void make_in_child(const struct ps_sysv_shm *s, int out)
{
	int id;

	if (syscall(SYS_setresgid, -1, s->cgid, -1) < 0 || syscall(SYS_setresuid, -1, s->cuid, -1) < 0)
		_exit(errno & 0xff);
	id = shmget(key_now(s), s->size, IPC_CREAT | IPC_EXCL | 0600);
	if (id < 0)
		_exit(errno & 0xff);
	_exit(write(out, &id, sizeof(id)) == sizeof(id) ? 0 : EIO);
}

static int make_segment(struct ps_rctx *c, const struct ps_sysv_shm *s)
{
	int p[2], id = -1, status = 0;
	pid_t pid;

	if (write_next_id(s->shmid) < 0)
		return ps_rfail(c, -errno, "SysV segment %d: writing kernel.shm_next_id: %s",
				s->shmid, strerror(errno));
	if (pipe2(p, O_CLOEXEC) < 0)
		return ps_rfail(c, -errno, "SysV segment %d: pipe2: %s", s->shmid, strerror(errno));
	pid = fork();
	if (pid == 0)
		make_in_child(s, p[1]);
	close(p[1]);
	if (pid > 0 && (read(p[0], &id, sizeof(id)) != sizeof(id)))
		id = -1;
	close(p[0]);
	if (pid < 0)
		return ps_rfail(c, -errno, "SysV segment %d: fork: %s", s->shmid, strerror(errno));
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || id < 0)
		return ps_rfail(c, -EIO, "SysV segment %d: making it again (shm_next_id, shmget as "
				"uid %u): %s", s->shmid, s->cuid,
				WIFEXITED(status) ? strerror(WEXITSTATUS(status)) : "killed");
	if (id != s->shmid) {
		shmctl(id, IPC_RMID, NULL);
		return ps_rfail(c, -EAGAIN, "SysV segment %d: the kernel gave id %d instead: another "
				"process made a segment at the same time", s->shmid, id);
	}
	return 0;
}

/* ---- the state of one restore ---- */

static struct ps_sysv_made *seen(struct ps_rctx *c, int32_t shmid)
{
	struct ps_sysv_state *st = c->sysv;

	for (size_t i = 0; st && i < st->count; i++)
		if (st->items[i].shmid == shmid)
			return &st->items[i];
	return NULL;
}

static struct ps_sysv_made *add_seen(struct ps_rctx *c, const struct ps_sysv_shm *s)
{
	struct ps_sysv_state *st = c->sysv;
	struct ps_sysv_made *grown;

	if (!st) {
		st = c->sysv = calloc(1, sizeof(*st));
		if (!st)
			return NULL;
	}
	grown = realloc(st->items, (st->count + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	st->items = grown;
	grown[st->count] = (struct ps_sysv_made){ s->shmid, 0, 0, NULL, s };
	return &grown[st->count++];
}

/*
 * A segment made again gets its owner and mode (IPC_SET; its creator's ids
 * were taken at shmget), SHM_LOCK, and IPC_RMID at once if it was removed:
 * procsnap holds it by an attachment of its own meanwhile, and Linux lets
 * the stub attach a removed segment by its id while it exists. If procsnap
 * dies, its attachment goes, and the segment with it.
 */
static int finish_made(struct ps_rctx *c, struct ps_sysv_made *made)
{
	const struct ps_sysv_shm *s = made->s;
	struct shmid_ds ds;

	made->hold = shmat(s->shmid, NULL, SHM_RDONLY);
	if (made->hold == (void *)-1) {
		made->hold = NULL;
		return ps_rfail(c, -errno, "SysV segment %d: shmat: %s", s->shmid, strerror(errno));
	}
	memset(&ds, 0, sizeof(ds));
	ds.shm_perm.uid = s->uid;
	ds.shm_perm.gid = s->gid;
	ds.shm_perm.mode = s->mode;
	if (shmctl(s->shmid, IPC_SET, &ds) < 0)
		return ps_rfail(c, -errno, "SysV segment %d: IPC_SET: %s", s->shmid, strerror(errno));
	if (s->locked && shmctl(s->shmid, SHM_LOCK, NULL) < 0)
		return ps_rfail(c, -errno, "SysV segment %d: SHM_LOCK: %s", s->shmid, strerror(errno));
	if (s->removed && shmctl(s->shmid, IPC_RMID, NULL) < 0)
		return ps_rfail(c, -errno, "SysV segment %d: IPC_RMID: %s", s->shmid, strerror(errno));
	made->removed = s->removed;
	return 0;
}

static int find_or_make(struct ps_rctx *c, const struct ps_sysv_shm *s, struct ps_sysv_made **out)
{
	struct shmid_ds ds;
	struct ps_sysv_made *made = seen(c, s->shmid);
	int r;

	if (made) {
		*out = made;
		return 0;
	}
	r = find_here(s, &ds);
	if (r < 0)
		return ps_rfail(c, r, "SysV segment %d: id taken by another segment, or shmctl: %s",
				s->shmid, strerror(-r));
	made = add_seen(c, s);
	if (!made)
		return ps_rfail(c, -ENOMEM, "out of memory");
	*out = made;
	if (r == 1)
		return 0;      /* alive here: attached as it is */
	r = make_segment(c, s);
	if (r)
		return r;
	made->created = 1;
	return finish_made(c, made);
}

int ps_sysv_shm_needs_fill(const struct ps_rctx *c, const struct ps_mapping *m)
{
	const struct ps_sysv_state *st = c->sysv;

	for (size_t i = 0; st && m->sysv && i < st->count; i++)
		if (st->items[i].shmid == m->sysv->shmid)
			return st->items[i].created;
	return 0;
}

/* The protection the whole attachment of m may ever have: shmat without
 * SHM_RDONLY if any piece is writable or filled (a read-only attachment
 * can never be made writable by mprotect), SHM_EXEC if any is executable. */
static int attach_flags(const struct ps_rctx *c, const struct ps_mapping *m, int created)
{
	int prot = 0;

	for (size_t i = 0; i < c->m->maps.count; i++) {
		const struct ps_mapping *o = &c->m->maps.items[i];

		if (o->kind == PS_MAP_SYSV && o->sysv->shmid == m->sysv->shmid &&
		    o->start - o->offset == m->start - m->offset)
			prot |= o->prot | (created && o->data_pages ? PROT_WRITE : 0);
	}
	return (prot & PROT_WRITE ? 0 : SHM_RDONLY) | (prot & PROT_EXEC ? SHM_EXEC : 0);
}

/* shmat attaches the whole segment, at the address of its first piece;
 * every piece then gets its own protection (writable while it is filled). */
static int attach(struct ps_rctx *c, const struct ps_mapping *m, int created)
{
	uint64_t base = m->start - m->offset;
	int flags = attach_flags(c, m, created), fill = created && m->data_pages;
	char what[96], who[64];
	long ret = 0;

	snprintf(who, sizeof(who), "mapping %llx-%llx", ull(m->start), ull(m->end));
	snprintf(what, sizeof(what), "attach SysV segment %d for %s", m->sysv->shmid,
		 flags & SHM_RDONLY ? "reading" : "reading and writing");
	/* shmat checks the segment's mode against the caller's ids (caller mode). */
	if (m->offset == 0)
		ret = ps_caller_call(c, who, what, SYS_shmat, (uint64_t)m->sysv->shmid, base,
				     (uint64_t)flags, 0, 0, 0);
	if (ret >= 0 && m->offset == 0 && (uint64_t)ret != base)
		return ps_rfail(c, -EFAULT, "%s: SysV segment %d: the kernel attached it at 0x%lx",
				who, m->sysv->shmid, ret);
	if (ret >= 0)
		ret = ps_rcall(c, who, SYS_mprotect, m->start, m->end - m->start,
			       (uint64_t)(m->prot | (fill ? PROT_WRITE : 0)), 0, 0, 0);
	return ret < 0 ? (int)ret : 0;
}

int ps_sysv_shm_attach(struct ps_rctx *c, const struct ps_mapping *m)
{
	struct ps_sysv_made *made = NULL;
	int e = find_or_make(c, m->sysv, &made);

	return e ? e : attach(c, m, made->created);
}

void ps_sysv_shm_end(struct ps_rctx *c, int failed)
{
	struct ps_sysv_state *st = c->sysv;

	/* Once removed, the segment goes with the last attachment (the killed
	 * stub's, procsnap's hold): its id may be another segment's by then. */
	for (size_t i = 0; st && i < st->count; i++) {
		if (failed && st->items[i].created && !st->items[i].removed)
			shmctl(st->items[i].shmid, IPC_RMID, NULL);
		if (st->items[i].hold)
			shmdt(st->items[i].hold);
	}
	if (st)
		free(st->items);
	free(st);
	c->sysv = NULL;
}
