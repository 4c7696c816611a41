/* Unit tests of the early fill's bookkeeping: which pages of a region the
 * nursery holds, what a drop or an abandon leaves, against a real nursery. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "restore/prefill.h"

#define PAGE 4096ULL
#define REGION_PAGES 64

/* An address range free in this process, so also in a nursery forked now. */
static uint64_t free_range(size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	munmap(p, len);
	return (uint64_t)(uintptr_t)p;
}

static void write_pages(struct ps_prefill *p, uint64_t start, uint64_t first, uint64_t count,
			char byte)
{
	size_t len = count * PAGE;
	char *buf = malloc(len);

	ck_assert_ptr_nonnull(buf);
	memset(buf, byte, len);
	ps_prefill_write(p, start, first * PAGE, buf, len);
	free(buf);
}

/* The byte the nursery holds at page n of the region. */
static char nursery_byte(pid_t nursery, uint64_t start, uint64_t n)
{
	char c = 0;
	struct iovec local = { &c, 1 }, remote = { (void *)(start + n * PAGE), 1 };

	ck_assert_int_eq(process_vm_readv(nursery, &local, 1, &remote, 1, 0), 1);
	return c;
}

/* Writes that land out of order and overlap come out as sorted, merged
 * runs; the nursery holds their bytes; a gap stays a gap. */
START_TEST(test_runs_merge_and_bytes_land)
{
	uint64_t start = free_range(REGION_PAGES * PAGE);
	struct ps_prefill *p = ps_prefill_new();
	struct ps_prefill_region *r;
	struct ps_nursery n;
	int count;

	ck_assert_int_eq(ps_prefill_region(p, start, start + REGION_PAGES * PAGE, 1, 2), 0);
	write_pages(p, start, 8, 8, 'b');
	write_pages(p, start, 0, 8, 'a');
	write_pages(p, start, 12, 8, 'c');     /* overlaps the second */
	write_pages(p, start, 40, 4, 'd');     /* after a gap */
	count = ps_prefill_take(p, &n, &r);
	ck_assert_int_eq(count, 1);
	ck_assert_uint_eq(r[0].nfilled, 2);
	ck_assert_uint_eq(r[0].filled[0].first, 0);
	ck_assert_uint_eq(r[0].filled[0].count, 20);
	ck_assert_uint_eq(r[0].filled[1].first, 40);
	ck_assert(ps_prefill_covers(&r[0], 0, 20));
	ck_assert(ps_prefill_covers(&r[0], 5, 10));
	ck_assert(!ps_prefill_covers(&r[0], 18, 4));    /* runs into the gap */
	ck_assert(!ps_prefill_covers(&r[0], 30, 1));
	ck_assert(ps_prefill_covers(&r[0], 40, 4));
	ck_assert_int_eq(nursery_byte(n.pid, start, 3), 'a');
	ck_assert_int_eq(nursery_byte(n.pid, start, 13), 'c');
	ck_assert_int_eq(nursery_byte(n.pid, start, 30), 0);
	ps_nursery_end(&n);
	ps_prefill_regions_free(r, (size_t)count);
	ps_prefill_put(p);
}
END_TEST

/* A dropped region is not handed over; with none left, the nursery ends
 * and nothing is. Overlapping regions are refused. */
START_TEST(test_dropped_regions_are_not_taken)
{
	uint64_t start = free_range(2 * REGION_PAGES * PAGE), mid = start + REGION_PAGES * PAGE;
	struct ps_prefill *p = ps_prefill_new();
	struct ps_prefill_region *r;
	struct ps_nursery n;

	ck_assert_int_eq(ps_prefill_region(p, start, mid, 1, 2), 0);
	ck_assert_int_eq(ps_prefill_region(p, start + PAGE, mid + PAGE, 1, 3), -EBUSY);
	ck_assert_int_eq(ps_prefill_region(p, mid, mid + REGION_PAGES * PAGE, 1, 4), 0);
	write_pages(p, start, 0, 4, 'x');
	write_pages(p, mid, 0, 4, 'y');
	ps_prefill_drop(p, start);
	ck_assert_int_eq(ps_prefill_take(p, &n, &r), 1);
	ck_assert_uint_eq(r[0].start, mid);
	ck_assert_uint_eq(r[0].ino, 4);
	ps_nursery_end(&n);
	ps_prefill_regions_free(r, 1);
	ps_prefill_put(p);

	p = ps_prefill_new();
	ck_assert_int_eq(ps_prefill_region(p, start, mid, 1, 2), 0);
	write_pages(p, start, 0, 4, 'x');
	ps_prefill_drop(p, start);
	ck_assert_int_eq(ps_prefill_take(p, &n, &r), 0);
	ck_assert_ptr_null(r);
	ps_prefill_put(p);
}
END_TEST

/* After an abandon the nursery is gone: later writes and regions are
 * refused, and take has nothing. */
START_TEST(test_abandon_ends_everything)
{
	uint64_t start = free_range(REGION_PAGES * PAGE);
	struct ps_prefill *p = ps_prefill_new();
	struct ps_prefill_region *r;
	struct ps_nursery n;

	ck_assert_int_eq(ps_prefill_region(p, start, start + REGION_PAGES * PAGE, 1, 2), 0);
	ps_prefill_abandon(p);
	write_pages(p, start, 0, 1, 'z');
	ck_assert_int_eq(ps_prefill_region(p, start + REGION_PAGES * PAGE,
					   start + 2 * REGION_PAGES * PAGE, 1, 3), -EBUSY);
	ck_assert_int_eq(ps_prefill_take(p, &n, &r), 0);
	ps_prefill_put(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("prefill");
	TCase *tc = tcase_create("bookkeeping");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_runs_merge_and_bytes_land);
	tcase_add_test(tc, test_dropped_regions_are_not_taken);
	tcase_add_test(tc, test_abandon_ends_everything);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	/* the nurseries are our children: no fork per test */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
