/*
 * dp.c: the datapath thread, its commands, the pipeline's callbacks and
 * upcalls (see dp.h).
 *
 * One turn of the loop: epoll_wait (offline for the pipeline's grace
 * periods), then for each ready port up to RX_BUDGET batches (receive, run
 * each frame through the pipeline, release), then packet-outs and netlink,
 * then the pending command, the turn's upcall batch, and a quiescent point.
 * The command comes after the ports so that no event of the same turn refers
 * to a port it removed.
 *
 * A received frame is copied into a buffer with room for pushes before the
 * pipeline edits it. Each output copies the frame as it is then into the
 * output port's queue (the pipeline may go on editing it), and the queues are
 * sent after each received batch, one send() per port: a batch of frames
 * costs one system call per output port, not one per frame. Frames to one
 * port leave in the order the pipeline output them. The virtio-net header
 * travels along: the pipeline keeps partial checksums right
 * (TSOF_PL_CSUM_PARTIAL), and pushes and pops move csum_start and hdr_len by
 * the change in length (they all lie before L4).
 */
#define _GNU_SOURCE
#include "dp.h"
#include "netlink.h"
#include "offload.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RX_BUDGET 16        /* batches per port per turn, so one port cannot starve the others */
#define PKTOUT_RING 4096
#define GSO_SEGS 256        /* segments of one GSO frame finished in software */
#define GSO_BUF (256u * 1024)
#define LINK_RETRY_MS 10    /* JavaScript refused a link upcall: try again this soon */
#define FRAME_BUF (TSOF_PL_HEADROOM + TSOF_MAX_FRAME + TSOF_PL_HEADROOM)
#define TXQ_BYTES (4u * TSOF_MAX_FRAME) /* a batch of small frames, or four GSO frames */

/* epoll tags of the datapath's own descriptors (ports are tagged with their pointer). */
enum { EV_CMD = 1, EV_PKTOUT, EV_NETLINK };

enum cmd_op { CMD_ADD, CMD_DEL, CMD_STATS, CMD_SYNC, CMD_NICE };

struct cmd {
	enum cmd_op op;
	struct tsof_port *port;
	uint32_t a;
	int result;
	bool done;
};

/* Frames queued for a port until the end of the batch (datapath thread only). */
struct tsof_txq {
	struct tsof_pkt pkts[TSOF_BATCH];
	int n;
	uint32_t used;          /* bytes of buf */
	bool listed;            /* in dp->tx_pending until the batch's flush */
	uint8_t buf[TXQ_BYTES];
};

/* A packet-out in the ring (tsof_dp_packet_out). */
struct pktout {
	struct tsof_frame *f;
	struct tsof_actions *acts;
};

struct tsof_dp {
	pthread_t thread;
	int epfd, cmd_fd, pktout_fd, nl_fd;
	atomic_bool stop;
	tsof_upcall_fn fn;
	void *ctx;
	_Atomic size_t upcall_queued;   /* bytes of packet batches fn took that the receiver has not */
	struct tsof_dp_stats stats;
	struct tsof_pipeline *pl;
	struct tsof_pl_thread *plt;

	pthread_mutex_t lock; /* guards pending */
	pthread_cond_t cond;
	struct cmd *pending;

	/* Control side: flow-removed records not yet taken (tsof_removed_flow). */
	pthread_mutex_t removed_lock;
	uint8_t *removed;
	size_t removed_len, removed_cap;

	struct tsof_ring pktout;

	/* Datapath thread only. */
	struct tsof_port *ports[TSOF_MAX_PORTS];
	int nports;
	struct tsof_port *tx_pending[TSOF_MAX_PORTS]; /* ports whose txq holds frames */
	int ntx_pending;
	bool link_retry;
	struct tsof_upcall_packets *up; /* the turn's batch: header and entries */
	uint8_t *up_data;               /* and its data */
	uint32_t up_bytes;
	uint8_t *gso_buf;
	struct tsof_pkt segs[GSO_SEGS];
	uint8_t *frame_buf;             /* the frame the pipeline runs on, with room for pushes */
	uint8_t *fin_buf;               /* a copy of a packet-in to finish a partial checksum on */
	struct virtio_net_hdr cur_vnet; /* the running frame's header as received */
	uint32_t cur_len;               /* and its length then */
};

typedef void (*sink_fn)(struct tsof_dp *dp, void *arg, struct tsof_pkt *const *pkts, int n);

static struct tsof_port *find_port(struct tsof_dp *dp, uint32_t port_no)
{
	for (int i = 0; i < dp->nports; i++)
		if (dp->ports[i]->port_no == port_no)
			return dp->ports[i];
	return NULL;
}

/* --- upcalls --- */

static void flush_upcalls(struct tsof_dp *dp)
{
	uint32_t n = dp->up->count;
	size_t head = sizeof(*dp->up) + n * sizeof(dp->up->pkt[0]);
	size_t size = head + dp->up_bytes;
	struct tsof_upcall_packets *item = NULL;

	if (!n)
		return;
	if (atomic_load_explicit(&dp->upcall_queued, memory_order_relaxed) + size <= TSOF_UPCALL_QUEUED)
		item = malloc(size);
	if (item) {
		memcpy(item, dp->up, head);
		memcpy((uint8_t *)item + head, dp->up_data, dp->up_bytes);
		item->kind = TSOF_UPCALL_PACKETS;
		item->size = (uint32_t)size;
		for (uint32_t i = 0; i < n; i++)
			item->pkt[i].offset += (uint32_t)head;
		/* Counted before fn: the receiver may take it at once. */
		atomic_fetch_add_explicit(&dp->upcall_queued, size, memory_order_relaxed);
	}
	if (item && dp->fn(dp->ctx, item)) {
		TSOF_STAT_ADD(dp->stats.upcall_packets, n);
		TSOF_STAT_ADD(dp->stats.upcall_batches, 1);
	} else {
		if (item)
			atomic_fetch_sub_explicit(&dp->upcall_queued, size, memory_order_relaxed);
		free(item);
		TSOF_STAT_ADD(dp->stats.upcall_dropped, n);
	}
	dp->up->count = 0;
	dp->up_bytes = 0;
}

/* Queues packet-ins (arg: the struct tsof_packet_in; pkts: its frame, or the
 * segments of it), truncated to max_len, into the turn's batch. A frame under
 * the 60-byte Ethernet minimum (a pop made it shorter) goes up padded with
 * zeros, as it would leave through a port (port_afpacket.c). */
static void upcall_sink(struct tsof_dp *dp, void *arg, struct tsof_pkt *const *pkts, int n)
{
	const struct tsof_packet_in *pin = arg;

	for (int i = 0; i < n; i++) {
		const struct tsof_pkt *pkt = pkts[i];
		uint32_t frame = pkt->len < ETH_ZLEN ? ETH_ZLEN : pkt->len;
		uint32_t len = pin->max_len == TSOF_OFPCML_NO_BUFFER || pin->max_len > frame ? frame : pin->max_len;
		uint32_t copy = len < pkt->len ? len : pkt->len;

		if (len > TSOF_UPCALL_BYTES) {
			TSOF_STAT_ADD(dp->stats.upcall_dropped, 1);
			continue;
		}
		if (dp->up->count == TSOF_UPCALL_MAX || dp->up_bytes + len > TSOF_UPCALL_BYTES)
			flush_upcalls(dp);
		dp->up->pkt[dp->up->count++] = (struct tsof_upcall_pkt){
			.in_port = pin->in_port, .offset = dp->up_bytes, /* from the data; flush adds the header */
			.len = len, .total_len = frame, .reason = pin->reason, .table_id = pin->table_id,
			.in_phy_port = pin->in_phy_port, .cookie = pin->cookie, .metadata = pin->metadata,
			.tunnel_id = pin->tunnel_id,
		};
		memcpy(dp->up_data + dp->up_bytes, pkt->data, copy);
		memset(dp->up_data + dp->up_bytes + copy, 0, len - copy);
		dp->up_bytes += len;
	}
}

static void report_link(struct tsof_dp *dp, struct tsof_port *p)
{
	uint32_t link = atomic_load_explicit(&p->link, memory_order_relaxed);
	struct tsof_upcall_link *item;

	if (link == p->link_reported)
		return;
	item = malloc(sizeof(*item));
	if (item) {
		*item = (struct tsof_upcall_link){ TSOF_UPCALL_LINK, p->port_no, link };
		if (dp->fn(dp->ctx, item)) {
			p->link_reported = link;
			return;
		}
		free(item);
	}
	dp->link_retry = true;
}

static void on_link(void *ctx, int ifindex, uint32_t link)
{
	struct tsof_dp *dp = ctx;

	for (int i = 0; i < dp->nports; i++) {
		struct tsof_port *p = dp->ports[i];

		if (!p->ifindex || (ifindex && p->ifindex != ifindex))
			continue;
		atomic_store_explicit(&p->link, ifindex ? link : tsof_link_query(p->ifindex), memory_order_relaxed);
		report_link(dp, p);
	}
}

/* --- forwarding --- */

static void port_sink(struct tsof_dp *dp, void *arg, struct tsof_pkt *const *pkts, int n)
{
	struct tsof_port *out = arg;

	(void)dp;
	out->ops->send(out, pkts, n);
}

/*
 * Hands pkts to a sink that takes plain frames: partial checksums completed,
 * GSO frames segmented (offload.h).
 */
static void deliver_plain(struct tsof_dp *dp, struct tsof_pkt *pkts, int n, sink_fn sink, void *arg)
{
	struct tsof_pkt *ptrs[TSOF_BATCH];
	int k = 0;

	for (int i = 0; i < n; i++) {
		struct tsof_pkt *pkt = &pkts[i];

		if (pkt->vnet.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
			int s = tsof_gso_segment(pkt, dp->gso_buf, GSO_BUF, dp->segs, GSO_SEGS);

			if (k)
				sink(dp, arg, ptrs, k);
			k = 0;
			if (s < 0)
				TSOF_STAT_ADD(dp->stats.offload_errors, 1);
			for (int j = 0; j < s; j++) {
				ptrs[k++] = &dp->segs[j];
				if (k == TSOF_BATCH || j == s - 1) {
					sink(dp, arg, ptrs, k);
					k = 0;
				}
			}
			continue;
		}
		if ((pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && tsof_csum_complete(pkt) < 0) {
			TSOF_STAT_ADD(dp->stats.offload_errors, 1);
			continue;
		}
		ptrs[k++] = pkt;
	}
	if (k)
		sink(dp, arg, ptrs, k);
}

/* Sends pkts out of port out, passing virtio-net headers on where the port takes them. */
static void output(struct tsof_dp *dp, struct tsof_port *out, struct tsof_pkt *pkts, int n)
{
	struct tsof_pkt *ptrs[TSOF_BATCH];

	if (!out->vnet) {
		deliver_plain(dp, pkts, n, port_sink, out);
		return;
	}
	for (int i = 0; i < n; i++)
		ptrs[i] = &pkts[i];
	out->ops->send(out, ptrs, n);
}

/* --- the pipeline --- */

uint64_t tsof_dp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The running frame's virtio-net header, moved by what pushes and pops changed. */
static struct virtio_net_hdr out_vnet(const struct tsof_dp *dp, uint32_t len)
{
	struct virtio_net_hdr v = dp->cur_vnet;
	int delta = (int)len - (int)dp->cur_len;

	if (v.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		v.csum_start = (uint16_t)(v.csum_start + delta);
	if (v.hdr_len)
		v.hdr_len = (uint16_t)(v.hdr_len + delta);
	return v;
}

/* Sends what a port's queue holds and empties it. */
static void send_txq(struct tsof_dp *dp, struct tsof_port *p)
{
	output(dp, p, p->txq->pkts, p->txq->n);
	p->txq->n = 0;
	p->txq->used = 0;
}

/* Sends what the batch queued, port by port. */
static void flush_tx(struct tsof_dp *dp)
{
	for (int i = 0; i < dp->ntx_pending; i++) {
		send_txq(dp, dp->tx_pending[i]);
		dp->tx_pending[i]->txq->listed = false;
	}
	dp->ntx_pending = 0;
}

static void pl_output(void *ctx, uint32_t port, uint32_t queue_id, const struct tsof_pl_frame *f)
{
	struct tsof_dp *dp = ctx;
	struct tsof_port *out = find_port(dp, port);
	struct tsof_txq *q;

	(void)queue_id;
	if (!out) {
		TSOF_STAT_ADD(dp->stats.no_port, 1);
		return;
	}
	q = out->txq;
	if (q->n == TSOF_BATCH || q->used + f->len > TXQ_BYTES)
		send_txq(dp, out); /* full before the batch ends: send early, stay listed */
	if (!q->listed) {
		q->listed = true;
		dp->tx_pending[dp->ntx_pending++] = out; /* each port once: at most TSOF_MAX_PORTS */
	}
	memcpy(q->buf + q->used, f->data, f->len);
	q->pkts[q->n++] = (struct tsof_pkt){
		.data = q->buf + q->used, .len = f->len, .in_port = f->in_port, .vnet = out_vnet(dp, f->len),
	};
	q->used += f->len;
}

/* A partial checksum is finished on a copy: the pipeline goes on with the frame. */
static void pl_packet_in(void *ctx, const struct tsof_packet_in *pin)
{
	struct tsof_dp *dp = ctx;
	struct tsof_pkt p = { .data = (uint8_t *)pin->data, .len = pin->len, .in_port = pin->in_port,
			      .vnet = out_vnet(dp, pin->len) };

	if ((p.vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && p.vnet.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		memcpy(dp->fin_buf, pin->data, pin->len);
		p.data = dp->fin_buf;
	}
	deliver_plain(dp, &p, 1, upcall_sink, (void *)pin);
}

/* Control side, under the pipeline's lock: a record for tsof_dp_take_removed(). */
static void pl_flow_removed(void *arg, const struct tsof_flow_removed *fr)
{
	struct tsof_dp *dp = arg;
	size_t size = sizeof(struct tsof_removed_flow) + ((fr->match_len + 7) & ~(size_t)7);
	struct tsof_removed_flow *r;

	pthread_mutex_lock(&dp->removed_lock);
	if (dp->removed_len + size > dp->removed_cap) {
		size_t cap = (dp->removed_len + size) * 2;
		uint8_t *b = realloc(dp->removed, cap);

		if (!b) {
			pthread_mutex_unlock(&dp->removed_lock);
			TSOF_STAT_ADD(dp->stats.removed_lost, 1);
			return;
		}
		dp->removed = b;
		dp->removed_cap = cap;
	}
	r = (struct tsof_removed_flow *)(dp->removed + dp->removed_len);
	*r = (struct tsof_removed_flow){
		.size = (uint32_t)size, .match_len = (uint32_t)fr->match_len, .table_id = fr->table_id,
		.reason = fr->reason, .priority = fr->priority, .idle_timeout = fr->idle_timeout,
		.hard_timeout = fr->hard_timeout, .cookie = fr->cookie, .packets = fr->packets,
		.bytes = fr->bytes, .duration_ns = fr->duration_ns,
	};
	memset(r->match, 0, size - sizeof(*r));
	memcpy(r->match, fr->match, fr->match_len);
	dp->removed_len += size;
	pthread_mutex_unlock(&dp->removed_lock);
}

/* Runs pkt through the tables, or through acts (a packet-out), on a copy with room for pushes. */
static void run_pipeline(struct tsof_dp *dp, const struct tsof_pkt *pkt, const struct tsof_actions *acts,
			 uint64_t now)
{
	struct tsof_pl_frame f = {
		.data = dp->frame_buf + TSOF_PL_HEADROOM, .len = pkt->len, .headroom = TSOF_PL_HEADROOM,
		.tailroom = FRAME_BUF - TSOF_PL_HEADROOM - pkt->len, .in_port = pkt->in_port,
		.in_phy_port = pkt->in_port,
	};

	memcpy(f.data, pkt->data, pkt->len);
	if (pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		f.flags = TSOF_PL_CSUM_PARTIAL;
		f.csum_start = pkt->vnet.csum_start;
		f.csum_offset = pkt->vnet.csum_offset;
	}
	dp->cur_vnet = pkt->vnet;
	dp->cur_len = pkt->len;
	if (acts)
		tsof_pipeline_packet_out(dp->plt, &f, acts, now);
	else
		tsof_pipeline_process(dp->plt, &f, now);
}

static void rx_port(struct tsof_dp *dp, struct tsof_port *p)
{
	struct tsof_pkt pkts[TSOF_BATCH];

	for (int b = 0; b < RX_BUDGET; b++) {
		int n = p->ops->recv(p, pkts, TSOF_BATCH);
		uint64_t now = tsof_dp_now();

		for (int i = 0; i < n; i++) {
			if (pkts[i].len > TSOF_MAX_FRAME)
				TSOF_STAT_ADD(p->stats.rx_errors, 1);
			else
				run_pipeline(dp, &pkts[i], NULL, now);
		}
		flush_tx(dp);
		p->ops->done(p);
		if (!n)
			break;
	}
}

/*
 * The kernel flags a packet socket with ENETDOWN when its interface goes down
 * or away (and resumes it when the interface comes back up). The flag stays,
 * and epoll reports it, until read: read it, or the loop would spin. The link
 * change itself arrives through netlink.
 */
static void clear_error(struct tsof_port *p)
{
	int err;
	socklen_t len = sizeof(err);

	getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len);
}

static void pktout_free(struct pktout *po)
{
	if (po->acts)
		tsof_actions_free(po->acts);
	free(po->f);
	free(po);
}

/* Packet-outs JavaScript queued with tsof_dp_packet_out. */
static void packet_outs(struct tsof_dp *dp)
{
	uint64_t now = tsof_dp_now();
	struct pktout *po;
	uint64_t v;

	/* Clear the eventfd only when the ring looks empty, then look again. */
	while ((po = tsof_ring_pop(&dp->pktout)) ||
	       (read(dp->pktout_fd, &v, sizeof(v)) >= 0 && (po = tsof_ring_pop(&dp->pktout)))) {
		struct tsof_pkt pkt = { .data = po->f->data, .len = po->f->len, .in_port = po->f->port_no,
					.vnet = po->f->vnet };
		struct tsof_port *out;

		if (po->acts)
			run_pipeline(dp, &pkt, po->acts, now);
		else if ((out = find_port(dp, po->f->port_no)))
			output(dp, out, &pkt, 1);
		else
			TSOF_STAT_ADD(dp->stats.no_port, 1);
		pktout_free(po);
	}
	flush_tx(dp);
}

/* --- commands --- */

static int apply(struct tsof_dp *dp, struct cmd *c)
{
	struct tsof_port *p = c->op == CMD_ADD ? c->port : find_port(dp, c->a);

	switch (c->op) {
	case CMD_ADD: {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = p };

		if (find_port(dp, p->port_no))
			return -EEXIST;
		if (dp->nports == TSOF_MAX_PORTS)
			return -ENOSPC;
		if (epoll_ctl(dp->epfd, EPOLL_CTL_ADD, p->fd, &ev) < 0)
			return -errno;
		dp->ports[dp->nports++] = p;
		return 0;
	}
	case CMD_DEL:
		if (!p)
			return -ENOENT;
		epoll_ctl(dp->epfd, EPOLL_CTL_DEL, p->fd, NULL);
		for (int i = 0; i < dp->nports; i++)
			if (dp->ports[i] == p)
				dp->ports[i] = dp->ports[--dp->nports];
		c->port = p;
		return 0;
	case CMD_STATS:
		for (int i = 0; i < dp->nports; i++)
			if (dp->ports[i]->ops->poll_stats)
				dp->ports[i]->ops->poll_stats(dp->ports[i]);
		return 0;
	case CMD_SYNC:
		/* The ring is FIFO: what was queued before the command runs now, if the loop has not run it yet. */
		packet_outs(dp);
		return 0;
	case CMD_NICE:
		/* On Linux a nice value is per thread: PRIO_PROCESS with 0 is the calling one, this thread. */
		return setpriority(PRIO_PROCESS, 0, (int)c->a) < 0 ? -errno : 0;
	}
	return -EINVAL;
}

static void run_command(struct tsof_dp *dp)
{
	uint64_t v;

	(void)!read(dp->cmd_fd, &v, sizeof(v));
	pthread_mutex_lock(&dp->lock);
	if (dp->pending) {
		dp->pending->result = apply(dp, dp->pending);
		dp->pending->done = true;
		dp->pending = NULL;
		pthread_cond_broadcast(&dp->cond);
	}
	pthread_mutex_unlock(&dp->lock);
}

/* Runs c on the datapath thread and waits for it (JavaScript thread). */
static int command(struct tsof_dp *dp, struct cmd *c)
{
	uint64_t one = 1;

	pthread_mutex_lock(&dp->lock);
	dp->pending = c;
	(void)!write(dp->cmd_fd, &one, sizeof(one));
	while (!c->done)
		pthread_cond_wait(&dp->cond, &dp->lock);
	pthread_mutex_unlock(&dp->lock);
	return c->result;
}

/* --- the thread --- */

static void *dp_main(void *arg)
{
	struct tsof_dp *dp = arg;
	struct epoll_event ev[32];

	while (!atomic_load(&dp->stop)) {
		int n;
		bool cmd = false;

		tsof_pipeline_offline(dp->plt);
		n = epoll_wait(dp->epfd, ev, 32, dp->link_retry ? LINK_RETRY_MS : -1);
		tsof_pipeline_online(dp->plt);

		for (int i = 0; i < n; i++) {
			switch (ev[i].data.u64) {
			case EV_CMD:
				cmd = true;
				break;
			case EV_PKTOUT:
				packet_outs(dp);
				break;
			case EV_NETLINK:
				tsof_netlink_read(dp->nl_fd, on_link, dp);
				break;
			default:
				if (ev[i].events & EPOLLERR)
					clear_error(ev[i].data.ptr);
				rx_port(dp, ev[i].data.ptr);
			}
		}
		if (cmd)
			run_command(dp);
		if (dp->link_retry) {
			dp->link_retry = false;
			for (int i = 0; i < dp->nports; i++)
				report_link(dp, dp->ports[i]);
		}
		flush_upcalls(dp);
		tsof_pipeline_quiesce(dp->plt);
	}
	return NULL;
}

static int watch(struct tsof_dp *dp, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(dp->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* A port the datapath added (and gave a queue). */
static void port_destroy(struct tsof_port *p)
{
	free(p->txq);
	p->ops->destroy(p);
}

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void dp_free(struct tsof_dp *dp)
{
	for (int i = 0; i < dp->nports; i++)
		port_destroy(dp->ports[i]);
	close_fd(dp->epfd);
	close_fd(dp->cmd_fd);
	close_fd(dp->pktout_fd);
	close_fd(dp->nl_fd);
	if (dp->pktout.slot) {
		for (struct pktout *po; (po = tsof_ring_pop(&dp->pktout));)
			pktout_free(po);
		tsof_ring_free(&dp->pktout);
	}
	tsof_pipeline_thread_free(dp->plt);
	if (dp->pl)
		tsof_pipeline_free(dp->pl);
	pthread_mutex_destroy(&dp->lock);
	pthread_cond_destroy(&dp->cond);
	pthread_mutex_destroy(&dp->removed_lock);
	free(dp->removed);
	free(dp->up);
	free(dp->up_data);
	free(dp->gso_buf);
	free(dp->frame_buf);
	free(dp->fin_buf);
	free(dp);
}

struct tsof_dp *tsof_dp_create(tsof_upcall_fn fn, void *ctx, char *err, size_t errlen)
{
	struct tsof_dp *dp = calloc(1, sizeof(*dp));
	/* No port_live: fast-failover goes by the pipeline's port table, which
	 * has the config and the link state (tsof_dp_port_config). */
	const struct tsof_pipeline_ops ops = {
		.output = pl_output, .packet_in = pl_packet_in, .flow_removed = pl_flow_removed, .arg = dp,
	};
	sigset_t all, old;
	const char *failed = NULL;
	int e;

	if (!dp) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	dp->fn = fn;
	dp->ctx = ctx;
	dp->epfd = dp->cmd_fd = dp->pktout_fd = dp->nl_fd = -1;
	pthread_mutex_init(&dp->lock, NULL);
	pthread_cond_init(&dp->cond, NULL);
	pthread_mutex_init(&dp->removed_lock, NULL);
	dp->up = calloc(1, sizeof(*dp->up) + TSOF_UPCALL_MAX * sizeof(dp->up->pkt[0]));
	dp->up_data = malloc(TSOF_UPCALL_BYTES);
	dp->gso_buf = malloc(GSO_BUF);
	dp->frame_buf = malloc(FRAME_BUF);
	dp->fin_buf = malloc(TSOF_MAX_FRAME);
	dp->pl = tsof_pipeline_new(&ops);
	dp->plt = dp->pl ? tsof_pipeline_thread_new(dp->pl, dp) : NULL;
	if (!dp->up || !dp->up_data || !dp->gso_buf || !dp->frame_buf || !dp->fin_buf || !dp->plt ||
	    tsof_ring_init(&dp->pktout, PKTOUT_RING) < 0) {
		errno = ENOMEM;
		failed = "allocation";
	} else if ((dp->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		failed = "epoll_create1";
	} else if ((dp->cmd_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
		   (dp->pktout_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		failed = "eventfd";
	} else if ((dp->nl_fd = tsof_netlink_open()) < 0) {
		failed = "netlink socket";
	} else if (watch(dp, dp->cmd_fd, EV_CMD) < 0 || watch(dp, dp->pktout_fd, EV_PKTOUT) < 0 ||
		   watch(dp, dp->nl_fd, EV_NETLINK) < 0) {
		failed = "epoll_ctl";
	}
	if (!failed) {
		/* Signals stay with Node's threads. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		e = pthread_create(&dp->thread, NULL, dp_main, dp);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (e == 0) {
			pthread_setname_np(dp->thread, "tsof-dp");
			return dp;
		}
		errno = e;
		failed = "pthread_create";
	}
	e = errno;
	snprintf(err, errlen, "datapath: %s: %s", failed, strerror(e));
	dp_free(dp);
	errno = e;
	return NULL;
}

void tsof_dp_upcall_taken(struct tsof_dp *dp, const struct tsof_upcall_packets *item)
{
	atomic_fetch_sub_explicit(&dp->upcall_queued, item->size, memory_order_relaxed);
}

void tsof_dp_destroy(struct tsof_dp *dp)
{
	uint64_t one = 1;

	atomic_store(&dp->stop, true);
	(void)!write(dp->cmd_fd, &one, sizeof(one));
	pthread_join(dp->thread, NULL);
	dp_free(dp);
}

/* The pipeline's view of a port: the controller's config, and LINK_DOWN unless
 * the link is up with carrier. */
static int pipeline_port(struct tsof_dp *dp, const struct tsof_port *p, uint32_t config)
{
	uint32_t link = atomic_load_explicit(&p->link, memory_order_relaxed);
	bool down = (link & (TSOF_LINK_LIVE | TSOF_LINK_GONE)) != TSOF_LINK_LIVE;

	return tsof_pipeline_port_set(dp->pl, p->port_no, config, down ? TSOF_OFPPS_LINK_DOWN : 0);
}

/* The pipeline's port table (FLOOD, ALL, outputs) follows the datapath's ports. */
int tsof_dp_add_port(struct tsof_dp *dp, struct tsof_port *p)
{
	struct cmd c = { .op = CMD_ADD, .port = p };
	int r;

	p->link_reported = atomic_load(&p->link);
	p->txq = calloc(1, sizeof(*p->txq));
	if (!p->txq)
		return -ENOMEM;
	r = command(dp, &c);
	if (r == 0 && pipeline_port(dp, p, 0) != 0) {
		c = (struct cmd){ .op = CMD_DEL, .a = p->port_no };
		command(dp, &c);
		r = -ENOMEM;
	}
	if (r < 0) {
		free(p->txq);
		p->txq = NULL;
	}
	return r;
}

int tsof_dp_del_port(struct tsof_dp *dp, uint32_t port_no)
{
	struct cmd c = { .op = CMD_DEL, .a = port_no };
	int r = command(dp, &c);

	if (r == 0) {
		tsof_pipeline_port_del(dp->pl, port_no);
		port_destroy(c.port);
	}
	return r;
}

void tsof_dp_poll_stats(struct tsof_dp *dp)
{
	struct cmd c = { .op = CMD_STATS };

	command(dp, &c);
}

void tsof_dp_sync(struct tsof_dp *dp)
{
	struct cmd c = { .op = CMD_SYNC };

	command(dp, &c);
}

int tsof_dp_set_nice(struct tsof_dp *dp, int nice)
{
	struct cmd c = { .op = CMD_NICE, .a = (uint32_t)nice };

	return command(dp, &c);
}

int tsof_dp_port_config(struct tsof_dp *dp, uint32_t port_no, uint32_t config)
{
	const struct tsof_port *p = find_port(dp, port_no);

	if (!p)
		return -ENOENT;
	return pipeline_port(dp, p, config) ? -ENOMEM : 0;
}

void *tsof_dp_take_removed(struct tsof_dp *dp, size_t *len)
{
	void *b;

	pthread_mutex_lock(&dp->removed_lock);
	b = dp->removed;
	*len = dp->removed_len;
	dp->removed = NULL;
	dp->removed_len = dp->removed_cap = 0;
	pthread_mutex_unlock(&dp->removed_lock);
	return b;
}

struct tsof_port *tsof_dp_port(struct tsof_dp *dp, uint32_t port_no)
{
	return find_port(dp, port_no);
}

bool tsof_dp_packet_out(struct tsof_dp *dp, struct tsof_frame *f, struct tsof_actions *acts)
{
	uint64_t one = 1;
	struct pktout *po = malloc(sizeof(*po));

	if (!po)
		return false;
	*po = (struct pktout){ f, acts };
	if (!tsof_ring_push(&dp->pktout, po)) {
		free(po);
		return false;
	}
	(void)!write(dp->pktout_fd, &one, sizeof(one));
	return true;
}

const struct tsof_dp_stats *tsof_dp_stats(const struct tsof_dp *dp)
{
	return &dp->stats;
}

struct tsof_pipeline *tsof_dp_pipeline(struct tsof_dp *dp)
{
	return dp->pl;
}

void tsof_dp_pipeline_stats(const struct tsof_dp *dp, struct tsof_pl_thread_stats *s)
{
	tsof_pipeline_thread_stats(dp->plt, s);
}
