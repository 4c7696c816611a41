/* restore_memory_guard: guard pages (MADV_GUARD_INSTALL) in a written mapping,
 * in one with nothing resident and in a private file mapping; on SIGUSR2 a
 * child touches each guard page (SIGSEGV wanted) and the bytes around them
 * are checked. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

#define PAGE 4096
#define PAGES 8
#define LEN (PAGES * PAGE)
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

struct guarded {
	const char *what;
	unsigned char *p;
	int written;            /* its pages hold pattern(k) (else zeros or the file's) */
};

static volatile sig_atomic_t verify_requested;
static struct guarded maps[3];

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}

static unsigned char pattern(int which, size_t i)
{
	return (unsigned char)(which * 29 + i * 13 + (i >> 12));
}

/* Pages 2, 3 and 6 are guards. */
static int is_guard(int page)
{
	return page == 2 || page == 3 || page == 6;
}

static void guard(unsigned char *p)
{
	if (madvise(p + 2 * PAGE, 2 * PAGE, MADV_GUARD_INSTALL) < 0 ||
	    madvise(p + 6 * PAGE, PAGE, MADV_GUARD_INSTALL) < 0) {
		fprintf(stderr, "restore_memory_guard: MADV_GUARD_INSTALL: %s\n", strerror(errno));
		exit(77);
	}
}

/* In a child: touching it must kill the child with SIGSEGV. */
static int guard_holds(const unsigned char *at)
{
	int status;
	pid_t child = fork();

	if (child == 0) {
		volatile unsigned char sink = *at;

		(void)sink;
		_exit(0);
	}
	if (child < 0 || waitpid(child, &status, 0) != child)
		return 0;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

static int check_map(int k, char *why)
{
	const struct guarded *g = &maps[k];

	for (int page = 0; page < PAGES; page++) {
		if (is_guard(page)) {
			CHECK_WHY(!guard_holds(g->p + page * PAGE + 100), "%s: page %d is no longer a "
				  "guard: a child touched it without SIGSEGV", g->what, page);
			continue;
		}
		for (size_t i = 0; i < PAGE; i++) {
			size_t at = page * PAGE + i;
			unsigned char want = g->written ? pattern(k, at) : 0;

			CHECK_WHY(g->p[at] != want, "%s: page %d byte %zu is 0x%02x, want 0x%02x",
				  g->what, page, i, g->p[at], want);
		}
	}
	return 0;
}

static void verify(const char *results)
{
	char why[WHY_LEN];

	for (int k = 0; k < 3; k++)
		if (check_map(k, why) < 0) {
			report_to(results, "FAIL %s", why);
			return;
		}
	report_to(results, "OK guard pages still guard (SIGSEGV in a child) in 3 mappings, the "
		  "pages around them keep their bytes");
}

static unsigned char *map_anon(void)
{
	void *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("restore_memory_guard: mmap");
		exit(1);
	}
	return p;
}

/* A private map of a file holding pattern(2) (the file is read back at
 * restore), written nowhere: its pages come from the file. */
static unsigned char *map_file(const char *dir)
{
	unsigned char buf[LEN];
	char path[4096];
	int fd;
	void *p;

	snprintf(path, sizeof(path), "%s/guard.dat", dir);
	for (size_t i = 0; i < LEN; i++)
		buf[i] = pattern(2, i);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, LEN) != LEN) {
		perror("restore_memory_guard: the file");
		exit(1);
	}
	p = mmap(NULL, LEN, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		perror("restore_memory_guard: mmap of the file");
		exit(1);
	}
	return p;
}

/* Usage: restore_memory_guard RESULTS DIR (exit 77: no guard pages here) */
int main(int argc, char **argv)
{
	struct sigaction sa;

	if (argc != 3) {
		fprintf(stderr, "usage: restore_memory_guard RESULTS DIR\n");
		return 2;
	}
	close_range(3, ~0U, 0);
	maps[0] = (struct guarded){ "a written anonymous mapping", map_anon(), 1 };
	for (size_t i = 0; i < LEN; i++)
		maps[0].p[i] = pattern(0, i);
	maps[1] = (struct guarded){ "an anonymous mapping with nothing resident", map_anon(), 0 };
	maps[2] = (struct guarded){ "a private read-only file mapping", map_file(argv[2]), 1 };
	for (int k = 0; k < 3; k++)
		guard(maps[k].p);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	printf("READY pid=%d\n", (int)getpid());
	fflush(stdout);
	serve_verify(&verify_requested, verify, argv[1]);
}
