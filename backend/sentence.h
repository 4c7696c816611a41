/* Errors as sentences: every failure fills its caller's buffer with one
 * human sentence naming what failed, and returns a negative errno. */
#ifndef PROCSNAP_SENTENCE_H
#define PROCSNAP_SENTENCE_H

#include <stdarg.h>
#include <stddef.h>

/* Format the sentence into err (errlen bytes, always NUL-terminated when
 * errlen > 0) and return rc, so a caller writes `return ps_fail(...)`. */
int ps_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same with a va_list, for helpers that add their own context. */
int ps_vfail(char *err, size_t errlen, int rc, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

#endif
