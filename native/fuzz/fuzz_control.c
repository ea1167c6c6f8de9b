/*
 * fuzz_control.c: libFuzzer target for every C function that reads bytes a
 * controller sent: flow, group and meter mods, packet-outs and flow stats
 * requests (mod_decode.c, mod_apply.c, actions.c, stats.c).
 *
 * The input is a stream of OpenFlow messages, each cut by its header's length
 * (the last one by what is left), handled in order by a fresh pipeline with
 * four live ports, as the switch agent hands them over: a mod is decoded and,
 * when that succeeds, applied, so later messages meet the flows, groups and
 * meters earlier ones made; a packet-out is decoded, its actions parsed and run
 * on its frame; a flow stats request is decoded and answered. Then a few frames
 * walk the tables the stream built, flows expire, and everything is freed.
 *
 * Beyond "no crash, no out-of-bounds access, no leak" (ASan, UBSan, LSan), each
 * result is checked, and a violation aborts so libFuzzer keeps the input:
 *   - a call returns 0 or an OpenFlow error (TSOF_ERR) of a type it may answer,
 *     never another value;
 *   - a flow stats entry points inside its match and instructions as stored;
 *   - outputs go to real ports only, and packet-ins carry a table id that exists.
 *
 * scripts/fuzz.sh builds it with clang -fsanitize=fuzzer; linked with
 * replay.c instead (any compiler), it runs the files named on its command line
 * once each: `make -C native test` replays the committed corpus that way.
 */
#include "mod.h"
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond) do { if (!(cond)) { \
	fprintf(stderr, "fuzz_control: invariant broken: %s (line %d)\n", #cond, __LINE__); \
	abort(); } } while (0)

#define N_PORTS 4
#define NS 1000000000ull
#define OFPT_PACKET_OUT 13
#define OFPT_FLOW_MOD 14
#define OFPT_GROUP_MOD 15
#define OFPT_MULTIPART_REQUEST 18
#define OFPT_METER_MOD 29
#define OFPMP_FLOW 1

static bool real_port(uint32_t port)
{
	return (port >= 1 && port <= N_PORTS) || port == TSOF_OFPP_LOCAL;
}

static void on_output(void *ctx, uint32_t port, uint32_t queue_id, const struct tsof_pl_frame *pkt)
{
	(void)ctx;
	(void)queue_id;
	REQUIRE(real_port(port));
	REQUIRE(pkt->len <= 65536 + 64);
}

static void on_packet_in(void *ctx, const struct tsof_packet_in *pin)
{
	(void)ctx;
	REQUIRE(pin->table_id < TSOF_N_TABLES);
}

static void on_flow_removed(void *arg, const struct tsof_flow_removed *fr)
{
	(void)arg;
	REQUIRE(fr->table_id < TSOF_N_TABLES);
}

static void on_flow_stats(void *arg, const struct tsof_flow_stats *fs)
{
	(void)arg;
	REQUIRE(fs->table_id < TSOF_N_TABLES);
	REQUIRE(fs->match_len >= 4 && fs->match_len % 8 == 0);
	REQUIRE(fs->insts_len % 8 == 0);
}

/* 0 or an error of one of the types in `types` (a bit per OFPET_*). */
static void check(int r, unsigned types)
{
	REQUIRE(r >= 0);
	REQUIRE(r == 0 || (TSOF_ERR_TYPE(r) < 32 && (types >> TSOF_ERR_TYPE(r) & 1)));
}

#define T(x) (1u << TSOF_OFPET_##x)
#define MOD_ERRORS (T(BAD_REQUEST) | T(BAD_ACTION) | T(BAD_INSTRUCTION) | T(BAD_MATCH))

/* A frame with room to grow (pushes) and to shrink, as the ports give them. */
static uint8_t room[TSOF_PL_HEADROOM + 65536 + 64 + 512];

static void walk(struct tsof_pl_thread *th, const uint8_t *frame, size_t len, uint32_t in_port,
		 const struct tsof_actions *acts, uint64_t now)
{
	struct tsof_pl_frame p = {
		.data = room + TSOF_PL_HEADROOM, .len = (uint32_t)len, .headroom = TSOF_PL_HEADROOM,
		.tailroom = (uint32_t)(sizeof room - TSOF_PL_HEADROOM - len), .in_port = in_port, .in_phy_port = in_port,
	};
	memcpy(p.data, frame, len);
	if (acts)
		tsof_pipeline_packet_out(th, &p, acts, now);
	else
		tsof_pipeline_process(th, &p, now);
}

static void packet_out(struct tsof_pipeline *pl, struct tsof_pl_thread *th, const uint8_t *msg, size_t len, uint64_t now)
{
	struct tsof_packet_out po;
	struct tsof_actions *acts;
	int r = tsof_packet_out_decode(msg, len, &po);

	check(r, T(BAD_REQUEST));
	if (r)
		return;
	r = tsof_pipeline_parse_actions(pl, po.actions, po.actions_len, &acts);
	check(r, T(BAD_REQUEST) | T(BAD_ACTION));
	if (r)
		return;
	REQUIRE(po.data_len <= 65535);
	walk(th, po.data, po.data_len, po.in_port, acts, now);
	tsof_actions_free(acts);
}

static void message(struct tsof_pipeline *pl, struct tsof_pl_thread *th, const uint8_t *msg, size_t len, uint64_t now)
{
	int r;

	switch (msg[1]) {
	case OFPT_FLOW_MOD: {
		struct tsof_flow_mod fm;
		if (!(r = tsof_flow_mod_decode(msg, len, &fm)))
			r = tsof_pipeline_flow_mod(pl, &fm, now);
		check(r, MOD_ERRORS | T(FLOW_MOD_FAILED) | T(METER_MOD_FAILED));
		break;
	}
	case OFPT_GROUP_MOD: {
		struct tsof_group_mod gm;
		if (!(r = tsof_group_mod_decode(msg, len, &gm)))
			r = tsof_pipeline_group_mod(pl, &gm, now);
		check(r, MOD_ERRORS | T(GROUP_MOD_FAILED));
		break;
	}
	case OFPT_METER_MOD: {
		struct tsof_meter_mod mm;
		if (!(r = tsof_meter_mod_decode(msg, len, &mm)))
			r = tsof_pipeline_meter_mod(pl, &mm, now);
		check(r, T(BAD_REQUEST) | T(METER_MOD_FAILED));
		break;
	}
	case OFPT_PACKET_OUT:
		packet_out(pl, th, msg, len, now);
		break;
	case OFPT_MULTIPART_REQUEST:
		if (len >= 10 && (msg[8] << 8 | msg[9]) == OFPMP_FLOW) {
			struct tsof_flow_filter f;
			if (!(r = tsof_flow_stats_request_decode(msg, len, &f)))
				r = tsof_pipeline_flow_stats(pl, &f, now, on_flow_stats, NULL);
			check(r, T(BAD_REQUEST) | T(BAD_MATCH));
		}
		break;
	}
	tsof_pipeline_reclaim(pl);
}

/* Frames for the tables the stream built: IPv4/UDP, ARP, and IPv6/TCP in a VLAN. */
static const uint8_t UDP4[] = {
	0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00,
	0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
	0x04, 0x00, 0x13, 0x88, 0, 8, 0, 0,
};
static const uint8_t ARP[] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06,
	0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2,
};
static const uint8_t TCP6_VLAN[] = {
	0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x81, 0x00, 0x20, 0x0a, 0x86, 0xdd,
	0x60, 0, 0, 0, 0, 20, 6, 64,
	0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0x04, 0x00, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0, 0, 0, 0, 0,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tsof_pipeline_ops ops = { on_output, on_packet_in, NULL, on_flow_removed, NULL };
	struct tsof_pipeline *pl = tsof_pipeline_new(&ops);
	struct tsof_pl_thread *th = tsof_pipeline_thread_new(pl, NULL);
	uint64_t now = 1000 * NS;

	REQUIRE(pl && th);
	for (uint32_t p = 1; p <= N_PORTS; p++)
		tsof_pipeline_port_set(pl, p, 0, TSOF_OFPPS_LIVE);
	tsof_pipeline_port_set(pl, TSOF_OFPP_LOCAL, 0, TSOF_OFPPS_LIVE);

	while (size >= 8) {
		size_t len = (size_t)(data[2] << 8 | data[3]);
		if (len < 8 || len > size)
			len = size;
		/* The agent hands over OpenFlow 1.3 messages only. */
		if (data[0] == 4)
			message(pl, th, data, len, now);
		data += len;
		size -= len;
		now += NS / 10;
	}
	for (uint32_t in = 1; in <= 2; in++) {
		walk(th, UDP4, sizeof UDP4, in, NULL, now);
		walk(th, ARP, sizeof ARP, in, NULL, now);
		walk(th, TCP6_VLAN, sizeof TCP6_VLAN, in, NULL, now);
	}
	tsof_pipeline_expire(pl, now + 3600 * NS);
	tsof_pipeline_quiesce(th);
	tsof_pipeline_reclaim(pl);
	tsof_pipeline_thread_free(th);
	tsof_pipeline_free(pl);
	return 0;
}
