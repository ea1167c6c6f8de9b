/*
 * dp.c: the datapath thread, its commands, patch forwarding and upcalls (see dp.h).
 *
 * One turn of the loop: epoll_wait, then for each ready port up to
 * RX_BUDGET batches (receive, forward, send, release), then packet-outs and
 * netlink, then the pending command, and last the turn's upcall batch. The
 * command comes after the ports so that no event of the same turn refers to
 * a port it removed.
 */
#define _GNU_SOURCE
#include "dp.h"
#include "netlink.h"
#include "offload.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define RX_BUDGET 16        /* batches per port per turn, so one port cannot starve the others */
#define PKTOUT_RING 4096
#define GSO_SEGS 256        /* segments of one GSO frame finished in software */
#define GSO_BUF (256u * 1024)
#define LINK_RETRY_MS 10    /* JavaScript refused a link upcall: try again this soon */

/* epoll tags of the datapath's own descriptors (ports are tagged with their pointer). */
enum { EV_CMD = 1, EV_PKTOUT, EV_NETLINK };

enum cmd_op { CMD_ADD, CMD_DEL, CMD_PATCH, CMD_UPCALL, CMD_STATS };

struct cmd {
	enum cmd_op op;
	struct tsof_port *port;
	uint32_t a, b;
	bool on;
	int result;
	bool done;
};

struct tsof_dp {
	pthread_t thread;
	int epfd, cmd_fd, pktout_fd, nl_fd;
	atomic_bool stop;
	tsof_upcall_fn fn;
	void *ctx;
	struct tsof_dp_stats stats;

	pthread_mutex_t lock; /* guards pending */
	pthread_cond_t cond;
	struct cmd *pending;

	struct tsof_ring pktout;

	/* Datapath thread only. */
	struct tsof_port *ports[TSOF_MAX_PORTS];
	int nports;
	bool link_retry;
	struct tsof_upcall_packets *up; /* the turn's batch: header and entries */
	uint8_t *up_data;               /* and its data */
	uint32_t up_bytes;
	uint8_t *gso_buf;
	struct tsof_pkt segs[GSO_SEGS];
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
	struct tsof_upcall_packets *item;

	if (!n)
		return;
	item = malloc(head + dp->up_bytes);
	if (item) {
		memcpy(item, dp->up, head);
		memcpy((uint8_t *)item + head, dp->up_data, dp->up_bytes);
		item->kind = TSOF_UPCALL_PACKETS;
		item->size = (uint32_t)(head + dp->up_bytes);
		for (uint32_t i = 0; i < n; i++)
			item->pkt[i].offset += (uint32_t)head;
	}
	if (item && dp->fn(dp->ctx, item)) {
		TSOF_STAT_ADD(dp->stats.upcall_packets, n);
		TSOF_STAT_ADD(dp->stats.upcall_batches, 1);
	} else {
		free(item);
		TSOF_STAT_ADD(dp->stats.upcall_dropped, n);
	}
	dp->up->count = 0;
	dp->up_bytes = 0;
}

static void upcall_sink(struct tsof_dp *dp, void *arg, struct tsof_pkt *const *pkts, int n)
{
	(void)arg;
	for (int i = 0; i < n; i++) {
		const struct tsof_pkt *pkt = pkts[i];
		uint32_t k;

		if (pkt->len > TSOF_UPCALL_BYTES) {
			TSOF_STAT_ADD(dp->stats.upcall_dropped, 1);
			continue;
		}
		if (dp->up->count == TSOF_UPCALL_MAX || dp->up_bytes + pkt->len > TSOF_UPCALL_BYTES)
			flush_upcalls(dp);
		k = dp->up->count++;
		dp->up->pkt[k].in_port = pkt->in_port;
		dp->up->pkt[k].offset = dp->up_bytes; /* from the data; flush adds the header */
		dp->up->pkt[k].len = pkt->len;
		memcpy(dp->up_data + dp->up_bytes, pkt->data, pkt->len);
		dp->up_bytes += pkt->len;
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

static void forward(struct tsof_dp *dp, struct tsof_port *in, struct tsof_pkt *pkts, int n)
{
	if (in->upcall)
		deliver_plain(dp, pkts, n, upcall_sink, NULL);
	else if (in->out)
		output(dp, in->out, pkts, n);
	else
		TSOF_STAT_ADD(dp->stats.unrouted, (uint64_t)n);
}

static void rx_port(struct tsof_dp *dp, struct tsof_port *p)
{
	struct tsof_pkt pkts[TSOF_BATCH];

	for (int b = 0; b < RX_BUDGET; b++) {
		int n = p->ops->recv(p, pkts, TSOF_BATCH);

		if (n)
			forward(dp, p, pkts, n);
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

/* Frames JavaScript queued with tsof_dp_packet_out; consecutive ones to one port go as a batch. */
static void packet_outs(struct tsof_dp *dp)
{
	struct tsof_frame *f[TSOF_BATCH];
	struct tsof_pkt pkts[TSOF_BATCH];
	int n;

	do {
		for (n = 0; n < TSOF_BATCH; n++) {
			uint64_t v;

			f[n] = tsof_ring_pop(&dp->pktout);
			/* Clear the eventfd only when the ring looks empty, then look again. */
			if (!f[n] && (read(dp->pktout_fd, &v, sizeof(v)) < 0 || !(f[n] = tsof_ring_pop(&dp->pktout))))
				break;
			pkts[n] = (struct tsof_pkt){ .data = f[n]->data, .len = f[n]->len, .vnet = f[n]->vnet };
		}
		for (int i = 0, j; i < n; i = j) {
			struct tsof_port *out = find_port(dp, f[i]->port_no);

			for (j = i + 1; j < n && f[j]->port_no == f[i]->port_no; j++)
				;
			if (out)
				output(dp, out, &pkts[i], j - i);
			else
				TSOF_STAT_ADD(dp->stats.unrouted, (uint64_t)(j - i));
		}
		for (int i = 0; i < n; i++)
			free(f[i]);
	} while (n == TSOF_BATCH);
}

/* --- commands --- */

static int apply(struct tsof_dp *dp, struct cmd *c)
{
	struct tsof_port *p = c->op == CMD_ADD ? c->port : find_port(dp, c->a);
	struct tsof_port *q = NULL;

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
		for (int i = 0; i < dp->nports; i++) {
			if (dp->ports[i] == p)
				dp->ports[i--] = dp->ports[--dp->nports];
			else if (dp->ports[i]->out == p)
				dp->ports[i]->out = NULL;
		}
		c->port = p;
		return 0;
	case CMD_PATCH:
		if (!p || (c->b && !(q = find_port(dp, c->b))))
			return -ENOENT;
		p->out = q;
		p->upcall = false;
		return 0;
	case CMD_UPCALL:
		if (!p)
			return -ENOENT;
		p->upcall = c->on;
		p->out = NULL;
		return 0;
	case CMD_STATS:
		for (int i = 0; i < dp->nports; i++)
			if (dp->ports[i]->ops->poll_stats)
				dp->ports[i]->ops->poll_stats(dp->ports[i]);
		return 0;
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
		int n = epoll_wait(dp->epfd, ev, 32, dp->link_retry ? LINK_RETRY_MS : -1);
		bool cmd = false;

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
	}
	return NULL;
}

static int watch(struct tsof_dp *dp, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(dp->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void dp_free(struct tsof_dp *dp)
{
	for (int i = 0; i < dp->nports; i++)
		dp->ports[i]->ops->destroy(dp->ports[i]);
	close_fd(dp->epfd);
	close_fd(dp->cmd_fd);
	close_fd(dp->pktout_fd);
	close_fd(dp->nl_fd);
	if (dp->pktout.slot)
		tsof_ring_free(&dp->pktout);
	pthread_mutex_destroy(&dp->lock);
	pthread_cond_destroy(&dp->cond);
	free(dp->up);
	free(dp->up_data);
	free(dp->gso_buf);
	free(dp);
}

struct tsof_dp *tsof_dp_create(tsof_upcall_fn fn, void *ctx, char *err, size_t errlen)
{
	struct tsof_dp *dp = calloc(1, sizeof(*dp));
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
	dp->up = calloc(1, sizeof(*dp->up) + TSOF_UPCALL_MAX * sizeof(dp->up->pkt[0]));
	dp->up_data = malloc(TSOF_UPCALL_BYTES);
	dp->gso_buf = malloc(GSO_BUF);
	if (!dp->up || !dp->up_data || !dp->gso_buf || tsof_ring_init(&dp->pktout, PKTOUT_RING) < 0) {
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

void tsof_dp_destroy(struct tsof_dp *dp)
{
	uint64_t one = 1;

	atomic_store(&dp->stop, true);
	(void)!write(dp->cmd_fd, &one, sizeof(one));
	pthread_join(dp->thread, NULL);
	dp_free(dp);
}

int tsof_dp_add_port(struct tsof_dp *dp, struct tsof_port *p)
{
	struct cmd c = { .op = CMD_ADD, .port = p };

	p->link_reported = atomic_load(&p->link);
	return command(dp, &c);
}

int tsof_dp_del_port(struct tsof_dp *dp, uint32_t port_no)
{
	struct cmd c = { .op = CMD_DEL, .a = port_no };
	int r = command(dp, &c);

	if (r == 0)
		c.port->ops->destroy(c.port);
	return r;
}

int tsof_dp_set_patch(struct tsof_dp *dp, uint32_t in_port, uint32_t out_port)
{
	struct cmd c = { .op = CMD_PATCH, .a = in_port, .b = out_port };

	return command(dp, &c);
}

int tsof_dp_set_upcall(struct tsof_dp *dp, uint32_t in_port, bool on)
{
	struct cmd c = { .op = CMD_UPCALL, .a = in_port, .on = on };

	return command(dp, &c);
}

void tsof_dp_poll_stats(struct tsof_dp *dp)
{
	struct cmd c = { .op = CMD_STATS };

	command(dp, &c);
}

struct tsof_port *tsof_dp_port(struct tsof_dp *dp, uint32_t port_no)
{
	return find_port(dp, port_no);
}

bool tsof_dp_packet_out(struct tsof_dp *dp, struct tsof_frame *f)
{
	uint64_t one = 1;

	if (!tsof_ring_push(&dp->pktout, f))
		return false;
	(void)!write(dp->pktout_fd, &one, sizeof(one));
	return true;
}

const struct tsof_dp_stats *tsof_dp_stats(const struct tsof_dp *dp)
{
	return &dp->stats;
}
