/*
 * actions.h: OpenFlow 1.3 actions (OpenFlow 1.3.5 5.12, A.2.5): decoding the
 * wire TLVs into a compiled list, and the header edits themselves.
 *
 * tsof_actions_decode() checks an action list as a switch must before it
 * installs it (types, lengths, ports, set-field fields and values) and returns
 * an OFPET_BAD_ACTION error otherwise. It needs no tables: the groups the list
 * names go to a refs list (refs.h), for the caller to check and resolve under
 * the pipeline's lock (mod_apply.c). A list that becomes an action
 * set (write-actions, and a group bucket, which 5.6.1 says is applied as an
 * action set) keeps one action per kind, the last one written, and is sorted
 * in the order 5.10 runs an action set:
 *   copy TTL inwards, pop, push-MPLS, push-PBB, push-VLAN, copy TTL outwards,
 *   decrement TTL, set, qos, group, output.
 * Each action carries its slot in that order (TSOF_AS_*).
 *
 * Header edits work on a struct tsof_xframe: the frame, its flow key and header
 * offsets. An edit that changes where headers are (push, pop, setting
 * eth_type, ip_proto or icmpv6_type) marks the key dirty; tsof_xframe_refresh()
 * extracts it again before the next lookup. Other set-fields patch the key in
 * place. Checksums are kept right by incremental update (RFC 1624): the IPv4
 * header checksum, the TCP, UDP and ICMPv6 checksums over the pseudo-header,
 * ICMPv4's, and SCTP's CRC32c by recomputation. A UDP checksum of 0 means "no
 * checksum" and stays 0; an update that computes 0 writes 0xffff (RFC 768).
 * For a frame whose L4 checksum the NIC or kernel will finish
 * (TSOF_PL_CSUM_PARTIAL: the field holds the folded pseudo-header sum, not
 * complemented), only pseudo-header changes are applied, uncomplemented.
 *
 * An action whose header is missing does nothing (set tcp_src on a UDP frame,
 * pop_vlan on an untagged one), as in the Linux and Open vSwitch datapaths:
 * the flow's match is not checked against its actions at install time.
 */
#ifndef TSOF_ACTIONS_H
#define TSOF_ACTIONS_H

#include "flow.h"
#include "refs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room a datapath should leave before a frame so that pushes rarely move it
 * (a PBB push takes 18 bytes, VLAN and MPLS 4). */
#define TSOF_PL_HEADROOM 64

#define TSOF_PL_CSUM_PARTIAL 1u  /* the L4 checksum is finished by the NIC/kernel */

/* A frame in a buffer the pipeline may edit. Pushes take headroom (or
 * tailroom, moving the rest); pops give headroom back. */
struct tsof_pl_frame {
	uint8_t *data;
	uint32_t len;
	uint32_t headroom;      /* writable bytes before data */
	uint32_t tailroom;      /* writable bytes after data + len */
	uint32_t in_port;
	uint32_t in_phy_port;
	uint64_t tunnel_id;     /* host order */
	uint32_t flags;         /* TSOF_PL_CSUM_PARTIAL */
	uint16_t csum_start;    /* CSUM_PARTIAL: offset the L4 checksum covers from */
	uint16_t csum_offset;   /* CSUM_PARTIAL: of the checksum field, from csum_start */
};

/* A frame with its key: what the actions and the pipeline work on. */
struct tsof_xframe {
	struct tsof_pl_frame *pkt;
	struct tsof_flow_key key;
	struct tsof_flow_ofs ofs;
	bool dirty;             /* headers moved: extract before using key or ofs */
};

/* Extracts the frame's key: in_port, in_phy_port and tunnel_id from the
 * frame, metadata 0. */
void tsof_xframe_init(struct tsof_xframe *x, struct tsof_pl_frame *pkt);
/* Extracts it again if headers moved, keeping metadata, tunnel_id and
 * in_phy_port. */
void tsof_xframe_refresh(struct tsof_xframe *x);

/* Action-set slots in the order the action set runs (5.10). The set-field
 * slots are one per field, TSOF_AS_SET_FIELD + index in tsof_flow_fields. */
enum {
	TSOF_AS_COPY_TTL_IN,
	TSOF_AS_POP_VLAN, TSOF_AS_POP_PBB, TSOF_AS_POP_MPLS,   /* outermost first */
	TSOF_AS_PUSH_MPLS, TSOF_AS_PUSH_PBB, TSOF_AS_PUSH_VLAN,
	TSOF_AS_COPY_TTL_OUT,
	TSOF_AS_DEC_MPLS_TTL, TSOF_AS_DEC_NW_TTL,
	TSOF_AS_SET_MPLS_TTL, TSOF_AS_SET_NW_TTL,
	TSOF_AS_SET_FIELD,
	TSOF_AS_SET_QUEUE = TSOF_AS_SET_FIELD + TSOF_N_FIELDS,
	TSOF_AS_GROUP,
	TSOF_AS_OUTPUT,
	TSOF_AS_N
};
_Static_assert(TSOF_AS_N <= 64, "an action set is a 64-bit mask of slots");

struct tsof_group;

struct tsof_action {
	uint16_t type;   /* OFPAT_* */
	uint8_t slot;    /* TSOF_AS_* */
	uint8_t field;   /* set_field: index in tsof_flow_fields */
	union {
		struct {
			uint32_t port;
			uint16_t max_len;
		} output;
		uint32_t queue_id;
		struct {
			uint32_t id;
			struct tsof_group *ptr;  /* once resolved, with a reference */
		} group;
		uint16_t ethertype;        /* push_*, pop_mpls */
		uint8_t ttl;               /* set_mpls_ttl, set_nw_ttl */
		uint8_t value[16];         /* set_field: the OXM payload */
	} u;
};

struct tsof_actions {
	uint32_t n;
	uint64_t slots;          /* action sets: the slots present */
	struct tsof_action a[];
};

/* What decoding needs from its caller. */
struct tsof_action_env {
	bool packet_out;         /* OFPP_TABLE is an output port only there */
	struct tsof_refs *refs;  /* the groups the list names go here, in order */
};

/* Decodes len bytes of ofp_action TLVs. as_set: keep the last action of each
 * kind, in action-set order. Returns 0 and *out (never NULL, maybe empty), or
 * a TSOF_ERR, then with the refs of the actions before the bad one in
 * env->refs; -1 when out of memory. The list holds no group yet: the caller
 * sets each group action's ptr, with a reference, once the refs are checked. */
int tsof_actions_decode(const uint8_t *p, size_t len, const struct tsof_action_env *env,
			bool as_set, struct tsof_actions **out);
/* A copy with references of its own; NULL when out of memory. */
struct tsof_actions *tsof_actions_copy(const struct tsof_actions *acts);
/* Drops the group references too. */
void tsof_actions_free(struct tsof_actions *acts);
/* Some output action sends to port (OFPP_ANY: true), or a group action to
 * group (OFPG_ANY: true): the out_port/out_group filters of 6.4. */
bool tsof_actions_output_to(const struct tsof_actions *acts, uint32_t port);
bool tsof_actions_group_to(const struct tsof_actions *acts, uint32_t group_id);

/* What running a header action did. */
enum {
	TSOF_ACT_OK,
	TSOF_ACT_INVALID_TTL,   /* a TTL decrement found 0 or 1: stop, 5.12 */
	TSOF_ACT_NO_ROOM,       /* a push found no room in the buffer */
};

/* Runs one header-changing action (not output, group or set_queue). */
int tsof_act_execute(struct tsof_xframe *x, const struct tsof_action *a);
/* set_field by field index, with a value in OXM form. */
void tsof_act_set_field(struct tsof_xframe *x, unsigned field, const uint8_t *value);

/* CRC32c (Castagnoli) as SCTP uses it (RFC 9260 appendix A). */
uint32_t tsof_crc32c(const uint8_t *p, size_t n);

#endif
