/*
 * Sends a switch again what ovs-ofctl sent (recorded by noop-switch --record),
 * for bench/flowtable.ts: the switch's absorption with ovs-ofctl's own
 * messages, without the time ovs-ofctl takes to start and parse its file.
 *
 * Each connection of the recording (each begins with its HELLO) is opened in
 * turn on the Unix socket PATH and sent its messages in order, one write()
 * each as ovs-ofctl writes them. After a barrier request, a multipart request
 * or an ONF bundle control it waits for the answer with that xid (the last
 * part of a multipart reply), as ovs-ofctl does; the switch's echo requests
 * are answered. An OFPT_ERROR is a failure: it is printed and the exit code
 * is 1. Prints the seconds from the first connection to the last answer.
 *
 * Usage: replay PATH FILE
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { HELLO = 0, ERROR = 1, ECHO_REQUEST = 2, ECHO_REPLY = 3, EXPERIMENTER = 4, MULTIPART_REQUEST = 18,
       BARRIER_REQUEST = 20 };
enum { ONF_BUNDLE_CONTROL = 2300, OFPMPF_REPLY_MORE = 1 };

static uint8_t in[1 << 20];
static size_t have;

static unsigned rd16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void send_all(int c, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(c, p, n);
		if (w < 0)
			die("write");
		p += w;
		n -= (size_t)w;
	}
}

/* Whether ovs-ofctl waits for the answer to m before it sends more. */
static int awaits(const uint8_t *m, unsigned len)
{
	return m[1] == BARRIER_REQUEST || m[1] == MULTIPART_REQUEST ||
	       (m[1] == EXPERIMENTER && len >= 16 && rd32(m + 12) == ONF_BUNDLE_CONTROL);
}

/* Reads the switch's messages until the answer to xid; the number of
 * OFPT_ERRORs among them. */
static int await_answer(int c, uint32_t xid)
{
	int errors = 0;

	for (;;) {
		size_t off = 0;
		int done = 0;
		while (!done && have - off >= 8) {
			const uint8_t *m = in + off;
			unsigned len = rd16(m + 2);
			if (len < 8) {
				fprintf(stderr, "replay: a message of length %u from the switch\n", len);
				exit(1);
			}
			if (have - off < len)
				break;
			if (m[1] == ERROR) {
				fprintf(stderr, "replay: OFPT_ERROR type %u code %u for xid %u\n",
					len >= 12 ? rd16(m + 8) : 0, len >= 12 ? rd16(m + 10) : 0, rd32(m + 4));
				errors++;
			} else if (m[1] == ECHO_REQUEST) {
				uint8_t r[len];
				memcpy(r, m, len);
				r[1] = ECHO_REPLY;
				send_all(c, r, len);
			}
			if (rd32(m + 4) == xid && m[1] != HELLO && m[1] != ECHO_REQUEST &&
			    !(m[1] == MULTIPART_REQUEST + 1 && len >= 12 && (rd16(m + 10) & OFPMPF_REPLY_MORE)))
				done = 1;
			off += len;
		}
		memmove(in, in + off, have - off);
		have -= off;
		if (done)
			return errors;
		ssize_t n = read(c, in + have, sizeof(in) - have);
		if (n <= 0) {
			fprintf(stderr, "replay: the switch closed the connection\n");
			exit(1);
		}
		have += (size_t)n;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timespec t0, t1;
	int c = -1, errors = 0;

	if (argc != 3 || strlen(argv[1]) >= sizeof(a.sun_path)) {
		fprintf(stderr, "usage: replay PATH FILE\n");
		return 2;
	}
	strcpy(a.sun_path, argv[1]);
	FILE *f = fopen(argv[2], "rb");
	if (!f || fseek(f, 0, SEEK_END) || ftell(f) < 0)
		die(argv[2]);
	size_t size = (size_t)ftell(f);
	uint8_t *rec = malloc(size ? size : 1);
	rewind(f);
	if (!rec || fread(rec, 1, size, f) != size)
		die(argv[2]);
	fclose(f);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t off = 0; off < size;) {
		const uint8_t *m = rec + off;
		unsigned len = size - off >= 8 ? rd16(m + 2) : 0;
		if (len < 8 || len > size - off) {
			fprintf(stderr, "replay: %s: a cut message at byte %zu\n", argv[2], off);
			return 1;
		}
		if (m[1] == HELLO) {
			if (c >= 0)
				close(c);
			have = 0;
			if ((c = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
				die(argv[1]);
		}
		send_all(c, m, len);
		if (awaits(m, len))
			errors += await_answer(c, rd32(m + 4));
		off += len;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (c >= 0)
		close(c);
	printf("%.6f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return errors ? 1 : 0;
}
