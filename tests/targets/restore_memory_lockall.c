/* restore_memory_lockall: a process that called mlockall(MCL_CURRENT |
 * MCL_FUTURE | MCL_ONFAULT); on SIGUSR2 checks that a mapping it makes now
 * is locked on fault ("lo" and "lf" in its smaps VmFlags), and its bytes. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Usage: restore_memory_lockall RESULTS */
int main(int argc, char **argv)
{
	struct sigaction sa;

	if (argc != 2) {
		fprintf(stderr, "usage: restore_memory_lockall RESULTS\n");
		return 2;
	}
	close_range(3, ~0U, 0);
	data = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (data == MAP_FAILED || mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0) {
		perror("restore_memory_lockall: mlockall");
		return 1;
	}
	for (size_t i = 0; i < LEN; i++)
		data[i] = (unsigned char)(i * 7);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	printf("READY pid=%d\n", (int)getpid());
	fflush(stdout);
	serve_verify(&verify_requested, verify, argv[1]);
}
