/* The outcome of an image's restore as a small file in the image's spool
 * directory: written whole by rename, read back and judged after a remount. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "backend/fileio.h"
#include "fs/image_state.h"
#include "backend/proc_parse.h"

#define FILE_MAX (PS_RESULT_MAX + 256)
#define RESTORING "restoring"

/* ---- this boot, and the processes in it ---- */

static void read_boot_id(char out[40])
{
	char *text = NULL;
	size_t len;

	out[0] = '\0';
	if (ps_read_file("/proc/sys/kernel/random/boot_id", &text, &len) == 0)
		snprintf(out, 40, "%.*s", (int)strcspn(text, "\n"), text);
	free(text);
}

static int same_boot(const char *boot_id)
{
	char now[40];

	read_boot_id(now);
	return now[0] && !strcmp(now, boot_id);
}

/* /proc/<pid>/stat of a live process (not a zombie): 0, or -ESRCH. */
static int live_stat(pid_t pid, struct ps_stat *out)
{
	int rc = ps_read_stat(pid, out);

	if (rc < 0 || out->state == 'Z' || out->state == 'X')
		return -ESRCH;
	return 0;
}

/* ---- the file ---- */

/* "restored 1234; ..." or "failed: ..." or "restoring", then key lines. */
static void parse(char *text, struct ps_image_state *st)
{
	char *line, *save = NULL;

	memset(st, 0, sizeof(*st));
	line = strtok_r(text, "\n", &save);
	if (!line)
		return;
	if (!strcmp(line, RESTORING))
		st->kind = PS_STATE_RESTORING;
	else if (!strncmp(line, "restored ", 9))
		st->kind = PS_STATE_RESTORED;
	else if (!strncmp(line, "failed: ", 8))
		st->kind = PS_STATE_FAILED;
	else
		return;   /* not ours: no state */
	if (st->kind != PS_STATE_RESTORING)
		snprintf(st->result, sizeof(st->result), "%s", line);
	while ((line = strtok_r(NULL, "\n", &save))) {
		int pid;

		if (sscanf(line, "pid %d", &pid) == 1)
			st->pid = pid;
		sscanf(line, "start %" SCNu64, &st->start);
		sscanf(line, "since %" SCNu64, &st->since_ns);
		sscanf(line, "boot %39s", st->boot_id);
	}
}

int ps_state_load(int image_fd, struct ps_image_state *st)
{
	char text[FILE_MAX];
	ssize_t n;
	int fd = openat(image_fd, PS_STATE_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	memset(st, 0, sizeof(*st));
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	text[n] = '\0';
	parse(text, st);
	return 0;
}

static int format(const struct ps_image_state *st, char *out, size_t len)
{
	if (st->kind == PS_STATE_RESTORING)
		return snprintf(out, len, RESTORING "\nsince %" PRIu64 "\nboot %s\n", st->since_ns,
				st->boot_id);
	if (st->kind == PS_STATE_RESTORED)
		return snprintf(out, len, "%s\npid %d\nstart %" PRIu64 "\nboot %s\n", st->result,
				(int)st->pid, st->start, st->boot_id);
	return snprintf(out, len, "%s\n", st->result);
}

int ps_state_save(int image_fd, int tmp_fd, const struct ps_image_state *st)
{
	char text[FILE_MAX], name[64];
	int fd, rc, n;

	if (st->kind == PS_STATE_NONE)
		return ps_state_remove(image_fd);
	n = format(st, text, sizeof(text));
	if (n < 0 || (size_t)n >= sizeof(text))
		return -EOVERFLOW;
	/* one name per thread: two threads never write the same temp file */
	snprintf(name, sizeof(name), "state.%d.%ld", (int)getpid(), (long)syscall(SYS_gettid));
	fd = openat(tmp_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = ps_write_all(fd, text, (size_t)n, 0);
	close(fd);
	/* rename is atomic: whoever reads the file, or a procsnap started
	 * after this one is killed, sees the old state or the new whole. */
	if (rc == 0 && renameat(tmp_fd, name, image_fd, PS_STATE_NAME) < 0)
		rc = -errno;
	if (rc < 0)
		unlinkat(tmp_fd, name, 0);
	return rc;
}

int ps_state_remove(int image_fd)
{
	if (unlinkat(image_fd, PS_STATE_NAME, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* ---- transitions ---- */

void ps_state_set_restoring(struct ps_image_state *st)
{
	struct timespec now;

	memset(st, 0, sizeof(*st));
	st->kind = PS_STATE_RESTORING;
	clock_gettime(CLOCK_BOOTTIME, &now);
	st->since_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	read_boot_id(st->boot_id);
}

void ps_state_set_restored(struct ps_image_state *st, pid_t pid, const char *result)
{
	struct ps_stat ps;

	memset(st, 0, sizeof(*st));
	st->kind = PS_STATE_RESTORED;
	snprintf(st->result, sizeof(st->result), "%s", result);
	st->pid = pid;
	/* a process that has exited already has no start time: 0 is never
	 * one, so it is never taken for alive */
	if (live_stat(pid, &ps) == 0)
		st->start = ps.start_time;
	read_boot_id(st->boot_id);
}

void ps_state_set_failed(struct ps_image_state *st, const char *result)
{
	memset(st, 0, sizeof(*st));
	st->kind = PS_STATE_FAILED;
	snprintf(st->result, sizeof(st->result), "%s", result);
}

int ps_state_process_lives(const struct ps_image_state *st)
{
	struct ps_stat ps;

	if (st->kind != PS_STATE_RESTORED || !st->start || !same_boot(st->boot_id))
		return 0;
	return live_stat(st->pid, &ps) == 0 && ps.start_time == st->start;
}

/*
 * The restore checked that the image's pid was free before it began, and
 * makes the process with that very pid; a restorer killed halfway leaves
 * nothing (docs/security.md). So a live process with that pid started
 * since the restore began is the restored one.
 */
void ps_state_settle_interrupted(struct ps_image_state *st, pid_t image_pid)
{
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t tick_ns = hz > 0 ? 1000000000u / (uint64_t)hz : 10000000u;
	struct ps_stat ps;
	char result[64];

	if (image_pid > 0 && same_boot(st->boot_id) && live_stat(image_pid, &ps) == 0 &&
	    ps.start_time * tick_ns + tick_ns >= st->since_ns) {
		snprintf(result, sizeof(result), "restored %d", (int)image_pid);
		ps_state_set_restored(st, image_pid, result);
		return;
	}
	ps_state_set_failed(st, "failed: procsnap was stopped during this image's restore, and no "
			    "process of it runs; touch image.json to restore it again");
}
