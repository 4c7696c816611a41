/* manymaps: N one-page mappings that cannot merge, in the mix a program with many
 * libraries, guard pages and small arenas has; checks each one's bytes and protection. */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "report.h"

#define PAGE 4096
#define FILE_PAGES 64   /* each mapped file is this long; slots map page i % 64 */
#define KINDS 7

/* The kind of slot i, in an order where no two neighbours can merge: */
enum slot_kind {
	ANON_DATA,    /* private anonymous rw-, written */
	LIB_TEXT,     /* private mapping of lib.dat, r-x, untouched */
	ANON_EMPTY,   /* private anonymous rw-, never touched */
	GUARD,        /* private anonymous ---, a guard page */
	LIB_DATA,     /* private mapping of data.dat, rw-, written (copied on write) */
	ANON_RO,      /* private anonymous r--, written then made read-only */
	SHMEM,        /* shared anonymous rw-, written */
};

static const int slot_prot[KINDS] = {
	PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE, PROT_NONE,
	PROT_READ | PROT_WRITE, PROT_READ, PROT_READ | PROT_WRITE,
};
static const char *const slot_perms[KINDS] = {
	"rw-p", "r-xp", "rw-p", "---p", "rw-p", "r--p", "rw-s",
};

static volatile sig_atomic_t verify_requested;
static unsigned char *base;
static unsigned long nslots;
static char lib_path[4096], data_path[4096];

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}

/* Byte j of the page that slot i (or file page i, with seed 0) should hold. */
static unsigned char pat(uint32_t seed, uint32_t i, uint32_t j)
{
	uint32_t x = seed * 2654435761u ^ i * 40503u ^ j * 2246822519u;

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 13;
	return (unsigned char)(x | 1);
}

static void fill_page(unsigned char *p, uint32_t seed, uint32_t i)
{
	for (uint32_t j = 0; j < PAGE; j++)
		p[j] = pat(seed, i, j);
}

static int write_file(const char *path, uint32_t seed)
{
	unsigned char page[PAGE];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -1;
	for (uint32_t i = 0; i < FILE_PAGES; i++) {
		fill_page(page, seed, i);
		if (write(fd, page, PAGE) != PAGE) {
			close(fd);
			return -1;
		}
	}
	return close(fd);
}

static void *map_slot(unsigned long i, int libfd, int datafd)
{
	void *at = base + i * PAGE;
	off_t off = (off_t)(i % FILE_PAGES) * PAGE;
	int fixed = MAP_FIXED | MAP_PRIVATE;

	switch (i % KINDS) {
	case LIB_TEXT:
		return mmap(at, PAGE, PROT_READ | PROT_EXEC, fixed, libfd, off);
	case LIB_DATA:
		return mmap(at, PAGE, PROT_READ | PROT_WRITE, fixed, datafd, off);
	case SHMEM:
		return mmap(at, PAGE, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	default:
		return mmap(at, PAGE, PROT_READ | PROT_WRITE, fixed | MAP_ANONYMOUS, -1, 0);
	}
}

/* Write the slot's bytes and set its final protection. */
static int set_slot(unsigned long i)
{
	unsigned char *p = base + i * PAGE;
	enum slot_kind k = (enum slot_kind)(i % KINDS);

	if (k == ANON_DATA || k == LIB_DATA || k == ANON_RO || k == SHMEM)
		fill_page(p, 1 + k, (uint32_t)i);
	return mprotect(p, PAGE, slot_prot[k]);
}

/* Fill want with the bytes slot i must hold; 0 for a guard page (unreadable). */
static int slot_expected(unsigned long i, unsigned char *want)
{
	enum slot_kind k = (enum slot_kind)(i % KINDS);

	switch (k) {
	case GUARD:
		return 0;
	case ANON_EMPTY:
		memset(want, 0, PAGE);
		return 1;
	case LIB_TEXT:
		fill_page(want, 100, (uint32_t)(i % FILE_PAGES));
		return 1;
	default:
		fill_page(want, 1 + k, (uint32_t)i);
		return 1;
	}
}

/* Every slot's line of /proc/self/maps: its own bounds and permissions. */
static int check_layout(char *why)
{
	FILE *f = fopen("/proc/self/maps", "re");
	unsigned long seen = 0, lo = (unsigned long)base, hi = lo + nslots * PAGE;
	char line[4352], perms[8];
	unsigned long s, e;

	CHECK_WHY(!f, "cannot open /proc/self/maps");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) != 3 || s < lo || s >= hi)
			continue;
		unsigned long i = (s - lo) / PAGE;

		if (e != s + PAGE || i != seen || strcmp(perms, slot_perms[i % KINDS])) {
			fclose(f);
			CHECK_WHY(1, "slot %lu: expected %lx-%lx %s, maps has: %.200s", seen,
				  lo + seen * PAGE, lo + seen * PAGE + PAGE, slot_perms[seen % KINDS], line);
		}
		seen++;
	}
	fclose(f);
	CHECK_WHY(seen != nslots, "%lu of the %lu slots are in /proc/self/maps", seen, nslots);
	return 0;
}

static int check_bytes(char *why)
{
	static unsigned char want[PAGE];

	for (unsigned long i = 0; i < nslots; i++) {
		if (!slot_expected(i, want))
			continue;
		CHECK_WHY(memcmp(base + i * PAGE, want, PAGE), "slot %lu (kind %lu) does not hold its bytes",
			  i, i % KINDS);
	}
	return 0;
}

static void verify(const char *results)
{
	char why[WHY_LEN];

	FAIL_IF(results, check_layout(why) < 0, "%s", why);
	FAIL_IF(results, check_bytes(why) < 0, "%s", why);
	report_to(results, "OK %lu mappings", nslots);
}

static int fence(unsigned char *at)
{
	return mmap(at, PAGE, PROT_NONE, MAP_FIXED | MAP_SHARED | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? -1 : 0;
}

static int make_slots(const char *dir)
{
	int libfd, datafd;

	snprintf(lib_path, sizeof(lib_path), "%s/manymaps-lib.dat", dir);
	snprintf(data_path, sizeof(data_path), "%s/manymaps-data.dat", dir);
	if (write_file(lib_path, 100) < 0 || write_file(data_path, 200) < 0)
		return -1;
	libfd = open(lib_path, O_RDONLY | O_CLOEXEC);
	datafd = open(data_path, O_RDONLY | O_CLOEXEC);
	if (libfd < 0 || datafd < 0)
		return -1;
	/* One reservation, then each page of it replaced by its slot: the
	 * slots are neighbours, so only their differences keep them apart.
	 * A fence page each side, shared (never merged with anything), keeps
	 * the end slots apart from whatever the program has next to them. */
	base = mmap(NULL, (nslots + 2) * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (base == MAP_FAILED)
		return -1;
	if (fence(base) < 0 || fence(base + (nslots + 1) * PAGE) < 0)
		return -1;
	base += PAGE;
	for (unsigned long i = 0; i < nslots; i++)
		if (map_slot(i, libfd, datafd) == MAP_FAILED || set_slot(i) < 0)
			return -1;
	close(libfd);
	close(datafd);
	return 0;
}

/* Usage: manymaps N RESULTS DIR: make N slots (the files they map in DIR),
 * print READY, and check them all on each SIGUSR2. */
int main(int argc, char **argv)
{
	if (argc != 4 || (nslots = strtoul(argv[1], NULL, 0)) < KINDS) {
		fprintf(stderr, "usage: manymaps N(>=%d) RESULTS DIR\n", KINDS);
		return 2;
	}
	if (make_slots(argv[3]) < 0) {
		perror("manymaps: making the slots");
		return 1;
	}
	signal(SIGUSR2, on_usr2);
	printf("READY slots=%lu base=%p\n", nslots, (void *)base);
	fflush(stdout);
	serve_verify(&verify_requested, verify, argv[2]);
}
