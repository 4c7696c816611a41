/* Parsers for the /proc files procsnap reads: pure functions from text (or
 * bytes) to structs, so each is unit-tested on fixed inputs. */
#ifndef PROCSNAP_PROC_PARSE_H
#define PROCSNAP_PROC_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "image/model.h"

/* Read a whole file (works for /proc files, whose st_size is 0) into a
 * malloc'd buffer, NUL-terminated; *len excludes the NUL. 0 or -errno. */
int ps_read_file(const char *path, char **buf, size_t *len);

/* Read /proc/<pid>/<name> (pid 0: /proc/<name>) whole and hand its text to
 * parse, then free it: the one way procsnap reads and parses a /proc file.
 * The text is NUL-terminated; len excludes the NUL. Returns the read's
 * -errno, or what parse returned. */
typedef int (*ps_text_parser)(const char *text, size_t len, void *arg);
int ps_proc_parse(pid_t pid, const char *name, ps_text_parser parse, void *arg);

/* /proc/<pid>/stat. comm may contain spaces and ')' : it ends at the LAST ')'. */
struct ps_stat {
	pid_t pid;
	char comm[PS_COMM_LEN];
	char state;
	pid_t ppid, pgrp, session;
	unsigned long flags;                     /* PF_*: PF_KTHREAD = 0x00200000 */
	long num_threads;
	int processor;                           /* field 39: the CPU it last ran on */
	uint64_t start_time;                     /* field 22, clock ticks since boot: with
						    the pid, it names one process for good */
	uint64_t start_code, end_code, start_stack;            /* fields 26, 27, 28 */
	uint64_t start_data, end_data, start_brk;              /* fields 45, 46, 47 */
	uint64_t arg_start, arg_end, env_start, env_end;       /* fields 48..51 */
};
int ps_parse_stat(const char *text, struct ps_stat *out);

/* /proc/<pid>/status: the lines procsnap uses. */
struct ps_status {
	pid_t tgid, tracer_pid;
	unsigned umask;
	uid_t uid[4];
	gid_t gid[4];
	gid_t *groups;                           /* malloc'd, caller frees */
	size_t ngroups;
	uint64_t sig_pnd, shd_pnd, sig_blk, sig_ign, sig_cgt;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	int no_new_privs;
	int seccomp;
	uint64_t untag_mask;                     /* LAM: all ones without the line */
	int shstk;                               /* "shstk" among x86_Thread_features */
};
int ps_parse_status(const char *text, struct ps_status *out);

/* Read and parse /proc/<id>/stat. 0, or -errno (-EINVAL: unparsable). */
int ps_read_stat(pid_t id, struct ps_stat *out);

/* Read and parse /proc/<id>/status (a tid works too: every thread has its
 * own there). 0, or -errno (-EINVAL: unparsable); out->groups is the
 * caller's to free. */
int ps_read_status(pid_t id, struct ps_status *out);

/* One line of /proc/<pid>/maps. path is "" for anonymous mappings; a
 * trailing " (deleted)" is stripped from path and sets deleted. */
struct ps_maps_line {
	uint64_t start, end;
	int prot;                                /* PROT_* from "rwxp" */
	int shared;                              /* 's' */
	uint64_t offset;
	uint32_t dev_major, dev_minor;
	uint64_t ino;
	char path[PS_PATH_MAX];
	int deleted;
};
int ps_parse_maps_line(const char *line, struct ps_maps_line *out);

/* /proc/<pid>/smaps: cb is called once per mapping (at its VmFlags line,
 * the last of each entry) with what procsnap needs of it. */
struct ps_smaps_entry {
	uint64_t start;
	uint64_t rss_kb, swap_kb;  /* resident and swapped: 0 + 0 means no page to save */
	char **flags;              /* VmFlags mnemonics "rd", "wr"..., NULL-terminated */
	size_t nflags;
};
typedef int (*ps_smaps_cb)(const struct ps_smaps_entry *e, void *arg);
int ps_parse_smaps(const char *text, ps_smaps_cb cb, void *arg);

/* /proc/<pid>/limits, into rlimits indexed by RLIMIT_* ("unlimited" =
 * PS_RLIM_INFINITY). Rows are matched by their names, not their order. */
int ps_parse_limits(const char *text, struct ps_rlimit out[PS_NRLIMITS]);

/* /proc/<pid>/fdinfo/<n>: the common lines. Any other line is kept for the
 * caller's kind-specific parsing (eventfd-count, tfd, inotify, ...). */
struct ps_fdinfo {
	uint64_t pos;
	int flags;                               /* octal in the file, O_* */
	int mnt_id;
	uint64_t ino;
};
int ps_parse_fdinfo(const char *text, struct ps_fdinfo *out);

/* The "tfd:" lines of an epoll fd's fdinfo: one per registered descriptor,
 * "tfd: <fd> events: <hex> data: <hex> pos:<n> ino:<hex> sdev:<hex>". */
int ps_parse_epoll_targets(const char *text, struct ps_epoll_target **out, size_t *n);

/* The kind-specific lines of fdinfo. eventfd: "eventfd-count: <hex>",
 * "eventfd-semaphore: <0|1>". timerfd: "clockid:", "ticks:", "settime
 * flags: <octal>", "it_value: (<s>, <ns>)", "it_interval: (<s>, <ns>)".
 * signalfd: "sigmask:\t<hex>". */
int ps_parse_eventfd(const char *text, struct ps_eventfd *out);
int ps_parse_timerfd(const char *text, struct ps_timerfd *out);
int ps_parse_signalfd(const char *text, uint64_t *mask);

/* One "inotify wd:<hex> ino:<hex> sdev:<hex> mask:<hex> ignored_mask:<hex>
 * fhandle-bytes:<hex> fhandle-type:<hex> f_handle:<hex bytes>" line: the
 * watched inode as a file handle of the filesystem with kernel dev sdev. */
#define PS_FHANDLE_MAX 128
struct ps_inotify_line {
	int wd;
	uint64_t ino;
	uint32_t sdev;                 /* the kernel's encoding: major << 20 | minor */
	uint32_t mask;
	unsigned handle_bytes;
	int handle_type;
	unsigned char handle[PS_FHANDLE_MAX];
};
int ps_parse_inotify(const char *text, struct ps_inotify_line **out, size_t *n);

/* "se.exec_start : <ms>.<fraction>" of /proc/<tid>/sched, in ns: when the
 * scheduler last charged the thread's time (a sleeping thread: when it went
 * to sleep; a running one: about now). */
int ps_parse_sched_exec_start(const char *text, uint64_t *ns);

/* /proc/<pid>/autogroup, "/autogroup-123 nice 0": the nice of the process's
 * autogroup. Empty text is a process that never left the root task group's
 * default autogroup (no setsid since boot: init and what it starts without
 * one), which has no nice of its own: 0. */
int ps_parse_autogroup(const char *text, int *nice);

/* /proc/<pid>/auxv (pairs of native unsigned longs, up to AT_NULL included). */
int ps_parse_auxv(const void *buf, size_t len, struct ps_auxv_entry **out, size_t *n);

/* NUL-separated strings (/proc/<pid>/cmdline, environ). A missing final NUL
 * still ends the last string. */
int ps_split_nul(const char *buf, size_t len, struct ps_strlist *out);

/* /proc/<pid>/timers (CONFIG_CHECKPOINT_RESTORE): id, signal, notify, clock.
 * Remaining times are not there; the caller fills them. */
int ps_parse_timers(const char *text, struct ps_posix_timer **out, size_t *n);

#endif
