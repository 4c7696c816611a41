/* The safety net under a borrowed thread: an rt_sigreturn frame of the
 * thread's own state, written under its stack, and a return path into it.
 *
 * A borrowed thread runs a syscall procsnap chose, from registers procsnap
 * set. Should procsnap die then (SIGKILL, at any instant), the kernel lets
 * the thread go where it is: with borrowed registers, past the `syscall`
 * instruction, it would crash or run on corrupted. So every borrowed call
 * goes through a `syscall; ret` sequence with the stack pointer at a word
 * that sends the `ret` into rt_sigreturn, whose frame holds the thread's
 * own registers, signal mask, alternate stack and FPU/AVX state: left
 * alone, the thread finishes the (read-only) call and comes back exactly
 * where it was. While procsnap lives, it stops the thread after each call
 * and the return path is never taken.
 */
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "backend/proc_parse.h"
#include "backend/safety_net.h"
#include "backend/sentence.h"
#include "backend/syscall_restart.h"

/* ---- the kernel's x86_64 signal frame (arch/x86/include/asm/sigframe.h) ---- */

struct k_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t di, si, bp, bx, dx, ax, cx, sp, ip, flags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;
	uint64_t reserved1[8];
};

struct k_stack {
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t pad;
	uint64_t ss_size;
};

struct k_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct k_stack uc_stack;
	struct k_sigcontext uc_mcontext;
	uint64_t uc_sigmask;
};

struct k_rt_sigframe {
	uint64_t pretcode;
	struct k_ucontext uc;
	unsigned char info[128];
};

_Static_assert(sizeof(struct k_sigcontext) == 256, "struct sigcontext is 256 bytes");
_Static_assert(sizeof(struct k_rt_sigframe) == 440, "struct rt_sigframe is 440 bytes");

#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4
#define FP_XSTATE_MAGIC1 0x46505853U
#define FP_XSTATE_MAGIC2 0x46505845U
#define FXSAVE_SIZE 512
#define XSAVE_HEADER_END 576          /* the legacy area and the xsave header */
#define SW_RESERVED_AT 464            /* struct _fpx_sw_bytes in the legacy area */
#define RED_ZONE 128
#define XSTATE_BUF (64 * 1024)

struct fpx_sw_bytes {
	uint32_t magic1, extended_size;
	uint64_t xfeatures;
	uint32_t xstate_size, padding[7];
};

/* ---- finding the code the net is made of ---- */

/* After a `syscall`: nothing but xor of a register with a register (the
 * vDSO clears registers so) or nop, then `ret`. Those only touch
 * registers that rt_sigreturn puts back anyway. */
static int returns_after_syscall(const unsigned char *p, size_t left)
{
	size_t i = 0;

	while (i < left && i < 32) {
		size_t rex = p[i] >= 0x40 && p[i] <= 0x4f;

		if (p[i] == 0xc3)
			return 1;
		if (p[i] == 0x90) {
			i++;
			continue;
		}
		if (i + rex + 1 < left && (p[i + rex] == 0x31 || p[i + rex] == 0x33) &&
		    p[i + rex + 1] >= 0xc0) {
			i += rex + 2;
			continue;
		}
		return 0;
	}
	return 0;
}

static const unsigned char mov_rax_15[] = { 0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05 };
static const unsigned char mov_eax_15[] = { 0xb8, 0x0f, 0, 0, 0, 0x0f, 0x05 };

static void scan_code(const unsigned char *p, size_t n, uint64_t at, struct ps_gadgets *g)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] == 0x0f && p[i + 1] == 0x05) {
			if (!g->syscall_insn)
				g->syscall_insn = at + i;
			if (!g->syscall_ret && returns_after_syscall(p + i + 2, n - i - 2))
				g->syscall_ret = at + i;
		}
		if (!g->sigreturn && i + sizeof(mov_rax_15) <= n &&
		    memcmp(p + i, mov_rax_15, sizeof(mov_rax_15)) == 0)
			g->sigreturn = at + i;
		if (!g->sigreturn && i + sizeof(mov_eax_15) <= n &&
		    memcmp(p + i, mov_eax_15, sizeof(mov_eax_15)) == 0)
			g->sigreturn = at + i;
		if (!g->pop_rax && p[i] == 0x58 && p[i + 1] == 0xc3)
			g->pop_rax = at + i;
	}
}

static int complete(const struct ps_gadgets *g)
{
	return g->syscall_ret && (g->sigreturn || g->pop_rax);
}

static void scan_mapping(pid_t pid, uint64_t start, uint64_t end, struct ps_gadgets *g)
{
	size_t len = end - start > (16u << 20) ? (16u << 20) : end - start;
	unsigned char *buf = malloc(len);
	struct iovec local = { buf, len }, remote = { (void *)start, len };
	ssize_t n;

	if (!buf)
		return;
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n > 0)
		scan_code(buf, (size_t)n, start, g);
	free(buf);
}

/* Pass 0: the vDSO; pass 1: every other executable mapping in user space. */
static void scan_maps(pid_t pid, const char *maps, int pass, struct ps_gadgets *g)
{
	struct ps_maps_line ml;

	for (const char *line = maps; line && *line && !complete(g); ) {
		const char *nl = strchr(line, '\n');

		if (ps_parse_maps_line(line, &ml) == 0 && (ml.prot & PROT_EXEC) &&
		    (ml.prot & PROT_READ) && ml.end <= 0x800000000000ULL &&
		    (strcmp(ml.path, "[vdso]") == 0) == (pass == 0))
			scan_mapping(pid, ml.start, ml.end, g);
		line = nl ? nl + 1 : NULL;
	}
}

struct gadget_search {
	pid_t pid;
	struct ps_gadgets *g;
};

static int scan_for_gadgets(const char *maps, size_t len, void *arg)
{
	struct gadget_search *s = arg;

	(void)len;
	scan_maps(s->pid, maps, 0, s->g);
	scan_maps(s->pid, maps, 1, s->g);
	return 0;
}

int ps_find_gadgets(pid_t pid, struct ps_gadgets *g, char *err, size_t errlen)
{
	struct gadget_search search = { pid, g };
	int r;

	memset(g, 0, sizeof(*g));
	r = ps_proc_parse(pid, "maps", scan_for_gadgets, &search);
	if (r < 0)
		return ps_fail(err, errlen, r, "cannot read /proc/%d/maps: %s", pid, strerror(-r));
	if (g->syscall_insn)
		return 0;
	return ps_fail(err, errlen, -ENOENT, "process %d has no syscall instruction mapped "
		       "executable (no vDSO?): cannot run syscalls inside it", pid);
}

/* ---- the thread's own state, as a frame ---- */

/*
 * What the thread would be once resumed with no signal to take: the kernel
 * rewinds an interrupted syscall to be made again. rt_sigreturn sets
 * orig_rax to -1, so the frame must hold the rewound registers. A call
 * restarted through restart_syscall cannot be: rt_sigreturn also resets
 * the thread's restart block, so it is made again whole (a sleep lasts its
 * full time again) rather than fail with EINTR.
 */
static void as_if_resumed(struct user_regs_struct *r)
{
	long nr = (long)r->orig_rax, ret = (long)r->rax;

	if (nr < 0)
		return;
	if (ret == -ERESTARTSYS || ret == -ERESTARTNOINTR || ret == -ERESTARTNOHAND ||
	    ret == -ERESTART_RESTARTBLOCK) {
		r->rax = (uint64_t)nr;
		r->rip -= 2;
	}
}

static void fill_sigcontext(struct k_sigcontext *sc, const struct user_regs_struct *o)
{
	struct user_regs_struct r = *o;

	as_if_resumed(&r);
	*sc = (struct k_sigcontext){
		.r8 = r.r8, .r9 = r.r9, .r10 = r.r10, .r11 = r.r11, .r12 = r.r12, .r13 = r.r13,
		.r14 = r.r14, .r15 = r.r15, .di = r.rdi, .si = r.rsi, .bp = r.rbp, .bx = r.rbx,
		.dx = r.rdx, .ax = r.rax, .cx = r.rcx, .sp = r.rsp, .ip = r.rip, .flags = r.eflags,
		.cs = (uint16_t)r.cs, .gs = (uint16_t)r.gs, .fs = (uint16_t)r.fs, .ss = (uint16_t)r.ss,
	};
}

/* The end of the last state component in use, in the standard (non
 * compacted) format ptrace gives: CPUID leaf 0xD sub-leaf i tells size and
 * offset of component i. */
static uint32_t xstate_size_for(uint64_t features)
{
	uint32_t size = XSAVE_HEADER_END;

	for (unsigned i = 2; i < 64; i++) {
		unsigned a, b, c, d;

		if (!(features & (1ULL << i)) || !__get_cpuid_count(0xd, i, &a, &b, &c, &d))
			continue;
		if (b + a > size)
			size = b + a;
	}
	return size;
}

/*
 * The FPU/SSE/AVX... state in the form rt_sigreturn takes (an xsave image
 * followed by FP_XSTATE_MAGIC2): the thread's own, from ptrace. Its
 * software bytes must say which components to load and how big the image
 * is; the size must not exceed the thread's own signal frame size (a
 * component like AMX the thread never enabled makes ptrace's buffer
 * bigger), so only the components in use are named: the others are in
 * their initial state, which xrstor gives them anyway. Without xsave, the
 * 512-byte fxsave image with no magic: the kernel then loads just that.
 */
static int read_fpstate(pid_t tid, unsigned char *buf, size_t *len)
{
	struct iovec iov = { buf, XSTATE_BUF };
	struct fpx_sw_bytes sw;
	uint64_t features;
	uint32_t magic2 = FP_XSTATE_MAGIC2;

	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &iov) < 0) {
		iov.iov_len = FXSAVE_SIZE;
		if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRFPREG, &iov) < 0)
			return -errno;
		memset(buf + SW_RESERVED_AT, 0, sizeof(sw));
		*len = FXSAVE_SIZE;
		return 0;
	}
	if (iov.iov_len < XSAVE_HEADER_END)
		return -EIO;
	memcpy(&features, buf + FXSAVE_SIZE, sizeof(features));   /* XSTATE_BV */
	features |= 3;                                             /* x87, SSE */
	memset(&sw, 0, sizeof(sw));
	sw.magic1 = FP_XSTATE_MAGIC1;
	sw.xfeatures = features;
	sw.xstate_size = xstate_size_for(features);
	sw.extended_size = sw.xstate_size + sizeof(magic2);
	if (sw.xstate_size > iov.iov_len)
		return -EIO;
	memcpy(buf + SW_RESERVED_AT, &sw, sizeof(sw));
	memcpy(buf + sw.xstate_size, &magic2, sizeof(magic2));
	*len = sw.extended_size;
	return 0;
}

/* ---- where the net goes ---- */

struct stack_search {
	uint64_t sp, start, end;
};

static int find_stack_mapping(const char *maps, size_t len, void *arg)
{
	struct stack_search *s = arg;
	struct ps_maps_line ml;

	(void)len;
	for (const char *line = maps; line && *line; ) {
		const char *nl = strchr(line, '\n');

		if (ps_parse_maps_line(line, &ml) == 0 && ml.start < s->sp && s->sp <= ml.end &&
		    (ml.prot & PROT_WRITE)) {
			s->start = ml.start;
			s->end = ml.end;
			return 1;
		}
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* The writable mapping the stack pointer is in: [start, end). */
static int stack_mapping(pid_t pid, uint64_t sp, uint64_t *start, uint64_t *end)
{
	struct stack_search s = { .sp = sp };
	int found = ps_proc_parse(pid, "maps", find_stack_mapping, &s);

	if (found < 0)
		return -ESRCH;
	if (!found)
		return -ENOENT;
	*start = s.start;
	*end = s.end;
	return 0;
}

/* Shadow stacks (CET) would refuse the net's `ret`: such a thread is
 * borrowed without one. */
static int shadow_stack_enabled(const char *text, size_t len, void *arg)
{
	const char *line = strstr(text, "\nx86_Thread_features:");
	const char *nl = line ? strchr(line + 1, '\n') : NULL;
	size_t n = line ? (nl ? (size_t)(nl - line) : strlen(line)) : 0;

	(void)len;
	*(int *)arg = memmem(line ? line : "", n, "shstk", 5) != NULL;
	return 0;
}

static int has_shadow_stack(pid_t pid, pid_t tid)
{
	char name[48];
	int yes = 0;

	snprintf(name, sizeof(name), "%d/task/%d/status", pid, tid);
	if (ps_proc_parse(0, name, shadow_stack_enabled, &yes) < 0)
		return 0;
	return yes;
}

struct layout {
	uint64_t low, high;     /* the whole region */
	uint64_t rsp;           /* the return path's first word */
	uint64_t frame, fp, scratch;
};

/* From the top, under the red zone: the FPU image (64-byte aligned, as
 * xrstor wants), the frame, the return path (two words when it goes
 * through `pop %rax`), then the scratch area. */
static void plan(const struct user_regs_struct *regs, size_t fplen, int via_pop,
		 struct layout *l)
{
	uint64_t top = (regs->rsp - RED_ZONE) & ~63ULL;

	l->fp = (top - fplen) & ~63ULL;
	l->frame = (l->fp - sizeof(struct k_rt_sigframe)) & ~15ULL;
	l->rsp = l->frame - (via_pop ? 16 : 0);
	l->scratch = (l->rsp - PS_NET_SCRATCH) & ~63ULL;
	l->low = l->scratch;
	l->high = top;
}

static int write_remote(pid_t tid, uint64_t at, const void *data, size_t len)
{
	struct iovec local = { (void *)data, len }, remote = { (void *)at, len };

	return process_vm_writev(tid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static int read_remote(pid_t tid, uint64_t at, void *data, size_t len)
{
	struct iovec local = { data, len }, remote = { (void *)at, len };

	return process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

/*
 * The return path: with `mov $15, %rax; syscall` in the target, the `ret`
 * after a borrowed call pops its address and rt_sigreturn finds its frame
 * right there (the frame starts with that word, pretcode). Without one,
 * through `pop %rax; ret` (which takes 15 from the next word) and the
 * `syscall; ret` sequence once more.
 */
static int write_net(pid_t tid, const struct ps_gadgets *g, const struct layout *l,
		     const struct user_regs_struct *regs, uint64_t mask,
		     const unsigned char *fp, size_t fplen)
{
	struct k_rt_sigframe f;
	uint64_t path[2] = { g->pop_rax, 15 };
	int e;

	memset(&f, 0, sizeof(f));
	f.pretcode = g->sigreturn ? g->sigreturn : g->syscall_ret;
	f.uc.uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f.uc.uc_stack.ss_flags = 2;   /* SS_DISABLE until the first call reads the real one */
	fill_sigcontext(&f.uc.uc_mcontext, regs);
	f.uc.uc_mcontext.fpstate = l->fp;
	f.uc.uc_sigmask = mask;
	e = write_remote(tid, l->fp, fp, fplen);
	if (e == 0)
		e = write_remote(tid, l->frame, &f, sizeof(f));
	if (e == 0 && !g->sigreturn)
		e = write_remote(tid, l->rsp, path, sizeof(path));
	return e;
}

int ps_net_lay(pid_t pid, pid_t tid, const struct ps_gadgets *g,
	       const struct user_regs_struct *regs, uint64_t mask, struct ps_safety_net *n,
	       char *why, size_t whylen)
{
	unsigned char *fp = aligned_alloc(64, XSTATE_BUF);
	uint64_t vm_start, vm_end;
	size_t fplen = 0;
	struct layout l;
	int e;

	memset(n, 0, sizeof(*n));
	if (!fp)
		return -ENOMEM;
	e = -ENOENT;
	if (!complete(g))
		snprintf(why, whylen, "it maps no `syscall; ret` and rt_sigreturn code to "
			 "return through");
	else if (has_shadow_stack(pid, tid))
		snprintf(why, whylen, "it has a shadow stack");
	else if ((e = read_fpstate(tid, fp, &fplen)) < 0)
		snprintf(why, whylen, "its FPU state: %s", strerror(-e));
	else if ((e = stack_mapping(pid, regs->rsp - RED_ZONE, &vm_start, &vm_end)) < 0)
		snprintf(why, whylen, "its stack pointer %#llx is in no writable mapping",
			 (unsigned long long)regs->rsp);
	if (e < 0)
		goto out;
	plan(regs, fplen, !g->sigreturn, &l);
	e = -ENOSPC;
	if (l.low < vm_start || l.low > l.high) {
		snprintf(why, whylen, "its stack has no room for it under %#llx",
			 (unsigned long long)regs->rsp);
		goto out;
	}
	n->low = l.low;
	n->len = l.high - l.low;
	n->saved = malloc(n->len);
	e = n->saved ? read_remote(tid, n->low, n->saved, n->len) : -ENOMEM;
	if (e < 0) {
		snprintf(why, whylen, "reading the stack under %#llx: %s",
			 (unsigned long long)regs->rsp, strerror(-e));
		free(n->saved);
		memset(n, 0, sizeof(*n));
		goto out;
	}
	e = write_net(tid, g, &l, regs, mask, fp, fplen);
	if (e < 0) {
		snprintf(why, whylen, "writing it under the stack: %s", strerror(-e));
		ps_net_remove(tid, n);
		goto out;
	}
	n->rsp = l.rsp;
	n->uc_stack = l.frame + offsetof(struct k_rt_sigframe, uc.uc_stack);
	n->scratch = l.scratch;
out:
	free(fp);
	return e;
}

int ps_net_remove(pid_t tid, struct ps_safety_net *n)
{
	int e = n->saved ? write_remote(tid, n->low, n->saved, n->len) : 0;

	free(n->saved);
	memset(n, 0, sizeof(*n));
	return e;
}
