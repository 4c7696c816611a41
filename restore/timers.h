/* POSIX timers (timer_create) in the stub, with the ids the program holds. */
#ifndef PROCSNAP_RESTORE_TIMERS_H
#define PROCSNAP_RESTORE_TIMERS_H

#include "restore/rctx.h"

/* Every timer of the image, armed with its remaining time. Needs the
 * threads (a timer may signal one of them). */
int ps_restore_posix_timers(struct ps_rctx *c);

#endif
