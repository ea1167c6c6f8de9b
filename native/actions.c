/*
 * actions.c: action decoding and header edits (see actions.h).
 *
 * Every edit finds its header through the offsets flow extraction recorded
 * (x->ofs), refreshed first if an earlier edit moved headers, and writes only
 * inside the header that extraction found whole. Bytes beyond what extraction
 * checked (the LSE or IP header under an MPLS top entry, ND options) are
 * bounds-checked here.
 */
#include "actions.h"
#include "classifier.h"
#include "group.h"
#include "ofp.h"
#include "packet.h"

#include <stdlib.h>
#include <string.h>

/* ---- the frame and its key ---- */

void tsof_xframe_init(struct tsof_xframe *x, struct tsof_pl_frame *pkt)
{
	x->pkt = pkt;
	tsof_flow_extract_ofs(pkt->data, pkt->len, pkt->in_port, &x->key, &x->ofs);
	x->key.in_phy_port = tsof_hton32(pkt->in_phy_port);
	x->key.tunnel_id = tsof_hton64(pkt->tunnel_id);
	x->dirty = false;
}

void tsof_xframe_refresh(struct tsof_xframe *x)
{
	if (!x->dirty)
		return;
	tsof_be64 metadata = x->key.metadata, tunnel_id = x->key.tunnel_id;
	tsof_be32 in_phy_port = x->key.in_phy_port;
	tsof_flow_extract_ofs(x->pkt->data, x->pkt->len, x->pkt->in_port, &x->key, &x->ofs);
	x->key.metadata = metadata;
	x->key.tunnel_id = tunnel_id;
	x->key.in_phy_port = in_phy_port;
	x->dirty = false;
}

/* Opens n bytes at off. Takes headroom when there is some (moving the
 * bytes before off), else tailroom (moving those after). */
static bool pkt_insert(struct tsof_pl_frame *p, uint32_t off, uint32_t n)
{
	if (p->headroom >= n) {
		memmove(p->data - n, p->data, off);
		p->data -= n;
		p->headroom -= n;
	} else if (p->tailroom >= n) {
		memmove(p->data + off + n, p->data + off, p->len - off);
		p->tailroom -= n;
	} else {
		return false;
	}
	p->len += n;
	if ((p->flags & TSOF_PL_CSUM_PARTIAL) && p->csum_start >= off)
		p->csum_start = (uint16_t)(p->csum_start + n);
	return true;
}

/* Removes n bytes at off, giving them back as headroom. */
static void pkt_remove(struct tsof_pl_frame *p, uint32_t off, uint32_t n)
{
	memmove(p->data + n, p->data, off);
	p->data += n;
	p->headroom += n;
	p->len -= n;
	if ((p->flags & TSOF_PL_CSUM_PARTIAL) && p->csum_start >= off + n)
		p->csum_start = (uint16_t)(p->csum_start - n);
}

/* ---- checksums ---- */

/* One's-complement sum of bytes that start `odd` (0 or 1) bytes past a
 * 16-bit boundary of the data the checksum covers. */
static uint32_t sum16(const uint8_t *p, size_t n, unsigned odd)
{
	uint32_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += (i + odd) & 1 ? p[i] : (uint32_t)p[i] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), m and m' the old and new sums. */
static void csum_adjust(uint8_t *c, uint32_t old_sum, uint32_t new_sum)
{
	uint32_t s = (uint16_t)~tsof_rd16(c);

	s += (uint16_t)~fold(old_sum);
	s += fold(new_sum);
	tsof_wr16(c, (uint16_t)~fold(s));
}

/* The end of the IP payload: the IP length, or the frame when that is
 * longer or meaningless (as extraction bounds it). */
static uint32_t l3_end(const struct tsof_xframe *x)
{
	const uint8_t *ip = x->pkt->data + x->ofs.l3;
	uint32_t end = x->pkt->len, n;

	if (x->key.layers & TSOF_L_IPV4) {
		n = tsof_rd16(ip + 2);
		if (n >= (ip[0] & 0x0fu) * 4 && x->ofs.l3 + n < end)
			end = x->ofs.l3 + n;
	} else if (x->key.layers & TSOF_L_IPV6) {
		n = tsof_rd16(ip + 4);
		if (n && x->ofs.l3 + 40 + n < end)
			end = x->ofs.l3 + 40 + n;
	}
	return end;
}

uint32_t tsof_crc32c(const uint8_t *p, size_t n)
{
	/* The reflected polynomial 0x82f63b78, four bits at a time. */
	static const uint32_t t[16] = {
		0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1, 0x417b1dbc, 0x5125dad3, 0x61c69362, 0x7198540d,
		0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9, 0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
	};
	uint32_t c = 0xffffffff;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		c = c >> 4 ^ t[c & 15];
		c = c >> 4 ^ t[c & 15];
	}
	return ~c;
}

/* SCTP's CRC covers the whole packet, so it is recomputed; a fragment's
 * cannot be (the rest is elsewhere). The CRC goes on the wire least
 * significant byte first (RFC 9260 appendix A). */
static void sctp_recompute(struct tsof_xframe *x)
{
	if (!(x->key.layers & TSOF_L_SCTP) || (x->key.layers & TSOF_L_FRAG))
		return;
	uint8_t *s = x->pkt->data + x->ofs.l4;
	uint32_t n = l3_end(x) - x->ofs.l4;
	memset(s + 8, 0, 4);
	uint32_t crc = tsof_crc32c(s, n);
	for (int i = 0; i < 4; i++)
		s[8 + i] = (uint8_t)(crc >> 8 * i);
}

/* Which checksums cover a rewritten byte range. */
#define CK_IP     1u  /* the IPv4 header checksum */
#define CK_L4     2u  /* the L4 checksum, as part of the L4 header */
#define CK_PSEUDO 4u  /* the L4 checksum, through the pseudo-header */

/* The L4 checksum field, for the protocols whose checksum is a one's
 * complement sum; NULL for others (SCTP has its CRC). */
static uint8_t *l4_csum(const struct tsof_xframe *x, bool pseudo)
{
	uint32_t l = x->key.layers;
	uint8_t *l4 = x->pkt->data + x->ofs.l4;

	if (l & TSOF_L_TCP)
		return l4 + 16;
	if (l & TSOF_L_UDP)
		return l4 + 6;
	if (l & TSOF_L_ICMPV6)
		return l4 + 2;
	if ((l & TSOF_L_ICMPV4) && !pseudo)  /* ICMPv4 has no pseudo-header */
		return l4 + 2;
	return NULL;
}

static void l4_adjust(struct tsof_xframe *x, uint32_t old_sum, uint32_t new_sum, bool pseudo)
{
	uint8_t *c = l4_csum(x, pseudo);
	bool udp = x->key.layers & TSOF_L_UDP;

	if (!c)
		return;
	if (x->pkt->flags & TSOF_PL_CSUM_PARTIAL) {
		/* The field holds the pseudo-header sum, uncomplemented; the
		 * rest is summed when the checksum is finished. */
		if (pseudo)
			tsof_wr16(c, fold(tsof_rd16(c) + (uint16_t)~fold(old_sum) + fold(new_sum)));
		return;
	}
	if (udp && !tsof_rd16(c))
		return;  /* no checksum */
	csum_adjust(c, old_sum, new_sum);
	if (udp && !tsof_rd16(c))
		tsof_wr16(c, 0xffff);
}

/* Writes v[0..n) at p and updates the checksums in ck. */
static void rewrite(struct tsof_xframe *x, uint8_t *p, const void *v, size_t n, unsigned ck)
{
	const uint8_t *base = x->pkt->data;
	unsigned odd3 = (unsigned)(p - base - x->ofs.l3) & 1, odd4 = 0;
	uint32_t old3 = 0, old4 = 0;

	if (ck & CK_L4)
		odd4 = (unsigned)(p - base - x->ofs.l4) & 1;
	if (ck & (CK_IP | CK_PSEUDO))
		old3 = sum16(p, n, odd3);
	if (ck & CK_L4)
		old4 = sum16(p, n, odd4);
	memcpy(p, v, n);
	/* IP addresses sit at even offsets of both the IP header and the
	 * pseudo-header, so one parity serves both. */
	if ((ck & CK_IP) && (x->key.layers & TSOF_L_IPV4))
		csum_adjust(x->pkt->data + x->ofs.l3 + 10, old3, sum16(p, n, odd3));
	if (ck & CK_PSEUDO)
		l4_adjust(x, old3, sum16(p, n, odd3), true);
	if (ck & CK_L4)
		l4_adjust(x, old4, sum16(p, n, odd4), false);
}

static void rewrite8(struct tsof_xframe *x, uint8_t *p, uint8_t v, unsigned ck)
{
	rewrite(x, p, &v, 1, ck);
}

/* An IPv4 TTL (at ip + 8) with the header checksum (at ip + 10). */
static void set_ipv4_ttl(uint8_t *ip, uint8_t ttl)
{
	uint32_t old = sum16(ip + 8, 1, 0);

	ip[8] = ttl;
	csum_adjust(ip + 10, old, sum16(ip + 8, 1, 0));
}

/* ---- decoding ---- */

#define BAD_ACTION(code) TSOF_ERR(TSOF_OFPET_BAD_ACTION, TSOF_OFPBAC_##code)

static bool is_output_port(uint32_t port, bool packet_out)
{
	switch (port) {
	case TSOF_OFPP_IN_PORT:
	case TSOF_OFPP_NORMAL:
	case TSOF_OFPP_FLOOD:
	case TSOF_OFPP_ALL:
	case TSOF_OFPP_CONTROLLER:
	case TSOF_OFPP_LOCAL:
		return true;
	case TSOF_OFPP_TABLE:
		return packet_out;
	default:  /* ANY and 0 are no ports */
		return port >= 1 && port <= TSOF_OFPP_MAX;
	}
}

static int decode_set_field(const uint8_t *p, size_t alen, struct tsof_action *a)
{
	if (alen < 8)
		return BAD_ACTION(BAD_SET_LEN);
	const uint8_t *oxm = p + 4;
	unsigned field = oxm[2] >> 1, plen = oxm[3];
	const struct tsof_flow_field *f = tsof_rd16(oxm) == 0x8000 ? tsof_field_by_oxm(field) : NULL;
	/* in_port, in_phy_port and metadata are not header fields (7.2.5);
	 * ipv6_exthdr is a summary of headers, not one. */
	if (!f || field == TSOF_OXM_IN_PORT || field == TSOF_OXM_IN_PHY_PORT ||
	    field == TSOF_OXM_METADATA || field == TSOF_OXM_IPV6_EXTHDR)
		return BAD_ACTION(BAD_SET_TYPE);
	if (oxm[2] & 1)
		return BAD_ACTION(BAD_SET_ARGUMENT);  /* masked set-field is OpenFlow 1.5 */
	if (plen != f->len || 4 + 4 + plen > alen)
		return BAD_ACTION(BAD_SET_LEN);
	if (!tsof_oxm_value_fits(f, oxm + 4))
		return BAD_ACTION(BAD_SET_ARGUMENT);
	/* A tag's VID is set with OFPVID_PRESENT (7.2.5, since 1.3.3); without it
	 * the value would mean "no tag", which set-field cannot make. */
	if (field == TSOF_OXM_VLAN_VID && !(tsof_rd16(oxm + 4) & TSOF_OFPVID_PRESENT))
		return BAD_ACTION(BAD_SET_ARGUMENT);
	a->field = (uint8_t)(f - tsof_flow_fields);
	a->slot = (uint8_t)(TSOF_AS_SET_FIELD + a->field);
	memcpy(a->u.value, oxm + 4, f->len);
	return 0;
}

static int decode_one(const uint8_t *p, size_t alen, const struct tsof_action_env *env,
		     struct tsof_action *a)
{
	uint16_t type = tsof_rd16(p);
	size_t want = 8;

	memset(a, 0, sizeof *a);
	a->type = type;
	switch (type) {
	case TSOF_OFPAT_OUTPUT:
		want = 16;
		if (alen != want)
			return BAD_ACTION(BAD_LEN);
		a->u.output.port = tsof_rd32(p + 4);
		a->u.output.max_len = tsof_rd16(p + 8);
		if (!is_output_port(a->u.output.port, env->packet_out))
			return BAD_ACTION(BAD_OUT_PORT);
		a->slot = TSOF_AS_OUTPUT;
		return 0;
	case TSOF_OFPAT_SET_FIELD:
		return decode_set_field(p, alen, a);
	case TSOF_OFPAT_EXPERIMENTER:
		return BAD_ACTION(BAD_EXPERIMENTER);
	case TSOF_OFPAT_COPY_TTL_OUT: a->slot = TSOF_AS_COPY_TTL_OUT; break;
	case TSOF_OFPAT_COPY_TTL_IN:  a->slot = TSOF_AS_COPY_TTL_IN;  break;
	case TSOF_OFPAT_DEC_MPLS_TTL: a->slot = TSOF_AS_DEC_MPLS_TTL; break;
	case TSOF_OFPAT_DEC_NW_TTL:   a->slot = TSOF_AS_DEC_NW_TTL;   break;
	case TSOF_OFPAT_POP_VLAN:     a->slot = TSOF_AS_POP_VLAN;     break;
	case TSOF_OFPAT_POP_PBB:      a->slot = TSOF_AS_POP_PBB;      break;
	case TSOF_OFPAT_SET_MPLS_TTL: a->slot = TSOF_AS_SET_MPLS_TTL; a->u.ttl = p[4]; break;
	case TSOF_OFPAT_SET_NW_TTL:   a->slot = TSOF_AS_SET_NW_TTL;   a->u.ttl = p[4]; break;
	case TSOF_OFPAT_SET_QUEUE:    a->slot = TSOF_AS_SET_QUEUE; a->u.queue_id = tsof_rd32(p + 4); break;
	case TSOF_OFPAT_POP_MPLS:     a->slot = TSOF_AS_POP_MPLS; a->u.ethertype = tsof_rd16(p + 4); break;
	case TSOF_OFPAT_PUSH_VLAN:
	case TSOF_OFPAT_PUSH_MPLS:
	case TSOF_OFPAT_PUSH_PBB: {
		uint16_t et = tsof_rd16(p + 4);
		bool ok = type == TSOF_OFPAT_PUSH_VLAN ? et == ETH_TYPE_VLAN || et == ETH_TYPE_VLAN_8021AD
			: type == TSOF_OFPAT_PUSH_MPLS ? et == ETH_TYPE_MPLS || et == ETH_TYPE_MPLS_MCAST
			: et == ETH_TYPE_PBB;
		if (alen != want)
			return BAD_ACTION(BAD_LEN);
		if (!ok)
			return BAD_ACTION(BAD_ARGUMENT);
		a->slot = type == TSOF_OFPAT_PUSH_VLAN ? TSOF_AS_PUSH_VLAN
			: type == TSOF_OFPAT_PUSH_MPLS ? TSOF_AS_PUSH_MPLS : TSOF_AS_PUSH_PBB;
		a->u.ethertype = et;
		return 0;
	}
	case TSOF_OFPAT_GROUP: {
		uint32_t id = tsof_rd32(p + 4);
		if (alen != want)
			return BAD_ACTION(BAD_LEN);
		if (id > TSOF_OFPG_MAX)
			return BAD_ACTION(BAD_OUT_GROUP);
		a->u.group.id = id;
		a->slot = TSOF_AS_GROUP;
		return tsof_refs_add(env->refs, id, false, BAD_ACTION(BAD_OUT_GROUP));
	}
	default:
		return BAD_ACTION(BAD_TYPE);
	}
	return alen == want ? 0 : BAD_ACTION(BAD_LEN);
}

void tsof_actions_free(struct tsof_actions *acts)
{
	if (!acts)
		return;
	for (uint32_t i = 0; i < acts->n; i++)
		if (acts->a[i].type == TSOF_OFPAT_GROUP && acts->a[i].u.group.ptr)
			tsof_group_unref(acts->a[i].u.group.ptr);
	free(acts);
}

static struct tsof_actions *actions_alloc(size_t n)
{
	struct tsof_actions *acts = malloc(sizeof *acts + n * sizeof acts->a[0]);

	if (acts) {
		acts->n = 0;
		acts->slots = 0;
	}
	return acts;
}

struct tsof_actions *tsof_actions_copy(const struct tsof_actions *acts)
{
	struct tsof_actions *c = actions_alloc(acts->n);

	if (!c)
		return NULL;
	*c = *acts;
	memcpy(c->a, acts->a, acts->n * sizeof acts->a[0]);
	for (uint32_t i = 0; i < c->n; i++)
		if (c->a[i].type == TSOF_OFPAT_GROUP && c->a[i].u.group.ptr)
			tsof_group_ref(c->a[i].u.group.ptr);
	return c;
}

int tsof_actions_decode(const uint8_t *p, size_t len, const struct tsof_action_env *env,
		       bool as_set, struct tsof_actions **out)
{
	size_t n = 0;

	/* Lengths first, so the list is allocated once. */
	for (size_t at = 0; at < len; n++) {
		if (len - at < 8)
			return BAD_ACTION(BAD_LEN);
		size_t alen = tsof_rd16(p + at + 2);
		if (alen < 8 || alen % 8 || alen > len - at)
			return BAD_ACTION(BAD_LEN);
		at += alen;
	}
	struct tsof_actions *acts = actions_alloc(n);
	if (!acts)
		return -1;
	for (size_t at = 0; at < len; ) {
		size_t alen = tsof_rd16(p + at + 2);
		int err = decode_one(p + at, alen, env, &acts->a[acts->n]);
		if (err) {
			tsof_actions_free(acts);
			return err;
		}
		acts->n++;
		at += alen;
	}
	if (as_set) {
		/* One per slot, the last written, in slot order. */
		int last[TSOF_AS_N];
		uint32_t keep = 0;
		for (int s = 0; s < TSOF_AS_N; s++)
			last[s] = -1;
		for (uint32_t i = 0; i < acts->n; i++)
			last[acts->a[i].slot] = (int)i;
		struct tsof_action sorted[TSOF_AS_N];
		for (int s = 0; s < TSOF_AS_N; s++)
			if (last[s] >= 0) {
				sorted[keep++] = acts->a[last[s]];
				acts->slots |= 1ull << s;
			}
		memcpy(acts->a, sorted, keep * sizeof sorted[0]);
		acts->n = keep;
	}
	*out = acts;
	return 0;
}

bool tsof_actions_output_to(const struct tsof_actions *acts, uint32_t port)
{
	if (port == TSOF_OFPP_ANY)
		return true;
	for (uint32_t i = 0; acts && i < acts->n; i++)
		if (acts->a[i].type == TSOF_OFPAT_OUTPUT && acts->a[i].u.output.port == port)
			return true;
	return false;
}

bool tsof_actions_group_to(const struct tsof_actions *acts, uint32_t group_id)
{
	if (group_id == TSOF_OFPG_ANY)
		return true;
	for (uint32_t i = 0; acts && i < acts->n; i++)
		if (acts->a[i].type == TSOF_OFPAT_GROUP && acts->a[i].u.group.id == group_id)
			return true;
	return false;
}

/* ---- push and pop ---- */

static bool is_vlan_tpid(uint16_t t)
{
	return t == ETH_TYPE_VLAN || t == ETH_TYPE_VLAN_8021AD;
}

/* The offset of the EtherType after all VLAN tags. */
static uint32_t ethertype_ofs(const struct tsof_pl_frame *p)
{
	uint32_t t = 12;

	while (t + 6 <= p->len && is_vlan_tpid(tsof_rd16(p->data + t)))
		t += 4;
	return t;
}

static int push_vlan(struct tsof_xframe *x, uint16_t tpid)
{
	/* A new outer tag copies the VID and PCP of the old outer tag (5.12.1). */
	uint16_t tci = (x->key.layers & TSOF_L_VLAN) ? tsof_rd16(x->pkt->data + 14) : 0;

	if (!(x->key.layers & TSOF_L_ETH))
		return TSOF_ACT_OK;
	if (!pkt_insert(x->pkt, 12, 4))
		return TSOF_ACT_NO_ROOM;
	tsof_wr16(x->pkt->data + 12, tpid);
	tsof_wr16(x->pkt->data + 14, tci);
	x->dirty = true;
	return TSOF_ACT_OK;
}

static int pop_vlan(struct tsof_xframe *x)
{
	if (x->key.layers & TSOF_L_VLAN) {
		pkt_remove(x->pkt, 12, 4);
		x->dirty = true;
	}
	return TSOF_ACT_OK;
}

/* The new label stack entry goes after the Ethernet header and its VLAN tags
 * (as Linux and Open vSwitch place it; 5.12.1's "before other tags" would put
 * VLAN tags inside MPLS, where nothing expects them). It copies label, TC and
 * TTL from the old top entry, or takes label 0, TC 0 and the IP TTL. */
static int push_mpls(struct tsof_xframe *x, uint16_t ethertype)
{
	struct tsof_pl_frame *p = x->pkt;
	uint32_t lse;

	if (!(x->key.layers & TSOF_L_ETH))
		return TSOF_ACT_OK;
	uint32_t t = ethertype_ofs(p);
	if (t + 2 > p->len || tsof_rd16(p->data + t) < ETH_TYPE_MIN)
		return TSOF_ACT_OK;  /* 802.3 frame: no EtherType to chain from */
	if (x->key.layers & TSOF_L_MPLS) {
		lse = tsof_rd32(p->data + x->ofs.l2_5) & ~0x100u;  /* not bottom of stack */
	} else {
		uint8_t ttl = 0;
		if (x->key.layers & TSOF_L_IPV4)
			ttl = p->data[x->ofs.l3 + 8];
		else if (x->key.layers & TSOF_L_IPV6)
			ttl = p->data[x->ofs.l3 + 7];
		lse = 0x100u | ttl;
	}
	if (!pkt_insert(p, t + 2, 4))
		return TSOF_ACT_NO_ROOM;
	tsof_wr16(p->data + t, ethertype);
	tsof_wr32(p->data + t + 2, lse);
	x->dirty = true;
	return TSOF_ACT_OK;
}

static int pop_mpls(struct tsof_xframe *x, uint16_t ethertype)
{
	if (x->key.layers & TSOF_L_MPLS) {
		uint32_t at = x->ofs.l2_5;
		tsof_wr16(x->pkt->data + at - 2, ethertype);
		pkt_remove(x->pkt, at, 4);
		x->dirty = true;
	}
	return TSOF_ACT_OK;
}

/* A new backbone header in front: B-DA and B-SA copied from the customer
 * addresses, the I-TAG from an existing one, else I-PCP from the VLAN PCP. */
static int push_pbb(struct tsof_xframe *x, uint16_t ethertype)
{
	struct tsof_pl_frame *p = x->pkt;
	uint8_t itag[4] = { 0, 0, 0, 0 };

	if (!(x->key.layers & TSOF_L_ETH))
		return TSOF_ACT_OK;
	if (x->key.layers & TSOF_L_PBB)
		memcpy(itag, p->data + x->ofs.l2_5, 4);
	else if (x->key.layers & TSOF_L_VLAN)
		itag[0] = (uint8_t)(x->key.vlan_pcp << 5);
	if (!pkt_insert(p, 0, 18))
		return TSOF_ACT_NO_ROOM;
	memcpy(p->data, p->data + 18, 12);
	tsof_wr16(p->data + 12, ethertype);
	memcpy(p->data + 14, itag, 4);
	x->dirty = true;
	return TSOF_ACT_OK;
}

/* Removes the backbone header through the I-TAG: the customer frame is left. */
static int pop_pbb(struct tsof_xframe *x)
{
	if (x->key.layers & TSOF_L_PBB) {
		pkt_remove(x->pkt, 0, x->ofs.l2_5 + 4);
		x->dirty = true;
	}
	return TSOF_ACT_OK;
}

/* ---- TTLs ---- */

/* The TTL of the header right under the top MPLS entry: the next entry, or
 * the IP header at the bottom of the stack. NULL if none is there whole. */
static uint8_t *inner_ttl(struct tsof_xframe *x, uint8_t **ipv4)
{
	struct tsof_pl_frame *p = x->pkt;
	uint32_t at = x->ofs.l2_5 + 4;

	*ipv4 = NULL;
	if (!(p->data[x->ofs.l2_5 + 2] & 1))     /* not bottom of stack */
		return at + 4 <= p->len ? p->data + at + 3 : NULL;
	if (at + 20 <= p->len && p->data[at] >> 4 == 4) {
		*ipv4 = p->data + at;
		return p->data + at + 8;
	}
	if (at + 40 <= p->len && p->data[at] >> 4 == 6)
		return p->data + at + 7;
	return NULL;
}

static int copy_ttl(struct tsof_xframe *x, bool out)
{
	uint8_t *ipv4, *in, *top;

	/* Only MPLS-to-MPLS and MPLS-to/from-IP: IP in IP is not parsed. */
	if (!(x->key.layers & TSOF_L_MPLS) || !(in = inner_ttl(x, &ipv4)))
		return TSOF_ACT_OK;
	top = x->pkt->data + x->ofs.l2_5 + 3;
	if (out)
		*top = *in;
	else if (ipv4)
		set_ipv4_ttl(ipv4, *top);
	else
		*in = *top;
	return TSOF_ACT_OK;
}

static int set_mpls_ttl(struct tsof_xframe *x, uint8_t ttl, bool dec)
{
	if (!(x->key.layers & TSOF_L_MPLS))
		return TSOF_ACT_OK;
	uint8_t *t = x->pkt->data + x->ofs.l2_5 + 3;
	if (dec) {
		if (*t <= 1)
			return TSOF_ACT_INVALID_TTL;
		ttl = (uint8_t)(*t - 1);
	}
	*t = ttl;
	return TSOF_ACT_OK;
}

static int set_nw_ttl(struct tsof_xframe *x, uint8_t ttl, bool dec)
{
	uint8_t *ip = x->pkt->data + x->ofs.l3;
	uint8_t *t;

	if (x->key.layers & TSOF_L_IPV4)
		t = ip + 8;
	else if (x->key.layers & TSOF_L_IPV6)
		t = ip + 7;
	else
		return TSOF_ACT_OK;
	if (dec) {
		if (*t <= 1)
			return TSOF_ACT_INVALID_TTL;
		ttl = (uint8_t)(*t - 1);
	}
	if (x->key.layers & TSOF_L_IPV4)
		set_ipv4_ttl(ip, ttl);
	else
		*t = ttl;
	return TSOF_ACT_OK;
}

/* ---- set-field ---- */

static uint32_t be_value(const uint8_t *v, unsigned n)
{
	uint32_t r = 0;

	for (unsigned i = 0; i < n; i++)
		r = r << 8 | v[i];
	return r;
}

/* The link-layer address of an ND option (SLL 1, TLL 2), or NULL. */
static uint8_t *nd_lla(struct tsof_xframe *x, uint8_t type)
{
	uint8_t *d = x->pkt->data;
	uint32_t o = x->ofs.l4 + 8 + 16, end = l3_end(x);

	while (o + 2 <= end) {
		uint32_t olen = d[o + 1] * 8u;
		if (!olen || olen > end - o)
			return NULL;
		if (d[o] == type && olen == 8)
			return d + o + 2;
		o += olen;
	}
	return NULL;
}

/* IPv6 traffic class (DSCP and ECN) and flow label live across byte
 * boundaries of the first word: rebuild the word. */
static void set_ipv6_word0(struct tsof_xframe *x, int dscp, int ecn, int32_t flabel)
{
	uint8_t *ip = x->pkt->data + x->ofs.l3;
	uint32_t w = tsof_rd32(ip);
	uint32_t tc = w >> 20 & 0xff;

	if (dscp >= 0)
		tc = (tc & 3) | (uint32_t)dscp << 2;
	if (ecn >= 0)
		tc = (tc & ~3u) | (uint32_t)ecn;
	w = (w & 0xf00fffffu) | tc << 20;
	if (flabel >= 0)
		w = (w & 0xfff00000u) | (uint32_t)flabel;
	tsof_wr32(ip, w);
}

/* What each field needs in the frame, and whether it moves headers. */
void tsof_act_set_field(struct tsof_xframe *x, unsigned field, const uint8_t *v)
{
	const struct tsof_flow_field *f = &tsof_flow_fields[field];

	tsof_xframe_refresh(x);
	struct tsof_pl_frame *p = x->pkt;
	uint8_t *d = p->data;
	uint32_t l = x->key.layers, n = be_value(v, f->len < 4 ? f->len : 4);
	bool v4 = l & TSOF_L_IPV4;
	/* Formed only after the field's layer, so its header, is known present. */
#define L3 (d + x->ofs.l3)
#define L4 (d + x->ofs.l4)

	if (f->layer && !(l & f->layer))
		return;
	switch (f->oxm) {
	case TSOF_OXM_ETH_DST: memcpy(d, v, 6); break;
	case TSOF_OXM_ETH_SRC: memcpy(d + 6, v, 6); break;
	case TSOF_OXM_ETH_TYPE:
		tsof_wr16(d + ethertype_ofs(p), (uint16_t)n);
		x->dirty = true;
		return;
	case TSOF_OXM_VLAN_VID:
	case TSOF_OXM_VLAN_PCP: {
		if (!(l & TSOF_L_VLAN))
			return;
		uint16_t tci = tsof_rd16(d + 14);
		if (f->oxm == TSOF_OXM_VLAN_VID) {
			tci = (uint16_t)((tci & 0xf000) | (n & 0x0fff));
			x->key.vlan_vid = tsof_hton16((uint16_t)(TSOF_OFPVID_PRESENT | (n & 0x0fff)));
		} else {
			tci = (uint16_t)((tci & 0x1fff) | n << 13);
			x->key.vlan_pcp = (uint8_t)n;
		}
		tsof_wr16(d + 14, tci);
		return;
	}
	case TSOF_OXM_IP_DSCP:
	case TSOF_OXM_IP_ECN:
		if (v4) {
			uint8_t tos = L3[1];
			tos = f->oxm == TSOF_OXM_IP_DSCP ? (uint8_t)(n << 2 | (tos & 3)) : (uint8_t)((tos & 0xfc) | n);
			rewrite8(x, L3 + 1, tos, CK_IP);
		} else {
			set_ipv6_word0(x, f->oxm == TSOF_OXM_IP_DSCP ? (int)n : -1,
				       f->oxm == TSOF_OXM_IP_ECN ? (int)n : -1, -1);
		}
		break;
	case TSOF_OXM_IP_PROTO: {
		/* The L4 header stays as it is, but its checksum follows the
		 * protocol in the pseudo-header (the low byte of a word). */
		uint8_t old;
		if (v4) {
			old = L3[9];
			rewrite8(x, L3 + 9, (uint8_t)n, CK_IP);
		} else if (!x->key.ipv6_exthdr) {  /* then the base header's is the one */
			old = L3[6];
			L3[6] = (uint8_t)n;
		} else {
			return;
		}
		l4_adjust(x, old, n, true);
		x->dirty = true;
		return;
	}
	case TSOF_OXM_IPV4_SRC: rewrite(x, L3 + 12, v, 4, CK_IP | CK_PSEUDO); break;
	case TSOF_OXM_IPV4_DST: rewrite(x, L3 + 16, v, 4, CK_IP | CK_PSEUDO); break;
	case TSOF_OXM_TCP_SRC:
	case TSOF_OXM_UDP_SRC: rewrite(x, L4, v, 2, CK_L4); break;
	case TSOF_OXM_TCP_DST:
	case TSOF_OXM_UDP_DST: rewrite(x, L4 + 2, v, 2, CK_L4); break;
	case TSOF_OXM_SCTP_SRC: memcpy(L4, v, 2); sctp_recompute(x); break;
	case TSOF_OXM_SCTP_DST: memcpy(L4 + 2, v, 2); sctp_recompute(x); break;
	case TSOF_OXM_ICMPV4_TYPE:
	case TSOF_OXM_ICMPV6_TYPE:
		rewrite(x, L4, v, 1, CK_L4);
		if (f->oxm == TSOF_OXM_ICMPV6_TYPE)
			x->dirty = true;  /* ND or not */
		break;
	case TSOF_OXM_ICMPV4_CODE:
	case TSOF_OXM_ICMPV6_CODE:
		rewrite(x, L4 + 1, v, 1, CK_L4);
		if (f->oxm == TSOF_OXM_ICMPV6_CODE)
			x->dirty = true;
		break;
	case TSOF_OXM_ARP_OP:  memcpy(L3 + 6, v, 2); break;
	case TSOF_OXM_ARP_SHA: memcpy(L3 + 8, v, 6); break;
	case TSOF_OXM_ARP_SPA: memcpy(L3 + 14, v, 4); break;
	case TSOF_OXM_ARP_THA: memcpy(L3 + 18, v, 6); break;
	case TSOF_OXM_ARP_TPA: memcpy(L3 + 24, v, 4); break;
	case TSOF_OXM_IPV6_SRC: rewrite(x, L3 + 8, v, 16, CK_PSEUDO); break;
	case TSOF_OXM_IPV6_DST: rewrite(x, L3 + 24, v, 16, CK_PSEUDO); break;
	case TSOF_OXM_IPV6_FLABEL: set_ipv6_word0(x, -1, -1, (int32_t)n); break;
	case TSOF_OXM_IPV6_ND_TARGET: rewrite(x, L4 + 8, v, 16, CK_L4); break;
	case TSOF_OXM_IPV6_ND_SLL:
	case TSOF_OXM_IPV6_ND_TLL: {
		uint8_t *lla = nd_lla(x, f->oxm == TSOF_OXM_IPV6_ND_SLL ? ND_OPT_SLL : ND_OPT_TLL);
		if (!lla)
			return;
		rewrite(x, lla, v, 6, CK_L4);
		break;
	}
	case TSOF_OXM_MPLS_LABEL:
	case TSOF_OXM_MPLS_TC:
	case TSOF_OXM_MPLS_BOS: {
		uint8_t *m = d + x->ofs.l2_5;
		uint32_t lse = tsof_rd32(m);
		if (f->oxm == TSOF_OXM_MPLS_LABEL)
			lse = (lse & 0xfff) | n << 12;
		else if (f->oxm == TSOF_OXM_MPLS_TC)
			lse = (lse & ~0xe00u) | n << 9;
		else
			lse = (lse & ~0x100u) | n << 8;
		tsof_wr32(m, lse);
		break;
	}
	case TSOF_OXM_PBB_ISID: memcpy(d + x->ofs.l2_5 + 1, v, 3); break;
	case TSOF_OXM_PBB_UCA: {
		uint8_t *tci = d + x->ofs.l2_5;
		*tci = (uint8_t)((*tci & ~0x08) | n << 3);
		break;
	}
	case TSOF_OXM_TUNNEL_ID:
		p->tunnel_id = tsof_rd64(v);
		break;
	default:  /* not settable: parsing refused it */
		return;
	}
#undef L3
#undef L4
	memcpy((uint8_t *)&x->key + f->ofs, v, f->len);
}

int tsof_act_execute(struct tsof_xframe *x, const struct tsof_action *a)
{
	tsof_xframe_refresh(x);
	switch (a->type) {
	case TSOF_OFPAT_COPY_TTL_OUT: return copy_ttl(x, true);
	case TSOF_OFPAT_COPY_TTL_IN:  return copy_ttl(x, false);
	case TSOF_OFPAT_SET_MPLS_TTL: return set_mpls_ttl(x, a->u.ttl, false);
	case TSOF_OFPAT_DEC_MPLS_TTL: return set_mpls_ttl(x, 0, true);
	case TSOF_OFPAT_SET_NW_TTL:   return set_nw_ttl(x, a->u.ttl, false);
	case TSOF_OFPAT_DEC_NW_TTL:   return set_nw_ttl(x, 0, true);
	case TSOF_OFPAT_PUSH_VLAN:    return push_vlan(x, a->u.ethertype);
	case TSOF_OFPAT_POP_VLAN:     return pop_vlan(x);
	case TSOF_OFPAT_PUSH_MPLS:    return push_mpls(x, a->u.ethertype);
	case TSOF_OFPAT_POP_MPLS:     return pop_mpls(x, a->u.ethertype);
	case TSOF_OFPAT_PUSH_PBB:     return push_pbb(x, a->u.ethertype);
	case TSOF_OFPAT_POP_PBB:      return pop_pbb(x);
	case TSOF_OFPAT_SET_FIELD:
		tsof_act_set_field(x, a->field, a->u.value);
		return TSOF_ACT_OK;
	default:
		return TSOF_ACT_OK;
	}
}
