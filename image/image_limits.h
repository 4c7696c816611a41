/* The bounds on what an image may hold and on what reading it may cost, each
 * checked before memory is allocated for it; docs/security.md "Limits" says why. */
#ifndef PROCSNAP_IMAGE_LIMITS_H
#define PROCSNAP_IMAGE_LIMITS_H

/* The one name at the top of an image that the mount keeps for itself: the
 * status of its restore under restore/ (docs/image-format.md §13). */
#define PS_STATUS_NAME "status"

/* ---- limits of a valid x86_64 image ---- */

#define PS_USER_ADDR_END 0x800000000000ULL     /* 47-bit user space ends here */
#define PS_VSYSCALL_START 0xffffffffff600000ULL /* the one kernel page /proc maps shows */
#define PS_VSYSCALL_END 0xffffffffff601000ULL
#define PS_PID_MAX 4194304                      /* PID_MAX_LIMIT on 64-bit */

/* ---- how many of each thing an image may hold ---- */

#define PS_MAX_MAPPINGS 65536       /* vm.max_map_count is 65530 unless raised */
#define PS_MAX_THREADS 32768        /* each thread's stack and guard page are two mappings */
#define PS_MAX_FDS 65536            /* "tens of thousands": a busy server */
/* The six JSON parts, a memory file per mapping, a registers file per
 * thread and a data file per fd. */
#define PS_MAX_FILES (6 + PS_MAX_MAPPINGS + PS_MAX_THREADS + PS_MAX_FDS)
#define PS_MAX_DATA_RUNS 262144     /* runs of saved pages, all mappings together */
/* Queued signals, the shared queue and every thread's together: about what
 * RLIMIT_SIGPENDING allows a user by default. */
#define PS_MAX_PENDING 65536

/* ---- how long the arrays inside one entry may be ---- */

#define PS_MAX_ARGS 131072          /* cmdline and environ strings together */
#define PS_MAX_ARGS_BYTES (8 << 20) /* their bytes: exec passes at most 6 MiB */
#define PS_MAX_GROUPS 65536         /* NGROUPS_MAX */
#define PS_MAX_AUXV 64              /* pairs; the kernel keeps fewer (AT_VECTOR_SIZE) */
#define PS_MAX_TIMERS 16384         /* POSIX timers; each holds a queued signal */
#define PS_MAX_CHILDREN 4194304     /* child processes: pid_max at most */
#define PS_MAX_VM_FLAGS 32          /* the kernel names about 40; a mapping shows < 16 */
#define PS_MAX_EPOLL PS_MAX_FDS     /* registrations of one epoll fd */
#define PS_MAX_WATCHES 65536        /* watches of one inotify fd */
#define PS_MAX_MESSAGES 65536       /* unread messages of one socket */
#define PS_XSAVE_MAX 16384          /* bytes; AMX makes the largest today 11008 */
#define PS_MAX_SECCOMP_INSNS 4096   /* of one seccomp program: the kernel's BPF_MAXINSNS */
/* Distinct seccomp filters: a thread's chain is at most 32768 instructions
 * with 4 more counted per filter (MAX_INSNS_PER_PATH), so at most 6553
 * filters; threads may hold different ones. */
#define PS_MAX_SECCOMP_FILTERS 16384

/* ---- the JSON files: size on disk, and memory their parse may take ----
 * The memory is estimated before parsing from what the text holds (see
 * ps_json_load); a real file's estimate is 5 to 15 times its size. */

#define PS_MAX_IMAGE_JSON_SIZE (32 << 20)       /* 163846 files of < 128 bytes */
#define PS_MAX_IMAGE_JSON_MEMORY (256 << 20)    /* of ~1 KiB each */
#define PS_MAX_PROCESS_JSON_SIZE (64 << 20)     /* argv and environ, escaped */
#define PS_MAX_PROCESS_JSON_MEMORY (256 << 20)
#define PS_MAX_SIGNALS_JSON_SIZE (32 << 20)     /* 65536 pending of ~400 bytes */
#define PS_MAX_SIGNALS_JSON_MEMORY (128 << 20)  /* of ~1.3 KiB each */
#define PS_MAX_REGISTERS_JSON_SIZE (32 << 20)   /* the same, and the xsave area */
#define PS_MAX_REGISTERS_JSON_MEMORY (128 << 20)
#define PS_MAX_MAPS_JSON_SIZE (128 << 20)       /* 65536 mappings of < 2 KiB */
#define PS_MAX_MAPS_JSON_MEMORY (768 << 20)     /* of ~6 KiB, and the runs */
#define PS_MAX_FDS_JSON_SIZE (128 << 20)        /* 65536 fds of < 2 KiB */
#define PS_MAX_FDS_JSON_MEMORY (768 << 20)      /* of ~9 KiB (sockets) */
#define PS_MAX_ATTRIBUTES_JSON_SIZE (48 << 20)  /* 32768 threads of < 1.5 KiB */
#define PS_MAX_ATTRIBUTES_JSON_MEMORY (512 << 20) /* of ~12 KiB each */
#define PS_MAX_SECCOMP_JSON_SIZE (64 << 20)     /* programs as hex: 16 bytes an instruction */
#define PS_MAX_SECCOMP_JSON_MEMORY (256 << 20)

#endif
