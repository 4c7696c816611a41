/* memory/maps.json: one entry per mapping with its range, protection, kind,
 * backing file identity, VmFlags and the content file holding its bytes. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "image/codec.h"
#include "image/json_util.h"
#include "backend/sentence.h"

#define MAX_BUILD_ID 64   /* hex digits: fits ps_file_id.build_id */

static const struct ps_name kind_names[] = {
	{ PS_MAP_ANON, "anon" }, { PS_MAP_SHMEM, "shmem" }, { PS_MAP_FILE, "file" },
	{ PS_MAP_HEAP, "heap" }, { PS_MAP_STACK, "stack" }, { PS_MAP_VDSO, "vdso" },
	{ PS_MAP_VVAR, "vvar" }, { PS_MAP_VSYSCALL, "vsyscall" }, { PS_MAP_OTHER, "other" },
	{ PS_MAP_AIO, "aio" }, { PS_MAP_SYSV, "sysv" },
	{ 0, NULL },
};

/* ---- encoding ---- */

static json_t *encode_prot(int prot)
{
	char s[4] = {
		prot & PROT_READ ? 'r' : '-',
		prot & PROT_WRITE ? 'w' : '-',
		prot & PROT_EXEC ? 'x' : '-',
		'\0',
	};
	return json_string(s);
}

/* mlockall's MCL_FUTURE, with or without MCL_ONFAULT. */
static const struct ps_name lock_future_names[] = {
	{ MCL_FUTURE, "future" }, { MCL_FUTURE | MCL_ONFAULT, "future_onfault" }, { 0, NULL },
};

static json_t *encode_file_id(const struct ps_file_id *f)
{
	json_t *o = json_object();
	int rc = 0;

	rc |= json_object_set_new(o, "dev", ps_json_dev(f->dev_major, f->dev_minor));
	rc |= json_object_set_new(o, "ino", ps_json_count(f->ino));
	rc |= json_object_set_new(o, "size", ps_json_count(f->size));
	rc |= json_object_set_new(o, "mtime", ps_json_time(f->mtime_sec, f->mtime_nsec));
	rc |= json_object_set_new(o, "build_id", json_string(f->build_id));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *encode_vm_flags(const struct ps_mapping *m)
{
	json_t *a = json_array();
	int rc = 0;

	for (size_t i = 0; i < m->nvm_flags; i++)
		rc |= json_array_append_new(a, json_string(m->vm_flags[i]));
	if (rc) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* [[first_page, page_count], ...] relative to the mapping's start. */
static json_t *encode_extents(const struct ps_mapping *m)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < m->ndata; i++) {
		json_t *run = json_pack("[II]", (json_int_t)m->data[i].first,
					(json_int_t)m->data[i].count);

		if (json_array_append_new(a, run)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* [[first_page, page_count], ...] of guard pages, like "data". */
static json_t *encode_guards(const struct ps_mapping *m)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < m->nguards; i++) {
		json_t *run = json_pack("[II]", (json_int_t)m->guards[i].first,
					(json_int_t)m->guards[i].count);

		if (json_array_append_new(a, run)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *encode_mapping(const struct ps_mapping *m)
{
	json_t *o = json_object();
	int rc = 0;

	rc |= json_object_set_new(o, "start", ps_json_hex(m->start));
	rc |= json_object_set_new(o, "end", ps_json_hex(m->end));
	rc |= json_object_set_new(o, "prot", encode_prot(m->prot));
	rc |= json_object_set_new(o, "shared", json_boolean(m->shared));
	rc |= json_object_set_new(o, "kind", ps_json_enum(m->kind, kind_names));
	rc |= json_object_set_new(o, "path", ps_json_bytes(m->path.data, m->path.len));
	rc |= json_object_set_new(o, "deleted", json_boolean(m->deleted));
	rc |= json_object_set_new(o, "offset", ps_json_hex(m->offset));
	if (m->kind == PS_MAP_FILE || m->kind == PS_MAP_SHMEM)
		rc |= json_object_set_new(o, "file", encode_file_id(&m->file));
	if (m->aio)
		rc |= json_object_set_new(o, "aio", ps_encode_aio_ring(m->aio));
	if (m->sysv)
		rc |= json_object_set_new(o, "sysv", ps_encode_sysv_shm(m->sysv));
	rc |= json_object_set_new(o, "vm_flags", encode_vm_flags(m));
	rc |= json_object_set_new(o, "content", m->content ? json_string(m->content) : json_null());
	rc |= json_object_set_new(o, "data_pages", ps_json_count(m->data_pages));
	rc |= json_object_set_new(o, "data", encode_extents(m));
	if (m->nguards)
		rc |= json_object_set_new(o, "guards", encode_guards(m));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *ps_encode_maps(const struct ps_maps *maps)
{
	json_t *o = ps_json_new_file();
	json_t *a = json_array();
	int rc = 0;

	for (size_t i = 0; i < maps->count; i++)
		rc |= json_array_append_new(a, encode_mapping(&maps->items[i]));
	rc |= json_object_set_new(o, "mappings", a);
	if (maps->lock_future)
		rc |= json_object_set_new(o, "lock_future", ps_json_enum(maps->lock_future,
									 lock_future_names));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- decoding ---- */

/* [vsyscall] is the one mapping above user space, always at one address. */
static int check_range(const struct ps_mapping *m, struct ps_jerr *e)
{
	if (m->kind == PS_MAP_VSYSCALL) {
		if (m->start != PS_VSYSCALL_START || m->end != PS_VSYSCALL_END)
			return ps_jerr_fail(e, "field \"start\": a vsyscall mapping is 0x%llx-0x%llx",
					    PS_VSYSCALL_START, PS_VSYSCALL_END);
		return 0;
	}
	if (m->start % PS_PAGE_SIZE)
		return ps_jerr_fail(e, "field \"start\" is not page-aligned");
	if (m->end % PS_PAGE_SIZE)
		return ps_jerr_fail(e, "field \"end\" is not page-aligned");
	if (m->end <= m->start)
		return ps_jerr_fail(e, "field \"end\" is not above \"start\"");
	if (m->end > PS_USER_ADDR_END)
		return ps_jerr_fail(e, "field \"end\" is 0x%" PRIx64 ", beyond user space (0x%llx)",
				    m->end, PS_USER_ADDR_END);
	return 0;
}

static int decode_range(const json_t *j, struct ps_mapping *m, struct ps_jerr *e)
{
	long long kind;

	if (ps_jget_enum(j, "kind", kind_names, 0, &kind, e) ||
	    ps_jget_hex(j, "start", UINT64_MAX, &m->start, e) ||
	    ps_jget_hex(j, "end", UINT64_MAX, &m->end, e))
		return -EINVAL;
	m->kind = (enum ps_map_kind)kind;
	return check_range(m, e);
}

static int decode_prot(const json_t *j, int *prot, struct ps_jerr *e)
{
	const char *s;

	if (ps_jget_string(j, "prot", 3, &s, e))
		return -EINVAL;
	if (strlen(s) != 3 || (s[0] != 'r' && s[0] != '-') ||
	    (s[1] != 'w' && s[1] != '-') || (s[2] != 'x' && s[2] != '-'))
		return ps_jerr_fail(e, "field \"prot\" must be like \"r-x\" or \"---\"");
	*prot = (s[0] == 'r' ? PROT_READ : 0) | (s[1] == 'w' ? PROT_WRITE : 0) |
		(s[2] == 'x' ? PROT_EXEC : 0);
	return 0;
}

/* Restore opens file mappings by path, and recognises kernel mappings by
 * their "[name]", so the path must fit the kind. */
static int decode_path(const json_t *j, struct ps_mapping *m, struct ps_jerr *e)
{
	int bracketed;

	if (ps_jget_path(j, "path", m->kind == PS_MAP_FILE, &m->path, e) ||
	    ps_jget_bool(j, "deleted", &m->deleted, e))
		return -EINVAL;
	bracketed = m->kind == PS_MAP_HEAP || m->kind == PS_MAP_STACK ||
		    m->kind == PS_MAP_VDSO || m->kind == PS_MAP_VVAR ||
		    m->kind == PS_MAP_VSYSCALL || m->kind == PS_MAP_OTHER;
	if (bracketed && m->path.data[0] != '[')
		return ps_jerr_fail(e, "field \"path\" must be a \"[name]\" for this kind");
	return 0;
}

static int decode_offset(const json_t *j, struct ps_mapping *m, struct ps_jerr *e)
{
	if (ps_jget_hex(j, "offset", UINT64_MAX, &m->offset, e))
		return -EINVAL;
	if (m->offset % PS_PAGE_SIZE)
		return ps_jerr_fail(e, "field \"offset\" is not page-aligned");
	if (m->offset > INT64_MAX - (m->end - m->start))   /* off_t of mmap */
		return ps_jerr_fail(e, "field \"offset\" is too large for the mapping's length");
	return 0;
}

static int check_build_id(const char *s, struct ps_jerr *e)
{
	size_t n = strlen(s);

	if (n % 2 || n > MAX_BUILD_ID || strspn(s, "0123456789abcdef") != n)
		return ps_jerr_fail(e, "field \"build_id\" must be lowercase hex digits in pairs");
	return 0;
}

static int decode_file_id(const json_t *j, struct ps_mapping *m, struct ps_jerr *e)
{
	struct ps_file_id *f = &m->file;
	const json_t *o;
	size_t mark;

	if (m->kind == PS_MAP_SHMEM && !json_object_get(j, "file"))
		return 0;       /* an image of before the field: each mapping its own object */
	if (m->kind != PS_MAP_FILE && m->kind != PS_MAP_SHMEM) {
		if (json_object_get(j, "file"))
			return ps_jerr_fail(e, "field \"file\" is only for kinds \"file\" and \"shmem\"");
		return 0;
	}
	if (ps_jget_object(j, "file", &o, e))
		return -EINVAL;
	mark = ps_jerr_push(e, "file");
	if (ps_jget_dev(o, "dev", &f->dev_major, &f->dev_minor, e) ||
	    ps_jget_count(o, "ino", &f->ino, e) ||
	    ps_jget_count(o, "size", &f->size, e) ||
	    ps_jget_time(o, "mtime", &f->mtime_sec, &f->mtime_nsec, e) ||
	    ps_jget_strbuf(o, "build_id", f->build_id, sizeof(f->build_id), e) ||
	    check_build_id(f->build_id, e))
		return -EINVAL;
	ps_jerr_pop(e, mark);
	return 0;
}

/* smaps VmFlags mnemonics are two lowercase letters or digits. */
static int check_vm_flag(const char *s, const char *field, struct ps_jerr *e)
{
	if (strlen(s) != 2 || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789") != 2)
		return ps_jerr_fail(e, "field \"%s\" must be a two-letter VmFlags mnemonic", field);
	return 0;
}

static int decode_vm_flags(const json_t *j, struct ps_mapping *m, struct ps_jerr *e)
{
	const json_t *a;
	const char *s;
	char field[32];
	size_t n;

	if (ps_jget_array_max(j, "vm_flags", PS_MAX_VM_FLAGS, "VmFlags a mapping may have",
			      &a, &n, e))
		return -EINVAL;
	m->vm_flags = calloc(n ? n : 1, sizeof(*m->vm_flags));
	if (!m->vm_flags)
		return ps_jerr_nomem(e);
	for (size_t i = 0; i < n; i++) {
		snprintf(field, sizeof(field), "vm_flags[%zu]", i);
		if (ps_jv_string(json_array_get(a, i), field, 2, &s, e) ||
		    check_vm_flag(s, field, e))
			return -EINVAL;
		m->vm_flags[i] = strdup(s);
		if (!m->vm_flags[i])
			return ps_jerr_nomem(e);
		m->nvm_flags = i + 1;
	}
	return 0;
}

/* The content file's name is its range, which must hold the mapping: a
 * forged name cannot point restore at any other file of the image, or
 * outside it. */
static int decode_content(const json_t *j, struct ps_mapping *m, struct ps_jerr *e)
{
	uint64_t pages = (m->end - m->start) / PS_PAGE_SIZE;

	if (ps_jget_count(j, "data_pages", &m->data_pages, e))
		return -EINVAL;
	if (!ps_jhas(j, "content")) {
		if (m->data_pages)
			return ps_jerr_fail(e, "field \"data_pages\" must be 0 without \"content\"");
		return 0;
	}
	if (m->kind == PS_MAP_VVAR || m->kind == PS_MAP_VSYSCALL)
		return ps_jerr_fail(e, "field \"content\" must be null: kernel pages are never saved");
	if (ps_jget_strdup(j, "content", PS_MEMORY_NAME_MAX, &m->content, e))
		return -EINVAL;
	if (ps_memory_file_range(m->content, &m->content_start, &m->content_end) < 0 ||
	    (m->content_start | m->content_end) % PS_PAGE_SIZE)
		return ps_jerr_fail(e, "field \"content\" is \"%s\", not \"memory/<start>-<end>\" "
				    "of page-aligned addresses in lowercase hexadecimal", m->content);
	if (m->content_start > m->start || m->content_end < m->end)
		return ps_jerr_fail(e, "field \"content\" is \"%s\", which does not hold the "
				    "mapping %" PRIx64 "-%" PRIx64, m->content, m->start, m->end);
	if (m->data_pages > pages)
		return ps_jerr_fail(e, "field \"data_pages\" is %" PRIu64 ", more than the %" PRIu64
				    " pages of the mapping", m->data_pages, pages);
	return 0;
}

static int decode_extent(const json_t *run, size_t i, struct ps_extent *x, struct ps_jerr *e)
{
	json_int_t first, count;

	if (!json_is_array(run) || json_array_size(run) != 2 ||
	    !json_is_integer(json_array_get(run, 0)) || !json_is_integer(json_array_get(run, 1)))
		return ps_jerr_fail(e, "field \"data\" entry %zu must be [first_page, page_count]", i);
	first = json_integer_value(json_array_get(run, 0));
	count = json_integer_value(json_array_get(run, 1));
	if (first < 0 || count <= 0)
		return ps_jerr_fail(e, "field \"data\" entry %zu has a negative or empty run", i);
	x->first = (uint64_t)first;
	x->count = (uint64_t)count;
	return 0;
}

/* The saved page runs: sorted, disjoint, inside the mapping, adding up to
 * data_pages. Restore writes exactly these pages into the new process.
 * *runs_left counts down the runs the image may still hold. */
static int decode_extents(const json_t *j, struct ps_mapping *m, size_t *runs_left,
			  struct ps_jerr *e)
{
	const json_t *a = json_object_get(j, "data");
	uint64_t pages = (m->end - m->start) / PS_PAGE_SIZE, next = 0, total = 0;
	size_t n;

	if (!a)
		return m->data_pages ? ps_jerr_fail(e, "field \"data\" is missing") : 0;
	if (!json_is_array(a))
		return ps_jerr_fail(e, "field \"data\" must be an array");
	n = json_array_size(a);
	if (n > pages)
		return ps_jerr_fail(e, "field \"data\" has more runs than the mapping has pages");
	if (n > *runs_left)
		return ps_jerr_fail(e, "field \"data\" has %zu runs, which bring the image's runs "
				    "of saved pages to %zu, more than the %d it may hold",
				    n, PS_MAX_DATA_RUNS - *runs_left + n, PS_MAX_DATA_RUNS);
	*runs_left -= n;
	m->data = calloc(n ? n : 1, sizeof(*m->data));
	if (!m->data)
		return ps_jerr_nomem(e);
	for (size_t i = 0; i < n; i++) {
		struct ps_extent *x = &m->data[i];

		if (decode_extent(json_array_get(a, i), i, x, e))
			return -EINVAL;
		if (x->first < next || x->count > pages - x->first)
			return ps_jerr_fail(e, "field \"data\" entry %zu overlaps another run or "
					    "leaves the mapping", i);
		next = x->first + x->count;
		total += x->count;
		m->ndata = i + 1;
	}
	if (total != m->data_pages)
		return ps_jerr_fail(e, "field \"data\" covers %" PRIu64 " pages, but \"data_pages\" "
				    "says %" PRIu64, total, m->data_pages);
	return 0;
}

/* Whether the run x holds a page of m's saved data; *k, the first data run
 * that may, only moves forward (the guards come sorted): linear in all. */
static int holds_data(const struct ps_mapping *m, const struct ps_extent *x, size_t *k)
{
	while (*k < m->ndata && m->data[*k].first + m->data[*k].count <= x->first)
		(*k)++;
	return *k < m->ndata && m->data[*k].first < x->first + x->count;
}

/* Guard pages: optional (absent before them, and where there are none);
 * sorted, disjoint runs inside the mapping, none holding saved data, and
 * counted in the image's budget of runs. */
static int decode_guards(const json_t *j, struct ps_mapping *m, size_t *runs_left,
			 struct ps_jerr *e)
{
	const json_t *a = json_object_get(j, "guards");
	uint64_t pages = (m->end - m->start) / PS_PAGE_SIZE, next = 0;
	size_t n, k = 0;

	if (!a)
		return 0;
	if (!json_is_array(a))
		return ps_jerr_fail(e, "field \"guards\" must be an array");
	n = json_array_size(a);
	if (n > pages || n > *runs_left)
		return ps_jerr_fail(e, "field \"guards\" has %zu runs: more than the mapping has "
				    "pages or the image may still hold", n);
	*runs_left -= n;
	m->guards = calloc(n ? n : 1, sizeof(*m->guards));
	if (!m->guards)
		return ps_jerr_nomem(e);
	for (size_t i = 0; i < n; i++) {
		struct ps_extent *x = &m->guards[i];

		if (decode_extent(json_array_get(a, i), i, x, e))
			return -EINVAL;
		if (x->first < next || x->count > pages - x->first)
			return ps_jerr_fail(e, "field \"guards\" entry %zu overlaps another run or "
					    "leaves the mapping", i);
		if (holds_data(m, x, &k))
			return ps_jerr_fail(e, "field \"guards\" entry %zu covers a saved page: a "
					    "guard page holds no data", i);
		next = x->first + x->count;
		m->nguards = i + 1;
	}
	return 0;
}

/* Checked as soon as the range is known, before the fields that depend on it. */
static int check_order(const struct ps_mapping *m, uint64_t prev_end, struct ps_jerr *e)
{
	if (m->start < prev_end)
		return ps_jerr_fail(e, "field \"start\" is below the previous entry's end: "
				    "mappings must be sorted and must not overlap");
	return 0;
}

static int decode_mapping(const json_t *j, struct ps_mapping *m, uint64_t prev_end,
			  size_t *runs_left, struct ps_jerr *e)
{
	if (ps_jv_object(j, "mappings[]", e) ||
	    decode_range(j, m, e) ||
	    check_order(m, prev_end, e) ||
	    decode_prot(j, &m->prot, e) ||
	    ps_jget_bool(j, "shared", &m->shared, e) ||
	    decode_path(j, m, e) ||
	    decode_offset(j, m, e) ||
	    decode_file_id(j, m, e) ||
	    decode_vm_flags(j, m, e) ||
	    decode_content(j, m, e) ||
	    decode_extents(j, m, runs_left, e) ||
	    decode_guards(j, m, runs_left, e) ||
	    ps_decode_aio_ring(j, m, e) ||
	    ps_decode_sysv_shm(j, m, e))
		return -EINVAL;
	return 0;
}

/* Optional: absent when mlockall(MCL_FUTURE) was not in force, and in
 * images made before the field. */
static int decode_lock_future(const json_t *j, struct ps_maps *maps, struct ps_jerr *e)
{
	long long v;

	if (!json_object_get(j, "lock_future"))
		return 0;
	if (ps_jget_enum(j, "lock_future", lock_future_names, 0, &v, e))
		return -EINVAL;
	maps->lock_future = (int)v;
	return 0;
}

static int decode_all(const json_t *j, struct ps_maps *maps, struct ps_jerr *e)
{
	const json_t *a;
	size_t n, runs_left = PS_MAX_DATA_RUNS;

	if (ps_jcheck_format(j, e) ||
	    ps_jget_array_max(j, "mappings", PS_MAX_MAPPINGS, "mappings an image may hold",
			      &a, &n, e))
		return -EINVAL;
	if (decode_lock_future(j, maps, e))
		return -EINVAL;
	maps->items = calloc(n ? n : 1, sizeof(*maps->items));
	if (!maps->items)
		return ps_jerr_nomem(e);
	maps->count = n;
	for (size_t i = 0; i < n; i++) {
		uint64_t prev_end = i ? maps->items[i - 1].end : 0;
		size_t mark = ps_jerr_push(e, "entry %zu", i);

		if (decode_mapping(json_array_get(a, i), &maps->items[i], prev_end, &runs_left, e))
			return -EINVAL;
		ps_jerr_pop(e, mark);
	}
	return 0;
}

int ps_decode_maps(const json_t *j, struct ps_maps *out, char *err, size_t errlen)
{
	struct ps_jerr e;
	int rc;

	ps_jerr_init(&e, err, errlen, "maps.json");
	memset(out, 0, sizeof(*out));
	rc = decode_all(j, out, &e);
	if (rc)
		ps_maps_free(out);
	return ps_jerr_rc(&e, rc);
}

json_t *ps_encode_memory_part(const struct ps_model *m, size_t thread)
{
	(void)thread;
	return ps_encode_maps(&m->maps);
}

/* Every content file a mapping names must be listed and fit its range;
 * two files never overlap (the mappings are sorted, so each file's run of
 * mappings follows the previous file's). */
static int check_contents(const struct ps_model *m, char *err, size_t errlen)
{
	const struct ps_mapping *prev = NULL;

	for (size_t i = 0; i < m->maps.count; i++) {
		const struct ps_mapping *map = &m->maps.items[i];
		const struct ps_image_file *f;

		if (!map->content)
			continue;
		f = ps_image_file_find(&m->meta, map->content);
		if (!f)
			return ps_fail(err, errlen, -EINVAL, "image.json does not list %s", map->content);
		if (f->size > map->content_end - map->content_start)
			return ps_fail(err, errlen, -EINVAL, "%s is larger than its range", map->content);
		if (prev && strcmp(prev->content, map->content) != 0 &&
		    map->content_start < prev->content_end)
			return ps_fail(err, errlen, -EINVAL, "%s overlaps %s", map->content,
				       prev->content);
		prev = map;
	}
	return 0;
}

int ps_decode_memory_part(const json_t *j, struct ps_model *m, size_t thread,
			  char *err, size_t errlen)
{
	int rc = ps_decode_maps(j, &m->maps, err, errlen);

	(void)thread;
	return rc ? rc : check_contents(m, err, errlen);
}
