/*
 * test_pipeline.c: golden tests through the whole pipeline, built with ASan
 * and UBSan by `make -C native test`.
 *
 * Flows, groups and meters go in as wire bytes (as a controller sends them);
 * frames go through tsof_pipeline_process() and come out of the callbacks.
 * Expected frames are built from scratch by this file's own builder, with
 * checksums from its own plain RFC 1071 sum and bitwise CRC32c, so a byte
 * comparison checks the pipeline's incremental checksum updates; every frame
 * that leaves is also checked by an independent checksum verifier.
 *
 * Covered: every match field, every action (every settable field, with IPv4
 * and IPv6 variants), every instruction and the action-set order, every group
 * type, both meter bands in kbps and pktps with and without burst, counters,
 * the flow-mod semantics of 6.4 with their errors (in wire order around
 * group and meter lookups), timeouts, packet-out, the
 * cache against no cache, and a datapath thread running while the control
 * side changes two tables and a group at once. Then the 940 cases of the
 * Ryu/os-ken switch test tool (fixtures/ryu-switch-of13), with mods and
 * frames built by os-ken, must give the frames Ryu expects.
 */
#define _POSIX_C_SOURCE 200809L  /* clock_gettime */

#include "classifier.h"
#include "group.h"
#include "meter.h"
#include "mod.h"
#include "ofp.h"
#include "pipeline.h"
#include "timer_wheel.h"
#include "trace.h"

#include "harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define NS 1000000000ull

/* ---- independent checksums ---- */

static uint32_t sum_bytes(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t finish(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t crc32c_bitwise(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffff;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
	}
	return ~c;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) << 16 | rd16(p + 2); }
static void wr16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, v >> 16); wr16(p + 2, v & 0xffff); }

/* The pseudo-header sum (RFC 793, RFC 8200 8.1). */
static uint32_t pseudo(const uint8_t *ip, bool v6, uint8_t proto, uint32_t len)
{
	uint32_t s = 0;

	if (v6)
		s = sum_bytes(ip + 8, 32, 0);
	else
		s = sum_bytes(ip + 12, 8, 0);
	return s + proto + (len >> 16) + (len & 0xffff);
}

/* Fills in the L4 checksum of a segment of protocol `proto` after an IP
 * header whose protocol field says `pseudo_proto` (the pseudo-header's). */
static void l4_checksum(uint8_t *ip, bool v6, uint8_t proto, uint8_t pseudo_proto, uint8_t *l4, uint32_t len,
			bool udp_zero)
{
	uint32_t ph = pseudo(ip, v6, pseudo_proto, len);

	switch (proto) {
	case 6: wr16(l4 + 16, 0); wr16(l4 + 16, finish(sum_bytes(l4, len, ph))); break;
	case 17:
		wr16(l4 + 6, 0);
		if (!udp_zero) {
			uint16_t c = finish(sum_bytes(l4, len, ph));
			wr16(l4 + 6, c ? c : 0xffff);
		}
		break;
	case 58: wr16(l4 + 2, 0); wr16(l4 + 2, finish(sum_bytes(l4, len, ph))); break;
	case 1: wr16(l4 + 2, 0); wr16(l4 + 2, finish(sum_bytes(l4, len, 0))); break;
	case 132: {
		memset(l4 + 8, 0, 4);
		uint32_t c = crc32c_bitwise(l4, len);
		for (int i = 0; i < 4; i++)
			l4[8 + i] = (uint8_t)(c >> 8 * i);
		break;
	}
	default: break;
	}
}

/* Walks a frame and checks every checksum it finds; returns a reason or NULL. */
static const char *bad_checksum(const uint8_t *f, size_t n)
{
	size_t at = 12;
	uint16_t type;

	if (n < 14)
		return NULL;
	for (;;) {
		type = rd16(f + at);
		if ((type == 0x8100 || type == 0x88a8) && at + 6 <= n) {
			at += 4;
			continue;
		}
		if (type == 0x88e7 && at + 20 <= n) {  /* PBB: into the customer frame */
			at += 2 + 4 + 12;
			continue;
		}
		break;
	}
	at += 2;
	if (type == 0x8847) {  /* under the label stack, IP */
		while (at + 4 <= n && !(f[at + 2] & 1))
			at += 4;
		at += 4;
		if (at >= n)
			return NULL;
		type = f[at] >> 4 == 4 ? 0x0800 : f[at] >> 4 == 6 ? 0x86dd : 0;
	}
	if (type == 0x0800 && at + 20 <= n) {
		const uint8_t *ip = f + at;
		size_t hl = (ip[0] & 15u) * 4, tot = rd16(ip + 2);
		if (finish(sum_bytes(ip, hl, 0)))
			return "ipv4 header checksum";
		if (tot > n - at || (rd16(ip + 6) & 0x3fff))
			return NULL;
		const uint8_t *l4 = ip + hl;
		uint32_t len = (uint32_t)(tot - hl);
		switch (ip[9]) {
		case 6: if (finish(sum_bytes(l4, len, pseudo(ip, false, 6, len)))) return "tcp checksum"; break;
		case 17: if (rd16(l4 + 6) && finish(sum_bytes(l4, len, pseudo(ip, false, 17, len)))) return "udp checksum"; break;
		case 1: if (finish(sum_bytes(l4, len, 0))) return "icmp checksum"; break;
		case 132: {
			uint8_t copy[2048];
			memcpy(copy, l4, len);
			memset(copy + 8, 0, 4);
			uint32_t c = crc32c_bitwise(copy, len);
			if (l4[8] != (uint8_t)c || l4[9] != (uint8_t)(c >> 8) || l4[10] != (uint8_t)(c >> 16) || l4[11] != (uint8_t)(c >> 24))
				return "sctp crc";
			break;
		}
		default: break;
		}
	} else if (type == 0x86dd && at + 40 <= n) {
		const uint8_t *ip = f + at, *l4 = ip + 40;
		uint32_t len = rd16(ip + 4);
		uint8_t nxt = ip[6];
		if (len > n - at - 40)
			return NULL;
		while (nxt == 0 || nxt == 60) {  /* hop-by-hop, destination options */
			size_t hl = (l4[1] + 1u) * 8;
			nxt = l4[0];
			l4 += hl;
			len -= (uint32_t)hl;
		}
		if ((nxt == 6 || nxt == 58 || (nxt == 17 && rd16(l4 + 6))) && finish(sum_bytes(l4, len, pseudo(ip, true, nxt, len))))
			return "l4 checksum over ipv6";
	}
	return NULL;
}

/* ---- frames ---- */

enum kind { K_TCP4, K_UDP4, K_SCTP4, K_ICMP4, K_ARP, K_TCP6, K_UDP6, K_SCTP6, K_ICMP6, K_NS, K_NA, K_HOP6, K_MPLS, K_PBB };

struct spec {
	enum kind kind;
	int vlans;
	uint16_t tpid[2], vid[2];
	uint8_t pcp[2];
	uint8_t dst[6], src[6];
	uint16_t eth_type;      /* 0: the kind's */
	uint8_t dscp, ecn, ttl, proto;  /* proto 0: the kind's */
	uint32_t v4src, v4dst, flabel;
	uint8_t v6src[16], v6dst[16];
	uint16_t sport, dport;
	bool udp_zero;
	uint8_t icmp_type, icmp_code;
	uint8_t nd_target[16], nd_lla[6];
	uint16_t arp_op;
	uint8_t arp_sha[6], arp_tha[6];
	uint32_t arp_spa, arp_tpa;
	int n_mpls;
	uint32_t label[2];
	uint8_t tc[2], bos[2], mttl[2];
	uint8_t itag_pcp, uca;
	uint32_t isid;
	uint8_t cdst[6], csrc[6];
	size_t payload;
};

static const uint8_t MAC1[6] = { 0x22, 0x22, 0x22, 0x22, 0x22, 0x22 };
static const uint8_t MAC2[6] = { 0x12, 0x11, 0x11, 0x11, 0x11, 0x11 };

static struct spec spec_of(enum kind k)
{
	struct spec s;

	memset(&s, 0, sizeof s);
	s.kind = k;
	s.tpid[0] = s.tpid[1] = 0x8100;
	s.vid[0] = 100;
	s.vid[1] = 200;
	s.pcp[0] = 3;
	memcpy(s.dst, MAC1, 6);
	memcpy(s.src, MAC2, 6);
	s.dscp = 8;
	s.ecn = 1;
	s.ttl = 64;
	s.v4src = 0xc0a80a0a;
	s.v4dst = 0xc0a81414;
	s.flabel = 100;
	s.v6src[0] = 0x20; s.v6src[1] = 0x01; s.v6src[15] = 0x10;
	s.v6dst[0] = 0x20; s.v6dst[1] = 0x01; s.v6dst[15] = 0x20;
	s.sport = 11111;
	s.dport = 2222;
	s.icmp_type = k == K_NS ? 135 : k == K_NA ? 136 : k == K_ICMP6 ? 128 : 8;
	s.icmp_code = 0;
	s.nd_target[0] = 0xfe; s.nd_target[1] = 0x80; s.nd_target[15] = 0x01;
	memcpy(s.nd_lla, MAC2, 6);
	s.arp_op = 1;
	memcpy(s.arp_sha, MAC2, 6);
	memcpy(s.arp_tha, MAC1, 6);
	s.arp_spa = 0xc0a80a0a;
	s.arp_tpa = 0xc0a81414;
	s.n_mpls = 1;
	s.label[0] = 100; s.label[1] = 200;
	s.tc[0] = 3; s.bos[0] = 1; s.mttl[0] = 64; s.mttl[1] = 32;
	s.isid = 0x123456;
	s.itag_pcp = 2;
	memcpy(s.cdst, MAC1, 6);
	memcpy(s.csrc, MAC2, 6);
	s.payload = 16;
	return s;
}

static bool is_v6(enum kind k)
{
	return k >= K_TCP6 && k <= K_HOP6;
}

static uint8_t proto_of(enum kind k)
{
	switch (k) {
	case K_TCP4: case K_TCP6: case K_MPLS: case K_PBB: return 6;
	case K_UDP4: case K_UDP6: case K_HOP6: return 17;
	case K_SCTP4: case K_SCTP6: return 132;
	case K_ICMP4: return 1;
	default: return 58;
	}
}

/* An IP packet (what MPLS and PBB carry, too) at f; returns its length. */
static size_t build_ip(const struct spec *s, uint8_t *f)
{
	bool v6 = is_v6(s->kind);
	uint8_t proto = proto_of(s->kind);
	uint8_t *l4, *ip = f;
	size_t hl = v6 ? 40 : 20, l4len;

	if (s->kind == K_HOP6)
		hl += 8;
	l4 = ip + hl;
	switch (proto) {
	case 6:
		memset(l4, 0, 20);
		wr16(l4, s->sport); wr16(l4 + 2, s->dport); wr32(l4 + 4, 1000); l4[12] = 0x50; l4[13] = 0x10; wr16(l4 + 14, 8192);
		l4len = 20;
		break;
	case 17:
		wr16(l4, s->sport); wr16(l4 + 2, s->dport);
		l4len = 8;
		break;
	case 132:
		memset(l4, 0, 12);
		wr16(l4, s->sport); wr16(l4 + 2, s->dport); wr32(l4 + 4, 0xdeadbeef);
		l4len = 12;
		break;
	default:
		l4[0] = s->icmp_type; l4[1] = s->icmp_code; wr16(l4 + 2, 0); wr32(l4 + 4, 0x00010002);
		l4len = 8;
		if (s->kind == K_NS || s->kind == K_NA) {
			memset(l4 + 4, 0, 4);
			memcpy(l4 + 8, s->nd_target, 16);
			l4[24] = s->kind == K_NS ? 1 : 2; l4[25] = 1;
			memcpy(l4 + 26, s->nd_lla, 6);
			l4len = 32;
		}
		break;
	}
	for (size_t i = 0; i < s->payload; i++)
		l4[l4len + i] = (uint8_t)(0x40 + i);
	l4len += s->payload;
	if (proto == 17)
		wr16(l4 + 4, (unsigned)l4len);
	if (v6) {
		wr32(ip, 6u << 28 | (uint32_t)(s->dscp << 2 | s->ecn) << 20 | s->flabel);
		wr16(ip + 4, (unsigned)(hl - 40 + l4len));
		ip[6] = s->kind == K_HOP6 ? 0 : (s->proto ? s->proto : proto);
		ip[7] = s->ttl;
		memcpy(ip + 8, s->v6src, 16);
		memcpy(ip + 24, s->v6dst, 16);
		if (s->kind == K_HOP6) {
			memset(ip + 40, 0, 8);
			ip[40] = 17;
			ip[42] = 1; ip[43] = 4;  /* PadN */
		}
	} else {
		ip[0] = 0x45; ip[1] = (uint8_t)(s->dscp << 2 | s->ecn);
		wr16(ip + 2, (unsigned)(20 + l4len)); wr16(ip + 4, 0x1234); wr16(ip + 6, 0x4000);
		ip[8] = s->ttl; ip[9] = s->proto ? s->proto : proto; wr16(ip + 10, 0);
		wr32(ip + 12, s->v4src); wr32(ip + 16, s->v4dst);
		wr16(ip + 10, finish(sum_bytes(ip, 20, 0)));
	}
	/* The kind's L4 header; its pseudo-header has what proto says. */
	l4_checksum(ip, v6, proto, s->proto ? s->proto : proto, l4, (uint32_t)l4len, s->udp_zero);
	return hl + l4len;
}

static size_t build(const struct spec *s, uint8_t *f)
{
	size_t n = 0;
	uint16_t type;

	memcpy(f, s->dst, 6);
	memcpy(f + 6, s->src, 6);
	n = 12;
	for (int i = 0; i < s->vlans; i++) {
		wr16(f + n, s->tpid[i]);
		wr16(f + n + 2, (unsigned)(s->pcp[i] << 13 | s->vid[i]));
		n += 4;
	}
	switch (s->kind) {
	case K_ARP: type = 0x0806; break;
	case K_MPLS: type = 0x8847; break;
	case K_PBB: type = 0x88e7; break;
	default: type = is_v6(s->kind) ? 0x86dd : 0x0800; break;
	}
	wr16(f + n, s->eth_type ? s->eth_type : type);
	n += 2;
	if (s->kind == K_ARP) {
		uint8_t *a = f + n;
		wr16(a, 1); wr16(a + 2, 0x0800); a[4] = 6; a[5] = 4; wr16(a + 6, s->arp_op);
		memcpy(a + 8, s->arp_sha, 6); wr32(a + 14, s->arp_spa);
		memcpy(a + 18, s->arp_tha, 6); wr32(a + 24, s->arp_tpa);
		n += 28;
		memset(f + n, 0, 18);  /* padding to 60 */
		return n + 18;
	}
	struct spec inner = *s;
	inner.kind = K_TCP4;
	if (s->kind == K_MPLS) {
		for (int i = 0; i < s->n_mpls; i++, n += 4)
			wr32(f + n, s->label[i] << 12 | (uint32_t)s->tc[i] << 9 | (uint32_t)s->bos[i] << 8 | s->mttl[i]);
		return n + build_ip(&inner, f + n);
	}
	if (s->kind == K_PBB) {
		f[n] = (uint8_t)(s->itag_pcp << 5 | s->uca << 3);
		f[n + 1] = (uint8_t)(s->isid >> 16); f[n + 2] = (uint8_t)(s->isid >> 8); f[n + 3] = (uint8_t)s->isid;
		n += 4;
		memcpy(f + n, s->cdst, 6);
		memcpy(f + n + 6, s->csrc, 6);
		wr16(f + n + 12, 0x0800);
		n += 14;
		return n + build_ip(&inner, f + n);
	}
	return n + build_ip(s, f + n);
}

/* ---- the pipeline under test ---- */

struct out {
	uint32_t port, queue;
	uint64_t tunnel_id;
	uint32_t len;
	uint8_t data[2048];
};

struct pin {
	struct tsof_packet_in p;
	uint8_t data[2048];
};

static struct out outs[64];
static int n_outs;
static struct pin pins[16];
static int n_pins;
static struct tsof_flow_removed removed[64];
static int n_removed;
static bool live[16];
static const char *csum_error;

static struct tsof_pipeline *pl;
static struct tsof_pl_thread *th;
static uint64_t now = 1000 * NS;

static void cb_output(void *ctx, uint32_t port, uint32_t queue_id, const struct tsof_pl_frame *p)
{
	(void)ctx;
	const char *bad = bad_checksum(p->data, p->len);
	if (bad && !csum_error)
		csum_error = bad;
	if (n_outs < 64 && p->len <= sizeof outs[0].data) {
		struct out *o = &outs[n_outs++];
		o->port = port;
		o->queue = queue_id;
		o->tunnel_id = p->tunnel_id;
		o->len = p->len;
		memcpy(o->data, p->data, p->len);
	}
}

static void cb_packet_in(void *ctx, const struct tsof_packet_in *p)
{
	(void)ctx;
	if (n_pins < 16 && p->len <= sizeof pins[0].data) {
		pins[n_pins].p = *p;
		memcpy(pins[n_pins].data, p->data, p->len);
		pins[n_pins].p.data = pins[n_pins].data;
		n_pins++;
	}
}

static bool cb_port_live(void *ctx, uint32_t port)
{
	(void)ctx;
	return port < 16 && live[port];
}

static void cb_flow_removed(void *arg, const struct tsof_flow_removed *fr)
{
	(void)arg;
	if (n_removed < 64)
		removed[n_removed++] = *fr;
}

static void setup(void)
{
	static const struct tsof_pipeline_ops ops = { cb_output, cb_packet_in, cb_port_live, cb_flow_removed, NULL };

	pl = tsof_pipeline_new(&ops);
	th = tsof_pipeline_thread_new(pl, NULL);
	for (uint32_t p = 1; p <= 8; p++)
		tsof_pipeline_port_set(pl, p, 0, TSOF_OFPPS_LIVE);
	tsof_pipeline_port_set(pl, TSOF_OFPP_LOCAL, 0, TSOF_OFPPS_LIVE);
	for (int i = 0; i < 16; i++)
		live[i] = true;
	n_removed = 0;
	csum_error = NULL;
}

/* Reports of removed flows come one grace period after the removal: th
 * passes its quiescent point, and the control side reclaims. */
static void settle(void)
{
	tsof_pipeline_quiesce(th);
	tsof_pipeline_settle(pl);
}

static void teardown(void)
{
	tsof_pipeline_quiesce(th);
	tsof_pipeline_reclaim(pl);
	tsof_pipeline_thread_free(th);
	tsof_pipeline_free(pl);
}

/* Runs one frame (from a copy with headroom) on thread t and collects what
 * came out. */
static void send_frame_on(struct tsof_pl_thread *t, const uint8_t *f, size_t n, uint32_t in_port,
			  uint64_t tunnel_id)
{
	static uint8_t buf[TSOF_PL_HEADROOM + 4096];
	struct tsof_pl_frame p = {
		.data = buf + TSOF_PL_HEADROOM, .len = (uint32_t)n, .headroom = TSOF_PL_HEADROOM,
		.tailroom = (uint32_t)(sizeof buf - TSOF_PL_HEADROOM - n),
		.in_port = in_port, .in_phy_port = in_port, .tunnel_id = tunnel_id,
	};

	memcpy(p.data, f, n);
	n_outs = 0;
	n_pins = 0;
	tsof_pipeline_process(t, &p, now);
	tsof_pipeline_quiesce(t);
	tsof_pipeline_reclaim(pl);
}

static void send_frame(const uint8_t *f, size_t n, uint32_t in_port, uint64_t tunnel_id)
{
	send_frame_on(th, f, n, in_port, tunnel_id);
}

static void send_spec(const struct spec *s, uint32_t in_port)
{
	uint8_t f[2048];
	send_frame(f, build(s, f), in_port, 0);
}

/* ---- wire builders: OXM, actions, instructions, flow-mods ---- */

struct mb {
	uint8_t d[2048];
	size_t n;
};

static void put(struct mb *b, const void *p, size_t n) { memcpy(b->d + b->n, p, n); b->n += n; }
static void put8(struct mb *b, unsigned v) { b->d[b->n++] = (uint8_t)v; }
static void put16(struct mb *b, unsigned v) { put8(b, v >> 8); put8(b, v); }
static void put32(struct mb *b, uint32_t v) { put16(b, v >> 16); put16(b, v & 0xffff); }
static void put64(struct mb *b, uint64_t v) { put32(b, (uint32_t)(v >> 32)); put32(b, (uint32_t)v); }
static void pad8(struct mb *b) { while (b->n % 8) put8(b, 0); }

static void oxm(struct mb *b, unsigned field, const uint8_t *v, unsigned len, const uint8_t *mask)
{
	put16(b, 0x8000);
	put8(b, field << 1 | (mask != NULL));
	put8(b, mask ? 2 * len : len);
	put(b, v, len);
	if (mask)
		put(b, mask, len);
}

static void oxmn(struct mb *b, unsigned field, unsigned len, uint64_t v)
{
	uint8_t buf[8];
	for (unsigned i = 0; i < len; i++)
		buf[i] = (uint8_t)(v >> 8 * (len - 1 - i));
	oxm(b, field, buf, len, NULL);
}

static void a_out(struct mb *b, uint32_t port, uint16_t max_len)
{
	put16(b, TSOF_OFPAT_OUTPUT); put16(b, 16); put32(b, port); put16(b, max_len);
	put16(b, 0); put32(b, 0);
}

static void a_simple(struct mb *b, unsigned type)  /* copy/dec TTL, pop_vlan, pop_pbb */
{
	put16(b, type); put16(b, 8); put32(b, 0);
}

static void a_arg16(struct mb *b, unsigned type, uint16_t v)  /* push_*, pop_mpls */
{
	put16(b, type); put16(b, 8); put16(b, v); put16(b, 0);
}

static void a_arg8(struct mb *b, unsigned type, uint8_t v)  /* set_mpls_ttl, set_nw_ttl */
{
	put16(b, type); put16(b, 8); put8(b, v); put8(b, 0); put16(b, 0);
}

static void a_arg32(struct mb *b, unsigned type, uint32_t v)  /* group, set_queue */
{
	put16(b, type); put16(b, 8); put32(b, v);
}

static void a_set(struct mb *b, unsigned field, const uint8_t *v, unsigned len)
{
	size_t at = b->n;
	put16(b, TSOF_OFPAT_SET_FIELD); put16(b, 0);
	oxm(b, field, v, len, NULL);
	pad8(b);
	wr16(b->d + at + 2, (unsigned)(b->n - at));
}

static void a_setn(struct mb *b, unsigned field, unsigned len, uint64_t v)
{
	uint8_t buf[8];
	for (unsigned i = 0; i < len; i++)
		buf[i] = (uint8_t)(v >> 8 * (len - 1 - i));
	a_set(b, field, buf, len);
}

static void i_actions(struct mb *b, unsigned type, const struct mb *acts)
{
	put16(b, type); put16(b, (unsigned)(8 + acts->n)); put32(b, 0);
	put(b, acts->d, acts->n);
}

static void i_goto(struct mb *b, uint8_t table)
{
	put16(b, TSOF_OFPIT_GOTO_TABLE); put16(b, 8); put8(b, table); put8(b, 0); put16(b, 0);
}

static void i_meta(struct mb *b, uint64_t v, uint64_t mask)
{
	put16(b, TSOF_OFPIT_WRITE_METADATA); put16(b, 24); put32(b, 0); put64(b, v); put64(b, mask);
}

static void i_clear(struct mb *b)
{
	put16(b, TSOF_OFPIT_CLEAR_ACTIONS); put16(b, 8); put32(b, 0);
}

static void i_meter(struct mb *b, uint32_t id)
{
	put16(b, TSOF_OFPIT_METER); put16(b, 8); put32(b, id);
}

struct fm {
	uint8_t table, command;
	uint16_t priority, idle, hard, flags;
	uint64_t cookie, cookie_mask;
	uint32_t out_port, out_group;
};

/* A flow-mod message from OXMs and instructions. */
static void flow_mod_msg(struct mb *msg, struct fm o, const struct mb *oxms, const struct mb *insts)
{
	msg->n = 0;
	put8(msg, 4); put8(msg, 14); put16(msg, 0); put32(msg, 1);
	put64(msg, o.cookie); put64(msg, o.cookie_mask);
	put8(msg, o.table); put8(msg, o.command);
	put16(msg, o.idle); put16(msg, o.hard); put16(msg, o.priority);
	put32(msg, TSOF_OFP_NO_BUFFER);
	put32(msg, o.out_port ? o.out_port : TSOF_OFPP_ANY);
	put32(msg, o.out_group ? o.out_group : TSOF_OFPG_ANY);
	put16(msg, o.flags); put16(msg, 0);
	put16(msg, 1); put16(msg, (unsigned)(4 + (oxms ? oxms->n : 0)));
	if (oxms)
		put(msg, oxms->d, oxms->n);
	pad8(msg);
	if (insts)
		put(msg, insts->d, insts->n);
	wr16(msg->d + 2, (unsigned)msg->n);
}

/* A flow-mod through the wire decoder, applied. */
static int flow_mod(struct fm o, const struct mb *oxms, const struct mb *insts)
{
	struct mb msg;
	struct tsof_flow_mod fm;

	flow_mod_msg(&msg, o, oxms, insts);
	int err = tsof_flow_mod_decode(msg.d, msg.n, &fm);
	if (err)
		return err;
	return tsof_pipeline_flow_mod(pl, &fm, now);
}

static int add(uint8_t table, uint16_t priority, const struct mb *oxms, const struct mb *insts)
{
	return flow_mod((struct fm){ .table = table, .priority = priority }, oxms, insts);
}

/* A flow whose only instruction applies one action list. */
static int add_apply(uint8_t table, uint16_t priority, const struct mb *oxms, const struct mb *acts)
{
	struct mb in = { .n = 0 };
	i_actions(&in, TSOF_OFPIT_APPLY_ACTIONS, acts);
	return add(table, priority, oxms, &in);
}

static int add_output(uint8_t table, uint16_t priority, const struct mb *oxms, uint32_t port)
{
	struct mb a = { .n = 0 };
	a_out(&a, port, 0);
	return add_apply(table, priority, oxms, &a);
}

static void bucket(struct mb *b, uint16_t weight, uint32_t watch_port, uint32_t watch_group, const struct mb *acts)
{
	put16(b, (unsigned)(16 + acts->n)); put16(b, weight); put32(b, watch_port); put32(b, watch_group); put32(b, 0);
	put(b, acts->d, acts->n);
}

static int group_mod(uint16_t command, uint8_t type, uint32_t id, const struct mb *buckets)
{
	struct mb msg = { .n = 0 };
	struct tsof_group_mod gm;

	put8(&msg, 4); put8(&msg, 15); put16(&msg, 0); put32(&msg, 1);
	put16(&msg, command); put8(&msg, type); put8(&msg, 0); put32(&msg, id);
	if (buckets)
		put(&msg, buckets->d, buckets->n);
	wr16(msg.d + 2, (unsigned)msg.n);
	int err = tsof_group_mod_decode(msg.d, msg.n, &gm);
	return err ? err : tsof_pipeline_group_mod(pl, &gm, now);
}

static void band(struct mb *b, uint16_t type, uint32_t rate, uint32_t burst, uint8_t prec)
{
	put16(b, type); put16(b, 16); put32(b, rate); put32(b, burst); put8(b, prec); put8(b, 0); put16(b, 0);
}

static int meter_mod(uint16_t command, uint16_t flags, uint32_t id, const struct mb *bands)
{
	struct mb msg = { .n = 0 };
	struct tsof_meter_mod mm;

	put8(&msg, 4); put8(&msg, 29); put16(&msg, 0); put32(&msg, 1);
	put16(&msg, command); put16(&msg, flags); put32(&msg, id);
	if (bands)
		put(&msg, bands->d, bands->n);
	wr16(msg.d + 2, (unsigned)msg.n);
	int err = tsof_meter_mod_decode(msg.d, msg.n, &mm);
	return err ? err : tsof_pipeline_meter_mod(pl, &mm, now);
}

#define ERR(type, code) TSOF_ERR(TSOF_OFPET_##type, code)

/* The one frame that came out, on port. */
#define CHECK_OUT1(port_) do { CHECK_EQ(n_outs, 1); if (n_outs == 1) CHECK_EQ(outs[0].port, (port_)); } while (0)
#define CHECK_FRAME(o, f, n) do { CHECK_EQ((o)->len, (n)); if ((o)->len == (n)) CHECK_MEM((o)->data, (f), (n)); } while (0)

/* ---- match fields ---- */

/* Changes field oxm of s (of a kind that has it) and writes the new value in
 * OXM form to v. */
static void mutate(struct spec *s, unsigned field, uint8_t *v)
{
	static const uint8_t MAC3[6] = { 0x02, 0x33, 0x33, 0x33, 0x33, 0x33 };
	static const uint8_t IP6X[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99, 0x01 };
#define SET16(x, val) do { (x) = (val); wr16(v, (x)); } while (0)
#define SET32(x, val) do { (x) = (val); wr32(v, (x)); } while (0)
	switch (field) {
	case TSOF_OXM_ETH_DST: memcpy(s->dst, MAC3, 6); memcpy(v, MAC3, 6); break;
	case TSOF_OXM_ETH_SRC: memcpy(s->src, MAC3, 6); memcpy(v, MAC3, 6); break;
	case TSOF_OXM_ETH_TYPE: SET16(s->eth_type, 0x0801); break;
	case TSOF_OXM_VLAN_VID: s->vid[0] = 0x123; wr16(v, 0x1000 | 0x123); break;
	case TSOF_OXM_VLAN_PCP: s->pcp[0] = 6; v[0] = 6; break;
	case TSOF_OXM_IP_DSCP: s->dscp = 46; v[0] = 46; break;
	case TSOF_OXM_IP_ECN: s->ecn = 3; v[0] = 3; break;
	case TSOF_OXM_IP_PROTO: s->proto = 99; v[0] = 99; break;
	case TSOF_OXM_IPV4_SRC: SET32(s->v4src, 0x0a010203); break;
	case TSOF_OXM_IPV4_DST: SET32(s->v4dst, 0x0a040506); break;
	case TSOF_OXM_TCP_SRC: case TSOF_OXM_UDP_SRC: case TSOF_OXM_SCTP_SRC: SET16(s->sport, 4321); break;
	case TSOF_OXM_TCP_DST: case TSOF_OXM_UDP_DST: case TSOF_OXM_SCTP_DST: SET16(s->dport, 8765); break;
	case TSOF_OXM_ICMPV4_TYPE: case TSOF_OXM_ICMPV6_TYPE: s->icmp_type = 129; v[0] = 129; break;
	case TSOF_OXM_ICMPV4_CODE: case TSOF_OXM_ICMPV6_CODE: s->icmp_code = 7; v[0] = 7; break;
	case TSOF_OXM_ARP_OP: SET16(s->arp_op, 2); break;
	case TSOF_OXM_ARP_SPA: SET32(s->arp_spa, 0x0a000001); break;
	case TSOF_OXM_ARP_TPA: SET32(s->arp_tpa, 0x0a000002); break;
	case TSOF_OXM_ARP_SHA: memcpy(s->arp_sha, MAC3, 6); memcpy(v, MAC3, 6); break;
	case TSOF_OXM_ARP_THA: memcpy(s->arp_tha, MAC3, 6); memcpy(v, MAC3, 6); break;
	case TSOF_OXM_IPV6_SRC: memcpy(s->v6src, IP6X, 16); memcpy(v, IP6X, 16); break;
	case TSOF_OXM_IPV6_DST: memcpy(s->v6dst, IP6X, 16); memcpy(v, IP6X, 16); break;
	case TSOF_OXM_IPV6_FLABEL: SET32(s->flabel, 0xabcde); break;
	case TSOF_OXM_IPV6_ND_TARGET: memcpy(s->nd_target, IP6X, 16); memcpy(v, IP6X, 16); break;
	case TSOF_OXM_IPV6_ND_SLL: case TSOF_OXM_IPV6_ND_TLL: memcpy(s->nd_lla, MAC3, 6); memcpy(v, MAC3, 6); break;
	case TSOF_OXM_MPLS_LABEL: SET32(s->label[0], 0xabcde); break;
	case TSOF_OXM_MPLS_TC: s->tc[0] = 5; v[0] = 5; break;
	case TSOF_OXM_MPLS_BOS: s->bos[0] = 0; v[0] = 0; break;
	case TSOF_OXM_PBB_ISID: s->isid = 0xfedcba; v[0] = 0xfe; v[1] = 0xdc; v[2] = 0xba; break;
	case TSOF_OXM_PBB_UCA: s->uca = 1; v[0] = 1; break;
	case TSOF_OXM_IPV6_EXTHDR: s->kind = K_UDP6; wr16(v, 0); break;
	default: abort();
	}
#undef SET16
#undef SET32
}

/* Where each field is: (field, kind, vlans). Fields in both IP versions
 * appear twice. */
static const struct fcase {
	unsigned field;
	enum kind kind;
	int vlans;
} fcases[] = {
	{ TSOF_OXM_ETH_DST, K_TCP4, 0 }, { TSOF_OXM_ETH_SRC, K_TCP4, 0 }, { TSOF_OXM_ETH_TYPE, K_TCP4, 0 },
	{ TSOF_OXM_VLAN_VID, K_TCP4, 1 }, { TSOF_OXM_VLAN_PCP, K_TCP4, 1 },
	{ TSOF_OXM_IP_DSCP, K_TCP4, 0 }, { TSOF_OXM_IP_DSCP, K_TCP6, 0 },
	{ TSOF_OXM_IP_ECN, K_UDP4, 0 }, { TSOF_OXM_IP_ECN, K_UDP6, 0 },
	{ TSOF_OXM_IP_PROTO, K_TCP4, 0 }, { TSOF_OXM_IP_PROTO, K_TCP6, 0 },
	{ TSOF_OXM_IPV4_SRC, K_TCP4, 0 }, { TSOF_OXM_IPV4_DST, K_UDP4, 0 },
	{ TSOF_OXM_IPV4_SRC, K_SCTP4, 0 }, { TSOF_OXM_IPV4_DST, K_ICMP4, 0 },
	{ TSOF_OXM_TCP_SRC, K_TCP4, 0 }, { TSOF_OXM_TCP_DST, K_TCP6, 1 },
	{ TSOF_OXM_UDP_SRC, K_UDP6, 0 }, { TSOF_OXM_UDP_DST, K_UDP4, 1 },
	{ TSOF_OXM_SCTP_SRC, K_SCTP4, 0 }, { TSOF_OXM_SCTP_DST, K_SCTP6, 0 },
	{ TSOF_OXM_ICMPV4_TYPE, K_ICMP4, 0 }, { TSOF_OXM_ICMPV4_CODE, K_ICMP4, 0 },
	{ TSOF_OXM_ARP_OP, K_ARP, 0 }, { TSOF_OXM_ARP_SPA, K_ARP, 0 }, { TSOF_OXM_ARP_TPA, K_ARP, 0 },
	{ TSOF_OXM_ARP_SHA, K_ARP, 0 }, { TSOF_OXM_ARP_THA, K_ARP, 1 },
	{ TSOF_OXM_IPV6_SRC, K_TCP6, 0 }, { TSOF_OXM_IPV6_DST, K_UDP6, 0 }, { TSOF_OXM_IPV6_SRC, K_ICMP6, 0 },
	{ TSOF_OXM_IPV6_DST, K_NS, 0 }, { TSOF_OXM_IPV6_FLABEL, K_TCP6, 0 },
	{ TSOF_OXM_ICMPV6_TYPE, K_ICMP6, 0 }, { TSOF_OXM_ICMPV6_CODE, K_ICMP6, 0 },
	{ TSOF_OXM_IPV6_ND_TARGET, K_NS, 0 }, { TSOF_OXM_IPV6_ND_TARGET, K_NA, 0 },
	{ TSOF_OXM_IPV6_ND_SLL, K_NS, 0 }, { TSOF_OXM_IPV6_ND_TLL, K_NA, 1 },
	{ TSOF_OXM_MPLS_LABEL, K_MPLS, 0 }, { TSOF_OXM_MPLS_TC, K_MPLS, 0 }, { TSOF_OXM_MPLS_BOS, K_MPLS, 0 },
	{ TSOF_OXM_PBB_ISID, K_PBB, 0 }, { TSOF_OXM_PBB_UCA, K_PBB, 0 },
	{ TSOF_OXM_IPV6_EXTHDR, K_HOP6, 0 },
};

/* The prerequisite OXMs of field, with values from key k. */
static void prereqs_from_key(struct mb *b, unsigned field, const struct tsof_flow_key *k)
{
	bool l4 = field >= TSOF_OXM_TCP_SRC && field <= TSOF_OXM_ICMPV4_CODE;
	bool icmp6 = field >= TSOF_OXM_ICMPV6_TYPE && field <= TSOF_OXM_IPV6_ND_TLL;
	bool nd = field >= TSOF_OXM_IPV6_ND_TARGET && field <= TSOF_OXM_IPV6_ND_TLL;

	if (field == TSOF_OXM_VLAN_PCP)
		oxmn(b, TSOF_OXM_VLAN_VID, 2, tsof_ntoh16(k->vlan_vid));
	if (field != TSOF_OXM_ETH_TYPE && field > TSOF_OXM_VLAN_PCP && field != TSOF_OXM_TUNNEL_ID)
		oxmn(b, TSOF_OXM_ETH_TYPE, 2, tsof_ntoh16(k->eth_type));
	if (l4 || icmp6)
		oxmn(b, TSOF_OXM_IP_PROTO, 1, k->ip_proto);
	if (nd)
		oxmn(b, TSOF_OXM_ICMPV6_TYPE, 1, k->icmpv6_type);
}

static void test_match_every_field(void)
{
	bool covered[TSOF_OXM_PBB_UCA + 1] = { false };

	setup();
	for (size_t i = 0; i < sizeof fcases / sizeof fcases[0]; i++) {
		const struct fcase *fc = &fcases[i];
		const struct tsof_flow_field *f = tsof_field_by_oxm(fc->field);
		struct spec a = spec_of(fc->kind), b;
		uint8_t fa[2048], v[16];
		struct tsof_flow_key ka;
		struct mb m = { .n = 0 }, del = { .n = 0 };

		a.vlans = fc->vlans;
		b = a;
		mutate(&b, fc->field, v);
		size_t na = build(&a, fa);
		tsof_flow_extract(fa, na, 1, &ka);
		/* Match the field as frame a has it (and its prerequisites). */
		prereqs_from_key(&m, fc->field, &ka);
		oxm(&m, fc->field, (const uint8_t *)&ka + f->ofs, f->len, NULL);
		n_checks++;
		if (add_output(0, 10, &m, 2)) {
			fail(__FILE__, __LINE__, "%s in kind %d: flow refused", f->name, fc->kind);
			continue;
		}
		CHECK_EQ(add_output(0, 0, NULL, 3), 0);
		send_spec(&a, 1);
		n_checks++;
		if (n_outs != 1 || outs[0].port != 2)
			fail(__FILE__, __LINE__, "%s in kind %d: frame a did not match", f->name, fc->kind);
		send_spec(&b, 1);
		n_checks++;
		if (n_outs != 1 || outs[0].port != 3)
			fail(__FILE__, __LINE__, "%s in kind %d: frame b matched", f->name, fc->kind);
		covered[fc->field] = true;
		CHECK_EQ(flow_mod((struct fm){ .table = 0, .command = TSOF_OFPFC_DELETE }, &del, NULL), 0);
	}
	/* Pipeline fields: in_port, in_phy_port, tunnel_id (metadata: below). */
	uint8_t fr[2048];
	struct spec s = spec_of(K_TCP4);
	size_t n = build(&s, fr);
	struct mb m = { .n = 0 };
	oxmn(&m, TSOF_OXM_IN_PORT, 4, 5);
	oxmn(&m, TSOF_OXM_IN_PHY_PORT, 4, 5);
	CHECK_EQ(add_output(0, 20, &m, 2), 0);
	m.n = 0;
	oxmn(&m, TSOF_OXM_TUNNEL_ID, 8, 0x77);
	CHECK_EQ(add_output(0, 10, &m, 4), 0);
	CHECK_EQ(add_output(0, 0, NULL, 3), 0);
	send_frame(fr, n, 5, 0);
	CHECK_OUT1(2);
	send_frame(fr, n, 6, 0x77);
	CHECK_OUT1(4);
	send_frame(fr, n, 6, 0x78);
	CHECK_OUT1(3);
	covered[TSOF_OXM_IN_PORT] = covered[TSOF_OXM_IN_PHY_PORT] = covered[TSOF_OXM_TUNNEL_ID] = true;
	covered[TSOF_OXM_METADATA] = true;  /* test_write_metadata */
	for (int i = 0; i < TSOF_N_FIELDS; i++) {
		n_checks++;
		if (!covered[tsof_flow_fields[i].oxm])
			fail(__FILE__, __LINE__, "no golden match test for %s", tsof_flow_fields[i].name);
	}
	CHECK(csum_error == NULL);
	teardown();
}

/* ---- set-field: every settable field ---- */

static void test_set_field_every_field(void)
{
	setup();
	for (size_t i = 0; i < sizeof fcases / sizeof fcases[0]; i++) {
		const struct fcase *fc = &fcases[i];
		const struct tsof_flow_field *f = tsof_field_by_oxm(fc->field);
		if (fc->field == TSOF_OXM_IPV6_EXTHDR)
			continue;  /* not settable */
		struct spec a = spec_of(fc->kind), b;
		uint8_t fa[2048], fb[2048], v[16];
		struct mb acts = { .n = 0 };
		a.vlans = fc->vlans;
		b = a;
		mutate(&b, fc->field, v);
		size_t na = build(&a, fa), nb = build(&b, fb);
		if (fc->field == TSOF_OXM_ETH_TYPE) {
			/* Only that field changes. */
			memcpy(fb, fa, na);
			nb = na;
			wr16(fb + 12 + 4 * fc->vlans, 0x0801);
		}
		a_set(&acts, fc->field, v, f->len);
		a_out(&acts, 2, 0);
		CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);
		send_frame(fa, na, 1, 0);
		n_checks++;
		if (n_outs != 1 || outs[0].len != nb || memcmp(outs[0].data, fb, nb)) {
			fail(__FILE__, __LINE__, "set_field %s on kind %d: wrong frame out", f->name, fc->kind);
			for (size_t j = 0; n_outs == 1 && j < nb && j < outs[0].len; j++)
				if (outs[0].data[j] != fb[j]) {
					printf("    byte %zu: 0x%02x, expected 0x%02x\n", j, outs[0].data[j], fb[j]);
					break;
				}
		}
		CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE }, NULL, NULL), 0);
	}
	CHECK(csum_error == NULL);

	/* tunnel_id is metadata of the frame, not a header. */
	struct mb acts = { .n = 0 };
	a_setn(&acts, TSOF_OXM_TUNNEL_ID, 8, 0x1122334455667788ull);
	a_out(&acts, 2, 0);
	CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);
	struct spec s = spec_of(K_UDP4);
	send_spec(&s, 1);
	CHECK_OUT1(2);
	CHECK_EQ(outs[0].tunnel_id, 0x1122334455667788ull);

	/* A set-field whose header is missing does nothing. */
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE }, NULL, NULL), 0);
	acts.n = 0;
	a_setn(&acts, TSOF_OXM_TCP_DST, 2, 99);
	a_setn(&acts, TSOF_OXM_VLAN_VID, 2, 0x1005);
	a_out(&acts, 2, 0);
	CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);
	uint8_t f[2048];
	size_t n = build(&s, f);
	send_frame(f, n, 1, 0);
	CHECK_OUT1(2);
	CHECK_FRAME(&outs[0], f, n);

	/* UDP without checksum keeps none; one with gets no zero. */
	s.udp_zero = true;
	n = build(&s, f);
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE }, NULL, NULL), 0);
	acts.n = 0;
	a_setn(&acts, TSOF_OXM_IPV4_SRC, 4, 0x01020304);
	a_out(&acts, 2, 0);
	CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);
	send_frame(f, n, 1, 0);
	CHECK_OUT1(2);
	CHECK_EQ(rd16(outs[0].data + 14 + 20 + 6), 0);
	teardown();
}

/* The UDP checksum that comes out 0 is sent as 0xffff (RFC 768): find a
 * source port for which the updated checksum would be 0. */
static void test_udp_zero_result(void)
{
	setup();
	struct spec s = spec_of(K_UDP4);
	uint8_t f[2048];
	size_t n = build(&s, f);
	uint8_t *udp = f + 14 + 20;
	/* new_port = old_port + old_checksum in one's complement makes the sum
	 * complement to 0. */
	uint32_t c = rd16(udp + 6), p = rd16(udp);
	uint32_t np = p + c;
	np = (np & 0xffff) + (np >> 16);
	struct mb acts = { .n = 0 };
	a_setn(&acts, TSOF_OXM_UDP_SRC, 2, np);
	a_out(&acts, 2, 0);
	CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);
	send_frame(f, n, 1, 0);
	CHECK_OUT1(2);
	CHECK_EQ(rd16(outs[0].data + 14 + 20), np);
	CHECK_EQ(rd16(outs[0].data + 14 + 20 + 6), 0xffff);
	CHECK(csum_error == NULL);
	teardown();
}

/* A partial checksum (offloads on): only pseudo-header changes count, and
 * finishing it afterwards gives the right checksum. */
static void test_csum_partial(void)
{
	setup();
	struct spec s = spec_of(K_TCP4);
	uint8_t f[2048], want[2048];
	size_t n = build(&s, f);
	uint8_t *ip = f + 14, *tcp = ip + 20;
	uint32_t l4len = (uint32_t)(n - 34);
	/* As the kernel leaves it: the folded pseudo-header sum, uncomplemented. */
	wr16(tcp + 16, (uint16_t)~finish(pseudo(ip, false, 6, l4len)));
	struct mb acts = { .n = 0 };
	a_setn(&acts, TSOF_OXM_IPV4_DST, 4, 0x0a0b0c0d);
	a_setn(&acts, TSOF_OXM_TCP_DST, 2, 7777);
	a_arg16(&acts, TSOF_OFPAT_PUSH_VLAN, 0x8100);
	a_out(&acts, 2, 0);
	CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);

	static uint8_t buf[TSOF_PL_HEADROOM + 4096];
	struct tsof_pl_frame p = {
		.data = buf + TSOF_PL_HEADROOM, .len = (uint32_t)n, .headroom = TSOF_PL_HEADROOM,
		.tailroom = 1024, .in_port = 1, .in_phy_port = 1, .flags = TSOF_PL_CSUM_PARTIAL,
		.csum_start = 34, .csum_offset = 16,
	};
	memcpy(p.data, f, n);
	n_outs = 0;
	tsof_pipeline_process(th, &p, now);
	CHECK_OUT1(2);
	CHECK_EQ(p.csum_start, 38);  /* moved with the pushed tag */
	/* Finish it as the NIC would, then compare with a frame built whole. */
	uint8_t *o = outs[0].data, *otcp = o + p.csum_start;
	uint32_t partial = rd16(otcp + 16);
	wr16(otcp + 16, 0);
	wr16(otcp + 16, finish(sum_bytes(otcp, l4len, partial)));
	s.v4dst = 0x0a0b0c0d;
	s.dport = 7777;
	s.vlans = 1;
	s.vid[0] = 0;
	s.pcp[0] = 0;
	size_t wn = build(&s, want);
	CHECK_FRAME(&outs[0], want, wn);
	teardown();
}

/* ---- push, pop, TTLs ---- */

struct xcase {
	const char *name;
	enum kind kin;
	int vlans_in;
	void (*acts)(struct mb *);
	void (*expect)(struct spec *);  /* the frame out, from the frame in */
	int n_out;                      /* 0: dropped */
};

static void x_push_vlan(struct mb *b) { a_arg16(b, TSOF_OFPAT_PUSH_VLAN, 0x8100); }
static void e_push_vlan_untagged(struct spec *s) { s->vlans = 1; s->vid[0] = 0; s->pcp[0] = 0; }
static void x_push_svlan(struct mb *b) { a_arg16(b, TSOF_OFPAT_PUSH_VLAN, 0x88a8); }
static void e_push_svlan_tagged(struct spec *s)
{
	s->vlans = 2;
	s->tpid[1] = s->tpid[0]; s->vid[1] = s->vid[0]; s->pcp[1] = s->pcp[0];
	s->tpid[0] = 0x88a8;  /* VID and PCP copied from the old outer tag */
}
static void x_pop_vlan(struct mb *b) { a_simple(b, TSOF_OFPAT_POP_VLAN); }
static void e_pop_vlan(struct spec *s) { s->vlans--; s->tpid[0] = s->tpid[1]; s->vid[0] = s->vid[1]; s->pcp[0] = s->pcp[1]; }
static void e_same(struct spec *s) { (void)s; }
static void x_push_mpls(struct mb *b) { a_arg16(b, TSOF_OFPAT_PUSH_MPLS, 0x8847); }
static void e_push_mpls_ip(struct spec *s)
{
	/* label 0, TC 0, bottom of stack, TTL from IP */
	s->kind = K_MPLS; s->n_mpls = 1; s->label[0] = 0; s->tc[0] = 0; s->bos[0] = 1; s->mttl[0] = s->ttl;
}
static void e_push_mpls_mpls(struct spec *s)
{
	s->n_mpls = 2;
	s->label[1] = s->label[0]; s->tc[1] = s->tc[0]; s->bos[1] = 1; s->mttl[1] = s->mttl[0];
	s->bos[0] = 0;
}
static void x_pop_mpls(struct mb *b) { a_arg16(b, TSOF_OFPAT_POP_MPLS, 0x0800); }
static void e_pop_mpls(struct spec *s) { s->kind = K_TCP4; }
static void x_push_pbb(struct mb *b) { a_arg16(b, TSOF_OFPAT_PUSH_PBB, 0x88e7); }
static void x_pop_pbb(struct mb *b) { a_simple(b, TSOF_OFPAT_POP_PBB); }
static void x_dec_nw_ttl(struct mb *b) { a_simple(b, TSOF_OFPAT_DEC_NW_TTL); }
static void e_dec_ttl(struct spec *s) { s->ttl--; }
static void x_set_nw_ttl(struct mb *b) { a_arg8(b, TSOF_OFPAT_SET_NW_TTL, 9); }
static void e_set_ttl(struct spec *s) { s->ttl = 9; }
static void x_dec_mpls_ttl(struct mb *b) { a_simple(b, TSOF_OFPAT_DEC_MPLS_TTL); }
static void e_dec_mpls_ttl(struct spec *s) { s->mttl[0]--; }
static void x_set_mpls_ttl(struct mb *b) { a_arg8(b, TSOF_OFPAT_SET_MPLS_TTL, 7); }
static void e_set_mpls_ttl(struct spec *s) { s->mttl[0] = 7; }
static void x_copy_out(struct mb *b) { a_simple(b, TSOF_OFPAT_COPY_TTL_OUT); }
static void e_copy_out_ip(struct spec *s) { s->mttl[0] = s->ttl; }
static void e_copy_out_mpls(struct spec *s) { s->mttl[0] = s->mttl[1]; }
static void x_copy_in(struct mb *b) { a_simple(b, TSOF_OFPAT_COPY_TTL_IN); }
static void e_copy_in_ip(struct spec *s) { s->ttl = s->mttl[0]; }
static void e_copy_in_mpls(struct spec *s) { s->mttl[1] = s->mttl[0]; }

static void two_labels(struct spec *s)
{
	s->n_mpls = 2;
	s->bos[0] = 0;
	s->bos[1] = 1;
}

static void test_push_pop_ttl(void)
{
	static const struct xcase cases[] = {
		{ "push_vlan untagged", K_TCP4, 0, x_push_vlan, e_push_vlan_untagged, 1 },
		{ "push_vlan 88a8 on tagged", K_UDP6, 1, x_push_svlan, e_push_svlan_tagged, 1 },
		{ "pop_vlan", K_TCP4, 1, x_pop_vlan, e_pop_vlan, 1 },
		{ "pop_vlan of two", K_ARP, 2, x_pop_vlan, e_pop_vlan, 1 },
		{ "pop_vlan untagged", K_TCP4, 0, x_pop_vlan, e_same, 1 },
		{ "push_mpls on ipv4", K_TCP4, 0, x_push_mpls, e_push_mpls_ip, 1 },
		{ "push_mpls on ipv4 in vlan", K_TCP4, 1, x_push_mpls, e_push_mpls_ip, 1 },
		{ "push_mpls on mpls", K_MPLS, 0, x_push_mpls, e_push_mpls_mpls, 1 },
		{ "pop_mpls", K_MPLS, 0, x_pop_mpls, e_pop_mpls, 1 },
		{ "pop_mpls in vlan", K_MPLS, 1, x_pop_mpls, e_pop_mpls, 1 },
		{ "dec_nw_ttl ipv4", K_TCP4, 0, x_dec_nw_ttl, e_dec_ttl, 1 },
		{ "dec_nw_ttl ipv6", K_UDP6, 1, x_dec_nw_ttl, e_dec_ttl, 1 },
		{ "set_nw_ttl ipv4", K_ICMP4, 0, x_set_nw_ttl, e_set_ttl, 1 },
		{ "set_nw_ttl ipv6", K_TCP6, 0, x_set_nw_ttl, e_set_ttl, 1 },
		{ "dec_mpls_ttl", K_MPLS, 0, x_dec_mpls_ttl, e_dec_mpls_ttl, 1 },
		{ "set_mpls_ttl", K_MPLS, 0, x_set_mpls_ttl, e_set_mpls_ttl, 1 },
		{ "copy_ttl_out ip to mpls", K_MPLS, 0, x_copy_out, e_copy_out_ip, 1 },
		{ "copy_ttl_in mpls to ip", K_MPLS, 0, x_copy_in, e_copy_in_ip, 1 },
	};

	setup();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct xcase *x = &cases[i];
		struct spec in = spec_of(x->kin), want;
		struct mb acts = { .n = 0 };
		uint8_t fi[2048], fw[2048];
		in.vlans = x->vlans_in;
		in.ttl = 33;
		want = in;
		x->expect(&want);
		size_t ni = build(&in, fi), nw = build(&want, fw);
		x->acts(&acts);
		a_out(&acts, 2, 0);
		CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);
		send_frame(fi, ni, 1, 0);
		n_checks++;
		if (n_outs != x->n_out || (n_outs && (outs[0].len != nw || memcmp(outs[0].data, fw, nw))))
			fail(__FILE__, __LINE__, "%s: wrong frame out (%d out, len %u, want %zu)", x->name, n_outs,
			     n_outs ? outs[0].len : 0, nw);
		CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE }, NULL, NULL), 0);
	}
	/* MPLS to MPLS copies, on two labels. */
	struct { void (*acts)(struct mb *); void (*expect)(struct spec *); } mm[] = {
		{ x_copy_out, e_copy_out_mpls }, { x_copy_in, e_copy_in_mpls },
	};
	for (int i = 0; i < 2; i++) {
		struct spec in = spec_of(K_MPLS), want;
		struct mb acts = { .n = 0 };
		uint8_t fi[2048], fw[2048];
		two_labels(&in);
		want = in;
		mm[i].expect(&want);
		size_t ni = build(&in, fi), nw = build(&want, fw);
		mm[i].acts(&acts);
		a_out(&acts, 2, 0);
		CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);
		send_frame(fi, ni, 1, 0);
		CHECK_OUT1(2);
		CHECK_FRAME(&outs[0], fw, nw);
		CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE }, NULL, NULL), 0);
	}
	/* PBB: push wraps the frame in a backbone header, pop unwraps it. */
	struct spec c = spec_of(K_TCP4);
	uint8_t fc[2048], fp[2048];
	size_t nc = build(&c, fc);
	struct mb acts = { .n = 0 };
	x_push_pbb(&acts);
	a_out(&acts, 2, 0);
	CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);
	send_frame(fc, nc, 1, 0);
	CHECK_OUT1(2);
	memcpy(fp, fc, 12);
	wr16(fp + 12, 0x88e7);
	memset(fp + 14, 0, 4);  /* I-TAG: PCP 0 (untagged), I-SID 0 */
	memcpy(fp + 18, fc, nc);
	CHECK_FRAME(&outs[0], fp, nc + 18);
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE }, NULL, NULL), 0);
	acts.n = 0;
	x_pop_pbb(&acts);
	a_out(&acts, 2, 0);
	CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);
	send_frame(fp, nc + 18, 1, 0);
	CHECK_OUT1(2);
	CHECK_FRAME(&outs[0], fc, nc);
	/* Pushes in a row, past the headroom: the frame moves into tailroom. */
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE }, NULL, NULL), 0);
	acts.n = 0;
	for (int i = 0; i < 5; i++)
		x_push_pbb(&acts);
	a_out(&acts, 2, 0);
	CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);
	send_frame(fc, nc, 1, 0);
	CHECK_OUT1(2);
	CHECK_EQ(outs[0].len, nc + 5 * 18);
	CHECK_MEM(outs[0].data + 5 * 18, fc, nc);
	CHECK(csum_error == NULL);
	teardown();
}

static void test_invalid_ttl(void)
{
	setup();
	tsof_pipeline_set_config(pl, 0, 64);
	for (int mpls = 0; mpls < 2; mpls++)
		for (int ttl = 0; ttl <= 2; ttl++) {
			struct spec s = spec_of(mpls ? K_MPLS : K_TCP4);
			struct mb acts = { .n = 0 };
			s.ttl = s.mttl[0] = (uint8_t)ttl;
			s.payload = 100;
			a_simple(&acts, mpls ? TSOF_OFPAT_DEC_MPLS_TTL : TSOF_OFPAT_DEC_NW_TTL);
			a_out(&acts, 2, 0);
			struct mb in = { .n = 0 };
			i_actions(&in, TSOF_OFPIT_APPLY_ACTIONS, &acts);
			CHECK_EQ(flow_mod((struct fm){ .priority = 1, .cookie = 0xc0c0 }, NULL, &in), 0);
			send_spec(&s, 1);
			if (ttl <= 1) {
				/* Not forwarded; the controller gets it (it filters
				 * INVALID_TTL by its async config). */
				CHECK_EQ(n_outs, 0);
				CHECK_EQ(n_pins, 1);
				CHECK_EQ(pins[0].p.reason, TSOF_OFPR_INVALID_TTL);
				CHECK_EQ(pins[0].p.max_len, 64);
				CHECK_EQ(pins[0].p.cookie, 0xc0c0);
			} else {
				CHECK_OUT1(2);
				CHECK_EQ(n_pins, 0);
			}
			CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE }, NULL, NULL), 0);
		}
	teardown();
}

/* ---- output to reserved ports ---- */

static void test_output_ports(void)
{
	struct spec s = spec_of(K_TCP4);
	struct mb acts = { .n = 0 }, m = { .n = 0 };

	setup();
	tsof_pipeline_port_set(pl, 4, TSOF_OFPPC_NO_FWD, TSOF_OFPPS_LIVE);
	tsof_pipeline_port_set(pl, 5, 0, TSOF_OFPPS_BLOCKED);
	/* FLOOD: not in_port 1, not NO_FWD 4, not blocked 5, not LOCAL. */
	a_out(&acts, TSOF_OFPP_FLOOD, 0);
	CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);
	send_spec(&s, 1);
	CHECK_EQ(n_outs, 5);
	uint32_t seen = 0;
	for (int i = 0; i < n_outs; i++)
		seen |= 1u << outs[i].port;
	CHECK_EQ(seen, 1u << 2 | 1u << 3 | 1u << 6 | 1u << 7 | 1u << 8);
	/* ALL: blocked port 5 too. */
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE }, NULL, NULL), 0);
	acts.n = 0;
	a_out(&acts, TSOF_OFPP_ALL, 0);
	CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);
	send_spec(&s, 1);
	CHECK_EQ(n_outs, 6);
	/* IN_PORT, LOCAL, a plain port equal to in_port (dropped), NO_FWD
	 * (dropped), a port not in the table (dropped), set_queue. */
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE }, NULL, NULL), 0);
	acts.n = 0;
	a_arg32(&acts, TSOF_OFPAT_SET_QUEUE, 7);
	a_out(&acts, TSOF_OFPP_IN_PORT, 0);
	a_out(&acts, TSOF_OFPP_LOCAL, 0);
	a_out(&acts, 3, 0);
	a_out(&acts, 4, 0);
	a_out(&acts, 99, 0);
	CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);
	send_spec(&s, 3);
	CHECK_EQ(n_outs, 2);
	CHECK(n_outs == 2 && outs[0].port == 3 && outs[1].port == TSOF_OFPP_LOCAL);
	CHECK(n_outs == 2 && outs[0].queue == 7 && outs[1].queue == 7);
	/* CONTROLLER: reason ACTION with the flow's cookie and max_len. */
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE }, NULL, NULL), 0);
	acts.n = 0;
	a_out(&acts, TSOF_OFPP_CONTROLLER, 128);
	struct mb in = { .n = 0 };
	i_actions(&in, TSOF_OFPIT_APPLY_ACTIONS, &acts);
	oxmn(&m, TSOF_OXM_IN_PORT, 4, 1);
	CHECK_EQ(flow_mod((struct fm){ .priority = 5, .cookie = 0xabc }, &m, &in), 0);
	send_spec(&s, 1);
	CHECK_EQ(n_pins, 1);
	CHECK(n_pins == 1 && pins[0].p.reason == TSOF_OFPR_ACTION && pins[0].p.cookie == 0xabc &&
	      pins[0].p.max_len == 128 && pins[0].p.in_port == 1 && pins[0].p.table_id == 0);
	/* The table-miss flow: reason NO_MATCH. */
	acts.n = 0;
	a_out(&acts, TSOF_OFPP_CONTROLLER, TSOF_OFPCML_NO_BUFFER);
	CHECK_EQ(add_apply(0, 0, NULL, &acts), 0);
	send_spec(&s, 2);
	CHECK(n_pins == 1 && pins[0].p.reason == TSOF_OFPR_NO_MATCH && pins[0].p.max_len == TSOF_OFPCML_NO_BUFFER);
	/* NO_PACKET_IN on the ingress port: none. */
	tsof_pipeline_port_set(pl, 2, TSOF_OFPPC_NO_PACKET_IN, TSOF_OFPPS_LIVE);
	send_spec(&s, 2);
	CHECK_EQ(n_pins, 0);
	/* NO_RECV: dropped on arrival. */
	tsof_pipeline_port_set(pl, 2, TSOF_OFPPC_NO_RECV, TSOF_OFPPS_LIVE);
	send_spec(&s, 2);
	CHECK_EQ(n_pins + n_outs, 0);
	teardown();
}

/* ---- instructions and the action set ---- */

static void test_apply_order(void)
{
	setup();
	struct spec s = spec_of(K_TCP4), w1, w2;
	struct mb acts = { .n = 0 };
	uint8_t f1[2048], f2[2048];

	/* Actions apply in list order; each output sends the frame as it is. */
	a_setn(&acts, TSOF_OXM_IPV4_DST, 4, 0x01010101);
	a_out(&acts, 2, 0);
	a_setn(&acts, TSOF_OXM_TCP_DST, 2, 99);
	a_arg16(&acts, TSOF_OFPAT_PUSH_VLAN, 0x8100);
	a_setn(&acts, TSOF_OXM_VLAN_VID, 2, 0x1000 | 42);
	a_out(&acts, 3, 0);
	CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);
	send_spec(&s, 1);
	w1 = s;
	w1.v4dst = 0x01010101;
	w2 = w1;
	w2.dport = 99;
	w2.vlans = 1;
	w2.vid[0] = 42;
	w2.pcp[0] = 0;
	size_t n1 = build(&w1, f1), n2 = build(&w2, f2);
	CHECK_EQ(n_outs, 2);
	if (n_outs == 2) {
		CHECK_FRAME(&outs[0], f1, n1);
		CHECK_FRAME(&outs[1], f2, n2);
	}
	teardown();
}

static void test_action_set_order(void)
{
	setup();
	/* Written out of order across two tables, run in the order of 5.10:
	 * pop_vlan before push_vlan (so the new tag gets VID 0 and then the
	 * set-field), dec TTL, set, output last. */
	struct mb w0 = { .n = 0 }, w1 = { .n = 0 }, in0 = { .n = 0 }, in1 = { .n = 0 };
	a_out(&w0, 2, 0);
	a_setn(&w0, TSOF_OXM_VLAN_VID, 2, 0x1000 | 7);
	a_arg16(&w0, TSOF_OFPAT_PUSH_VLAN, 0x8100);
	i_actions(&in0, TSOF_OFPIT_WRITE_ACTIONS, &w0);
	i_goto(&in0, 3);
	CHECK_EQ(add(0, 1, NULL, &in0), 0);
	a_simple(&w1, TSOF_OFPAT_DEC_NW_TTL);
	a_simple(&w1, TSOF_OFPAT_POP_VLAN);
	a_out(&w1, 4, 0);            /* replaces output 2: one action per kind */
	i_actions(&in1, TSOF_OFPIT_WRITE_ACTIONS, &w1);
	CHECK_EQ(add(3, 1, NULL, &in1), 0);

	struct spec s = spec_of(K_UDP4), want;
	s.vlans = 1;
	want = s;
	want.vid[0] = 7;
	want.pcp[0] = 0;
	want.ttl--;
	uint8_t fw[2048];
	size_t nw = build(&want, fw);
	send_spec(&s, 1);
	CHECK_OUT1(4);
	if (n_outs == 1)
		CHECK_FRAME(&outs[0], fw, nw);

	/* clear-actions empties the set: nothing goes out. */
	struct mb in2 = { .n = 0 };
	i_clear(&in2);
	CHECK_EQ(add(3, 2, NULL, &in2), 0);
	send_spec(&s, 1);
	CHECK_EQ(n_outs, 0);

	/* A group in the action set wins over an output. */
	struct mb b = { .n = 0 }, ba = { .n = 0 };
	a_out(&ba, 6, 0);
	bucket(&b, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &ba);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_INDIRECT, 1, &b), 0);
	struct mb w3 = { .n = 0 }, in3 = { .n = 0 };
	a_out(&w3, 5, 0);
	a_arg32(&w3, TSOF_OFPAT_GROUP, 1);
	i_actions(&in3, TSOF_OFPIT_WRITE_ACTIONS, &w3);
	CHECK_EQ(add(3, 3, NULL, &in3), 0);
	send_spec(&s, 1);
	CHECK_OUT1(6);
	CHECK(csum_error == NULL);
	teardown();
}

static void test_write_metadata_goto(void)
{
	setup();
	struct mb in = { .n = 0 }, m = { .n = 0 };

	/* Table 0 writes metadata bits under a mask, table 5 matches them. */
	i_meta(&in, 0xff00ff, 0x00ffff);
	i_goto(&in, 5);
	CHECK_EQ(add(0, 1, NULL, &in), 0);
	uint8_t v[8] = { 0, 0, 0, 0, 0, 0, 0x00, 0xff }, mask[8] = { 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	oxm(&m, TSOF_OXM_METADATA, v, 8, mask);
	CHECK_EQ(add_output(5, 1, &m, 2), 0);
	CHECK_EQ(add_output(5, 0, NULL, 3), 0);
	struct spec s = spec_of(K_TCP4);
	send_spec(&s, 1);
	CHECK_OUT1(2);
	/* Two writes: the second one's mask keeps the first one's bits. */
	in.n = 0;
	i_meta(&in, 0x1, 0x1);
	i_goto(&in, 5);
	CHECK_EQ(add(0, 2, NULL, &in), 0);  /* replaces nothing: priority 2 */
	m.n = 0;
	oxmn(&m, TSOF_OXM_METADATA, 8, 0x1);
	CHECK_EQ(add_output(5, 2, &m, 4), 0);
	send_spec(&s, 1);
	CHECK_OUT1(4);
	/* goto only forward, and only to a table that exists */
	in.n = 0;
	i_goto(&in, 5);
	CHECK_EQ(add(5, 9, NULL, &in), ERR(BAD_INSTRUCTION, TSOF_OFPBIC_BAD_TABLE_ID));
	CHECK_EQ(add(6, 9, NULL, &in), ERR(BAD_INSTRUCTION, TSOF_OFPBIC_BAD_TABLE_ID));
	in.n = 0;
	i_goto(&in, TSOF_N_TABLES);
	CHECK_EQ(add(0, 9, NULL, &in), ERR(BAD_INSTRUCTION, TSOF_OFPBIC_BAD_TABLE_ID));
	in.n = 0;
	i_goto(&in, TSOF_N_TABLES - 1);
	CHECK_EQ(add(0, 9, NULL, &in), 0);
	teardown();
}

static void test_reextract_before_goto(void)
{
	setup();
	struct mb a0 = { .n = 0 }, in0 = { .n = 0 }, m = { .n = 0 };

	/* Header changes show in the next table's lookup. */
	a_simple(&a0, TSOF_OFPAT_POP_VLAN);
	a_arg16(&a0, TSOF_OFPAT_PUSH_MPLS, 0x8847);
	a_setn(&a0, TSOF_OXM_MPLS_LABEL, 4, 77);
	i_actions(&in0, TSOF_OFPIT_APPLY_ACTIONS, &a0);
	i_goto(&in0, 1);
	CHECK_EQ(add(0, 1, NULL, &in0), 0);
	oxmn(&m, TSOF_OXM_VLAN_VID, 2, 0);
	oxmn(&m, TSOF_OXM_ETH_TYPE, 2, 0x8847);
	oxmn(&m, TSOF_OXM_MPLS_LABEL, 4, 77);
	oxmn(&m, TSOF_OXM_MPLS_BOS, 1, 1);
	CHECK_EQ(add_output(1, 1, &m, 2), 0);
	CHECK_EQ(add_output(1, 0, NULL, 3), 0);
	struct spec s = spec_of(K_TCP4);
	s.vlans = 1;
	send_spec(&s, 1);
	CHECK_OUT1(2);
	/* And a set-field of an address, then a table matching it. */
	a0.n = in0.n = m.n = 0;
	a_setn(&a0, TSOF_OXM_IPV4_DST, 4, 0x08080808);
	i_actions(&in0, TSOF_OFPIT_APPLY_ACTIONS, &a0);
	i_goto(&in0, 2);
	CHECK_EQ(add(0, 2, NULL, &in0), 0);
	oxmn(&m, TSOF_OXM_ETH_TYPE, 2, 0x0800);
	oxmn(&m, TSOF_OXM_IPV4_DST, 4, 0x08080808);
	CHECK_EQ(add_output(2, 1, &m, 4), 0);
	s.vlans = 0;
	send_spec(&s, 1);
	CHECK_OUT1(4);
	teardown();
}

static void test_table_miss(void)
{
	setup();
	struct spec s = spec_of(K_TCP4);
	struct tsof_pl_thread_stats st;

	send_spec(&s, 1);  /* no flow at all: dropped */
	CHECK_EQ(n_outs + n_pins, 0);
	tsof_pipeline_thread_stats(th, &st);
	CHECK_EQ(st.table_misses, 1);
	/* Goto a table without flows: dropped too. */
	struct mb in = { .n = 0 };
	i_goto(&in, 9);
	CHECK_EQ(add(0, 1, NULL, &in), 0);
	send_spec(&s, 1);
	tsof_pipeline_thread_stats(th, &st);
	CHECK_EQ(st.table_misses, 2);
	struct tsof_table_stats ts;
	tsof_pipeline_table_stats(pl, 9, &ts);
	CHECK(ts.lookups == 1 && ts.matched == 0 && ts.active == 0);
	tsof_pipeline_table_stats(pl, 0, &ts);
	CHECK(ts.lookups == 2 && ts.matched == 1 && ts.active == 1);
	teardown();
}

/* ---- groups ---- */

static void test_group_all_indirect_chain(void)
{
	setup();
	struct mb b = { .n = 0 }, a1 = { .n = 0 }, a2 = { .n = 0 };
	struct spec s = spec_of(K_TCP4);

	/* ALL: each bucket gets its own copy. */
	a_setn(&a1, TSOF_OXM_IPV4_DST, 4, 0x01010101);
	a_out(&a1, 2, 0);
	a_setn(&a2, TSOF_OXM_TCP_DST, 2, 2);
	a_out(&a2, 3, 0);
	bucket(&b, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &a1);
	bucket(&b, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &a2);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_ALL, 10, &b), 0);
	/* INDIRECT to ALL: a chain. */
	struct mb b2 = { .n = 0 }, a3 = { .n = 0 };
	a_arg32(&a3, TSOF_OFPAT_GROUP, 10);
	bucket(&b2, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &a3);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_INDIRECT, 11, &b2), 0);
	/* A flow: group 11, then output the frame unchanged. */
	struct mb acts = { .n = 0 };
	a_arg32(&acts, TSOF_OFPAT_GROUP, 11);
	a_out(&acts, 4, 0);
	CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);
	uint8_t f[2048], e1[2048], e2[2048];
	size_t n = build(&s, f);
	struct spec w1 = s, w2 = s;
	w1.v4dst = 0x01010101;
	w2.dport = 2;
	size_t n1 = build(&w1, e1), n2 = build(&w2, e2);
	send_frame(f, n, 1, 0);
	CHECK_EQ(n_outs, 3);
	if (n_outs == 3) {
		CHECK(outs[0].port == 2 && outs[1].port == 3 && outs[2].port == 4);
		CHECK_FRAME(&outs[0], e1, n1);
		CHECK_FRAME(&outs[1], e2, n2);
		CHECK_FRAME(&outs[2], f, n);
	}
	teardown();
}

struct gstat {
	uint32_t id, refs, n_buckets;
	uint64_t packets, bytes, bp[8], bb[8];
};

static struct gstat gstats[8];
static int n_gstats;

static void group_cb(void *arg, const struct tsof_group_stats *g)
{
	(void)arg;
	if (n_gstats < 8) {
		struct gstat *s = &gstats[n_gstats++];
		s->id = g->group_id;
		s->refs = g->ref_count;
		s->n_buckets = g->n_buckets;
		s->packets = g->packets;
		s->bytes = g->bytes;
		for (uint32_t i = 0; i < g->n_buckets && i < 8; i++) {
			s->bp[i] = g->bucket_packets[i];
			s->bb[i] = g->bucket_bytes[i];
		}
	}
}

static void test_group_counters(void)
{
	setup();
	struct mb b = { .n = 0 }, a1 = { .n = 0 }, a2 = { .n = 0 }, acts = { .n = 0 };
	a_out(&a1, 2, 0);
	a_out(&a2, 3, 0);
	bucket(&b, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &a1);
	bucket(&b, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &a2);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_ALL, 3, &b), 0);
	a_arg32(&acts, TSOF_OFPAT_GROUP, 3);
	CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);
	struct spec s = spec_of(K_UDP4);
	uint8_t f[2048];
	size_t n = build(&s, f);
	for (int i = 0; i < 3; i++)
		send_frame(f, n, 1, 0);
	n_gstats = 0;
	CHECK_EQ(tsof_pipeline_group_stats(pl, 3, now, group_cb, NULL), 1);
	CHECK(n_gstats == 1 && gstats[0].packets == 3 && gstats[0].bytes == 3 * n && gstats[0].refs == 1 &&
	      gstats[0].n_buckets == 2 && gstats[0].bp[0] == 3 && gstats[0].bp[1] == 3 && gstats[0].bb[1] == 3 * n);
	/* A modify replaces the buckets whole: counters per bucket start over. */
	b.n = 0;
	bucket(&b, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &a2);
	CHECK_EQ(group_mod(TSOF_OFPGC_MODIFY, TSOF_OFPGT_ALL, 3, &b), 0);
	send_frame(f, n, 1, 0);
	CHECK_OUT1(3);
	n_gstats = 0;
	tsof_pipeline_group_stats(pl, TSOF_OFPG_ALL, now, group_cb, NULL);
	CHECK(n_gstats == 1 && gstats[0].packets == 4 && gstats[0].n_buckets == 1 && gstats[0].bp[0] == 1);
	teardown();
}

static void test_group_select(void)
{
	setup();
	struct mb b = { .n = 0 }, a1 = { .n = 0 }, a2 = { .n = 0 }, acts = { .n = 0 };
	a_out(&a1, 2, 0);
	a_out(&a2, 3, 0);
	bucket(&b, 1, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &a1);
	bucket(&b, 2, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &a2);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_SELECT, 1, &b), 0);
	a_arg32(&acts, TSOF_OFPAT_GROUP, 1);
	CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);

	/* 3000 flows (random addresses and ports): shares as the weights 1:2,
	 * and each flow always on the same bucket. */
	int per_port[4] = { 0 };
	uint8_t first_port[64];
	for (int i = 0; i < 3000; i++) {
		struct spec s = spec_of(K_TCP4);
		s.v4src = (uint32_t)rnd();
		s.v4dst = (uint32_t)rnd();
		s.sport = (uint16_t)rnd();
		s.dport = (uint16_t)rnd();
		uint8_t f[2048];
		size_t n = build(&s, f);
		send_frame(f, n, 1, 0);
		if (n_outs != 1) {
			fail(__FILE__, __LINE__, "flow %d: %d frames out", i, n_outs);
			break;
		}
		per_port[outs[0].port & 3]++;
		if (i < 64) {
			first_port[i] = (uint8_t)outs[0].port;
			send_frame(f, n, 1, 0);
			CHECK(n_outs == 1 && outs[0].port == first_port[i]);
		}
	}
	CHECK(per_port[2] > 850 && per_port[2] < 1150);    /* 1000 expected */
	CHECK(per_port[3] > 1850 && per_port[3] < 2150);   /* 2000 expected */
	/* ARP spreads by its addresses too (the Ryu tester's select cases send
	 * ARP with random sender and target addresses). */
	int arp_port[4] = { 0 };
	for (int i = 0; i < 600; i++) {
		struct spec s = spec_of(K_ARP);
		s.arp_spa = (uint32_t)rnd();
		s.arp_tpa = (uint32_t)rnd();
		send_spec(&s, 1);
		if (n_outs == 1)
			arp_port[outs[0].port & 3]++;
	}
	CHECK(arp_port[2] > 140 && arp_port[2] < 260);     /* 200 expected */
	CHECK(arp_port[3] > 340 && arp_port[3] < 460);     /* 400 expected */
	/* Weight 0: never chosen. */
	b.n = 0;
	bucket(&b, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &a1);
	bucket(&b, 5, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &a2);
	CHECK_EQ(group_mod(TSOF_OFPGC_MODIFY, TSOF_OFPGT_SELECT, 1, &b), 0);
	for (int i = 0; i < 50; i++) {
		struct spec s = spec_of(K_TCP4);
		s.sport = (uint16_t)rnd();
		send_spec(&s, 1);
		CHECK_OUT1(3);
	}
	/* A dead watched port takes its bucket out of the choice. */
	b.n = 0;
	bucket(&b, 1, 2, TSOF_OFPG_ANY, &a1);
	bucket(&b, 1, 3, TSOF_OFPG_ANY, &a2);
	CHECK_EQ(group_mod(TSOF_OFPGC_MODIFY, TSOF_OFPGT_SELECT, 1, &b), 0);
	live[3] = false;
	for (int i = 0; i < 50; i++) {
		struct spec s = spec_of(K_TCP4);
		s.sport = (uint16_t)rnd();
		send_spec(&s, 1);
		CHECK_OUT1(2);
	}
	teardown();
}

static void test_group_ff(void)
{
	setup();
	struct mb b = { .n = 0 }, a1 = { .n = 0 }, a2 = { .n = 0 }, a3 = { .n = 0 }, acts = { .n = 0 };
	struct spec s = spec_of(K_TCP4);

	/* Group 2 (FF on port 6 then 7) is watched by group 1's second bucket. */
	a_out(&a3, 6, 0);
	bucket(&b, 0, 6, TSOF_OFPG_ANY, &a3);
	a3.n = 0;
	a_out(&a3, 7, 0);
	bucket(&b, 0, 7, TSOF_OFPG_ANY, &a3);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_FF, 2, &b), 0);
	b.n = 0;
	a_out(&a1, 2, 0);
	bucket(&b, 0, 2, TSOF_OFPG_ANY, &a1);
	a_arg32(&a2, TSOF_OFPAT_GROUP, 2);
	bucket(&b, 0, TSOF_OFPP_ANY, 2, &a2);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_FF, 1, &b), 0);
	a_arg32(&acts, TSOF_OFPAT_GROUP, 1);
	CHECK_EQ(add_apply(0, 1, NULL, &acts), 0);

	send_spec(&s, 1);
	CHECK_OUT1(2);          /* the first live bucket */
	live[2] = false;
	send_spec(&s, 1);
	CHECK_OUT1(6);          /* the second: group 2 is live through port 6 */
	live[6] = false;
	send_spec(&s, 1);
	CHECK_OUT1(7);
	live[7] = false;
	send_spec(&s, 1);
	CHECK_EQ(n_outs, 0);    /* nothing live */
	live[2] = true;
	send_spec(&s, 1);
	CHECK_OUT1(2);
	teardown();
}

static void test_group_mod_errors(void)
{
	setup();
	struct mb b = { .n = 0 }, a = { .n = 0 }, acts = { .n = 0 };
	a_out(&a, 2, 0);
	bucket(&b, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &a);

	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_ALL, 1, &b), 0);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_ALL, 1, &b), ERR(GROUP_MOD_FAILED, TSOF_OFPGMFC_GROUP_EXISTS));
	CHECK_EQ(group_mod(TSOF_OFPGC_MODIFY, TSOF_OFPGT_ALL, 2, &b), ERR(GROUP_MOD_FAILED, TSOF_OFPGMFC_UNKNOWN_GROUP));
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, 4, 3, &b), ERR(GROUP_MOD_FAILED, TSOF_OFPGMFC_BAD_TYPE));
	CHECK_EQ(group_mod(7, TSOF_OFPGT_ALL, 3, &b), ERR(GROUP_MOD_FAILED, TSOF_OFPGMFC_BAD_COMMAND));
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_ALL, TSOF_OFPG_ALL, &b), ERR(GROUP_MOD_FAILED, TSOF_OFPGMFC_INVALID_GROUP));
	struct mb two = b;
	bucket(&two, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &a);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_INDIRECT, 3, &two), ERR(GROUP_MOD_FAILED, TSOF_OFPGMFC_INVALID_GROUP));
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_FF, 3, &b), ERR(GROUP_MOD_FAILED, TSOF_OFPGMFC_BAD_WATCH));
	struct mb w = { .n = 0 };
	bucket(&w, 3, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &a);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_ALL, 3, &w), ERR(GROUP_MOD_FAILED, TSOF_OFPGMFC_BAD_BUCKET));
	struct mb bad = b;
	bad.d[1] = 12;  /* bucket length below 16 */
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_ALL, 3, &bad), ERR(GROUP_MOD_FAILED, TSOF_OFPGMFC_BAD_BUCKET));
	/* A delete carries no buckets (OpenFlow 1.3.5); bytes that are not buckets are BAD_BUCKET first. */
	CHECK_EQ(group_mod(TSOF_OFPGC_DELETE, 0, 1, &b), ERR(GROUP_MOD_FAILED, TSOF_OFPGMFC_INVALID_GROUP));
	CHECK_EQ(group_mod(TSOF_OFPGC_DELETE, 0, 1, &bad), ERR(GROUP_MOD_FAILED, TSOF_OFPGMFC_BAD_BUCKET));
	/* An action error inside a bucket is an action error. */
	struct mb ba = { .n = 0 }, bb = { .n = 0 };
	a_arg32(&ba, TSOF_OFPAT_GROUP, 99);
	bucket(&bb, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &ba);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_ALL, 3, &bb), ERR(BAD_ACTION, TSOF_OFPBAC_BAD_OUT_GROUP));
	/* A loop: 3 -> 1, then 1 -> 3. */
	ba.n = bb.n = 0;
	a_arg32(&ba, TSOF_OFPAT_GROUP, 1);
	bucket(&bb, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &ba);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_ALL, 3, &bb), 0);
	ba.n = bb.n = 0;
	a_arg32(&ba, TSOF_OFPAT_GROUP, 3);
	bucket(&bb, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &ba);
	CHECK_EQ(group_mod(TSOF_OFPGC_MODIFY, TSOF_OFPGT_ALL, 1, &bb), ERR(GROUP_MOD_FAILED, TSOF_OFPGMFC_LOOP));
	/* 1 is chained from 3: it cannot go first. */
	CHECK_EQ(group_mod(TSOF_OFPGC_DELETE, 0, 1, NULL), ERR(GROUP_MOD_FAILED, TSOF_OFPGMFC_CHAINED_GROUP));
	/* Deleting a group takes its flows along (flow-removed GROUP_DELETE). */
	a_arg32(&acts, TSOF_OFPAT_GROUP, 3);
	struct mb in = { .n = 0 };
	i_actions(&in, TSOF_OFPIT_APPLY_ACTIONS, &acts);
	CHECK_EQ(flow_mod((struct fm){ .priority = 4, .flags = TSOF_OFPFF_SEND_FLOW_REM }, NULL, &in), 0);
	CHECK_EQ(add_output(0, 5, NULL, 2), 0);
	n_removed = 0;
	CHECK_EQ(group_mod(TSOF_OFPGC_DELETE, 0, 3, NULL), 0);
	settle();
	CHECK(n_removed == 1 && removed[0].reason == TSOF_OFPRR_GROUP_DELETE && removed[0].priority == 4);
	struct tsof_table_stats ts;
	tsof_pipeline_table_stats(pl, 0, &ts);
	CHECK_EQ(ts.active, 1);
	CHECK_EQ(group_mod(TSOF_OFPGC_DELETE, 0, 1, NULL), 0);
	CHECK_EQ(group_mod(TSOF_OFPGC_DELETE, 0, 1, NULL), 0);  /* already gone: no error */
	/* A flow naming a group that does not exist. */
	CHECK_EQ(add_apply(0, 6, NULL, &acts), ERR(BAD_ACTION, TSOF_OFPBAC_BAD_OUT_GROUP));
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_ALL, 5, &b), 0);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_ALL, 6, &b), 0);
	/* Modified and deleted in one batch: the trim of the old buckets runs
	 * before the group is freed (ASan would see it otherwise). */
	tsof_pipeline_begin(pl);
	CHECK_EQ(group_mod(TSOF_OFPGC_MODIFY, TSOF_OFPGT_ALL, 5, &two), 0);
	CHECK_EQ(group_mod(TSOF_OFPGC_DELETE, 0, 5, NULL), 0);
	tsof_pipeline_commit(pl);
	tsof_pipeline_quiesce(th);
	tsof_pipeline_reclaim(pl);
	tsof_pipeline_reclaim(pl);
	CHECK_EQ(group_mod(TSOF_OFPGC_DELETE, 0, TSOF_OFPG_ALL, NULL), 0);
	n_gstats = 0;
	CHECK_EQ(tsof_pipeline_group_stats(pl, TSOF_OFPG_ALL, now, group_cb, NULL), 0);
	teardown();
}

/* ---- meters ---- */

static uint8_t last_remark;  /* the DSCP of the last remarked frame */

/* Sends `pps` frames of `size` bytes a second for `secs` simulated seconds
 * and returns the bytes that came out on port 2. */
static uint64_t offer(const struct spec *s, unsigned pps, unsigned secs, int *remarked)
{
	uint8_t f[2048];
	size_t n = build(s, f);
	uint64_t bytes = 0;

	for (unsigned i = 0; i < pps * secs; i++) {
		now += NS / pps;
		send_frame(f, n, 1, 0);
		if (n_outs == 1) {
			bytes += outs[0].len;
			const uint8_t *ip = outs[0].data + 14;
			uint8_t tc = is_v6(s->kind) ? (uint8_t)(rd16(ip) >> 4) : ip[1];
			if (remarked && tc >> 2 != s->dscp) {
				(*remarked)++;
				last_remark = tc >> 2;
			}
		}
	}
	return bytes;
}

static void test_meter_drop(void)
{
	setup();
	struct mb bands = { .n = 0 }, in = { .n = 0 }, acts = { .n = 0 }, m = { .n = 0 };
	struct spec s = spec_of(K_TCP4);
	s.payload = 1500 - 54;  /* 1500-byte frames, as Ryu's meter tests */

	/* 1 Mbps drop band, 2 Mbps offered (175 frames/s of 1500 bytes) for
	 * 20 simulated seconds: about 1 Mbps leaves. */
	band(&bands, TSOF_OFPMBT_DROP, 1000, 0, 0);
	CHECK_EQ(meter_mod(TSOF_OFPMC_ADD, TSOF_OFPMF_KBPS | TSOF_OFPMF_STATS, 1, &bands), 0);
	i_meter(&in, 1);
	a_out(&acts, 2, 0);
	i_actions(&in, TSOF_OFPIT_APPLY_ACTIONS, &acts);
	oxmn(&m, TSOF_OXM_IN_PORT, 4, 1);
	CHECK_EQ(add(0, 1, &m, &in), 0);
	uint64_t bytes = offer(&s, 175, 20, NULL);
	double kbps = (double)bytes * 8 / 20 / 1000;
	n_checks++;
	if (kbps < 950 || kbps > 1050)
		fail(__FILE__, __LINE__, "1000 kbps drop band let %.0f kbps through", kbps);
	struct tsof_pl_thread_stats st;
	tsof_pipeline_thread_stats(th, &st);
	CHECK(st.meter_drops > 1500 && st.meter_drops < 2000);

	/* pktps: 100 packets/s with a burst of 50. */
	bands.n = 0;
	band(&bands, TSOF_OFPMBT_DROP, 100, 50, 0);
	CHECK_EQ(meter_mod(TSOF_OFPMC_MODIFY, TSOF_OFPMF_PKTPS | TSOF_OFPMF_BURST, 1, &bands), 0);
	s.payload = 10;
	uint8_t f[2048];
	size_t n = build(&s, f);
	/* A burst all at once: 50 pass (the bucket starts full), the rest not. */
	int passed = 0;
	for (int i = 0; i < 80; i++) {
		send_frame(f, n, 1, 0);
		passed += n_outs;
	}
	CHECK_EQ(passed, 50);
	/* Then 400/s for 10 s: 100/s pass. */
	uint64_t out = offer(&s, 400, 10, NULL);
	unsigned frames = (unsigned)(out / n);
	CHECK(frames >= 990 && frames <= 1060);
	teardown();
}

struct mstat {
	uint64_t packets, bytes, bp[4];
	uint32_t flows, n_bands;
};

static struct mstat mstat;

static void meter_cb(void *arg, const struct tsof_meter_stats_reply *ms)
{
	(void)arg;
	mstat.packets = ms->packets;
	mstat.bytes = ms->bytes;
	mstat.flows = ms->flow_count;
	mstat.n_bands = ms->n_bands;
	for (uint32_t i = 0; i < ms->n_bands && i < 4; i++)
		mstat.bp[i] = ms->band_packets[i];
}

static void test_meter_dscp_remark(void)
{
	setup();
	struct mb bands = { .n = 0 }, in = { .n = 0 }, acts = { .n = 0 };

	/* Ryu's case: AF21 (18) over 1 Mbps becomes AF22 (20); a 3 Mbps drop
	 * band above it applies only past 3 Mbps. */
	band(&bands, TSOF_OFPMBT_DSCP_REMARK, 1000, 0, 1);
	band(&bands, TSOF_OFPMBT_DROP, 3000, 0, 0);
	CHECK_EQ(meter_mod(TSOF_OFPMC_ADD, TSOF_OFPMF_KBPS | TSOF_OFPMF_STATS, 7, &bands), 0);
	i_meter(&in, 7);
	a_out(&acts, 2, 0);
	i_actions(&in, TSOF_OFPIT_APPLY_ACTIONS, &acts);
	CHECK_EQ(add(0, 1, NULL, &in), 0);
	for (int v6 = 0; v6 < 2; v6++) {
		struct spec s = spec_of(v6 ? K_TCP6 : K_TCP4);
		s.dscp = 18;
		s.payload = 1500 - (v6 ? 74 : 54);
		int remarked = 0;
		uint64_t bytes = offer(&s, 175, 10, &remarked);
		CHECK(bytes >= 175 * 10 * 1500ull * 99 / 100);  /* 2.1 Mbps: nothing dropped */
		n_checks++;
		if (remarked < 800 || remarked > 1000)          /* 1750 frames, about 52% over 1 Mbps */
			fail(__FILE__, __LINE__, "%s: %d of 1750 frames remarked", v6 ? "ipv6" : "ipv4", remarked);
		/* The remarked ones carry AF22 with checksums right. */
		CHECK_EQ(last_remark, 20);
		CHECK(csum_error == NULL);
	}
	memset(&mstat, 0, sizeof mstat);
	CHECK_EQ(tsof_pipeline_meter_stats(pl, 7, now, meter_cb, NULL), 1);
	CHECK(mstat.packets == 3500 && mstat.flows == 1 && mstat.n_bands == 2 && mstat.bp[0] > 1400 && mstat.bp[1] == 0);
	/* Over 3 Mbps: the drop band (the highest exceeded rate) applies. */
	struct spec s = spec_of(K_TCP4);
	s.payload = 1500 - 54;
	uint64_t bytes = offer(&s, 500, 10, NULL);  /* 6 Mbps */
	double kbps = (double)bytes * 8 / 10 / 1000;
	CHECK(kbps > 2850 && kbps < 3150);
	CHECK_EQ(tsof_dscp_remark(10, 1), 12);  /* AF11 -> AF12 */
	CHECK_EQ(tsof_dscp_remark(14, 2), 14);  /* AF13 stays: precedence 3 at most */
	CHECK_EQ(tsof_dscp_remark(46, 1), 46);  /* EF is no AF codepoint */
	teardown();
}

static void test_meter_mod_errors(void)
{
	setup();
	struct mb bands = { .n = 0 }, in = { .n = 0 }, acts = { .n = 0 };
	band(&bands, TSOF_OFPMBT_DROP, 1000, 0, 0);
#define MMF(code) ERR(METER_MOD_FAILED, TSOF_OFPMMFC_##code)
	CHECK_EQ(meter_mod(TSOF_OFPMC_ADD, TSOF_OFPMF_KBPS, 0, &bands), MMF(INVALID_METER));
	CHECK_EQ(meter_mod(TSOF_OFPMC_ADD, TSOF_OFPMF_KBPS, TSOF_OFPM_CONTROLLER, &bands), MMF(INVALID_METER));
	CHECK_EQ(meter_mod(TSOF_OFPMC_ADD, TSOF_OFPMF_KBPS | TSOF_OFPMF_PKTPS, 1, &bands), MMF(BAD_FLAGS));
	CHECK_EQ(meter_mod(TSOF_OFPMC_ADD, 0x40, 1, &bands), MMF(BAD_FLAGS));
	CHECK_EQ(meter_mod(TSOF_OFPMC_ADD, TSOF_OFPMF_KBPS | TSOF_OFPMF_BURST, 1, &bands), MMF(BAD_BURST));
	CHECK_EQ(meter_mod(TSOF_OFPMC_MODIFY, TSOF_OFPMF_KBPS, 1, &bands), MMF(UNKNOWN_METER));
	CHECK_EQ(meter_mod(9, TSOF_OFPMF_KBPS, 1, &bands), MMF(BAD_COMMAND));
	struct mb bad = { .n = 0 };
	band(&bad, TSOF_OFPMBT_DROP, 0, 0, 0);
	CHECK_EQ(meter_mod(TSOF_OFPMC_ADD, TSOF_OFPMF_KBPS, 1, &bad), MMF(BAD_RATE));
	bad.n = 0;
	band(&bad, 3, 10, 0, 0);
	CHECK_EQ(meter_mod(TSOF_OFPMC_ADD, TSOF_OFPMF_KBPS, 1, &bad), MMF(BAD_BAND));
	CHECK_EQ(meter_mod(TSOF_OFPMC_ADD, TSOF_OFPMF_KBPS, 1, &bands), 0);
	CHECK_EQ(meter_mod(TSOF_OFPMC_ADD, TSOF_OFPMF_KBPS, 1, &bands), MMF(METER_EXISTS));
	/* A flow naming a missing meter; then one naming meter 1, which goes
	 * with the meter. */
	i_meter(&in, 2);
	CHECK_EQ(add(0, 1, NULL, &in), MMF(UNKNOWN_METER));
	in.n = 0;
	i_meter(&in, 1);
	a_out(&acts, 2, 0);
	i_actions(&in, TSOF_OFPIT_APPLY_ACTIONS, &acts);
	CHECK_EQ(flow_mod((struct fm){ .priority = 1, .flags = TSOF_OFPFF_SEND_FLOW_REM }, NULL, &in), 0);
	n_removed = 0;
	CHECK_EQ(meter_mod(TSOF_OFPMC_DELETE, 0, 1, NULL), 0);
	settle();
	CHECK(n_removed == 1 && removed[0].reason == TSOF_OFPRR_DELETE);
	CHECK_EQ(meter_mod(TSOF_OFPMC_DELETE, 0, 1, NULL), 0);
	CHECK_EQ(meter_mod(TSOF_OFPMC_ADD, TSOF_OFPMF_PKTPS, 4, &bands), 0);
	CHECK_EQ(meter_mod(TSOF_OFPMC_DELETE, 0, TSOF_OFPM_ALL, NULL), 0);
	CHECK_EQ(tsof_pipeline_meter_stats(pl, TSOF_OFPM_ALL, now, meter_cb, NULL), 0);
#undef MMF
	teardown();
}

/* ---- flow-mod semantics and errors ---- */

struct fstat {
	uint64_t cookie, packets, bytes;
	uint16_t priority;
	uint8_t table;
};

static struct fstat fstats[32];
static int n_fstats;

static void flow_cb(void *arg, const struct tsof_flow_stats *fs)
{
	(void)arg;
	if (n_fstats < 32)
		fstats[n_fstats++] = (struct fstat){ fs->cookie, fs->packets, fs->bytes, fs->priority, fs->table_id };
}

static int count_flows(uint8_t table, uint64_t cookie, uint64_t mask, uint32_t out_port)
{
	struct tsof_flow_filter f = { table, out_port, TSOF_OFPG_ANY, cookie, mask, (const uint8_t[8]){ 0, 1, 0, 4 }, 8 };
	n_fstats = 0;
	CHECK_EQ(tsof_pipeline_flow_stats(pl, &f, now, flow_cb, NULL), 0);
	return n_fstats;
}

static void test_flow_mod_semantics(void)
{
	setup();
	struct mb m8 = { .n = 0 }, m24 = { .n = 0 }, m32 = { .n = 0 }, a2 = { .n = 0 }, in2 = { .n = 0 }, in3 = { .n = 0 };
	struct spec s = spec_of(K_TCP4);

	oxmn(&m8, TSOF_OXM_ETH_TYPE, 2, 0x800);
	oxm(&m8, TSOF_OXM_IPV4_DST, (const uint8_t[4]){ 0xc0, 0, 0, 0 }, 4, (const uint8_t[4]){ 0xff, 0, 0, 0 });
	oxmn(&m24, TSOF_OXM_ETH_TYPE, 2, 0x800);
	oxm(&m24, TSOF_OXM_IPV4_DST, (const uint8_t[4]){ 0xc0, 0xa8, 0x14, 0 }, 4, (const uint8_t[4]){ 0xff, 0xff, 0xff, 0 });
	oxmn(&m32, TSOF_OXM_ETH_TYPE, 2, 0x800);
	oxmn(&m32, TSOF_OXM_IPV4_DST, 4, 0xc0a81414);
	a_out(&a2, 2, 0);
	i_actions(&in2, TSOF_OFPIT_APPLY_ACTIONS, &a2);
	struct mb a3 = { .n = 0 };
	a_out(&a3, 3, 0);
	i_actions(&in3, TSOF_OFPIT_APPLY_ACTIONS, &a3);

	CHECK_EQ(flow_mod((struct fm){ .priority = 10, .cookie = 0x11 }, &m8, &in2), 0);
	CHECK_EQ(flow_mod((struct fm){ .priority = 20, .cookie = 0x12 }, &m24, &in2), 0);
	CHECK_EQ(flow_mod((struct fm){ .priority = 30, .cookie = 0x21 }, &m32, &in2), 0);
	send_spec(&s, 1);
	send_spec(&s, 1);
	CHECK_OUT1(2);
	/* Add of an identical flow replaces it, keeping the counters... */
	CHECK_EQ(flow_mod((struct fm){ .priority = 30, .cookie = 0x22 }, &m32, &in2), 0);
	CHECK_EQ(count_flows(0, 0, 0, TSOF_OFPP_ANY), 3);
	CHECK_EQ(count_flows(0, 0x22, ~0ull, TSOF_OFPP_ANY), 1);
	CHECK(fstats[0].packets == 2);
	/* ...unless RESET_COUNTS. */
	CHECK_EQ(flow_mod((struct fm){ .priority = 30, .cookie = 0x21, .flags = TSOF_OFPFF_RESET_COUNTS }, &m32, &in2), 0);
	CHECK_EQ(count_flows(0, 0x21, ~0ull, TSOF_OFPP_ANY), 1);
	CHECK(fstats[0].packets == 0);
	/* CHECK_OVERLAP: same priority and some packet matching both. */
	CHECK_EQ(flow_mod((struct fm){ .priority = 10, .flags = TSOF_OFPFF_CHECK_OVERLAP }, &m24, &in2),
		 ERR(FLOW_MOD_FAILED, TSOF_OFPFMFC_OVERLAP));
	CHECK_EQ(flow_mod((struct fm){ .priority = 11, .flags = TSOF_OFPFF_CHECK_OVERLAP }, &m24, &in2), 0);
	/* Modify (non-strict) the flows within 192.168.20.0/24 with cookie
	 * 0x2?: only the /32 one; it keeps its cookie and counters. */
	send_spec(&s, 1);
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_MODIFY, .cookie = 0x20, .cookie_mask = 0xf0 }, &m24, &in3), 0);
	send_spec(&s, 1);
	CHECK_OUT1(3);
	CHECK_EQ(count_flows(0, 0x21, ~0ull, TSOF_OFPP_ANY), 1);
	CHECK(fstats[0].packets == 2);
	CHECK_EQ(count_flows(0, 0, 0, 3), 1);  /* out_port filter: outputs to 3 */
	/* Modify with RESET_COUNTS; modify_strict needs the priority too. */
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_MODIFY_STRICT, .priority = 29, .flags = TSOF_OFPFF_RESET_COUNTS }, &m32, &in2), 0);
	send_spec(&s, 1);
	CHECK_OUT1(3);  /* nothing had priority 29 */
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_MODIFY_STRICT, .priority = 30, .flags = TSOF_OFPFF_RESET_COUNTS }, &m32, &in2), 0);
	CHECK_EQ(count_flows(0, 0x21, ~0ull, TSOF_OFPP_ANY), 1);
	CHECK(fstats[0].packets == 0);
	send_spec(&s, 1);
	CHECK_OUT1(2);
	/* Modify selecting nothing adds nothing (OpenFlow 1.3). */
	struct mb other = { .n = 0 };
	oxmn(&other, TSOF_OXM_IN_PORT, 4, 77);
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_MODIFY }, &other, &in3), 0);
	CHECK_EQ(count_flows(0, 0, 0, TSOF_OFPP_ANY), 4);
	/* Delete with out_port: only flows sending there. */
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE, .out_port = 3 }, &m8, NULL), 0);
	CHECK_EQ(count_flows(0, 0, 0, TSOF_OFPP_ANY), 4);
	/* Delete strict: exactly that match and priority. */
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE_STRICT, .priority = 20 }, &m24, NULL), 0);
	CHECK_EQ(count_flows(0, 0, 0, TSOF_OFPP_ANY), 3);
	/* Strict, the match and priority right but not the cookie, or not
	 * the out_port: nothing. Then right, in every table. */
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE_STRICT, .priority = 30, .cookie = 0x99, .cookie_mask = ~0ull }, &m32, NULL), 0);
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE_STRICT, .priority = 30, .out_port = 7 }, &m32, NULL), 0);
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_MODIFY_STRICT, .priority = 30, .cookie = 0x99, .cookie_mask = ~0ull }, &m32, &in3), 0);
	send_spec(&s, 1);
	CHECK_OUT1(2);
	CHECK_EQ(count_flows(0, 0, 0, TSOF_OFPP_ANY), 3);
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE_STRICT, .table = TSOF_OFPTT_ALL, .priority = 30, .cookie = 0x21, .cookie_mask = ~0ull, .out_port = 2 }, &m32, NULL), 0);
	CHECK_EQ(count_flows(0, 0, 0, TSOF_OFPP_ANY), 2);
	/* Delete non-strict by cookie, from all tables. */
	CHECK_EQ(flow_mod((struct fm){ .table = 4, .priority = 1, .cookie = 0x21 }, NULL, &in2), 0);
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE, .table = TSOF_OFPTT_ALL, .cookie = 0x21, .cookie_mask = ~0ull }, NULL, NULL), 0);
	CHECK_EQ(count_flows(TSOF_OFPTT_ALL, 0, 0, TSOF_OFPP_ANY), 2);
	teardown();
}

static void test_flow_mod_errors(void)
{
	setup();
	struct mb a = { .n = 0 }, in = { .n = 0 };
#define FMF(code) ERR(FLOW_MOD_FAILED, TSOF_OFPFMFC_##code)
#define BAC(code) ERR(BAD_ACTION, TSOF_OFPBAC_##code)
#define BIC(code) ERR(BAD_INSTRUCTION, TSOF_OFPBIC_##code)
	CHECK_EQ(flow_mod((struct fm){ .command = 5 }, NULL, NULL), FMF(BAD_COMMAND));
	CHECK_EQ(flow_mod((struct fm){ .flags = 0x20 }, NULL, NULL), FMF(BAD_FLAGS));
	CHECK_EQ(flow_mod((struct fm){ .table = TSOF_OFPTT_ALL }, NULL, NULL), FMF(BAD_TABLE_ID));
	CHECK_EQ(flow_mod((struct fm){ .table = TSOF_N_TABLES }, NULL, NULL), FMF(BAD_TABLE_ID));
	CHECK_EQ(flow_mod((struct fm){ .table = TSOF_N_TABLES - 1 }, NULL, NULL), 0);
	/* Actions */
	struct mb m = { .n = 0 };
	a.n = 0; a_out(&a, 0, 0); CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_OUT_PORT));
	a.n = 0; a_out(&a, TSOF_OFPP_ANY, 0); CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_OUT_PORT));
	a.n = 0; a_out(&a, TSOF_OFPP_TABLE, 0); CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_OUT_PORT));
	a.n = 0; a_out(&a, 0xffffff01, 0); CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_OUT_PORT));
	a.n = 0; a_arg16(&a, TSOF_OFPAT_PUSH_VLAN, 0x0800); CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_ARGUMENT));
	a.n = 0; a_arg16(&a, TSOF_OFPAT_PUSH_MPLS, 0x8100); CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_ARGUMENT));
	a.n = 0; a_arg16(&a, TSOF_OFPAT_PUSH_PBB, 0x8847); CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_ARGUMENT));
	a.n = 0; a_arg32(&a, TSOF_OFPAT_GROUP, 5); CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_OUT_GROUP));
	a.n = 0; a_simple(&a, 13); CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_TYPE));
	a.n = 0; a_simple(&a, TSOF_OFPAT_EXPERIMENTER); CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_EXPERIMENTER));
	a.n = 0; a_out(&a, 2, 0); a.d[3] = 12; CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_LEN));
	a.n = 0; a_out(&a, 2, 0); a.d[3] = 24; CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_LEN));
	a.n = 0; a_simple(&a, TSOF_OFPAT_POP_VLAN); a.d[3] = 16; put32(&a, 0); put32(&a, 0);
	CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_LEN));
	a.n = 0; a_setn(&a, TSOF_OXM_IN_PORT, 4, 1); CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_SET_TYPE));
	a.n = 0; a_setn(&a, TSOF_OXM_METADATA, 8, 1); CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_SET_TYPE));
	a.n = 0; a_setn(&a, TSOF_OXM_IPV6_EXTHDR, 2, 1); CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_SET_TYPE));
	a.n = 0; a_setn(&a, 40, 2, 1); CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_SET_TYPE));
	a.n = 0; a_setn(&a, TSOF_OXM_VLAN_PCP, 1, 8); CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_SET_ARGUMENT));
	a.n = 0; a_setn(&a, TSOF_OXM_VLAN_VID, 2, 0x2000); CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_SET_ARGUMENT));
	a.n = 0; a_setn(&a, TSOF_OXM_VLAN_VID, 2, 100); CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_SET_ARGUMENT));  /* no OFPVID_PRESENT */
	a.n = 0; a_setn(&a, TSOF_OXM_TCP_DST, 2, 1); a.d[6] |= 1; a.d[7] = 4;  /* masked */
	CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_SET_ARGUMENT));
	a.n = 0; a_setn(&a, TSOF_OXM_TCP_DST, 2, 1); a.d[7] = 3; CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_SET_LEN));
	/* Instructions */
	in.n = 0; put16(&in, 7); put16(&in, 8); put32(&in, 0); CHECK_EQ(add(0, 1, NULL, &in), BIC(UNKNOWN_INST));
	in.n = 0; put16(&in, 0xffff); put16(&in, 8); put32(&in, 0); CHECK_EQ(add(0, 1, NULL, &in), BIC(BAD_EXPERIMENTER));
	in.n = 0; i_clear(&in); in.d[3] = 12; CHECK_EQ(add(0, 1, NULL, &in), BIC(BAD_LEN));
	in.n = 0; i_meta(&in, 1, 1); in.d[3] = 16; in.n = 16; CHECK_EQ(add(0, 1, NULL, &in), BIC(BAD_LEN));
	in.n = 0; i_clear(&in); i_clear(&in); CHECK_EQ(add(0, 1, NULL, &in), BIC(UNSUP_INST));
	/* Matches */
	m.n = 0; oxmn(&m, TSOF_OXM_TCP_DST, 2, 80);
	CHECK_EQ(add(0, 1, &m, NULL), ERR(BAD_MATCH, TSOF_OFPBMC_BAD_PREREQ));
	{
		/* A match whose length runs past the message is the match's length problem; its type is judged first. */
		struct mb msg;
		struct tsof_flow_mod fm;
		flow_mod_msg(&msg, (struct fm){ .priority = 1 }, NULL, NULL);
		wr16(msg.d + 50, 52);
		CHECK_EQ(tsof_flow_mod_decode(msg.d, msg.n, &fm), ERR(BAD_MATCH, TSOF_OFPBMC_BAD_LEN));
		wr16(msg.d + 50, 0);
		CHECK_EQ(tsof_flow_mod_decode(msg.d, msg.n, &fm), ERR(BAD_MATCH, TSOF_OFPBMC_BAD_LEN));
		wr16(msg.d + 48, 0x36); wr16(msg.d + 50, 0x1704);
		CHECK_EQ(tsof_flow_mod_decode(msg.d, msg.n, &fm), ERR(BAD_MATCH, TSOF_OFPBMC_BAD_TYPE));
	}
	/* Table full */
	tsof_pipeline_set_max_flows(pl, 2);
	CHECK_EQ(add(1, 1, NULL, NULL), 0);
	CHECK_EQ(add(1, 2, NULL, NULL), 0);
	CHECK_EQ(add(1, 3, NULL, NULL), FMF(TABLE_FULL));
	CHECK_EQ(add(1, 2, NULL, NULL), 0);  /* a replacement takes no room */
	/* Nothing half-added after all these. */
	CHECK_EQ(count_flows(0, 0, 0, TSOF_OFPP_ANY), 0);
#undef FMF
#undef BAC
#undef BIC
	teardown();
}

/* Decoding comes before the lock and looking groups and meters up after it,
 * yet the answer is the first error in wire order, as a walk through the
 * message looking each name up as it comes would find it. */
static void test_mod_error_order(void)
{
	setup();
	struct mb a = { .n = 0 }, in = { .n = 0 }, b = { .n = 0 }, ba = { .n = 0 }, bands = { .n = 0 };
	struct tsof_actions *acts;
#define BAC(code) ERR(BAD_ACTION, TSOF_OFPBAC_##code)
#define GMF(code) ERR(GROUP_MOD_FAILED, TSOF_OFPGMFC_##code)
#define MMF(code) ERR(METER_MOD_FAILED, TSOF_OFPMMFC_##code)
	a_out(&ba, 2, 0);
	bucket(&b, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &ba);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_ALL, 1, &b), 0);
	band(&bands, TSOF_OFPMBT_DROP, 1000, 0, 0);
	CHECK_EQ(meter_mod(TSOF_OFPMC_ADD, TSOF_OFPMF_KBPS, 1, &bands), 0);

	/* A missing group before a bad action, and after it. */
	a_arg32(&a, TSOF_OFPAT_GROUP, 5);
	a_setn(&a, TSOF_OXM_IN_PORT, 4, 1);
	CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_OUT_GROUP));
	a.n = 0;
	a_setn(&a, TSOF_OXM_IN_PORT, 4, 1);
	a_arg32(&a, TSOF_OFPAT_GROUP, 5);
	CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_SET_TYPE));
	/* A group that exists before a bad action: the action's error. */
	a.n = 0;
	a_arg32(&a, TSOF_OFPAT_GROUP, 1);
	a_setn(&a, TSOF_OXM_IN_PORT, 4, 1);
	CHECK_EQ(add_apply(0, 1, NULL, &a), BAC(BAD_SET_TYPE));
	/* Write-actions keeps the last group action, but the one it overwrote
	 * still has to exist. */
	a.n = 0;
	a_arg32(&a, TSOF_OFPAT_GROUP, 5);
	a_arg32(&a, TSOF_OFPAT_GROUP, 1);
	i_actions(&in, TSOF_OFPIT_WRITE_ACTIONS, &a);
	CHECK_EQ(add(0, 1, NULL, &in), BAC(BAD_OUT_GROUP));
	/* Instructions: a missing meter before a bad instruction, and after. */
	in.n = 0;
	i_meter(&in, 7);
	put16(&in, 7); put16(&in, 8); put32(&in, 0);
	CHECK_EQ(add(0, 1, NULL, &in), MMF(UNKNOWN_METER));
	in.n = 0;
	put16(&in, 7); put16(&in, 8); put32(&in, 0);
	i_meter(&in, 7);
	CHECK_EQ(add(0, 1, NULL, &in), ERR(BAD_INSTRUCTION, TSOF_OFPBIC_UNKNOWN_INST));
	/* A group and a meter that exist, then a bad instruction. */
	in.n = 0;
	a.n = 0;
	a_arg32(&a, TSOF_OFPAT_GROUP, 1);
	i_meter(&in, 1);
	i_actions(&in, TSOF_OFPIT_APPLY_ACTIONS, &a);
	i_clear(&in);
	in.d[in.n - 5] = 12;
	CHECK_EQ(add(0, 1, NULL, &in), ERR(BAD_INSTRUCTION, TSOF_OFPBIC_BAD_LEN));

	/* Group-mods: whether the group exists comes before the buckets. */
	struct mb bad = b;
	bad.d[1] = 12;
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, 4, 1, &b), GMF(GROUP_EXISTS));
	CHECK_EQ(group_mod(TSOF_OFPGC_MODIFY, TSOF_OFPGT_ALL, 9, &bad), GMF(UNKNOWN_GROUP));
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_ALL, 9, &bad), GMF(BAD_BUCKET));
	/* A missing watched group, then a bucket action's missing group, then a
	 * bad bucket: each in its turn. */
	struct mb w = { .n = 0 }, wa = { .n = 0 };
	a_arg32(&wa, TSOF_OFPAT_GROUP, 6);
	bucket(&w, 0, TSOF_OFPP_ANY, 5, &ba);
	bucket(&w, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &wa);
	bucket(&w, 1, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &ba);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_FF, 9, &w), GMF(BAD_WATCH));
	w.n = 0;
	bucket(&w, 0, TSOF_OFPP_ANY, 1, &ba);
	bucket(&w, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &wa);
	bucket(&w, 1, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &ba);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_ALL, 9, &w), BAC(BAD_OUT_GROUP));
	/* A bucket watching a group, with an action naming a missing one (this
	 * once leaked the watched group's reference). */
	w.n = 0;
	bucket(&w, 0, TSOF_OFPP_ANY, 1, &wa);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_ALL, 9, &w), BAC(BAD_OUT_GROUP));
	w.n = 0;
	bucket(&w, 0, TSOF_OFPP_ANY, 1, &ba);
	bucket(&w, 1, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &wa);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_ALL, 9, &w), GMF(BAD_BUCKET));
	/* Meter-mods: whether the meter exists comes before the bands. */
	CHECK_EQ(meter_mod(TSOF_OFPMC_ADD, 0x40, 1, &bands), MMF(METER_EXISTS));
	CHECK_EQ(meter_mod(TSOF_OFPMC_MODIFY, 0x40, 2, &bands), MMF(UNKNOWN_METER));
	CHECK_EQ(meter_mod(TSOF_OFPMC_ADD, 0x40, 2, &bands), MMF(BAD_FLAGS));
	/* Packet-out actions. */
	a.n = 0;
	a_arg32(&a, TSOF_OFPAT_GROUP, 5);
	a_out(&a, 0, 0);
	CHECK_EQ(tsof_pipeline_parse_actions(pl, a.d, a.n, &acts), BAC(BAD_OUT_GROUP));
	a.n = 0;
	a_out(&a, 0, 0);
	a_arg32(&a, TSOF_OFPAT_GROUP, 5);
	CHECK_EQ(tsof_pipeline_parse_actions(pl, a.d, a.n, &acts), BAC(BAD_OUT_PORT));

	/* A modify that selects three flows gives each its own instructions,
	 * each naming group 1 and meter 1. */
	for (uint16_t prio = 1; prio <= 3; prio++)
		CHECK_EQ(add_output(0, prio, NULL, 2), 0);
	in.n = 0;
	a.n = 0;
	a_arg32(&a, TSOF_OFPAT_GROUP, 1);
	i_meter(&in, 1);
	i_actions(&in, TSOF_OFPIT_APPLY_ACTIONS, &a);
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_MODIFY }, NULL, &in), 0);
	n_gstats = 0;
	CHECK_EQ(tsof_pipeline_group_stats(pl, 1, now, group_cb, NULL), 1);
	CHECK(n_gstats == 1 && gstats[0].refs == 3);
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE, .table = TSOF_OFPTT_ALL }, NULL, NULL), 0);
	n_gstats = 0;
	CHECK_EQ(tsof_pipeline_group_stats(pl, 1, now, group_cb, NULL), 1);
	CHECK(n_gstats == 1 && gstats[0].refs == 0);
	CHECK_EQ(count_flows(TSOF_OFPTT_ALL, 0, 0, TSOF_OFPP_ANY), 0);
#undef BAC
#undef GMF
#undef MMF
	teardown();
}

static void test_counters_and_timeouts(void)
{
	setup();
	struct mb m = { .n = 0 }, a = { .n = 0 }, in = { .n = 0 };
	struct spec s = spec_of(K_UDP4);
	uint8_t f[2048];
	size_t n = build(&s, f);

	a_out(&a, 2, 0);
	i_actions(&in, TSOF_OFPIT_APPLY_ACTIONS, &a);
	oxmn(&m, TSOF_OXM_IN_PORT, 4, 1);
	CHECK_EQ(flow_mod((struct fm){ .priority = 5, .idle = 10, .flags = TSOF_OFPFF_SEND_FLOW_REM }, &m, &in), 0);
	m.n = 0;
	oxmn(&m, TSOF_OXM_IN_PORT, 4, 2);
	CHECK_EQ(flow_mod((struct fm){ .priority = 5, .hard = 20, .flags = TSOF_OFPFF_SEND_FLOW_REM | TSOF_OFPFF_NO_BYT_COUNTS }, &m, &in), 0);
	uint64_t t0 = now;
	for (int i = 0; i < 5; i++) {
		now += NS;
		send_frame(f, n, 1, 0);
		send_frame(f, n, 2, 0);
	}
	CHECK_EQ(count_flows(0, 0, 0, TSOF_OFPP_ANY), 2);
	CHECK(fstats[0].packets == 5 && fstats[0].bytes == 5 * n);
	CHECK(fstats[1].packets == 5 && fstats[1].bytes == 0);  /* NO_BYT_COUNTS */
	/* Idle 10 s after the last packet (t0 + 5 s), hard 20 s after the add. */
	n_removed = 0;
	CHECK_EQ(tsof_pipeline_expire(pl, t0 + 14 * NS), 0);
	CHECK_EQ(tsof_pipeline_expire(pl, t0 + 15 * NS), 1);
	settle();
	CHECK(n_removed == 1 && removed[0].reason == TSOF_OFPRR_IDLE_TIMEOUT && removed[0].packets == 5 &&
	      removed[0].idle_timeout == 10 && removed[0].duration_ns == 15 * NS);
	now = t0 + 19 * NS;
	send_frame(f, n, 2, 0);  /* traffic does not hold off a hard timeout */
	CHECK_EQ(tsof_pipeline_expire(pl, t0 + 20 * NS), 1);
	settle();
	CHECK(n_removed == 2 && removed[1].reason == TSOF_OFPRR_HARD_TIMEOUT && removed[1].packets == 6);
	CHECK_EQ(count_flows(0, 0, 0, TSOF_OFPP_ANY), 0);
	/* Deleting reports DELETE, and only with SEND_FLOW_REM. */
	CHECK_EQ(flow_mod((struct fm){ .priority = 1, .flags = TSOF_OFPFF_SEND_FLOW_REM }, NULL, &in), 0);
	CHECK_EQ(flow_mod((struct fm){ .priority = 2 }, NULL, &in), 0);
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE }, NULL, NULL), 0);
	settle();
	CHECK(n_removed == 3 && removed[2].reason == TSOF_OFPRR_DELETE && removed[2].priority == 1);
	teardown();
}

/* ---- timeouts at scale: the wheel ---- */

static unsigned active_flows(void)
{
	struct tsof_table_stats ts;

	tsof_pipeline_table_stats(pl, 0, &ts);
	return ts.active;
}

/* A flow on in_port port (no frame comes from 100 up) with cookie, timeouts
 * and SEND_FLOW_REM, at now. */
static int add_timed(uint32_t port, uint64_t cookie, uint16_t idle, uint16_t hard)
{
	struct mb m = { .n = 0 }, a = { .n = 0 }, in = { .n = 0 };

	a_out(&a, 2, 0);
	i_actions(&in, TSOF_OFPIT_APPLY_ACTIONS, &a);
	oxmn(&m, TSOF_OXM_IN_PORT, 4, port);
	return flow_mod((struct fm){ .priority = 5, .cookie = cookie, .idle = idle, .hard = hard,
				     .flags = TSOF_OFPFF_SEND_FLOW_REM }, &m, &in);
}

/* The removal of the flow with cookie at the call at time c, checked against
 * its deadline d: at or after it, and less than the 1 s between calls
 * after. */
static void check_removed_once(uint64_t cookie, uint64_t d, uint64_t c, int reason, bool *seen)
{
	for (int i = 0; i < n_removed; i++)
		if (removed[i].cookie == cookie) {
			CHECK(!*seen);
			*seen = true;
			CHECK(c >= d && c < d + NS);
			CHECK_EQ(removed[i].reason, reason);
		}
}

/* Timeouts of several lengths, some longer than a lap of the wheel, flows
 * added at odd moments, expire() once a second: each flow goes at the first
 * call at or after its deadline, never before; traffic holds off an idle
 * timeout and not a hard one. */
static void test_timeouts_on_time(void)
{
	setup();
	static const struct { uint16_t idle, hard; } to[] = {
		{ 1, 0 }, { 2, 0 }, { 5, 0 }, { 0, 1 }, { 0, 3 }, { 0, 17 }, { 10, 4 }, { 4, 10 },
		{ 7, 7 }, { 60, 0 }, { 0, 1100 }, { 1500, 0 }, { 2100, 2050 },
	};
	enum { N = sizeof to / sizeof to[0], END = 2200 };
	uint64_t t0 = now, added[N];
	bool seen[N + 2] = { false };
	struct spec sp = spec_of(K_UDP4);
	uint8_t f[2048];
	size_t fn = build(&sp, f);
	struct mb m = { .n = 0 }, a = { .n = 0 }, in = { .n = 0 };

	for (int i = 0; i < N; i++) {
		now = added[i] = t0 + (uint64_t)i * 370000000ull;  /* 0.37 s apart */
		CHECK_EQ(add_timed(100 + (uint32_t)i, (uint64_t)i, to[i].idle, to[i].hard), 0);
	}
	/* Used now and then: idle 3 s, used at 2.5 and 4.5 s: gone at 7.5 s.
	 * And idle 2 s, hard 6 s, used every second: gone at 6 s, hard. */
	now = t0;
	a_out(&a, 2, 0);
	i_actions(&in, TSOF_OFPIT_APPLY_ACTIONS, &a);
	oxmn(&m, TSOF_OXM_IN_PORT, 4, 1);
	CHECK_EQ(flow_mod((struct fm){ .priority = 5, .cookie = N, .idle = 3, .flags = TSOF_OFPFF_SEND_FLOW_REM }, &m, &in), 0);
	m.n = 0;
	oxmn(&m, TSOF_OXM_IN_PORT, 4, 3);
	CHECK_EQ(flow_mod((struct fm){ .priority = 5, .cookie = N + 1, .idle = 2, .hard = 6,
				       .flags = TSOF_OFPFF_SEND_FLOW_REM }, &m, &in), 0);
	for (uint64_t k = 1; k <= END; k++) {
		uint64_t c = t0 + k * NS;
		now = c - NS / 2;
		if (k == 3 || k == 5)
			send_frame(f, fn, 1, 0);
		send_frame(f, fn, 3, 0);
		now = c;
		n_removed = 0;
		unsigned n = tsof_pipeline_expire(pl, c);
		settle();
		CHECK_EQ(n, n_removed);
		for (int i = 0; i < N; i++) {
			bool hard = to[i].hard && (!to[i].idle || to[i].hard <= to[i].idle);
			uint64_t d = added[i] + (hard ? to[i].hard : to[i].idle) * NS;
			check_removed_once((uint64_t)i, d, c, hard ? TSOF_OFPRR_HARD_TIMEOUT : TSOF_OFPRR_IDLE_TIMEOUT,
					   &seen[i]);
		}
		check_removed_once(N, t0 + 4 * NS + NS / 2 + 3 * NS, c, TSOF_OFPRR_IDLE_TIMEOUT, &seen[N]);
		check_removed_once(N + 1, t0 + 6 * NS, c, TSOF_OFPRR_HARD_TIMEOUT, &seen[N + 1]);
	}
	for (int i = 0; i < N + 2; i++)
		CHECK(seen[i]);
	CHECK_EQ(active_flows(), 0);
	teardown();
}

/* A deleted flow leaves the wheel (ASan would see a freed timer walked); a
 * modify keeps the timeouts (6.4), RESET_COUNTS or not; an add that replaces
 * a flow brings its own; expire() with nothing due, or nothing at all, is
 * nothing. */
/* A bundle of flow-mod messages, committed. */
static int bundle(const struct mb *msgs, size_t n, size_t *failed)
{
	struct mb all = { .n = 0 };

	for (size_t i = 0; i < n; i++)
		put(&all, msgs[i].d, msgs[i].n);
	return tsof_pipeline_bundle_commit(pl, all.d, all.n, now, failed);
}

static void test_bundle_commit(void)
{
	setup();
	struct mb m8 = { .n = 0 }, m32 = { .n = 0 }, mport = { .n = 0 }, in2 = { .n = 0 }, in3 = { .n = 0 };
	struct mb a2 = { .n = 0 }, a3 = { .n = 0 }, msgs[5];
	struct spec s = spec_of(K_TCP4);
	size_t failed = 99;
	uint64_t t0 = now;

	oxmn(&m8, TSOF_OXM_ETH_TYPE, 2, 0x800);
	oxm(&m8, TSOF_OXM_IPV4_DST, (const uint8_t[4]){ 0xc0, 0, 0, 0 }, 4, (const uint8_t[4]){ 0xff, 0, 0, 0 });
	oxmn(&m32, TSOF_OXM_ETH_TYPE, 2, 0x800);
	oxmn(&m32, TSOF_OXM_IPV4_DST, 4, 0xc0a81414);
	oxmn(&mport, TSOF_OXM_IN_PORT, 4, 5);
	a_out(&a2, 2, 0);
	i_actions(&in2, TSOF_OFPIT_APPLY_ACTIONS, &a2);
	a_out(&a3, 3, 0);
	i_actions(&in3, TSOF_OFPIT_APPLY_ACTIONS, &a3);
	CHECK_EQ(flow_mod((struct fm){ .priority = 30, .cookie = 0x21, .hard = 100 }, &m32, &in2), 0);
	CHECK_EQ(flow_mod((struct fm){ .priority = 10, .cookie = 0x11, .flags = TSOF_OFPFF_SEND_FLOW_REM }, &m8, &in2), 0);
	send_spec(&s, 1);
	send_spec(&s, 1);

	/* Each kind of change, then one that fails: none of them stays. */
	flow_mod_msg(&msgs[0], (struct fm){ .priority = 40, .cookie = 0x40 }, &mport, &in3);
	flow_mod_msg(&msgs[1], (struct fm){ .priority = 30, .cookie = 0x31 }, &m32, &in3);  /* replaces 0x21 */
	flow_mod_msg(&msgs[2], (struct fm){ .command = TSOF_OFPFC_DELETE, .cookie = 0x11, .cookie_mask = ~0ull }, NULL, NULL);
	flow_mod_msg(&msgs[3], (struct fm){ .command = TSOF_OFPFC_MODIFY, .flags = TSOF_OFPFF_RESET_COUNTS }, &m8, &in3);
	flow_mod_msg(&msgs[4], (struct fm){ .priority = 40, .flags = TSOF_OFPFF_CHECK_OVERLAP }, &mport, &in2);
	CHECK_EQ(bundle(msgs, 5, &failed), ERR(FLOW_MOD_FAILED, TSOF_OFPFMFC_OVERLAP));
	CHECK_EQ(failed, 4);
	settle();
	CHECK_EQ(n_removed, 0);  /* the delete's report went with it */
	CHECK_EQ(count_flows(0, 0, 0, TSOF_OFPP_ANY), 2);
	CHECK_EQ(count_flows(0, 0x21, ~0ull, 2), 1);
	CHECK(fstats[0].packets == 2);  /* the reset was undone */
	CHECK_EQ(count_flows(0, 0x11, ~0ull, 2), 1);
	send_spec(&s, 1);
	CHECK_OUT1(2);
	for (int i = 0; i < 3; i++) {  /* the undone flows are freed (ASan) */
		tsof_pipeline_quiesce(th);
		tsof_pipeline_reclaim(pl);
	}

	/* A message cut short, or one naming a buffer, fails the bundle the same way. */
	struct mb cut = msgs[4];
	msgs[4].n -= 4;
	CHECK_EQ(bundle(msgs, 5, &failed), ERR(BAD_REQUEST, TSOF_OFPBRC_BAD_LEN));
	CHECK_EQ(failed, 4);
	msgs[4] = cut;
	wr32(msgs[4].d + 32, 7);  /* buffer_id */
	CHECK_EQ(bundle(msgs, 5, &failed), ERR(BAD_REQUEST, TSOF_OFPBRC_BUFFER_UNKNOWN));
	CHECK_EQ(failed, 4);
	settle();
	CHECK_EQ(n_removed, 0);
	CHECK_EQ(count_flows(0, 0, 0, TSOF_OFPP_ANY), 2);

	/* The same without the failing one: all in force, the delete reported once. */
	CHECK_EQ(bundle(msgs, 4, &failed), 0);
	settle();
	CHECK_EQ(n_removed, 1);
	CHECK(removed[0].cookie == 0x11 && removed[0].reason == TSOF_OFPRR_DELETE);
	CHECK_EQ(count_flows(0, 0, 0, TSOF_OFPP_ANY), 2);
	CHECK_EQ(count_flows(0, 0x31, ~0ull, 3), 1);
	CHECK(fstats[0].packets == 0);  /* replaced keeping 3 packets, then modified with a reset */
	CHECK_EQ(count_flows(0, 0x40, ~0ull, 3), 1);
	send_spec(&s, 1);
	CHECK_OUT1(3);
	/* The replacing flow has no timeout; the put-back one kept its own. */
	now = t0 + 101 * NS;
	CHECK_EQ(tsof_pipeline_expire(pl, now), 0);

	/* A put-back flow's timer is armed again: undo a delete of 0x21's successor... */
	CHECK_EQ(flow_mod((struct fm){ .priority = 20, .cookie = 0x50, .hard = 10 }, &m8, &in2), 0);
	flow_mod_msg(&msgs[0], (struct fm){ .command = TSOF_OFPFC_DELETE, .cookie = 0x50, .cookie_mask = ~0ull }, NULL, NULL);
	flow_mod_msg(&msgs[1], (struct fm){ .priority = 40, .flags = TSOF_OFPFF_CHECK_OVERLAP }, &mport, &in2);
	CHECK_EQ(bundle(msgs, 2, &failed), ERR(FLOW_MOD_FAILED, TSOF_OFPFMFC_OVERLAP));
	CHECK_EQ(failed, 1);
	CHECK_EQ(count_flows(0, 0x50, ~0ull, TSOF_OFPP_ANY), 1);
	now += 11 * NS;
	CHECK_EQ(tsof_pipeline_expire(pl, now), 1);  /* ...and it expires on time */
	CHECK_EQ(count_flows(0, 0x50, ~0ull, TSOF_OFPP_ANY), 0);
	teardown();
}

static void test_timeouts_delete_modify(void)
{
	setup();
	uint64_t t0 = now;
	struct mb m = { .n = 0 }, a = { .n = 0 }, in = { .n = 0 };

	CHECK_EQ(tsof_pipeline_expire(pl, t0), 0);
	CHECK_EQ(add_timed(101, 1, 0, 5), 0);
	CHECK_EQ(add_timed(102, 2, 5, 0), 0);
	CHECK_EQ(add_timed(103, 3, 0, 10), 0);
	CHECK_EQ(add_timed(104, 4, 0, 10), 0);
	CHECK_EQ(add_timed(105, 5, 0, 0), 0);  /* no timeout: never on the wheel */
	now = t0 + 2 * NS;
	CHECK_EQ(tsof_pipeline_expire(pl, now), 0);
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE, .cookie = 1, .cookie_mask = ~0ull }, NULL, NULL), 0);
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE, .cookie = 2, .cookie_mask = ~0ull }, NULL, NULL), 0);
	settle();
	CHECK(n_removed == 2 && removed[0].reason == TSOF_OFPRR_DELETE && removed[1].reason == TSOF_OFPRR_DELETE);
	for (int i = 0; i < 3; i++) {  /* freed by now */
		tsof_pipeline_quiesce(th);
		tsof_pipeline_reclaim(pl);
	}
	now = t0 + 5 * NS;
	a_out(&a, 3, 0);
	i_actions(&in, TSOF_OFPIT_APPLY_ACTIONS, &a);
	oxmn(&m, TSOF_OXM_IN_PORT, 4, 103);
	CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_MODIFY_STRICT, .priority = 5, .hard = 2,
				       .flags = TSOF_OFPFF_RESET_COUNTS }, &m, &in), 0);
	m.n = 0;
	oxmn(&m, TSOF_OXM_IN_PORT, 4, 104);
	CHECK_EQ(flow_mod((struct fm){ .priority = 5, .cookie = 44, .hard = 3, .flags = TSOF_OFPFF_SEND_FLOW_REM }, &m, &in), 0);
	n_removed = 0;
	for (uint64_t k = 6; k <= 12; k++) {
		unsigned n = tsof_pipeline_expire(pl, t0 + k * NS);
		CHECK_EQ(n, k == 8 || k == 10 ? 1 : 0);
	}
	settle();
	CHECK(n_removed == 2 && removed[0].cookie == 44 && removed[0].hard_timeout == 3 &&
	      removed[0].duration_ns == 3 * NS && removed[1].cookie == 3 && removed[1].hard_timeout == 10);
	CHECK_EQ(active_flows(), 1);
	CHECK_EQ(tsof_pipeline_expire(pl, t0 + 100000 * NS), 0);
	teardown();
}

/* 200,000 flows, half idle 30 s, half hard 60 s, 2,000 more with no
 * timeout: each half goes whole in the one call at its second, none before;
 * the rest stay. */
static void test_timeouts_many(void)
{
	setup();
	enum { N = 200000 };
	uint64_t t0 = now;

	CHECK_EQ(tsof_pipeline_expire(pl, t0), 0);  /* as the agent does from the start */
	tsof_pipeline_begin(pl);
	for (uint32_t i = 0; i < N + 2000; i++)
		CHECK_EQ(add_timed(1000 + i, i, i < N / 2 ? 30 : 0, i >= N / 2 && i < N ? 60 : 0), 0);
	tsof_pipeline_commit(pl);
	CHECK_EQ(active_flows(), N + 2000);
	for (uint64_t k = 1; k < 30; k++)
		CHECK_EQ(tsof_pipeline_expire(pl, t0 + k * NS), 0);
	CHECK_EQ(tsof_pipeline_expire(pl, t0 + 30 * NS), N / 2);
	CHECK_EQ(active_flows(), N / 2 + 2000);
	for (uint64_t k = 31; k < 60; k++)
		CHECK_EQ(tsof_pipeline_expire(pl, t0 + k * NS), 0);
	CHECK_EQ(tsof_pipeline_expire(pl, t0 + 60 * NS), N / 2);
	CHECK_EQ(active_flows(), 2000);
	teardown();
}

/* The wheel alone: 200,000 timers spread over 3,000 s (three laps), looked
 * for once a second. Each comes out at the first call at or after its
 * deadline, and a call looks at the timers due, those in now's slot and
 * those a lap or more ahead in the slots it passes: a few hundred, not
 * 200,000. A small budget only splits a call's work. */
static void test_wheel_looks_at_what_is_due(void)
{
	enum { N = 200000, SECS = 3000 };
	struct tsof_wheel w;
	struct tsof_timer *ts = calloc(N, sizeof *ts);
	uint64_t t0 = 12345 * NS + 678, max_looked = 0, total = 0, out = 0;

	CHECK_EQ(tsof_wheel_init(&w), 0);
	unsigned b = 1;
	CHECK(!tsof_wheel_next(&w, t0, &b));  /* the walk starts here */
	for (unsigned i = 0; i < N; i++)
		tsof_wheel_arm(&w, &ts[i], t0 + 1 + rnd() % (SECS * NS));
	tsof_wheel_arm(&w, &ts[0], t0 + 5 * NS);  /* re-armed: moves */
	for (uint64_t k = 1; k <= SECS; k++) {
		uint64_t c = t0 + k * NS, looked = 0;
		for (;;) {
			unsigned budget = 1000;
			struct tsof_timer *t;
			while ((t = tsof_wheel_next(&w, c, &budget))) {
				CHECK(t->when <= c && t->when > c - NS && !tsof_timer_armed(t));
				out++;
			}
			looked += 1000 - budget;
			if (budget)
				break;
		}
		total += looked;
		if (looked > max_looked)
			max_looked = looked;
	}
	CHECK_EQ(out, N);
	CHECK_EQ(w.n, 0);
	CHECK(max_looked < 2000);
	if (!quiet)
		printf("     at most %llu timers looked at in a call, %.2f per timer\n", (unsigned long long)max_looked,
		       (double)total / N);
	tsof_wheel_destroy(&w);
	free(ts);
}

static void test_packet_out(void)
{
	setup();
	struct tsof_actions *acts;
	struct mb a = { .n = 0 };
	struct spec s = spec_of(K_TCP4);
	uint8_t f[2048];
	size_t n = build(&s, f);

	CHECK_EQ(add_output(0, 1, NULL, 5), 0);
	a_setn(&a, TSOF_OXM_IPV4_DST, 4, 0x02020202);
	a_out(&a, 3, 0);
	a_out(&a, TSOF_OFPP_TABLE, 0);           /* through the tables, as it is now */
	a_out(&a, TSOF_OFPP_CONTROLLER, 64);
	CHECK_EQ(tsof_pipeline_parse_actions(pl, a.d, a.n, &acts), 0);
	static uint8_t buf[TSOF_PL_HEADROOM + 2048];
	struct tsof_pl_frame p = { .data = buf + TSOF_PL_HEADROOM, .len = (uint32_t)n, .headroom = TSOF_PL_HEADROOM,
			      .tailroom = 512, .in_port = TSOF_OFPP_CONTROLLER, .in_phy_port = TSOF_OFPP_CONTROLLER };
	memcpy(p.data, f, n);
	n_outs = n_pins = 0;
	tsof_pipeline_packet_out(th, &p, acts, now);
	tsof_actions_free(acts);
	CHECK_EQ(n_outs, 2);
	CHECK(n_outs == 2 && outs[0].port == 3 && outs[1].port == 5);
	struct spec w = s;
	w.v4dst = 0x02020202;
	uint8_t fw[2048];
	size_t nw = build(&w, fw);
	if (n_outs == 2)
		CHECK_FRAME(&outs[1], fw, nw);
	CHECK(n_pins == 1 && pins[0].p.reason == TSOF_OFPR_ACTION && pins[0].p.cookie == UINT64_MAX);
	teardown();
}

/* ---- OFPP_NORMAL: the learning switch ---- */

static const uint8_t HA[6] = { 0x02, 0, 0, 0, 0, 0x0a }, HB[6] = { 0x02, 0, 0, 0, 0, 0x0b },
	HC[6] = { 0x02, 0, 0, 0, 0, 0x0c }, BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	MCAST[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 }, LLDP[6] = { 0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e };

/* Ports as bits: 1..8 as themselves, LOCAL as bit 0. */
static uint32_t pbit(uint32_t port)
{
	return port == TSOF_OFPP_LOCAL ? 1u : 1u << port;
}

#define EVERY_PORT 0x1ffu   /* 1..8 and LOCAL, as setup() makes them */

static size_t l2_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, int vid)
{
	struct spec s = spec_of(K_UDP4);

	memcpy(s.dst, dst, 6);
	memcpy(s.src, src, 6);
	s.vlans = vid >= 0;
	s.vid[0] = (uint16_t)(vid >= 0 ? vid : 0);
	s.pcp[0] = 0;
	return build(&s, f);
}

/* The ports the frames that came out left by, each once and unchanged. */
static uint32_t out_ports(const uint8_t *f, size_t n)
{
	uint32_t seen = 0;

	for (int i = 0; i < n_outs; i++) {
		CHECK(!(seen & pbit(outs[i].port)));
		seen |= pbit(outs[i].port);
		CHECK_FRAME(&outs[i], f, n);
	}
	return seen;
}

/* A UDP frame src -> dst in VLAN vid (-1: untagged) in on in_port; the
 * ports it left by. */
static uint32_t l2_send(const uint8_t *dst, const uint8_t *src, int vid, uint32_t in_port)
{
	uint8_t f[2048];
	size_t n = l2_frame(f, dst, src, vid);

	send_frame(f, n, in_port, 0);
	return out_ports(f, n);
}

static uint64_t dropped(void)
{
	struct tsof_pl_thread_stats st;

	tsof_pipeline_thread_stats(th, &st);
	return st.dropped;
}

static void test_normal_learning(void)
{
	setup();
	CHECK_EQ(add_output(0, 1, NULL, TSOF_OFPP_NORMAL), 0);
	/* Unknown: every port but the ingress one, LOCAL too, as in OVS. */
	CHECK_EQ(l2_send(HB, HA, -1, 1), EVERY_PORT & ~pbit(1));
	/* A was learned on 1. */
	CHECK_EQ(l2_send(HA, HB, -1, 2), pbit(1));
	CHECK_EQ(l2_send(HB, HA, -1, 1), pbit(2));
	/* A moves to 3: re-learned there. */
	CHECK_EQ(l2_send(HB, HA, -1, 3), pbit(2));
	CHECK_EQ(l2_send(HA, HB, -1, 2), pbit(3));
	/* Known on the ingress port: dropped. */
	uint64_t d = dropped();
	CHECK_EQ(l2_send(HA, HC, -1, 3), 0);
	CHECK_EQ(dropped(), d + 1);
	/* Broadcast and multicast flood, even to a port an address was learned on. */
	CHECK_EQ(l2_send(BCAST, HA, -1, 3), EVERY_PORT & ~pbit(3));
	CHECK_EQ(l2_send(MCAST, HB, -1, 2), EVERY_PORT & ~pbit(2));
	/* A frame from a multicast source (not learned) still goes on. */
	CHECK_EQ(l2_send(HC, MCAST, -1, 4), pbit(3));
	/* 802.1D's link-local group addresses (LLDP here) go nowhere. */
	CHECK_EQ(l2_send(LLDP, HA, -1, 3), 0);
	/* FLOOD's port rules: not NO_FWD 5, blocked 6 or down 7. */
	tsof_pipeline_port_set(pl, 5, TSOF_OFPPC_NO_FWD, TSOF_OFPPS_LIVE);
	tsof_pipeline_port_set(pl, 6, 0, TSOF_OFPPS_BLOCKED);
	tsof_pipeline_port_set(pl, 7, TSOF_OFPPC_PORT_DOWN, 0);
	CHECK_EQ(l2_send(BCAST, HA, -1, 3), EVERY_PORT & ~(pbit(3) | pbit(5) | pbit(6) | pbit(7)));
	/* Nor to a learned address behind them, and nothing from a blocked port. */
	CHECK_EQ(l2_send(HA, HB, -1, 6), 0);
	CHECK_EQ(l2_send(HB, HA, -1, 3), pbit(2));   /* B was not learned on 6 */
	CHECK_EQ(l2_send(BCAST, HC, -1, 5), EVERY_PORT & ~(pbit(5) | pbit(6) | pbit(7)));
	CHECK_EQ(l2_send(HC, HA, -1, 3), 0);        /* C is on NO_FWD 5 */
	/* An address known from LOCAL goes there. */
	CHECK_EQ(l2_send(BCAST, HC, -1, TSOF_OFPP_LOCAL), EVERY_PORT & ~(pbit(TSOF_OFPP_LOCAL) | pbit(5) | pbit(6) | pbit(7)));
	CHECK_EQ(l2_send(HC, HA, -1, 3), pbit(TSOF_OFPP_LOCAL));
	/* The frame's own headers as actions left them: a tag pushed first
	 * is on the frame NORMAL sends, and is the VLAN it learns in. */
	struct mb a = { .n = 0 }, m = { .n = 0 };
	a_arg16(&a, TSOF_OFPAT_PUSH_VLAN, 0x8100);
	a_setn(&a, TSOF_OXM_VLAN_VID, 2, 0x1000 | 9);
	a_out(&a, TSOF_OFPP_NORMAL, 0);
	oxmn(&m, TSOF_OXM_IN_PORT, 4, 8);
	CHECK_EQ(add_apply(0, 2, &m, &a), 0);
	uint8_t f[2048], t[2048];
	size_t n = l2_frame(f, HB, HA, -1), nt = l2_frame(t, HB, HA, 9);
	send_frame(f, n, 8, 0);
	CHECK_EQ(out_ports(t, nt), EVERY_PORT & ~(pbit(8) | pbit(5) | pbit(6) | pbit(7)));
	CHECK_EQ(l2_send(HA, HB, 9, 2), pbit(8));
	CHECK(csum_error == NULL);
	teardown();
}

static void test_normal_vlans(void)
{
	setup();
	CHECK_EQ(add_output(0, 1, NULL, TSOF_OFPP_NORMAL), 0);
	CHECK_EQ(l2_send(BCAST, HA, 10, 1), EVERY_PORT & ~pbit(1));
	/* Known in VLAN 10 only; tagged frames leave with their tag. */
	CHECK_EQ(l2_send(HA, HB, 10, 2), pbit(1));
	CHECK_EQ(l2_send(HA, HB, 20, 2), EVERY_PORT & ~pbit(2));
	CHECK_EQ(l2_send(HA, HB, -1, 2), EVERY_PORT & ~pbit(2));
	/* The same address elsewhere in another VLAN: both stay. */
	CHECK_EQ(l2_send(BCAST, HA, -1, 3), EVERY_PORT & ~pbit(3));
	CHECK_EQ(l2_send(HA, HB, -1, 2), pbit(3));
	CHECK_EQ(l2_send(HA, HB, 10, 2), pbit(1));
	/* A priority-tagged frame (VID 0) is in the untagged frames' VLAN, as
	 * 802.1Q has it; it keeps its tag. */
	CHECK_EQ(l2_send(HA, HB, 0, 2), pbit(3));
	CHECK_EQ(l2_send(HB, HA, 20, 3), pbit(2));   /* B was learned in VLAN 20 */
	CHECK_EQ(l2_send(HB, HA, 10, 1), pbit(2));
	teardown();
}

static void test_normal_aging(void)
{
	uint64_t t0 = now;

	setup();
	CHECK_EQ(add_output(0, 1, NULL, TSOF_OFPP_NORMAL), 0);
	CHECK_EQ(l2_send(BCAST, HA, -1, 1), EVERY_PORT & ~pbit(1));
	/* 300 s after A was last seen it is gone; looking it up keeps nothing. */
	now += 299 * NS;
	CHECK_EQ(l2_send(HA, HB, -1, 2), pbit(1));
	now += 1 * NS;
	CHECK_EQ(l2_send(HA, HB, -1, 2), EVERY_PORT & ~pbit(2));
	/* Each frame from A starts its time again. */
	CHECK_EQ(l2_send(BCAST, HA, -1, 1), EVERY_PORT & ~pbit(1));
	now += 200 * NS;
	CHECK_EQ(l2_send(BCAST, HA, -1, 1), EVERY_PORT & ~pbit(1));
	now += 200 * NS;
	CHECK_EQ(l2_send(HA, HB, -1, 2), pbit(1));
	/* A shorter aging time applies to what is already there. */
	tsof_pipeline_set_mac_aging(pl, 10);
	now += 9 * NS;
	CHECK_EQ(l2_send(HB, HA, -1, 1), pbit(2));
	now += 1 * NS;
	CHECK_EQ(l2_send(HB, HA, -1, 1), EVERY_PORT & ~pbit(1));
	/* 0: nothing is remembered, a hub. */
	tsof_pipeline_set_mac_aging(pl, 0);
	CHECK_EQ(l2_send(HA, HB, -1, 2), EVERY_PORT & ~pbit(2));
	CHECK_EQ(l2_send(HB, HA, -1, 1), EVERY_PORT & ~pbit(1));
	teardown();
	now = t0;
}

/* Address i: scattered as real ones are (splitmix64's finaliser), unicast. */
static void nth_mac(uint8_t mac[6], uint64_t i)
{
	uint64_t x = i + 0x9e3779b97f4a7c15ull;

	x = (x ^ x >> 30) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ x >> 27) * 0x94d049bb133111ebull;
	x ^= x >> 31;
	for (int b = 0; b < 6; b++)
		mac[b] = (uint8_t)(x >> 8 * b);
	mac[0] &= 0xfe;
}

/* Many addresses in one VLAN, address i learned on port 1 + i % 7, more
 * than the table holds: the ones still known go to their port, never
 * elsewhere, and most of the newest are known. */
static void test_normal_full_table(void)
{
	uint64_t t0 = now;

	setup();
	CHECK_EQ(add_output(0, 1, NULL, TSOF_OFPP_NORMAL), 0);
	enum { N = 20000 };
	uint8_t mac[6];
	for (uint32_t i = 0; i < N; i++) {
		nth_mac(mac, i);
		l2_send(BCAST, mac, 5, 1 + i % 7);
		if (i % 1000 == 999)
			now += NS;   /* the later ones are younger */
	}
	unsigned known = 0;
	for (uint32_t i = N - 4096; i < N; i++) {
		nth_mac(mac, i);
		uint32_t seen = l2_send(mac, HA, 5, 8);
		if (seen == pbit(1 + i % 7))
			known++;
		else
			CHECK_EQ(seen, EVERY_PORT & ~pbit(8));
	}
	if (!quiet)
		printf("     %u of the last 4096 of %u addresses known\n", known, (unsigned)N);
	CHECK(known > 3800);
	teardown();
	now = t0;
}

static void test_normal_port_gone(void)
{
	setup();
	CHECK_EQ(add_output(0, 1, NULL, TSOF_OFPP_NORMAL), 0);
	CHECK_EQ(l2_send(BCAST, HA, -1, 1), EVERY_PORT & ~pbit(1));
	CHECK_EQ(l2_send(BCAST, HB, 7, 3), EVERY_PORT & ~pbit(3));
	CHECK_EQ(l2_send(BCAST, HC, -1, 4), EVERY_PORT & ~pbit(4));
	/* Deleted, then back: A is forgotten, not just out of reach. */
	tsof_pipeline_port_del(pl, 1);
	CHECK_EQ(l2_send(HA, HC, -1, 4), EVERY_PORT & ~(pbit(1) | pbit(4)));
	tsof_pipeline_port_set(pl, 1, 0, TSOF_OFPPS_LIVE);
	CHECK_EQ(l2_send(HA, HC, -1, 4), EVERY_PORT & ~pbit(4));
	/* Down (config) and up again; link down and up again. */
	tsof_pipeline_port_set(pl, 3, TSOF_OFPPC_PORT_DOWN, 0);
	tsof_pipeline_port_set(pl, 3, 0, TSOF_OFPPS_LIVE);
	CHECK_EQ(l2_send(HB, HC, 7, 4), EVERY_PORT & ~pbit(4));
	CHECK_EQ(l2_send(HC, HA, -1, 2), pbit(4));   /* other ports keep theirs */
	tsof_pipeline_port_set(pl, 4, 0, TSOF_OFPPS_LINK_DOWN);
	tsof_pipeline_port_set(pl, 4, 0, TSOF_OFPPS_LIVE);
	CHECK_EQ(l2_send(HC, HA, -1, 2), EVERY_PORT & ~pbit(2));
	/* Other config changes keep them. */
	CHECK_EQ(l2_send(BCAST, HC, -1, 4), EVERY_PORT & ~pbit(4));
	tsof_pipeline_port_set(pl, 4, TSOF_OFPPC_NO_PACKET_IN, TSOF_OFPPS_LIVE);
	CHECK_EQ(l2_send(HC, HA, -1, 2), pbit(4));
	teardown();
}

static void test_normal_set_group_packet_out(void)
{
	setup();
	/* From the action set. */
	struct mb w = { .n = 0 }, in = { .n = 0 }, m = { .n = 0 };
	a_out(&w, TSOF_OFPP_NORMAL, 0);
	i_actions(&in, TSOF_OFPIT_WRITE_ACTIONS, &w);
	oxmn(&m, TSOF_OXM_IN_PORT, 4, 1);
	CHECK_EQ(add(0, 1, &m, &in), 0);
	CHECK_EQ(l2_send(HB, HA, -1, 1), EVERY_PORT & ~pbit(1));
	/* From an indirect group's bucket. */
	struct mb b = { .n = 0 }, ba = { .n = 0 }, g = { .n = 0 };
	a_out(&ba, TSOF_OFPP_NORMAL, 0);
	bucket(&b, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &ba);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_INDIRECT, 1, &b), 0);
	a_arg32(&g, TSOF_OFPAT_GROUP, 1);
	m.n = 0;
	oxmn(&m, TSOF_OXM_IN_PORT, 4, 2);
	CHECK_EQ(add_apply(0, 1, &m, &g), 0);
	CHECK_EQ(l2_send(HA, HB, -1, 2), pbit(1));   /* learned through the action set */
	CHECK_EQ(l2_send(HB, HA, -1, 1), pbit(2));   /* learned in the bucket */
	/* Packet-out: from the controller nothing is learned and every port
	 * gets an unknown destination; from a port, as if received there. */
	struct tsof_actions *acts;
	struct mb a = { .n = 0 };
	a_out(&a, TSOF_OFPP_NORMAL, 0);
	CHECK_EQ(tsof_pipeline_parse_actions(pl, a.d, a.n, &acts), 0);
	static uint8_t buf[TSOF_PL_HEADROOM + 2048];
	const uint32_t from[3] = { TSOF_OFPP_CONTROLLER, TSOF_OFPP_CONTROLLER, 5 };
	const uint8_t *dst[3] = { HA, HC, HB };
	const uint32_t want[3] = { pbit(1), EVERY_PORT, pbit(2) };
	for (int i = 0; i < 3; i++) {
		uint8_t f[2048];
		size_t n = l2_frame(f, dst[i], HC, -1);
		struct tsof_pl_frame p = { .data = buf + TSOF_PL_HEADROOM, .len = (uint32_t)n,
				      .headroom = TSOF_PL_HEADROOM, .tailroom = 512, .in_port = from[i],
				      .in_phy_port = from[i] };
		memcpy(p.data, f, n);
		n_outs = 0;
		tsof_pipeline_packet_out(th, &p, acts, now);
		CHECK_EQ(out_ports(f, n), want[i]);
	}
	tsof_actions_free(acts);
	/* C came from port 5 in the last packet-out. */
	CHECK_EQ(l2_send(HC, HA, -1, 1), pbit(5));
	teardown();
}

/* ---- the Ryu/os-ken switch test cases ---- */

/* test/fixtures/ryu-switch-of13/vectors.txt (gen_ryu_vectors.py): each case
 * installs os-ken-serialised mods in a fresh pipeline, sends frames in on
 * port 1 and expects one frame out on port 2, a packet-in, or a table miss. */

static size_t unhex(const char *h, uint8_t *out, size_t max)
{
	size_t n = 0;

	while (h[0] && h[1] && h[0] != '\n' && n < max) {
		unsigned v;
		if (sscanf(h, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
		h += 2;
	}
	return n;
}

/* os-ken pads every frame it builds to the 60-byte Ethernet minimum, as a
 * NIC does on the wire; a frame that shrank below it (pop_mpls) compares
 * padded with zeros. */
static bool same_padded(const uint8_t *got, size_t len, const uint8_t *want, size_t n)
{
	uint8_t padded[64] = { 0 };

	if (len < 60 && n == 60) {
		memcpy(padded, got, len);
		return !memcmp(padded, want, 60);
	}
	return len == n && !memcmp(got, want, n);
}

static int apply_mod(const uint8_t *m, size_t n)
{
	struct tsof_flow_mod fm;
	struct tsof_group_mod gm;
	struct tsof_meter_mod mm;

	int err;

	switch (n > 1 ? m[1] : 0) {
	case 14: return (err = tsof_flow_mod_decode(m, n, &fm)) ? err : tsof_pipeline_flow_mod(pl, &fm, now);
	case 15: return (err = tsof_group_mod_decode(m, n, &gm)) ? err : tsof_pipeline_group_mod(pl, &gm, now);
	case 29: return (err = tsof_meter_mod_decode(m, n, &mm)) ? err : tsof_pipeline_meter_mod(pl, &mm, now);
	default: return -2;
	}
}

static void test_ryu_vectors(void)
{
	const char *path = getenv("TSOF_RYU_VECTORS");
	FILE *in = fopen(path ? path : "test/fixtures/ryu-switch-of13/vectors.txt", "r");
	char *line = NULL, desc[512] = "";
	size_t cap = 0;
	static uint8_t buf[4096];
	struct tsof_table_stats before[TSOF_N_TABLES];
	int cases = 0, bad_cases = 0, shown = 0;
	bool case_bad = false, open_case = false;

	n_checks++;
	if (!in) {
		fail(__FILE__, __LINE__, "cannot open the Ryu vectors (run make from native/, or set TSOF_RYU_VECTORS)");
		return;
	}
#define CASE_FAIL(...) do { \
		if (!case_bad && shown++ < 20) { printf("  ryu case %s:\n    ", desc); printf(__VA_ARGS__); printf("\n"); } \
		case_bad = true; \
	} while (0)
	while (getline(&line, &cap, in) > 0) {
		if (!strncmp(line, "case ", 5)) {
			if (open_case) {
				bad_cases += case_bad;
				teardown();
			}
			snprintf(desc, sizeof desc, "%.*s", (int)strcspn(line + 5, "\n"), line + 5);
			setup();
			cases++;
			case_bad = false;
			open_case = true;
		} else if (!strncmp(line, "mod ", 4)) {
			size_t n = unhex(line + 4, buf, sizeof buf);
			int err = apply_mod(buf, n);
			if (err)
				CASE_FAIL("mod refused: 0x%x", (unsigned)err);
		} else if (!strncmp(line, "in ", 3)) {
			unsigned port = (unsigned)strtoul(line + 3, NULL, 10);
			const char *hex = strchr(line + 3, ' ');
			size_t n = hex ? unhex(hex + 1, buf, sizeof buf) : 0;
			for (int t = 0; t < TSOF_N_TABLES; t++)
				tsof_pipeline_table_stats(pl, (uint8_t)t, &before[t]);
			send_frame(buf, n, port, 0);
		} else if (!strncmp(line, "out ", 4)) {
			unsigned port = (unsigned)strtoul(line + 4, NULL, 10);
			const char *hex = strchr(line + 4, ' ');
			size_t n = hex ? unhex(hex + 1, buf, sizeof buf) : 0;
			if (n_outs != 1 || outs[0].port != port)
				CASE_FAIL("%d frames out (first on port %u), expected one on port %u", n_outs,
					  n_outs ? outs[0].port : 0, port);
			else if (!same_padded(outs[0].data, outs[0].len, buf, n)) {
				size_t j = 0;
				while (j < n && j < outs[0].len && outs[0].data[j] == buf[j])
					j++;
				CASE_FAIL("frame differs at byte %zu (lengths %u, %zu)", j, outs[0].len, n);
			}
		} else if (!strncmp(line, "packet_in ", 10)) {
			size_t n = unhex(line + 10, buf, sizeof buf);
			if (n_pins != 1 || pins[0].p.reason != TSOF_OFPR_ACTION)
				CASE_FAIL("%d packet-ins (reason %d), expected one with reason ACTION", n_pins,
					  n_pins ? pins[0].p.reason : -1);
			else if (!same_padded(pins[0].data, pins[0].p.len, buf, n))
				CASE_FAIL("packet-in data differs");
		} else if (!strncmp(line, "miss ", 5)) {
			bool looked = false;
			for (char *t = line + 5; *t && *t != '\n'; t += strcspn(t, ",\n") + (t[strcspn(t, ",\n")] == ',')) {
				struct tsof_table_stats after;
				unsigned id = (unsigned)strtoul(t, NULL, 10);
				tsof_pipeline_table_stats(pl, (uint8_t)id, &after);
				looked |= after.lookups > before[id].lookups;
				if (after.matched > before[id].matched)
					CASE_FAIL("table %u matched", id);
			}
			if (!looked)
				CASE_FAIL("no listed table was looked up");
		}
	}
	if (open_case) {
		bad_cases += case_bad;
		teardown();
	}
#undef CASE_FAIL
	free(line);
	fclose(in);
	if (!quiet)
		printf("     %d cases, %d as Ryu expects\n", cases, cases - bad_cases);
	CHECK(cases > 900);
	CHECK_EQ(bad_cases, 0);
}

/* ---- the exact-match cache changes no result ---- */

/* Random flows over four tables: matches on in_port, addresses, ports and
 * metadata; instructions that rewrite the address, write metadata and go on,
 * or output. Every frame runs on a thread with the cache and on one without;
 * between frames, flows come and go. */
static void random_flow(void)
{
	struct mb m = { .n = 0 }, a = { .n = 0 }, in = { .n = 0 };
	uint8_t table = (uint8_t)rnd_below(4);

	if (rnd_below(2))
		oxmn(&m, TSOF_OXM_IN_PORT, 4, 1 + rnd_below(3));
	if (rnd_below(2))
		oxmn(&m, TSOF_OXM_METADATA, 8, rnd_below(3));
	if (rnd_below(3)) {
		oxmn(&m, TSOF_OXM_ETH_TYPE, 2, 0x0800);
		if (rnd_below(2))
			oxmn(&m, TSOF_OXM_IPV4_DST, 4, 0x0a000000 | rnd_below(4));
		if (rnd_below(2)) {
			oxmn(&m, TSOF_OXM_IP_PROTO, 1, 6);
			if (rnd_below(2))
				oxmn(&m, TSOF_OXM_TCP_DST, 2, 80 + rnd_below(2));
		}
	}
	if (rnd_below(2))
		a_setn(&a, TSOF_OXM_IPV4_DST, 4, 0x0a000000 | rnd_below(4));
	if (table < 3 && rnd_below(3)) {
		i_actions(&in, TSOF_OFPIT_APPLY_ACTIONS, &a);
		i_meta(&in, rnd_below(3), 0xff);
		i_goto(&in, (uint8_t)(table + 1 + rnd_below(3 - table)));
	} else {
		a_out(&a, 2 + rnd_below(4), 0);
		i_actions(&in, TSOF_OFPIT_APPLY_ACTIONS, &a);
	}
	(void)flow_mod((struct fm){ .table = table, .priority = (uint16_t)rnd_below(8) }, &m, &in);
}

static void test_emc_same_results(void)
{
	setup();
	struct tsof_pl_thread *plain = tsof_pipeline_thread_new(pl, NULL);
	struct out with[64];
	int n_with, differ = 0;
	struct tsof_pl_thread_stats st;

	tsof_pipeline_thread_use_emc(plain, false);
	for (int i = 0; i < 60; i++)
		random_flow();
	for (int round = 0; round < 40; round++) {
		for (int i = 0; i < 100; i++) {
			struct spec s = spec_of(rnd_below(2) ? K_TCP4 : K_UDP4);
			uint8_t f[2048];
			s.v4dst = 0x0a000000 | rnd_below(4);
			s.dport = (uint16_t)(80 + rnd_below(2));
			size_t n = build(&s, f);
			uint32_t port = 1 + rnd_below(3);
			send_frame_on(th, f, n, port, 0);
			n_with = n_outs;
			memcpy(with, outs, sizeof with);
			send_frame_on(plain, f, n, port, 0);
			if (n_with != n_outs)
				differ++;
			else
				for (int j = 0; j < n_outs; j++)
					if (with[j].port != outs[j].port || with[j].len != outs[j].len ||
					    memcmp(with[j].data, outs[j].data, outs[j].len))
						differ++;
		}
		/* Change: a few flows in, a few out (strict deletes of random ones). */
		for (int i = 0; i < 3; i++)
			random_flow();
		struct mb m = { .n = 0 };
		oxmn(&m, TSOF_OXM_IN_PORT, 4, 1 + rnd_below(3));
		(void)flow_mod((struct fm){ .table = (uint8_t)rnd_below(4), .command = TSOF_OFPFC_DELETE }, &m, NULL);
	}
	CHECK_EQ(differ, 0);
	tsof_pipeline_thread_stats(th, &st);
	CHECK(st.emc_hits > st.cls_lookups);  /* the cache did serve */
	tsof_pipeline_thread_stats(plain, &st);
	CHECK_EQ(st.emc_hits, 0);
	tsof_pipeline_thread_free(plain);
	teardown();
}

/* ---- atomicity: a datapath thread against control changes ---- */

struct race {
	_Atomic int stop;
	_Atomic uint64_t frames, wrong, lost;
};

static struct race race;

/* Port and the address's last byte must agree: set by the same change. */
static void race_output(void *ctx, uint32_t port, uint32_t queue_id, const struct tsof_pl_frame *p)
{
	(void)ctx;
	(void)queue_id;
	uint8_t last = p->data[14 + 19];
	if (port != (uint32_t)(last % 4) + 1)
		atomic_fetch_add(&race.wrong, 1);
	atomic_fetch_add(&race.frames, 1);
}

static void *race_datapath(void *arg)
{
	struct tsof_pl_thread *t = arg;
	struct spec s = spec_of(K_TCP4);
	uint8_t f[256], buf[TSOF_PL_HEADROOM + 256];
	size_t n = build(&s, f);
	struct tsof_pl_thread_stats st;

	while (!atomic_load(&race.stop)) {
		for (int i = 0; i < 32; i++) {
			struct tsof_pl_frame p = { .data = buf + TSOF_PL_HEADROOM, .len = (uint32_t)n,
					      .headroom = TSOF_PL_HEADROOM, .tailroom = 64, .in_port = 1, .in_phy_port = 1 };
			memcpy(p.data, f, n);
			tsof_pipeline_process(t, &p, 0);
		}
		tsof_pipeline_quiesce(t);
	}
	tsof_pipeline_thread_stats(t, &st);
	atomic_store(&race.lost, st.table_misses);
	return NULL;
}

/* Change k: table 0 writes metadata k, table 1's flow for metadata k sets
 * the address's last byte to k and sends to group 1, whose bucket outputs to
 * port k % 4 + 1; the flows of change k - 1 go. Seen half-applied, a frame
 * misses in table 1 or leaves on the wrong port. */
static void race_change(uint32_t k)
{
	struct mb in = { .n = 0 }, m = { .n = 0 }, a = { .n = 0 }, b = { .n = 0 }, ba = { .n = 0 };

	tsof_pipeline_begin(pl);
	i_meta(&in, k, ~0ull);
	i_goto(&in, 1);
	if (k == 1)
		CHECK_EQ(flow_mod((struct fm){ .priority = 1 }, NULL, &in), 0);
	else
		CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_MODIFY_STRICT, .priority = 1 }, NULL, &in), 0);
	oxmn(&m, TSOF_OXM_METADATA, 8, k);
	a_setn(&a, TSOF_OXM_IPV4_DST, 4, 0x0a000000 | (k & 0xff));
	a_arg32(&a, TSOF_OFPAT_GROUP, 1);
	in.n = 0;
	i_actions(&in, TSOF_OFPIT_APPLY_ACTIONS, &a);
	a_out(&ba, k % 4 + 1, 0);
	bucket(&b, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &ba);
	CHECK_EQ(group_mod(k == 1 ? TSOF_OFPGC_ADD : TSOF_OFPGC_MODIFY, TSOF_OFPGT_INDIRECT, 1, &b), 0);
	CHECK_EQ(flow_mod((struct fm){ .table = 1, .priority = 1 }, &m, &in), 0);
	if (k > 1) {
		m.n = 0;
		oxmn(&m, TSOF_OXM_METADATA, 8, k - 1);
		CHECK_EQ(flow_mod((struct fm){ .table = 1, .command = TSOF_OFPFC_DELETE_STRICT, .priority = 1 }, &m, NULL), 0);
	}
	tsof_pipeline_commit(pl);
}

static void test_concurrent_changes(void)
{
	static const struct tsof_pipeline_ops ops = { race_output, NULL, NULL, NULL, NULL };
	pthread_t dp;

	pl = tsof_pipeline_new(&ops);
	for (uint32_t p = 1; p <= 4; p++)
		tsof_pipeline_port_set(pl, p, 0, TSOF_OFPPS_LIVE);
	race_change(1);
	struct tsof_pl_thread *t = tsof_pipeline_thread_new(pl, NULL);
	atomic_store(&race.stop, 0);
	atomic_store(&race.frames, 0);
	atomic_store(&race.wrong, 0);
	pthread_create(&dp, NULL, race_datapath, t);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint32_t k = 2;
	for (;; k++) {
		race_change(k);
		tsof_pipeline_reclaim(pl);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec) > 500000000ll)
			break;
	}
	atomic_store(&race.stop, 1);
	pthread_join(dp, NULL);
	if (!quiet)
		printf("     %u changes against %llu frames\n", k, (unsigned long long)atomic_load(&race.frames));
	CHECK(atomic_load(&race.frames) > 1000);
	CHECK_EQ(atomic_load(&race.wrong), 0);
	CHECK_EQ(atomic_load(&race.lost), 0);
	tsof_pipeline_thread_free(t);
	tsof_pipeline_free(pl);
}

/* A flow's packets, as its flow-removed reports them. */
static _Atomic uint64_t removed_packets, removed_flows;

static void count_output(void *ctx, uint32_t port, uint32_t queue_id, const struct tsof_pl_frame *p)
{
	(void)ctx;
	(void)port;
	(void)queue_id;
	(void)p;
	atomic_fetch_add(&race.frames, 1);
}

static void count_removed(void *arg, const struct tsof_flow_removed *fr)
{
	(void)arg;
	atomic_fetch_add(&removed_packets, fr->packets);
	atomic_fetch_add(&removed_flows, 1);
}

/* The datapath thread sends frames that one flow (in_port=1, output:2,
 * SEND_FLOW_REM) takes while the control side adds and deletes it again and
 * again. A frame that started at a version where the flow is in counts on it
 * after the delete is published, until the thread quiesces: its flow-removed
 * must come after that, so every frame sent on appears in one report. */
static void test_removed_counts_concurrent(void)
{
	static const struct tsof_pipeline_ops ops = { count_output, NULL, NULL, count_removed, NULL };
	struct mb m = { .n = 0 }, a = { .n = 0 }, in = { .n = 0 };
	pthread_t dp;

	pl = tsof_pipeline_new(&ops);
	for (uint32_t p = 1; p <= 4; p++)
		tsof_pipeline_port_set(pl, p, 0, TSOF_OFPPS_LIVE);
	oxmn(&m, TSOF_OXM_IN_PORT, 4, 1);
	a_out(&a, 2, 0);
	i_actions(&in, TSOF_OFPIT_APPLY_ACTIONS, &a);
	struct tsof_pl_thread *t = tsof_pipeline_thread_new(pl, NULL);
	atomic_store(&race.stop, 0);
	atomic_store(&race.frames, 0);
	atomic_store(&removed_packets, 0);
	atomic_store(&removed_flows, 0);
	pthread_create(&dp, NULL, race_datapath, t);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned rounds = 0;
	do {
		CHECK_EQ(flow_mod((struct fm){ .priority = 10, .flags = TSOF_OFPFF_SEND_FLOW_REM }, &m, &in), 0);
		CHECK_EQ(flow_mod((struct fm){ .command = TSOF_OFPFC_DELETE_STRICT, .priority = 10 }, &m, NULL), 0);
		tsof_pipeline_reclaim(pl);
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while ((t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec) < 500000000ll);
	atomic_store(&race.stop, 1);
	pthread_join(dp, NULL);
	tsof_pipeline_thread_free(t);
	tsof_pipeline_settle(pl);
	if (!quiet)
		printf("     %u adds and deletes, %llu frames on the flow, %llu in its reports\n", rounds,
		       (unsigned long long)atomic_load(&race.frames), (unsigned long long)atomic_load(&removed_packets));
	CHECK_EQ(atomic_load(&removed_flows), rounds);
	CHECK(atomic_load(&race.frames) > 1000);
	CHECK_EQ(atomic_load(&removed_packets), atomic_load(&race.frames));
	tsof_pipeline_free(pl);
}

/* ---- NORMAL's MAC table: datapath threads against each other and the
 * control side ---- */

/* Address i lives on port home(i) and never moves, so a frame sent to one
 * port alone went to its destination's home, unless an entry was read torn.
 * There are twice as many addresses as entries: they keep evicting each
 * other. */
enum { MAC_RACE_ADDRS = 16384, MAC_RACE_PORTS = 4 };

static uint32_t home(uint32_t i)
{
	return 1 + i % MAC_RACE_PORTS;
}

struct mac_racer {
	struct tsof_pl_thread *t;
	uint32_t n_out, port, in_port;   /* this frame's outputs */
	uint64_t frames, unicast, wrong;
};

static void mac_race_output(void *ctx, uint32_t port, uint32_t queue_id, const struct tsof_pl_frame *p)
{
	struct mac_racer *r = ctx;

	(void)queue_id;
	(void)p;
	if (port == r->in_port || port < 1 || port > MAC_RACE_PORTS)
		r->wrong++;
	r->n_out++;
	r->port = port;
}

static void *mac_race_datapath(void *arg)
{
	struct mac_racer *r = arg;
	uint8_t buf[TSOF_PL_HEADROOM + 64];
	uint64_t x = (uint64_t)(uintptr_t)r | 1;
	uint32_t src = 0, dst;

	while (!atomic_load(&race.stop)) {
		for (int k = 0; k < 64; k++) {
			/* To the previous frame's source: most often known. */
			dst = src;
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			src = (uint32_t)x % MAC_RACE_ADDRS;
			struct tsof_pl_frame p = { .data = buf + TSOF_PL_HEADROOM, .len = 60, .headroom = TSOF_PL_HEADROOM,
					      .in_port = home(src), .in_phy_port = home(src) };
			memset(p.data, 0, 60);
			nth_mac(p.data, dst);
			nth_mac(p.data + 6, src);
			wr16(p.data + 12, 0x88b5);
			r->n_out = 0;
			r->in_port = home(src);
			tsof_pipeline_process(r->t, &p, 0);
			/* A flood reaches at least two of the four ports (one is
			 * the ingress, at most one is down). */
			if (r->n_out == 1) {
				r->unicast++;
				if (r->port != home(dst))
					r->wrong++;
			}
			r->frames++;
		}
		tsof_pipeline_quiesce(r->t);
	}
	return NULL;
}

static void test_normal_concurrent(void)
{
	static const struct tsof_pipeline_ops ops = { mac_race_output, NULL, NULL, NULL, NULL };
	struct mac_racer r[2];
	pthread_t dp[2];

	pl = tsof_pipeline_new(&ops);
	for (uint32_t p = 1; p <= MAC_RACE_PORTS; p++)
		tsof_pipeline_port_set(pl, p, 0, TSOF_OFPPS_LIVE);
	CHECK_EQ(add_output(0, 1, NULL, TSOF_OFPP_NORMAL), 0);
	atomic_store(&race.stop, 0);
	for (int i = 0; i < 2; i++) {
		r[i] = (struct mac_racer){ .t = tsof_pipeline_thread_new(pl, &r[i]) };
		pthread_create(&dp[i], NULL, mac_race_datapath, &r[i]);
	}
	/* Meanwhile each port in turn goes down (forgetting its addresses)
	 * and up again. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned downs = 0;
	for (;; downs++) {
		uint32_t p = 1 + downs % MAC_RACE_PORTS;
		tsof_pipeline_port_set(pl, p, TSOF_OFPPC_PORT_DOWN, 0);
		tsof_pipeline_port_set(pl, p, 0, TSOF_OFPPS_LIVE);
		tsof_pipeline_reclaim(pl);
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec) > 300000000ll)
			break;
	}
	atomic_store(&race.stop, 1);
	uint64_t frames = 0, unicast = 0, wrong = 0;
	for (int i = 0; i < 2; i++) {
		pthread_join(dp[i], NULL);
		frames += r[i].frames;
		unicast += r[i].unicast;
		wrong += r[i].wrong;
		tsof_pipeline_thread_free(r[i].t);
	}
	if (!quiet)
		printf("     %llu frames on 2 threads, %llu unicast, %u ports down and up\n",
		       (unsigned long long)frames, (unsigned long long)unicast, downs);
	CHECK(frames > 1000);
	CHECK(unicast > frames / 4);
	CHECK_EQ(wrong, 0);
	tsof_pipeline_free(pl);
}

/* ---- packet traces ---- */

#define MAX_EVENTS 64

static const struct tsof_trace_event *evs[MAX_EVENTS];
static int n_evs;

/* Traces frame f from in_port into evs (records in tr, which the caller frees). */
static int trace_frame(struct tsof_trace *tr, const uint8_t *f, size_t n, uint32_t in_port)
{
	*tr = (struct tsof_trace){ 0 };
	int r = tsof_pipeline_trace(pl, f, (uint32_t)n, in_port, now, tr);
	n_evs = 0;
	for (size_t at = 0; at < tr->len && n_evs < MAX_EVENTS; at += evs[n_evs - 1]->size)
		evs[n_evs++] = (const struct tsof_trace_event *)(tr->buf + at);
	return r;
}

/* The kinds recorded, in order, are these. */
static void check_kinds(const uint16_t *kinds, int n, int line)
{
	n_checks++;
	bool same = n == n_evs;
	for (int i = 0; same && i < n; i++)
		same = evs[i]->kind == kinds[i];
	if (!same) {
		char got[256] = "", *w = got;
		for (int i = 0; i < n_evs && w < got + sizeof got - 8; i++)
			w += snprintf(w, 8, "%u ", evs[i]->kind);
		fail(__FILE__, line, "trace kinds: got %s(%d events, %d expected)", got, n_evs, n);
	}
}
#define CHECK_KINDS(...) do { static const uint16_t k_[] = { __VA_ARGS__ }; \
	check_kinds(k_, (int)(sizeof k_ / sizeof k_[0]), __LINE__); } while (0)

/* Everything a trace must leave alone, read together. */
struct untouched {
	struct tsof_pl_thread_stats th;
	struct tsof_table_stats t0, t1;
	struct fstat flows[4];
	int n_flows;
	struct gstat group;
	struct mstat meter;
};

static void read_untouched(struct untouched *u, uint32_t group_id, uint32_t meter_id)
{
	memset(u, 0, sizeof *u);
	tsof_pipeline_thread_stats(th, &u->th);
	tsof_pipeline_table_stats(pl, 0, &u->t0);
	tsof_pipeline_table_stats(pl, 1, &u->t1);
	u->n_flows = count_flows(TSOF_OFPTT_ALL, 0, 0, TSOF_OFPP_ANY);
	memcpy(u->flows, fstats, sizeof u->flows);
	n_gstats = 0;
	memset(gstats, 0, sizeof gstats);
	tsof_pipeline_group_stats(pl, group_id, now, group_cb, NULL);
	u->group = gstats[0];
	memset(&mstat, 0, sizeof mstat);
	tsof_pipeline_meter_stats(pl, meter_id, now, meter_cb, NULL);
	u->meter = mstat;
}

#define CHECK_UNTOUCHED(before, group_id, meter_id) do { struct untouched after_; \
	read_untouched(&after_, group_id, meter_id); CHECK_MEM(&after_, &(before), sizeof after_); \
	CHECK_EQ(n_outs + n_pins, 0); } while (0)

/* Table 0: meter, apply set-fields, write-metadata, goto 1. Table 1: a
 * packet-in, then write-actions group (over output) to an ALL group of two
 * buckets. The trace tells all of it, and no counter moves. */
static void test_trace_tables_group_meter(void)
{
	setup();
	struct mb bands = { .n = 0 }, in0 = { .n = 0 }, a0 = { .n = 0 }, m0 = { .n = 0 };
	struct mb in1 = { .n = 0 }, a1 = { .n = 0 }, w1 = { .n = 0 }, m1 = { .n = 0 };
	struct mb b = { .n = 0 }, ba = { .n = 0 }, bb = { .n = 0 };
	struct spec s = spec_of(K_TCP4);
	uint8_t f[2048], e[2048];
	size_t n = build(&s, f);

	band(&bands, TSOF_OFPMBT_DROP, 1000, 0, 0);
	CHECK_EQ(meter_mod(TSOF_OFPMC_ADD, TSOF_OFPMF_KBPS | TSOF_OFPMF_STATS, 1, &bands), 0);
	a_setn(&ba, TSOF_OXM_IPV4_DST, 4, 0x0a0a0a0a);
	a_out(&ba, 2, 0);
	bucket(&b, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &ba);
	a_out(&bb, 3, 0);
	bucket(&b, 0, TSOF_OFPP_ANY, TSOF_OFPG_ANY, &bb);
	CHECK_EQ(group_mod(TSOF_OFPGC_ADD, TSOF_OFPGT_ALL, 5, &b), 0);
	oxmn(&m0, TSOF_OXM_IN_PORT, 4, 1);
	i_meter(&in0, 1);
	a_setn(&a0, TSOF_OXM_IPV4_SRC, 4, 0x09090909);
	a_setn(&a0, TSOF_OXM_UDP_DST, 2, 53);  /* a TCP frame: nothing to set */
	i_actions(&in0, TSOF_OFPIT_APPLY_ACTIONS, &a0);
	i_meta(&in0, 5, 0xff);
	i_goto(&in0, 1);
	CHECK_EQ(flow_mod((struct fm){ .priority = 100, .cookie = 0x1 }, &m0, &in0), 0);
	oxmn(&m1, TSOF_OXM_METADATA, 8, 5);
	a_out(&a1, TSOF_OFPP_CONTROLLER, 128);
	i_actions(&in1, TSOF_OFPIT_APPLY_ACTIONS, &a1);
	a_out(&w1, 4, 0);
	a_arg32(&w1, TSOF_OFPAT_GROUP, 5);
	i_actions(&in1, TSOF_OFPIT_WRITE_ACTIONS, &w1);
	CHECK_EQ(flow_mod((struct fm){ .table = 1, .priority = 7, .cookie = 0xabc }, &m1, &in1), 0);

	/* A trace first: the real frame after it still misses the cache. */
	struct untouched before;
	struct tsof_trace tr;
	read_untouched(&before, 5, 1);
	n_outs = n_pins = 0;
	CHECK_EQ(trace_frame(&tr, f, n, 1), 0);
	CHECK_UNTOUCHED(before, 5, 1);
	CHECK_KINDS(TSOF_TRACE_FLOW,
		    TSOF_TRACE_TABLE, TSOF_TRACE_INSTRUCTION /* meter */, TSOF_TRACE_INSTRUCTION /* apply */,
		    TSOF_TRACE_ACTION, TSOF_TRACE_ACTION, TSOF_TRACE_INSTRUCTION /* metadata */,
		    TSOF_TRACE_INSTRUCTION /* goto */,
		    TSOF_TRACE_TABLE, TSOF_TRACE_INSTRUCTION /* apply */, TSOF_TRACE_ACTION, TSOF_TRACE_PACKET_IN,
		    TSOF_TRACE_INSTRUCTION /* write */, TSOF_TRACE_ACTION_SET, TSOF_TRACE_ACTION, TSOF_TRACE_GROUP,
		    TSOF_TRACE_BUCKET, TSOF_TRACE_ACTION, TSOF_TRACE_ACTION, TSOF_TRACE_OUTPUT,
		    TSOF_TRACE_BUCKET, TSOF_TRACE_ACTION, TSOF_TRACE_OUTPUT);
	if (n_evs == 23) {
		/* The key as an ofp_match: in_port first, ipv4_dst among the rest. */
		const struct tsof_trace_event *k = evs[0];
		CHECK(k->len == n && rd16(k->data) == 1 && k->data_len % 8 == 0);
		CHECK(rd16(k->data + 4) == 0x8000 && k->data[6] == TSOF_OXM_IN_PORT << 1 && k->data[11] == 1);
		bool dst = false;
		for (size_t at = 4; at + 4 <= rd16(k->data + 2); at += 4 + k->data[at + 3])
			dst |= k->data[at + 2] == TSOF_OXM_IPV4_DST << 1 && !memcmp(k->data + at + 4, &(uint8_t[4]){ 0xc0, 0xa8, 0x14, 0x14 }, 4);
		CHECK(dst);
		CHECK(evs[1]->table_id == 0 && evs[1]->code == 1 && evs[1]->priority == 100 && evs[1]->cookie == 1);
		CHECK_EQ(evs[1]->data_len, 16);  /* the match as added: in_port, padded */
		CHECK(evs[2]->code == TSOF_OFPIT_METER && evs[2]->id == 1 && evs[2]->band == 0);
		CHECK(evs[3]->code == TSOF_OFPIT_APPLY_ACTIONS);
		/* set_field ipv4_src as its ofp_action; udp_dst has no header to set. */
		CHECK(rd16(evs[4]->data) == TSOF_OFPAT_SET_FIELD && rd16(evs[4]->data + 2) == 16 &&
		      evs[4]->data[6] == TSOF_OXM_IPV4_SRC << 1 && evs[4]->data[8] == 9 && evs[4]->code == 0);
		CHECK(evs[5]->data[6] == TSOF_OXM_UDP_DST << 1 && evs[5]->code == 1);
		CHECK(evs[6]->code == TSOF_OFPIT_WRITE_METADATA && evs[6]->metadata == 5 && evs[6]->mask == 0xff);
		CHECK(evs[7]->code == TSOF_OFPIT_GOTO_TABLE && evs[7]->table_id == 1);
		CHECK(evs[8]->table_id == 1 && evs[8]->priority == 7 && evs[8]->cookie == 0xabc && evs[8]->metadata == 5);
		CHECK(rd16(evs[10]->data) == TSOF_OFPAT_OUTPUT && rd32(evs[10]->data + 4) == TSOF_OFPP_CONTROLLER &&
		      rd16(evs[10]->data + 8) == 128);
		CHECK(evs[11]->code == TSOF_OFPR_ACTION && evs[11]->table_id == 1 && evs[11]->cookie == 0xabc &&
		      evs[11]->arg == 128 && evs[11]->data_len == n);
		/* The packet-in carries the frame as the set-field left it. */
		struct spec w = s;
		w.v4src = 0x09090909;
		CHECK_EQ(build(&w, e), n);
		CHECK_MEM(evs[11]->data, e, n);
		/* write-actions: the set in its order, group before output. */
		CHECK(evs[12]->code == TSOF_OFPIT_WRITE_ACTIONS && evs[12]->data_len == 24 &&
		      rd16(evs[12]->data) == TSOF_OFPAT_GROUP && rd32(evs[12]->data + 4) == 5 &&
		      rd16(evs[12]->data + 8) == TSOF_OFPAT_OUTPUT && rd32(evs[12]->data + 12) == 4);
		CHECK(rd16(evs[14]->data) == TSOF_OFPAT_GROUP && evs[14]->depth == 0);
		CHECK(evs[15]->id == 5 && evs[15]->code == TSOF_OFPGT_ALL && evs[15]->arg == 2);
		CHECK(evs[16]->arg == 0 && evs[16]->depth == 1 && evs[17]->depth == 1);
		CHECK(evs[19]->id == 2 && evs[19]->depth == 1 && evs[19]->data_len == n);
		w.v4dst = 0x0a0a0a0a;
		build(&w, e);
		CHECK_MEM(evs[19]->data, e, n);
		CHECK(evs[20]->arg == 1 && evs[22]->id == 3);
	}
	free(tr.buf);
	/* The real frame does what the trace said, and counts. */
	send_frame(f, n, 1, 0);
	CHECK(n_outs == 2 && outs[0].port == 2 && outs[1].port == 3 && n_pins == 1);
	struct tsof_pl_thread_stats st;
	tsof_pipeline_thread_stats(th, &st);
	CHECK(st.emc_hits == 0 && st.cls_lookups == 2 && st.packets == 1);
	/* And the next trace, with counters that are not zero, moves none. */
	read_untouched(&before, 5, 1);
	CHECK(before.t1.matched == 1 && before.group.packets == 1 && before.meter.packets == 1 && before.flows[0].packets == 1);
	n_outs = n_pins = 0;
	CHECK_EQ(trace_frame(&tr, f, n, 1), 0);
	CHECK_EQ(n_evs, 23);
	CHECK_UNTOUCHED(before, 5, 1);
	free(tr.buf);
	teardown();
}

/* A meter's drop band, as the trace sees it: its tokens are not taken. */
static void test_trace_meter_tokens(void)
{
	setup();
	struct mb bands = { .n = 0 }, in = { .n = 0 }, acts = { .n = 0 };
	struct spec s = spec_of(K_UDP4);
	uint8_t f[2048];
	size_t n = build(&s, f);
	struct tsof_trace tr;

	band(&bands, TSOF_OFPMBT_DROP, 1, 1, 0);  /* one packet a second, a burst of one */
	CHECK_EQ(meter_mod(TSOF_OFPMC_ADD, TSOF_OFPMF_PKTPS | TSOF_OFPMF_BURST, 2, &bands), 0);
	i_meter(&in, 2);
	a_out(&acts, 2, 0);
	i_actions(&in, TSOF_OFPIT_APPLY_ACTIONS, &acts);
	CHECK_EQ(add(0, 1, NULL, &in), 0);
	for (int i = 0; i < 3; i++) {  /* the one token stays */
		CHECK_EQ(trace_frame(&tr, f, n, 1), 0);
		CHECK_KINDS(TSOF_TRACE_FLOW, TSOF_TRACE_TABLE, TSOF_TRACE_INSTRUCTION, TSOF_TRACE_INSTRUCTION,
			    TSOF_TRACE_ACTION, TSOF_TRACE_OUTPUT, TSOF_TRACE_ACTION_SET);
		free(tr.buf);
	}
	send_frame(f, n, 1, 0);  /* takes it */
	CHECK_OUT1(2);
	CHECK_EQ(trace_frame(&tr, f, n, 1), 0);
	CHECK_KINDS(TSOF_TRACE_FLOW, TSOF_TRACE_TABLE, TSOF_TRACE_INSTRUCTION, TSOF_TRACE_DROP);
	if (n_evs == 4)
		CHECK(evs[2]->id == 2 && evs[2]->band == TSOF_OFPMBT_DROP && evs[2]->arg == 1 &&
		      evs[3]->code == TSOF_TRACE_DROP_METER && evs[3]->id == 2);
	free(tr.buf);
	struct tsof_pl_thread_stats st;
	tsof_pipeline_thread_stats(th, &st);
	CHECK_EQ(st.meter_drops, 0);
	send_frame(f, n, 1, 0);  /* a real one is dropped: the trace had it right */
	CHECK_EQ(n_outs, 0);
	tsof_pipeline_thread_stats(th, &st);
	CHECK_EQ(st.meter_drops, 1);
	teardown();
}

/* A table miss, a table-miss flow, an ingress port that receives nothing,
 * and NORMAL, which a trace does not teach. */
static void test_trace_miss_normal(void)
{
	setup();
	struct spec s = spec_of(K_TCP4);
	uint8_t f[2048];
	size_t n = build(&s, f);
	struct tsof_trace tr;
	struct untouched before;

	read_untouched(&before, 0, 0);
	CHECK_EQ(trace_frame(&tr, f, n, 1), 0);
	CHECK_KINDS(TSOF_TRACE_FLOW, TSOF_TRACE_TABLE, TSOF_TRACE_DROP);
	if (n_evs == 3)
		CHECK(evs[1]->code == 0 && evs[1]->data_len == 0 && evs[2]->code == TSOF_TRACE_DROP_TABLE_MISS &&
		      evs[2]->id == 0);
	free(tr.buf);
	CHECK_UNTOUCHED(before, 0, 0);
	CHECK_EQ(before.t0.lookups, 0);

	struct mb acts = { .n = 0 };
	a_out(&acts, TSOF_OFPP_CONTROLLER, TSOF_OFPCML_NO_BUFFER);
	CHECK_EQ(add_apply(0, 0, NULL, &acts), 0);
	CHECK_EQ(trace_frame(&tr, f, n, 1), 0);
	CHECK_KINDS(TSOF_TRACE_FLOW, TSOF_TRACE_TABLE, TSOF_TRACE_INSTRUCTION, TSOF_TRACE_ACTION,
		    TSOF_TRACE_PACKET_IN, TSOF_TRACE_ACTION_SET);
	if (n_evs == 6)
		CHECK(evs[4]->code == TSOF_OFPR_NO_MATCH && evs[4]->arg == TSOF_OFPCML_NO_BUFFER);
	free(tr.buf);
	CHECK_EQ(n_pins, 0);

	tsof_pipeline_port_set(pl, 3, TSOF_OFPPC_NO_RECV, TSOF_OFPPS_LIVE);
	CHECK_EQ(trace_frame(&tr, f, n, 3), 0);
	CHECK_KINDS(TSOF_TRACE_FLOW, TSOF_TRACE_DROP);
	if (n_evs == 2)
		CHECK(evs[1]->code == TSOF_TRACE_DROP_NO_RECV && evs[1]->id == 3);
	free(tr.buf);

	/* NORMAL: the trace says it would learn MAC2 on port 1, and does not. */
	acts.n = 0;
	a_out(&acts, TSOF_OFPP_NORMAL, 0);
	CHECK_EQ(add_apply(0, 10, NULL, &acts), 0);
	CHECK_EQ(trace_frame(&tr, f, n, 1), 0);
	CHECK(n_evs == 14 && evs[4]->kind == TSOF_TRACE_NORMAL && evs[4]->code == 1 && evs[4]->id == 0);
	int flooded = 0;
	for (int i = 0; i < n_evs; i++)
		flooded += evs[i]->kind == TSOF_TRACE_OUTPUT;
	CHECK_EQ(flooded, 7 + 1);  /* ports 2 to 8 and LOCAL; port 3 is NO_RECV, not NO_FWD */
	free(tr.buf);
	struct spec back = s;  /* from port 2, to MAC2 */
	memcpy(back.dst, s.src, 6);
	memcpy(back.src, s.dst, 6);
	uint8_t g[2048];
	size_t gn = build(&back, g);
	CHECK_EQ(trace_frame(&tr, g, gn, 2), 0);
	CHECK(n_evs > 4 && evs[4]->kind == TSOF_TRACE_NORMAL && evs[4]->id == 0);  /* not learned */
	free(tr.buf);
	send_frame(f, n, 1, 0);  /* a real frame teaches it */
	CHECK_EQ(trace_frame(&tr, g, gn, 2), 0);
	CHECK_KINDS(TSOF_TRACE_FLOW, TSOF_TRACE_TABLE, TSOF_TRACE_INSTRUCTION, TSOF_TRACE_ACTION, TSOF_TRACE_NORMAL,
		    TSOF_TRACE_OUTPUT, TSOF_TRACE_ACTION_SET);
	if (n_evs == 7)
		CHECK(evs[4]->id == 1 && evs[5]->id == 1);
	free(tr.buf);
	teardown();
}

/* Traces on one control thread, changes on another and a datapath thread
 * forwarding: each trace sees one version whole (the port and the address
 * it sets agree, as in test_concurrent_changes) and TSan sees no race. */
struct trace_race {
	_Atomic uint64_t traces, wrong;
};

static struct trace_race trace_race;

static void *race_tracer(void *arg)
{
	struct spec s = spec_of(K_TCP4);
	uint8_t f[256];
	size_t n = build(&s, f);

	(void)arg;
	while (!atomic_load(&race.stop)) {
		struct tsof_trace tr = { 0 };
		uint32_t port = 0, ends = 0;
		uint8_t last = 0;
		/* The address set, and where the frame went: out, or dropped for
		 * being sent back to its ingress port, 1. */
		if (tsof_pipeline_trace(pl, f, (uint32_t)n, 1, 0, &tr) == 0)
			for (size_t at = 0; at < tr.len; at += ((struct tsof_trace_event *)(tr.buf + at))->size) {
				const struct tsof_trace_event *e = (const struct tsof_trace_event *)(tr.buf + at);
				if (e->kind == TSOF_TRACE_ACTION && e->data[6] == TSOF_OXM_IPV4_DST << 1)
					last = e->data[11];
				if (e->kind == TSOF_TRACE_OUTPUT ||
				    (e->kind == TSOF_TRACE_DROP && e->code == TSOF_TRACE_DROP_IN_PORT)) {
					ends++;
					port = e->id;
				}
			}
		if (ends != 1 || port != (uint32_t)(last % 4) + 1)
			atomic_fetch_add(&trace_race.wrong, 1);
		atomic_fetch_add(&trace_race.traces, 1);
		free(tr.buf);
	}
	return NULL;
}

static void test_trace_concurrent(void)
{
	static const struct tsof_pipeline_ops ops = { race_output, NULL, NULL, NULL, NULL };
	pthread_t dp, tracer;

	pl = tsof_pipeline_new(&ops);
	for (uint32_t p = 1; p <= 4; p++)
		tsof_pipeline_port_set(pl, p, 0, TSOF_OFPPS_LIVE);
	race_change(1);
	struct tsof_pl_thread *t = tsof_pipeline_thread_new(pl, NULL);
	atomic_store(&race.stop, 0);
	atomic_store(&race.frames, 0);
	atomic_store(&race.wrong, 0);
	atomic_store(&trace_race.traces, 0);
	atomic_store(&trace_race.wrong, 0);
	pthread_create(&dp, NULL, race_datapath, t);
	pthread_create(&tracer, NULL, race_tracer, NULL);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t k = 2;; k++) {
		race_change(k);
		tsof_pipeline_reclaim(pl);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec) > 300000000ll)
			break;
	}
	atomic_store(&race.stop, 1);
	pthread_join(dp, NULL);
	pthread_join(tracer, NULL);
	if (!quiet)
		printf("     %llu traces against changes and %llu frames\n",
		       (unsigned long long)atomic_load(&trace_race.traces), (unsigned long long)atomic_load(&race.frames));
	CHECK(atomic_load(&trace_race.traces) > 10);
	CHECK_EQ(atomic_load(&trace_race.wrong), 0);
	CHECK_EQ(atomic_load(&race.wrong), 0);
	tsof_pipeline_thread_free(t);
	tsof_pipeline_free(pl);
}

int main(int argc, char **argv)
{
	if (parse_args(argc, argv))
		return 2;
	run("match: every field, through the pipeline", test_match_every_field);
	run("set_field: every settable field, checksums from scratch", test_set_field_every_field);
	run("set_field: a UDP checksum that comes out 0", test_udp_zero_result);
	run("set_field: partial checksums (offloads)", test_csum_partial);
	run("actions: push, pop, TTLs", test_push_pop_ttl);
	run("actions: invalid TTL goes to the controller", test_invalid_ttl);
	run("actions: output to reserved ports, set_queue", test_output_ports);
	run("instructions: apply-actions in list order", test_apply_order);
	run("instructions: the action set's order, clear, group over output", test_action_set_order);
	run("instructions: write-metadata, goto-table", test_write_metadata_goto);
	run("instructions: the key follows header changes", test_reextract_before_goto);
	run("tables: table miss", test_table_miss);
	run("groups: all, indirect, chained", test_group_all_indirect_chain);
	run("groups: counters, modify", test_group_counters);
	run("groups: select by weight", test_group_select);
	run("groups: fast failover, watch_port and watch_group", test_group_ff);
	run("groups: group-mod errors, delete", test_group_mod_errors);
	run("meters: drop, kbps and pktps, burst", test_meter_drop);
	run("meters: dscp_remark and band choice", test_meter_dscp_remark);
	run("meters: meter-mod errors, delete", test_meter_mod_errors);
	run("flow-mod: add, replace, overlap, modify, delete", test_flow_mod_semantics);
	run("flow-mod: errors", test_flow_mod_errors);
	run("mods: errors in wire order, around group and meter lookups", test_mod_error_order);
	run("flows: counters and timeouts", test_counters_and_timeouts);
	run("timeouts: on time, several lengths, used flows kept", test_timeouts_on_time);
	run("timeouts: deleted, modified and replaced flows", test_timeouts_delete_modify);
	run("bundle: flow mods in force together, or none of them", test_bundle_commit);
	run("timeouts: 200,000 flows expire in one call each", test_timeouts_many);
	run("timeouts: the wheel looks only at what may be due", test_wheel_looks_at_what_is_due);
	run("packet-out", test_packet_out);
	run("normal: learn, unicast, move, same port, group addresses, port rules", test_normal_learning);
	run("normal: VLANs learn apart, tags unchanged", test_normal_vlans);
	run("normal: aging on the simulated clock", test_normal_aging);
	run("normal: a full table keeps the newest, never a wrong port", test_normal_full_table);
	run("normal: a port deleted or down forgets", test_normal_port_gone);
	run("normal: from the action set, a group bucket, packet-out", test_normal_set_group_packet_out);
	run("ryu: the os-ken switch test cases", test_ryu_vectors);
	run("emc: same results with and without the cache", test_emc_same_results);
	run("atomicity: concurrent changes across tables and a group", test_concurrent_changes);
	run("flow-removed: a concurrent thread's counts are all reported", test_removed_counts_concurrent);
	run("normal: concurrent learning, lookups and forgetting", test_normal_concurrent);
	run("trace: two tables, goto, meter, group, packet-in; nothing counted", test_trace_tables_group_meter);
	run("trace: a meter's tokens are looked at, not taken", test_trace_meter_tokens);
	run("trace: table miss, table-miss flow, NO_RECV, NORMAL learns nothing", test_trace_miss_normal);
	run("trace: concurrent with changes and a datapath thread", test_trace_concurrent);
	return summary("test_pipeline");
}
