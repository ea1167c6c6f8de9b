/*
 * fuzz_control.c: libFuzzer target for every C function that reads bytes a
 * controller sent: flow, group and meter mods, bundles of flow mods,
 * packet-outs, and flow and aggregate stats requests (mod_decode.c,
 * mod_apply.c, actions.c, stats.c);
 * and for the values the switch agent hands C from what it decodes itself
 * (src/switch/agent.ts): a port-mod's port config, the table, group or meter
 * of a table, group or meter stats request.
 *
 * The input is a stream of OpenFlow messages, each cut by its header's length
 * (the last one by what is left), handled in order by a pipeline with four
 * live ports, as the switch agent hands them over: a mod is decoded and, when
 * that succeeds, applied, so later messages meet the flows, groups and meters
 * earlier ones made; a bundle (ONF's extension) gathers the flow mods added to
 * it and commits them at its commit request, as addon.c's bundleCommit does;
 * a packet-out is decoded, its actions parsed and run on its frame; a stats
 * request is answered. Then a few frames walk the tables
 * the stream built and, LINGER later, flows expire.
 *
 * One pipeline serves every input: making a fresh one each time (its tables,
 * caches and timer wheel) took most of an execution. After each input it is
 * put back as it was made, through the entry points a controller uses: a
 * delete of every flow, group and meter, checked to leave none, and the
 * port-mods undone. Time moves on rather than back: the next input starts
 * whole timer-wheel laps later (its timers fall in the same slots), after what
 * NORMAL learned has aged out (its table answers as an empty one would), with
 * the wheel, empty, moved there. What carries over is capacity, the version
 * counter, aged MAC entries and the thread's exact-match cache, whose entries
 * hold only for versions since their table last changed: so an input that
 * fails here fails on its own, and replaying its file alone reproduces it.
 *
 * Beyond "no crash, no out-of-bounds access, no leak" (ASan, UBSan, LSan), each
 * result is checked, and a violation aborts so libFuzzer keeps the input:
 *   - a call returns 0 or an OpenFlow error (TSOF_ERR) of a type it may answer,
 *     never another value;
 *   - a flow stats entry points inside its match and instructions as stored,
 *     a group's buckets and a meter's bands are as many as their lists hold,
 *     and a table's active count is the flows that flow stats list in it;
 *   - outputs go to real ports only, and packet-ins carry a table id that exists;
 *   - a bundle that fails names one of its mods and leaves the flows exactly
 *     as they were;
 *   - deleting everything leaves no flow, group or meter.
 *
 * scripts/fuzz.sh builds it with clang -fsanitize=fuzzer; linked with
 * replay.c instead (any compiler), it runs the files named on its command line
 * once each: `make -C native test` replays the committed corpus that way.
 */
#include "mac_learning.h"
#include "meter.h"
#include "mod.h"
#include "pipeline.h"
#include "timer_wheel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond) do { if (!(cond)) { \
	fprintf(stderr, "fuzz_control: invariant broken: %s (line %d)\n", #cond, __LINE__); \
	abort(); } } while (0)

#define N_PORTS 4
#define NS 1000000000ull
#define START (1000 * NS)
#define LINGER (100 * NS)  /* from an input's last frame to its flows' expiry */
#define OFPT_EXPERIMENTER 4
#define OFPT_PACKET_OUT 13
#define OFPT_FLOW_MOD 14
#define OFPT_GROUP_MOD 15
#define OFPT_PORT_MOD 16
#define OFPT_MULTIPART_REQUEST 18
#define OFPT_METER_MOD 29
#define OFPMP_FLOW 1
#define OFPMP_AGGREGATE 2
#define OFPMP_TABLE 3
#define OFPMP_GROUP 6
#define OFPMP_GROUP_DESC 7
#define OFPMP_METER 9
#define OFPMP_METER_CONFIG 10
#define ONF_EXPERIMENTER 0x4f4e4600
#define ONFT_BUNDLE_CONTROL 2300
#define ONFT_BUNDLE_ADD_MESSAGE 2301
#define OFPBCT_COMMIT_REQUEST 4
#define BUNDLE_ADD_HEADER 24  /* before an ADD_MESSAGE's inner message */
#define PORT_CONFIG_BITS (TSOF_OFPPC_PORT_DOWN | TSOF_OFPPC_NO_RECV | TSOF_OFPPC_NO_FWD | TSOF_OFPPC_NO_PACKET_IN)

static const uint32_t PORTS[N_PORTS + 1] = { 1, 2, 3, 4, TSOF_OFPP_LOCAL };

static struct tsof_pipeline *pl;
static struct tsof_pl_thread *th;
static uint32_t port_config[N_PORTS + 1];  /* as the input's port-mods left it */
static uint8_t bundle[1 << 16];            /* the input's open bundle: flow mods back to back */
static size_t bundle_len;

static bool real_port(uint32_t port)
{
	return (port >= 1 && port <= N_PORTS) || port == TSOF_OFPP_LOCAL;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
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

/* What flow stats tell of the flows, the same whatever their order. */
struct flows {
	unsigned per_table[TSOF_N_TABLES];
	uint64_t digest;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	for (const uint8_t *b = p; n--; b++)
		h = (h ^ *b) * 0x100000001b3ull;
	return h;
}

static void on_flow_stats(void *arg, const struct tsof_flow_stats *fs)
{
	struct flows *fl = arg;
	const uint64_t fixed[] = { fs->table_id, fs->priority, fs->idle_timeout, fs->hard_timeout, fs->flags, fs->cookie };

	REQUIRE(fs->table_id < TSOF_N_TABLES);
	REQUIRE(fs->match_len >= 4 && fs->match_len % 8 == 0);
	REQUIRE(fs->insts_len % 8 == 0);
	fl->per_table[fs->table_id]++;
	fl->digest += fnv(fnv(fnv(0xcbf29ce484222325ull, fixed, sizeof fixed), fs->match, fs->match_len),
			  fs->insts, fs->insts_len);
}

/* The entries of a list of buckets or bands, each with its 16-bit length at len_at. */
static uint32_t entries(const uint8_t *p, size_t len, size_t len_at)
{
	uint32_t n = 0;

	for (size_t at = 0; at < len; n++) {
		REQUIRE(len - at >= 16);
		size_t elen = (size_t)(p[at + len_at] << 8 | p[at + len_at + 1]);
		REQUIRE(elen >= 16 && elen % 8 == 0 && elen <= len - at);
		at += elen;
	}
	return n;
}

static void on_group_stats(void *arg, const struct tsof_group_stats *gs)
{
	(void)arg;
	REQUIRE(entries(gs->buckets, gs->buckets_len, 0) == gs->n_buckets);
}

static void on_meter_stats(void *arg, const struct tsof_meter_stats_reply *ms)
{
	(void)arg;
	REQUIRE(ms->n_bands <= TSOF_METER_MAX_BANDS);
	REQUIRE(entries(ms->bands, ms->bands_len, 2) == ms->n_bands);
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

static void walk(const uint8_t *frame, size_t len, uint32_t in_port, const struct tsof_actions *acts, uint64_t now)
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

static void packet_out(const uint8_t *msg, size_t len, uint64_t now)
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
	walk(po.data, po.data_len, po.in_port, acts, now);
	tsof_actions_free(acts);
}

/* OFPT_PORT_MOD as NativeDatapath.portMod() passes it on: the config bits
 * under the mask, for a port that exists (its hardware address aside). */
static void port_mod(const uint8_t *msg, size_t len)
{
	if (len < 40)
		return;
	uint32_t port = rd32(msg + 8), config = rd32(msg + 24), mask = rd32(msg + 28);
	int i = 0;

	while (i <= N_PORTS && PORTS[i] != port)
		i++;
	if (i > N_PORTS || (mask & ~PORT_CONFIG_BITS))
		return;
	port_config[i] = (port_config[i] & ~mask) | (config & mask);
	REQUIRE(tsof_pipeline_port_set(pl, PORTS[i], port_config[i], TSOF_OFPPS_LIVE) == 0);
}

/* A flow stats request for every flow. */
static const uint8_t ALL_FLOWS[] = {
	4, OFPT_MULTIPART_REQUEST, 0, 56, 0, 0, 0, 0, 0, OFPMP_FLOW, 0, 0, 0, 0, 0, 0,
	TSOF_OFPTT_ALL, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,         /* cookie, cookie mask */
	0, 1, 0, 4, 0, 0, 0, 0,
};

/* Every flow, checking each entry on the way; returns how many. */
static unsigned read_flows(struct flows *fl, uint64_t now)
{
	struct tsof_flow_filter f;
	unsigned n = 0;

	*fl = (struct flows){ 0 };
	REQUIRE(tsof_flow_stats_request_decode(ALL_FLOWS, sizeof ALL_FLOWS, &f) == 0);
	REQUIRE(tsof_pipeline_flow_stats(pl, &f, now, on_flow_stats, fl) == 0);
	for (int i = 0; i < TSOF_N_TABLES; i++)
		n += fl->per_table[i];
	return n;
}

/* The multipart requests that reach C: flow and aggregate stats as they came,
 * the others as the id or table the agent takes from them. */
static void multipart(const uint8_t *msg, size_t len, uint64_t now)
{
	struct flows fl = { 0 };
	struct tsof_flow_filter f;
	struct tsof_table_stats ts;
	int r;

	if (len < 16)
		return;
	switch (msg[8] << 8 | msg[9]) {
	case OFPMP_FLOW:
	case OFPMP_AGGREGATE:
		if (!(r = tsof_flow_stats_request_decode(msg, len, &f)))
			r = tsof_pipeline_flow_stats(pl, &f, now, on_flow_stats, &fl);
		check(r, T(BAD_REQUEST) | T(BAD_MATCH));
		break;
	case OFPMP_TABLE:
		read_flows(&fl, now);
		for (int i = 0; i < TSOF_N_TABLES; i++) {
			tsof_pipeline_table_stats(pl, (uint8_t)i, &ts);
			REQUIRE(ts.active == fl.per_table[i]);
		}
		break;
	case OFPMP_GROUP:
		if (len >= 20)
			tsof_pipeline_group_stats(pl, rd32(msg + 16), now, on_group_stats, NULL);
		break;
	case OFPMP_GROUP_DESC:
		tsof_pipeline_group_stats(pl, TSOF_OFPG_ALL, now, on_group_stats, NULL);
		break;
	case OFPMP_METER:
	case OFPMP_METER_CONFIG:
		if (len >= 20)
			tsof_pipeline_meter_stats(pl, rd32(msg + 16), now, on_meter_stats, NULL);
		break;
	}
}

/* The open bundle's flow mods, committed as addon.c's bundleCommit does
 * (tsof_pipeline_bundle_commit decodes them); a failure must leave the flows
 * as they were. */
static void bundle_commit(uint64_t now)
{
	size_t n = 0, failed = 0;
	struct flows before, after;

	for (size_t off = 0; off < bundle_len; off += rd16(bundle + off + 2))
		n++;
	read_flows(&before, now);
	int r = tsof_pipeline_bundle_commit(pl, bundle, bundle_len, now, &failed);
	check(r, MOD_ERRORS | T(FLOW_MOD_FAILED) | T(METER_MOD_FAILED));
	if (r) {
		REQUIRE(failed < n);
		read_flows(&after, now);
		REQUIRE(!memcmp(&before, &after, sizeof before));
	}
	bundle_len = 0;
}

/* ONF's bundle messages as the agent passes them on (src/switch/bundles.ts):
 * an added message that is a whole OpenFlow 1.3 flow mod joins the one open
 * bundle (ids, opening and closing aside); a commit request commits it. */
static void experimenter(const uint8_t *msg, size_t len, uint64_t now)
{
	if (len < 24 || rd32(msg + 8) != ONF_EXPERIMENTER)
		return;
	switch (rd32(msg + 12)) {
	case ONFT_BUNDLE_ADD_MESSAGE: {
		const uint8_t *inner = msg + BUNDLE_ADD_HEADER;
		size_t inner_len = len - BUNDLE_ADD_HEADER;
		if (inner_len >= 8 && inner[0] == 4 && inner[1] == OFPT_FLOW_MOD && rd16(inner + 2) == inner_len &&
		    bundle_len + inner_len <= sizeof bundle) {
			memcpy(bundle + bundle_len, inner, inner_len);
			bundle_len += inner_len;
		}
		break;
	}
	case ONFT_BUNDLE_CONTROL:
		if (rd16(msg + 20) == OFPBCT_COMMIT_REQUEST)
			bundle_commit(now);
		break;
	}
}

/* A message's result: 0, or the error a mod or packet-out got (checked to be one it may get). */
static int message(const uint8_t *msg, size_t len, uint64_t now)
{
	int r = 0;

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
		packet_out(msg, len, now);
		break;
	case OFPT_EXPERIMENTER:
		experimenter(msg, len, now);
		break;
	case OFPT_PORT_MOD:
		port_mod(msg, len);
		break;
	case OFPT_MULTIPART_REQUEST:
		multipart(msg, len, now);
		break;
	}
	tsof_pipeline_reclaim(pl);
	return r;
}

/* What a controller sends to empty the switch. */
static const uint8_t DELETE_FLOWS[] = {
	4, OFPT_FLOW_MOD, 0, 56, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,         /* cookie, cookie mask */
	TSOF_OFPTT_ALL, TSOF_OFPFC_DELETE, 0, 0, 0, 0, 0, 0,   /* timeouts, priority */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,         /* buffer, out port ANY */
	0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,                     /* out group ANY, flags */
	0, 1, 0, 4, 0, 0, 0, 0,                                 /* an empty OXM match */
};
static const uint8_t DELETE_GROUPS[] = {
	4, OFPT_GROUP_MOD, 0, 16, 0, 0, 0, 0, 0, TSOF_OFPGC_DELETE, 0, 0, 0xff, 0xff, 0xff, 0xfc,
};
static const uint8_t DELETE_METERS[] = {
	4, OFPT_METER_MOD, 0, 16, 0, 0, 0, 0, 0, TSOF_OFPMC_DELETE, 0, 0, 0xff, 0xff, 0xff, 0xff,
};

/* The ports as added, with nothing learned on them. */
static void add_ports(void)
{
	for (int i = 0; i <= N_PORTS; i++) {
		tsof_pipeline_port_del(pl, PORTS[i]);
		REQUIRE(tsof_pipeline_port_set(pl, PORTS[i], 0, TSOF_OFPPS_LIVE) == 0);
		port_config[i] = 0;
	}
}

/*
 * The pipeline as new, at now (an input's end), for the next input at the
 * returned time: whole wheel laps from START, so timers fall in the same
 * slots, and after what NORMAL learned has aged out, so its table answers as
 * an empty one would. Before the table's 32-bit seconds would wrap, everything
 * learned is forgotten and time starts again.
 */
static uint64_t reset(uint64_t now)
{
	const uint64_t lap = (uint64_t)TSOF_WHEEL_SLOTS * TSOF_WHEEL_TICK_NS;
	struct flows fl;
	uint64_t next = START + ((now + TSOF_MAC_AGING_DEFAULT * NS - START) / lap + 1) * lap;

	REQUIRE(message(DELETE_FLOWS, sizeof DELETE_FLOWS, now) == 0);
	REQUIRE(message(DELETE_GROUPS, sizeof DELETE_GROUPS, now) == 0);
	REQUIRE(message(DELETE_METERS, sizeof DELETE_METERS, now) == 0);
	REQUIRE(read_flows(&fl, now) == 0);
	REQUIRE(tsof_pipeline_group_stats(pl, TSOF_OFPG_ALL, now, on_group_stats, NULL) == 0);
	REQUIRE(tsof_pipeline_meter_stats(pl, TSOF_OFPM_ALL, now, on_meter_stats, NULL) == 0);
	if (next / NS > UINT32_MAX / 2) {
		add_ports();
		next = START;
	}
	/* With no timer armed, this walks nothing and moves the wheel to next. */
	REQUIRE(tsof_pipeline_expire(pl, next) == 0);
	for (int i = 0; i <= N_PORTS; i++)
		if (port_config[i]) {
			REQUIRE(tsof_pipeline_port_set(pl, PORTS[i], 0, TSOF_OFPPS_LIVE) == 0);
			port_config[i] = 0;
		}
	/* Freeing can defer more: until nothing is left, so each input frees what it made. */
	do
		tsof_pipeline_quiesce(th);
	while (tsof_pipeline_reclaim(pl));
	return next;
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
	static uint64_t start = START;
	uint64_t now = start;

	bundle_len = 0;  /* a bundle left open is discarded */
	if (!pl) {
		pl = tsof_pipeline_new(&ops);
		REQUIRE(pl && (th = tsof_pipeline_thread_new(pl, NULL)));
		add_ports();
		tsof_pipeline_expire(pl, start);  /* the wheel at start, as reset() leaves it */
	}
	while (size >= 8) {
		size_t len = (size_t)(data[2] << 8 | data[3]);
		if (len < 8 || len > size)
			len = size;
		/* The agent hands over OpenFlow 1.3 messages only. */
		if (data[0] == 4)
			message(data, len, now);
		data += len;
		size -= len;
		now += NS / 10;
	}
	for (uint32_t in = 1; in <= 2; in++) {
		walk(UDP4, sizeof UDP4, in, NULL, now);
		walk(ARP, sizeof ARP, in, NULL, now);
		walk(TCP6_VLAN, sizeof TCP6_VLAN, in, NULL, now);
	}
	now += LINGER;
	tsof_pipeline_expire(pl, now);
	start = reset(now);
	return 0;
}
