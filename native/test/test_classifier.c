/*
 * test_classifier.c: matches from OXM, the tuple-space classifier, the
 * exact-match cache and the rcu scheme. Built with ASan and UBSan by
 * `make -C native test`.
 *
 * - OXM parsing: every field lands where flow.h says with its layer bit,
 *   masks only where allowed, and each error of 7.2.3 has its code.
 * - The classifier against a linear search over the same rules, on thousands
 *   of random rules and keys, across versions (rules added and removed at a
 *   version not yet in use).
 * - Lookup cost, counted in probes (subtables searched and hash slots looked
 *   at), does not grow with the number of rules.
 * - A reader thread looking up while a writer adds and removes rules, with
 *   ASan watching the frees.
 */
#define _POSIX_C_SOURCE 200809L  /* clock_gettime */

#include "classifier.h"
#include "ofp.h"
#include "rcu.h"

#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

/* ---- OXM building ---- */

struct mb {
	uint8_t d[1024];
	size_t n;
};

static void oxm(struct mb *b, unsigned field, const uint8_t *v, unsigned len, const uint8_t *mask)
{
	b->d[b->n++] = 0x80;
	b->d[b->n++] = 0x00;
	b->d[b->n++] = (uint8_t)(field << 1 | (mask != NULL));
	b->d[b->n++] = (uint8_t)(mask ? 2 * len : len);
	memcpy(b->d + b->n, v, len);
	b->n += len;
	if (mask) {
		memcpy(b->d + b->n, mask, len);
		b->n += len;
	}
}

static void be(uint8_t *p, uint64_t v, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		p[i] = (uint8_t)(v >> 8 * (len - 1 - i));
}

static void oxmn(struct mb *b, unsigned field, unsigned len, uint64_t v)
{
	uint8_t buf[8];

	be(buf, v, len);
	oxm(b, field, buf, len, NULL);
}

static void oxmm(struct mb *b, unsigned field, unsigned len, uint64_t v, uint64_t m)
{
	uint8_t buf[8], mask[8];

	be(buf, v, len);
	be(mask, m, len);
	oxm(b, field, buf, len, mask);
}

static int parse(const struct mb *b, struct tsof_match *m)
{
	return tsof_match_from_oxms(b->d, b->n, m);
}

#define BMC(code) TSOF_ERR(TSOF_OFPET_BAD_MATCH, TSOF_OFPBMC_##code)

/* The prerequisites each field needs, written out from the spec's table 12
 * (not from classifier.c's table). */
static void add_prereqs(struct mb *b, unsigned oxm_field)
{
	switch (oxm_field) {
	case TSOF_OXM_IN_PHY_PORT: oxmn(b, TSOF_OXM_IN_PORT, 4, 3); break;
	case TSOF_OXM_VLAN_PCP: oxmm(b, TSOF_OXM_VLAN_VID, 2, 0x1000, 0x1000); break;
	case TSOF_OXM_IP_DSCP: case TSOF_OXM_IP_ECN: case TSOF_OXM_IP_PROTO:
	case TSOF_OXM_IPV4_SRC: case TSOF_OXM_IPV4_DST:
		oxmn(b, TSOF_OXM_ETH_TYPE, 2, 0x0800); break;
	case TSOF_OXM_TCP_SRC: case TSOF_OXM_TCP_DST:
		oxmn(b, TSOF_OXM_ETH_TYPE, 2, 0x0800); oxmn(b, TSOF_OXM_IP_PROTO, 1, 6); break;
	case TSOF_OXM_UDP_SRC: case TSOF_OXM_UDP_DST:
		oxmn(b, TSOF_OXM_ETH_TYPE, 2, 0x86dd); oxmn(b, TSOF_OXM_IP_PROTO, 1, 17); break;
	case TSOF_OXM_SCTP_SRC: case TSOF_OXM_SCTP_DST:
		oxmn(b, TSOF_OXM_ETH_TYPE, 2, 0x0800); oxmn(b, TSOF_OXM_IP_PROTO, 1, 132); break;
	case TSOF_OXM_ICMPV4_TYPE: case TSOF_OXM_ICMPV4_CODE:
		oxmn(b, TSOF_OXM_ETH_TYPE, 2, 0x0800); oxmn(b, TSOF_OXM_IP_PROTO, 1, 1); break;
	case TSOF_OXM_ARP_OP: case TSOF_OXM_ARP_SPA: case TSOF_OXM_ARP_TPA:
	case TSOF_OXM_ARP_SHA: case TSOF_OXM_ARP_THA:
		oxmn(b, TSOF_OXM_ETH_TYPE, 2, 0x0806); break;
	case TSOF_OXM_IPV6_SRC: case TSOF_OXM_IPV6_DST: case TSOF_OXM_IPV6_FLABEL: case TSOF_OXM_IPV6_EXTHDR:
		oxmn(b, TSOF_OXM_ETH_TYPE, 2, 0x86dd); break;
	case TSOF_OXM_ICMPV6_TYPE: case TSOF_OXM_ICMPV6_CODE:
		oxmn(b, TSOF_OXM_ETH_TYPE, 2, 0x86dd); oxmn(b, TSOF_OXM_IP_PROTO, 1, 58); break;
	case TSOF_OXM_IPV6_ND_TARGET: case TSOF_OXM_IPV6_ND_SLL: case TSOF_OXM_IPV6_ND_TLL:
		oxmn(b, TSOF_OXM_ETH_TYPE, 2, 0x86dd); oxmn(b, TSOF_OXM_IP_PROTO, 1, 58);
		oxmn(b, TSOF_OXM_ICMPV6_TYPE, 1, oxm_field == TSOF_OXM_IPV6_ND_TLL ? 136 : 135); break;
	case TSOF_OXM_MPLS_LABEL: case TSOF_OXM_MPLS_TC: case TSOF_OXM_MPLS_BOS:
		oxmn(b, TSOF_OXM_ETH_TYPE, 2, 0x8847); break;
	case TSOF_OXM_PBB_ISID: case TSOF_OXM_PBB_UCA:
		oxmn(b, TSOF_OXM_ETH_TYPE, 2, 0x88e7); break;
	default: break;
	}
}

/* Meaningful bits of each field (spec table 12), by OXM number. */
static unsigned field_bits(unsigned oxm_field, unsigned len)
{
	switch (oxm_field) {
	case TSOF_OXM_VLAN_VID: return 13;
	case TSOF_OXM_VLAN_PCP: case TSOF_OXM_MPLS_TC: return 3;
	case TSOF_OXM_IP_DSCP: return 6;
	case TSOF_OXM_IP_ECN: return 2;
	case TSOF_OXM_IPV6_FLABEL: case TSOF_OXM_MPLS_LABEL: return 20;
	case TSOF_OXM_MPLS_BOS: case TSOF_OXM_PBB_UCA: return 1;
	case TSOF_OXM_IPV6_EXTHDR: return 9;
	default: return len * 8;
	}
}

static bool field_maskable(unsigned f)
{
	switch (f) {
	case TSOF_OXM_METADATA: case TSOF_OXM_ETH_DST: case TSOF_OXM_ETH_SRC: case TSOF_OXM_VLAN_VID:
	case TSOF_OXM_IPV4_SRC: case TSOF_OXM_IPV4_DST: case TSOF_OXM_ARP_SPA: case TSOF_OXM_ARP_TPA:
	case TSOF_OXM_ARP_SHA: case TSOF_OXM_ARP_THA: case TSOF_OXM_IPV6_SRC: case TSOF_OXM_IPV6_DST:
	case TSOF_OXM_IPV6_FLABEL: case TSOF_OXM_PBB_ISID: case TSOF_OXM_TUNNEL_ID: case TSOF_OXM_IPV6_EXTHDR:
		return true;
	default:
		return false;
	}
}

/* All ones in the field's meaningful bits, big-endian. */
static void full_value(uint8_t *v, unsigned len, unsigned bits)
{
	memset(v, 0, len);
	for (unsigned b = 0; b < bits; b++)
		v[len - 1 - b / 8] |= (uint8_t)(1u << b % 8);
}

static void test_every_field(void)
{
	/* tsof_field_by_oxm() finds a field by its place in the table. */
	for (unsigned oxm = 0; oxm <= TSOF_OXM_PBB_UCA + 1; oxm++) {
		const struct tsof_flow_field *f = tsof_field_by_oxm(oxm);
		n_checks++;
		if (oxm == 40 || oxm > TSOF_OXM_PBB_UCA ? f != NULL : !f || f->oxm != oxm)
			fail(__FILE__, __LINE__, "tsof_field_by_oxm(%u) gave %s", oxm, f ? f->name : "nothing");
	}
	for (int i = 0; i < TSOF_N_FIELDS; i++) {
		const struct tsof_flow_field *f = &tsof_flow_fields[i];
		struct mb b = { .n = 0 };
		struct tsof_match m;
		uint8_t v[16];
		add_prereqs(&b, f->oxm);
		full_value(v, f->len, field_bits(f->oxm, f->len));
		oxm(&b, f->oxm, v, f->len, NULL);
		int err = parse(&b, &m);
		n_checks++;
		if (err) {
			fail(__FILE__, __LINE__, "%s: error 0x%x", f->name, err);
			continue;
		}
		CHECK_MEM((uint8_t *)&m.key + f->ofs, v, f->len);
		uint8_t ones[16];
		memset(ones, 0xff, sizeof ones);
		CHECK_MEM((uint8_t *)&m.mask + f->ofs, ones, f->len);
		CHECK((m.key.layers & f->layer) == f->layer && (m.mask.layers & f->layer) == f->layer);
		/* The key is zero wherever the mask is. */
		for (int w = 0; w < TSOF_KEY_WORDS; w++)
			CHECK_EQ(tsof_key_word(&m.key, w) & ~tsof_key_word(&m.mask, w), 0);
		/* Masks only where 7.2.3.7 allows them. */
		struct mb bm = { .n = 0 };
		add_prereqs(&bm, f->oxm);
		oxm(&bm, f->oxm, v, f->len, v);
		err = parse(&bm, &m);
		if (field_maskable(f->oxm)) {
			CHECK_EQ(err, 0);
			CHECK_MEM((uint8_t *)&m.mask + f->ofs, v, f->len);
		} else {
			CHECK_EQ(err, BMC(BAD_MASK));
		}
		/* One bit beyond the width is a bad value. */
		if (field_bits(f->oxm, f->len) < f->len * 8u) {
			struct mb bb = { .n = 0 };
			full_value(v, f->len, field_bits(f->oxm, f->len) + 1);
			add_prereqs(&bb, f->oxm);
			oxm(&bb, f->oxm, v, f->len, NULL);
			CHECK_EQ(parse(&bb, &m), BMC(BAD_VALUE));
		}
	}
}

static void test_oxm_errors(void)
{
	struct tsof_match m;
	struct mb b;

	/* Lengths */
	b.n = 0; oxmn(&b, TSOF_OXM_IN_PORT, 4, 1); b.n--;
	CHECK_EQ(parse(&b, &m), BMC(BAD_LEN));
	b.n = 0; oxmn(&b, TSOF_OXM_IN_PORT, 4, 1); b.d[3] = 3;
	CHECK_EQ(parse(&b, &m), BMC(BAD_LEN));
	b.n = 0; oxmn(&b, TSOF_OXM_ETH_TYPE, 2, 0x800); b.d[b.n++] = 0x80;  /* 1-byte leftover */
	CHECK_EQ(parse(&b, &m), BMC(BAD_LEN));
	/* Fields: another class, the unused basic field 40, an experimenter */
	b.n = 0; oxmn(&b, TSOF_OXM_IN_PORT, 4, 1); b.d[0] = 0x00; b.d[1] = 0x01;
	CHECK_EQ(parse(&b, &m), BMC(BAD_FIELD));
	b.n = 0; oxmn(&b, 40, 2, 1);
	CHECK_EQ(parse(&b, &m), BMC(BAD_FIELD));
	b.n = 0; oxmn(&b, 42, 2, 1);
	CHECK_EQ(parse(&b, &m), BMC(BAD_FIELD));
	b.n = 0; oxmn(&b, TSOF_OXM_IN_PORT, 4, 1); b.d[0] = 0xff; b.d[1] = 0xff;
	CHECK_EQ(parse(&b, &m), BMC(BAD_FIELD));
	/* Twice the same field, even with different values */
	b.n = 0; oxmn(&b, TSOF_OXM_IN_PORT, 4, 1); oxmn(&b, TSOF_OXM_IN_PORT, 4, 2);
	CHECK_EQ(parse(&b, &m), BMC(DUP_FIELD));
	/* Value bits outside the mask */
	b.n = 0; oxmn(&b, TSOF_OXM_ETH_TYPE, 2, 0x800); oxmm(&b, TSOF_OXM_IPV4_SRC, 4, 0x0a000001, 0xffffff00);
	CHECK_EQ(parse(&b, &m), BMC(BAD_WILDCARDS));
	/* Prerequisites: missing, wrong value, masked, and the VLAN one */
	b.n = 0; oxmn(&b, TSOF_OXM_TCP_DST, 2, 80);
	CHECK_EQ(parse(&b, &m), BMC(BAD_PREREQ));
	b.n = 0; oxmn(&b, TSOF_OXM_ETH_TYPE, 2, 0x800); oxmn(&b, TSOF_OXM_TCP_DST, 2, 80);
	CHECK_EQ(parse(&b, &m), BMC(BAD_PREREQ));
	b.n = 0; oxmn(&b, TSOF_OXM_ETH_TYPE, 2, 0x806); oxmn(&b, TSOF_OXM_IP_PROTO, 1, 6);
	CHECK_EQ(parse(&b, &m), BMC(BAD_PREREQ));
	b.n = 0; oxmn(&b, TSOF_OXM_ETH_TYPE, 2, 0x86dd); oxmn(&b, TSOF_OXM_IPV4_SRC, 4, 1);
	CHECK_EQ(parse(&b, &m), BMC(BAD_PREREQ));
	b.n = 0; add_prereqs(&b, TSOF_OXM_IPV6_ND_TLL); b.d[b.n - 1] = 135; oxmn(&b, TSOF_OXM_IPV6_ND_TLL, 6, 1);
	CHECK_EQ(parse(&b, &m), BMC(BAD_PREREQ));
	b.n = 0; oxmn(&b, TSOF_OXM_IN_PHY_PORT, 4, 1);
	CHECK_EQ(parse(&b, &m), BMC(BAD_PREREQ));
	b.n = 0; oxmn(&b, TSOF_OXM_VLAN_VID, 2, 0); oxmn(&b, TSOF_OXM_VLAN_PCP, 1, 3);
	CHECK_EQ(parse(&b, &m), BMC(BAD_PREREQ));
	b.n = 0; oxmm(&b, TSOF_OXM_VLAN_VID, 2, 0x0000, 0x1000); oxmn(&b, TSOF_OXM_VLAN_PCP, 1, 3);
	CHECK_EQ(parse(&b, &m), BMC(BAD_PREREQ));
	b.n = 0; oxmn(&b, TSOF_OXM_VLAN_VID, 2, 0x1005); oxmn(&b, TSOF_OXM_VLAN_PCP, 1, 3);
	CHECK_EQ(parse(&b, &m), 0);
	/* The order of the TLVs does not matter */
	b.n = 0; oxmn(&b, TSOF_OXM_TCP_DST, 2, 80); oxmn(&b, TSOF_OXM_IP_PROTO, 1, 6); oxmn(&b, TSOF_OXM_ETH_TYPE, 2, 0x800);
	CHECK_EQ(parse(&b, &m), 0);
	/* Empty: matches everything */
	b.n = 0;
	CHECK_EQ(parse(&b, &m), 0);
	CHECK(tsof_match_is_catchall(&m));

	/* ofp_match: type, length, padding */
	uint8_t w[32] = { 0, 1, 0, 4 + 6, 0x80, 0x00, TSOF_OXM_ETH_TYPE << 1, 2, 0x08, 0x00 };
	size_t used = 0;
	CHECK_EQ(tsof_match_from_wire(w, 16, &used, &m), 0);
	CHECK_EQ(used, 16);
	CHECK_EQ(tsof_match_from_wire(w, 15, &used, &m), BMC(BAD_LEN));
	w[1] = 0;
	CHECK_EQ(tsof_match_from_wire(w, 16, &used, &m), BMC(BAD_TYPE));
	w[1] = 1; w[3] = 3;
	CHECK_EQ(tsof_match_from_wire(w, 16, &used, &m), BMC(BAD_LEN));
	w[3] = 4;
	CHECK_EQ(tsof_match_from_wire(w, 8, &used, &m), 0);
	CHECK_EQ(used, 8);
}

/* ---- matching real frames ---- */

static size_t tcp_frame(uint8_t *f, bool tagged, bool with_tcp)
{
	size_t n = 0;
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

	memcpy(f, macs, 12);
	n = 12;
	if (tagged) {
		be(f + n, 0x8100, 2); be(f + n + 2, 0x2000 | 10, 2);
		n += 4;
	}
	be(f + n, 0x0800, 2); n += 2;
	uint8_t ip[20] = { 0x45, 0, 0, 0, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2 };
	be(ip + 2, with_tcp ? 40 : 20, 2);
	memcpy(f + n, ip, 20); n += 20;
	if (with_tcp) {
		memset(f + n, 0, 20);
		be(f + n, 1234, 2); be(f + n + 2, 80, 2); f[n + 12] = 0x50;
		n += 20;
	}
	return n;
}

static void test_match_frames(void)
{
	uint8_t f[128];
	struct tsof_flow_key k;
	struct tsof_match m;
	struct mb b;

	tsof_flow_extract(f, tcp_frame(f, false, true), 1, &k);
	b.n = 0; add_prereqs(&b, TSOF_OXM_TCP_DST); oxmn(&b, TSOF_OXM_TCP_DST, 2, 80);
	CHECK_EQ(parse(&b, &m), 0);
	CHECK(tsof_match_matches(&m, &k));
	b.n = 0; add_prereqs(&b, TSOF_OXM_TCP_DST); oxmn(&b, TSOF_OXM_TCP_DST, 2, 0);
	CHECK_EQ(parse(&b, &m), 0);
	CHECK(!tsof_match_matches(&m, &k));
	/* TCP header missing: tcp_dst=0 must not match the zero left in the key */
	tsof_flow_extract(f, tcp_frame(f, false, false), 1, &k);
	CHECK(!tsof_match_matches(&m, &k));
	b.n = 0; add_prereqs(&b, TSOF_OXM_TCP_DST);  /* ip_proto=6 alone does */
	CHECK_EQ(parse(&b, &m), 0);
	CHECK(tsof_match_matches(&m, &k));

	/* vlan_vid: NONE matches untagged only, PRESENT/PRESENT tagged only */
	struct tsof_flow_key untagged, tagged;
	tsof_flow_extract(f, tcp_frame(f, false, true), 1, &untagged);
	tsof_flow_extract(f, tcp_frame(f, true, true), 1, &tagged);
	b.n = 0; oxmn(&b, TSOF_OXM_VLAN_VID, 2, 0);
	CHECK_EQ(parse(&b, &m), 0);
	CHECK(tsof_match_matches(&m, &untagged) && !tsof_match_matches(&m, &tagged));
	b.n = 0; oxmm(&b, TSOF_OXM_VLAN_VID, 2, 0x1000, 0x1000);
	CHECK_EQ(parse(&b, &m), 0);
	CHECK(!tsof_match_matches(&m, &untagged) && tsof_match_matches(&m, &tagged));
	b.n = 0; oxmn(&b, TSOF_OXM_VLAN_VID, 2, 0x1000 | 10); oxmn(&b, TSOF_OXM_VLAN_PCP, 1, 1);
	CHECK_EQ(parse(&b, &m), 0);
	CHECK(tsof_match_matches(&m, &tagged));
	/* Ryu's vlan_vid=96/0xf0 (no PRESENT bit): VID 100 matches (0x64 & 0xf0 = 0x60) */
	b.n = 0; oxmm(&b, TSOF_OXM_VLAN_VID, 2, 0x60, 0xf0);
	CHECK_EQ(parse(&b, &m), 0);
	tagged.vlan_vid = tsof_hton16(0x1000 | 100);
	CHECK(tsof_match_matches(&m, &tagged));
	tagged.vlan_vid = tsof_hton16(0x1000 | 203);
	CHECK(!tsof_match_matches(&m, &tagged));
}

static void test_match_relations(void)
{
	struct tsof_match a, b8, b24, c, any;
	struct mb b;

	b.n = 0; oxmn(&b, TSOF_OXM_ETH_TYPE, 2, 0x800); oxmm(&b, TSOF_OXM_IPV4_DST, 4, 0x0a000000, 0xff000000);
	CHECK_EQ(parse(&b, &b8), 0);
	b.n = 0; oxmn(&b, TSOF_OXM_ETH_TYPE, 2, 0x800); oxmm(&b, TSOF_OXM_IPV4_DST, 4, 0x0a010200, 0xffffff00);
	CHECK_EQ(parse(&b, &b24), 0);
	b.n = 0; oxmn(&b, TSOF_OXM_ETH_TYPE, 2, 0x800); oxmm(&b, TSOF_OXM_IPV4_DST, 4, 0x0b000000, 0xff000000);
	CHECK_EQ(parse(&b, &c), 0);
	b.n = 0; oxmn(&b, TSOF_OXM_IN_PORT, 4, 1);
	CHECK_EQ(parse(&b, &a), 0);
	b.n = 0;
	CHECK_EQ(parse(&b, &any), 0);

	CHECK(tsof_match_within(&b24, &b8) && !tsof_match_within(&b8, &b24));
	CHECK(tsof_match_within(&b8, &any) && !tsof_match_within(&any, &b8));
	CHECK(!tsof_match_within(&c, &b8));
	CHECK(tsof_match_overlaps(&b8, &b24) && tsof_match_overlaps(&b24, &b8));
	CHECK(!tsof_match_overlaps(&b8, &c));
	CHECK(tsof_match_overlaps(&a, &b8));  /* disjoint fields: some key has both */
	CHECK(tsof_match_equal(&b8, &b8) && !tsof_match_equal(&b8, &b24));
	CHECK(tsof_match_is_catchall(&any) && !tsof_match_is_catchall(&a));
}

/* ---- random rules against a linear search ---- */

struct trule {
	struct tsof_cls_rule r;
	struct tsof_match m;
	bool linked;
};

static const uint8_t MACS[4][6] = {
	{ 2, 0, 0, 0, 0, 1 }, { 2, 0, 0, 0, 0, 2 }, { 0x01, 0, 0x5e, 0, 0, 1 }, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
};

/* A key from small domains, so that random rules often match. */
static void random_key(struct tsof_flow_key *k)
{
	memset(k, 0, sizeof *k);
	k->in_port = tsof_hton32(1 + rnd_below(4));
	k->metadata = tsof_hton64(rnd_below(4));
	k->layers = TSOF_L_ETH;
	memcpy(k->eth_dst, MACS[rnd_below(4)], 6);
	memcpy(k->eth_src, MACS[rnd_below(2)], 6);
	if (rnd_below(3) == 0) {
		k->vlan_vid = tsof_hton16((uint16_t)(0x1000 | (10 + 10 * rnd_below(2))));
		k->vlan_pcp = (uint8_t)rnd_below(2);
		k->layers |= TSOF_L_VLAN;
	}
	switch (rnd_below(3)) {
	case 0:
		k->eth_type = tsof_hton16(0x0806);
		k->layers |= TSOF_L_ARP;
		k->arp_op = tsof_hton16((uint16_t)(1 + rnd_below(2)));
		break;
	default:
		k->eth_type = tsof_hton16(0x0800);
		k->layers |= TSOF_L_IP | TSOF_L_IPV4;
		k->ipv4_src = tsof_hton32(0x0a000000 | rnd_below(4) << 8 | rnd_below(4));
		k->ipv4_dst = tsof_hton32(0x0a000000 | rnd_below(4) << 8 | rnd_below(4));
		k->ip_dscp = (uint8_t)rnd_below(2);
		if (rnd_below(2)) {
			k->ip_proto = 6;
			k->layers |= TSOF_L_TCP;
			k->tcp_src = tsof_hton16((uint16_t)(1000 + rnd_below(2)));
			k->tcp_dst = tsof_hton16((uint16_t)(rnd_below(2) ? 80 : 443));
		} else {
			k->ip_proto = 17;
			k->layers |= TSOF_L_UDP;
			k->udp_dst = tsof_hton16((uint16_t)(rnd_below(2) ? 53 : 123));
		}
		break;
	}
}

/* A random rule: a few fields, from the same domains, some masked. Returns
 * the parse result (rules whose fields disagree are refused, as they should). */
static int random_match(struct tsof_match *m)
{
	struct mb b = { .n = 0 };
	unsigned pick = (unsigned)rnd();

	if (pick & 1)
		oxmn(&b, TSOF_OXM_IN_PORT, 4, 1 + rnd_below(4));
	if (pick & 2)
		oxmm(&b, TSOF_OXM_METADATA, 8, rnd_below(2), 1 + rnd_below(3));
	if (pick & 4)
		oxm(&b, TSOF_OXM_ETH_DST, MACS[rnd_below(4)], 6, (pick & 8) ? (const uint8_t[6]){ 1, 0, 0, 0, 0, 0 } : NULL);
	if (pick & 16) {
		if (pick & 32) {
			oxmm(&b, TSOF_OXM_VLAN_VID, 2, 0x1000, 0x1000);
		} else {
			oxmn(&b, TSOF_OXM_VLAN_VID, 2, rnd_below(2) ? 0 : 0x1000 | 10);
		}
	}
	unsigned l3 = rnd_below(4);
	if (l3 == 1) {
		oxmn(&b, TSOF_OXM_ETH_TYPE, 2, 0x0806);
		if (pick & 64)
			oxmn(&b, TSOF_OXM_ARP_OP, 2, 1 + rnd_below(2));
	} else if (l3 >= 2) {
		oxmn(&b, TSOF_OXM_ETH_TYPE, 2, 0x0800);
		if (pick & 64)
			oxmm(&b, TSOF_OXM_IPV4_SRC, 4, 0x0a000000 | rnd_below(4) << 8, 0xffffff00);
		if (pick & 128)
			oxmn(&b, TSOF_OXM_IPV4_DST, 4, 0x0a000000 | rnd_below(4) << 8 | rnd_below(4));
		if (pick & 256)
			oxmn(&b, TSOF_OXM_IP_DSCP, 1, rnd_below(2));
		if (pick & 512) {
			bool tcp = rnd_below(2);
			oxmn(&b, TSOF_OXM_IP_PROTO, 1, tcp ? 6 : 17);
			if (pick & 1024)
				oxmn(&b, tcp ? TSOF_OXM_TCP_DST : TSOF_OXM_UDP_DST, 2, tcp ? (rnd_below(2) ? 80 : 443) : 53);
		}
	}
	return parse(&b, m);
}

static bool visible(const struct trule *t, uint64_t v)
{
	return t->linked && tsof_cls_rule_visible(&t->r, v);
}

/* The highest priority among the visible rules matching k, by brute force. */
static int linear(const struct trule *rules, int n, const struct tsof_flow_key *k, uint64_t v)
{
	int best = -1;

	for (int i = 0; i < n; i++)
		if (visible(&rules[i], v) && rules[i].r.priority > best && tsof_match_matches(&rules[i].m, k))
			best = rules[i].r.priority;
	return best;
}

static void check_lookups(struct tsof_cls *cls, const struct trule *rules, int n, uint64_t v, int n_keys)
{
	for (int i = 0; i < n_keys; i++) {
		struct tsof_flow_key k;
		random_key(&k);
		const struct tsof_cls_rule *r = tsof_cls_lookup(cls, &k, v, NULL);
		int want = linear(rules, n, &k, v);
		n_checks++;
		if ((r ? r->priority : -1) != want) {
			fail(__FILE__, __LINE__, "key %d at version %llu: priority %d, linear search %d", i,
			     (unsigned long long)v, r ? r->priority : -1, want);
			return;
		}
		if (r) {
			const struct trule *t = (const struct trule *)r;
			CHECK(visible(t, v) && tsof_match_matches(&t->m, &k));
		}
	}
}

static void test_random_vs_linear(void)
{
	enum { N = 3000, ROUNDS = 6 };
	struct tsof_rcu *rcu = tsof_rcu_create();
	struct tsof_cls cls;
	struct trule *rules = calloc(N, sizeof *rules);
	int n = 0;
	uint64_t v = 1;

	tsof_cls_init(&cls, rcu);
	/* Round 0 adds half; each later round, at the next version, adds some
	 * and removes some; then both the old and the new version are checked,
	 * and the removed rules are unlinked. */
	for (int round = 0; round < ROUNDS; round++) {
		uint64_t nv = v + 1;
		int adds = round == 0 ? N / 2 : (N / 2) / (ROUNDS - 1);
		for (int i = 0; i < adds && n < N; i++) {
			struct trule *t = &rules[n];
			if (random_match(&t->m))
				continue;
			/* Few priorities, so ties and shared heads happen. */
			CHECK_EQ(tsof_cls_insert(&cls, &t->r, &t->m, (int)rnd_below(64), nv), 0);
			t->linked = true;
			n++;
		}
		int removed[N / 4], n_removed = 0;
		for (int i = 0; round > 0 && i < n / 8; i++) {
			int j = (int)rnd_below((uint32_t)n);
			if (rules[j].linked && atomic_load(&rules[j].r.remove_version) == TSOF_VERSION_NEVER) {
				tsof_cls_remove(&rules[j].r, nv);
				removed[n_removed++] = j;
			}
		}
		check_lookups(&cls, rules, n, v, 1500);
		check_lookups(&cls, rules, n, nv, 1500);
		for (int i = 0; i < n_removed; i++) {
			tsof_cls_unlink(&cls, &rules[removed[i]].r);
			rules[removed[i]].linked = false;
		}
		tsof_rcu_poll(rcu);  /* no reader registered: everything is ready */
		v = nv;
		check_lookups(&cls, rules, n, v, 1000);
	}
	CHECK(n > N / 2);
	/* Everything visible is found by tsof_cls_find. */
	for (int i = 0; i < n; i++)
		if (visible(&rules[i], v))
			CHECK(tsof_cls_find(&cls, &rules[i].m, rules[i].r.priority, v) != NULL);
	/* Unlink all: no subtable is left. */
	for (int i = 0; i < n; i++)
		if (rules[i].linked)
			tsof_cls_unlink(&cls, &rules[i].r);
	CHECK_EQ(cls.n_rules, 0);
	CHECK_EQ(cls.n_subtables, 0);
	tsof_cls_destroy(&cls);
	tsof_rcu_destroy(rcu);
	free(rules);
}

static void test_shared_heads(void)
{
	struct tsof_rcu *rcu = tsof_rcu_create();
	struct tsof_cls cls;
	struct trule a = { .linked = false }, b = { .linked = false }, c = { .linked = false };
	struct tsof_flow_key k;
	struct mb mb = { .n = 0 };

	tsof_cls_init(&cls, rcu);
	oxmn(&mb, TSOF_OXM_IN_PORT, 4, 7);
	CHECK_EQ(parse(&mb, &a.m), 0);
	b.m = c.m = a.m;
	memset(&k, 0, sizeof k);
	k.in_port = tsof_hton32(7);
	CHECK_EQ(tsof_cls_insert(&cls, &a.r, &a.m, 10, 1), 0);
	CHECK_EQ(tsof_cls_insert(&cls, &b.r, &b.m, 20, 2), 0);
	CHECK_EQ(tsof_cls_insert(&cls, &c.r, &c.m, 5, 1), 0);
	CHECK_EQ(cls.n_subtables, 1);
	CHECK(a.r.head == b.r.head && b.r.head == c.r.head);
	CHECK(tsof_cls_lookup(&cls, &k, 1, NULL) == &a.r);  /* b not yet visible */
	CHECK(tsof_cls_lookup(&cls, &k, 2, NULL) == &b.r);
	CHECK(tsof_cls_find(&cls, &a.m, 20, 1) == NULL && tsof_cls_find(&cls, &a.m, 20, 2) == &b.r);
	tsof_cls_remove(&b.r, 3);
	CHECK(tsof_cls_lookup(&cls, &k, 2, NULL) == &b.r);
	CHECK(tsof_cls_lookup(&cls, &k, 3, NULL) == &a.r);
	tsof_cls_unlink(&cls, &b.r);
	tsof_cls_unlink(&cls, &a.r);
	CHECK(tsof_cls_lookup(&cls, &k, 3, NULL) == &c.r);
	tsof_cls_unlink(&cls, &c.r);
	CHECK(tsof_cls_lookup(&cls, &k, 3, NULL) == NULL);
	CHECK_EQ(cls.n_subtables, 0);

	/* Churn through one mask: the hash table grows, fills with tombstones
	 * and is rebuilt, and every rule is still found. */
	enum { M = 4000 };
	struct trule *r = calloc(M, sizeof *r);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < M; i++) {
			mb.n = 0;
			oxmn(&mb, TSOF_OXM_IN_PORT, 4, (uint32_t)(i + round * M));
			CHECK_EQ(parse(&mb, &r[i].m), 0);
			CHECK_EQ(tsof_cls_insert(&cls, &r[i].r, &r[i].m, 1, 1), 0);
		}
		for (int i = 0; i < M; i++) {
			k.in_port = tsof_hton32((uint32_t)(i + round * M));
			n_checks++;
			if (tsof_cls_lookup(&cls, &k, 1, NULL) != &r[i].r)
				fail(__FILE__, __LINE__, "round %d rule %d not found", round, i);
		}
		for (int i = 0; i < M; i++)
			tsof_cls_unlink(&cls, &r[i].r);
		tsof_rcu_poll(rcu);
	}
	CHECK_EQ(cls.n_rules, 0);
	free(r);
	tsof_cls_destroy(&cls);
	tsof_rcu_destroy(rcu);
}

/* ---- lookup cost ---- */

/* One of 8 fixed masks with random values from a wide domain, so the rules
 * are distinct and few keys collide. */
static void wide_match(struct tsof_match *m, unsigned mask_no, uint32_t v)
{
	struct mb b = { .n = 0 };

	switch (mask_no) {
	case 0: oxmn(&b, TSOF_OXM_IN_PORT, 4, v); break;
	case 1: oxmn(&b, TSOF_OXM_ETH_TYPE, 2, 0x800); oxmn(&b, TSOF_OXM_IPV4_DST, 4, v); break;
	case 2: oxmn(&b, TSOF_OXM_ETH_TYPE, 2, 0x800); oxmm(&b, TSOF_OXM_IPV4_SRC, 4, v & 0xffffff00, 0xffffff00); break;
	case 3: oxmn(&b, TSOF_OXM_ETH_TYPE, 2, 0x800); oxmn(&b, TSOF_OXM_IP_PROTO, 1, 6);
		oxmn(&b, TSOF_OXM_TCP_DST, 2, v & 0xffff); oxmn(&b, TSOF_OXM_IPV4_DST, 4, v >> 16); break;
	case 4: oxmm(&b, TSOF_OXM_METADATA, 8, v, 0xffffffff); break;
	case 5: { uint8_t mac[6] = { 2, 0, (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
		oxm(&b, TSOF_OXM_ETH_SRC, mac, 6, NULL); break; }
	case 6: oxmn(&b, TSOF_OXM_IN_PORT, 4, v & 0xff); oxmn(&b, TSOF_OXM_VLAN_VID, 2, 0x1000 | (v >> 8 & 0xfff)); break;
	default: {
		uint8_t a[16] = { 0x20, 1, 0xd, 0xb8 }, msk[16] = { 0 };
		memset(msk, 0xff, 8);  /* a /64 */
		be(a + 4, v, 4);
		oxmn(&b, TSOF_OXM_ETH_TYPE, 2, 0x86dd);
		oxm(&b, TSOF_OXM_IPV6_DST, a, 16, msk);
		break;
	}
	}
	if (parse(&b, m))
		abort();
}

/* A key that matches rule (mask_no, v), or a random one. */
static void wide_key(struct tsof_flow_key *k, unsigned mask_no, uint32_t v, bool hit)
{
	struct tsof_match m;

	if (!hit)
		v = (uint32_t)rnd();
	wide_match(&m, mask_no, v);
	/* Outside the mask, random bits: the key matches only through it. */
	uint64_t w[TSOF_KEY_WORDS];
	for (int i = 0; i < TSOF_KEY_WORDS; i++)
		w[i] = tsof_key_word(&m.key, i) | (rnd() & ~tsof_key_word(&m.mask, i));
	memcpy(k, w, sizeof *k);
}

static void test_flat_cost(void)
{
	static const int sizes[] = { 100, 1000, 10000, 40000 };
	enum { KEYS = 4000 };
	double per_lookup[4];
	struct tsof_rcu *rcu = tsof_rcu_create();

	for (int s = 0; s < 4; s++) {
		int n = sizes[s];
		struct tsof_cls cls;
		struct trule *r = calloc((size_t)n, sizeof *r);
		uint32_t *vals = calloc((size_t)n, sizeof *vals);
		tsof_cls_init(&cls, rcu);
		for (int i = 0; i < n; i++) {
			vals[i] = (uint32_t)rnd();
			wide_match(&r[i].m, (unsigned)i % 8, vals[i]);
			/* A duplicate match just shares a head: still one rule more. */
			CHECK_EQ(tsof_cls_insert(&cls, &r[i].r, &r[i].m, (int)rnd_below(1000), 1), 0);
		}
		struct tsof_cls_probes pr = { 0, 0, 0 };
		int found = 0;
		for (int i = 0; i < KEYS; i++) {
			struct tsof_flow_key k;
			int j = (int)rnd_below((uint32_t)n);
			wide_key(&k, (unsigned)j % 8, vals[j], i % 2 == 0);
			found += tsof_cls_lookup(&cls, &k, 1, &pr) != NULL;
		}
		CHECK(found >= KEYS / 2);
		CHECK(pr.subtables <= 8ull * KEYS);
		per_lookup[s] = (double)(pr.subtables + pr.slots) / KEYS;
		if (!quiet)
			printf("     %6d rules, %u subtables: %.2f probes per lookup (%.2f subtables, %.2f slots)\n",
			       n, cls.n_subtables, per_lookup[s], (double)pr.subtables / KEYS, (double)pr.slots / KEYS);
		for (int i = 0; i < n; i++)
			tsof_cls_unlink(&cls, &r[i].r);
		tsof_rcu_poll(rcu);
		tsof_cls_destroy(&cls);
		free(r);
		free(vals);
	}
	/* 400 times the rules, about the same work per lookup: at most the 8
	 * subtables, each a few slots (the hash tables' load stays between
	 * 3/16 and 3/8, so some variation remains). */
	for (int s = 0; s < 4; s++) {
		n_checks++;
		if (per_lookup[s] > per_lookup[0] * 1.5 + 1 || per_lookup[s] > 8 * (1 + 2.5))
			fail(__FILE__, __LINE__, "%d rules: %.2f probes per lookup, %d rules: %.2f",
			     sizes[s], per_lookup[s], sizes[0], per_lookup[0]);
	}
	tsof_rcu_destroy(rcu);
}

/* ---- exact-match cache ---- */

static void test_emc(void)
{
	struct tsof_emc *emc = calloc(1, sizeof *emc);
	struct tsof_flow_key k;
	const struct tsof_cls_rule *r;
	struct tsof_cls_rule x, y;

	random_key(&k);
	uint64_t h = tsof_key_hash(&k, 0);
	CHECK_EQ(tsof_emc_lookup(emc, 0, &k, h, 5, 0, &r), 0);
	tsof_emc_insert(emc, 0, &k, h, 5, &x);
	CHECK_EQ(tsof_emc_lookup(emc, 0, &k, h, 5, 0, &r), 1);
	CHECK(r == &x);
	CHECK_EQ(tsof_emc_lookup(emc, 1, &k, h, 5, 0, &r), 0);       /* another table */
	CHECK_EQ(tsof_emc_lookup(emc, 0, &k, h, 9, 5, &r), 1);       /* table unchanged since */
	CHECK_EQ(tsof_emc_lookup(emc, 0, &k, h, 9, 6, &r), 0);       /* table changed at 6 */
	CHECK_EQ(tsof_emc_lookup(emc, 0, &k, h, 4, 0, &r), 0);       /* from a later version */
	tsof_emc_insert(emc, 0, &k, h, 9, NULL);                      /* a cached miss */
	CHECK_EQ(tsof_emc_lookup(emc, 0, &k, h, 9, 6, &r), 1);
	CHECK(r == NULL);
	/* A key differing in one bit is another entry. */
	struct tsof_flow_key k2 = k;
	k2.metadata ^= tsof_hton64(1);
	uint64_t h2 = tsof_key_hash(&k2, 0);
	CHECK(h2 != h);
	CHECK_EQ(tsof_emc_lookup(emc, 0, &k2, h2, 9, 0, &r), 0);
	tsof_emc_insert(emc, 0, &k2, h2, 9, &y);
	CHECK_EQ(tsof_emc_lookup(emc, 0, &k2, h2, 9, 0, &r), 1);
	CHECK(r == &y);
	free(emc);
}

/* ---- rcu ---- */

static int rcu_ran;

static void count_cb(struct tsof_rcu_cb *cb)
{
	(void)cb;
	rcu_ran++;
}

static void test_rcu(void)
{
	struct tsof_rcu *rcu = tsof_rcu_create();
	struct tsof_rcu_reader *r1 = tsof_rcu_register(rcu), *r2 = tsof_rcu_register(rcu);
	struct tsof_rcu_cb a, b;

	rcu_ran = 0;
	tsof_rcu_defer(rcu, &a, count_cb);
	CHECK_EQ(tsof_rcu_poll(rcu), 0);          /* neither reader has passed a quiescent point */
	tsof_rcu_quiesce(r1);
	CHECK_EQ(tsof_rcu_poll(rcu), 0);
	tsof_rcu_offline(r2);                     /* an offline reader holds nobody up */
	CHECK_EQ(tsof_rcu_poll(rcu), 1);
	CHECK_EQ(rcu_ran, 1);
	tsof_rcu_online(r2);
	tsof_rcu_defer(rcu, &b, count_cb);
	tsof_rcu_quiesce(r1);
	CHECK_EQ(tsof_rcu_poll(rcu), 0);          /* r2 came online before the defer */
	CHECK_EQ(tsof_rcu_pending(rcu), 1);
	tsof_rcu_quiesce(r2);
	CHECK_EQ(tsof_rcu_poll(rcu), 1);
	tsof_rcu_unregister(r1);
	tsof_rcu_unregister(r2);
	tsof_rcu_defer(rcu, &a, count_cb);
	tsof_rcu_destroy(rcu);                    /* runs what is left */
	CHECK_EQ(rcu_ran, 3);
}

/* ---- a reader against a writer ---- */

struct stress {
	struct tsof_cls cls;
	struct tsof_rcu *rcu;
	_Atomic uint64_t version;
	_Atomic int stop;
	_Atomic uint64_t lookups, bad;
};

static void *stress_reader(void *arg)
{
	struct stress *s = arg;
	struct tsof_rcu_reader *r = tsof_rcu_register(s->rcu);
	uint64_t state = 12345;

	while (!atomic_load(&s->stop)) {
		for (int i = 0; i < 64; i++) {
			struct tsof_flow_key k;
			state = state * 6364136223846793005ull + 1442695040888963407ull;
			memset(&k, 0, sizeof k);
			k.in_port = tsof_hton32((uint32_t)(state >> 40) % 64);
			k.metadata = tsof_hton64(state >> 20 & 0xff);
			uint64_t v = atomic_load_explicit(&s->version, memory_order_acquire);
			const struct tsof_cls_rule *rule = tsof_cls_lookup(&s->cls, &k, v, NULL);
			const struct trule *t = (const struct trule *)rule;
			/* The catch-all anchor is never removed: a NULL is a rule
			 * lost mid-change; a rule must match and be visible. */
			if (!rule || !tsof_match_matches(&t->m, &k) || !tsof_cls_rule_visible(rule, v))
				atomic_fetch_add(&s->bad, 1);
		}
		atomic_fetch_add(&s->lookups, 64);
		tsof_rcu_quiesce(r);
	}
	tsof_rcu_unregister(r);
	return NULL;
}

static void test_concurrent(void)
{
	enum { SLOTS = 512 };
	struct stress s;
	struct trule anchor = { .linked = false };
	struct trule *slot[SLOTS] = { 0 };
	struct trule *dead[SLOTS * 4];
	int n_dead = 0;
	pthread_t th;
	struct mb b = { .n = 0 };

	s.rcu = tsof_rcu_create();
	tsof_cls_init(&s.cls, s.rcu);
	atomic_init(&s.version, 1);
	atomic_init(&s.stop, 0);
	atomic_init(&s.lookups, 0);
	atomic_init(&s.bad, 0);
	CHECK_EQ(parse(&b, &anchor.m), 0);
	tsof_cls_insert(&s.cls, &anchor.r, &anchor.m, 0, 1);
	pthread_create(&th, NULL, stress_reader, &s);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t v = 1;
	unsigned changes = 0;
	for (;;) {
		/* A change: a few rules in, a few out, at the next version.
		 * Masks vary (in_port, metadata/various, both) so subtables come
		 * and go and vectors and maps are replaced. */
		uint64_t nv = v + 1;
		for (int i = 0; i < 8; i++) {
			int j = (int)rnd_below(SLOTS);
			if (slot[j]) {
				tsof_cls_remove(&slot[j]->r, nv);
				dead[n_dead++] = slot[j];
				slot[j] = NULL;
			} else {
				struct trule *t = calloc(1, sizeof *t);
				b.n = 0;
				if (j % 3 != 1)
					oxmn(&b, TSOF_OXM_IN_PORT, 4, (uint32_t)j % 64);
				if (j % 3 != 0)
					oxmm(&b, TSOF_OXM_METADATA, 8, (uint64_t)j & 0xff & ((1u << (j % 8 + 1)) - 1),
					     (1u << (j % 8 + 1)) - 1);
				CHECK_EQ(parse(&b, &t->m), 0);
				tsof_cls_insert(&s.cls, &t->r, &t->m, 1 + (int)rnd_below(100), nv);
				slot[j] = t;
			}
		}
		atomic_store_explicit(&s.version, nv, memory_order_release);
		v = nv;
		/* The classifier's own deferred frees. */
		while (tsof_rcu_pending(s.rcu) > 64)
			tsof_rcu_poll(s.rcu);
		if (n_dead > SLOTS * 2) {
			/* As pipeline.c does with removed rules: unlink them after
			 * a grace period, free them after another. */
			struct tsof_rcu_cb gp;
			int before = rcu_ran;
			tsof_rcu_defer(s.rcu, &gp, count_cb);
			while (rcu_ran == before)
				tsof_rcu_poll(s.rcu);
			for (int i = 0; i < n_dead; i++)
				tsof_cls_unlink(&s.cls, &dead[i]->r);
			before = rcu_ran;
			tsof_rcu_defer(s.rcu, &gp, count_cb);
			while (rcu_ran == before)
				tsof_rcu_poll(s.rcu);
			for (int i = 0; i < n_dead; i++)
				free(dead[i]);
			n_dead = 0;
		}
		changes++;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec) > 400000000ll)
			break;
	}
	atomic_store(&s.stop, 1);
	pthread_join(th, NULL);
	if (!quiet)
		printf("     %u changes against %llu lookups\n", changes, (unsigned long long)atomic_load(&s.lookups));
	CHECK(atomic_load(&s.lookups) > 0);
	CHECK_EQ(atomic_load(&s.bad), 0);
	tsof_rcu_poll(s.rcu);
	tsof_cls_destroy(&s.cls);
	tsof_rcu_destroy(s.rcu);
	for (int i = 0; i < n_dead; i++)
		free(dead[i]);
	for (int i = 0; i < SLOTS; i++)
		free(slot[i]);
}

int main(int argc, char **argv)
{
	if (parse_args(argc, argv))
		return 2;
	run("oxm: every field, its layer, mask and width", test_every_field);
	run("oxm: errors", test_oxm_errors);
	run("match: frames, layers, vlan_vid", test_match_frames);
	run("match: within, overlap, equal", test_match_relations);
	run("classifier: random rules vs linear search, by version", test_random_vs_linear);
	run("classifier: shared heads, churn", test_shared_heads);
	run("classifier: lookup cost flat in the number of rules", test_flat_cost);
	run("emc: hits, misses, invalidation", test_emc);
	run("rcu: grace periods", test_rcu);
	run("classifier: concurrent reader and writer", test_concurrent);
	return summary("test_classifier");
}
