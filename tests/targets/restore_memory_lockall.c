/* restore_memory_lockall: a process that called mlockall(MCL_CURRENT |
 * MCL_FUTURE | MCL_ONFAULT), or mlock on some pages, or mlockall(MCL_FUTURE)
 * then lowered its RLIMIT_MEMLOCK; on SIGUSR2 it checks its locks itself. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <unistd.h>

#include "report.h"

#define LEN (4 * 4096)

static volatile sig_atomic_t verify_requested;
static unsigned char *data;

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}

/* The VmFlags line of the mapping at p in /proc/self/smaps, in line. */
static int vm_flags_of(const void *p, char *line, size_t len)
{
	char head[32];
	FILE *f = fopen("/proc/self/smaps", "re");
	int in = 0, found = 0;

	if (!f)
		return -1;
	snprintf(head, sizeof(head), "%lx-", (unsigned long)p);
	while (!found && fgets(line, (int)len, f)) {
		if (strchr(line, '-') && strchr(line, '-') < strchr(line, ' '))
			in = strncmp(line, head, strlen(head)) == 0;
		found = in && strncmp(line, "VmFlags:", 8) == 0;
	}
	fclose(f);
	return found ? 0 : -1;
}

static void verify(const char *results)
{
	char flags[512];
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int got;

	for (size_t i = 0; i < LEN; i++)
		FAIL_IF(results, data[i] != (unsigned char)(i * 7), "byte %zu of the data is 0x%02x", i,
			data[i]);
	FAIL_IF(results, p == MAP_FAILED, "mmap of a new page failed");
	got = vm_flags_of(p, flags, sizeof(flags));
	munmap(p, 4096);
	FAIL_IF(results, got < 0, "no VmFlags for a new mapping in /proc/self/smaps");
	FAIL_IF(results, !strstr(flags, " lo") || !strstr(flags, " lf"),
		"a new mapping is not locked on fault (mlockall MCL_FUTURE|MCL_ONFAULT lost): %s",
		flags);
	report_to(results, "OK mlockall(MCL_FUTURE|MCL_ONFAULT) holds: a new mapping has lo lf");
}

/* ---- mode mlock: PAGES pages locked with mlock, nothing else ---- */

static size_t mlocked_pages;

/* "VmLck:" of /proc/self/status, in kB, or -1. */
static long vm_lck_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmLck:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

static void verify_mlock(const char *results)
{
	char flags[512];
	size_t len = mlocked_pages * 4096;

	for (size_t i = 0; i < len; i++)
		FAIL_IF(results, data[i] != (unsigned char)(i * 7), "byte %zu of the data is 0x%02x", i,
			data[i]);
	FAIL_IF(results, vm_flags_of(data, flags, sizeof(flags)) < 0,
		"no VmFlags for the locked mapping in /proc/self/smaps");
	FAIL_IF(results, !strstr(flags, " lo"), "the mlocked mapping is not locked: %s", flags);
	FAIL_IF(results, strstr(flags, " lf"), "the mlocked mapping is locked on fault: %s", flags);
	FAIL_IF(results, vm_lck_kb() != (long)(len / 1024), "VmLck: %ld kB, want %zu kB", vm_lck_kb(),
		len / 1024);
	report_to(results, "OK %zu pages mlocked: their mapping has lo, VmLck: %zu kB", mlocked_pages,
		  len / 1024);
}

/* mlock(2) charges RLIMIT_MEMLOCK when it locks; lowering the limit
 * afterwards unlocks nothing (the kernel checks it only on new locks). */
static int setup_mlock(const char *pages, const char *limit)
{
	struct rlimit lim;

	mlocked_pages = strtoul(pages, NULL, 10);
	data = mmap(NULL, mlocked_pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (data == MAP_FAILED || mlock(data, mlocked_pages * 4096) < 0)
		return -1;
	for (size_t i = 0; i < mlocked_pages * 4096; i++)
		data[i] = (unsigned char)(i * 7);
	if (getrlimit(RLIMIT_MEMLOCK, &lim) < 0)
		return -1;
	lim.rlim_cur = strtoul(limit, NULL, 10) * 4096;
	return setrlimit(RLIMIT_MEMLOCK, &lim);
}

/* ---- mode future0: mlockall(MCL_FUTURE), then RLIMIT_MEMLOCK 0 ---- */

/* Under MCL_FUTURE every new mapping is locked, so with a limit of 0 and
 * no CAP_IPC_LOCK mmap fails with EAGAIN (mm/mmap.c mlock_future_ok). */
static void verify_future0(const char *results)
{
	struct rlimit lim;
	void *p;

	FAIL_IF(results, getrlimit(RLIMIT_MEMLOCK, &lim) < 0 || lim.rlim_cur != 0,
		"RLIMIT_MEMLOCK is %llu, want 0", (unsigned long long)lim.rlim_cur);
	errno = 0;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	FAIL_IF(results, p != MAP_FAILED || errno != EAGAIN,
		"a new mapping %s: MCL_FUTURE is lost (or the process may lock memory)",
		p != MAP_FAILED ? "succeeded" : strerror(errno));
	report_to(results, "OK mlockall(MCL_FUTURE) with RLIMIT_MEMLOCK 0 holds: a new mapping fails "
		  "with EAGAIN");
}

static int setup_future0(void)
{
	struct rlimit lim;

	/* The heap is grown now: brk too is locked, and so refused, after. */
	free(malloc(64 * 1024));
	if (mlockall(MCL_FUTURE) < 0 || getrlimit(RLIMIT_MEMLOCK, &lim) < 0)
		return -1;
	lim.rlim_cur = 0;
	return setrlimit(RLIMIT_MEMLOCK, &lim);
}

static int setup_lockall(void)
{
	data = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (data == MAP_FAILED || mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0)
		return -1;
	for (size_t i = 0; i < LEN; i++)
		data[i] = (unsigned char)(i * 7);
	return 0;
}

/* Usage: restore_memory_lockall RESULTS [mlock PAGES LIMIT_PAGES | future0] */
int main(int argc, char **argv)
{
	struct sigaction sa;
	void (*check)(const char *) = verify;
	int rc;

	if (argc == 5 && strcmp(argv[2], "mlock") == 0) {
		rc = setup_mlock(argv[3], argv[4]);
		check = verify_mlock;
	} else if (argc == 3 && strcmp(argv[2], "future0") == 0) {
		rc = setup_future0();
		check = verify_future0;
	} else if (argc == 2) {
		rc = setup_lockall();
	} else {
		fprintf(stderr, "usage: restore_memory_lockall RESULTS [mlock PAGES LIMIT_PAGES | future0]\n");
		return 2;
	}
	close_range(3, ~0U, 0);
	if (rc < 0) {
		perror("restore_memory_lockall: locking");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	printf("READY pid=%d\n", (int)getpid());
	fflush(stdout);
	serve_verify(&verify_requested, check, argv[1]);
}
