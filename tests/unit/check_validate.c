/* Unit tests of restore/validate.c: a model that passes, then one change at
 * a time, each refused with the sentence a person would act on. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/elf_buildid.h"
#include "image/fd_kinds.h"
#include "image/json_util.h"
#include "backend/proc_parse.h"
#include "restore/validate.h"

#define ANON_START 0x10000000ULL
#define ANON_END 0x10002000ULL
#define FILE_START 0x20000000ULL
#define FILE_END 0x20001000ULL

static char g_dir[] = "/tmp/check_validate.XXXXXX";
static char g_lib[PS_PATH_MAX];       /* a copy of this test program: an ELF with a build-id */
static char g_log[PS_PATH_MAX];       /* a regular file an fd points at */
static struct ps_model g_m;
static char g_err[1024];

/* ---- building the model ---- */

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	ck_assert_ptr_nonnull(d);
	return d;
}

static void set_bytes(struct ps_bytes *b, const char *s)
{
	ps_bytes_set(b, s, strlen(s));
	ck_assert_ptr_nonnull(b->data);
}

/* A pid nobody holds, as a process or as a process group. */
static pid_t free_pid(void)
{
	for (pid_t p = 30000; p > 2; p--) {
		char path[32];

		snprintf(path, sizeof(path), "/proc/%d", p);
		if (kill(p, 0) < 0 && errno == ESRCH && kill(-p, 0) < 0 && errno == ESRCH &&
		    access(path, F_OK) < 0)
			return p;
	}
	ck_abort_msg("no free pid");
	return -1;
}

static struct ps_mapping *add_mapping(uint64_t start, uint64_t end, enum ps_map_kind kind,
				      const char *path)
{
	struct ps_maps *maps = &g_m.maps;
	struct ps_mapping *grown = realloc(maps->items, (maps->count + 1) * sizeof(*grown));
	struct ps_mapping *map;

	ck_assert_ptr_nonnull(grown);
	maps->items = grown;
	map = &grown[maps->count++];
	memset(map, 0, sizeof(*map));
	map->start = start;
	map->end = end;
	map->kind = kind;
	map->prot = PROT_READ;
	set_bytes(&map->path, path);
	return map;
}

static void add_listed(const char *name, uint64_t size)
{
	struct ps_image_meta *meta = &g_m.meta;
	struct ps_image_file *grown = realloc(meta->files, (meta->nfiles + 1) * sizeof(*grown));

	ck_assert_ptr_nonnull(grown);
	meta->files = grown;
	meta->files[meta->nfiles++] = (struct ps_image_file){ xstrdup(name), size, 0, 0 };
}

static void write_sparse(const char *name, uint64_t size)
{
	char path[PS_PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", g_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

/* This kernel's own [vvar*] and [vdso], as the image of any process has them. */
static void add_kernel_mappings(void)
{
	struct ps_maps_line ml;
	char *text, *line;
	size_t len;

	ck_assert_int_eq(ps_read_file("/proc/self/maps", &text, &len), 0);
	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (ps_parse_maps_line(line, &ml) < 0)
			continue;
		if (strncmp(ml.path, "[vvar", 5) == 0)
			add_mapping(ml.start, ml.end, PS_MAP_VVAR, ml.path);
		else if (strcmp(ml.path, "[vdso]") == 0)
			add_mapping(ml.start, ml.end, PS_MAP_VDSO, ml.path)->prot |= PROT_EXEC;
	}
	free(text);
}

static void add_anon_mapping(void)
{
	struct ps_mapping *map = add_mapping(ANON_START, ANON_END, PS_MAP_ANON, "");
	char name[PS_MEMORY_NAME_MAX];

	map->prot = PROT_READ | PROT_WRITE;
	ps_memory_file_name(name, sizeof(name), ANON_START, ANON_END);
	map->content = xstrdup(name);
	map->content_start = ANON_START;
	map->content_end = ANON_END;
	add_listed(name, ANON_END - ANON_START);
	write_sparse(name, ANON_END - ANON_START);
}

static void identify(struct ps_file_id *id, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	id->size = (uint64_t)st.st_size;
	id->mtime_sec = st.st_mtim.tv_sec;
	id->mtime_nsec = st.st_mtim.tv_nsec;
	ck_assert_int_eq(ps_elf_build_id(fd, id->build_id, sizeof(id->build_id)), 0);
	close(fd);
}

static void add_file_mapping(void)
{
	struct ps_mapping *map = add_mapping(FILE_START, FILE_END, PS_MAP_FILE, g_lib);

	map->prot = PROT_READ | PROT_EXEC;
	identify(&map->file, g_lib);
}

static struct ps_fd *add_fd(int n, enum ps_fd_type type, const char *kind, const char *path,
			    int flags)
{
	struct ps_fds *fds = &g_m.fds;
	struct ps_fd *grown = realloc(fds->items, (fds->count + 1) * sizeof(*grown));
	struct ps_fd *f;

	ck_assert_ptr_nonnull(grown);
	fds->items = grown;
	f = &grown[fds->count++];
	memset(f, 0, sizeof(*f));
	f->fd = n;
	f->type = type;
	f->flags = flags;
	f->supported = 1;
	ck_assert_int_eq(ps_fd_kind_from_json_name(f, kind, -1), 0);
	set_bytes(&f->path, path);
	return f;
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ssize_t n;

	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(out, 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

/* A model of a plain single-threaded root process that validates. */
static void setup(void)
{
	struct ps_thread *t;
	struct ps_fd *null;
	struct utsname u;
	char memory[PS_PATH_MAX];
	pid_t pid = free_pid();

	ck_assert_ptr_nonnull(mkdtemp(g_dir));
	snprintf(g_lib, sizeof(g_lib), "%s/libtest.so", g_dir);
	snprintf(g_log, sizeof(g_log), "%s/app.log", g_dir);
	copy_file("/proc/self/exe", g_lib);
	write_sparse("app.log", 10);
	snprintf(memory, sizeof(memory), "%s/memory", g_dir);
	ck_assert_int_eq(mkdir(memory, 0700), 0);

	memset(&g_m, 0, sizeof(g_m));
	ck_assert_int_eq(uname(&u), 0);
	g_m.meta.format = 1;
	strcpy(g_m.meta.arch, "x86_64");
	snprintf(g_m.meta.kernel, sizeof(g_m.meta.kernel), "%s", u.release);
	g_m.meta.page_size = 4096;
	g_m.meta.pid = pid;

	g_m.proc.pid = pid;
	strcpy(g_m.proc.comm, "validated");
	set_bytes(&g_m.proc.exe, g_lib);
	set_bytes(&g_m.proc.cwd, "/");
	set_bytes(&g_m.proc.root, "/");

	g_m.threads = calloc(1, sizeof(*g_m.threads));
	ck_assert_ptr_nonnull(g_m.threads);
	g_m.nthreads = 1;
	t = &g_m.threads[0];
	t->tid = pid;

	add_anon_mapping();
	add_file_mapping();
	add_kernel_mappings();

	null = add_fd(0, PS_FD_CHR, "char", "/dev/null", O_RDWR);
	null->rdev_major = 1;
	null->rdev_minor = 3;
	add_fd(1, PS_FD_REG, "file", g_log, O_WRONLY | O_APPEND);
	add_fd(2, PS_FD_DIR, "directory", g_dir, O_RDONLY | O_DIRECTORY);
	g_err[0] = '\0';
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void teardown(void)
{
	ps_model_free(&g_m);
	nftw(g_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	strcpy(g_dir, "/tmp/check_validate.XXXXXX");
}

static struct ps_socket *add_unix_socket(int n, int type, enum ps_sock_state state, int peer_fd);

/* ---- asserting ---- */

static int validate_as(uid_t uid, gid_t gid)
{
	return ps_validate_image(&g_m, g_dir, uid, gid, g_err, sizeof(g_err));
}

#define expect_refused(rc, text)                                                       \
	do {                                                                           \
		int rc_ = (rc);                                                        \
		ck_assert_msg(rc_ < 0, "accepted; expected \"%s\"", (text));           \
		ck_assert_msg(strstr(g_err, (text)) != NULL, "error \"%s\" lacks \"%s\"", \
			      g_err, (text));                                          \
	} while (0)

static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static const char *fmt(const char *f, ...)
{
	static char buf[PS_PATH_MAX + 256];
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	return buf;
}

static struct ps_mapping *find_kind(enum ps_map_kind kind)
{
	for (size_t i = 0; i < g_m.maps.count; i++)
		if (g_m.maps.items[i].kind == kind)
			return &g_m.maps.items[i];
	ck_abort_msg("no mapping of kind %d", kind);
	return NULL;
}

/* ---- the machine, the threads, the pid ---- */

START_TEST(test_valid_image)
{
	int rc = validate_as(0, 0);

	ck_assert_msg(rc == 0, "refused: %s", g_err);
}
END_TEST

START_TEST(test_arch_and_pages)
{
	strcpy(g_m.meta.arch, "aarch64");
	expect_refused(validate_as(0, 0), "the image is for aarch64; this machine is x86_64");
	strcpy(g_m.meta.arch, "x86_64");
	g_m.meta.page_size = 16384;
	expect_refused(validate_as(0, 0), "the image has 16384-byte pages");
}
END_TEST

START_TEST(test_kernel_release)
{
	struct utsname u;

	uname(&u);
	strcpy(g_m.meta.kernel, "5.10.0-99-amd64");
	strcpy(g_m.meta.boot_id, "not this boot");
	expect_refused(validate_as(0, 0), fmt("the image was taken on kernel 5.10.0-99-amd64; "
					      "this is %s: the vDSO would differ", u.release));
}
END_TEST

START_TEST(test_threads)
{
	struct ps_thread *two = realloc(g_m.threads, 2 * sizeof(*two));

	ck_assert_ptr_nonnull(two);
	g_m.threads = two;
	memset(&two[1], 0, sizeof(two[1]));
	g_m.nthreads = 2;
	two[1].tid = two[0].tid;
	expect_refused(validate_as(0, 0), fmt("the image lists thread %d twice", two[0].tid));
	two[1].tid = getpid();   /* a thread id that is taken: ours */
	expect_refused(validate_as(0, 0), fmt("pid %d is ", getpid()));
	two[1].tid = 1;
	expect_refused(validate_as(0, 0), "thread 1 cannot be restored");
	g_m.nthreads = 1;
	g_m.threads[0].tid = g_m.proc.pid + 1;
	expect_refused(validate_as(0, 0), "first thread is tid");
}
END_TEST

START_TEST(test_pid_one)
{
	g_m.proc.pid = g_m.meta.pid = g_m.threads[0].tid = 1;
	expect_refused(validate_as(0, 0), "pid 1 cannot be restored: pid 1 is init");
}
END_TEST

START_TEST(test_pid_still_running)
{
	pid_t me = getpid();

	g_m.proc.pid = g_m.meta.pid = g_m.threads[0].tid = me;
	prctl(PR_GET_NAME, g_m.proc.comm);
	expect_refused(validate_as(0, 0), fmt("pid %d is in use: the original process is still "
					      "running?", me));
}
END_TEST

START_TEST(test_pid_other_process)
{
	pid_t me = getpid();

	g_m.proc.pid = g_m.meta.pid = g_m.threads[0].tid = me;
	expect_refused(validate_as(0, 0), fmt("pid %d is taken by process ", me));
}
END_TEST

START_TEST(test_pid_zombie)
{
	pid_t child = fork();
	siginfo_t si;

	ck_assert_int_ge(child, 0);
	if (child == 0) {
		prctl(PR_SET_NAME, "deadchild");
		_exit(0);
	}
	/* Wait for its exit without reaping it. */
	ck_assert_int_eq(waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT), 0);
	g_m.proc.pid = g_m.meta.pid = g_m.threads[0].tid = child;
	expect_refused(validate_as(0, 0), fmt("pid %d is taken by process deadchild (state Z: a "
					      "zombie that its parent, pid %d, has not reaped)",
					      child, getpid()));
	waitpid(child, NULL, 0);
}
END_TEST

START_TEST(test_pid_max)
{
	g_m.proc.pid = g_m.meta.pid = g_m.threads[0].tid = PS_PID_MAX;
	expect_refused(validate_as(0, 0), "pid_max");
}
END_TEST

/* ---- state not restored ---- */

/* One filter in the one thread: ret is its only instruction's action. */
static void one_filter(uint32_t ret)
{
	struct ps_seccomp *s = &g_m.seccomp;

	ps_seccomp_free(s);
	s->saved = 1;
	s->nfilters = 1;
	s->filters = calloc(1, sizeof(*s->filters));
	s->nthreads = 1;
	s->threads = calloc(1, sizeof(*s->threads));
	ck_assert_ptr_nonnull(s->filters);
	ck_assert_ptr_nonnull(s->threads);
	s->filters[0].parent = -1;
	s->filters[0].ninsns = 1;
	s->filters[0].insns = calloc(1, sizeof(*s->filters[0].insns));
	ck_assert_ptr_nonnull(s->filters[0].insns);
	s->filters[0].insns[0] = (struct ps_bpf_insn){ 0x06, 0, 0, ret };   /* BPF_RET | BPF_K */
	s->threads[0] = (struct ps_seccomp_thread){ g_m.threads[0].tid, PS_SECCOMP_FILTER, 0 };
}

START_TEST(test_seccomp)
{
	g_m.proc.creds.seccomp = 2;
	expect_refused(validate_as(0, 0), "the process has seccomp filters, but the image has no "
		       "seccomp.json");
	one_filter(0x7fff0000);                   /* SECCOMP_RET_ALLOW */
	ck_assert_msg(validate_as(0, 0) == 0, "refused: %s", g_err);
	g_m.proc.creds.seccomp = 1;
	expect_refused(validate_as(0, 0), "seccomp.json gives the main thread seccomp mode 2, "
		       "process.json mode 1");
	g_m.proc.creds.seccomp = 2;
	one_filter(0x7fc00000);                   /* SECCOMP_RET_USER_NOTIF */
	expect_refused(validate_as(0, 0), fmt("seccomp filter 0 of thread %d hands syscalls to a "
					      "supervisor (SECCOMP_RET_USER_NOTIF)", g_m.threads[0].tid));
}
END_TEST

START_TEST(test_posix_timers)
{
	g_m.proc.timers = calloc(2, sizeof(*g_m.proc.timers));
	g_m.proc.ntimers = 2;
	g_m.proc.timers[0] = (struct ps_posix_timer){ .id = 3, .notify = SIGEV_SIGNAL, .signo = 34 };
	g_m.proc.timers[1] = (struct ps_posix_timer){ .id = 5, .notify = SIGEV_SIGNAL | SIGEV_THREAD_ID,
						      .signo = 35, .notify_tid = g_m.threads[0].tid };
	ck_assert_msg(validate_as(0, 0) == 0, "refused: %s", g_err);
	g_m.proc.timers[1].notify_tid = 999999;
	expect_refused(validate_as(0, 0), "POSIX timer 5 signals thread 999999, which is not in "
		       "the image");
	g_m.proc.timers[1].notify_tid = g_m.threads[0].tid;
	g_m.proc.timers[1].id = 3;
	expect_refused(validate_as(0, 0), "POSIX timer 3 is listed twice or out of order");
}
END_TEST

START_TEST(test_pending_kill)
{
	g_m.signals.shared_pending = calloc(1, sizeof(*g_m.signals.shared_pending));
	g_m.signals.nshared_pending = 1;
	g_m.signals.shared_pending[0].signo = SIGKILL;
	expect_refused(validate_as(0, 0), "a SIGKILL is pending");
}
END_TEST

/* ---- attributes ---- */

/* An attributes part at the defaults a new process has, for the one
 * thread; oom_score_adj is this program's own (the lowest a restore
 * without CAP_SYS_RESOURCE may set). */
static struct ps_thread_attrs *add_attributes(void)
{
	struct ps_attributes *a = &g_m.attrs;
	struct ps_thread_attrs *t;
	FILE *f;

	a->present = 1;
	a->loginuid = (uint32_t)-1;
	f = fopen("/proc/self/loginuid", "r");
	if (f) {
		ck_assert_int_eq(fscanf(f, "%u", &a->loginuid), 1);
		fclose(f);
	}
	f = fopen("/proc/self/oom_score_adj", "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%d", &a->oom_score_adj), 1);
	fclose(f);
	a->coredump_filter = 0x33;
	a->memory_merge = a->mdwe = -1;
	a->untag_mask = UINT64_MAX;
	a->futex_slots = -1;
	a->threads = calloc(1, sizeof(*a->threads));
	ck_assert_ptr_nonnull(a->threads);
	a->nthreads = 1;
	t = &a->threads[0];
	t->tid = g_m.threads[0].tid;
	t->sched.util_max = 1024;
	t->cpus[0] = 1;
	t->timerslack_ns = 50000;
	t->mce_kill = 2;
	t->tsc = 1;
	t->cpuid = 1;
	return t;
}

static void make_image_users(void)
{
	for (int i = 0; i < 4; i++) {
		g_m.proc.creds.uid[i] = 1000;
		g_m.proc.creds.gid[i] = 1000;
	}
}

START_TEST(test_attributes_defaults)
{
	add_attributes();
	ck_assert_msg(validate_as(0, 0) == 0, "refused: %s", g_err);
}
END_TEST

START_TEST(test_attributes_refused)
{
	struct ps_thread_attrs *t = add_attributes();
	pid_t tid = t->tid;

	t->io_flusher = 1;
	expect_refused(validate_as(0, 0), fmt("thread %d is an IO flusher", tid));
	t->io_flusher = 0;
	t->core_cookie = 7;
	expect_refused(validate_as(0, 0), fmt("thread %d has a core scheduling cookie", tid));
	t->core_cookie = 0;
	t->sud_mode = 1;
	expect_refused(validate_as(0, 0), fmt("thread %d has syscall user dispatch on", tid));
	t->sud_mode = 0;
	t->mempolicy = 2;
	expect_refused(validate_as(0, 0), fmt("thread %d has a NUMA memory policy", tid));
	t->mempolicy = 0;
	t->shstk = 1;
	expect_refused(validate_as(0, 0), fmt("thread %d has a user shadow stack", tid));
	t->shstk = 0;
	t->securebits = 0x2f;
	expect_refused(validate_as(0, 0), fmt("thread %d's securebits 0x2f and no_new_privs 0 differ",
					      tid));
	t->securebits = 0;
	g_m.attrs.untag_mask = 0x3fffffffffff;
	expect_refused(validate_as(0, 0), "linear address masking");
	g_m.attrs.untag_mask = UINT64_MAX;
	g_m.attrs.autogroup_nice = 3;
	g_m.proc.sid = g_m.proc.pid + 1;
	expect_refused(validate_as(0, 0), "autogroup nice 3 belongs to the session of");
}
END_TEST

static uint32_t own_loginuid(void)
{
	FILE *f = fopen("/proc/self/loginuid", "r");
	uint32_t v = (uint32_t)-1;

	if (f) {
		ck_assert_int_eq(fscanf(f, "%u", &v), 1);
		fclose(f);
	}
	return v;
}

/* What a non-root caller could not set itself. */
START_TEST(test_attributes_caller)
{
	struct ps_thread_attrs *t = add_attributes();
	pid_t tid = t->tid;
	int rc;

	make_image_users();
	t->sched.nice = -5;
	expect_refused(validate_as(1000, 1000),
		       fmt("thread %d has nice -5, below what its RLIMIT_NICE (0)", tid));
	t->sched.nice = 0;
	t->sched.policy = 1;
	t->sched.priority = 10;
	expect_refused(validate_as(1000, 1000), fmt("thread %d has real-time priority 10", tid));
	t->sched.policy = 6;
	t->sched.priority = 0;
	expect_refused(validate_as(1000, 1000), fmt("thread %d runs SCHED_DEADLINE", tid));
	t->sched.policy = 0;
	t->ioprio = (1 << 13) | 4;
	expect_refused(validate_as(1000, 1000), fmt("thread %d has a real-time io priority", tid));
	t->ioprio = 0;
	g_m.attrs.loginuid = 4242;
	expect_refused(validate_as(1000, 1000), "loginuid 4242 is neither procsnap's");
	g_m.attrs.loginuid = 1000;   /* the caller's: only over an unset one */
	rc = validate_as(1000, 1000);
	if (own_loginuid() == (uint32_t)-1)
		ck_assert_msg(rc < 0 && !strstr(g_err, "loginuid"), "error \"%s\"", g_err);
	else
		expect_refused(rc, "loginuid 1000 is neither procsnap's");
	g_m.attrs.loginuid = (uint32_t)-1;
	g_m.attrs.oom_score_adj = -1;
	expect_refused(validate_as(1000, 1000), "oom_score_adj -1 is below");
}
END_TEST

/* ---- credentials and the caller ---- */

START_TEST(test_caller_not_root)
{
	expect_refused(validate_as(1000, 1000), "the image runs as uid 0; you are uid 1000");
}
END_TEST

START_TEST(test_caller_gid)
{
	for (int i = 0; i < 4; i++)
		g_m.proc.creds.uid[i] = 1000;
	expect_refused(validate_as(1000, 1000), "the image runs as gid 0; your gid is 1000");
}
END_TEST

START_TEST(test_caller_caps)
{
	for (int i = 0; i < 4; i++) {
		g_m.proc.creds.uid[i] = 1000;
		g_m.proc.creds.gid[i] = 1000;
	}
	g_m.proc.creds.cap_prm = 1ULL << 12;
	expect_refused(validate_as(1000, 1000), "the image holds capabilities (permitted 0x1000");
}
END_TEST

START_TEST(test_caller_groups)
{
	for (int i = 0; i < 4; i++) {
		g_m.proc.creds.uid[i] = 54321;
		g_m.proc.creds.gid[i] = 54321;
	}
	g_m.proc.creds.groups = malloc(sizeof(gid_t));
	g_m.proc.creds.groups[0] = 0;
	g_m.proc.creds.ngroups = 1;
	expect_refused(validate_as(54321, 54321), "the image has supplementary group 0; uid 54321 "
		       "is not a member of it");
}
END_TEST

/* A filter takes no_new_privs or CAP_SYS_ADMIN to install: procsnap gives
 * a non-root caller's process only those it could have installed itself. */
START_TEST(test_caller_seccomp)
{
	for (int i = 0; i < 4; i++) {
		g_m.proc.creds.uid[i] = 54321;
		g_m.proc.creds.gid[i] = 54321;
	}
	g_m.proc.creds.seccomp = 2;
	one_filter(0x7fff0000);
	expect_refused(validate_as(54321, 54321), fmt("thread %d has seccomp filters, but the process "
						      "had neither no_new_privs nor CAP_SYS_ADMIN",
						      g_m.threads[0].tid));
	g_m.proc.creds.no_new_privs = 1;
	validate_as(54321, 54321);
	ck_assert_msg(!strstr(g_err, "seccomp"), "refused for its filters with no_new_privs: %s", g_err);
}
END_TEST

/* Files root may open but the caller may not: the stub opens them as root. */
START_TEST(test_caller_access)
{
	for (int i = 0; i < 4; i++) {
		g_m.proc.creds.uid[i] = 54321;
		g_m.proc.creds.gid[i] = 54321;
	}
	ck_assert_int_eq(chmod(g_dir, 0755), 0);
	ck_assert_int_eq(chmod(g_log, 0600), 0);
	expect_refused(validate_as(54321, 54321), fmt("fd 1: uid 54321 may not open %s for "
						      "writing (Permission denied)", g_log));
	ck_assert_int_eq(chmod(g_log, 0666), 0);
	ck_assert_int_eq(chmod(g_lib, 0700), 0);
	expect_refused(validate_as(54321, 54321), fmt("the executable: uid 54321 may not open %s "
						      "for reading (Permission denied)", g_lib));
	ck_assert_int_eq(chmod(g_lib, 0755), 0);
	ck_assert_int_eq(validate_as(54321, 54321), 0);
}
END_TEST

static void be_uid(uid_t uid)
{
	for (int i = 0; i < 4; i++) {
		g_m.proc.creds.uid[i] = uid;
		g_m.proc.creds.gid[i] = uid;
	}
	ck_assert_int_eq(chmod(g_dir, 0755), 0);
	ck_assert_int_eq(chmod(g_log, 0666), 0);
}

/* procsnap makes these files as root: the caller's rights must cover them. */
START_TEST(test_caller_made_files)
{
	struct ps_fd *f = add_fd(5, PS_FD_REG, "file", fmt("%s/gone", g_dir), O_RDWR);

	be_uid(54321);
	f->deleted = 1;
	f->data = xstrdup("fds/5");
	f->u.content.uid = f->u.content.gid = 54321;
	f->mode = S_IFREG | 0600;
	expect_refused(validate_as(54321, 54321), fmt("fd 5: uid 54321 may not make a file in %s "
						      "(Permission denied)", g_dir));
	ck_assert_int_eq(chmod(g_dir, 0777), 0);
	ck_assert_msg(validate_as(54321, 54321) == 0, "refused: %s", g_err);
	f->u.content.uid = 0;
	expect_refused(validate_as(54321, 54321), fmt("fd 5: %s/gone belonged to 0:54321, and uid "
						      "54321 may only restore files of its own", g_dir));
	f->u.content.uid = 54321;
	f->mode |= S_ISUID;
	expect_refused(validate_as(54321, 54321), "is set-user-ID or set-group-ID: only root may");
}
END_TEST

/* A root-only file of the test's, in its directory. */
static const char *root_only_file(const char *name)
{
	static char path[PS_PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", g_dir, name);
	write_sparse(name, 10);
	ck_assert_int_eq(chmod(path, 0600), 0);
	return path;
}

/* Paths through /proc into a process's files are refused as written, even
 * when they do not resolve (yet): the pid may be the restored one's. */
START_TEST(test_caller_proc_links)
{
	static const char *const forged[] = {
		"/proc/%d/root/etc/shadow", "/proc/self/root/etc/shadow", "/proc/%d/fd/3",
		"/proc//%d/./cwd/x", "/proc/%d/task/%d/root/etc/shadow", "/proc/thread-self/fd/0",
		"/proc/%d/map_files/400000-401000", "/proc/x/../%d/exe",
	};
	struct ps_fd *f = add_fd(3, PS_FD_CHR, "char", "/dev/null", O_RDONLY);
	pid_t gone = g_m.proc.pid;

	be_uid(54321);
	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		set_bytes(&f->path, fmt(forged[i], gone, gone));
		expect_refused(validate_as(54321, 54321), fmt("fd 3: %s goes through /proc/", f->path.data));
		expect_refused(validate_as(54321, 54321), "into a process's files: only root may restore");
		ck_assert_msg(validate_as(0, 0) == 0, "root refused %s: %s", f->path.data, g_err);
	}
	set_bytes(&f->path, "/proc/1/stat");
	f->type = PS_FD_REG;
	ck_assert_msg(validate_as(54321, 54321) == 0, "refused /proc/1/stat: %s", g_err);
	set_bytes(&g_m.proc.cwd, "/proc/1/cwd");
	expect_refused(validate_as(54321, 54321), "the working directory: /proc/1/cwd goes through "
		       "/proc/1/cwd into a process's files");
	set_bytes(&g_m.proc.cwd, "/");
	set_bytes(&g_m.proc.exe, "/proc/self/exe");
	expect_refused(validate_as(54321, 54321), "the executable: /proc/self/exe goes through "
		       "/proc/self");
}
END_TEST

/* Char devices are probed like files (they were once skipped). */
START_TEST(test_caller_device)
{
	char node[PS_PATH_MAX];
	struct ps_fd *f;

	be_uid(54321);
	snprintf(node, sizeof(node), "%s/null0600", g_dir);
	ck_assert_int_eq(mknod(node, S_IFCHR | 0600, makedev(1, 3)), 0);
	f = add_fd(3, PS_FD_CHR, "char", node, O_RDONLY);
	f->rdev_major = 1;
	f->rdev_minor = 3;
	expect_refused(validate_as(54321, 54321), fmt("fd 3: uid 54321 may not open %s for reading "
						      "(Permission denied)", node));
	ck_assert_msg(validate_as(0, 0) == 0, "refused: %s", g_err);
}
END_TEST

/* A symlink or a hard link to a root-only file is that file. */
START_TEST(test_caller_links)
{
	const char *secret = root_only_file("secret");
	char sym[PS_PATH_MAX], hard[PS_PATH_MAX];

	be_uid(54321);
	snprintf(sym, sizeof(sym), "%s/sym", g_dir);
	snprintf(hard, sizeof(hard), "%s/hard", g_dir);
	ck_assert_int_eq(symlink(secret, sym), 0);
	ck_assert_int_eq(link(secret, hard), 0);
	add_fd(3, PS_FD_REG, "file", sym, O_RDONLY);
	expect_refused(validate_as(54321, 54321), fmt("fd 3: uid 54321 may not open %s for reading",
						      sym));
	set_bytes(&g_m.fds.items[g_m.fds.count - 1].path, hard);
	expect_refused(validate_as(54321, 54321), fmt("fd 3: uid 54321 may not open %s for reading",
						      hard));
}
END_TEST

START_TEST(test_caller_exe)
{
	be_uid(54321);
	ck_assert_int_eq(chmod(g_lib, 0644), 0);
	expect_refused(validate_as(54321, 54321), fmt("the executable: uid 54321 may not run %s "
						      "(Permission denied)", g_lib));
	ck_assert_int_eq(chmod(g_lib, 04755), 0);
	expect_refused(validate_as(54321, 54321), fmt("the executable %s is set-user-ID or "
						      "set-group-ID: only root may restore", g_lib));
	ck_assert_msg(validate_as(0, 0) == 0, "root refused: %s", g_err);
	ck_assert_int_eq(chmod(g_lib, 02755), 0);
	expect_refused(validate_as(54321, 54321), "is set-user-ID or set-group-ID");
}
END_TEST

/* A mapped file the caller may not read is refused as such: no sentence
 * tells what it is (size, mtime, build-id) now. */
START_TEST(test_caller_mapped_file)
{
	struct ps_mapping *map = find_kind(PS_MAP_FILE);
	const char *secret = root_only_file("secret.so");

	be_uid(54321);
	set_bytes(&map->path, secret);
	expect_refused(validate_as(54321, 54321), fmt("mapping 20000000-20001000: uid 54321 may not "
						      "open %s for reading (Permission denied)", secret));
	ck_assert_int_eq(chmod(secret, 0644), 0);
	expect_refused(validate_as(54321, 54321), "changed since the checkpoint");
	ck_assert_int_eq(chmod(g_dir, 0700), 0);
	expect_refused(validate_as(54321, 54321), "may not");
	ck_assert_msg(strstr(g_err, "changed") == NULL, "a sentence about an unreachable file: %s",
		      g_err);
}
END_TEST

START_TEST(test_caller_watch_and_bind)
{
	char dir[64];
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct ps_fd *f = add_fd(4, PS_FD_ANON, "inotify", "anon_inode:inotify", O_RDONLY);
	struct ps_socket *s;

	be_uid(54321);
	ck_assert_int_lt(snprintf(dir, sizeof(dir), "%s/private", g_dir), (int)sizeof(dir));
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	f->u.inotify.watches = calloc(1, sizeof(*f->u.inotify.watches));
	f->u.inotify.nwatches = 1;
	f->u.inotify.watches[0].wd = 1;
	set_bytes(&f->u.inotify.watches[0].path, dir);
	expect_refused(validate_as(54321, 54321), fmt("fd 4: inotify watch 1: uid 54321 may not "
						      "watch %s (Permission denied)", dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_msg(validate_as(54321, 54321) == 0, "refused: %s", g_err);
	s = add_unix_socket(5, SOCK_DGRAM, PS_SOCK_BOUND, -1);
	snprintf(un.sun_path, sizeof(un.sun_path), "%s/sock", dir);
	s->local.len = (uint32_t)(offsetof(struct sockaddr_un, sun_path) + strlen(un.sun_path) + 1);
	memcpy(s->local.sa, &un, s->local.len);
	expect_refused(validate_as(54321, 54321), fmt("fd 5: uid 54321 may not bind a socket to "
						      "%s (Permission denied)", un.sun_path));
	snprintf(un.sun_path, sizeof(un.sun_path), "/proc/self/root%s/sock", dir);
	s->local.len = (uint32_t)(offsetof(struct sockaddr_un, sun_path) + strlen(un.sun_path) + 1);
	memcpy(s->local.sa, &un, s->local.len);
	expect_refused(validate_as(54321, 54321), "fd 5: /proc/self/root");
}
END_TEST

START_TEST(test_caller_privileged_port)
{
	struct ps_fd *f = add_fd(5, PS_FD_SOCKET, "socket", "socket:[5]", O_RDWR);
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(80) };

	be_uid(54321);
	f->kind = PS_FD_KIND_INET;
	f->u.sock.family = AF_INET;
	f->u.sock.type = SOCK_STREAM;
	f->u.sock.protocol = IPPROTO_TCP;
	f->u.sock.state = PS_SOCK_LISTENING;
	f->u.sock.peer_fd = -1;
	f->u.sock.local.len = sizeof(in);
	memcpy(f->u.sock.local.sa, &in, sizeof(in));
	expect_refused(validate_as(54321, 54321), "fd 5: bound to port 80, which only root may bind");
	ck_assert_msg(validate_as(0, 0) == 0, "refused: %s", g_err);
}
END_TEST

START_TEST(test_chroot_needs_root)
{
	for (int i = 0; i < 4; i++) {
		g_m.proc.creds.uid[i] = 1000;
		g_m.proc.creds.gid[i] = 1000;
	}
	set_bytes(&g_m.proc.root, "/srv/jail");
	expect_refused(validate_as(1000, 1000), "the image is chrooted to /srv/jail");
}
END_TEST

START_TEST(test_caps_inconsistent)
{
	g_m.proc.creds.cap_eff = 1;
	expect_refused(validate_as(0, 0), "effective capabilities 0x1 are not all permitted");
}
END_TEST

START_TEST(test_caps_beyond_own)
{
	g_m.proc.creds.cap_prm = 1ULL << 62;
	expect_refused(validate_as(0, 0), "that procsnap itself does not hold here (first: "
		       "capability 62)");
}
END_TEST

/* ---- memory ---- */

START_TEST(test_content_missing)
{
	char path[PS_PATH_MAX];

	snprintf(path, sizeof(path), "%s/memory/10000000-10002000", g_dir);
	ck_assert_int_eq(unlink(path), 0);
	expect_refused(validate_as(0, 0), "memory/10000000-10002000: No such file or directory");
}
END_TEST

START_TEST(test_content_size)
{
	write_sparse("memory/10000000-10002000", 4096);
	expect_refused(validate_as(0, 0), "memory/10000000-10002000 is 4096 bytes, but its range "
		       "10000000-10002000 is 8192 bytes");
	g_m.meta.files[0].size = 4096;
	expect_refused(validate_as(0, 0), "image.json says memory/10000000-10002000 is 4096 bytes");
}
END_TEST

START_TEST(test_content_unlisted)
{
	free(g_m.meta.files[0].name);
	g_m.meta.files[0].name = xstrdup("process.json");
	expect_refused(validate_as(0, 0), "image.json does not list memory/10000000-10002000");
}
END_TEST

START_TEST(test_file_missing)
{
	ck_assert_int_eq(rename(g_lib, g_log), 0);
	expect_refused(validate_as(0, 0), fmt("%s is missing", g_lib));
}
END_TEST

START_TEST(test_file_build_id)
{
	struct ps_mapping *map = find_kind(PS_MAP_FILE);

	memset(map->file.build_id, 'a', 40);
	map->file.build_id[40] = '\0';
	expect_refused(validate_as(0, 0), fmt("%s changed since the checkpoint (build-id differs)",
					      g_lib));
}
END_TEST

START_TEST(test_file_size)
{
	struct ps_mapping *map = find_kind(PS_MAP_FILE);
	unsigned long long size = map->file.size;

	map->file.size = 123;
	expect_refused(validate_as(0, 0), fmt("%s changed since the checkpoint (size 123 -> %llu)",
					      g_lib, size));
}
END_TEST

START_TEST(test_file_mtime)
{
	struct ps_mapping *map = find_kind(PS_MAP_FILE);

	map->file.mtime_sec = 1714564800;   /* 2024-05-01T12:00:00Z */
	map->file.mtime_nsec = 5;
	expect_refused(validate_as(0, 0), fmt("%s changed since the checkpoint (modified "
					      "2024-05-01T12:00:00.000000005Z -> ", g_lib));
}
END_TEST

/* A private mapping of a deleted file needs the file's saved content; a
 * shared one carries its own bytes. */
START_TEST(test_file_deleted)
{
	struct ps_mapping *map = find_kind(PS_MAP_FILE);
	struct ps_fd *f;

	map->deleted = 1;
	expect_refused(validate_as(0, 0), fmt("mapping 20000000-20001000 of the deleted file %s: "
					      "its unchanged pages were not saved", g_lib));
	f = add_fd(7, PS_FD_REG, "file", g_lib, O_RDONLY);
	f->deleted = 1;
	f->data = xstrdup("fds/7");
	f->ino = map->file.ino;
	f->dev_major = map->file.dev_major;
	f->dev_minor = map->file.dev_minor;
	ck_assert_msg(validate_as(0, 0) == 0, "refused: %s", g_err);
	f->ino++;
	map->shared = 1;
	ck_assert_msg(validate_as(0, 0) == 0, "refused: %s", g_err);
}
END_TEST

START_TEST(test_shared_anon_ok)
{
	struct ps_mapping *map = find_kind(PS_MAP_FILE);

	/* What backend/memory.c makes of a MAP_SHARED|MAP_ANONYMOUS region. */
	map->kind = PS_MAP_SHMEM;
	map->shared = 1;
	map->deleted = 1;
	set_bytes(&map->path, "/dev/zero");
	ck_assert_msg(validate_as(0, 0) == 0, "refused: %s", g_err);
}
END_TEST

START_TEST(test_kernel_made_mapping)
{
	struct ps_mapping *map = find_kind(PS_MAP_FILE);

	map->kind = PS_MAP_OTHER;
	set_bytes(&map->path, "[uprobes]");
	expect_refused(validate_as(0, 0), "mapping 20000000-20001000 ([uprobes]): the kernel makes "
		       "these itself");
}
END_TEST

/* ---- the vDSO ---- */

START_TEST(test_vdso_missing_vvar)
{
	find_kind(PS_MAP_VVAR)->kind = PS_MAP_ANON;
	expect_refused(validate_as(0, 0), "mapping, which this kernel maps next to the vDSO");
}
END_TEST

START_TEST(test_vdso_size)
{
	find_kind(PS_MAP_VDSO)->end += 4096;
	expect_refused(validate_as(0, 0), "this kernel's");
	expect_refused(validate_as(0, 0), "the vDSO code differs");
}
END_TEST

START_TEST(test_vdso_two)
{
	struct ps_mapping *anon = find_kind(PS_MAP_ANON);

	free(anon->content);
	anon->content = NULL;
	anon->kind = PS_MAP_VDSO;
	expect_refused(validate_as(0, 0), "the image has 2 [vdso] mappings; a process has exactly one");
}
END_TEST

/* A userfaultfd registration is refused by name, not dropped. */
START_TEST(test_userfaultfd_mapping)
{
	struct ps_mapping *anon = find_kind(PS_MAP_ANON);

	anon->vm_flags = realloc(anon->vm_flags, (anon->nvm_flags + 1) * sizeof(char *));
	anon->vm_flags[anon->nvm_flags++] = strdup("um");
	expect_refused(validate_as(0, 0), "mapping 10000000-10002000 (VmFlags um): it is registered "
		       "with a userfaultfd (missing faults)");
}
END_TEST

/* A caller other than root locks no more than RLIMIT_MEMLOCK allows. */
START_TEST(test_caller_locked_memory)
{
	struct ps_mapping *anon = find_kind(PS_MAP_ANON);

	be_uid(54321);
	anon->vm_flags = realloc(anon->vm_flags, (anon->nvm_flags + 1) * sizeof(char *));
	anon->vm_flags[anon->nvm_flags++] = strdup("lo");
	g_m.proc.rlimits[RLIMIT_MEMLOCK] = (struct ps_rlimit){ 4096, 4096 };
	expect_refused(validate_as(54321, 54321), "mapping 10000000-10002000 and the process's other "
		       "locked memory (mlock): 8192 bytes, more than its RLIMIT_MEMLOCK of 4096: "
		       "uid 54321 may not lock them without CAP_IPC_LOCK");
	g_m.proc.rlimits[RLIMIT_MEMLOCK] = (struct ps_rlimit){ 8192, 8192 };
	g_m.maps.lock_future = MCL_FUTURE;
	ck_assert_int_eq(validate_as(54321, 54321), 0);
	g_m.proc.rlimits[RLIMIT_MEMLOCK] = (struct ps_rlimit){ 0, 0 };
	expect_refused(validate_as(54321, 54321), "mlockall MCL_FUTURE");
}
END_TEST

START_TEST(test_vvar_moved)
{
	struct ps_mapping *vvar = find_kind(PS_MAP_VVAR);

	vvar->start -= 4096;
	vvar->end -= 4096;
	expect_refused(validate_as(0, 0), "the vDSO cannot be put back with its data pages");
}
END_TEST

START_TEST(test_no_vdso_ok)
{
	for (size_t i = 0; i < g_m.maps.count; i++) {
		struct ps_mapping *map = &g_m.maps.items[i];

		if (map->kind == PS_MAP_VDSO || map->kind == PS_MAP_VVAR)
			map->kind = PS_MAP_ANON;
	}
	ck_assert_msg(validate_as(0, 0) == 0, "refused: %s", g_err);
}
END_TEST

/* ---- the executable and descriptors ---- */

START_TEST(test_exe_missing)
{
	set_bytes(&g_m.proc.exe, "/nonexistent/prog");
	expect_refused(validate_as(0, 0), "the executable /nonexistent/prog is missing");
}
END_TEST

/* A process saved with children would come back alone. */
START_TEST(test_children)
{
	static pid_t kids[] = { 30001, 30002 };

	g_m.proc.children = kids;
	g_m.proc.nchildren = 2;
	expect_refused(validate_as(0, 0), "process 30000 had 2 child processes when it was saved "
		       "(30001, ...), which the image does not hold");
	g_m.proc.children = NULL;
	g_m.proc.nchildren = 0;
}
END_TEST

START_TEST(test_fd_unsupported)
{
	struct ps_fd *f = add_fd(4, PS_FD_PIPE, "pipe", "pipe:[1234]", O_RDONLY);

	f->supported = 0;
	f->unsupported_reason = xstrdup("pipes are not saved yet");
	expect_refused(validate_as(0, 0), "fd 4 (pipe): pipes are not saved yet");
}
END_TEST

START_TEST(test_fd_forged_supported)
{
	add_fd(4, PS_FD_SOCKET, "socket", "socket:[99]", O_RDWR);
	expect_refused(validate_as(0, 0), "fd 4: a socket without its state (\"socket\")");
}
END_TEST

static struct ps_socket *add_unix_socket(int n, int type, enum ps_sock_state state, int peer_fd)
{
	struct ps_fd *f = add_fd(n, PS_FD_SOCKET, "socket", "socket:[99]", O_RDWR);

	f->kind = PS_FD_KIND_UNIX;
	f->u.sock.family = AF_UNIX;
	f->u.sock.type = type;
	f->u.sock.state = state;
	f->u.sock.peer_fd = peer_fd;
	return &f->u.sock;
}

START_TEST(test_fd_socket_pair_must_point_back)
{
	add_unix_socket(4, SOCK_STREAM, PS_SOCK_CONNECTED, 5);
	add_unix_socket(5, SOCK_STREAM, PS_SOCK_CONNECTED, 6);
	add_unix_socket(6, SOCK_STREAM, PS_SOCK_CONNECTED, 5);
	expect_refused(validate_as(0, 0), "fd 4: its socket's peer, fd 5, is not a socket "
		       "connected back to it");
}
END_TEST

START_TEST(test_fd_socket_messages_need_a_way_back)
{
	struct ps_socket *s = add_unix_socket(4, SOCK_DGRAM, PS_SOCK_UNBOUND, -1);
	static uint32_t lens[] = { 3 };

	s->msgs = malloc(sizeof(lens));
	memcpy(s->msgs, lens, sizeof(lens));
	s->nmsgs = 1;
	expect_refused(validate_as(0, 0), "fd 4: unread messages on a socket they cannot be "
		       "sent back to");
}
END_TEST

/* A forged list of lengths must not decide how much restore reads into
 * memory: the total is the data file's size as image.json lists it. */
START_TEST(test_fd_socket_messages_match_their_file)
{
	static uint32_t lens[] = { 0x7fffffff };
	struct ps_fd *f;
	struct ps_socket *s;

	add_unix_socket(4, SOCK_STREAM, PS_SOCK_CONNECTED, 5);
	add_unix_socket(5, SOCK_STREAM, PS_SOCK_CONNECTED, 4);
	f = &g_m.fds.items[g_m.fds.count - 2];   /* fd 4: items moved when fd 5 was added */
	f->data = xstrdup("fds/4");
	s = &f->u.sock;
	s->msgs = malloc(sizeof(lens));
	memcpy(s->msgs, lens, sizeof(lens));
	s->nmsgs = 1;
	expect_refused(validate_as(0, 0), "fd 4: its unread messages add up to 2147483647 bytes, "
		       "but image.json lists fds/4 with 0");
}
END_TEST

START_TEST(test_fd_socket_listening_needs_a_name)
{
	add_unix_socket(4, SOCK_STREAM, PS_SOCK_LISTENING, -1);
	expect_refused(validate_as(0, 0), "fd 4: a listening socket without an address");
}
END_TEST

START_TEST(test_fd_socket_pair_accepted)
{
	add_unix_socket(4, SOCK_SEQPACKET, PS_SOCK_CONNECTED, 5);
	add_unix_socket(5, SOCK_SEQPACKET, PS_SOCK_CONNECTED, 4);
	ck_assert_msg(validate_as(0, 0) == 0, "refused: %s", g_err);
}
END_TEST

START_TEST(test_fd_missing)
{
	add_fd(3, PS_FD_REG, "file", "/tmp/x.log.does-not-exist", O_RDONLY);
	expect_refused(validate_as(0, 0), "fd 3: /tmp/x.log.does-not-exist is missing");
}
END_TEST

START_TEST(test_fd_type_changed)
{
	add_fd(3, PS_FD_REG, "file", g_dir, O_RDONLY);
	expect_refused(validate_as(0, 0), fmt("fd 3: %s is no longer a regular file", g_dir));
}
END_TEST

START_TEST(test_fd_deleted)
{
	/* a deleted file's bytes must be in the image */
	add_fd(3, PS_FD_REG, "file", g_log, O_RDONLY)->deleted = 1;
	expect_refused(validate_as(0, 0), "fd 3: a file without its content file (\"data\")");
}
END_TEST

START_TEST(test_fd_pty_master)
{
	struct ps_fd *f = add_fd(3, PS_FD_CHR, "char", "/dev/ptmx", O_RDWR);

	f->rdev_major = 5;
	f->rdev_minor = 2;
	f->kind = ps_fd_kind_of_chr(f->rdev_major);   /* a terminal, by its device */
	expect_refused(validate_as(0, 0), "fd 3: /dev/ptmx is a pseudo-terminal master");
}
END_TEST

START_TEST(test_fd_missing_tty_ok)
{
	struct ps_fd *f = add_fd(3, PS_FD_CHR, "char", "/dev/pts/4242", O_RDWR);

	f->rdev_major = 136;
	f->rdev_minor = 4242;
	f->kind = ps_fd_kind_of_chr(f->rdev_major);   /* a terminal, by its device */
	ck_assert_msg(validate_as(0, 0) == 0, "refused: %s", g_err);
}
END_TEST

START_TEST(test_fd_above_limit)
{
	add_fd(1 << 30, PS_FD_REG, "file", g_log, O_RDONLY);
	expect_refused(validate_as(0, 0), "is above the open-file limit");
}
END_TEST

static Suite *validate_suite(void)
{
	Suite *s = suite_create("validate");
	TCase *machine = tcase_create("machine");
	TCase *state = tcase_create("state");
	TCase *creds = tcase_create("creds");
	TCase *memory = tcase_create("memory");
	TCase *vdso = tcase_create("vdso");
	TCase *fds = tcase_create("fds");
	TCase *all[] = { machine, state, creds, memory, vdso, fds };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		tcase_add_checked_fixture(all[i], setup, teardown);

	tcase_add_test(machine, test_valid_image);
	tcase_add_test(machine, test_arch_and_pages);
	tcase_add_test(machine, test_kernel_release);
	tcase_add_test(machine, test_threads);
	tcase_add_test(machine, test_pid_one);
	tcase_add_test(machine, test_pid_still_running);
	tcase_add_test(machine, test_pid_other_process);
	tcase_add_test(machine, test_pid_zombie);
	tcase_add_test(machine, test_pid_max);
	suite_add_tcase(s, machine);

	tcase_add_test(state, test_seccomp);
	tcase_add_test(state, test_posix_timers);
	tcase_add_test(state, test_pending_kill);
	suite_add_tcase(s, state);

	tcase_add_test(creds, test_caller_not_root);
	tcase_add_test(creds, test_caller_gid);
	tcase_add_test(creds, test_caller_caps);
	tcase_add_test(creds, test_caller_groups);
	tcase_add_test(creds, test_caller_seccomp);
	tcase_add_test(creds, test_caller_access);
	tcase_add_test(creds, test_caller_made_files);
	tcase_add_test(creds, test_caller_proc_links);
	tcase_add_test(creds, test_caller_device);
	tcase_add_test(creds, test_caller_links);
	tcase_add_test(creds, test_caller_exe);
	tcase_add_test(creds, test_caller_mapped_file);
	tcase_add_test(creds, test_caller_watch_and_bind);
	tcase_add_test(creds, test_caller_privileged_port);
	tcase_add_test(creds, test_chroot_needs_root);
	tcase_add_test(creds, test_caps_inconsistent);
	tcase_add_test(creds, test_caps_beyond_own);
	suite_add_tcase(s, creds);

	tcase_add_test(memory, test_content_missing);
	tcase_add_test(memory, test_content_size);
	tcase_add_test(memory, test_content_unlisted);
	tcase_add_test(memory, test_file_missing);
	tcase_add_test(memory, test_file_build_id);
	tcase_add_test(memory, test_file_size);
	tcase_add_test(memory, test_file_mtime);
	tcase_add_test(memory, test_file_deleted);
	tcase_add_test(memory, test_shared_anon_ok);
	tcase_add_test(memory, test_kernel_made_mapping);
	suite_add_tcase(s, memory);

	tcase_add_test(vdso, test_vdso_missing_vvar);
	tcase_add_test(vdso, test_vdso_size);
	tcase_add_test(vdso, test_vdso_two);
	tcase_add_test(creds, test_caller_locked_memory);
	tcase_add_test(creds, test_userfaultfd_mapping);
	tcase_add_test(vdso, test_vvar_moved);
	tcase_add_test(vdso, test_no_vdso_ok);
	suite_add_tcase(s, vdso);

	tcase_add_test(fds, test_exe_missing);
	tcase_add_test(fds, test_children);
	tcase_add_test(fds, test_fd_unsupported);
	tcase_add_test(fds, test_fd_forged_supported);
	tcase_add_test(fds, test_fd_socket_pair_must_point_back);
	tcase_add_test(fds, test_fd_socket_messages_need_a_way_back);
	tcase_add_test(fds, test_fd_socket_messages_match_their_file);
	tcase_add_test(fds, test_fd_socket_listening_needs_a_name);
	tcase_add_test(fds, test_fd_socket_pair_accepted);
	tcase_add_test(fds, test_fd_missing);
	tcase_add_test(fds, test_fd_type_changed);
	tcase_add_test(fds, test_fd_deleted);
	tcase_add_test(fds, test_fd_pty_master);
	tcase_add_test(fds, test_fd_missing_tty_ok);
	tcase_add_test(fds, test_fd_above_limit);
	tcase_add_test(fds, test_attributes_defaults);
	tcase_add_test(fds, test_attributes_refused);
	tcase_add_test(fds, test_attributes_caller);
	suite_add_tcase(s, fds);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(validate_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
