/* A snapshot of one live process, presented as the list of image files the
 * FUSE layer serves: taking it freezes the process, releasing it thaws it. */
#ifndef PROCSNAP_SNAPSHOT_H
#define PROCSNAP_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ps_snapshot;

/* One file or directory of the image. Directories are "memory", "registers"
 * and "fds" (only when it has files); the image root itself is not listed. */
struct ps_snapshot_file {
	const char *name;      /* relative path: "image.json", "memory/7f00...-7f00..." */
	int is_dir;
	uint64_t size;         /* bytes (0 for directories) */
	uint64_t blocks;       /* 512-byte blocks of data: what st_blocks must say */
};

/* Start and stop the tracer thread. Call start after the daemon has forked
 * (threads do not survive fork) and stop before exiting; stop releases
 * every snapshot still held. */
int ps_backend_start(char *err, size_t errlen);
void ps_backend_stop(void);

/* Freeze every thread of pid and capture its whole state. Returns 0 or a
 * negative errno with a sentence in err (ESRCH: no such process, EPERM...). */
int ps_snapshot_take(pid_t pid, struct ps_snapshot **out, char *err, size_t errlen);

/* Thaw the process (it continues untouched) and free the snapshot. */
void ps_snapshot_release(struct ps_snapshot *s);

pid_t ps_snapshot_pid(const struct ps_snapshot *s);

/* 0 once the snapshot's process has exited, even if a new process (a
 * restore of it, say) now has the same pid; 1 while it lives. */
int ps_snapshot_is_current(const struct ps_snapshot *s);
/* CLOCK_REALTIME instant of the freeze, for st_mtime of every file. */
void ps_snapshot_time(const struct ps_snapshot *s, struct timespec *ts);

size_t ps_snapshot_nfiles(const struct ps_snapshot *s);
const struct ps_snapshot_file *ps_snapshot_file(const struct ps_snapshot *s, size_t i);
/* Index of the file or directory at relpath, or -ENOENT. */
int ps_snapshot_lookup(const struct ps_snapshot *s, const char *relpath);

/* Read size bytes at off of file i. Returns bytes read (short only at EOF)
 * or a negative errno. Safe to call from any thread, concurrently. */
ssize_t ps_snapshot_read(struct ps_snapshot *s, size_t i, char *buf, size_t size, off_t off);

/* lseek(SEEK_DATA / SEEK_HOLE) semantics on file i: the offset, or -ENXIO. */
off_t ps_snapshot_seek(const struct ps_snapshot *s, size_t i, off_t off, int whence);

#endif
