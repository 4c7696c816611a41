/* Unit tests of the /proc parsers on fixed texts (real samples and tricky
 * ones), and of the live captures (process, fds, proclist, build-id) on us. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <elf.h>

#include "backend/proc_parse.h"
#include "backend/proclist.h"
#include "backend/part_capture.h"
#include "backend/fd_capture.h"
#include "backend/elf_buildid.h"
#include "image/fd_kinds.h"

/* ------------------------------------------------------------------ */
/* Samples                                                             */
/* ------------------------------------------------------------------ */

/* /proc/self/stat of cat on the development machine. */
static const char stat_cat[] =
	"3138 (cat) R 3136 3136 2379 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 29946 3133440 "
	"338 18446744073709551615 93900379856896 93900379876777 140723854798624 0 0 0 0 0 0 "
	"0 0 0 17 1 0 0 0 0 0 93900379892784 93900379894400 93901020295168 140723854801548 "
	"140723854801568 140723854801568 140723854802923 0\n";

/* comm may hold spaces and parentheses: it ends at the last ')'. */
static const char stat_tricky_comm[] =
	"4242 (a) b (c) S 1 4242 4242 0 -1 4194560 99 0 0 0 0 0 0 0 20 0 3 0 29946 3133440 "
	"338 18446744073709551615 4096 8192 140723854798624 0 0 0 0 0 0 "
	"0 0 0 17 1 0 0 0 0 0 12288 16384 20480 1000 1010 1020 1030 0\n";

/* kthreadd: flags has PF_KTHREAD (0x00200000). */
static const char stat_kthreadd[] =
	"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 14 0 0 18446744073709551615 "
	"0 0 0 0 0 0 0 2147483647 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

static const char status_cat[] =
	"Name:\tcat\n"
	"Umask:\t0022\n"
	"State:\tR (running)\n"
	"Tgid:\t3119\n"
	"Ngid:\t0\n"
	"Pid:\t3119\n"
	"PPid:\t3114\n"
	"TracerPid:\t0\n"
	"Uid:\t0\t0\t0\t0\n"
	"Gid:\t0\t0\t0\t0\n"
	"FDSize:\t256\n"
	"Groups:\t \n"
	"NStgid:\t3119\n"
	"NSpid:\t3119\n"
	"NSpgid:\t3114\n"
	"NSsid:\t2379\n"
	"Kthread:\t0\n"
	"VmPeak:\t    3060 kB\n"
	"VmSize:\t    3060 kB\n"
	"VmRSS:\t    1588 kB\n"
	"Threads:\t1\n"
	"SigQ:\t0/96364\n"
	"SigPnd:\t0000000000000000\n"
	"ShdPnd:\t0000000000000000\n"
	"SigBlk:\t0000000000000000\n"
	"SigIgn:\t0000000000000000\n"
	"SigCgt:\t0000000000000000\n"
	"CapInh:\t0000000000000000\n"
	"CapPrm:\t000001fffeffffff\n"
	"CapEff:\t000001fffeffffff\n"
	"CapBnd:\t000001fffeffffff\n"
	"CapAmb:\t0000000000000000\n"
	"NoNewPrivs:\t0\n"
	"Seccomp:\t0\n"
	"Seccomp_filters:\t0\n"
	"Speculation_Store_Bypass:\tthread vulnerable\n"
	"SpeculationIndirectBranch:\tconditional enabled\n"
	"Cpus_allowed:\t3\n"
	"Cpus_allowed_list:\t0-1\n"
	"voluntary_ctxt_switches:\t0\n"
	"nonvoluntary_ctxt_switches:\t0\n";

static const char status_user[] =
	"Name:\tbash\n"
	"Umask:\t0027\n"
	"State:\tS (sleeping)\n"
	"Tgid:\t777\n"
	"Pid:\t778\n"
	"TracerPid:\t12\n"
	"Uid:\t1000\t1001\t1002\t1003\n"
	"Gid:\t100\t101\t102\t103\n"
	"Groups:\t4 24 27 1000 \n"
	"SigPnd:\t0000000000000100\n"
	"ShdPnd:\t0000000000004000\n"
	"SigBlk:\t0000000000010000\n"
	"SigIgn:\t0000000000384004\n"
	"SigCgt:\t000000004b813efb\n"
	"CapInh:\t0000000000000000\n"
	"CapPrm:\t0000000000000000\n"
	"CapEff:\t0000000000080000\n"
	"CapBnd:\t000001ffffffffff\n"
	"CapAmb:\t0000000000000000\n"
	"NoNewPrivs:\t1\n"
	"Seccomp:\t2\n";

static const char limits_real[] =
	"Limit                     Soft Limit           Hard Limit           Units     \n"
	"Max cpu time              unlimited            unlimited            seconds   \n"
	"Max file size             unlimited            unlimited            bytes     \n"
	"Max data size             unlimited            unlimited            bytes     \n"
	"Max stack size            8388608              unlimited            bytes     \n"
	"Max core file size        0                    unlimited            bytes     \n"
	"Max resident set          unlimited            unlimited            bytes     \n"
	"Max processes             96364                96364                processes \n"
	"Max open files            20000                20000                files     \n"
	"Max locked memory         8388608              8388608              bytes     \n"
	"Max address space         unlimited            unlimited            bytes     \n"
	"Max file locks            unlimited            unlimited            locks     \n"
	"Max pending signals       96364                96364                signals   \n"
	"Max msgqueue size         819200               819200               bytes     \n"
	"Max nice priority         0                    0                    \n"
	"Max realtime priority     0                    0                    \n"
	"Max realtime timeout      unlimited            unlimited            us        \n";

/* Same values, rows in another order: rows are matched by name. */
static const char limits_shuffled[] =
	"Limit                     Soft Limit           Hard Limit           Units     \n"
	"Max realtime timeout      unlimited            unlimited            us        \n"
	"Max open files            1024                 4096                 files     \n"
	"Max file size             unlimited            unlimited            bytes     \n"
	"Max file locks            77                   unlimited            locks     \n"
	"Max cpu time              unlimited            unlimited            seconds   \n"
	"Max data size             unlimited            unlimited            bytes     \n"
	"Max stack size            8388608              unlimited            bytes     \n"
	"Max core file size        0                    unlimited            bytes     \n"
	"Max resident set          unlimited            unlimited            bytes     \n"
	"Max processes             96364                96364                processes \n"
	"Max locked memory         8388608              8388608              bytes     \n"
	"Max address space         unlimited            unlimited            bytes     \n"
	"Max pending signals       96364                96364                signals   \n"
	"Max msgqueue size         819200               819200               bytes     \n"
	"Max nice priority         0                    0                    \n"
	"Max realtime priority     0                    0                    \n"
	"Some future limit         1                    2                    things    \n";

static const char fdinfo_reg[] = "pos:\t1503\nflags:\t0100001\nmnt_id:\t27\nino:\t10952919\n";
static const char fdinfo_eventfd[] =
	"pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t20\n"
	"eventfd-count:                3\neventfd-id: 1\neventfd-semaphore: 0\n";

/* /proc/self/auxv of cat (x86_64), AT_NULL included. */
static const uint64_t auxv_real[] = {
	0x21, 0x7f62a3575000, 0x33, 0xd30, 0x10, 0x178bfbff, 0x6, 0x1000,
	0x11, 0x64, 0x3, 0x56275933e040, 0x4, 0x38, 0x5, 0xd,
	0x7, 0x7f62a3577000, 0x8, 0, 0x9, 0x5627593414c0, 0xb, 0,
	0xc, 0, 0xd, 0, 0xe, 0, 0x17, 0,
	0x19, 0x7ffde8653019, 0x1a, 2, 0x1f, 0x7ffde8653fec, 0xf, 0x7ffde8653029,
	0x1b, 0x1c, 0x1c, 0x20, 0, 0,
};

/* A process with three POSIX timers (the kernel lists the newest first). */
static const char timers_real[] =
	"ID: 2\n"
	"signal: 35/00000000ffffffff\n"
	"notify: signal/tid.3168\n"
	"ClockID: 7\n"
	"ID: 1\n"
	"signal: 10/0000000000001234\n"
	"notify: none/pid.3168\n"
	"ClockID: 0\n"
	"ID: 0\n"
	"signal: 10/0000000000001234\n"
	"notify: signal/pid.3168\n"
	"ClockID: 1\n";

static const char smaps_sample[] =
	"55a7fd8a7000-55a7fd8a9000 r--p 00000000 fe:00 247498                     /usr/bin/head\n"
	"Size:                  8 kB\n"
	"KernelPageSize:        4 kB\n"
	"Rss:                   8 kB\n"
	"AnonHugePages:         0 kB\n"
	"THPeligible:           0\n"
	"ProtectionKey:         0\n"
	"VmFlags: rd mr mw me \n"
	"7ffd27e16000-7ffd27e37000 rw-p 00000000 00:00 0                          [stack]\n"
	"Size:                132 kB\n"
	"Rss:                  16 kB\n"
	"Swap:                  4 kB\n"
	"VmFlags: rd wr mr mw me gd ac \n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"
	"Size:                  4 kB\n"
	"VmFlags: ex \n";

/* ------------------------------------------------------------------ */
/* stat                                                                */
/* ------------------------------------------------------------------ */

START_TEST(test_stat_real)
{
	struct ps_stat st;

	ck_assert_int_eq(ps_parse_stat(stat_cat, &st), 0);
	ck_assert_int_eq(st.pid, 3138);
	ck_assert_str_eq(st.comm, "cat");
	ck_assert_uint_eq(st.start_time, 29946);
	ck_assert_int_eq(st.state, 'R');
	ck_assert_int_eq(st.ppid, 3136);
	ck_assert_int_eq(st.pgrp, 3136);
	ck_assert_int_eq(st.session, 2379);
	ck_assert_uint_eq(st.flags, 4194304);
	ck_assert_int_eq(st.num_threads, 1);
	ck_assert_uint_eq(st.start_code, 93900379856896ULL);
	ck_assert_uint_eq(st.end_code, 93900379876777ULL);
	ck_assert_uint_eq(st.start_stack, 140723854798624ULL);
	ck_assert_uint_eq(st.start_data, 93900379892784ULL);
	ck_assert_uint_eq(st.end_data, 93900379894400ULL);
	ck_assert_uint_eq(st.start_brk, 93901020295168ULL);
	ck_assert_uint_eq(st.arg_start, 140723854801548ULL);
	ck_assert_uint_eq(st.arg_end, 140723854801568ULL);
	ck_assert_uint_eq(st.env_start, 140723854801568ULL);
	ck_assert_uint_eq(st.env_end, 140723854802923ULL);
}
END_TEST

START_TEST(test_stat_tricky_comm)
{
	struct ps_stat st;

	ck_assert_int_eq(ps_parse_stat(stat_tricky_comm, &st), 0);
	ck_assert_int_eq(st.pid, 4242);
	ck_assert_str_eq(st.comm, "a) b (c");
	ck_assert_int_eq(st.state, 'S');
	ck_assert_int_eq(st.ppid, 1);
	ck_assert_int_eq(st.num_threads, 3);
	ck_assert_uint_eq(st.start_code, 4096);
	ck_assert_uint_eq(st.end_code, 8192);
	ck_assert_uint_eq(st.start_data, 12288);
	ck_assert_uint_eq(st.env_end, 1030);
}
END_TEST

START_TEST(test_stat_kthread_and_long_comm)
{
	struct ps_stat st;
	char text[sizeof(stat_kthreadd) + 64];

	ck_assert_int_eq(ps_parse_stat(stat_kthreadd, &st), 0);
	ck_assert_uint_eq(st.flags & 0x00200000UL, 0x00200000UL);
	ck_assert_int_eq(st.ppid, 0);
	ck_assert_uint_eq(st.start_code, 0);

	/* workqueue workers can show names longer than TASK_COMM_LEN */
	snprintf(text, sizeof(text), "9 (kworker/0:1-events_power_efficient)%s",
		 strchr(stat_kthreadd, ')') + 1);
	ck_assert_int_eq(ps_parse_stat(text, &st), 0);
	ck_assert_int_eq(st.pid, 9);
	ck_assert_str_eq(st.comm, "kworker/0:1-eve");
}
END_TEST

START_TEST(test_stat_malformed)
{
	struct ps_stat st;
	char text[sizeof(stat_cat)];

	ck_assert_int_eq(ps_parse_stat("", &st), -EINVAL);
	ck_assert_int_eq(ps_parse_stat("3138 cat R 1 2 3", &st), -EINVAL);
	ck_assert_int_eq(ps_parse_stat("(cat) R 1 2 3", &st), -EINVAL);
	ck_assert_int_eq(ps_parse_stat("x12 (cat) R 3136 3136 2379", &st), -EINVAL);
	/* truncated before the mm fields */
	memcpy(text, stat_cat, 120);
	text[120] = '\0';
	ck_assert_int_eq(ps_parse_stat(text, &st), -EINVAL);
	/* a field that is not a number */
	snprintf(text, sizeof(text), "%s", stat_cat);
	memcpy(strstr(text, "3136 3136"), "31x6", 4);
	ck_assert_int_eq(ps_parse_stat(text, &st), -EINVAL);
	/* state must be one letter */
	ck_assert_int_eq(ps_parse_stat("1 (a) RR 0 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0 1"
				       " 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0",
				       &st), -EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* status                                                              */
/* ------------------------------------------------------------------ */

START_TEST(test_status_real_empty_groups)
{
	struct ps_status st;

	ck_assert_int_eq(ps_parse_status(status_cat, &st), 0);
	ck_assert_int_eq(st.tgid, 3119);
	ck_assert_int_eq(st.tracer_pid, 0);
	ck_assert_uint_eq(st.umask, 022);
	ck_assert_uint_eq(st.uid[0], 0);
	ck_assert_uint_eq(st.gid[3], 0);
	ck_assert_uint_eq(st.ngroups, 0);
	ck_assert_ptr_null(st.groups);
	ck_assert_uint_eq(st.cap_prm, 0x000001fffeffffffULL);
	ck_assert_uint_eq(st.cap_eff, 0x000001fffeffffffULL);
	ck_assert_uint_eq(st.cap_bnd, 0x000001fffeffffffULL);
	ck_assert_uint_eq(st.cap_inh, 0);
	ck_assert_int_eq(st.no_new_privs, 0);
	ck_assert_int_eq(st.seccomp, 0);
	free(st.groups);
}
END_TEST

START_TEST(test_status_user)
{
	struct ps_status st;

	ck_assert_int_eq(ps_parse_status(status_user, &st), 0);
	ck_assert_int_eq(st.tgid, 777);
	ck_assert_int_eq(st.tracer_pid, 12);
	ck_assert_uint_eq(st.umask, 027);
	ck_assert_uint_eq(st.uid[0], 1000);
	ck_assert_uint_eq(st.uid[1], 1001);
	ck_assert_uint_eq(st.uid[2], 1002);
	ck_assert_uint_eq(st.uid[3], 1003);
	ck_assert_uint_eq(st.gid[0], 100);
	ck_assert_uint_eq(st.gid[3], 103);
	ck_assert_uint_eq(st.ngroups, 4);
	ck_assert_uint_eq(st.groups[0], 4);
	ck_assert_uint_eq(st.groups[1], 24);
	ck_assert_uint_eq(st.groups[2], 27);
	ck_assert_uint_eq(st.groups[3], 1000);
	ck_assert_uint_eq(st.sig_pnd, 0x100);
	ck_assert_uint_eq(st.shd_pnd, 0x4000);
	ck_assert_uint_eq(st.sig_blk, 0x10000);
	ck_assert_uint_eq(st.sig_ign, 0x384004);
	ck_assert_uint_eq(st.sig_cgt, 0x4b813efb);
	ck_assert_uint_eq(st.cap_eff, 1ULL << 19);
	ck_assert_uint_eq(st.cap_bnd, 0x000001ffffffffffULL);
	ck_assert_int_eq(st.no_new_privs, 1);
	ck_assert_int_eq(st.seccomp, 2);
	free(st.groups);
}
END_TEST

/* x86 per-thread features: LAM's mask and the shadow stack, by word. */
START_TEST(test_status_x86_features)
{
	static const char ids[] = "Tgid:\t5\nUid:\t1\t1\t1\t1\nGid:\t2\t2\t2\t2\n";
	struct ps_status st;

	ck_assert_int_eq(ps_parse_status(ids, &st), 0);
	ck_assert_uint_eq(st.untag_mask, UINT64_MAX);   /* no line: no LAM */
	ck_assert_int_eq(st.shstk, 0);
	free(st.groups);
	ck_assert_int_eq(ps_parse_status("Tgid:\t5\nUid:\t1\t1\t1\t1\nGid:\t2\t2\t2\t2\n"
					 "untag_mask:\t0x7e00000000000000\n"
					 "x86_Thread_features:\tshstk wrss\n"
					 "x86_Thread_features_locked:\t\n", &st), 0);
	ck_assert_uint_eq(st.untag_mask, 0x7e00000000000000ULL);
	ck_assert_int_eq(st.shstk, 1);
	free(st.groups);
	ck_assert_int_eq(ps_parse_status("Tgid:\t5\nUid:\t1\t1\t1\t1\nGid:\t2\t2\t2\t2\n"
					 "x86_Thread_features:\tshstkx\n", &st), 0);
	ck_assert_int_eq(st.shstk, 0);
	free(st.groups);
}
END_TEST

START_TEST(test_status_missing_and_malformed)
{
	struct ps_status st;

	/* a zombie has no Umask line: allowed, stays 0 */
	ck_assert_int_eq(ps_parse_status("Tgid:\t5\nUid:\t1\t1\t1\t1\nGid:\t2\t2\t2\t2\n", &st), 0);
	ck_assert_int_eq(st.tgid, 5);
	ck_assert_uint_eq(st.umask, 0);
	free(st.groups);
	/* no trailing newline */
	ck_assert_int_eq(ps_parse_status("Uid:\t1\t1\t1\t1\nGid:\t2\t2\t2\t2\nTgid:\t5", &st), 0);
	ck_assert_int_eq(st.tgid, 5);
	free(st.groups);
	/* Tgid, Uid and Gid are required */
	ck_assert_int_eq(ps_parse_status("Uid:\t1\t1\t1\t1\nGid:\t2\t2\t2\t2\n", &st), -EINVAL);
	ck_assert_int_eq(ps_parse_status("Tgid:\t5\nGid:\t2\t2\t2\t2\n", &st), -EINVAL);
	ck_assert_int_eq(ps_parse_status("", &st), -EINVAL);
	/* three uids instead of four */
	ck_assert_int_eq(ps_parse_status("Tgid:\t5\nUid:\t1\t1\t1\nGid:\t2\t2\t2\t2\n", &st), -EINVAL);
	/* bad group, freed on failure (valgrind checks) */
	ck_assert_int_eq(ps_parse_status("Tgid:\t5\nGroups:\t1 2 x\nUid:\t1\t1\t1\t1\nGid:\t2\t2\t2\t2\n",
					 &st), -EINVAL);
	ck_assert_int_eq(ps_parse_status("Tgid:\t5\nGroups:\t1 2\nUid:\t1\t1\t1\t1\nGid:\t2\t2\t2\n",
					 &st), -EINVAL);
	ck_assert_ptr_null(st.groups);
	ck_assert_int_eq(ps_parse_status("Tgid:\t5\nUid:\t1\t1\t1\t1\nGid:\t2\t2\t2\t2\n"
					 "CapEff:\tzz\n", &st), -EINVAL);
	ck_assert_int_eq(ps_parse_status("Tgid:\t-\nUid:\t1\t1\t1\t1\nGid:\t2\t2\t2\t2\n", &st),
			 -EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* maps / smaps                                                        */
/* ------------------------------------------------------------------ */

START_TEST(test_maps_file_line)
{
	struct ps_maps_line *m = malloc(sizeof(*m));

	ck_assert_int_eq(ps_parse_maps_line(
		"7f12809c9000-7f1280b1f000 r-xp 00026000 fe:00 332835                     "
		"/usr/lib/x86_64-linux-gnu/libc.so.6\n", m), 0);
	ck_assert_uint_eq(m->start, 0x7f12809c9000ULL);
	ck_assert_uint_eq(m->end, 0x7f1280b1f000ULL);
	ck_assert_int_eq(m->prot, PROT_READ | PROT_EXEC);
	ck_assert_int_eq(m->shared, 0);
	ck_assert_uint_eq(m->offset, 0x26000);
	ck_assert_uint_eq(m->dev_major, 0xfe);
	ck_assert_uint_eq(m->dev_minor, 0);
	ck_assert_uint_eq(m->ino, 332835);
	ck_assert_str_eq(m->path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	ck_assert_int_eq(m->deleted, 0);

	ck_assert_int_eq(ps_parse_maps_line(
		"7f1280b88000-7f1280b8f000 r--s 00000000 fe:00 332280                     "
		"/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache", m), 0);
	ck_assert_int_eq(m->shared, 1);
	ck_assert_int_eq(m->prot, PROT_READ);
	ck_assert_str_eq(m->path, "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache");
	free(m);
}
END_TEST

START_TEST(test_maps_spaces_and_deleted)
{
	struct ps_maps_line *m = malloc(sizeof(*m));

	ck_assert_int_eq(ps_parse_maps_line(
		"7f0000000000-7f0000002000 rw-s 00001000 08:11 99                         "
		"/tmp/my  data file (1).bin (deleted)\n", m), 0);
	ck_assert_int_eq(m->prot, PROT_READ | PROT_WRITE);
	ck_assert_int_eq(m->shared, 1);
	ck_assert_uint_eq(m->offset, 0x1000);
	ck_assert_uint_eq(m->dev_major, 8);
	ck_assert_uint_eq(m->dev_minor, 0x11);
	ck_assert_str_eq(m->path, "/tmp/my  data file (1).bin");
	ck_assert_int_eq(m->deleted, 1);

	ck_assert_int_eq(ps_parse_maps_line(
		"7f0000000000-7f0000400000 rw-s 00000000 00:01 1025                       "
		"/memfd:my mem (deleted)", m), 0);
	ck_assert_str_eq(m->path, "/memfd:my mem");
	ck_assert_int_eq(m->deleted, 1);
	free(m);
}
END_TEST

START_TEST(test_maps_special_lines)
{
	struct ps_maps_line *m = malloc(sizeof(*m));

	ck_assert_int_eq(ps_parse_maps_line(
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  "
		"[vsyscall]\n", m), 0);
	ck_assert_uint_eq(m->start, 0xffffffffff600000ULL);
	ck_assert_uint_eq(m->end, 0xffffffffff601000ULL);
	ck_assert_int_eq(m->prot, PROT_EXEC);
	ck_assert_uint_eq(m->ino, 0);
	ck_assert_str_eq(m->path, "[vsyscall]");

	/* anonymous: the kernel leaves a blank after the inode */
	ck_assert_int_eq(ps_parse_maps_line("7f1280920000-7f1280942000 rw-p 00000000 00:00 0 \n", m), 0);
	ck_assert_str_eq(m->path, "");
	ck_assert_int_eq(m->deleted, 0);
	ck_assert_int_eq(m->prot, PROT_READ | PROT_WRITE);
	ck_assert_int_eq(ps_parse_maps_line("00400000-00401000 ---p 00000000 00:00 0", m), 0);
	ck_assert_int_eq(m->prot, 0);
	ck_assert_uint_eq(m->start, 0x400000);

	ck_assert_int_eq(ps_parse_maps_line(
		"7f1280b92000-7f1280b96000 r--p 00000000 00:00 0                          [vvar]", m), 0);
	ck_assert_str_eq(m->path, "[vvar]");
	ck_assert_int_eq(ps_parse_maps_line(
		"7f1280b92000-7f1280b96000 rw-p 00000000 00:00 0                          "
		"[anon:glibc: malloc arena]", m), 0);
	ck_assert_str_eq(m->path, "[anon:glibc: malloc arena]");
	free(m);
}
END_TEST

START_TEST(test_maps_malformed)
{
	struct ps_maps_line *m = malloc(sizeof(*m));

	ck_assert_int_eq(ps_parse_maps_line("", m), -EINVAL);
	ck_assert_int_eq(ps_parse_maps_line("7f00-7f10 rw-p 00000000 00:00", m), -EINVAL);
	ck_assert_int_eq(ps_parse_maps_line("7f00 rw-p 00000000 00:00 0", m), -EINVAL);
	ck_assert_int_eq(ps_parse_maps_line("7f00-7f10 rwxq 00000000 00:00 0", m), -EINVAL);
	ck_assert_int_eq(ps_parse_maps_line("7f00-7f10 rw- 00000000 00:00 0", m), -EINVAL);
	ck_assert_int_eq(ps_parse_maps_line("7f00-7f10 rw-p 0000g000 00:00 0", m), -EINVAL);
	ck_assert_int_eq(ps_parse_maps_line("7f00-7f10 rw-p 00000000 0000 0", m), -EINVAL);
	ck_assert_int_eq(ps_parse_maps_line("7f00-7f10 rw-p 00000000 00:00 x", m), -EINVAL);
	ck_assert_int_eq(ps_parse_maps_line("7f10-7f00 rw-p 00000000 00:00 0", m), -EINVAL);
	free(m);
}
END_TEST

struct vmflags_seen {
	int calls;
	uint64_t starts[4];
	uint64_t rss[4], swap[4];
	char flags[4][64];
	int stop_after;
};

static int collect_vmflags(const struct ps_smaps_entry *e, void *arg)
{
	struct vmflags_seen *s = arg;
	uint64_t start = e->start;
	char **flags = e->flags;
	size_t nflags = e->nflags;
	size_t i;

	ck_assert_ptr_null(flags[nflags]);
	if (s->calls < 4) {
		s->starts[s->calls] = start;
		s->rss[s->calls] = e->rss_kb;
		s->swap[s->calls] = e->swap_kb;
		s->flags[s->calls][0] = '\0';
		for (i = 0; i < nflags; i++) {
			strcat(s->flags[s->calls], flags[i]);
			strcat(s->flags[s->calls], ",");
		}
	}
	s->calls++;
	return s->stop_after && s->calls == s->stop_after ? 42 : 0;
}

START_TEST(test_smaps_vmflags)
{
	struct vmflags_seen s;

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(ps_parse_smaps(smaps_sample, collect_vmflags, &s), 0);
	ck_assert_int_eq(s.calls, 3);
	ck_assert_uint_eq(s.starts[0], 0x55a7fd8a7000ULL);
	ck_assert_str_eq(s.flags[0], "rd,mr,mw,me,");
	ck_assert_uint_eq(s.starts[1], 0x7ffd27e16000ULL);
	ck_assert_str_eq(s.flags[1], "rd,wr,mr,mw,me,gd,ac,");
	ck_assert_uint_eq(s.starts[2], 0xffffffffff600000ULL);
	ck_assert_str_eq(s.flags[2], "ex,");
	ck_assert_uint_eq(s.rss[0], 8);
	ck_assert_uint_eq(s.swap[0], 0);
	ck_assert_uint_eq(s.rss[1], 16);
	ck_assert_uint_eq(s.swap[1], 4);
	ck_assert_uint_eq(s.rss[2], 0);   /* no Rss line: nothing carried over */

	/* a non-zero return stops the walk and is passed on */
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	ck_assert_int_eq(ps_parse_smaps(smaps_sample, collect_vmflags, &s), 42);
	ck_assert_int_eq(s.calls, 2);

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(ps_parse_smaps("VmFlags: rd\n", collect_vmflags, &s), -EINVAL);
	ck_assert_int_eq(ps_parse_smaps("7f00-zz rw-p 0 00:00 0\nVmFlags: rd\n",
						collect_vmflags, &s), -EINVAL);
	ck_assert_int_eq(ps_parse_smaps("", collect_vmflags, &s), 0);
	ck_assert_int_eq(s.calls, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* limits, fdinfo, auxv, NUL lists, timers                             */
/* ------------------------------------------------------------------ */

START_TEST(test_limits_real)
{
	struct ps_rlimit r[PS_NRLIMITS];

	ck_assert_int_eq(ps_parse_limits(limits_real, r), 0);
	ck_assert_uint_eq(r[RLIMIT_CPU].cur, PS_RLIM_INFINITY);
	ck_assert_uint_eq(r[RLIMIT_CPU].max, PS_RLIM_INFINITY);
	ck_assert_uint_eq(r[RLIMIT_STACK].cur, 8388608);
	ck_assert_uint_eq(r[RLIMIT_STACK].max, PS_RLIM_INFINITY);
	ck_assert_uint_eq(r[RLIMIT_CORE].cur, 0);
	ck_assert_uint_eq(r[RLIMIT_CORE].max, PS_RLIM_INFINITY);
	ck_assert_uint_eq(r[RLIMIT_NPROC].cur, 96364);
	ck_assert_uint_eq(r[RLIMIT_NOFILE].cur, 20000);
	ck_assert_uint_eq(r[RLIMIT_NOFILE].max, 20000);
	ck_assert_uint_eq(r[RLIMIT_MEMLOCK].max, 8388608);
	ck_assert_uint_eq(r[RLIMIT_MSGQUEUE].cur, 819200);
	ck_assert_uint_eq(r[RLIMIT_NICE].cur, 0);
	ck_assert_uint_eq(r[RLIMIT_RTPRIO].max, 0);
	ck_assert_uint_eq(r[RLIMIT_RTTIME].cur, PS_RLIM_INFINITY);
	ck_assert_uint_eq(r[RLIMIT_FSIZE].cur, PS_RLIM_INFINITY);
	ck_assert_uint_eq(r[RLIMIT_LOCKS].cur, PS_RLIM_INFINITY);
}
END_TEST

START_TEST(test_limits_shuffled_and_bad)
{
	struct ps_rlimit r[PS_NRLIMITS];
	char *text, *row;

	ck_assert_int_eq(ps_parse_limits(limits_shuffled, r), 0);
	ck_assert_uint_eq(r[RLIMIT_NOFILE].cur, 1024);
	ck_assert_uint_eq(r[RLIMIT_NOFILE].max, 4096);
	ck_assert_uint_eq(r[RLIMIT_LOCKS].cur, 77);
	ck_assert_uint_eq(r[RLIMIT_LOCKS].max, PS_RLIM_INFINITY);
	ck_assert_uint_eq(r[RLIMIT_FSIZE].cur, PS_RLIM_INFINITY);

	/* a row missing */
	text = strdup(limits_real);
	row = strstr(text, "Max file locks");
	memcpy(row, "Xax", 3);
	ck_assert_int_eq(ps_parse_limits(text, r), -EINVAL);
	free(text);
	/* a value that is neither a number nor "unlimited" */
	text = strdup(limits_real);
	row = strstr(text, "8388608");
	memcpy(row, "lots!!!", 7);
	ck_assert_int_eq(ps_parse_limits(text, r), -EINVAL);
	free(text);
	/* truncated in the middle */
	text = strdup(limits_real);
	text[strlen(text) / 2] = '\0';
	ck_assert_int_eq(ps_parse_limits(text, r), -EINVAL);
	free(text);
}
END_TEST

START_TEST(test_epoll_targets)
{
	static const char text[] =
		"pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t20\n"
		"tfd:        4 events: 80000019 data:                4  pos:0 ino:4d00c sdev:f\n"
		"tfd:       12 events:       19 data: 1234567890abcdef  pos:0 ino:10 sdev:1c\n";
	struct ps_epoll_target *t;
	size_t n;

	ck_assert_int_eq(ps_parse_epoll_targets(text, &t, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(t[0].fd, 4);
	ck_assert_uint_eq(t[0].events, 0x80000019u);
	ck_assert_uint_eq(t[0].data, 4);
	ck_assert_uint_eq(t[0].ino, 0x4d00c);
	ck_assert_int_eq(t[1].fd, 12);
	ck_assert_uint_eq(t[1].data, 0x1234567890abcdefULL);
	free(t);
	ck_assert_int_eq(ps_parse_epoll_targets("pos:\t0\n", &t, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(ps_parse_epoll_targets("tfd: x events: 1\n", &t, &n), -EINVAL);
}
END_TEST

/* The kind-specific lines of fdinfo, as Linux 6.18 prints them. */
START_TEST(test_fdinfo_kinds)
{
	struct ps_eventfd ev;
	struct ps_timerfd t;
	struct ps_inotify_line *w;
	uint64_t mask, ns;
	size_t n;

	ck_assert_int_eq(ps_parse_eventfd("pos:\t0\nflags:\t02\neventfd-count:               2a\n"
					  "eventfd-id: 1\neventfd-semaphore: 1\n", &ev), 0);
	ck_assert_uint_eq(ev.count, 42);
	ck_assert_int_eq(ev.semaphore, 1);
	ck_assert_int_eq(ps_parse_eventfd("eventfd-count: 2a\n", &ev), -EINVAL);
	ck_assert_int_eq(ps_parse_timerfd("clockid: 1\nticks: 3\nsettime flags: 01\n"
					  "it_value: (3, 995114349)\nit_interval: (1, 0)\n", &t), 0);
	ck_assert_int_eq(t.clock, 1);
	ck_assert_uint_eq(t.ticks, 3);
	ck_assert_int_eq(t.settime_flags, 1);
	ck_assert_uint_eq(t.value_ns, 3995114349ULL);
	ck_assert_uint_eq(t.interval_ns, 1000000000ULL);
	ck_assert_int_eq(ps_parse_timerfd("clockid: 1\nticks: 0\nsettime flags: 00\n"
					  "it_value: (3, 1000000000)\nit_interval: (0, 0)\n", &t),
			 -EINVAL);
	ck_assert_int_eq(ps_parse_signalfd("pos:\t0\nsigmask:\t0000000000000200\n", &mask), 0);
	ck_assert_uint_eq(mask, 0x200);
	ck_assert_int_eq(ps_parse_inotify("inotify wd:2 ino:13 sdev:fe00000 mask:80000002 "
					  "ignored_mask:0 fhandle-bytes:8 fhandle-type:1 "
					  "f_handle:1300000000000000\n"
					  "inotify wd:1 ino:3c51a sdev:fe00000 mask:100 ignored_mask:0 "
					  "fhandle-bytes:8 fhandle-type:1 f_handle:1ac5030000000000\n",
					  &w, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(w[0].wd, 2);
	ck_assert_uint_eq(w[0].mask, 0x80000002u);
	ck_assert_uint_eq(w[0].sdev, 0xfe00000u);
	ck_assert_uint_eq(w[1].ino, 0x3c51a);
	ck_assert_uint_eq(w[1].handle_bytes, 8);
	ck_assert_uint_eq(w[1].handle[0], 0x1a);
	ck_assert_uint_eq(w[1].handle[1], 0xc5);
	free(w);
	ck_assert_int_eq(ps_parse_inotify("inotify wd:1 ino:1 sdev:0 mask:100 ignored_mask:0 "
					  "fhandle-bytes:8 fhandle-type:1 f_handle:13\n", &w, &n),
			 -EINVAL);
	ck_assert_int_eq(ps_parse_sched_exec_start("cat (7230, #threads: 1)\n---\n"
						   "se.exec_start                                :"
						   "      10427014.765114\n", &ns), 0);
	ck_assert_uint_eq(ns, 10427014765114ULL);
}
END_TEST

/* A process started by init without a setsid (as a CI harness may start
 * the tests) is in the default autogroup, whose file is empty. */
START_TEST(test_autogroup)
{
	int nice = 7;

	ck_assert_int_eq(ps_parse_autogroup("/autogroup-181 nice -3\n", &nice), 0);
	ck_assert_int_eq(nice, -3);
	ck_assert_int_eq(ps_parse_autogroup("", &nice), 0);
	ck_assert_int_eq(nice, 0);
	ck_assert_int_eq(ps_parse_autogroup("/autogroup-181\n", &nice), -EINVAL);
	ck_assert_int_eq(ps_parse_autogroup("/autogroup-1 nice 40\n", &nice), -EINVAL);
}
END_TEST

START_TEST(test_fdinfo)
{
	struct ps_fdinfo fi;

	ck_assert_int_eq(ps_parse_fdinfo(fdinfo_reg, &fi), 0);
	ck_assert_uint_eq(fi.pos, 1503);
	ck_assert_int_eq(fi.flags, 0100001);
	ck_assert_int_eq(fi.flags & O_ACCMODE, O_WRONLY);
	ck_assert_int_eq(fi.mnt_id, 27);
	ck_assert_uint_eq(fi.ino, 10952919);

	ck_assert_int_eq(ps_parse_fdinfo(fdinfo_eventfd, &fi), 0);
	ck_assert_int_eq(fi.flags, O_CLOEXEC | O_RDWR);
	ck_assert_int_eq(fi.mnt_id, 17);
	ck_assert_uint_eq(fi.ino, 20);

	/* ino is optional (older kernels); pos, flags and mnt_id are not */
	ck_assert_int_eq(ps_parse_fdinfo("pos:\t7\nflags:\t02\nmnt_id:\t3\n", &fi), 0);
	ck_assert_uint_eq(fi.pos, 7);
	ck_assert_uint_eq(fi.ino, 0);
	ck_assert_int_eq(ps_parse_fdinfo("pos:\t7\nmnt_id:\t3\n", &fi), -EINVAL);
	ck_assert_int_eq(ps_parse_fdinfo("pos:\t7\nflags:\t09\nmnt_id:\t3\n", &fi), -EINVAL);
	ck_assert_int_eq(ps_parse_fdinfo("pos:\t\nflags:\t02\nmnt_id:\t3\n", &fi), -EINVAL);
	ck_assert_int_eq(ps_parse_fdinfo("", &fi), -EINVAL);
}
END_TEST

START_TEST(test_auxv)
{
	struct ps_auxv_entry *v;
	uint64_t with_tail[sizeof(auxv_real) / 8 + 4];
	size_t n;

	ck_assert_int_eq(ps_parse_auxv(auxv_real, sizeof(auxv_real), &v, &n), 0);
	ck_assert_uint_eq(n, 23);
	ck_assert_uint_eq(v[0].type, AT_SYSINFO_EHDR);
	ck_assert_uint_eq(v[0].value, 0x7f62a3575000ULL);
	ck_assert_uint_eq(v[3].type, AT_PAGESZ);
	ck_assert_uint_eq(v[3].value, 4096);
	ck_assert_uint_eq(v[5].type, AT_PHDR);
	ck_assert_uint_eq(v[16].type, AT_RANDOM);
	ck_assert_uint_eq(v[22].type, AT_NULL);
	ck_assert_uint_eq(v[22].value, 0);
	free(v);

	/* anything after AT_NULL is ignored */
	memcpy(with_tail, auxv_real, sizeof(auxv_real));
	memset((char *)with_tail + sizeof(auxv_real), 0x5a, 32);
	ck_assert_int_eq(ps_parse_auxv(with_tail, sizeof(with_tail), &v, &n), 0);
	ck_assert_uint_eq(n, 23);
	free(v);

	/* truncated: no AT_NULL, or half a pair */
	ck_assert_int_eq(ps_parse_auxv(auxv_real, sizeof(auxv_real) - 16, &v, &n), -EINVAL);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(ps_parse_auxv(auxv_real, sizeof(auxv_real) - 8, &v, &n), -EINVAL);
	ck_assert_int_eq(ps_parse_auxv(auxv_real, 0, &v, &n), -EINVAL);
}
END_TEST

START_TEST(test_split_nul)
{
	struct ps_strlist l;
	static const char cmdline[] = "/usr/bin/sleep\0" "1000\0";
	static const char no_final_nul[] = { 'a', 'b', '\0', 'c', 'd' };
	static const char empty_arg[] = "prog\0\0last";
	size_t i;

	ck_assert_int_eq(ps_split_nul(cmdline, sizeof(cmdline) - 1, &l), 0);
	ck_assert_uint_eq(l.count, 2);
	ck_assert_str_eq(l.items[0].data, "/usr/bin/sleep");
	ck_assert_uint_eq(l.items[0].len, 14);
	ck_assert_str_eq(l.items[1].data, "1000");
	for (i = 0; i < l.count; i++)
		free(l.items[i].data);
	free(l.items);

	ck_assert_int_eq(ps_split_nul(no_final_nul, sizeof(no_final_nul), &l), 0);
	ck_assert_uint_eq(l.count, 2);
	ck_assert_str_eq(l.items[0].data, "ab");
	ck_assert_str_eq(l.items[1].data, "cd");
	ck_assert_uint_eq(l.items[1].len, 2);
	for (i = 0; i < l.count; i++)
		free(l.items[i].data);
	free(l.items);

	/* an empty argument is a real argument */
	ck_assert_int_eq(ps_split_nul(empty_arg, sizeof(empty_arg) - 1, &l), 0);
	ck_assert_uint_eq(l.count, 3);
	ck_assert_str_eq(l.items[0].data, "prog");
	ck_assert_uint_eq(l.items[1].len, 0);
	ck_assert_str_eq(l.items[1].data, "");
	ck_assert_str_eq(l.items[2].data, "last");
	for (i = 0; i < l.count; i++)
		free(l.items[i].data);
	free(l.items);

	ck_assert_int_eq(ps_split_nul("", 0, &l), 0);
	ck_assert_uint_eq(l.count, 0);
	ck_assert_ptr_null(l.items);
}
END_TEST

START_TEST(test_timers)
{
	struct ps_posix_timer *t;
	size_t n;

	ck_assert_int_eq(ps_parse_timers(timers_real, &t, &n), 0);
	ck_assert_uint_eq(n, 3);
	/* sorted by id */
	ck_assert_int_eq(t[0].id, 0);
	ck_assert_int_eq(t[0].signo, SIGUSR1);
	ck_assert_uint_eq(t[0].sigval, 0x1234);
	ck_assert_int_eq(t[0].notify, SIGEV_SIGNAL);
	ck_assert_int_eq(t[0].notify_tid, 0);
	ck_assert_int_eq(t[0].clock, CLOCK_MONOTONIC);
	ck_assert_int_eq(t[1].id, 1);
	ck_assert_int_eq(t[1].notify, SIGEV_NONE);
	ck_assert_int_eq(t[1].clock, CLOCK_REALTIME);
	ck_assert_int_eq(t[2].id, 2);
	ck_assert_int_eq(t[2].signo, 35);
	ck_assert_uint_eq(t[2].sigval, 0xffffffffULL);
	ck_assert_int_eq(t[2].notify, SIGEV_SIGNAL | SIGEV_THREAD_ID);
	ck_assert_int_eq(t[2].notify_tid, 3168);
	ck_assert_int_eq(t[2].clock, CLOCK_BOOTTIME);
	ck_assert_uint_eq(t[2].value_ns, 0);
	free(t);

	ck_assert_int_eq(ps_parse_timers("", &t, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(t);
	/* the last block is cut short */
	ck_assert_int_eq(ps_parse_timers("ID: 0\nsignal: 10/0\nnotify: signal/pid.1\n", &t, &n),
			 -EINVAL);
	/* a block cut short before the next one */
	ck_assert_int_eq(ps_parse_timers("ID: 0\nsignal: 10/0\nID: 1\nsignal: 10/0\n"
					 "notify: signal/pid.1\nClockID: 0\n", &t, &n), -EINVAL);
	ck_assert_int_eq(ps_parse_timers("ID: 0\nsignal: 10/0\nnotify: carrier-pigeon/pid.1\n"
					 "ClockID: 0\n", &t, &n), -EINVAL);
	ck_assert_int_eq(ps_parse_timers("ID: 0\nsignal: 10\nnotify: signal/pid.1\nClockID: 0\n",
					 &t, &n), -EINVAL);
	ck_assert_int_eq(ps_parse_timers("signal: 10/0\n", &t, &n), -EINVAL);
}
END_TEST

START_TEST(test_read_file)
{
	char *buf;
	size_t len;
	struct ps_stat st;

	ck_assert_int_eq(ps_read_file("/proc/self/stat", &buf, &len), 0);
	ck_assert_uint_gt(len, 50);
	ck_assert_uint_eq(strlen(buf), len);
	ck_assert_int_eq(ps_parse_stat(buf, &st), 0);
	ck_assert_int_eq(st.pid, getpid());
	free(buf);

	/* bigger than one read: smaps of a process is several pages */
	ck_assert_int_eq(ps_read_file("/proc/self/smaps", &buf, &len), 0);
	ck_assert_uint_gt(len, 8192);
	ck_assert_uint_eq(strlen(buf), len);
	free(buf);

	ck_assert_int_eq(ps_read_file("/nonexistent/procsnap", &buf, &len), -ENOENT);
	ck_assert_ptr_null(buf);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Live: process                                                       */
/* ------------------------------------------------------------------ */

static void free_process(struct ps_process *p)
{
	size_t i;

	free(p->exe.data);
	free(p->cwd.data);
	free(p->root.data);
	for (i = 0; i < p->cmdline.count; i++)
		free(p->cmdline.items[i].data);
	free(p->cmdline.items);
	for (i = 0; i < p->environ.count; i++)
		free(p->environ.items[i].data);
	free(p->environ.items);
	free(p->creds.groups);
	free(p->mm.auxv);
	free(p->timers);
}

START_TEST(test_live_process)
{
	struct ps_process p;
	struct rlimit rl, old_mq;
	struct sigevent ev;
	char err[256] = "", comm[16] = "", cwd[4096], exe[4096];
	ssize_t n;
	timer_t timer;
	mode_t old_umask = umask(027);
	size_t i;
	int found_timer = 0;

	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGRTMIN + 2;
	ev.sigev_value.sival_ptr = (void *)0xbeef;
	ck_assert_int_eq(timer_create(CLOCK_MONOTONIC, &ev, &timer), 0);

	ck_assert_int_eq(getrlimit(RLIMIT_MSGQUEUE, &old_mq), 0);
	rl = old_mq;
	rl.rlim_cur = 4321;
	ck_assert_int_eq(setrlimit(RLIMIT_MSGQUEUE, &rl), 0);

	memset(&p, 0, sizeof(p));
	p.mm.brk = 0x1234;        /* filled by the remote capture: must survive */
	ck_assert_msg(ps_capture_process_proc(getpid(), &p, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(ps_capture_timers_proc(getpid(), &p, err, sizeof(err)) == 0, "%s", err);
	umask(old_umask);
	setrlimit(RLIMIT_MSGQUEUE, &old_mq);

	ck_assert_int_eq(p.pid, getpid());
	ck_assert_int_eq(p.ppid, getppid());
	ck_assert_int_eq(p.pgid, getpgrp());
	ck_assert_int_eq(p.sid, getsid(0));
	prctl(PR_GET_NAME, comm);
	ck_assert_str_eq(p.comm, comm);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_str_eq(p.cwd.data, cwd);
	ck_assert_uint_eq(p.cwd.len, strlen(cwd));
	ck_assert_str_eq(p.root.data, "/");
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	ck_assert_str_eq(p.exe.data, exe);
	ck_assert_uint_ge(p.cmdline.count, 1);
	ck_assert_str_eq(p.cmdline.items[0].data, program_invocation_name);
	ck_assert_uint_eq(p.umask, 027);
	ck_assert_uint_eq(p.creds.uid[0], getuid());
	ck_assert_uint_eq(p.creds.uid[1], geteuid());
	ck_assert_uint_eq(p.creds.gid[0], getgid());
	ck_assert_int_eq(p.creds.no_new_privs, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	/* (valgrind fakes NOFILE, DATA and STACK, so check limits it leaves alone) */
	ck_assert_uint_eq(p.rlimits[RLIMIT_MSGQUEUE].cur, 4321);
	ck_assert_uint_eq(p.rlimits[RLIMIT_MSGQUEUE].max,
			  old_mq.rlim_max == RLIM_INFINITY ? PS_RLIM_INFINITY : old_mq.rlim_max);
	ck_assert_int_eq(getrlimit(RLIMIT_SIGPENDING, &rl), 0);
	ck_assert_uint_eq(p.rlimits[RLIMIT_SIGPENDING].cur,
			  rl.rlim_cur == RLIM_INFINITY ? PS_RLIM_INFINITY : rl.rlim_cur);
	ck_assert_uint_eq(p.personality, (unsigned long)personality(0xffffffff));

	/* mm layout: argv lives between arg_start and arg_end */
	ck_assert_uint_ne(p.mm.start_code, 0);
	ck_assert_uint_lt(p.mm.start_code, p.mm.end_code);
	ck_assert_uint_lt(p.mm.arg_start, p.mm.arg_end);
	ck_assert_uint_le(p.mm.arg_end, p.mm.env_start);
	ck_assert_uint_ge(p.mm.start_brk, p.mm.end_data);   /* (valgrind fakes sbrk) */
	ck_assert_uint_eq(p.mm.brk, 0x1234);
	ck_assert_uint_ge(p.mm.nauxv, 2);
	ck_assert_uint_eq(p.mm.auxv[p.mm.nauxv - 1].type, AT_NULL);
	for (i = 0; i < p.mm.nauxv; i++)
		if (p.mm.auxv[i].type == AT_PAGESZ)
			ck_assert_uint_eq(p.mm.auxv[i].value, (uint64_t)sysconf(_SC_PAGESIZE));

	for (i = 0; i < p.ntimers; i++) {
		if (p.timers[i].id != (int)(intptr_t)timer)
			continue;
		found_timer = 1;
		ck_assert_int_eq(p.timers[i].signo, SIGRTMIN + 2);
		ck_assert_int_eq(p.timers[i].clock, CLOCK_MONOTONIC);
		ck_assert_int_eq(p.timers[i].notify, SIGEV_SIGNAL);
		ck_assert_uint_eq(p.timers[i].sigval, 0xbeef);
	}
	ck_assert_int_eq(found_timer, 1);
	timer_delete(timer);
	free_process(&p);
}
END_TEST

START_TEST(test_live_process_gone)
{
	struct ps_process p;
	char err[256] = "";
	pid_t child = fork();

	ck_assert_int_ge(child, 0);
	if (child == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(child, NULL, 0), child);
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(ps_capture_process_proc(child, &p, err, sizeof(err)), -ENOENT);
	ck_assert_msg(strstr(err, "/proc/") && strstr(err, "No such file"), "%s", err);
	ck_assert_ptr_null(p.exe.data);
	ck_assert_ptr_null(p.cmdline.items);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Live: fds                                                           */
/* ------------------------------------------------------------------ */

static const struct ps_fd *find_fd(const struct ps_fds *fds, int fd)
{
	size_t i;

	for (i = 0; i < fds->count; i++)
		if (fds->items[i].fd == fd)
			return &fds->items[i];
	return NULL;
}

START_TEST(test_live_fds)
{
	char tmpl[] = "/tmp/check_proc_parse.XXXXXX", deleted_tmpl[] = "/tmp/check_del.XXXXXX";
	char err[256] = "";
	struct ps_fds fds;
	const struct ps_fd *f;
	struct stat st;
	int tmp, app, ro, pipefd[2], efd, dirfd, nullfd, del, memfd;
	size_t i;

	tmp = mkstemp(tmpl);
	ck_assert_int_ge(tmp, 0);
	app = open(tmpl, O_WRONLY | O_APPEND);
	ck_assert_int_ge(app, 0);
	ck_assert_int_eq(write(app, "hello", 5), 5);
	ro = open(tmpl, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(ro, 0);
	ck_assert_int_eq(pipe(pipefd), 0);
	ck_assert_int_eq(write(pipefd[1], "abc", 3), 3);
	efd = eventfd(3, 0);
	ck_assert_int_ge(efd, 0);
	dirfd = open("/tmp", O_RDONLY | O_DIRECTORY);
	nullfd = open("/dev/null", O_RDWR);
	del = mkstemp(deleted_tmpl);
	ck_assert_int_ge(del, 0);
	unlink(deleted_tmpl);
	memfd = memfd_create("ps test", 0);
	ck_assert_int_ge(memfd, 0);

	ck_assert_msg(ps_capture_fds(getpid(), &fds, err, sizeof(err)) == 0, "%s", err);

	for (i = 1; i < fds.count; i++)
		ck_assert_int_lt(fds.items[i - 1].fd, fds.items[i].fd);
	for (i = 0; i < fds.count; i++) {
		ck_assert_ptr_nonnull(ps_fd_kind_json_name(&fds.items[i]));
		ck_assert_ptr_nonnull(fds.items[i].path.data);
		ck_assert(fds.items[i].supported || fds.items[i].unsupported_reason);
	}

	f = find_fd(&fds, app);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->type, PS_FD_REG);
	ck_assert_int_eq(f->kind, PS_FD_KIND_FILE);
	ck_assert_str_eq(ps_fd_kind_json_name(f), "file");
	ck_assert_str_eq(f->path.data, tmpl);
	ck_assert_uint_eq(f->pos, 5);
	ck_assert_int_eq(f->flags & O_ACCMODE, O_WRONLY);
	ck_assert_int_ne(f->flags & O_APPEND, 0);
	ck_assert_int_eq(f->cloexec, 0);
	ck_assert_int_eq(f->supported, 1);
	ck_assert_int_eq(f->deleted, 0);
	ck_assert_int_eq(fstat(app, &st), 0);
	ck_assert_uint_eq(f->ino, st.st_ino);
	ck_assert_uint_eq(f->dev_major, major(st.st_dev));
	ck_assert_uint_eq(f->dev_minor, minor(st.st_dev));
	ck_assert_uint_eq(f->mode, st.st_mode);
	ck_assert_int_gt(f->mnt_id, 0);

	f = find_fd(&fds, ro);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->cloexec, 1);
	ck_assert_int_eq(f->flags & O_CLOEXEC, 0);
	ck_assert_int_eq(f->flags & O_ACCMODE, O_RDONLY);
	ck_assert_uint_eq(f->pos, 0);

	for (i = 0; i < 2; i++) {
		f = find_fd(&fds, pipefd[i]);
		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(f->type, PS_FD_PIPE);
		ck_assert_int_eq(f->kind, PS_FD_KIND_PIPE);
		ck_assert_str_eq(ps_fd_kind_json_name(f), "pipe");
		ck_assert_int_eq(f->supported, 1);
		ck_assert_uint_ge(f->u.pipe_size, 4096);
		ck_assert(strncmp(f->path.data, "pipe:[", 6) == 0);
	}
	ck_assert_int_eq(find_fd(&fds, pipefd[1])->flags & O_ACCMODE, O_WRONLY);
	/* the unread bytes, once, with the pipe's lowest fd; and still unread */
	f = find_fd(&fds, pipefd[0] < pipefd[1] ? pipefd[0] : pipefd[1]);
	ck_assert_uint_eq(f->nbytes, 3);
	ck_assert_mem_eq(f->bytes, "abc", 3);
	ck_assert_ptr_nonnull(f->data);
	ck_assert_uint_eq(find_fd(&fds, pipefd[0] < pipefd[1] ? pipefd[1] : pipefd[0])->nbytes, 0);
	{
		char back[4] = "";

		ck_assert_int_eq(read(pipefd[0], back, 3), 3);
		ck_assert_mem_eq(back, "abc", 3);
	}

	f = find_fd(&fds, efd);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->type, PS_FD_ANON);
	ck_assert_int_eq(f->kind, PS_FD_KIND_EVENTFD);
	ck_assert_str_eq(ps_fd_kind_json_name(f), "eventfd");
	ck_assert_int_eq(f->supported, 1);
	ck_assert_uint_eq(f->u.eventfd.count, 3);
	ck_assert_int_eq(f->u.eventfd.semaphore, 0);

	f = find_fd(&fds, dirfd);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->type, PS_FD_DIR);
	ck_assert_int_eq(f->kind, PS_FD_KIND_DIR);
	ck_assert_str_eq(ps_fd_kind_json_name(f), "directory");
	ck_assert_str_eq(f->path.data, "/tmp");
	ck_assert_int_eq(f->supported, 1);

	f = find_fd(&fds, nullfd);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->type, PS_FD_CHR);
	ck_assert_int_eq(f->kind, PS_FD_KIND_FILE);   /* /dev/null: a device, no terminal */
	ck_assert_str_eq(ps_fd_kind_json_name(f), "char");
	ck_assert_uint_eq(f->rdev_major, 1);
	ck_assert_uint_eq(f->rdev_minor, 3);
	ck_assert_int_eq(f->flags & O_ACCMODE, O_RDWR);
	ck_assert_int_eq(f->supported, 1);

	f = find_fd(&fds, del);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->type, PS_FD_REG);
	ck_assert_int_eq(f->deleted, 1);
	ck_assert_str_eq(f->path.data, deleted_tmpl);
	ck_assert_int_eq(f->supported, 1);
	ck_assert_uint_eq(f->u.content.size, 0);
	ck_assert_uint_eq(f->u.content.uid, getuid());
	ck_assert_ptr_nonnull(f->data);   /* its content goes into fds/<n> */

	f = find_fd(&fds, memfd);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->type, PS_FD_ANON);
	ck_assert_int_eq(f->kind, PS_FD_KIND_MEMFD);
	ck_assert_str_eq(ps_fd_kind_json_name(f), "memfd");
	ck_assert_str_eq(f->path.data, "/memfd:ps test");
	ck_assert_int_eq(f->supported, 1);
	ck_assert_uint_eq(f->u.content.seals, F_SEAL_SEAL);   /* made without MFD_ALLOW_SEALING */

	ps_fds_free(&fds);
	close(tmp);
	close(app);
	close(ro);
	close(pipefd[0]);
	close(pipefd[1]);
	close(efd);
	close(dirfd);
	close(nullfd);
	close(del);
	close(memfd);
	unlink(tmpl);
}
END_TEST

START_TEST(test_live_fds_literal_deleted_name)
{
	/* a live file whose name really ends in " (deleted)" is not deleted */
	char dir[] = "/tmp/check_fds.XXXXXX", path[128], err[256] = "";
	struct ps_fds fds;
	const struct ps_fd *f;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x (deleted)", dir);
	fd = open(path, O_CREAT | O_RDWR, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(ps_capture_fds(getpid(), &fds, err, sizeof(err)) == 0, "%s", err);
	f = find_fd(&fds, fd);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->deleted, 0);
	ck_assert_int_eq(f->supported, 1);
	ck_assert_str_eq(f->path.data, path);
	ps_fds_free(&fds);
	close(fd);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(test_live_fds_gone)
{
	struct ps_fds fds;
	char err[256] = "";
	pid_t child = fork();

	ck_assert_int_ge(child, 0);
	if (child == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(child, NULL, 0), child);
	ck_assert_int_eq(ps_capture_fds(child, &fds, err, sizeof(err)), -ENOENT);
	ck_assert_msg(strstr(err, "/fd") != NULL, "%s", err);
	ck_assert_uint_eq(fds.count, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Live: ELF build-id                                                  */
/* ------------------------------------------------------------------ */

static int libc_path(char *out, size_t outlen)
{
	char *maps, *line;
	size_t len;
	int found = 0;

	if (ps_read_file("/proc/self/maps", &maps, &len) < 0)
		return 0;
	for (line = strtok(maps, "\n"); line && !found; line = strtok(NULL, "\n")) {
		char *path = strchr(line, '/');

		if (path && strstr(path, "/libc.so")) {
			snprintf(out, outlen, "%s", path);
			found = 1;
		}
	}
	free(maps);
	return found;
}

/* An independent reading of the note: the raw bytes of a GNU build-id note
 * header (namesz 4, descsz 20, type 3, "GNU\0") followed by the id. */
static void raw_build_id(const char *path, char *hex)
{
	static const uint32_t hdr[4] = { 4, 20, 3, 0x00554e47 };
	char *buf;
	size_t len, i;
	const unsigned char *at;

	hex[0] = '\0';
	ck_assert_int_eq(ps_read_file(path, &buf, &len), 0);
	at = memmem(buf, len, hdr, sizeof(hdr));
	if (at) {
		at += sizeof(hdr);
		for (i = 0; i < 20; i++)
			sprintf(hex + 2 * i, "%02x", at[i]);
	}
	free(buf);
}

START_TEST(test_build_id_libc)
{
	char path[4096], id[2 * 64 + 1], raw[41], small[20];
	size_t i;
	int fd;

	ck_assert_msg(libc_path(path, sizeof(path)), "libc not found in /proc/self/maps");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ps_elf_build_id(fd, id, sizeof(id)), 0);
	ck_assert_uint_eq(strlen(id), 40);
	for (i = 0; i < 40; i++)
		ck_assert_msg(strchr("0123456789abcdef", id[i]) != NULL, "bad hex %s", id);
	raw_build_id(path, raw);
	ck_assert_str_eq(id, raw);
	/* too small a buffer is an error, not a truncated id */
	ck_assert_int_eq(ps_elf_build_id(fd, small, sizeof(small)), -ERANGE);
	close(fd);
}
END_TEST

START_TEST(test_build_id_exe_and_non_elf)
{
	char id[129], tmpl[] = "/tmp/check_notelf.XXXXXX";
	int fd, rc;
	size_t i;

	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	rc = ps_elf_build_id(fd, id, sizeof(id));
	ck_assert(rc == 0 || rc == -ENOENT);
	if (rc == 0)
		for (i = 0; id[i]; i++)
			ck_assert(strchr("0123456789abcdef", id[i]) != NULL);
	else
		ck_assert_str_eq(id, "");
	close(fd);

	fd = mkstemp(tmpl);
	ck_assert_int_ge(fd, 0);
	unlink(tmpl);
	ck_assert_int_eq(ps_elf_build_id(fd, id, sizeof(id)), -ENOENT);      /* empty */
	ck_assert_int_eq(write(fd, "#!/bin/sh\necho not an ELF file\n", 31), 31);
	ck_assert_int_eq(ps_elf_build_id(fd, id, sizeof(id)), -ENOENT);
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(pwrite(fd, "\177ELF\2\1\1", 7, 0), 7);              /* truncated ELF */
	rc = ps_elf_build_id(fd, id, sizeof(id));
	ck_assert(rc == -ENOENT || rc == -EIO);
	close(fd);

	fd = open("/dev/null", O_RDONLY);
	ck_assert_int_eq(ps_elf_build_id(fd, id, sizeof(id)), -ENOENT);
	close(fd);
	ck_assert_int_eq(ps_elf_build_id(-1, id, sizeof(id)), -EBADF);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Live: proclist                                                      */
/* ------------------------------------------------------------------ */

static int contains_pid(const pid_t *v, size_t n, pid_t pid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == pid)
			return 1;
	return 0;
}

static int thread_ready[2], thread_quit[2];

static void *sleeping_thread(void *arg)
{
	char c;
	pid_t *tid = arg;

	*tid = (pid_t)syscall(SYS_gettid);
	if (write(thread_ready[1], "r", 1) != 1)
		return NULL;
	if (read(thread_quit[0], &c, 1) < 0)
		return NULL;
	return NULL;
}

START_TEST(test_proclist)
{
	pid_t *pids, tid = 0;
	pthread_t th;
	size_t n, i;
	char c;

	ck_assert_int_eq(ps_proclist_read(&pids, &n), 0);
	ck_assert_uint_gt(n, 0);
	ck_assert(contains_pid(pids, n, getppid()));
	ck_assert(!contains_pid(pids, n, 2));             /* kthreadd */
	ck_assert(!contains_pid(pids, n, getpid()));      /* procsnap itself */
	for (i = 1; i < n; i++)
		ck_assert_int_lt(pids[i - 1], pids[i]);
	free(pids);

	ck_assert_int_eq(ps_proclist_is_shown(getppid()), 1);
	ck_assert_int_eq(ps_proclist_is_shown(2), 0);
	ck_assert_int_eq(ps_proclist_is_shown(getpid()), 0);
	ck_assert_int_eq(ps_proclist_is_shown(-1), 0);
	ck_assert_int_eq(ps_proclist_tgid(getpid()), getpid());
	ck_assert_int_lt(ps_proclist_tgid(0), 0);

	/* a thread is reachable as /proc/<tid> but is not a process */
	ck_assert_int_eq(pipe(thread_ready), 0);
	ck_assert_int_eq(pipe(thread_quit), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, sleeping_thread, &tid), 0);
	ck_assert_int_eq(read(thread_ready[0], &c, 1), 1);
	ck_assert_int_ne(tid, getpid());
	ck_assert_int_eq(ps_proclist_tgid(tid), getpid());
	ck_assert_int_eq(ps_proclist_is_shown(tid), 0);
	ck_assert_int_eq(write(thread_quit[1], "q", 1), 1);
	pthread_join(th, NULL);
	close(thread_ready[0]);
	close(thread_ready[1]);
	close(thread_quit[0]);
	close(thread_quit[1]);
}
END_TEST

START_TEST(test_proclist_zombie)
{
	pid_t *pids, child = fork();
	size_t n;

	ck_assert_int_ge(child, 0);
	if (child == 0)
		_exit(0);
	usleep(100000);                                   /* child is a zombie until waited */
	ck_assert_int_eq(ps_proclist_is_shown(child), 0);
	ck_assert_int_eq(ps_proclist_read(&pids, &n), 0);
	ck_assert(!contains_pid(pids, n, child));
	free(pids);
	waitpid(child, NULL, 0);
}
END_TEST

/* A child with the given ids, optionally not dumpable, that waits for the
 * pipe to close. Returns its pid once it is set up. */
static pid_t spawn_with_ids(uid_t uid, gid_t gid, int dumpable, int drop_caps, int *keep)
{
	int p[2], ready[2];
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[1]);
		close(ready[0]);
		if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
			_exit(1);
		if (drop_caps) {
			struct { uint32_t version; int pid; } hdr = { 0x20080522, 0 };
			struct { uint32_t eff, prm, inh; } data[2];

			memset(data, 0, sizeof(data));
			if (syscall(SYS_capset, &hdr, data) < 0)
				_exit(1);
		}
		prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		(void)!read(p[0], &c, 1);
		_exit(0);
	}
	close(p[0]);
	close(ready[1]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*keep = p[1];
	return pid;
}

/* Later children inherit earlier pipes, so closing ours is not enough. */
static void reap(pid_t pid, int keep)
{
	close(keep);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

START_TEST(test_may_trace)
{
	char err[256];
	int k1, k2, k3;
	pid_t plain_root, user, user_nodump;

	if (geteuid() != 0)
		return;           /* needs root to make children with other ids */
	/* we are root with CAP_SYS_PTRACE: anything goes */
	err[0] = '\0';
	ck_assert_int_eq(ps_proclist_may_trace(getpid(), 0, 0, 1, err, sizeof(err)), 0);

	/* uid 1000 may not trace a root process */
	ck_assert_int_eq(ps_proclist_may_trace(getpid(), 1000, 1000, getpid(), err, sizeof(err)),
			 -EACCES);
	ck_assert_msg(strstr(err, "belongs to uid 0") && strstr(err, "you (uid 1000)"), "%s", err);

	/* uid 0 without CAP_SYS_PTRACE: the same-ids rule */
	plain_root = spawn_with_ids(0, 0, 1, 1, &k1);
	ck_assert_int_eq(ps_proclist_may_trace(plain_root, 0, 0, getpid(), err, sizeof(err)), 0);

	user = spawn_with_ids(1000, 1000, 1, 0, &k2);
	user_nodump = spawn_with_ids(1000, 1000, 0, 0, &k3);
	ck_assert_int_eq(ps_proclist_may_trace(user, 1000, 1000, user, err, sizeof(err)), 0);
	ck_assert_int_eq(ps_proclist_may_trace(user, 1000, 1001, user, err, sizeof(err)), -EACCES);
	ck_assert_msg(strstr(err, "gid 1001") != NULL, "%s", err);
	ck_assert_int_eq(ps_proclist_may_trace(user, 1000, 1000, user_nodump, err, sizeof(err)),
			 -EACCES);
	ck_assert_msg(strstr(err, "not dumpable") != NULL, "%s", err);
	/* a root caller without CAP_SYS_PTRACE may not trace uid 1000 */
	ck_assert_int_eq(ps_proclist_may_trace(plain_root, 0, 0, user, err, sizeof(err)), -EACCES);
	/* with it, it may */
	ck_assert_int_eq(ps_proclist_may_trace(getpid(), 0, 0, user_nodump, err, sizeof(err)), 0);
	reap(plain_root, k1);
	reap(user, k2);
	reap(user_nodump, k3);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *proc_parse_suite(void)
{
	Suite *s = suite_create("proc_parse");
	TCase *parse = tcase_create("parsers");
	TCase *live = tcase_create("live");

	tcase_add_test(parse, test_stat_real);
	tcase_add_test(parse, test_epoll_targets);
	tcase_add_test(parse, test_stat_tricky_comm);
	tcase_add_test(parse, test_stat_kthread_and_long_comm);
	tcase_add_test(parse, test_stat_malformed);
	tcase_add_test(parse, test_status_real_empty_groups);
	tcase_add_test(parse, test_status_user);
	tcase_add_test(parse, test_status_x86_features);
	tcase_add_test(parse, test_status_missing_and_malformed);
	tcase_add_test(parse, test_maps_file_line);
	tcase_add_test(parse, test_maps_spaces_and_deleted);
	tcase_add_test(parse, test_maps_special_lines);
	tcase_add_test(parse, test_maps_malformed);
	tcase_add_test(parse, test_smaps_vmflags);
	tcase_add_test(parse, test_limits_real);
	tcase_add_test(parse, test_limits_shuffled_and_bad);
	tcase_add_test(parse, test_autogroup);
	tcase_add_test(parse, test_fdinfo);
	tcase_add_test(parse, test_fdinfo_kinds);
	tcase_add_test(parse, test_auxv);
	tcase_add_test(parse, test_split_nul);
	tcase_add_test(parse, test_timers);
	tcase_add_test(parse, test_read_file);
	suite_add_tcase(s, parse);

	tcase_add_test(live, test_live_process);
	tcase_add_test(live, test_live_process_gone);
	tcase_add_test(live, test_live_fds);
	tcase_add_test(live, test_live_fds_literal_deleted_name);
	tcase_add_test(live, test_live_fds_gone);
	tcase_add_test(live, test_build_id_libc);
	tcase_add_test(live, test_build_id_exe_and_non_elf);
	tcase_add_test(live, test_proclist);
	tcase_add_test(live, test_proclist_zombie);
	tcase_add_test(live, test_may_trace);
	tcase_set_timeout(live, 30);
	suite_add_tcase(s, live);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(proc_parse_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
