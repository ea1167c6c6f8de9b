/*
 * trace.c: a packet trace's records (see trace.h): appended to a growable
 * buffer, with the key, matches and actions put back in their OpenFlow wire
 * form for the codec to print. Control side only: walk.c calls in here only
 * when its frame is a trace.
 */
#include "trace.h"
#include "ofp.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ACTION 32          /* the longest ofp_action: set_field of a 16-byte field, padded */
#define MAX_KEY_MATCH 512      /* an ofp_match of every field of a key */

void tsof_trace_add(struct tsof_trace *tr, const struct tsof_trace_event *ev, const void *data, size_t data_len)
{
	size_t size = (sizeof *ev + data_len + 7) & ~(size_t)7;

	if (tr->failed)
		return;
	if (tr->len + size > tr->cap) {
		size_t cap = (tr->len + size) * 2;
		uint8_t *buf = realloc(tr->buf, cap);
		if (!buf) {
			tr->failed = true;
			return;
		}
		tr->buf = buf;
		tr->cap = cap;
	}
	struct tsof_trace_event *e = (struct tsof_trace_event *)(tr->buf + tr->len);
	memset(e, 0, size);
	memcpy(e, ev, sizeof *ev);
	e->size = (uint32_t)size;
	e->data_len = (uint32_t)data_len;
	if (data_len)
		memcpy(e->data, data, data_len);
	tr->len += size;
}

/* The key's fields as an ofp_match: in_port always, the other pipeline fields
 * when set, and every field of the headers that were parsed, but vlan_vid
 * when there is no tag (0). pbb_uca is OpenFlow 1.4 and left out. */
void tsof_trace_key(struct tsof_trace *tr, const struct tsof_flow_key *key, uint32_t len)
{
	uint8_t m[MAX_KEY_MATCH];
	size_t n = 4;

	for (unsigned i = 0; i < TSOF_N_FIELDS; i++) {
		const struct tsof_flow_field *f = &tsof_flow_fields[i];
		const uint8_t *v = (const uint8_t *)key + f->ofs;
		bool set = false;
		for (unsigned j = 0; j < f->len; j++)
			set |= v[j] != 0;
		if (f->oxm > TSOF_OXM_IPV6_EXTHDR || (f->layer ? !(key->layers & f->layer)
							    : f->oxm != TSOF_OXM_IN_PORT && !set) ||
		    (f->oxm == TSOF_OXM_IN_PHY_PORT && key->in_phy_port == key->in_port) ||
		    (f->oxm == TSOF_OXM_VLAN_VID && !set))
			continue;
		tsof_wr16(m + n, 0x8000);
		m[n + 2] = (uint8_t)(f->oxm << 1);
		m[n + 3] = f->len;
		memcpy(m + n + 4, v, f->len);
		n += 4 + f->len;
	}
	tsof_wr16(m, 1);  /* OFPMT_OXM */
	tsof_wr16(m + 2, (uint16_t)n);
	size_t padded = (n + 7) & ~(size_t)7;
	memset(m + n, 0, padded - n);
	tsof_trace_add(tr, &(struct tsof_trace_event){ .kind = TSOF_TRACE_FLOW, .len = len }, m, padded);
}

/* One ofp_action TLV (A.2.5) for a decoded action; its length. */
static size_t encode_action(const struct tsof_action *a, uint8_t *p)
{
	size_t len = 8;

	memset(p, 0, MAX_ACTION);
	tsof_wr16(p, a->type);
	switch (a->type) {
	case TSOF_OFPAT_OUTPUT:
		len = 16;
		tsof_wr32(p + 4, a->u.output.port);
		tsof_wr16(p + 8, a->u.output.max_len);
		break;
	case TSOF_OFPAT_SET_FIELD: {
		const struct tsof_flow_field *f = &tsof_flow_fields[a->field];
		tsof_wr16(p + 4, 0x8000);
		p[6] = (uint8_t)(f->oxm << 1);
		p[7] = f->len;
		memcpy(p + 8, a->u.value, f->len);
		len = (8 + f->len + 7) & ~(size_t)7;
		break;
	}
	case TSOF_OFPAT_SET_QUEUE:
		tsof_wr32(p + 4, a->u.queue_id);
		break;
	case TSOF_OFPAT_GROUP:
		tsof_wr32(p + 4, a->u.group.id);
		break;
	case TSOF_OFPAT_PUSH_VLAN:
	case TSOF_OFPAT_PUSH_MPLS:
	case TSOF_OFPAT_PUSH_PBB:
	case TSOF_OFPAT_POP_MPLS:
		tsof_wr16(p + 4, a->u.ethertype);
		break;
	case TSOF_OFPAT_SET_MPLS_TTL:
	case TSOF_OFPAT_SET_NW_TTL:
		p[4] = a->u.ttl;
		break;
	default:  /* copy and decrement TTL, pop_vlan, pop_pbb: no argument */
		break;
	}
	tsof_wr16(p + 2, (uint16_t)len);
	return len;
}

void tsof_trace_action(struct tsof_trace *tr, const struct tsof_trace_event *ev, const struct tsof_action *a)
{
	uint8_t p[MAX_ACTION];

	tsof_trace_add(tr, ev, p, encode_action(a, p));
}

void tsof_trace_actions(struct tsof_trace *tr, const struct tsof_trace_event *ev, const struct tsof_actions *acts)
{
	uint8_t *p = malloc((size_t)acts->n * MAX_ACTION + 1);
	size_t n = 0;

	if (!p) {
		tr->failed = true;
		return;
	}
	for (uint32_t i = 0; i < acts->n; i++)
		n += encode_action(&acts->a[i], p + n);
	tsof_trace_add(tr, ev, p, n);
	free(p);
}
