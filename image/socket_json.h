/* fds.json: the "socket" object of a socket's entry. */
#ifndef PROCSNAP_SOCKET_JSON_H
#define PROCSNAP_SOCKET_JSON_H

#include <jansson.h>

#include "image/json_util.h"
#include "image/model.h"

json_t *ps_encode_socket(const struct ps_socket *s);
/* Sets f->sock (freed with f even on failure). */
int ps_decode_socket(const json_t *j, struct ps_fd *f, struct ps_jerr *e);

#endif
