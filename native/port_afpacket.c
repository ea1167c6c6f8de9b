/*
 * port_afpacket.c: a Linux interface as a port, over one AF_PACKET socket.
 *
 * Receive: a TPACKET_V3 ring of blocks mmap'd from the kernel. The kernel
 * fills a block with frames and hands it over when it is full or when the
 * retire timer fires (1 ms: the latency a lone frame can wait); recv walks one
 * block, done() gives it back. No copy, no system call per frame.
 *
 * Send: sendmmsg(), one call per batch, with PACKET_QDISC_BYPASS so a frame
 * goes straight to the driver (a switch queues nothing of its own). The TX
 * ring was measured against it (docs/native-ports.md) and was not faster.
 * A frame under the Ethernet minimum of 60 bytes (a pop made it shorter) is
 * padded with zeros, as a NIC's MAC pads what it puts on the wire: virtual
 * interfaces (veth) would otherwise carry it short.
 *
 * Offloads stay on (PACKET_VNET_HDR): each frame comes with a virtio-net
 * header, so a GSO frame of up to 64 KiB or a frame with a partial checksum is
 * received as the kernel has it and sent on with the same header; the kernel
 * (or the next NIC) segments and completes the checksum at the output.
 *
 * VLAN: the kernel strips the outer tag before any packet socket sees the
 * frame and reports it in the ring header (tp_vlan_tci, tp_vlan_tpid and
 * TP_STATUS_VLAN_VALID, the PACKET_AUXDATA fields). recv puts it back into the
 * frame, in the headroom PACKET_RESERVE keeps in front of it.
 */
#define _GNU_SOURCE
#include "netlink.h"
#include "port.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* 32 blocks of 256 KiB: a block holds a 64 KiB GSO frame, or ~1600 small ones. */
#define BLOCK_SIZE (256u * 1024)
#define BLOCK_NR 32u
#define FRAME_HINT 2048u  /* V3 packs frames of any size; the kernel still wants this */
#define RETIRE_MS 1u
#define VLAN_HLEN 4u
#define SNDBUF (4 * 1024 * 1024)

struct afpacket_port {
	struct tsof_port port;
	uint8_t *ring;
	unsigned block;                /* the block recv reads */
	struct tpacket_block_desc *open; /* that block while it is ours, else NULL */
	struct tpacket3_hdr *next;     /* its next frame */
	uint32_t left;                 /* frames of it not yet returned */
	struct mmsghdr msgs[TSOF_BATCH];
	struct iovec iov[TSOF_BATCH][3];   /* virtio-net header, frame, padding */
};

static struct afpacket_port *afp(struct tsof_port *p)
{
	return (struct afpacket_port *)p;
}

static struct tpacket_block_desc *block_at(struct afpacket_port *a, unsigned i)
{
	return (struct tpacket_block_desc *)(a->ring + (size_t)i * BLOCK_SIZE);
}

/* Puts the stripped tag back after the MAC addresses and moves the offsets behind it. */
static void restore_vlan(struct tsof_pkt *pkt, const struct tpacket3_hdr *h)
{
	uint16_t tpid = h->tp_status & TP_STATUS_VLAN_TPID_VALID ? h->hv1.tp_vlan_tpid : ETH_P_8021Q;
	uint8_t *d = pkt->data - VLAN_HLEN;

	memmove(d, pkt->data, 2 * ETH_ALEN);
	d[12] = (uint8_t)(tpid >> 8);
	d[13] = (uint8_t)tpid;
	d[14] = (uint8_t)(h->hv1.tp_vlan_tci >> 8);
	d[15] = (uint8_t)h->hv1.tp_vlan_tci;
	pkt->data = d;
	pkt->len += VLAN_HLEN;
	if (pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		pkt->vnet.csum_start += VLAN_HLEN;
	if (pkt->vnet.hdr_len)
		pkt->vnet.hdr_len += VLAN_HLEN;
}

static int afpacket_recv(struct tsof_port *p, struct tsof_pkt *pkts, int max)
{
	struct afpacket_port *a = afp(p);
	int n = 0;

	if (!a->open) {
		struct tpacket_block_desc *b = block_at(a, a->block);

		if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
			return 0;
		a->open = b;
		a->left = b->hdr.bh1.num_pkts;
		a->next = (struct tpacket3_hdr *)((uint8_t *)b + b->hdr.bh1.offset_to_first_pkt);
	}
	while (n < max && a->left) {
		struct tpacket3_hdr *h = a->next;
		struct tsof_pkt *pkt = &pkts[n];

		a->next = (struct tpacket3_hdr *)((uint8_t *)h + h->tp_next_offset);
		a->left--;
		if (h->tp_snaplen < h->tp_len) {
			/* Larger than a block: cannot happen with GSO_MAX_SIZE frames. */
			TSOF_STAT_ADD(p->stats.rx_errors, 1);
			continue;
		}
		pkt->data = (uint8_t *)h + h->tp_mac;
		pkt->len = h->tp_snaplen;
		pkt->in_port = p->port_no;
		memcpy(&pkt->vnet, pkt->data - sizeof(pkt->vnet), sizeof(pkt->vnet));
		if (h->tp_status & TP_STATUS_VLAN_VALID)
			restore_vlan(pkt, h);
		TSOF_STAT_ADD(p->stats.rx_bytes, pkt->len);
		n++;
	}
	TSOF_STAT_ADD(p->stats.rx_packets, (uint64_t)n);
	return n;
}

static void afpacket_done(struct tsof_port *p)
{
	struct afpacket_port *a = afp(p);

	if (!a->open || a->left)
		return;
	__atomic_store_n(&a->open->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	a->open = NULL;
	a->block = (a->block + 1) % BLOCK_NR;
}

static void afpacket_send(struct tsof_port *p, struct tsof_pkt *const *pkts, int n)
{
	static const uint8_t zeros[ETH_ZLEN];
	struct afpacket_port *a = afp(p);
	uint64_t bytes = 0;
	int i = 0, sent = 0;

	for (int k = 0; k < n; k++) {
		uint32_t len = pkts[k]->len;

		a->iov[k][0] = (struct iovec){ (void *)&pkts[k]->vnet, sizeof(pkts[k]->vnet) };
		a->iov[k][1] = (struct iovec){ pkts[k]->data, len };
		a->iov[k][2] = (struct iovec){ (void *)zeros, len < ETH_ZLEN ? ETH_ZLEN - len : 0 };
		a->msgs[k].msg_hdr = (struct msghdr){ .msg_iov = a->iov[k], .msg_iovlen = len < ETH_ZLEN ? 3 : 2 };
	}
	while (i < n) {
		int r = sendmmsg(p->fd, &a->msgs[i], (unsigned)(n - i), MSG_DONTWAIT);

		if (r > 0) {
			for (int k = i; k < i + r; k++)
				bytes += pkts[k]->len < ETH_ZLEN ? ETH_ZLEN : pkts[k]->len;
			sent += r;
			i += r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == ENOBUFS) {
			/* The device's queue is full: a switch drops rather than waits. */
			TSOF_STAT_ADD(p->stats.tx_dropped, (uint64_t)(n - i));
			break;
		}
		/* This frame failed (link down, too long...): count it, send the rest. */
		if (errno == ENETDOWN || errno == ENXIO)
			TSOF_STAT_ADD(p->stats.tx_dropped, 1);
		else
			TSOF_STAT_ADD(p->stats.tx_errors, 1);
		i++;
	}
	TSOF_STAT_ADD(p->stats.tx_packets, (uint64_t)sent);
	TSOF_STAT_ADD(p->stats.tx_bytes, bytes);
}

static void afpacket_poll_stats(struct tsof_port *p)
{
	struct tpacket_stats_v3 st;
	socklen_t len = sizeof(st);

	/* Reading the statistics resets them, so each drop is added once. */
	if (getsockopt(p->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
		TSOF_STAT_ADD(p->stats.rx_dropped, st.tp_drops);
}

static void afpacket_destroy(struct tsof_port *p)
{
	struct afpacket_port *a = afp(p);

	if (a->ring)
		munmap(a->ring, (size_t)BLOCK_SIZE * BLOCK_NR);
	close(p->fd);
	free(a);
}

static const struct tsof_port_ops afpacket_ops = {
	.kind = "afpacket",
	.recv = afpacket_recv,
	.done = afpacket_done,
	.send = afpacket_send,
	.poll_stats = afpacket_poll_stats,
	.destroy = afpacket_destroy,
};

static int setint(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v));
}

/* Configures the socket in the order the kernel requires (options before the ring, ring before bind). */
static const char *setup(struct afpacket_port *a, const char *ifname)
{
	int fd = a->port.fd;
	struct tpacket_req3 req = {
		.tp_block_size = BLOCK_SIZE,
		.tp_block_nr = BLOCK_NR,
		.tp_frame_size = FRAME_HINT,
		.tp_frame_nr = BLOCK_SIZE / FRAME_HINT * BLOCK_NR,
		.tp_retire_blk_tov = RETIRE_MS,
	};
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct packet_mreq mr = { .mr_type = PACKET_MR_PROMISC };
	void *ring;

	a->port.ifindex = (int)if_nametoindex(ifname);
	if (!a->port.ifindex)
		return "if_nametoindex";
	if (setint(fd, SOL_PACKET, PACKET_VERSION, TPACKET_V3) < 0)
		return "PACKET_VERSION TPACKET_V3";
	if (setint(fd, SOL_PACKET, PACKET_VNET_HDR, 1) < 0)
		return "PACKET_VNET_HDR";
	if (setint(fd, SOL_PACKET, PACKET_RESERVE, VLAN_HLEN) < 0)
		return "PACKET_RESERVE";
	if (setint(fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1) < 0)
		return "PACKET_QDISC_BYPASS";
	/* Frames the host itself sends on the interface are not input. */
	if (setint(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1) < 0)
		return "PACKET_IGNORE_OUTGOING";
	/* Room for a few GSO frames in flight; without CAP_NET_ADMIN the capped SO_SNDBUF. */
	if (setint(fd, SOL_SOCKET, SO_SNDBUFFORCE, SNDBUF) < 0 && setint(fd, SOL_SOCKET, SO_SNDBUF, SNDBUF) < 0)
		return "SO_SNDBUF";
	if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0)
		return "PACKET_RX_RING";
	ring = mmap(NULL, (size_t)BLOCK_SIZE * BLOCK_NR, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (ring == MAP_FAILED)
		return "mmap";
	a->ring = ring;
	sll.sll_ifindex = a->port.ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return "bind";
	mr.mr_ifindex = a->port.ifindex;
	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
		return "PACKET_MR_PROMISC";
	return NULL;
}

struct tsof_port *tsof_afpacket_open(const char *ifname, uint32_t port_no, char *err, size_t errlen)
{
	struct afpacket_port *a = calloc(1, sizeof(*a));
	const char *failed;
	int e;

	if (!a) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	a->port.ops = &afpacket_ops;
	a->port.port_no = port_no;
	a->port.vnet = true;
	/* Protocol 0 until bind: no frame is queued before the ring exists. */
	a->port.fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->port.fd < 0) {
		e = errno;
		snprintf(err, errlen, "%s: socket(AF_PACKET): %s", ifname, strerror(e));
		free(a);
		errno = e;
		return NULL;
	}
	failed = setup(a, ifname);
	if (failed) {
		e = errno;
		snprintf(err, errlen, "%s: %s: %s", ifname, failed, strerror(e));
		afpacket_destroy(&a->port);
		errno = e;
		return NULL;
	}
	atomic_init(&a->port.link, tsof_link_query(a->port.ifindex));
	return &a->port;
}
