/* Capture of the memory part, mappings and their saved pages: /proc maps and
 * smaps give the layout, pagemap which pages hold data, process_vm_readv them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend/elf_buildid.h"
#include "image/file_names.h"
#include "image/image_limits.h"
#include "backend/capture.h"
#include "backend/part_capture.h"
#include "backend/proc_parse.h"
#include "backend/sentence.h"

#define PM_PRESENT (1ULL << 63)
#define PM_SWAP (1ULL << 62)
#define PM_FILE (1ULL << 61)  /* file page or shared anonymous page */
/* A guard page (MADV_GUARD_INSTALL) since Linux 6.15. Its entry also has
 * PM_SWAP set (the guard is a PTE marker, a kind of swap entry), and reading
 * it fails (EIO): tested before PM_SWAP. */
#define PM_GUARD (1ULL << 58)
#define PAGEMAP_BATCH 65536   /* entries read per pread: 512 KiB */

static enum ps_map_kind kind_of(const struct ps_maps_line *ml)
{
	const char *p = ml->path;

	if (!*p)
		return ml->shared ? PS_MAP_SHMEM : PS_MAP_ANON;
	if (!strcmp(p, "[heap]"))
		return PS_MAP_HEAP;
	if (!strcmp(p, "[stack]"))
		return PS_MAP_STACK;
	if (!strcmp(p, "[vdso]"))
		return PS_MAP_VDSO;
	if (!strncmp(p, "[vvar", 5))
		return PS_MAP_VVAR;
	if (!strcmp(p, "[vsyscall]"))
		return PS_MAP_VSYSCALL;
	if (!strncmp(p, "[anon_shmem:", 12))
		return PS_MAP_SHMEM;
	if (!strncmp(p, "[anon:", 6))
		return PS_MAP_ANON;
	if (p[0] != '/')
		return PS_MAP_OTHER;  /* "[uprobes]", "anon_inode:[perf_event]"... */
	/* Shared anonymous memory is a deleted /dev/zero; the kernel's own
	 * files, never linked anywhere, are AIO rings and SysV segments. */
	if (ml->shared && ml->deleted && !strcmp(p, "/dev/zero"))
		return PS_MAP_SHMEM;
	if (ml->shared && ml->deleted && !strcmp(p, "/[aio]"))
		return PS_MAP_AIO;
	if (ml->shared && ml->deleted && !strncmp(p, "/SYSV", 5))
		return PS_MAP_SYSV;
	return PS_MAP_FILE;
}

/* Which mappings have a content file at all (docs/design.md §4.4). */
static int has_content(const struct ps_mapping *m)
{
	switch (m->kind) {
	case PS_MAP_ANON:
	case PS_MAP_HEAP:
	case PS_MAP_STACK:
	case PS_MAP_SHMEM:
	case PS_MAP_SYSV:
		return 1;
	case PS_MAP_FILE:
		/* A shared mapping's bytes live in its file, unless the file
		 * is gone (memfd, deleted file): then only the image has them. */
		return !m->shared || m->deleted;
	default:
		return 0;
	}
}

/* Whether one pagemap entry is a page the image must hold. */
static int page_is_saved(const struct ps_mapping *m, uint64_t pme)
{
	if (pme & PM_GUARD)
		return 0;
	if (pme & PM_SWAP)
		return 1;
	if (!(pme & PM_PRESENT))
		return 0;
	/* In a private file mapping only pages copied on write are the
	 * program's own: clean ones are reloaded from the file. */
	if (m->kind == PS_MAP_FILE && !m->shared)
		return !(pme & PM_FILE);
	return 1;
}

static int add_page(struct ps_mapping *m, uint64_t page)
{
	struct ps_extent *last = m->ndata ? &m->data[m->ndata - 1] : NULL, *grown;

	if (last && last->first + last->count == page) {
		last->count++;
		return 0;
	}
	grown = realloc(m->data, (m->ndata + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	m->data = grown;
	m->data[m->ndata++] = (struct ps_extent){ page, 1 };
	return 0;
}

/* buf: room for PAGEMAP_BATCH entries, one for every mapping (a 512 KiB
 * malloc is an mmap and a munmap: 20,000 of them cost a second). */
static int scan_pagemap(int pmfd, struct ps_mapping *m, uint64_t *buf)
{
	uint64_t npages = (m->end - m->start) / PS_PAGE_SIZE, done = 0;

	while (done < npages) {
		uint64_t want = npages - done < PAGEMAP_BATCH ? npages - done : PAGEMAP_BATCH;
		off_t at = (off_t)((m->start / PS_PAGE_SIZE + done) * sizeof(uint64_t));
		ssize_t n = pread(pmfd, buf, want * sizeof(uint64_t), at);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		for (uint64_t i = 0; i < (uint64_t)n / sizeof(uint64_t); i++) {
			if (!page_is_saved(m, buf[i]))
				continue;
			if (add_page(m, done + i) < 0)
				return -ENOMEM;
			m->data_pages++;
		}
		done += n / sizeof(uint64_t);
	}
	return 0;
}

/* ---- guard pages ---- */

/*
 * PAGEMAP_SCAN (linux/fs.h, Linux 6.7; the PAGE_IS_GUARD category since
 * 6.15) lists the runs of pages in a category over a whole address range,
 * walking only the page tables that exist: one ioctl finds every guard page
 * of the process, in mappings the pagemap scan skips (nothing resident) as
 * in the others. Without PM_SCAN_WP_MATCHING it only reads. Declared here:
 * the C library's headers may predate it.
 */
struct ps_page_region {
	uint64_t start, end, categories;
};

struct ps_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};

#define PS_PAGEMAP_SCAN _IOWR('f', 16, struct ps_pm_scan_arg)
#define PS_PAGE_IS_GUARD (1ULL << 8)
#define GUARD_BATCH 512

static int add_guard_run(struct ps_mapping *m, uint64_t first, uint64_t count)
{
	struct ps_extent *last = m->nguards ? &m->guards[m->nguards - 1] : NULL, *grown;

	if (last && last->first + last->count == first) {
		last->count += count;
		return 0;
	}
	grown = realloc(m->guards, (m->nguards + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	m->guards = grown;
	m->guards[m->nguards++] = (struct ps_extent){ first, count };
	return 0;
}

/* Give the guard run [a, b) to the mappings it lies in; *k is the first
 * mapping that may hold it (runs come in address order). */
static int attribute_guards(struct ps_maps *maps, size_t *k, uint64_t a, uint64_t b)
{
	for (; *k < maps->count && maps->items[*k].end <= a; (*k)++)
		;
	for (size_t i = *k; i < maps->count && maps->items[i].start < b; i++) {
		struct ps_mapping *m = &maps->items[i];
		uint64_t from = a > m->start ? a : m->start, to = b < m->end ? b : m->end;

		if (add_guard_run(m, (from - m->start) / PS_PAGE_SIZE, (to - from) / PS_PAGE_SIZE) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* A kernel without the ioctl or the category has no guard page to find
 * (or, 6.13 and 6.14, none it can show: reading one then fails the copy). */
static int find_guards(int pmfd, struct ps_maps *maps)
{
	struct ps_page_region vec[GUARD_BATCH];
	struct ps_pm_scan_arg arg;
	uint64_t at = 0, end = 0;
	size_t k = 0;

	for (size_t i = 0; i < maps->count; i++)    /* [vsyscall] lies beyond user space */
		if (maps->items[i].end <= PS_USER_ADDR_END)
			end = maps->items[i].end;
	while (at < end) {
		long n;

		memset(&arg, 0, sizeof(arg));
		arg.size = sizeof(arg);
		arg.start = at;
		arg.end = end;
		arg.vec = (uint64_t)(uintptr_t)vec;
		arg.vec_len = GUARD_BATCH;
		arg.category_mask = PS_PAGE_IS_GUARD;
		arg.return_mask = PS_PAGE_IS_GUARD;
		n = ioctl(pmfd, PS_PAGEMAP_SCAN, &arg);
		if (n < 0)
			return errno == ENOTTY || errno == EINVAL ? 0 : -errno;
		for (long i = 0; i < n; i++)
			if (attribute_guards(maps, &k, vec[i].start, vec[i].end) < 0)
				return -ENOMEM;
		if (arg.walk_end <= at)
			break;
		at = arg.walk_end;
	}
	return 0;
}

/* A guard page holds no data: a shared object's data found by SEEK_DATA
 * under one is left to the object's other mappings (or descriptors). */
static int drop_guarded_data(struct ps_mapping *m)
{
	struct ps_extent *kept = calloc(m->ndata + m->nguards + 1, sizeof(*kept));
	size_t n = 0;

	if (!kept)
		return -ENOMEM;
	m->data_pages = 0;
	for (size_t i = 0; i < m->ndata; i++) {
		for (uint64_t p = m->data[i].first; p < m->data[i].first + m->data[i].count; p++) {
			int guarded = 0;

			for (size_t g = 0; g < m->nguards && !guarded; g++)
				guarded = p >= m->guards[g].first && p < m->guards[g].first + m->guards[g].count;
			if (guarded)
				continue;
			if (n && kept[n - 1].first + kept[n - 1].count == p)
				kept[n - 1].count++;
			else
				kept[n++] = (struct ps_extent){ p, 1 };
			m->data_pages++;
		}
	}
	free(m->data);
	m->data = kept;
	m->ndata = n;
	return 0;
}

/* Identify a mapped file through map_files/, which reaches the very inode
 * mapped even if its path was replaced since. */
static void identify_file(pid_t pid, struct ps_mapping *m)
{
	char path[96];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0) {
		m->file.size = st.st_size;
		m->file.mtime_sec = st.st_mtim.tv_sec;
		m->file.mtime_nsec = st.st_mtim.tv_nsec;
	}
	if (ps_elf_build_id(fd, m->file.build_id, sizeof(m->file.build_id)) < 0)
		m->file.build_id[0] = 0;
	close(fd);
}

/* Reuse what an earlier mapping of the same file found (libc is mapped
 * four or five times). */
static void identify_file_cached(pid_t pid, struct ps_maps *maps, size_t i)
{
	struct ps_mapping *m = &maps->items[i];

	for (size_t j = 0; j < i; j++) {
		struct ps_mapping *o = &maps->items[j];

		if (o->kind == PS_MAP_FILE && o->file.ino == m->file.ino &&
		    o->file.dev_major == m->file.dev_major &&
		    o->file.dev_minor == m->file.dev_minor && !o->deleted && !m->deleted) {
			m->file.size = o->file.size;
			m->file.mtime_sec = o->file.mtime_sec;
			m->file.mtime_nsec = o->file.mtime_nsec;
			memcpy(m->file.build_id, o->file.build_id, sizeof(m->file.build_id));
			return;
		}
	}
	identify_file(pid, m);
}

/* maps->items has room for it (parse_maps counts the lines first). */
static int add_mapping(struct ps_maps *maps, const struct ps_maps_line *ml)
{
	struct ps_mapping *m = &maps->items[maps->count++];
	char name[64];

	memset(m, 0, sizeof(*m));
	m->start = ml->start;
	m->end = ml->end;
	m->prot = ml->prot;
	m->shared = ml->shared;
	m->offset = ml->offset;
	m->deleted = ml->deleted;
	m->kind = kind_of(ml);
	ps_bytes_set(&m->path, ml->path, strlen(ml->path));
	m->file.dev_major = ml->dev_major;
	m->file.dev_minor = ml->dev_minor;
	m->file.ino = ml->ino;
	if (has_content(m)) {
		ps_memory_file_name(name, sizeof(name), m->start, m->end);
		m->content = strdup(name);
		if (!m->content)
			return -ENOMEM;
		m->content_start = m->start;
		m->content_end = m->end;
	}
	return 0;
}

static size_t count_lines(const char *text)
{
	size_t n = 1;

	for (const char *p = strchr(text, '\n'); p; p = strchr(p + 1, '\n'))
		n++;
	return n;
}

static int parse_maps(const char *text, struct ps_maps *maps)
{
	const char *line = text;
	struct ps_maps_line *ml = malloc(sizeof(*ml));
	int r = 0;

	maps->items = calloc(count_lines(text), sizeof(*maps->items));
	if (!ml || !maps->items) {
		free(ml);
		return -ENOMEM;
	}
	while (line && *line && r == 0) {
		const char *nl = strchr(line, '\n');

		r = ps_parse_maps_line(line, ml);
		if (r == 0)
			r = add_mapping(maps, ml);
		line = nl ? nl + 1 : NULL;
	}
	free(ml);
	return r;
}

struct smaps_ctx {
	struct ps_maps *maps;
	char *resident;       /* per mapping: has resident or swapped pages */
	size_t hint;
};

static int attach_smaps(const struct ps_smaps_entry *e, void *arg)
{
	struct smaps_ctx *c = arg;

	for (size_t k = 0; k < c->maps->count; k++) {
		size_t i = (c->hint + k) % c->maps->count;
		struct ps_mapping *m = &c->maps->items[i];

		if (m->start != e->start)
			continue;
		c->resident[i] = e->rss_kb + e->swap_kb > 0;
		m->vm_flags = calloc(e->nflags + 1, sizeof(char *));
		if (!m->vm_flags)
			return -ENOMEM;
		for (size_t f = 0; f < e->nflags; f++) {
			m->vm_flags[f] = strdup(e->flags[f]);
			if (!m->vm_flags[f])
				return -ENOMEM;
			m->nvm_flags++;
		}
		c->hint = i + 1;
		return 0;
	}
	return 0;
}

/* smaps gives each mapping's VmFlags, and its Rss and Swap, which let the
 * pagemap scan skip mappings with no page at all (a reserved 100 GiB
 * PROT_NONE region would otherwise cost 200 MiB of pagemap reads). */
static int read_smaps(pid_t pid, struct ps_maps *maps, char *resident, char *err, size_t errlen)
{
	char path[64], *text = NULL;
	size_t len;
	struct smaps_ctx c = { maps, resident, 0 };
	int r;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	r = ps_read_file(path, &text, &len);
	if (r == 0)
		r = ps_parse_smaps(text, attach_smaps, &c);
	if (r < 0)
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-r));
	free(text);
	return r;
}

/*
 * A shared mapping of a file that is gone (a memfd, a deleted file) holds
 * what only the image will have: not just the pages this process touched
 * but all the file's data in the mapped range, found with SEEK_DATA on the
 * file itself through /proc/<pid>/map_files (root may open those links).
 * Reading them through the mapping faults untouched ones in from the file.
 */
static int scan_file_data(pid_t pid, struct ps_mapping *m)
{
	uint64_t len = m->end - m->start, at = m->offset, stop = m->offset + len;
	char path[96];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (rc == 0 && at < stop) {
		off_t data = lseek(fd, (off_t)at, SEEK_DATA), hole;

		if (data < 0 || (uint64_t)data >= stop)
			break;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			break;
		for (uint64_t page = ((uint64_t)data - m->offset) / PS_PAGE_SIZE;
		     rc == 0 && page * PS_PAGE_SIZE < (uint64_t)hole - m->offset && page * PS_PAGE_SIZE < len; page++) {
			rc = add_page(m, page);
			m->data_pages += rc == 0;
		}
		at = (uint64_t)hole;
	}
	close(fd);
	return rc;
}

/*
 * Shared memory whose object the restore makes anew: a shared mapping of a
 * memfd or deleted file, shared anonymous memory (an unnamed shmem file),
 * and a SysV segment. Its pages are the object's, not the mapping's: a page
 * another mapping of the object (or another process) wrote is in the object
 * yet absent from this mapping's page table (pagemap says not present), so
 * pagemap would save it as a hole and the restore would bring back zeros
 * there. The object's data is found with SEEK_DATA on the object itself.
 */
static int is_gone_shared_object(const struct ps_mapping *m)
{
	return (m->shared && ((m->kind == PS_MAP_FILE && m->deleted) || m->kind == PS_MAP_SHMEM)) ||
	       m->kind == PS_MAP_SYSV;
}

static int scan_all_pagemaps(pid_t pid, struct ps_maps *maps, const char *resident,
			     char *err, size_t errlen)
{
	char path[64];
	uint64_t *buf = malloc(PAGEMAP_BATCH * sizeof(uint64_t));
	int pmfd, r = 0;

	if (!buf)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pmfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pmfd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		free(buf);
		return r;
	}
	r = find_guards(pmfd, maps);
	if (r < 0)
		snprintf(err, errlen, "%s: finding guard pages (PAGEMAP_SCAN): %s", path, strerror(-r));
	for (size_t i = 0; i < maps->count && r == 0; i++) {
		struct ps_mapping *m = &maps->items[i];

		if (m->kind == PS_MAP_FILE)
			identify_file_cached(pid, maps, i);
		if (m->kind == PS_MAP_SHMEM)
			identify_file(pid, m);  /* the object's size, for the restore */
		if (m->content && is_gone_shared_object(m)) {
			r = scan_file_data(pid, m);
			if (r == 0 && m->nguards)
				r = drop_guarded_data(m);
			if (r < 0)
				snprintf(err, errlen, "/proc/%d/map_files/%llx-%llx: finding the data of "
					 "the deleted %s: %s", (int)pid, (unsigned long long)m->start,
					 (unsigned long long)m->end, m->path.data, strerror(-r));
			continue;
		}
		if (!m->content || !resident[i])
			continue;
		r = scan_pagemap(pmfd, m, buf);
		if (r < 0)
			snprintf(err, errlen, "%s: reading pagemap of %s: %s", path, m->content,
				 strerror(-r));
	}
	close(pmfd);
	free(buf);
	return r;
}

int ps_capture_maps(pid_t pid, struct ps_maps *maps, char *err, size_t errlen)
{
	char path[64], *text, *resident;
	size_t len;
	int r;

	memset(maps, 0, sizeof(*maps));
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	r = ps_read_file(path, &text, &len);
	if (r < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-r));
		return r;
	}
	r = parse_maps(text, maps);
	free(text);
	if (r < 0) {
		snprintf(err, errlen, "%s: cannot parse it: %s", path, strerror(-r));
		return r;
	}
	resident = calloc(maps->count ? maps->count : 1, 1);
	if (!resident)
		return -ENOMEM;
	r = read_smaps(pid, maps, resident, err, errlen);
	if (r == 0)
		r = scan_all_pagemaps(pid, maps, resident, err, errlen);
	free(resident);
	return r;
}

/* The end of the run of mappings with content that starts at i, adjacent
 * and spanning less than PS_MEMORY_GROUP_SPAN together. */
static size_t group_end(const struct ps_maps *maps, size_t i)
{
	const struct ps_mapping *first = &maps->items[i];
	size_t j = i + 1;

	while (j < maps->count && maps->items[j].content &&
	       maps->items[j].start == maps->items[j - 1].end &&
	       maps->items[j].end - first->start < PS_MEMORY_GROUP_SPAN)
		j++;
	return j;
}

/* Each run shares one content file, named for the run's range. */
static int group_content_files(struct ps_maps *maps)
{
	char name[PS_MEMORY_NAME_MAX];

	for (size_t i = 0, j; i < maps->count; i = j) {
		j = i + 1;
		if (!maps->items[i].content)
			continue;
		j = group_end(maps, i);
		ps_memory_file_name(name, sizeof(name), maps->items[i].start, maps->items[j - 1].end);
		for (size_t k = i; k < j; k++) {
			struct ps_mapping *m = &maps->items[k];

			free(m->content);
			m->content = strdup(name);
			if (!m->content)
				return -ENOMEM;
			m->content_start = maps->items[i].start;
			m->content_end = maps->items[j - 1].end;
		}
	}
	return 0;
}

int ps_capture_memory(struct ps_capture *c, char *err, size_t errlen)
{
	int lock_future = c->model.maps.lock_future;   /* found in the remote session */
	int rc = ps_capture_maps(c->frozen.pid, &c->model.maps, err, errlen);

	c->model.maps.lock_future = lock_future;
	if (!rc)
		rc = ps_capture_aio(c->frozen.pid, &c->model.maps, err, errlen);
	if (!rc)
		rc = ps_capture_sysv_shm(c->frozen.pid, &c->model.maps, err, errlen);
	if (!rc && group_content_files(&c->model.maps) < 0)
		rc = ps_fail(err, errlen, -ENOMEM, "naming the memory files: out of memory");
	return rc;
}

/* mincore's one byte for the page at page, through scratch. */
static int populated(struct ps_remote *r, uint64_t page, uint64_t scratch, int *yes, char *err,
		     size_t errlen)
{
	unsigned char vec = 0;
	struct iovec local = { &vec, 1 }, remote = { (void *)scratch, 1 };
	long ret;
	int e = ps_capture_call(r, SYS_mincore, page, PS_PAGE_SIZE, scratch, &ret, err, errlen);

	if (e == 0 && ret == 0 && process_vm_readv(r->tid, &local, 1, &remote, 1, 0) != 1)
		e = -EIO;
	*yes = e == 0 && ret == 0 && (vec & 1);
	return e;
}

/*
 * mlockall(MCL_FUTURE) puts VM_LOCKED (and, with MCL_ONFAULT,
 * VM_LOCKONFAULT) in mm->def_flags, which only a new mapping shows. So one
 * read-only page is mapped in the target and asked: madvise(MADV_DONTNEED)
 * refuses (EINVAL) a VM_LOCKED mapping, and mmap fills a locked mapping at
 * once unless it locks on fault (mincore then says resident: the zero
 * page). The page is unmapped at once. Should procsnap die between the mmap
 * and the munmap, the process keeps one unused, unnamed read-only page and
 * runs on unharmed.
 */
static int probe_lock_future(struct ps_remote *r, uint64_t scratch, int *out, char *err,
			     size_t errlen)
{
	uint64_t args[6] = { 0, PS_PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			     (uint64_t)-1, 0 };
	long page, ret;
	int e = ps_remote_syscall(r, SYS_mmap, args, &page, err, errlen), resident = 0;

	*out = 0;
	if (e < 0)
		return e;
	if (page == -EAGAIN) {          /* a locked mapping over RLIMIT_MEMLOCK */
		*out = MCL_FUTURE;
		return 0;
	}
	if (page < 0 && page > -4096)
		return 0;               /* no memory to probe with: as if not locked */
	e = ps_capture_call(r, SYS_madvise, (uint64_t)page, PS_PAGE_SIZE, MADV_DONTNEED, &ret,
			    err, errlen);
	if (e == 0 && ret == -EINVAL) {
		e = populated(r, (uint64_t)page, scratch, &resident, err, errlen);
		*out = MCL_FUTURE | (resident ? 0 : MCL_ONFAULT);
	}
	if (ps_capture_call(r, SYS_munmap, (uint64_t)page, PS_PAGE_SIZE, 0, &ret, err, errlen) < 0 &&
	    e == 0)
		e = -EIO;
	return e;
}

int ps_capture_memory_remote(struct ps_remote *r, uint64_t scratch, struct ps_model *m,
			     size_t thread, char *err, size_t errlen)
{
	if (thread != 0)
		return 0;
	return probe_lock_future(r, scratch, &m->maps.lock_future, err, errlen);
}

/* First run that ends after page p (binary search), or m->ndata. */

static size_t extent_at_or_after(const struct ps_mapping *m, uint64_t p)
{
	size_t lo = 0, hi = m->ndata;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->data[mid].first + m->data[mid].count <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* process_vm_readv cannot read PROT_NONE pages; /proc/<pid>/mem can, as it
 * reads with FOLL_FORCE like a debugger. */
static int read_process(pid_t pid, int memfd, uint64_t addr, char *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		n = 0;
	while ((size_t)n < len) {
		ssize_t m = pread(memfd, buf + n, len - n, (off_t)(addr + n));

		if (m <= 0)
			return m < 0 ? -errno : -EIO;
		n += m;
	}
	return 0;
}

ssize_t ps_memory_read(pid_t pid, int memfd, const struct ps_mapping *m,
		       char *buf, size_t size, uint64_t off)
{
	uint64_t len = m->end - m->start, pos, stop, zeroed;
	size_t i;

	if (off >= len)
		return 0;
	if (size > len - off)
		size = len - off;
	stop = off + size;
	zeroed = off;    /* everything before this offset is already filled */
	for (i = extent_at_or_after(m, off / PS_PAGE_SIZE); i < m->ndata; i++) {
		uint64_t a = m->data[i].first * PS_PAGE_SIZE, b = a + m->data[i].count * PS_PAGE_SIZE;
		int r;

		if (a >= stop)
			break;
		pos = a > off ? a : off;
		if (b > stop)
			b = stop;
		memset(buf + (zeroed - off), 0, pos - zeroed);
		r = read_process(pid, memfd, m->start + pos, buf + (pos - off), b - pos);
		if (r < 0)
			return r;
		zeroed = b;
	}
	memset(buf + (zeroed - off), 0, stop - zeroed);
	return size;
}

off_t ps_memory_seek(const struct ps_mapping *m, off_t off, int whence)
{
	uint64_t len = m->end - m->start, a, b;
	size_t i;

	if (off < 0 || (uint64_t)off >= len)
		return -ENXIO;
	i = extent_at_or_after(m, (uint64_t)off / PS_PAGE_SIZE);
	a = i < m->ndata ? m->data[i].first * PS_PAGE_SIZE : len;
	b = i < m->ndata ? a + m->data[i].count * PS_PAGE_SIZE : len;
	if (whence == SEEK_DATA) {
		if (i == m->ndata)
			return -ENXIO;
		return (uint64_t)off > a ? off : (off_t)a;
	}
	/* SEEK_HOLE: the end of the file counts as a hole. */
	return (uint64_t)off >= a ? (off_t)b : off;
}
