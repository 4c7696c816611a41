/* The "aio" object of a maps.json entry of kind "aio": an AIO context's
 * ring header and its completed, unreaped events. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "image/codec.h"
#include "image/json_util.h"

#define AIO_RING_MAGIC 0xa10a10a1U   /* fs/aio.c */
#define AIO_HEADER_LEN 32U           /* sizeof(struct aio_ring) */
#define AIO_EVENT_LEN 32U            /* sizeof(struct io_event) */
/* ioctx_alloc refuses more than 0x10000000 / sizeof(struct io_event). */
#define AIO_MAX_RING_EVENTS (0x10000000U / AIO_EVENT_LEN)

static json_t *encode_event(const struct ps_aio_event *ev)
{
	return json_pack("{s:o, s:o, s:I, s:I}", "data", ps_json_hex(ev->data),
			 "obj", ps_json_hex(ev->obj), "res", (json_int_t)ev->res,
			 "res2", (json_int_t)ev->res2);
}

static json_t *encode_events(const struct ps_aio_ring *a)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < a->nevents; i++) {
		if (json_array_append_new(arr, encode_event(&a->events[i]))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

json_t *ps_encode_aio_ring(const struct ps_aio_ring *a)
{
	json_t *o = json_object();
	int rc = 0;

	rc |= json_object_set_new(o, "id", json_integer(a->id));
	rc |= json_object_set_new(o, "nr", json_integer(a->nr));
	rc |= json_object_set_new(o, "head", json_integer(a->head));
	rc |= json_object_set_new(o, "tail", json_integer(a->tail));
	rc |= json_object_set_new(o, "magic", ps_json_hex(a->magic));
	rc |= json_object_set_new(o, "compat_features", json_integer(a->compat_features));
	rc |= json_object_set_new(o, "incompat_features", json_integer(a->incompat_features));
	rc |= json_object_set_new(o, "header_length", json_integer(a->header_length));
	rc |= json_object_set_new(o, "events", encode_events(a));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int get_u32(const json_t *o, const char *key, uint32_t *out, struct ps_jerr *e)
{
	long long v;

	if (ps_jget_int(o, key, 0, UINT32_MAX, &v, e))
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int decode_header(const json_t *o, struct ps_aio_ring *a, struct ps_jerr *e)
{
	uint64_t magic;

	if (get_u32(o, "id", &a->id, e) || get_u32(o, "nr", &a->nr, e) ||
	    get_u32(o, "head", &a->head, e) || get_u32(o, "tail", &a->tail, e) ||
	    ps_jget_hex(o, "magic", UINT32_MAX, &magic, e) ||
	    get_u32(o, "compat_features", &a->compat_features, e) ||
	    get_u32(o, "incompat_features", &a->incompat_features, e) ||
	    get_u32(o, "header_length", &a->header_length, e))
		return -EINVAL;
	a->magic = (uint32_t)magic;
	if (a->magic != AIO_RING_MAGIC)
		return ps_jerr_fail(e, "field \"magic\" is 0x%x, not the AIO ring's 0x%x",
				    a->magic, AIO_RING_MAGIC);
	if (a->header_length != AIO_HEADER_LEN)
		return ps_jerr_fail(e, "field \"header_length\" is %u, not %u", a->header_length,
				    AIO_HEADER_LEN);
	return 0;
}

/* The ring fills its mapping: nr events after the header (aio_setup_ring). */
static int check_geometry(const struct ps_mapping *m, const struct ps_aio_ring *a,
			  struct ps_jerr *e)
{
	uint64_t len = m->end - m->start;

	if (m->offset != 0 || (len - AIO_HEADER_LEN) / AIO_EVENT_LEN != a->nr)
		return ps_jerr_fail(e, "field \"nr\" is %u, but the mapping of %" PRIu64 " bytes at "
				    "offset 0 holds %" PRIu64 " events", a->nr, len,
				    (len - AIO_HEADER_LEN) / AIO_EVENT_LEN);
	if (a->nr < 2 || a->nr > AIO_MAX_RING_EVENTS)
		return ps_jerr_fail(e, "field \"nr\" is %u, not a ring size the kernel makes", a->nr);
	if (a->tail >= a->nr)
		return ps_jerr_fail(e, "field \"tail\" is %u, not below \"nr\"", a->tail);
	return 0;
}

static int decode_event(const json_t *v, size_t i, struct ps_aio_event *ev, struct ps_jerr *e)
{
	size_t mark = ps_jerr_push(e, "events[%zu]", i);
	long long res, res2;

	if (ps_jv_object(v, "events[]", e) ||
	    ps_jget_hex(v, "data", UINT64_MAX, &ev->data, e) ||
	    ps_jget_hex(v, "obj", UINT64_MAX, &ev->obj, e) ||
	    ps_jget_int(v, "res", INT64_MIN, INT64_MAX, &res, e) ||
	    ps_jget_int(v, "res2", INT64_MIN, INT64_MAX, &res2, e))
		return -EINVAL;
	ev->res = res;
	ev->res2 = res2;
	ps_jerr_pop(e, mark);
	return 0;
}

/* The events are the ring's [head, tail): as many as that span holds. */
static int decode_events(const json_t *o, struct ps_aio_ring *a, struct ps_jerr *e)
{
	size_t want = (a->tail + a->nr - a->head % a->nr) % a->nr, n;
	const json_t *arr;

	if (ps_jget_array_max(o, "events", a->nr, "events the ring holds", &arr, &n, e))
		return -EINVAL;
	if (n != want)
		return ps_jerr_fail(e, "field \"events\" has %zu entries, but head %u and tail %u "
				    "make %zu", n, a->head, a->tail, want);
	a->events = calloc(n ? n : 1, sizeof(*a->events));
	if (!a->events)
		return ps_jerr_nomem(e);
	for (size_t i = 0; i < n; i++) {
		if (decode_event(json_array_get(arr, i), i, &a->events[i], e))
			return -EINVAL;
		a->nevents = i + 1;
	}
	return 0;
}

int ps_decode_aio_ring(const json_t *j, struct ps_mapping *m, struct ps_jerr *e)
{
	const json_t *o;
	size_t mark;

	if (m->kind != PS_MAP_AIO) {
		if (json_object_get(j, "aio"))
			return ps_jerr_fail(e, "field \"aio\" is only for kind \"aio\"");
		return 0;
	}
	if (!m->shared || m->content)
		return ps_jerr_fail(e, "an \"aio\" mapping is shared and has no content file");
	if (ps_jget_object(j, "aio", &o, e))
		return -EINVAL;
	m->aio = calloc(1, sizeof(*m->aio));
	if (!m->aio)
		return ps_jerr_nomem(e);
	mark = ps_jerr_push(e, "aio");
	if (decode_header(o, m->aio, e) || check_geometry(m, m->aio, e) ||
	    decode_events(o, m->aio, e))
		return -EINVAL;
	ps_jerr_pop(e, mark);
	return 0;
}
