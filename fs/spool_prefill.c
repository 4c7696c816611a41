/* The early fill, seen from the spool: which files are mirrored into an
 * image's nursery as they are written, and what ends a mirror. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/spool_dir.h"
#include "fs/spool_prefill.h"
#include "fs/spool_status.h"
#include "fs/spool_writer.h"
#include "restore/restorer.h"

/* Worth a nursery round trip and its mapping: big memory files only. */
#define MIRROR_MIN (4ULL << 20)
#define USER_END 0x7ffffffff000ULL

/* path is "<uid>/<image>/memory/<start>-<end>", the pages of that mapping. */
static int memory_range(const char *path, uint64_t *start, uint64_t *end)
{
	const char *p = ps_spool_below_image(path);
	char *dash, *stop;

	if (!p || strncmp(p, "memory/", 7) != 0 || !isxdigit((unsigned char)p[7]))
		return 0;
	p += 7;
	*start = strtoull(p, &dash, 16);
	if (dash == p || *dash != '-')
		return 0;
	if (!isxdigit((unsigned char)dash[1]))
		return 0;
	*end = strtoull(dash + 1, &stop, 16);
	return stop != dash + 1 && !*stop && *start < *end && *end <= USER_END &&
	       !((*start | *end) & (PS_SPOOL_DIRECT_ALIGN - 1)) && *end - *start >= MIRROR_MIN;
}

/*
 * Its aligned writes are copied into the image's nursery too, at the
 * mapping's address, so the restore finds those pages already in place.
 * Only a file this handle created and wrote alone is mirrored; anything
 * else that touches it, or the image, stops that (ps_spool_mirror_stop,
 * ps_spool_abandon_fill).
 */
void ps_spool_mirror_start(struct ps_spool_mirror *m, int fd, const char *path)
{
	uint64_t start, end;
	struct stat st;

	if (!m->image[0] || !memory_range(path, &start, &end) || fstat(fd, &st) < 0)
		return;
	m->fill = ps_spool_image_fill(m->image);
	if (!m->fill)
		return;
	if (ps_restore_prefill_start(m->fill, start, end, st.st_dev, st.st_ino) < 0) {
		ps_restore_prefill_put(m->fill);
		m->fill = NULL;
		return;
	}
	m->region = start;
}

void ps_spool_mirror_tee(void *ctx, int ok, off_t off, const void *buf, size_t len)
{
	struct ps_spool_mirror *m = ctx;

	if (ok)
		ps_restore_prefill_feed(m->fill, m->region, (uint64_t)off, buf, len);
	else
		ps_spool_abandon_fill(m->image);   /* the copy fails: free its memory now */
}

void ps_spool_mirror_stop(struct ps_spool_mirror *m)
{
	if (m->fill)
		ps_restore_prefill_stop(m->fill, m->region);
}

void ps_spool_mirror_end(struct ps_spool_mirror *m)
{
	if (m->fill)
		ps_restore_prefill_put(m->fill);
	m->fill = NULL;
}

void ps_spool_abandon_fill(const char *key)
{
	struct ps_prefill *p;

	if (!key[0])
		return;
	p = ps_spool_image_take_fill(key);
	if (p)
		ps_restore_prefill_abandon(p);
}
