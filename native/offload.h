/*
 * offload.h: finishing in software what a virtio-net header leaves to the
 * output, for destinations that take plain frames only (memory ports without
 * vnet, packets to the controller).
 *
 * - A partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM) is completed in place:
 *   the field at csum_start + csum_offset holds the pseudo-header sum, the sum
 *   over csum_start..end is folded into it, as skb_checksum_help() does.
 * - A GSO frame (TCPv4, TCPv6, UDP_L4) is cut into gso_size segments with
 *   their own IP lengths, IPv4 ids and checksums, TCP sequence numbers and
 *   flags (FIN and PSH on the last only, CWR on the first only), and L4
 *   checksums, as the kernel's software GSO does. UFO (VIRTIO_NET_HDR_GSO_UDP,
 *   IP fragmentation) is refused: no current kernel produces it.
 *
 * Headers are found from the frame itself: Ethernet, any 802.1Q/802.1ad tags,
 * then IPv4 or IPv6; the L4 header starts at csum_start. Both functions check
 * every offset against the frame and return an error rather than read or
 * write outside it.
 */
#ifndef TSOF_OFFLOAD_H
#define TSOF_OFFLOAD_H

#include "port.h"

/* Completes the checksum of pkt in place and clears NEEDS_CSUM; 0, or -1 if the offsets are bad. */
int tsof_csum_complete(struct tsof_pkt *pkt);

/*
 * Writes the segments of GSO packet pkt into buf (buflen bytes) and describes
 * them in segs[0..max); returns their number, or -1 if the frame is malformed,
 * the GSO type unsupported, or the segments do not fit. Segments carry no
 * virtio-net header (all zero).
 */
int tsof_gso_segment(const struct tsof_pkt *pkt, uint8_t *buf, size_t buflen, struct tsof_pkt *segs, int max);

#endif
