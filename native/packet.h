/*
 * packet.h: wire formats of the headers that flow extraction reads.
 *
 * Every struct here is made only of uint8_t and uint8_t arrays, so it has
 * alignment 1 and no padding: a pointer into a frame at any offset can be
 * viewed through it without an unaligned access, and sizeof is the wire size
 * (checked below). Multi-byte fields are read with rd16()/rd32(), which
 * assemble big-endian bytes and so work on any host.
 *
 * Used by flow.c and actions.c inside native/; nothing here is part of the public API.
 */
#ifndef TSOF_PACKET_H
#define TSOF_PACKET_H

#include <stdint.h>

/* EtherTypes (IEEE 802 numbers) */
#define ETH_TYPE_IPV4       0x0800
#define ETH_TYPE_ARP        0x0806
#define ETH_TYPE_VLAN       0x8100  /* 802.1Q C-tag */
#define ETH_TYPE_IPV6       0x86dd
#define ETH_TYPE_MPLS       0x8847
#define ETH_TYPE_MPLS_MCAST 0x8848
#define ETH_TYPE_VLAN_8021AD 0x88a8 /* 802.1ad S-tag */
#define ETH_TYPE_PBB        0x88e7  /* 802.1ah I-TAG */
#define ETH_TYPE_MIN        0x0600  /* below this the field is an 802.3 length */
#define ETH_TYPE_NOT_ETH    0x05ff  /* OFP_DL_TYPE_NOT_ETH_TYPE: 802.3 frame without SNAP */

/* IP protocol numbers (IANA); the IPv6 extension headers are among them. */
#define IPPROTO_HOPOPTS_    0
#define IPPROTO_ICMP_       1
#define IPPROTO_TCP_        6
#define IPPROTO_UDP_        17
#define IPPROTO_ROUTING_    43
#define IPPROTO_FRAGMENT_   44
#define IPPROTO_ESP_        50
#define IPPROTO_AH_         51
#define IPPROTO_ICMPV6_     58
#define IPPROTO_NONE_       59
#define IPPROTO_DSTOPTS_    60
#define IPPROTO_SCTP_       132

#define ICMPV6_ND_NS        135  /* RFC 4861 4.3 Neighbor Solicitation */
#define ICMPV6_ND_NA        136  /* RFC 4861 4.4 Neighbor Advertisement */
#define ND_OPT_SLL          1    /* RFC 4861 4.6.1 Source Link-Layer Address */
#define ND_OPT_TLL          2    /* RFC 4861 4.6.1 Target Link-Layer Address */

#define IPV4_MF             0x2000  /* more fragments */
#define IPV4_OFFSET         0x1fff  /* fragment offset, 8-byte units */
#define IPV6_FRAG_OFFSET    0xfff8  /* fragment offset in the fragment header */

struct eth_hdr {
	uint8_t dst[6];
	uint8_t src[6];
	uint8_t type[2];
};

/* An 802.1Q/802.1ad tag after its TPID: the TPID is the EtherType before it. */
struct vlan_tag {
	uint8_t tci[2];   /* PCP:3 DEI:1 VID:12 */
	uint8_t type[2];  /* the next EtherType (or TPID) */
};

/* An 802.2 LLC header with a SNAP extension (RFC 1042). */
struct llc_snap_hdr {
	uint8_t dsap, ssap, ctrl;  /* 0xaa 0xaa 0x03 */
	uint8_t oui[3];            /* 00-00-00: the type is an EtherType */
	uint8_t type[2];
};

/* One MPLS label stack entry (RFC 3032). */
struct mpls_lse {
	uint8_t lse[4];   /* label:20 TC:3 S:1 TTL:8 */
};

/* 802.1ah I-TAG: TCI then I-SID; the customer addresses follow. */
struct pbb_itag {
	uint8_t tci;      /* I-PCP:3 I-DEI:1 UCA:1 Res:3 */
	uint8_t isid[3];
};

/* ARP for Ethernet and IPv4 (RFC 826): the only form OpenFlow matches. */
struct arp_eth_ipv4 {
	uint8_t htype[2], ptype[2];
	uint8_t hlen, plen;
	uint8_t op[2];
	uint8_t sha[6], spa[4];
	uint8_t tha[6], tpa[4];
};

struct ipv4_hdr {
	uint8_t ver_ihl;
	uint8_t tos;      /* DSCP:6 ECN:2 */
	uint8_t tot_len[2];
	uint8_t id[2];
	uint8_t frag[2];  /* flags:3 offset:13 */
	uint8_t ttl, proto;
	uint8_t csum[2];
	uint8_t src[4], dst[4];
};

struct ipv6_hdr {
	uint8_t vtc_flow[4];  /* version:4 traffic class:8 flow label:20 */
	uint8_t plen[2];
	uint8_t nxt, hlim;
	uint8_t src[16], dst[16];
};

/* The first 8 bytes of every IPv6 extension header this parser walks. */
struct ipv6_ext_hdr {
	uint8_t nxt;
	uint8_t len;      /* in 8-byte units beyond the first 8; AH: 4-byte units minus 2 */
	uint8_t data[6];
};

struct ipv6_frag_hdr {
	uint8_t nxt, reserved;
	uint8_t off_m[2];  /* offset:13 res:2 M:1 */
	uint8_t id[4];
};

struct tcp_hdr {
	uint8_t src[2], dst[2];
	uint8_t seq[4], ack[4];
	uint8_t off_flags[2], win[2], csum[2], urg[2];
};

struct udp_hdr {
	uint8_t src[2], dst[2];
	uint8_t len[2], csum[2];
};

struct sctp_hdr {
	uint8_t src[2], dst[2];
	uint8_t vtag[4], csum[4];
};

/* ICMPv4 and ICMPv6 share this shape: type, code, checksum and 4 bytes
 * whose meaning depends on the type (RFC 792, RFC 4443 2.1). */
struct icmp_hdr {
	uint8_t type, code;
	uint8_t csum[2];
	uint8_t rest[4];
};

/* What follows the ICMPv6 header in an NS or NA (RFC 4861 4.3, 4.4). */
struct nd_target {
	uint8_t addr[16];
};

/* An ND option's type and length (RFC 4861 4.6); length is in 8-byte units. */
struct nd_opt {
	uint8_t type, len;
};

_Static_assert(sizeof(struct eth_hdr) == 14, "eth_hdr");
_Static_assert(sizeof(struct vlan_tag) == 4, "vlan_tag");
_Static_assert(sizeof(struct llc_snap_hdr) == 8, "llc_snap_hdr");
_Static_assert(sizeof(struct mpls_lse) == 4, "mpls_lse");
_Static_assert(sizeof(struct pbb_itag) == 4, "pbb_itag");
_Static_assert(sizeof(struct arp_eth_ipv4) == 28, "arp_eth_ipv4");
_Static_assert(sizeof(struct ipv4_hdr) == 20, "ipv4_hdr");
_Static_assert(sizeof(struct ipv6_hdr) == 40, "ipv6_hdr");
_Static_assert(sizeof(struct ipv6_ext_hdr) == 8, "ipv6_ext_hdr");
_Static_assert(sizeof(struct ipv6_frag_hdr) == 8, "ipv6_frag_hdr");
_Static_assert(sizeof(struct tcp_hdr) == 20, "tcp_hdr");
_Static_assert(sizeof(struct udp_hdr) == 8, "udp_hdr");
_Static_assert(sizeof(struct sctp_hdr) == 12, "sctp_hdr");
_Static_assert(sizeof(struct icmp_hdr) == 8, "icmp_hdr");
_Static_assert(sizeof(struct nd_target) == 16, "nd_target");
_Static_assert(sizeof(struct nd_opt) == 2, "nd_opt");

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	/* The casts keep p[0] << 24 out of signed int, where it could overflow. */
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
