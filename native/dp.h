/*
 * dp.h: the datapath object: its ports, its thread, and what it tells JavaScript.
 *
 * One thread per datapath waits on an epoll set (every port, the netlink
 * socket, the command and packet-out eventfds) and does all packet work:
 * receive a batch, run each frame through the OpenFlow pipeline (pipeline.h),
 * send what it outputs, release.
 *
 * JavaScript's thread never touches a port's rings. It sends commands
 * (add/remove a port) that the datapath thread applies between two batches
 * while the caller waits. Flow, group and meter changes, flow expiry and port
 * config go straight to the pipeline (tsof_dp_pipeline()), which makes each
 * one atomic for the packets; they take the pipeline's lock and may allocate,
 * so the datapath thread never makes them. Frames from JavaScript (packet-out,
 * memory port input) go through single-producer single-consumer rings.
 *
 * Flows the pipeline removes (timeouts, deletes, group and meter deletes) are
 * reported during the control call that removed them and collected as struct
 * tsof_removed_flow records for tsof_dp_take_removed().
 *
 * Upcalls reach JavaScript through `fn` (in the addon, a threadsafe function),
 * one malloc'd item per call, which the receiver frees:
 * - struct tsof_upcall_packets: every packet-in of one turn of the loop (at
 *   most TSOF_UPCALL_MAX packets or TSOF_UPCALL_BYTES of data);
 * - struct tsof_upcall_link: a port's link state changed.
 * When fn refuses an item (JavaScript is behind), the packets are counted in
 * upcall_dropped and the item freed. So are a batch's packets when the
 * batches fn took and JavaScript has not yet (tsof_dp_upcall_taken()) would
 * hold more than TSOF_UPCALL_QUEUED bytes: a flood toward a busy Node thread
 * costs this much memory and no more, whatever the frames' size.
 */
#ifndef TSOF_DP_H
#define TSOF_DP_H

#include "pipeline.h"
#include "port.h"

#define TSOF_MAX_PORTS 256
#define TSOF_UPCALL_MAX 256
#define TSOF_UPCALL_BYTES (256u * 1024)
#define TSOF_UPCALL_QUEUED (8u << 20)

enum tsof_upcall_kind { TSOF_UPCALL_PACKETS = 1, TSOF_UPCALL_LINK = 2 };

/*
 * A batch of packet-ins: the header, count entries, then the data they point
 * into, truncated to the max_len the pipeline asked for (len <= total_len).
 * Fields are host order, 8-byte aligned (JavaScript reads the item as a
 * Uint32Array and a BigUint64Array); offsets are from the start of the item.
 */
struct tsof_upcall_packets {
	uint32_t kind, count, size, reserved;
	struct tsof_upcall_pkt {
		uint32_t in_port, offset, len, total_len;
		uint32_t reason, table_id, in_phy_port, reserved;
		uint64_t cookie, metadata, tunnel_id;
	} pkt[];
};

struct tsof_upcall_link {
	uint32_t kind, port_no, link;
};

/*
 * A flow that left its table, as the pipeline reported it (only flows added
 * with OFPFF_SEND_FLOW_REM are): what OFPT_FLOW_REMOVED carries, then its
 * ofp_match as added, padded to 8 bytes. Records lie back to back; host
 * order, 8-byte aligned (JavaScript reads them as a Uint32Array and a
 * BigUint64Array).
 */
struct tsof_removed_flow {
	uint32_t size;          /* of the record, match and padding included */
	uint32_t match_len;
	uint32_t table_id, reason, priority, idle_timeout, hard_timeout, reserved;
	uint64_t cookie, packets, bytes, duration_ns;
	uint8_t match[];
};

struct tsof_dp_stats {
	_Atomic uint64_t upcall_packets;  /* packets delivered to fn */
	_Atomic uint64_t upcall_batches;
	_Atomic uint64_t upcall_dropped;  /* refused by fn, over TSOF_UPCALL_QUEUED, or too big for a batch */
	_Atomic uint64_t no_port;         /* output to a port being removed */
	_Atomic uint64_t offload_errors;  /* checksum or GSO that could not be finished in software */
	_Atomic uint64_t removed_lost;    /* flow-removed records lost: out of memory */
};

/* Delivers an upcall item; false if it cannot take it now (the caller frees it). */
typedef bool (*tsof_upcall_fn)(void *ctx, void *item);

struct tsof_dp;

/* Starts the datapath thread; NULL with errno and a message in err on failure. */
struct tsof_dp *tsof_dp_create(tsof_upcall_fn fn, void *ctx, char *err, size_t errlen);
/* Stops the thread and destroys every port. */
void tsof_dp_destroy(struct tsof_dp *dp);
/* The receiver of fn has a packet batch in hand: its bytes leave the TSOF_UPCALL_QUEUED budget. */
void tsof_dp_upcall_taken(struct tsof_dp *dp, const struct tsof_upcall_packets *item);

/* Commands: 0, or a negative errno (-EEXIST, -ENOSPC, -ENOENT). */
int tsof_dp_add_port(struct tsof_dp *dp, struct tsof_port *p);
int tsof_dp_del_port(struct tsof_dp *dp, uint32_t port_no);
/* Adds the drops only the kernel counts into every port's counters. */
void tsof_dp_poll_stats(struct tsof_dp *dp);
/* Returns once every packet-out queued before the call has run (OFPT_BARRIER). */
void tsof_dp_sync(struct tsof_dp *dp);
/*
 * The datapath thread's nice value (setpriority), the rest of the process
 * keeping its own: forwarding can be put ahead of the control side's work.
 * 0, or -EPERM or -EACCES without the privilege to raise a priority.
 */
int tsof_dp_set_nice(struct tsof_dp *dp, int nice);
/*
 * Control side: gives the pipeline a port's OFPPC_* config, with its link
 * state as OFPPS_LINK_DOWN (call again when the link changes). 0, -ENOENT or
 * -ENOMEM.
 */
int tsof_dp_port_config(struct tsof_dp *dp, uint32_t port_no, uint32_t config);
/*
 * The struct tsof_removed_flow records collected since the last call, in a
 * malloc'd buffer the caller frees (*len bytes), or NULL when there are none.
 */
void *tsof_dp_take_removed(struct tsof_dp *dp, size_t *len);

/* The port with this number, for the JavaScript thread (valid until it removes it). */
struct tsof_port *tsof_dp_port(struct tsof_dp *dp, uint32_t port_no);
/*
 * Queues a packet-out. acts NULL: f is sent out of port f->port_no as it is.
 * Otherwise the actions run on f as received on port f->port_no (OFPP_TABLE
 * sends it through the tables). false (nothing taken) when the queue is full;
 * otherwise the datapath frees f and acts.
 */
bool tsof_dp_packet_out(struct tsof_dp *dp, struct tsof_frame *f, struct tsof_actions *acts);
const struct tsof_dp_stats *tsof_dp_stats(const struct tsof_dp *dp);

/* The pipeline, for the control side (flow, group and meter mods, statistics). */
struct tsof_pipeline *tsof_dp_pipeline(struct tsof_dp *dp);
/* The datapath thread's pipeline counters (exact each, not a snapshot). */
void tsof_dp_pipeline_stats(const struct tsof_dp *dp, struct tsof_pl_thread_stats *s);
/* The monotonic clock the pipeline runs on, in ns. */
uint64_t tsof_dp_now(void);

#endif
