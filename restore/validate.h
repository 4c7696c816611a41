/* Checks of a decoded image against itself, the caller's authority and the
 * machine, before anything is created: every refusal is one clear sentence. */
#ifndef PROCSNAP_RESTORE_VALIDATE_H
#define PROCSNAP_RESTORE_VALIDATE_H

#include <stddef.h>
#include <sys/types.h>

#include "image/model.h"
#include "image/parts.h"

/* 0 if the image in dir (already decoded into m, whose decoders checked
 * each field's type and range) can be restored here by this caller, else
 * -errno with the reason in err. */
int ps_validate_image(const struct ps_model *m, const char *dir, uid_t caller_uid,
		      gid_t caller_gid, char *err, size_t errlen);

/* For the parts' checks: fill v->err (printf-style) and return e. */
int ps_refuse(const struct ps_check *v, int e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
