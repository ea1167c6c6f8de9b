/*
 * flow.c: flow key extraction (see flow.h for the key, docs/native.md for the
 * rules on malformed frames).
 *
 * The shape follows the Linux kernel datapath's key_extract(): one pass, front
 * to back, each header read through the same bounds-checked reader, and a
 * header that does not fit simply ends the pass. Every pointer into the frame
 * comes from peek() or pull(), which check the length first; nothing else
 * indexes the frame.
 */
#include "flow.h"
#include "packet.h"

#include <string.h>

/* The one reader. Invariant: pos <= end <= len. end only shrinks (clip() to an
 * IP length, which drops Ethernet padding); pos only grows. */
struct reader {
	const uint8_t *buf;
	size_t pos, end;
};

/* n bytes at the cursor, or NULL if fewer remain. */
static inline const void *peek(const struct reader *r, size_t n)
{
	return r->end - r->pos >= n ? r->buf + r->pos : NULL;
}

/* The same, and moves the cursor past them. */
static inline const void *pull(struct reader *r, size_t n)
{
	const uint8_t *p = peek(r, n);
	if (p)
		r->pos += n;
	return p;
}

/* The rest of the frame is at most n bytes (an IP header said so). */
static inline void clip(struct reader *r, size_t n)
{
	if (n < r->end - r->pos)
		r->end = r->pos + n;
}

static inline void put16(tsof_be16 *dst, uint16_t v)
{
	*dst = tsof_hton16(v);
}

static inline void put32(tsof_be32 *dst, uint32_t v)
{
	*dst = tsof_hton32(v);
}

#define OFS(r) ((uint32_t)(r)->pos)

static void parse_l4(struct reader *r, struct tsof_flow_key *k,
		     struct tsof_flow_ofs *o, uint8_t proto, int ipv6);

static int is_vlan_tpid(uint16_t type)
{
	return type == ETH_TYPE_VLAN || type == ETH_TYPE_VLAN_8021AD;
}

/* The outer tag gives vlan_vid and vlan_pcp (OpenFlow matches the outermost
 * tag); inner tags are skipped to reach the EtherType. A tag cut off leaves
 * its TPID as eth_type, as Open vSwitch does. Returns the EtherType. */
static uint16_t parse_vlans(struct reader *r, struct tsof_flow_key *k,
			    struct tsof_flow_ofs *o, uint16_t type)
{
	const struct vlan_tag *tag;

	if (!is_vlan_tpid(type) || !(tag = peek(r, sizeof *tag)))
		return type;
	o->vlan = OFS(r) - 2;  /* the TPID is the Ethernet type field */
	pull(r, sizeof *tag);
	uint16_t tci = rd16(tag->tci);
	put16(&k->vlan_vid, TSOF_OFPVID_PRESENT | (tci & 0x0fff));
	k->vlan_pcp = (uint8_t)(tci >> 13);
	k->layers |= TSOF_L_VLAN;
	type = rd16(tag->type);
	/* Each pass consumes 4 bytes, so this ends. */
	while (is_vlan_tpid(type) && (tag = pull(r, sizeof *tag)))
		type = rd16(tag->type);
	return type;
}

/* Below 0x600 the type field is an 802.3 length: an LLC/SNAP header with OUI 0
 * carries the real EtherType (RFC 1042); anything else is 0x05ff, as in
 * OpenFlow 1.0 and Open vSwitch. */
static uint16_t parse_llc(struct reader *r)
{
	const struct llc_snap_hdr *llc = peek(r, sizeof *llc);

	if (!llc || llc->dsap != 0xaa || llc->ssap != 0xaa || llc->ctrl != 0x03 ||
	    llc->oui[0] || llc->oui[1] || llc->oui[2])
		return ETH_TYPE_NOT_ETH;
	uint16_t type = rd16(llc->type);
	if (type < ETH_TYPE_MIN)
		return ETH_TYPE_NOT_ETH;
	pull(r, sizeof *llc);
	return type;
}

/* Only the top entry of the stack is a match field; nothing below is parsed. */
static void parse_mpls(struct reader *r, struct tsof_flow_key *k, struct tsof_flow_ofs *o)
{
	uint32_t at = OFS(r);
	const struct mpls_lse *m = pull(r, sizeof *m);

	if (!m)
		return;
	uint32_t lse = rd32(m->lse);
	put32(&k->mpls_label, lse >> 12);
	k->mpls_tc = (uint8_t)(lse >> 9 & 7);
	k->mpls_bos = (uint8_t)(lse >> 8 & 1);
	k->layers |= TSOF_L_MPLS;
	o->l2_5 = at;
}

static void parse_pbb(struct reader *r, struct tsof_flow_key *k, struct tsof_flow_ofs *o)
{
	uint32_t at = OFS(r);
	const struct pbb_itag *t = pull(r, sizeof *t);

	if (!t)
		return;
	k->pbb_uca = t->tci >> 3 & 1;
	memcpy(k->pbb_isid, t->isid, 3);
	k->layers |= TSOF_L_PBB;
	o->l2_5 = at;
}

static void parse_arp(struct reader *r, struct tsof_flow_key *k, struct tsof_flow_ofs *o)
{
	uint32_t at = OFS(r);
	const struct arp_eth_ipv4 *a = pull(r, sizeof *a);

	/* OpenFlow's ARP fields are defined for Ethernet/IPv4 ARP only. */
	if (!a || rd16(a->htype) != 1 || rd16(a->ptype) != ETH_TYPE_IPV4 ||
	    a->hlen != 6 || a->plen != 4)
		return;
	memcpy(&k->arp_op, a->op, 2);
	memcpy(&k->arp_spa, a->spa, 4);
	memcpy(&k->arp_tpa, a->tpa, 4);
	memcpy(k->arp_sha, a->sha, 6);
	memcpy(k->arp_tha, a->tha, 6);
	k->layers |= TSOF_L_ARP;
	o->l3 = at;
}

static void parse_ipv4(struct reader *r, struct tsof_flow_key *k, struct tsof_flow_ofs *o)
{
	uint32_t at = OFS(r);
	const struct ipv4_hdr *ip = peek(r, sizeof *ip);

	if (!ip || ip->ver_ihl >> 4 != 4)
		return;
	size_t hlen = (ip->ver_ihl & 0x0fu) * 4;
	/* IHL < 5 is malformed; options cut off leave no header either. */
	if (hlen < sizeof *ip || !pull(r, hlen))
		return;
	/* The total length bounds the payload (cutting Ethernet padding off).
	 * One longer than the frame means the frame was cut: use what is there.
	 * One shorter than the header is a lie (Linux writes 0 in BIG TCP GSO
	 * frames): ignore it. */
	size_t tot = rd16(ip->tot_len);
	if (tot >= hlen)
		clip(r, tot - hlen);

	k->layers |= TSOF_L_IP | TSOF_L_IPV4;
	k->ip_dscp = ip->tos >> 2;
	k->ip_ecn = ip->tos & 3;
	k->ip_proto = ip->proto;
	memcpy(&k->ipv4_src, ip->src, 4);
	memcpy(&k->ipv4_dst, ip->dst, 4);
	o->l3 = at;

	uint16_t frag = rd16(ip->frag);
	if (frag & (IPV4_MF | IPV4_OFFSET)) {
		k->layers |= TSOF_L_FRAG;
		/* A later fragment starts mid-payload: its first bytes are no header. */
		if (frag & IPV4_OFFSET) {
			k->layers |= TSOF_L_LATER_FRAG;
			return;
		}
	}
	parse_l4(r, k, o, ip->proto, 0);
}

/* The extension headers OpenFlow's ipv6_exthdr knows, which the walk skips. */
static int is_ipv6_ext(uint8_t nxt)
{
	return nxt == IPPROTO_HOPOPTS_ || nxt == IPPROTO_ROUTING_ || nxt == IPPROTO_FRAGMENT_ ||
	       nxt == IPPROTO_AH_ || nxt == IPPROTO_ESP_ || nxt == IPPROTO_DSTOPTS_;
}

/*
 * The extension-header walk sets ipv6_exthdr. RFC 2460 4.1's preferred order
 * gives each header a rank:
 *   1 Hop-by-Hop, 2 Destination (before a Routing header), 3 Routing,
 *   4 Fragment, 5 AH, 6 ESP, 7 Destination (final).
 * A Destination Options header whose next header is Routing takes rank 2,
 * otherwise 7: so two Destination headers are expected, and nothing else may
 * appear twice. UNREP: a rank seen before. UNSEQ: a rank lower than the one
 * before it (Hop-by-Hop anywhere but first is one case).
 */
static void parse_ipv6(struct reader *r, struct tsof_flow_key *k, struct tsof_flow_ofs *o)
{
	uint32_t at = OFS(r);
	const struct ipv6_hdr *ip = pull(r, sizeof *ip);

	if (!ip)
		return;
	uint32_t vtcf = rd32(ip->vtc_flow);
	if (vtcf >> 28 != 6)
		return;
	/* Payload length 0 is a jumbogram or a BIG TCP GSO frame: the frame
	 * bounds it. A longer one than the frame means the frame was cut. */
	size_t plen = rd16(ip->plen);
	if (plen)
		clip(r, plen);

	k->layers |= TSOF_L_IP | TSOF_L_IPV6;
	k->ip_dscp = (uint8_t)(vtcf >> 22 & 0x3f);
	k->ip_ecn = (uint8_t)(vtcf >> 20 & 3);
	put32(&k->ipv6_flabel, vtcf & 0xfffff);
	memcpy(k->ipv6_src, ip->src, 16);
	memcpy(k->ipv6_dst, ip->dst, 16);
	o->l3 = at;

	uint8_t nxt = ip->nxt;
	uint16_t flags = 0;
	unsigned seen = 0, last = 0;
	int upper = 0;  /* the walk reached a header it does not walk: maybe L4 */
	for (;;) {
		const struct ipv6_ext_hdr *h;
		uint16_t bit;
		unsigned rank;
		size_t hlen;

		if (nxt == IPPROTO_NONE_) {
			flags |= TSOF_IEH_NONEXT;
			break;
		}
		if (!is_ipv6_ext(nxt)) {
			upper = 1;  /* an upper-layer protocol, or one we do not walk */
			break;
		}
		/* Every walked header starts with 8 bytes; AH's length is in
		 * 4-byte units (RFC 4302), the Fragment header is always 8,
		 * ESP's is 8 (SPI and sequence) and what follows is encrypted. */
		if (!(h = peek(r, sizeof *h)))
			break;
		switch (nxt) {
		case IPPROTO_HOPOPTS_:  bit = TSOF_IEH_HOP;    rank = 1; hlen = (h->len + 1u) * 8; break;
		case IPPROTO_ROUTING_:  bit = TSOF_IEH_ROUTER; rank = 3; hlen = (h->len + 1u) * 8; break;
		case IPPROTO_FRAGMENT_: bit = TSOF_IEH_FRAG;   rank = 4; hlen = 8; break;
		case IPPROTO_AH_:       bit = TSOF_IEH_AUTH;   rank = 5; hlen = (h->len + 2u) * 4; break;
		case IPPROTO_ESP_:      bit = TSOF_IEH_ESP;    rank = 6; hlen = 8; break;
		default:  /* IPPROTO_DSTOPTS_, the last one is_ipv6_ext() lets through */
			bit = TSOF_IEH_DEST;
			rank = h->nxt == IPPROTO_ROUTING_ ? 2 : 7;
			hlen = (h->len + 1u) * 8;
			break;
		}
		if (!pull(r, hlen))
			break;  /* cut off or overrunning: ip_proto names it */
		flags |= bit;
		if (seen & 1u << rank)
			flags |= TSOF_IEH_UNREP;
		if (rank < last)
			flags |= TSOF_IEH_UNSEQ;
		seen |= 1u << rank;
		last = rank;
		if (nxt == IPPROTO_ESP_)
			break;  /* the next header field is in the encrypted trailer */
		if (nxt == IPPROTO_FRAGMENT_) {
			const struct ipv6_frag_hdr *f = (const void *)h;
			k->layers |= TSOF_L_FRAG;
			if (rd16(f->off_m) & IPV6_FRAG_OFFSET) {
				k->layers |= TSOF_L_LATER_FRAG;
				nxt = f->nxt;
				break;
			}
		}
		nxt = h->nxt;
	}
	k->ip_proto = nxt;
	put16(&k->ipv6_exthdr, flags);
	if (upper)
		parse_l4(r, k, o, nxt, 1);
}

/* NS/NA target and the link-layer address options (RFC 4861 4.3, 4.4, 4.6).
 * An option of length 0 (which RFC 4861 says to discard the packet for) or a
 * repeated SLL/TLL makes the ND fields invalid, as in Open vSwitch and Linux:
 * all zero, no TSOF_L_ND. An option cut off by the end of the frame ends the
 * walk and keeps what came before. SLL counts only in an NS, TLL only in an NA
 * (the OpenFlow prerequisites), and only in the 8-byte Ethernet form. */
static void parse_nd(struct reader *r, struct tsof_flow_key *k, uint8_t type)
{
	const struct nd_target *t;
	const struct nd_opt *opt;
	uint8_t want = type == ICMPV6_ND_NS ? ND_OPT_SLL : ND_OPT_TLL;
	uint8_t *lla = type == ICMPV6_ND_NS ? k->ipv6_nd_sll : k->ipv6_nd_tll;
	int have = 0;

	if (!(t = pull(r, sizeof *t)))
		return;
	memcpy(k->ipv6_nd_target, t->addr, 16);
	k->layers |= TSOF_L_ND;
	while ((opt = peek(r, sizeof *opt))) {
		size_t olen = opt->len * 8u;
		if (olen == 0)
			goto invalid;
		const uint8_t *p = pull(r, olen);
		if (!p)
			break;
		if (p[0] == want && olen == 8) {
			if (have++)
				goto invalid;
			memcpy(lla, p + 2, 6);
		}
	}
	return;

invalid:
	memset(k->ipv6_nd_target, 0, 16);
	memset(lla, 0, 6);
	k->layers &= ~TSOF_L_ND;
}

static void parse_l4(struct reader *r, struct tsof_flow_key *k,
		     struct tsof_flow_ofs *o, uint8_t proto, int ipv6)
{
	uint32_t at = OFS(r);

	switch (proto) {
	case IPPROTO_TCP_: {
		const struct tcp_hdr *h = pull(r, sizeof *h);
		if (!h)
			return;
		memcpy(&k->tcp_src, h->src, 2);
		memcpy(&k->tcp_dst, h->dst, 2);
		k->layers |= TSOF_L_TCP;
		break;
	}
	case IPPROTO_UDP_: {
		const struct udp_hdr *h = pull(r, sizeof *h);
		if (!h)
			return;
		memcpy(&k->udp_src, h->src, 2);
		memcpy(&k->udp_dst, h->dst, 2);
		k->layers |= TSOF_L_UDP;
		break;
	}
	case IPPROTO_SCTP_: {
		const struct sctp_hdr *h = pull(r, sizeof *h);
		if (!h)
			return;
		memcpy(&k->sctp_src, h->src, 2);
		memcpy(&k->sctp_dst, h->dst, 2);
		k->layers |= TSOF_L_SCTP;
		break;
	}
	case IPPROTO_ICMP_: {
		/* ICMPv4 belongs to IPv4 only, as in Linux and Open vSwitch. */
		const struct icmp_hdr *h = ipv6 ? NULL : pull(r, sizeof *h);
		if (!h)
			return;
		k->icmpv4_type = h->type;
		k->icmpv4_code = h->code;
		k->layers |= TSOF_L_ICMPV4;
		break;
	}
	case IPPROTO_ICMPV6_: {
		/* 8 bytes as Linux and Open vSwitch require: type, code,
		 * checksum and the 4-byte field (NS/NA: flags, reserved);
		 * an NS/NA target follows. */
		const struct icmp_hdr *h = ipv6 ? pull(r, sizeof *h) : NULL;
		if (!h)
			return;
		k->icmpv6_type = h->type;
		k->icmpv6_code = h->code;
		k->layers |= TSOF_L_ICMPV6;
		o->l4 = at;
		if (h->code == 0 && (h->type == ICMPV6_ND_NS || h->type == ICMPV6_ND_NA))
			parse_nd(r, k, h->type);
		return;
	}
	default:
		return;
	}
	o->l4 = at;
}

int tsof_flow_extract_ofs(const uint8_t *frame, size_t len, uint32_t in_port,
			  struct tsof_flow_key *key, struct tsof_flow_ofs *ofs)
{
	struct tsof_flow_ofs unused;
	struct tsof_flow_ofs *o = ofs ? ofs : &unused;
	/* A NULL frame is an empty one; this also keeps NULL + 0 out of peek(). */
	struct reader r = { frame, 0, frame ? len : 0 };
	const struct eth_hdr *eth;

	if (!key)
		return -1;
	memset(key, 0, sizeof *key);
	put32(&key->in_port, in_port);
	key->in_phy_port = key->in_port;
	o->vlan = o->l2_5 = o->l3 = o->l4 = TSOF_OFS_NONE;

	if (!(eth = pull(&r, sizeof *eth)))
		return 0;
	memcpy(key->eth_dst, eth->dst, 6);
	memcpy(key->eth_src, eth->src, 6);
	key->layers = TSOF_L_ETH;

	uint16_t type = parse_vlans(&r, key, o, rd16(eth->type));
	if (type < ETH_TYPE_MIN)
		type = parse_llc(&r);
	put16(&key->eth_type, type);

	switch (type) {
	case ETH_TYPE_IPV4:       parse_ipv4(&r, key, o); break;
	case ETH_TYPE_IPV6:       parse_ipv6(&r, key, o); break;
	case ETH_TYPE_ARP:        parse_arp(&r, key, o);  break;
	case ETH_TYPE_MPLS:
	case ETH_TYPE_MPLS_MCAST: parse_mpls(&r, key, o); break;
	case ETH_TYPE_PBB:        parse_pbb(&r, key, o);  break;
	default:                  break;
	}
	return 0;
}

int tsof_flow_extract(const uint8_t *frame, size_t len, uint32_t in_port,
		      struct tsof_flow_key *key)
{
	return tsof_flow_extract_ofs(frame, len, in_port, key, NULL);
}

#define F(field, oxm_, layer_) \
	{ #field, TSOF_OXM_##oxm_, sizeof(((struct tsof_flow_key *)0)->field), \
	  offsetof(struct tsof_flow_key, field), layer_ }

const struct tsof_flow_field tsof_flow_fields[TSOF_N_FIELDS] = {
	F(in_port,        IN_PORT,        0),
	F(in_phy_port,    IN_PHY_PORT,    0),
	F(metadata,       METADATA,       0),
	F(eth_dst,        ETH_DST,        TSOF_L_ETH),
	F(eth_src,        ETH_SRC,        TSOF_L_ETH),
	F(eth_type,       ETH_TYPE,       TSOF_L_ETH),
	F(vlan_vid,       VLAN_VID,       TSOF_L_ETH),  /* 0 (OFPVID_NONE) matches untagged */
	F(vlan_pcp,       VLAN_PCP,       TSOF_L_VLAN),
	F(ip_dscp,        IP_DSCP,        TSOF_L_IP),
	F(ip_ecn,         IP_ECN,         TSOF_L_IP),
	F(ip_proto,       IP_PROTO,       TSOF_L_IP),
	F(ipv4_src,       IPV4_SRC,       TSOF_L_IPV4),
	F(ipv4_dst,       IPV4_DST,       TSOF_L_IPV4),
	F(tcp_src,        TCP_SRC,        TSOF_L_TCP),
	F(tcp_dst,        TCP_DST,        TSOF_L_TCP),
	F(udp_src,        UDP_SRC,        TSOF_L_UDP),
	F(udp_dst,        UDP_DST,        TSOF_L_UDP),
	F(sctp_src,       SCTP_SRC,       TSOF_L_SCTP),
	F(sctp_dst,       SCTP_DST,       TSOF_L_SCTP),
	F(icmpv4_type,    ICMPV4_TYPE,    TSOF_L_ICMPV4),
	F(icmpv4_code,    ICMPV4_CODE,    TSOF_L_ICMPV4),
	F(arp_op,         ARP_OP,         TSOF_L_ARP),
	F(arp_spa,        ARP_SPA,        TSOF_L_ARP),
	F(arp_tpa,        ARP_TPA,        TSOF_L_ARP),
	F(arp_sha,        ARP_SHA,        TSOF_L_ARP),
	F(arp_tha,        ARP_THA,        TSOF_L_ARP),
	F(ipv6_src,       IPV6_SRC,       TSOF_L_IPV6),
	F(ipv6_dst,       IPV6_DST,       TSOF_L_IPV6),
	F(ipv6_flabel,    IPV6_FLABEL,    TSOF_L_IPV6),
	F(icmpv6_type,    ICMPV6_TYPE,    TSOF_L_ICMPV6),
	F(icmpv6_code,    ICMPV6_CODE,    TSOF_L_ICMPV6),
	F(ipv6_nd_target, IPV6_ND_TARGET, TSOF_L_ND),
	F(ipv6_nd_sll,    IPV6_ND_SLL,    TSOF_L_ND),
	F(ipv6_nd_tll,    IPV6_ND_TLL,    TSOF_L_ND),
	F(mpls_label,     MPLS_LABEL,     TSOF_L_MPLS),
	F(mpls_tc,        MPLS_TC,        TSOF_L_MPLS),
	F(mpls_bos,       MPLS_BOS,       TSOF_L_MPLS),
	F(pbb_isid,       PBB_ISID,       TSOF_L_PBB),
	F(tunnel_id,      TUNNEL_ID,      0),
	F(ipv6_exthdr,    IPV6_EXTHDR,    TSOF_L_IPV6),
	F(pbb_uca,        PBB_UCA,        TSOF_L_PBB),
};
