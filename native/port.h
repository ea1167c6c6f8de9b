/*
 * port.h: the datapath's ports, one interface for every kind.
 *
 * A port receives packets in batches (recv, then done once the batch has been
 * forwarded) and sends them in batches (send). Two kinds exist:
 *
 * - afpacket (port_afpacket.c): a Linux interface over an AF_PACKET socket
 *   with a TPACKET_V3 receive ring, promiscuous, with virtio-net headers.
 * - memory (port_memory.c): frames injected from JavaScript and frames sent
 *   out kept for JavaScript to read, so the pipeline is tested without root.
 *
 * Threads: recv/done/send run on the datapath thread only. The counters are
 * written by that thread alone and read by any thread (relaxed atomics: each
 * value is exact, the set is not a snapshot). link_reported belongs to the
 * datapath thread as well.
 *
 * A packet's bytes stay where the port received them (in the ring, or in the
 * injected frame) until done(); send() copies them out before it returns, so a
 * packet can be sent to several ports and then released.
 */
#ifndef TSOF_PORT_H
#define TSOF_PORT_H

#include <linux/virtio_net.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Packets per receive or send batch. */
#define TSOF_BATCH 64

/*
 * The largest frame a port takes in: a GSO frame from the kernel is at most
 * 64 KiB of IP (GSO_MAX_SIZE on veth) plus its link header and tags.
 */
#define TSOF_MAX_FRAME (65536 + 64)

/*
 * One received packet. `vnet` is the virtio-net header the frame came with
 * (all zero when there was none): VIRTIO_NET_HDR_F_NEEDS_CSUM means the L4
 * checksum is partial (csum_start, csum_offset; the checksum field holds the
 * pseudo-header sum), gso_type != NONE means one frame stands for several of
 * gso_size payload bytes each. Fields are in host order (packet sockets use
 * the host's byte order for the header).
 */
struct tsof_pkt {
	uint8_t *data;
	uint32_t len;
	uint32_t in_port;
	struct virtio_net_hdr vnet;
};

struct tsof_port_stats {
	_Atomic uint64_t rx_packets, rx_bytes, rx_dropped, rx_errors;
	_Atomic uint64_t tx_packets, tx_bytes, tx_dropped, tx_errors;
};

/* Adds n to a counter that only the calling thread writes. */
#define TSOF_STAT_ADD(ctr, n) \
	atomic_store_explicit(&(ctr), atomic_load_explicit(&(ctr), memory_order_relaxed) + (n), \
			      memory_order_relaxed)
#define TSOF_STAT_GET(ctr) atomic_load_explicit(&(ctr), memory_order_relaxed)

/* Link state bits (struct tsof_port.link). */
#define TSOF_LINK_ADMIN_UP 0x1u /* IFF_UP: the interface is configured up */
#define TSOF_LINK_CARRIER  0x2u /* IFF_LOWER_UP: the link has carrier */
#define TSOF_LINK_GONE     0x4u /* the interface was deleted */
/* A port forwards (and is live for fast-failover) when admin up with carrier. */
#define TSOF_LINK_LIVE (TSOF_LINK_ADMIN_UP | TSOF_LINK_CARRIER)

struct tsof_port;
struct tsof_txq;

struct tsof_port_ops {
	const char *kind; /* "afpacket", "memory" */
	/* Up to max received packets into pkts; 0 when none is waiting. */
	int (*recv)(struct tsof_port *, struct tsof_pkt *pkts, int max);
	/* The packets of the last recv are no longer used. */
	void (*done)(struct tsof_port *);
	/* Sends pkts[0..n) (counting tx packets, drops and errors). */
	void (*send)(struct tsof_port *, struct tsof_pkt *const *pkts, int n);
	/* Adds drops only the kernel has counted to the counters; NULL if none. */
	void (*poll_stats)(struct tsof_port *);
	void (*destroy)(struct tsof_port *);
};

struct tsof_port {
	const struct tsof_port_ops *ops;
	uint32_t port_no;   /* OpenFlow port number, chosen by JavaScript */
	int fd;             /* readable when recv has packets (for epoll) */
	int ifindex;        /* 0 for a memory port */
	bool vnet;          /* send() takes virtio-net headers (GSO, partial checksums) */
	_Atomic uint32_t link; /* TSOF_LINK_* */
	struct tsof_port_stats stats;

	/* The link state last reported to JavaScript, and frames queued to send (dp.c). */
	uint32_t link_reported;
	struct tsof_txq *txq;
};

/*
 * A single-producer single-consumer ring of pointers, for frames that cross
 * between the JavaScript thread and the datapath thread. The size is a power
 * of two; head is written by the producer only, tail by the consumer only.
 */
struct tsof_ring {
	_Atomic uint32_t head, tail;
	uint32_t mask;
	void **slot;
};

int tsof_ring_init(struct tsof_ring *r, uint32_t size);
void tsof_ring_free(struct tsof_ring *r);
bool tsof_ring_push(struct tsof_ring *r, void *item);
void *tsof_ring_pop(struct tsof_ring *r);

/* A frame in a ring: its own copy of the bytes, with its virtio-net header. */
struct tsof_frame {
	uint32_t port_no;
	uint32_t len;
	struct virtio_net_hdr vnet;
	uint8_t data[];
};

struct tsof_frame *tsof_frame_new(uint32_t port_no, const uint8_t *data, uint32_t len,
				  const struct virtio_net_hdr *vnet);

/*
 * Opens interface `ifname`. On failure returns NULL with errno set and a
 * message in err (which step failed).
 */
struct tsof_port *tsof_afpacket_open(const char *ifname, uint32_t port_no, char *err, size_t errlen);

/* A memory port; vnet says whether frames sent to it keep their virtio-net header. */
struct tsof_port *tsof_memory_open(uint32_t port_no, bool vnet);
/* JavaScript's side of a memory port: false when the ring is full. */
bool tsof_memory_inject(struct tsof_port *p, struct tsof_frame *f);
/* The next frame sent out of the memory port, or NULL; the caller frees it. */
struct tsof_frame *tsof_memory_take(struct tsof_port *p);

#endif
