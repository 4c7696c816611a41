/* How a target program tells the test whether its state survived: one line
 * appended to a results file named on its command line. */
#ifndef PROCSNAP_TARGET_REPORT_H
#define PROCSNAP_TARGET_REPORT_H

/* Append one formatted line to path. The file is opened for each line, so
 * it is never among the descriptors a checkpoint saves. */
void report_to(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* In a target's verify function: when bad, report "FAIL <message>" to
 * path and return from the function. */
#define FAIL_IF(path, bad, ...)                                 \
	do {                                                    \
		if (bad) {                                      \
			report_to(path, "FAIL " __VA_ARGS__);   \
			return;                                 \
		}                                               \
	} while (0)

#endif
