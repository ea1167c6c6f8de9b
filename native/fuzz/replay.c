/*
 * replay.c: main() for a fuzz target built without libFuzzer (any compiler):
 * runs LLVMFuzzerTestOneInput once on each file named on the command line.
 * `make -C native test` replays the committed corpora this way, so every input
 * that once found a bug stays a test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 20];

	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (!f) {
			perror(argv[i]);
			return 1;
		}
		size_t len = fread(buf, 1, sizeof buf, f);
		fclose(f);
		/* An exact-size copy, so ASan sees a read past the end. */
		uint8_t *copy = malloc(len ? len : 1);
		if (!copy)
			return 1;
		memcpy(copy, buf, len);
		LLVMFuzzerTestOneInput(copy, len);
		free(copy);
	}
	printf("%s: %d inputs, no failure\n", argv[0], argc - 1);
	return 0;
}
