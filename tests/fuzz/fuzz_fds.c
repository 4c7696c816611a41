/* Fuzz target: the decoder of fds.json with every kind's state (sockets, anon
 * fds, epoll, inotify), each input one such file; what it accepts must
 * round-trip (harness.c). */
#include "harness.h"

const char ps_fuzz_name[] = "fds";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ps_fuzz_part(&ps_fuzz_fds, data, size);
	return 0;
}
