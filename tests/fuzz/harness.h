/* What the fuzz harnesses share: the decoders of the image's JSON parts behind
 * one interface, and the checks run on every input (refusals, round trips). */
#ifndef PROCSNAP_FUZZ_HARNESS_H
#define PROCSNAP_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* Called with each input: by libFuzzer under make fuzz, by replay.c under
 * make check. Always returns 0; a broken property aborts. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The harness's name ("maps"): its inputs are in tests/fuzz/corpus/<name>/
 * and tests/fuzz/regressions/<name>/. */
extern const char ps_fuzz_name[];

/* One JSON part of the image: its decoder and encoder, on a model of
 * model_size bytes passed as void *. */
struct ps_fuzz_part {
	const char *file;        /* as image_read names it: "memory/maps.json" */
	size_t model_size;
	size_t max_memory;       /* what its parse may take (image_limits.h) */
	int (*decode)(const json_t *j, void *model, char *err, size_t errlen);
	json_t *(*encode)(const void *model);
	void (*release)(void *model);
};

extern const struct ps_fuzz_part ps_fuzz_image_meta, ps_fuzz_process, ps_fuzz_signals,
	ps_fuzz_fds, ps_fuzz_maps, ps_fuzz_thread, ps_fuzz_seccomp;

/* Parse and decode data as part p. A refusal must be -EINVAL or -ENOMEM
 * with one sentence, and leave nothing allocated; an accepted part must
 * pass ps_fuzz_roundtrip. */
void ps_fuzz_part(const struct ps_fuzz_part *p, const uint8_t *data, size_t size);
/* What the decoder accepted, encoded, written out, parsed and decoded again,
 * encodes to the same text: the codec is symmetric on it. */
void ps_fuzz_roundtrip(const struct ps_fuzz_part *p, const void *model);
/* A refusal's return code and sentence are what the user may be shown. */
void ps_fuzz_check_refusal(const char *what, int rc, int expect, const char *err);
/* Print the failed property and abort: libFuzzer keeps the input. */
void ps_fuzz_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
