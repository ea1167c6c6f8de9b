/*
 * mod.h: OFPT_FLOW_MOD, OFPT_GROUP_MOD and OFPT_METER_MOD (OpenFlow 1.3.5
 * 6.4-6.6, A.3.4), in two steps, as Open vSwitch does them; and the fixed
 * part of OFPT_PACKET_OUT, whose actions go through the same decoder.
 *
 * 1. tsof_*_mod_decode() turns the whole message into what the pipeline
 *    installs: the match, the instructions with their action lists, the group
 *    buckets, the meter bands. It takes no lock and looks at no table, and it
 *    decides every error the message alone decides (mod_decode.c).
 * 2. tsof_pipeline_*_mod() applies a decoded mod under the pipeline's lock:
 *    the checks only the tables can answer (does the group or meter exist,
 *    would this group loop, does the flow overlap), then the change. It parses
 *    no wire bytes (mod_apply.c).
 *
 * Errors come in the order OpenFlow checks them, whichever step finds them.
 * An error decoding found after a check that is the tables' (a group or meter
 * the message names before it, whether the group or meter being changed
 * exists) waits in the decoded mod's err, and the apply step answers it in
 * its place (refs.h).
 *
 * Decoding returns the error to send, or 0; then the mod must be applied,
 * which frees what decoding allocated, whatever it returns. The decoded mod
 * points into the message (the match as sent), which must live until then.
 * All return TSOF_ERR(type, code), or -1 when out of memory.
 */
#ifndef TSOF_MOD_H
#define TSOF_MOD_H

#include "classifier.h"
#include "refs.h"

#include <stddef.h>
#include <stdint.h>

struct tsof_pipeline;
struct tsof_insts;
struct tsof_group_cfg;
struct tsof_meter_cfg;

struct tsof_flow_mod {
	uint64_t cookie, cookie_mask;
	uint8_t table_id, command;
	uint16_t idle_timeout, hard_timeout, priority, flags;
	uint32_t buffer_id, out_port, out_group;
	struct tsof_match match;
	const uint8_t *match_wire;   /* the ofp_match as sent, padding included */
	size_t match_len;
	struct tsof_insts *insts;    /* add and modify */
	struct tsof_refs refs;       /* the meter and groups insts names */
	int err;                     /* answered after the refs */
};

struct tsof_group_mod {
	uint16_t command;
	uint32_t group_id;
	struct tsof_group_cfg *cfg;  /* add and modify: type and buckets */
	struct tsof_refs refs;       /* the groups the buckets watch and name */
	int err;                     /* answered after the existence check and the refs */
};

struct tsof_meter_mod {
	uint16_t command;
	uint32_t meter_id;
	struct tsof_meter_cfg *cfg;  /* add and modify: flags and bands */
	int err;                     /* answered after the existence check */
};

/* An OFPT_PACKET_OUT's fixed part (A.3.7): its actions and frame point into
 * the message, the actions for tsof_pipeline_parse_actions(). */
struct tsof_packet_out {
	uint32_t in_port;
	const uint8_t *actions, *data;
	size_t actions_len, data_len;
};

/* Whole messages, header included. */
int tsof_packet_out_decode(const uint8_t *msg, size_t len, struct tsof_packet_out *po);
int tsof_flow_mod_decode(const uint8_t *msg, size_t len, struct tsof_flow_mod *fm);
int tsof_group_mod_decode(const uint8_t *msg, size_t len, struct tsof_group_mod *gm);
int tsof_meter_mod_decode(const uint8_t *msg, size_t len, struct tsof_meter_mod *mm);

/* now: monotonic ns. Visible to every frame after the call (or the batch's
 * commit), never half. */
int tsof_pipeline_flow_mod(struct tsof_pipeline *pl, struct tsof_flow_mod *fm, uint64_t now);
int tsof_pipeline_group_mod(struct tsof_pipeline *pl, struct tsof_group_mod *gm, uint64_t now);
int tsof_pipeline_meter_mod(struct tsof_pipeline *pl, struct tsof_meter_mod *mm, uint64_t now);

/* Frees what decoding allocated for a flow mod that will not be applied. */
void tsof_flow_mod_discard(struct tsof_flow_mod *fm);

/* An OpenFlow bundle's flow mods (the ONF extension of OpenFlow 1.3, 1.4's
 * 7.3.9 with OFPBF_ATOMIC | OFPBF_ORDERED): whole OFPT_FLOW_MOD messages back
 * to back, each decoded and applied in order under one hold of the lock, all
 * of them in force and published as one version, or, when one fails (a length
 * that does not fit included), none is and no frame saw any; then *failed is
 * its index. A flow mod with a buffer id fails it (OFPBRC_BUFFER_UNKNOWN). */
int tsof_pipeline_bundle_commit(struct tsof_pipeline *pl, const uint8_t *msgs, size_t len, uint64_t now,
				size_t *failed);

#endif
