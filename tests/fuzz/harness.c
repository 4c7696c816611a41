/* The checks every fuzz harness runs on what a decoder makes of its input:
 * refusals are one sentence with a fitting errno, acceptance round-trips. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "image/codec.h"
#include "harness.h"
#include "image/json_util.h"

void ps_fuzz_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void ps_fuzz_check_refusal(const char *what, int rc, int expect, const char *err)
{
	if (rc != expect && rc != -ENOMEM)
		ps_fuzz_die("%s: refused with %d, not %d or -ENOMEM: %s", what, rc, expect, err);
	if (!err[0])
		ps_fuzz_die("%s: refused (%d) without a sentence saying why", what, rc);
	for (const char *c = err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			ps_fuzz_die("%s: the refusal holds control character 0x%02x: %s", what, *c, err);
}

static char *encode_text(const struct ps_fuzz_part *p, const void *model, size_t *len)
{
	json_t *j = p->encode(model);
	char *text;

	if (!j)
		ps_fuzz_die("%s: what the decoder accepted does not encode", p->file);
	text = ps_json_dump(j, len);
	json_decref(j);
	if (!text)
		ps_fuzz_die("%s: the encoded part does not serialize", p->file);
	return text;
}

void ps_fuzz_roundtrip(const struct ps_fuzz_part *p, const void *model)
{
	char err[1024] = "";
	void *again = calloc(1, p->model_size);
	size_t len1, len2;
	char *text1 = encode_text(p, model, &len1), *text2;
	json_t *j = ps_json_load(text1, len1, p->file, SIZE_MAX, err, sizeof(err));

	if (!j)
		ps_fuzz_die("%s: the encoder wrote what does not parse: %s\n%s", p->file, err, text1);
	if (p->decode(j, again, err, sizeof(err)))
		ps_fuzz_die("%s: what the encoder wrote does not decode: %s\n%s", p->file, err, text1);
	json_decref(j);
	text2 = encode_text(p, again, &len2);
	if (len1 != len2 || memcmp(text1, text2, len1) != 0)
		ps_fuzz_die("%s: decoded again, the part encodes differently\n"
			    "---- first\n%s---- second\n%s", p->file, text1, text2);
	p->release(again);
	free(again);
	free(text1);
	free(text2);
}

void ps_fuzz_part(const struct ps_fuzz_part *p, const uint8_t *data, size_t size)
{
	char err[1024] = "";
	json_t *j = ps_json_load((const char *)data, size, p->file, p->max_memory,
				 err, sizeof(err));
	void *model;
	int rc;

	if (!j) {
		ps_fuzz_check_refusal(p->file, -EINVAL, -EINVAL, err);
		return;
	}
	model = calloc(1, p->model_size);
	rc = p->decode(j, model, err, sizeof(err));
	json_decref(j);
	if (rc) {
		ps_fuzz_check_refusal(p->file, rc, -EINVAL, err);
	} else {
		ps_fuzz_roundtrip(p, model);
		p->release(model);
	}
	free(model);
}
