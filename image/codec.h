/* The image format, version 1: each part of the model to and from its JSON
 * file. One encoder/decoder serves snapshot (encode) and restore (decode). */
#ifndef PROCSNAP_CODEC_H
#define PROCSNAP_CODEC_H

#include <jansson.h>
#include "image/model.h"

/* Encoders return a new reference, or NULL on allocation failure. */
json_t *ps_encode_image_meta(const struct ps_image_meta *m);
json_t *ps_encode_process(const struct ps_process *p);
json_t *ps_encode_maps(const struct ps_maps *maps);
json_t *ps_encode_thread(const struct ps_thread *t);
json_t *ps_encode_signals(const struct ps_signals *s);
json_t *ps_encode_fds(const struct ps_fds *fds);

/* Decoders validate types and ranges of every field they read and fill err
 * with a sentence naming the file's field ("maps.json: entry 3: start is not
 * page-aligned"). They return 0 or -EINVAL; on error *out holds nothing the
 * caller must free. */
int ps_decode_image_meta(const json_t *j, struct ps_image_meta *out, char *err, size_t errlen);
int ps_decode_process(const json_t *j, struct ps_process *out, char *err, size_t errlen);
int ps_decode_maps(const json_t *j, struct ps_maps *out, char *err, size_t errlen);
int ps_decode_thread(const json_t *j, struct ps_thread *out, char *err, size_t errlen);
int ps_decode_signals(const json_t *j, struct ps_signals *out, char *err, size_t errlen);
int ps_decode_fds(const json_t *j, struct ps_fds *out, char *err, size_t errlen);

/* The timers part's keys, which end process.json (image/timers_json.c):
 * added to the process.json object being encoded (0 or -ENOMEM), and read
 * from it with the file's error context e (0 or -EINVAL). */
struct ps_jerr;
int ps_encode_timers(const struct ps_process *p, json_t *process);
int ps_decode_timers(const json_t *process, struct ps_process *p, struct ps_jerr *e);

/* The objects of a maps.json entry of kind "aio" (image/aio_json.c) and
 * "sysv" (image/sysv_shm_json.c): encoded from m->aio and m->sysv; decoded
 * into them from the entry j, checked against the mapping's range (0 or
 * -EINVAL, -ENOMEM). An entry of another kind must not have the object. */
json_t *ps_encode_aio_ring(const struct ps_aio_ring *a);
int ps_decode_aio_ring(const json_t *j, struct ps_mapping *m, struct ps_jerr *e);
json_t *ps_encode_sysv_shm(const struct ps_sysv_shm *s);
int ps_decode_sysv_shm(const json_t *j, struct ps_mapping *m, struct ps_jerr *e);

/* Each part's file at the level of the whole model, for the table of parts
 * (image/parts.h): thread is the slot of m->threads for registers, else 0.
 * The decoders also check the part against image.json (m->meta) and the
 * parts read before it. */
json_t *ps_encode_process_part(const struct ps_model *m, size_t thread);
int ps_decode_process_part(const json_t *j, struct ps_model *m, size_t thread,
			   char *err, size_t errlen);
json_t *ps_encode_memory_part(const struct ps_model *m, size_t thread);
int ps_decode_memory_part(const json_t *j, struct ps_model *m, size_t thread,
			  char *err, size_t errlen);
json_t *ps_encode_registers_part(const struct ps_model *m, size_t thread);
int ps_decode_registers_part(const json_t *j, struct ps_model *m, size_t thread,
			     char *err, size_t errlen);
json_t *ps_encode_signals_part(const struct ps_model *m, size_t thread);
int ps_decode_signals_part(const json_t *j, struct ps_model *m, size_t thread,
			   char *err, size_t errlen);
/* seccomp.json (image/seccomp_json.c): read after the registers, whose
 * threads it follows one for one. */
json_t *ps_encode_seccomp_part(const struct ps_model *m, size_t thread);
int ps_decode_seccomp_part(const json_t *j, struct ps_model *m, size_t thread,
			   char *err, size_t errlen);

json_t *ps_encode_attributes_part(const struct ps_model *m, size_t thread);
/* Needs the registers part (every entry names a thread of it). */
int ps_decode_attributes_part(const json_t *j, struct ps_model *m, size_t thread,
			      char *err, size_t errlen);

/* Serialize as procsnap writes every JSON file: 2-space indent, keys in
 * insertion order, trailing newline. malloc'd; *len is set. NULL on ENOMEM. */
char *ps_json_dump(const json_t *j, size_t *len);

#endif
