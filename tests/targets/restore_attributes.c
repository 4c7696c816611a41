/* restore_attributes: a process that sets every attribute it can on itself (and
 * other values in a second thread), then checks each one after a restore; or
 * sets one procsnap refuses (its mode argument). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

/* The kernel's struct sched_attr (glibc 2.36 has none; its linux/
 * header clashes with <sched.h>). */
struct sched_attr {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
	uint32_t sched_util_min, sched_util_max;
};

#define SCHED_FLAG_RESET_ON_FORK 0x01
#define PR_SET_MDWE_NR 65
#define PR_GET_MDWE_NR 66
#define PR_GET_MEMORY_MERGE_NR 68
#define PR_SET_MEMORY_MERGE_NR 67
#define ARCH_GET_CPUID_NR 0x1011
#define ARCH_SET_CPUID_NR 0x1012
#define ARCH_GET_XCOMP_SUPP_NR 0x1021
#define ARCH_GET_XCOMP_PERM_NR 0x1022
#define ARCH_REQ_XCOMP_PERM_NR 0x1023
#define XFEATURE_XTILEDATA 18
#define MB_REGISTER_PRIVATE_EXPEDITED (1 << 4)
#define MB_PRIVATE_EXPEDITED (1 << 3)
#define MB_REGISTER_SYNC_CORE (1 << 6)
#define MB_SYNC_CORE (1 << 5)
#define MB_REGISTER_RSEQ (1 << 8)
#define MB_RSEQ (1 << 7)
#define IOPRIO(cls, lvl) (((cls) << 13) | (lvl))
#define SCHED_FLAG_UTIL_CLAMP 0x60

#define PR_SET_SYSCALL_USER_DISPATCH_NR 59
#define PR_FUTEX_HASH_NR 78
#define FUTEX_HASH_SET_SLOTS 1
#define FUTEX_HASH_GET_SLOTS 2

static volatile sig_atomic_t verify_requested;
static int first_cpu, last_cpu;   /* the main thread runs on the first, thread 2 on the last */
static char sud_selector;     /* SYSCALL_DISPATCH_FILTER_ALLOW */
static int to_worker[2], from_worker[2];
static pid_t worker_tid;

/* What this kernel and machine let the target set (the rest is skipped,
 * and named in the READY line). */
static struct {
	int spec, cpuid, amx, merge, autogroup, loginuid, uclamp, mdwe, slice, futex;
} have;
static uint64_t main_slice;   /* the main thread's default time slice (sched_runtime) */

static void on_usr2(int sig)
{
	(void)sig;
	verify_requested = 1;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -1;
}

static long long read_number(const char *path, int base)
{
	char buf[128] = "";
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = '\0';
		close(fd);
	}
	return strtoll(buf, NULL, base);
}

static int autogroup_nice(void)
{
	char buf[128] = "", *at;
	int fd = open("/proc/self/autogroup", O_RDONLY), nice = -100;

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = '\0';
		close(fd);
	}
	at = strstr(buf, " nice ");
	if (at)
		sscanf(at, " nice %d", &nice);
	return nice;
}

/* Pin the calling thread to one CPU. */
static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Whether the calling thread may run on exactly that CPU. */
static int pinned_to(int cpu)
{
	cpu_set_t set;

	return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) == 1 &&
	       CPU_ISSET(cpu, &set);
}

/* The kernel replaces a futex hash once no futex operation uses the old
 * one: wait up to a second for the size to read slots. */
static int futex_slots_become(int slots)
{
	for (int i = 0; i < 100; i++) {
		if (prctl(PR_FUTEX_HASH_NR, FUTEX_HASH_GET_SLOTS, 0, 0, 0) == slots)
			return 1;
		usleep(10000);
	}
	return 0;
}

static int get_sched(struct sched_attr *at)
{
	memset(at, 0, sizeof(*at));
	return (int)syscall(SYS_sched_getattr, 0, at, sizeof(*at), 0);
}

/* ---- the second thread: its own values, checked by itself ---- */

/* Checks its values and writes "OK" or the failure to from_worker; uses
 * no clock (rdtsc faults in this thread: PR_TSC_SIGSEGV). */
static void worker_check(char *why)
{
	struct sched_attr at;
	int sig = 0, tsc = 0;

	snprintf(why, WHY_LEN, "OK");
	if (get_sched(&at) < 0 || at.sched_policy != SCHED_BATCH || at.sched_nice != 7 ||
	    !(at.sched_flags & SCHED_FLAG_RESET_ON_FORK))
		snprintf(why, WHY_LEN, "thread 2: policy %u nice %d flags %#llx, want SCHED_BATCH, "
			 "7, reset-on-fork", at.sched_policy, at.sched_nice,
			 (unsigned long long)at.sched_flags);
	else if (have.slice && at.sched_runtime != 3000000)
		snprintf(why, WHY_LEN, "thread 2: time slice %llu ns, want 3000000",
			 (unsigned long long)at.sched_runtime);
	else if (have.uclamp && (at.sched_util_min != 100 || at.sched_util_max != 800))
		snprintf(why, WHY_LEN, "thread 2: util clamps %u..%u, want 100..800",
			 at.sched_util_min, at.sched_util_max);
	else if (!pinned_to(last_cpu))
		snprintf(why, WHY_LEN, "thread 2: not pinned to CPU %d alone", last_cpu);
	else if (prctl(PR_GET_TIMERSLACK) != 777777)
		snprintf(why, WHY_LEN, "thread 2: timer slack %d, want 777777", prctl(PR_GET_TIMERSLACK));
	else if (syscall(SYS_ioprio_get, 1, 0) != IOPRIO(2, 7))
		snprintf(why, WHY_LEN, "thread 2: ioprio %#lx, want BE/7", syscall(SYS_ioprio_get, 1, 0));
	else if (prctl(PR_GET_PDEATHSIG, &sig) || sig != SIGURG)
		snprintf(why, WHY_LEN, "thread 2: pdeathsig %d, want SIGURG", sig);
	else if (prctl(PR_MCE_KILL_GET, 0, 0, 0, 0) != PR_MCE_KILL_LATE)
		snprintf(why, WHY_LEN, "thread 2: MCE kill %d, want late", prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));
	else if (prctl(PR_GET_TSC, &tsc) || tsc != PR_TSC_SIGSEGV)
		snprintf(why, WHY_LEN, "thread 2: TSC %d, want PR_TSC_SIGSEGV", tsc);
	else if (have.spec && prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, 0, 0, 0) !=
				      (PR_SPEC_PRCTL | PR_SPEC_ENABLE))
		snprintf(why, WHY_LEN, "thread 2: store bypass %#x, want prctl-enabled",
			 prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, 0, 0, 0));
}

static int worker_setup(char *why)
{
	struct sched_attr at = { .size = sizeof(at), .sched_policy = SCHED_BATCH,
				 .sched_flags = SCHED_FLAG_RESET_ON_FORK, .sched_nice = 7,
				 .sched_runtime = 3000000 };

	CHECK_WHY(syscall(SYS_sched_setattr, 0, &at, 0) < 0, "thread 2: sched_setattr: %s",
		  strerror(errno));
	/* A time slice of its own (sched_runtime of a fair thread: Linux 6.12). */
	have.slice = get_sched(&at) == 0 && at.sched_runtime == 3000000;
	at.sched_flags |= SCHED_FLAG_UTIL_CLAMP;
	at.sched_util_min = 100;
	at.sched_util_max = 800;
	have.uclamp = syscall(SYS_sched_setattr, 0, &at, 0) == 0;
	CHECK_WHY(prctl(PR_SET_TIMERSLACK, 777777UL) < 0, "thread 2: timer slack: %s", strerror(errno));
	CHECK_WHY(pin(last_cpu) < 0, "thread 2: affinity: %s", strerror(errno));
	CHECK_WHY(syscall(SYS_ioprio_set, 1, 0, IOPRIO(2, 7)) < 0, "thread 2: ioprio: %s", strerror(errno));
	CHECK_WHY(prctl(PR_SET_PDEATHSIG, SIGURG) < 0, "thread 2: pdeathsig: %s", strerror(errno));
	CHECK_WHY(prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_LATE, 0, 0) < 0,
		  "thread 2: MCE kill: %s", strerror(errno));
	if (have.spec)
		CHECK_WHY(prctl(PR_SET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, PR_SPEC_ENABLE, 0, 0) < 0,
			  "thread 2: store bypass: %s", strerror(errno));
	CHECK_WHY(prctl(PR_SET_TSC, PR_TSC_SIGSEGV) < 0, "thread 2: TSC: %s", strerror(errno));
	return 0;
}

static void *worker(void *arg)
{
	char why[WHY_LEN], c;

	(void)arg;
	worker_tid = (pid_t)syscall(SYS_gettid);
	if (worker_setup(why) == 0)
		snprintf(why, WHY_LEN, "OK");
	for (;;) {
		if (write(from_worker[1], why, strlen(why) + 1) < 0)
			return NULL;
		if (read(to_worker[0], &c, 1) != 1)
			return NULL;
		worker_check(why);
	}
}

/* ---- the main thread and the process ---- */

static int setup_process(char *why)
{
	CHECK_WHY(setsid() < 0, "setsid: %s", strerror(errno));
	CHECK_WHY(write_file("/proc/self/oom_score_adj", "345"), "oom_score_adj: %s", strerror(errno));
	CHECK_WHY(write_file("/proc/self/coredump_filter", "0x3f"), "coredump_filter: %s", strerror(errno));
	have.autogroup = write_file("/proc/self/autogroup", "4") == 0;
	have.loginuid = read_number("/proc/self/loginuid", 10) == 4294967295LL &&
			write_file("/proc/self/loginuid", "4242") == 0;
	CHECK_WHY(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0, "THP disable: %s", strerror(errno));
	CHECK_WHY(prctl(PR_SET_CHILD_SUBREAPER, 1) < 0, "subreaper: %s", strerror(errno));
	CHECK_WHY(syscall(SYS_membarrier, MB_REGISTER_PRIVATE_EXPEDITED, 0, 0) < 0 ||
		  syscall(SYS_membarrier, MB_REGISTER_SYNC_CORE, 0, 0) < 0,
		  "membarrier registration: %s", strerror(errno));
	have.merge = prctl(PR_SET_MEMORY_MERGE_NR, 1, 0, 0, 0) == 0;
	{
		uint64_t supp = 0;

		have.amx = syscall(SYS_arch_prctl, ARCH_GET_XCOMP_SUPP_NR, &supp) == 0 &&
			   (supp & (1ULL << XFEATURE_XTILEDATA)) &&
			   syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM_NR, XFEATURE_XTILEDATA) == 0;
	}
	return 0;
}

static int setup_main_thread(char *why)
{
	cpu_set_t set;

	CHECK_WHY(sched_getaffinity(0, sizeof(set), &set) < 0, "affinity: %s", strerror(errno));
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			last_cpu = cpu;
	for (first_cpu = 0; !CPU_ISSET(first_cpu, &set); first_cpu++)
		;
	CHECK_WHY(pin(first_cpu) < 0, "affinity: %s", strerror(errno));
	struct sched_attr at;

	CHECK_WHY(setpriority(PRIO_PROCESS, 0, 3) < 0, "nice: %s", strerror(errno));
	CHECK_WHY(get_sched(&at) < 0, "sched_getattr: %s", strerror(errno));
	main_slice = at.sched_runtime;
	CHECK_WHY(prctl(PR_SET_TIMERSLACK, 123456UL) < 0, "timer slack: %s", strerror(errno));
	CHECK_WHY(prctl(PR_SET_PDEATHSIG, SIGWINCH) < 0, "pdeathsig: %s", strerror(errno));
	CHECK_WHY(syscall(SYS_ioprio_set, 1, 0, IOPRIO(3, 0)) < 0, "ioprio idle: %s", strerror(errno));
	CHECK_WHY(prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0) < 0, "MCE kill: %s",
		  strerror(errno));
	have.spec = (prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, 0, 0, 0) & PR_SPEC_PRCTL) &&
		    prctl(PR_SET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, PR_SPEC_DISABLE, 0, 0) == 0;
	have.cpuid = syscall(SYS_arch_prctl, ARCH_SET_CPUID_NR, 0) == 0;
	return 0;
}

static int check_process(char *why)
{
	int sub = 0;
	uint64_t perm = 0;

	CHECK_WHY(getsid(0) != getpid(), "session %d, want its own", getsid(0));
	CHECK_WHY(read_number("/proc/self/oom_score_adj", 10) != 345, "oom_score_adj %lld, want 345",
		  read_number("/proc/self/oom_score_adj", 10));
	CHECK_WHY(read_number("/proc/self/coredump_filter", 16) != 0x3f, "coredump_filter %#llx, want 0x3f",
		  read_number("/proc/self/coredump_filter", 16));
	CHECK_WHY(have.autogroup && autogroup_nice() != 4, "autogroup nice %d, want 4", autogroup_nice());
	CHECK_WHY(have.loginuid && read_number("/proc/self/loginuid", 10) != 4242, "loginuid %lld, want 4242",
		  read_number("/proc/self/loginuid", 10));
	CHECK_WHY(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) != 1, "THP disable is off");
	CHECK_WHY(prctl(PR_GET_CHILD_SUBREAPER, &sub) || sub != 1, "not a child subreaper");
	CHECK_WHY(syscall(SYS_membarrier, MB_PRIVATE_EXPEDITED, 0, 0) != 0,
		  "membarrier: not registered for PRIVATE_EXPEDITED (%s)", strerror(errno));
	CHECK_WHY(syscall(SYS_membarrier, MB_SYNC_CORE, 0, 0) != 0,
		  "membarrier: not registered for PRIVATE_EXPEDITED_SYNC_CORE (%s)", strerror(errno));
	CHECK_WHY(syscall(SYS_membarrier, MB_RSEQ, 0, 0) == 0,
		  "membarrier: registered for PRIVATE_EXPEDITED_RSEQ, which it never asked for");
	CHECK_WHY(have.merge && prctl(PR_GET_MEMORY_MERGE_NR, 0, 0, 0, 0) != 1, "memory merge is off");
	CHECK_WHY(have.amx && (syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM_NR, &perm) ||
			       !(perm & (1ULL << XFEATURE_XTILEDATA))), "AMX permission lost: %#llx",
		  (unsigned long long)perm);
	CHECK_WHY(have.futex && !futex_slots_become(256), "futex hash has %d slots, want 256",
		  prctl(PR_FUTEX_HASH_NR, FUTEX_HASH_GET_SLOTS, 0, 0, 0));
	CHECK_WHY(have.mdwe && prctl(PR_GET_MDWE_NR, 0, 0, 0, 0) != 1, "MDWE is %d, want 1",
		  prctl(PR_GET_MDWE_NR, 0, 0, 0, 0));
	return 0;
}

static int check_main_thread(char *why)
{
	struct sched_attr at;
	int sig = 0;

	CHECK_WHY(get_sched(&at) < 0 || at.sched_policy != SCHED_OTHER || at.sched_nice != 3,
		  "main thread: policy %u nice %d, want SCHED_OTHER 3", at.sched_policy, at.sched_nice);
	CHECK_WHY(at.sched_runtime != main_slice, "main thread: time slice %llu ns, want %llu",
		  (unsigned long long)at.sched_runtime, (unsigned long long)main_slice);
	CHECK_WHY(!pinned_to(first_cpu), "main thread: not pinned to CPU %d alone", first_cpu);
	CHECK_WHY(prctl(PR_GET_TIMERSLACK) != 123456, "main thread: timer slack %d, want 123456",
		  prctl(PR_GET_TIMERSLACK));
	CHECK_WHY(prctl(PR_GET_PDEATHSIG, &sig) || sig != SIGWINCH, "main thread: pdeathsig %d", sig);
	CHECK_WHY(syscall(SYS_ioprio_get, 1, 0) != IOPRIO(3, 0), "main thread: ioprio %#lx, want idle",
		  syscall(SYS_ioprio_get, 1, 0));
	CHECK_WHY(prctl(PR_MCE_KILL_GET, 0, 0, 0, 0) != PR_MCE_KILL_EARLY, "main thread: MCE kill %d",
		  prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));
	CHECK_WHY(have.spec && prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, 0, 0, 0) !=
				       (PR_SPEC_PRCTL | PR_SPEC_DISABLE),
		  "main thread: store bypass %#x, want prctl-disabled",
		  prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, 0, 0, 0));
	CHECK_WHY(have.cpuid && syscall(SYS_arch_prctl, ARCH_GET_CPUID_NR, 0) != 0,
		  "main thread: cpuid no longer faults");
	return 0;
}

static void verify(const char *results)
{
	char why[WHY_LEN], got[WHY_LEN];
	ssize_t n;

	if (check_process(why) < 0 || check_main_thread(why) < 0) {
		report_to(results, "FAIL %s", why);
		return;
	}
	FAIL_IF(results, write(to_worker[1], "v", 1) != 1, "asking thread 2: %s", strerror(errno));
	n = read(from_worker[0], got, sizeof(got));
	FAIL_IF(results, n <= 0 || strcmp(got, "OK") != 0, "%s", n > 0 ? got : "thread 2 did not answer");
	report_to(results, "OK attributes of the process, the main thread and thread %d", worker_tid);
}

/* ---- modes procsnap refuses ---- */

#define MPOL_PREFERRED_NR 1   /* linux/mempolicy.h */

/* A NUMA policy of the main thread's own (node 0 exists on every machine). */
static int set_mempolicy_preferred(void)
{
	unsigned long node0 = 1;

	return (int)syscall(SYS_set_mempolicy, MPOL_PREFERRED_NR, &node0, sizeof(node0) * 8);
}

/* no_new_privs is a thread's: set in the main thread after thread 2 is
 * made, thread 2 does not have it. */
static int set_main_thread_nnp(void)
{
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/* A child of the session leader: it shares the session's autogroup (nice
 * 4, setup_process) but does not lead the session. The parent waits for it
 * and leaves with it; the child names itself in the READY line. */
static void become_session_child(void)
{
	pid_t child = fork();
	int st;

	if (child < 0) {
		perror("fork");
		exit(1);
	}
	if (child > 0) {
		waitpid(child, &st, 0);
		exit(0);
	}
}

static int set_mode(const char *mode)
{
	if (strcmp(mode, "mdwe") == 0)
		have.mdwe = prctl(PR_SET_MDWE_NR, 1, 0, 0, 0) == 0;
	else if (strcmp(mode, "sud") == 0)
		/* Syscall user dispatch on, every syscall allowed by the
		 * selector: the program runs as before, but a restore cannot
		 * bring it back. */
		return prctl(PR_SET_SYSCALL_USER_DISPATCH_NR, 1, 0, 0, &sud_selector);
	else if (strcmp(mode, "mempolicy") == 0)
		return set_mempolicy_preferred();
	else if (strcmp(mode, "nnp-thread") == 0)
		return set_main_thread_nnp();
	else if (strcmp(mode, "session-child") == 0)
		become_session_child();
	else
		return errno = EINVAL, -1;
	return 0;
}

int main(int argc, char **argv)
{
	char why[WHY_LEN], got[WHY_LEN];
	pthread_t t;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s RESULTS [mdwe|sud|mempolicy|nnp-thread|session-child]\n",
			argv[0]);
		return 2;
	}
	signal(SIGUSR2, on_usr2);
	if (pipe(to_worker) || pipe(from_worker) || setup_process(why) < 0 ||
	    setup_main_thread(why) < 0 || pthread_create(&t, NULL, worker, NULL)) {
		fprintf(stderr, "setup: %s\n", why);
		return 1;
	}
	if (read(from_worker[0], got, sizeof(got)) <= 0 || strcmp(got, "OK") != 0) {
		fprintf(stderr, "setup: %s\n", got);
		return 1;
	}
	have.futex = prctl(PR_FUTEX_HASH_NR, FUTEX_HASH_SET_SLOTS, 256, 0, 0) == 0 &&
		     futex_slots_become(256);
	if (argc == 3 && set_mode(argv[2]) < 0) {
		fprintf(stderr, "mode %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	printf("READY pid=%d tid2=%d spec=%d cpuid=%d amx=%d merge=%d autogroup=%d loginuid=%d "
	       "uclamp=%d mdwe=%d slice=%d futex=%d\n", getpid(), worker_tid, have.spec,
	       have.cpuid, have.amx, have.merge, have.autogroup, have.loginuid, have.uclamp,
	       have.mdwe, have.slice, have.futex);
	fflush(stdout);
	serve_verify(&verify_requested, verify, argv[1]);
}
