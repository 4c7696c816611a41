/* fds.json: the state of each descriptor beyond its file, encoded into and
 * decoded from the descriptor's own object (see fds_json.c). */
#ifndef PROCSNAP_FDS_STATE_JSON_H
#define PROCSNAP_FDS_STATE_JSON_H

#include <jansson.h>

#include "image/json_util.h"
#include "image/model.h"

int ps_encode_fd_state(json_t *o, const struct ps_fd *f);
/* Needs f's fd, type, kind and supported already decoded. */
int ps_decode_fd_state(const json_t *j, struct ps_fd *f, struct ps_jerr *e);

#endif
