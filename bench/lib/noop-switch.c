/*
 * A switch that does nothing, for bench/flowtable.ts: the ceiling of what
 * `ovs-ofctl add-flows` can load at, set by the tool and the kernel alone.
 * It answers just what ovs-ofctl waits for, on a Unix socket, one connection
 * at a time: HELLO (OpenFlow 1.3), barrier requests, a table-features request
 * (one table with the eight properties ovs-ofctl requires, all empty), any
 * other multipart request (an empty reply), and ONF bundle controls (the
 * reply to each, bundle id kept); flow mods and bundle adds are dropped.
 * With --record FILE, what the connections send is written to FILE as
 * received, one after the other, each beginning with its HELLO:
 * bench/lib/replay.c sends it again.
 *
 * Usage: noop-switch [--record FILE] PATH
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { HELLO = 0, EXPERIMENTER = 4, MULTIPART_REQUEST = 18, MULTIPART_REPLY = 19, BARRIER_REQUEST = 20,
       BARRIER_REPLY = 21 };
enum { OFPMP_TABLE_FEATURES = 12, ONF_BUNDLE_CONTROL = 2300 };

static uint8_t in[1 << 20], out[1 << 16];

static unsigned rd16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void wr16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* The answer to the message m, appended at out + o; the new end. */
static size_t answer(const uint8_t *m, unsigned len, size_t o)
{
	uint8_t *r = out + o;

	switch (m[1]) {
	case BARRIER_REQUEST:
		memcpy(r, m, 8);
		r[1] = BARRIER_REPLY;
		return o + 8;
	case MULTIPART_REQUEST: {
		size_t n = 16;

		if (len < 16)
			return o;
		memcpy(r, m, 16);
		r[1] = MULTIPART_REPLY;
		wr16(r + 10, 0); /* flags: the last part */
		if (rd16(m + 8) == OFPMP_TABLE_FEATURES) {
			uint8_t *t = r + 16;

			memset(t, 0, 128);
			wr16(t, 128); /* table 0, no name, no metadata, max_entries 0 */
			for (int p = 0; p < 8; p++) {
				wr16(t + 64 + 8 * p, 2 * p); /* INSTRUCTIONS, NEXT_TABLES, ... APPLY_SETFIELD */
				wr16(t + 64 + 8 * p + 2, 4);
			}
			n += 128;
		}
		wr16(r + 2, (unsigned)n);
		return o + n;
	}
	case EXPERIMENTER:
		if (len < 24 || rd32(m + 12) != ONF_BUNDLE_CONTROL)
			return o;
		memcpy(r, m, 24);
		wr16(r + 2, 24);
		wr16(r + 20, rd16(m + 20) + 1); /* OPEN_REQUEST -> OPEN_REPLY, ... */
		wr16(r + 22, 0);
		return o + 24;
	}
	return o;
}

static void serve(int c, FILE *record)
{
	static const uint8_t hello[8] = { 4, HELLO, 0, 8, 0, 0, 0, 1 };
	size_t have = 0;
	ssize_t n;

	if (write(c, hello, sizeof(hello)) < 0)
		return;
	while ((n = read(c, in + have, sizeof(in) - have)) > 0) {
		size_t off = 0, o = 0;

		if (record && fwrite(in + have, 1, (size_t)n, record) != (size_t)n)
			return;
		have += (size_t)n;
		while (have - off >= 8) {
			unsigned len = rd16(in + off + 2);

			if (len < 8)
				return;
			if (have - off < len)
				break;
			/* Room for the largest answer (144 bytes) before each message. */
			if (o + 256 > sizeof(out)) {
				if (write(c, out, o) < 0)
					return;
				o = 0;
			}
			o = answer(in + off, len, o);
			off += len;
		}
		if (o && write(c, out, o) < 0)
			return;
		memmove(in, in + off, have - off);
		have -= off;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	FILE *record = NULL;

	if (argc == 4 && !strcmp(argv[1], "--record")) {
		/* Unbuffered: each read is on disk before it is answered, so the
		 * recording is whole once ovs-ofctl has its last answer. */
		if (!(record = fopen(argv[2], "wb")) || setvbuf(record, NULL, _IONBF, 0)) {
			perror(argv[2]);
			return 1;
		}
		argv += 2;
		argc -= 2;
	}
	if (argc != 2 || strlen(argv[1]) >= sizeof(a.sun_path)) {
		fprintf(stderr, "usage: noop-switch [--record FILE] PATH\n");
		return 2;
	}
	strcpy(a.sun_path, argv[1]);
	unlink(argv[1]);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 8) < 0) {
		perror("noop-switch");
		return 1;
	}
	for (;;) {
		int c = accept(s, NULL, NULL);

		if (c < 0)
			continue;
		serve(c, record);
		close(c);
	}
}
