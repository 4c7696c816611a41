/* restore_fd_file: files (read-only, O_APPEND, O_RDWR|O_NONBLOCK, tmpfs, two deleted while open, a dup'ed pair),
 * a directory and 4 devices, some close-on-exec; on SIGUSR2 checks flags, offsets, inodes, content via each fd. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define RO_TEXT "procsnap read-only file\n"
#define RO_POS 5
#define APP_TEXT "app line 1\napp line 2\n"
#define APP_POS 2             /* O_APPEND writes go to the end whatever the offset */
#define APP_MSG "appended by verify\n"
#define RW_SIZE 4096
#define RW_POS 1000
#define SHM_TEXT "tmpfs-content\n"
#define SHM_POS 3
#define DEL_HEAD 10000        /* pattern bytes at the start of the deleted file */
#define DEL_TAIL_AT (1 << 20) /* and more at 1 MiB, with a hole between */
#define DEL_TAIL 100
#define DEL_SIZE (DEL_TAIL_AT + DEL_TAIL)
#define DEL_POS 7
#define DELRO_TEXT "readonly-deleted\n"
#define DELRO_POS 2
#define SHARED_SIZE 64
#define SHARED_POS 10         /* of the dup'ed pair */
#define SEPARATE_POS 20       /* of the separate open of the same file */
#define KNOWN_TEXT "known\n"
#define DIR_FD 42             /* the directory sits at a number of its own choosing */

/* The flags verify compares (F_GETFL also shows O_LARGEFILE, O_DIRECTORY...). */
#define CHECKED_FLAGS (O_ACCMODE | O_APPEND | O_NONBLOCK)

enum { RO, APP, RW, SHM, DEL, DELRO, SA, SB, SC, DIRF, DNULL, DZERO, DURANDOM, DRANDOM, NHELD };

/* Every descriptor the program holds, with the state verify expects back. */
struct held {
	const char *name;     /* its key in the READY line */
	int fd;
	int flags;            /* of CHECKED_FLAGS */
	int cloexec;
	struct stat st;       /* at setup: the restore must reopen the very same file */
};

static struct held held[NHELD] = {
	[RO] = { "ro", -1, O_RDONLY, 1 },
	[APP] = { "app", -1, O_WRONLY | O_APPEND, 0 },
	[RW] = { "rw", -1, O_RDWR | O_NONBLOCK, 0 },
	[SHM] = { "tmpfs", -1, O_RDWR, 0 },
	[DEL] = { "del", -1, O_RDWR, 0 },
	[DELRO] = { "delro", -1, O_RDONLY, 1 },
	[SA] = { "sa", -1, O_RDWR, 1 },   /* dup() of it clears CLOEXEC: per fd, not per file */
	[SB] = { "sb", -1, O_RDWR, 0 },
	[SC] = { "sc", -1, O_RDWR, 0 },
	[DIRF] = { "dir", -1, O_RDONLY, 1 },
	[DNULL] = { "null", -1, O_RDWR, 0 },
	[DZERO] = { "zero", -1, O_RDONLY, 0 },
	[DURANDOM] = { "urandom", -1, O_RDONLY, 0 },
	[DRANDOM] = { "random", -1, O_RDONLY | O_NONBLOCK, 0 },
};

static volatile sig_atomic_t verify_requested;
static char shm_path[64];

static void on_usr2(int sig)
{
	verify_requested = 1;
}

/* Byte i of the pattern files: letters that do not repeat every few bytes,
 * so that a wrong offset reads different bytes. */
static char pattern(size_t i)
{
	return (char)('a' + (i * 7 + i / 26) % 26);
}

static void fill_pattern(char *buf, size_t at, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern(at + i);
}

/* ---- setup ---- */

static void die(const char *what, const char *path)
{
	fprintf(stderr, "restore_fd_file: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void make_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		die("cannot write", path);
	close(fd);
}

/* Open path into held[i] with its flags and close-on-exec, at offset pos. */
static void hold(int i, const char *path, int extra, off_t pos)
{
	struct held *h = &held[i];

	h->fd = open(path, h->flags | extra | (h->cloexec ? O_CLOEXEC : 0), 0644);
	if (h->fd < 0 || (pos && lseek(h->fd, pos, SEEK_SET) != pos))
		die("cannot open", path);
	if (fstat(h->fd, &h->st) != 0)
		die("cannot fstat", path);
}

static void setup_files(const char *dir)
{
	char path[4096], rw[RW_SIZE], shared[SHARED_SIZE];

	snprintf(path, sizeof(path), "%s/ro", dir);
	make_file(path, RO_TEXT, strlen(RO_TEXT));
	hold(RO, path, 0, RO_POS);

	snprintf(path, sizeof(path), "%s/app", dir);
	make_file(path, APP_TEXT, strlen(APP_TEXT));
	hold(APP, path, 0, APP_POS);

	snprintf(path, sizeof(path), "%s/rw", dir);
	fill_pattern(rw, 0, sizeof(rw));
	make_file(path, rw, sizeof(rw));
	hold(RW, path, 0, RW_POS);

	snprintf(shm_path, sizeof(shm_path), "/dev/shm/procsnap-fd-files-%d", (int)getpid());
	make_file(shm_path, SHM_TEXT, strlen(SHM_TEXT));
	hold(SHM, shm_path, 0, SHM_POS);

	snprintf(path, sizeof(path), "%s/shared", dir);
	fill_pattern(shared, 0, sizeof(shared));
	make_file(path, shared, sizeof(shared));
	hold(SA, path, 0, SHARED_POS);
	held[SB].fd = dup(held[SA].fd);   /* one open file: one offset, two fds */
	if (held[SB].fd < 0 || fstat(held[SB].fd, &held[SB].st) != 0)
		die("cannot dup", path);
	hold(SC, path, 0, SEPARATE_POS);   /* the same file opened again: its own offset */

	snprintf(path, sizeof(path), "%s/known-file", dir);
	make_file(path, KNOWN_TEXT, strlen(KNOWN_TEXT));
}

/* Two files unlinked while open: only the image can bring their bytes back. */
static void setup_deleted(const char *dir)
{
	char path[4096], head[DEL_HEAD], tail[DEL_TAIL];

	snprintf(path, sizeof(path), "%s/deleted", dir);
	hold(DEL, path, O_CREAT | O_TRUNC, 0);
	fill_pattern(head, 0, sizeof(head));
	fill_pattern(tail, DEL_TAIL_AT, sizeof(tail));
	if (pwrite(held[DEL].fd, head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
	    pwrite(held[DEL].fd, tail, sizeof(tail), DEL_TAIL_AT) != (ssize_t)sizeof(tail) ||
	    lseek(held[DEL].fd, DEL_POS, SEEK_SET) != DEL_POS || unlink(path) != 0)
		die("cannot fill and unlink", path);

	snprintf(path, sizeof(path), "%s/deleted-ro", dir);
	make_file(path, DELRO_TEXT, strlen(DELRO_TEXT));
	hold(DELRO, path, 0, DELRO_POS);
	if (unlink(path) != 0)
		die("cannot unlink", path);
}

static void setup_dir_and_devices(const char *dir)
{
	int fd;

	hold(DIRF, dir, O_DIRECTORY, 0);
	fd = held[DIRF].fd;
	held[DIRF].fd = dup3(fd, DIR_FD, O_CLOEXEC);
	if (held[DIRF].fd != DIR_FD)
		die("cannot move to fd 42 the directory", dir);
	close(fd);
	hold(DNULL, "/dev/null", 0, 0);
	hold(DZERO, "/dev/zero", 0, 0);
	hold(DURANDOM, "/dev/urandom", 0, 0);
	hold(DRANDOM, "/dev/random", 0, 0);
}

/* ---- verify: each check says why it failed in why[WHY_LEN] (CHECK_WHY) ---- */

static off_t pos_of(int i)
{
	return lseek(held[i].fd, 0, SEEK_CUR);
}

/* Flags, close-on-exec, and for files the same inode as at setup. */
static int check_common(int i, char *why)
{
	const struct held *h = &held[i];
	int fl = fcntl(h->fd, F_GETFL), fdfl = fcntl(h->fd, F_GETFD);
	struct stat st;

	CHECK_WHY(fl < 0 || fdfl < 0 || fstat(h->fd, &st) != 0, "fd %d (%s): %s", h->fd, h->name, strerror(errno));
	CHECK_WHY((fl & CHECKED_FLAGS) != h->flags, "fd %d (%s): F_GETFL 0%o, want 0%o in O_ACCMODE|O_APPEND|O_NONBLOCK",
	      h->fd, h->name, fl & CHECKED_FLAGS, h->flags);
	CHECK_WHY(!!(fdfl & FD_CLOEXEC) != h->cloexec, "fd %d (%s): FD_CLOEXEC is %d, want %d",
	      h->fd, h->name, !!(fdfl & FD_CLOEXEC), h->cloexec);
	CHECK_WHY((st.st_mode & S_IFMT) != (h->st.st_mode & S_IFMT), "fd %d (%s): file type 0%o, want 0%o",
	      h->fd, h->name, st.st_mode & S_IFMT, h->st.st_mode & S_IFMT);
	if (i == DEL || i == DELRO)
		return 0;   /* recreated from the image: a new inode */
	CHECK_WHY(S_ISCHR(st.st_mode) && st.st_rdev != h->st.st_rdev, "fd %d (%s): device %u:%u, want %u:%u",
	      h->fd, h->name, major(st.st_rdev), minor(st.st_rdev), major(h->st.st_rdev), minor(h->st.st_rdev));
	CHECK_WHY(!S_ISCHR(st.st_mode) && (st.st_dev != h->st.st_dev || st.st_ino != h->st.st_ino),
	      "fd %d (%s): inode %lu on dev 0x%lx, want %lu on 0x%lx: another file", h->fd, h->name,
	      (unsigned long)st.st_ino, (unsigned long)st.st_dev, (unsigned long)h->st.st_ino,
	      (unsigned long)h->st.st_dev);
	return 0;
}

/* read() at the current offset must return exactly want. */
static int check_read(int i, const char *want, size_t len, char *why)
{
	char buf[64] = "";
	ssize_t n;

	n = read(held[i].fd, buf, len);
	CHECK_WHY(n != (ssize_t)len || memcmp(buf, want, len) != 0,
	      "fd %d (%s): read returned %zd '%.*s', want %zu '%.*s'",
	      held[i].fd, held[i].name, n, n > 0 ? (int)n : 0, buf, len, (int)len, want);
	return 0;
}

static int check_ro(char *why)
{
	off_t pos = pos_of(RO);

	CHECK_WHY(pos != RO_POS, "fd %d (ro): offset %lld, want %d", held[RO].fd, (long long)pos, RO_POS);
	return check_read(RO, RO_TEXT + RO_POS, 8, why);
}

/* The offset is as saved, yet a write lands at the end of the file; read
 * back through a reopening of the fd itself (it is write-only). */
static int check_app(char *why)
{
	const int fd = held[APP].fd, len = (int)strlen(APP_MSG);
	char buf[64] = "", self[64];
	struct stat st;
	off_t pos = pos_of(APP), size;
	ssize_t n;
	int rfd;

	CHECK_WHY(pos != APP_POS, "fd %d (app): offset %lld, want %d", fd, (long long)pos, APP_POS);
	CHECK_WHY(fstat(fd, &st) != 0, "fd %d (app): fstat: %s", fd, strerror(errno));
	size = st.st_size;   /* an earlier restore of the same image may have appended */
	n = write(fd, APP_MSG, len);
	CHECK_WHY(n != len,
	      "fd %d (app): write returned %zd (%s), want %d", fd, n, n < 0 ? strerror(errno) : "short", len);
	pos = pos_of(APP);
	CHECK_WHY(fstat(fd, &st) != 0 || st.st_size != size + len || pos != size + len,
	      "fd %d (app): a %d-byte write left size %lld, offset %lld; want both %lld (O_APPEND lost?)",
	      fd, len, (long long)st.st_size, (long long)pos, (long long)(size + len));
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	rfd = open(self, O_RDONLY | O_CLOEXEC);
	CHECK_WHY(rfd < 0, "cannot reopen %s for reading: %s", self, strerror(errno));
	n = pread(rfd, buf, len, size);
	close(rfd);
	CHECK_WHY(n != len || memcmp(buf, APP_MSG, len) != 0,
	      "fd %d (app): the file's last %d bytes are '%.*s', want '%s'",
	      fd, len, n > 0 ? (int)n : 0, buf, APP_MSG);
	return 0;
}

/* Reads and writes at the saved offset (writing back the bytes that are
 * there, so that a later restore of the same image finds them unchanged). */
static int check_rw(char *why)
{
	char want[16], buf[16];
	struct stat st;
	off_t pos = pos_of(RW);
	ssize_t n;

	CHECK_WHY(pos != RW_POS, "fd %d (rw): offset %lld, want %d", held[RW].fd, (long long)pos, RW_POS);
	CHECK_WHY(fstat(held[RW].fd, &st) != 0 || st.st_size != RW_SIZE, "fd %d (rw): size %lld, want %d",
	      held[RW].fd, (long long)st.st_size, RW_SIZE);
	fill_pattern(want, RW_POS, sizeof(want));
	if (check_read(RW, want, sizeof(want), why))
		return -1;
	fill_pattern(want, RW_POS + 16, sizeof(want));
	n = write(held[RW].fd, want, sizeof(want));
	pos = pos_of(RW);
	CHECK_WHY(n != (ssize_t)sizeof(want) || pos != RW_POS + 32,
	      "fd %d (rw): write returned %zd (%s), offset then %lld, want 16 and %d",
	      held[RW].fd, n, n < 0 ? strerror(errno) : "ok", (long long)pos, RW_POS + 32);
	n = pread(held[RW].fd, buf, sizeof(buf), RW_POS + 16);
	CHECK_WHY(n != (ssize_t)sizeof(buf) || memcmp(buf, want, sizeof(buf)) != 0,
	      "fd %d (rw): pread after the write returned %zd other bytes", held[RW].fd, n);
	return 0;
}

static int check_shm(char *why)
{
	struct statfs fs;
	off_t pos = pos_of(SHM);

	CHECK_WHY(fstatfs(held[SHM].fd, &fs) != 0 || fs.f_type != TMPFS_MAGIC,
	      "fd %d (%s): filesystem type 0x%lx, want tmpfs 0x%x",
	      held[SHM].fd, shm_path, (unsigned long)fs.f_type, TMPFS_MAGIC);
	CHECK_WHY(pos != SHM_POS, "fd %d (%s): offset %lld, want %d", held[SHM].fd, shm_path, (long long)pos, SHM_POS);
	return check_read(SHM, SHM_TEXT + SHM_POS, strlen(SHM_TEXT) - SHM_POS, why);
}

/* pread of len bytes at at must give the pattern there (or zeros in the hole). */
static int check_pattern(int fd, size_t at, size_t len, int zeros, char *why)
{
	static char buf[DEL_HEAD], want[DEL_HEAD];
	ssize_t n = pread(fd, buf, len, (off_t)at);
	size_t i;

	if (zeros)
		memset(want, 0, len);
	else
		fill_pattern(want, at, len);
	CHECK_WHY(n != (ssize_t)len, "fd %d (del): pread of %zu bytes at %zu returned %zd", fd, len, at, n);
	for (i = 0; i < len && buf[i] == want[i]; i++)
		;
	CHECK_WHY(i < len, "fd %d (del): byte %zu is 0x%02x, want 0x%02x", fd, at + i, (unsigned char)buf[i],
	      (unsigned char)want[i]);
	return 0;
}

static int check_deleted(char *why)
{
	const int fd = held[DEL].fd;
	char want[5];
	struct stat st;
	off_t pos = pos_of(DEL);

	CHECK_WHY(fstat(fd, &st) != 0, "fd %d (del): fstat: %s", fd, strerror(errno));
	CHECK_WHY(st.st_nlink != 0,
	      "fd %d (del): st_nlink %lu, want 0: the file has a name", fd, (unsigned long)st.st_nlink);
	CHECK_WHY(st.st_size != DEL_SIZE, "fd %d (del): size %lld, want %d", fd, (long long)st.st_size, DEL_SIZE);
	CHECK_WHY(pos != DEL_POS, "fd %d (del): offset %lld, want %d", fd, (long long)pos, DEL_POS);
	if (check_pattern(fd, 0, DEL_HEAD, 0, why) || check_pattern(fd, DEL_TAIL_AT, DEL_TAIL, 0, why) ||
	    check_pattern(fd, DEL_TAIL_AT / 2, 4096, 1, why))
		return -1;
	fill_pattern(want, DEL_POS, sizeof(want));
	return check_read(DEL, want, sizeof(want), why);
}

static int check_deleted_ro(char *why)
{
	const int fd = held[DELRO].fd;
	struct stat st;
	off_t pos = pos_of(DELRO);
	ssize_t n;

	CHECK_WHY(fstat(fd, &st) != 0, "fd %d (delro): fstat: %s", fd, strerror(errno));
	CHECK_WHY(st.st_nlink != 0, "fd %d (delro): st_nlink %lu, want 0", fd, (unsigned long)st.st_nlink);
	CHECK_WHY(st.st_size != (off_t)strlen(DELRO_TEXT),
	      "fd %d (delro): size %lld, want %zu", fd, (long long)st.st_size,
	      strlen(DELRO_TEXT));
	CHECK_WHY(pos != DELRO_POS, "fd %d (delro): offset %lld, want %d", fd, (long long)pos, DELRO_POS);
	if (check_read(DELRO, DELRO_TEXT + DELRO_POS, strlen(DELRO_TEXT) - DELRO_POS, why))
		return -1;
	n = write(fd, "x", 1);
	CHECK_WHY(n != -1 || errno != EBADF, "fd %d (delro): write returned %zd (%s), want EBADF: not read-only", fd, n,
	      n < 0 ? strerror(errno) : "written");
	return 0;
}

/* sa and sb share one offset; sc, a separate open, has its own. */
static int check_shared(char *why)
{
	off_t a = pos_of(SA), b = pos_of(SB), c = pos_of(SC);

	CHECK_WHY(a != SHARED_POS || b != SHARED_POS || c != SEPARATE_POS,
	      "offsets sa %lld sb %lld sc %lld, want %d %d %d",
	      (long long)a, (long long)b, (long long)c, SHARED_POS, SHARED_POS, SEPARATE_POS);
	lseek(held[SA].fd, 30, SEEK_SET);
	b = pos_of(SB);
	c = pos_of(SC);
	CHECK_WHY(b != 30 || c != SEPARATE_POS,
	      "after lseek(sa, 30): sb at %lld, sc at %lld, want 30 (shared) and %d (not)",
	      (long long)b, (long long)c, SEPARATE_POS);
	lseek(held[SC].fd, 40, SEEK_SET);
	a = pos_of(SA);
	b = pos_of(SB);
	CHECK_WHY(a != 30 || b != 30,
	      "after lseek(sc, 40): sa at %lld, sb at %lld, want both 30", (long long)a, (long long)b);
	return 0;
}

static int check_dir(char *why)
{
	char buf[16] = "";
	ssize_t n;
	int fd;

	fd = openat(held[DIRF].fd, "known-file", O_RDONLY | O_CLOEXEC);
	CHECK_WHY(fd < 0, "fd %d (dir): openat(known-file): %s", held[DIRF].fd, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	CHECK_WHY(n != (ssize_t)strlen(KNOWN_TEXT) || memcmp(buf, KNOWN_TEXT, n) != 0,
	      "fd %d (dir): known-file reads %zd bytes '%s', want '%s'",
	      held[DIRF].fd, n, n > 0 ? buf : "", KNOWN_TEXT);
	return 0;
}

static int check_devices(char *why)
{
	char buf[64];
	ssize_t n;

	n = write(held[DNULL].fd, "gone\n", 5);
	CHECK_WHY(n != 5,
	      "fd %d (/dev/null): write returned %zd (%s), want 5",
	      held[DNULL].fd, n, n < 0 ? strerror(errno) : "short");
	n = read(held[DNULL].fd, buf, sizeof(buf));
	CHECK_WHY(n != 0, "fd %d (/dev/null): read returned %zd, want 0", held[DNULL].fd, n);
	memset(buf, 0xff, sizeof(buf));
	n = read(held[DZERO].fd, buf, sizeof(buf));
	CHECK_WHY(n != (ssize_t)sizeof(buf),
	      "fd %d (/dev/zero): read returned %zd, want %zu", held[DZERO].fd, n, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		CHECK_WHY(buf[i] != 0, "fd %d (/dev/zero): byte %zu is 0x%02x", held[DZERO].fd, i, (unsigned char)buf[i]);
	n = read(held[DURANDOM].fd, buf, 16);
	CHECK_WHY(n != 16, "fd %d (/dev/urandom): read returned %zd (%s), want 16", held[DURANDOM].fd, n,
	      n < 0 ? strerror(errno) : "short");
	n = read(held[DRANDOM].fd, buf, 16);
	CHECK_WHY(n != 16, "fd %d (/dev/random): read returned %zd (%s), want 16", held[DRANDOM].fd, n,
	      n < 0 ? strerror(errno) : "short");
	return 0;
}

/* Once only: it moves offsets and appends. */
static void verify(const char *results)
{
	static int done;
	char why[WHY_LEN] = "";
	int ncloexec = 0;

	FAIL_IF(results, done++, "verification runs once only: the first one moved the offsets");
	for (int i = 0; i < NHELD; i++) {
		FAIL_IF(results, check_common(i, why), "%s", why);
		ncloexec += held[i].cloexec;
	}
	FAIL_IF(results, check_ro(why), "%s", why);
	FAIL_IF(results, check_app(why), "%s", why);
	FAIL_IF(results, check_rw(why), "%s", why);
	FAIL_IF(results, check_shm(why), "%s", why);
	FAIL_IF(results, check_deleted(why), "%s", why);
	FAIL_IF(results, check_deleted_ro(why), "%s", why);
	FAIL_IF(results, check_shared(why), "%s", why);
	FAIL_IF(results, check_dir(why), "%s", why);
	FAIL_IF(results, check_devices(why), "%s", why);
	report_to(results, "OK %d fds: flags, %d close-on-exec, offsets, inodes; append, tmpfs, two deleted files "
		  "(one of %d bytes with a hole), a shared offset, a directory, 4 devices",
	      NHELD, ncloexec, DEL_SIZE);
}

/* Usage: restore_fd_file RESULTS DIR */
int main(int argc, char **argv)
{
	struct sigaction sa;
	char ready[1024];
	int len;

	if (argc != 3) {
		fprintf(stderr, "usage: restore_fd_file RESULTS DIR\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	setup_files(argv[2]);
	setup_deleted(argv[2]);
	setup_dir_and_devices(argv[2]);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);

	len = snprintf(ready, sizeof(ready), "READY pid=%d", (int)getpid());
	for (int i = 0; i < NHELD; i++)
		len += snprintf(ready + len, sizeof(ready) - len, " %s=%d", held[i].name, held[i].fd);
	printf("%s shm=%s\n", ready, shm_path);
	fflush(stdout);
	serve_verify(&verify_requested, verify, argv[1]);
}
