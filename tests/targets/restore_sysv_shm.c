/* restore_sysv_shm: two SysV segments of its own: one removed (IPC_RMID),
 * alive only through its attachment (left out with "live"), one still
 * present and attached twice (read-write with its first page made
 * read-only, and read-only); on SIGUSR2 checks
 * each by id (IPC_STAT: key, size, mode, removed, attachments, owner),
 * their bytes, the shared pages and the pieces' protections. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include "report.h"

#define GONE_SIZE (3 * 4096 + 100)
#define LIVE_SIZE (2 * 4096)

static volatile sig_atomic_t verify_requested;
static int with_gone = 1;
static int gone_id = -1, live_id;
static key_t live_key;
static unsigned char *gone_map, *live_rw, *live_ro;

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}

static unsigned char pattern(int which, size_t i)
{
	return (unsigned char)(which * 41 + i * 13 + (i >> 10));
}

static int same(const unsigned char *p, int which, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern(which, i))
			return 0;
	return 1;
}

static int check_segment(int id, key_t key, size_t size, unsigned mode, int removed,
			 unsigned long nattch, char *why)
{
	struct shmid_ds ds;

	CHECK_WHY(shmctl(id, IPC_STAT, &ds) < 0, "shmctl(%d, IPC_STAT): %s", id, strerror(errno));
	CHECK_WHY(ds.shm_perm.__key != key, "segment %d has key 0x%x, want 0x%x", id,
		  (unsigned)ds.shm_perm.__key, (unsigned)key);
	CHECK_WHY(ds.shm_segsz != size, "segment %d is %zu bytes, want %zu", id, ds.shm_segsz, size);
	CHECK_WHY((ds.shm_perm.mode & 0777) != mode, "segment %d has mode 0%o, want 0%o", id,
		  ds.shm_perm.mode & 0777, mode);
	CHECK_WHY(!!(ds.shm_perm.mode & SHM_DEST) != removed, "segment %d is %smarked removed", id,
		  removed ? "not " : "");
	CHECK_WHY(ds.shm_nattch != nattch, "segment %d has %lu attachments, want %lu", id,
		  (unsigned long)ds.shm_nattch, nattch);
	CHECK_WHY(ds.shm_perm.uid != getuid() || ds.shm_perm.cuid != getuid(),
		  "segment %d is owned by %u (made by %u)", id, ds.shm_perm.uid, ds.shm_perm.cuid);
	return 0;
}

static int check_bytes(char *why)
{
	CHECK_WHY(with_gone && !same(gone_map, 1, GONE_SIZE), "the removed segment lost its bytes");
	CHECK_WHY(!same(live_rw, 2, LIVE_SIZE), "the live segment's read-write attachment differs");
	CHECK_WHY(!same(live_ro, 2, LIVE_SIZE), "the live segment's read-only attachment differs");
	live_rw[4096 + 77] ^= 0xff;
	CHECK_WHY(live_ro[4096 + 77] != (pattern(2, 4096 + 77) ^ 0xff),
		  "a write through one attachment is not seen through the other");
	live_rw[4096 + 77] ^= 0xff;
	CHECK_WHY(shmget(live_key, 0, 0) != live_id, "key 0x%x no longer finds segment %d",
		  (unsigned)live_key, live_id);
	return 0;
}

/* The read-write attachment is in two pieces: its first page read-only. */
static int check_pieces(char *why)
{
	char line[512], want_ro[64], want_rw[64];
	int ro = 0, rw = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	snprintf(want_ro, sizeof(want_ro), "%lx-%lx r--s ", (unsigned long)live_rw,
		 (unsigned long)live_rw + 4096);
	snprintf(want_rw, sizeof(want_rw), "%lx-%lx rw-s ", (unsigned long)live_rw + 4096,
		 (unsigned long)live_rw + LIVE_SIZE);
	while (f && fgets(line, sizeof(line), f)) {
		ro |= !strncmp(line, want_ro, strlen(want_ro));
		rw |= !strncmp(line, want_rw, strlen(want_rw));
	}
	if (f)
		fclose(f);
	CHECK_WHY(!ro || !rw, "the read-write attachment is not a read-only page then a "
		  "read-write one (want \"%s\" and \"%s\")", want_ro, want_rw);
	return 0;
}

static void verify(const char *results)
{
	char why[WHY_LEN];

	if ((with_gone && check_segment(gone_id, IPC_PRIVATE, GONE_SIZE, 0640, 1, 1, why)) ||
	    /* two attachments, one split in two: the kernel counts each piece */
	    check_segment(live_id, live_key, LIVE_SIZE, 0604, 0, 3, why) || check_bytes(why) ||
	    check_pieces(why)) {
		report_to(results, "FAIL %s", why);
		return;
	}
	if (with_gone)
		report_to(results, "OK SysV segment %d (removed) and %d (key 0x%x, attached twice): "
			  "ids, keys, sizes, modes and bytes as before", gone_id, live_id,
			  (unsigned)live_key);
	else
		report_to(results, "OK SysV segment %d (key 0x%x, attached twice): id, key, size, "
			  "mode and bytes as before", live_id, (unsigned)live_key);
}

static void *attach(int id, int flags)
{
	void *p = shmat(id, NULL, flags);

	if (p == (void *)-1) {
		perror("restore_sysv_shm: shmat");
		exit(1);
	}
	return p;
}

static void make_gone(void)
{
	gone_id = shmget(IPC_PRIVATE, GONE_SIZE, IPC_CREAT | 0640);
	if (gone_id < 0) {
		perror("restore_sysv_shm: shmget");
		exit(1);
	}
	gone_map = attach(gone_id, 0);
	for (size_t i = 0; i < GONE_SIZE; i++)
		gone_map[i] = pattern(1, i);
	shmctl(gone_id, IPC_RMID, NULL);
}

/* Usage: restore_sysv_shm RESULTS KEY [live] */
int main(int argc, char **argv)
{
	struct sigaction sa;

	if (argc != 3 && !(argc == 4 && !strcmp(argv[3], "live"))) {
		fprintf(stderr, "usage: restore_sysv_shm RESULTS KEY [live]\n");
		return 2;
	}
	with_gone = argc == 3;
	live_key = (key_t)strtoul(argv[2], NULL, 0);
	if (with_gone)
		make_gone();
	live_id = shmget(live_key, LIVE_SIZE, IPC_CREAT | IPC_EXCL | 0604);
	if (live_id < 0) {
		perror("restore_sysv_shm: shmget");
		return 1;
	}
	live_rw = attach(live_id, 0);
	live_ro = attach(live_id, SHM_RDONLY);
	for (size_t i = 0; i < LIVE_SIZE; i++)
		live_rw[i] = pattern(2, i);
	if (mprotect(live_rw, 4096, PROT_READ) < 0) {
		perror("restore_sysv_shm: mprotect");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	printf("READY pid=%d gone=%d live=%d key=0x%x\n", (int)getpid(), gone_id, live_id,
	       (unsigned)live_key);
	fflush(stdout);
	serve_verify(&verify_requested, verify, argv[1]);
}
