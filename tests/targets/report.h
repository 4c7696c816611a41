/* How a target program tells the test whether its state survived: one line
 * appended to a results file named on its command line. */
#ifndef PROCSNAP_TARGET_REPORT_H
#define PROCSNAP_TARGET_REPORT_H

#include <signal.h>
#include <sys/types.h>

/* Append one formatted line to path. The file is opened for each line, so
 * it is never among the descriptors a checkpoint saves. */
void report_to(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The end of a target's main(), after its READY line: every 10 ms, if its
 * SIGUSR2 handler set *requested, clear it and run verify(results). A
 * handler only sets the flag: verify runs in the program's normal flow. */
_Noreturn void serve_verify(volatile sig_atomic_t *requested, void (*verify)(const char *results),
			    const char *results);

/* The number of the syscall thread tid of this process is blocked in
 * (/proc/self/task/<tid>/syscall), or -1. */
int thread_syscall(pid_t tid);

/* In a target's verify function: when bad, report "FAIL <message>" to
 * path and return from the function. */
#define FAIL_IF(path, bad, ...)                                 \
	do {                                                    \
		if (bad) {                                      \
			report_to(path, "FAIL " __VA_ARGS__);   \
			return;                                 \
		}                                               \
	} while (0)

/* In a check function returning int that has a char *why of WHY_LEN
 * bytes: when bad, write the reason there and return -1. */
#define WHY_LEN 400
#define CHECK_WHY(bad, ...)                                     \
	do {                                                    \
		if (bad) {                                      \
			snprintf(why, WHY_LEN, __VA_ARGS__);    \
			return -1;                              \
		}                                               \
	} while (0)

#endif
