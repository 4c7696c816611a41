/* procsnap's command line: parses argv into struct ps_options, answers
 * --help and --version, and filters what libfuse must not see. */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <fuse.h>

#include "fs/options.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

/* A hold longer than a day is surely a typo, and it would keep a process
 * stopped for that long. */
#define PS_MAX_HOLD 86400.0

enum {
	KEY_HELP,
	KEY_VERSION,
	KEY_FOREGROUND,
	KEY_DEBUG,
	KEY_HOLD,
	KEY_SPOOL,
	KEY_ALLOW_OTHER,
	KEY_TIMENS,
	KEY_KEEP_STAGED,
	KEY_LOG,
	KEY_FSNAME,
	KEY_SUBTYPE,
};

static const struct fuse_opt ps_opts[] = {
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("hold=", KEY_HOLD),
	FUSE_OPT_KEY("spool=", KEY_SPOOL),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("timens", KEY_TIMENS),
	FUSE_OPT_KEY("keep_staged", KEY_KEEP_STAGED),
	FUSE_OPT_KEY("log=", KEY_LOG),
	FUSE_OPT_KEY("fsname=", KEY_FSNAME),
	FUSE_OPT_KEY("subtype=", KEY_SUBTYPE),
	/* mount(8) and fstab pass these; fuse_new rejects them, and none of
	 * them means anything to procsnap. */
	FUSE_OPT_KEY("defaults", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("auto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("noauto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("user", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("users", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nouser", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("owner", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("group", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("_netdev", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nofail", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("relatime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("norelatime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("strictatime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nostrictatime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("diratime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nodiratime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("lazytime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nolazytime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("iversion", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("noiversion", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("silent", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("loud", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("comment=", FUSE_OPT_KEY_DISCARD),
	/* mount.fuse3 run by root adds "dev,suid" (mount(8)'s defaults),
	 * which would clear the nosuid,nodev libfuse mounts with. Nothing
	 * under procsnap is a device or a set-id program, and what is staged
	 * in restore/ is other users' bytes: never honour them. */
	FUSE_OPT_KEY("dev", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("suid", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_END
};

struct parse_state {
	struct ps_options *o;
	const char *prog;
	const char *nonopt[2];
	int nnonopt;
	int exit_now;      /* help or version printed */
	int failed;        /* error printed */
	int has_fsname;
	int has_subtype;
};

static void print_usage(const char *prog)
{
	printf("usage: %s [-f] [-d] [-o OPTION[,OPTION...]] MOUNTPOINT\n"
	       "       %s SOURCE MOUNTPOINT -o OPTIONS   (as run by mount -t fuse.procsnap)\n"
	       "\n"
	       "Shows every process as a directory of plain files: copy MOUNTPOINT/<pid>\n"
	       "out to checkpoint it, copy a saved one into MOUNTPOINT/restore/ to restart it.\n"
	       "\n"
	       "options:\n"
	       "  -h, --help           print this help and exit\n"
	       "  -V, --version        print the version and exit\n"
	       "  -f                   stay in the foreground\n"
	       "  -d, -o debug         print every FUSE request (implies -f)\n"
	       "  -o hold=SECONDS      keep a snapshot this long after its last file is\n"
	       "                       closed (default %g; fractions such as 0.5 are fine)\n"
	       "  -o spool=DIR         where restore/ keeps staged images, created 0700\n"
	       "                       (default %s)\n"
	       "  -o allow_other       let other users in: each one sees and snapshots only\n"
	       "                       the processes it could ptrace itself\n"
	       "  -o timens            restore each process in a time namespace of its own\n"
	       "                       where CLOCK_MONOTONIC and CLOCK_BOOTTIME go on from\n"
	       "                       the checkpoint instead of jumping ahead\n"
	       "  -o keep_staged       keep an image's files in the spool after it restored\n"
	       "                       (by default they are removed; status stays)\n"
	       "  -o log=FILE          append every log line to FILE too (as well as to\n"
	       "                       stderr in the foreground, syslog when daemonized)\n"
	       "  -o OPTION            any other libfuse mount option (allow_root,\n"
	       "                       auto_unmount, max_read=N, ...), see mount.fuse3(8)\n",
	       prog, prog, PS_DEFAULT_HOLD, PS_DEFAULT_SPOOL);
}

static const char *opt_value(const char *arg)
{
	return strchr(arg, '=') + 1;
}

static int parse_hold(struct parse_state *ps, const char *value)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(value, &end);
	if (errno || end == value || *end || !isfinite(v) || v < 0 || v > PS_MAX_HOLD) {
		fprintf(stderr, "%s: bad hold value '%s': expected seconds from 0 to %g, such as 2 or 0.5\n",
			ps->prog, value, PS_MAX_HOLD);
		ps->failed = 1;
		return -1;
	}
	ps->o->hold = v;
	return 0;
}

/* A path option's value, copied into *field: "what" names what it needs
 * when it is empty ("spool= needs a directory"). */
static int parse_path(struct parse_state *ps, const char *value, char **field, const char *what)
{
	if (!*value) {
		fprintf(stderr, "%s: %s\n", ps->prog, what);
		ps->failed = 1;
		return -1;
	}
	free(*field);
	*field = strdup(value);
	if (!*field) {
		fprintf(stderr, "%s: out of memory\n", ps->prog);
		ps->failed = 1;
		return -1;
	}
	return 0;
}

static int take_nonopt(struct parse_state *ps, const char *arg)
{
	if (ps->nnonopt == 2) {
		fprintf(stderr, "%s: unexpected argument '%s' (usage: %s [-f] [-d] [-o OPTIONS] MOUNTPOINT)\n",
			ps->prog, arg, ps->prog);
		ps->failed = 1;
		return -1;
	}
	ps->nonopt[ps->nnonopt++] = arg;
	return 0;
}

/* Unmatched -o options go to libfuse, except systemd's x-* ones. */
static int other_opt(const char *arg)
{
	return strncmp(arg, "x-", 2) == 0 ? 0 : 1;
}

/* fuse_opt callback: returns 0 to drop the argument, 1 to keep it for
 * fuse_new, -1 to stop parsing. */
static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct parse_state *ps = data;

	(void)outargs;
	switch (key) {
	case KEY_HELP:
		print_usage(ps->prog);
		ps->exit_now = 1;
		return -1;
	case KEY_VERSION:
		printf("procsnap %s (libfuse %s)\n", PACKAGE_VERSION, fuse_pkgversion());
		ps->exit_now = 1;
		return -1;
	case KEY_FOREGROUND:
		ps->o->foreground = 1;
		return 0;
	case KEY_DEBUG:
		ps->o->foreground = 1;
		return 1;
	case KEY_HOLD:
		return parse_hold(ps, opt_value(arg));
	case KEY_SPOOL:
		return parse_path(ps, opt_value(arg), &ps->o->spool, "spool= needs a directory");
	case KEY_ALLOW_OTHER:
		ps->o->allow_other = 1;
		return 1;
	case KEY_TIMENS:
		ps->o->timens = 1;
		return 0;
	case KEY_KEEP_STAGED:
		ps->o->keep_staged = 1;
		return 0;
	case KEY_LOG:
		return parse_path(ps, opt_value(arg), &ps->o->log, "log= needs a file name");
	case KEY_FSNAME:
		ps->has_fsname = 1;
		return 1;
	case KEY_SUBTYPE:
		ps->has_subtype = 1;
		return 1;
	case FUSE_OPT_KEY_NONOPT:
		return take_nonopt(ps, arg);
	case FUSE_OPT_KEY_OPT:
		return other_opt(arg);
	}
	return 1;
}

/* With two plain arguments (the mount helper's form) the first is the
 * source, which procsnap has no use for. */
static int resolve_mountpoint(struct parse_state *ps)
{
	const char *mp;
	struct stat st;

	if (ps->nnonopt == 0) {
		fprintf(stderr, "%s: no mount point given (try %s --help)\n", ps->prog, ps->prog);
		return -1;
	}
	mp = ps->nonopt[ps->nnonopt - 1];
	ps->o->mountpoint = realpath(mp, NULL);
	if (ps->o->mountpoint && stat(ps->o->mountpoint, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	/* a FUSE mount whose daemon died answers every access so */
	if (errno == ENOTCONN)
		fprintf(stderr, "%s: bad mount point '%s': a file system whose daemon is gone is still "
			"mounted there (fusermount3 -u %s first)\n", ps->prog, mp, mp);
	else
		fprintf(stderr, "%s: bad mount point '%s': %s\n", ps->prog, mp,
			strerror(ps->o->mountpoint ? ENOTDIR : errno));
	return -1;
}

/* So that mount(8) and df show "procsnap" and "fuse.procsnap"; and
 * nosuid,nodev said out loud, as fusermount3 does, not left to libfuse's
 * defaults. */
static int add_mount_options(struct parse_state *ps)
{
	if (!ps->has_fsname && fuse_opt_add_arg(&ps->o->args, "-ofsname=procsnap") < 0)
		return -1;
	if (!ps->has_subtype && fuse_opt_add_arg(&ps->o->args, "-osubtype=procsnap") < 0)
		return -1;
	return fuse_opt_add_arg(&ps->o->args, "-onosuid,nodev");
}

int ps_options_parse(int argc, char **argv, struct ps_options *o)
{
	struct parse_state ps = { .o = o, .prog = argc > 0 ? argv[0] : "procsnap" };
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);

	memset(o, 0, sizeof(*o));
	o->hold = PS_DEFAULT_HOLD;
	o->args = args;
	if (fuse_opt_parse(&o->args, &ps, ps_opts, opt_proc) < 0) {
		if (ps.exit_now)
			return 1;
		if (!ps.failed)
			fprintf(stderr, "%s: could not parse the command line\n", ps.prog);
		return -1;
	}
	if (resolve_mountpoint(&ps) < 0)
		return -1;
	if (!o->spool && !(o->spool = strdup(PS_DEFAULT_SPOOL))) {
		fprintf(stderr, "%s: out of memory\n", ps.prog);
		return -1;
	}
	if (add_mount_options(&ps) < 0) {
		fprintf(stderr, "%s: out of memory\n", ps.prog);
		return -1;
	}
	return 0;
}

void ps_options_free(struct ps_options *o)
{
	free(o->mountpoint);
	free(o->spool);
	free(o->log);
	fuse_opt_free_args(&o->args);
	memset(o, 0, sizeof(*o));
}
