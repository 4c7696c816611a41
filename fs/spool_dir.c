/* The spool on disk: images/ and tmp/ made and opened at start, every path
 * below images/ opened confined beneath it, and what such a path names. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/fileio.h"
#include "fs/image_state.h"
#include "fs/spool_dir.h"
#include "fs/spool_progress.h"
#include "fs/spool_reaper.h"
#include "fs/spool_status.h"

static struct {
	int fd;                    /* the spool's images/: a directory per uid */
	int tmp_fd;                /* the spool's tmp/: state files being written */
	char *path;                /* images/'s absolute path */
	int shared;
	int keep_staged;
} S = {
	.fd = -1,
	.tmp_fd = -1,
};

/* ---- the spool directory ---- */

/* mkdir -p with mode 0700: staged images may hold other users' memory. */
static int make_dirs(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* spool/<name>, made 0700 if missing, opened as a directory. */
static int open_spool_dir(int spool_fd, const char *spool, const char *name, char *err,
			  size_t errlen)
{
	int fd;

	if (mkdirat(spool_fd, name, 0700) < 0 && errno != EEXIST) {
		fd = -errno;
		snprintf(err, errlen, "cannot create %s/%s: %s", spool, name, strerror(errno));
		return fd;
	}
	fd = openat(spool_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		fd = -errno;
		snprintf(err, errlen, "cannot open %s/%s: %s", spool, name, strerror(errno));
	}
	return fd;
}

/* images/ for the images, tmp/ for state files on their way into them. */
static int open_spool(const char *spool, char *err, size_t errlen)
{
	int spool_fd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (spool_fd < 0) {
		int rc = -errno;

		snprintf(err, errlen, "cannot open spool directory %s: %s", spool, strerror(errno));
		return rc;
	}
	S.fd = open_spool_dir(spool_fd, spool, "images", err, errlen);
	if (S.fd >= 0)
		S.tmp_fd = open_spool_dir(spool_fd, spool, "tmp", err, errlen);
	close(spool_fd);
	return S.fd < 0 ? S.fd : S.tmp_fd < 0 ? S.tmp_fd : 0;
}

int ps_spool_init(const char *spool, int shared, int keep_staged, char *err, size_t errlen)
{
	char *real;
	int rc = make_dirs(spool);

	if (rc < 0) {
		snprintf(err, errlen, "cannot create spool directory %s: %s", spool, strerror(-rc));
		return rc;
	}
	real = realpath(spool, NULL);
	if (!real) {
		rc = -errno;
		snprintf(err, errlen, "bad spool directory %s: %s", spool, strerror(errno));
		return rc;
	}
	rc = open_spool(real, err, errlen);
	if (rc == 0 && asprintf(&S.path, "%s/images", real) < 0) {
		S.path = NULL;
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
	}
	free(real);
	S.shared = shared;
	S.keep_staged = keep_staged;
	return rc;
}

void ps_spool_sweep(void)
{
	struct dirent *de;
	DIR *d = ps_spool_dir_stream(S.tmp_fd, NULL);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_type != DT_DIR)
			unlinkat(S.tmp_fd, de->d_name, 0);
	closedir(d);
}

void ps_spool_fini(void)
{
	ps_spool_reaper_stop();
	ps_spool_images_fini();
	ps_progress_fini();
	if (S.fd >= 0)
		close(S.fd);
	if (S.tmp_fd >= 0)
		close(S.tmp_fd);
	S.fd = S.tmp_fd = -1;
	free(S.path);
	S.path = NULL;
}

int ps_spool_images_fd(void)
{
	return S.fd;
}

int ps_spool_tmp_fd(void)
{
	return S.tmp_fd;
}

int ps_spool_shared(void)
{
	return S.shared;
}

int ps_spool_keep_staged(void)
{
	return S.keep_staged;
}

/* ---- paths, confined beneath the spool's images/ ---- */

int ps_spool_open_beneath(const char *path, int flags, mode_t mode)
{
	return ps_open_beneath(S.fd, path, flags, mode);
}

int ps_spool_open_parent(const char *path, const char **base)
{
	return ps_open_parent_beneath(S.fd, path, base);
}

int ps_spool_image_path(const char *key, char *buf, size_t len)
{
	return snprintf(buf, len, "%s/%s", S.path, key) < (int)len ? 0 : -ENAMETOOLONG;
}

/* dirfd itself is duplicated: the stream's position is the fd's, shared by
 * the duplicate, so it starts over. */
DIR *ps_spool_dir_stream(int dirfd, const char *name)
{
	int fd = name ? openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
		      : fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	DIR *d;
	int saved;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d) {
		saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	rewinddir(d);
	return d;
}

/* ---- what a path names ---- */

int ps_spool_image_key(const char *path, char key[PS_SPOOL_KEY_MAX])
{
	const char *slash = strchr(path, '/');
	size_t len;

	if (!slash || !slash[1])
		return 0;
	len = (size_t)(slash + 1 - path) + strcspn(slash + 1, "/");
	if (len >= PS_SPOOL_KEY_MAX)
		return 0;
	memcpy(key, path, len);
	key[len] = '\0';
	return 1;
}

const char *ps_spool_below_image(const char *path)
{
	const char *slash = strchr(path, '/');

	slash = slash ? strchr(slash + 1, '/') : NULL;
	return slash ? slash + 1 : NULL;
}

int ps_spool_inside_image(const char *path, char key[PS_SPOOL_KEY_MAX])
{
	return ps_spool_below_image(path) && ps_spool_image_key(path, key);
}

int ps_spool_is_top(const char *path)
{
	return strchr(path, '/') && !ps_spool_below_image(path);
}

int ps_spool_is_image_dir(const char *key)
{
	struct stat st;

	return fstatat(S.fd, key, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

int ps_spool_is_status(const char *path)
{
	const char *below = ps_spool_below_image(path);
	char key[PS_SPOOL_KEY_MAX];

	return below && !strcmp(below, PS_STATE_NAME) && ps_spool_image_key(path, key) &&
	       ps_spool_is_image_dir(key);
}
