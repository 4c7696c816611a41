/* fds.json: the "socket" object of the unix and inet kinds -- family, type,
 * state, addresses, peer fd, backlog, options, unread messages' lengths. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "image/fd_codec.h"

static const struct ps_name family_names[] = {
	{ AF_UNIX, "unix" }, { AF_INET, "inet" }, { AF_INET6, "inet6" }, { 0, NULL },
};
static const struct ps_name type_names[] = {
	{ SOCK_STREAM, "stream" }, { SOCK_DGRAM, "dgram" }, { SOCK_SEQPACKET, "seqpacket" },
	{ 0, NULL },
};
static const struct ps_name state_names[] = {
	{ PS_SOCK_UNBOUND, "unbound" }, { PS_SOCK_BOUND, "bound" },
	{ PS_SOCK_LISTENING, "listening" }, { PS_SOCK_CONNECTED, "connected" },
	{ PS_SOCK_DISCONNECTED, "disconnected" }, { 0, NULL },
};

/* ---- addresses (fd_unix_json.c, fd_inet_json.c): null when none ---- */

static json_t *encode_addr(int family, const struct ps_sockaddr *a)
{
	if (a->len == 0)
		return json_null();
	return family == AF_UNIX ? ps_encode_unix_addr(a) : ps_encode_inet_addr(a);
}

static int decode_addr(const json_t *j, const char *key, int family, struct ps_sockaddr *a,
		       struct ps_jerr *e)
{
	const json_t *o;
	size_t mark;
	int rc;

	memset(a, 0, sizeof(*a));
	if (!ps_jhas(j, key))
		return 0;
	if (ps_jget_object(j, key, &o, e))
		return -EINVAL;
	mark = ps_jerr_push(e, "%s", key);
	rc = family == AF_UNIX ? ps_decode_unix_addr(o, a, e) : ps_decode_inet_addr(o, family, a, e);
	if (rc == 0)
		ps_jerr_pop(e, mark);
	return rc;
}

/* ---- options ---- */

static json_t *encode_options(const struct ps_sockopts *o)
{
	json_t *j = json_object();

	json_object_set_new(j, "reuseaddr", json_boolean(o->reuseaddr));
	json_object_set_new(j, "reuseport", json_boolean(o->reuseport));
	json_object_set_new(j, "keepalive", json_boolean(o->keepalive));
	json_object_set_new(j, "broadcast", json_boolean(o->broadcast));
	json_object_set_new(j, "passcred", json_boolean(o->passcred));
	json_object_set_new(j, "oobinline", json_boolean(o->oobinline));
	json_object_set_new(j, "nodelay", json_boolean(o->nodelay));
	json_object_set_new(j, "v6only", json_boolean(o->v6only));
	json_object_set_new(j, "rcvbuf", json_integer(o->rcvbuf));
	json_object_set_new(j, "sndbuf", json_integer(o->sndbuf));
	return j;
}

static int decode_options(const json_t *j, struct ps_sockopts *o, struct ps_jerr *e)
{
	long long rcv, snd;
	const json_t *v;

	if (ps_jget_object(j, "options", &v, e) ||
	    ps_jget_bool(v, "reuseaddr", &o->reuseaddr, e) ||
	    ps_jget_bool(v, "reuseport", &o->reuseport, e) ||
	    ps_jget_bool(v, "keepalive", &o->keepalive, e) ||
	    ps_jget_bool(v, "broadcast", &o->broadcast, e) ||
	    ps_jget_bool(v, "passcred", &o->passcred, e) ||
	    ps_jget_bool(v, "oobinline", &o->oobinline, e) ||
	    ps_jget_bool(v, "nodelay", &o->nodelay, e) ||
	    ps_jget_bool(v, "v6only", &o->v6only, e) ||
	    ps_jget_int(v, "rcvbuf", 0, INT_MAX, &rcv, e) ||
	    ps_jget_int(v, "sndbuf", 0, INT_MAX, &snd, e))
		return -EINVAL;
	o->rcvbuf = (int)rcv;
	o->sndbuf = (int)snd;
	return 0;
}

/* ---- the socket ---- */

static json_t *encode_messages(const struct ps_socket *s)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < s->nmsgs; i++)
		json_array_append_new(a, json_integer(s->msgs[i]));
	return a;
}

static json_t *encode_socket(const struct ps_socket *s)
{
	json_t *o = json_object();
	int rc = 0;

	rc |= json_object_set_new(o, "family", ps_json_enum(s->family, family_names));
	rc |= json_object_set_new(o, "type", ps_json_enum(s->type, type_names));
	rc |= json_object_set_new(o, "protocol", json_integer(s->protocol));
	rc |= json_object_set_new(o, "state", ps_json_enum(s->state, state_names));
	rc |= json_object_set_new(o, "local", encode_addr(s->family, &s->local));
	rc |= json_object_set_new(o, "peer", encode_addr(s->family, &s->peer));
	if (s->peer_fd >= 0)
		rc |= json_object_set_new(o, "peer_fd", json_integer(s->peer_fd));
	rc |= json_object_set_new(o, "backlog", json_integer(s->backlog));
	rc |= json_object_set_new(o, "shutdown", json_integer(s->shutdown));
	rc |= json_object_set_new(o, "options", encode_options(&s->opts));
	rc |= json_object_set_new(o, "messages", encode_messages(s));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int decode_messages(const json_t *j, struct ps_socket *s, struct ps_jerr *e)
{
	const json_t *a;
	size_t n;

	if (ps_jget_array_max(j, "messages", PS_MAX_MESSAGES, "unread messages a socket may hold",
			      &a, &n, e))
		return -EINVAL;
	s->msgs = calloc(n ? n : 1, sizeof(*s->msgs));
	if (!s->msgs)
		return ps_jerr_nomem(e);
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(a, i);

		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > INT_MAX)
			return ps_jerr_fail(e, "field \"messages\" entry %zu is not a length", i);
		s->msgs[i] = (uint32_t)json_integer_value(v);
		s->nmsgs = i + 1;
	}
	return 0;
}

static int decode_kind(const json_t *o, struct ps_socket *s, struct ps_jerr *e)
{
	long long family, type, protocol, state, backlog, shutdown;

	if (ps_jget_enum(o, "family", family_names, 0, &family, e) ||
	    ps_jget_enum(o, "type", type_names, 0, &type, e) ||
	    ps_jget_int(o, "protocol", 0, 255, &protocol, e) ||
	    ps_jget_enum(o, "state", state_names, 0, &state, e) ||
	    ps_jget_int(o, "backlog", 0, INT_MAX, &backlog, e) ||
	    ps_jget_int(o, "shutdown", 0, 3, &shutdown, e))
		return -EINVAL;
	s->family = (int)family;
	s->type = (int)type;
	s->protocol = (int)protocol;
	s->state = (enum ps_sock_state)state;
	s->backlog = (uint32_t)backlog;
	s->shutdown = (int)shutdown;
	return 0;
}

int ps_encode_fd_socket(json_t *o, const struct ps_fd *f)
{
	if (f->is_dup || !f->supported)
		return 0;
	return json_object_set_new(o, "socket", encode_socket(&f->u.sock)) ? -ENOMEM : 0;
}

int ps_fd_socket_family(const json_t *j)
{
	const char *name = json_string_value(json_object_get(json_object_get(j, "socket"),
							      "family"));

	for (size_t i = 0; name && family_names[i].name; i++)
		if (!strcmp(name, family_names[i].name))
			return (int)family_names[i].value;
	return -1;
}

int ps_decode_fd_socket(const json_t *j, struct ps_fd *f, struct ps_jerr *e)
{
	struct ps_socket *s = &f->u.sock;
	long long peer_fd = -1;
	const json_t *o;

	s->peer_fd = -1;
	if (f->is_dup || !f->supported)
		return 0;
	if (ps_jget_object(j, "socket", &o, e) || decode_kind(o, s, e) ||
	    decode_addr(o, "local", s->family, &s->local, e) ||
	    decode_addr(o, "peer", s->family, &s->peer, e) ||
	    decode_options(o, &s->opts, e) || decode_messages(o, s, e))
		return -EINVAL;
	if (ps_jhas(o, "peer_fd") && ps_jget_int(o, "peer_fd", 0, INT_MAX, &peer_fd, e))
		return -EINVAL;
	s->peer_fd = (int)peer_fd;
	return 0;
}
