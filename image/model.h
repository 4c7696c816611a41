/* The in-memory model of one process's saved state: what backend/ fills from a
 * live process, what the JSON codec writes and reads, what restore/ builds from. */
#ifndef PROCSNAP_MODEL_H
#define PROCSNAP_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#define PS_FORMAT_VERSION 1
#define PS_NSIG 64           /* signals 1..64; index 0 unused */
#define PS_SIGINFO_SIZE 128  /* sizeof(siginfo_t) on every Linux arch */
#define PS_COMM_LEN 16       /* TASK_COMM_LEN, including the NUL */
#define PS_NRLIMITS 16       /* RLIMIT_NLIMITS on Linux */
#define PS_PATH_MAX 4096
#define PS_PAGE_SIZE 4096ULL /* x86_64's base page: the unit of maps and memory files */
#define PS_NSEC_PER_SEC 1000000000ULL

/* A string of arbitrary bytes (paths, argv, environ): not always UTF-8,
 * never assumed NUL-free by the JSON layer. */
struct ps_bytes {
	char *data;   /* NUL-terminated for convenience; len excludes it */
	size_t len;
};

struct ps_strlist {
	struct ps_bytes *items;
	size_t count;
};

/* ---- process.json ---- */

struct ps_creds {
	uid_t uid[4];          /* real, effective, saved, filesystem (/proc status order) */
	gid_t gid[4];
	gid_t *groups;         /* supplementary groups */
	size_t ngroups;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	uint32_t securebits;   /* prctl(PR_GET_SECUREBITS), read in the target */
	int no_new_privs;
	int dumpable;          /* prctl(PR_GET_DUMPABLE): 0, 1, or 2 (suid_dumpable) */
	int seccomp;           /* the main thread's: 0 none, 1 strict, 2 filter (seccomp.json) */
};

#define PS_RLIM_INFINITY UINT64_MAX
struct ps_rlimit {
	uint64_t cur, max;     /* PS_RLIM_INFINITY for "unlimited" */
};

struct ps_auxv_entry {
	uint64_t type, value;
};

struct ps_mm {
	/* /proc/<pid>/stat fields 26-28 and 45-51 */
	uint64_t start_code, end_code, start_stack;
	uint64_t start_data, end_data, start_brk;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint64_t brk;          /* current program break: brk(0) run in the target */
	struct ps_auxv_entry *auxv;
	size_t nauxv;          /* entries, including the AT_NULL terminator */
};

struct ps_itimer {
	uint64_t value_ns, interval_ns;   /* remaining time and period; 0 = disarmed */
};

struct ps_posix_timer {
	int id;                /* the timer_t the program holds */
	int clock;             /* clockid_t */
	int notify;            /* SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID (| SIGEV_SIGNAL) */
	int signo;
	uint64_t sigval;       /* sigev_value as a 64-bit integer */
	pid_t notify_tid;      /* for SIGEV_THREAD_ID */
	uint64_t value_ns, interval_ns;
	int overrun;
};

struct ps_process {
	pid_t pid, ppid, pgid, sid;
	char comm[PS_COMM_LEN];
	struct ps_bytes exe, cwd, root;
	struct ps_strlist cmdline, environ;
	unsigned umask;
	struct ps_creds creds;
	struct ps_rlimit rlimits[PS_NRLIMITS];   /* indexed by RLIMIT_* */
	unsigned long personality;
	struct ps_mm mm;
	struct ps_itimer itimers[3];             /* ITIMER_REAL, _VIRTUAL, _PROF */
	struct ps_posix_timer *timers;
	size_t ntimers;
	pid_t *children;                         /* child processes, zombies too, sorted */
	size_t nchildren;
};

/* ---- memory/maps.json ---- */

enum ps_map_kind {
	PS_MAP_ANON,       /* private anonymous (incl. [anon:name]) */
	PS_MAP_SHMEM,      /* shared anonymous (/dev/zero (deleted), SYSV shm) */
	PS_MAP_FILE,       /* backed by a file on disk */
	PS_MAP_HEAP,       /* [heap] */
	PS_MAP_STACK,      /* [stack] */
	PS_MAP_VDSO,       /* [vdso] */
	PS_MAP_VVAR,       /* [vvar], [vvar_vclock]: kernel data, never saved */
	PS_MAP_VSYSCALL,   /* [vsyscall]: fixed kernel page, never saved */
	PS_MAP_OTHER,      /* any other [name] the kernel shows */
	PS_MAP_AIO,        /* /[aio]: an io_setup context's ring (m->aio) */
	PS_MAP_SYSV,       /* /SYSV<key>: an attached SysV segment (m->sysv) */
};

/* One completed event of an AIO ring, as the kernel's struct io_event. */
struct ps_aio_event {
	uint64_t data, obj;
	int64_t res, res2;
};

/* An AIO context (io_setup): its ring's header and the completed events not
 * yet reaped, [head, tail) of the ring. The context id is the ring's address. */
struct ps_aio_ring {
	uint32_t id, nr, head, tail, magic, compat_features, incompat_features, header_length;
	struct ps_aio_event *events;   /* (tail - head) mod nr of them, from head on */
	size_t nevents;
};

/* The SysV shared memory segment a mapping attaches (/proc/sysvipc/shm). */
struct ps_sysv_shm {
	int32_t shmid;
	uint32_t key;                  /* the key it was created with ("/SYSV<key>") */
	uint64_t size;
	uint32_t mode;                 /* permission bits (0777) */
	uint32_t uid, gid, cuid, cgid;
	int removed;                   /* IPC_RMID'd: alive only through attachments */
	int locked;                    /* SHM_LOCK'd: its pages never swapped out */
};

struct ps_file_id {
	uint32_t dev_major, dev_minor;
	uint64_t ino;
	uint64_t size;                 /* st_size at checkpoint */
	int64_t mtime_sec;
	long mtime_nsec;
	char build_id[41 + 24];        /* lowercase hex of the ELF NT_GNU_BUILD_ID, "" if none */
};

/* A run of saved pages, counted in pages from the mapping's start. */
struct ps_extent {
	uint64_t first, count;
};

struct ps_mapping {
	uint64_t start, end;           /* page-aligned, end exclusive */
	int prot;                      /* PROT_READ|PROT_WRITE|PROT_EXEC */
	int shared;                    /* 1 = MAP_SHARED (the 's' in /proc maps) */
	enum ps_map_kind kind;
	struct ps_bytes path;          /* file path or "[name]" exactly as /proc maps shows it */
	uint64_t offset;               /* file offset (pgoff * page size) */
	int deleted;                   /* path had " (deleted)" (stripped from path) */
	struct ps_file_id file;        /* valid when kind == PS_MAP_FILE */
	char **vm_flags;               /* smaps VmFlags mnemonics: "rd", "wr", "dd", "hg"... */
	size_t nvm_flags;
	char *content;                 /* image path holding its bytes ("memory/<start>-<end>"), NULL if none */
	uint64_t content_start;        /* that file's range: byte k of it is the byte at content_start + k. */
	uint64_t content_end;          /* It covers the mapping, and may cover adjacent ones too */
	uint64_t data_pages;           /* pages present in the content file; the rest are holes */
	/* Which pages those are: sorted, disjoint runs. Restore writes exactly
	 * these, whatever holes the copy tool kept or filled in the file. */
	struct ps_extent *data;
	size_t ndata;
	struct ps_aio_ring *aio;       /* kind PS_MAP_AIO only */
	struct ps_sysv_shm *sysv;      /* kind PS_MAP_SYSV only */
	/* Guard pages (MADV_GUARD_INSTALL): sorted, disjoint runs, never data. */
	struct ps_extent *guards;
	size_t nguards;
};

struct ps_maps {
	struct ps_mapping *items;
	size_t count;
	/* mlockall(MCL_FUTURE), with MCL_ONFAULT or not: mm->def_flags, which
	 * no file shows. 0, or MCL_FUTURE [| MCL_ONFAULT]. */
	int lock_future;
};

/* ---- registers/<tid>.json ---- */

struct ps_siginfo {
	int signo, err, code;          /* decoded for readers; raw is authoritative */
	uint8_t raw[PS_SIGINFO_SIZE];
};

struct ps_thread {
	pid_t tid;
	char comm[PS_COMM_LEN];
	struct user_regs_struct regs;  /* includes fs_base, gs_base, orig_rax */
	uint8_t *xsave;                /* NT_X86_XSTATE regset, as PTRACE_GETREGSET gave it */
	size_t xsave_len;
	/* Syscall-restart state: in_syscall when stopped inside a syscall
	 * (orig_rax >= 0); then rax holds its result so far, e.g. -ERESTARTSYS. */
	int in_syscall;
	long syscall_nr;
	long syscall_ret;
	uint64_t asleep_ns;            /* how long it had slept when frozen (0: was not) */
	uint64_t sigmask;              /* blocked signals, bit (n-1) for signal n */
	struct ps_siginfo *pending;    /* per-thread pending queue, in delivery order */
	size_t npending;
	uint64_t altstack_sp, altstack_size;
	int altstack_flags;            /* SS_DISABLE / SS_ONSTACK / SS_AUTODISARM */
	uint64_t rseq_ptr;             /* 0 = not registered */
	uint32_t rseq_len, rseq_sig;
	uint64_t clear_child_tid;      /* set_tid_address / CLONE_CHILD_CLEARTID */
	uint64_t robust_list, robust_list_len;
};

/* ---- signals.json ---- */

struct ps_sigaction {
	uint64_t handler;              /* SIG_DFL = 0, SIG_IGN = 1, else an address */
	uint64_t flags;                /* SA_* as the kernel's struct sigaction holds them */
	uint64_t restorer;
	uint64_t mask;
};

struct ps_signals {
	struct ps_sigaction act[PS_NSIG + 1];   /* act[signo]; act[0] unused */
	struct ps_siginfo *shared_pending;      /* process-wide queue, in order */
	size_t nshared_pending;
};

/* ---- fds.json ---- */

enum ps_fd_type {
	PS_FD_REG,        /* regular file */
	PS_FD_DIR,
	PS_FD_CHR,        /* character device */
	PS_FD_BLK,
	PS_FD_PIPE,       /* anonymous pipe (pipe:[ino]) */
	PS_FD_FIFO,       /* named FIFO */
	PS_FD_SOCKET,
	PS_FD_ANON,       /* anon_inode: eventfd, epoll, timerfd, signalfd, inotify... */
	PS_FD_OTHER,
};

/* One registration of an epoll instance (fdinfo "tfd:" line). */
struct ps_epoll_target {
	int fd;                        /* the watched descriptor's number */
	uint32_t events;               /* EPOLLIN..., with EPOLLET/ONESHOT/EXCLUSIVE/WAKEUP */
	uint64_t data;                 /* epoll_data_t as the program set it */
	uint64_t ino;                  /* of the watched file, to check it is still at fd */
};

/* eventfd: the counter and how reads take from it. */
struct ps_eventfd {
	uint64_t count;
	int semaphore;                 /* EFD_SEMAPHORE */
};

/* timerfd, from fdinfo. value is the time left at the checkpoint; for an
 * absolute timer expires is the absolute time on its clock it fires at. */
struct ps_timerfd {
	int clock;                     /* CLOCK_REALTIME, CLOCK_MONOTONIC, ... */
	int settime_flags;             /* TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET */
	uint64_t value_ns, interval_ns;
	uint64_t expires_ns;           /* absolute timers only */
	uint64_t ticks;                /* expirations not read yet */
};

/* One inotify watch: the watched inode's path and the watch's mask. */
struct ps_inotify_watch {
	int wd;
	uint32_t mask;
	uint64_t ino;
	uint32_t dev_major, dev_minor;
	struct ps_bytes path;
};

/* A socket address exactly as getsockname/getpeername gave it. */
#define PS_SOCKADDR_MAX 128
struct ps_sockaddr {
	uint32_t len;                  /* 0: none */
	unsigned char sa[PS_SOCKADDR_MAX];
};

enum ps_sock_state {
	PS_SOCK_UNBOUND,
	PS_SOCK_BOUND,
	PS_SOCK_LISTENING,
	PS_SOCK_CONNECTED,             /* to peer_fd in the process, or to a named peer */
	PS_SOCK_DISCONNECTED,          /* stream/seqpacket whose peer is gone: EOF after the queue */
};

/* Socket options procsnap saves: the common boolean ones and buffer sizes. */
struct ps_sockopts {
	int reuseaddr, reuseport, keepalive, broadcast, passcred, oobinline;
	int nodelay;                   /* TCP_NODELAY */
	int v6only;                    /* IPV6_V6ONLY */
	int rcvbuf, sndbuf;            /* as getsockopt reports them: twice what was set */
};

struct ps_socket {
	int family;                    /* AF_UNIX, AF_INET, AF_INET6 */
	int type;                      /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	int protocol;
	enum ps_sock_state state;
	struct ps_sockaddr local, peer;
	int peer_fd;                   /* the other end's fd in this process, or -1 */
	uint64_t peer_ino;             /* capture only: the peer's inode, 0 if none */
	uint32_t backlog;              /* listening sockets */
	int shutdown;                  /* unix: 1 reads, 2 writes shut down */
	struct ps_sockopts opts;
	uint32_t *msgs;                /* unread messages' lengths in order (stream: one);
	                                * their bytes are the fd's data file */
	size_t nmsgs;
};

/* The kinds of descriptor procsnap knows, one row each of the table in
 * image/fd_kinds.c. OTHER (zero) is every descriptor no kind takes: listed
 * with the name /proc gave it, never restored. A kind follows from the type
 * (and for a device its numbers, for a socket its family); an anonymous
 * inode's, from its name. */
enum ps_fd_kind {
	PS_FD_KIND_OTHER,
	PS_FD_KIND_FILE,               /* regular files (deleted ones too), devices but ttys */
	PS_FD_KIND_DIR,
	PS_FD_KIND_PIPE,               /* anonymous pipes and FIFOs */
	PS_FD_KIND_UNIX,
	PS_FD_KIND_INET,               /* inet and inet6 */
	PS_FD_KIND_EVENTFD,
	PS_FD_KIND_TIMERFD,
	PS_FD_KIND_SIGNALFD,
	PS_FD_KIND_INOTIFY,
	PS_FD_KIND_MEMFD,
	PS_FD_KIND_EPOLL,
	PS_FD_KIND_TTY,                /* terminals: consoles, /dev/tty, pty slaves and masters */
	PS_FD_KIND_COUNT,
};

/* A file whose bytes are saved in the image (fds/<n>): a file deleted
 * while open, or a memfd. */
struct ps_fd_content {
	uint64_t size;                 /* bytes in data */
	uint32_t uid, gid;             /* the owner */
	uint32_t seals;                /* memfds: F_GET_SEALS */
};

struct ps_fd_epoll {
	struct ps_epoll_target *targets;   /* what it watches */
	size_t ntargets;
};

struct ps_fd_inotify {
	struct ps_inotify_watch *watches;
	size_t nwatches;
};

struct ps_fd {
	int fd;
	enum ps_fd_type type;
	enum ps_fd_kind kind;          /* which member of u is in use */
	/* fds.json's "kind" when it is not the name the kind has for this type
	 * (the catch-all's "block", "io_uring"..., or a name an image gave):
	 * kept to be written back as it was. NULL: the kind's own name. */
	char *kind_name;
	int flags;                     /* open flags from fdinfo, without O_CLOEXEC */
	int cloexec;
	uint64_t pos;
	struct ps_bytes path;          /* readlink of /proc/<pid>/fd/<n> */
	int deleted;                   /* regular file unlinked while open */
	uint32_t dev_major, dev_minor; /* of the file (st_dev) */
	uint32_t rdev_major, rdev_minor; /* of a device node (st_rdev) */
	uint64_t ino;
	uint32_t mode;                 /* st_mode */
	int mnt_id;
	int supported;                 /* 0: listed for the user, restore refuses it */
	char *unsupported_reason;      /* why, when !supported */
	char *data;                    /* image path with the fd's bytes ("fds/<n>"), NULL if none */
	int is_dup;                    /* shares the open file of fd dup_of (kcmp) */
	int dup_of;                    /* the lowest such fd, below this one */
	union {
		struct ps_fd_content content;  /* FILE (deleted), MEMFD */
		uint32_t pipe_size;            /* PIPE: F_GETPIPE_SZ */
		struct ps_socket sock;         /* UNIX, INET */
		struct ps_eventfd eventfd;     /* EVENTFD */
		struct ps_timerfd timerfd;     /* TIMERFD */
		uint64_t sigmask;              /* SIGNALFD: bit n-1 for signal n */
		struct ps_fd_inotify inotify;  /* INOTIFY */
		struct ps_fd_epoll epoll;      /* EPOLL */
	} u;
	/* Bytes that go into the data file (a pipe's or FIFO's unread contents,
	 * on its lowest fd; a socket's unread messages), held only while a
	 * snapshot serves them. A deleted file's or memfd's bytes are read from
	 * the file itself. */
	char *bytes;
	size_t nbytes;
};

struct ps_fds {
	struct ps_fd *items;
	size_t count;
};

/* ---- attributes.json ---- */

/* A thread's scheduling as sched_getattr gave it (struct sched_attr). */
struct ps_sched {
	uint32_t policy;               /* SCHED_OTHER, _FIFO, _RR, _BATCH, _IDLE, _DEADLINE */
	uint64_t flags;                /* SCHED_FLAG_RESET_ON_FORK, ... as the kernel reports */
	int nice;                      /* -20..19 */
	uint32_t priority;             /* real-time priority, 0 for the others */
	uint64_t runtime, deadline, period;   /* SCHED_DEADLINE, in ns */
	uint32_t util_min, util_max;   /* util clamps, 0..1024 */
};

#define PS_CPU_WORDS 16                /* CPU affinity masks: 1024 CPUs */

/* What each thread set on itself (one per m->threads, same index). */
struct ps_thread_attrs {
	pid_t tid;
	struct ps_sched sched;
	uint64_t cpus[PS_CPU_WORDS];   /* sched_getaffinity(tid), bit n for CPU n */
	int mempolicy;                 /* get_mempolicy mode: 0 MPOL_DEFAULT */
	int shstk;                     /* status x86_Thread_features: shadow stack on */
	uint32_t ioprio;               /* ioprio_get(IOPRIO_WHO_PROCESS, tid) */
	uint64_t timerslack_ns;        /* PR_GET_TIMERSLACK */
	int pdeathsig;                 /* PR_GET_PDEATHSIG */
	int spec[3];                   /* PR_GET_SPECULATION_CTRL: store bypass, indirect
	                                * branch, L1D flush; -1 when the kernel says EINVAL */
	uint32_t securebits;           /* PR_GET_SECUREBITS of this thread */
	int no_new_privs;              /* PR_GET_NO_NEW_PRIVS of this thread */
	int mce_kill;                  /* PR_MCE_KILL_GET */
	int tsc;                       /* PR_GET_TSC: PR_TSC_ENABLE or PR_TSC_SIGSEGV */
	int io_flusher;                /* PR_GET_IO_FLUSHER */
	int cpuid;                     /* ARCH_GET_CPUID: 1 cpuid allowed, 0 faults */
	uint64_t core_cookie;          /* PR_SCHED_CORE_GET; 0 none */
	uint64_t sud_mode;             /* syscall user dispatch: 0 off */
};

/* What the process set on itself beyond process.json (one per process). */
struct ps_attributes {
	int present;                   /* 0: the image has no attributes.json (older) */
	int oom_score_adj;             /* /proc/<pid>/oom_score_adj, -1000..1000 */
	uint32_t loginuid;             /* /proc/<pid>/loginuid; (uint32_t)-1 unset */
	uint32_t coredump_filter;      /* /proc/<pid>/coredump_filter */
	int autogroup_nice;            /* /proc/<pid>/autogroup's nice */
	int thp_disable;               /* PR_GET_THP_DISABLE */
	int child_subreaper;           /* PR_GET_CHILD_SUBREAPER */
	int memory_merge;              /* PR_GET_MEMORY_MERGE; -1 unknown to the kernel */
	int mdwe;                      /* PR_GET_MDWE flags; -1 unknown to the kernel */
	uint32_t membarrier;           /* registrations, MEMBARRIER_CMD_REGISTER_* bits */
	uint64_t xcomp_perm;           /* ARCH_GET_XCOMP_PERM */
	uint64_t untag_mask;           /* status untag_mask: all ones without LAM */
	int futex_slots;               /* PR_FUTEX_HASH_GET_SLOTS: 0 the global hash; -1 unknown */
	struct ps_thread_attrs *threads;
	size_t nthreads;
};

/* ---- image.json ---- */

struct ps_image_file {
	char *name;                    /* relative to the image root: "memory/maps.json" */
	uint64_t size;
	int has_crc;
	uint32_t crc32;                /* CRC-32 (IEEE, as zlib) of the whole file */
};

struct ps_image_meta {
	int format;
	char arch[16];
	char kernel[65];               /* uname release */
	char boot_id[40];              /* /proc/sys/kernel/random/boot_id */
	long page_size;
	int64_t taken_sec;             /* CLOCK_REALTIME of the freeze */
	long taken_nsec;
	uint64_t freeze_us;            /* how long the process was being stopped */
	int has_clocks;                /* the two below were saved */
	uint64_t monotonic_ns;         /* CLOCK_MONOTONIC of the freeze */
	uint64_t boottime_ns;          /* CLOCK_BOOTTIME of the freeze */
	pid_t pid;
	struct ps_image_file *files;
	size_t nfiles;
	/* Indexes into files, in the order of their names: set by the decoder,
	 * for ps_image_file_find. */
	size_t *by_name;
};

/* The whole model of one process. */
/* ---- seccomp.json ---- */

/* One instruction of a classic BPF program: the kernel's struct sock_filter. */
struct ps_bpf_insn {
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};

/* A seccomp filter as the kernel keeps it: its program, its flags, and the
 * filter installed before it. Threads holding the same chain (same
 * programs, same order, same flags) share its filters, each saved once. */
struct ps_seccomp_filter {
	struct ps_bpf_insn *insns;
	size_t ninsns;
	int log;                       /* SECCOMP_FILTER_FLAG_LOG */
	long parent;                   /* index of the one before it, always smaller; -1: none */
};

enum ps_seccomp_mode {
	PS_SECCOMP_NONE = 0,
	PS_SECCOMP_STRICT = 1,
	PS_SECCOMP_FILTER = 2,
};

struct ps_seccomp_thread {
	pid_t tid;
	int mode;                      /* enum ps_seccomp_mode: Seccomp: of its status */
	long filter;                   /* its most recent filter; -1 unless PS_SECCOMP_FILTER */
};

struct ps_seccomp {
	int saved;                     /* 0: an image older than seccomp.json */
	struct ps_seccomp_filter *filters;
	size_t nfilters;
	struct ps_seccomp_thread *threads;   /* one per thread, in m->threads' order */
	size_t nthreads;
};

struct ps_model {
	struct ps_image_meta meta;
	struct ps_process proc;
	struct ps_maps maps;
	struct ps_thread *threads;
	size_t nthreads;
	struct ps_signals signals;
	struct ps_fds fds;
	struct ps_attributes attrs;
	struct ps_seccomp seccomp;
};

void ps_bytes_set(struct ps_bytes *b, const char *data, size_t len);
void ps_bytes_free(struct ps_bytes *b);
void ps_strlist_free(struct ps_strlist *l);
void ps_model_free(struct ps_model *m);

void ps_image_meta_free(struct ps_image_meta *m);
/* The file of the image named name, or NULL. A decoded image.json can list
 * PS_MAX_FILES files: its names are searched in O(log n). */
const struct ps_image_file *ps_image_file_find(const struct ps_image_meta *m, const char *name);
void ps_process_free(struct ps_process *p);
void ps_maps_free(struct ps_maps *maps);
void ps_thread_free(struct ps_thread *t);
void ps_signals_free(struct ps_signals *s);
void ps_seccomp_free(struct ps_seccomp *s);
void ps_fds_free(struct ps_fds *fds);
void ps_fd_free(struct ps_fd *fd);

/* "/run/app.sock", "@name" (abstract), "127.0.0.1:80", "[::1]:80". */
void ps_sockaddr_describe(int family, const struct ps_sockaddr *a, char *buf, size_t len);
/* A deleted file or a memfd: its bytes are saved in fds/<n>. */
int ps_fd_has_content(const struct ps_fd *f);
/* A unix or inet socket: f->u.sock is its state. */
int ps_fd_is_socket(const struct ps_fd *f);
/* The fd among fds whose saved content is the file dev:ino, or NULL. */
const struct ps_fd *ps_fd_of_file(const struct ps_fds *fds, uint32_t dev_major,
				  uint32_t dev_minor, uint64_t ino);

#endif
