/* fds.json: one entry per open descriptor with its type, kind, open flags,
 * position, path, file identity and data file; the kinds add their own. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "image/codec.h"
#include "image/fd_codec.h"
#include "image/fd_kinds.h"
#include "image/json_util.h"

#define MAX_KIND 255
#define MAX_REASON 4096
#define FD_DATA_NAME_MAX 32

static const struct ps_name type_names[] = {
	{ PS_FD_REG, "reg" }, { PS_FD_DIR, "dir" }, { PS_FD_CHR, "chr" },
	{ PS_FD_BLK, "blk" }, { PS_FD_PIPE, "pipe" }, { PS_FD_FIFO, "fifo" },
	{ PS_FD_SOCKET, "socket" }, { PS_FD_ANON, "anon" }, { PS_FD_OTHER, "other" },
	{ 0, NULL },
};

/* Open flags with the kernel's x86_64 values (f_flags as fdinfo shows them;
 * glibc defines O_LARGEFILE as 0 on 64-bit, the kernel sets it). The access
 * mode is a two-bit field, named as one of three values. */
static const struct ps_flag open_flags[] = {
	{ 03, 00, "O_RDONLY" }, { 03, 01, "O_WRONLY" }, { 03, 02, "O_RDWR" },
	{ 0100, 0100, "O_CREAT" }, { 0200, 0200, "O_EXCL" }, { 0400, 0400, "O_NOCTTY" },
	{ 01000, 01000, "O_TRUNC" }, { 02000, 02000, "O_APPEND" },
	{ 04000, 04000, "O_NONBLOCK" }, { 010000, 010000, "O_DSYNC" },
	{ 020000, 020000, "O_ASYNC" }, { 040000, 040000, "O_DIRECT" },
	{ 0100000, 0100000, "O_LARGEFILE" }, { 0200000, 0200000, "O_DIRECTORY" },
	{ 0400000, 0400000, "O_NOFOLLOW" }, { 01000000, 01000000, "O_NOATIME" },
	{ 04000000, 04000000, "__O_SYNC" }, { 010000000, 010000000, "O_PATH" },
	{ 020000000, 020000000, "__O_TMPFILE" },
	{ 0, 0, NULL },
};
#define KERNEL_O_CLOEXEC 02000000

/* ---- encoding ---- */

static int encode_ids(json_t *o, const struct ps_fd *f)
{
	int rc = 0;

	rc |= json_object_set_new(o, "dev", ps_json_dev(f->dev_major, f->dev_minor));
	rc |= json_object_set_new(o, "rdev", ps_json_dev(f->rdev_major, f->rdev_minor));
	rc |= json_object_set_new(o, "ino", ps_json_count(f->ino));
	rc |= json_object_set_new(o, "mode", ps_json_octal(f->mode));
	rc |= json_object_set_new(o, "mnt_id", json_integer(f->mnt_id));
	return rc;
}

/* The kind's fields follow "data"; a dup's "dup_of" comes last. */
static json_t *encode_fd(const struct ps_fd *f)
{
	const struct ps_fd_kind_ops *ops = ps_fd_ops(f);
	const char *kind = ps_fd_kind_json_name(f);
	json_t *o = json_object();
	int rc = 0;

	rc |= json_object_set_new(o, "fd", json_integer(f->fd));
	rc |= json_object_set_new(o, "type", ps_json_enum(f->type, type_names));
	if (kind)
		rc |= json_object_set_new(o, "kind", json_string(kind));
	rc |= json_object_set_new(o, "flags", ps_json_flags((uint32_t)f->flags, open_flags));
	rc |= json_object_set_new(o, "flags_raw", ps_json_hex((uint32_t)f->flags));
	rc |= json_object_set_new(o, "cloexec", json_boolean(f->cloexec));
	rc |= json_object_set_new(o, "pos", ps_json_count(f->pos));
	rc |= json_object_set_new(o, "path", ps_json_bytes(f->path.data, f->path.len));
	rc |= json_object_set_new(o, "deleted", json_boolean(f->deleted));
	rc |= encode_ids(o, f);
	rc |= json_object_set_new(o, "supported", json_boolean(f->supported));
	if (f->unsupported_reason)   /* may quote a path: bytes, not only UTF-8 */
		rc |= json_object_set_new(o, "unsupported_reason",
					  ps_json_bytes(f->unsupported_reason,
							strlen(f->unsupported_reason)));
	rc |= json_object_set_new(o, "data", f->data ? json_string(f->data) : json_null());
	if (ops->encode)
		rc |= ops->encode(o, f);
	if (f->is_dup)
		rc |= json_object_set_new(o, "dup_of", json_integer(f->dup_of));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *ps_encode_fds(const struct ps_fds *fds)
{
	json_t *o = ps_json_new_file();
	json_t *a = json_array();
	int rc = 0;

	for (size_t i = 0; i < fds->count; i++)
		rc |= json_array_append_new(a, encode_fd(&fds->items[i]));
	rc |= json_object_set_new(o, "fds", a);
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- decoding ---- */

/* *kind: the entry's "kind" name (malloc'd), NULL if it has none. */
static int decode_number_type(const json_t *j, struct ps_fd *f, char **kind, struct ps_jerr *e)
{
	long long fd, type;

	if (ps_jget_int(j, "fd", 0, INT_MAX, &fd, e) ||
	    ps_jget_enum(j, "type", type_names, 0, &type, e))
		return -EINVAL;
	f->fd = (int)fd;
	f->type = (enum ps_fd_type)type;
	if (!ps_jhas(j, "kind"))
		return 0;
	return ps_jget_strdup(j, "kind", MAX_KIND, kind, e);
}

/* Which kind the entry is, from its "kind" name with its type, device,
 * support and socket family (image/fd_kinds.c). */
static int decode_kind(const json_t *j, struct ps_fd *f, const char *kind, struct ps_jerr *e)
{
	if (ps_fd_kind_from_json_name(f, kind, ps_fd_socket_family(j)))
		return ps_jerr_nomem(e);
	return 0;
}

/* Fields of one kind in another kind's entry. */
static int refuse_foreign_fields(const json_t *j, const struct ps_fd *f, struct ps_jerr *e)
{
	if (ps_jhas(j, "epoll") && f->kind != PS_FD_KIND_EPOLL)
		return ps_jerr_fail(e, "field \"epoll\" is only for eventpoll descriptors");
	if (ps_jhas(j, "pipe_size") && f->kind != PS_FD_KIND_PIPE)
		return ps_jerr_fail(e, "field \"pipe_size\" is only for pipes and FIFOs");
	return 0;
}

/* O_CLOEXEC lives in "cloexec", never in the flags. */
static int decode_flags(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	uint64_t flags;

	if (ps_jget_flags_raw(j, "flags", "flags_raw", open_flags, &flags, e) ||
	    ps_jget_bool(j, "cloexec", &f->cloexec, e))
		return -EINVAL;
	if (flags > UINT32_MAX || (flags & KERNEL_O_CLOEXEC))
		return ps_jerr_fail(e, "field \"flags_raw\" has bits open() does not take here");
	f->flags = (int)flags;
	return 0;
}

/* The file type in mode must be the one "type" names, for the types that
 * have one; restore relies on it when it reopens the file. */
static int check_mode_type(const struct ps_fd *f, struct ps_jerr *e)
{
	static const unsigned fmt_of[] = {
		[PS_FD_REG] = S_IFREG, [PS_FD_DIR] = S_IFDIR, [PS_FD_CHR] = S_IFCHR,
		[PS_FD_BLK] = S_IFBLK, [PS_FD_PIPE] = S_IFIFO, [PS_FD_FIFO] = S_IFIFO,
		[PS_FD_SOCKET] = S_IFSOCK,
	};

	if (!f->supported || f->type > PS_FD_SOCKET)
		return 0;
	if ((f->mode & S_IFMT) != fmt_of[f->type])
		return ps_jerr_fail(e, "field \"mode\" has a file type other than \"type\" says");
	return 0;
}

static int decode_file(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	long long mnt_id;
	uint64_t mode;

	if (ps_jget_count(j, "pos", &f->pos, e) ||
	    ps_jget_path(j, "path", 0, &f->path, e) ||
	    ps_jget_bool(j, "deleted", &f->deleted, e) ||
	    ps_jget_dev(j, "dev", &f->dev_major, &f->dev_minor, e) ||
	    ps_jget_dev(j, "rdev", &f->rdev_major, &f->rdev_minor, e) ||
	    ps_jget_count(j, "ino", &f->ino, e) ||
	    ps_jget_octal(j, "mode", 0177777, &mode, e) ||
	    ps_jget_int(j, "mnt_id", -1, INT_MAX, &mnt_id, e))
		return -EINVAL;
	if (f->pos > INT64_MAX)   /* loff_t */
		return ps_jerr_fail(e, "field \"pos\" is beyond any file offset");
	f->mode = (uint32_t)mode;
	f->mnt_id = (int)mnt_id;
	return 0;
}

static int decode_support(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	struct ps_bytes reason = { 0 };

	if (ps_jget_bool(j, "supported", &f->supported, e))
		return -EINVAL;
	if (f->supported) {
		if (json_object_get(j, "unsupported_reason"))
			return ps_jerr_fail(e, "field \"unsupported_reason\" is only for unsupported fds");
		return 0;
	}
	if (!ps_jhas(j, "unsupported_reason"))
		return 0;
	if (ps_jget_bytes(j, "unsupported_reason", MAX_REASON, &reason, e))
		return -EINVAL;
	f->unsupported_reason = reason.data;   /* NUL-terminated, ownership moves */
	return 0;
}

/* Like memory content names, the data file's name is fixed by the fd. */
static int decode_data(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	char expect[FD_DATA_NAME_MAX];

	if (!ps_jhas(j, "data"))
		return 0;
	ps_fd_data_name(expect, sizeof(expect), f->fd);
	if (ps_jget_strdup(j, "data", FD_DATA_NAME_MAX, &f->data, e))
		return -EINVAL;
	if (strcmp(f->data, expect) != 0)
		return ps_jerr_fail(e, "field \"data\" is \"%s\", but must be \"%s\"", f->data, expect);
	return 0;
}

static int decode_dup(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	long long of;

	if (ps_jget_int(j, "dup_of", 0, INT_MAX, &of, e))
		return -EINVAL;
	if (of >= f->fd)
		return ps_jerr_fail(e, "field \"dup_of\" must name a lower fd than %d", f->fd);
	f->is_dup = 1;
	f->dup_of = (int)of;
	return 0;
}

/* The kind's fields need to know whether the entry is a dup (a dup has
 * none of most kinds' state): "dup_of" is looked at first, read last. */
static int decode_fd(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	const struct ps_fd_kind_ops *ops;
	char *kind = NULL;
	int rc;

	rc = ps_jv_object(j, "fds[]", e) ||
	     decode_number_type(j, f, &kind, e) ||
	     decode_flags(j, f, e) ||
	     decode_file(j, f, e) ||
	     decode_support(j, f, e) ||
	     decode_kind(j, f, kind, e) ||
	     check_mode_type(f, e) ||
	     decode_data(j, f, e) ||
	     refuse_foreign_fields(j, f, e);
	free(kind);
	if (rc)
		return -EINVAL;
	ops = ps_fd_ops(f);
	f->is_dup = ps_jhas(j, "dup_of");
	if (ops->decode && ops->decode(j, f, e))
		return -EINVAL;
	if (f->is_dup && decode_dup(j, f, e))
		return -EINVAL;
	return 0;
}

static int decode_all(const json_t *j, struct ps_fds *fds, struct ps_jerr *e)
{
	const json_t *a;
	size_t n;

	if (ps_jcheck_format(j, e) ||
	    ps_jget_array_max(j, "fds", PS_MAX_FDS, "fds an image may hold", &a, &n, e))
		return -EINVAL;
	fds->items = calloc(n ? n : 1, sizeof(*fds->items));
	if (!fds->items)
		return ps_jerr_nomem(e);
	fds->count = n;
	for (size_t i = 0; i < n; i++) {
		size_t mark = ps_jerr_push(e, "entry %zu", i);
		if (decode_fd(json_array_get(a, i), &fds->items[i], e))
			return -EINVAL;
		if (i > 0 && fds->items[i].fd <= fds->items[i - 1].fd)
			return ps_jerr_fail(e, "field \"fd\" is %d: entries must be in increasing fd order",
					    fds->items[i].fd);
		ps_jerr_pop(e, mark);
	}
	return 0;
}

int ps_decode_fds(const json_t *j, struct ps_fds *out, char *err, size_t errlen)
{
	struct ps_jerr e;
	int rc;

	ps_jerr_init(&e, err, errlen, "fds.json");
	memset(out, 0, sizeof(*out));
	rc = decode_all(j, out, &e);
	if (rc)
		ps_fds_free(out);
	return ps_jerr_rc(&e, rc);
}
