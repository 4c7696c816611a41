/* Caller mode: the one place where a restore for a caller other than root
 * reaches the files, devices and socket names an image names, as that caller. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "restore/as_caller.h"
#include "restore/creds.h"
#include "backend/proc_parse.h"

/* ---- taking the caller's credentials and giving them back ---- */

static int call_ok(long rc)
{
	return rc < 0 ? (int)rc : 0;
}

/* What the kernel says the main thread runs as, once it entered caller
 * mode: a surprise here (securebits that keep capabilities across a uid
 * change, say) must stop the restore before any path is reached. */
static int check_entered(struct ps_rctx *c)
{
	struct ps_status st;
	int rc = ps_read_status(c->pid, &st);

	if (rc < 0)
		return ps_rfail(c, rc, "/proc/%d/status: %s", c->pid, strerror(-rc));
	free(st.groups);
	if (st.uid[0] != c->uid || st.uid[1] != c->uid || st.uid[3] != c->uid ||
	    st.gid[0] != c->gid || st.gid[1] != c->gid || st.gid[3] != c->gid || st.cap_eff)
		return ps_rfail(c, -EPERM, "the new process did not take uid %u's credentials (it "
				"runs as uid %u, fsuid %u, gid %u, effective capabilities %#llx): "
				"nothing of the image is opened with procsnap's rights",
				(unsigned)c->uid, (unsigned)st.uid[1], (unsigned)st.uid[3],
				(unsigned)st.gid[1], (unsigned long long)st.cap_eff);
	return 0;
}

/*
 * setresuid/setresgid keep the saved ids at 0, so that the way back needs
 * no privilege, and set the fs ids, which path lookup and file creation
 * use, along with the effective ones. A real and effective uid of the
 * caller also make what the stub connects, sends and creates carry the
 * caller's identity (SO_PEERCRED, SCM_CREDENTIALS, socket and pipe owners,
 * per-user limits). Leaving uid 0 for an effective uid clears the effective
 * capabilities unless SECBIT_NO_SETUID_FIXUP is set, so capset empties them
 * in any case; permitted ones stay for the way back. CAP_SETGID goes with
 * the uid, so the groups come first.
 */
int ps_caller_enter(struct ps_rctx *c)
{
	const struct ps_creds *cr = &c->m->proc.creds;
	struct ps_caps now;
	char what[80];
	int rc;

	if (c->uid == 0 || c->as_caller)
		return 0;
	rc = ps_stub_caps(c, &now);
	if (rc == 0)
		rc = ps_set_groups(c, cr->groups, cr->ngroups);
	snprintf(what, sizeof(what), "setresgid(%u, %u, -1)", (unsigned)c->gid, (unsigned)c->gid);
	if (rc == 0)
		rc = call_ok(ps_rcall(c, what, SYS_setresgid, c->gid, c->gid, (uint32_t)-1, 0, 0, 0));
	snprintf(what, sizeof(what), "setresuid(%u, %u, -1)", (unsigned)c->uid, (unsigned)c->uid);
	if (rc == 0)
		rc = call_ok(ps_rcall(c, what, SYS_setresuid, c->uid, c->uid, (uint32_t)-1, 0, 0, 0));
	if (rc == 0)
		rc = ps_set_caps(c, 0, now.prm, now.inh);
	if (rc == 0)
		rc = check_entered(c);
	if (rc)
		return rc;
	c->as_caller = 1;
	c->cap_prm = now.prm;
	c->cap_inh = now.inh;
	return 0;
}

/* The stub is a fork of procsnap, which runs as root: the saved ids are
 * 0, so the uid comes back without privilege, then the capabilities, then
 * procsnap's own gid and groups with CAP_SETGID. */
int ps_caller_leave(struct ps_rctx *c)
{
	gid_t groups[256];
	int n, rc;

	if (!c->as_caller)
		return 0;
	n = getgroups(sizeof(groups) / sizeof(groups[0]), groups);
	if (n < 0)
		return ps_rfail(c, -errno, "getgroups: %s", strerror(errno));
	rc = call_ok(ps_rcall(c, "setresuid(0, 0, -1)", SYS_setresuid, 0, 0, (uint32_t)-1, 0, 0, 0));
	if (rc == 0)
		rc = ps_set_caps(c, c->cap_prm, c->cap_prm, c->cap_inh);
	if (rc == 0)
		rc = call_ok(ps_rcall(c, "setresgid(0, 0, -1)", SYS_setresgid, 0, 0, (uint32_t)-1,
				      0, 0, 0));
	if (rc == 0)
		rc = ps_set_groups(c, groups, (size_t)n);
	if (rc == 0)
		c->as_caller = 0;
	return rc;
}

/* ---- the gate ---- */

/* Every x86_64 syscall that resolves a path name or a socket address (the
 * ones newer than this libc's headers by number). fd-only ones (fchmod,
 * fchdir, fstat...) act on what was opened as the caller already. */
static int resolves_path(long nr)
{
	switch (nr) {
	case SYS_open: case SYS_openat: case SYS_openat2: case SYS_creat:
	case SYS_stat: case SYS_lstat: case SYS_newfstatat: case SYS_statx: case SYS_statfs:
	case SYS_access: case SYS_faccessat: case SYS_faccessat2:
	case SYS_readlink: case SYS_readlinkat:
	case SYS_chdir: case SYS_chroot: case SYS_pivot_root:
	case SYS_mkdir: case SYS_mkdirat: case SYS_rmdir: case SYS_mknod: case SYS_mknodat:
	case SYS_link: case SYS_linkat: case SYS_symlink: case SYS_symlinkat:
	case SYS_unlink: case SYS_unlinkat: case SYS_rename: case SYS_renameat: case SYS_renameat2:
	case SYS_chmod: case SYS_fchmodat: case SYS_chown: case SYS_lchown: case SYS_fchownat:
	case SYS_truncate: case SYS_utime: case SYS_utimes: case SYS_futimesat: case SYS_utimensat:
	case SYS_setxattr: case SYS_lsetxattr: case SYS_getxattr: case SYS_lgetxattr:
	case SYS_listxattr: case SYS_llistxattr: case SYS_removexattr: case SYS_lremovexattr:
	case SYS_execve: case SYS_execveat: case SYS_uselib: case SYS_acct:
	case SYS_mount: case SYS_umount2: case SYS_open_tree: case SYS_move_mount: case SYS_fspick:
	case SYS_mount_setattr: case SYS_swapon: case SYS_swapoff: case SYS_quotactl:
	case SYS_inotify_add_watch: case SYS_fanotify_mark: case SYS_name_to_handle_at:
	case SYS_bind: case SYS_connect: case SYS_sendto: case SYS_sendmsg: case SYS_sendmmsg:
	case 452:                   /* fchmodat2 */
	case 463: case 464: case 465: case 466:   /* setxattrat, getxattrat, listxattrat, removexattrat */
	case 467:                   /* open_tree_attr */
		return 1;
	default:
		return 0;
	}
}

int ps_caller_may_run(const struct ps_rctx *c, long nr)
{
	return c->uid == 0 || (c->as_caller && c->r.tid == c->pid) || !resolves_path(nr);
}

/* ---- /proc links ---- */

static int all_digits(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int is_word(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(s, w, n) == 0;
}

/* The first components of path as the kernel walks it without symlinks:
 * "//" and "." vanish, ".." takes one back. */
#define FIRST_PARTS 6
struct parts {
	const char *at[FIRST_PARTS];
	size_t len[FIRST_PARTS];
	size_t n;
};

static void split(const char *path, struct parts *p)
{
	const char *s = path;

	p->n = 0;
	while (*s) {
		size_t n = strcspn(s, "/");

		if (is_word(s, n, "..") && p->n > 0)
			p->n--;
		else if (n && !is_word(s, n, ".") && !is_word(s, n, "..") && p->n < FIRST_PARTS) {
			p->at[p->n] = s;
			p->len[p->n++] = n;
		}
		s += n;
		s += *s == '/';
	}
}

static int is_link_entry(const char *s, size_t n)
{
	static const char *const links[] = { "root", "cwd", "exe", "fd", "map_files", "ns" };

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (is_word(s, n, links[i]))
			return 1;
	return 0;
}

int ps_proc_link_in(const char *path, char *link, size_t len)
{
	struct parts p;
	size_t i = 2, used = 0;

	split(path, &p);
	if (path[0] != '/' || p.n < 2 || !is_word(p.at[0], p.len[0], "proc"))
		return 0;
	if (is_word(p.at[1], p.len[1], "self") || is_word(p.at[1], p.len[1], "thread-self")) {
		i = 1;
	} else {
		if (!all_digits(p.at[1], p.len[1]))
			return 0;
		if (p.n > 3 && is_word(p.at[2], p.len[2], "task") && all_digits(p.at[3], p.len[3]))
			i = 4;
		if (p.n <= i || !is_link_entry(p.at[i], p.len[i]))
			return 0;
	}
	for (size_t k = 0; k <= i && used < len; k++)
		used += (size_t)snprintf(link + used, len - used, "/%.*s", (int)p.len[k], p.at[k]);
	return 1;
}

/* ---- syscalls that reach what the image names ---- */

void ps_caller_refusal(char *buf, size_t len, const char *who, uid_t uid, const char *deed, int e)
{
	snprintf(buf, len, "%s: uid %u may not %s (%s)", who, (unsigned)uid, deed, strerror(e));
}

long ps_caller_call(struct ps_rctx *c, const char *who, const char *deed, long nr, uint64_t a0,
		    uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	char what[PS_PATH_MAX + 192];
	long rc;

	snprintf(what, sizeof(what), "%s: cannot %s", who, deed);
	rc = ps_rcall(c, what, nr, a0, a1, a2, a3, a4, a5);
	if (c->uid && (rc == -EACCES || rc == -EPERM))
		ps_caller_refusal(c->err, c->errlen, who, c->uid, deed, (int)-rc);
	return rc;
}

static void open_deed(char *buf, size_t len, const char *path, int flags)
{
	static const char *const modes[] = { "reading", "writing", "reading and writing", "?" };

	if ((flags & O_TMPFILE) == O_TMPFILE)
		snprintf(buf, len, "make a file in %s", path);
	else if (flags & O_PATH)
		snprintf(buf, len, "reach %s", path);
	else
		snprintf(buf, len, "open %s for %s", path, modes[flags & O_ACCMODE]);
}

/* openat2 refuses (EINVAL) with O_PATH the flags open() ignores with it. */
#define PATH_FLAGS (O_PATH | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW)

/*
 * RESOLVE_NO_MAGICLINKS makes the kernel refuse (ELOOP) to follow a /proc
 * link anywhere on the way, also one a symlink of the path leads to: such
 * links jump to another process's files without the directory checks a
 * path gets. A root caller keeps a plain open. O_NONBLOCK always: a FIFO
 * without a writer, a lease or a modem line must never keep the stub
 * waiting inside our syscall (fds.c gives each fd its own flags back).
 */
long ps_caller_open(struct ps_rctx *c, const char *who, const char *path, int flags,
		    unsigned mode)
{
	int open_as = (flags & O_PATH) ? flags & PATH_FLAGS : flags | O_NONBLOCK;
	struct open_how how = { (uint64_t)open_as, mode, c->uid ? RESOLVE_NO_MAGICLINKS : 0 };
	size_t len = strlen(path) + 1;
	char deed[PS_PATH_MAX + 64], link[64];
	uint64_t path_at, how_at;
	long fd;

	if (c->uid && ps_proc_link_in(path, link, sizeof(link)))
		return ps_rfail(c, -EPERM, "%s: %s goes through %s into a process's files: only "
				"root may restore such a path", who, path, link);
	if (len > PS_SCRATCH_SIZE - sizeof(how))
		return ps_rfail(c, -ENAMETOOLONG, "%s: the path %.64s... is too long", who, path);
	path_at = ps_rput(c, 0, path, len);
	how_at = path_at ? ps_rput(c, PS_SCRATCH_SIZE - sizeof(how), &how, sizeof(how)) : 0;
	if (!how_at)
		return -EIO;
	open_deed(deed, sizeof(deed), path, flags);
	fd = ps_caller_call(c, who, deed, SYS_openat2, (uint64_t)(int64_t)AT_FDCWD, path_at, how_at,
			    sizeof(how), 0, 0);
	if (fd == -ELOOP && c->uid)
		ps_rfail(c, -ELOOP, "%s: uid %u may not %s: the path goes through a link of /proc "
			 "into a process's files, or loops (%s)", who, (unsigned)c->uid, deed,
			 strerror(ELOOP));
	return fd;
}

int ps_caller_fstat(struct ps_rctx *c, const char *who, long fd, struct stat *st)
{
	char what[128];
	long rc;

	snprintf(what, sizeof(what), "%s: fstat of what was opened", who);
	rc = ps_rcall(c, what, SYS_fstat, (uint64_t)fd, c->scratch, 0, 0, 0, 0);
	return rc < 0 ? (int)rc : ps_rget(c, c->scratch, st, sizeof(*st));
}
