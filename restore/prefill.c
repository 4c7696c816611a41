/* Early fill: while a memory file is being copied into restore/, its bytes
 * also go into a nursery's memory at the mapping's address, for the stub. */
#include <errno.h>
#include <pthread.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "restore/prefill.h"

/*
 * Why: a restore's cost is the new process's page faults, fresh memory
 * allocated and zeroed page by page, and they used to start only once the
 * whole image had been copied in. Here they happen while the copy goes on
 * (the spool is written with O_DIRECT, so the two hardly compete), into
 * anonymous memory the nursery maps at the mapping's own address. The stub
 * is the nursery's fork and inherits those pages; the nursery unmaps its
 * side at once, so no page is ever copied again. The restore still checks
 * everything, still creates the process only after validation, and adopts
 * a region only if it is a private anonymous mapping of the image of that
 * exact range, from the very spool file that was mirrored (same inode).
 */

struct ps_prefill {
	/* Held for reading around each copy into the nursery, for writing to
	 * end or hand over the nursery: once it is ended and reaped its pid
	 * may name another process, which must never be written to. */
	pthread_rwlock_t nursery_lock;
	pthread_mutex_t mu;        /* the fields below */
	int refs;
	int started, spent;
	struct ps_nursery nursery;
	struct ps_prefill_region *regions;
	size_t n, regions_cap;
	void *by_addr;             /* tsearch tree of struct region_key */
};

/* A region's place in the tree by address: each FUSE write finds its
 * region, and each new memory file checks it overlaps none, in log time
 * (20,000 memory files made a scan of the regions on each quadratic). */
struct region_key {
	uint64_t start, end;
	size_t idx;                /* in regions */
};

/* Regions never overlap, so this orders them; a range that overlaps one
 * compares equal to it, which is what a search for one wants. */
static int by_range(const void *a, const void *b)
{
	const struct region_key *x = a, *y = b;

	if (x->end <= y->start)
		return -1;
	return y->end <= x->start;
}

struct ps_prefill *ps_prefill_new(void)
{
	struct ps_prefill *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_rwlock_init(&p->nursery_lock, NULL);
	pthread_mutex_init(&p->mu, NULL);
	p->refs = 1;
	return p;
}

void ps_prefill_get(struct ps_prefill *p)
{
	pthread_mutex_lock(&p->mu);
	p->refs++;
	pthread_mutex_unlock(&p->mu);
}

/* Ends the nursery unless the restore took it. nursery_lock held. */
static void end_nursery(struct ps_prefill *p)
{
	pthread_mutex_lock(&p->mu);
	if (p->started && !p->spent)
		ps_nursery_end(&p->nursery);
	p->spent = 1;
	pthread_mutex_unlock(&p->mu);
}

void ps_prefill_regions_free(struct ps_prefill_region *r, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(r[i].filled);
	free(r);
}

void ps_prefill_put(struct ps_prefill *p)
{
	int last;

	pthread_mutex_lock(&p->mu);
	last = --p->refs == 0;
	pthread_mutex_unlock(&p->mu);
	if (!last)
		return;
	pthread_rwlock_wrlock(&p->nursery_lock);
	end_nursery(p);
	pthread_rwlock_unlock(&p->nursery_lock);
	ps_prefill_regions_free(p->regions, p->n);
	tdestroy(p->by_addr, free);
	pthread_rwlock_destroy(&p->nursery_lock);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

void ps_prefill_abandon(struct ps_prefill *p)
{
	pthread_rwlock_wrlock(&p->nursery_lock);
	end_nursery(p);
	pthread_rwlock_unlock(&p->nursery_lock);
}

/* The region at start exactly. mu held. */
static struct ps_prefill_region *find(struct ps_prefill *p, uint64_t start)
{
	struct region_key key = { start, start + 1, 0 };
	struct region_key **found = tfind(&key, &p->by_addr, by_range);

	if (!found || p->regions[(*found)->idx].start != start)
		return NULL;
	return &p->regions[(*found)->idx];
}

static int overlaps_any(struct ps_prefill *p, uint64_t start, uint64_t end)
{
	struct region_key key = { start, end, 0 };

	return tfind(&key, &p->by_addr, by_range) != NULL;
}

static int reserve_region(struct ps_prefill *p)
{
	size_t cap = p->regions_cap ? p->regions_cap * 2 : 64;
	struct ps_prefill_region *grown;

	if (p->n < p->regions_cap)
		return 0;
	grown = realloc(p->regions, cap * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	p->regions = grown;
	p->regions_cap = cap;
	return 0;
}

/* Only called for a range that overlaps no region. mu held. */
static int add_region(struct ps_prefill *p, uint64_t start, uint64_t end, dev_t dev, ino_t ino)
{
	struct region_key *key = malloc(sizeof(*key));

	if (!key || reserve_region(p) < 0) {
		free(key);
		return -ENOMEM;
	}
	*key = (struct region_key){ start, end, p->n };
	if (!tsearch(key, &p->by_addr, by_range)) {
		free(key);
		return -ENOMEM;
	}
	p->regions[p->n++] = (struct ps_prefill_region){ .start = start, .end = end, .dev = dev,
							 .ino = ino, .valid = 1 };
	return 0;
}

/* The nursery is asked under mu: its pipes carry one question at a time. */
int ps_prefill_region(struct ps_prefill *p, uint64_t start, uint64_t end, dev_t dev, ino_t ino)
{
	int e = 0;

	pthread_mutex_lock(&p->mu);
	if (p->spent || overlaps_any(p, start, end))
		e = -EBUSY;
	if (!e && !p->started) {
		e = ps_nursery_start(&p->nursery);
		p->started = e == 0;
	}
	if (!e)
		e = ps_nursery_map(&p->nursery, start, end - start);
	if (!e)
		e = add_region(p, start, end, dev, ino);
	pthread_mutex_unlock(&p->mu);
	return e;
}

static void record_filled(struct ps_prefill_region *r, uint64_t first, uint64_t count)
{
	struct ps_extent *last = r->nfilled ? &r->filled[r->nfilled - 1] : NULL;

	if (last && last->first + last->count == first) {
		last->count += count;
		return;
	}
	if (r->nfilled == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct ps_extent *grown = realloc(r->filled, cap * sizeof(*grown));

		if (!grown) {
			r->valid = 0;
			return;
		}
		r->filled = grown;
		r->cap = cap;
	}
	r->filled[r->nfilled++] = (struct ps_extent){ first, count };
}

void ps_prefill_write(struct ps_prefill *p, uint64_t start, uint64_t off, const void *buf,
		      size_t len)
{
	struct iovec local = { (void *)buf, len }, remote = { (void *)(start + off), len };
	struct ps_prefill_region *r;
	pid_t nursery = 0;
	ssize_t n = -1;

	pthread_rwlock_rdlock(&p->nursery_lock);
	pthread_mutex_lock(&p->mu);
	r = find(p, start);
	if (r && r->valid && !p->spent && off + len <= r->end - r->start)
		nursery = p->nursery.pid;
	pthread_mutex_unlock(&p->mu);
	if (nursery > 0)
		n = process_vm_writev(nursery, &local, 1, &remote, 1, 0);
	pthread_mutex_lock(&p->mu);
	if (r && n == (ssize_t)len)
		record_filled(r, off / PS_PAGE_SIZE, len / PS_PAGE_SIZE);
	else if (r)
		r->valid = 0;
	pthread_mutex_unlock(&p->mu);
	pthread_rwlock_unlock(&p->nursery_lock);
}

void ps_prefill_drop(struct ps_prefill *p, uint64_t start)
{
	struct ps_prefill_region *r;

	pthread_mutex_lock(&p->mu);
	r = find(p, start);
	if (r)
		r->valid = 0;
	pthread_mutex_unlock(&p->mu);
}

static int by_first(const void *a, const void *b)
{
	const struct ps_extent *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

static int by_start(const void *a, const void *b)
{
	const struct ps_prefill_region *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Two writer threads finish in any order: sort, then merge touching runs. */
static void merge_filled(struct ps_prefill_region *r)
{
	size_t out = 0;

	qsort(r->filled, r->nfilled, sizeof(*r->filled), by_first);
	for (size_t i = 0; i < r->nfilled; i++) {
		struct ps_extent *prev = out ? &r->filled[out - 1] : NULL;

		if (prev && prev->first + prev->count >= r->filled[i].first) {
			uint64_t end = r->filled[i].first + r->filled[i].count;

			if (end > prev->first + prev->count)
				prev->count = end - prev->first;
			continue;
		}
		r->filled[out++] = r->filled[i];
	}
	r->nfilled = out;
}

int ps_prefill_take(struct ps_prefill *p, struct ps_nursery *n, struct ps_prefill_region **out)
{
	size_t kept = 0;
	int count = 0;

	*out = NULL;
	pthread_rwlock_wrlock(&p->nursery_lock);
	pthread_mutex_lock(&p->mu);
	if (p->started && !p->spent) {
		for (size_t i = 0; i < p->n; i++) {
			if (!p->regions[i].valid || !p->regions[i].nfilled) {
				free(p->regions[i].filled);
				continue;
			}
			merge_filled(&p->regions[i]);
			p->regions[kept++] = p->regions[i];
		}
		qsort(p->regions, kept, sizeof(*p->regions), by_start);
		if (kept) {
			*out = p->regions;
			*n = p->nursery;
		} else {
			free(p->regions);
			ps_nursery_end(&p->nursery);
		}
		count = (int)kept;
		p->regions = NULL;
		p->n = p->regions_cap = 0;
		tdestroy(p->by_addr, free);
		p->by_addr = NULL;
		p->spent = 1;
	}
	pthread_mutex_unlock(&p->mu);
	pthread_rwlock_unlock(&p->nursery_lock);
	return count;
}

int ps_prefill_covers(const struct ps_prefill_region *r, uint64_t first, uint64_t count)
{
	size_t lo = 0, hi = r->nfilled;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct ps_extent *e = &r->filled[mid];

		if (first < e->first)
			hi = mid;
		else if (first >= e->first + e->count)
			lo = mid + 1;
		else
			return first + count <= e->first + e->count;
	}
	return 0;
}
