/* restore_fd_anon: holds eventfds, timerfds (relative, absolute, expired, periodic unread), a signalfd with SIGUSR1
 * pending, an inotify fd and a sealed memfd; on SIGUSR2 checks each one's state through it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define MEMFD_NAME "procsnap-test"
#define MEMFD_DATA 10000     /* bytes of the pattern written */
#define MEMFD_SIZE 16384     /* then the size it is truncated to */
#define MEMFD_POS 123
#define MEMFD_SEALS (F_SEAL_SHRINK | F_SEAL_GROW)
#define EFD_COUNT 42
#define EFD_SEM_COUNT 3
#define MONO_VALUE_S 4       /* the relative timer's first expiry, then every 1 s */
#define RT_AHEAD_S 6         /* the absolute timer's expiry, from the start */
#define SLACK_NS 50000000LL  /* 50 ms: how early the absolute timer may look to fire */
#define PERIOD_NS 100000000LL /* the periodic timer's period, never read before the checkpoint */
#define NS 1000000000LL
#define PATH_BUF 256         /* DIR is a short path under the test's temporary directory */

static volatile sig_atomic_t verify_requested;

static struct fds {
	int efd, efd_sem;          /* eventfds: count 42; semaphore with count 3 */
	int tfd_mono, tfd_rt;      /* armed timerfds: relative monotonic, absolute realtime */
	int tfd_done;              /* a one-shot that expired and was never read */
	int tfd_periodic;          /* every 100 ms, expired many times unread */
	int sfd;                   /* signalfd for SIGUSR1 */
	int ino;                   /* inotify */
	int wd_a, wd_c;            /* its live watches (the one on b was removed) */
	int memfd;
} fds;

static struct timespec rt_at;        /* the absolute timer's expiry */
static struct timespec mono_armed;   /* CLOCK_MONOTONIC just after arming the relative one */
static struct timespec periodic_armed; /* CLOCK_MONOTONIC just before arming the periodic one */
static const char *dir;

static void on_usr2(int sig)
{
	verify_requested = 1;
}

/* The memfd's content: not periodic over 256 bytes, so that an offset error shows. The
 * test computes the same rule: byte i = (i * 131 + (i >> 8)) & 0xff. */
static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 131 + (i >> 8));
}

static long long ts_ns(const struct timespec *t)
{
	return (long long)t->tv_sec * NS + t->tv_nsec;
}

static long long now_ns(clockid_t clock)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return ts_ns(&t);
}

static void path_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* The value of "key" in /proc/self/fdinfo/<fd> (the text after it up to the line's
 * end), in out; 0 if found. With several lines of that key, the first. */
static int fdinfo_field(int fd, const char *key, char *out, size_t size)
{
	char path[64], line[512];
	size_t klen = strlen(key);
	FILE *f;
	int found = -1;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, size, "%s", line + klen + strspn(line + klen, " \t"));
		found = 0;
	}
	fclose(f);
	return found;
}

/* ---- checks: each returns NULL when right, else why (in the buffer below) ---- */

static char why[400];
#define BAD(...) (snprintf(why, sizeof(why), __VA_ARGS__), why)

static const char *check_flags(int fd, const char *what, int want_fd, int want_fl)
{
	int fdfl = fcntl(fd, F_GETFD), fl = fcntl(fd, F_GETFL);

	if (fdfl != want_fd || (fl & (O_ACCMODE | O_NONBLOCK)) != want_fl)
		return BAD("%s %d: F_GETFD 0x%x F_GETFL 0x%x, want F_GETFD 0x%x and O_ACCMODE|O_NONBLOCK "
			   "bits 0x%x", what, fd, fdfl, fl, want_fd, want_fl);
	return NULL;
}

static const char *check_eventfds(void)
{
	struct pollfd p = { .fd = fds.efd, .events = POLLIN };
	const char *bad;
	uint64_t v = 0;
	ssize_t r;
	int i;

	if ((bad = check_flags(fds.efd, "eventfd", FD_CLOEXEC, O_RDWR)) ||
	    (bad = check_flags(fds.efd_sem, "semaphore eventfd", 0, O_RDWR | O_NONBLOCK)))
		return bad;
	/* The first one blocks when empty: look before reading, so that a lost count fails. */
	if (poll(&p, 1, 0) != 1)
		return BAD("eventfd %d is not readable: its count %d is lost", fds.efd, EFD_COUNT);
	r = read(fds.efd, &v, sizeof(v));
	if (r != (ssize_t)sizeof(v) || v != EFD_COUNT)
		return BAD("eventfd %d: read returned %zd, count %" PRIu64 ", want %d", fds.efd, r, v, EFD_COUNT);
	/* Semaphore mode: 1 per read, EFD_SEM_COUNT times, then empty. */
	for (i = 1; i <= EFD_SEM_COUNT + 1; i++) {
		v = 0;
		r = read(fds.efd_sem, &v, sizeof(v));
		if (i <= EFD_SEM_COUNT && (r != (ssize_t)sizeof(v) || v != 1))
			return BAD("semaphore eventfd %d: read %d returned %zd (%s), value %" PRIu64 ", want 1",
				   fds.efd_sem, i, r, r < 0 ? strerror(errno) : "-", v);
		if (i > EFD_SEM_COUNT && (r >= 0 || errno != EAGAIN))
			return BAD("semaphore eventfd %d: read %d returned %zd (%s), value %" PRIu64 ", want "
				   "EAGAIN", fds.efd_sem, i, r, r < 0 ? strerror(errno) : "-", v);
	}
	return NULL;
}

/* fdinfo "clockid:" of a timerfd must be clock; with want_flags, "settime flags:"
 * must hold them too. */
static const char *check_timer_info(int fd, clockid_t clock, int want_flags)
{
	char v[64] = "";

	if (fdinfo_field(fd, "clockid:", v, sizeof(v)) != 0 || atoi(v) != (int)clock)
		return BAD("timerfd %d: fdinfo clockid '%s', want %d", fd, v, (int)clock);
	if (want_flags && (fdinfo_field(fd, "settime flags:", v, sizeof(v)) != 0 ||
			   (strtol(v, NULL, 8) & want_flags) != want_flags))
		return BAD("timerfd %d: fdinfo settime flags '%s', want 0%o set", fd, v, want_flags);
	return NULL;
}

/* Wait up to ms for fd to expire, then read its count (>= 1) into n. */
static int timer_wait(int fd, int ms, uint64_t *n)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	*n = 0;
	if (poll(&p, 1, ms) != 1)
		return -1;
	return read(fd, n, sizeof(*n)) == (ssize_t)sizeof(*n) && *n >= 1 ? 0 : -1;
}

/* The expired one-shot: disarmed, holding exactly its one unread expiration. */
static const char *check_expired_timer(void)
{
	struct itimerspec it;
	const char *bad;
	uint64_t n = 0;
	ssize_t r;

	if ((bad = check_timer_info(fds.tfd_done, CLOCK_MONOTONIC, 0)) ||
	    (bad = check_flags(fds.tfd_done, "expired timerfd", 0, O_RDWR | O_NONBLOCK)))
		return bad;
	if (timerfd_gettime(fds.tfd_done, &it) != 0 || ts_ns(&it.it_value) || ts_ns(&it.it_interval))
		return BAD("expired one-shot timerfd %d is armed: value %lld ns, interval %lld ns, want 0 and 0",
			   fds.tfd_done, ts_ns(&it.it_value), ts_ns(&it.it_interval));
	r = read(fds.tfd_done, &n, sizeof(n));
	if (r != (ssize_t)sizeof(n) || n != 1)
		return BAD("expired timerfd %d: read returned %zd (%s), count %" PRIu64 ", want its 1 unread "
			   "expiration at once", fds.tfd_done, r, r < 0 ? strerror(errno) : "-", n);
	r = read(fds.tfd_done, &n, sizeof(n));
	if (r >= 0 || errno != EAGAIN)
		return BAD("expired timerfd %d: a second read returned %zd (%s), want EAGAIN", fds.tfd_done,
			   r, r < 0 ? strerror(errno) : "a count");
	return NULL;
}

/*
 * The periodic timer, expired unread at the checkpoint: it keeps its period, its first
 * read returns every expiration it had (the test compares the count with the time from
 * arming to the checkpoint) and it goes on firing every period.
 */
static const char *check_periodic_timer(uint64_t *unread)
{
	struct itimerspec it;
	uint64_t n;
	ssize_t r;
	int i;

	if (timerfd_gettime(fds.tfd_periodic, &it) != 0 || ts_ns(&it.it_interval) != PERIOD_NS ||
	    ts_ns(&it.it_value) <= 0 || ts_ns(&it.it_value) > PERIOD_NS)
		return BAD("periodic timerfd %d: value %lld ns, interval %lld ns, want (0, %lld] and %lld",
			   fds.tfd_periodic, ts_ns(&it.it_value), ts_ns(&it.it_interval), PERIOD_NS, PERIOD_NS);
	r = read(fds.tfd_periodic, unread, sizeof(*unread));
	if (r != (ssize_t)sizeof(*unread) || *unread < 1)
		return BAD("periodic timerfd %d: read returned %zd (%s), want its unread expirations",
			   fds.tfd_periodic, r, r < 0 ? strerror(errno) : "a count of 0");
	for (i = 0; i < 3; i++)
		if (timer_wait(fds.tfd_periodic, (int)(10 * PERIOD_NS / 1000000), &n) != 0)
			return BAD("periodic timerfd %d: expiration %d after the first read did not come "
				   "within 10 periods", fds.tfd_periodic, i + 1);
	return NULL;
}

/* The relative timer as verify() found it on entry, before any wait: when (CLOCK_MONOTONIC),
 * how long it had left, whether it had expired. The test judges the time left against its
 * own clock: the time the process was dead must not count. */
static struct mono_seen {
	struct timespec at;
	struct itimerspec it;
	int expired;
} mono_seen;

static void look_at_mono_timer(void)
{
	struct pollfd p = { .fd = fds.tfd_mono, .events = POLLIN };

	clock_gettime(CLOCK_MONOTONIC, &mono_seen.at);
	if (timerfd_gettime(fds.tfd_mono, &mono_seen.it) != 0)
		memset(&mono_seen.it, 0, sizeof(mono_seen.it));
	mono_seen.expired = poll(&p, 1, 0) == 1;
}

/* The relative timer: it was armed for at most its first 4 s, every 1 s after, and expires. */
static const char *check_mono_timer(uint64_t *n)
{
	long long value = ts_ns(&mono_seen.it.it_value), interval = ts_ns(&mono_seen.it.it_interval);
	const char *bad;

	if ((bad = check_timer_info(fds.tfd_mono, CLOCK_MONOTONIC, 0)) ||
	    (bad = check_flags(fds.tfd_mono, "monotonic timerfd", 0, O_RDWR)))
		return bad;
	if (interval != NS)
		return BAD("monotonic timerfd %d: interval %lld ns, want 1 s", fds.tfd_mono, interval);
	if (value <= 0 || value > MONO_VALUE_S * NS)
		return BAD("monotonic timerfd %d: it_value %lld ns, want in (0, %d s]", fds.tfd_mono, value,
			   MONO_VALUE_S);
	if (timer_wait(fds.tfd_mono, 6000, n) != 0)
		return BAD("monotonic timerfd %d (it_value was %lld ns) did not expire within 6 s",
			   fds.tfd_mono, value);
	return NULL;
}

/* The absolute timer fires at its saved time, not before (50 ms slack); the
 * wait after that time is bounded generously. late: how long after it fired. */
static const char *check_rt_timer(long long *late)
{
	long long at = ts_ns(&rt_at), ahead, fired;
	const char *bad;
	uint64_t n;

	if ((bad = check_timer_info(fds.tfd_rt, CLOCK_REALTIME, TFD_TIMER_ABSTIME)) ||
	    (bad = check_flags(fds.tfd_rt, "realtime timerfd", 0, O_RDWR)))
		return bad;
	ahead = at - now_ns(CLOCK_REALTIME);
	if (timer_wait(fds.tfd_rt, (int)((ahead > 0 ? ahead : 0) / 1000000) + 3000, &n) != 0)
		return BAD("realtime timerfd %d did not expire within 3 s after its absolute time %lld.%09lld",
			   fds.tfd_rt, at / NS, at % NS);
	fired = now_ns(CLOCK_REALTIME);
	if (fired < at - SLACK_NS)
		return BAD("realtime timerfd %d fired at %lld.%09lld, %lld ms before its absolute time "
			   "%lld.%09lld", fds.tfd_rt, fired / NS, fired % NS, (at - fired) / 1000000,
			   at / NS, at % NS);
	*late = fired - at;
	return NULL;
}

/* SIGUSR1, sent by the test before the checkpoint, is read once through the
 * signalfd; the signalfd's mask is SIGUSR1 alone. */
static const char *check_signalfd(void)
{
	const unsigned long long want = 1ULL << (SIGUSR1 - 1);
	struct signalfd_siginfo si;
	char mask[64] = "";
	const char *bad;
	sigset_t set;
	ssize_t r;

	sigprocmask(SIG_BLOCK, NULL, &set);
	if (!sigismember(&set, SIGUSR1))
		return BAD("SIGUSR1 is no longer blocked");
	if ((bad = check_flags(fds.sfd, "signalfd", 0, O_RDWR | O_NONBLOCK)))
		return bad;
	if (fdinfo_field(fds.sfd, "sigmask:", mask, sizeof(mask)) != 0 || strtoull(mask, NULL, 16) != want)
		return BAD("signalfd %d: fdinfo sigmask '%s', want %016llx (SIGUSR1)", fds.sfd, mask, want);
	memset(&si, 0, sizeof(si));
	r = read(fds.sfd, &si, sizeof(si));
	if (r != (ssize_t)sizeof(si))
		return BAD("signalfd %d: read returned %zd (%s), want the pending SIGUSR1", fds.sfd, r,
			   r < 0 ? strerror(errno) : "short");
	if (si.ssi_signo != SIGUSR1 || si.ssi_code != SI_USER)
		return BAD("signalfd %d: ssi_signo %u ssi_code %d, want SIGUSR1 (%d) from kill (SI_USER, %d)",
			   fds.sfd, si.ssi_signo, si.ssi_code, SIGUSR1, SI_USER);
	r = read(fds.sfd, &si, sizeof(si));
	if (r >= 0 || errno != EAGAIN)
		return BAD("signalfd %d: a second read returned %zd (%s), want EAGAIN", fds.sfd, r,
			   r < 0 ? strerror(errno) : "another signal");
	return NULL;
}

/* The watch list in fdinfo is exactly wd_a on DIR/a for IN_CREATE and wd_c on
 * DIR/c for IN_MODIFY (the inode numbers say which directory). */
static const char *check_watch_list(void)
{
	char path[PATH_BUF], line[512], seen_list[200] = "";
	unsigned long ino, mask;
	struct stat a, c;
	int wd, seen = 0, right = 0;
	size_t used;
	FILE *f;

	path_in(path, sizeof(path), "a");
	if (stat(path, &a) != 0)
		return BAD("stat %s: %s", path, strerror(errno));
	path_in(path, sizeof(path), "c");
	if (stat(path, &c) != 0)
		return BAD("stat %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fds.ino);
	f = fopen(path, "re");
	if (!f)
		return BAD("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "inotify wd:%d ino:%lx sdev:%*x mask:%lx", &wd, &ino, &mask) != 3)
			continue;
		seen++;
		used = strlen(seen_list);
		snprintf(seen_list + used, sizeof(seen_list) - used, " wd %d ino %lu mask 0x%lx;", wd, ino, mask);
		if ((wd == fds.wd_a && ino == a.st_ino && mask == IN_CREATE) ||
		    (wd == fds.wd_c && ino == c.st_ino && mask == IN_MODIFY))
			right++;
	}
	fclose(f);
	if (seen != 2 || right != 2)
		return BAD("inotify %d watches:%s want exactly wd %d ino %lu mask 0x%x; wd %d ino %lu mask 0x%x",
			   fds.ino, seen ? seen_list : " none;", fds.wd_a, (unsigned long)a.st_ino, IN_CREATE,
			   fds.wd_c, (unsigned long)c.st_ino, IN_MODIFY);
	return NULL;
}

/* What the two watches must see: a file created in a, a write to c/file. */
static const char *make_events(void)
{
	char path[PATH_BUF];
	int fd;

	path_in(path, sizeof(path), "a/new-file");
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return BAD("create %s: %s", path, strerror(errno));
	close(fd);
	path_in(path, sizeof(path), "c/file");
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0 || write(fd, "more\n", 5) != 5)
		return BAD("append to %s: %s", path, strerror(errno));
	close(fd);
	return NULL;
}

/* The queue holds exactly IN_CREATE "new-file" on wd_a and IN_MODIFY on wd_c:
 * nothing left from before the checkpoint, no IN_IGNORED of a restore's own. */
static const char *read_events(void)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	int creates = 0, modifies = 0;
	ssize_t n, off;

	n = read(fds.ino, buf, sizeof(buf));
	if (n <= 0)
		return BAD("inotify %d: read returned %zd (%s), want two events", fds.ino, n,
			   n < 0 ? strerror(errno) : "nothing");
	for (off = 0; off < n; off += (ssize_t)(sizeof(*ev) + ev->len)) {
		ev = (const struct inotify_event *)(buf + off);
		if (ev->wd == fds.wd_a && ev->mask == IN_CREATE && ev->len && !strcmp(ev->name, "new-file"))
			creates++;
		else if (ev->wd == fds.wd_c && ev->mask == IN_MODIFY && ev->len && !strcmp(ev->name, "file"))
			modifies++;
		else
			return BAD("inotify %d: unexpected event wd %d mask 0x%x name '%s'", fds.ino, ev->wd,
				   (unsigned)ev->mask, ev->len ? ev->name : "");
	}
	if (creates != 1 || modifies != 1)
		return BAD("inotify %d: %d IN_CREATE 'new-file' on wd %d and %d IN_MODIFY 'file' on wd %d, "
			   "want 1 and 1", fds.ino, creates, fds.wd_a, modifies, fds.wd_c);
	return NULL;
}

static const char *check_inotify(int *new_wd)
{
	char path[PATH_BUF];
	const char *bad;

	if ((bad = check_flags(fds.ino, "inotify", 0, O_RDONLY | O_NONBLOCK)) ||
	    (bad = check_watch_list()) || (bad = make_events()) || (bad = read_events()))
		return bad;
	/* A watch added now must not take the number of a live one. */
	path_in(path, sizeof(path), "b");
	*new_wd = inotify_add_watch(fds.ino, path, IN_CREATE);
	if (*new_wd < 0)
		return BAD("inotify_add_watch(%s): %s", path, strerror(errno));
	if (*new_wd == fds.wd_a || *new_wd == fds.wd_c)
		return BAD("inotify %d: a new watch on %s got wd %d, the number of a live watch (%d, %d)",
			   fds.ino, path, *new_wd, fds.wd_a, fds.wd_c);
	return NULL;
}

static const char *check_memfd(void)
{
	static unsigned char buf[MEMFD_SIZE];
	char link[PATH_BUF] = "", path[64];
	const char *bad;
	struct stat st;
	ssize_t len;
	off_t pos;
	int seals, i;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fds.memfd);
	len = readlink(path, link, sizeof(link) - 1);
	link[len > 0 ? len : 0] = '\0';
	if (strcmp(link, "/memfd:" MEMFD_NAME " (deleted)") != 0)
		return BAD("memfd %d leads to '%s', want '/memfd:" MEMFD_NAME " (deleted)'", fds.memfd, link);
	if ((bad = check_flags(fds.memfd, "memfd", FD_CLOEXEC, O_RDWR)))
		return bad;
	pos = lseek(fds.memfd, 0, SEEK_CUR);
	if (pos != MEMFD_POS)
		return BAD("memfd %d: position %lld, want %d", fds.memfd, (long long)pos, MEMFD_POS);
	if (fstat(fds.memfd, &st) != 0 || st.st_size != MEMFD_SIZE)
		return BAD("memfd %d: size %lld, want %d", fds.memfd, (long long)st.st_size, MEMFD_SIZE);
	seals = fcntl(fds.memfd, F_GET_SEALS);
	if (seals != MEMFD_SEALS)
		return BAD("memfd %d: seals 0x%x, want 0x%x (F_SEAL_SHRINK|F_SEAL_GROW)", fds.memfd, seals,
			   MEMFD_SEALS);
	len = pread(fds.memfd, buf, sizeof(buf), 0);
	if (len != MEMFD_SIZE)
		return BAD("memfd %d: pread of %d bytes returned %zd", fds.memfd, MEMFD_SIZE, len);
	for (i = 0; i < MEMFD_SIZE; i++)
		if (buf[i] != (i < MEMFD_DATA ? pattern((size_t)i) : 0))
			return BAD("memfd %d: byte %d is 0x%02x, want 0x%02x", fds.memfd, i, buf[i],
				   i < MEMFD_DATA ? pattern((size_t)i) : 0);
	errno = 0;
	if (ftruncate(fds.memfd, 20000) == 0 || errno != EPERM)
		return BAD("memfd %d: ftruncate to 20000 %s, want EPERM (sealed)", fds.memfd,
			   errno ? strerror(errno) : "succeeded");
	return NULL;
}

/* Once only: it reads the counts, the signal, the expirations and the events.
 * The two armed timers come last, as waiting for them takes seconds; the absolute
 * one first, so that its wait can show whether it fires before its time. */
static void verify(const char *results)
{
	static int done;
	long long late = 0;
	uint64_t ticks = 0, unread = 0;
	int new_wd = -1;
	const char *bad;

	FAIL_IF(results, done++, "verification runs once only: the first one consumed the state");
	look_at_mono_timer();
	FAIL_IF(results, (bad = check_eventfds()), "%s", bad);
	FAIL_IF(results, (bad = check_expired_timer()), "%s", bad);
	FAIL_IF(results, (bad = check_periodic_timer(&unread)), "%s", bad);
	FAIL_IF(results, (bad = check_signalfd()), "%s", bad);
	FAIL_IF(results, (bad = check_inotify(&new_wd)), "%s", bad);
	FAIL_IF(results, (bad = check_memfd()), "%s", bad);
	FAIL_IF(results, (bad = check_rt_timer(&late)), "%s", bad);
	FAIL_IF(results, (bad = check_mono_timer(&ticks)), "%s", bad);
	report_to(results, "OK eventfds %d and semaphore %d; expired timerfd held 1; monotonic timerfd "
		  "fired (%" PRIu64 "); realtime timerfd fired %lld ms after its absolute time; signalfd "
		  "had the pending SIGUSR1; inotify events on wd %d and %d, new wd %d; memfd bytes, size, "
		  "seals, position; mono_at=%lld.%09ld mono_left=%lld.%09ld mono_expired=%d "
		  "periodic_unread=%" PRIu64, EFD_COUNT,
		  EFD_SEM_COUNT, ticks, late / 1000000, fds.wd_a, fds.wd_c, new_wd,
		  (long long)mono_seen.at.tv_sec, mono_seen.at.tv_nsec,
		  (long long)mono_seen.it.it_value.tv_sec, mono_seen.it.it_value.tv_nsec, mono_seen.expired,
		  unread);
}

/* ---- setup ---- */

static int make_dirs(void)
{
	static const char *const names[] = { "a", "b", "c" };
	char path[PATH_BUF];
	size_t i;
	int fd;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_in(path, sizeof(path), names[i]);
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return -1;
	}
	path_in(path, sizeof(path), "c/file");
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int setup_timers(void)
{
	struct itimerspec mono = { .it_interval = { 1, 0 }, .it_value = { MONO_VALUE_S, 0 } };
	struct itimerspec done = { .it_value = { 0, 1000000 } };
	struct itimerspec periodic = { { 0, PERIOD_NS }, { 0, PERIOD_NS } };
	struct itimerspec rt = { { 0, 0 }, { 0, 0 } };
	const struct timespec expire = { 0, 20 * 1000000 };

	fds.tfd_mono = timerfd_create(CLOCK_MONOTONIC, 0);
	fds.tfd_rt = timerfd_create(CLOCK_REALTIME, 0);
	fds.tfd_done = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	fds.tfd_periodic = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	if (fds.tfd_mono < 0 || fds.tfd_rt < 0 || fds.tfd_done < 0 || fds.tfd_periodic < 0)
		return -1;
	clock_gettime(CLOCK_REALTIME, &rt_at);
	rt_at.tv_sec += RT_AHEAD_S;
	rt.it_value = rt_at;
	if (timerfd_settime(fds.tfd_mono, 0, &mono, NULL) != 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &mono_armed);
	if (timerfd_settime(fds.tfd_rt, TFD_TIMER_ABSTIME, &rt, NULL) != 0 ||
	    timerfd_settime(fds.tfd_done, 0, &done, NULL) != 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &periodic_armed);
	if (timerfd_settime(fds.tfd_periodic, 0, &periodic, NULL) != 0)
		return -1;
	nanosleep(&expire, NULL);   /* the 1 ms one-shot expires, unread */
	return 0;
}

/* SIGUSR1 blocked, so that the one the test sends stays pending for the signalfd. */
static int setup_signalfd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	fds.sfd = signalfd(-1, &set, SFD_NONBLOCK);
	return fds.sfd < 0 ? -1 : 0;
}

/* Watches a (wd 1), b (wd 2, then removed) and c (wd 3); the IN_IGNORED of the
 * removal is drained so that the queue is empty at the checkpoint. */
static int setup_inotify(void)
{
	char path[PATH_BUF], buf[4096];
	int wd_b;

	fds.ino = inotify_init1(IN_NONBLOCK);
	if (fds.ino < 0)
		return -1;
	path_in(path, sizeof(path), "a");
	fds.wd_a = inotify_add_watch(fds.ino, path, IN_CREATE);
	path_in(path, sizeof(path), "b");
	wd_b = inotify_add_watch(fds.ino, path, IN_CREATE | IN_DELETE);
	path_in(path, sizeof(path), "c");
	fds.wd_c = inotify_add_watch(fds.ino, path, IN_MODIFY);
	if (fds.wd_a != 1 || wd_b != 2 || fds.wd_c != 3) {
		fprintf(stderr, "restore_fd_anon: watches got wd %d %d %d, want 1 2 3\n", fds.wd_a, wd_b,
			fds.wd_c);
		errno = EINVAL;
		return -1;
	}
	if (inotify_rm_watch(fds.ino, wd_b) != 0)
		return -1;
	while (read(fds.ino, buf, sizeof(buf)) > 0)
		;
	return errno == EAGAIN ? 0 : -1;
}

static int setup_memfd(void)
{
	static unsigned char buf[MEMFD_DATA];
	size_t i;

	for (i = 0; i < MEMFD_DATA; i++)
		buf[i] = pattern(i);
	fds.memfd = memfd_create(MEMFD_NAME, MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (fds.memfd < 0 || write(fds.memfd, buf, MEMFD_DATA) != MEMFD_DATA ||
	    ftruncate(fds.memfd, MEMFD_SIZE) != 0 || fcntl(fds.memfd, F_ADD_SEALS, MEMFD_SEALS) != 0 ||
	    lseek(fds.memfd, MEMFD_POS, SEEK_SET) != MEMFD_POS)
		return -1;
	return 0;
}

static int setup(void)
{
	fds.efd = eventfd(EFD_COUNT, EFD_CLOEXEC);
	fds.efd_sem = eventfd(EFD_SEM_COUNT, EFD_SEMAPHORE | EFD_NONBLOCK);
	if (fds.efd < 0 || fds.efd_sem < 0) {
		perror("restore_fd_anon: eventfd");
		return -1;
	}
	if (make_dirs() != 0) {
		fprintf(stderr, "restore_fd_anon: making the directories in %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (setup_timers() != 0) {
		perror("restore_fd_anon: timerfd");
		return -1;
	}
	if (setup_signalfd() != 0) {
		perror("restore_fd_anon: signalfd");
		return -1;
	}
	if (setup_inotify() != 0) {
		perror("restore_fd_anon: inotify");
		return -1;
	}
	if (setup_memfd() != 0) {
		perror("restore_fd_anon: memfd");
		return -1;
	}
	return 0;
}

/* Usage: restore_fd_anon RESULTS DIR */
int main(int argc, char **argv)
{
	struct sigaction sa;

	if (argc != 3) {
		fprintf(stderr, "usage: restore_fd_anon RESULTS DIR\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	dir = argv[2];
	if (strlen(dir) > PATH_BUF - 32) {   /* room for "/a/new-file" */
		fprintf(stderr, "restore_fd_anon: DIR %s is too long\n", dir);
		return 2;
	}
	if (setup() != 0)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);

	printf("READY pid=%d efd=%d efd_sem=%d tfd_mono=%d tfd_rt=%d tfd_done=%d sfd=%d ino=%d "
	       "wd_a=%d wd_c=%d memfd=%d rt_at=%lld.%09ld mono_armed=%lld.%09ld "
	       "periodic_armed=%lld.%09ld\n", (int)getpid(),
	       fds.efd, fds.efd_sem, fds.tfd_mono, fds.tfd_rt, fds.tfd_done, fds.sfd, fds.ino, fds.wd_a,
	       fds.wd_c, fds.memfd, (long long)rt_at.tv_sec, rt_at.tv_nsec,
	       (long long)mono_armed.tv_sec, mono_armed.tv_nsec, (long long)periodic_armed.tv_sec,
	       periodic_armed.tv_nsec);
	fflush(stdout);
	serve_verify(&verify_requested, verify, argv[1]);
}
