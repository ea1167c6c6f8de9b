/*
 * offload.c: checksum completion and software GSO (see offload.h).
 */
#include "offload.h"

#include <string.h>

#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_IPV6 0x86dd
#define ETH_TYPE_VLAN 0x8100
#define ETH_TYPE_QINQ 0x88a8
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 /* linux/virtio_net.h has it from Linux 6.2 on */
#endif

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The one's complement sum of p[0..len) as big-endian 16-bit words, unfolded. */
static uint64_t sum16(const uint8_t *p, size_t len, uint64_t acc)
{
	size_t i = 0;

	for (; i + 1 < len; i += 2)
		acc += rd16(p + i);
	if (i < len)
		acc += (uint64_t)p[i] << 8;
	return acc;
}

/* The checksum field value for sum: folded and inverted. */
static uint16_t csum_final(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

/* As csum_final, but a 0 goes out as 0xffff: UDP reads 0 as "no checksum" (RFC 768). */
static uint16_t csum_final_udp(uint64_t acc)
{
	uint16_t c = csum_final(acc);

	return c ? c : 0xffff;
}

int tsof_csum_complete(struct tsof_pkt *pkt)
{
	uint32_t start = pkt->vnet.csum_start, field = start + pkt->vnet.csum_offset;

	if (start > pkt->len || field + 2 > pkt->len)
		return -1;
	/* Which protocol the field belongs to is unknown here, so 0 is sent as 0xffff, which every
	 * one's complement checksum reads the same and UDP needs (as the kernel's skb_checksum_help). */
	wr16(pkt->data + field, csum_final_udp(sum16(pkt->data + start, pkt->len - start, 0)));
	pkt->vnet.flags = (uint8_t)((pkt->vnet.flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) | VIRTIO_NET_HDR_F_DATA_VALID);
	return 0;
}

/* The EtherType after the MAC addresses and any tags, and where its payload starts; -1 if cut off. */
static int l3_type(const uint8_t *d, uint32_t len, uint32_t *l3)
{
	uint32_t o = 2 * 6;

	for (; o + 2 <= len; o += 4) {
		uint16_t type = rd16(d + o);

		if (type != ETH_TYPE_VLAN && type != ETH_TYPE_QINQ) {
			*l3 = o + 2;
			return type;
		}
	}
	return -1;
}

/* What tsof_gso_segment needs to know about the headers it copies into every segment. */
struct gso_hdrs {
	uint32_t l3, l4, end; /* offsets of L3, L4, payload */
	bool ipv4, tcp;
	uint32_t ihl;         /* IPv4 header length */
};

static int parse_hdrs(const struct tsof_pkt *pkt, struct gso_hdrs *h)
{
	const uint8_t *d = pkt->data;
	uint8_t gso = pkt->vnet.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	int type = l3_type(d, pkt->len, &h->l3);

	if (!(pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || !pkt->vnet.gso_size)
		return -1;
	h->l4 = pkt->vnet.csum_start;
	h->ipv4 = type == ETH_TYPE_IPV4;
	if (h->ipv4) {
		if (h->l3 + 20 > pkt->len)
			return -1;
		h->ihl = (d[h->l3] & 0xfu) * 4;
		if (h->ihl < 20 || h->l3 + h->ihl > h->l4)
			return -1;
	} else if (type != ETH_TYPE_IPV6 || h->l3 + 40 > h->l4) {
		return -1;
	}
	h->tcp = gso == VIRTIO_NET_HDR_GSO_TCPV4 || gso == VIRTIO_NET_HDR_GSO_TCPV6;
	if (h->tcp) {
		if ((gso == VIRTIO_NET_HDR_GSO_TCPV4) != h->ipv4 || h->l4 + 20 > pkt->len)
			return -1;
		h->end = h->l4 + (d[h->l4 + 12] >> 4) * 4u;
		if (h->end < h->l4 + 20)
			return -1;
	} else if (gso == VIRTIO_NET_HDR_GSO_UDP_L4) {
		h->end = h->l4 + 8;
	} else {
		return -1;
	}
	return h->end <= pkt->len ? 0 : -1;
}

/* Fixes the lengths, ids, sequence number, flags and checksums of segment i of n. */
static void fix_segment(uint8_t *s, uint32_t len, const struct gso_hdrs *h, uint32_t i, uint32_t n, uint32_t mss)
{
	uint32_t l4len = len - h->l4;
	uint64_t pseudo;
	uint8_t *check;

	if (h->ipv4) {
		wr16(s + h->l3 + 2, len - h->l3);
		wr16(s + h->l3 + 4, rd16(s + h->l3 + 4) + i);
		wr16(s + h->l3 + 10, 0);
		wr16(s + h->l3 + 10, csum_final(sum16(s + h->l3, h->ihl, 0)));
		pseudo = sum16(s + h->l3 + 12, 8, 0);
	} else {
		wr16(s + h->l3 + 4, len - h->l3 - 40);
		pseudo = sum16(s + h->l3 + 8, 32, 0);
	}
	pseudo += (h->tcp ? IPPROTO_TCP_ : IPPROTO_UDP_) + (l4len >> 16) + (l4len & 0xffff);
	if (h->tcp) {
		uint8_t *seq = s + h->l4 + 4;
		uint32_t v = ((uint32_t)seq[0] << 24 | (uint32_t)seq[1] << 16 | (uint32_t)seq[2] << 8 | seq[3]) + i * mss;

		seq[0] = (uint8_t)(v >> 24);
		seq[1] = (uint8_t)(v >> 16);
		seq[2] = (uint8_t)(v >> 8);
		seq[3] = (uint8_t)v;
		if (i + 1 < n)
			s[h->l4 + 13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (i > 0)
			s[h->l4 + 13] &= (uint8_t)~TCP_CWR;
		check = s + h->l4 + 16;
	} else {
		wr16(s + h->l4 + 4, l4len);
		check = s + h->l4 + 6;
	}
	wr16(check, 0);
	/* TCP and the IPv4 header keep a computed 0, as the kernel's segmentation does. */
	pseudo = sum16(s + h->l4, l4len, pseudo);
	wr16(check, h->tcp ? csum_final(pseudo) : csum_final_udp(pseudo));
}

int tsof_gso_segment(const struct tsof_pkt *pkt, uint8_t *buf, size_t buflen, struct tsof_pkt *segs, int max)
{
	struct gso_hdrs h = { 0 };
	uint32_t mss = pkt->vnet.gso_size, payload, n;
	uint8_t *out = buf;

	if (parse_hdrs(pkt, &h) < 0)
		return -1;
	payload = pkt->len - h.end;
	n = payload ? (payload + mss - 1) / mss : 1;
	if (n > (uint32_t)max || (size_t)n * h.end + payload > buflen)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t chunk = payload - i * mss < mss ? payload - i * mss : mss;
		uint32_t len = h.end + chunk;

		memcpy(out, pkt->data, h.end);
		memcpy(out + h.end, pkt->data + h.end + i * mss, chunk);
		fix_segment(out, len, &h, i, n, mss);
		segs[i] = (struct tsof_pkt){ .data = out, .len = len, .in_port = pkt->in_port };
		out += len;
	}
	return (int)n;
}
