/* Credentials, set last in a restore: groups, gids, uids, capabilities,
 * securebits and no_new_privs, in the order the kernel allows. */
#ifndef PROCSNAP_RESTORE_CREDS_H
#define PROCSNAP_RESTORE_CREDS_H

#include "rctx.h"

int ps_restore_creds(struct ps_rctx *c);

#endif
