/* Errors as sentences: the one helper that formats a failure for the user
 * and hands back its errno (see docs/design.md, "Errors"). */
#include <stdarg.h>
#include <stdio.h>

#include "backend/sentence.h"

int ps_vfail(char *err, size_t errlen, int rc, const char *fmt, va_list ap)
{
	if (err && errlen > 0)
		vsnprintf(err, errlen, fmt, ap);
	return rc;
}

int ps_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ps_vfail(err, errlen, rc, fmt, ap);
	va_end(ap);
	return rc;
}
