/* restore_memory: known patterns in .data, .bss, the stack, small and large
 * malloc blocks, sparse and read-only anonymous mmaps, a private and a shared file mapping. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define PAGE 4096
#define DATA_LEN (3 * PAGE)
#define BSS_PAGES 16
#define BSS_UNTOUCHED 7            /* this page of .bss is never written: zero */
#define SMALL_N 64                 /* malloc blocks of 24..3867 bytes: on the heap */
#define LARGE_N 3                  /* malloc blocks > 128 KiB: mmap'd by malloc */
#define ANON_PAGES 32              /* only the even pages are touched */
#define RO_PAGES 2                 /* written, then made read-only */
#define FILE_PAGES 8               /* private file mapping: odd pages modified */
#define SHARED_PAGES 4
#define STACK_LEN 8192

/* Initialised, so in .data; overwritten with the pattern at start. */
static unsigned char data_buf[DATA_LEN] = { 1, 2, 3 };
static unsigned char bss_buf[BSS_PAGES * PAGE];
static volatile sig_atomic_t verify_requested;

static unsigned char *small[SMALL_N];
static size_t small_len[SMALL_N];
static unsigned char *large[LARGE_N];
static const size_t large_len[LARGE_N] = { 256 * 1024 + 100, 1024 * 1024, 200 * 1024 };
static unsigned char *anon, *ro, *priv, *shared;
static char priv_path[4096], shared_path[4096];
static const char *results;

static void on_usr2(int sig)
{
	verify_requested = 1;
}

/* The pattern of region seed at byte offset i: the same for the same pair. */
static unsigned char pat(uint32_t seed, size_t i)
{
	uint32_t x = seed * 2654435761u ^ (uint32_t)i * 40503u ^ (uint32_t)(i >> 16);

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	return (unsigned char)(x ^ (x >> 24));
}

static void fill(unsigned char *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pat(seed, i);
}

/* 0 if p holds the pattern (or zeros for seed 0); else the first bad offset + 1. */
static size_t check(const unsigned char *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (seed ? pat(seed, i) : 0))
			return i + 1;
	return 0;
}

static void die(const char *what)
{
	fprintf(stderr, "restore_memory: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Create path with len bytes of pattern seed (or zeros for seed 0). */
static int make_file(const char *path, size_t len, uint32_t seed)
{
	unsigned char *buf = calloc(1, len);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (!buf || fd < 0)
		die(path);
	if (seed)
		fill(buf, len, seed);
	if (write(fd, buf, len) != (ssize_t)len)
		die(path);
	free(buf);
	return fd;
}

#define BAD_READ SIZE_MAX

/* The file's bytes [off, off + len) against want: 0, the first bad offset + 1,
 * or BAD_READ (errno set) when it cannot be read. */
static size_t check_file(const char *path, size_t off, size_t len, const unsigned char *want)
{
	unsigned char *buf = malloc(len);
	size_t bad = 0;
	int fd, e = EIO;   /* EIO: a short read */

	errno = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!buf || fd < 0 || pread(fd, buf, len, (off_t)off) != (ssize_t)len) {
		bad = BAD_READ;
		if (errno)
			e = errno;
	} else {
		for (size_t i = 0; i < len && !bad; i++)
			if (buf[i] != want[i])
				bad = i + 1;
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	errno = e;
	return bad;
}

/* The permissions /proc/self/maps shows for the mapping holding addr ("r--p"). */
static void maps_perms(const void *addr, char out[5])
{
	unsigned long a = (unsigned long)addr, lo, hi;
	char line[512], perms[5];
	FILE *f = fopen("/proc/self/maps", "r");

	strcpy(out, "????");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && lo <= a && a < hi) {
			memcpy(out, perms, 5);
			break;
		}
	if (f)
		fclose(f);
}

static void verify(const unsigned char *stack)
{
	char perms[5];
	size_t bad;
	int fd;

	FAIL_IF(results, (bad = check(data_buf, DATA_LEN, 0xda7a)), ".data at offset %zu", bad - 1);
	for (int p = 0; p < BSS_PAGES; p++)
		FAIL_IF(results, (bad = check(bss_buf + p * PAGE, PAGE, p == BSS_UNTOUCHED ? 0 : 0xb550 + p)),
			".bss page %d at offset %zu%s", p, bad - 1,
			p == BSS_UNTOUCHED ? " (a never-written page is not zero)" : "");
	FAIL_IF(results, (bad = check(stack, STACK_LEN, 0x57ac)), "stack buffer at offset %zu", bad - 1);
	for (int i = 0; i < SMALL_N; i++)
		if (small[i])
			FAIL_IF(results, (bad = check(small[i], small_len[i], 0x5000 + i)),
				"small malloc block %d (%zu bytes at %p) at offset %zu",
				i, small_len[i], (void *)small[i], bad - 1);
	for (int i = 0; i < LARGE_N; i++)
		FAIL_IF(results, (bad = check(large[i], large_len[i], 0x1a000 + i)),
			"large malloc block %d (%zu bytes at %p) at offset %zu",
			i, large_len[i], (void *)large[i], bad - 1);
	for (int p = 0; p < ANON_PAGES; p++)
		FAIL_IF(results, (bad = check(anon + p * PAGE, PAGE, p % 2 ? 0 : 0xa000 + p)),
			"anonymous mapping page %d (%s) at offset %zu", p,
			p % 2 ? "never touched: must be zero" : "written", bad - 1);
	FAIL_IF(results, (bad = check(ro, RO_PAGES * PAGE, 0x4040)), "read-only mapping at offset %zu", bad - 1);
	maps_perms(ro, perms);
	FAIL_IF(results, strcmp(perms, "r--p"), "read-only mapping %p has permissions %s, not r--p",
		(void *)ro, perms);
	maps_perms(anon, perms);
	FAIL_IF(results, strcmp(perms, "rw-p"), "anonymous mapping %p has permissions %s, not rw-p",
		(void *)anon, perms);

	/* Private file mapping: odd pages modified in memory, even pages as in
	 * the file, and the file itself never saw the private writes. */
	{
		static unsigned char full[FILE_PAGES * PAGE];

		fill(full, sizeof(full), 0xf11e);
		for (int p = 0; p < FILE_PAGES; p++) {
			if (p % 2)
				FAIL_IF(results, (bad = check(priv + p * PAGE, PAGE, 0x9a00 + p)),
					"private file mapping page %d (modified) at offset %zu", p, bad - 1);
			else
				FAIL_IF(results, memcmp(priv + p * PAGE, full + p * PAGE, PAGE),
					"private file mapping page %d (unmodified) differs from %s",
					p, priv_path);
		}
		bad = check_file(priv_path, 0, sizeof(full), full);
		FAIL_IF(results, bad == BAD_READ, "cannot read %s: %s", priv_path, strerror(errno));
		FAIL_IF(results, bad, "%s changed at offset %zu: private writes leaked to the file",
			priv_path, bad - 1);
	}

	/* Shared file mapping: the mapping and the file agree, and still share
	 * pages both ways. */
	{
		unsigned char full[SHARED_PAGES * PAGE];

		fill(full, sizeof(full), 0x5a5a);
		FAIL_IF(results, (bad = check(shared, sizeof(full), 0x5a5a)),
			"shared file mapping at offset %zu", bad - 1);
		bad = check_file(shared_path, 0, sizeof(full), full);
		FAIL_IF(results, bad == BAD_READ, "cannot read %s: %s", shared_path, strerror(errno));
		FAIL_IF(results, bad, "%s differs from the pattern written through the shared mapping "
			"at offset %zu", shared_path, bad - 1);
		memcpy(shared, "written-after-restore", 21);
		memcpy(full, "written-after-restore", 21);
		FAIL_IF(results, check_file(shared_path, 0, 21, full),
			"a write through the shared mapping is not seen in %s: the mapping is not shared",
			shared_path);
		fd = open(shared_path, O_WRONLY | O_CLOEXEC);
		FAIL_IF(results, fd < 0 || pwrite(fd, "from-the-file", 13, PAGE) != 13,
			"cannot write %s: %s", shared_path, strerror(errno));
		close(fd);
		FAIL_IF(results, memcmp(shared + PAGE, "from-the-file", 13),
			"a write to %s is not seen through the shared mapping", shared_path);
		/* Put the pattern back, for another verification. */
		fill(full, sizeof(full), 0x5a5a);
		memcpy(shared, full, sizeof(full));
	}

	report_to(results, "OK .data .bss stack, %d small and %d large malloc blocks, sparse anonymous "
	       "(%d/%d pages), read-only, private file (%d/%d pages modified), shared file",
	       SMALL_N - SMALL_N / 4, LARGE_N, ANON_PAGES / 2, ANON_PAGES, FILE_PAGES / 2, FILE_PAGES);
}

/* Usage: restore_memory RESULTS DIR (DIR gets private.dat and shared.dat) */
int main(int argc, char **argv)
{
	unsigned char stack[STACK_LEN];
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	struct sigaction sa;
	volatile unsigned char sink;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: restore_memory RESULTS DIR\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	results = argv[1];
	snprintf(priv_path, sizeof(priv_path), "%s/private.dat", argv[2]);
	snprintf(shared_path, sizeof(shared_path), "%s/shared.dat", argv[2]);

	fill(data_buf, DATA_LEN, 0xda7a);
	for (int p = 0; p < BSS_PAGES; p++)
		if (p != BSS_UNTOUCHED)
			fill(bss_buf + p * PAGE, PAGE, 0xb550 + p);
	fill(stack, STACK_LEN, 0x57ac);

	for (int i = 0; i < SMALL_N; i++) {
		small_len[i] = 24 + 61 * (size_t)i;
		small[i] = malloc(small_len[i]);
		if (!small[i])
			die("malloc");
		fill(small[i], small_len[i], 0x5000 + i);
	}
	for (int i = 0; i < SMALL_N; i += 4) {   /* free chunks among the live ones */
		free(small[i]);
		small[i] = NULL;
	}
	for (int i = 0; i < LARGE_N; i++) {
		large[i] = malloc(large_len[i]);
		if (!large[i])
			die("malloc");
		fill(large[i], large_len[i], 0x1a000 + i);
	}

	anon = mmap(NULL, ANON_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, RO_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED || ro == MAP_FAILED)
		die("mmap");
	for (int p = 0; p < ANON_PAGES; p += 2)
		fill(anon + p * PAGE, PAGE, 0xa000 + p);
	fill(ro, RO_PAGES * PAGE, 0x4040);
	if (mprotect(ro, RO_PAGES * PAGE, PROT_READ) != 0)
		die("mprotect");

	fd = make_file(priv_path, FILE_PAGES * PAGE, 0xf11e);
	priv = mmap(NULL, FILE_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (priv == MAP_FAILED)
		die("mmap private.dat");
	close(fd);
	for (int p = 1; p < FILE_PAGES; p += 2)
		fill(priv + p * PAGE, PAGE, 0x9a00 + p);
	sink = priv[0] + priv[2 * PAGE];   /* pages 0 and 2 read (clean), 4 and 6 never touched */
	(void)sink;

	fd = make_file(shared_path, SHARED_PAGES * PAGE, 0);
	shared = mmap(NULL, SHARED_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (shared == MAP_FAILED)
		die("mmap shared.dat");
	close(fd);
	fill(shared, SHARED_PAGES * PAGE, 0x5a5a);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);

	printf("READY pid=%d data=%p bss=%p heap=%p large=%p anon=%p ro=%p private=%p shared=%p\n",
	       (int)getpid(), (void *)data_buf, (void *)bss_buf, (void *)small[1], (void *)large[0],
	       (void *)anon, (void *)ro, (void *)priv, (void *)shared);
	fflush(stdout);

	for (;;) {
		if (verify_requested) {
			verify_requested = 0;
			verify(stack);
		}
		nanosleep(&tick, NULL);
	}
}
