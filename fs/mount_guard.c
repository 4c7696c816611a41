/* One procsnap per mount point and per spool: /proc/self/mountinfo is read
 * for the mount point, and a lock file in the spool is held for life. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "backend/fileio.h"
#include "fs/mount_guard.h"
#include "backend/proc_parse.h"

#define LOCK_NAME "lock"
#define FSTYPE "fuse.procsnap"

static int lock_fd = -1;
static char *lock_mountpoint;

/* mountinfo writes space, tab, newline and backslash in paths as \ooo. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
			continue;
		}
		*out++ = *s;
	}
	*out = '\0';
}

/* One mountinfo line: "id parent maj:min root MOUNTPOINT opts [tags] - FSTYPE src sopts".
 * 1 if it is a procsnap mount on mountpoint. Spoils line. */
static int is_procsnap_on(char *line, const char *mountpoint)
{
	char *save = NULL, *f, *mp = NULL;
	int i = 0, after_dash = 0;

	for (f = strtok_r(line, " ", &save); f; f = strtok_r(NULL, " ", &save), i++) {
		if (i == 4)
			mp = f;
		else if (i > 5 && !after_dash && !strcmp(f, "-"))
			after_dash = 1;
		else if (after_dash)
			break;
	}
	if (!mp || !f || strcmp(f, FSTYPE))
		return 0;
	unescape(mp);
	return !strcmp(mp, mountpoint);
}

int ps_guard_mountpoint(const char *mountpoint, char *err, size_t errlen)
{
	char *text, *line, *save = NULL;
	size_t len;
	int rc = ps_read_file("/proc/self/mountinfo", &text, &len);
	int found = 0;

	if (rc < 0) {
		snprintf(err, errlen, "cannot read /proc/self/mountinfo: %s", strerror(-rc));
		return rc;
	}
	for (line = strtok_r(text, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save))
		found = is_procsnap_on(line, mountpoint);
	free(text);
	if (!found)
		return 0;
	snprintf(err, errlen, "%s is already a procsnap mount: unmount it first (fusermount3 -u %s)",
		 mountpoint, mountpoint);
	return -EBUSY;
}

/* What the lock file says of its holder: "pid 123 mounted on /snap". */
static void describe_holder(int fd, char *out, size_t len)
{
	char buf[512];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!strncmp(buf, "pid ", 4))
		snprintf(out, len, "procsnap %s", buf);
	else
		snprintf(out, len, "another procsnap");
}

/* "pid N mounted on M" of this process into the lock file. */
static void write_owner(void)
{
	char buf[64 + 4096];
	int n = snprintf(buf, sizeof(buf), "pid %d mounted on %s\n", (int)getpid(), lock_mountpoint);

	if (n < 0 || (size_t)n >= sizeof(buf) || ftruncate(lock_fd, 0) < 0)
		return;   /* the name of the holder is a courtesy, the lock is what counts */
	ps_write_all(lock_fd, buf, (size_t)n, 0);
}

int ps_guard_spool(const char *spool, const char *mountpoint, char *err, size_t errlen)
{
	char path[4096 + 8], who[600];
	int e;

	if (snprintf(path, sizeof(path), "%s/" LOCK_NAME, spool) >= (int)sizeof(path)) {
		snprintf(err, errlen, "spool directory name too long: %s", spool);
		return -ENAMETOOLONG;
	}
	lock_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lock_fd < 0) {
		e = errno;
		snprintf(err, errlen, "cannot open the spool's lock file %s: %s", path, strerror(e));
		return -e;
	}
	/* flock, not fcntl: the lock belongs to the open file, so it passes
	 * to the daemon when fuse_daemonize forks and its parent exits, and
	 * the kernel drops it when the daemon dies, even by SIGKILL. */
	if (flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
		e = errno;
		if (e == EWOULDBLOCK) {
			describe_holder(lock_fd, who, sizeof(who));
			snprintf(err, errlen, "spool %s is in use by %s", spool, who);
		} else {
			snprintf(err, errlen, "cannot lock %s: flock: %s", path, strerror(e));
		}
		ps_guard_release();
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	lock_mountpoint = strdup(mountpoint);
	if (!lock_mountpoint) {
		snprintf(err, errlen, "out of memory");
		ps_guard_release();
		return -ENOMEM;
	}
	write_owner();
	return 0;
}

void ps_guard_spool_owner(void)
{
	if (lock_fd >= 0)
		write_owner();
}

void ps_guard_release(void)
{
	if (lock_fd >= 0)
		close(lock_fd);
	lock_fd = -1;
	free(lock_mountpoint);
	lock_mountpoint = NULL;
}
