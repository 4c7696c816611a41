/* The restore of one image, end to end: read and validate it, build the
 * process from a stub under ptrace, and let it run, or leave nothing. */
#ifndef PROCSNAP_RESTORE_RESTORER_H
#define PROCSNAP_RESTORE_RESTORER_H

#include <stddef.h>
#include <sys/types.h>

/* Restore the complete image in dir on behalf of a caller with uid/gid
 * (DESIGN §5). 0 with *pid_out running and in err what the user should
 * know of it ("" if nothing), or -errno with one sentence in err; on
 * failure no process is left and dir is untouched. */
struct ps_restore_options {
	/* In a new time namespace whose CLOCK_MONOTONIC and CLOCK_BOOTTIME go
	 * on from the values they had at the checkpoint. */
	int timens;
};

struct ps_prefill;
/* prefill (may be NULL): memory filled while the image was copied in; the
 * restore takes what it can use of it, and it is spent afterwards. */
int ps_restore_image(const char *dir, uid_t uid, gid_t gid, const struct ps_restore_options *opt,
		     struct ps_prefill *prefill, pid_t *pid_out, char *err, size_t errlen);

#endif
