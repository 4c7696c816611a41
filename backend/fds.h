/* Capture of fds.json: every open descriptor of a stopped process, with its
 * type, flags, position and path; kinds not decoded yet are marked unsupported. */
#ifndef PROCSNAP_FDS_H
#define PROCSNAP_FDS_H

#include "image/model.h"

int ps_capture_fds(pid_t pid, struct ps_fds *fds, char *err, size_t errlen);

#endif
