/* victim: a process that notices anything a snapshot, or procsnap's death
 * in the middle of one, changes in it, and reports it (report.h).
 *
 * Usage: victim RESULTS [MIB]. Every thread watches its own state all the
 * time: the main thread spins with known values in general, SSE and (where
 * the CPU has it) AVX registers and checks them, its signal mask and its
 * alternate stack; one thread sleeps with usleep() (nanosleep without a
 * remaining-time pointer: EINTR shows), one blocks in read() on a pipe
 * another thread feeds in order, one waits in epoll_wait and sigtimedwait
 * (which a stop ends with EINTR) for what never comes. MIB MiB of memory hold a pattern whose
 * checksum SIGUSR2 has checked ("OK memory <sum>"). Any change is a line
 * "FAIL ..." in RESULTS, a wait ended with EINTR a line "EINTR <call>". READY gives pid, the progress counter's address.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

static const char *results;
static volatile uint64_t progress;
static volatile sig_atomic_t verify_requested;
static uint64_t *memory;
static size_t memory_words;
static uint64_t memory_sum;
static int pipefd[2];

static uint64_t pattern_word(size_t i)
{
	uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ULL + 0x5eed;

	x ^= x >> 29;
	return x * 0xbf58476d1ce4e5b9ULL;
}

static uint64_t checksum(void)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < memory_words; i++)
		sum = sum * 31 + memory[i];
	return sum;
}

static const uint64_t xmm_values[16] __attribute__((aligned(32))) = {
	0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0x1111222233334444ULL,
	0x5555666677778888ULL, 0x99990000aaaabbbbULL, 0xccccddddeeeeffffULL,
	0x0f1e2d3c4b5a6978ULL, 0x8796a5b4c3d2e1f0ULL, 0x13579bdf02468aceULL,
	0xeca86420fdb97531ULL, 0x0badc0ffee0ddf00ULL, 0xdeadbeefcafebabeULL,
	0x1234123412341234ULL, 0x4321432143214321ULL, 0xa5a5a5a55a5a5a5aULL,
	0x3c3c3c3cc3c3c3c3ULL,
};

/* n rounds of checking values held in registers the whole time; 0 if they
 * all stayed. xmm8 is the comparison's scratch register. */
static int spin_sse(unsigned long n)
{
	int bad;

	__asm__ volatile(
		"movabs $0x1b1b1b1b2c2c2c2c, %%rbx\n\t"
		"movabs $0x3d3d3d3d4e4e4e4e, %%r12\n\t"
		"movabs $0x5f5f5f5f60606060, %%r13\n\t"
		"movabs $0x7171717182828282, %%r14\n\t"
		"movabs $0x9393939304040404, %%r15\n\t"
		"movdqa 0(%[k]), %%xmm0\n\t"
		"movdqa 16(%[k]), %%xmm1\n\t"
		"movdqa 32(%[k]), %%xmm2\n\t"
		"movdqa 48(%[k]), %%xmm3\n\t"
		"movdqa 64(%[k]), %%xmm4\n\t"
		"movdqa 80(%[k]), %%xmm5\n\t"
		"movdqa 96(%[k]), %%xmm6\n\t"
		"movdqa 112(%[k]), %%xmm7\n\t"
		"1:\n\t"
		"movabs $0x1b1b1b1b2c2c2c2c, %%rdx\n\t"
		"cmp %%rdx, %%rbx\n\t jne 2f\n\t"
		"movabs $0x3d3d3d3d4e4e4e4e, %%rdx\n\t"
		"cmp %%rdx, %%r12\n\t jne 2f\n\t"
		"movabs $0x5f5f5f5f60606060, %%rdx\n\t"
		"cmp %%rdx, %%r13\n\t jne 2f\n\t"
		"movabs $0x7171717182828282, %%rdx\n\t"
		"cmp %%rdx, %%r14\n\t jne 2f\n\t"
		"movabs $0x9393939304040404, %%rdx\n\t"
		"cmp %%rdx, %%r15\n\t jne 2f\n\t"
#define CHECK_XMM(i, off) \
		"movdqa %%xmm" #i ", %%xmm8\n\t" \
		"pcmpeqb " #off "(%[k]), %%xmm8\n\t" \
		"pmovmskb %%xmm8, %%edx\n\t" \
		"cmp $0xffff, %%edx\n\t jne 2f\n\t"
		CHECK_XMM(0, 0) CHECK_XMM(1, 16) CHECK_XMM(2, 32) CHECK_XMM(3, 48)
		CHECK_XMM(4, 64) CHECK_XMM(5, 80) CHECK_XMM(6, 96) CHECK_XMM(7, 112)
#undef CHECK_XMM
		"dec %%rcx\n\t jnz 1b\n\t"
		"xor %%eax, %%eax\n\t jmp 3f\n"
		"2:\n\t mov $1, %%eax\n"
		"3:\n\t"
		: "=a"(bad), "+c"(n)
		: [k] "r"(xmm_values)
		: "rdx", "rbx", "r12", "r13", "r14", "r15", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
		  "xmm5", "xmm6", "xmm7", "xmm8", "memory", "cc");
	return bad;
}

/* The same with the upper halves of ymm0-3 (xsave's AVX component). */
__attribute__((target("avx2"))) static int spin_avx(unsigned long n)
{
	int bad;

	__asm__ volatile(
		"vmovdqa 0(%[k]), %%ymm0\n\t"
		"vmovdqa 32(%[k]), %%ymm1\n\t"
		"vmovdqa 64(%[k]), %%ymm2\n\t"
		"vmovdqa 96(%[k]), %%ymm3\n\t"
		"1:\n\t"
#define CHECK_YMM(i, off) \
		"vpcmpeqb " #off "(%[k]), %%ymm" #i ", %%ymm8\n\t" \
		"vpmovmskb %%ymm8, %%edx\n\t" \
		"cmp $0xffffffff, %%edx\n\t jne 2f\n\t"
		CHECK_YMM(0, 0) CHECK_YMM(1, 32) CHECK_YMM(2, 64) CHECK_YMM(3, 96)
#undef CHECK_YMM
		"dec %%rcx\n\t jnz 1b\n\t"
		"xor %%eax, %%eax\n\t jmp 3f\n"
		"2:\n\t mov $1, %%eax\n"
		"3:\n\t vzeroupper\n\t"
		: "=a"(bad), "+c"(n)
		: [k] "r"(xmm_values)
		: "rdx", "xmm0", "xmm1", "xmm2", "xmm3", "xmm8", "memory", "cc");
	return bad;
}

/* Every thread blocks a few signals of its own choosing, which must stay
 * so; all but the main thread also block SIGUSR2, so that its handler
 * (the memory check) never ends another thread's wait with EINTR. */
static __thread int is_main;

static sigset_t watched_mask(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGWINCH);
	sigaddset(&s, SIGRTMIN + 3);
	if (!is_main)
		sigaddset(&s, SIGUSR2);
	return s;
}

static void block_watched(void)
{
	sigset_t s = watched_mask();

	pthread_sigmask(SIG_SETMASK, &s, NULL);
}

/* The mask this thread set for itself, and nothing else. */
static int mask_is_mine(void)
{
	sigset_t now, want = watched_mask();

	pthread_sigmask(SIG_BLOCK, NULL, &now);
	for (int s = 1; s < SIGRTMAX; s++)
		if (sigismember(&now, s) != sigismember(&want, s))
			return 0;
	return 1;
}

static void *sleeper(void *unused)
{
	(void)unused;
	block_watched();
	for (;;) {
		if (usleep(3000) != 0)
			report_to(results, "FAIL usleep: %s", strerror(errno));
		if (!mask_is_mine())
			report_to(results, "FAIL the sleeping thread's signal mask changed");
	}
	return NULL;
}

static void *feeder(void *unused)
{
	(void)unused;
	block_watched();
	for (uint64_t seq = 0;; seq++) {
		if (write(pipefd[1], &seq, sizeof(seq)) != sizeof(seq))
			report_to(results, "FAIL write to the pipe: %s", strerror(errno));
		usleep(1000);
	}
	return NULL;
}

static void *reader(void *unused)
{
	(void)unused;
	block_watched();
	for (uint64_t want = 0;; want++) {
		uint64_t got;
		ssize_t n = read(pipefd[0], &got, sizeof(got));

		if (n != sizeof(got))
			report_to(results, "FAIL read from the pipe: %zd (%s)", n, strerror(errno));
		else if (got != want)
			report_to(results, "FAIL the pipe gave %llu after %llu", (unsigned long long)got,
				  (unsigned long long)want - 1);
		want = got;
		if (!mask_is_mine())
			report_to(results, "FAIL the reading thread's signal mask changed");
	}
	return NULL;
}

/* A wait that ended otherwise than by its timeout. EINTR has a line of its
 * own: it is what a stop (SIGSTOP, a ptrace interrupt) followed by a
 * resume gives these waits, not a corruption. */
static void report_wait(const char *call, int n)
{
	if (n == -1 && errno == EINTR)
		report_to(results, "EINTR %s", call);
	else
		report_to(results, "FAIL %s gave %d (%s)", call, n, strerror(errno));
}

/* Both waits time out, never fail: nothing is ever ready or sent. */
static void *waiter(void *unused)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), ev = eventfd(0, EFD_CLOEXEC);
	struct epoll_event e = { .events = EPOLLIN };
	struct timespec ts = { 0, 5000000 };
	sigset_t rt;

	(void)unused;
	block_watched();
	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN + 3);
	if (ep < 0 || ev < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) < 0)
		report_to(results, "FAIL setting up epoll: %s", strerror(errno));
	for (;;) {
		int n = epoll_wait(ep, &e, 1, 5);

		if (n != 0)
			report_wait("epoll_wait", n);
		n = sigtimedwait(&rt, NULL, &ts);
		if (n != -1 || errno != EAGAIN)
			report_wait("sigtimedwait", n);
	}
	return NULL;
}

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}

static void verify_memory(void)
{
	uint64_t sum = checksum();

	if (sum != memory_sum)
		report_to(results, "FAIL memory checksum %016llx, was %016llx",
			  (unsigned long long)sum, (unsigned long long)memory_sum);
	else
		report_to(results, "OK memory %016llx", (unsigned long long)sum);
}

static void start(void *(*fn)(void *))
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, NULL) != 0) {
		perror("victim: pthread_create");
		exit(1);
	}
}

static void setup_memory(size_t mib)
{
	memory_words = mib * (1 << 20) / sizeof(uint64_t);
	memory = mmap(NULL, memory_words * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (memory == MAP_FAILED) {
		perror("victim: mmap");
		exit(1);
	}
	for (size_t i = 0; i < memory_words; i++)
		memory[i] = pattern_word(i);
	memory_sum = checksum();
}

static void setup_altstack(stack_t *ss)
{
	ss->ss_size = 64 * 1024;
	ss->ss_sp = malloc(ss->ss_size);
	ss->ss_flags = 0;
	if (!ss->ss_sp || sigaltstack(ss, NULL) < 0) {
		perror("victim: sigaltstack");
		exit(1);
	}
}

static void check_own_state(const stack_t *mine)
{
	stack_t now;

	if (!mask_is_mine())
		report_to(results, "FAIL the main thread's signal mask changed");
	if (sigaltstack(NULL, &now) < 0 || now.ss_sp != mine->ss_sp ||
	    now.ss_size != mine->ss_size || now.ss_flags != mine->ss_flags)
		report_to(results, "FAIL the alternate signal stack changed");
}

int main(int argc, char **argv)
{
	int avx = __builtin_cpu_supports("avx2");
	stack_t altstack;

	if (argc < 2) {
		fprintf(stderr, "usage: victim RESULTS [MIB]\n");
		return 2;
	}
	results = argv[1];
	setup_memory(argc > 2 ? strtoul(argv[2], NULL, 10) : 64);
	setup_altstack(&altstack);
	signal(SIGUSR2, on_usr2);
	if (pipe(pipefd) < 0) {
		perror("victim: pipe");
		return 1;
	}
	block_watched();      /* the threads start with SIGUSR2 blocked */
	start(sleeper);
	start(feeder);
	start(reader);
	start(waiter);
	is_main = 1;
	block_watched();
	printf("READY pid=%d progress=%p avx=%d\n", (int)getpid(), (void *)&progress, avx);
	fflush(stdout);
	for (;;) {
		if (spin_sse(200000))
			report_to(results, "FAIL a general or SSE register changed under the program");
		if (avx && spin_avx(200000))
			report_to(results, "FAIL an AVX register changed under the program");
		check_own_state(&altstack);
		if (verify_requested) {
			verify_requested = 0;
			verify_memory();
		}
		progress++;
	}
}
