/* Named points where a test can have procsnap killed: PROCSNAP_DIE_AT=point
 * or point:n. SIGKILL, as an operator would, so nothing gets to clean up. */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/fault_point.h"

static atomic_long passed;

void ps_fault_point(const char *point)
{
	const char *want = getenv("PROCSNAP_DIE_AT");
	size_t len = strlen(point);
	long nth = 1;

	if (!want || strncmp(want, point, len) != 0)
		return;
	if (want[len] == ':')
		nth = strtol(want + len + 1, NULL, 10);
	else if (want[len] != '\0')
		return;
	if (atomic_fetch_add(&passed, 1) + 1 == nth)
		kill(getpid(), SIGKILL);
}
