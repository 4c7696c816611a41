/* restore_signals_handlers: 15 handlers with distinct flags, SIG_IGN/SIG_DFL ones, and pending SIGUSR1 (outside sender), ten
 * queued SIGRTMIN+10, two SIGRTMIN+11 for a helper thread; on SIGUSR2 checks each disposition, behaviour and delivery. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define ALTSTACK_SIZE (64 * 1024)
#define KNSIG 64                 /* the kernel's signals on x86_64: 1..64 */
#define NQUEUED 10               /* instances of SIGRTMIN+10 queued at setup */
#define QUEUED_BASE 100          /* their values: 100..109 */
#define NTHREAD_QUEUED 2         /* instances of SIGRTMIN+11 queued to the helper */
#define THREAD_BASE 7            /* their values: 7, 8 */
#define HUP_VALUE 0x5eed
#define CHILD_STATUS 3
#define KSA_RESTORER 0x04000000  /* not in glibc's headers: it always sets it itself */
#define BIT(sig) (1ULL << ((sig) - 1))

/* The kernel's struct sigaction on x86_64, which rt_sigaction reads and writes
 * as is: glibc's hides nothing, but this has the exact mask width. */
struct ksigaction {
	uint64_t handler, flags, restorer, mask;
};

/* What one handler saw the last time it ran. */
struct seen {
	int count, signo, code, pid, uid, value, tid, on_altstack, ss_flags;
	void *ptr;
	uint64_t mask;
};

static volatile sig_atomic_t verify_requested;
static char *altstack;
static pid_t self_pid, sender_pid, helper_tid;
static uid_t self_uid;
static pthread_t helper;
static int rt2, rt3, rt4, rt5, rt10, rt11;   /* SIGRTMIN + n: glibc decides SIGRTMIN at run time */
static int marker;                           /* its address goes as the si_value of SIGRTMIN+2 */

/* The state as it was when READY was printed, to compare after the restore. */
static struct ksigaction saved_act[KNSIG + 1];
static uint64_t saved_mask, saved_helper_mask;
static stack_t saved_ss, saved_helper_ss;

static volatile struct seen s_usr1, s_hup, s_int, s_quit, s_term, s_winch, s_urg, s_chld, s_alrm,
	s_prof, s_pipe, s_rt2, s_rt5;
static volatile int term_depth, term_max_depth, urg_dfl_inside, chld_status;

/* The queued ones, one entry per delivery, in the order they came. */
static volatile int rt10_count, rt10_value[NQUEUED], rt10_code[NQUEUED], rt10_pid[NQUEUED];
static volatile int rt11_count, rt11_value[NTHREAD_QUEUED], rt11_code[NTHREAD_QUEUED],
	rt11_pid[NTHREAD_QUEUED], rt11_tid[NTHREAD_QUEUED];

/* Set by the restorer of SIGRTMIN+5 each time a handler returns through it. */
volatile int own_restorer_calls __attribute__((used));
void own_restorer(void);
/* rt_sigreturn after counting: on return from the handler rsp is just past
 * the frame's return address, where the kernel expects it. */
__asm__(".text\n"
	".globl own_restorer\n"
	".type own_restorer, @function\n"
	"own_restorer:\n"
	"\tlock incl own_restorer_calls(%rip)\n"
	"\tmovl $15, %eax\n"
	"\tsyscall\n"
	"\thlt\n"
	".size own_restorer, .-own_restorer\n");

/* The helper thread's orders, and its answers. */
enum { CMD_NONE, CMD_STATE, CMD_READ, CMD_TAKE_RT11 };
static _Atomic int helper_cmd, helper_ready;
static int helper_fd = -1;
static volatile long helper_read_ret;
static volatile int helper_read_errno, helper_rt11_pending_before, helper_rt11_pending_after;
static volatile uint64_t helper_mask_now;
static stack_t helper_ss_now;

static char why[400];   /* the reason a check_* function returned -1 */
#define CHECK(bad, ...)                                          \
	do {                                                     \
		if (bad) {                                       \
			snprintf(why, sizeof(why), __VA_ARGS__); \
			return -1;                               \
		}                                                \
	} while (0)

static const struct timespec tick = { 0, 10 * 1000 * 1000 };

/* Poll cond every 10 ms for up to 5 s: a signal sent to the process (not to
 * a thread) may be taken a moment later. */
#define WAIT_UNTIL(cond)                                          \
	({                                                        \
		int ok_ = 0;                                      \
		for (int i_ = 0; i_ < 500 && !(ok_ = !!(cond)); i_++) \
			nanosleep(&tick, NULL);                   \
		ok_;                                              \
	})

static const char *signame(int sig)
{
	static char names[4][24];
	static int next;
	char *b = names[next++ % 4];
	const char *abbrev = sigabbrev_np(sig);

	if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(b, sizeof(names[0]), "SIGRTMIN+%d", sig - SIGRTMIN);
	else if (abbrev)
		snprintf(b, sizeof(names[0]), "SIG%s", abbrev);
	else
		snprintf(b, sizeof(names[0]), "signal %d", sig);
	return b;
}

static int kaction(int sig, struct ksigaction *ka)
{
	memset(ka, 0, sizeof(*ka));
	return (int)syscall(SYS_rt_sigaction, sig, NULL, ka, 8);
}

static uint64_t current_mask(void)
{
	uint64_t m = 0;

	syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &m, 8);
	return m;
}

static int mask_signal(int how, int sig)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	return pthread_sigmask(how, &set, NULL);
}

static int is_pending(int sig)
{
	sigset_t set;

	sigpending(&set);
	return sigismember(&set, sig) == 1;
}

/* ---- handlers: each records what it saw; async-signal-safe calls only ---- */

static void record(volatile struct seen *s, int sig, const siginfo_t *si)
{
	int saved_errno = errno;
	char here;
	stack_t ss;

	s->count++;
	s->signo = si ? si->si_signo : sig;
	if (si) {
		s->code = si->si_code;
		s->pid = si->si_pid;
		s->uid = (int)si->si_uid;
		s->value = si->si_value.sival_int;
		s->ptr = si->si_value.sival_ptr;
	}
	s->tid = gettid();
	s->on_altstack = &here >= altstack && &here < altstack + ALTSTACK_SIZE;
	s->ss_flags = sigaltstack(NULL, &ss) == 0 ? ss.ss_flags : -1;
	s->mask = current_mask();
	errno = saved_errno;
}

static void on_usr2(int sig)
{
	verify_requested = 1;
}

static void on_usr1(int sig, siginfo_t *si, void *uc) { record(&s_usr1, sig, si); }
static void on_hup(int sig, siginfo_t *si, void *uc) { record(&s_hup, sig, si); }
static void on_int(int sig, siginfo_t *si, void *uc) { record(&s_int, sig, si); }
static void on_quit(int sig) { record(&s_quit, sig, NULL); }
static void on_winch(int sig) { record(&s_winch, sig, NULL); }
static void on_alrm(int sig) { record(&s_alrm, sig, NULL); }
static void on_prof(int sig) { record(&s_prof, sig, NULL); }
static void on_pipe(int sig) { record(&s_pipe, sig, NULL); }
static void on_rt2(int sig, siginfo_t *si, void *uc) { record(&s_rt2, sig, si); }
static void on_rt5(int sig, siginfo_t *si, void *uc) { record(&s_rt5, sig, si); }
static void on_xcpu(int sig) { }

/* SA_NODEFER: raising itself from inside enters it again at once. Without
 * the flag the second delivery would wait for the first to return. */
static void on_term(int sig)
{
	if (++term_depth > term_max_depth)
		term_max_depth = term_depth;
	record(&s_term, sig, NULL);
	if (s_term.count == 1)
		raise(SIGTERM);
	term_depth--;
}

/* SA_RESETHAND|SA_NODEFER|SA_ONSTACK: on entry the disposition is already
 * SIG_DFL (ignore, for SIGURG), so raising itself here does nothing. */
static void on_urg(int sig)
{
	struct ksigaction ka;

	record(&s_urg, sig, NULL);
	urg_dfl_inside = kaction(SIGURG, &ka) == 0 && ka.handler == (uintptr_t)SIG_DFL;
	if (s_urg.count == 1)
		raise(SIGURG);
}

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	record(&s_chld, sig, si);
	chld_status = si->si_status;
}

static void on_rt10(int sig, siginfo_t *si, void *uc)
{
	int i = rt10_count++;

	if (i < NQUEUED) {
		rt10_value[i] = si->si_value.sival_int;
		rt10_code[i] = si->si_code;
		rt10_pid[i] = si->si_pid;
	}
}

static void on_rt11(int sig, siginfo_t *si, void *uc)
{
	int i = rt11_count++;

	if (i < NTHREAD_QUEUED) {
		rt11_value[i] = si->si_value.sival_int;
		rt11_code[i] = si->si_code;
		rt11_pid[i] = si->si_pid;
		rt11_tid[i] = gettid();
	}
}

/* ---- the helper thread ---- */

/* Blocked in read() (syscall 0) now, as /proc says. */
static int helper_in_read(void)
{
	char path[64], buf[32] = "";
	int fd, n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)helper_tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = (int)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 2 && strncmp(buf, "0 ", 2) == 0;
}

static void helper_read(void)
{
	sigset_t set;
	char c;

	/* Only SIGPROF and SIGALRM, and only for this read: everything sent to
	 * the process must keep going to the main thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGPROF);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	helper_read_ret = read(helper_fd, &c, 1);
	helper_read_errno = errno;
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void helper_take_rt11(void)
{
	helper_rt11_pending_before = is_pending(rt11);
	mask_signal(SIG_UNBLOCK, rt11);   /* both queued instances are delivered here, to this thread */
	helper_rt11_pending_after = is_pending(rt11);
	mask_signal(SIG_BLOCK, rt11);
}

static void *helper_main(void *arg)
{
	sigset_t all;

	/* Every signal blocked, so that those sent to the process go to the
	 * main thread, and the ones queued to this thread stay pending. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	pthread_setname_np(pthread_self(), "sighelper");
	helper_tid = gettid();
	saved_helper_mask = current_mask();
	sigaltstack(NULL, &saved_helper_ss);
	atomic_store(&helper_ready, 1);
	for (;;) {
		switch (atomic_load(&helper_cmd)) {
		case CMD_STATE:
			helper_mask_now = current_mask();
			sigaltstack(NULL, &helper_ss_now);
			break;
		case CMD_READ:
			helper_read();
			break;
		case CMD_TAKE_RT11:
			helper_take_rt11();
			break;
		default:
			nanosleep(&tick, NULL);
			continue;
		}
		atomic_store(&helper_cmd, CMD_NONE);   /* done */
	}
	return NULL;
}

/* Have the helper run cmd and wait (5 s at most) until it has. */
static int helper_do(int cmd)
{
	atomic_store(&helper_cmd, cmd);
	return WAIT_UNTIL(atomic_load(&helper_cmd) == CMD_NONE) ? 0 : -1;
}

/* ---- verify: the state as saved ---- */

static int check_actions(void)
{
	for (int sig = 1; sig <= KNSIG; sig++) {
		const struct ksigaction *b = &saved_act[sig];
		struct ksigaction a;

		CHECK(kaction(sig, &a) != 0, "rt_sigaction(%s): %s", signame(sig), strerror(errno));
		CHECK(memcmp(&a, b, sizeof(a)) != 0,
		      "%s: handler %#lx flags %#lx restorer %#lx mask %#lx, before the checkpoint %#lx %#lx %#lx %#lx",
		      signame(sig), (unsigned long)a.handler, (unsigned long)a.flags, (unsigned long)a.restorer,
		      (unsigned long)a.mask, (unsigned long)b->handler, (unsigned long)b->flags,
		      (unsigned long)b->restorer, (unsigned long)b->mask);
	}
	return 0;
}

static int check_masks_and_stacks(void)
{
	uint64_t m = current_mask();
	stack_t ss;

	CHECK(m != saved_mask, "main thread's signal mask %#lx, before the checkpoint %#lx",
	      (unsigned long)m, (unsigned long)saved_mask);
	CHECK(sigaltstack(NULL, &ss) != 0, "sigaltstack: %s", strerror(errno));
	CHECK(ss.ss_sp != saved_ss.ss_sp || ss.ss_size != saved_ss.ss_size || ss.ss_flags != saved_ss.ss_flags,
	      "main thread's sigaltstack %p size %zu flags %#x, want %p size %zu flags %#x",
	      ss.ss_sp, ss.ss_size, (unsigned)ss.ss_flags, saved_ss.ss_sp, saved_ss.ss_size,
	      (unsigned)saved_ss.ss_flags);
	CHECK(helper_do(CMD_STATE) != 0, "the helper thread (tid %d) did not answer in 5 s", (int)helper_tid);
	CHECK(helper_mask_now != saved_helper_mask, "helper thread's signal mask %#lx, before the checkpoint %#lx",
	      (unsigned long)helper_mask_now, (unsigned long)saved_helper_mask);
	CHECK(helper_ss_now.ss_sp != saved_helper_ss.ss_sp || helper_ss_now.ss_flags != saved_helper_ss.ss_flags,
	      "helper thread's sigaltstack %p flags %#x, want %p flags %#x", helper_ss_now.ss_sp,
	      (unsigned)helper_ss_now.ss_flags, saved_helper_ss.ss_sp, (unsigned)saved_helper_ss.ss_flags);
	return 0;
}

/* Nothing blocked was delivered, and the pending ones are still there. */
static int check_still_pending(void)
{
	CHECK(s_usr1.count || rt10_count || rt11_count,
	      "blocked signals were delivered before being unblocked: SIGUSR1 %d, %s %d, %s %d times",
	      s_usr1.count, signame(rt10), rt10_count, signame(rt11), rt11_count);
	CHECK(!is_pending(SIGUSR1), "SIGUSR1 (sent by pid %d before the checkpoint) is not pending", (int)sender_pid);
	CHECK(!is_pending(rt10), "%s (queued %d times) is not pending", signame(rt10), NQUEUED);
	return 0;
}

/* ---- verify: each handler's behaviour ---- */

static int check_siginfo(void)
{
	union sigval v = { .sival_int = HUP_VALUE };

	CHECK(sigqueue(self_pid, SIGHUP, v) != 0, "sigqueue(SIGHUP): %s", strerror(errno));
	CHECK(!WAIT_UNTIL(s_hup.count), "sigqueue(SIGHUP) never ran its handler");
	CHECK(s_hup.count != 1, "sigqueue(SIGHUP) ran its handler %d times", s_hup.count);
	CHECK(s_hup.signo != SIGHUP || s_hup.code != SI_QUEUE || s_hup.pid != self_pid ||
	      s_hup.uid != (int)self_uid || s_hup.value != HUP_VALUE,
	      "SIGHUP siginfo signo %d code %d pid %d uid %d value %#x, want %d, SI_QUEUE (%d), %d, %d, %#x",
	      s_hup.signo, s_hup.code, s_hup.pid, s_hup.uid, (unsigned)s_hup.value, SIGHUP, SI_QUEUE,
	      (int)self_pid, (int)self_uid, HUP_VALUE);
	CHECK(s_hup.tid != self_pid, "SIGHUP ran in thread %d, not the main thread %d", s_hup.tid, (int)self_pid);

	/* A pointer value, and sa_mask {SIGRTMIN+4} plus itself inside. */
	v.sival_ptr = &marker;
	CHECK(sigqueue(self_pid, rt2, v) != 0, "sigqueue(%s): %s", signame(rt2), strerror(errno));
	CHECK(!WAIT_UNTIL(s_rt2.count), "sigqueue(%s) never ran its handler", signame(rt2));
	CHECK(s_rt2.count != 1 || s_rt2.ptr != &marker || s_rt2.code != SI_QUEUE || s_rt2.signo != rt2,
	      "%s: %d runs, signo %d value %p code %d, want 1 run, %d, %p, SI_QUEUE", signame(rt2), s_rt2.count,
	      s_rt2.signo, s_rt2.ptr, s_rt2.code, rt2, (void *)&marker);
	CHECK(s_rt2.mask != (saved_mask | BIT(rt2) | BIT(rt4)),
	      "mask inside the %s handler %#lx, want %#lx (the thread's, itself and %s)", signame(rt2),
	      (unsigned long)s_rt2.mask, (unsigned long)(saved_mask | BIT(rt2) | BIT(rt4)), signame(rt4));
	return 0;
}

static int check_altstack(void)
{
	CHECK(raise(SIGINT) != 0, "raise(SIGINT): %s", strerror(errno));
	CHECK(s_int.count != 1, "raise(SIGINT) ran its handler %d times", s_int.count);
	CHECK(!s_int.on_altstack || !(s_int.ss_flags & SS_ONSTACK),
	      "SIGINT (SA_ONSTACK) handler: on the alternate stack %d, sigaltstack flags %#x there",
	      s_int.on_altstack, (unsigned)s_int.ss_flags);
	CHECK(s_int.code != SI_TKILL || s_int.pid != self_pid || s_int.uid != (int)self_uid,
	      "SIGINT siginfo code %d pid %d uid %d, want SI_TKILL (%d), %d, %d", s_int.code, s_int.pid,
	      s_int.uid, SI_TKILL, (int)self_pid, (int)self_uid);

	/* SIGQUIT has no SA_ONSTACK: the ordinary stack, and its sa_mask. */
	CHECK(raise(SIGQUIT) != 0, "raise(SIGQUIT): %s", strerror(errno));
	CHECK(s_quit.count != 1, "raise(SIGQUIT) ran its handler %d times", s_quit.count);
	CHECK(s_quit.on_altstack, "SIGQUIT (no SA_ONSTACK) ran on the alternate stack");
	CHECK(s_quit.mask != (saved_mask | BIT(SIGQUIT) | BIT(SIGTERM) | BIT(rt3)),
	      "mask inside the SIGQUIT handler %#lx, want %#lx (the thread's, itself, SIGTERM and %s)",
	      (unsigned long)s_quit.mask, (unsigned long)(saved_mask | BIT(SIGQUIT) | BIT(SIGTERM) | BIT(rt3)),
	      signame(rt3));
	CHECK(current_mask() != saved_mask, "after the SIGQUIT handler the mask is %#lx, not %#lx again",
	      (unsigned long)current_mask(), (unsigned long)saved_mask);
	return 0;
}

static int check_nodefer(void)
{
	CHECK(raise(SIGTERM) != 0, "raise(SIGTERM): %s", strerror(errno));
	CHECK(s_term.count != 2 || term_max_depth != 2,
	      "SIGTERM (SA_NODEFER, raises itself once): %d runs nested %d deep, want 2 runs, 2 deep",
	      s_term.count, term_max_depth);
	CHECK(s_term.mask & BIT(SIGTERM), "SIGTERM (SA_NODEFER) was blocked inside its own handler: mask %#lx",
	      (unsigned long)s_term.mask);
	return 0;
}

static int check_resethand(void)
{
	struct ksigaction ka;

	CHECK(raise(SIGWINCH) != 0, "raise(SIGWINCH): %s", strerror(errno));
	CHECK(s_winch.count != 1, "first SIGWINCH ran its handler %d times", s_winch.count);
	CHECK(kaction(SIGWINCH, &ka) != 0 || ka.handler != (uintptr_t)SIG_DFL,
	      "SIGWINCH (SA_RESETHAND) handler is %#lx after one delivery, want SIG_DFL", (unsigned long)ka.handler);
	raise(SIGWINCH);   /* default: ignored */
	CHECK(s_winch.count != 1, "the second SIGWINCH ran the reset handler (%d runs)", s_winch.count);

	CHECK(raise(SIGURG) != 0, "raise(SIGURG): %s", strerror(errno));
	CHECK(s_urg.count != 1 || !urg_dfl_inside || !s_urg.on_altstack,
	      "SIGURG (SA_RESETHAND|SA_NODEFER|SA_ONSTACK, raises itself): %d runs, SIG_DFL inside %d, "
	      "alternate stack %d, want 1, 1, 1", s_urg.count, urg_dfl_inside, s_urg.on_altstack);
	CHECK(kaction(SIGURG, &ka) != 0 || ka.handler != (uintptr_t)SIG_DFL,
	      "SIGURG handler is %#lx after one delivery, want SIG_DFL", (unsigned long)ka.handler);
	return 0;
}

/* A real SIGCHLD from the kernel, with the child's pid and exit status. */
static int check_child(void)
{
	pid_t child = fork();
	int status;

	CHECK(child < 0, "fork: %s", strerror(errno));
	if (child == 0)
		_exit(CHILD_STATUS);
	CHECK(waitpid(child, &status, 0) != child, "waitpid(%d): %s", (int)child, strerror(errno));
	CHECK(!WAIT_UNTIL(s_chld.count), "the exit of child %d sent no SIGCHLD to its handler", (int)child);
	CHECK(s_chld.count != 1 || s_chld.code != CLD_EXITED || s_chld.pid != child ||
	      chld_status != CHILD_STATUS,
	      "SIGCHLD: %d runs, code %d pid %d status %d, want 1, CLD_EXITED (%d), %d, %d", s_chld.count,
	      s_chld.code, s_chld.pid, chld_status, CLD_EXITED, (int)child, CHILD_STATUS);
	return 0;
}

static int check_sigpipe(void)
{
	int p[2], err;
	ssize_t n;

	CHECK(pipe2(p, O_CLOEXEC) != 0, "pipe2: %s", strerror(errno));
	close(p[0]);
	n = write(p[1], "x", 1);
	err = errno;
	close(p[1]);
	CHECK(n != -1 || err != EPIPE, "write to a pipe with no reader returned %zd (%s), want -1 EPIPE", n,
	      n < 0 ? strerror(err) : "no error");
	CHECK(s_pipe.count != 1 || s_pipe.signo != SIGPIPE, "the broken pipe ran the SIGPIPE handler %d times (signo %d)",
	      s_pipe.count, s_pipe.signo);
	return 0;
}

static int check_restorer(void)
{
	struct ksigaction ka;

	CHECK(kaction(rt5, &ka) != 0 || ka.restorer != (uintptr_t)own_restorer || !(ka.flags & KSA_RESTORER),
	      "%s: restorer %#lx flags %#lx, want own_restorer %p with SA_RESTORER", signame(rt5),
	      (unsigned long)ka.restorer, (unsigned long)ka.flags, (void *)own_restorer);
	CHECK(raise(rt5) != 0, "raise(%s): %s", signame(rt5), strerror(errno));
	CHECK(s_rt5.count != 1 || own_restorer_calls != 1,
	      "%s: handler ran %d times, its own sa_restorer %d times, want 1 and 1", signame(rt5), s_rt5.count,
	      own_restorer_calls);
	return 0;
}

/* SIGVTALRM (default: terminate) is ignored; SIGCONT and SIGXCPU are SIG_DFL. */
static int check_ign_dfl(void)
{
	struct ksigaction ka;

	CHECK(kaction(SIGVTALRM, &ka) != 0 || ka.handler != (uintptr_t)SIG_IGN,
	      "SIGVTALRM handler %#lx, want SIG_IGN: not sending it", (unsigned long)ka.handler);
	CHECK(raise(SIGVTALRM) != 0, "raise(SIGVTALRM): %s", strerror(errno));
	CHECK(is_pending(SIGVTALRM), "the ignored SIGVTALRM is pending instead of discarded");
	CHECK(kaction(SIGXCPU, &ka) != 0 || ka.handler != (uintptr_t)SIG_DFL,
	      "SIGXCPU handler %#lx, want SIG_DFL (reset after a handler)", (unsigned long)ka.handler);
	CHECK(kaction(SIGCONT, &ka) != 0 || ka.handler != (uintptr_t)SIG_DFL,
	      "SIGCONT handler %#lx, want SIG_DFL", (unsigned long)ka.handler);
	CHECK(raise(SIGCONT) != 0, "raise(SIGCONT): %s", strerror(errno));
	return 0;
}

/* The helper blocks in read() of an empty pipe, sig hits it, then a byte is
 * written: with SA_RESTART the read carries on and gets it, without it the
 * read ends with EINTR. */
static int interrupted_read(int sig, volatile struct seen *s, long *ret, int *err)
{
	int p[2], ok;

	CHECK(pipe2(p, O_CLOEXEC) != 0, "pipe2: %s", strerror(errno));
	helper_fd = p[0];
	atomic_store(&helper_cmd, CMD_READ);
	ok = WAIT_UNTIL(helper_in_read());
	if (ok) {
		pthread_kill(helper, sig);
		ok = WAIT_UNTIL(s->count) ? 1 : -1;
	}
	if (ok == 1 && write(p[1], "x", 1) != 1)
		ok = -2;
	close(p[1]);   /* a read() still waiting on a failed path sees end of file */
	if (!WAIT_UNTIL(atomic_load(&helper_cmd) == CMD_NONE) && ok == 1)
		ok = -3;
	close(p[0]);
	CHECK(ok == 0, "the helper thread (tid %d) never blocked in read()", (int)helper_tid);
	CHECK(ok == -1, "%s sent to the helper thread in read() never ran its handler", signame(sig));
	CHECK(ok == -2, "write of one byte to the helper's empty pipe failed");
	CHECK(ok == -3, "the helper's read() did not return within 5 s after %s and a byte", signame(sig));
	CHECK(s->count != 1 || s->tid != helper_tid, "%s ran %d times, in thread %d, want once in the helper %d",
	      signame(sig), s->count, s->tid, (int)helper_tid);
	*ret = helper_read_ret;
	*err = helper_read_errno;
	return 0;
}

static int check_restart(void)
{
	long ret;
	int err;

	if (interrupted_read(SIGPROF, &s_prof, &ret, &err) != 0)
		return -1;
	CHECK(ret != 1, "read() interrupted by SIGPROF (SA_RESTART) returned %ld (%s), want 1: not restarted", ret,
	      ret < 0 ? strerror(err) : "no error");
	if (interrupted_read(SIGALRM, &s_alrm, &ret, &err) != 0)
		return -1;
	CHECK(ret != -1 || err != EINTR, "read() interrupted by SIGALRM (no SA_RESTART) returned %ld (%s), want -1 EINTR",
	      ret, ret < 0 ? strerror(err) : "no error");
	return 0;
}

/* ---- verify: the signals pending at the checkpoint ---- */

static int check_outside_sender(void)
{
	CHECK(mask_signal(SIG_UNBLOCK, SIGUSR1) != 0, "unblocking SIGUSR1 failed");
	CHECK(!WAIT_UNTIL(s_usr1.count), "unblocking SIGUSR1 ran no handler");
	nanosleep(&tick, NULL);   /* a second (wrong) delivery would come now */
	CHECK(s_usr1.count != 1, "SIGUSR1, sent twice while blocked, ran its handler %d times, want once (coalesced)",
	      s_usr1.count);
	CHECK(s_usr1.code != SI_USER || s_usr1.pid != sender_pid || s_usr1.uid != (int)self_uid,
	      "pending SIGUSR1 siginfo code %d pid %d uid %d, want SI_USER (%d) from the sender %d, uid %d",
	      s_usr1.code, s_usr1.pid, s_usr1.uid, SI_USER, (int)sender_pid, (int)self_uid);
	CHECK(is_pending(SIGUSR1), "SIGUSR1 is still pending after its delivery");
	return 0;
}

static int check_queue(void)
{
	CHECK(mask_signal(SIG_UNBLOCK, rt10) != 0, "unblocking %s failed", signame(rt10));
	CHECK(!WAIT_UNTIL(rt10_count >= NQUEUED), "unblocking %s delivered %d of %d queued", signame(rt10),
	      rt10_count, NQUEUED);
	nanosleep(&tick, NULL);
	CHECK(rt10_count != NQUEUED, "%s: %d deliveries, want %d", signame(rt10), rt10_count, NQUEUED);
	for (int i = 0; i < NQUEUED; i++)
		CHECK(rt10_value[i] != QUEUED_BASE + i || rt10_code[i] != SI_QUEUE || rt10_pid[i] != self_pid,
		      "%s delivery %d: value %d code %d pid %d, want %d, SI_QUEUE (%d), %d (order: %d %d %d ...)",
		      signame(rt10), i + 1, rt10_value[i], rt10_code[i], rt10_pid[i], QUEUED_BASE + i, SI_QUEUE,
		      (int)self_pid, rt10_value[0], rt10_value[1], rt10_value[2]);
	CHECK(is_pending(rt10), "%s is still pending after %d deliveries", signame(rt10), NQUEUED);
	return 0;
}

static int check_thread_queue(void)
{
	CHECK(helper_do(CMD_TAKE_RT11) != 0, "the helper thread (tid %d) did not answer in 5 s", (int)helper_tid);
	CHECK(!helper_rt11_pending_before, "%s is not pending in the helper thread", signame(rt11));
	CHECK(rt11_count != NTHREAD_QUEUED, "%s: %d deliveries when the helper unblocked it, want %d", signame(rt11),
	      rt11_count, NTHREAD_QUEUED);
	for (int i = 0; i < NTHREAD_QUEUED; i++)
		CHECK(rt11_tid[i] != helper_tid || rt11_value[i] != THREAD_BASE + i || rt11_code[i] != SI_QUEUE ||
		      rt11_pid[i] != self_pid,
		      "%s delivery %d: thread %d value %d code %d pid %d, want thread %d, %d, SI_QUEUE (%d), %d",
		      signame(rt11), i + 1, rt11_tid[i], rt11_value[i], rt11_code[i], rt11_pid[i], (int)helper_tid,
		      THREAD_BASE + i, SI_QUEUE, (int)self_pid);
	CHECK(helper_rt11_pending_after, "%s is still pending in the helper after its deliveries", signame(rt11));
	return 0;
}

/* Once only: it consumes the pending signals and resets two handlers. */
static void verify(const char *results)
{
	static int done;

	FAIL_IF(results, done++, "verification runs once only: the first one consumed the pending signals");
	FAIL_IF(results, check_actions() != 0, "%s", why);
	FAIL_IF(results, check_masks_and_stacks() != 0, "%s", why);
	FAIL_IF(results, check_still_pending() != 0, "%s", why);
	FAIL_IF(results, check_siginfo() != 0, "%s", why);
	FAIL_IF(results, check_altstack() != 0, "%s", why);
	FAIL_IF(results, check_nodefer() != 0, "%s", why);
	FAIL_IF(results, check_resethand() != 0, "%s", why);
	FAIL_IF(results, check_child() != 0, "%s", why);
	FAIL_IF(results, check_sigpipe() != 0, "%s", why);
	FAIL_IF(results, check_restorer() != 0, "%s", why);
	FAIL_IF(results, check_ign_dfl() != 0, "%s", why);
	FAIL_IF(results, check_restart() != 0, "%s", why);
	FAIL_IF(results, check_outside_sender() != 0, "%s", why);
	FAIL_IF(results, check_queue() != 0, "%s", why);
	FAIL_IF(results, check_thread_queue() != 0, "%s", why);
	report_to(results, "OK 64 dispositions, masks, alt stacks as saved; SA_SIGINFO, SA_ONSTACK, sa_mask, "
		  "SA_NODEFER, SA_RESETHAND, SA_RESTART/EINTR, sa_restorer, SIG_IGN behave; SIGUSR1 from pid %d "
		  "once; %s values %d..%d in order; %s x%d to thread %d only", (int)sender_pid, signame(rt10),
		  rt10_value[0], rt10_value[NQUEUED - 1], signame(rt11), NTHREAD_QUEUED, (int)helper_tid);
}

/* ---- setup ---- */

static int install(int sig, void *fn, int flags, int mask1, int mask2)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	if (flags & SA_SIGINFO)
		sa.sa_sigaction = fn;
	else
		sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (mask1)
		sigaddset(&sa.sa_mask, mask1);
	if (mask2)
		sigaddset(&sa.sa_mask, mask2);
	if (sigaction(sig, &sa, NULL) != 0) {
		fprintf(stderr, "restore_signals_handlers: sigaction(%s): %s\n", signame(sig), strerror(errno));
		return -1;
	}
	return 0;
}

/* A dozen handlers, each with its own flags; see the check_* above. */
static int install_all(void)
{
	struct ksigaction ka = { (uintptr_t)on_rt5, SA_SIGINFO | KSA_RESTORER, (uintptr_t)own_restorer, 0 };
	int rc = 0;

	rc |= install(SIGUSR2, on_usr2, 0, 0, 0);
	rc |= install(SIGUSR1, on_usr1, SA_SIGINFO | SA_RESTART, 0, 0);
	rc |= install(SIGHUP, on_hup, SA_SIGINFO, 0, 0);
	rc |= install(SIGINT, on_int, SA_SIGINFO | SA_ONSTACK, 0, 0);
	rc |= install(SIGQUIT, on_quit, 0, SIGTERM, rt3);
	rc |= install(SIGTERM, on_term, SA_NODEFER, 0, 0);
	rc |= install(SIGWINCH, on_winch, SA_RESETHAND, 0, 0);
	rc |= install(SIGURG, on_urg, SA_RESETHAND | SA_NODEFER | SA_ONSTACK, 0, 0);
	rc |= install(SIGCHLD, on_chld, SA_SIGINFO | SA_NOCLDSTOP | SA_RESTART, 0, 0);
	rc |= install(SIGALRM, on_alrm, 0, 0, 0);
	rc |= install(SIGPROF, on_prof, SA_RESTART, 0, 0);
	rc |= install(SIGPIPE, on_pipe, 0, 0, 0);
	rc |= install(rt2, on_rt2, SA_SIGINFO, rt4, 0);
	rc |= install(rt10, on_rt10, SA_SIGINFO, 0, 0);
	rc |= install(rt11, on_rt11, SA_SIGINFO, 0, 0);
	/* glibc would replace the restorer with its own: the raw call keeps it. */
	if (syscall(SYS_rt_sigaction, rt5, &ka, NULL, 8) != 0) {
		perror("restore_signals_handlers: rt_sigaction(SIGRTMIN+5)");
		rc = -1;
	}
	/* A handler, then back to SIG_DFL: the image must say SIG_DFL, not the handler. */
	rc |= install(SIGXCPU, on_xcpu, 0, 0, 0);
	signal(SIGXCPU, SIG_DFL);
	signal(SIGCONT, SIG_DFL);
	signal(SIGVTALRM, SIG_IGN);
	return rc;
}

/* The pending signals of the checkpoint, all queued by this process. */
static int queue_pending(void)
{
	union sigval v;

	for (int i = 0; i < NQUEUED; i++) {
		v.sival_int = QUEUED_BASE + i;
		if (sigqueue(self_pid, rt10, v) != 0) {
			perror("restore_signals_handlers: sigqueue");
			return -1;
		}
	}
	for (int i = 0; i < NTHREAD_QUEUED; i++) {
		v.sival_int = THREAD_BASE + i;
		if (pthread_sigqueue(helper, rt11, v) != 0) {
			fprintf(stderr, "restore_signals_handlers: pthread_sigqueue failed\n");
			return -1;
		}
	}
	if (!is_pending(rt10)) {
		fprintf(stderr, "restore_signals_handlers: %s is not pending\n", signame(rt10));
		return -1;
	}
	return 0;
}

static void save_state(void)
{
	for (int sig = 1; sig <= KNSIG; sig++)
		kaction(sig, &saved_act[sig]);
	saved_mask = current_mask();
	sigaltstack(NULL, &saved_ss);
}

/* Usage: restore_signals_handlers RESULTS SENDER_PID
 * SENDER_PID is the process that sends SIGUSR1 (twice) after READY. */
int main(int argc, char **argv)
{
	stack_t ss;

	if (argc != 3) {
		fprintf(stderr, "usage: restore_signals_handlers RESULTS SENDER_PID\n");
		return 2;
	}
	close_range(3, ~0U, 0);   /* only what this program opens: no inherited fds */
	self_pid = getpid();
	self_uid = getuid();
	sender_pid = atoi(argv[2]);
	rt2 = SIGRTMIN + 2;
	rt3 = SIGRTMIN + 3;
	rt4 = SIGRTMIN + 4;
	rt5 = SIGRTMIN + 5;
	rt10 = SIGRTMIN + 10;
	rt11 = SIGRTMIN + 11;

	altstack = malloc(ALTSTACK_SIZE);
	ss.ss_sp = altstack;
	ss.ss_size = ALTSTACK_SIZE;
	ss.ss_flags = 0;
	if (!altstack || sigaltstack(&ss, NULL) != 0) {
		perror("restore_signals_handlers: sigaltstack");
		return 1;
	}
	if (install_all() != 0)
		return 1;
	/* Blocked in the main thread; the helper blocks everything. */
	mask_signal(SIG_BLOCK, SIGUSR1);
	mask_signal(SIG_BLOCK, rt10);
	if (pthread_create(&helper, NULL, helper_main, NULL) != 0) {
		fprintf(stderr, "restore_signals_handlers: pthread_create failed\n");
		return 1;
	}
	while (!atomic_load(&helper_ready))
		nanosleep(&tick, NULL);
	if (queue_pending() != 0)
		return 1;
	save_state();

	printf("READY pid=%d helper=%d rt10=%d rt11=%d sender=%d\n", (int)self_pid, (int)helper_tid, rt10, rt11,
	       (int)sender_pid);
	fflush(stdout);

	serve_verify(&verify_requested, verify, argv[1]);
}
