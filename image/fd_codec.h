/* fds.json: each descriptor kind's own fields, encoded into and decoded from
 * the descriptor's entry (image/fds_json.c does what all entries share). */
#ifndef PROCSNAP_FD_CODEC_H
#define PROCSNAP_FD_CODEC_H

#include <jansson.h>

#include "image/json_util.h"
#include "image/model.h"

/* A kind's encoder adds its fields to o, the fd's entry, and returns 0 or
 * -ENOMEM; its decoder reads them from j (the entry, whose common fields
 * are decoded) and returns 0 or -EINVAL with e filled. */

/* file (deleted) and memfd: size, uid, gid (and a memfd's seals). */
int ps_encode_fd_content(json_t *o, const struct ps_fd *f);
int ps_decode_fd_content(const json_t *j, struct ps_fd *f, struct ps_jerr *e);
int ps_encode_fd_pipe(json_t *o, const struct ps_fd *f);
int ps_decode_fd_pipe(const json_t *j, struct ps_fd *f, struct ps_jerr *e);
/* unix and inet: the "socket" object. */
int ps_encode_fd_socket(json_t *o, const struct ps_fd *f);
int ps_decode_fd_socket(const json_t *j, struct ps_fd *f, struct ps_jerr *e);
/* The family the entry's "socket" object names, or -1 (none, or unknown). */
int ps_fd_socket_family(const json_t *j);
/* A socket address of the unix kind (fd_unix_json.c), of the inet kind
 * (fd_inet_json.c): a new object; the decoders fill a from object o. */
json_t *ps_encode_unix_addr(const struct ps_sockaddr *a);
int ps_decode_unix_addr(const json_t *o, struct ps_sockaddr *a, struct ps_jerr *e);
json_t *ps_encode_inet_addr(const struct ps_sockaddr *a);
int ps_decode_inet_addr(const json_t *o, int family, struct ps_sockaddr *a,
			struct ps_jerr *e);
int ps_encode_fd_eventfd(json_t *o, const struct ps_fd *f);
int ps_decode_fd_eventfd(const json_t *j, struct ps_fd *f, struct ps_jerr *e);
int ps_encode_fd_timerfd(json_t *o, const struct ps_fd *f);
int ps_decode_fd_timerfd(const json_t *j, struct ps_fd *f, struct ps_jerr *e);
int ps_encode_fd_signalfd(json_t *o, const struct ps_fd *f);
int ps_decode_fd_signalfd(const json_t *j, struct ps_fd *f, struct ps_jerr *e);
int ps_encode_fd_inotify(json_t *o, const struct ps_fd *f);
int ps_decode_fd_inotify(const json_t *j, struct ps_fd *f, struct ps_jerr *e);
int ps_encode_fd_epoll(json_t *o, const struct ps_fd *f);
int ps_decode_fd_epoll(const json_t *j, struct ps_fd *f, struct ps_jerr *e);

#endif
