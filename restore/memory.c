/* Checks of the memory part before a restore: every mapping can be made
 * again here, the vDSO fits, mapped files are the checkpoint's very files. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "backend/elf_buildid.h"
#include "backend/proc_parse.h"
#include "restore/part_restore.h"
#include "restore/validate.h"

static unsigned long long ull(uint64_t x)
{
	return (unsigned long long)x;
}

/* A content file holds its whole range, holes included: the mapping, and
 * the adjacent ones that share it. */
static int check_content(const struct ps_check *v, const struct ps_mapping *map)
{
	uint64_t len = map->content_end - map->content_start;
	const struct ps_image_file *f = ps_image_file_find(&v->m->meta, map->content);
	char path[2 * PS_PATH_MAX];     /* the image directory, then the content file's name */
	struct stat st;

	if (map > v->m->maps.items && map[-1].content && strcmp(map[-1].content, map->content) == 0)
		return 0;     /* checked with the previous mapping */
	if (!f)
		return ps_refuse(v, -EINVAL, "image.json does not list %s", map->content);
	if (f->size != len)
		return ps_refuse(v, -EINVAL, "image.json says %s is %llu bytes, but its range "
			      "%llx-%llx is %llu bytes", map->content, ull(f->size),
			      ull(map->content_start), ull(map->content_end), ull(len));
	snprintf(path, sizeof(path), "%s/%s", v->dir, map->content);
	if (lstat(path, &st) < 0)
		return ps_refuse(v, -errno, "%s: %s", map->content, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ps_refuse(v, -EINVAL, "%s is not a regular file", map->content);
	if ((uint64_t)st.st_size != len)
		return ps_refuse(v, -EINVAL, "%s is %llu bytes, but its range %llx-%llx is %llu bytes",
			      map->content, ull(st.st_size), ull(map->content_start),
			      ull(map->content_end), ull(len));
	return 0;
}

static void format_time(char *buf, size_t len, int64_t sec, long nsec)
{
	time_t t = (time_t)sec;
	struct tm tm;
	char day[32] = "?";

	if (gmtime_r(&t, &tm))
		strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09ldZ", day, nsec);
}

/* The build-id of the file at path now, "" if it has none. */
static int current_build_id(const char *path, char *out, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	int rc;

	out[0] = '\0';
	if (fd < 0)
		return -errno;
	rc = ps_elf_build_id(fd, out, len);
	close(fd);
	if (rc == -ENOENT || rc == -ERANGE) {   /* none, or longer than any saved one */
		out[0] = '\0';
		return 0;
	}
	return rc;
}

/* The same file as at the checkpoint: clean pages are read back from it. */
static int check_mapped_file(const struct ps_check *v, const struct ps_mapping *map)
{
	const struct ps_file_id *id = &map->file;
	const char *path = map->path.data;
	char now_id[sizeof(id->build_id)], then_t[64], now_t[64];
	struct stat st;
	int rc;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return ps_refuse(v, -ENOENT, "%s is missing", path);
		return ps_refuse(v, -errno, "%s: %s", path, strerror(errno));
	}
	if (id->build_id[0]) {
		if (!S_ISREG(st.st_mode))
			return ps_refuse(v, -ESTALE, "%s changed since the checkpoint (it is no longer "
				      "a regular file)", path);
		rc = current_build_id(path, now_id, sizeof(now_id));
		if (rc < 0)
			return ps_refuse(v, rc, "%s: cannot read its build-id: %s", path, strerror(-rc));
		if (strcmp(now_id, id->build_id) != 0)
			return ps_refuse(v, -ESTALE, "%s changed since the checkpoint (build-id differs)",
				      path);
	}
	if ((uint64_t)st.st_size != id->size)
		return ps_refuse(v, -ESTALE, "%s changed since the checkpoint (size %llu -> %llu)",
			      path, ull(id->size), ull(st.st_size));
	if (st.st_mtim.tv_sec != id->mtime_sec || st.st_mtim.tv_nsec != id->mtime_nsec) {
		format_time(then_t, sizeof(then_t), id->mtime_sec, id->mtime_nsec);
		format_time(now_t, sizeof(now_t), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		return ps_refuse(v, -ESTALE, "%s changed since the checkpoint (modified %s -> %s)",
			      path, then_t, now_t);
	}
	return 0;
}

/* A file mapped several times in a row (a library's segments) is checked once. */
static int same_file(const struct ps_mapping *a, const struct ps_mapping *b)
{
	return a && a->kind == PS_MAP_FILE && !a->deleted &&
	       strcmp(a->path.data, b->path.data) == 0 &&
	       memcmp(&a->file, &b->file, sizeof(a->file)) == 0;
}

/* a maps the same object as b, a file that is gone or shared anonymous
 * memory (whose file the kernel shows as deleted when mapped privately). */
static int same_gone_file(const struct ps_mapping *a, const struct ps_mapping *b)
{
	return ((a->kind == PS_MAP_FILE && a->deleted) || (a->kind == PS_MAP_SHMEM && a->file.ino)) &&
	       a->file.ino == b->file.ino &&
	       a->file.dev_major == b->file.dev_major && a->file.dev_minor == b->file.dev_minor;
}

/* Whether shared mappings of the same gone file, which carry all of its data
 * in their ranges, cover the file range [from, to) that map shows. */
static int covered_by_shared(const struct ps_maps *maps, const struct ps_mapping *map)
{
	uint64_t from = map->offset, to = map->offset + (map->end - map->start);
	int grew = 1;

	while (from < to && grew) {
		grew = 0;
		for (size_t i = 0; i < maps->count; i++) {
			const struct ps_mapping *o = &maps->items[i];
			uint64_t o_end = o->offset + (o->end - o->start);

			if (o->shared && o->content && same_gone_file(o, map) && o->offset <= from &&
			    o_end > from) {
				from = o_end;
				grew = 1;
			}
		}
	}
	return from >= to;
}

/* A mapping of a file that is gone: a shared one carries its bytes; a
 * private one has only its own changed pages, the rest must come from the
 * file's content, saved with a descriptor the process still holds or by
 * shared mappings of the file over all of the private one's range. */
static int check_gone_file(const struct ps_check *v, const struct ps_mapping *map)
{
	if (map->shared || ps_fd_of_file(&v->m->fds, map->file.dev_major, map->file.dev_minor,
					 map->file.ino) || covered_by_shared(&v->m->maps, map))
		return 0;
	return ps_refuse(v, -ENOTSUP, "mapping %llx-%llx of the deleted file %s: its unchanged pages "
		      "were not saved (no descriptor of the process holds the file)",
		      ull(map->start), ull(map->end), map->path.data);
}

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  /* Linux 6.13 */
#endif

/* Whether this kernel has guard pages: asked of one page of procsnap's own. */
static int kernel_has_guards(void)
{
	void *p = mmap(NULL, PS_PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ok;

	if (p == MAP_FAILED)
		return 1;       /* cannot tell: the restore's madvise will say */
	ok = madvise(p, PS_PAGE_SIZE, MADV_GUARD_INSTALL) == 0;
	munmap(p, PS_PAGE_SIZE);
	return ok;
}

static int check_guards(const struct ps_check *v, const struct ps_mapping *map)
{
	static int known, has;

	if (!map->nguards)
		return 0;
	if (!known) {
		has = kernel_has_guards();
		known = 1;
	}
	if (has)
		return 0;
	return ps_refuse(v, -ENOTSUP, "mapping %llx-%llx has guard pages (MADV_GUARD_INSTALL), "
			 "which this kernel cannot make (Linux 6.13 or later can)",
			 ull(map->start), ull(map->end));
}

/* A private mapping of shared anonymous memory no descriptor holds maps the
 * object through a descriptor only /proc/<pid>/map_files gives, and only
 * with CAP_CHECKPOINT_RESTORE: a caller other than root could not. */
static int check_private_of_shmem(const struct ps_check *v, const struct ps_mapping *map)
{
	const struct ps_maps *maps = &v->m->maps;

	if (v->uid == 0 || map->kind != PS_MAP_FILE || map->shared || !map->deleted ||
	    ps_fd_of_file(&v->m->fds, map->file.dev_major, map->file.dev_minor, map->file.ino))
		return 0;
	for (size_t i = 0; i < maps->count; i++) {
		const struct ps_mapping *o = &maps->items[i];

		if (o->kind == PS_MAP_SHMEM && o->file.ino && o->file.ino == map->file.ino &&
		    o->file.dev_major == map->file.dev_major && o->file.dev_minor == map->file.dev_minor)
			return ps_refuse(v, -EPERM, "mapping %llx-%llx maps shared anonymous memory "
					 "privately: only root may restore it (its object is "
					 "reached through /proc/<pid>/map_files)",
					 ull(map->start), ull(map->end));
	}
	return 0;
}

static int has_flag(const struct ps_mapping *m, const char *flag)
{
	for (size_t i = 0; i < m->nvm_flags; i++)
		if (!strcmp(m->vm_flags[i], flag))
			return 1;
	return 0;
}

/* VmFlags of state the restore cannot make again: refused by name rather
 * than dropped (proc_pid_smaps(5) has the mnemonics). */
struct refused_flag {
	const char *flag, *why;
};

static const struct refused_flag refused_flags[] = {
	{ "um", "it is registered with a userfaultfd (missing faults)" },
	{ "uw", "it is registered with a userfaultfd (write-protect faults)" },
	{ "ui", "it is registered with a userfaultfd (minor faults)" },
	{ "ss", "it is a shadow stack, which only map_shadow_stack makes, with its token" },
	{ "ht", "it is made of hugetlb pages, which procsnap does not restore" },
};

static int check_refused_flags(const struct ps_check *v, const struct ps_mapping *map)
{
	for (size_t i = 0; i < sizeof(refused_flags) / sizeof(refused_flags[0]); i++)
		if (has_flag(map, refused_flags[i].flag))
			return ps_refuse(v, -ENOTSUP, "mapping %llx-%llx (VmFlags %s): %s",
					 ull(map->start), ull(map->end), refused_flags[i].flag,
					 refused_flags[i].why);
	return 0;
}

static int check_mapping(const struct ps_check *v, const struct ps_mapping *map)
{
	int rc = map->content ? check_content(v, map) : 0;

	if (!rc)
		rc = check_refused_flags(v, map);
	if (!rc)
		rc = check_guards(v, map);
	if (!rc)
		rc = check_private_of_shmem(v, map);
	if (rc)
		return rc;
	switch (map->kind) {
	case PS_MAP_FILE:
		return map->deleted ? check_gone_file(v, map) : 0;
	case PS_MAP_AIO:
		return ps_validate_aio(v, map);
	case PS_MAP_SYSV:
		return ps_validate_sysv_shm(v, map);
	case PS_MAP_OTHER:
		return ps_refuse(v, -ENOTSUP, "mapping %llx-%llx (%s): the kernel makes these itself; "
			      "they cannot be restored", ull(map->start), ull(map->end),
			      map->path.data);
	default:
		return 0;
	}
}

static int check_mappings(const struct ps_check *v)
{
	const struct ps_maps *maps = &v->m->maps;
	int rc = 0;

	for (size_t i = 0; !rc && i < maps->count; i++)
		rc = check_mapping(v, &maps->items[i]);
	return rc;
}

/* Mapped files are the very files of the checkpoint: their clean pages are
 * read back from them. */
int ps_validate_memory_as_caller(const struct ps_check *v)
{
	const struct ps_maps *maps = &v->m->maps;
	int rc = 0;

	for (size_t i = 0; !rc && i < maps->count; i++) {
		const struct ps_mapping *map = &maps->items[i];

		if (map->kind == PS_MAP_FILE && !map->deleted &&
		    !same_file(i ? &maps->items[i - 1] : NULL, map))
			rc = check_mapped_file(v, map);
	}
	return rc;
}

/* ---- the vDSO ----
 * arch_prctl(ARCH_MAP_VDSO_64) maps this kernel's vDSO, with its [vvar*]
 * data pages at fixed offsets from it, where the image had them: the
 * program holds pointers into that code, so the image's must be the same
 * size and in the same places. */

#define MAX_KERNEL_SPECIALS 8

struct special {
	char name[32];
	uint64_t start, end;
};

static char *next_line(char *line)
{
	char *nl = strchr(line, '\n');

	return nl ? nl + 1 : line + strlen(line);
}

/* This kernel's [vdso] (first) and [vvar*] mappings, from procsnap's own maps. */
static int kernel_vdso_layout(struct special *out, size_t *n)
{
	struct ps_maps_line *ml = malloc(sizeof(*ml));
	char *text, *line;
	size_t len, k = 1;
	int rc = ml ? ps_read_file("/proc/self/maps", &text, &len) : -ENOMEM;

	if (rc < 0) {
		free(ml);
		return rc;
	}
	memset(&out[0], 0, sizeof(out[0]));
	for (line = text; *line; line = next_line(line)) {
		struct special *s;

		if (ps_parse_maps_line(line, ml) < 0)
			continue;
		if (strcmp(ml->path, "[vdso]") == 0)
			s = &out[0];
		else if (strncmp(ml->path, "[vvar", 5) == 0 && k < MAX_KERNEL_SPECIALS)
			s = &out[k++];
		else
			continue;
		snprintf(s->name, sizeof(s->name), "%.31s", ml->path);
		s->start = ml->start;
		s->end = ml->end;
	}
	free(text);
	free(ml);
	*n = k;
	return 0;
}

static const struct ps_mapping *find_mapping_named(const struct ps_maps *maps,
						   enum ps_map_kind kind, const char *name,
						   size_t *count)
{
	const struct ps_mapping *found = NULL;

	*count = 0;
	for (size_t i = 0; i < maps->count; i++) {
		const struct ps_mapping *map = &maps->items[i];

		if (map->kind == kind && (!name || strcmp(map->path.data, name) == 0)) {
			found = found ? found : map;
			(*count)++;
		}
	}
	return found;
}

/* "-0x7000", "+0x2000" */
static const char *offset_text(char buf[24], int64_t off)
{
	uint64_t mag = off < 0 ? -(uint64_t)off : (uint64_t)off;

	snprintf(buf, 24, "%c0x%llx", off < 0 ? '-' : '+', ull(mag));
	return buf;
}

static int check_vvar(const struct ps_check *v, const struct special *k, const struct special *kvdso,
		      const struct ps_mapping *vdso)
{
	size_t n;
	const struct ps_mapping *map = find_mapping_named(&v->m->maps, PS_MAP_VVAR, k->name, &n);
	int64_t off_image, off_here;
	char at_image[24], at_here[24];

	if (!map)
		return ps_refuse(v, -EINVAL, "the image has no %s mapping, which this kernel maps "
			      "next to the vDSO: it was taken with another vDSO layout", k->name);
	if (n > 1)
		return ps_refuse(v, -EINVAL, "the image has %zu %s mappings; a process has one", n,
			      k->name);
	if (map->end - map->start != k->end - k->start)
		return ps_refuse(v, -EINVAL, "the image's %s is %llu bytes, this kernel's %llu: the "
			      "vDSO's data pages differ", k->name, ull(map->end - map->start),
			      ull(k->end - k->start));
	off_image = (int64_t)(map->start - vdso->start);
	off_here = (int64_t)(k->start - kvdso->start);
	if (off_image != off_here)
		return ps_refuse(v, -EINVAL, "the image's %s is at [vdso]%s, this kernel maps it at "
			      "[vdso]%s: the vDSO cannot be put back with its data pages", k->name,
			      offset_text(at_image, off_image), offset_text(at_here, off_here));
	return 0;
}

static int check_vdso(const struct ps_check *v)
{
	struct special k[MAX_KERNEL_SPECIALS];
	size_t nk, n, nvvar;
	const struct ps_mapping *vdso = find_mapping_named(&v->m->maps, PS_MAP_VDSO, NULL, &n);
	int rc;

	find_mapping_named(&v->m->maps, PS_MAP_VVAR, NULL, &nvvar);
	if (n == 0 && nvvar == 0)
		return 0;       /* it ran without a vDSO (vdso=0), and will again */
	if (n != 1)
		return ps_refuse(v, -EINVAL, "the image has %zu [vdso] mappings; a process has "
			      "exactly one", n);
	rc = kernel_vdso_layout(k, &nk);
	if (rc < 0)
		return ps_refuse(v, rc, "/proc/self/maps: %s", strerror(-rc));
	if (!k[0].end)
		return ps_refuse(v, -ENOTSUP, "this kernel maps no vDSO into processes (booted with "
			      "vdso=0?), but the program has one and holds pointers into it");
	if (vdso->end - vdso->start != k[0].end - k[0].start)
		return ps_refuse(v, -EINVAL, "the image's [vdso] is %llu bytes, this kernel's %llu: "
			      "the vDSO code differs, and the program holds pointers into it",
			      ull(vdso->end - vdso->start), ull(k[0].end - k[0].start));
	for (size_t i = 1; i < nk; i++) {
		rc = check_vvar(v, &k[i], &k[0], vdso);
		if (rc)
			return rc;
	}
	if (nvvar != nk - 1)
		return ps_refuse(v, -EINVAL, "the image has %zu [vvar*] mappings; this kernel maps "
			      "%zu next to the vDSO", nvvar, nk - 1);
	return 0;
}

/*
 * Locked memory (mlock, mlockall) is held to RLIMIT_MEMLOCK unless the
 * locker has CAP_IPC_LOCK. For a caller other than root the restore locks
 * without capabilities, and first checks the bytes it will lock (a
 * lock-on-fault mapping: its saved pages) against the limit the process
 * runs under, the image's RLIMIT_MEMLOCK: over it, the caller could not
 * have locked them itself.
 */
static int check_locks(const struct ps_check *v)
{
	const struct ps_rlimit *lim = &v->m->proc.rlimits[RLIMIT_MEMLOCK];
	const struct ps_mapping *first = NULL;
	uint64_t locked = 0;

	if (v->uid == 0)
		return 0;
	for (size_t i = 0; i < v->m->maps.count; i++) {
		const struct ps_mapping *m = &v->m->maps.items[i];

		if (!has_flag(m, "lo"))
			continue;
		first = first ? first : m;
		locked += has_flag(m, "lf") ? m->data_pages * PS_PAGE_SIZE : m->end - m->start;
	}
	if (v->m->maps.lock_future && lim->cur == 0)
		return ps_refuse(v, -EPERM, "the process locks its future mappings (mlockall "
				 "MCL_FUTURE) with an RLIMIT_MEMLOCK of 0: uid %u may not, "
				 "without CAP_IPC_LOCK", (unsigned)v->uid);
	if (!first || lim->cur == PS_RLIM_INFINITY || locked <= lim->cur)
		return 0;
	return ps_refuse(v, -EPERM, "mapping %llx-%llx and the process's other locked memory "
			 "(mlock): %llu bytes, more than its RLIMIT_MEMLOCK of %llu: uid %u may "
			 "not lock them without CAP_IPC_LOCK", ull(first->start), ull(first->end),
			 ull(locked), ull(lim->cur), (unsigned)v->uid);
}

/* The vDSO first: it is this kernel's, whatever the image says. */
int ps_validate_memory(const struct ps_check *v)
{
	int rc = check_vdso(v);

	if (!rc)
		rc = check_mappings(v);
	return rc ? rc : check_locks(v);
}
