/*
 * dp.h: the datapath object: its ports, its thread, and what it tells JavaScript.
 *
 * One thread per datapath waits on an epoll set (every port, the netlink
 * socket, the command and packet-out eventfds) and does all packet work:
 * receive a batch, forward it, send, release. For now forwarding is a patch
 * panel, to be replaced by the OpenFlow pipeline: a port's packets go to one
 * output port, or up to JavaScript, or are dropped.
 *
 * JavaScript's thread never touches a port's rings or forwarding state. It
 * sends commands (add/remove a port, set a patch...) that the datapath thread
 * applies between two batches while the caller waits: a change is atomic for
 * the packets. Frames from JavaScript (packet-out, memory port input) go
 * through single-producer single-consumer rings.
 *
 * Upcalls reach JavaScript through `fn` (in the addon, a threadsafe function),
 * one malloc'd item per call, which the receiver frees:
 * - struct tsof_upcall_packets: every packet sent up during one turn of the
 *   loop (at most TSOF_UPCALL_MAX packets or TSOF_UPCALL_BYTES of data);
 * - struct tsof_upcall_link: a port's link state changed.
 * When fn refuses an item (JavaScript is behind), the packets are counted in
 * upcall_dropped and the item freed.
 */
#ifndef TSOF_DP_H
#define TSOF_DP_H

#include "port.h"

#define TSOF_MAX_PORTS 256
#define TSOF_UPCALL_MAX 256
#define TSOF_UPCALL_BYTES (256u * 1024)

enum tsof_upcall_kind { TSOF_UPCALL_PACKETS = 1, TSOF_UPCALL_LINK = 2 };

/*
 * A batch of packets: the header, count entries, then the data they point
 * into. Every field is a host-order uint32 (JavaScript reads the item as one
 * Uint32Array); offsets are from the start of the item.
 */
struct tsof_upcall_packets {
	uint32_t kind, count, size, reserved;
	struct {
		uint32_t in_port, offset, len, reserved;
	} pkt[];
};

struct tsof_upcall_link {
	uint32_t kind, port_no, link;
};

struct tsof_dp_stats {
	_Atomic uint64_t upcall_packets;  /* packets delivered to fn */
	_Atomic uint64_t upcall_batches;
	_Atomic uint64_t upcall_dropped;  /* refused by fn, or too big for a batch */
	_Atomic uint64_t unrouted;        /* received on a port with no patch and no upcall */
	_Atomic uint64_t offload_errors;  /* checksum or GSO that could not be finished in software */
};

/* Delivers an upcall item; false if it cannot take it now (the caller frees it). */
typedef bool (*tsof_upcall_fn)(void *ctx, void *item);

struct tsof_dp;

/* Starts the datapath thread; NULL with errno and a message in err on failure. */
struct tsof_dp *tsof_dp_create(tsof_upcall_fn fn, void *ctx, char *err, size_t errlen);
/* Stops the thread and destroys every port. */
void tsof_dp_destroy(struct tsof_dp *dp);

/* Commands: 0, or a negative errno (-EEXIST, -ENOSPC, -ENOENT). */
int tsof_dp_add_port(struct tsof_dp *dp, struct tsof_port *p);
int tsof_dp_del_port(struct tsof_dp *dp, uint32_t port_no);
int tsof_dp_set_patch(struct tsof_dp *dp, uint32_t in_port, uint32_t out_port); /* 0: no patch */
int tsof_dp_set_upcall(struct tsof_dp *dp, uint32_t in_port, bool on);
/* Adds the drops only the kernel counts into every port's counters. */
void tsof_dp_poll_stats(struct tsof_dp *dp);

/* The port with this number, for the JavaScript thread (valid until it removes it). */
struct tsof_port *tsof_dp_port(struct tsof_dp *dp, uint32_t port_no);
/* Queues f to be sent out of port f->port_no; false (f not taken) when the queue is full. */
bool tsof_dp_packet_out(struct tsof_dp *dp, struct tsof_frame *f);
const struct tsof_dp_stats *tsof_dp_stats(const struct tsof_dp *dp);

#endif
