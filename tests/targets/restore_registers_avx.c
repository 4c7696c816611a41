/* restore_registers_avx: keeps distinctive values in ymm0-14 (xmm0-14 without AVX), MXCSR and
 * the x87 control word in a tight loop that checks them; SIGUSR2 asks for a report. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

#define NREGS 15                 /* register 15 is the scratch of the comparisons */
#define ROUNDS (1 << 16)         /* comparisons of all registers per call */
#define MXCSR_VALUE 0x7f80u      /* all exceptions masked, round toward zero */
#define FPUCW_VALUE 0x027fu      /* x87: 53-bit precision, exceptions masked */

/* 32 bytes per register, all distinct, upper halves included. */
static uint8_t want[NREGS][32] __attribute__((aligned(32)));
static volatile sig_atomic_t verify_requested;

static void on_usr2(int sig)
{
	verify_requested = 1;
}

/* Compare register i with want[i]: jump to 2f with eax = i + 1 if it differs. */
#define CHECK_AVX(i) \
	"vxorps " #i "*32(%[w]), %%ymm" #i ", %%ymm15\n\t" \
	"vptest %%ymm15, %%ymm15\n\t" \
	"mov $" #i "+1, %%eax\n\t" \
	"jnz 2f\n\t"
#define LOAD_AVX(i) "vmovdqu " #i "*32(%[w]), %%ymm" #i "\n\t"

#define CHECK_SSE(i) \
	"movdqa %%xmm" #i ", %%xmm15\n\t" \
	"pcmpeqb " #i "*32(%[w]), %%xmm15\n\t" \
	"pmovmskb %%xmm15, %%eax\n\t" \
	"cmp $0xffff, %%eax\n\t" \
	"mov $" #i "+1, %%eax\n\t" \
	"jne 2f\n\t"
#define LOAD_SSE(i) "movdqa " #i "*32(%[w]), %%xmm" #i "\n\t"

#define ALL(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14)
#define CLOBBERS "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", \
	"xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "rcx", "cc", "memory"

/* Load the registers, then compare them all ROUNDS times: 0, or the first
 * register found changed + 1. Nearly all of the time is spent in here. */
static int spin_avx(void)
{
	int bad;

	__asm__ volatile(ALL(LOAD_AVX)
			 "mov %[n], %%rcx\n"
			 "1:\n\t"
			 ALL(CHECK_AVX)
			 "dec %%rcx\n\t"
			 "jnz 1b\n\t"
			 "xor %%eax, %%eax\n"
			 "2:\n\t"
			 "vzeroupper\n\t"
			 : "=&a"(bad)
			 : [w] "r"(want), [n] "i"(ROUNDS)
			 : CLOBBERS);
	return bad;
}

static int spin_sse(void)
{
	int bad;

	__asm__ volatile(ALL(LOAD_SSE)
			 "mov %[n], %%rcx\n"
			 "1:\n\t"
			 ALL(CHECK_SSE)
			 "dec %%rcx\n\t"
			 "jnz 1b\n\t"
			 "xor %%eax, %%eax\n"
			 "2:\n\t"
			 : "=&a"(bad)
			 : [w] "r"(want), [n] "i"(ROUNDS)
			 : CLOBBERS);
	return bad;
}

static uint32_t get_mxcsr(void)
{
	uint32_t v;

	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static uint16_t get_fpucw(void)
{
	uint16_t v;

	__asm__ volatile("fnstcw %0" : "=m"(v));
	return v;
}

/* Usage: restore_registers_avx RESULTS [sse] (sse: use only xmm even with AVX) */
int main(int argc, char **argv)
{
	int avx = __builtin_cpu_supports("avx") && !(argc > 2 && strcmp(argv[2], "sse") == 0);
	const char *isa = avx ? "avx" : "sse";
	uint16_t cw = FPUCW_VALUE;
	uint32_t csr = MXCSR_VALUE;
	unsigned long long calls = 0, bad_calls = 0;
	char first_bad[160] = "";
	struct sigaction sa;

	if (argc < 2) {
		fprintf(stderr, "usage: restore_registers_avx RESULTS [sse]\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	for (int r = 0; r < NREGS; r++)
		for (int b = 0; b < 32; b++)
			want[r][b] = (uint8_t)(0x11 * (r + 1) + 7 * b + (b >= 16 ? 0x80 : 0));
	__asm__ volatile("ldmxcsr %0" : : "m"(csr));
	__asm__ volatile("fldcw %0" : : "m"(cw));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);

	printf("READY pid=%d isa=%s regs=%d bytes=%d\n", (int)getpid(), isa, NREGS, avx ? 32 : 16);
	fflush(stdout);

	for (;;) {
		int bad = avx ? spin_avx() : spin_sse();
		uint32_t mxcsr = get_mxcsr() & ~0x3fu;   /* without the sticky exception flags */
		uint16_t fpucw = get_fpucw();

		calls++;
		if (bad || mxcsr != MXCSR_VALUE || fpucw != FPUCW_VALUE) {
			if (!bad_calls++) {
				if (bad)
					snprintf(first_bad, sizeof(first_bad), "%smm%d changed in round %llu",
						 avx ? "y" : "x", bad - 1, calls);
				else
					snprintf(first_bad, sizeof(first_bad),
						 "MXCSR 0x%x (want 0x%x), x87 control word 0x%x (want 0x%x) in round %llu",
						 mxcsr, MXCSR_VALUE, fpucw, FPUCW_VALUE, calls);
			}
		}
		if (verify_requested) {
			verify_requested = 0;
			if (bad_calls)
				report_to(argv[1], "FAIL %s: %llu of %llu rounds saw a change, first: %s", isa,
				       bad_calls, calls, first_bad);
			else
				report_to(argv[1], "OK %s: %d registers of %d bytes, MXCSR and x87 control word "
				       "intact over %llu rounds of %d checks", isa, NREGS, avx ? 32 : 16,
				       calls, ROUNDS);
		}
	}
}
