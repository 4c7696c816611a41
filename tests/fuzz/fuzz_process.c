/* Fuzz target: the decoder of process.json, each input one such file; what
 * it accepts must round-trip (harness.c). */
#include "harness.h"

const char ps_fuzz_name[] = "process";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ps_fuzz_part(&ps_fuzz_process, data, size);
	return 0;
}
