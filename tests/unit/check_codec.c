/* Unit tests of the image format: CRC-32, every JSON part's round trip and
 * its rejection of bad input, and reading a whole image directory back. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "image/codec.h"
#include "image/crc32.h"
#include "image/fd_kinds.h"
#include "image/image_read.h"
#include "image/json_util.h"

#define HIGH_BIT 0x8000000000000000ULL
#define SIGINFO_SIZE PS_SIGINFO_SIZE

/* ---- models with non-trivial values ---- */

static void set_bytes(struct ps_bytes *b, const char *s)
{
	ps_bytes_set(b, s, strlen(s));
	ck_assert_ptr_nonnull(b->data);
}

/* Everything but the file list. */
static void fill_meta_header(struct ps_image_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->format = 1;
	strcpy(m->arch, "x86_64");
	strcpy(m->kernel, "6.1.0-18-amd64");
	strcpy(m->boot_id, "4f7c2a0e-8b1d-4e55-9d8e-2b3f1c0a9e11");
	m->page_size = 4096;
	m->pid = 4242;
	m->taken_sec = 1714564800;   /* 2024-05-01T12:00:00Z */
	m->taken_nsec = 123456789;
	m->freeze_us = 1234;
}

static void fill_meta(struct ps_image_meta *m)
{
	fill_meta_header(m);
	m->files = calloc(2, sizeof(*m->files));
	m->nfiles = 2;
	m->files[0] = (struct ps_image_file){ strdup("process.json"), 100, 1, 0xdeadbeef };
	m->files[1] = (struct ps_image_file){ strdup("memory/00600000-00602000"), 8192, 0, 0 };
}

static void fill_creds(struct ps_creds *c)
{
	static const gid_t groups[] = { 4, 24, 1000, 65534 };

	for (int i = 0; i < 4; i++) {
		c->uid[i] = 1000 + (uid_t)i;
		c->gid[i] = 2000 + (gid_t)i;
	}
	c->groups = malloc(sizeof(groups));
	memcpy(c->groups, groups, sizeof(groups));
	c->ngroups = 4;
	c->cap_inh = 0;
	c->cap_prm = 0x1ffffffffffULL;
	c->cap_eff = 0x3000;
	c->cap_bnd = 0xffffffffffffffffULL;
	c->cap_amb = 0x400;
	c->securebits = 0x2f;
	c->no_new_privs = 1;
	c->dumpable = 1;
	c->seccomp = 2;
}

static void fill_mm(struct ps_mm *mm)
{
	mm->start_code = 0x400000;
	mm->end_code = 0x401000;
	mm->start_data = 0x600000;
	mm->end_data = 0x601000;
	mm->start_brk = 0x1000000;
	mm->brk = 0x1021000;
	mm->start_stack = 0x7ffd00020000;
	mm->arg_start = 0x7ffd00020100;
	mm->arg_end = 0x7ffd00020200;
	mm->env_start = 0x7ffd00020200;
	mm->env_end = 0x7ffd00020f00;
	mm->nauxv = 4;
	mm->auxv = calloc(4, sizeof(*mm->auxv));
	mm->auxv[0] = (struct ps_auxv_entry){ 3, 0x400040 };       /* AT_PHDR */
	mm->auxv[1] = (struct ps_auxv_entry){ 6, 4096 };           /* AT_PAGESZ */
	mm->auxv[2] = (struct ps_auxv_entry){ 99, HIGH_BIT | 7 };  /* no name */
	mm->auxv[3] = (struct ps_auxv_entry){ 0, 0 };              /* AT_NULL */
}

static void fill_timers(struct ps_process *p)
{
	p->itimers[0] = (struct ps_itimer){ 1500000000, 1000000000 };
	p->itimers[2] = (struct ps_itimer){ 7, 0 };
	p->ntimers = 2;
	p->timers = calloc(2, sizeof(*p->timers));
	p->timers[0] = (struct ps_posix_timer){ .id = 0, .clock = 1, .notify = 0, .signo = 14,
		.sigval = 0xdeadbeefcafef00dULL, .value_ns = 250000000, .interval_ns = 250000000 };
	p->timers[1] = (struct ps_posix_timer){ .id = 1, .clock = -6, .notify = 4, .signo = 34,
		.sigval = 1, .notify_tid = 4243, .value_ns = 9, .overrun = 3 };
	p->nchildren = 2;
	p->children = calloc(2, sizeof(*p->children));
	p->children[0] = 4300;
	p->children[1] = 4301;
}

static void fill_process(struct ps_process *p)
{
	memset(p, 0, sizeof(*p));
	p->pid = 4242;
	p->ppid = 1;
	p->pgid = 4242;
	p->sid = 4000;
	strcpy(p->comm, "worker");
	set_bytes(&p->exe, "/opt/caf\xe9/bin/prog");        /* latin-1: not UTF-8 */
	set_bytes(&p->cwd, "/home/\xc3\xbcser");             /* valid UTF-8 */
	set_bytes(&p->root, "/");
	p->cmdline.count = 3;
	p->cmdline.items = calloc(3, sizeof(struct ps_bytes));
	set_bytes(&p->cmdline.items[0], "prog");
	set_bytes(&p->cmdline.items[1], "--name=\xff\xfe");
	set_bytes(&p->cmdline.items[2], "");
	p->environ.count = 2;
	p->environ.items = calloc(2, sizeof(struct ps_bytes));
	set_bytes(&p->environ.items[0], "A=1");
	set_bytes(&p->environ.items[1], "PATH=/bin:/usr/bin");
	p->umask = 022;
	fill_creds(&p->creds);
	for (int i = 0; i < PS_NRLIMITS; i++)
		p->rlimits[i] = (struct ps_rlimit){ (uint64_t)i * 1000, (uint64_t)i * 2000 };
	p->rlimits[0] = (struct ps_rlimit){ PS_RLIM_INFINITY, PS_RLIM_INFINITY };
	p->rlimits[3] = (struct ps_rlimit){ 8 << 20, PS_RLIM_INFINITY };
	p->rlimits[7] = (struct ps_rlimit){ 1024, 524288 };
	p->rlimits[9] = (struct ps_rlimit){ HIGH_BIT, UINT64_MAX - 1 };
	p->personality = 0x0040000;
	fill_mm(&p->mm);
	fill_timers(p);
}

static void add_mapping(struct ps_maps *maps, uint64_t start, uint64_t end, int prot,
			enum ps_map_kind kind, const char *path, int content)
{
	struct ps_mapping *m = &maps->items[maps->count++];
	char name[PS_MEMORY_NAME_MAX];

	m->start = start;
	m->end = end;
	m->prot = prot;
	m->kind = kind;
	set_bytes(&m->path, path);
	if (content) {
		ps_memory_file_name(name, sizeof(name), start, end);
		m->content = strdup(name);
		m->content_start = start;
		m->content_end = end;
		m->data_pages = (end - start) / 4096 / 2;
		/* every other page saved: many runs, none adjacent */
		m->data = calloc(m->data_pages ? m->data_pages : 1, sizeof(*m->data));
		for (uint64_t k = 0; k < m->data_pages; k++)
			m->data[k] = (struct ps_extent){ 2 * k, 1 };
		m->ndata = m->data_pages;
	}
}

static void fill_maps(struct ps_maps *maps)
{
	struct ps_mapping *m;

	memset(maps, 0, sizeof(*maps));
	maps->items = calloc(8, sizeof(*maps->items));
	add_mapping(maps, 0x400000, 0x401000, PROT_READ | PROT_EXEC, PS_MAP_FILE, "/usr/bin/prog", 0);
	m = &maps->items[0];
	m->file = (struct ps_file_id){ 8, 1, 131074, 16384, 1700000000, 999999999, "" };
	strcpy(m->file.build_id, "0123456789abcdef0123456789abcdef01234567");
	m->vm_flags = calloc(3, sizeof(char *));
	m->vm_flags[0] = strdup("rd");
	m->vm_flags[1] = strdup("ex");
	m->vm_flags[2] = strdup("mr");
	m->nvm_flags = 3;
	add_mapping(maps, 0x600000, 0x602000, PROT_READ | PROT_WRITE, PS_MAP_FILE, "/tmp/gone\xff", 1);
	m = &maps->items[1];
	m->deleted = 1;
	m->offset = 0x1000;
	m->file = (struct ps_file_id){ 0, 35, HIGH_BIT | 5, 8192, -1, 0, "" };
	add_mapping(maps, 0x1000000, 0x1021000, PROT_READ | PROT_WRITE, PS_MAP_HEAP, "[heap]", 1);
	add_mapping(maps, 0x7f0000000000, 0x7f0000001000, PROT_READ | PROT_WRITE, PS_MAP_SHMEM,
		    "/dev/zero", 1);
	maps->items[3].shared = 1;
	maps->items[3].deleted = 1;
	maps->items[3].file = (struct ps_file_id){ 0, 1, 4242, 20480, 0, 0, "" };
	maps->lock_future = MCL_FUTURE | MCL_ONFAULT;
	m = &maps->items[2];    /* the heap: every other page saved; guards on two free ones */
	m->guards = calloc(2, sizeof(*m->guards));
	m->guards[0] = (struct ps_extent){ 1, 1 };
	m->guards[1] = (struct ps_extent){ 5, 1 };
	m->nguards = 2;
	add_mapping(maps, 0x7ffd00000000, 0x7ffd00021000, PROT_READ | PROT_WRITE, PS_MAP_STACK,
		    "[stack]", 1);
	add_mapping(maps, 0x7ffd00100000, 0x7ffd00104000, PROT_READ, PS_MAP_VVAR, "[vvar]", 0);
	add_mapping(maps, 0x7ffd00104000, 0x7ffd00106000, PROT_READ | PROT_EXEC, PS_MAP_VDSO,
		    "[vdso]", 1);
	add_mapping(maps, PS_VSYSCALL_START, PS_VSYSCALL_END, PROT_EXEC, PS_MAP_VSYSCALL,
		    "[vsyscall]", 0);
}

/* A siginfo whose head (signo, errno, code) and tail both carry data. */
static void fill_siginfo(struct ps_siginfo *si, int signo, int code)
{
	memset(si, 0, sizeof(*si));
	for (int i = 0; i < SIGINFO_SIZE; i++)
		si->raw[i] = (uint8_t)(i * 7 + signo);
	si->signo = signo;
	si->err = 0;
	si->code = code;
	memcpy(si->raw, &si->signo, sizeof(int));
	memcpy(si->raw + 4, &si->err, sizeof(int));
	memcpy(si->raw + 8, &si->code, sizeof(int));
}

static void fill_thread(struct ps_thread *t, pid_t tid)
{
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	memcpy(t->comm, "th\xff\x01", 5);
	t->regs.rax = 0xfffffffffffffe00ULL;   /* -ERESTARTSYS */
	t->regs.orig_rax = 230;
	t->regs.rip = 0x7f1234567890ULL;
	t->regs.rsp = 0x7ffd00020000ULL;
	t->regs.rbx = UINT64_MAX;
	t->regs.r15 = HIGH_BIT | 1;
	t->regs.eflags = 0x246;
	t->regs.cs = 0x33;
	t->regs.ss = 0x2b;
	t->regs.fs_base = 0x7f0000001000ULL;
	t->xsave_len = 1088;
	t->xsave = malloc(t->xsave_len);
	for (size_t i = 0; i < t->xsave_len; i++)
		t->xsave[i] = (uint8_t)(i ^ 0x5a);
	t->in_syscall = 1;
	t->syscall_nr = 230;
	t->syscall_ret = -512;
	t->sigmask = HIGH_BIT | 1;
	t->npending = 2;
	t->pending = calloc(2, sizeof(*t->pending));
	fill_siginfo(&t->pending[0], 10, -6);
	fill_siginfo(&t->pending[1], 64, -1);
	t->altstack_sp = 0x7f0000100000ULL;
	t->altstack_size = 8192;
	t->altstack_flags = (int)(0x80000000u | 1);   /* SS_AUTODISARM | SS_ONSTACK */
	t->rseq_ptr = 0x7f0000002020ULL;
	t->rseq_len = 32;
	t->rseq_sig = 0x53053053;
	t->clear_child_tid = 0x7f0000001910ULL;
	t->robust_list = 0x7f0000001920ULL;
	t->robust_list_len = 24;
}

static void fill_signals(struct ps_signals *s)
{
	memset(s, 0, sizeof(*s));
	s->act[2] = (struct ps_sigaction){ 0x401000, 0x04000000 | 4 | 0x10000000,
					   0x7f0000003000, 1ULL << 14 };
	s->act[13].handler = 1;   /* SIG_IGN */
	s->act[34] = (struct ps_sigaction){ 0x401100, 0x08000000 | 0x100, 0, HIGH_BIT };
	s->act[64] = (struct ps_sigaction){ 0x7f0000004000, 0x80000000 | 0x40000000, 0, 0 };
	s->nshared_pending = 1;
	s->shared_pending = calloc(1, sizeof(*s->shared_pending));
	fill_siginfo(&s->shared_pending[0], 64, -1);
}

static struct ps_fd *add_fd(struct ps_fds *fds, int n, enum ps_fd_type type, const char *kind,
			    const char *path, unsigned mode)
{
	struct ps_fd *f = &fds->items[fds->count++];

	f->fd = n;
	f->type = type;
	f->supported = 1;
	ck_assert_int_eq(ps_fd_kind_from_json_name(f, kind, -1), 0);
	set_bytes(&f->path, path);
	f->mode = mode;
	f->dev_minor = 24;
	f->mnt_id = 25;
	f->ino = (uint64_t)n + 3;
	return f;
}

static struct ps_socket *add_socket(struct ps_fds *fds, int n, int family, int type,
				    enum ps_sock_state state)
{
	struct ps_fd *f = add_fd(fds, n, PS_FD_SOCKET, "socket", "socket:[77]", S_IFSOCK | 0777);

	f->flags = 02;
	f->kind = family == AF_UNIX ? PS_FD_KIND_UNIX : PS_FD_KIND_INET;
	f->u.sock.family = family;
	f->u.sock.type = type;
	f->u.sock.state = state;
	f->u.sock.peer_fd = -1;
	return &f->u.sock;
}

/* The kinds with state of their own: timerfd, inotify, memfd, sockets, dups. */
static void fill_more_fds(struct ps_fds *fds)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(8080),
				    .sin6_addr = IN6ADDR_LOOPBACK_INIT, .sin6_scope_id = 3 };
	struct ps_socket *s;
	struct ps_fd *f;

	f = add_fd(fds, 11, PS_FD_ANON, "timerfd", "anon_inode:[timerfd]", 0600);
	f->u.timerfd = (struct ps_timerfd){ 7, 1, 1500000000, 250000000, HIGH_BIT | 9, 4 };
	f = add_fd(fds, 12, PS_FD_ANON, "inotify", "anon_inode:inotify", 0600);
	f->u.inotify.watches = calloc(2, sizeof(*f->u.inotify.watches));
	f->u.inotify.watches[0] = (struct ps_inotify_watch){ 1, 0x100, 42, 8, 1, { 0 } };
	set_bytes(&f->u.inotify.watches[0].path, "/tmp");
	f->u.inotify.watches[1] = (struct ps_inotify_watch){ 5, 0x80000002, HIGH_BIT | 43, 0, 25,
							     { 0 } };
	set_bytes(&f->u.inotify.watches[1].path, "/etc/passwd");
	f->u.inotify.nwatches = 2;
	f = add_fd(fds, 13, PS_FD_ANON, "memfd", "/memfd:cache", S_IFREG | 0777);
	f->data = strdup("fds/13");
	f->u.content.size = 16384;
	f->u.content.uid = 1000;
	f->u.content.gid = 100;
	f->u.content.seals = 0x6;
	s = add_socket(fds, 14, AF_UNIX, SOCK_DGRAM, PS_SOCK_CONNECTED);
	s->peer_fd = 15;
	memcpy(un.sun_path, "\0name\xff", 6);
	s->local.len = (uint32_t)(offsetof(struct sockaddr_un, sun_path) + 6);
	memcpy(s->local.sa, &un, s->local.len);
	s->msgs = calloc(2, sizeof(*s->msgs));
	s->msgs[0] = 1;
	s->msgs[1] = 100;
	s->nmsgs = 2;
	fds->items[fds->count - 1].data = strdup("fds/14");
	s = add_socket(fds, 15, AF_UNIX, SOCK_DGRAM, PS_SOCK_CONNECTED);
	s->peer_fd = 14;
	s->shutdown = 2;
	s->opts.passcred = 1;
	s->local.len = offsetof(struct sockaddr_un, sun_path);
	memcpy(s->local.sa, &un, s->local.len);
	s = add_socket(fds, 16, AF_INET6, SOCK_STREAM, PS_SOCK_LISTENING);
	s->protocol = IPPROTO_TCP;
	s->backlog = 128;
	s->local.len = sizeof(in6);
	memcpy(s->local.sa, &in6, sizeof(in6));
	s->opts = (struct ps_sockopts){ 1, 0, 1, 0, 0, 0, 1, 1, 425984, 16384 };
	f = add_fd(fds, 17, PS_FD_REG, "file", "/tmp/f\xff", S_IFREG | 0644);
	f->is_dup = 1;
	f->dup_of = 3;
}

static void fill_fds(struct ps_fds *fds)
{
	struct ps_fd *f;

	memset(fds, 0, sizeof(*fds));
	fds->items = calloc(14, sizeof(*fds->items));
	f = add_fd(fds, 0, PS_FD_CHR, "tty", "/dev/pts/0", S_IFCHR | 0620);
	f->flags = 02 | 0100000;
	f->rdev_major = 136;
	f->kind = ps_fd_kind_of_chr(f->rdev_major);   /* a terminal, by its device */
	f = add_fd(fds, 1, PS_FD_PIPE, "pipe", "pipe:[12345]", S_IFIFO | 0600);
	f->flags = 01;
	f->data = strdup("fds/1");
	f->u.pipe_size = 65536;
	f = add_fd(fds, 3, PS_FD_REG, "file", "/tmp/f\xff", S_IFREG | 0644);
	f->flags = 02 | 02000 | 04000;
	f->cloexec = 1;
	f->deleted = 1;
	f->pos = 0x1234;
	f->ino = HIGH_BIT | 5;
	f = add_fd(fds, 7, PS_FD_SOCKET, "unix", "socket:[999]", S_IFSOCK | 0777);
	f->supported = 0;
	f->unsupported_reason = strdup("unix sockets are not supported yet");
	ck_assert_int_eq(ps_fd_make_other(f), 0);   /* an unsupported socket keeps no state */
	f = add_fd(fds, 9, PS_FD_ANON, "eventfd", "anon_inode:[eventfd]", 0600);
	f->flags = 02 | 0x40000000;   /* a bit no name covers */
	f = add_fd(fds, 10, PS_FD_ANON, "eventpoll", "anon_inode:[eventpoll]", 0600);
	f->flags = 02;
	f->u.epoll.targets = calloc(2, sizeof(*f->u.epoll.targets));
	f->u.epoll.targets[0] = (struct ps_epoll_target){ 1, 0x80000019u, HIGH_BIT | 7, 12345 };
	f->u.epoll.targets[1] = (struct ps_epoll_target){ 3, 0x1, 0, HIGH_BIT | 5 };
	f->u.epoll.ntargets = 2;
	fill_more_fds(fds);
}

/* ---- comparisons ---- */

static void assert_bytes_eq(const struct ps_bytes *a, const struct ps_bytes *b)
{
	ck_assert_uint_eq(a->len, b->len);
	ck_assert_mem_eq(a->data, b->data, a->len);
	ck_assert_int_eq(b->data[b->len], '\0');
}

static void assert_strlist_eq(const struct ps_strlist *a, const struct ps_strlist *b)
{
	ck_assert_uint_eq(a->count, b->count);
	for (size_t i = 0; i < a->count; i++)
		assert_bytes_eq(&a->items[i], &b->items[i]);
}

static void assert_meta_eq(const struct ps_image_meta *a, const struct ps_image_meta *b)
{
	ck_assert_int_eq(b->format, 1);
	ck_assert_str_eq(a->arch, b->arch);
	ck_assert_str_eq(a->kernel, b->kernel);
	ck_assert_str_eq(a->boot_id, b->boot_id);
	ck_assert_int_eq(a->page_size, b->page_size);
	ck_assert_int_eq(a->pid, b->pid);
	ck_assert_int_eq(a->taken_sec, b->taken_sec);
	ck_assert_int_eq(a->taken_nsec, b->taken_nsec);
	ck_assert_uint_eq(a->freeze_us, b->freeze_us);
	ck_assert_uint_eq(a->nfiles, b->nfiles);
	for (size_t i = 0; i < a->nfiles; i++) {
		ck_assert_str_eq(a->files[i].name, b->files[i].name);
		ck_assert_uint_eq(a->files[i].size, b->files[i].size);
		ck_assert_int_eq(a->files[i].has_crc, b->files[i].has_crc);
		ck_assert_uint_eq(a->files[i].crc32, b->files[i].crc32);
	}
}

static void assert_creds_eq(const struct ps_creds *a, const struct ps_creds *b)
{
	ck_assert_mem_eq(a->uid, b->uid, sizeof(a->uid));
	ck_assert_mem_eq(a->gid, b->gid, sizeof(a->gid));
	ck_assert_uint_eq(a->ngroups, b->ngroups);
	ck_assert_mem_eq(a->groups, b->groups, a->ngroups * sizeof(gid_t));
	ck_assert_uint_eq(a->cap_inh, b->cap_inh);
	ck_assert_uint_eq(a->cap_prm, b->cap_prm);
	ck_assert_uint_eq(a->cap_eff, b->cap_eff);
	ck_assert_uint_eq(a->cap_bnd, b->cap_bnd);
	ck_assert_uint_eq(a->cap_amb, b->cap_amb);
	ck_assert_uint_eq(a->securebits, b->securebits);
	ck_assert_int_eq(a->no_new_privs, b->no_new_privs);
	ck_assert_int_eq(a->dumpable, b->dumpable);
	ck_assert_int_eq(a->seccomp, b->seccomp);
}

static void assert_timers_eq(const struct ps_process *a, const struct ps_process *b)
{
	ck_assert_mem_eq(a->itimers, b->itimers, sizeof(a->itimers));
	ck_assert_uint_eq(a->nchildren, b->nchildren);
	for (size_t i = 0; i < a->nchildren; i++)
		ck_assert_int_eq(a->children[i], b->children[i]);
	ck_assert_uint_eq(a->ntimers, b->ntimers);
	for (size_t i = 0; i < a->ntimers; i++) {
		const struct ps_posix_timer *x = &a->timers[i], *y = &b->timers[i];
		ck_assert_int_eq(x->id, y->id);
		ck_assert_int_eq(x->clock, y->clock);
		ck_assert_int_eq(x->notify, y->notify);
		ck_assert_int_eq(x->signo, y->signo);
		ck_assert_uint_eq(x->sigval, y->sigval);
		ck_assert_int_eq(x->notify_tid, y->notify_tid);
		ck_assert_uint_eq(x->value_ns, y->value_ns);
		ck_assert_uint_eq(x->interval_ns, y->interval_ns);
		ck_assert_int_eq(x->overrun, y->overrun);
	}
}

static void assert_process_eq(const struct ps_process *a, const struct ps_process *b)
{
	ck_assert_int_eq(a->pid, b->pid);
	ck_assert_int_eq(a->ppid, b->ppid);
	ck_assert_int_eq(a->pgid, b->pgid);
	ck_assert_int_eq(a->sid, b->sid);
	ck_assert_str_eq(a->comm, b->comm);
	assert_bytes_eq(&a->exe, &b->exe);
	assert_bytes_eq(&a->cwd, &b->cwd);
	assert_bytes_eq(&a->root, &b->root);
	assert_strlist_eq(&a->cmdline, &b->cmdline);
	assert_strlist_eq(&a->environ, &b->environ);
	ck_assert_uint_eq(a->umask, b->umask);
	assert_creds_eq(&a->creds, &b->creds);
	ck_assert_mem_eq(a->rlimits, b->rlimits, sizeof(a->rlimits));
	ck_assert_uint_eq(a->personality, b->personality);
	ck_assert_uint_eq(a->mm.start_code, b->mm.start_code);
	ck_assert_uint_eq(a->mm.end_code, b->mm.end_code);
	ck_assert_uint_eq(a->mm.start_data, b->mm.start_data);
	ck_assert_uint_eq(a->mm.end_data, b->mm.end_data);
	ck_assert_uint_eq(a->mm.start_brk, b->mm.start_brk);
	ck_assert_uint_eq(a->mm.brk, b->mm.brk);
	ck_assert_uint_eq(a->mm.start_stack, b->mm.start_stack);
	ck_assert_uint_eq(a->mm.arg_start, b->mm.arg_start);
	ck_assert_uint_eq(a->mm.arg_end, b->mm.arg_end);
	ck_assert_uint_eq(a->mm.env_start, b->mm.env_start);
	ck_assert_uint_eq(a->mm.env_end, b->mm.env_end);
	ck_assert_uint_eq(a->mm.nauxv, b->mm.nauxv);
	ck_assert_mem_eq(a->mm.auxv, b->mm.auxv, a->mm.nauxv * sizeof(*a->mm.auxv));
	assert_timers_eq(a, b);
}

static void assert_mapping_eq(const struct ps_mapping *a, const struct ps_mapping *b)
{
	ck_assert_uint_eq(a->start, b->start);
	ck_assert_uint_eq(a->end, b->end);
	ck_assert_int_eq(a->prot, b->prot);
	ck_assert_int_eq(a->shared, b->shared);
	ck_assert_int_eq(a->kind, b->kind);
	assert_bytes_eq(&a->path, &b->path);
	ck_assert_uint_eq(a->offset, b->offset);
	ck_assert_int_eq(a->deleted, b->deleted);
	if (a->kind == PS_MAP_FILE || a->kind == PS_MAP_SHMEM) {
		ck_assert_uint_eq(a->file.dev_major, b->file.dev_major);
		ck_assert_uint_eq(a->file.dev_minor, b->file.dev_minor);
		ck_assert_uint_eq(a->file.ino, b->file.ino);
		ck_assert_uint_eq(a->file.size, b->file.size);
		ck_assert_int_eq(a->file.mtime_sec, b->file.mtime_sec);
		ck_assert_int_eq(a->file.mtime_nsec, b->file.mtime_nsec);
		ck_assert_str_eq(a->file.build_id, b->file.build_id);
	}
	ck_assert_uint_eq(a->nvm_flags, b->nvm_flags);
	for (size_t i = 0; i < a->nvm_flags; i++)
		ck_assert_str_eq(a->vm_flags[i], b->vm_flags[i]);
	ck_assert_pstr_eq(a->content, b->content);
	ck_assert_uint_eq(a->content_start, b->content_start);
	ck_assert_uint_eq(a->content_end, b->content_end);
	ck_assert_uint_eq(a->data_pages, b->data_pages);
	ck_assert_uint_eq(a->ndata, b->ndata);
	for (size_t i = 0; i < a->ndata; i++) {
		ck_assert_uint_eq(a->data[i].first, b->data[i].first);
		ck_assert_uint_eq(a->data[i].count, b->data[i].count);
	}
	ck_assert_uint_eq(a->nguards, b->nguards);
	for (size_t i = 0; i < a->nguards; i++) {
		ck_assert_uint_eq(a->guards[i].first, b->guards[i].first);
		ck_assert_uint_eq(a->guards[i].count, b->guards[i].count);
	}
}

static void assert_maps_eq(const struct ps_maps *a, const struct ps_maps *b)
{
	ck_assert_uint_eq(a->count, b->count);
	ck_assert_int_eq(a->lock_future, b->lock_future);
	for (size_t i = 0; i < a->count; i++)
		assert_mapping_eq(&a->items[i], &b->items[i]);
}

static void assert_siginfo_eq(const struct ps_siginfo *a, const struct ps_siginfo *b)
{
	ck_assert_int_eq(a->signo, b->signo);
	ck_assert_int_eq(a->err, b->err);
	ck_assert_int_eq(a->code, b->code);
	ck_assert_mem_eq(a->raw, b->raw, SIGINFO_SIZE);
}

static void assert_thread_eq(const struct ps_thread *a, const struct ps_thread *b)
{
	ck_assert_int_eq(a->tid, b->tid);
	ck_assert_mem_eq(a->comm, b->comm, PS_COMM_LEN);
	ck_assert_mem_eq(&a->regs, &b->regs, sizeof(a->regs));
	ck_assert_uint_eq(a->xsave_len, b->xsave_len);
	ck_assert_mem_eq(a->xsave, b->xsave, a->xsave_len);
	ck_assert_int_eq(a->in_syscall, b->in_syscall);
	ck_assert_int_eq(a->syscall_nr, b->syscall_nr);
	ck_assert_int_eq(a->syscall_ret, b->syscall_ret);
	ck_assert_uint_eq(a->sigmask, b->sigmask);
	ck_assert_uint_eq(a->npending, b->npending);
	for (size_t i = 0; i < a->npending; i++)
		assert_siginfo_eq(&a->pending[i], &b->pending[i]);
	ck_assert_uint_eq(a->altstack_sp, b->altstack_sp);
	ck_assert_uint_eq(a->altstack_size, b->altstack_size);
	ck_assert_int_eq(a->altstack_flags, b->altstack_flags);
	ck_assert_uint_eq(a->rseq_ptr, b->rseq_ptr);
	ck_assert_uint_eq(a->rseq_len, b->rseq_len);
	ck_assert_uint_eq(a->rseq_sig, b->rseq_sig);
	ck_assert_uint_eq(a->clear_child_tid, b->clear_child_tid);
	ck_assert_uint_eq(a->robust_list, b->robust_list);
	ck_assert_uint_eq(a->robust_list_len, b->robust_list_len);
}

static void assert_signals_eq(const struct ps_signals *a, const struct ps_signals *b)
{
	ck_assert_mem_eq(a->act, b->act, sizeof(a->act));
	ck_assert_uint_eq(a->nshared_pending, b->nshared_pending);
	for (size_t i = 0; i < a->nshared_pending; i++)
		assert_siginfo_eq(&a->shared_pending[i], &b->shared_pending[i]);
}

static void assert_socket_eq(const struct ps_socket *x, const struct ps_socket *y)
{
	ck_assert_int_eq(x->family, y->family);
	ck_assert_int_eq(x->type, y->type);
	ck_assert_int_eq(x->protocol, y->protocol);
	ck_assert_int_eq(x->state, y->state);
	ck_assert_uint_eq(x->local.len, y->local.len);
	ck_assert_mem_eq(x->local.sa, y->local.sa, x->local.len);
	ck_assert_uint_eq(x->peer.len, y->peer.len);
	ck_assert_int_eq(x->peer_fd, y->peer_fd);
	ck_assert_uint_eq(x->backlog, y->backlog);
	ck_assert_int_eq(x->shutdown, y->shutdown);
	ck_assert_mem_eq(&x->opts, &y->opts, sizeof(x->opts));
	ck_assert_uint_eq(x->nmsgs, y->nmsgs);
	for (size_t k = 0; k < x->nmsgs; k++)
		ck_assert_uint_eq(x->msgs[k], y->msgs[k]);
}

static void assert_watches_eq(const struct ps_fd_inotify *x, const struct ps_fd_inotify *y)
{
	ck_assert_uint_eq(x->nwatches, y->nwatches);
	for (size_t k = 0; k < x->nwatches; k++) {
		ck_assert_int_eq(x->watches[k].wd, y->watches[k].wd);
		ck_assert_uint_eq(x->watches[k].mask, y->watches[k].mask);
		ck_assert_uint_eq(x->watches[k].ino, y->watches[k].ino);
		ck_assert_uint_eq(x->watches[k].dev_major, y->watches[k].dev_major);
		ck_assert_uint_eq(x->watches[k].dev_minor, y->watches[k].dev_minor);
		assert_bytes_eq(&x->watches[k].path, &y->watches[k].path);
	}
}

static void assert_epoll_eq(const struct ps_fd_epoll *x, const struct ps_fd_epoll *y)
{
	ck_assert_uint_eq(x->ntargets, y->ntargets);
	for (size_t k = 0; k < x->ntargets; k++) {
		ck_assert_int_eq(x->targets[k].fd, y->targets[k].fd);
		ck_assert_uint_eq(x->targets[k].events, y->targets[k].events);
		ck_assert_uint_eq(x->targets[k].data, y->targets[k].data);
		ck_assert_uint_eq(x->targets[k].ino, y->targets[k].ino);
	}
}

/* The kind's own fields, which a dup's entry has none of. */
static void assert_fd_state_eq(const struct ps_fd *x, const struct ps_fd *y)
{
	ck_assert_int_eq(x->is_dup, y->is_dup);
	ck_assert_int_eq(x->dup_of, y->dup_of);
	if (x->is_dup)
		return;
	switch (x->kind) {
	case PS_FD_KIND_FILE:
	case PS_FD_KIND_MEMFD:
		ck_assert_uint_eq(x->u.content.size, y->u.content.size);
		ck_assert_uint_eq(x->u.content.uid, y->u.content.uid);
		ck_assert_uint_eq(x->u.content.gid, y->u.content.gid);
		ck_assert_uint_eq(x->u.content.seals, y->u.content.seals);
		break;
	case PS_FD_KIND_EVENTFD:
		ck_assert_mem_eq(&x->u.eventfd, &y->u.eventfd, sizeof(x->u.eventfd));
		break;
	case PS_FD_KIND_TIMERFD:
		ck_assert_mem_eq(&x->u.timerfd, &y->u.timerfd, sizeof(x->u.timerfd));
		break;
	case PS_FD_KIND_SIGNALFD:
		ck_assert_uint_eq(x->u.sigmask, y->u.sigmask);
		break;
	case PS_FD_KIND_INOTIFY:
		assert_watches_eq(&x->u.inotify, &y->u.inotify);
		break;
	case PS_FD_KIND_UNIX:
	case PS_FD_KIND_INET:
		assert_socket_eq(&x->u.sock, &y->u.sock);
		break;
	default:
		break;
	}
}

static void assert_fds_eq(const struct ps_fds *a, const struct ps_fds *b)
{
	ck_assert_uint_eq(a->count, b->count);
	for (size_t i = 0; i < a->count; i++) {
		const struct ps_fd *x = &a->items[i], *y = &b->items[i];
		ck_assert_int_eq(x->fd, y->fd);
		ck_assert_int_eq(x->type, y->type);
		ck_assert_int_eq(x->kind, y->kind);
		ck_assert_pstr_eq(ps_fd_kind_json_name(x), ps_fd_kind_json_name(y));
		ck_assert_int_eq(x->flags, y->flags);
		ck_assert_int_eq(x->cloexec, y->cloexec);
		ck_assert_uint_eq(x->pos, y->pos);
		assert_bytes_eq(&x->path, &y->path);
		ck_assert_int_eq(x->deleted, y->deleted);
		ck_assert_uint_eq(x->dev_major, y->dev_major);
		ck_assert_uint_eq(x->dev_minor, y->dev_minor);
		ck_assert_uint_eq(x->rdev_major, y->rdev_major);
		ck_assert_uint_eq(x->rdev_minor, y->rdev_minor);
		ck_assert_uint_eq(x->ino, y->ino);
		ck_assert_uint_eq(x->mode, y->mode);
		ck_assert_int_eq(x->mnt_id, y->mnt_id);
		ck_assert_int_eq(x->supported, y->supported);
		ck_assert_pstr_eq(x->unsupported_reason, y->unsupported_reason);
		ck_assert_pstr_eq(x->data, y->data);
		if (x->kind == PS_FD_KIND_PIPE)
			ck_assert_uint_eq(x->u.pipe_size, y->u.pipe_size);
		if (x->kind == PS_FD_KIND_EPOLL)
			assert_epoll_eq(&x->u.epoll, &y->u.epoll);
		assert_fd_state_eq(x, y);
	}
}

/* ---- encode -> dump -> load, as the files would carry it ---- */

static json_t *through_text(json_t *encoded)
{
	json_error_t jerr;
	size_t len = 0;
	char *text;
	json_t *j;

	ck_assert_ptr_nonnull(encoded);
	text = ps_json_dump(encoded, &len);
	json_decref(encoded);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(strlen(text), len);
	ck_assert_int_eq(text[len - 1], '\n');
	ck_assert_msg(strncmp(text, "{\n  \"format\": 1,", 16) == 0, "format is not first: %.40s", text);
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	ck_assert_msg(j != NULL, "dump does not parse: %s", jerr.text);
	free(text);
	return j;
}

static const char *str_at(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	ck_assert_msg(s != NULL, "field %s is not a string", key);
	return s;
}

/* ---- tests: CRC-32 ---- */

START_TEST(test_crc32_vectors)
{
	const char *fox = "The quick brown fox jumps over the lazy dog";

	ck_assert_uint_eq(ps_crc32(0, "123456789", 9), 0xCBF43926u);
	ck_assert_uint_eq(ps_crc32(0, "", 0), 0);
	ck_assert_uint_eq(ps_crc32(0, "a", 1), 0xE8B7BE43u);
	ck_assert_uint_eq(ps_crc32(0, fox, strlen(fox)), 0x414FA339u);
	/* fed in chunks it is the same as in one piece */
	ck_assert_uint_eq(ps_crc32(ps_crc32(0, fox, 10), fox + 10, strlen(fox) - 10), 0x414FA339u);
}
END_TEST

/* Eight bytes a step gives what one byte a step gives, at every alignment
 * and length, and across chunk boundaries. */
START_TEST(test_crc32_slices)
{
	unsigned char buf[300];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	for (size_t off = 0; off < 9; off++) {
		for (size_t len = 0; off + len <= sizeof(buf); len += 7) {
			uint32_t want = 0xffffffffu;

			for (size_t i = 0; i < len; i++) {
				want ^= buf[off + i];
				for (int b = 0; b < 8; b++)
					want = (want >> 1) ^ (0xEDB88320u & -(want & 1));
			}
			want = ~want;
			ck_assert_uint_eq(ps_crc32(0, buf + off, len), want);
			ck_assert_uint_eq(ps_crc32(ps_crc32(0, buf + off, len / 3), buf + off + len / 3,
						   len - len / 3), want);
		}
	}
}
END_TEST

/* ---- tests: round trips ---- */

START_TEST(test_image_meta_roundtrip)
{
	struct ps_image_meta in, out;
	char err[256] = "";
	json_t *j;

	fill_meta(&in);
	j = through_text(ps_encode_image_meta(&in));
	ck_assert_str_eq(str_at(j, "taken"), "2024-05-01T12:00:00.123456789Z");
	ck_assert_str_eq(str_at(json_array_get(json_object_get(j, "files"), 0), "crc32"), "0xdeadbeef");
	ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(j, "files"), 1), "crc32"));
	ck_assert_msg(ps_decode_image_meta(j, &out, err, sizeof(err)) == 0, "%s", err);
	assert_meta_eq(&in, &out);
	json_decref(j);
	ps_image_meta_free(&in);
	ps_image_meta_free(&out);
}
END_TEST

START_TEST(test_process_roundtrip)
{
	struct ps_process in, out;
	char err[256] = "";
	const json_t *rl, *auxv;
	json_t *j;

	fill_process(&in);
	j = through_text(ps_encode_process(&in));
	/* what a person reading the file sees */
	ck_assert(json_is_object(json_object_get(j, "exe")));        /* not UTF-8: hex */
	ck_assert_str_eq(str_at(j, "cwd"), "/home/\xc3\xbcser");
	ck_assert_str_eq(str_at(j, "umask"), "022");
	rl = json_object_get(j, "rlimits");
	ck_assert_str_eq(str_at(json_object_get(rl, "RLIMIT_CPU"), "cur"), "unlimited");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(rl, "RLIMIT_NOFILE"), "max")),
			 524288);
	ck_assert_str_eq(str_at(json_object_get(rl, "RLIMIT_AS"), "cur"), "0x8000000000000000");
	auxv = json_object_get(json_object_get(j, "mm"), "auxv");
	ck_assert_str_eq(str_at(json_array_get(auxv, 0), "type"), "AT_PHDR");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(auxv, 2), "type")), 99);
	ck_assert_str_eq(str_at(json_object_get(j, "credentials"), "seccomp"), "filter");
	ck_assert_msg(ps_decode_process(j, &out, err, sizeof(err)) == 0, "%s", err);
	assert_process_eq(&in, &out);
	json_decref(j);
	ps_process_free(&in);
	ps_process_free(&out);
}
END_TEST

START_TEST(test_maps_roundtrip)
{
	struct ps_maps in, out;
	char err[256] = "";
	const json_t *a;
	json_t *j;

	fill_maps(&in);
	j = through_text(ps_encode_maps(&in));
	a = json_object_get(j, "mappings");
	ck_assert_str_eq(str_at(json_array_get(a, 0), "prot"), "r-x");
	ck_assert_str_eq(str_at(json_array_get(a, 0), "kind"), "file");
	ck_assert_str_eq(str_at(json_object_get(json_array_get(a, 0), "file"), "dev"), "8:1");
	ck_assert_str_eq(str_at(json_array_get(a, 1), "content"), "memory/00600000-00602000");
	ck_assert(json_is_null(json_object_get(json_array_get(a, 0), "content")));
	ck_assert_ptr_null(json_object_get(json_array_get(a, 2), "file"));
	ck_assert_msg(ps_decode_maps(j, &out, err, sizeof(err)) == 0, "%s", err);
	assert_maps_eq(&in, &out);
	json_decref(j);
	ps_maps_free(&in);
	ps_maps_free(&out);
}
END_TEST

START_TEST(test_thread_roundtrip)
{
	struct ps_thread in, out;
	char err[256] = "";
	const json_t *regs, *flags;
	json_t *j;

	fill_thread(&in, 4242);
	j = through_text(ps_encode_thread(&in));
	regs = json_object_get(j, "regs");
	ck_assert_str_eq(str_at(regs, "rax"), "0xfffffffffffffe00");
	ck_assert_str_eq(str_at(regs, "r15"), "0x8000000000000001");
	ck_assert_str_eq(str_at(regs, "fs_base"), "0x7f0000001000");
	ck_assert_uint_eq(json_object_size(regs), 27);   /* every user_regs_struct field */
	ck_assert_uint_eq(strlen(str_at(j, "xsave")), 2 * 1088);
	ck_assert(json_is_true(json_object_get(json_object_get(j, "syscall"), "in_syscall")));
	flags = json_object_get(json_object_get(j, "sigaltstack"), "flags");
	ck_assert_str_eq(json_string_value(json_array_get(flags, 0)), "SS_ONSTACK");
	ck_assert_str_eq(json_string_value(json_array_get(flags, 1)), "SS_AUTODISARM");
	ck_assert_msg(ps_decode_thread(j, &out, err, sizeof(err)) == 0, "%s", err);
	assert_thread_eq(&in, &out);
	json_decref(j);
	ps_thread_free(&in);
	ps_thread_free(&out);
}
END_TEST

START_TEST(test_signals_roundtrip)
{
	struct ps_signals *in = calloc(1, sizeof(*in)), *out = calloc(1, sizeof(*out));
	char err[256] = "";
	const json_t *acts, *sigint;
	json_t *j;

	fill_signals(in);
	j = through_text(ps_encode_signals(in));
	acts = json_object_get(j, "actions");
	ck_assert_uint_eq(json_array_size(acts), 64);
	sigint = json_array_get(acts, 1);
	ck_assert_str_eq(str_at(sigint, "name"), "SIGINT");
	ck_assert_str_eq(str_at(sigint, "handler"), "0x401000");
	ck_assert_str_eq(str_at(sigint, "flags_raw"), "0x14000004");
	ck_assert_str_eq(str_at(json_array_get(acts, 12), "handler"), "SIG_IGN");
	ck_assert_str_eq(str_at(json_array_get(acts, 0), "handler"), "SIG_DFL");
	ck_assert_str_eq(str_at(json_array_get(acts, 33), "name"), "SIGRTMIN");
	ck_assert_str_eq(str_at(json_array_get(acts, 49), "name"), "SIGRTMAX-14");
	ck_assert_str_eq(str_at(json_array_get(acts, 63), "name"), "SIGRTMAX");
	ck_assert_msg(ps_decode_signals(j, out, err, sizeof(err)) == 0, "%s", err);
	assert_signals_eq(in, out);
	json_decref(j);
	ps_signals_free(in);
	ps_signals_free(out);
	free(in);
	free(out);
}
END_TEST

/* ---- seccomp.json: decoded against the threads of the image ---- */

static void seccomp_model(struct ps_model *m)
{
	static const struct ps_bpf_insn allow_getppid_eperm[] = {
		{ 0x20, 0, 0, 0 }, { 0x15, 0, 1, 110 }, { 0x06, 0, 0, 0x00050001 },
		{ 0x06, 0, 0, 0x7fff0000 },
	};
	struct ps_seccomp *s = &m->seccomp;

	m->nthreads = 3;
	m->threads = calloc(3, sizeof(*m->threads));
	ck_assert_ptr_nonnull(m->threads);
	m->threads[0].tid = 100;
	m->threads[1].tid = 101;
	m->threads[2].tid = 102;
	s->saved = 1;
	s->nfilters = 2;
	s->filters = calloc(2, sizeof(*s->filters));
	s->nthreads = 3;
	s->threads = calloc(3, sizeof(*s->threads));
	ck_assert_ptr_nonnull(s->filters);
	ck_assert_ptr_nonnull(s->threads);
	for (size_t i = 0; i < 2; i++) {
		s->filters[i].ninsns = 4;
		s->filters[i].insns = malloc(sizeof(allow_getppid_eperm));
		ck_assert_ptr_nonnull(s->filters[i].insns);
		memcpy(s->filters[i].insns, allow_getppid_eperm, sizeof(allow_getppid_eperm));
	}
	s->filters[0].parent = -1;
	s->filters[1].parent = 0;
	s->filters[1].log = 1;
	s->filters[1].insns[3].k = 0xdeadbeef;   /* every byte of k kept */
	s->threads[0] = (struct ps_seccomp_thread){ 100, PS_SECCOMP_FILTER, 1 };
	s->threads[1] = (struct ps_seccomp_thread){ 101, PS_SECCOMP_STRICT, -1 };
	s->threads[2] = (struct ps_seccomp_thread){ 102, PS_SECCOMP_FILTER, 0 };
}

static int decode_seccomp(json_t *j, char *err, size_t errlen, struct ps_model *out)
{
	seccomp_model(out);
	ps_seccomp_free(&out->seccomp);
	return ps_decode_seccomp_part(j, out, 0, err, errlen);
}

START_TEST(test_seccomp_roundtrip)
{
	struct ps_model *in = calloc(1, sizeof(*in)), *out = calloc(1, sizeof(*out));
	char err[256] = "";
	json_t *j;

	seccomp_model(in);
	j = through_text(ps_encode_seccomp_part(in, 0));
	ck_assert_str_eq(str_at(json_array_get(json_object_get(j, "threads"), 1), "mode"), "strict");
	ck_assert_str_eq(str_at(json_array_get(json_object_get(j, "filters"), 0), "program"),
			 "2000000000000000150000016e0000000600000001000500060000000000ff7f");
	ck_assert_msg(decode_seccomp(j, err, sizeof(err), out) == 0, "%s", err);
	ck_assert_int_eq(out->seccomp.saved, 1);
	ck_assert_uint_eq(out->seccomp.nfilters, 2);
	for (size_t i = 0; i < 2; i++) {
		ck_assert_int_eq(out->seccomp.filters[i].parent, in->seccomp.filters[i].parent);
		ck_assert_int_eq(out->seccomp.filters[i].log, in->seccomp.filters[i].log);
		ck_assert_uint_eq(out->seccomp.filters[i].ninsns, 4);
		ck_assert_mem_eq(out->seccomp.filters[i].insns, in->seccomp.filters[i].insns,
				 4 * sizeof(struct ps_bpf_insn));
	}
	ck_assert_mem_eq(out->seccomp.threads, in->seccomp.threads, 3 * sizeof(struct ps_seccomp_thread));
	json_decref(j);
	ps_model_free(in);
	ps_model_free(out);
	free(in);
	free(out);
}
END_TEST

START_TEST(test_fds_roundtrip)
{
	struct ps_fds in, out;
	char err[256] = "";
	const json_t *a, *flags;
	json_t *j;

	fill_fds(&in);
	j = through_text(ps_encode_fds(&in));
	a = json_object_get(j, "fds");
	ck_assert_str_eq(str_at(json_array_get(a, 0), "type"), "chr");
	ck_assert_str_eq(str_at(json_array_get(a, 0), "mode"), "020620");
	ck_assert_str_eq(str_at(json_array_get(a, 0), "rdev"), "136:0");
	flags = json_object_get(json_array_get(a, 2), "flags");
	ck_assert_str_eq(json_string_value(json_array_get(flags, 0)), "O_RDWR");
	ck_assert_str_eq(json_string_value(json_array_get(flags, 1)), "O_APPEND");
	ck_assert(json_is_object(json_object_get(json_array_get(a, 2), "path")));
	ck_assert_str_eq(str_at(json_array_get(a, 2), "ino"), "0x8000000000000005");
	flags = json_object_get(json_array_get(a, 4), "flags");
	ck_assert_str_eq(json_string_value(json_array_get(flags, 1)), "0x40000000");
	ck_assert_msg(ps_decode_fds(j, &out, err, sizeof(err)) == 0, "%s", err);
	assert_fds_eq(&in, &out);
	json_decref(j);
	ps_fds_free(&in);
	ps_fds_free(&out);
}
END_TEST

/* Byte strings: UTF-8 without NUL as a string, anything else as hex, and
 * both read back to the same bytes. */
START_TEST(test_bytes_forms)
{
	struct ps_jerr e;
	struct ps_bytes b = { 0 };
	char err[256];
	json_t *s = ps_json_bytes("caf\xc3\xa9", 5);
	json_t *h = ps_json_bytes("a\0b\xff", 4);
	json_t *o = json_pack("{s:O,s:O}", "s", s, "h", h);

	ck_assert(json_is_string(s));
	ck_assert(json_is_object(h));
	ck_assert_str_eq(str_at(h, "hex"), "610062ff");
	ps_jerr_init(&e, err, sizeof(err), "t.json");
	/* NUL never comes back: no field of the model can hold one */
	ck_assert_int_eq(ps_jget_bytes(o, "h", 100, &b, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "t.json: field \"h\" contains a NUL byte"));
	ck_assert_int_eq(ps_jget_bytes(o, "s", 100, &b, &e), 0);
	ck_assert_str_eq(b.data, "caf\xc3\xa9");
	ps_bytes_free(&b);
	ck_assert_int_eq(ps_jget_bytes(o, "s", 4, &b, &e), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "longer than 4 bytes"));
	json_decref(s);
	json_decref(h);
	json_decref(o);
}
END_TEST

/* ---- tests: rejection of bad input ---- */

enum part { P_META, P_PROC, P_MAPS, P_THREAD, P_SIGNALS, P_FDS };

/* A valid encoding of one part, to be spoiled by a test. */
static json_t *valid(enum part p)
{
	struct ps_model *m = calloc(1, sizeof(*m));
	json_t *j = NULL;

	switch (p) {
	case P_META: fill_meta(&m->meta); j = ps_encode_image_meta(&m->meta); break;
	case P_PROC: fill_process(&m->proc); j = ps_encode_process(&m->proc); break;
	case P_MAPS: fill_maps(&m->maps); j = ps_encode_maps(&m->maps); break;
	case P_THREAD:
		m->threads = calloc(1, sizeof(*m->threads));
		m->nthreads = 1;
		fill_thread(&m->threads[0], 4242);
		j = ps_encode_thread(&m->threads[0]);
		break;
	case P_SIGNALS: fill_signals(&m->signals); j = ps_encode_signals(&m->signals); break;
	case P_FDS: fill_fds(&m->fds); j = ps_encode_fds(&m->fds); break;
	}
	ps_model_free(m);
	free(m);
	ck_assert_ptr_nonnull(j);
	return j;
}

static int decode(enum part p, const json_t *j, char *err, size_t len)
{
	struct ps_model *m = calloc(1, sizeof(*m));
	int rc = -1;

	m->threads = calloc(1, sizeof(*m->threads));
	m->nthreads = 1;
	switch (p) {
	case P_META: rc = ps_decode_image_meta(j, &m->meta, err, len); break;
	case P_PROC: rc = ps_decode_process(j, &m->proc, err, len); break;
	case P_MAPS: rc = ps_decode_maps(j, &m->maps, err, len); break;
	case P_THREAD: rc = ps_decode_thread(j, &m->threads[0], err, len); break;
	case P_SIGNALS: rc = ps_decode_signals(j, &m->signals, err, len); break;
	case P_FDS: rc = ps_decode_fds(j, &m->fds, err, len); break;
	}
	ps_model_free(m);
	free(m);
	return rc;
}

/* The decoder refuses j with a sentence that contains each of the needles. */
static void expect_reject(enum part p, json_t *j, const char *needle1, const char *needle2)
{
	char err[512] = "";
	int rc = decode(p, j, err, sizeof(err));

	ck_assert_msg(rc == -EINVAL, "accepted (rc %d), expected an error about %s", rc, needle1);
	ck_assert_msg(strstr(err, needle1), "error \"%s\" does not mention %s", err, needle1);
	ck_assert_msg(!needle2 || strstr(err, needle2), "error \"%s\" does not mention %s",
		      err, needle2);
	json_decref(j);
}

static json_t *item(json_t *root, const char *array, size_t i)
{
	json_t *v = json_array_get(json_object_get(root, array), i);

	ck_assert_ptr_nonnull(v);
	return v;
}

static void set(json_t *obj, const char *key, json_t *v)
{
	ck_assert_int_eq(json_object_set_new(obj, key, v), 0);
}

/* An AIO ring of one page whose head user space left past nr (the kernel
 * reads it modulo nr), and a SysV segment attached in two pieces. */
static void fill_aio_sysv_maps(struct ps_maps *maps)
{
	struct ps_aio_ring *a;
	struct ps_sysv_shm *s;

	memset(maps, 0, sizeof(*maps));
	maps->items = calloc(3, sizeof(*maps->items));
	add_mapping(maps, 0x7f0000000000, 0x7f0000001000, PROT_READ | PROT_WRITE, PS_MAP_AIO,
		    "/[aio]", 0);
	maps->items[0].shared = 1;
	maps->items[0].deleted = 1;
	a = maps->items[0].aio = calloc(1, sizeof(*a));
	*a = (struct ps_aio_ring){ 1, 127, 130, 5, 0xa10a10a1, 1, 0, 32, NULL, 2 };
	a->events = calloc(2, sizeof(*a->events));
	a->events[0] = (struct ps_aio_event){ HIGH_BIT | 7, 0x55550000, 512, 0 };
	a->events[1] = (struct ps_aio_event){ 8, 0x55550040, -4, INT64_MIN };
	for (size_t i = 1; i < 3; i++) {
		add_mapping(maps, 0x7f0000010000 + (i - 1) * 0x1000, 0x7f0000011000 + (i - 1) * 0x1000,
			    i == 1 ? PROT_READ | PROT_WRITE : PROT_READ, PS_MAP_SYSV, "/SYSV5e001932", 1);
		maps->items[i].shared = 1;
		maps->items[i].deleted = 1;
		maps->items[i].offset = (i - 1) * 0x1000;
		s = maps->items[i].sysv = calloc(1, sizeof(*s));
		*s = (struct ps_sysv_shm){ 32771, 0x5e001932, 8000, 0604, 1000, 100, 0, 0, 1, 1 };
	}
}

static void assert_aio_sysv_eq(const struct ps_mapping *a, const struct ps_mapping *b)
{
	ck_assert_int_eq(!a->aio, !b->aio);
	ck_assert_int_eq(!a->sysv, !b->sysv);
	if (a->aio) {
		ck_assert_mem_eq(a->aio, b->aio, offsetof(struct ps_aio_ring, events));
		ck_assert_uint_eq(a->aio->nevents, b->aio->nevents);
		ck_assert_mem_eq(a->aio->events, b->aio->events, a->aio->nevents * sizeof(*a->aio->events));
	}
	if (a->sysv)
		ck_assert_mem_eq(a->sysv, b->sysv, sizeof(*a->sysv));
}

START_TEST(test_aio_sysv_roundtrip)
{
	struct ps_maps in, out;
	char err[256] = "";
	json_t *j;

	fill_aio_sysv_maps(&in);
	j = through_text(ps_encode_maps(&in));
	ck_assert_str_eq(str_at(item(j, "mappings", 0), "kind"), "aio");
	ck_assert_str_eq(str_at(json_object_get(item(j, "mappings", 1), "sysv"), "mode"), "0604");
	ck_assert_msg(ps_decode_maps(j, &out, err, sizeof(err)) == 0, "%s", err);
	assert_maps_eq(&in, &out);
	for (size_t i = 0; i < in.count; i++)
		assert_aio_sysv_eq(&in.items[i], &out.items[i]);
	json_decref(j);
	ps_maps_free(&in);
	ps_maps_free(&out);
}
END_TEST

static json_t *valid_aio_sysv(void)
{
	struct ps_maps maps;
	json_t *j;

	fill_aio_sysv_maps(&maps);
	j = ps_encode_maps(&maps);
	ps_maps_free(&maps);
	return j;
}

START_TEST(test_reject_aio_sysv)
{
	json_t *j = valid_aio_sysv();

	set(json_object_get(item(j, "mappings", 0), "aio"), "nr", json_integer(255));
	expect_reject(P_MAPS, j, "entry 0: aio: field \"nr\" is 255", "holds 127 events");
	j = valid_aio_sysv();
	json_array_remove(json_object_get(json_object_get(item(j, "mappings", 0), "aio"), "events"), 0);
	expect_reject(P_MAPS, j, "aio: field \"events\" has 1 entries", "make 2");
	j = valid_aio_sysv();
	set(json_object_get(item(j, "mappings", 0), "aio"), "magic", ps_json_hex(0x12345678));
	expect_reject(P_MAPS, j, "aio: field \"magic\" is 0x12345678", NULL);
	j = valid_aio_sysv();
	set(json_object_get(item(j, "mappings", 0), "aio"), "tail", json_integer(127));
	expect_reject(P_MAPS, j, "aio: field \"tail\" is 127", NULL);
	j = valid_aio_sysv();
	json_object_del(item(j, "mappings", 0), "aio");
	expect_reject(P_MAPS, j, "entry 0: field \"aio\" is missing", NULL);
	j = valid_aio_sysv();
	set(item(j, "mappings", 1), "aio", json_object());
	expect_reject(P_MAPS, j, "entry 1: field \"aio\" is only for kind \"aio\"", NULL);
	j = valid_aio_sysv();
	set(json_object_get(item(j, "mappings", 1), "sysv"), "mode", json_string("01777"));
	expect_reject(P_MAPS, j, "entry 1: sysv: field \"mode\"", NULL);
	j = valid_aio_sysv();
	set(json_object_get(item(j, "mappings", 2), "sysv"), "size", json_integer(4096));
	expect_reject(P_MAPS, j, "entry 2: sysv: the mapping", "not a shared part");
	j = valid_aio_sysv();
	set(json_object_get(item(j, "mappings", 1), "sysv"), "uid", json_integer(-1));
	expect_reject(P_MAPS, j, "entry 1: sysv: field \"uid\"", NULL);
}
END_TEST

/* ---- attributes.json ---- */

/* Two threads (tids 100, 101), every attribute away from its default. */
static void fill_attributes(struct ps_model *m)
{
	struct ps_attributes *a = &m->attrs;

	m->threads = calloc(2, sizeof(*m->threads));
	m->nthreads = 2;
	m->threads[0].tid = 100;
	m->threads[1].tid = 101;
	a->present = 1;
	a->oom_score_adj = -17;
	a->loginuid = 4242;
	a->coredump_filter = 0x3f;
	a->autogroup_nice = 4;
	a->thp_disable = 1;
	a->child_subreaper = 1;
	a->memory_merge = 1;
	a->mdwe = 1;
	a->membarrier = 1U << 4 | 1U << 8;
	a->xcomp_perm = 0x602e7;
	a->untag_mask = UINT64_MAX;
	a->futex_slots = 256;
	a->threads = calloc(2, sizeof(*a->threads));
	a->nthreads = 2;
	for (int i = 0; i < 2; i++) {
		struct ps_thread_attrs *t = &a->threads[i];

		t->tid = 100 + i;
		t->sched = (struct ps_sched){ .policy = i ? 6 : 2, .flags = 1, .nice = -3 + i,
					      .priority = i ? 0 : 42, .runtime = i ? 1000000 : 0,
					      .deadline = i ? 5000000 : 0, .period = i ? 9000000 : 0,
					      .util_min = 100, .util_max = 800 };
		t->cpus[0] = 1ULL << i;
		t->cpus[PS_CPU_WORDS - 1] = 1ULL << 63;
		t->ioprio = (3 << 13) | i;
		t->timerslack_ns = 123456 + (uint64_t)i;
		t->pdeathsig = 28 + i;
		t->spec[0] = 0x5;
		t->spec[1] = -1;
		t->spec[2] = 0x3;
		t->securebits = 0x2f;
		t->no_new_privs = 1;
		t->mce_kill = i;
		t->tsc = 2;
		t->cpuid = i;
		t->core_cookie = 0xfeed + (uint64_t)i;
		t->sud_mode = (uint64_t)i;
	}
}

static void free_attributes_model(struct ps_model *m)
{
	free(m->attrs.threads);
	free(m->threads);
	memset(m, 0, sizeof(*m));
}

START_TEST(test_attributes_roundtrip)
{
	struct ps_model in = { 0 }, out = { 0 };
	struct ps_thread_attrs *decoded;
	char err[256] = "";
	json_t *j;

	fill_attributes(&in);
	j = through_text(ps_encode_attributes_part(&in, 0));
	/* The decoder's model lists the threads the other way round: each
	 * entry goes to its tid's slot. */
	out.threads = calloc(2, sizeof(*out.threads));
	out.nthreads = 2;
	out.threads[0].tid = 101;
	out.threads[1].tid = 100;
	ck_assert_msg(ps_decode_attributes_part(j, &out, 0, err, sizeof(err)) == 0, "%s", err);
	ck_assert(out.attrs.present);
	ck_assert_int_eq(memcmp(&in.attrs.threads[1], &out.attrs.threads[0],
				sizeof(struct ps_thread_attrs)), 0);
	ck_assert_int_eq(memcmp(&in.attrs.threads[0], &out.attrs.threads[1],
				sizeof(struct ps_thread_attrs)), 0);
	decoded = out.attrs.threads;
	out.attrs.threads = in.attrs.threads;
	ck_assert_int_eq(memcmp(&in.attrs, &out.attrs, sizeof(in.attrs)), 0);
	json_decref(j);
	free_attributes_model(&in);
	free(out.threads);
	free(decoded);
}
END_TEST

/* A forged attributes.json, spoiled by spoil, is refused naming needle. */
static void expect_attributes_reject(void (*spoil)(json_t *j), const char *needle)
{
	struct ps_model in = { 0 }, out = { 0 };
	char err[512] = "";
	json_t *j;
	int rc;

	fill_attributes(&in);
	j = ps_encode_attributes_part(&in, 0);
	spoil(j);
	out.threads = in.threads;
	out.nthreads = in.nthreads;
	rc = ps_decode_attributes_part(j, &out, 0, err, sizeof(err));
	ck_assert_msg(rc == -EINVAL, "accepted (rc %d), expected an error about %s", rc, needle);
	ck_assert_msg(strstr(err, needle), "error \"%s\" does not mention %s", err, needle);
	ck_assert_ptr_null(out.attrs.threads);
	ck_assert(!out.attrs.present);
	json_decref(j);
	free_attributes_model(&in);
}

static json_t *thread_entry(json_t *j, size_t i)
{
	return json_array_get(json_object_get(j, "threads"), i);
}

static void spoil_nice(json_t *j)
{
	set(json_object_get(thread_entry(j, 0), "sched"), "nice", json_integer(20));
}

static void spoil_policy(json_t *j)
{
	set(json_object_get(thread_entry(j, 1), "sched"), "policy", json_string("SCHED_ISO"));
}

static void spoil_clamps(json_t *j)
{
	set(json_object_get(thread_entry(j, 0), "sched"), "util_min", json_integer(900));
}

static void spoil_tid(json_t *j)
{
	set(thread_entry(j, 1), "tid", json_integer(777));
}

static void spoil_twice(json_t *j)
{
	set(thread_entry(j, 1), "tid", json_integer(100));
}

static void spoil_cpus(json_t *j)
{
	json_t *cpus = json_array();

	for (int i = 0; i < PS_CPU_WORDS; i++)
		json_array_append_new(cpus, json_string("0x0"));
	set(thread_entry(j, 0), "cpus", cpus);
}

static void spoil_oom(json_t *j)
{
	set(json_object_get(j, "process"), "oom_score_adj", json_integer(1001));
}

static void spoil_membarrier(json_t *j)
{
	set(json_object_get(j, "process"), "membarrier", json_string("0x1"));
}

static void spoil_missing(json_t *j)
{
	json_object_del(thread_entry(j, 0), "pdeathsig");
}

static void spoil_count(json_t *j)
{
	json_array_remove(json_object_get(j, "threads"), 1);
}

START_TEST(test_reject_attributes)
{
	expect_attributes_reject(spoil_nice, "field \"nice\" is 20");
	expect_attributes_reject(spoil_policy, "SCHED_ISO");
	expect_attributes_reject(spoil_clamps, "util_min 900 is above util_max 800");
	expect_attributes_reject(spoil_tid, "tid 777 is not a thread of the image");
	expect_attributes_reject(spoil_twice, "tid 100 is listed twice");
	expect_attributes_reject(spoil_cpus, "cpus allows no CPU at all");
	expect_attributes_reject(spoil_oom, "field \"oom_score_adj\" is 1001");
	expect_attributes_reject(spoil_membarrier, "membarrier");
	expect_attributes_reject(spoil_missing, "field \"pdeathsig\" is missing");
	expect_attributes_reject(spoil_count, "threads has 1 entries for the image's 2 threads");
}
END_TEST

START_TEST(test_reject_format)
{
	json_t *j = valid(P_MAPS);

	json_object_del(j, "format");
	expect_reject(P_MAPS, j, "maps.json: field \"format\" is missing", NULL);
	j = valid(P_FDS);
	set(j, "format", json_integer(2));
	expect_reject(P_FDS, j, "fds.json: field \"format\" is 2", "reads format 1");
	j = valid(P_SIGNALS);
	set(j, "format", json_string("1"));
	expect_reject(P_SIGNALS, j, "field \"format\" must be an integer", NULL);
	expect_reject(P_PROC, json_array(), "process.json: the top level must be a JSON object", NULL);
}
END_TEST

/* Guard runs: inside the mapping, sorted, never over a saved page; and an
 * unknown lock_future value is refused. (Entry 2, the heap, saves every
 * other page from page 0: pages 1, 3, 5... are free.) */
START_TEST(test_reject_guards)
{
	json_t *j = valid(P_MAPS);

	set(item(j, "mappings", 2), "guards", json_pack("[[II]]", (json_int_t)2, (json_int_t)1));
	expect_reject(P_MAPS, j, "entry 2: field \"guards\" entry 0 covers a saved page", NULL);
	j = valid(P_MAPS);
	set(item(j, "mappings", 2), "guards", json_pack("[[II][II]]", (json_int_t)5, (json_int_t)1,
							 (json_int_t)3, (json_int_t)1));
	expect_reject(P_MAPS, j, "field \"guards\" entry 1 overlaps another run", NULL);
	j = valid(P_MAPS);
	set(item(j, "mappings", 2), "guards", json_pack("[[II]]", (json_int_t)31, (json_int_t)4));
	expect_reject(P_MAPS, j, "leaves the mapping", NULL);
	j = valid(P_MAPS);
	set(item(j, "mappings", 2), "guards", json_string("1-2"));
	expect_reject(P_MAPS, j, "field \"guards\" must be an array", NULL);
	j = valid(P_MAPS);
	set(j, "lock_future", json_string("current"));
	expect_reject(P_MAPS, j, "lock_future", NULL);
}
END_TEST

START_TEST(test_reject_maps)
{
	json_t *j = valid(P_MAPS);

	set(item(j, "mappings", 3), "start", ps_json_hex(0x1020000));   /* inside the heap */
	expect_reject(P_MAPS, j, "maps.json: entry 3: field \"start\"", "overlap");
	j = valid(P_MAPS);
	set(item(j, "mappings", 2), "start", ps_json_hex(0x1000010));
	expect_reject(P_MAPS, j, "entry 2: field \"start\" is not page-aligned", NULL);
	j = valid(P_MAPS);
	set(item(j, "mappings", 6), "end", ps_json_hex(0xffff800000001000ULL));
	expect_reject(P_MAPS, j, "entry 6: field \"end\"", "beyond user space");
	j = valid(P_MAPS);
	set(item(j, "mappings", 1), "start", json_integer(0x600000));
	expect_reject(P_MAPS, j, "entry 1: field \"start\" must be a hex string", NULL);
	j = valid(P_MAPS);
	set(item(j, "mappings", 1), "start", json_string("0x60000g"));
	expect_reject(P_MAPS, j, "field \"start\" must be a hex string", NULL);
	j = valid(P_MAPS);
	json_object_del(item(j, "mappings", 0), "prot");
	expect_reject(P_MAPS, j, "entry 0: field \"prot\" is missing", NULL);
	j = valid(P_MAPS);
	set(item(j, "mappings", 0), "prot", json_string("rwz"));
	expect_reject(P_MAPS, j, "field \"prot\"", NULL);
	j = valid(P_MAPS);
	set(item(j, "mappings", 2), "content", json_string("memory/../../etc/shadow"));
	expect_reject(P_MAPS, j, "entry 2: field \"content\"", "not \"memory/<start>-<end>\"");
	j = valid(P_MAPS);
	set(item(j, "mappings", 2), "content", json_string("memory/1000000-1021000"));
	expect_reject(P_MAPS, j, "entry 2: field \"content\"", "not \"memory/<start>-<end>\"");
	j = valid(P_MAPS);
	set(item(j, "mappings", 2), "content", json_string("memory/01000000-01020000"));
	expect_reject(P_MAPS, j, "entry 2: field \"content\"", "does not hold the mapping");
	j = valid(P_MAPS);
	set(item(j, "mappings", 2), "content", json_string("memory/01000800-01021000"));
	expect_reject(P_MAPS, j, "entry 2: field \"content\"", "page-aligned");
	j = valid(P_MAPS);
	set(item(j, "mappings", 5), "content", json_string("memory/7ffd00100000-7ffd00104000"));
	expect_reject(P_MAPS, j, "entry 5: field \"content\" must be null", NULL);
	j = valid(P_MAPS);
	set(item(j, "mappings", 2), "data_pages", json_integer(34));
	expect_reject(P_MAPS, j, "field \"data_pages\" is 34", NULL);

	j = valid(P_MAPS);
	json_array_set_new(json_object_get(item(j, "mappings", 2), "data"), 1,
			   json_pack("[ii]", 0, 1));
	expect_reject(P_MAPS, j, "field \"data\" entry 1 overlaps another run", NULL);

	j = valid(P_MAPS);
	json_array_remove(json_object_get(item(j, "mappings", 2), "data"), 0);
	expect_reject(P_MAPS, j, "\"data_pages\" says", NULL);
	j = valid(P_MAPS);
	set(item(j, "mappings", 0), "path", json_string("usr/bin/prog"));
	expect_reject(P_MAPS, j, "field \"path\" must be an absolute path", NULL);
	j = valid(P_MAPS);
	set(item(j, "mappings", 0), "kind", json_string("weird"));
	expect_reject(P_MAPS, j, "field \"kind\" has the unknown name \"weird\"", NULL);
	j = valid(P_MAPS);
	set(item(j, "mappings", 7), "start", ps_json_hex(0xffffffffff500000ULL));
	expect_reject(P_MAPS, j, "entry 7: field \"start\"", "vsyscall");
	j = valid(P_MAPS);
	set(json_object_get(item(j, "mappings", 0), "file"), "build_id", json_string("ABC"));
	expect_reject(P_MAPS, j, "entry 0: file: field \"build_id\"", NULL);
	j = valid(P_MAPS);
	set(json_object_get(item(j, "mappings", 0), "file"), "mtime", json_string("2024-02-30T00:00:00.000000000Z"));
	expect_reject(P_MAPS, j, "file: field \"mtime\" must be a UTC time", NULL);
	j = valid(P_MAPS);
	set(item(j, "mappings", 0), "offset", ps_json_hex(0x10));
	expect_reject(P_MAPS, j, "field \"offset\" is not page-aligned", NULL);
}
END_TEST

START_TEST(test_reject_image_meta)
{
	json_t *j = valid(P_META);

	set(item(j, "files", 1), "name", json_string("../x"));
	expect_reject(P_META, j, "image.json: file entry 1: name \"../x\"", NULL);
	j = valid(P_META);
	set(item(j, "files", 1), "name", json_string("memory/../../x"));
	expect_reject(P_META, j, "name \"memory/../../x\"", "\"..\"");
	j = valid(P_META);
	set(item(j, "files", 0), "name", json_string("/etc/passwd"));
	expect_reject(P_META, j, "name \"/etc/passwd\" must be relative", NULL);
	j = valid(P_META);
	set(item(j, "files", 0), "name", json_string("memory//x"));
	expect_reject(P_META, j, "name \"memory//x\" has an empty", NULL);
	j = valid(P_META);
	set(item(j, "files", 0), "name", json_string("image.json"));
	expect_reject(P_META, j, "cannot list itself", NULL);
	j = valid(P_META);
	set(item(j, "files", 0), "name", json_string("status"));
	expect_reject(P_META, j, "name \"status\" is the status of a restore", NULL);
	j = valid(P_META);
	set(item(j, "files", 1), "name", json_string("process.json"));
	expect_reject(P_META, j, "lists \"process.json\" twice", NULL);
	j = valid(P_META);
	set(item(j, "files", 0), "crc32", ps_json_hex(0x100000000ULL));
	expect_reject(P_META, j, "file entry 0: field \"crc32\"", NULL);
	j = valid(P_META);
	set(item(j, "files", 0), "size", json_integer(-1));
	expect_reject(P_META, j, "field \"size\" is -1", NULL);
	j = valid(P_META);
	set(j, "arch", json_string("aarch64"));
	expect_reject(P_META, j, "field \"arch\" is \"aarch64\"", NULL);
	j = valid(P_META);
	set(j, "page_size", json_integer(65536));
	expect_reject(P_META, j, "field \"page_size\" is 65536", NULL);
	j = valid(P_META);
	set(j, "taken", json_string("yesterday"));
	expect_reject(P_META, j, "field \"taken\" must be a UTC time", NULL);
	j = valid(P_META);
	set(j, "pid", json_integer(0));
	expect_reject(P_META, j, "field \"pid\" is 0, out of range", NULL);
	j = valid(P_META);
	set(j, "files", json_object());
	expect_reject(P_META, j, "field \"files\" must be an array", NULL);
}
END_TEST

START_TEST(test_reject_thread)
{
	json_t *j = valid(P_THREAD);
	char *big = malloc(2 * 65537 + 1);

	memset(big, '0', 2 * 65537);
	big[2 * 65537] = '\0';
	set(j, "xsave", json_string(big));
	free(big);
	expect_reject(P_THREAD, j, "registers/4242.json: field \"xsave\" is longer", NULL);
	j = valid(P_THREAD);
	set(j, "xsave", json_string("00ff"));
	expect_reject(P_THREAD, j, "field \"xsave\" is 2 bytes", NULL);
	j = valid(P_THREAD);
	set(item(j, "pending", 1), "signo", json_integer(65));
	expect_reject(P_THREAD, j, "pending[1]: field \"signo\" is 65", NULL);
	j = valid(P_THREAD);
	set(item(j, "pending", 0), "signo", json_integer(11));
	expect_reject(P_THREAD, j, "pending[0]", "do not match \"raw\"");
	j = valid(P_THREAD);
	set(item(j, "pending", 0), "raw", json_string("00"));
	expect_reject(P_THREAD, j, "field \"raw\" must be 128 bytes", NULL);
	j = valid(P_THREAD);
	set(json_object_get(j, "regs"), "cs", ps_json_hex(0x10033));
	expect_reject(P_THREAD, j, "regs: field \"cs\" is 0x10033", NULL);
	j = valid(P_THREAD);
	set(json_object_get(j, "regs"), "fs_base", ps_json_hex(0xffff888000000000ULL));
	expect_reject(P_THREAD, j, "regs: field \"fs_base\"", "not a user-space address");
	j = valid(P_THREAD);
	set(json_object_get(j, "regs"), "rip", json_integer(4096));
	expect_reject(P_THREAD, j, "regs: field \"rip\" must be a hex string", NULL);
	j = valid(P_THREAD);
	json_object_del(json_object_get(j, "regs"), "gs_base");
	expect_reject(P_THREAD, j, "regs: field \"gs_base\" is missing", NULL);
	j = valid(P_THREAD);
	set(json_object_get(j, "rseq"), "ptr", ps_json_hex(0x7f0000002010ULL));
	expect_reject(P_THREAD, j, "rseq: field \"ptr\" is not 32-byte aligned", NULL);
	j = valid(P_THREAD);
	set(json_object_get(j, "sigaltstack"), "flags", json_pack("[s]", "SS_BOGUS"));
	expect_reject(P_THREAD, j, "sigaltstack: field \"flags\" has the unknown flag", NULL);
	j = valid(P_THREAD);
	set(json_object_get(j, "syscall"), "in_syscall", json_integer(1));
	expect_reject(P_THREAD, j, "syscall: field \"in_syscall\" must be true or false", NULL);
	j = valid(P_THREAD);
	set(j, "tid", json_integer(-5));
	expect_reject(P_THREAD, j, "field \"tid\" is -5", NULL);
	j = valid(P_THREAD);
	set(j, "comm", json_string("a name far too long"));
	expect_reject(P_THREAD, j, "field \"comm\" is longer than 15 bytes", NULL);
}
END_TEST

START_TEST(test_reject_signals)
{
	json_t *j = valid(P_SIGNALS);

	json_array_remove(json_object_get(j, "actions"), 63);
	expect_reject(P_SIGNALS, j, "field \"actions\" has 63 entries", NULL);
	j = valid(P_SIGNALS);
	set(item(j, "actions", 8), "handler", json_string("SIG_IGN"));
	expect_reject(P_SIGNALS, j, "signal 9 (SIGKILL): field \"handler\" must be \"SIG_DFL\"", NULL);
	j = valid(P_SIGNALS);
	set(item(j, "actions", 1), "handler", ps_json_hex(0xffffffff81000000ULL));
	expect_reject(P_SIGNALS, j, "signal 2 (SIGINT): field \"handler\"", "user-space");
	j = valid(P_SIGNALS);
	set(item(j, "actions", 1), "flags_raw", ps_json_hex(0x14000000));
	expect_reject(P_SIGNALS, j, "field \"flags\" does not match \"flags_raw\"", NULL);
	j = valid(P_SIGNALS);
	set(item(j, "actions", 1), "flags", json_pack("[s]", "SA_FAST"));
	expect_reject(P_SIGNALS, j, "unknown flag \"SA_FAST\"", NULL);
	j = valid(P_SIGNALS);
	set(item(j, "actions", 1), "name", json_string("SIGQUIT"));
	expect_reject(P_SIGNALS, j, "field \"name\" is \"SIGQUIT\", but signal 2 is SIGINT", NULL);
	j = valid(P_SIGNALS);
	set(item(j, "actions", 4), "signo", json_integer(6));
	expect_reject(P_SIGNALS, j, "field \"signo\" is 6", "in order");
	j = valid(P_SIGNALS);
	set(item(j, "pending", 0), "signo", json_integer(65));
	expect_reject(P_SIGNALS, j, "pending[0]: field \"signo\" is 65", NULL);
}
END_TEST

START_TEST(test_reject_process)
{
	json_t *j = valid(P_PROC);

	set(json_object_get(json_object_get(j, "rlimits"), "RLIMIT_NOFILE"), "cur",
	    json_integer(1 << 20));
	expect_reject(P_PROC, j, "rlimits: RLIMIT_NOFILE: field \"cur\" is above \"max\"", NULL);
	j = valid(P_PROC);
	set(json_object_get(j, "rlimits"), "RLIMIT_FAST", json_pack("{s:i,s:i}", "cur", 1, "max", 1));
	expect_reject(P_PROC, j, "\"RLIMIT_FAST\" is not a resource limit", NULL);
	j = valid(P_PROC);
	set(j, "children", json_pack("[i,i]", 4301, 4300));
	expect_reject(P_PROC, j, "field \"children[1]\" is 4300", "increasing order");
	j = valid(P_PROC);
	set(j, "children", json_pack("[i]", 0));
	expect_reject(P_PROC, j, "children[0]", NULL);
	j = valid(P_PROC);
	set(j, "children", json_string("4300"));
	expect_reject(P_PROC, j, "children", NULL);
	j = valid(P_PROC);
	json_object_del(json_object_get(j, "rlimits"), "RLIMIT_STACK");
	expect_reject(P_PROC, j, "rlimits: field \"RLIMIT_STACK\" is missing", NULL);
	j = valid(P_PROC);
	set(json_object_get(json_object_get(j, "credentials"), "uid"), "effective",
	    json_integer(4294967295LL));
	expect_reject(P_PROC, j, "credentials: uid: field \"effective\" is 4294967295", NULL);
	j = valid(P_PROC);
	json_array_remove(json_object_get(json_object_get(j, "mm"), "auxv"), 3);
	expect_reject(P_PROC, j, "mm: auxv[2]", "AT_NULL");
	j = valid(P_PROC);
	set(json_object_get(j, "mm"), "start_code", ps_json_hex(0x402000));
	expect_reject(P_PROC, j, "mm: field \"start_code\" is above \"end_code\"", NULL);
	j = valid(P_PROC);
	set(j, "umask", json_string("01000"));
	expect_reject(P_PROC, j, "field \"umask\" is 01000", NULL);
	j = valid(P_PROC);
	set(j, "umask", json_string("22"));
	expect_reject(P_PROC, j, "field \"umask\" must be an octal string", NULL);
	j = valid(P_PROC);
	set(j, "cwd", json_string("relative/dir"));
	expect_reject(P_PROC, j, "field \"cwd\" must be an absolute path", NULL);
	j = valid(P_PROC);
	set(j, "exe", json_pack("{s:s}", "hex", "2f00"));
	expect_reject(P_PROC, j, "field \"exe\" contains a NUL byte", NULL);
	j = valid(P_PROC);
	set(j, "exe", json_pack("{s:s}", "hex", "2fz0"));
	expect_reject(P_PROC, j, "field \"exe\" must be a string of hex digits", NULL);
	j = valid(P_PROC);
	json_array_append_new(json_object_get(j, "cmdline"), json_integer(3));
	expect_reject(P_PROC, j, "field \"cmdline[3]\" must be a string", NULL);
	j = valid(P_PROC);
	set(item(j, "timers", 0), "signo", json_integer(0));
	expect_reject(P_PROC, j, "timers[0]: field \"signo\" is 0", NULL);
	j = valid(P_PROC);
	set(item(j, "timers", 1), "notify_tid", json_integer(0));
	expect_reject(P_PROC, j, "timers[1]: field \"notify_tid\" is 0", NULL);
	j = valid(P_PROC);
	set(json_object_get(j, "credentials"), "seccomp", json_string("off"));
	expect_reject(P_PROC, j, "credentials: field \"seccomp\" has the unknown name \"off\"", NULL);
	j = valid(P_PROC);
	set(j, "pid", json_integer(4194305));
	expect_reject(P_PROC, j, "field \"pid\" is 4194305", NULL);
}
END_TEST

START_TEST(test_reject_fds)
{
	json_t *j = valid(P_FDS);

	set(item(j, "fds", 0), "fd", json_integer(-1));
	expect_reject(P_FDS, j, "fds.json: entry 0: field \"fd\" is -1", NULL);
	j = valid(P_FDS);
	set(item(j, "fds", 2), "fd", json_integer(1));
	expect_reject(P_FDS, j, "entry 2: field \"fd\" is 1", "increasing");
	j = valid(P_FDS);
	set(item(j, "fds", 1), "data", json_string("fds/../../etc/shadow"));
	expect_reject(P_FDS, j, "entry 1: field \"data\"", "must be \"fds/1\"");
	j = valid(P_FDS);
	set(item(j, "fds", 1), "pipe_size", json_integer(1));
	expect_reject(P_FDS, j, "entry 1: field \"pipe_size\" is 1", NULL);
	j = valid(P_FDS);
	set(item(j, "fds", 2), "pipe_size", json_integer(65536));
	expect_reject(P_FDS, j, "entry 2: field \"pipe_size\" is only for pipes", NULL);
	j = valid(P_FDS);
	set(item(j, "fds", 4), "epoll", json_array());
	expect_reject(P_FDS, j, "entry 4: field \"epoll\" is only for eventpoll", NULL);
	j = valid(P_FDS);
	set(json_array_get(json_object_get(item(j, "fds", 5), "epoll"), 0), "fd", json_integer(-3));
	expect_reject(P_FDS, j, "entry 5: epoll entry 0: field \"fd\"", NULL);
	j = valid(P_FDS);
	/* O_CLOEXEC (0x80000) belongs in "cloexec"; names and raw agree here */
	set(item(j, "fds", 0), "flags_raw", ps_json_hex(02 | 0100000 | 02000000));
	set(item(j, "fds", 0), "flags", json_pack("[s,s,s]", "O_RDWR", "O_LARGEFILE", "0x80000"));
	expect_reject(P_FDS, j, "entry 0: field \"flags_raw\" has bits", NULL);
	j = valid(P_FDS);
	set(item(j, "fds", 0), "mode", json_string("0100644"));
	expect_reject(P_FDS, j, "entry 0: field \"mode\" has a file type", NULL);
	j = valid(P_FDS);
	set(item(j, "fds", 0), "type", json_string("door"));
	expect_reject(P_FDS, j, "field \"type\" has the unknown name \"door\"", NULL);
	j = valid(P_FDS);
	set(item(j, "fds", 0), "cloexec", json_string("yes"));
	expect_reject(P_FDS, j, "field \"cloexec\" must be true or false", NULL);
	j = valid(P_FDS);
	set(item(j, "fds", 0), "dev", json_string("8-1"));
	expect_reject(P_FDS, j, "field \"dev\" must be a device", NULL);
}
END_TEST

/* ---- tests: an image directory on disk ---- */

/* ---- tests: limits (image_limits.h), each refused before its memory is taken ---- */

static json_t *nulls(size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(json_array_append_new(a, json_null()), 0);
	return a;
}

/* obj's array key, in part p's encoding j, made one entry longer than max:
 * refused with the count and the limit before any entry is decoded. */
static void expect_too_long(enum part p, json_t *j, json_t *obj, const char *key, size_t max,
			    const char *what)
{
	char needle[256];

	ck_assert_ptr_nonnull(obj);
	set(obj, key, nulls(max + 1));
	snprintf(needle, sizeof(needle), "field \"%s\" has %zu entries, more than the %zu %s",
		 key, max + 1, max, what);
	expect_reject(p, j, needle, NULL);
}

static void expect_seccomp_reject(json_t *j, const char *needle)
{
	struct ps_model *m = calloc(1, sizeof(*m));
	char err[512] = "";
	int rc = decode_seccomp(j, err, sizeof(err), m);

	ck_assert_msg(rc == -EINVAL, "accepted (rc %d), expected an error about %s", rc, needle);
	ck_assert_msg(strstr(err, needle), "error \"%s\" does not mention %s", err, needle);
	ck_assert_int_eq(m->seccomp.saved, 0);
	ck_assert_ptr_null(m->seccomp.filters);
	json_decref(j);
	ps_model_free(m);
	free(m);
}

static json_t *valid_seccomp(void)
{
	struct ps_model *m = calloc(1, sizeof(*m));
	json_t *j;

	seccomp_model(m);
	j = through_text(ps_encode_seccomp_part(m, 0));
	ps_model_free(m);
	free(m);
	return j;
}

START_TEST(test_reject_seccomp)
{
	json_t *j = valid_seccomp();

	set(item(j, "filters", 0), "parent", json_integer(1));
	expect_seccomp_reject(j, "filter 0: field \"parent\"");
	j = valid_seccomp();
	set(item(j, "filters", 1), "program", json_string("20000000000000"));
	expect_seccomp_reject(j, "filter 1: field \"program\" has 7 bytes");
	j = valid_seccomp();
	set(item(j, "filters", 1), "flags", json_pack("[s]", "tsync"));
	expect_seccomp_reject(j, "unknown flag \"tsync\"");
	j = valid_seccomp();
	set(item(j, "threads", 1), "filter", json_integer(0));
	expect_seccomp_reject(j, "thread 1: field \"filter\" is 0");
	j = valid_seccomp();
	set(item(j, "threads", 2), "tid", json_integer(103));
	expect_seccomp_reject(j, "field \"tid\" is 103, but the image's thread here is 102");
	j = valid_seccomp();
	set(item(j, "threads", 0), "mode", json_string("lenient"));
	expect_seccomp_reject(j, "field \"mode\"");
	j = valid_seccomp();
	set(item(j, "filters", 0), "program", json_string("2000000040000000060000000000ff7f"));
	expect_seccomp_reject(j, "instruction 0 (code 0x20) loads outside struct seccomp_data");
	j = valid_seccomp();
	set(item(j, "filters", 0), "program", json_string("1500050000000000060000000000ff7f"));
	expect_seccomp_reject(j, "instruction 0 (code 0x15) jumps past the end");
	j = valid_seccomp();
	set(item(j, "filters", 0), "program", json_string("c50000000000000006000000000000ff"));
	expect_seccomp_reject(j, "instruction 0 (code 0xc5) is not one a seccomp program may hold");
	j = valid_seccomp();
	set(item(j, "filters", 0), "program", json_string("060000000000ff7f2000000000000000"));
	expect_seccomp_reject(j, "does not end with a return");
	j = valid_seccomp();
	json_array_remove(json_object_get(j, "threads"), 2);
	expect_seccomp_reject(j, "has 2 entries, but the image has 3 threads");
}
END_TEST

START_TEST(test_limit_arrays)
{
	json_t *j = valid(P_META);

	expect_too_long(P_META, j, j, "files", PS_MAX_FILES, "files an image may list");
	j = valid(P_MAPS);
	expect_too_long(P_MAPS, j, j, "mappings", PS_MAX_MAPPINGS, "mappings an image may hold");
	j = valid(P_MAPS);
	expect_too_long(P_MAPS, j, item(j, "mappings", 0), "vm_flags", PS_MAX_VM_FLAGS,
			"VmFlags a mapping may have");
	j = valid(P_PROC);
	expect_too_long(P_PROC, j, json_object_get(j, "credentials"), "groups", PS_MAX_GROUPS,
			"supplementary groups a process may have");
	j = valid(P_PROC);
	expect_too_long(P_PROC, j, json_object_get(j, "mm"), "auxv", PS_MAX_AUXV,
			"entries an auxiliary vector may have");
	j = valid(P_PROC);
	expect_too_long(P_PROC, j, j, "timers", PS_MAX_TIMERS, "POSIX timers a process may have");
	j = valid(P_SIGNALS);
	expect_too_long(P_SIGNALS, j, j, "pending", PS_MAX_PENDING, "queued signals an image may hold");
	j = valid(P_THREAD);
	expect_too_long(P_THREAD, j, j, "pending", PS_MAX_PENDING, "queued signals an image may hold");
	j = valid(P_FDS);
	expect_too_long(P_FDS, j, j, "fds", PS_MAX_FDS, "fds an image may hold");
	j = valid(P_FDS);
	expect_too_long(P_FDS, j, item(j, "fds", 5), "epoll", PS_MAX_EPOLL,
			"registrations an epoll fd may have");
	j = valid(P_FDS);
	expect_too_long(P_FDS, j, item(j, "fds", 7), "watches", PS_MAX_WATCHES,
			"watches an inotify fd may have");
	j = valid(P_FDS);
	expect_too_long(P_FDS, j, json_object_get(item(j, "fds", 9), "socket"), "messages",
			PS_MAX_MESSAGES, "unread messages a socket may hold");
}
END_TEST

/* cmdline and environ share exec's bounds: strings counted together, bytes too. */
START_TEST(test_limit_args)
{
	json_t *j = valid(P_PROC);
	char *big = malloc(PS_MAX_ARGS_BYTES / 2 + 1);
	char needle[160];

	set(j, "cmdline", nulls(PS_MAX_ARGS / 2));
	set(j, "environ", nulls(PS_MAX_ARGS / 2 + 1));
	snprintf(needle, sizeof(needle), "fields \"cmdline\" and \"environ\" hold %d strings, "
		 "more than the %d", PS_MAX_ARGS + 1, PS_MAX_ARGS);
	expect_reject(P_PROC, j, needle, NULL);

	memset(big, 'a', PS_MAX_ARGS_BYTES / 2);
	big[PS_MAX_ARGS_BYTES / 2] = '\0';
	j = valid(P_PROC);
	set(j, "cmdline", json_pack("[s]", big));
	set(j, "environ", json_pack("[s]", big));
	free(big);
	snprintf(needle, sizeof(needle), "hold %d bytes with environ[0], more than the %d a "
		 "process may have", PS_MAX_ARGS_BYTES + 2, PS_MAX_ARGS_BYTES);
	expect_reject(P_PROC, j, needle, NULL);
}
END_TEST

/* An anonymous mapping with n saved pages, one run each. */
static void add_runs(struct ps_maps *maps, uint64_t start, size_t n)
{
	struct ps_mapping *m;
	char name[PS_MEMORY_NAME_MAX];

	add_mapping(maps, start, start + (2 * n + 1) * 4096, PROT_READ | PROT_WRITE, PS_MAP_ANON,
		    "", 0);
	m = &maps->items[maps->count - 1];
	ps_memory_file_name(name, sizeof(name), m->start, m->end);
	m->content = strdup(name);
	m->content_start = m->start;
	m->content_end = m->end;
	m->data = calloc(n, sizeof(*m->data));
	for (size_t k = 0; k < n; k++)
		m->data[k] = (struct ps_extent){ 2 * k, 1 };
	m->ndata = m->data_pages = n;
}

/* The runs of all mappings count together. */
START_TEST(test_limit_data_runs)
{
	struct ps_maps maps = { .items = calloc(2, sizeof(*maps.items)) };
	char needle[256];

	add_runs(&maps, 0x10000000, PS_MAX_DATA_RUNS / 2 + 1);
	add_runs(&maps, 0x60000000, PS_MAX_DATA_RUNS / 2);
	snprintf(needle, sizeof(needle), "entry 1: field \"data\" has %d runs, which bring the "
		 "image's runs of saved pages to %d, more than the %d it may hold",
		 PS_MAX_DATA_RUNS / 2, PS_MAX_DATA_RUNS + 1, PS_MAX_DATA_RUNS);
	expect_reject(P_MAPS, ps_encode_maps(&maps), needle, NULL);
	ps_maps_free(&maps);
}
END_TEST

/* What jansson allocates per value, as ps_json_parse_cost counts it: 256
 * bytes per object or array, 128 per string or key, 64 per number, 16 per
 * true, false or null, and three times the text's bytes. */
START_TEST(test_parse_cost)
{
	static const char obj[] = "{\"a\": 1}";
	static const char mixed[] = "[\"x\\\"]{\", true, -1.5e3, null]";

	ck_assert_uint_eq(ps_json_parse_cost("[]", 2), 3 * 2 + 256);
	ck_assert_uint_eq(ps_json_parse_cost(obj, strlen(obj)), 3 * strlen(obj) + 256 + 128 + 64);
	/* brackets and an escaped quote inside a string are the string's */
	ck_assert_uint_eq(ps_json_parse_cost(mixed, strlen(mixed)),
			  3 * strlen(mixed) + 256 + 128 + 16 + 64 + 16);
}
END_TEST

START_TEST(test_parse_refused)
{
	size_t n = 200000, len = 3 * n + 1;
	char *text = malloc(len + 1), err[256];
	json_t *j;

	text[0] = '[';
	for (size_t i = 0; i < n; i++)
		memcpy(text + 1 + 3 * i, "{},", 3);
	text[len - 1] = ']';   /* the last comma */
	j = ps_json_load(text, len, "x.json", 16 << 20, err, sizeof(err));
	ck_assert_ptr_null(j);
	ck_assert_msg(strstr(err, "x.json would take about 51 MiB of memory to parse; at most "
			      "16 MiB is allowed for it"), "%s", err);
	j = ps_json_load(text, len, "x.json", 64 << 20, err, sizeof(err));
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(json_array_size(j), n);
	json_decref(j);
	free(text);
	/* the text quoted from a syntax error, and names from the file, stay one line */
	ck_assert_ptr_null(ps_json_load("\"a\\\n\x1b[2J", 7, "y.json", 1 << 20, err, sizeof(err)));
	ck_assert_msg(strstr(err, "y.json is not valid JSON") && !strchr(err, '\n') &&
		      !strchr(err, 0x1b), "%s", err);
	j = valid(P_MAPS);
	set(item(j, "mappings", 0), "kind", json_string("we\nird"));
	expect_reject(P_MAPS, j, "field \"kind\" has the unknown name \"we?ird\"", NULL);
}
END_TEST

static char g_dir[64];
static struct ps_model g_model;

static void write_at(const char *name, const void *data, size_t len, uint64_t size)
{
	char path[256], *slash;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", g_dir, name);
	slash = strrchr(path, '/');
	*slash = '\0';
	mkdir(path, 0700);
	*slash = '/';
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);   /* the rest is a hole */
	close(fd);
}

static void list_file(const char *name, uint64_t size, const void *data, size_t len, int crc)
{
	struct ps_image_meta *meta = &g_model.meta;
	struct ps_image_file *f;

	meta->files = realloc(meta->files, (meta->nfiles + 1) * sizeof(*meta->files));
	f = &meta->files[meta->nfiles++];
	f->name = strdup(name);
	f->size = size;
	f->has_crc = crc;
	f->crc32 = crc ? ps_crc32(0, data, len) : 0;
}

static void write_part(const char *name, json_t *encoded)
{
	size_t len;
	char *text = ps_json_dump(encoded, &len);

	json_decref(encoded);
	ck_assert_ptr_nonnull(text);
	write_at(name, text, len, len);
	list_file(name, len, text, len, 1);
	free(text);
}

/* Memory files hold one page of data, the rest holes; one carries a CRC. */
static void write_memory(void)
{
	static char page[4096];

	memset(page, 0xab, sizeof(page));
	for (size_t i = 0; i < g_model.maps.count; i++) {
		const struct ps_mapping *m = &g_model.maps.items[i];
		uint64_t size = m->end - m->start;
		int crc = m->kind == PS_MAP_HEAP;
		char *whole;

		if (!m->content)
			continue;
		write_at(m->content, page, sizeof(page), size);
		whole = calloc(1, size);
		memcpy(whole, page, sizeof(page));
		list_file(m->content, size, whole, size, crc);
		free(whole);
	}
}

/* image.json last, as a copy finishes: it lists everything else. */
static void write_image_json(void)
{
	json_t *j = ps_encode_image_meta(&g_model.meta);
	size_t len;
	char *text = ps_json_dump(j, &len);

	json_decref(j);
	ck_assert_ptr_nonnull(text);
	write_at("image.json", text, len, len);
	free(text);
}

/* A complete image of the fixture model, with the main thread's registers
 * listed after another thread's. */
static void image_setup(void)
{
	struct ps_model *m = &g_model;

	strcpy(g_dir, "/tmp/check_codec.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(g_dir));
	memset(m, 0, sizeof(*m));
	fill_meta_header(&m->meta);
	fill_process(&m->proc);
	fill_maps(&m->maps);
	m->nthreads = 2;
	m->threads = calloc(2, sizeof(*m->threads));
	fill_thread(&m->threads[0], 4242);
	fill_thread(&m->threads[1], 4243);
	fill_signals(&m->signals);
	fill_fds(&m->fds);
	write_part("process.json", ps_encode_process(&m->proc));
	write_part("memory/maps.json", ps_encode_maps(&m->maps));
	write_memory();
	write_part("registers/4243.json", ps_encode_thread(&m->threads[1]));
	write_part("registers/4242.json", ps_encode_thread(&m->threads[0]));
	write_part("signals.json", ps_encode_signals(&m->signals));
	write_part("fds.json", ps_encode_fds(&m->fds));
	write_at("fds/1", "piped", 5, 5);
	list_file("fds/1", 5, "piped", 5, 1);
	write_at("fds/13", "memfd", 5, 16384);
	list_file("fds/13", 16384, NULL, 0, 0);
	write_at("fds/14", "dgrams", 6, 101);
	list_file("fds/14", 101, NULL, 0, 0);
	write_image_json();
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void image_teardown(void)
{
	nftw(g_dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
	ps_model_free(&g_model);
}

static char *path_of(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", g_dir, name);
	return path;
}

START_TEST(test_image_complete_and_read)
{
	struct ps_model *m = calloc(1, sizeof(*m));
	char err[512] = "";

	ck_assert_msg(ps_image_check_complete(g_dir, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(ps_image_read(g_dir, m, err, sizeof(err)) == 0, "%s", err);
	assert_meta_eq(&g_model.meta, &m->meta);
	assert_process_eq(&g_model.proc, &m->proc);
	assert_maps_eq(&g_model.maps, &m->maps);
	ck_assert_uint_eq(m->nthreads, 2);
	assert_thread_eq(&g_model.threads[0], &m->threads[0]);   /* main thread first */
	assert_thread_eq(&g_model.threads[1], &m->threads[1]);
	assert_signals_eq(&g_model.signals, &m->signals);
	assert_fds_eq(&g_model.fds, &m->fds);
	ps_model_free(m);
	free(m);
}
END_TEST

static void expect_read_fails(int check_rc, int read_rc, const char *needle)
{
	struct ps_model *m = calloc(1, sizeof(*m));
	char err[512] = "";

	ck_assert_int_eq(ps_image_check_complete(g_dir, err, sizeof(err)), check_rc);
	if (check_rc)
		ck_assert_msg(strstr(err, needle), "check error \"%s\" lacks \"%s\"", err, needle);
	ck_assert_int_eq(ps_image_read(g_dir, m, err, sizeof(err)), read_rc);
	ck_assert_msg(strstr(err, needle), "read error \"%s\" lacks \"%s\"", err, needle);
	ck_assert_uint_eq(m->nthreads, 0);   /* nothing left behind */
	ck_assert_ptr_null(m->meta.files);
	free(m);
}

START_TEST(test_image_missing_file)
{
	ck_assert_int_eq(unlink(path_of("fds.json")), 0);
	expect_read_fails(-EAGAIN, -EAGAIN, "fds.json is missing");
}
END_TEST

START_TEST(test_image_missing_image_json)
{
	ck_assert_int_eq(unlink(path_of("image.json")), 0);
	expect_read_fails(-EAGAIN, -EAGAIN, "image.json is missing");
}
END_TEST

START_TEST(test_image_short_file)
{
	ck_assert_int_eq(truncate(path_of("memory/01000000-01021000"), 0x21000 - 4096), 0);
	expect_read_fails(-EAGAIN, -EAGAIN, "memory/01000000-01021000 is 4096 bytes short");
}
END_TEST

START_TEST(test_image_long_file)
{
	ck_assert_int_eq(truncate(path_of("fds/1"), 6), 0);
	expect_read_fails(-EINVAL, -EINVAL, "fds/1 is 1 bytes longer");
}
END_TEST

/* Same size, one byte changed: complete, but damaged. */
static void flip_byte(const char *name, off_t off)
{
	int fd = open(path_of(name), O_RDWR);
	char c;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &c, 1, off), 1);
	c ^= 0x20;
	ck_assert_int_eq(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

START_TEST(test_image_bad_crc)
{
	flip_byte("process.json", 20);
	expect_read_fails(0, -EINVAL, "process.json is damaged: its CRC-32 is");
}
END_TEST

START_TEST(test_image_bad_memory_crc)
{
	flip_byte("memory/01000000-01021000", 10);
	expect_read_fails(0, -EINVAL, "memory/01000000-01021000 is damaged");
}
END_TEST

START_TEST(test_image_symlink)
{
	char *p = path_of("signals.json");

	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(symlink("/etc/passwd", p), 0);
	expect_read_fails(-EINVAL, -EINVAL, "signals.json is not a regular file");
}
END_TEST

START_TEST(test_image_symlinked_dir)
{
	char target[128];

	snprintf(target, sizeof(target), "%s/elsewhere", g_dir);
	ck_assert_int_eq(rename(path_of("registers"), target), 0);
	ck_assert_int_eq(symlink(target, path_of("registers")), 0);
	expect_read_fails(-EINVAL, -EINVAL, "registers/4243.json is reached through a symbolic link");
}
END_TEST

START_TEST(test_image_main_thread_unlisted)
{
	struct ps_image_meta *meta = &g_model.meta;

	for (size_t i = 0; i < meta->nfiles; i++) {
		if (strcmp(meta->files[i].name, "registers/4242.json") != 0)
			continue;
		free(meta->files[i].name);
		memmove(&meta->files[i], &meta->files[i + 1],
			(meta->nfiles - i - 1) * sizeof(*meta->files));
		meta->nfiles--;
		break;
	}
	write_image_json();
	expect_read_fails(0, -EINVAL, "does not list registers/4242.json, the main thread");
}
END_TEST

START_TEST(test_image_bad_json)
{
	/* damage inside image.json: no CRC covers it, the decoder must catch it */
	write_at("image.json", "{\"format\": 1,", 13, 13);
	expect_read_fails(-EINVAL, -EINVAL, "image.json is not valid JSON");
}
END_TEST

/* ---- tests: limits of a whole image ---- */

static long status_kib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			kib = atol(line + strlen(field) + 1);
	fclose(f);
	ck_assert_int_ge(kib, 0);
	return kib;
}

/* The peak resident size is reset to the current one (clear_refs "5"). */
static long reset_peak(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "5", 1), 1);
	close(fd);
	return status_kib("VmRSS:");
}

static void expect_read_refused(const char *needle)
{
	struct ps_model *m = calloc(1, sizeof(*m));
	char err[512] = "";

	ck_assert_int_eq(ps_image_read(g_dir, m, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, needle), "error \"%s\" lacks \"%s\"", err, needle);
	ck_assert_ptr_null(m->meta.files);
	free(m);
}

/* Refused with needle while the resident size never grew by max_mib. */
static void expect_refused_small(const char *needle, long max_mib)
{
	long base = reset_peak();

	expect_read_refused(needle);
	ck_assert_msg(status_kib("VmHWM:") - base < max_mib << 10, "refusing took %ld KiB",
		      status_kib("VmHWM:") - base);
}

/* The refusal of issue 11: 51 MB listing a million files, refused by its
 * size, nothing of it read. */
START_TEST(test_limit_image_json_size)
{
	FILE *f = fopen(path_of("image.json"), "w");
	char needle[128];
	long size;

	ck_assert_ptr_nonnull(f);
	fprintf(f, "{\"format\": 1, \"files\": [");
	for (unsigned i = 0; i < 1000000; i++)
		fprintf(f, "%s{\"name\": \"memory/%012x-%012x\", \"size\": 4096}", i ? "," : "",
			i << 12, (i + 1) << 12);
	fprintf(f, "]}\n");
	size = ftell(f);
	fclose(f);
	ck_assert_int_gt(size, 50 << 20);
	snprintf(needle, sizeof(needle), "image.json is %ld bytes, more than the 32 MiB it may be", size);
	expect_refused_small(needle, 8);
	expect_read_fails(-EINVAL, -EINVAL, needle);
}
END_TEST

/* Within the size limit, but its parse would take too much: refused from
 * the text, before jansson allocates. */
START_TEST(test_limit_image_json_memory)
{
	FILE *f = fopen(path_of("image.json"), "w");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "{\"format\": 1, \"files\": [");
	for (unsigned i = 0; i < 1000000; i++)
		fprintf(f, "%s{\"name\":\"f%07u\",\"size\":0}", i ? "," : "", i);
	fprintf(f, "]}\n");
	ck_assert_int_lt(ftell(f), 32 << 20);
	fclose(f);
	expect_refused_small("image.json would take about", 48);
	expect_read_fails(-EINVAL, -EINVAL, "MiB of memory to parse; at most 256 MiB is allowed for it");
}
END_TEST

/* A JSON part listed larger than its limit is refused unread. */
START_TEST(test_limit_part_size)
{
	struct ps_image_meta *meta = &g_model.meta;
	char needle[128];

	for (size_t i = 0; i < meta->nfiles; i++) {
		if (strcmp(meta->files[i].name, "fds.json") == 0) {
			meta->files[i].size = PS_MAX_FDS_JSON_SIZE + 1ULL;
			meta->files[i].has_crc = 0;
		}
	}
	write_at("fds.json", "{", 1, PS_MAX_FDS_JSON_SIZE + 1ULL);   /* a hole */
	write_image_json();
	snprintf(needle, sizeof(needle), "fds.json is %d bytes, more than the 128 MiB it may be",
		 PS_MAX_FDS_JSON_SIZE + 1);
	expect_refused_small(needle, 8);
}
END_TEST

/* The thread count is checked before any file is read: the registers files
 * need not be there. */
START_TEST(test_limit_threads)
{
	struct ps_image_meta *meta = &g_model.meta;
	size_t more = PS_MAX_THREADS - 1;   /* beside the fixture's two threads */
	char name[64], needle[128];

	meta->files = realloc(meta->files, (meta->nfiles + more) * sizeof(*meta->files));
	for (size_t i = 0; i < more; i++) {
		ps_registers_file_name(name, sizeof(name), (pid_t)(100000 + i));
		meta->files[meta->nfiles++] = (struct ps_image_file){ strdup(name), 1, 0, 0 };
	}
	write_image_json();
	snprintf(needle, sizeof(needle), "image.json lists %d registers files, more than the %d "
		 "threads an image may hold", PS_MAX_THREADS + 1, PS_MAX_THREADS);
	expect_read_refused(needle);
}
END_TEST

/* The listed file name, rewritten with encoded (size and CRC updated). */
static void rewrite_part(const char *name, json_t *encoded)
{
	struct ps_image_meta *meta = &g_model.meta;
	size_t len;
	char *text = ps_json_dump(encoded, &len);

	json_decref(encoded);
	ck_assert_ptr_nonnull(text);
	write_at(name, text, len, len);
	for (size_t i = 0; i < meta->nfiles; i++) {
		if (strcmp(meta->files[i].name, name) == 0) {
			meta->files[i].size = len;
			meta->files[i].crc32 = ps_crc32(0, text, len);
		}
	}
	free(text);
}

static void queue_signals(struct ps_siginfo **q, size_t *n, size_t more)
{
	*q = realloc(*q, (*n + more) * sizeof(**q));
	for (size_t i = 0; i < more; i++)
		fill_siginfo(&(*q)[*n + i], 34, -1);
	*n += more;
}

/* Signals queued to the process and to its threads count together: each
 * file is within the bound, not the image. */
START_TEST(test_limit_pending_total)
{
	struct ps_thread *t = &g_model.threads[1];   /* 4243, listed before the main thread */
	char needle[256];

	queue_signals(&g_model.signals.shared_pending, &g_model.signals.nshared_pending,
		      PS_MAX_PENDING / 2);
	queue_signals(&t->pending, &t->npending, PS_MAX_PENDING / 2);
	rewrite_part("signals.json", ps_encode_signals(&g_model.signals));
	rewrite_part("registers/4243.json", ps_encode_thread(t));
	write_image_json();
	snprintf(needle, sizeof(needle), "registers/4243.json brings the signals queued in the "
		 "image (signals.json and registers/) to %d, more than the %d an image may hold",
		 PS_MAX_PENDING + 3, PS_MAX_PENDING);   /* and the fixture's 1 shared, 2 of 4243 */
	expect_read_fails(0, -EINVAL, needle);
}
END_TEST

static Suite *codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *crc = tcase_create("crc32");
	TCase *rt = tcase_create("roundtrip");
	TCase *bad = tcase_create("reject");
	TCase *dir = tcase_create("image_dir");
	TCase *lim = tcase_create("limits");

	tcase_add_test(crc, test_crc32_vectors);
	tcase_add_test(crc, test_crc32_slices);
	suite_add_tcase(s, crc);

	tcase_add_test(rt, test_image_meta_roundtrip);
	tcase_add_test(rt, test_process_roundtrip);
	tcase_add_test(rt, test_maps_roundtrip);
	tcase_add_test(rt, test_aio_sysv_roundtrip);
	tcase_add_test(rt, test_thread_roundtrip);
	tcase_add_test(rt, test_signals_roundtrip);
	tcase_add_test(rt, test_fds_roundtrip);
	tcase_add_test(rt, test_seccomp_roundtrip);
	tcase_add_test(rt, test_bytes_forms);
	tcase_add_test(rt, test_attributes_roundtrip);
	suite_add_tcase(s, rt);

	tcase_add_test(bad, test_reject_format);
	tcase_add_test(bad, test_reject_maps);
	tcase_add_test(bad, test_reject_aio_sysv);
	tcase_add_test(bad, test_reject_guards);
	tcase_add_test(bad, test_reject_image_meta);
	tcase_add_test(bad, test_reject_thread);
	tcase_add_test(bad, test_reject_signals);
	tcase_add_test(bad, test_reject_process);
	tcase_add_test(bad, test_reject_fds);
	tcase_add_test(bad, test_reject_attributes);
	tcase_add_test(bad, test_reject_seccomp);
	suite_add_tcase(s, bad);

	tcase_add_checked_fixture(dir, image_setup, image_teardown);
	tcase_add_test(dir, test_image_complete_and_read);
	tcase_add_test(dir, test_image_missing_file);
	tcase_add_test(dir, test_image_missing_image_json);
	tcase_add_test(dir, test_image_short_file);
	tcase_add_test(dir, test_image_long_file);
	tcase_add_test(dir, test_image_bad_crc);
	tcase_add_test(dir, test_image_bad_memory_crc);
	tcase_add_test(dir, test_image_symlink);
	tcase_add_test(dir, test_image_symlinked_dir);
	tcase_add_test(dir, test_image_main_thread_unlisted);
	tcase_add_test(dir, test_image_bad_json);
	suite_add_tcase(s, dir);

	/* a million-entry image.json written and refused, 65536 signals encoded */
	tcase_set_timeout(lim, 120);
	tcase_add_test(lim, test_limit_arrays);
	tcase_add_test(lim, test_limit_args);
	tcase_add_test(lim, test_limit_data_runs);
	tcase_add_test(lim, test_parse_cost);
	tcase_add_test(lim, test_parse_refused);
	tcase_add_checked_fixture(lim, image_setup, image_teardown);
	tcase_add_test(lim, test_limit_image_json_size);
	tcase_add_test(lim, test_limit_image_json_memory);
	tcase_add_test(lim, test_limit_part_size);
	tcase_add_test(lim, test_limit_threads);
	tcase_add_test(lim, test_limit_pending_total);
	suite_add_tcase(s, lim);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(codec_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
