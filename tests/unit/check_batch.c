/* Unit tests of the executor of queued syscalls (restore/batch.c): its code
 * run in this very process, ending on int3 as it ends in the stub. */
#include <check.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "restore/batch.h"

/* The table's entry as the executor reads it (64 bytes). */
struct entry {
	uint64_t nr, a[6], ret;
};

#define UNTOUCHED 12345ULL

static sigjmp_buf back;
static volatile uint64_t trap_r12, trap_r13, trap_rip;

/* The executor's int3: note where it stopped, and come back. */
static void on_trap(int sig, siginfo_t *si, void *ctx)
{
	const ucontext_t *uc = ctx;

	(void)sig;
	(void)si;
	trap_r12 = (uint64_t)uc->uc_mcontext.gregs[REG_R12];
	trap_r13 = (uint64_t)uc->uc_mcontext.gregs[REG_R13];
	trap_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	siglongjmp(back, 1);
}

/* The trampoline's code page, made as layout.c makes it. */
static unsigned char *code_page(void)
{
	size_t len;
	const unsigned char *code = ps_batch_code(&len);
	unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				   -1, 0);

	ck_assert_ptr_ne(page, MAP_FAILED);
	memcpy(page, code, len);
	ck_assert_int_eq(mprotect(page, 4096, PROT_READ | PROT_EXEC), 0);
	return page;
}

/* Run n entries from the loop (just after the `syscall` at offset 0). */
static void run(unsigned char *page, struct entry *t, uint64_t n)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO;
	ck_assert_int_eq(sigaction(SIGTRAP, &sa, NULL), 0);
	if (sigsetjmp(back, 1) == 0)
		__asm__ volatile("mov %0, %%r12\n\t"
				 "mov %1, %%r13\n\t"
				 "jmp *%2\n\t"
				 :
				 : "r"(t), "r"(n), "r"(page + 2)
				 : "r12", "r13", "memory");
}

static struct entry call(long nr, uint64_t a0)
{
	return (struct entry){ (uint64_t)nr, { a0, 0, 0, 0, 0, 0 }, UNTOUCHED };
}

START_TEST(test_code_starts_with_syscall)
{
	size_t len;
	const unsigned char *code = ps_batch_code(&len);

	ck_assert_uint_eq(code[0], 0x0f);
	ck_assert_uint_eq(code[1], 0x05);
	ck_assert_uint_eq(code[len - 1], 0xcc);     /* int3 last */
}
END_TEST

/* Every entry runs, each result lands in its entry, r13 counts down to 0. */
START_TEST(test_all_run)
{
	unsigned char *page = code_page();
	struct entry t[3] = { call(SYS_getpid, 0), call(SYS_getppid, 0), call(SYS_getpid, 0) };
	size_t len;

	ps_batch_code(&len);
	run(page, t, 3);
	ck_assert_uint_eq(t[0].ret, (uint64_t)getpid());
	ck_assert_uint_eq(t[1].ret, (uint64_t)getppid());
	ck_assert_uint_eq(t[2].ret, (uint64_t)getpid());
	ck_assert_uint_eq(trap_r13, 0);
	ck_assert_uint_eq(trap_r12, (uint64_t)(uintptr_t)&t[3]);
	ck_assert_uint_eq(trap_rip, (uint64_t)(uintptr_t)page + len);   /* just past int3 */
}
END_TEST

/* The first failure stops the run: its -errno is stored, r12 points at it,
 * and what follows never ran. */
START_TEST(test_stops_at_first_failure)
{
	unsigned char *page = code_page();
	struct entry t[3] = { call(SYS_getpid, 0), call(SYS_close, (uint64_t)-1),
			      call(SYS_getpid, 0) };

	run(page, t, 3);
	ck_assert_uint_eq(t[0].ret, (uint64_t)getpid());
	ck_assert_int_eq((long)t[1].ret, -EBADF);
	ck_assert_uint_eq(t[2].ret, UNTOUCHED);
	ck_assert_uint_eq(trap_r12, (uint64_t)(uintptr_t)&t[1]);
	ck_assert_uint_eq(trap_r13, 2);
}
END_TEST

/* A result above -4096 as unsigned is an address, not a failure: an mmap
 * high in the address space goes on to the next entry. An empty table runs
 * nothing. */
START_TEST(test_addresses_are_not_failures)
{
	unsigned char *page = code_page();
	struct entry t[2] = {
		{ SYS_mmap, { 0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0 },
		  UNTOUCHED },
		call(SYS_getpid, 0),
	};

	run(page, t, 2);
	ck_assert_uint_gt(t[0].ret, 0x10000);
	ck_assert_uint_lt(t[0].ret, (uint64_t)-4095);
	ck_assert_uint_eq(t[1].ret, (uint64_t)getpid());
	run(page, t, 0);
	ck_assert_uint_eq(trap_r12, (uint64_t)(uintptr_t)t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("batch");
	TCase *tc = tcase_create("executor");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_code_starts_with_syscall);
	tcase_add_test(tc, test_all_run);
	tcase_add_test(tc, test_stops_at_first_failure);
	tcase_add_test(tc, test_addresses_are_not_failures);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
