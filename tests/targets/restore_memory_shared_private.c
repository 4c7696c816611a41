/* restore_memory_shared_private: one file mapped shared twice and privately in
 * between (memfds with and without their fd, a regular file, a deleted file);
 * on SIGUSR2 checks every page of every mapping byte for byte. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "report.h"

#define PAGES 4
#define PAGE 4096
#define LEN (PAGES * PAGE)
#define NFILES 8

/*
 * Each file is mapped shared (a), privately (b) and shared again (c, from
 * file page c_first on). Pages 1..3 of b are read (page 0 is left untouched,
 * not even present), then pages 1 and 3 of b are written (copied on write);
 * then pages 0..2 are written through a. So the file (and a, c) holds generation 3
 * in pages 0..2 and generation 1 in page 3; b holds the file's pages 0 and 2
 * and its own generation 2 in pages 1 and 3.
 */
struct trio {
	const char *what;
	int fd;                 /* -1 once closed */
	int c_first;            /* the file page c starts at */
	unsigned char *a, *b, *c;
};

static volatile sig_atomic_t verify_requested;
static struct trio trios[NFILES];

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}

/* Differs per file, per generation (1: first write through a, 2: b's own,
 * 3: a's second write), per page and per byte. */
static unsigned char pattern(int file, int gen, int page, size_t i)
{
	return (unsigned char)(file * 61 + gen * 17 + page * 5 + i * 3 + (i >> 8));
}

static void fill_page(unsigned char *p, int file, int gen, int page)
{
	for (size_t i = 0; i < PAGE; i++)
		p[page * PAGE + i] = pattern(file, gen, page, i);
}

static int file_gen(int page)
{
	return page < 3 ? 3 : 1;
}

static int private_gen(int page)
{
	return page == 1 || page == 3 ? 2 : file_gen(page);
}

/* 0 if p holds what it should, else a sentence in why. */
/* p maps the file from page first on. */
static int check_map(const unsigned char *p, int first, int file, int (*gen)(int),
		     const char *name, const char *what, char *why)
{
	for (int page = first; page < PAGES; page++)
		for (size_t i = 0; i < PAGE; i++)
			CHECK_WHY(p[(page - first) * PAGE + i] != pattern(file, gen(page), page, i),
				  "%s: mapping %s, its page %d (file page %d), byte %zu is 0x%02x, "
				  "want 0x%02x (generation %d)", what, name, page - first, page, i,
				  p[(page - first) * PAGE + i], pattern(file, gen(page), page, i),
				  gen(page));
	return 0;
}

static int check_trio(int file, char *why)
{
	const struct trio *t = &trios[file];
	unsigned char byte;

	if (check_map(t->a, 0, file, file_gen, "a (shared)", t->what, why) ||
	    check_map(t->b, 0, file, private_gen, "b (private)", t->what, why) ||
	    check_map(t->c, t->c_first, file, file_gen, "c (shared, second)", t->what, why))
		return -1;
	t->a[2 * PAGE + 10] ^= 0xff;
	CHECK_WHY(t->c[(2 - t->c_first) * PAGE + 10] != (pattern(file, 3, 2, 10) ^ 0xff),
		  "%s: a write through a is not seen through c: they are no longer one file", t->what);
	t->a[2 * PAGE + 10] ^= 0xff;
	t->a[10] ^= 0xff;
	CHECK_WHY(t->b[10] != (pattern(file, 3, 0, 10) ^ 0xff),
		  "%s: a write through a is not seen in b's unchanged page 0", t->what);
	t->a[10] ^= 0xff;
	t->a[PAGE + 10] ^= 0xff;
	CHECK_WHY(t->b[PAGE + 10] != pattern(file, 2, 1, 10),
		  "%s: a write through a shows in b's own page 1", t->what);
	t->a[PAGE + 10] ^= 0xff;
	CHECK_WHY(t->fd >= 0 && (pread(t->fd, &byte, 1, 2 * PAGE + 7) != 1 ||
				 byte != pattern(file, 3, 2, 7)),
		  "%s: its fd does not read what its mappings hold", t->what);
	byte = pattern(file, 3, 2, 7) ^ 0xff;
	CHECK_WHY(t->fd >= 0 && (pwrite(t->fd, &byte, 1, 2 * PAGE + 7) != 1 ||
				 t->a[2 * PAGE + 7] != byte),
		  "%s: a write through its fd is not seen through its mapping: not one file",
		  t->what);
	byte ^= 0xff;
	CHECK_WHY(t->fd >= 0 && pwrite(t->fd, &byte, 1, 2 * PAGE + 7) != 1,
		  "%s: writing through its fd: %s", t->what, strerror(errno));
	return 0;
}

static void verify(const char *results)
{
	char why[WHY_LEN];

	for (int f = 0; f < NFILES; f++)
		if (check_trio(f, why) < 0) {
			report_to(results, "FAIL %s", why);
			return;
		}
	report_to(results, "OK %d files mapped shared, private, shared: every page of every "
		  "mapping as before, sharing as before", NFILES);
}

/* LEN bytes from file page first on: past the end of the file when first
 * is not 0 (those pages are never touched: SIGBUS). */
static unsigned char *map(int fd, int flags, int first)
{
	void *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, flags, fd, first * PAGE);

	if (p == MAP_FAILED) {
		perror("restore_memory_shared_private: mmap");
		exit(1);
	}
	return p;
}

#define SHARED_ANON (-2)

/* Shared anonymous memory is a file too: map_files/ opens it. */
static int open_map_file(const void *p)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)p,
		 (unsigned long)p + LEN);
	return open(path, O_RDWR | O_CLOEXEC);
}

static void set_up(int file, const char *what, int fd, int keep_fd, int c_first)
{
	struct trio *t = &trios[file];
	volatile unsigned char sink = 0;

	if ((fd < 0 && fd != SHARED_ANON) || (fd >= 0 && ftruncate(fd, LEN) < 0)) {
		perror("restore_memory_shared_private: setup");
		exit(1);
	}
	t->what = what;
	t->c_first = c_first;
	t->a = fd == SHARED_ANON ? map(-1, MAP_SHARED | MAP_ANONYMOUS, 0) : map(fd, MAP_SHARED, 0);
	if (fd == SHARED_ANON)
		fd = open_map_file(t->a);
	if (fd < 0) {
		perror("restore_memory_shared_private: opening the shared memory");
		exit(1);
	}
	for (int page = 0; page < PAGES; page++)
		fill_page(t->a, file, 1, page);
	t->b = map(fd, MAP_PRIVATE, 0);
	for (size_t i = PAGE; i < LEN; i += PAGE)
		sink += t->b[i];
	fill_page(t->b, file, 2, 1);
	fill_page(t->b, file, 2, 3);
	t->c = map(fd, MAP_SHARED, c_first);
	for (int page = 0; page < 3; page++)
		fill_page(t->a, file, 3, page);
	(void)sink;
	t->fd = fd;
	if (!keep_fd) {
		close(fd);
		t->fd = -1;
	}
}

static int open_file(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

/* Usage: restore_memory_shared_private RESULTS DIR */
int main(int argc, char **argv)
{
	struct sigaction sa;
	char path[4096];

	if (argc != 3) {
		fprintf(stderr, "usage: restore_memory_shared_private RESULTS DIR\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	set_up(0, "memfd without its fd", memfd_create("trio-closed", MFD_CLOEXEC), 0, 0);
	set_up(1, "memfd with its fd", memfd_create("trio-held", MFD_CLOEXEC), 1, 0);
	set_up(2, "regular file", open_file(argv[2], "trio.dat"), 0, 0);
	set_up(3, "deleted file", open_file(argv[2], "trio-deleted.dat"), 1, 0);
	set_up(4, "memfd without its fd, c from page 1",
	       memfd_create("trio-closed-off", MFD_CLOEXEC), 0, 1);
	set_up(5, "memfd with its fd, c from page 1", memfd_create("trio-held-off", MFD_CLOEXEC),
	       1, 1);
	set_up(6, "shared anonymous memory, its fd closed", SHARED_ANON, 0, 2);
	set_up(7, "shared anonymous memory, its fd kept", SHARED_ANON, 1, 2);
	snprintf(path, sizeof(path), "%s/trio-deleted.dat", argv[2]);
	if (unlink(path) < 0) {
		perror("restore_memory_shared_private: unlink");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	printf("READY pid=%d\n", (int)getpid());
	fflush(stdout);
	serve_verify(&verify_requested, verify, argv[1]);
}
