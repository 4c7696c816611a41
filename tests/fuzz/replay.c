/* make check's run of a fuzz harness without libFuzzer: every input of its
 * corpus and regressions (or the files and directories named on the command
 * line) through LLVMFuzzerTestOneInput once, so a crash once fixed stays so. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "harness.h"

static size_t g_replayed;

static void replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf;

	if (!f || fstat(fileno(f), &st) < 0)
		ps_fuzz_die("replay: cannot open %s: %s", path, strerror(errno));
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		ps_fuzz_die("replay: cannot read %s", path);
	fclose(f);
	LLVMFuzzerTestOneInput((const uint8_t *)buf, (size_t)st.st_size);
	free(buf);
	g_replayed++;
}

static void replay_path(const char *path);

static void replay_dir(const char *path)
{
	struct dirent **names;
	int n = scandir(path, &names, NULL, alphasort);
	char child[4096];

	if (n < 0)
		ps_fuzz_die("replay: cannot list %s: %s", path, strerror(errno));
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			snprintf(child, sizeof(child), "%s/%s", path, names[i]->d_name);
			replay_path(child);
		}
		free(names[i]);
	}
	free(names);
}

static void replay_path(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		ps_fuzz_die("replay: %s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		replay_dir(path);
	else
		replay_file(path);
}

/* Without arguments: tests/fuzz/corpus/<name>, which must hold inputs, and
 * tests/fuzz/regressions/<name> if there is one. */
static void replay_defaults(void)
{
	const char *top = getenv("top_srcdir");
	char dir[4096];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top ? top : ".", ps_fuzz_name);
	replay_path(dir);
	if (!g_replayed)
		ps_fuzz_die("replay: %s holds no inputs", dir);
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/regressions/%s", top ? top : ".", ps_fuzz_name);
	if (stat(dir, &st) == 0)
		replay_path(dir);
}

int main(int argc, char **argv)
{
	if (argc == 1)
		replay_defaults();
	for (int i = 1; i < argc; i++)
		replay_path(argv[i]);
	printf("%s: %zu inputs replayed, no property broken\n", ps_fuzz_name, g_replayed);
	return 0;
}
