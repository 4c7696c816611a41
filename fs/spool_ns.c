/* Each user's namespace of staged images in the spool (images/<uid>/): from
 * a path of restore/ to a path there, and root's listing of everyone's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/spool_dir.h"
#include "fs/spool_ns.h"

#define UID_DIGITS 10   /* uid_t is 32 bits */

/* A uid in canonical decimal: no sign, no leading zero, not 0 (root's own
 * images need no suffix), not (uid_t)-1. */
static int parse_uid(const char *s, size_t len, uid_t *out)
{
	unsigned long long v = 0;

	if (len == 0 || len > UID_DIGITS || s[0] == '0')
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long long)(s[i] - '0');
	}
	if (v >= (uid_t)-1)
		return 0;
	*out = (uid_t)v;
	return 1;
}

/* "img@1001" (len bytes of comp): user 1001's "img". */
static int foreign_name(const char *comp, size_t len, size_t *name_len, uid_t *owner)
{
	const char *at = memrchr(comp, '@', len);

	if (!at || at == comp)
		return 0;
	if (!parse_uid(at + 1, len - (size_t)(at + 1 - comp), owner))
		return 0;
	*name_len = (size_t)(at - comp);
	return 1;
}

/* The kernel never sends them; a path that has one is not ours to follow. */
static int has_dot_component(const char *rel)
{
	for (const char *c = rel; *c; ) {
		size_t len = strcspn(c, "/");

		if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return 1;
		c += len;
		c += *c == '/';
	}
	return 0;
}

int ps_ns_place(const char *rel, uid_t caller, struct ps_place *p)
{
	size_t len = strcspn(rel, "/"), name_len = len;
	uid_t owner = caller;
	int n;

	if (has_dot_component(rel))
		return -EINVAL;
	p->foreign = caller == 0 && foreign_name(rel, len, &name_len, &owner);
	if (!*rel)
		n = snprintf(p->path, sizeof(p->path), "%u", (unsigned)owner);
	else
		n = snprintf(p->path, sizeof(p->path), "%u/%.*s%s", (unsigned)owner, (int)name_len, rel,
			     rel + len);
	return n < 0 || (size_t)n >= sizeof(p->path) ? -ENAMETOOLONG : 0;
}

int ps_ns_ensure(int images_fd, const char *path)
{
	char uid[UID_DIGITS + 1];
	size_t len = strcspn(path, "/");

	if (len == 0 || len > UID_DIGITS)
		return -EINVAL;
	memcpy(uid, path, len);
	uid[len] = '\0';
	if (mkdirat(images_fd, uid, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The entries of one user's namespace, each as "<name>@<uid>". */
static int list_one(int images_fd, const char *uid, ps_ns_entry_fn fn, void *ctx, int *stop)
{
	char shown[NAME_MAX + 1];
	DIR *d = ps_spool_dir_stream(images_fd, uid);
	struct dirent *de;

	if (!d)
		return -errno;
	while (!*stop && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		/* a name too long to carry its suffix cannot be looked up by
		 * root either; its owner still sees it */
		if (snprintf(shown, sizeof(shown), "%s@%s", de->d_name, uid) >= (int)sizeof(shown))
			continue;
		*stop = fn(ctx, shown, (mode_t)DTTOIF(de->d_type));
	}
	closedir(d);
	return 0;
}

int ps_ns_list_others(int images_fd, ps_ns_entry_fn fn, void *ctx)
{
	DIR *d = ps_spool_dir_stream(images_fd, NULL);
	struct dirent *de;
	int stop = 0;
	uid_t uid;

	if (!d)
		return -errno;
	while (!stop && (de = readdir(d))) {
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (parse_uid(de->d_name, strlen(de->d_name), &uid))
			list_one(images_fd, de->d_name, fn, ctx, &stop);
	}
	closedir(d);
	return 0;
}
