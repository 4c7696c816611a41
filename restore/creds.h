/* Credentials, set last in a restore: groups, gids, uids, capabilities,
 * securebits and no_new_privs, in the order the kernel allows. */
#ifndef PROCSNAP_RESTORE_CREDS_H
#define PROCSNAP_RESTORE_CREDS_H

#include <stdint.h>
#include <sys/types.h>

#include "restore/rctx.h"

int ps_restore_creds(struct ps_rctx *c);

/* The stub's capability sets now (its main thread's, from /proc). */
struct ps_caps {
	uint64_t inh, prm, eff, bnd, amb;
};
int ps_stub_caps(struct ps_rctx *c, struct ps_caps *now);

/* setgroups and capset (v3) in the thread c borrows. 0 or -errno with err
 * filled. */
int ps_set_groups(struct ps_rctx *c, const gid_t *groups, size_t n);
int ps_set_caps(struct ps_rctx *c, uint64_t eff, uint64_t prm, uint64_t inh);

#endif
