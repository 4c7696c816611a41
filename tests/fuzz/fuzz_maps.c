/* Fuzz target: the decoder of memory/maps.json, each input one such file; what
 * it accepts must round-trip (harness.c). */
#include "harness.h"

const char ps_fuzz_name[] = "maps";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ps_fuzz_part(&ps_fuzz_maps, data, size);
	return 0;
}
