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

/* The red zone's 128 bytes stay the program's; below them, 16-aligned. */
#define RSP 0x7ffc1000a238ULL
#define SLOT ((RSP - 128 - 16) & ~15ULL)

static struct user_regs_struct restart_block_in(long nr)
{
	struct user_regs_struct r = stopped_in(nr, -ERESTART_RESTARTBLOCK);

	r.rsp = RSP;
	return r;
}

START_TEST(test_nanosleep_resumes_on_rem)
{
	struct user_regs_struct r = restart_block_in(SYS_nanosleep);
	struct ps_restart_time w;

	r.rdi = 0x7000;     /* req */
	r.rsi = 0x7010;     /* rem: the kernel wrote the time left there */
	ck_assert_uint_eq(ps_restart_timeout_arg(&r), 0);
	ps_restart_fixup(&r, NULL, 500000000ULL, 0, &w);
	ck_assert_uint_eq(r.rdi, 0x7010);
	ck_assert_uint_eq(w.at, 0);
	ck_assert_int_eq((long)r.rax, -ERESTARTNOINTR);
	ck_assert_uint_eq(r.rip, 0x401002);        /* the kernel rewinds it, not us */
}
END_TEST

/* usleep: nanosleep(req, NULL): the request less what was slept, written
 * below the red zone, and req pointing there. */
START_TEST(test_nanosleep_without_rem)
{
	struct user_regs_struct r = restart_block_in(SYS_nanosleep);
	struct timespec req = { 2, 100000000 };
	struct ps_restart_time w;

	r.rdi = 0x7000;
	ck_assert_uint_eq(ps_restart_timeout_arg(&r), 0x7000);
	ps_restart_fixup(&r, &req, 1300000000ULL, 0, &w);
	ck_assert_uint_eq(w.at, SLOT);
	ck_assert_uint_eq(w.at % 16, 0);
	ck_assert_uint_le(w.at + sizeof(struct timespec), RSP - 128);
	ck_assert_uint_eq(r.rdi, SLOT);
	ck_assert_int_eq(w.left.tv_sec, 0);
	ck_assert_int_eq(w.left.tv_nsec, 800000000);
	ck_assert_int_eq((long)r.rax, -ERESTARTNOINTR);
	ck_assert_uint_eq(r.rsp, RSP);             /* the stack pointer stays */

	r = restart_block_in(SYS_nanosleep);       /* slept longer than asked: 0 */
	r.rdi = 0x7000;
	ps_restart_fixup(&r, &req, 9000000000ULL, 0, &w);
	ck_assert_int_eq(w.left.tv_sec, 0);
	ck_assert_int_eq(w.left.tv_nsec, 0);

	r = restart_block_in(SYS_nanosleep);       /* a handler is due: EINTR */
	r.rdi = 0x7000;
	ps_restart_fixup(&r, &req, 100, 1, &w);
	ck_assert_int_eq((long)r.rax, -EINTR);
	ck_assert_uint_eq(w.at, 0);
	ck_assert_uint_eq(r.rdi, 0x7000);
}
END_TEST

START_TEST(test_clock_nanosleep)
{
	struct user_regs_struct r = restart_block_in(SYS_clock_nanosleep);
	struct timespec req = { 5, 0 };
	struct ps_restart_time w;

	r.rdx = 0x7000;
	r.r10 = 0x7010;
	ck_assert_uint_eq(ps_restart_timeout_arg(&r), 0);
	ps_restart_fixup(&r, NULL, 0, 0, &w);
	ck_assert_uint_eq(r.rdx, 0x7010);
	ck_assert_int_eq((long)r.rax, -ERESTARTNOINTR);

	r = restart_block_in(SYS_clock_nanosleep);   /* relative, no rem */
	r.rdi = CLOCK_MONOTONIC;
	r.rdx = 0x7000;
	ck_assert_uint_eq(ps_restart_timeout_arg(&r), 0x7000);
	ps_restart_fixup(&r, &req, 1000000001ULL, 0, &w);
	ck_assert_uint_eq(r.rdx, SLOT);
	ck_assert_int_eq(w.left.tv_sec, 3);
	ck_assert_int_eq(w.left.tv_nsec, 999999999);

	r = restart_block_in(SYS_clock_nanosleep);
	r.rsi = TIMER_ABSTIME;   /* the same deadline still holds */
	r.rdx = 0x7000;
	r.r10 = 0x7010;
	ck_assert_uint_eq(ps_restart_timeout_arg(&r), 0);
	ps_restart_fixup(&r, NULL, 1000, 0, &w);
	ck_assert_uint_eq(r.rdx, 0x7000);
	ck_assert_uint_eq(w.at, 0);
	ck_assert_int_eq((long)r.rax, -ERESTARTNOINTR);

	r = restart_block_in(SYS_clock_nanosleep);   /* CPU time: asleep_ns says nothing */
	r.rdi = CLOCK_PROCESS_CPUTIME_ID;
	r.rdx = 0x7000;
	ck_assert_uint_eq(ps_restart_timeout_arg(&r), 0);
	ps_restart_fixup(&r, NULL, 1000, 0, &w);
	ck_assert_uint_eq(r.rdx, 0x7000);
	ck_assert_int_eq((long)r.rax, -ERESTARTNOINTR);
}
END_TEST

/* FUTEX_WAIT's timeout is relative: shortened below the red zone;
 * FUTEX_WAIT_BITSET's is absolute: kept. */
START_TEST(test_futex)
{
	struct user_regs_struct r = restart_block_in(SYS_futex);
	struct timespec timeout = { 1, 0 };
	struct ps_restart_time w;

	r.rsi = 128 | 0;         /* FUTEX_WAIT | FUTEX_PRIVATE_FLAG */
	r.r10 = 0x7020;
	ck_assert_uint_eq(ps_restart_timeout_arg(&r), 0x7020);
	ps_restart_fixup(&r, &timeout, 250000000ULL, 0, &w);
	ck_assert_uint_eq(r.r10, SLOT);
	ck_assert_int_eq(w.left.tv_sec, 0);
	ck_assert_int_eq(w.left.tv_nsec, 750000000);
	ck_assert_int_eq((long)r.rax, -ERESTARTNOINTR);

	r = restart_block_in(SYS_futex);
	r.rsi = 128 | 9;         /* FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG */
	r.r10 = 0x7020;
	ck_assert_uint_eq(ps_restart_timeout_arg(&r), 0);
	ps_restart_fixup(&r, NULL, 250000000ULL, 0, &w);
	ck_assert_uint_eq(r.r10, 0x7020);
	ck_assert_uint_eq(w.at, 0);
	ck_assert_int_eq((long)r.rax, -ERESTARTNOINTR);
}
END_TEST

/* A thread caught inside restart_syscall: its wchan tells which call it
 * resumes, the registers nanosleep from clock_nanosleep. */
START_TEST(test_restarted_call)
{
	struct user_regs_struct r = restart_block_in(SYS_restart_syscall);

	ck_assert_int_eq(ps_restarted_call("poll_schedule_timeout.constprop.0", &r), SYS_poll);
	ck_assert_int_eq(ps_restarted_call("do_sys_poll", &r), SYS_poll);
	ck_assert_int_eq(ps_restarted_call("futex_do_wait", &r), SYS_futex);
	ck_assert_int_eq(ps_restarted_call("futex_wait_queue", &r), SYS_futex);
	r.rdi = 0;                                  /* CLOCK_REALTIME: glibc's nanosleep */
	ck_assert_int_eq(ps_restarted_call("do_syscall_64", &r), SYS_clock_nanosleep);
	r.rdi = 0x7ffc0000;                         /* a request: nanosleep(2) itself */
	ck_assert_int_eq(ps_restarted_call("hrtimer_nanosleep", &r), SYS_nanosleep);
	ck_assert_int_eq(ps_restarted_call("", &r), -1);            /* not told */
	ck_assert_int_eq(ps_restarted_call("pipe_read", &r), -1);   /* nothing known */
	r = restart_block_in(SYS_nanosleep);        /* not in restart_syscall */
	ck_assert_int_eq(ps_restarted_call("do_syscall_64", &r), -1);
}
END_TEST

START_TEST(test_restart_block_fallbacks)
{
	struct user_regs_struct r = restart_block_in(SYS_poll);
	struct ps_restart_time w;

	ps_restart_fixup(&r, NULL, 0, 0, &w);
	ck_assert_int_eq((long)r.rax, -ERESTARTNOINTR);   /* shortened from registers */
	r = restart_block_in(SYS_restart_syscall);        /* which call is unknown */
	ps_restart_fixup(&r, NULL, 0, 0, &w);
	ck_assert_int_eq((long)r.rax, -EINTR);
	r = stopped_in(SYS_read, -512);                   /* ERESTARTSYS: the kernel's job */
	ck_assert_uint_eq(ps_restart_timeout_arg(&r), 0);
	ps_restart_fixup(&r, NULL, 0, 0, &w);
	ck_assert_int_eq((long)r.rax, -512);
	ck_assert_uint_eq(w.at, 0);
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
	tcase_add_test(tc, test_nanosleep_without_rem);
	tcase_add_test(tc, test_clock_nanosleep);
	tcase_add_test(tc, test_futex);
	tcase_add_test(tc, test_restarted_call);
	tcase_add_test(tc, test_restart_block_fallbacks);
	tcase_add_test(tc, test_timeouts_shortened);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
