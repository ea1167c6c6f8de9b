/*
 * harness.h: the test runner the native tests share: run() each test, CHECK macros that
 * report file and line, a summary line, and a seeded PRNG so every run
 * draws the same "random" cases.
 */
#ifndef TSOF_TEST_HARNESS_H
#define TSOF_TEST_HARNESS_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int n_tests, n_failed, n_checks, cur_failed, quiet;
static const char *cur_test;
static const char *only;  /* --only WORD: the tests whose name has WORD */

__attribute__((format(printf, 3, 4)))
static void fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (!cur_failed)
		printf("FAIL %s\n", cur_test);
	cur_failed = 1;
	printf("  %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

#define CHECK(cond) do { n_checks++; if (!(cond)) fail(__FILE__, __LINE__, "%s", #cond); } while (0)
#define CHECK_EQ(a, b) do { unsigned long long a_ = (a), b_ = (b); n_checks++; \
	if (a_ != b_) fail(__FILE__, __LINE__, "%s == %s: 0x%llx != 0x%llx", #a, #b, a_, b_); } while (0)
#define CHECK_MEM(a, b, n) do { n_checks++; if (memcmp((a), (b), (n))) \
	fail(__FILE__, __LINE__, "%s == %s (%d bytes)", #a, #b, (int)(n)); } while (0)

static void run(const char *name, void (*fn)(void))
{
	if (only && !strstr(name, only))
		return;
	cur_test = name;
	cur_failed = 0;
	fn();
	n_tests++;
	if (cur_failed)
		n_failed++;
	else if (!quiet)
		printf("ok   %s\n", name);
}

/* -q and --only WORD; 0, or 2 after a usage message. */
__attribute__((unused))
static int parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-q")) {
			quiet = 1;
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			only = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [-q] [--only WORD]\n", argv[0]);
			return 2;
		}
	}
	return 0;
}

static int summary(const char *prog)
{
	printf("%s: %d tests, %d passed (%d checks)\n", prog, n_tests, n_tests - n_failed, n_checks);
	printf("%d passed, %d failed\n", n_tests - n_failed, n_failed);
	return n_failed ? 1 : 0;
}

/* xorshift64*: small, fast, and the same sequence on every host. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

__attribute__((unused))
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

__attribute__((unused))
static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

#endif
