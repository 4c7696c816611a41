/* The seven JSON parts of an image behind the harnesses' one interface: each
 * codec function wrapped to take its model as void *. */
#include <errno.h>
#include <stdlib.h>

#include "image/codec.h"
#include "harness.h"
#include "image/json_util.h"

static int decode_image_meta(const json_t *j, void *m, char *err, size_t n)
{
	return ps_decode_image_meta(j, m, err, n);
}

static json_t *encode_image_meta(const void *m)
{
	return ps_encode_image_meta(m);
}

static void free_image_meta(void *m)
{
	ps_image_meta_free(m);
}

static int decode_process(const json_t *j, void *m, char *err, size_t n)
{
	return ps_decode_process(j, m, err, n);
}

static json_t *encode_process(const void *m)
{
	return ps_encode_process(m);
}

static void free_process(void *m)
{
	ps_process_free(m);
}

static int decode_signals(const json_t *j, void *m, char *err, size_t n)
{
	return ps_decode_signals(j, m, err, n);
}

static json_t *encode_signals(const void *m)
{
	return ps_encode_signals(m);
}

static void free_signals(void *m)
{
	ps_signals_free(m);
}

static int decode_fds(const json_t *j, void *m, char *err, size_t n)
{
	return ps_decode_fds(j, m, err, n);
}

static json_t *encode_fds(const void *m)
{
	return ps_encode_fds(m);
}

static void free_fds(void *m)
{
	ps_fds_free(m);
}

static int decode_maps(const json_t *j, void *m, char *err, size_t n)
{
	return ps_decode_maps(j, m, err, n);
}

static json_t *encode_maps(const void *m)
{
	return ps_encode_maps(m);
}

static void free_maps(void *m)
{
	ps_maps_free(m);
}

static int decode_thread(const json_t *j, void *m, char *err, size_t n)
{
	return ps_decode_thread(j, m, err, n);
}

static json_t *encode_thread(const void *m)
{
	return ps_encode_thread(m);
}

static void free_thread(void *m)
{
	ps_thread_free(m);
}

/* seccomp.json is read against the image's threads: here, the ones its
 * own entries name (their tids, 0 when absent), so that the decoder gets
 * past that check and on to the rest. */
static int decode_seccomp(const json_t *j, void *m, char *err, size_t n)
{
	struct ps_model *model = m;
	const json_t *threads = json_object_get(j, "threads");
	size_t count = json_is_array(threads) ? json_array_size(threads) : 0;
	int rc;

	model->threads = calloc(count ? count : 1, sizeof(*model->threads));
	if (!model->threads)
		return -ENOMEM;
	model->nthreads = count;
	for (size_t i = 0; i < count; i++)
		model->threads[i].tid = (pid_t)json_integer_value(json_object_get(json_array_get(threads, i),
										  "tid"));
	rc = ps_decode_seccomp_part(j, model, 0, err, n);
	if (rc) {
		free(model->threads);
		model->threads = NULL;
		model->nthreads = 0;
	}
	return rc;
}

static json_t *encode_seccomp(const void *m)
{
	return ps_encode_seccomp_part(m, 0);
}

static void free_seccomp(void *m)
{
	struct ps_model *model = m;

	ps_seccomp_free(&model->seccomp);
	free(model->threads);
	model->threads = NULL;
	model->nthreads = 0;
}

const struct ps_fuzz_part ps_fuzz_image_meta = {
	"image.json", sizeof(struct ps_image_meta), PS_MAX_IMAGE_JSON_MEMORY,
	decode_image_meta, encode_image_meta, free_image_meta,
};

const struct ps_fuzz_part ps_fuzz_process = {
	"process.json", sizeof(struct ps_process), PS_MAX_PROCESS_JSON_MEMORY,
	decode_process, encode_process, free_process,
};

const struct ps_fuzz_part ps_fuzz_signals = {
	"signals.json", sizeof(struct ps_signals), PS_MAX_SIGNALS_JSON_MEMORY,
	decode_signals, encode_signals, free_signals,
};

const struct ps_fuzz_part ps_fuzz_fds = {
	"fds.json", sizeof(struct ps_fds), PS_MAX_FDS_JSON_MEMORY,
	decode_fds, encode_fds, free_fds,
};

const struct ps_fuzz_part ps_fuzz_maps = {
	"memory/maps.json", sizeof(struct ps_maps), PS_MAX_MAPS_JSON_MEMORY,
	decode_maps, encode_maps, free_maps,
};

const struct ps_fuzz_part ps_fuzz_thread = {
	"registers/<tid>.json", sizeof(struct ps_thread), PS_MAX_REGISTERS_JSON_MEMORY,
	decode_thread, encode_thread, free_thread,
};

const struct ps_fuzz_part ps_fuzz_seccomp = {
	"seccomp.json", sizeof(struct ps_model), PS_MAX_SECCOMP_JSON_MEMORY,
	decode_seccomp, encode_seccomp, free_seccomp,
};
