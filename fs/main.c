/* procsnap's entry point and lifecycle: mount, daemonize, then start the
 * backend in init and stop it in destroy, around libfuse's threaded loop. */
#define FUSE_USE_VERSION 314

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <fuse.h>

#include "fs/holds.h"
#include "fs/log.h"
#include "fs/mount_guard.h"
#include "fs/options.h"
#include "fs/spool_dir.h"
#include "fs/spool_restore.h"
#include "fs/spool_writer.h"
#include "fs/tree.h"
#include "backend/warnings.h"
#include "restore/restorer.h"
#include "backend/snapshot.h"

/* Requests of up to 1 MiB: big memory files stream in few round trips. */
#define PS_IO_SIZE (1u << 20)

static struct {
	struct ps_options opt;
	int backend_started;
	int holds_started;
	int writer_started;
	int init_failed;
} M;

/* The backend's warnings go where fuse_log goes (fs/log.c). */
static void log_backend_warning(const char *line)
{
	fuse_log(FUSE_LOG_WARNING, "procsnap: %s\n", line);
}

/* Snapshots change under unchanged names and die after the hold time:
 * the kernel must cache nothing, and files must have no hidden twins. */
static void configure(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->entry_timeout = 0;
	cfg->attr_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->use_ino = 0;
	cfg->direct_io = 0;
	cfg->kernel_cache = 0;
	cfg->auto_cache = 0;
	/* an open file unlinked in restore/ must not become a .fuse_hidden
	 * file inside an image */
	cfg->hard_remove = 1;
	/* every handle carries what its operations need */
	cfg->nullpath_ok = 1;
	/* libfuse derives max_pages from max_write; it cannot exceed the
	 * buffer libfuse allocated, so only lower it. */
	if (conn->max_write > PS_IO_SIZE)
		conn->max_write = PS_IO_SIZE;
	/* Requests are read with read(), not spliced: a spliced request must
	 * fit a pipe of pipe-max-size (1 MiB by default) with its header,
	 * which would cut every 1 MiB write of a copy tool into two requests,
	 * and the data of a write is copied once either way (into a
	 * write-behind buffer, spool_writer.c). Measured: a 1 GiB image into
	 * restore/ 1.6-1.8 s spliced, 1.2-1.4 s read. */
	conn->want &= ~FUSE_CAP_SPLICE_READ;
}

static void stop_services(void)
{
	if (M.writer_started)
		ps_spool_writer_stop();
	M.writer_started = 0;
	/* our holds first, so each snapshot is released exactly once */
	if (M.holds_started)
		ps_holds_stop();
	M.holds_started = 0;
	if (M.backend_started)
		ps_backend_stop();
	M.backend_started = 0;
}

/* Runs in the daemon, after the fork: the tracer thread must live there. */
static int start_services(char *err, size_t errlen)
{
	char why[512] = "";

	if (ps_backend_start(why, sizeof(why)) < 0) {
		snprintf(err, errlen, "cannot start the backend: %s", why[0] ? why : "unknown error");
		return -1;
	}
	M.backend_started = 1;
	if (ps_holds_start(M.opt.hold, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s", why);
		stop_services();
		return -1;
	}
	M.holds_started = 1;
	if (ps_spool_writer_start(err, errlen) < 0) {
		stop_services();
		return -1;
	}
	M.writer_started = 1;
	return 0;
}

static void *on_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	char err[600];

	configure(conn, cfg);
	if (start_services(err, sizeof(err)) < 0) {
		fuse_log(FUSE_LOG_ERR, "procsnap: %s; unmounting\n", err);
		M.init_failed = 1;
		fuse_exit(fuse_get_context()->fuse);
	}
	return NULL;
}

/* libfuse calls this from fuse_destroy() whether the loop ended by
 * unmount, SIGTERM/SIGINT/SIGHUP or fuse_exit. */
static void on_destroy(void *private_data)
{
	(void)private_data;
	ps_tree_close_all();
	stop_services();
}

static int loop(struct fuse *fuse)
{
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	int rc;

	if (!cfg)
		return -1;
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	rc = fuse_loop_mt(fuse, cfg);
	fuse_loop_cfg_destroy(cfg);
	/* a positive value is the signal that ended the loop: a clean stop */
	return rc < 0 ? -1 : 0;
}

static int serve(struct fuse *fuse)
{
	struct fuse_session *se = fuse_get_session(fuse);
	int rc;

	if (fuse_mount(fuse, M.opt.mountpoint) != 0) {
		fprintf(stderr, "procsnap: cannot mount on %s\n", M.opt.mountpoint);
		return -1;
	}
	if (fuse_daemonize(M.opt.foreground) != 0) {
		fuse_unmount(fuse);
		return -1;
	}
	if (!M.opt.foreground)
		ps_log_to_syslog();
	ps_guard_spool_owner();
	if (fuse_set_signal_handlers(se) != 0) {
		fuse_log(FUSE_LOG_ERR, "procsnap: cannot install signal handlers\n");
		fuse_unmount(fuse);
		return -1;
	}
	rc = loop(fuse);
	fuse_remove_signal_handlers(se);
	fuse_unmount(fuse);
	return rc;
}

/* The restore runs with the authority of whoever completed the image
 * (docs/security.md); the hook runs in that caller's FUSE request thread. */
static int restore_as_caller(const char *dir, struct ps_prefill *prefill, pid_t *pid, char *err,
			     size_t errlen)
{
	struct fuse_context *ctx = fuse_get_context();

	struct ps_restore_options opt = { .timens = M.opt.timens };

	return ps_restore_image(dir, ctx->uid, ctx->gid, &opt, prefill, pid, err, errlen);
}

/* Refused before anything is mounted: a second procsnap on the mount
 * point, or on the spool (two daemons would each believe its images and
 * their state theirs). The spool is swept of what a killed procsnap left
 * half-written only once it is ours. */
static int take_mountpoint_and_spool(char *err, size_t errlen)
{
	int rc = ps_guard_mountpoint(M.opt.mountpoint, err, errlen);

	if (rc == 0)
		rc = ps_spool_init(M.opt.spool, M.opt.allow_other, M.opt.keep_staged, err, errlen);
	if (rc == 0)
		rc = ps_guard_spool(M.opt.spool, M.opt.mountpoint, err, errlen);
	if (rc == 0)
		ps_spool_sweep();
	return rc;
}

static int run(void)
{
	struct fuse_operations ops;
	struct fuse *fuse;
	char err[600];
	int rc;

	ps_log_set_sink(log_backend_warning);
	ps_tree_setup(M.opt.allow_other);
	ps_tree_operations(&ops);
	ops.init = on_init;
	ops.destroy = on_destroy;
	fuse = fuse_new(&M.opt.args, &ops, sizeof(ops), NULL);
	if (!fuse)
		return -1;  /* libfuse has said which option it did not like */
	rc = take_mountpoint_and_spool(err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "procsnap: %s\n", err);
	ps_spool_set_restorer(restore_as_caller);
	if (rc == 0)
		rc = serve(fuse);
	fuse_destroy(fuse);  /* runs on_destroy if init ran */
	stop_services();     /* in case it did not */
	ps_spool_fini();
	ps_guard_release();
	return rc < 0 || M.init_failed ? -1 : 0;
}

int main(int argc, char *argv[])
{
	char err[600];
	int rc;

	/* the kernel has applied the caller's umask to modes in restore/
	 * already; ours must not apply a second time */
	umask(0);
	rc = ps_options_parse(argc, argv, &M.opt);
	if (rc)
		return rc < 0 ? 1 : 0;
	rc = ps_log_start(M.opt.log, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "procsnap: %s\n", err);
	/* other users in means the kernel checks modes and owners for us */
	if (M.opt.allow_other && fuse_opt_add_arg(&M.opt.args, "-odefault_permissions") < 0) {
		fprintf(stderr, "procsnap: out of memory\n");
		rc = -1;
	}
	if (rc == 0)
		rc = run();
	ps_log_stop();
	ps_options_free(&M.opt);
	return rc < 0 ? 1 : 0;
}
