/* Capture of the process part: what /proc shows (ids, comm, exe, cwd, root,
 * cmdline, environ, umask, credentials, rlimits, personality, mm), then brk,
 * securebits and dumpable read inside the target. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "backend/part_capture.h"
#include "backend/proc_parse.h"
#include "backend/proclist.h"
#include "backend/sentence.h"

/* Reads /proc/<pid>/<name>; on failure err says which file and why. */
static int read_proc_file(pid_t pid, const char *name, char **text, size_t *len,
			  char *err, size_t errlen)
{
	char path[64];
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	rc = ps_read_file(path, text, len);
	if (rc < 0)
		snprintf(err, errlen, "reading %s: %s", path, strerror(-rc));
	return rc;
}

static int parse_failed(pid_t pid, const char *name, int rc, char *err, size_t errlen)
{
	if (rc == -EINVAL)
		snprintf(err, errlen, "parsing /proc/%d/%s: %s (the text is not in the expected format)",
			 (int)pid, name, strerror(-rc));
	else
		snprintf(err, errlen, "parsing /proc/%d/%s: %s", (int)pid, name, strerror(-rc));
	return rc;
}

/* readlink of /proc/<pid>/<name> (exe, cwd, root) into b. */
static int read_proc_link(pid_t pid, const char *name, struct ps_bytes *b,
			  char *err, size_t errlen)
{
	char path[64], *target;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	target = malloc(PS_PATH_MAX + 1);
	if (!target)
		return -ENOMEM;
	n = readlink(path, target, PS_PATH_MAX + 1);
	if (n < 0 || n > PS_PATH_MAX) {
		int rc = n < 0 ? -errno : -ENAMETOOLONG;

		snprintf(err, errlen, "reading the link %s: %s", path, strerror(-rc));
		free(target);
		return rc;
	}
	target[n] = '\0';
	b->data = target;
	b->len = (size_t)n;
	return 0;
}

static int capture_stat(pid_t pid, struct ps_process *p, char *err, size_t errlen)
{
	struct ps_stat st;
	size_t len;
	char *text;
	int rc;

	rc = read_proc_file(pid, "stat", &text, &len, err, errlen);
	if (rc < 0)
		return rc;
	rc = ps_parse_stat(text, &st);
	free(text);
	if (rc < 0)
		return parse_failed(pid, "stat", rc, err, errlen);
	if (st.pid != pid) {
		snprintf(err, errlen, "/proc/%d/stat describes pid %d", (int)pid, (int)st.pid);
		return -EINVAL;
	}
	p->pid = st.pid;
	p->ppid = st.ppid;
	p->pgid = st.pgrp;
	p->sid = st.session;
	memcpy(p->comm, st.comm, sizeof(p->comm));
	p->mm.start_code = st.start_code;
	p->mm.end_code = st.end_code;
	p->mm.start_stack = st.start_stack;
	p->mm.start_data = st.start_data;
	p->mm.end_data = st.end_data;
	p->mm.start_brk = st.start_brk;
	p->mm.arg_start = st.arg_start;
	p->mm.arg_end = st.arg_end;
	p->mm.env_start = st.env_start;
	p->mm.env_end = st.env_end;
	return 0;
}

/* ps_parse_status leaves a missing Umask line at 0, which is also a real
 * umask; a live process always has the line, so its absence is an error. */
static int status_has_umask(const char *text)
{
	return strncmp(text, "Umask:", 6) == 0 || strstr(text, "\nUmask:") != NULL;
}

static int capture_status(pid_t pid, struct ps_process *p, char *err, size_t errlen)
{
	struct ps_status st;
	size_t len;
	char *text;
	int rc;

	rc = read_proc_file(pid, "status", &text, &len, err, errlen);
	if (rc < 0)
		return rc;
	rc = ps_parse_status(text, &st);
	if (rc == 0 && !status_has_umask(text)) {
		free(st.groups);
		free(text);
		snprintf(err, errlen, "/proc/%d/status has no Umask line (has the process exited?)",
			 (int)pid);
		return -EINVAL;
	}
	free(text);
	if (rc < 0)
		return parse_failed(pid, "status", rc, err, errlen);
	p->umask = st.umask;
	memcpy(p->creds.uid, st.uid, sizeof(p->creds.uid));
	memcpy(p->creds.gid, st.gid, sizeof(p->creds.gid));
	p->creds.groups = st.groups;
	p->creds.ngroups = st.ngroups;
	p->creds.cap_inh = st.cap_inh;
	p->creds.cap_prm = st.cap_prm;
	p->creds.cap_eff = st.cap_eff;
	p->creds.cap_bnd = st.cap_bnd;
	p->creds.cap_amb = st.cap_amb;
	p->creds.no_new_privs = st.no_new_privs;
	p->creds.seccomp = st.seccomp;
	return 0;
}

static int capture_strings(pid_t pid, const char *name, struct ps_strlist *out,
			   char *err, size_t errlen)
{
	size_t len;
	char *text;
	int rc;

	rc = read_proc_file(pid, name, &text, &len, err, errlen);
	if (rc < 0)
		return rc;
	rc = ps_split_nul(text, len, out);
	free(text);
	if (rc < 0)
		return parse_failed(pid, name, rc, err, errlen);
	return 0;
}

/* rlimits come from /proc/<pid>/limits: prlimit() on another process needs
 * CAP_SYS_RESOURCE, which procsnap may not have. */
static int capture_limits(pid_t pid, struct ps_process *p, char *err, size_t errlen)
{
	size_t len;
	char *text;
	int rc;

	rc = read_proc_file(pid, "limits", &text, &len, err, errlen);
	if (rc < 0)
		return rc;
	rc = ps_parse_limits(text, p->rlimits);
	free(text);
	if (rc < 0)
		return parse_failed(pid, "limits", rc, err, errlen);
	return 0;
}

static int capture_auxv(pid_t pid, struct ps_process *p, char *err, size_t errlen)
{
	size_t len;
	char *buf;
	int rc;

	rc = read_proc_file(pid, "auxv", &buf, &len, err, errlen);
	if (rc < 0)
		return rc;
	rc = ps_parse_auxv(buf, len, &p->mm.auxv, &p->mm.nauxv);
	free(buf);
	if (rc < 0)
		return parse_failed(pid, "auxv", rc, err, errlen);
	return 0;
}

/* /proc/<pid>/personality is "%08x\n". */
static int capture_personality(pid_t pid, struct ps_process *p, char *err, size_t errlen)
{
	unsigned long v;
	char *text, *end;
	size_t len;
	int rc;

	rc = read_proc_file(pid, "personality", &text, &len, err, errlen);
	if (rc < 0)
		return rc;
	errno = 0;
	v = strtoul(text, &end, 16);
	if (errno || end == text || (*end != '\n' && *end != '\0')) {
		free(text);
		return parse_failed(pid, "personality", -EINVAL, err, errlen);
	}
	free(text);
	p->personality = v;
	return 0;
}

/* The frozen process cannot fork; a child may still exit meanwhile, and
 * stays a child (a zombie) until the process waits for it. */
static int capture_children(pid_t pid, struct ps_process *p, char *err, size_t errlen)
{
	int rc = ps_proclist_children(pid, &p->children, &p->nchildren);

	if (rc < 0)
		return ps_fail(err, errlen, rc, "listing the children of process %d in /proc: %s",
			       (int)pid, strerror(-rc));
	return 0;
}

static void free_strings(struct ps_strlist *l)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		free(l->items[i].data);
	free(l->items);
}

/* Frees a partial capture (all of it came from malloc here). */
static void free_captured(struct ps_process *p)
{
	free(p->exe.data);
	free(p->cwd.data);
	free(p->root.data);
	free_strings(&p->cmdline);
	free_strings(&p->environ);
	free(p->creds.groups);
	free(p->mm.auxv);
	free(p->children);
}

/* Moves what this file captured from tmp into p, keeping the fields filled
 * by the remote-syscall capture (securebits, dumpable, brk) and the timers
 * part's (backend/timers.c). */
static void install_captured(struct ps_process *p, struct ps_process *tmp)
{
	uint32_t securebits = p->creds.securebits;
	int dumpable = p->creds.dumpable;
	uint64_t brk = p->mm.brk;
	struct ps_itimer itimers[3];

	memcpy(itimers, p->itimers, sizeof(itimers));
	tmp->timers = p->timers;
	tmp->ntimers = p->ntimers;
	*p = *tmp;
	p->creds.securebits = securebits;
	p->creds.dumpable = dumpable;
	p->mm.brk = brk;
	memcpy(p->itimers, itimers, sizeof(itimers));
}

int ps_capture_process_proc(pid_t pid, struct ps_process *p, char *err, size_t errlen)
{
	struct ps_process tmp;
	int rc;

	memset(&tmp, 0, sizeof(tmp));
	if ((rc = capture_stat(pid, &tmp, err, errlen)) < 0 ||
	    (rc = capture_status(pid, &tmp, err, errlen)) < 0 ||
	    (rc = capture_strings(pid, "cmdline", &tmp.cmdline, err, errlen)) < 0 ||
	    (rc = capture_strings(pid, "environ", &tmp.environ, err, errlen)) < 0 ||
	    (rc = capture_limits(pid, &tmp, err, errlen)) < 0 ||
	    (rc = capture_auxv(pid, &tmp, err, errlen)) < 0 ||
	    (rc = capture_personality(pid, &tmp, err, errlen)) < 0 ||
	    (rc = read_proc_link(pid, "exe", &tmp.exe, err, errlen)) < 0 ||
	    (rc = read_proc_link(pid, "cwd", &tmp.cwd, err, errlen)) < 0 ||
	    (rc = read_proc_link(pid, "root", &tmp.root, err, errlen)) < 0 ||
	    (rc = capture_children(pid, &tmp, err, errlen)) < 0) {
		free_captured(&tmp);
		return rc;
	}
	install_captured(p, &tmp);
	return 0;
}

int ps_capture_process(struct ps_capture *c, char *err, size_t errlen)
{
	return ps_capture_process_proc(c->frozen.pid, &c->model.proc, err, errlen);
}

int ps_capture_process_remote(struct ps_remote *r, uint64_t scratch, struct ps_model *m,
			      size_t thread, char *err, size_t errlen)
{
	long ret;
	int e;

	(void)scratch;
	if (thread != 0)
		return 0;
	/* brk(0) fails by design and so returns the current break. */
	e = ps_capture_call(r, SYS_brk, 0, 0, 0, &ret, err, errlen);
	if (e == 0)
		m->proc.mm.brk = (uint64_t)ret;
	if (e == 0)
		e = ps_capture_call(r, SYS_prctl, PR_GET_SECUREBITS, 0, 0, &ret, err, errlen);
	if (e == 0)
		m->proc.creds.securebits = ret < 0 ? 0 : (uint32_t)ret;
	if (e == 0)
		e = ps_capture_call(r, SYS_prctl, PR_GET_DUMPABLE, 0, 0, &ret, err, errlen);
	if (e == 0)
		m->proc.creds.dumpable = ret < 0 ? 1 : (int)ret;
	return e;
}
