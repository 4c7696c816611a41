/* Capture of the SysV shared memory segments a process has attached: each
 * /SYSV<key> mapping's segment, with its id, key, size, mode and owners. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/part_capture.h"
#include "backend/proc_parse.h"
#include "backend/sentence.h"

#define SHM_DEST_MODE 01000   /* SHM_DEST in shm_perm.mode: IPC_RMID'd while attached */
#define SHM_LOCKED_MODE 02000 /* SHM_LOCKED in shm_perm.mode: SHM_LOCK'd */

/* /proc/sysvipc/shm shows the segments of the reader's IPC namespace: the
 * process must be in procsnap's for its ids to mean anything here. */
static int check_ipc_namespace(pid_t pid, char *err, size_t errlen)
{
	char path[64];
	struct stat mine, its;

	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", (int)pid);
	if (stat(path, &its) < 0 || stat("/proc/self/ns/ipc", &mine) < 0)
		return ps_fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (its.st_ino != mine.st_ino || its.st_dev != mine.st_dev)
		return ps_fail(err, errlen, -ENOTSUP, "the process has SysV shared memory attached "
			       "and is in another IPC namespace than procsnap's");
	return 0;
}

/* One line of /proc/sysvipc/shm (ipc/shm.c sysvipc_shm_proc_show): key,
 * shmid, perms (octal, with SHM_DEST), size, cpid, lpid, nattch, uid, gid,
 * cuid, cgid, then times. */
static int parse_line(const char *line, struct ps_sysv_shm *s)
{
	int key, shmid, cpid, lpid;
	unsigned perms, uid, gid, cuid, cgid;
	unsigned long long size, nattch;

	if (sscanf(line, "%d %d %o %llu %d %d %llu %u %u %u %u", &key, &shmid, &perms, &size,
		   &cpid, &lpid, &nattch, &uid, &gid, &cuid, &cgid) != 11)
		return -EINVAL;
	s->shmid = shmid;
	s->size = size;
	s->mode = perms & 0777;
	s->removed = (perms & SHM_DEST_MODE) != 0;
	s->locked = (perms & SHM_LOCKED_MODE) != 0;
	s->uid = uid;
	s->gid = gid;
	s->cuid = cuid;
	s->cgid = cgid;
	return 0;
}

static int find_segment(const char *table, int shmid, struct ps_sysv_shm *out)
{
	const char *line = strchr(table, '\n');   /* past the heading */

	while (line && *++line) {
		struct ps_sysv_shm s;

		if (parse_line(line, &s) == 0 && s.shmid == shmid) {
			*out = s;
			return 0;
		}
		line = strchr(line, '\n');
	}
	return -ENOENT;
}

/* The mapping's file is the segment: its inode number is the shmid and
 * its name "/SYSV" and the key in eight hex digits (ipc/shm.c newseg). */
static int capture_segment(const char *table, struct ps_mapping *m, char *err, size_t errlen)
{
	unsigned key;
	char tail;

	if (sscanf(m->path.data, "/SYSV%8x%c", &key, &tail) != 1)
		return ps_fail(err, errlen, -EINVAL, "mapping %llx-%llx: \"%s\" is not a SysV "
			       "segment's name", (unsigned long long)m->start,
			       (unsigned long long)m->end, m->path.data);
	m->sysv = calloc(1, sizeof(*m->sysv));
	if (!m->sysv)
		return ps_fail(err, errlen, -ENOMEM, "out of memory");
	if (m->file.ino > 0x7fffffff || find_segment(table, (int)m->file.ino, m->sysv) < 0)
		return ps_fail(err, errlen, -ENOENT, "mapping %llx-%llx: SysV segment %llu is not "
			       "in /proc/sysvipc/shm", (unsigned long long)m->start,
			       (unsigned long long)m->end, (unsigned long long)m->file.ino);
	m->sysv->key = key;
	return 0;
}

static int has_segments(const struct ps_maps *maps)
{
	for (size_t i = 0; i < maps->count; i++)
		if (maps->items[i].kind == PS_MAP_SYSV)
			return 1;
	return 0;
}

/* Where the attachment holding mapping m begins: shmat maps a whole segment. */
static uint64_t attachment_of(const struct ps_mapping *m)
{
	return m->start - m->offset;
}

/* A segment's bytes are saved once, with its first attachment (whose pieces
 * cover all of it: restore/sysv_shm.c refuses a partial one); the others
 * show the same pages. */
static void save_bytes_once(struct ps_maps *maps)
{
	for (size_t i = 0; i < maps->count; i++) {
		struct ps_mapping *m = &maps->items[i];

		for (size_t j = 0; m->kind == PS_MAP_SYSV && m->content && j < i; j++) {
			const struct ps_mapping *o = &maps->items[j];

			if (o->kind != PS_MAP_SYSV || o->sysv->shmid != m->sysv->shmid ||
			    attachment_of(o) == attachment_of(m))
				continue;
			free(m->content);
			free(m->data);
			m->content = NULL;
			m->data = NULL;
			m->ndata = 0;
			m->data_pages = 0;
		}
	}
}

int ps_capture_sysv_shm(pid_t pid, struct ps_maps *maps, char *err, size_t errlen)
{
	char *table = NULL;
	size_t len;
	int rc;

	if (!has_segments(maps))
		return 0;
	rc = check_ipc_namespace(pid, err, errlen);
	if (rc)
		return rc;
	rc = ps_read_file("/proc/sysvipc/shm", &table, &len);
	if (rc < 0)
		return ps_fail(err, errlen, rc, "/proc/sysvipc/shm: %s", strerror(-rc));
	for (size_t i = 0; !rc && i < maps->count; i++)
		if (maps->items[i].kind == PS_MAP_SYSV)
			rc = capture_segment(table, &maps->items[i], err, errlen);
	free(table);
	if (!rc)
		save_bytes_once(maps);
	return rc;
}
