/* fds.json: an inet or inet6 socket's addresses: {"ip": "127.0.0.1",
 * "port": 80}; inet6 adds flowinfo and scope_id. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "image/fd_codec.h"

json_t *ps_encode_inet_addr(const struct ps_sockaddr *a)
{
	const struct sockaddr_in *in = (const void *)a->sa;
	const struct sockaddr_in6 *in6 = (const void *)a->sa;
	char ip[INET6_ADDRSTRLEN];
	json_t *o = json_object();

	if (in->sin_family == AF_INET) {
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		json_object_set_new(o, "port", json_integer(ntohs(in->sin_port)));
	} else {
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		json_object_set_new(o, "port", json_integer(ntohs(in6->sin6_port)));
		json_object_set_new(o, "flowinfo", json_integer(ntohl(in6->sin6_flowinfo)));
		json_object_set_new(o, "scope_id", json_integer(in6->sin6_scope_id));
	}
	json_object_set_new(o, "ip", json_string(ip));
	return o;
}

int ps_decode_inet_addr(const json_t *o, int family, struct ps_sockaddr *a,
			struct ps_jerr *e)
{
	struct sockaddr_in *in = (void *)a->sa;
	struct sockaddr_in6 *in6 = (void *)a->sa;
	long long port, flow = 0, scope = 0;
	char ip[INET6_ADDRSTRLEN];

	if (ps_jget_strbuf(o, "ip", ip, sizeof(ip), e) || ps_jget_int(o, "port", 0, 65535, &port, e))
		return -EINVAL;
	if (family == AF_INET) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		a->len = sizeof(*in);
		return inet_pton(AF_INET, ip, &in->sin_addr) == 1
			       ? 0 : ps_jerr_fail(e, "field \"ip\" is not an IPv4 address");
	}
	if (ps_jget_int(o, "flowinfo", 0, UINT32_MAX, &flow, e) ||
	    ps_jget_int(o, "scope_id", 0, UINT32_MAX, &scope, e))
		return -EINVAL;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons((uint16_t)port);
	in6->sin6_flowinfo = htonl((uint32_t)flow);
	in6->sin6_scope_id = (uint32_t)scope;
	a->len = sizeof(*in6);
	return inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1
		       ? 0 : ps_jerr_fail(e, "field \"ip\" is not an IPv6 address");
}
