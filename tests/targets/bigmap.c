/* bigmap: one big anonymous mapping with only some bytes touched, to test that
 * untouched memory stays holes in the image (and, touched whole, to benchmark). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The touched bytes: byte i of the mapping is (i % 255) + 1, never zero. */
static void touch(unsigned char *p, uint64_t from, uint64_t len)
{
	for (uint64_t i = from; i < from + len; i++)
		p[i] = (unsigned char)(i % 255 + 1);
}

/* Usage: bigmap [MIB [TOUCH [OFFSET]]]: map MIB MiB (default 1024), write
 * TOUCH bytes (default 4096; "all" for everything from OFFSET on) starting at
 * byte OFFSET of the mapping (default 0). */
int main(int argc, char **argv)
{
	uint64_t size = (argc > 1 ? strtoull(argv[1], NULL, 0) : 1024) << 20;
	uint64_t off = argc > 3 ? strtoull(argv[3], NULL, 0) : 0;
	uint64_t len;
	unsigned char *p;

	if (off > size) {
		fprintf(stderr, "bigmap: OFFSET is past the end of the mapping\n");
		return 2;
	}
	if (argc > 2 && strcmp(argv[2], "all") == 0)
		len = size - off;
	else
		len = argc > 2 ? strtoull(argv[2], NULL, 0) : 4096;
	if (len > size - off) {
		fprintf(stderr, "bigmap: TOUCH runs past the end of the mapping\n");
		return 2;
	}

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("bigmap: mmap");
		return 1;
	}
	/* No transparent huge pages: one touched byte must make one page
	 * present, not 2 MiB of them. */
	madvise(p, size, MADV_NOHUGEPAGE);
	touch(p, off, len);

	printf("READY addr=%p size=%llu touched=%llu offset=%llu\n", (void *)p,
	       (unsigned long long)size, (unsigned long long)len, (unsigned long long)off);
	fflush(stdout);
	for (;;)
		sleep(1);
}
