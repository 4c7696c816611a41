/* Fuzz target: the decoder of image.json (its header and file list), each
 * input one such file; what it accepts must round-trip (harness.c). */
#include "harness.h"

const char ps_fuzz_name[] = "image_meta";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ps_fuzz_part(&ps_fuzz_image_meta, data, size);
	return 0;
}
