/* restore_memory_gone_maps: mappings of files that are gone: a memfd mapped shared
 * with its fd kept, one mapped twice (read-write and read-only) after its fd
 * was closed, and a deleted file mapped privately with changed pages; on
 * SIGUSR2 checks the bytes, the sharing between mappings and with the fd. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "report.h"

#define LEN (64 * 1024)

static volatile sig_atomic_t verify_requested;
static int held_fd, deleted_fd;
static unsigned char *held_map, *rw_map, *ro_map, *priv_map;

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}

static unsigned char pattern(int which, size_t i)
{
	return (unsigned char)(which * 37 + i * 7 + (i >> 9));
}

static void fill(unsigned char *p, int which)
{
	for (size_t i = 0; i < LEN; i++)
		p[i] = pattern(which, i);
}

static int same(const unsigned char *p, int which, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (p[i] != pattern(which, i))
			return 0;
	return 1;
}

static void verify(const char *results)
{
	unsigned char byte = 0;

	FAIL_IF(results, !same(held_map, 1, 0, LEN), "the shared map of the held memfd lost its bytes");
	FAIL_IF(results, pread(held_fd, &byte, 1, 100) != 1 || byte != pattern(1, 100),
		"the held memfd's fd does not read what its mapping holds");
	held_map[100] ^= 0xff;
	FAIL_IF(results, pread(held_fd, &byte, 1, 100) != 1 || byte != (pattern(1, 100) ^ 0xff),
		"a write through the mapping is not seen through the fd: not the same file");
	held_map[100] ^= 0xff;
	FAIL_IF(results, !same(rw_map, 2, 0, LEN), "the closed memfd's read-write map lost its bytes");
	FAIL_IF(results, !same(ro_map, 2, 0, LEN), "the closed memfd's read-only map lost its bytes");
	rw_map[5] ^= 0xff;
	FAIL_IF(results, ro_map[5] != (pattern(2, 5) ^ 0xff),
		"a write through one map of the closed memfd is not seen through the other");
	rw_map[5] ^= 0xff;
	FAIL_IF(results, !same(priv_map, 3, 0, 4096), "the private map of the deleted file lost its changed page");
	FAIL_IF(results, !same(priv_map, 4, 4096, LEN), "the private map of the deleted file lost the file's pages");
	FAIL_IF(results, pread(deleted_fd, &byte, 1, 10) != 1 || byte != pattern(4, 10),
		"the private map's change leaked into the deleted file");
	report_to(results, "OK memfd shared with its fd, memfd mapped twice without one, deleted "
		  "file mapped privately: bytes and sharing as before");
}

static unsigned char *map(int fd, int prot, int flags)
{
	void *p = mmap(NULL, LEN, prot, flags, fd, 0);

	if (p == MAP_FAILED) {
		perror("restore_memory_gone_maps: mmap");
		exit(1);
	}
	return p;
}

/* Usage: restore_memory_gone_maps RESULTS DIR */
int main(int argc, char **argv)
{
	unsigned char *tmp;
	char path[4096];
	int closed_fd;
	struct sigaction sa;

	if (argc != 3) {
		fprintf(stderr, "usage: restore_memory_gone_maps RESULTS DIR\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	held_fd = memfd_create("gone-held", MFD_CLOEXEC);
	closed_fd = memfd_create("gone-closed", MFD_CLOEXEC);
	snprintf(path, sizeof(path), "%s/deleted", argv[2]);
	deleted_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (held_fd < 0 || closed_fd < 0 || deleted_fd < 0 || ftruncate(held_fd, LEN) < 0 ||
	    ftruncate(closed_fd, LEN) < 0) {
		perror("restore_memory_gone_maps: setup");
		return 1;
	}
	held_map = map(held_fd, PROT_READ | PROT_WRITE, MAP_SHARED);
	fill(held_map, 1);
	rw_map = map(closed_fd, PROT_READ | PROT_WRITE, MAP_SHARED);
	ro_map = map(closed_fd, PROT_READ, MAP_SHARED);
	fill(rw_map, 2);
	close(closed_fd);
	tmp = malloc(LEN);
	fill(tmp, 4);
	if (!tmp || write(deleted_fd, tmp, LEN) != LEN || unlink(path) < 0) {
		perror("restore_memory_gone_maps: the deleted file");
		return 1;
	}
	free(tmp);
	priv_map = map(deleted_fd, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	for (size_t i = 0; i < 4096; i++)
		priv_map[i] = pattern(3, i);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	printf("READY pid=%d held=%d deleted=%d\n", (int)getpid(), held_fd, deleted_fd);
	fflush(stdout);
	serve_verify(&verify_requested, verify, argv[1]);
}
