/* The table of descriptor kinds: one row per kind with its operations, and
 * the only place a kind is found by its name (fds.json's, or /proc's). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "backend/fd_capture.h"
#include "image/fd_codec.h"
#include "image/fd_kinds.h"
#include "restore/fd_restore.h"

static void free_socket(struct ps_fd *f)
{
	free(f->u.sock.msgs);
}

static void free_inotify(struct ps_fd *f)
{
	for (size_t i = 0; i < f->u.inotify.nwatches; i++)
		ps_bytes_free(&f->u.inotify.watches[i].path);
	free(f->u.inotify.watches);
}

static void free_epoll(struct ps_fd *f)
{
	free(f->u.epoll.targets);
}

/* Indexed by enum ps_fd_kind. */
static const struct ps_fd_kind_ops kinds[PS_FD_KIND_COUNT] = {
	[PS_FD_KIND_OTHER] = {
		.kind = PS_FD_KIND_OTHER, .name = "other",
		.validate = ps_validate_fd_other, .restore = ps_restore_fd_other,
	},
	[PS_FD_KIND_FILE] = {
		.kind = PS_FD_KIND_FILE, .name = "file",
		.capture = ps_capture_fd_file,
		.encode = ps_encode_fd_content, .decode = ps_decode_fd_content,
		.validate = ps_validate_fd_file, .validate_files = ps_check_fd_file_path,
		.probes = ps_probe_fd_file,
		.restore = ps_restore_fd_file,
	},
	[PS_FD_KIND_DIR] = {
		.kind = PS_FD_KIND_DIR, .name = "dir",
		.validate = ps_validate_fd_dir, .validate_files = ps_check_fd_dir_path,
		.probes = ps_probe_fd_dir,
		.restore = ps_restore_fd_dir,
	},
	[PS_FD_KIND_PIPE] = {
		.kind = PS_FD_KIND_PIPE, .name = "pipe",
		.capture = ps_capture_fd_pipe,
		.encode = ps_encode_fd_pipe, .decode = ps_decode_fd_pipe,
		.validate = ps_validate_fd_pipe, .validate_files = ps_check_fd_fifo_path,
		.probes = ps_probe_fd_pipe,
		.restore = ps_restore_fd_pipe,
	},
	[PS_FD_KIND_UNIX] = {
		.kind = PS_FD_KIND_UNIX, .name = "unix",
		.capture = ps_capture_fd_socket, .capture_links = ps_link_fd_unix,
		.encode = ps_encode_fd_socket, .decode = ps_decode_fd_socket,
		.validate = ps_validate_fd_socket, .probes = ps_probe_fd_unix,
		.restore = ps_restore_fd_socket,
		.free = free_socket,
	},
	[PS_FD_KIND_INET] = {
		.kind = PS_FD_KIND_INET, .name = "inet",
		.capture = ps_capture_fd_socket,
		.encode = ps_encode_fd_socket, .decode = ps_decode_fd_socket,
		.validate = ps_validate_fd_socket, .restore = ps_restore_fd_socket,
		.free = free_socket,
	},
	[PS_FD_KIND_EVENTFD] = {
		.kind = PS_FD_KIND_EVENTFD, .name = "eventfd", .anon_inode = "eventfd",
		.capture = ps_capture_fd_eventfd,
		.encode = ps_encode_fd_eventfd, .decode = ps_decode_fd_eventfd,
		.restore = ps_restore_fd_eventfd,
	},
	[PS_FD_KIND_TIMERFD] = {
		.kind = PS_FD_KIND_TIMERFD, .name = "timerfd", .anon_inode = "timerfd",
		.capture = ps_capture_fd_timerfd,
		.encode = ps_encode_fd_timerfd, .decode = ps_decode_fd_timerfd,
		.validate = ps_validate_fd_timerfd, .restore = ps_restore_fd_timerfd,
	},
	[PS_FD_KIND_SIGNALFD] = {
		.kind = PS_FD_KIND_SIGNALFD, .name = "signalfd", .anon_inode = "signalfd",
		.capture = ps_capture_fd_signalfd,
		.encode = ps_encode_fd_signalfd, .decode = ps_decode_fd_signalfd,
		.restore = ps_restore_fd_signalfd,
	},
	[PS_FD_KIND_INOTIFY] = {
		.kind = PS_FD_KIND_INOTIFY, .name = "inotify", .anon_inode = "inotify",
		.capture = ps_capture_fd_inotify,
		.encode = ps_encode_fd_inotify, .decode = ps_decode_fd_inotify,
		.probes = ps_probe_fd_inotify, .restore = ps_restore_fd_inotify,
		.free = free_inotify,
	},
	[PS_FD_KIND_MEMFD] = {
		.kind = PS_FD_KIND_MEMFD, .name = "memfd",
		.capture = ps_capture_fd_memfd,
		.encode = ps_encode_fd_content, .decode = ps_decode_fd_content,
		.validate = ps_validate_fd_memfd, .restore = ps_restore_fd_memfd,
	},
	[PS_FD_KIND_EPOLL] = {
		.kind = PS_FD_KIND_EPOLL, .name = "epoll", .anon_inode = "eventpoll",
		.capture = ps_capture_fd_epoll,
		.encode = ps_encode_fd_epoll, .decode = ps_decode_fd_epoll,
		.validate = ps_validate_fd_epoll, .restore = ps_restore_fd_epoll,
		.restore_links = ps_register_fd_epoll,
		.free = free_epoll,
	},
	[PS_FD_KIND_TTY] = {
		.kind = PS_FD_KIND_TTY, .name = "tty",
		.validate = ps_validate_fd_tty, .restore = ps_restore_fd_tty,
	},
};

/*
 * fds.json's "kind" names: what /proc showed, which is not always the kind
 * (a terminal and a device file are both "char"; both socket kinds are
 * "socket"). The name of a kind with a type; for an anonymous inode, the
 * name is what says its kind.
 */
static const struct {
	const char *name;
	enum ps_fd_type type;
	enum ps_fd_kind kind;
} json_names[] = {
	{ "file", PS_FD_REG, PS_FD_KIND_FILE },
	{ "char", PS_FD_CHR, PS_FD_KIND_FILE },
	{ "char", PS_FD_CHR, PS_FD_KIND_TTY },
	{ "directory", PS_FD_DIR, PS_FD_KIND_DIR },
	{ "pipe", PS_FD_PIPE, PS_FD_KIND_PIPE },
	{ "fifo", PS_FD_FIFO, PS_FD_KIND_PIPE },
	{ "socket", PS_FD_SOCKET, PS_FD_KIND_UNIX },
	{ "socket", PS_FD_SOCKET, PS_FD_KIND_INET },
	{ "eventfd", PS_FD_ANON, PS_FD_KIND_EVENTFD },
	{ "timerfd", PS_FD_ANON, PS_FD_KIND_TIMERFD },
	{ "signalfd", PS_FD_ANON, PS_FD_KIND_SIGNALFD },
	{ "inotify", PS_FD_ANON, PS_FD_KIND_INOTIFY },
	{ "memfd", PS_FD_ANON, PS_FD_KIND_MEMFD },
	{ "eventpoll", PS_FD_ANON, PS_FD_KIND_EPOLL },
};
#define NJSON_NAMES (sizeof(json_names) / sizeof(json_names[0]))

const struct ps_fd_kind_ops *ps_fd_kind_ops(enum ps_fd_kind k)
{
	if ((unsigned)k >= PS_FD_KIND_COUNT)
		k = PS_FD_KIND_OTHER;
	return &kinds[k];
}

const struct ps_fd_kind_ops *ps_fd_ops(const struct ps_fd *f)
{
	return ps_fd_kind_ops(f->kind);
}

enum ps_fd_kind ps_fd_kind_of_anon(const char *name)
{
	for (size_t k = 0; k < PS_FD_KIND_COUNT; k++)
		if (kinds[k].anon_inode && !strcmp(kinds[k].anon_inode, name))
			return (enum ps_fd_kind)k;
	return PS_FD_KIND_OTHER;
}

/* Terminals: virtual consoles (4), /dev/tty, /dev/console and /dev/ptmx
 * (5), pty slaves (136-143). */
enum ps_fd_kind ps_fd_kind_of_chr(uint32_t rdev_major)
{
	if (rdev_major == 4 || rdev_major == 5 || (rdev_major >= 136 && rdev_major <= 143))
		return PS_FD_KIND_TTY;
	return PS_FD_KIND_FILE;
}

/* The name kind k has with type, or NULL. */
static const char *own_name(enum ps_fd_kind k, enum ps_fd_type type)
{
	for (size_t i = 0; i < NJSON_NAMES; i++)
		if (json_names[i].kind == k && json_names[i].type == type)
			return json_names[i].name;
	return NULL;
}

const char *ps_fd_kind_json_name(const struct ps_fd *f)
{
	return f->kind_name ? f->kind_name : own_name(f->kind, f->type);
}

/* An anonymous inode's kind by its name in fds.json. */
static enum ps_fd_kind anon_kind_of_name(const char *name)
{
	for (size_t i = 0; name && i < NJSON_NAMES; i++)
		if (json_names[i].type == PS_FD_ANON && !strcmp(json_names[i].name, name))
			return json_names[i].kind;
	return PS_FD_KIND_OTHER;
}

/* The type says the kind, as restore has always gone by it, whatever the
 * name; only an anonymous inode goes by its name. A supported socket whose
 * family names no kind is taken for a unix one: its decoder then says what
 * is wrong with its "socket" object. */
static enum ps_fd_kind kind_of(const struct ps_fd *f, const char *name, int family)
{
	switch (f->type) {
	case PS_FD_REG:
		return PS_FD_KIND_FILE;
	case PS_FD_CHR:
		return ps_fd_kind_of_chr(f->rdev_major);
	case PS_FD_DIR:
		return PS_FD_KIND_DIR;
	case PS_FD_PIPE:
	case PS_FD_FIFO:
		return PS_FD_KIND_PIPE;
	case PS_FD_SOCKET:
		if (!f->supported)
			return PS_FD_KIND_OTHER;   /* no "socket" object: no state */
		return family == AF_INET || family == AF_INET6 ? PS_FD_KIND_INET : PS_FD_KIND_UNIX;
	case PS_FD_ANON:
		return anon_kind_of_name(name);
	default:
		return PS_FD_KIND_OTHER;
	}
}

static int set_kind_name(struct ps_fd *f, const char *name)
{
	char *copy = name ? strdup(name) : NULL;

	if (name && !copy)
		return -ENOMEM;
	free(f->kind_name);
	f->kind_name = copy;
	return 0;
}

/* f's state goes: it is of no kind any more. */
static void become_other(struct ps_fd *f)
{
	if (ps_fd_ops(f)->free)
		ps_fd_ops(f)->free(f);
	memset(&f->u, 0, sizeof(f->u));
	f->kind = PS_FD_KIND_OTHER;
}

int ps_fd_set_other(struct ps_fd *f, const char *name)
{
	int rc = set_kind_name(f, name);

	if (rc == 0)
		become_other(f);
	return rc;
}

int ps_fd_make_other(struct ps_fd *f)
{
	if (!f->kind_name && set_kind_name(f, own_name(f->kind, f->type)))
		return -ENOMEM;
	become_other(f);
	return 0;
}

int ps_fd_kind_from_json_name(struct ps_fd *f, const char *name, int family)
{
	const char *own;

	f->kind = kind_of(f, name, family);
	own = own_name(f->kind, f->type);
	if (!name || (own && !strcmp(own, name)))
		return 0;
	return set_kind_name(f, name);
}
