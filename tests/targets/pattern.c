/* pattern: keeps a known 4 KiB pattern in an anonymous mapping and on the heap,
 * so a test can find exactly those bytes in the saved memory files. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define LEN 4096

/* xorshift32 from the seed: the same bytes every time for the same seed. */
static void fill(unsigned char *p, size_t len, uint32_t seed)
{
	uint32_t x = seed ? seed : 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)(x >> 24);
	}
}

/* Usage: pattern [EXPECTED_FILE [SEED]]. EXPECTED_FILE gets the 4096 bytes. */
int main(int argc, char **argv)
{
	uint32_t seed = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : 0x5eed1234u;
	unsigned char *map, *heap;

	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	heap = malloc(LEN);
	if (map == MAP_FAILED || !heap) {
		perror("pattern: mmap/malloc");
		return 1;
	}
	fill(map, LEN, seed);
	memcpy(heap, map, LEN);

	if (argc > 1) {
		FILE *f = fopen(argv[1], "wb");

		if (!f || fwrite(map, 1, LEN, f) != LEN || fclose(f) != 0) {
			perror(argv[1]);
			return 1;
		}
	}

	printf("READY addr=%p len=%d seed=0x%08x heap=%p\n", (void *)map, LEN, seed, (void *)heap);
	fflush(stdout);
	for (;;)
		sleep(1);
}
