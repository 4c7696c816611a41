/* Capture of AIO contexts (io_setup): each /[aio] mapping is a context's
 * ring, whose header and completed, unreaped events are read from memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "backend/part_capture.h"
#include "backend/sentence.h"

#define AIO_RING_MAGIC 0xa10a10a1U   /* fs/aio.c */
#define AIO_HEADER_LEN 32U           /* sizeof(struct aio_ring) */
#define AIO_EVENT_LEN 32U            /* sizeof(struct io_event) */

/* The kernel's struct aio_ring header, as it is laid out in the ring's
 * first page (include/linux/aio_abi.h does not export it). */
struct aio_ring_header {
	uint32_t id, nr, head, tail, magic, compat_features, incompat_features, header_length;
};

static int read_ring(pid_t pid, const struct ps_mapping *m, char *buf, char *err, size_t errlen)
{
	size_t len = m->end - m->start;
	struct iovec local = { buf, len }, remote = { (void *)m->start, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return ps_fail(err, errlen, -errno, "AIO context 0x%llx: reading its ring: %s",
			       (unsigned long long)m->start, strerror(errno));
	if ((size_t)n != len)
		return ps_fail(err, errlen, -EIO, "AIO context 0x%llx: its ring read short",
			       (unsigned long long)m->start);
	return 0;
}

/* The kernel sizes a ring to whole pages: nr events after the header. */
static int check_header(const struct ps_mapping *m, const struct aio_ring_header *h,
			char *err, size_t errlen)
{
	uint64_t nr = (m->end - m->start - AIO_HEADER_LEN) / AIO_EVENT_LEN;

	if (h->magic != AIO_RING_MAGIC || h->header_length != AIO_HEADER_LEN)
		return ps_fail(err, errlen, -ENOTSUP, "AIO context 0x%llx: its ring has magic 0x%x "
			       "and header length %u, not a ring this procsnap knows",
			       (unsigned long long)m->start, h->magic, h->header_length);
	if (m->offset != 0 || h->nr != nr || h->tail >= h->nr)
		return ps_fail(err, errlen, -ENOTSUP, "AIO context 0x%llx: its mapping (%llu bytes "
			       "at offset %llu) is not the whole ring of %u events (tail %u): it was "
			       "cut or moved in part", (unsigned long long)m->start,
			       (unsigned long long)(m->end - m->start),
			       (unsigned long long)m->offset, h->nr, h->tail);
	return 0;
}

/* head is written by user space (libaio's fast path); the kernel clamps it
 * modulo nr, so the events it would return are [head % nr, tail). */
static int copy_events(const char *buf, const struct aio_ring_header *h, struct ps_aio_ring *a)
{
	uint32_t head = h->head % h->nr;
	size_t n = (h->tail + h->nr - head) % h->nr;

	a->events = calloc(n ? n : 1, sizeof(*a->events));
	if (!a->events)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t slot = (head + i) % h->nr;

		memcpy(&a->events[i], buf + AIO_HEADER_LEN + slot * AIO_EVENT_LEN, AIO_EVENT_LEN);
	}
	a->nevents = n;
	return 0;
}

static int capture_ring(pid_t pid, struct ps_mapping *m, char *err, size_t errlen)
{
	struct aio_ring_header h;
	char *buf = malloc(m->end - m->start);
	int rc;

	if (!buf)
		return ps_fail(err, errlen, -ENOMEM, "out of memory");
	rc = read_ring(pid, m, buf, err, errlen);
	if (!rc) {
		memcpy(&h, buf, sizeof(h));
		rc = check_header(m, &h, err, errlen);
	}
	if (!rc) {
		m->aio = calloc(1, sizeof(*m->aio));
		rc = m->aio ? copy_events(buf, &h, m->aio) : -ENOMEM;
		if (rc)
			ps_fail(err, errlen, rc, "out of memory");
	}
	if (!rc) {
		m->aio->id = h.id;
		m->aio->nr = h.nr;
		m->aio->head = h.head;
		m->aio->tail = h.tail;
		m->aio->magic = h.magic;
		m->aio->compat_features = h.compat_features;
		m->aio->incompat_features = h.incompat_features;
		m->aio->header_length = h.header_length;
	}
	free(buf);
	return rc;
}

int ps_capture_aio(pid_t pid, struct ps_maps *maps, char *err, size_t errlen)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < maps->count; i++)
		if (maps->items[i].kind == PS_MAP_AIO)
			rc = capture_ring(pid, &maps->items[i], err, errlen);
	return rc;
}
