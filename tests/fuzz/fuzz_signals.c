/* Fuzz target: the decoder of signals.json, each input one such file; what
 * it accepts must round-trip (harness.c). */
#include "harness.h"

const char ps_fuzz_name[] = "signals";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ps_fuzz_part(&ps_fuzz_signals, data, size);
	return 0;
}
