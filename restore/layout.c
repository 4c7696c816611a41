/* Rebuilding the address space with injected mmap/mprotect/madvise, then
 * filling each with its saved pages (pages.c). */
#include <asm/prctl.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "restore/as_caller.h"
#include "restore/batch.h"
#include "restore/gone_files.h"
#include "restore/layout.h"
#include "restore/pages.h"
#include "restore/part_restore.h"
#include "restore/prefill.h"
#include "restore/shared_memory.h"
#include "backend/proc_parse.h"

/* The trampoline: its code page, the scratch pages, then the area where
 * queued syscalls are put for the executor (batch.h), used by nothing else. */
#define TRAMP_SIZE (PS_PAGE_SIZE + PS_SCRATCH_SIZE + PS_BATCH_AREA)
#define TRAMP_BATCH_AREA (PS_PAGE_SIZE + PS_SCRATCH_SIZE)
#ifndef SYS_mseal
#define SYS_mseal 462           /* Linux 6.10; older headers lack it */
#endif
#define USER_END 0x7ffffffff000ULL

/* ---- the stub's current mappings ---- */

struct range {
	uint64_t start, end;
	int keep;       /* [vsyscall]: cannot be unmapped, and lies outside user space */
};

static int read_stub_ranges(struct ps_rctx *c, struct range **out, size_t *n)
{
	char path[64], *text, *line;
	size_t len;
	int e;

	*out = NULL;
	*n = 0;
	e = ps_rcall_flush(c);         /* the maps as the queued calls leave them */
	if (e < 0)
		return e;
	snprintf(path, sizeof(path), "/proc/%d/maps", c->pid);
	e = ps_read_file(path, &text, &len);
	if (e < 0)
		return ps_rfail(c, e, "reading %s: %s", path, strerror(-e));
	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		struct ps_maps_line ml;
		struct range *grown;

		if (ps_parse_maps_line(line, &ml) < 0)
			continue;
		grown = realloc(*out, (*n + 1) * sizeof(*grown));
		if (!grown) {
			free(text);
			return ps_rfail(c, -ENOMEM, "out of memory");
		}
		*out = grown;
		grown[*n].start = ml.start;
		grown[*n].end = ml.end;
		grown[*n].keep = ml.start >= USER_END;
		(*n)++;
	}
	free(text);
	return 0;
}

static int overlaps(uint64_t a, uint64_t b, uint64_t start, uint64_t end)
{
	return a < end && start < b;
}

static size_t first_ending_after(const struct ps_maps *maps, uint64_t a);

/* Both lists are sorted by address (maps_json.c refuses an image's that is
 * not; /proc/<pid>/maps is): the first range ending after a is the only
 * one that can tell. */
static int free_in_image(const struct ps_model *m, uint64_t a, uint64_t b)
{
	size_t i = first_ending_after(&m->maps, a);

	return i == m->maps.count || !overlaps(a, b, m->maps.items[i].start, m->maps.items[i].end);
}

static int free_in_stub(const struct range *r, size_t n, uint64_t a, uint64_t b)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r[mid].end <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == n || !overlaps(a, b, r[lo].start, r[lo].end);
}

/* Low in the address space, away from where heaps, libraries and stacks
 * usually sit, and away from the image's brk area so nothing grows into it
 * while we work (it is unmapped before the process runs anyway). */
static int pick_trampoline(struct ps_rctx *c, const struct range *r, size_t n, uint64_t *at)
{
	for (uint64_t a = 0x10000000ULL; a + TRAMP_SIZE < USER_END; a += 0x1000000ULL) {
		uint64_t b = a + TRAMP_SIZE;

		if (free_in_image(c->m, a, b) && free_in_stub(r, n, a, b) &&
		    !overlaps(a, b, c->m->proc.mm.start_brk, c->m->proc.mm.brk + 0x1000000ULL)) {
			*at = a;
			return 0;
		}
	}
	return ps_rfail(c, -ENOMEM, "no address is free both in the image and in the new process "
			"for procsnap's trampoline page");
}

/* Room for procsnap's own mapping of len bytes while the layout is built:
 * free in the new process now and in none of the image's mappings. */
int ps_layout_pick_free(struct ps_rctx *c, uint64_t len, uint64_t *at)
{
	struct range *r;
	size_t n;
	int e = read_stub_ranges(c, &r, &n);

	if (e < 0)
		return e;
	for (uint64_t a = 0x20000000ULL; a + len < USER_END && a + len > a; a += 0x1000000ULL) {
		if (free_in_image(c->m, a, a + len) && free_in_stub(r, n, a, a + len)) {
			free(r);
			*at = a;
			return 0;
		}
	}
	free(r);
	return ps_rfail(c, -ENOMEM, "no address is free both in the image and in the new process "
			"for %llu bytes of procsnap's own", (unsigned long long)len);
}

static int write_code(struct ps_rctx *c, const void *code, size_t len)
{
	struct iovec local = { (void *)code, len }, remote = { (void *)c->tramp, len };

	if (process_vm_writev(c->pid, &local, 1, &remote, 1, 0) != (ssize_t)len)
		return ps_rfail(c, -EIO, "writing procsnap's trampoline: %s", strerror(errno));
	return 0;
}

/* The code page holds one `syscall` (0f 05): every injected syscall runs
 * there once the stub's own code (with its vDSO) is gone; the executor of
 * queued syscalls (batch.c) follows it. */
int ps_layout_map_trampoline(struct ps_rctx *c)
{
	size_t n, len;
	const unsigned char *code = ps_batch_code(&len);
	struct range *r;
	uint64_t at = 0;
	long ret;
	int e = read_stub_ranges(c, &r, &n);

	if (e < 0)
		return e;
	e = pick_trampoline(c, r, n, &at);
	free(r);
	if (e < 0)
		return e;
	ret = ps_rcall(c, "mmap of procsnap's trampoline", SYS_mmap, at, TRAMP_SIZE,
		       PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		       (uint64_t)-1, 0);
	if (ret < 0)
		return (int)ret;
	c->tramp = at;
	c->scratch = at + PS_PAGE_SIZE;
	e = write_code(c, code, len);
	if (e < 0)
		return e;
	ret = ps_rcall(c, "mprotect of procsnap's trampoline", SYS_mprotect, at, PS_PAGE_SIZE,
		       PROT_READ | PROT_EXEC, 0, 0, 0);
	if (ret < 0)
		return (int)ret;
	c->r.syscall_insn = at;
	return 0;
}

/* The first of the image's mappings that ends after a (binary search: they
 * are sorted by address, maps_json.c refuses them otherwise). */
static size_t first_ending_after(const struct ps_maps *maps, uint64_t a)
{
	size_t lo = 0, hi = maps->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (maps->items[mid].end <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Unmap [a, b) except what adopted mappings take over (queued). */
static int unmap_but_adopted(struct ps_rctx *c, uint64_t a, uint64_t b)
{
	size_t i = first_ending_after(&c->m->maps, a);
	int e;

	for (; c->adopted && i < c->m->maps.count && a < b; i++) {
		const struct ps_mapping *m = &c->m->maps.items[i];

		if (!c->adopted[i] || m->end <= a || m->start >= b)
			continue;
		if (m->start > a) {
			e = ps_rcall_later(c, "munmap of procsnap's own memory in the new process",
					   SYS_munmap, a, m->start - a, 0, 0, 0, 0);
			if (e < 0)
				return e;
		}
		a = m->end;
	}
	if (a >= b)
		return 0;
	return ps_rcall_later(c, "munmap of procsnap's own memory in the new process", SYS_munmap, a,
			      b - a, 0, 0, 0, 0);
}

/* The munmaps are queued: the executor needs only the trampoline (no
 * stack, no vDSO), which is kept. */
int ps_layout_clear(struct ps_rctx *c)
{
	struct range *r;
	size_t n;
	int e = read_stub_ranges(c, &r, &n);

	if (e == 0)
		e = ps_batch_begin(c, c->tramp + TRAMP_BATCH_AREA);
	for (size_t i = 0; e == 0 && i < n; i++) {
		if (r[i].keep || overlaps(r[i].start, r[i].end, c->tramp, c->tramp + TRAMP_SIZE))
			continue;
		e = unmap_but_adopted(c, r[i].start, r[i].end);
	}
	free(r);
	if (e == 0)
		return ps_batch_end(c);
	ps_batch_drop(c);
	return e;
}

/* ---- creating one mapping ---- */

static int has_vm_flag(const struct ps_mapping *m, const char *flag)
{
	for (size_t i = 0; i < m->nvm_flags; i++)
		if (!strcmp(m->vm_flags[i], flag))
			return 1;
	return 0;
}

static const char *map_name(const struct ps_mapping *m, char *buf, size_t len)
{
	snprintf(buf, len, "mapping %llx-%llx%s%s", (unsigned long long)m->start,
		 (unsigned long long)m->end, m->path.len ? " of " : "", m->path.len ? m->path.data : "");
	return buf;
}

/*
 * How a mapping's file is opened for it, with the access the original's
 * file had: do_mmap keeps VM_MAYWRITE ("mw") on a MAP_SHARED mapping only if
 * the file was open for writing, and mprotect refuses PROT_WRITE without it
 * (EACCES). A private mapping has "mw" whatever the file's access (writes go
 * to copies), so it is opened read-only.
 */
static int open_flags(const struct ps_mapping *m)
{
	return (m->shared && has_vm_flag(m, "mw")) ? O_RDWR : O_RDONLY;
}

/* Open the mapped file inside the stub, so mmap can take its fd there. */
static long open_in_stub(struct ps_rctx *c, const struct ps_mapping *m)
{
	int flags = open_flags(m);
	char who[64];

	snprintf(who, sizeof(who), "mapping %llx-%llx", (unsigned long long)m->start,
		 (unsigned long long)m->end);
	return ps_caller_open(c, who, m->path.data, flags | O_CLOEXEC, 0);
}

/*
 * The files mapped, kept open in the stub while the layout is built: a
 * library is mapped four or five times, and a program with many small
 * mappings of a few files would otherwise pay an openat2 and a close (two
 * more trips into the stub) for each. Keyed by path and open flags, so each
 * mapping still gets the file as open_in_stub would open it for it.
 */
#define STUB_FILES 16

struct stub_file {
	const char *path;          /* the image's string, alive through the restore */
	int flags;
	long fd;
};

struct stub_files {
	struct stub_file f[STUB_FILES];
	size_t n, next;            /* next: the slot to reuse once all are taken */
};

static long stub_file_fd(struct ps_rctx *c, struct stub_files *sf, const struct ps_mapping *m)
{
	struct stub_file *slot;
	long fd;

	for (size_t i = 0; i < sf->n; i++)
		if (sf->f[i].flags == open_flags(m) && !strcmp(sf->f[i].path, m->path.data))
			return sf->f[i].fd;
	fd = open_in_stub(c, m);
	if (fd < 0)
		return fd;
	if (sf->n < STUB_FILES) {
		slot = &sf->f[sf->n++];
	} else {
		slot = &sf->f[sf->next];
		sf->next = (sf->next + 1) % STUB_FILES;
		ps_rcall(c, "close", SYS_close, (uint64_t)slot->fd, 0, 0, 0, 0, 0);
	}
	*slot = (struct stub_file){ m->path.data, open_flags(m), fd };
	return fd;
}

static void stub_files_close(struct ps_rctx *c, struct stub_files *sf)
{
	for (size_t i = 0; i < sf->n; i++)
		ps_rcall(c, "close", SYS_close, (uint64_t)sf->f[i].fd, 0, 0, 0, 0, 0);
	sf->n = 0;
}

/* While pages are written the mapping must be writable: process_vm_writev
 * obeys page protections (unlike a debugger's /proc/<pid>/mem writes). */
/* A shared mapping of a deleted file whose descriptor the process still
 * holds: the file's own saved content (fds/<n>) is in it already. */
static int content_in_file(const struct ps_rctx *c, const struct ps_mapping *m)
{
	return m->kind == PS_MAP_FILE && m->deleted && m->shared &&
	       ps_fd_of_file(&c->m->fds, m->file.dev_major, m->file.dev_minor, m->file.ino);
}

static int needs_fill(const struct ps_rctx *c, const struct ps_mapping *m)
{
	if (m->kind == PS_MAP_SYSV)
		return m->data_pages && ps_sysv_shm_needs_fill(c, m);
	return m->data_pages && !content_in_file(c, m);
}

/* ---- memory filled early, in the nursery ---- */

/* A private anonymous mapping, made by mmap as the nursery's memory was. */
static int adoptable(const struct ps_mapping *m)
{
	/* the nursery's mapping is read-write and charged to the commit
	 * limit: "ac" (VM_ACCOUNT), not "nr" (MAP_NORESERVE) */
	return (m->kind == PS_MAP_ANON || m->kind == PS_MAP_HEAP) && !m->shared && m->content &&
	       !has_vm_flag(m, "gd") && has_vm_flag(m, "ac") && !has_vm_flag(m, "nr");
}

/* The region was filled from this very spool file, not one put in its
 * place since (a rename over it, a new copy). */
static int same_file(const struct ps_rctx *c, const struct ps_mapping *m,
		     const struct ps_prefill_region *r)
{
	char path[PS_PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", c->dir, m->content);
	return stat(path, &st) == 0 && st.st_dev == r->dev && st.st_ino == r->ino;
}

/* Both the mappings and the regions are sorted by start, and regions do
 * not overlap: one walk pairs them. */
int ps_layout_adopt(struct ps_rctx *c, const struct ps_prefill_region *r, size_t n)
{
	size_t count = c->m->maps.count, used = 0, k = 0;

	c->adopted = calloc(count ? count : 1, sizeof(*c->adopted));
	if (!c->adopted)
		return ps_rfail(c, -ENOMEM, "out of memory");
	for (size_t i = 0; i < count; i++) {
		const struct ps_mapping *m = &c->m->maps.items[i];

		while (k < n && r[k].start < m->start)
			k++;
		if (k == n || r[k].start != m->start || r[k].end != m->end)
			continue;
		if (adoptable(m) && same_file(c, m, &r[k])) {
			c->adopted[i] = &r[k];
			used++;
		}
	}
	return (int)used;
}

struct made_objects {
	struct ps_gone_files *gone;
	struct ps_shmem_objects *shmem;
	struct stub_files *files;      /* the files opened in the stub, kept open */
};

/* The descriptor to map m from: its file opened as the caller, or the
 * object of a gone file or of shared anonymous memory. */
static long fd_to_map(struct ps_rctx *c, const struct ps_mapping *m, struct made_objects *made)
{
	if (!m->deleted)
		return stub_file_fd(c, made->files, m);
	if (ps_shmem_is_object(c, m))
		return ps_shmem_fd(c, made->shmem, m);
	return ps_gone_file_fd(c, made->gone, m);
}

/*
 * The protection to map m with until its pages are in. Writable while they
 * are written (process_vm_writev obeys protections), except a private
 * mapping without "ac": mmap charges a private writable mapping to the
 * commit limit (VM_ACCOUNT, "ac"), and the flag stays after mprotect takes
 * the write away, so a private mapping is made writable exactly when the
 * original had "ac" (or "nr", MAP_NORESERVE, which is never charged), and
 * the pages of one without are written through /proc/<pid>/mem.
 */
static int map_prot(const struct ps_rctx *c, const struct ps_mapping *m)
{
	if (m->shared)
		return m->prot | (needs_fill(c, m) ? PROT_WRITE : 0);
	if (has_vm_flag(m, "ac") || (has_vm_flag(m, "nr") && needs_fill(c, m)))
		return m->prot | PROT_WRITE;
	return m->prot;
}

static int map_one(struct ps_rctx *c, const struct ps_mapping *m, struct made_objects *made)
{
	char what[PS_PATH_MAX + 64];
	int prot = map_prot(c, m);
	int flags = (m->shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED_NOREPLACE;
	long fd = -1;

	if (m->kind == PS_MAP_SYSV)
		return ps_sysv_shm_attach(c, m);
	map_name(m, what, sizeof(what));
	if (m->kind == PS_MAP_SHMEM && ps_shmem_is_object(c, m))
		return ps_shmem_map(c, made->shmem, m, prot);
	if (has_vm_flag(m, "gd"))
		flags |= MAP_GROWSDOWN;
	if (has_vm_flag(m, "nr"))
		flags |= MAP_NORESERVE;
	if (m->kind == PS_MAP_FILE) {
		fd = fd_to_map(c, m, made);
		if (fd < 0)
			return (int)fd;
	} else {
		flags |= MAP_ANONYMOUS;
	}
	return ps_rmap_later(c, what, m->start, m->end - m->start, prot, flags, fd,
			     fd >= 0 ? m->offset : 0);
}

/* ---- flags that mmap cannot express ---- */

struct madv_flag {
	const char *vm_flag;
	int advice;
};

/* Each sets one VM_ flag on the range; a new mapping has none of them
 * (sr/rr: VM_SEQ_READ/VM_RAND_READ, the readahead hints). */
static const struct madv_flag madv_flags[] = {
	{ "dd", MADV_DONTDUMP },
	{ "dc", MADV_DONTFORK },
	{ "wf", MADV_WIPEONFORK },
	{ "hg", MADV_HUGEPAGE },
	{ "nh", MADV_NOHUGEPAGE },
	{ "mg", MADV_MERGEABLE },
	{ "sr", MADV_SEQUENTIAL },
	{ "rr", MADV_RANDOM },
};

static int advise_one(struct ps_rctx *c, const struct ps_mapping *m)
{
	char what[PS_PATH_MAX + 64];

	for (size_t i = 0; i < sizeof(madv_flags) / sizeof(madv_flags[0]); i++) {
		int e;

		if (!has_vm_flag(m, madv_flags[i].vm_flag))
			continue;
		snprintf(what, sizeof(what), "madvise(%s) of %llx-%llx", madv_flags[i].vm_flag,
			 (unsigned long long)m->start, (unsigned long long)m->end);
		e = ps_rcall_later(c, what, SYS_madvise, m->start, m->end - m->start,
				   madv_flags[i].advice, 0, 0, 0);
		if (e < 0)
			return e;
	}
	return 0;
}

/* [anon:name] and [anon_shmem:name] (shared anonymous memory, Linux 6.x)
 * come from prctl(PR_SET_VMA_ANON_NAME); restore them the same way. */
static size_t anon_name_prefix(const struct ps_mapping *m)
{
	static const char anon[] = "[anon:", shmem[] = "[anon_shmem:";

	if (m->kind == PS_MAP_ANON && !strncmp(m->path.data, anon, strlen(anon)))
		return strlen(anon);
	if (m->kind == PS_MAP_SHMEM && !strncmp(m->path.data, shmem, strlen(shmem)))
		return strlen(shmem);
	return 0;
}

static int name_one(struct ps_rctx *c, const struct ps_mapping *m)
{
	const char *p = m->path.data;
	size_t prefix = anon_name_prefix(m), len;
	char name[256];
	uint64_t at;

	if (!prefix)
		return 0;
	len = strlen(p + prefix);
	if (len < 1 || len >= sizeof(name))
		return 0;
	memcpy(name, p + prefix, len - 1);    /* drop the closing bracket */
	name[len - 1] = 0;
	at = ps_rput_later(c, name, len);
	if (!at)
		return -EIO;
	return ps_rcall_later(c, "naming an anonymous mapping", SYS_prctl, PR_SET_VMA,
			      PR_SET_VMA_ANON_NAME, m->start, m->end - m->start, at, 0);
}

/* Its own protection, once its pages are in (it was mapped writable for
 * them, by map_one or by the nursery). */
static int protect(struct ps_rctx *c, const struct ps_mapping *m)
{
	char what[PS_PATH_MAX + 64];

	map_name(m, what, sizeof(what));
	return ps_rcall_later(c, what, SYS_mprotect, m->start, m->end - m->start, m->prot, 0, 0,
			      0);
}

static int protect_one(struct ps_rctx *c, const struct ps_mapping *m)
{
	return map_prot(c, m) == m->prot ? 0 : protect(c, m);
}

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  /* Linux 6.13; older headers lack it */
#endif

/* Guard pages are PTE markers, not a VmFlags flag: installed once the
 * mapping's pages are in (installing one drops the page under it), run by
 * run. A kernel before 6.13 refuses the advice (EINVAL). */
static int guard_one(struct ps_rctx *c, const struct ps_mapping *m)
{
	char what[96];

	for (size_t i = 0; i < m->nguards; i++) {
		uint64_t at = m->start + m->guards[i].first * PS_PAGE_SIZE;
		int e;

		snprintf(what, sizeof(what), "madvise(MADV_GUARD_INSTALL) of %llx-%llx",
			 (unsigned long long)at,
			 (unsigned long long)(at + m->guards[i].count * PS_PAGE_SIZE));
		e = ps_rcall_later(c, what, SYS_madvise, at, m->guards[i].count * PS_PAGE_SIZE,
				   MADV_GUARD_INSTALL, 0, 0, 0);
		if (e < 0)
			return e;
	}
	return 0;
}

/* "lo" is VM_LOCKED, "lf" VM_LOCKONFAULT with it (mlock2 MLOCK_ONFAULT):
 * locked after its pages are in, as the caller (no CAP_IPC_LOCK: the kernel
 * holds it to RLIMIT_MEMLOCK, which validation checked for a non-root caller). */
static int lock_one(struct ps_rctx *c, const struct ps_mapping *m)
{
	char what[PS_PATH_MAX + 64];

	if (!has_vm_flag(m, "lo"))
		return 0;
	snprintf(what, sizeof(what), "mlock2 of %llx-%llx", (unsigned long long)m->start,
		 (unsigned long long)m->end);
	return ps_rcall_later(c, what, SYS_mlock2, m->start, m->end - m->start,
			      has_vm_flag(m, "lf") ? MLOCK_ONFAULT : 0, 0, 0, 0);
}

/* mlockall(MCL_FUTURE [| MCL_ONFAULT]) without MCL_CURRENT only sets the
 * mm's def_flags: the mappings made from now on are locked, as they would
 * have been in the original. The layout's own are locked already, each as
 * its "lo"/"lf" said. */
static int lock_future(struct ps_rctx *c)
{
	long ret;

	if (!c->m->maps.lock_future)
		return 0;
	ret = ps_rcall(c, "mlockall(MCL_FUTURE)", SYS_mlockall, (uint64_t)c->m->maps.lock_future,
		       0, 0, 0, 0, 0);
	return ret < 0 ? (int)ret : 0;
}

/* "sl" (VM_SEALED, mseal): irreversible, and it forbids mprotect, munmap,
 * mremap and mmap over the range: so sealing comes after every mapping is
 * made, filled, protected, advised and locked. Nothing later changes the
 * image's mappings (the trampoline, unmapped last, is apart from them). */
static int seal_all(struct ps_rctx *c)
{
	char what[96];

	for (size_t i = 0; i < c->m->maps.count; i++) {
		const struct ps_mapping *m = &c->m->maps.items[i];
		int e;

		if (!has_vm_flag(m, "sl"))
			continue;
		snprintf(what, sizeof(what), "mseal of %llx-%llx", (unsigned long long)m->start,
			 (unsigned long long)m->end);
		e = ps_rcall_later(c, what, SYS_mseal, m->start, m->end - m->start, 0, 0, 0, 0);
		if (e < 0)
			return e;
	}
	return 0;
}

/* The nursery mapped it read-write. */
static int protect_adopted(struct ps_rctx *c, const struct ps_mapping *m)
{
	return m->prot == (PROT_READ | PROT_WRITE) ? 0 : protect(c, m);
}

/* ---- the vDSO ---- */

/*
 * ARCH_MAP_VDSO_64 maps the kernel's vvar pages at addr and the vDSO code
 * right after them, and refuses (EEXIST) while any vDSO is mapped: the stub's
 * own was unmapped by ps_layout_clear. addr is only a hint to the kernel, so
 * where it landed is checked.
 */
static int map_vdso(struct ps_rctx *c)
{
	uint64_t vvar = 0, vdso = 0;
	struct range *r;
	size_t n;
	long ret;
	int e;

	for (size_t i = 0; i < c->m->maps.count; i++) {
		const struct ps_mapping *m = &c->m->maps.items[i];

		if (m->kind == PS_MAP_VVAR && !vvar)
			vvar = m->start;
		if (m->kind == PS_MAP_VDSO)
			vdso = m->start;
	}
	if (!vdso)
		return 0;       /* the process ran without a vDSO (vdso=0): keep it so */
	ret = ps_rcall(c, "arch_prctl(ARCH_MAP_VDSO_64)", SYS_arch_prctl, ARCH_MAP_VDSO_64,
		       vvar ? vvar : vdso, 0, 0, 0, 0);
	if (ret < 0)
		return (int)ret;
	e = read_stub_ranges(c, &r, &n);
	if (e < 0)
		return e;
	for (size_t i = 0; i < n; i++) {
		if (r[i].start == vdso) {
			free(r);
			return 0;
		}
	}
	free(r);
	return ps_rfail(c, -EFAULT, "the kernel put the vDSO elsewhere than at 0x%llx, where the "
			"program expects it", (unsigned long long)vdso);
}

static int is_kernel_mapping(const struct ps_mapping *m)
{
	return m->kind == PS_MAP_VDSO || m->kind == PS_MAP_VVAR || m->kind == PS_MAP_VSYSCALL;
}

static int skipped(const struct ps_mapping *m)
{
	return is_kernel_mapping(m) || m->kind == PS_MAP_AIO;  /* AIO: restore/aio.c, later */
}

static const struct ps_prefill_region *adopted(const struct ps_rctx *c, size_t i)
{
	return c->adopted ? c->adopted[i] : NULL;
}

/* Pass 1: every mapping but those the nursery made, in address order (a
 * growsdown mapping's gap below it stays as the original's order made it). */
static int map_all(struct ps_rctx *c, struct made_objects *made)
{
	int e = 0;

	for (size_t i = 0; e == 0 && i < c->m->maps.count; i++)
		if (!skipped(&c->m->maps.items[i]) && !adopted(c, i))
			e = map_one(c, &c->m->maps.items[i], made);
	return e;
}

/* Pass 2: the saved pages, into mappings made and still writable. The fill
 * writes with process_vm_writev or /proc/<pid>/mem, not through the queue:
 * the queued mmaps must have run first. */
static int fill_all(struct ps_rctx *c)
{
	char what[PS_PATH_MAX + 64];
	int e = ps_rcall_flush(c);

	for (size_t i = 0; e == 0 && i < c->m->maps.count; i++) {
		const struct ps_mapping *m = &c->m->maps.items[i];

		if (skipped(m))
			continue;
		map_name(m, what, sizeof(what));
		if (adopted(c, i))
			e = ps_pages_fill(c, m, what, adopted(c, i));
		else if (needs_fill(c, m))
			e = map_prot(c, m) & PROT_WRITE ? ps_pages_fill(c, m, what, NULL) :
							  ps_pages_fill_forced(c, m, what);
	}
	return e;
}

/* Pass 3: each mapping's own protection, then flags, name, guards and lock,
 * in that order for each (a guard drops the page under it: after the fill;
 * a lock faults pages in: last). All queued. */
static int finish_all(struct ps_rctx *c)
{
	int e = 0;

	for (size_t i = 0; e == 0 && i < c->m->maps.count; i++) {
		const struct ps_mapping *m = &c->m->maps.items[i];

		if (skipped(m))
			continue;
		e = adopted(c, i) ? protect_adopted(c, m) : protect_one(c, m);
		if (e == 0)
			e = advise_one(c, m);
		if (e == 0)
			e = name_one(c, m);
		if (e == 0)
			e = guard_one(c, m);
		if (e == 0)
			e = lock_one(c, m);
	}
	return e == 0 ? ps_rcall_flush(c) : e;
}

/*
 * The mappings' syscalls are queued (batch.h) and run in the stub in few
 * resumes, in three passes: map all, fill all, then protect, advise, name,
 * guard and lock all; each mapping's own steps keep their order.
 */
int ps_layout_build(struct ps_rctx *c)
{
	struct stub_files files = { .n = 0 };
	struct made_objects made = { ps_gone_files_new(), ps_shmem_objects_new(), &files };
	int e = made.gone && made.shmem ? ps_batch_begin(c, c->tramp + TRAMP_BATCH_AREA) :
					  ps_rfail(c, -ENOMEM, "out of memory");

	if (e == 0)
		e = map_vdso(c);
	if (e == 0)
		e = map_all(c, &made);
	if (e == 0)
		e = fill_all(c);
	if (e == 0)
		e = finish_all(c);
	/* after a failure the stub is killed, its files with it: the first
	 * error's sentence stays, and nothing queued runs */
	if (e)
		ps_batch_drop(c);
	if (e == 0)
		stub_files_close(c, made.files);
	ps_gone_files_close(c, made.gone);
	ps_shmem_objects_end(c, made.shmem);
	if (e == 0)
		e = seal_all(c);
	if (e == 0)
		e = lock_future(c);
	if (e == 0)
		return ps_batch_end(c);
	ps_batch_drop(c);
	return e;
}

/* ---- mm layout ---- */

/* The kernel's struct prctl_mm_map (linux/prctl.h), written into scratch. */
static void fill_mm_map(const struct ps_mm *mm, uint64_t auxv_at, uint32_t auxv_size,
			uint32_t exe_fd, struct prctl_mm_map *map)
{
	memset(map, 0, sizeof(*map));
	map->start_code = mm->start_code;
	map->end_code = mm->end_code;
	map->start_data = mm->start_data;
	map->end_data = mm->end_data;
	map->start_brk = mm->start_brk;
	map->brk = mm->brk;
	map->start_stack = mm->start_stack;
	map->arg_start = mm->arg_start;
	map->arg_end = mm->arg_end;
	map->env_start = mm->env_start;
	map->env_end = mm->env_end;
	map->auxv = (__u64 *)(uintptr_t)auxv_at;
	map->auxv_size = auxv_size;
	map->exe_fd = exe_fd;
}

/*
 * The file the exe link will name, opened as the caller. A caller other
 * than root must be able to run it (faccessat2 AT_EACCESS on the opened
 * file itself, with the caller's effective ids and no capabilities), and
 * it must not be set-user-ID or set-group-ID: the link would claim the
 * process runs a privileged program it never ran.
 */
static long open_exe(struct ps_rctx *c, const char *path)
{
	static const char who[] = "the executable";
	char deed[PS_PATH_MAX + 16];
	struct stat st;
	long exe = ps_caller_open(c, who, path, O_RDONLY | O_CLOEXEC, 0);
	long rc = exe < 0 ? exe : ps_caller_fstat(c, who, exe, &st);

	if (rc < 0 || c->uid == 0)
		return rc < 0 ? rc : exe;
	if (!S_ISREG(st.st_mode))
		rc = ps_rfail(c, -EACCES, "the executable %s is not a regular file", path);
	else if (st.st_mode & (S_ISUID | S_ISGID))
		rc = ps_rfail(c, -EPERM, "the executable %s is set-user-ID or set-group-ID: only root "
			      "may restore a process with such an executable", path);
	snprintf(deed, sizeof(deed), "run %s", path);
	if (rc == 0)
		rc = ps_rput(c, 0, "", 1) ? ps_caller_call(c, who, deed, SYS_faccessat2, (uint64_t)exe,
							   c->scratch, X_OK,
							   AT_EACCESS | AT_EMPTY_PATH, 0, 0) : -EIO;
	if (rc >= 0)
		return exe;
	ps_rcall(c, "close", SYS_close, (uint64_t)exe, 0, 0, 0, 0, 0);
	return rc;
}

/*
 * PR_SET_MM_MAP sets every bound at once and checks them together (ranges
 * inside user space, brk within RLIMIT_DATA). It also replaces the exe link,
 * which the kernel allows only once the old executable (procsnap) is no
 * longer mapped: that is why this comes after the layout is built. It is
 * the one step of the address space that needs privilege (CAP_SYS_ADMIN or
 * CAP_CHECKPOINT_RESTORE for the exe link): caller mode is left around it.
 */
int ps_layout_set_mm(struct ps_rctx *c)
{
	const struct ps_mm *mm = &c->m->proc.mm;
	const struct ps_process *p = &c->m->proc;
	struct prctl_mm_map map;
	uint32_t auxv_size = mm->nauxv * sizeof(mm->auxv[0]);
	uint64_t auxv, at;
	long exe, ret;

	if (1024 + auxv_size + sizeof(map) > PS_SCRATCH_SIZE)
		return ps_rfail(c, -E2BIG, "the auxv is too long");
	exe = open_exe(c, p->exe.data);
	if (exe < 0)
		return (int)exe;
	ret = ps_caller_leave(c);
	auxv = ret == 0 ? ps_rput(c, 1024, mm->auxv, auxv_size) : 0;
	fill_mm_map(mm, auxv, auxv_size, (uint32_t)exe, &map);
	at = auxv ? ps_rput(c, 1024 + auxv_size, &map, sizeof(map)) : 0;
	if (ret == 0)
		ret = at ? ps_rcall(c, "prctl(PR_SET_MM_MAP)", SYS_prctl, PR_SET_MM, PR_SET_MM_MAP,
				    at, sizeof(map), 0, 0) : -EIO;
	if (ret >= 0)
		ret = ps_caller_enter(c);
	ps_rcall(c, "close", SYS_close, exe, 0, 0, 0, 0, 0);
	return ret < 0 ? (int)ret : 0;
}

int ps_layout_unmap_trampoline(struct ps_rctx *c)
{
	long ret = ps_rcall(c, "munmap of procsnap's trampoline", SYS_munmap, c->tramp,
			    TRAMP_SIZE, 0, 0, 0, 0);

	return ret < 0 ? (int)ret : 0;
}
