/*
 * port_memory.c: memory ports, and the frame rings that feed them.
 *
 * A memory port is an interface without a kernel: JavaScript injects frames
 * (they arrive as if received on the port) and reads the frames the datapath
 * sent out of it. Tests drive the whole datapath through them without root.
 * Each direction is a single-producer single-consumer ring of malloc'd frames
 * (JavaScript -> datapath for input, datapath -> JavaScript for output), so
 * memory ports allocate per frame; they are a test device, not a fast path.
 * An eventfd is the port's readiness for the datapath's epoll: it stays
 * readable while input frames are waiting.
 */
#define _GNU_SOURCE
#include "port.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Frames each direction holds before inject fails or output is dropped. */
#define MEMORY_RING 4096

int tsof_ring_init(struct tsof_ring *r, uint32_t size)
{
	r->slot = calloc(size, sizeof(*r->slot));
	if (!r->slot)
		return -1;
	r->mask = size - 1;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	return 0;
}

void tsof_ring_free(struct tsof_ring *r)
{
	for (void *item; (item = tsof_ring_pop(r));)
		free(item);
	free(r->slot);
}

bool tsof_ring_push(struct tsof_ring *r, void *item)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

	if (head - atomic_load_explicit(&r->tail, memory_order_acquire) > r->mask)
		return false;
	r->slot[head & r->mask] = item;
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	return true;
}

void *tsof_ring_pop(struct tsof_ring *r)
{
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	void *item;

	if (tail == atomic_load_explicit(&r->head, memory_order_acquire))
		return NULL;
	item = r->slot[tail & r->mask];
	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
	return item;
}

struct tsof_frame *tsof_frame_new(uint32_t port_no, const uint8_t *data, uint32_t len,
				  const struct virtio_net_hdr *vnet)
{
	struct tsof_frame *f = malloc(sizeof(*f) + len);

	if (!f)
		return NULL;
	f->port_no = port_no;
	f->len = len;
	if (vnet)
		f->vnet = *vnet;
	else
		memset(&f->vnet, 0, sizeof(f->vnet));
	memcpy(f->data, data, len);
	return f;
}

struct memory_port {
	struct tsof_port port;
	struct tsof_ring in, out;
	struct tsof_frame *held[TSOF_BATCH]; /* the frames of the last recv */
	int nheld;
};

static struct memory_port *mem(struct tsof_port *p)
{
	return (struct memory_port *)p;
}

static int memory_recv(struct tsof_port *p, struct tsof_pkt *pkts, int max)
{
	struct memory_port *m = mem(p);
	int n = 0;

	while (n < max) {
		struct tsof_frame *f = tsof_ring_pop(&m->in);

		if (!f) {
			uint64_t v;

			/* Clear the eventfd only once the ring is empty, then look again:
			 * a frame pushed in between has written the eventfd after. */
			if (read(p->fd, &v, sizeof(v)) < 0 || !(f = tsof_ring_pop(&m->in)))
				break;
		}
		m->held[n] = f;
		pkts[n] = (struct tsof_pkt){ .data = f->data, .len = f->len, .in_port = p->port_no, .vnet = f->vnet };
		TSOF_STAT_ADD(p->stats.rx_packets, 1);
		TSOF_STAT_ADD(p->stats.rx_bytes, f->len);
		n++;
	}
	m->nheld = n;
	return n;
}

static void memory_done(struct tsof_port *p)
{
	struct memory_port *m = mem(p);

	for (int i = 0; i < m->nheld; i++)
		free(m->held[i]);
	m->nheld = 0;
}

static void memory_send(struct tsof_port *p, struct tsof_pkt *const *pkts, int n)
{
	struct memory_port *m = mem(p);

	for (int i = 0; i < n; i++) {
		struct tsof_frame *f = tsof_frame_new(p->port_no, pkts[i]->data, pkts[i]->len,
						      p->vnet ? &pkts[i]->vnet : NULL);

		if (!f || !tsof_ring_push(&m->out, f)) {
			free(f);
			TSOF_STAT_ADD(p->stats.tx_dropped, 1);
			continue;
		}
		TSOF_STAT_ADD(p->stats.tx_packets, 1);
		TSOF_STAT_ADD(p->stats.tx_bytes, pkts[i]->len);
	}
}

static void memory_destroy(struct tsof_port *p)
{
	struct memory_port *m = mem(p);

	memory_done(p);
	tsof_ring_free(&m->in);
	tsof_ring_free(&m->out);
	close(p->fd);
	free(m);
}

static const struct tsof_port_ops memory_ops = {
	.kind = "memory",
	.recv = memory_recv,
	.done = memory_done,
	.send = memory_send,
	.destroy = memory_destroy,
};

struct tsof_port *tsof_memory_open(uint32_t port_no, bool vnet)
{
	struct memory_port *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->port.ops = &memory_ops;
	m->port.port_no = port_no;
	m->port.vnet = vnet;
	atomic_init(&m->port.link, TSOF_LINK_LIVE);
	m->port.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->port.fd < 0 || tsof_ring_init(&m->in, MEMORY_RING) < 0 ||
	    tsof_ring_init(&m->out, MEMORY_RING) < 0) {
		int e = m->port.fd < 0 ? errno : ENOMEM;

		if (m->port.fd >= 0)
			close(m->port.fd);
		free(m->in.slot);
		free(m->out.slot);
		free(m);
		errno = e;
		return NULL;
	}
	return &m->port;
}

bool tsof_memory_inject(struct tsof_port *p, struct tsof_frame *f)
{
	uint64_t one = 1;

	if (!tsof_ring_push(&mem(p)->in, f))
		return false;
	/* Cannot fail short of a counter overflow, which 2^64 - 1 writes would take. */
	(void)!write(p->fd, &one, sizeof(one));
	return true;
}

struct tsof_frame *tsof_memory_take(struct tsof_port *p)
{
	return tsof_ring_pop(&mem(p)->out);
}
