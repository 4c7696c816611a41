/* Fuzz target: the whole-image reader (ps_image_check_complete, ps_image_read)
 * on a directory written from each input, whose every decoded part must
 * round-trip. The input is a bundle of files:
 *
 *   [raw\n]@@ image.json\n<bytes>\n@@ memory/maps.json\n<bytes>\n@@ ...
 *
 * each file's bytes running to the next "\n@@ " or the end (one newline
 * before either is the separator). Unless the input starts with "raw", the
 * sizes and CRCs image.json lists are set to those of the files given, so
 * that changes to a part reach its decoder instead of its checksum. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "image/codec.h"
#include "image/crc32.h"
#include "harness.h"
#include "image/json_util.h"
#include "image/image_read.h"

#define MAX_RECORDS 512
#define SEPARATOR "\n@@ "

const char ps_fuzz_name[] = "image";

struct record {
	char name[256];
	const char *data;
	size_t len;
};

struct bundle {
	int raw;
	struct record rec[MAX_RECORDS];
	size_t n;
};

/* ---- the input as files ---- */

static const char *next_record(const char *p, const char *end)
{
	const char *q = memmem(p, (size_t)(end - p), SEPARATOR, strlen(SEPARATOR));

	return q ? q + 1 : end;
}

static void add_record(struct bundle *b, const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *data = nl ? nl + 1 : end;
	struct record *r = &b->rec[b->n];
	size_t namelen = (size_t)((nl ? nl : end) - p);

	if (b->n == MAX_RECORDS || namelen >= sizeof(r->name))
		return;
	memcpy(r->name, p, namelen);
	r->name[namelen] = '\0';
	r->data = data;
	r->len = (size_t)(end - data);
	if (r->len && data[r->len - 1] == '\n')   /* the separator's newline */
		r->len--;
	b->n++;
}

static void parse_bundle(const char *in, size_t size, struct bundle *b)
{
	const char *end = in + size;
	const char *p = size >= 3 && memcmp(in, "@@ ", 3) == 0 ? in : next_record(in, end);

	b->n = 0;
	b->raw = size >= 3 && memcmp(in, "raw", 3) == 0;
	while (p < end) {
		const char *next = next_record(p + 3, end);

		add_record(b, p + 3, next);
		p = next;
	}
}

static const struct record *find_record(const struct bundle *b, const char *name)
{
	for (size_t i = 0; name && i < b->n; i++)
		if (strcmp(b->rec[i].name, name) == 0)
			return &b->rec[i];
	return NULL;
}

/* ---- the directory ---- */

static char g_dir[64];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (ftw->level > 0)
		remove(path);
	return 0;
}

static void empty_dir(void)
{
	nftw(g_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_dir(void)
{
	empty_dir();
	rmdir(g_dir);
}

/* Names the harness writes: relative, of safe characters, no "." or ".."
 * part, so that nothing is written outside its directory. */
static int is_safe_name(const char *name)
{
	const char *part = name;

	if (!name[0] || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			       "0123456789._-/") != strlen(name))
		return 0;
	for (;;) {
		size_t n = strcspn(part, "/");

		if (n == 0 || (n == 1 && part[0] == '.') || (n == 2 && !strncmp(part, "..", 2)))
			return 0;
		if (!part[n])
			return 1;
		part += n + 1;
	}
}

static void write_file(const char *name, const char *data, size_t len)
{
	char path[512];
	int fd;

	for (const char *slash = strchr(name, '/'); slash; slash = strchr(slash + 1, '/')) {
		snprintf(path, sizeof(path), "%s/%.*s", g_dir, (int)(slash - name), name);
		mkdir(path, 0755);
	}
	snprintf(path, sizeof(path), "%s/%s", g_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return;   /* a name clashing with a directory: the file is missing */
	if (len && write(fd, data, len) != (ssize_t)len)
		ps_fuzz_die("cannot write %s: %s", path, strerror(errno));
	close(fd);
}

/* image.json with the sizes and CRCs of the files given: a copy, re-encoded,
 * or NULL when it does not parse. */
static char *fixed_listing(const struct bundle *b, const struct record *img, size_t *len)
{
	json_t *j = json_loadb(img->data, img->len, 0, NULL);
	json_t *files = json_object_get(j, "files"), *f;
	char *text;
	size_t i;

	if (!j)
		return NULL;
	json_array_foreach(files, i, f) {
		const struct record *r = find_record(b, json_string_value(json_object_get(f, "name")));

		if (!r || !json_is_object(f))
			continue;
		json_object_set_new(f, "size", json_integer((json_int_t)r->len));
		if (json_object_get(f, "crc32"))
			json_object_set_new(f, "crc32", json_sprintf("0x%08x",
					    ps_crc32(0, r->data, r->len)));
	}
	text = ps_json_dump(j, len);
	json_decref(j);
	return text;
}

static void write_bundle(const struct bundle *b)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct record *r = &b->rec[i];
		char *fixed;
		size_t len;

		if (!is_safe_name(r->name))
			continue;
		fixed = b->raw || strcmp(r->name, "image.json") ? NULL : fixed_listing(b, r, &len);
		if (fixed)
			write_file(r->name, fixed, len);
		else
			write_file(r->name, r->data, r->len);
		free(fixed);
	}
}

/* ---- reading it ---- */

static void roundtrip_model(const struct ps_model *m)
{
	ps_fuzz_roundtrip(&ps_fuzz_image_meta, &m->meta);
	ps_fuzz_roundtrip(&ps_fuzz_process, &m->proc);
	ps_fuzz_roundtrip(&ps_fuzz_maps, &m->maps);
	ps_fuzz_roundtrip(&ps_fuzz_signals, &m->signals);
	ps_fuzz_roundtrip(&ps_fuzz_fds, &m->fds);
	for (size_t i = 0; i < m->nthreads; i++)
		ps_fuzz_roundtrip(&ps_fuzz_thread, &m->threads[i]);
}

/* An image check_complete calls incomplete is not read (it may be found
 * damaged first); one that is read was complete; the main thread comes first. */
static void read_image(void)
{
	struct ps_model m;
	char err[1024] = "";
	int complete = ps_image_check_complete(g_dir, err, sizeof(err));
	int rc;

	if (complete)
		ps_fuzz_check_refusal("image (check)", complete,
				      complete == -EAGAIN ? -EAGAIN : -EINVAL, err);
	err[0] = '\0';
	rc = ps_image_read(g_dir, &m, err, sizeof(err));
	if ((rc == 0 || rc == -EAGAIN) && rc != complete)
		ps_fuzz_die("image: read said %d (%s), but check_complete %d", rc, err, complete);
	if (rc) {
		ps_fuzz_check_refusal("image", rc, rc == -EAGAIN ? -EAGAIN : -EINVAL, err);
		return;
	}
	if (!m.nthreads || m.threads[0].tid != m.meta.pid)
		ps_fuzz_die("image: read, but the main thread %d is not first", m.meta.pid);
	roundtrip_model(&m);
	ps_model_free(&m);
}

static void make_dir_once(void)
{
	static int made;

	if (made)
		return;
	/* tmpfs if there is one: ext4 spends more on creating and deleting the
	 * files than the reader on reading them */
	snprintf(g_dir, sizeof(g_dir), "%s/procsnap-fuzz-image.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(g_dir))
		ps_fuzz_die("mkdtemp %s: %s", g_dir, strerror(errno));
	atexit(remove_dir);
	made = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bundle b;

	make_dir_once();
	parse_bundle((const char *)data, size, &b);
	write_bundle(&b);
	read_image();
	empty_dir();
	return 0;
}
