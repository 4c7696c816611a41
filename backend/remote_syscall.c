/* Remote syscalls: the thread's registers are pointed at an existing
 * `syscall` instruction and driven through one syscall with PTRACE_SYSCALL. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "freeze.h"
#include "proc_parse.h"
#include "remote_syscall.h"

static int scan_for_syscall(pid_t pid, uint64_t start, uint64_t end, uint64_t *addr)
{
	size_t len = end - start;
	char *buf;
	struct iovec local, remote;
	ssize_t n;

	if (len > (16u << 20))
		len = 16u << 20;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	local = (struct iovec){ buf, len };
	remote = (struct iovec){ (void *)start, len };
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	for (ssize_t i = 0; i + 1 < n; i++) {
		if ((unsigned char)buf[i] == 0x0f && (unsigned char)buf[i + 1] == 0x05) {
			*addr = start + i;
			free(buf);
			return 0;
		}
	}
	free(buf);
	return -ENOENT;
}

/* Pass 0 looks in the vDSO only, pass 1 in every other r-x mapping. */
static int scan_maps(pid_t pid, const char *maps, int pass, uint64_t *addr)
{
	const char *line = maps;

	while (line && *line) {
		struct ps_maps_line ml;
		const char *nl = strchr(line, '\n');

		if (ps_parse_maps_line(line, &ml) == 0 && (ml.prot & PROT_EXEC) &&
		    (ml.prot & PROT_READ) && ml.end <= 0x800000000000ULL) {
			int is_vdso = strcmp(ml.path, "[vdso]") == 0;

			if (is_vdso == (pass == 0) && scan_for_syscall(pid, ml.start, ml.end, addr) == 0)
				return 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

int ps_find_syscall_insn(pid_t pid, uint64_t *addr, char *err, size_t errlen)
{
	char path[64], *maps;
	size_t len;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	r = ps_read_file(path, &maps, &len);
	if (r < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-r));
		return r;
	}
	r = scan_maps(pid, maps, 0, addr);
	if (r < 0)
		r = scan_maps(pid, maps, 1, addr);
	free(maps);
	if (r < 0)
		snprintf(err, errlen, "process %d has no syscall instruction mapped executable "
			 "(no vDSO?): cannot run syscalls inside it", pid);
	return r;
}

int ps_remote_begin(struct ps_remote *r, pid_t tid, uint64_t syscall_insn,
		    char *err, size_t errlen)
{
	uint64_t all = ~0ULL;
	int e;

	memset(r, 0, sizeof(*r));
	r->tid = tid;
	r->syscall_insn = syscall_insn;
	if (ptrace(PTRACE_GETREGS, tid, 0, &r->saved) < 0)
		goto fail;
	if (ptrace(PTRACE_GETSIGMASK, tid, sizeof(r->saved_mask), &r->saved_mask) < 0)
		goto fail;
	/* Block every signal while the thread runs our syscalls: a signal
	 * already pending would otherwise be dequeued on the first resume and
	 * its handler would run on borrowed registers. It stays pending. */
	if (ptrace(PTRACE_SETSIGMASK, tid, sizeof(all), &all) < 0)
		goto fail;
	return 0;
fail:
	e = errno;
	snprintf(err, errlen, "thread %d: preparing a remote syscall: %s", tid, strerror(e));
	return -e;
}

/* Resume with PTRACE_SYSCALL and wait for the next syscall-stop. */
static int step_to_syscall_stop(pid_t tid)
{
	int status;

	if (ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0)
		return -errno;
	for (;;) {
		if (waitpid(tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80))
			return 0;
		/* All signals are blocked while the thread is borrowed, so a
		 * signal-delivery-stop here can only be one the kernel forces;
		 * pass it on rather than lose it. */
		if (WIFSTOPPED(status) && !(status >> 16)) {
			if (ptrace(PTRACE_SYSCALL, tid, 0, (void *)(long)WSTOPSIG(status)) < 0)
				return -errno;
			continue;
		}
		if (ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0)
			return -errno;
	}
}

int ps_remote_syscall(struct ps_remote *r, long nr, const uint64_t args[6], long *ret,
		      char *err, size_t errlen)
{
	struct user_regs_struct regs = r->saved;
	int e;

	regs.rip = r->syscall_insn;
	regs.rax = nr;
	/* orig_rax = -1 tells the kernel the thread is not inside a syscall,
	 * so it does not apply restart rewinding to the registers we set. */
	regs.orig_rax = -1;
	regs.rdi = args[0];
	regs.rsi = args[1];
	regs.rdx = args[2];
	regs.r10 = args[3];
	regs.r8 = args[4];
	regs.r9 = args[5];
	if (ptrace(PTRACE_SETREGS, r->tid, 0, &regs) < 0) {
		e = -errno;
		goto fail;
	}
	r->borrowed = 1;
	e = step_to_syscall_stop(r->tid);          /* entry */
	if (e == 0)
		e = step_to_syscall_stop(r->tid);  /* exit */
	if (e == 0 && ptrace(PTRACE_GETREGS, r->tid, 0, &regs) < 0)
		e = -errno;
	if (e < 0)
		goto fail;
	*ret = (long)regs.rax;
	return 0;
fail:
	snprintf(err, errlen, "thread %d: remote syscall %ld: %s", r->tid, nr, strerror(-e));
	return e;
}

/*
 * After a remote syscall the thread sits in a syscall-exit-stop. Had we
 * detached from there with its own registers back, a syscall it had been
 * interrupted in would return -ERESTARTSYS to the program: the kernel only
 * rewinds a restartable syscall on its way out of a signal check. So we
 * interrupt it again and let it run to that check, where it traps into the
 * same kind of stop as the freeze left it in, registers untouched.
 */
int ps_remote_end(struct ps_remote *r, char *err, size_t errlen)
{
	int e = 0;

	if (!r->borrowed) {
		if (ptrace(PTRACE_SETSIGMASK, r->tid, sizeof(r->saved_mask), &r->saved_mask) < 0)
			e = -errno;
		goto out;
	}
	if (ptrace(PTRACE_SETREGS, r->tid, 0, &r->saved) < 0)
		e = -errno;
	if (ptrace(PTRACE_SETSIGMASK, r->tid, sizeof(r->saved_mask), &r->saved_mask) < 0 && !e)
		e = -errno;
	r->borrowed = 0;
	if (e == 0 && ptrace(PTRACE_INTERRUPT, r->tid, 0, 0) < 0)
		e = -errno;
	if (e == 0 && ptrace(PTRACE_CONT, r->tid, 0, 0) < 0)
		e = -errno;
	if (e == 0)
		e = ps_wait_interrupt_stop(r->tid);
out:
	if (e < 0)
		snprintf(err, errlen, "thread %d: putting its registers back: %s",
			 r->tid, strerror(-e));
	return e;
}
