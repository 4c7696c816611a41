/* restore_memory_flags: mappings with every flag a program can set on them
 * (madvise, mlock, mseal, MAP_NORESERVE) and mappings of files opened for
 * writing or not; on SIGUSR2 checks their bytes and what their files allow. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "report.h"

#define PAGE 4096
#define PAGES 8
#define LEN (PAGES * PAGE)
#ifndef SYS_mseal
#define SYS_mseal 462
#endif

struct flagged {
	const char *what;
	unsigned char *p;
};

static volatile sig_atomic_t verify_requested;
static struct flagged maps[32];
static int nmaps;
static unsigned char *rw_file_map, *ro_file_map, *forced_map;

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}

static unsigned char pattern(int which, size_t i)
{
	return (unsigned char)(which * 41 + i * 11 + (i >> 12));
}

static unsigned char *anon(int prot, int flags)
{
	/* Each apart from the others, so that the kernel cannot merge two. */
	unsigned char *p = mmap(NULL, LEN + PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || munmap(p + LEN, PAGE) < 0 ||
	    mmap(p, LEN, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | flags, -1, 0) == MAP_FAILED) {
		perror("restore_memory_flags: mmap");
		exit(1);
	}
	return p;
}

static unsigned char *filled(const char *what, int flags)
{
	unsigned char *p = anon(PROT_READ | PROT_WRITE, flags);

	for (size_t i = 0; i < LEN; i++)
		p[i] = pattern(nmaps, i);
	maps[nmaps].what = what;
	maps[nmaps++].p = p;
	return p;
}

/* advice refused by this kernel (THP or KSM not built in) leaves the
 * mapping as it is: the test compares whatever flags it has. */
static void advise(const char *what, int advice)
{
	unsigned char *p = filled(what, 0);

	if (madvise(p, LEN, advice) < 0)
		fprintf(stderr, "restore_memory_flags: madvise for %s: %s (left out)\n", what,
			strerror(errno));
}

/* Shared anonymous memory with a name, "[anon_shmem:flags-shm]", where the
 * kernel names shared memory (else it stays "/dev/zero (deleted)"). */
static void name_shared_memory(void)
{
	unsigned char *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("restore_memory_flags: shared memory");
		exit(1);
	}
	if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, p, LEN, "flags-shm") < 0)
		fprintf(stderr, "restore_memory_flags: naming shared memory: %s (left unnamed)\n",
			strerror(errno));
	for (size_t i = 0; i < LEN; i++)
		p[i] = pattern(nmaps, i);
	maps[nmaps].what = "named shared memory";
	maps[nmaps++].p = p;
}

static void set_up_flags(void)
{
	unsigned char *p;

	advise("MADV_DONTFORK", MADV_DONTFORK);
	advise("MADV_DONTDUMP", MADV_DONTDUMP);
	advise("MADV_WIPEONFORK", MADV_WIPEONFORK);
	advise("MADV_HUGEPAGE", MADV_HUGEPAGE);
	advise("MADV_NOHUGEPAGE", MADV_NOHUGEPAGE);
	advise("MADV_MERGEABLE", MADV_MERGEABLE);
	advise("MADV_SEQUENTIAL", MADV_SEQUENTIAL);
	advise("MADV_RANDOM", MADV_RANDOM);
	filled("MAP_NORESERVE", MAP_NORESERVE);
	p = filled("mlock", 0);
	if (mlock(p, LEN) < 0)
		perror("restore_memory_flags: mlock");
	p = anon(PROT_READ | PROT_WRITE, 0);
	for (size_t i = 0; i < LEN / 2; i++)
		p[i] = pattern(nmaps, i);
	maps[nmaps].what = "mlock2(MLOCK_ONFAULT), half touched";
	maps[nmaps++].p = p;
	if (mlock2(p, LEN, MLOCK_ONFAULT) < 0)
		perror("restore_memory_flags: mlock2");
	p = filled("written, then read-only", 0);
	mprotect(p, LEN, PROT_READ);
	p = filled("sealed, read-only", 0);
	mprotect(p, LEN, PROT_READ);
	if (syscall(SYS_mseal, p, LEN, 0) < 0)
		fprintf(stderr, "restore_memory_flags: mseal: %s (left out)\n", strerror(errno));
	maps[nmaps].what = "never writable";
	maps[nmaps++].p = anon(PROT_READ, 0);
	name_shared_memory();
}

static int check_bytes(int k, char *why)
{
	const unsigned char *p = maps[k].p;
	size_t len = strstr(maps[k].what, "half") ? LEN / 2 : LEN;

	if (!strcmp(maps[k].what, "never writable"))
		len = 0;
	for (size_t i = 0; i < LEN; i++) {
		unsigned char want = i < len ? pattern(k, i) : 0;

		CHECK_WHY(p[i] != want, "the %s mapping: byte %zu is 0x%02x, want 0x%02x",
			  maps[k].what, i, p[i], want);
	}
	return 0;
}

static int check_files(char *why)
{
	CHECK_WHY(rw_file_map[5] != pattern(50, 5), "the read-only view of the read-write file "
		  "lost its bytes");
	for (size_t i = 0; i < 2 * PAGE; i++)
		CHECK_WHY(forced_map[i] != pattern(i < PAGE ? 50 : 51, i < PAGE ? i : i - PAGE),
			  "the read-only private map with a page changed through /proc/self/mem: "
			  "byte %zu is 0x%02x", i, forced_map[i]);
	CHECK_WHY(mprotect(rw_file_map, LEN, PROT_READ | PROT_WRITE) < 0,
		  "mprotect(PROT_WRITE) of a shared map of a file opened O_RDWR: %s", strerror(errno));
	rw_file_map[5] ^= 0xff;
	rw_file_map[5] ^= 0xff;
	CHECK_WHY(mprotect(rw_file_map, LEN, PROT_READ) < 0, "mprotect(PROT_READ) back: %s",
		  strerror(errno));
	CHECK_WHY(mprotect(forced_map, LEN, PROT_READ | PROT_WRITE) < 0,
		  "mprotect(PROT_WRITE) of a private map of a file opened O_RDONLY: %s",
		  strerror(errno));
	CHECK_WHY(mprotect(forced_map, LEN, PROT_READ) < 0, "mprotect(PROT_READ) back: %s",
		  strerror(errno));
	CHECK_WHY(mprotect(ro_file_map, LEN, PROT_READ | PROT_WRITE) == 0,
		  "mprotect(PROT_WRITE) of a shared map of a file opened O_RDONLY succeeded");
	CHECK_WHY(errno != EACCES, "mprotect(PROT_WRITE) of a shared map of a file opened "
		  "O_RDONLY: %s, want EACCES", strerror(errno));
	return 0;
}

static void verify(const char *results)
{
	char why[WHY_LEN];

	for (int k = 0; k < nmaps; k++)
		if (check_bytes(k, why) < 0) {
			report_to(results, "FAIL %s", why);
			return;
		}
	if (check_files(why) < 0) {
		report_to(results, "FAIL %s", why);
		return;
	}
	report_to(results, "OK %d flagged mappings keep their bytes; a shared map of a file "
		  "opened O_RDWR can be made writable, one of a file opened O_RDONLY cannot, a "
		  "private one can", nmaps);
}

static unsigned char *map_file(const char *path, int oflags)
{
	int fd = open(path, oflags | O_CLOEXEC);
	unsigned char *p;

	if (fd < 0) {
		perror("restore_memory_flags: open");
		exit(1);
	}
	p = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("restore_memory_flags: mmap of a file");
		exit(1);
	}
	close(fd);
	return p;
}

/* A private read-only map of a file never made writable (no "ac"), one of
 * whose pages a debugger changed: written through /proc/self/mem, which
 * copies the page on write without the mapping being writable. */
static void force_a_copy(const char *path)
{
	unsigned char page[PAGE];
	int fd = open(path, O_RDONLY | O_CLOEXEC), mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);

	forced_map = fd < 0 ? MAP_FAILED : mmap(NULL, LEN, PROT_READ, MAP_PRIVATE, fd, 0);
	for (size_t i = 0; i < PAGE; i++)
		page[i] = pattern(51, i);
	if (forced_map == MAP_FAILED || mem < 0 ||
	    pwrite(mem, page, PAGE, (off_t)(unsigned long)(forced_map + PAGE)) != PAGE) {
		perror("restore_memory_flags: a page forced into a read-only map");
		exit(1);
	}
	close(mem);
	close(fd);
}

static void set_up_files(const char *dir)
{
	char rw[4096], ro[4096];
	unsigned char buf[LEN];
	int fd, fd2;

	snprintf(rw, sizeof(rw), "%s/flags-rw.dat", dir);
	snprintf(ro, sizeof(ro), "%s/flags-ro.dat", dir);
	for (size_t i = 0; i < LEN; i++)
		buf[i] = pattern(50, i);
	fd = open(rw, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	fd2 = open(ro, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fd2 < 0 || write(fd, buf, LEN) != LEN || write(fd2, buf, LEN) != LEN) {
		perror("restore_memory_flags: files");
		exit(1);
	}
	close(fd);
	close(fd2);
	rw_file_map = map_file(rw, O_RDWR);
	ro_file_map = map_file(ro, O_RDONLY);
	force_a_copy(ro);
}

/* Usage: restore_memory_flags RESULTS DIR */
int main(int argc, char **argv)
{
	struct sigaction sa;

	if (argc != 3) {
		fprintf(stderr, "usage: restore_memory_flags RESULTS DIR\n");
		return 2;
	}
	close_range(3, ~0U, 0);
	set_up_flags();
	set_up_files(argv[2]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	printf("READY pid=%d\n", (int)getpid());
	fflush(stdout);
	serve_verify(&verify_requested, verify, argv[1]);
}
