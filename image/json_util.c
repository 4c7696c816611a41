/* Shared helpers of the JSON codec: value encodings, names, error sentences
 * and the type-checking getters every *_json.c decoder is built from. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "image/codec.h"
#include "image/json_util.h"

/* ---- image file names ---- */

void ps_memory_file_name(char *buf, size_t len, uint64_t start, uint64_t end)
{
	snprintf(buf, len, "memory/%08" PRIx64 "-%08" PRIx64, start, end);
}

int ps_memory_file_range(const char *name, uint64_t *start, uint64_t *end)
{
	char canonical[PS_MEMORY_NAME_MAX];
	unsigned long long a, b;

	if (sscanf(name, "memory/%llx-%llx", &a, &b) != 2 || a >= b)
		return -EINVAL;
	ps_memory_file_name(canonical, sizeof(canonical), a, b);
	if (strcmp(canonical, name) != 0)
		return -EINVAL;
	*start = a;
	*end = b;
	return 0;
}

void ps_fd_data_name(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "fds/%d", fd);
}

void ps_registers_file_name(char *buf, size_t len, pid_t tid)
{
	snprintf(buf, len, "registers/%d.json", (int)tid);
}

/* ---- errors ---- */

/* Sentences quote the image (a name, jansson's text near a syntax error):
 * bytes of a file, which may hold newlines or terminal escapes, in what the
 * user reads as one line. */
static void blank_controls(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void ps_jerr_init(struct ps_jerr *e, char *buf, size_t len, const char *file)
{
	e->buf = buf;
	e->len = len;
	snprintf(e->file, sizeof(e->file), "%s", file);
	e->where[0] = '\0';
	e->nomem = 0;
	if (buf && len)
		buf[0] = '\0';
}

size_t ps_jerr_push(struct ps_jerr *e, const char *fmt, ...)
{
	size_t mark = strlen(e->where);
	size_t pos = mark;
	va_list ap;

	if (mark && mark + 2 < sizeof(e->where)) {
		memcpy(e->where + mark, ": ", 3);
		pos += 2;
	}
	if (pos < sizeof(e->where)) {
		va_start(ap, fmt);
		vsnprintf(e->where + pos, sizeof(e->where) - pos, fmt, ap);
		va_end(ap);
	}
	return mark;
}

void ps_jerr_pop(struct ps_jerr *e, size_t mark)
{
	if (mark < sizeof(e->where))
		e->where[mark] = '\0';
}

int ps_jerr_fail(struct ps_jerr *e, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!e->buf || !e->len)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(e->buf, e->len, "%s: %s%s%s", e->file, e->where,
		 e->where[0] ? ": " : "", msg);
	blank_controls(e->buf);
	return -EINVAL;
}

int ps_jerr_nomem(struct ps_jerr *e)
{
	e->nomem = 1;
	if (e->buf && e->len)
		snprintf(e->buf, e->len, "%s: out of memory", e->file);
	return -ENOMEM;
}

int ps_jerr_rc(const struct ps_jerr *e, int rc)
{
	return rc && e->nomem ? -ENOMEM : rc;
}

static int missing(struct ps_jerr *e, const char *field)
{
	return ps_jerr_fail(e, "field \"%s\" is missing", field);
}

static int must_be(struct ps_jerr *e, const char *field, const char *what)
{
	return ps_jerr_fail(e, "field \"%s\" must be %s", field, what);
}

/* ---- names ---- */

static const char *name_of(long long value, const struct ps_name *t)
{
	for (; t->name; t++)
		if (t->value == value)
			return t->name;
	return NULL;
}

static int value_of(const char *name, const struct ps_name *t, long long *value)
{
	for (; t->name; t++) {
		if (strcmp(t->name, name) == 0) {
			*value = t->value;
			return 0;
		}
	}
	return -1;
}

static const struct ps_flag *flag_named(const char *name, const struct ps_flag *t)
{
	for (; t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

/* ---- text forms of numbers, parsed strictly ---- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "0x" and 1 to 16 hex digits, nothing else. */
static int parse_hex(const char *s, uint64_t *out)
{
	size_t n;
	uint64_t v = 0;

	if (s[0] != '0' || s[1] != 'x')
		return -1;
	s += 2;
	n = strlen(s);
	if (n == 0 || n > 16)
		return -1;
	for (; *s; s++) {
		int d = hex_digit(*s);
		if (d < 0)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return 0;
}

/* "0" followed by octal digits, at most 22 of them (64 bits). */
static int parse_octal(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (s[0] != '0' || strlen(s) > 23)
		return -1;
	for (s++; *s; s++) {
		if (*s < '0' || *s > '7')
			return -1;
		v = v << 3 | (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* Decimal digits only, value <= max. */
static int parse_decimal(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int is_printable_ascii(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

/* ---- encoding ---- */

json_t *ps_json_new_file(void)
{
	json_t *o = json_object();

	if (o && json_object_set_new(o, "format", json_integer(PS_FORMAT_VERSION))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *ps_json_hex(uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "0x%" PRIx64, v);
	return json_string(s);
}

json_t *ps_json_count(uint64_t v)
{
	if (v > INT64_MAX)   /* jansson integers are signed 64-bit */
		return ps_json_hex(v);
	return json_integer((json_int_t)v);
}

json_t *ps_json_octal(uint64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "0%" PRIo64, v);
	return json_string(s);
}

json_t *ps_json_blob(const void *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = data;
	char *s = malloc(2 * len + 1);
	json_t *j;

	if (!s)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * len] = '\0';
	j = json_stringn(s, 2 * len);
	free(s);
	return j;
}

/* A JSON string can carry only valid UTF-8 (json_stringn checks), and a NUL
 * would not survive every reader: anything else goes as hex. */
json_t *ps_json_bytes(const char *data, size_t len)
{
	json_t *o;

	if (!data || !len)
		return json_string("");
	if (!memchr(data, '\0', len)) {
		json_t *s = json_stringn(data, len);
		if (s)
			return s;
	}
	o = json_object();
	if (o && json_object_set_new(o, "hex", ps_json_blob(data, len))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *ps_json_time(int64_t sec, long nsec)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (!gmtime_r(&t, &tm))   /* beyond any calendar: the decoder rejects it */
		return json_sprintf("@%" PRId64 ".%09ld", sec, nsec);
	return json_sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ",
			    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			    tm.tm_hour, tm.tm_min, tm.tm_sec, nsec);
}

json_t *ps_json_dev(uint32_t major, uint32_t minor)
{
	return json_sprintf("%u:%u", major, minor);
}

json_t *ps_json_enum(long long v, const struct ps_name *t)
{
	const char *name = name_of(v, t);

	return name ? json_string(name) : json_integer(v);
}

json_t *ps_json_flags(uint64_t v, const struct ps_flag *t)
{
	json_t *a = json_array();
	uint64_t named = 0;
	int rc = 0;

	for (; t->name; t++) {
		if ((named & t->mask) || (v & t->mask) != t->value)
			continue;
		named |= t->mask;
		rc |= json_array_append_new(a, json_string(t->name));
	}
	if (v & ~named)
		rc |= json_array_append_new(a, ps_json_hex(v & ~named));
	if (rc) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* Linux's siginfo starts with si_signo, si_errno, si_code. */
static void siginfo_head(const uint8_t *raw, int *signo, int *err, int *code)
{
	memcpy(signo, raw, sizeof(int));
	memcpy(err, raw + sizeof(int), sizeof(int));
	memcpy(code, raw + 2 * sizeof(int), sizeof(int));
}

/* The readable fields come from raw, which is authoritative, so an image
 * never disagrees with itself. */
json_t *ps_json_siginfo(const struct ps_siginfo *si)
{
	json_t *o = json_object();
	int signo, err, code, rc = 0;

	siginfo_head(si->raw, &signo, &err, &code);
	rc |= json_object_set_new(o, "signo", json_integer(signo));
	rc |= json_object_set_new(o, "code", json_integer(code));
	rc |= json_object_set_new(o, "errno", json_integer(err));
	rc |= json_object_set_new(o, "raw", ps_json_blob(si->raw, sizeof(si->raw)));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *ps_json_comm(const char comm[PS_COMM_LEN])
{
	return ps_json_bytes(comm, strnlen(comm, PS_COMM_LEN - 1));
}

/* 2-space indent, insertion order, trailing newline. */
char *ps_json_dump(const json_t *j, size_t *len)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	char *t;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	t = realloc(s, n + 2);
	if (!t) {
		free(s);
		return NULL;
	}
	t[n] = '\n';
	t[n + 1] = '\0';
	*len = n + 1;
	return t;
}

/* ---- parsing ---- */

/* What jansson 2.14 allocates on x86_64 for each value it parses (measured
 * with glibc's malloc, rounded up): an empty object with its hash table 250
 * bytes, an array 154, a string or an object's key about 110 and its bytes, a
 * number 50, and for true, false and null (shared singletons) the slot in
 * their parent. The bytes of a string are copied out of the lexer's buffer,
 * which doubles as it grows to the longest one: three times the text's
 * length covers both. */
#define COST_CONTAINER 256
#define COST_STRING 128
#define COST_NUMBER 64
#define COST_LITERAL 16

static int is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int ends_token(char c)
{
	return is_json_space(c) || strchr("{}[]:,\"", c) != NULL;
}

/* The index of the quote closing the string whose opening quote is at i, or
 * len when it is not closed. */
static size_t string_end(const char *s, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i;
	}
	return len;
}

size_t ps_json_parse_cost(const char *s, size_t len)
{
	size_t cost = 3 * len;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '{' || c == '[') {
			cost += COST_CONTAINER;
		} else if (c == '"') {
			cost += COST_STRING;
			i = string_end(s, len, i);
		} else if (!ends_token(c)) {
			cost += c == 't' || c == 'f' || c == 'n' ? COST_LITERAL : COST_NUMBER;
			while (i + 1 < len && !ends_token(s[i + 1]))
				i++;
		}
	}
	return cost;
}

json_t *ps_json_load(const char *text, size_t len, const char *name, size_t max_memory,
		     char *err, size_t errlen)
{
	size_t cost = ps_json_parse_cost(text, len);
	json_error_t jerr;
	json_t *j;

	if (cost > max_memory) {
		snprintf(err, errlen, "%s would take about %zu MiB of memory to parse; "
			 "at most %zu MiB is allowed for it", name, (cost + (1 << 20) - 1) >> 20,
			 max_memory >> 20);
		return NULL;
	}
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		blank_controls(jerr.text);
		snprintf(err, errlen, "%s is not valid JSON: %s (line %d, column %d)",
			 name, jerr.text, jerr.line, jerr.column);
	}
	return j;
}

/* ---- decoding one value ---- */

int ps_jcheck_format(const json_t *root, struct ps_jerr *e)
{
	long long format;

	if (!json_is_object(root))
		return ps_jerr_fail(e, "the top level must be a JSON object");
	if (ps_jget_int(root, "format", 0, INT32_MAX, &format, e))
		return -EINVAL;
	if (format != PS_FORMAT_VERSION)
		return ps_jerr_fail(e, "field \"format\" is %lld, but this procsnap reads format %d",
				    format, PS_FORMAT_VERSION);
	return 0;
}

int ps_jhas(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return v && !json_is_null(v);
}

int ps_jv_object(const json_t *v, const char *field, struct ps_jerr *e)
{
	if (!v)
		return missing(e, field);
	return json_is_object(v) ? 0 : must_be(e, field, "an object");
}

static int jv_array(const json_t *v, const char *field, struct ps_jerr *e)
{
	if (!v)
		return missing(e, field);
	return json_is_array(v) ? 0 : must_be(e, field, "an array");
}

int ps_jv_int(const json_t *v, const char *field, long long min, long long max,
	      long long *out, struct ps_jerr *e)
{
	json_int_t n;

	if (!v)
		return missing(e, field);
	if (!json_is_integer(v))
		return must_be(e, field, "an integer");
	n = json_integer_value(v);
	if (n < min || n > max)
		return ps_jerr_fail(e, "field \"%s\" is %lld, out of range %lld..%lld",
				    field, (long long)n, min, max);
	*out = n;
	return 0;
}

int ps_jv_string(const json_t *v, const char *field, size_t maxlen,
		 const char **out, struct ps_jerr *e)
{
	if (!v)
		return missing(e, field);
	if (!json_is_string(v))
		return must_be(e, field, "a string");
	if (json_string_length(v) > maxlen)
		return ps_jerr_fail(e, "field \"%s\" is longer than %zu bytes", field, maxlen);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return ps_jerr_fail(e, "field \"%s\" contains a NUL byte", field);
	*out = json_string_value(v);
	return 0;
}

/* Hex digits in pairs into a new buffer (NULL for ""), at most maxlen bytes. */
static int decode_blob(const json_t *v, const char *field, size_t maxlen,
		       uint8_t **out, size_t *len, struct ps_jerr *e)
{
	const char *s;
	size_t n;
	uint8_t *b;

	if (ps_jv_string(v, field, maxlen > SIZE_MAX / 2 ? SIZE_MAX : 2 * maxlen, &s, e))
		return -EINVAL;
	n = strlen(s);
	if (n % 2)
		return must_be(e, field, "hex digits in pairs");
	b = n ? malloc(n / 2) : NULL;
	if (n && !b)
		return ps_jerr_nomem(e);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(b);
			return must_be(e, field, "a string of hex digits");
		}
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	*out = b;
	*len = n / 2;
	return 0;
}

static int bytes_from_hex(const json_t *v, const char *field, size_t maxlen,
			  struct ps_bytes *out, struct ps_jerr *e)
{
	uint8_t *b;
	size_t n;
	char *s;

	if (json_object_size(v) != 1 || !json_object_get(v, "hex"))
		return must_be(e, field, "a string or {\"hex\": \"...\"}");
	if (decode_blob(json_object_get(v, "hex"), field, maxlen, &b, &n, e))
		return -EINVAL;
	if (n && memchr(b, '\0', n)) {
		free(b);
		return ps_jerr_fail(e, "field \"%s\" contains a NUL byte", field);
	}
	s = realloc(b, n + 1);   /* room for the NUL ps_bytes keeps */
	if (!s) {
		free(b);
		return ps_jerr_nomem(e);
	}
	s[n] = '\0';
	out->data = s;
	out->len = n;
	return 0;
}

int ps_jv_bytes(const json_t *v, const char *field, size_t maxlen,
		struct ps_bytes *out, struct ps_jerr *e)
{
	const char *s;

	if (!v)
		return missing(e, field);
	if (json_is_object(v))
		return bytes_from_hex(v, field, maxlen, out, e);
	if (!json_is_string(v))
		return must_be(e, field, "a string or {\"hex\": \"...\"}");
	if (ps_jv_string(v, field, maxlen, &s, e))
		return -EINVAL;
	out->len = strlen(s);
	out->data = strdup(s);
	return out->data ? 0 : ps_jerr_nomem(e);
}

int ps_jv_siginfo(const json_t *v, const char *field, struct ps_siginfo *out,
		  struct ps_jerr *e)
{
	long long signo, code, err;
	uint8_t *raw;
	size_t n;
	size_t mark;
	int rc = -EINVAL;

	if (ps_jv_object(v, field, e))
		return -EINVAL;
	mark = ps_jerr_push(e, "%s", field);
	if (ps_jget_int(v, "signo", 1, PS_NSIG, &signo, e) ||
	    ps_jget_int(v, "code", INT32_MIN, INT32_MAX, &code, e) ||
	    ps_jget_int(v, "errno", INT32_MIN, INT32_MAX, &err, e) ||
	    ps_jget_blob(v, "raw", PS_SIGINFO_SIZE, &raw, &n, e))
		goto out;
	if (n != PS_SIGINFO_SIZE) {
		ps_jerr_fail(e, "field \"raw\" must be %d bytes, not %zu", PS_SIGINFO_SIZE, n);
		free(raw);
		goto out;
	}
	memcpy(out->raw, raw, PS_SIGINFO_SIZE);
	free(raw);
	siginfo_head(out->raw, &out->signo, &out->err, &out->code);
	if (out->signo != signo || out->err != err || out->code != code) {
		ps_jerr_fail(e, "fields \"signo\", \"errno\", \"code\" do not match \"raw\"");
		goto out;
	}
	rc = 0;
out:
	ps_jerr_pop(e, mark);
	return rc;
}

int ps_jget_siginfo_list(const json_t *obj, const char *key, struct ps_siginfo **out,
			 size_t *n, struct ps_jerr *e)
{
	const json_t *a;
	char field[48];
	size_t count;

	if (ps_jget_array_max(obj, key, PS_MAX_PENDING, "queued signals an image may hold",
			      &a, &count, e))
		return -EINVAL;
	*out = calloc(count ? count : 1, sizeof(**out));
	if (!*out)
		return ps_jerr_nomem(e);
	*n = count;
	for (size_t i = 0; i < count; i++) {
		snprintf(field, sizeof(field), "%s[%zu]", key, i);
		if (ps_jv_siginfo(json_array_get(a, i), field, &(*out)[i], e))
			return -EINVAL;
	}
	return 0;
}

/* ---- decoding obj[key] ---- */

int ps_jget_object(const json_t *obj, const char *key, const json_t **out, struct ps_jerr *e)
{
	const json_t *v = json_object_get(obj, key);

	if (ps_jv_object(v, key, e))
		return -EINVAL;
	*out = v;
	return 0;
}

int ps_jget_array(const json_t *obj, const char *key, const json_t **out, struct ps_jerr *e)
{
	const json_t *v = json_object_get(obj, key);

	if (jv_array(v, key, e))
		return -EINVAL;
	*out = v;
	return 0;
}

int ps_jget_array_max(const json_t *obj, const char *key, size_t max, const char *what,
		      const json_t **out, size_t *n, struct ps_jerr *e)
{
	if (ps_jget_array(obj, key, out, e))
		return -EINVAL;
	*n = json_array_size(*out);
	if (*n > max)
		return ps_jerr_fail(e, "field \"%s\" has %zu entries, more than the %zu %s",
				    key, *n, max, what);
	return 0;
}

int ps_jget_bool(const json_t *obj, const char *key, int *out, struct ps_jerr *e)
{
	const json_t *v = json_object_get(obj, key);

	if (!v)
		return missing(e, key);
	if (!json_is_boolean(v))
		return must_be(e, key, "true or false");
	*out = json_is_true(v);
	return 0;
}

int ps_jget_int(const json_t *obj, const char *key, long long min, long long max,
		long long *out, struct ps_jerr *e)
{
	return ps_jv_int(json_object_get(obj, key), key, min, max, out, e);
}

int ps_jget_hex(const json_t *obj, const char *key, uint64_t max, uint64_t *out,
		struct ps_jerr *e)
{
	const json_t *v = json_object_get(obj, key);
	uint64_t n;

	if (!v)
		return missing(e, key);
	if (!json_is_string(v) || parse_hex(json_string_value(v), &n))
		return must_be(e, key, "a hex string like \"0x1f\"");
	if (n > max)
		return ps_jerr_fail(e, "field \"%s\" is 0x%" PRIx64 ", above 0x%" PRIx64,
				    key, n, max);
	*out = n;
	return 0;
}

int ps_jget_addr(const json_t *obj, const char *key, uint64_t *out, struct ps_jerr *e)
{
	uint64_t a;

	if (ps_jget_hex(obj, key, UINT64_MAX, &a, e))
		return -EINVAL;
	if (a >= PS_USER_ADDR_END)
		return ps_jerr_fail(e, "field \"%s\" is 0x%" PRIx64 ", not a user-space address",
				    key, a);
	*out = a;
	return 0;
}

int ps_jget_count(const json_t *obj, const char *key, uint64_t *out, struct ps_jerr *e)
{
	const json_t *v = json_object_get(obj, key);
	long long n;

	if (v && json_is_string(v)) {   /* values above INT64_MAX */
		if (parse_hex(json_string_value(v), out))
			return must_be(e, key, "an integer, or a \"0x...\" string above 2^63");
		return 0;
	}
	if (ps_jv_int(v, key, 0, INT64_MAX, &n, e))
		return -EINVAL;
	*out = (uint64_t)n;
	return 0;
}

int ps_jget_octal(const json_t *obj, const char *key, uint64_t max, uint64_t *out,
		  struct ps_jerr *e)
{
	const json_t *v = json_object_get(obj, key);
	uint64_t n;

	if (!v)
		return missing(e, key);
	if (!json_is_string(v) || parse_octal(json_string_value(v), &n))
		return must_be(e, key, "an octal string like \"0644\"");
	if (n > max)
		return ps_jerr_fail(e, "field \"%s\" is 0%" PRIo64 ", above 0%" PRIo64, key, n, max);
	*out = n;
	return 0;
}

int ps_jget_string(const json_t *obj, const char *key, size_t maxlen,
		   const char **out, struct ps_jerr *e)
{
	return ps_jv_string(json_object_get(obj, key), key, maxlen, out, e);
}

int ps_jget_strbuf(const json_t *obj, const char *key, char *buf, size_t size,
		   struct ps_jerr *e)
{
	const char *s;

	if (ps_jget_string(obj, key, size - 1, &s, e))
		return -EINVAL;
	if (!is_printable_ascii(s))
		return must_be(e, key, "printable ASCII");
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

int ps_jget_strdup(const json_t *obj, const char *key, size_t maxlen, char **out,
		   struct ps_jerr *e)
{
	const char *s;

	if (ps_jget_string(obj, key, maxlen, &s, e))
		return -EINVAL;
	if (!is_printable_ascii(s))
		return must_be(e, key, "printable ASCII");
	*out = strdup(s);
	return *out ? 0 : ps_jerr_nomem(e);
}

int ps_jget_bytes(const json_t *obj, const char *key, size_t maxlen,
		  struct ps_bytes *out, struct ps_jerr *e)
{
	return ps_jv_bytes(json_object_get(obj, key), key, maxlen, out, e);
}

int ps_jget_path(const json_t *obj, const char *key, int absolute,
		 struct ps_bytes *out, struct ps_jerr *e)
{
	if (ps_jget_bytes(obj, key, PS_PATH_MAX - 1, out, e))
		return -EINVAL;
	if (absolute && out->data[0] != '/') {
		ps_bytes_free(out);
		return ps_jerr_fail(e, "field \"%s\" must be an absolute path", key);
	}
	return 0;
}

int ps_jget_comm(const json_t *obj, const char *key, char comm[PS_COMM_LEN],
		 struct ps_jerr *e)
{
	struct ps_bytes b = { 0 };

	if (ps_jget_bytes(obj, key, PS_COMM_LEN - 1, &b, e))
		return -EINVAL;
	memset(comm, 0, PS_COMM_LEN);
	memcpy(comm, b.data, b.len);
	ps_bytes_free(&b);
	return 0;
}

int ps_jget_blob(const json_t *obj, const char *key, size_t maxlen,
		 uint8_t **out, size_t *len, struct ps_jerr *e)
{
	return decode_blob(json_object_get(obj, key), key, maxlen, out, len, e);
}

/* Two digits at s as a number, or -1. */
static int two_digits(const char *s)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* Exactly "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ", as ps_json_time writes. */
static int parse_time(const char *s, int64_t *sec, long *nsec)
{
	struct tm tm = { 0 }, back;
	uint64_t year, ns;
	time_t t;

	if (strlen(s) != 30 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != '.' || s[29] != 'Z')
		return -1;
	if (parse_decimal(s, 4, 9999, &year) || parse_decimal(s + 20, 9, 999999999, &ns))
		return -1;
	tm.tm_year = (int)year - 1900;
	tm.tm_mon = two_digits(s + 5) - 1;
	tm.tm_mday = two_digits(s + 8);
	tm.tm_hour = two_digits(s + 11);
	tm.tm_min = two_digits(s + 14);
	tm.tm_sec = two_digits(s + 17);
	back = tm;
	t = timegm(&tm);
	/* timegm normalises Feb 30 into Mar 2: compare to catch such dates */
	if (back.tm_mon != tm.tm_mon || back.tm_mday != tm.tm_mday ||
	    back.tm_hour != tm.tm_hour || back.tm_min != tm.tm_min ||
	    back.tm_sec != tm.tm_sec || back.tm_year != tm.tm_year)
		return -1;
	*sec = t;
	*nsec = (long)ns;
	return 0;
}

int ps_jget_time(const json_t *obj, const char *key, int64_t *sec, long *nsec,
		 struct ps_jerr *e)
{
	const char *s;

	if (ps_jget_string(obj, key, 64, &s, e))
		return -EINVAL;
	if (parse_time(s, sec, nsec))
		return must_be(e, key, "a UTC time like \"2024-05-01T12:00:00.000000000Z\"");
	return 0;
}

int ps_jget_dev(const json_t *obj, const char *key, uint32_t *major, uint32_t *minor,
		struct ps_jerr *e)
{
	const char *s, *colon;
	uint64_t ma, mi;

	if (ps_jget_string(obj, key, 32, &s, e))
		return -EINVAL;
	colon = strchr(s, ':');
	/* the kernel's dev_t: 12-bit major, 20-bit minor */
	if (!colon || parse_decimal(s, (size_t)(colon - s), 0xfff, &ma) ||
	    parse_decimal(colon + 1, strlen(colon + 1), 0xfffff, &mi))
		return must_be(e, key, "a device \"major:minor\" like \"8:1\"");
	*major = (uint32_t)ma;
	*minor = (uint32_t)mi;
	return 0;
}

int ps_jget_enum(const json_t *obj, const char *key, const struct ps_name *t,
		 int allow_number, long long *out, struct ps_jerr *e)
{
	const json_t *v = json_object_get(obj, key);

	if (!v)
		return missing(e, key);
	if (allow_number && json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return must_be(e, key, allow_number ? "a name or an integer" : "a name");
	if (value_of(json_string_value(v), t, out))
		return ps_jerr_fail(e, "field \"%s\" has the unknown name \"%s\"",
				    key, json_string_value(v));
	return 0;
}

/* One item of a flags list: a name from t or a "0x..." of unnamed bits. */
static int flag_item(const json_t *item, const char *key, const struct ps_flag *t,
		     uint64_t *named, uint64_t *v, struct ps_jerr *e)
{
	const char *s = json_string_value(item);
	const struct ps_flag *f;
	uint64_t bits;

	if (!s)
		return ps_jerr_fail(e, "field \"%s\" must list names as strings", key);
	if (parse_hex(s, &bits) == 0) {
		*v |= bits;
		return 0;
	}
	f = flag_named(s, t);
	if (!f)
		return ps_jerr_fail(e, "field \"%s\" has the unknown flag \"%s\"", key, s);
	if (*named & f->mask)
		return ps_jerr_fail(e, "field \"%s\" names \"%s\" twice or with a conflicting flag",
				    key, s);
	*named |= f->mask;
	*v |= f->value;
	return 0;
}

int ps_jget_flags(const json_t *obj, const char *key, const struct ps_flag *t,
		  uint64_t *out, struct ps_jerr *e)
{
	const json_t *a = json_object_get(obj, key);
	uint64_t named = 0, v = 0;

	if (jv_array(a, key, e))
		return -EINVAL;
	for (size_t i = 0; i < json_array_size(a); i++)
		if (flag_item(json_array_get(a, i), key, t, &named, &v, e))
			return -EINVAL;
	*out = v;
	return 0;
}

int ps_jget_flags_raw(const json_t *obj, const char *names_key, const char *raw_key,
		      const struct ps_flag *t, uint64_t *out, struct ps_jerr *e)
{
	uint64_t named, raw;

	if (ps_jget_flags(obj, names_key, t, &named, e) ||
	    ps_jget_hex(obj, raw_key, UINT64_MAX, &raw, e))
		return -EINVAL;
	if (named != raw)
		return ps_jerr_fail(e, "field \"%s\" does not match \"%s\" (0x%" PRIx64 ")",
				    names_key, raw_key, raw);
	*out = raw;
	return 0;
}
