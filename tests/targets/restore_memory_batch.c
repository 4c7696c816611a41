/* restore_memory_batch: N one-page anonymous mappings, each named, some with
 * madvise flags or read-only, whose restore fills many queues; checks their bytes. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "report.h"

#define PAGE 4096
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

static volatile sig_atomic_t verify_requested;
static unsigned char *base;
static unsigned long nslots;
static int named = 1;       /* 0: the kernel has no anonymous names (EINVAL) */

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}

static unsigned char pat(unsigned long i, unsigned long j)
{
	return (unsigned char)((i * 131 + j * 7) | 1);
}

/* Names of 12 to 72 bytes, all different: the queue's data area fills at
 * varying places, and no two neighbours merge. */
static void slot_name(unsigned long i, char *buf, size_t len)
{
	int pad = (int)(i % 61);

	snprintf(buf, len, "batch %06lu %.*s", i, pad,
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

static int make_slot(unsigned long i)
{
	unsigned char *p = base + i * PAGE;
	char name[96];

	if (mmap(p, PAGE, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
	    MAP_FAILED)
		return -1;
	for (unsigned long j = 0; j < PAGE; j++)
		p[j] = pat(i, j);
	slot_name(i, name, sizeof(name));
	/* without CONFIG_ANON_VMA_NAME the kernel refuses every name (EINVAL) */
	if (named &&
	    prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, PAGE, (unsigned long)name) < 0) {
		if (i > 0 || errno != EINVAL)
			return -1;
		named = 0;
	}
	if (i % 3 == 0 && madvise(p, PAGE, MADV_DONTDUMP) < 0)
		return -1;
	return i % 4 == 0 ? mprotect(p, PAGE, PROT_READ) : 0;
}

static void verify(const char *results)
{
	for (unsigned long i = 0; i < nslots; i++)
		for (unsigned long j = 0; j < PAGE; j++)
			FAIL_IF(results, base[i * PAGE + j] != pat(i, j), "slot %lu byte %lu: %u, want %u",
				i, j, base[i * PAGE + j], pat(i, j));
	report_to(results, "OK %lu slots", nslots);
}

static int fence(unsigned char *at)
{
	return mmap(at, PAGE, PROT_NONE, MAP_FIXED | MAP_SHARED | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ?
	       -1 : 0;
}

/* Usage: restore_memory_batch N RESULTS: make N slots, print READY (named=0
 * if the kernel cannot name them), check their bytes on each SIGUSR2 (the
 * test compares names and flags). */
int main(int argc, char **argv)
{
	if (argc != 3 || (nslots = strtoul(argv[1], NULL, 0)) == 0) {
		fprintf(stderr, "usage: restore_memory_batch N RESULTS\n");
		return 2;
	}
	/* a fence page each side, shared (never merged with anything), keeps
	 * the end slots apart from whatever the program has next to them */
	base = mmap(NULL, (nslots + 2) * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (base == MAP_FAILED || fence(base) < 0 || fence(base + (nslots + 1) * PAGE) < 0) {
		perror("restore_memory_batch: mmap");
		return 1;
	}
	base += PAGE;
	for (unsigned long i = 0; i < nslots; i++) {
		if (make_slot(i) < 0) {
			perror("restore_memory_batch: making a slot");
			return 1;
		}
	}
	signal(SIGUSR2, on_usr2);
	printf("READY slots=%lu named=%d base=%p\n", nslots, named, (void *)base);
	fflush(stdout);
	serve_verify(&verify_requested, verify, argv[2]);
}
