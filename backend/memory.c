/* Capture of the memory part, mappings and their saved pages: /proc maps and
 * smaps give the layout, pagemap which pages hold data, process_vm_readv them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend/elf_buildid.h"
#include "image/file_names.h"
#include "backend/part_capture.h"
#include "backend/proc_parse.h"

#define PM_PRESENT (1ULL << 63)
#define PM_SWAP (1ULL << 62)
#define PM_FILE (1ULL << 61)  /* file page or shared anonymous page */
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
	/* Shared anonymous memory is a deleted /dev/zero or SysV segment. */
	if (ml->shared && ml->deleted && (!strcmp(p, "/dev/zero") || !strncmp(p, "/SYSV", 5)))
		return PS_MAP_SHMEM;
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

static int is_gone_shared_file(const struct ps_mapping *m)
{
	return m->kind == PS_MAP_FILE && m->shared && m->deleted;
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
	for (size_t i = 0; i < maps->count && r == 0; i++) {
		struct ps_mapping *m = &maps->items[i];

		if (m->kind == PS_MAP_FILE)
			identify_file_cached(pid, maps, i);
		if (m->content && is_gone_shared_file(m)) {
			r = scan_file_data(pid, m);
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

/* First run that ends after page p (binary search), or m->ndata. */
int ps_capture_memory(struct ps_capture *c, char *err, size_t errlen)
{
	return ps_capture_maps(c->frozen.pid, &c->model.maps, err, errlen);
}

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
