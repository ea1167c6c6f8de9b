/*
 * test_flow.c: golden, truncation and malformed-frame tests for
 * tsof_flow_extract(). Built with ASan and UBSan by `make -C native test`.
 *
 * Every extraction goes through extract(), which copies the frame into a heap
 * buffer of exactly its length (so ASan catches a read one byte past the end)
 * and checks the invariants any key must hold: padding zero, fields of
 * unparsed layers zero, header offsets inside the frame. Then each test checks
 * its own expectations.
 */
#include "flow.h"
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- key helpers ---- */

#define H16 tsof_ntoh16
#define H32 tsof_ntoh32

static const struct tsof_flow_field *field(const char *name)
{
	for (int i = 0; i < TSOF_N_FIELDS; i++)
		if (!strcmp(tsof_flow_fields[i].name, name))
			return &tsof_flow_fields[i];
	fprintf(stderr, "no field %s\n", name);
	abort();
}

static int is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* Fields seen non-zero in some golden test: the coverage test reads it. */
static uint8_t field_seen[TSOF_N_FIELDS];

/* --write-corpus DIR: every whole frame a test builds becomes a fuzz seed
 * (prefixes are left to the fuzzer). */
static const char *corpus_dir;
static int in_prefixes;

static void write_seed(const uint8_t *f, size_t n)
{
	char path[512], name[64];
	uint64_t h = 0xcbf29ce484222325ull;  /* FNV-1a: a stable name per content */
	size_t j = 0;

	for (size_t i = 0; i < n; i++)
		h = (h ^ f[i]) * 0x100000001b3ull;
	for (const char *c = cur_test; *c && j < 40; c++)
		name[j++] = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ? *c : '-';
	name[j] = 0;
	snprintf(path, sizeof path, "%s/seed-%s-%016llx", corpus_dir, name, (unsigned long long)h);
	FILE *out = fopen(path, "wb");
	if (!out || fwrite(f, 1, n, out) != n || fclose(out)) {
		perror(path);
		exit(2);
	}
}

/* Extracts from an exact-size heap copy of f[0..n) and checks the invariants. */
static void extract_at(const char *file, int line, const uint8_t *f, size_t n,
		       struct tsof_flow_key *k, struct tsof_flow_ofs *o)
{
	struct tsof_flow_ofs ofs;
	uint8_t *copy = malloc(n ? n : 1);

	if (!copy)
		abort();
	if (n)
		memcpy(copy, f, n);
	if (corpus_dir && !in_prefixes && n)
		write_seed(f, n);
	/* Fill with a marker so that a field extraction forgot to zero shows. */
	memset(k, 0xa5, sizeof *k);
	int rc = tsof_flow_extract_ofs(copy, n, 7, k, &ofs);
	free(copy);
	if (o)
		*o = ofs;

	n_checks++;
	if (rc != 0)
		fail(file, line, "extract returned %d", rc);
	if (!is_zero(&k->pad0, 1) || !is_zero(&k->pad1, 1) || !is_zero(k->pad2, 4))
		fail(file, line, "padding not zero");
	if (H32(k->in_port) != 7 || H32(k->in_phy_port) != 7 || k->metadata || k->tunnel_id)
		fail(file, line, "pipeline fields wrong");
	for (int i = 0; i < TSOF_N_FIELDS; i++) {
		const struct tsof_flow_field *fd = &tsof_flow_fields[i];
		const uint8_t *v = (const uint8_t *)k + fd->ofs;
		if (fd->layer && !(k->layers & fd->layer) && !is_zero(v, fd->len))
			fail(file, line, "%s set without its layer", fd->name);
		if (!is_zero(v, fd->len) && fd->oxm != TSOF_OXM_IN_PORT && fd->oxm != TSOF_OXM_IN_PHY_PORT)
			field_seen[i] = 1;
	}
	if (k->layers & ~0xffffu)
		fail(file, line, "unknown layer bits 0x%x", k->layers);
	/* An offset is set exactly when its layer is, and lies inside the frame. */
	struct { uint32_t ofs, layers; size_t min; const char *name; } chk[] = {
		{ ofs.vlan, TSOF_L_VLAN, 4, "vlan" },
		{ ofs.l2_5, TSOF_L_MPLS | TSOF_L_PBB, 4, "l2_5" },
		{ ofs.l3, TSOF_L_ARP | TSOF_L_IPV4 | TSOF_L_IPV6, 20, "l3" },
		{ ofs.l4, TSOF_L_TCP | TSOF_L_UDP | TSOF_L_SCTP | TSOF_L_ICMPV4 | TSOF_L_ICMPV6, 8, "l4" },
	};
	for (size_t i = 0; i < sizeof chk / sizeof chk[0]; i++) {
		int has = (k->layers & chk[i].layers) != 0;
		if (has != (chk[i].ofs != TSOF_OFS_NONE))
			fail(file, line, "offset %s vs layers 0x%x", chk[i].name, k->layers);
		if (has && (chk[i].ofs > n || n - chk[i].ofs < chk[i].min))
			fail(file, line, "offset %s = %u outside a %zu-byte frame", chk[i].name, chk[i].ofs, n);
	}
}

#define extract(f, n, k) extract_at(__FILE__, __LINE__, (f), (n), (k), NULL)

/* ---- frame builder ---- */

struct fb {
	uint8_t d[1024];
	size_t n;
};

static void put8(struct fb *b, unsigned v) { b->d[b->n++] = (uint8_t)v; }
static void put16(struct fb *b, unsigned v) { put8(b, v >> 8); put8(b, v); }
static void put32(struct fb *b, uint32_t v) { put16(b, v >> 16); put16(b, v & 0xffff); }
static void put(struct fb *b, const void *p, size_t n) { memcpy(b->d + b->n, p, n); b->n += n; }
static void zeros(struct fb *b, size_t n) { memset(b->d + b->n, 0, n); b->n += n; }
static void set16(struct fb *b, size_t at, unsigned v) { b->d[at] = (uint8_t)(v >> 8); b->d[at + 1] = (uint8_t)v; }

static const uint8_t MAC_D[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
static const uint8_t MAC_S[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
static const uint8_t MAC_X[6] = { 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };
static const uint8_t IP6_A[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 };
static const uint8_t IP6_B[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02 };
static const uint8_t IP6_T[16] = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55 };
#define IP4_A 0x0a000001u
#define IP4_B 0xc0a80102u

static void eth(struct fb *b, unsigned type)
{
	b->n = 0;
	put(b, MAC_D, 6);
	put(b, MAC_S, 6);
	put16(b, type);
}

static void tag(struct fb *b, unsigned tci, unsigned type)
{
	put16(b, tci);
	put16(b, type);
}

/* IPv4 header without options; returns its offset for ipv4_done(). */
static size_t ipv4(struct fb *b, unsigned tos, unsigned frag, unsigned proto)
{
	size_t at = b->n;
	put8(b, 0x45);
	put8(b, tos);
	put16(b, 0);          /* total length: ipv4_done() */
	put16(b, 0x1234);
	put16(b, frag);
	put8(b, 64);
	put8(b, proto);
	put16(b, 0);
	put32(b, IP4_A);
	put32(b, IP4_B);
	return at;
}

static void ipv4_done(struct fb *b, size_t at) { set16(b, at + 2, (unsigned)(b->n - at)); }

static size_t ipv6(struct fb *b, unsigned tc, uint32_t flabel, unsigned nxt)
{
	size_t at = b->n;
	put32(b, 6u << 28 | tc << 20 | flabel);
	put16(b, 0);          /* payload length: ipv6_done() */
	put8(b, nxt);
	put8(b, 64);
	put(b, IP6_A, 16);
	put(b, IP6_B, 16);
	return at;
}

static void ipv6_done(struct fb *b, size_t at) { set16(b, at + 4, (unsigned)(b->n - at - 40)); }

/* An 8-byte-unit extension header (hop-by-hop, routing, destination). */
static void ext(struct fb *b, unsigned nxt, unsigned len)
{
	put8(b, nxt);
	put8(b, len);
	zeros(b, 6 + 8 * len);
}

static void frag6(struct fb *b, unsigned nxt, unsigned offset, int more)
{
	put8(b, nxt);
	put8(b, 0);
	put16(b, offset << 3 | (more ? 1 : 0));
	put32(b, 0xdeadbeef);
}

static void tcp(struct fb *b, unsigned sp, unsigned dp)
{
	put16(b, sp);
	put16(b, dp);
	put32(b, 1);
	put32(b, 0);
	put16(b, 0x5002);     /* data offset 5, SYN */
	put16(b, 65535);
	put32(b, 0);
}

static void udp(struct fb *b, unsigned sp, unsigned dp)
{
	put16(b, sp);
	put16(b, dp);
	put16(b, 8);
	put16(b, 0);
}

static void icmp(struct fb *b, unsigned type, unsigned code)
{
	put8(b, type);
	put8(b, code);
	put16(b, 0);
	put32(b, 0x00010002);
}

static void nd(struct fb *b, unsigned type, const uint8_t target[16])
{
	icmp(b, type, 0);
	put(b, target, 16);
}

static void nd_lla(struct fb *b, unsigned type, const uint8_t mac[6])
{
	put8(b, type);
	put8(b, 1);
	put(b, mac, 6);
}

/* Layers every full IPv4 or IPv6 frame has. */
#define L4V (TSOF_L_ETH | TSOF_L_IP | TSOF_L_IPV4)
#define L6V (TSOF_L_ETH | TSOF_L_IP | TSOF_L_IPV6)

/* ---- golden tests: one frame per protocol, every field checked ---- */

static void test_field_table(void)
{
	uint8_t owner[TSOF_FLOW_KEY_SIZE] = { 0 };
	uint64_t oxms = 0;

	for (int i = 0; i < TSOF_N_FIELDS; i++) {
		const struct tsof_flow_field *fd = &tsof_flow_fields[i];
		CHECK(fd->oxm < 64 && !(oxms >> fd->oxm & 1));
		oxms |= 1ull << fd->oxm;
		CHECK(fd->ofs + fd->len <= TSOF_FLOW_KEY_SIZE);
		for (int j = 0; j < fd->len; j++) {
			CHECK(!owner[fd->ofs + j]);
			owner[fd->ofs + j] = 1;
		}
	}
	/* OXM 0..39 and 41 (pbb_uca); 40 is not a 1.3 field. */
	CHECK_EQ(oxms, ((1ull << 40) - 1) | 1ull << 41);
	/* OXM payload widths (OpenFlow 1.3.5 table 12). */
	CHECK_EQ(field("vlan_vid")->len, 2);
	CHECK_EQ(field("pbb_isid")->len, 3);
	CHECK_EQ(field("mpls_label")->len, 4);
	CHECK_EQ(field("ipv6_flabel")->len, 4);
	CHECK_EQ(field("ipv6_exthdr")->len, 2);
	CHECK_EQ(field("arp_op")->len, 2);
	CHECK_EQ(field("metadata")->len, 8);
	/* Every byte not in a field is layers or padding. */
	int free_bytes = 0;
	for (int i = 0; i < TSOF_FLOW_KEY_SIZE; i++)
		free_bytes += !owner[i];
	CHECK_EQ(free_bytes, 4 + 1 + 1 + 4);
}

static void test_pipeline_fields(void)
{
	struct tsof_flow_key k;
	uint8_t f[64] = { 0 };

	tsof_flow_extract(f, sizeof f, 0xfffffffe, &k);
	CHECK_EQ(H32(k.in_port), 0xfffffffe);
	CHECK_EQ(H32(k.in_phy_port), 0xfffffffe);
	CHECK_EQ(k.metadata, 0);
	CHECK_EQ(k.tunnel_id, 0);
	/* The caller sets these afterwards, in network order like the rest. */
	k.metadata = tsof_hton64(0x0102030405060708ull);
	k.tunnel_id = tsof_hton64(0xfedcba9876543210ull);
	CHECK_EQ(((uint8_t *)&k.metadata)[0], 1);
	CHECK_EQ(tsof_ntoh64(k.tunnel_id), 0xfedcba9876543210ull);
	field_seen[2] = field_seen[38] = 1;  /* metadata, tunnel_id: set by the caller */
	CHECK_EQ(tsof_flow_extract(f, sizeof f, 1, NULL), -1);
	CHECK_EQ(tsof_flow_extract(NULL, 0, 1, &k), 0);
	CHECK_EQ(k.layers, 0);
	CHECK_EQ(tsof_flow_extract(NULL, 100, 1, &k), 0);
	CHECK_EQ(k.layers, 0);
}

static void test_eth_only(void)
{
	struct fb b;
	struct tsof_flow_key k;

	eth(&b, 0x88cc);  /* LLDP: no parser, just the Ethernet fields */
	zeros(&b, 30);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, TSOF_L_ETH);
	CHECK_MEM(k.eth_dst, MAC_D, 6);
	CHECK_MEM(k.eth_src, MAC_S, 6);
	CHECK_EQ(H16(k.eth_type), 0x88cc);
	CHECK_EQ(k.vlan_vid, 0);  /* OFPVID_NONE */
	extract(b.d, 13, &k);
	CHECK_EQ(k.layers, 0);
	CHECK(is_zero(k.eth_dst, 6));
	extract(b.d, 14, &k);
	CHECK_EQ(k.layers, TSOF_L_ETH);
}

static void test_ipv4_tcp(void)
{
	struct fb b;
	struct tsof_flow_key k;
	struct tsof_flow_ofs o;

	eth(&b, 0x0800);
	size_t ip = ipv4(&b, 0xb9, 0x4000 /* DF */, 6);  /* DSCP 46 (EF), ECN 1 */
	tcp(&b, 49152, 443);
	ipv4_done(&b, ip);
	extract_at(__FILE__, __LINE__, b.d, b.n, &k, &o);
	CHECK_EQ(k.layers, L4V | TSOF_L_TCP);
	CHECK_EQ(H16(k.eth_type), 0x0800);
	CHECK_EQ(k.ip_dscp, 46);
	CHECK_EQ(k.ip_ecn, 1);
	CHECK_EQ(k.ip_proto, 6);
	CHECK_EQ(H32(k.ipv4_src), IP4_A);
	CHECK_EQ(H32(k.ipv4_dst), IP4_B);
	CHECK_EQ(H16(k.tcp_src), 49152);
	CHECK_EQ(H16(k.tcp_dst), 443);
	CHECK_EQ(o.l3, 14);
	CHECK_EQ(o.l4, 34);
	CHECK_EQ(o.vlan, TSOF_OFS_NONE);
	/* The key holds wire bytes: ipv4_src reads as 10.0.0.1 in memory order. */
	CHECK_EQ(((uint8_t *)&k.ipv4_src)[0], 10);
}

static void test_ipv4_udp_sctp_icmp(void)
{
	struct fb b;
	struct tsof_flow_key k;

	eth(&b, 0x0800);
	size_t ip = ipv4(&b, 0, 0, 17);
	udp(&b, 53, 33000);
	ipv4_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L4V | TSOF_L_UDP);
	CHECK_EQ(H16(k.udp_src), 53);
	CHECK_EQ(H16(k.udp_dst), 33000);
	CHECK_EQ(k.tcp_src, 0);

	eth(&b, 0x0800);
	ip = ipv4(&b, 0, 0, 132);
	put16(&b, 2905); put16(&b, 36412); put32(&b, 0x11223344); put32(&b, 0);
	ipv4_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L4V | TSOF_L_SCTP);
	CHECK_EQ(H16(k.sctp_src), 2905);
	CHECK_EQ(H16(k.sctp_dst), 36412);

	eth(&b, 0x0800);
	ip = ipv4(&b, 0, 0, 1);
	icmp(&b, 3, 4);  /* destination unreachable, fragmentation needed */
	ipv4_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L4V | TSOF_L_ICMPV4);
	CHECK_EQ(k.icmpv4_type, 3);
	CHECK_EQ(k.icmpv4_code, 4);
	CHECK_EQ(k.ip_proto, 1);

	/* An unknown protocol: L3 only. */
	eth(&b, 0x0800);
	ip = ipv4(&b, 0, 0, 47);
	zeros(&b, 24);
	ipv4_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L4V);
	CHECK_EQ(k.ip_proto, 47);
}

static void test_ipv4_options(void)
{
	struct fb b;
	struct tsof_flow_key k;
	struct tsof_flow_ofs o;

	eth(&b, 0x0800);
	size_t ip = ipv4(&b, 0, 0, 17);
	b.d[ip] = 0x47;                /* IHL 7: 8 bytes of options */
	put32(&b, 0x94040000);         /* router alert */
	put32(&b, 0x01010101);         /* NOPs: would be read as UDP ports if skipped wrongly */
	udp(&b, 1234, 5678);
	ipv4_done(&b, ip);
	extract_at(__FILE__, __LINE__, b.d, b.n, &k, &o);
	CHECK_EQ(k.layers, L4V | TSOF_L_UDP);
	CHECK_EQ(H16(k.udp_src), 1234);
	CHECK_EQ(H16(k.udp_dst), 5678);
	CHECK_EQ(o.l4, 14 + 28);
}

static void test_ipv4_fragments(void)
{
	struct fb b;
	struct tsof_flow_key k;

	/* First fragment: MF set, offset 0: L4 is there. */
	eth(&b, 0x0800);
	size_t ip = ipv4(&b, 0, 0x2000, 17);
	udp(&b, 1, 2);
	ipv4_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L4V | TSOF_L_FRAG | TSOF_L_UDP);
	CHECK_EQ(H16(k.udp_dst), 2);

	/* Later fragments (with and without MF): ip_proto, no L4. */
	for (unsigned frag = 0x0001; frag <= 0x2001; frag += 0x2000) {
		eth(&b, 0x0800);
		ip = ipv4(&b, 0, frag, 17);
		udp(&b, 1, 2);
		ipv4_done(&b, ip);
		extract(b.d, b.n, &k);
		CHECK_EQ(k.layers, L4V | TSOF_L_FRAG | TSOF_L_LATER_FRAG);
		CHECK_EQ(k.ip_proto, 17);
		CHECK_EQ(k.udp_src, 0);
	}

	/* DF alone is not a fragment. */
	eth(&b, 0x0800);
	ip = ipv4(&b, 0, 0x4000, 17);
	udp(&b, 1, 2);
	ipv4_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L4V | TSOF_L_UDP);
}

static void test_arp(void)
{
	struct fb b;
	struct tsof_flow_key k;
	struct tsof_flow_ofs o;

	eth(&b, 0x0806);
	put16(&b, 1); put16(&b, 0x0800); put8(&b, 6); put8(&b, 4);
	put16(&b, 2);                 /* reply */
	put(&b, MAC_S, 6); put32(&b, IP4_A);
	put(&b, MAC_X, 6); put32(&b, IP4_B);
	zeros(&b, 18);                /* Ethernet padding */
	extract_at(__FILE__, __LINE__, b.d, b.n, &k, &o);
	CHECK_EQ(k.layers, TSOF_L_ETH | TSOF_L_ARP);
	CHECK_EQ(H16(k.arp_op), 2);
	CHECK_EQ(H32(k.arp_spa), IP4_A);
	CHECK_EQ(H32(k.arp_tpa), IP4_B);
	CHECK_MEM(k.arp_sha, MAC_S, 6);
	CHECK_MEM(k.arp_tha, MAC_X, 6);
	CHECK_EQ(k.ipv4_src, 0);  /* ARP's addresses are not the IP fields */
	CHECK_EQ(o.l3, 14);

	/* Only Ethernet/IPv4 ARP has OpenFlow fields. */
	static const size_t bad_at[] = { 15, 17, 18, 19 };
	static const uint8_t bad_val[] = { 6, 0xdd, 8, 16 };
	for (int i = 0; i < 4; i++) {
		struct fb c = b;
		c.d[bad_at[i]] = bad_val[i];
		extract(c.d, c.n, &k);
		CHECK_EQ(k.layers, TSOF_L_ETH);
		CHECK_EQ(H16(k.eth_type), 0x0806);
	}
}

static void test_vlan(void)
{
	struct fb b;
	struct tsof_flow_key k;
	struct tsof_flow_ofs o;

	eth(&b, 0x8100);
	tag(&b, 5u << 13 | 1 << 12 /* DEI */ | 100, 0x0800);
	size_t ip = ipv4(&b, 0, 0, 17);
	udp(&b, 7, 9);
	ipv4_done(&b, ip);
	extract_at(__FILE__, __LINE__, b.d, b.n, &k, &o);
	CHECK_EQ(k.layers, L4V | TSOF_L_VLAN | TSOF_L_UDP);
	CHECK_EQ(H16(k.vlan_vid), 0x1000 | 100);
	CHECK_EQ(k.vlan_pcp, 5);
	CHECK_EQ(H16(k.eth_type), 0x0800);
	CHECK_EQ(H16(k.udp_dst), 9);
	CHECK_EQ(o.vlan, 12);
	CHECK_EQ(o.l3, 18);

	/* A priority tag: VID 0 is still a tag (OFPVID_PRESENT | 0). */
	eth(&b, 0x8100);
	tag(&b, 3u << 13, 0x88cc);
	zeros(&b, 20);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, TSOF_L_ETH | TSOF_L_VLAN);
	CHECK_EQ(H16(k.vlan_vid), 0x1000);
	CHECK_EQ(k.vlan_pcp, 3);
	CHECK_EQ(H16(k.eth_type), 0x88cc);

	/* VID 4095 */
	eth(&b, 0x8100);
	tag(&b, 0x0fff, 0x88cc);
	extract(b.d, b.n, &k);
	CHECK_EQ(H16(k.vlan_vid), 0x1fff);
	CHECK_EQ(k.vlan_pcp, 0);
}

static void test_double_vlan(void)
{
	struct fb b;
	struct tsof_flow_key k;
	struct tsof_flow_ofs o;

	/* 802.1ad S-tag outside, 802.1Q C-tag inside: the outer tag is the match. */
	eth(&b, 0x88a8);
	tag(&b, 6u << 13 | 300, 0x8100);
	tag(&b, 2u << 13 | 42, 0x86dd);
	size_t ip = ipv6(&b, 0, 0, 6);
	tcp(&b, 22, 2222);
	ipv6_done(&b, ip);
	extract_at(__FILE__, __LINE__, b.d, b.n, &k, &o);
	CHECK_EQ(k.layers, L6V | TSOF_L_VLAN | TSOF_L_TCP);
	CHECK_EQ(H16(k.vlan_vid), 0x1000 | 300);
	CHECK_EQ(k.vlan_pcp, 6);
	CHECK_EQ(H16(k.eth_type), 0x86dd);
	CHECK_EQ(H16(k.tcp_dst), 2222);
	CHECK_EQ(o.vlan, 12);
	CHECK_EQ(o.l3, 22);

	/* Q-in-Q with two 0x8100 tags, and three tags. */
	eth(&b, 0x8100);
	tag(&b, 10, 0x8100);
	tag(&b, 20, 0x8100);
	tag(&b, 30, 0x0806);
	put16(&b, 1); put16(&b, 0x0800); put8(&b, 6); put8(&b, 4); put16(&b, 1);
	put(&b, MAC_S, 6); put32(&b, IP4_A); zeros(&b, 6); put32(&b, IP4_B);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, TSOF_L_ETH | TSOF_L_VLAN | TSOF_L_ARP);
	CHECK_EQ(H16(k.vlan_vid), 0x1000 | 10);
	CHECK_EQ(H16(k.eth_type), 0x0806);
	CHECK_EQ(H16(k.arp_op), 1);
}

static void test_mpls(void)
{
	struct fb b;
	struct tsof_flow_key k;
	struct tsof_flow_ofs o;

	eth(&b, 0x8847);
	put32(&b, 0xabcdeu << 12 | 5 << 9 | 0 << 8 | 64);   /* top: label 0xabcde, TC 5, not bottom */
	put32(&b, 16u << 12 | 0 << 9 | 1 << 8 | 64);        /* bottom */
	size_t ip = ipv4(&b, 0, 0, 6);
	tcp(&b, 1, 2);
	ipv4_done(&b, ip);
	extract_at(__FILE__, __LINE__, b.d, b.n, &k, &o);
	CHECK_EQ(k.layers, TSOF_L_ETH | TSOF_L_MPLS);  /* nothing below the top entry */
	CHECK_EQ(H16(k.eth_type), 0x8847);
	CHECK_EQ(H32(k.mpls_label), 0xabcde);
	CHECK_EQ(k.mpls_tc, 5);
	CHECK_EQ(k.mpls_bos, 0);
	CHECK_EQ(o.l2_5, 14);

	eth(&b, 0x8100);
	tag(&b, 7, 0x8848);
	put32(&b, 0xfffffu << 12 | 7 << 9 | 1 << 8 | 1);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, TSOF_L_ETH | TSOF_L_VLAN | TSOF_L_MPLS);
	CHECK_EQ(H16(k.eth_type), 0x8848);
	CHECK_EQ(H32(k.mpls_label), 0xfffff);
	CHECK_EQ(k.mpls_tc, 7);
	CHECK_EQ(k.mpls_bos, 1);
}

static void test_pbb(void)
{
	struct fb b;
	struct tsof_flow_key k;
	struct tsof_flow_ofs o;

	/* B-tag, then the I-TAG: I-PCP 3, DEI 0, UCA 1, I-SID 0xabcdef. */
	eth(&b, 0x88a8);
	tag(&b, 0x0064, 0x88e7);
	put8(&b, 3u << 5 | 1 << 3);
	put8(&b, 0xab); put8(&b, 0xcd); put8(&b, 0xef);
	put(&b, MAC_X, 6); put(&b, MAC_S, 6); put16(&b, 0x0800);
	extract_at(__FILE__, __LINE__, b.d, b.n, &k, &o);
	CHECK_EQ(k.layers, TSOF_L_ETH | TSOF_L_VLAN | TSOF_L_PBB);
	CHECK_EQ(H16(k.eth_type), 0x88e7);
	CHECK_EQ(H16(k.vlan_vid), 0x1064);
	CHECK_EQ(k.pbb_uca, 1);
	CHECK_MEM(k.pbb_isid, "\xab\xcd\xef", 3);
	CHECK_EQ(o.l2_5, 18);

	eth(&b, 0x88e7);
	put32(&b, 0xf7000001);        /* every TCI bit but UCA */
	extract(b.d, b.n, &k);
	CHECK_EQ(k.pbb_uca, 0);
	CHECK_MEM(k.pbb_isid, "\x00\x00\x01", 3);
}

static void test_llc_snap(void)
{
	struct fb b;
	struct tsof_flow_key k;

	/* 802.3 length, LLC/SNAP with OUI 0: the SNAP type is the EtherType. */
	eth(&b, 46);
	put8(&b, 0xaa); put8(&b, 0xaa); put8(&b, 0x03); put8(&b, 0); put8(&b, 0); put8(&b, 0);
	put16(&b, 0x0800);
	size_t ip = ipv4(&b, 0, 0, 17);
	udp(&b, 67, 68);
	ipv4_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L4V | TSOF_L_UDP);
	CHECK_EQ(H16(k.eth_type), 0x0800);
	CHECK_EQ(H16(k.udp_src), 67);

	/* Plain 802.2 (STP): eth_type 0x05ff, OpenFlow 1.0's "not an EtherType". */
	eth(&b, 38);
	put8(&b, 0x42); put8(&b, 0x42); put8(&b, 0x03);
	zeros(&b, 35);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, TSOF_L_ETH);
	CHECK_EQ(H16(k.eth_type), 0x05ff);

	/* SNAP cut off, and SNAP with a vendor OUI. */
	eth(&b, 46);
	put8(&b, 0xaa); put8(&b, 0xaa); put8(&b, 0x03); put8(&b, 0);
	extract(b.d, b.n, &k);
	CHECK_EQ(H16(k.eth_type), 0x05ff);
	eth(&b, 46);
	put8(&b, 0xaa); put8(&b, 0xaa); put8(&b, 0x03); put8(&b, 0); put8(&b, 0); put8(&b, 0x0c);
	put16(&b, 0x2000);            /* Cisco CDP */
	extract(b.d, b.n, &k);
	CHECK_EQ(H16(k.eth_type), 0x05ff);
}

static void test_ipv6_tcp(void)
{
	struct fb b;
	struct tsof_flow_key k;
	struct tsof_flow_ofs o;

	eth(&b, 0x86dd);
	size_t ip = ipv6(&b, 0x2a << 2 | 2, 0xabcde, 6);  /* DSCP 42, ECN 2 */
	tcp(&b, 8080, 80);
	ipv6_done(&b, ip);
	extract_at(__FILE__, __LINE__, b.d, b.n, &k, &o);
	CHECK_EQ(k.layers, L6V | TSOF_L_TCP);
	CHECK_EQ(H16(k.eth_type), 0x86dd);
	CHECK_EQ(k.ip_dscp, 42);
	CHECK_EQ(k.ip_ecn, 2);
	CHECK_EQ(k.ip_proto, 6);
	CHECK_EQ(H32(k.ipv6_flabel), 0xabcde);
	CHECK_MEM(k.ipv6_src, IP6_A, 16);
	CHECK_MEM(k.ipv6_dst, IP6_B, 16);
	CHECK_EQ(k.ipv6_exthdr, 0);
	CHECK_EQ(H16(k.tcp_src), 8080);
	CHECK_EQ(H16(k.tcp_dst), 80);
	CHECK_EQ(k.ipv4_src, 0);
	CHECK_EQ(o.l3, 14);
	CHECK_EQ(o.l4, 54);

	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 17);
	udp(&b, 546, 547);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_UDP);
	CHECK_EQ(H16(k.udp_src), 546);

	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 132);
	put16(&b, 9899); put16(&b, 9900); put32(&b, 0); put32(&b, 0);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_SCTP);
	CHECK_EQ(H16(k.sctp_dst), 9900);
}

static void test_icmpv6(void)
{
	struct fb b;
	struct tsof_flow_key k;

	eth(&b, 0x86dd);
	size_t ip = ipv6(&b, 0, 0, 58);
	icmp(&b, 128, 0);  /* echo request */
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_ICMPV6);
	CHECK_EQ(k.icmpv6_type, 128);
	CHECK_EQ(k.icmpv6_code, 0);

	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 58);
	icmp(&b, 1, 4);    /* port unreachable */
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.icmpv6_type, 1);
	CHECK_EQ(k.icmpv6_code, 4);

	/* Protocol 1 inside IPv6 and 58 inside IPv4 are not ICMP of that family. */
	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 1);
	icmp(&b, 8, 0);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V);
	CHECK_EQ(k.ip_proto, 1);
	eth(&b, 0x0800);
	ip = ipv4(&b, 0, 0, 58);
	icmp(&b, 128, 0);
	ipv4_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L4V);
}

static void test_nd(void)
{
	struct fb b;
	struct tsof_flow_key k;

	/* NS with a nonce option (RFC 3971, 16 bytes) before the SLL. */
	eth(&b, 0x86dd);
	size_t ip = ipv6(&b, 0, 0, 58);
	nd(&b, 135, IP6_T);
	put8(&b, 14); put8(&b, 2); zeros(&b, 14);
	nd_lla(&b, 1, MAC_S);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_ICMPV6 | TSOF_L_ND);
	CHECK_EQ(k.icmpv6_type, 135);
	CHECK_MEM(k.ipv6_nd_target, IP6_T, 16);
	CHECK_MEM(k.ipv6_nd_sll, MAC_S, 6);
	CHECK(is_zero(k.ipv6_nd_tll, 6));

	/* NA with TLL. */
	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 58);
	nd(&b, 136, IP6_T);
	nd_lla(&b, 2, MAC_X);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_ICMPV6 | TSOF_L_ND);
	CHECK_EQ(k.icmpv6_type, 136);
	CHECK_MEM(k.ipv6_nd_target, IP6_T, 16);
	CHECK_MEM(k.ipv6_nd_tll, MAC_X, 6);
	CHECK(is_zero(k.ipv6_nd_sll, 6));

	/* No options (DAD NS): target only. */
	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 58);
	nd(&b, 135, IP6_T);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_ICMPV6 | TSOF_L_ND);
	CHECK(is_zero(k.ipv6_nd_sll, 6));

	/* SLL in an NA and TLL in an NS are not match fields; nor is an SLL
	 * of a non-Ethernet size. */
	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 58);
	nd(&b, 136, IP6_T);
	nd_lla(&b, 1, MAC_S);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_ICMPV6 | TSOF_L_ND);
	CHECK(is_zero(k.ipv6_nd_sll, 6) && is_zero(k.ipv6_nd_tll, 6));
	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 58);
	nd(&b, 135, IP6_T);
	nd_lla(&b, 2, MAC_S);
	put8(&b, 1); put8(&b, 2); put(&b, MAC_X, 6); zeros(&b, 8);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_ICMPV6 | TSOF_L_ND);
	CHECK(is_zero(k.ipv6_nd_sll, 6) && is_zero(k.ipv6_nd_tll, 6));

	/* Router solicitation (133) carries an SLL but has no target: no ND. */
	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 58);
	icmp(&b, 133, 0);
	nd_lla(&b, 1, MAC_S);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_ICMPV6);

	/* ND with code 1 is not ND (RFC 4861 requires 0). */
	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 58);
	nd(&b, 135, IP6_T);
	b.d[55] = 1;
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_ICMPV6);
	CHECK_EQ(k.icmpv6_code, 1);
}

/* ---- IPv6 extension headers ---- */

struct exthdr_case {
	const char *what;
	unsigned chain[8];   /* extension headers in order, 0xff ends; then upper */
	unsigned upper;
	unsigned flags;
	unsigned proto;
	uint32_t layers;     /* beyond L6V */
};

#define END 0xff
static const struct exthdr_case exthdr_cases[] = {
	{ "none", { END }, 6, 0, 6, TSOF_L_TCP },
	{ "hop", { 0, END }, 6, TSOF_IEH_HOP, 6, TSOF_L_TCP },
	{ "dest", { 60, END }, 17, TSOF_IEH_DEST, 17, TSOF_L_UDP },
	{ "router", { 43, END }, 6, TSOF_IEH_ROUTER, 6, TSOF_L_TCP },
	{ "first frag", { 44, END }, 6, TSOF_IEH_FRAG, 6, TSOF_L_TCP | TSOF_L_FRAG },
	{ "auth", { 51, END }, 6, TSOF_IEH_AUTH, 6, TSOF_L_TCP },
	{ "esp", { 50, END }, 6, TSOF_IEH_ESP, 50, 0 },
	{ "nonext", { END }, 59, TSOF_IEH_NONEXT, 59, 0 },
	{ "hop nonext", { 0, END }, 59, TSOF_IEH_HOP | TSOF_IEH_NONEXT, 59, 0 },
	{ "full preferred order", { 0, 60, 43, 44, 51, 50, END }, 6,
	  TSOF_IEH_HOP | TSOF_IEH_DEST | TSOF_IEH_ROUTER | TSOF_IEH_FRAG | TSOF_IEH_AUTH | TSOF_IEH_ESP,
	  50, TSOF_L_FRAG },
	{ "two dests, expected", { 0, 60, 43, 44, 51, 60, END }, 58,
	  TSOF_IEH_HOP | TSOF_IEH_DEST | TSOF_IEH_ROUTER | TSOF_IEH_FRAG | TSOF_IEH_AUTH, 58,
	  TSOF_L_FRAG | TSOF_L_ICMPV6 },
	{ "two final dests", { 60, 60, END }, 6, TSOF_IEH_DEST | TSOF_IEH_UNREP, 6, TSOF_L_TCP },
	{ "two hops", { 0, 0, END }, 6, TSOF_IEH_HOP | TSOF_IEH_UNREP, 6, TSOF_L_TCP },
	{ "two routers", { 43, 43, END }, 6, TSOF_IEH_ROUTER | TSOF_IEH_UNREP, 6, TSOF_L_TCP },
	{ "hop not first", { 60, 0, END }, 6, TSOF_IEH_DEST | TSOF_IEH_HOP | TSOF_IEH_UNSEQ, 6, TSOF_L_TCP },
	{ "frag before router", { 44, 43, END }, 6, TSOF_IEH_FRAG | TSOF_IEH_ROUTER | TSOF_IEH_UNSEQ, 6,
	  TSOF_L_TCP | TSOF_L_FRAG },
	{ "auth before frag", { 51, 44, END }, 17, TSOF_IEH_AUTH | TSOF_IEH_FRAG | TSOF_IEH_UNSEQ, 17,
	  TSOF_L_UDP | TSOF_L_FRAG },
	{ "final dest before auth", { 60, 51, END }, 6, TSOF_IEH_DEST | TSOF_IEH_AUTH | TSOF_IEH_UNSEQ, 6,
	  TSOF_L_TCP },
	{ "router dest router", { 43, 60, 43, END }, 6,
	  TSOF_IEH_ROUTER | TSOF_IEH_DEST | TSOF_IEH_UNSEQ | TSOF_IEH_UNREP, 6, TSOF_L_TCP },
	{ "unknown header ends the walk", { 0, END }, 135, TSOF_IEH_HOP, 135, 0 },
};

static void build_chain(struct fb *b, const struct exthdr_case *c)
{
	int n = 0;
	while (c->chain[n] != END)
		n++;
	eth(b, 0x86dd);
	size_t ip = ipv6(b, 0, 0, n ? c->chain[0] : c->upper);
	for (int i = 0; i < n; i++) {
		unsigned nxt = i + 1 < n ? c->chain[i + 1] : c->upper;
		switch (c->chain[i]) {
		case 44: frag6(b, nxt, 0, 1); break;
		case 51: put8(b, nxt); put8(b, 4); zeros(b, 22); break;  /* AH, 24 bytes */
		case 50: put32(b, 0x100); put32(b, 1); zeros(b, 16); goto done;  /* ESP: SPI, seq, ciphertext */
		default: ext(b, nxt, i & 1); break;  /* vary the lengths */
		}
	}
	switch (c->upper) {
	case 6: tcp(b, 1000, 2000); break;
	case 17: udp(b, 1000, 2000); break;
	case 58: icmp(b, 129, 0); break;
	default: zeros(b, 8); break;
	}
done:
	ipv6_done(b, ip);
}

static void test_exthdr(void)
{
	struct fb b;
	struct tsof_flow_key k;

	for (size_t i = 0; i < sizeof exthdr_cases / sizeof exthdr_cases[0]; i++) {
		const struct exthdr_case *c = &exthdr_cases[i];
		build_chain(&b, c);
		extract(b.d, b.n, &k);
		n_checks++;
		if (H16(k.ipv6_exthdr) != c->flags || k.ip_proto != c->proto || k.layers != (L6V | c->layers))
			fail(__FILE__, __LINE__, "%s: exthdr 0x%x proto %u layers 0x%x, want 0x%x %u 0x%x",
			     c->what, H16(k.ipv6_exthdr), k.ip_proto, k.layers, c->flags, c->proto,
			     L6V | c->layers);
		if (c->layers & TSOF_L_TCP)
			CHECK_EQ(H16(k.tcp_dst), 2000);
	}
}

static void test_ipv6_fragments(void)
{
	struct fb b;
	struct tsof_flow_key k;

	/* A later fragment: ip_proto is the fragment header's next header, no L4,
	 * and the walk stops (the bytes after it are payload, not headers). */
	eth(&b, 0x86dd);
	size_t ip = ipv6(&b, 0, 0, 0);
	ext(&b, 44, 0);
	frag6(&b, 6, 185, 1);
	ext(&b, 0, 0);                /* looks like a hop-by-hop header: must not count */
	tcp(&b, 1, 2);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_FRAG | TSOF_L_LATER_FRAG);
	CHECK_EQ(k.ip_proto, 6);
	CHECK_EQ(H16(k.ipv6_exthdr), TSOF_IEH_HOP | TSOF_IEH_FRAG);
	CHECK_EQ(k.tcp_src, 0);

	/* Last fragment (M = 0, offset > 0). */
	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 44);
	frag6(&b, 17, 1, 0);
	udp(&b, 1, 2);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_FRAG | TSOF_L_LATER_FRAG);
	CHECK_EQ(k.ip_proto, 17);

	/* An atomic fragment (offset 0, M = 0) is still a fragment header. */
	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 44);
	frag6(&b, 17, 0, 0);
	udp(&b, 1, 2);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_FRAG | TSOF_L_UDP);
	CHECK_EQ(H16(k.ipv6_exthdr), TSOF_IEH_FRAG);
}

static void test_nd_behind_exthdr(void)
{
	struct fb b;
	struct tsof_flow_key k;

	eth(&b, 0x86dd);
	size_t ip = ipv6(&b, 0, 0, 0);
	ext(&b, 58, 0);
	nd(&b, 135, IP6_T);
	nd_lla(&b, 1, MAC_S);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_ICMPV6 | TSOF_L_ND);
	CHECK_EQ(H16(k.ipv6_exthdr), TSOF_IEH_HOP);
	CHECK_MEM(k.ipv6_nd_sll, MAC_S, 6);
}

/* ---- malformed lengths ---- */

static void test_ipv4_bad_ihl(void)
{
	struct fb b;
	struct tsof_flow_key k;

	for (unsigned ihl = 0; ihl < 5; ihl++) {
		eth(&b, 0x0800);
		size_t ip = ipv4(&b, 0, 0, 6);
		tcp(&b, 1, 2);
		ipv4_done(&b, ip);
		b.d[ip] = (uint8_t)(0x40 | ihl);
		extract(b.d, b.n, &k);
		CHECK_EQ(k.layers, TSOF_L_ETH);
		CHECK_EQ(H16(k.eth_type), 0x0800);
		CHECK_EQ(k.ip_proto, 0);
	}
	/* IHL 15 (60 bytes) in a frame with 40 bytes after Ethernet. */
	eth(&b, 0x0800);
	size_t ip = ipv4(&b, 0, 0, 6);
	tcp(&b, 1, 2);
	ipv4_done(&b, ip);
	b.d[ip] = 0x4f;
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, TSOF_L_ETH);
	/* Version 6 under EtherType IPv4. */
	b.d[ip] = 0x65;
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, TSOF_L_ETH);
}

static void test_ipv4_total_length(void)
{
	struct fb b;
	struct tsof_flow_key k;

	eth(&b, 0x0800);
	size_t ip = ipv4(&b, 0, 0, 6);
	tcp(&b, 1, 2);
	ipv4_done(&b, ip);
	static const struct { unsigned tot; uint32_t layers; } cases[] = {
		{ 40, L4V | TSOF_L_TCP },     /* true */
		{ 1500, L4V | TSOF_L_TCP },   /* longer than the frame: a cut frame */
		{ 65535, L4V | TSOF_L_TCP },
		{ 0, L4V | TSOF_L_TCP },      /* shorter than the header: ignored */
		{ 19, L4V | TSOF_L_TCP },
		{ 20, L4V },                  /* no room for TCP */
		{ 24, L4V },
		{ 39, L4V },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		set16(&b, ip + 2, cases[i].tot);
		extract(b.d, b.n, &k);
		CHECK_EQ(k.layers, cases[i].layers);
		CHECK_EQ(H32(k.ipv4_dst), IP4_B);
	}

	/* Ethernet padding after a short UDP datagram is not parsed as anything. */
	eth(&b, 0x0800);
	ip = ipv4(&b, 0, 0, 17);
	ipv4_done(&b, ip);            /* total length 20: no UDP */
	udp(&b, 1, 2);                /* ...but the padding looks like UDP */
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L4V);
	CHECK_EQ(k.udp_src, 0);
}

static void test_ipv6_bad_lengths(void)
{
	struct fb b;
	struct tsof_flow_key k;

	/* Payload length 0 (jumbogram, BIG TCP): the frame bounds the payload. */
	eth(&b, 0x86dd);
	size_t ip = ipv6(&b, 0, 0, 6);
	tcp(&b, 1, 2);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_TCP);

	/* Payload length too short for the TCP header. */
	set16(&b, ip + 4, 19);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V);
	CHECK_EQ(k.ip_proto, 6);

	/* Version 4 under EtherType IPv6. */
	set16(&b, ip + 4, 20);
	b.d[ip] = 0x40;
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, TSOF_L_ETH);

	/* Hop-by-hop header claiming 2048 bytes: the walk stops at it. */
	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 0);
	ext(&b, 6, 0);
	tcp(&b, 1, 2);
	ipv6_done(&b, ip);
	b.d[ip + 41] = 255;
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V);
	CHECK_EQ(k.ip_proto, 0);
	CHECK_EQ(k.ipv6_exthdr, 0);
	CHECK_MEM(k.ipv6_dst, IP6_B, 16);

	/* A header that fits the frame but not the payload length. */
	b.d[ip + 41] = 1;             /* 16 bytes: fits in the 28 that follow */
	set16(&b, ip + 4, 12);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V);
	CHECK_EQ(k.ip_proto, 0);

	/* AH whose length runs past the end. */
	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 51);
	put8(&b, 6); put8(&b, 200); zeros(&b, 10);
	tcp(&b, 1, 2);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V);
	CHECK_EQ(k.ip_proto, 51);
	CHECK_EQ(k.ipv6_exthdr, 0);

	/* Destination header cut after 4 bytes: not walked. */
	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 60);
	put32(&b, 0x06000000);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V);
	CHECK_EQ(k.ip_proto, 60);
}

static void test_nd_bad_options(void)
{
	struct fb b;
	struct tsof_flow_key k;

	/* An option of length 0 after a good SLL: the ND fields are invalid. */
	eth(&b, 0x86dd);
	size_t ip = ipv6(&b, 0, 0, 58);
	nd(&b, 135, IP6_T);
	nd_lla(&b, 1, MAC_S);
	put8(&b, 14); put8(&b, 0); zeros(&b, 6);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_ICMPV6);
	CHECK_EQ(k.icmpv6_type, 135);
	CHECK(is_zero(k.ipv6_nd_target, 16) && is_zero(k.ipv6_nd_sll, 6));

	/* Length 0 first: the walk must not spin. */
	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 58);
	nd(&b, 136, IP6_T);
	put8(&b, 2); put8(&b, 0); put(&b, MAC_X, 6);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_ICMPV6);
	CHECK(is_zero(k.ipv6_nd_tll, 6));

	/* Two SLL options: invalid, as in Linux and Open vSwitch. */
	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 58);
	nd(&b, 135, IP6_T);
	nd_lla(&b, 1, MAC_S);
	nd_lla(&b, 1, MAC_X);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_ICMPV6);
	CHECK(is_zero(k.ipv6_nd_sll, 6));

	/* An option running past the end: the walk stops, what came before stays. */
	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 58);
	nd(&b, 136, IP6_T);
	nd_lla(&b, 2, MAC_X);
	put8(&b, 14); put8(&b, 4); zeros(&b, 6);
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_ICMPV6 | TSOF_L_ND);
	CHECK_MEM(k.ipv6_nd_target, IP6_T, 16);
	CHECK_MEM(k.ipv6_nd_tll, MAC_X, 6);

	/* The target cut off: ICMPv6 only. */
	eth(&b, 0x86dd);
	ip = ipv6(&b, 0, 0, 58);
	nd(&b, 135, IP6_T);
	b.n -= 1;
	ipv6_done(&b, ip);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, L6V | TSOF_L_ICMPV6);
}

static void test_vlan_cut(void)
{
	struct fb b;
	struct tsof_flow_key k;

	/* Outer tag cut: the TPID is the last type that fit. */
	eth(&b, 0x8100);
	put16(&b, 100);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, TSOF_L_ETH);
	CHECK_EQ(H16(k.eth_type), 0x8100);
	CHECK_EQ(k.vlan_vid, 0);

	/* Inner tag cut: outer tag fields, eth_type the inner TPID. */
	eth(&b, 0x88a8);
	tag(&b, 100, 0x8100);
	put16(&b, 200);
	extract(b.d, b.n, &k);
	CHECK_EQ(k.layers, TSOF_L_ETH | TSOF_L_VLAN);
	CHECK_EQ(H16(k.vlan_vid), 0x1064);
	CHECK_EQ(H16(k.eth_type), 0x8100);
}

/* ---- every prefix of full frames ---- */

/* From prefix length `at` on, the key has these layers. */
struct cut {
	size_t at;
	uint32_t layers;
};

typedef void (*fixup_fn)(size_t n, struct tsof_flow_key *want);

/* The key of each prefix is the full frame's key restricted to the layers
 * that fit, adjusted by fixup() for fields that change meaning as more of the
 * frame arrives (eth_type before a tag fits, ip_proto during the walk). */
static void check_prefixes(const char *what, const uint8_t *f, size_t len,
			   const struct cut *cuts, fixup_fn fixup)
{
	struct tsof_flow_key full, k, want;

	extract(f, len, &full);
	in_prefixes = 1;
	for (size_t n = 0; n <= len; n++) {
		uint32_t layers = 0;
		for (const struct cut *c = cuts; c->at; c++)
			if (n >= c->at)
				layers |= c->layers;
		want = full;
		want.layers = layers;
		for (int i = 0; i < TSOF_N_FIELDS; i++) {
			const struct tsof_flow_field *fd = &tsof_flow_fields[i];
			if (fd->layer && !(layers & fd->layer))
				memset((uint8_t *)&want + fd->ofs, 0, fd->len);
		}
		if (fixup)
			fixup(n, &want);
		extract(f, n, &k);
		n_checks++;
		if (memcmp(&k, &want, sizeof k)) {
			fail(__FILE__, __LINE__, "%s: prefix %zu of %zu: layers 0x%x want 0x%x",
			     what, n, len, k.layers, want.layers);
			for (int i = 0; i < TSOF_N_FIELDS; i++) {
				const struct tsof_flow_field *fd = &tsof_flow_fields[i];
				if (memcmp((uint8_t *)&k + fd->ofs, (uint8_t *)&want + fd->ofs, fd->len))
					printf("    field %s differs\n", fd->name);
			}
			break;
		}
	}
	in_prefixes = 0;
}

static void fix_vlan_tpid(size_t n, struct tsof_flow_key *w)
{
	if (n >= 14 && n < 18) {
		w->eth_type = tsof_hton16(0x8100);
		w->vlan_vid = 0;  /* vlan_vid needs only Ethernet, but the tag must fit */
	}
}

static void test_prefix_ipv4_tcp_vlan(void)
{
	struct fb b;
	eth(&b, 0x8100);
	tag(&b, 2u << 13 | 77, 0x0800);
	size_t ip = ipv4(&b, 0x10, 0, 6);
	tcp(&b, 5555, 80);
	put(&b, "GET / HTTP/1.0\r\n", 16);
	ipv4_done(&b, ip);
	const struct cut cuts[] = {
		{ 14, TSOF_L_ETH }, { 18, TSOF_L_VLAN }, { 38, TSOF_L_IP | TSOF_L_IPV4 },
		{ 58, TSOF_L_TCP }, { 0, 0 },
	};
	check_prefixes("ipv4/tcp in vlan", b.d, b.n, cuts, fix_vlan_tpid);
}

static void test_prefix_ipv4_options_udp(void)
{
	struct fb b;
	eth(&b, 0x0800);
	size_t ip = ipv4(&b, 0, 0, 17);
	b.d[ip] = 0x46;
	put32(&b, 0x94040000);
	udp(&b, 4789, 4789);
	zeros(&b, 8);
	ipv4_done(&b, ip);
	const struct cut cuts[] = {
		{ 14, TSOF_L_ETH }, { 38, TSOF_L_IP | TSOF_L_IPV4 }, { 46, TSOF_L_UDP }, { 0, 0 },
	};
	check_prefixes("ipv4 options/udp", b.d, b.n, cuts, NULL);
}

static void test_prefix_icmpv4_sctp(void)
{
	struct fb b;
	eth(&b, 0x0800);
	size_t ip = ipv4(&b, 0, 0, 1);
	icmp(&b, 8, 0);
	zeros(&b, 8);
	ipv4_done(&b, ip);
	const struct cut cuts[] = {
		{ 14, TSOF_L_ETH }, { 34, TSOF_L_IP | TSOF_L_IPV4 }, { 42, TSOF_L_ICMPV4 }, { 0, 0 },
	};
	check_prefixes("icmpv4", b.d, b.n, cuts, NULL);

	eth(&b, 0x0800);
	ip = ipv4(&b, 0, 0, 132);
	put16(&b, 1); put16(&b, 2); put32(&b, 3); put32(&b, 4);
	ipv4_done(&b, ip);
	const struct cut cuts2[] = {
		{ 14, TSOF_L_ETH }, { 34, TSOF_L_IP | TSOF_L_IPV4 }, { 46, TSOF_L_SCTP }, { 0, 0 },
	};
	check_prefixes("sctp", b.d, b.n, cuts2, NULL);
}

static void test_prefix_ipv6_tcp(void)
{
	struct fb b;
	eth(&b, 0x86dd);
	size_t ip = ipv6(&b, 0xb8, 0x12345, 6);
	tcp(&b, 40000, 22);
	put(&b, "SSH-2.0-", 8);
	ipv6_done(&b, ip);
	const struct cut cuts[] = {
		{ 14, TSOF_L_ETH }, { 54, TSOF_L_IP | TSOF_L_IPV6 }, { 74, TSOF_L_TCP }, { 0, 0 },
	};
	check_prefixes("ipv6/tcp", b.d, b.n, cuts, NULL);
}

static void fix_hop(size_t n, struct tsof_flow_key *w)
{
	/* Until the hop-by-hop header fits, the walk stops at it. */
	if (n >= 54 && n < 70) {
		w->ip_proto = 0;
		w->ipv6_exthdr = 0;
	}
	/* Then the fragment header. */
	if (n >= 70 && n < 78) {
		w->ip_proto = 44;
		w->ipv6_exthdr = tsof_hton16(TSOF_IEH_HOP);
	}
}

static void test_prefix_ipv6_exthdr_udp(void)
{
	struct fb b;
	eth(&b, 0x86dd);
	size_t ip = ipv6(&b, 0, 1, 0);
	ext(&b, 44, 1);               /* 16 bytes */
	frag6(&b, 17, 0, 1);          /* first fragment */
	udp(&b, 500, 500);
	zeros(&b, 4);
	ipv6_done(&b, ip);
	const struct cut cuts[] = {
		{ 14, TSOF_L_ETH }, { 54, TSOF_L_IP | TSOF_L_IPV6 }, { 78, TSOF_L_FRAG },
		{ 86, TSOF_L_UDP }, { 0, 0 },
	};
	check_prefixes("ipv6 hop/frag/udp", b.d, b.n, cuts, fix_hop);
}

static void fix_nd_sll(size_t n, struct tsof_flow_key *w)
{
	if (n < 102)  /* the SLL option ends at 102 */
		memset(w->ipv6_nd_sll, 0, 6);
}

static void test_prefix_nd(void)
{
	struct fb b;
	eth(&b, 0x86dd);
	size_t ip = ipv6(&b, 0, 0, 58);
	nd(&b, 135, IP6_T);           /* ICMPv6 at 54..62, target 62..78 */
	put8(&b, 14); put8(&b, 2); zeros(&b, 14);  /* nonce 78..94 */
	nd_lla(&b, 1, MAC_S);         /* 94..102 */
	ipv6_done(&b, ip);
	const struct cut cuts[] = {
		{ 14, TSOF_L_ETH }, { 54, TSOF_L_IP | TSOF_L_IPV6 }, { 62, TSOF_L_ICMPV6 },
		{ 78, TSOF_L_ND }, { 0, 0 },
	};
	check_prefixes("nd ns", b.d, b.n, cuts, fix_nd_sll);
}

static void fix_na_vlan(size_t n, struct tsof_flow_key *w)
{
	fix_vlan_tpid(n, w);
	if (n < 90)  /* the TLL option ends at 90 */
		memset(w->ipv6_nd_tll, 0, 6);
}

static void test_prefix_nd_na_vlan(void)
{
	struct fb b;
	eth(&b, 0x8100);
	tag(&b, 9, 0x86dd);
	size_t ip = ipv6(&b, 0, 0, 58);
	nd(&b, 136, IP6_T);           /* 58..66, target ..82 */
	nd_lla(&b, 2, MAC_X);         /* 82..90 */
	ipv6_done(&b, ip);
	const struct cut cuts[] = {
		{ 14, TSOF_L_ETH }, { 18, TSOF_L_VLAN }, { 58, TSOF_L_IP | TSOF_L_IPV6 },
		{ 66, TSOF_L_ICMPV6 }, { 82, TSOF_L_ND }, { 0, 0 },
	};
	struct tsof_flow_key k;
	extract(b.d, b.n, &k);
	CHECK_MEM(k.ipv6_nd_tll, MAC_X, 6);
	check_prefixes("nd na in vlan", b.d, b.n, cuts, fix_na_vlan);
}

static void test_prefix_l2(void)
{
	struct fb b;
	eth(&b, 0x0806);
	put16(&b, 1); put16(&b, 0x0800); put8(&b, 6); put8(&b, 4); put16(&b, 1);
	put(&b, MAC_S, 6); put32(&b, IP4_A); zeros(&b, 6); put32(&b, IP4_B);
	const struct cut arp[] = { { 14, TSOF_L_ETH }, { 42, TSOF_L_ARP }, { 0, 0 } };
	check_prefixes("arp", b.d, b.n, arp, NULL);

	eth(&b, 0x8847);
	put32(&b, 100u << 12 | 1 << 8 | 64);
	zeros(&b, 20);
	const struct cut mpls[] = { { 14, TSOF_L_ETH }, { 18, TSOF_L_MPLS }, { 0, 0 } };
	check_prefixes("mpls", b.d, b.n, mpls, NULL);

	eth(&b, 0x88e7);
	put32(&b, 0x08123456);
	put(&b, MAC_X, 6); put(&b, MAC_S, 6); put16(&b, 0x0800);
	const struct cut pbb[] = { { 14, TSOF_L_ETH }, { 18, TSOF_L_PBB }, { 0, 0 } };
	check_prefixes("pbb", b.d, b.n, pbb, NULL);
}

/* ---- variety: each protocol in each encapsulation, with varied values ---- */

enum kind { K_TCP4, K_UDP4, K_SCTP4, K_ICMP4, K_FRAG4, K_TCP6, K_UDP6, K_SCTP6, K_ICMP6,
	    K_NS, K_NA, K_EXT6, K_ARP, K_MPLS, K_PBB, K_KINDS };

static const uint32_t kind_layers[K_KINDS] = {
	L4V | TSOF_L_TCP, L4V | TSOF_L_UDP, L4V | TSOF_L_SCTP, L4V | TSOF_L_ICMPV4,
	L4V | TSOF_L_FRAG | TSOF_L_LATER_FRAG,
	L6V | TSOF_L_TCP, L6V | TSOF_L_UDP, L6V | TSOF_L_SCTP, L6V | TSOF_L_ICMPV6,
	L6V | TSOF_L_ICMPV6 | TSOF_L_ND, L6V | TSOF_L_ICMPV6 | TSOF_L_ND, L6V | TSOF_L_UDP,
	TSOF_L_ETH | TSOF_L_ARP, TSOF_L_ETH | TSOF_L_MPLS, TSOF_L_ETH | TSOF_L_PBB,
};

static void build_kind(struct fb *b, int encap, enum kind kind, unsigned v)
{
	static const unsigned l3type[K_KINDS] = {
		0x0800, 0x0800, 0x0800, 0x0800, 0x0800, 0x86dd, 0x86dd, 0x86dd, 0x86dd,
		0x86dd, 0x86dd, 0x86dd, 0x0806, 0x8847, 0x88e7,
	};
	size_t ip = 0;

	eth(b, encap == 0 ? l3type[kind] : encap == 1 ? 0x8100 : 0x88a8);
	if (encap == 2)
		tag(b, v << 13 | (v * 37 + 1), 0x8100);
	if (encap)
		tag(b, (v & 7) << 13 | (v * 101 + 2), l3type[kind]);
	if (kind <= K_FRAG4)
		ip = ipv4(b, v * 9, kind == K_FRAG4 ? 0x2000 | (v + 1) : 0,
			  (unsigned[]){ 6, 17, 132, 1, 6 }[kind]);
	if (kind >= K_TCP6 && kind <= K_EXT6)
		ip = ipv6(b, v * 17, v * 4099, (unsigned[]){ 6, 17, 132, 58, 58, 58, 0 }[kind - K_TCP6]);
	switch (kind) {
	case K_TCP4: case K_TCP6: case K_FRAG4: tcp(b, 1024 + v, 80 + v); break;
	case K_UDP4: case K_UDP6: udp(b, 53 + v, 60000 - v); break;
	case K_SCTP4: case K_SCTP6: put16(b, 36412); put16(b, 2905 + v); put32(b, v); put32(b, 0); break;
	case K_ICMP4: icmp(b, v == 0 ? 8 : v, v & 3); break;
	case K_ICMP6: icmp(b, 128 + (v & 1), 0); break;
	case K_NS: nd(b, 135, IP6_T); if (v & 1) nd_lla(b, 1, MAC_S); break;
	case K_NA: nd(b, 136, IP6_T); if (v & 1) nd_lla(b, 2, MAC_X); break;
	case K_EXT6:
		ext(b, v & 1 ? 60 : 44, v & 3);
		if (v & 1) ext(b, 17, 0); else frag6(b, 17, 0, 1);
		udp(b, 1, 2);
		break;
	case K_ARP:
		put16(b, 1); put16(b, 0x0800); put8(b, 6); put8(b, 4); put16(b, 1 + (v & 1));
		put(b, MAC_S, 6); put32(b, IP4_A + v); put(b, v & 1 ? MAC_X : MAC_D, 6); put32(b, IP4_B);
		break;
	case K_MPLS: put32(b, (v * 7919) << 12 | (v & 7) << 9 | (v & 1) << 8 | 64); zeros(b, 20); break;
	case K_PBB: put8(b, (v & 1) << 3); put8(b, v); put8(b, 0x12); put8(b, 0x34);
		put(b, MAC_X, 6); put(b, MAC_S, 6); put16(b, 0x0800); break;
	default: break;
	}
	if (kind != K_NS && kind != K_NA)  /* zeros there would be a length-0 option */
		zeros(b, v * 3);  /* some payload */
	if (kind <= K_FRAG4)
		ipv4_done(b, ip);
	else if (kind <= K_EXT6)
		ipv6_done(b, ip);
}

static void test_variety(void)
{
	struct fb b;
	struct tsof_flow_key k;

	for (int encap = 0; encap < 3; encap++)
		for (int kind = 0; kind < K_KINDS; kind++)
			for (unsigned v = 0; v < 8; v++) {
				build_kind(&b, encap, (enum kind)kind, v);
				extract(b.d, b.n, &k);
				uint32_t want = kind_layers[kind] | (encap ? TSOF_L_VLAN : 0);
				if (kind == K_EXT6 && !(v & 1))
					want |= TSOF_L_FRAG;
				n_checks++;
				if (k.layers != want)
					fail(__FILE__, __LINE__, "encap %d kind %d v %u: layers 0x%x want 0x%x",
					     encap, kind, v, k.layers, want);
			}
}

/* ---- coverage: every match field was seen non-zero by some test ---- */

static void test_coverage(void)
{
	for (int i = 0; i < TSOF_N_FIELDS; i++) {
		n_checks++;
		if (!field_seen[i] && tsof_flow_fields[i].oxm != TSOF_OXM_IN_PORT &&
		    tsof_flow_fields[i].oxm != TSOF_OXM_IN_PHY_PORT)
			fail(__FILE__, __LINE__, "no golden test sets %s", tsof_flow_fields[i].name);
	}
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-q"))
			quiet = 1;
		else if (!strcmp(argv[i], "--write-corpus") && i + 1 < argc)
			corpus_dir = argv[++i];
		else {
			fprintf(stderr, "usage: %s [-q] [--write-corpus DIR]\n", argv[0]);
			return 2;
		}
	}

	run("field table", test_field_table);
	run("pipeline fields", test_pipeline_fields);
	run("ethernet only", test_eth_only);
	run("ipv4 tcp", test_ipv4_tcp);
	run("ipv4 udp sctp icmp", test_ipv4_udp_sctp_icmp);
	run("ipv4 options", test_ipv4_options);
	run("ipv4 fragments", test_ipv4_fragments);
	run("arp", test_arp);
	run("vlan", test_vlan);
	run("double vlan", test_double_vlan);
	run("mpls", test_mpls);
	run("pbb", test_pbb);
	run("llc snap", test_llc_snap);
	run("ipv6 tcp udp sctp", test_ipv6_tcp);
	run("icmpv6", test_icmpv6);
	run("nd", test_nd);
	run("ipv6 exthdr flags", test_exthdr);
	run("ipv6 fragments", test_ipv6_fragments);
	run("nd behind exthdr", test_nd_behind_exthdr);
	run("malformed: ipv4 ihl", test_ipv4_bad_ihl);
	run("malformed: ipv4 total length", test_ipv4_total_length);
	run("malformed: ipv6 lengths", test_ipv6_bad_lengths);
	run("malformed: nd options", test_nd_bad_options);
	run("malformed: vlan cut", test_vlan_cut);
	run("prefixes: ipv4 tcp vlan", test_prefix_ipv4_tcp_vlan);
	run("prefixes: ipv4 options udp", test_prefix_ipv4_options_udp);
	run("prefixes: icmpv4 sctp", test_prefix_icmpv4_sctp);
	run("prefixes: ipv6 tcp", test_prefix_ipv6_tcp);
	run("prefixes: ipv6 exthdr udp", test_prefix_ipv6_exthdr_udp);
	run("prefixes: nd ns", test_prefix_nd);
	run("prefixes: nd na vlan", test_prefix_nd_na_vlan);
	run("prefixes: arp mpls pbb", test_prefix_l2);
	run("variety: protocols x encapsulations", test_variety);
	run("coverage of match fields", test_coverage);

	return summary("test_flow");
}
