/* Shared helpers of the JSON codec (*_json.c): hex strings for 64-bit values,
 * byte strings, blobs, names of enums and flags, and type-checking getters. */
#ifndef PROCSNAP_JSON_UTIL_H
#define PROCSNAP_JSON_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "image/file_names.h"
#include "image/image_limits.h"
#include "image/model.h"

/* ---- errors ---- */

/* Where a decoder is, so every error reads "maps.json: entry 3: field
 * \"start\" is missing": the file, then the path inside it. */
struct ps_jerr {
	char *buf;
	size_t len;
	char file[48];
	char where[160];
	int nomem;          /* set by ps_jerr_nomem: decoders return -ENOMEM then */
};

void ps_jerr_init(struct ps_jerr *e, char *buf, size_t len, const char *file);
/* Descend into a part of the file ("entry 3", "file"); returns a mark that
 * ps_jerr_pop takes to climb back out. */
size_t ps_jerr_push(struct ps_jerr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ps_jerr_pop(struct ps_jerr *e, size_t mark);
/* Write "<file>: <where>: <message>" into the buffer; returns -EINVAL. */
int ps_jerr_fail(struct ps_jerr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "<file>: out of memory"; returns -ENOMEM. */
int ps_jerr_nomem(struct ps_jerr *e);
/* What a decoder returns after failing with rc: -ENOMEM if memory ran out
 * (checks chained with || only keep "failed"), else rc. */
int ps_jerr_rc(const struct ps_jerr *e, int rc);

/* ---- names of enum values and flag bits ---- */

struct ps_name {
	long long value;
	const char *name;
};                          /* tables end with { 0, NULL } */

struct ps_flag {
	uint64_t mask, value;   /* the flag is set when (raw & mask) == value */
	const char *name;
};                          /* tables end with { 0, 0, NULL } */

/* ---- encoding: each returns a new reference, NULL on ENOMEM ---- */

json_t *ps_json_new_file(void);                      /* {"format": 1} */
json_t *ps_json_hex(uint64_t v);                     /* "0x7ffd1000" */
json_t *ps_json_count(uint64_t v);                   /* integer; "0x..." above INT64_MAX */
json_t *ps_json_octal(uint64_t v);                   /* "0644", "0100644" */
json_t *ps_json_bytes(const char *data, size_t len); /* string, or {"hex": "..."} */
json_t *ps_json_blob(const void *data, size_t len);  /* "00ff..." */
json_t *ps_json_time(int64_t sec, long nsec);        /* "2024-05-01T12:00:00.000000001Z" */
json_t *ps_json_dev(uint32_t major, uint32_t minor); /* "8:1", decimal as mountinfo */
json_t *ps_json_enum(long long v, const struct ps_name *t); /* name, or the number */
/* Names of the set flags; bits no entry names are added as one "0x..." item. */
json_t *ps_json_flags(uint64_t v, const struct ps_flag *t);
json_t *ps_json_siginfo(const struct ps_siginfo *si);
json_t *ps_json_comm(const char comm[PS_COMM_LEN]);  /* as ps_json_bytes */

/* ---- parsing ---- */

/* What parsing the JSON text would take in memory, in bytes, counted from the
 * objects, arrays, strings and numbers it holds without allocating any. */
size_t ps_json_parse_cost(const char *text, size_t len);
/* Parse the file name, len bytes at text (duplicate keys refused): NULL, with
 * a sentence in err, when parsing would take more than max_memory bytes
 * (refused before it starts) or the text is not valid JSON. */
json_t *ps_json_load(const char *text, size_t len, const char *name, size_t max_memory,
		     char *err, size_t errlen);

/* ---- decoding ----
 * ps_jv_* check one value (NULL means it is missing) and name it `field` in
 * errors; ps_jget_* look up obj[key] and check it the same way. Each returns
 * 0 or -EINVAL (-ENOMEM for allocations) with the sentence in e. */

int ps_jcheck_format(const json_t *root, struct ps_jerr *e); /* object with "format": 1 */
int ps_jhas(const json_t *obj, const char *key);              /* present and not null */

int ps_jv_object(const json_t *v, const char *field, struct ps_jerr *e);
int ps_jv_int(const json_t *v, const char *field, long long min, long long max,
	      long long *out, struct ps_jerr *e);
int ps_jv_string(const json_t *v, const char *field, size_t maxlen,
		 const char **out, struct ps_jerr *e);
/* String or {"hex": "..."}; at most maxlen bytes, no NUL byte (every byte
 * string of the model is a path, argument or name, which cannot hold one). */
int ps_jv_bytes(const json_t *v, const char *field, size_t maxlen,
		struct ps_bytes *out, struct ps_jerr *e);
int ps_jv_siginfo(const json_t *v, const char *field, struct ps_siginfo *out,
		  struct ps_jerr *e);
/* An array of siginfo (a pending queue, in order) of at most PS_MAX_PENDING,
 * malloc'd into *out. */
int ps_jget_siginfo_list(const json_t *obj, const char *key, struct ps_siginfo **out,
			 size_t *n, struct ps_jerr *e);

int ps_jget_object(const json_t *obj, const char *key, const json_t **out, struct ps_jerr *e);
int ps_jget_array(const json_t *obj, const char *key, const json_t **out, struct ps_jerr *e);
/* An array of at most max entries, checked before the caller allocates for
 * them; what completes the sentence "field \"files\" has 200000 entries, more
 * than the 163846 <what>", e.g. "files an image may list". */
int ps_jget_array_max(const json_t *obj, const char *key, size_t max, const char *what,
		      const json_t **out, size_t *n, struct ps_jerr *e);
int ps_jget_bool(const json_t *obj, const char *key, int *out, struct ps_jerr *e);
int ps_jget_int(const json_t *obj, const char *key, long long min, long long max,
		long long *out, struct ps_jerr *e);
int ps_jget_hex(const json_t *obj, const char *key, uint64_t max, uint64_t *out,
		struct ps_jerr *e);
/* A hex address below PS_USER_ADDR_END (0 allowed: "none"). */
int ps_jget_addr(const json_t *obj, const char *key, uint64_t *out, struct ps_jerr *e);
int ps_jget_count(const json_t *obj, const char *key, uint64_t *out, struct ps_jerr *e);
int ps_jget_octal(const json_t *obj, const char *key, uint64_t max, uint64_t *out,
		  struct ps_jerr *e);
int ps_jget_string(const json_t *obj, const char *key, size_t maxlen,
		   const char **out, struct ps_jerr *e);
/* A printable ASCII string of at most size-1 bytes, copied into buf. */
int ps_jget_strbuf(const json_t *obj, const char *key, char *buf, size_t size,
		   struct ps_jerr *e);
/* A malloc'd copy of a printable ASCII string. */
int ps_jget_strdup(const json_t *obj, const char *key, size_t maxlen, char **out,
		   struct ps_jerr *e);
int ps_jget_bytes(const json_t *obj, const char *key, size_t maxlen,
		  struct ps_bytes *out, struct ps_jerr *e);
/* A byte string of at most PS_PATH_MAX - 1 bytes; with absolute, it must
 * start with "/" (an empty one is refused too). */
int ps_jget_path(const json_t *obj, const char *key, int absolute,
		 struct ps_bytes *out, struct ps_jerr *e);
/* A thread or process name: bytes, shorter than PS_COMM_LEN. */
int ps_jget_comm(const json_t *obj, const char *key, char comm[PS_COMM_LEN],
		 struct ps_jerr *e);
/* A hex blob of at most maxlen bytes, malloc'd (NULL when empty). */
int ps_jget_blob(const json_t *obj, const char *key, size_t maxlen,
		 uint8_t **out, size_t *len, struct ps_jerr *e);
int ps_jget_time(const json_t *obj, const char *key, int64_t *sec, long *nsec,
		 struct ps_jerr *e);
int ps_jget_dev(const json_t *obj, const char *key, uint32_t *major, uint32_t *minor,
		struct ps_jerr *e);
/* A name from t; with allow_number, also a plain integer (values t lacks). */
int ps_jget_enum(const json_t *obj, const char *key, const struct ps_name *t,
		 int allow_number, long long *out, struct ps_jerr *e);
int ps_jget_flags(const json_t *obj, const char *key, const struct ps_flag *t,
		  uint64_t *out, struct ps_jerr *e);
/* Flags written twice, as names (for people) and as a raw hex value (exact):
 * both must be present and agree. */
int ps_jget_flags_raw(const json_t *obj, const char *names_key, const char *raw_key,
		      const struct ps_flag *t, uint64_t *out, struct ps_jerr *e);

#endif
