/*
 * flow.h: the flow key and its extraction from an Ethernet frame.
 *
 * tsof_flow_extract() reads a frame once and fills a struct tsof_flow_key with
 * every OpenFlow 1.3 match field (OpenFlow 1.3.5 section 7.2.3.7, plus
 * pbb_uca from 1.4). The classifier hashes and compares keys; the key is built
 * for that:
 *
 * - Fixed size (176 bytes, 22 64-bit words), no implicit padding, explicit pad
 *   bytes always zero, so a key can be hashed and compared as words.
 * - Each field holds exactly its OXM payload: the same width and the same
 *   network (big-endian) byte order as in an OXM TLV. A flow-mod's OXM value and
 *   mask are copied into a key and a key-sized mask with memcpy at the offset
 *   tsof_flow_fields[] gives; a masked compare is an AND over words and does
 *   not care about byte order. Most fields are copied from the frame unchanged.
 *   Read them with tsof_ntoh16/32/64. (Open vSwitch keeps its flow in network
 *   order for the same reasons.)
 * - Fields are grouped by the layer that sets them, each group starting on a
 *   word: pipeline metadata, L2, L3, L4 (TSOF_FLOW_STAGE_*), so a staged lookup
 *   can hash the groups in turn.
 * - `layers` says which headers were parsed (TSOF_L_*, host order; not an OXM
 *   field). A field whose layer is not in `layers` is zero. The classifier puts
 *   a field's layer bit (tsof_flow_fields[].layer) in a flow's mask and value,
 *   so a frame whose eth_type says IPv4 but whose IPv4 header is cut off does
 *   not match ipv4_src=0.0.0.0.
 *
 * A malformed or truncated frame is not an error: the key gets the fields of the
 * headers that fit and the rest stays zero (docs/native.md lists the rules).
 * Extraction never reads outside frame[0..len), never allocates, and always
 * returns 0 for a frame.
 */
#ifndef TSOF_FLOW_H
#define TSOF_FLOW_H

#include <stddef.h>
#include <stdint.h>

/* Network byte order values: the names are a reminder, not a type check. */
typedef uint16_t tsof_be16;
typedef uint32_t tsof_be32;
typedef uint64_t tsof_be64;

static inline uint16_t tsof_ntoh16(tsof_be16 v)
{
	const uint8_t *b = (const uint8_t *)&v;
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t tsof_ntoh32(tsof_be32 v)
{
	const uint8_t *b = (const uint8_t *)&v;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline uint64_t tsof_ntoh64(tsof_be64 v)
{
	const uint8_t *b = (const uint8_t *)&v;
	uint64_t r = 0;
	for (int i = 0; i < 8; i++)
		r = r << 8 | b[i];
	return r;
}

static inline tsof_be16 tsof_hton16(uint16_t v)
{
	tsof_be16 r;
	uint8_t *b = (uint8_t *)&r;
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
	return r;
}

static inline tsof_be32 tsof_hton32(uint32_t v)
{
	tsof_be32 r;
	uint8_t *b = (uint8_t *)&r;
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
	return r;
}

static inline tsof_be64 tsof_hton64(uint64_t v)
{
	tsof_be64 r;
	uint8_t *b = (uint8_t *)&r;
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	return r;
}

/* vlan_vid: set when the frame has a tag (OFPVID_PRESENT); 0 means untagged. */
#define TSOF_OFPVID_PRESENT 0x1000

/* ipv6_exthdr bits (enum ofp_ipv6exthdr_flags, OpenFlow 1.3.5 7.2.3.7). */
#define TSOF_IEH_NONEXT 0x001  /* "no next header" (59) encountered */
#define TSOF_IEH_ESP    0x002  /* Encapsulating Security Payload header present */
#define TSOF_IEH_AUTH   0x004  /* Authentication header present */
#define TSOF_IEH_DEST   0x008  /* 1 or 2 Destination Options headers present */
#define TSOF_IEH_FRAG   0x010  /* Fragment header present */
#define TSOF_IEH_ROUTER 0x020  /* Routing header present */
#define TSOF_IEH_HOP    0x040  /* Hop-by-Hop Options header present */
#define TSOF_IEH_UNREP  0x080  /* a header repeated that may not be */
#define TSOF_IEH_UNSEQ  0x100  /* headers not in RFC 2460's preferred order */

/* Layers: which headers were parsed. Each bit is set only when the whole header
 * fits in the frame (and, for IP, within the IP length). */
#define TSOF_L_ETH        (1u << 0)   /* Ethernet header: eth_dst, eth_src, eth_type, vlan_vid */
#define TSOF_L_VLAN       (1u << 1)   /* outer 802.1Q/802.1ad tag: vlan_pcp */
#define TSOF_L_MPLS       (1u << 2)   /* top MPLS label stack entry */
#define TSOF_L_PBB        (1u << 3)   /* 802.1ah I-TAG */
#define TSOF_L_ARP        (1u << 4)   /* ARP for Ethernet/IPv4 */
#define TSOF_L_IP         (1u << 5)   /* IPv4 or IPv6: ip_dscp, ip_ecn, ip_proto */
#define TSOF_L_IPV4       (1u << 6)
#define TSOF_L_IPV6       (1u << 7)   /* includes ipv6_exthdr */
#define TSOF_L_FRAG       (1u << 8)   /* an IP fragment (any) */
#define TSOF_L_LATER_FRAG (1u << 9)   /* not the first fragment: no L4 header */
#define TSOF_L_TCP        (1u << 10)
#define TSOF_L_UDP        (1u << 11)
#define TSOF_L_SCTP       (1u << 12)
#define TSOF_L_ICMPV4     (1u << 13)
#define TSOF_L_ICMPV6     (1u << 14)
#define TSOF_L_ND         (1u << 15)  /* NS/NA target (and SLL/TLL if present) */

struct tsof_flow_key {
	/* Pipeline metadata: the caller sets tunnel_id and metadata after
	 * extraction; in_phy_port starts equal to in_port. */
	tsof_be64 tunnel_id;          /*   0  OXM 38 */
	tsof_be64 metadata;           /*   8  OXM 2 */
	tsof_be32 in_port;            /*  16  OXM 0 */
	tsof_be32 in_phy_port;        /*  20  OXM 1 */

	/* L2 (TSOF_L_ETH, VLAN, MPLS, PBB) */
	uint32_t  layers;             /*  24  TSOF_L_*, host order */
	tsof_be16 eth_type;           /*  28  OXM 5: after all VLAN tags */
	tsof_be16 vlan_vid;           /*  30  OXM 6: OFPVID_PRESENT | VID of the outer tag */
	uint8_t   eth_dst[6];         /*  32  OXM 3 */
	uint8_t   eth_src[6];         /*  38  OXM 4 */
	uint8_t   vlan_pcp;           /*  44  OXM 7 */
	uint8_t   mpls_tc;            /*  45  OXM 35 */
	uint8_t   mpls_bos;           /*  46  OXM 36 */
	uint8_t   pbb_uca;            /*  47  OXM 41 */
	tsof_be32 mpls_label;         /*  48  OXM 34 */
	uint8_t   pbb_isid[3];        /*  52  OXM 37: 3 bytes as in the OXM */
	uint8_t   pad0;               /*  55 */

	/* L3 (TSOF_L_IP, IPV4, IPV6, ARP) */
	uint8_t   ip_dscp;            /*  56  OXM 8: the 6 DSCP bits, unshifted */
	uint8_t   ip_ecn;             /*  57  OXM 9 */
	uint8_t   ip_proto;           /*  58  OXM 10: IPv6: the last next-header walked */
	uint8_t   pad1;               /*  59 */
	tsof_be32 ipv4_src;           /*  60  OXM 11 */
	tsof_be32 ipv4_dst;           /*  64  OXM 12 */
	tsof_be32 ipv6_flabel;        /*  68  OXM 28 */
	uint8_t   ipv6_src[16];       /*  72  OXM 26 */
	uint8_t   ipv6_dst[16];       /*  88  OXM 27 */
	tsof_be16 ipv6_exthdr;        /* 104  OXM 39: TSOF_IEH_* */
	tsof_be16 arp_op;             /* 106  OXM 21 */
	tsof_be32 arp_spa;            /* 108  OXM 22 */
	tsof_be32 arp_tpa;            /* 112  OXM 23 */
	uint8_t   arp_sha[6];         /* 116  OXM 24 */
	uint8_t   arp_tha[6];         /* 122  OXM 25 */

	/* L4 (TSOF_L_TCP, UDP, SCTP, ICMPV4, ICMPV6, ND) */
	tsof_be16 tcp_src;            /* 128  OXM 13 */
	tsof_be16 tcp_dst;            /* 130  OXM 14 */
	tsof_be16 udp_src;            /* 132  OXM 15 */
	tsof_be16 udp_dst;            /* 134  OXM 16 */
	tsof_be16 sctp_src;           /* 136  OXM 17 */
	tsof_be16 sctp_dst;           /* 138  OXM 18 */
	uint8_t   icmpv4_type;        /* 140  OXM 19 */
	uint8_t   icmpv4_code;        /* 141  OXM 20 */
	uint8_t   icmpv6_type;        /* 142  OXM 29 */
	uint8_t   icmpv6_code;        /* 143  OXM 30 */
	uint8_t   ipv6_nd_target[16]; /* 144  OXM 31 */
	uint8_t   ipv6_nd_sll[6];     /* 160  OXM 32: NS only */
	uint8_t   ipv6_nd_tll[6];     /* 166  OXM 33: NA only */
	uint8_t   pad2[4];            /* 172 */
};

#define TSOF_FLOW_KEY_SIZE 176
#define TSOF_FLOW_STAGE_L2 24   /* byte offsets where each group starts */
#define TSOF_FLOW_STAGE_L3 56
#define TSOF_FLOW_STAGE_L4 128

_Static_assert(sizeof(struct tsof_flow_key) == TSOF_FLOW_KEY_SIZE, "no hidden padding");
_Static_assert(offsetof(struct tsof_flow_key, layers) == TSOF_FLOW_STAGE_L2, "L2 stage");
_Static_assert(offsetof(struct tsof_flow_key, ip_dscp) == TSOF_FLOW_STAGE_L3, "L3 stage");
_Static_assert(offsetof(struct tsof_flow_key, tcp_src) == TSOF_FLOW_STAGE_L4, "L4 stage");
_Static_assert(offsetof(struct tsof_flow_key, pad2) == 172, "pad2");

/* Where the parsed headers start in the frame, for the action code that edits
 * them. Each is TSOF_OFS_NONE unless its layer was parsed. */
#define TSOF_OFS_NONE UINT32_MAX
struct tsof_flow_ofs {
	uint32_t vlan;  /* the outer tag's TPID (TSOF_L_VLAN) */
	uint32_t l2_5;  /* the MPLS LSE or PBB I-TAG (TSOF_L_MPLS, TSOF_L_PBB) */
	uint32_t l3;    /* the ARP, IPv4 or IPv6 header */
	uint32_t l4;    /* the TCP, UDP, SCTP, ICMPv4 or ICMPv6 header */
};

/* OXM_OF_* field numbers (class 0x8000). */
enum tsof_oxm {
	TSOF_OXM_IN_PORT = 0, TSOF_OXM_IN_PHY_PORT, TSOF_OXM_METADATA,
	TSOF_OXM_ETH_DST, TSOF_OXM_ETH_SRC, TSOF_OXM_ETH_TYPE,
	TSOF_OXM_VLAN_VID, TSOF_OXM_VLAN_PCP,
	TSOF_OXM_IP_DSCP, TSOF_OXM_IP_ECN, TSOF_OXM_IP_PROTO,
	TSOF_OXM_IPV4_SRC, TSOF_OXM_IPV4_DST,
	TSOF_OXM_TCP_SRC, TSOF_OXM_TCP_DST, TSOF_OXM_UDP_SRC, TSOF_OXM_UDP_DST,
	TSOF_OXM_SCTP_SRC, TSOF_OXM_SCTP_DST,
	TSOF_OXM_ICMPV4_TYPE, TSOF_OXM_ICMPV4_CODE,
	TSOF_OXM_ARP_OP, TSOF_OXM_ARP_SPA, TSOF_OXM_ARP_TPA, TSOF_OXM_ARP_SHA, TSOF_OXM_ARP_THA,
	TSOF_OXM_IPV6_SRC, TSOF_OXM_IPV6_DST, TSOF_OXM_IPV6_FLABEL,
	TSOF_OXM_ICMPV6_TYPE, TSOF_OXM_ICMPV6_CODE,
	TSOF_OXM_IPV6_ND_TARGET, TSOF_OXM_IPV6_ND_SLL, TSOF_OXM_IPV6_ND_TLL,
	TSOF_OXM_MPLS_LABEL, TSOF_OXM_MPLS_TC, TSOF_OXM_MPLS_BOS,
	TSOF_OXM_PBB_ISID, TSOF_OXM_TUNNEL_ID, TSOF_OXM_IPV6_EXTHDR,
	TSOF_OXM_PBB_UCA = 41,
};

/* One row per match field: where it lives in the key and which layer it needs
 * (0: always present). Indexed by position, not by OXM number (40 is unused). */
struct tsof_flow_field {
	const char *name;   /* as in src/openflow/codec/oxm.ts */
	uint8_t oxm;        /* enum tsof_oxm */
	uint8_t len;        /* bytes in the key = OXM payload length */
	uint16_t ofs;       /* offsetof(struct tsof_flow_key, ...) */
	uint32_t layer;     /* TSOF_L_* bit, or 0 */
};

#define TSOF_N_FIELDS 41
extern const struct tsof_flow_field tsof_flow_fields[TSOF_N_FIELDS];

/* Fills *key from frame[0..len). Zeroes the whole key first, sets in_port and
 * in_phy_port to in_port; the caller sets metadata and tunnel_id afterwards.
 * Returns 0 (a malformed frame is not an error); -1 only if key is NULL. */
int tsof_flow_extract(const uint8_t *frame, size_t len, uint32_t in_port,
		      struct tsof_flow_key *key);

/* The same, and also records where the headers start (ofs may be NULL). */
int tsof_flow_extract_ofs(const uint8_t *frame, size_t len, uint32_t in_port,
			  struct tsof_flow_key *key, struct tsof_flow_ofs *ofs);

#endif
