/* fds.json: a unix socket's addresses: {"path": ...} or {"abstract": ...}
 * (the name after its NUL), {} when unnamed. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "image/fd_codec.h"

json_t *ps_encode_unix_addr(const struct ps_sockaddr *a)
{
	const struct sockaddr_un *un = (const void *)a->sa;
	size_t n = a->len - offsetof(struct sockaddr_un, sun_path);
	json_t *o = json_object();

	if (n == 0)
		return o;
	if (un->sun_path[0] == '\0') {
		json_object_set_new(o, "abstract", ps_json_bytes(un->sun_path + 1, n - 1));
		return o;
	}
	json_object_set_new(o, "path", ps_json_bytes(un->sun_path, strnlen(un->sun_path, n)));
	return o;
}

int ps_decode_unix_addr(const json_t *o, struct ps_sockaddr *a, struct ps_jerr *e)
{
	struct sockaddr_un *un = (void *)a->sa;
	size_t base = offsetof(struct sockaddr_un, sun_path);
	struct ps_bytes name = { 0 };
	int abstract = ps_jhas(o, "abstract");

	un->sun_family = AF_UNIX;
	a->len = (uint32_t)base;
	if (!abstract && !ps_jhas(o, "path"))
		return 0;
	if (ps_jget_bytes(o, abstract ? "abstract" : "path", sizeof(un->sun_path) - 1, &name, e))
		return -EINVAL;
	if (abstract) {
		memcpy(un->sun_path + 1, name.data, name.len);
		a->len = (uint32_t)(base + 1 + name.len);
	} else if (name.len == 0 || memchr(name.data, '\0', name.len)) {
		ps_bytes_free(&name);
		return ps_jerr_fail(e, "field \"path\" is not a socket path");
	} else {
		memcpy(un->sun_path, name.data, name.len);
		a->len = (uint32_t)(base + name.len + 1);
	}
	ps_bytes_free(&name);
	return 0;
}
