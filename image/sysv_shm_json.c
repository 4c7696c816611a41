/* The "sysv" object of a maps.json entry of kind "sysv": the SysV shared
 * memory segment the mapping attaches (id, key, size, mode, owners). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "image/codec.h"
#include "image/json_util.h"

#define MAX_SHM_SIZE (1ULL << 47)   /* beyond what user space can attach */

json_t *ps_encode_sysv_shm(const struct ps_sysv_shm *s)
{
	json_t *o = json_object();
	int rc = 0;

	rc |= json_object_set_new(o, "shmid", json_integer(s->shmid));
	rc |= json_object_set_new(o, "key", ps_json_hex(s->key));
	rc |= json_object_set_new(o, "size", ps_json_count(s->size));
	rc |= json_object_set_new(o, "mode", ps_json_octal(s->mode));
	rc |= json_object_set_new(o, "uid", json_integer(s->uid));
	rc |= json_object_set_new(o, "gid", json_integer(s->gid));
	rc |= json_object_set_new(o, "cuid", json_integer(s->cuid));
	rc |= json_object_set_new(o, "cgid", json_integer(s->cgid));
	rc |= json_object_set_new(o, "removed", json_boolean(s->removed));
	rc |= json_object_set_new(o, "locked", json_boolean(s->locked));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* uid_t values; -1 means "unchanged" to the kernel, never an owner. */
static int get_id(const json_t *o, const char *key, uint32_t *out, struct ps_jerr *e)
{
	long long v;

	if (ps_jget_int(o, key, 0, UINT32_MAX - 1, &v, e))
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int decode_fields(const json_t *o, struct ps_sysv_shm *s, struct ps_jerr *e)
{
	long long shmid;
	uint64_t key, mode;

	if (ps_jget_int(o, "shmid", 0, INT32_MAX, &shmid, e) ||
	    ps_jget_hex(o, "key", UINT32_MAX, &key, e) ||
	    ps_jget_count(o, "size", &s->size, e) ||
	    ps_jget_octal(o, "mode", 0777, &mode, e) ||
	    get_id(o, "uid", &s->uid, e) || get_id(o, "gid", &s->gid, e) ||
	    get_id(o, "cuid", &s->cuid, e) || get_id(o, "cgid", &s->cgid, e) ||
	    ps_jget_bool(o, "removed", &s->removed, e) ||
	    ps_jget_bool(o, "locked", &s->locked, e))
		return -EINVAL;
	s->shmid = (int32_t)shmid;
	s->key = (uint32_t)key;
	s->mode = (uint32_t)mode;
	if (s->size == 0 || s->size > MAX_SHM_SIZE)
		return ps_jerr_fail(e, "field \"size\" is %" PRIu64 ", not a segment size", s->size);
	return 0;
}

/* The mapping lies inside the segment, which is attached whole. */
static int check_fit(const struct ps_mapping *m, const struct ps_sysv_shm *s, struct ps_jerr *e)
{
	uint64_t pages = (s->size + PS_PAGE_SIZE - 1) / PS_PAGE_SIZE * PS_PAGE_SIZE;

	if (!m->shared || m->offset > pages || m->end - m->start > pages - m->offset)
		return ps_jerr_fail(e, "the mapping (offset 0x%" PRIx64 ", %" PRIu64 " bytes) is not "
				    "a shared part of the segment of %" PRIu64 " bytes", m->offset,
				    m->end - m->start, s->size);
	if (m->start < m->offset)
		return ps_jerr_fail(e, "the segment would start below address 0");
	return 0;
}

int ps_decode_sysv_shm(const json_t *j, struct ps_mapping *m, struct ps_jerr *e)
{
	const json_t *o;
	size_t mark;

	if (m->kind != PS_MAP_SYSV) {
		if (json_object_get(j, "sysv"))
			return ps_jerr_fail(e, "field \"sysv\" is only for kind \"sysv\"");
		return 0;
	}
	if (ps_jget_object(j, "sysv", &o, e))
		return -EINVAL;
	m->sysv = calloc(1, sizeof(*m->sysv));
	if (!m->sysv)
		return ps_jerr_nomem(e);
	mark = ps_jerr_push(e, "sysv");
	if (decode_fields(o, m->sysv, e) || check_fit(m, m->sysv, e))
		return -EINVAL;
	ps_jerr_pop(e, mark);
	return 0;
}
