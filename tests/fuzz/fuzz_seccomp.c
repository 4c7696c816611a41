/* Fuzz target: the decoder of seccomp.json, each input one such file, read
 * against the threads it names; what it accepts must round-trip (harness.c). */
#include "harness.h"

const char ps_fuzz_name[] = "seccomp";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ps_fuzz_part(&ps_fuzz_seccomp, data, size);
	return 0;
}
