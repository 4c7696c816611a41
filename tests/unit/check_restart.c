/* Unit tests of the syscall-restart rewrites: what a thread stopped inside a
 * syscall is made to do when it runs again, after a snapshot or a restore. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "backend/syscall_restart.h"
#include "restore/part_restore.h"

static struct user_regs_struct stopped_in(long nr, long ret)
{
	struct user_regs_struct r;

	memset(&r, 0, sizeof(r));
	r.orig_rax = (uint64_t)nr;
	r.rax = (uint64_t)ret;
	r.rip = 0x401002;
	return r;
}

/* poll and epoll_wait go on with what was left of their timeout. */
START_TEST(test_timeouts_shortened)
{
	struct user_regs_struct r = stopped_in(SYS_poll, -ERESTARTNOINTR);

	r.rdx = 5000;
	ck_assert_int_eq(ps_syscall_restarts(&r), 1);
	ps_shorten_restarted_timeout(&r, SYS_poll, 1200999999ULL);   /* 1200.99 ms: 1200 */
	ck_assert_uint_eq(r.rdx, 3800);
	ps_shorten_restarted_timeout(&r, SYS_poll, 9000000000ULL);   /* waited more: 0 */
	ck_assert_uint_eq(r.rdx, 0);

	r = stopped_in(SYS_epoll_wait, -EINTR);
	r.r10 = 2000;
	ck_assert_int_eq(ps_restart_interrupted_wait(&r), 1);
	ps_shorten_restarted_timeout(&r, SYS_epoll_wait, 500000000ULL);
	ck_assert_uint_eq(r.r10, 1500);

	r.r10 = (uint64_t)(uint32_t)-1;                              /* forever stays forever */
	ps_shorten_restarted_timeout(&r, SYS_epoll_wait, 500000000ULL);
	ck_assert_uint_eq(r.r10, 0xffffffffu);
	r.rdx = 77;                                                  /* other calls untouched */
	ps_shorten_restarted_timeout(&r, SYS_read, 500000000ULL);
	ck_assert_uint_eq(r.rdx, 77);
	ck_assert_int_eq(ps_syscall_restarts(&r), 0);
}
END_TEST

START_TEST(test_interrupted_wait_restarts)
{
	struct user_regs_struct r = stopped_in(SYS_epoll_wait, -EINTR);

	ck_assert_int_eq(ps_restart_interrupted_wait(&r), 1);
	ck_assert_uint_eq(r.rip, 0x401000);
	ck_assert_uint_eq(r.rax, SYS_epoll_wait);
	ck_assert_int_eq((long)r.orig_rax, -1);

	r = stopped_in(SYS_rt_sigtimedwait, -EINTR);
	ck_assert_int_eq(ps_restart_interrupted_wait(&r), 1);
}
END_TEST

START_TEST(test_other_results_untouched)
{
	struct user_regs_struct r = stopped_in(SYS_epoll_wait, 3);   /* it had events */
	struct user_regs_struct before = r;

	ck_assert_int_eq(ps_restart_interrupted_wait(&r), 0);
	ck_assert_mem_eq(&r, &before, sizeof(r));
	r = stopped_in(SYS_read, -EINTR);          /* a read's EINTR came from a handler */
	ck_assert_int_eq(ps_restart_interrupted_wait(&r), 0);
	r = stopped_in(-1, -EINTR);                /* not in a syscall at all */
	ck_assert_int_eq(ps_restart_interrupted_wait(&r), 0);
}
END_TEST

START_TEST(test_nanosleep_resumes_on_rem)
{
	struct user_regs_struct r = stopped_in(SYS_nanosleep, -ERESTART_RESTARTBLOCK);

	r.rdi = 0x7000;     /* req */
	r.rsi = 0x7010;     /* rem: the kernel wrote the time left there */
	ps_restart_fixup(&r);
	ck_assert_uint_eq(r.rdi, 0x7010);
	ck_assert_int_eq((long)r.rax, -ERESTARTNOINTR);
	ck_assert_uint_eq(r.rip, 0x401002);        /* the kernel rewinds it, not us */

	r = stopped_in(SYS_nanosleep, -ERESTART_RESTARTBLOCK);
	r.rsi = 0;          /* no rem: nothing known of the time left */
	ps_restart_fixup(&r);
	ck_assert_int_eq((long)r.rax, -EINTR);
}
END_TEST

START_TEST(test_clock_nanosleep)
{
	struct user_regs_struct r = stopped_in(SYS_clock_nanosleep, -ERESTART_RESTARTBLOCK);

	r.rdx = 0x7000;
	r.r10 = 0x7010;
	ps_restart_fixup(&r);
	ck_assert_uint_eq(r.rdx, 0x7010);
	ck_assert_int_eq((long)r.rax, -ERESTARTNOINTR);

	r = stopped_in(SYS_clock_nanosleep, -ERESTART_RESTARTBLOCK);
	r.rsi = TIMER_ABSTIME;   /* the same deadline still holds */
	r.rdx = 0x7000;
	r.r10 = 0x7010;
	ps_restart_fixup(&r);
	ck_assert_uint_eq(r.rdx, 0x7000);
	ck_assert_int_eq((long)r.rax, -ERESTARTNOINTR);
}
END_TEST

START_TEST(test_restart_block_fallbacks)
{
	struct user_regs_struct r = stopped_in(SYS_futex, -ERESTART_RESTARTBLOCK);

	ps_restart_fixup(&r);
	ck_assert_int_eq((long)r.rax, -ERESTARTNOINTR);   /* full timeout again */
	r = stopped_in(SYS_restart_syscall, -ERESTART_RESTARTBLOCK);
	ps_restart_fixup(&r);
	ck_assert_int_eq((long)r.rax, -EINTR);
	r = stopped_in(SYS_read, -512);                   /* ERESTARTSYS: the kernel's job */
	ps_restart_fixup(&r);
	ck_assert_int_eq((long)r.rax, -512);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("restart");
	TCase *tc = tcase_create("rewrites");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_interrupted_wait_restarts);
	tcase_add_test(tc, test_other_results_untouched);
	tcase_add_test(tc, test_nanosleep_resumes_on_rem);
	tcase_add_test(tc, test_clock_nanosleep);
	tcase_add_test(tc, test_restart_block_fallbacks);
	tcase_add_test(tc, test_timeouts_shortened);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
