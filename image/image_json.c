/* image.json: format, arch, kernel, page size, time taken, and the list of
 * every other file of the image with its size and optional CRC-32. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "image/codec.h"
#include "image/json_util.h"

#define NAME_MAX_LEN 255

static json_t *encode_file(const struct ps_image_file *f)
{
	json_t *o = json_object();
	int rc = 0;

	rc |= json_object_set_new(o, "name", json_string(f->name));
	rc |= json_object_set_new(o, "size", ps_json_count(f->size));
	if (f->has_crc)
		rc |= json_object_set_new(o, "crc32", json_sprintf("0x%08" PRIx32, f->crc32));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *encode_files(const struct ps_image_meta *m)
{
	json_t *a = json_array();
	int rc = 0;

	for (size_t i = 0; i < m->nfiles; i++)
		rc |= json_array_append_new(a, encode_file(&m->files[i]));
	if (rc) {
		json_decref(a);
		return NULL;
	}
	return a;
}

json_t *ps_encode_image_meta(const struct ps_image_meta *m)
{
	json_t *o = ps_json_new_file();
	int rc = 0;

	rc |= json_object_set_new(o, "arch", json_string(m->arch));
	rc |= json_object_set_new(o, "kernel", json_string(m->kernel));
	rc |= json_object_set_new(o, "boot_id", json_string(m->boot_id));
	rc |= json_object_set_new(o, "page_size", json_integer(m->page_size));
	rc |= json_object_set_new(o, "pid", json_integer(m->pid));
	rc |= json_object_set_new(o, "taken", ps_json_time(m->taken_sec, m->taken_nsec));
	rc |= json_object_set_new(o, "freeze_us", ps_json_count(m->freeze_us));
	if (m->has_clocks) {
		rc |= json_object_set_new(o, "monotonic_ns", ps_json_count(m->monotonic_ns));
		rc |= json_object_set_new(o, "boottime_ns", ps_json_count(m->boottime_ns));
	}
	rc |= json_object_set_new(o, "files", encode_files(m));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '/';
}

/* Restore opens these names below the image directory as root: only plain
 * relative paths of safe characters, with no "." or ".." and no empty part. */
static int check_file_name(const char *name, struct ps_jerr *e)
{
	const char *part = name;

	for (const char *p = name; *p; p++)
		if (!is_name_char(*p))
			return ps_jerr_fail(e, "name \"%s\" may hold only letters, digits and . _ - /",
					    name);
	if (name[0] == '/')
		return ps_jerr_fail(e, "name \"%s\" must be relative to the image", name);
	for (;;) {
		size_t n = strcspn(part, "/");
		if (n == 0 || (n == 1 && part[0] == '.') ||
		    (n == 2 && part[0] == '.' && part[1] == '.'))
			return ps_jerr_fail(e, "name \"%s\" has an empty, \".\" or \"..\" part", name);
		if (!part[n])
			break;
		part += n + 1;
	}
	if (strcmp(name, "image.json") == 0)
		return ps_jerr_fail(e, "name \"image.json\" cannot list itself");
	if (strcmp(name, PS_STATUS_NAME) == 0)
		return ps_jerr_fail(e, "name \"%s\" is the status of a restore, not a file of an "
				    "image", name);
	return 0;
}

static int decode_file(const json_t *j, struct ps_image_file *f, struct ps_jerr *e)
{
	uint64_t crc;

	if (ps_jv_object(j, "files[]", e) ||
	    ps_jget_strdup(j, "name", NAME_MAX_LEN, &f->name, e) ||
	    check_file_name(f->name, e) ||
	    ps_jget_count(j, "size", &f->size, e))
		return -EINVAL;
	if (!ps_jhas(j, "crc32"))
		return 0;
	if (ps_jget_hex(j, "crc32", UINT32_MAX, &crc, e))
		return -EINVAL;
	f->has_crc = 1;
	f->crc32 = (uint32_t)crc;
	return 0;
}

static int cmp_file_names(const void *a, const void *b, void *files)
{
	const struct ps_image_file *f = files;

	return strcmp(f[*(const size_t *)a].name, f[*(const size_t *)b].name);
}

/* The index of the files by name (ps_image_file_find searches it), in which
 * duplicates are neighbours: O(n log n) for the tens of thousands of files
 * an image of a big process lists. */
static int index_names(struct ps_image_meta *m, struct ps_jerr *e)
{
	m->by_name = calloc(m->nfiles ? m->nfiles : 1, sizeof(*m->by_name));
	if (!m->by_name)
		return ps_jerr_nomem(e);
	for (size_t i = 0; i < m->nfiles; i++)
		m->by_name[i] = i;
	qsort_r(m->by_name, m->nfiles, sizeof(*m->by_name), cmp_file_names, m->files);
	for (size_t i = 1; i < m->nfiles; i++) {
		const char *name = m->files[m->by_name[i]].name;

		if (strcmp(m->files[m->by_name[i - 1]].name, name) == 0)
			return ps_jerr_fail(e, "field \"files\" lists \"%s\" twice", name);
	}
	return 0;
}

static int decode_files(const json_t *j, struct ps_image_meta *m, struct ps_jerr *e)
{
	const json_t *a;
	size_t n;

	if (ps_jget_array_max(j, "files", PS_MAX_FILES, "files an image may list", &a, &n, e))
		return -EINVAL;
	m->files = calloc(n ? n : 1, sizeof(*m->files));
	if (!m->files)
		return ps_jerr_nomem(e);
	for (size_t i = 0; i < n; i++) {
		size_t mark = ps_jerr_push(e, "file entry %zu", i);
		int rc = decode_file(json_array_get(a, i), &m->files[i], e);
		m->nfiles = i + 1;   /* so a partial name is freed too */
		if (rc)
			return rc;
		ps_jerr_pop(e, mark);
	}
	return index_names(m, e);
}

/* CLOCK_MONOTONIC and CLOCK_BOOTTIME at the freeze (for -o timens); images
 * of procsnap before them have neither. */
static int decode_clocks(const json_t *j, struct ps_image_meta *m, struct ps_jerr *e)
{
	if (!ps_jhas(j, "monotonic_ns") && !ps_jhas(j, "boottime_ns"))
		return 0;
	if (ps_jget_count(j, "monotonic_ns", &m->monotonic_ns, e) ||
	    ps_jget_count(j, "boottime_ns", &m->boottime_ns, e))
		return -EINVAL;
	if (m->monotonic_ns > (uint64_t)INT64_MAX / 2 || m->boottime_ns > (uint64_t)INT64_MAX / 2)
		return ps_jerr_fail(e, "fields \"monotonic_ns\" and \"boottime_ns\" are beyond "
				    "any clock");
	m->has_clocks = 1;
	return 0;
}

static int decode_header(const json_t *j, struct ps_image_meta *m, struct ps_jerr *e)
{
	long long page_size, pid;

	if (ps_jcheck_format(j, e) ||
	    ps_jget_strbuf(j, "arch", m->arch, sizeof(m->arch), e))
		return -EINVAL;
	if (strcmp(m->arch, "x86_64") != 0)
		return ps_jerr_fail(e, "field \"arch\" is \"%s\", but procsnap restores x86_64 only",
				    m->arch);
	if (ps_jget_strbuf(j, "kernel", m->kernel, sizeof(m->kernel), e) ||
	    ps_jget_strbuf(j, "boot_id", m->boot_id, sizeof(m->boot_id), e) ||
	    ps_jget_int(j, "page_size", 0, INT32_MAX, &page_size, e))
		return -EINVAL;
	if (page_size != (long long)PS_PAGE_SIZE)
		return ps_jerr_fail(e, "field \"page_size\" is %lld, but x86_64 pages are %llu bytes",
				    page_size, PS_PAGE_SIZE);
	if (ps_jget_int(j, "pid", 1, PS_PID_MAX, &pid, e) ||
	    ps_jget_time(j, "taken", &m->taken_sec, &m->taken_nsec, e) ||
	    ps_jget_count(j, "freeze_us", &m->freeze_us, e) || decode_clocks(j, m, e))
		return -EINVAL;
	m->format = PS_FORMAT_VERSION;
	m->page_size = (long)page_size;
	m->pid = (pid_t)pid;
	return 0;
}

int ps_decode_image_meta(const json_t *j, struct ps_image_meta *out, char *err, size_t errlen)
{
	struct ps_jerr e;
	int rc;

	ps_jerr_init(&e, err, errlen, "image.json");
	memset(out, 0, sizeof(*out));
	rc = decode_header(j, out, &e);
	if (!rc)
		rc = decode_files(j, out, &e);
	if (rc)
		ps_image_meta_free(out);
	return ps_jerr_rc(&e, rc);
}
