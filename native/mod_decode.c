/*
 * mod_decode.c: flow, group and meter mods from the wire (OpenFlow 1.3.5
 * A.3.4.1-A.3.4.4) into what the pipeline installs, with no lock and no look
 * at the tables (mod.h).
 *
 * Every rule the message alone can break is checked here, in the order
 * OpenFlow checks them: lengths, command, flags, table, ids, match, then the
 * instructions, buckets or bands in wire order, each action through
 * actions.c. Groups and meters named on the way go to the mod's refs in that
 * order, for the apply step to look up (refs.h); an error found after a check
 * that is the tables' waits in the mod's err.
 *
 * What is decoded owns its memory, a copy of the wire bytes that stats and
 * desc replies give back included; the match as sent stays in the message.
 */
#include "mod.h"
#include "pipeline_impl.h"

#include <stdlib.h>
#include <string.h>

/* Keeps a copy of wire bytes for the replies that give them back. 0 or -1. */
static int keep_wire(const uint8_t *p, size_t len, uint8_t **wire, uint32_t *wire_len)
{
	if (len && !(*wire = malloc(len)))
		return -1;
	if (len)
		memcpy(*wire, p, len);
	*wire_len = (uint32_t)len;
	return 0;
}

/* An OpenFlow error found after a check only the tables can answer waits in
 * *deferred, and decoding succeeds; any other error is the answer now. */
static int defer_after_tables(int err, bool tables_first, int *deferred)
{
	if (err > 0 && tables_first) {
		*deferred = err;
		return 0;
	}
	return err;
}

/* ---- instructions ---- */

void pl_insts_free(struct tsof_insts *in)
{
	if (!in)
		return;
	tsof_actions_free(in->apply);
	tsof_actions_free(in->write);
	if (in->meter)
		tsof_meter_unref(in->meter);
	free(in);
}

static void insts_free_vnode(struct tsof_vnode *v)
{
	pl_insts_free(pl_insts_of(v));
}

/* With a copy of the instructions' bytes, in the same allocation (there is
 * one a flow, so every allocation counts). */
static struct tsof_insts *insts_new(const uint8_t *wire, size_t len)
{
	struct tsof_insts *in = calloc(1, sizeof *in + len);

	if (!in)
		return NULL;
	if (len)
		memcpy(in->wire, wire, len);
	in->wire_len = (uint32_t)len;
	in->v.free = insts_free_vnode;
	in->goto_table = -1;
	return in;
}

struct tsof_insts *pl_insts_copy(const struct tsof_insts *in)
{
	struct tsof_insts *c = insts_new(in->wire, in->wire_len);

	if (!c)
		return NULL;
	if ((c->meter = in->meter))
		tsof_meter_ref(c->meter);
	c->meter_id = in->meter_id;
	c->metadata = in->metadata;
	c->metadata_mask = in->metadata_mask;
	c->goto_table = in->goto_table;
	c->clear = in->clear;
	c->write_metadata = in->write_metadata;
	if ((in->apply && !(c->apply = tsof_actions_copy(in->apply))) ||
	    (in->write && !(c->write = tsof_actions_copy(in->write)))) {
		pl_insts_free(c);
		return NULL;
	}
	return c;
}

/* An ofp_instruction list for a flow in table_id. */
static int insts_decode(uint8_t table_id, const uint8_t *p, size_t len, struct tsof_refs *refs,
			struct tsof_insts **out)
{
	const struct tsof_action_env env = { .packet_out = false, .refs = refs };
	struct tsof_insts *in = insts_new(p, len);
	uint32_t seen = 0;
	int err = 0;

	if (!in)
		return -1;
	for (size_t at = 0; at < len && !err; ) {
		const uint8_t *i = p + at;
		/* The header first: fewer than 4 bytes left hold no type to read. */
		size_t ilen = len - at >= 4 ? tsof_rd16(i + 2) : 0;
		if (ilen < 8 || ilen % 8 || ilen > len - at) {
			err = BAD_INST(BAD_LEN);
			break;
		}
		uint16_t type = tsof_rd16(i);
		at += ilen;
		/* Each instruction at most once (5.9); 1.3 has no DUP_INST code. */
		if (type < 32 && (seen >> type & 1)) {
			err = BAD_INST(UNSUP_INST);
			break;
		}
		if (type < 32)
			seen |= 1u << type;
		switch (type) {
		case TSOF_OFPIT_GOTO_TABLE:
			if (ilen != 8)
				err = BAD_INST(BAD_LEN);
			else if (i[4] <= table_id || i[4] >= TSOF_N_TABLES)
				err = BAD_INST(BAD_TABLE_ID);  /* only forward (5.1) */
			else
				in->goto_table = i[4];
			break;
		case TSOF_OFPIT_WRITE_METADATA:
			if (ilen != 24) {
				err = BAD_INST(BAD_LEN);
				break;
			}
			in->write_metadata = true;
			in->metadata = tsof_rd64(i + 8);
			in->metadata_mask = tsof_rd64(i + 16);
			break;
		case TSOF_OFPIT_WRITE_ACTIONS:
		case TSOF_OFPIT_APPLY_ACTIONS:
			err = tsof_actions_decode(i + 8, ilen - 8, &env, type == TSOF_OFPIT_WRITE_ACTIONS,
						  type == TSOF_OFPIT_WRITE_ACTIONS ? &in->write : &in->apply);
			break;
		case TSOF_OFPIT_CLEAR_ACTIONS:
			if (ilen != 8)
				err = BAD_INST(BAD_LEN);
			in->clear = true;
			break;
		case TSOF_OFPIT_METER: {
			uint32_t id = tsof_rd32(i + 4);
			if (ilen != 8)
				err = BAD_INST(BAD_LEN);
			else if (id > TSOF_OFPM_MAX)
				err = METER_ERR(UNKNOWN_METER);
			else {
				in->meter_id = id;
				err = tsof_refs_add(refs, id, true, METER_ERR(UNKNOWN_METER));
			}
			break;
		}
		case TSOF_OFPIT_EXPERIMENTER:
			err = BAD_INST(BAD_EXPERIMENTER);
			break;
		default:
			err = BAD_INST(UNKNOWN_INST);
			break;
		}
	}
	if (err) {
		pl_insts_free(in);
		return err;
	}
	*out = in;
	return 0;
}

/* ---- packet-out ---- */

#define PACKET_OUT_FIXED 24  /* ofp_packet_out before its actions */

int tsof_packet_out_decode(const uint8_t *msg, size_t len, struct tsof_packet_out *po)
{
	if (len < PACKET_OUT_FIXED || tsof_rd16(msg + 2) != len)
		return TSOF_ERR(TSOF_OFPET_BAD_REQUEST, TSOF_OFPBRC_BAD_LEN);
	po->actions_len = tsof_rd16(msg + 16);
	if (po->actions_len > len - PACKET_OUT_FIXED)
		return TSOF_ERR(TSOF_OFPET_BAD_REQUEST, TSOF_OFPBRC_BAD_LEN);
	/* No buffers: every packet-out carries its frame (6.4). */
	if (tsof_rd32(msg + 8) != TSOF_OFP_NO_BUFFER)
		return TSOF_ERR(TSOF_OFPET_BAD_REQUEST, TSOF_OFPBRC_BUFFER_UNKNOWN);
	po->in_port = tsof_rd32(msg + 12);
	if (po->in_port > TSOF_OFPP_MAX && po->in_port != TSOF_OFPP_CONTROLLER && po->in_port != TSOF_OFPP_LOCAL)
		return TSOF_ERR(TSOF_OFPET_BAD_REQUEST, TSOF_OFPBRC_BAD_PORT);
	po->actions = msg + PACKET_OUT_FIXED;
	po->data = po->actions + po->actions_len;
	po->data_len = len - PACKET_OUT_FIXED - po->actions_len;
	return 0;
}

/* ---- flow mods ---- */

void tsof_flow_mod_discard(struct tsof_flow_mod *fm)
{
	pl_insts_free(fm->insts);
	fm->insts = NULL;
	tsof_refs_free(&fm->refs);
}

int tsof_flow_mod_decode(const uint8_t *msg, size_t len, struct tsof_flow_mod *fm)
{
	const uint16_t known = TSOF_OFPFF_SEND_FLOW_REM | TSOF_OFPFF_CHECK_OVERLAP | TSOF_OFPFF_RESET_COUNTS |
			       TSOF_OFPFF_NO_PKT_COUNTS | TSOF_OFPFF_NO_BYT_COUNTS;
	size_t mlen;
	int err;

	/* header 8, then cookie .. pad: 40 bytes, then ofp_match. */
	if (len < 56 || tsof_rd16(msg + 2) != len)
		return BAD_LEN;
	/* Member by member: zeroing the match here as well as in
	 * tsof_match_from_wire() was a twentieth of a bundle's commit. */
	fm->cookie = tsof_rd64(msg + 8);
	fm->cookie_mask = tsof_rd64(msg + 16);
	fm->table_id = msg[24];
	fm->command = msg[25];
	fm->idle_timeout = tsof_rd16(msg + 26);
	fm->hard_timeout = tsof_rd16(msg + 28);
	fm->priority = tsof_rd16(msg + 30);
	fm->buffer_id = tsof_rd32(msg + 32);
	fm->out_port = tsof_rd32(msg + 36);
	fm->out_group = tsof_rd32(msg + 40);
	fm->flags = tsof_rd16(msg + 44);
	fm->match_wire = msg + 48;
	fm->match_len = 0;
	fm->insts = NULL;
	fm->refs = (struct tsof_refs){ 0 };
	fm->err = 0;
	if (fm->command > TSOF_OFPFC_DELETE_STRICT)
		return FLOW_ERR(BAD_COMMAND);
	if (fm->flags & ~known)
		return FLOW_ERR(BAD_FLAGS);
	bool del = fm->command == TSOF_OFPFC_DELETE || fm->command == TSOF_OFPFC_DELETE_STRICT;
	if (fm->table_id >= TSOF_N_TABLES && !(del && fm->table_id == TSOF_OFPTT_ALL))
		return FLOW_ERR(BAD_TABLE_ID);
	/* The match's own length is judged there (OFPBMC_BAD_LEN, as Open vSwitch answers). */
	if ((err = tsof_match_from_wire(fm->match_wire, len - 48, &fm->match_len, &fm->match)))
		return err;
	mlen = fm->match_len;
	if (del)
		return 0;  /* a delete's instructions are not looked at */
	err = insts_decode(fm->table_id, msg + 48 + mlen, len - 48 - mlen, &fm->refs, &fm->insts);
	if ((err = defer_after_tables(err, fm->refs.n > 0, &fm->err)))
		tsof_refs_free(&fm->refs);
	return err;
}

/* ---- group-mods ---- */

static void group_cfg_free_vnode(struct tsof_vnode *v)
{
	tsof_group_cfg_free(TSOF_CONTAINER_OF(v, struct tsof_group_cfg, v));
}

/* How many ofp_buckets p[0, len) frames, into *n: 0 or OFPGMFC_BAD_BUCKET. */
static int buckets_count(const uint8_t *p, size_t len, uint32_t *n)
{
	*n = 0;
	for (size_t at = 0; at < len; ++*n) {
		size_t blen = len - at >= 16 ? tsof_rd16(p + at) : 0;
		if (blen < 16 || blen % 8 || blen > len - at)
			return GROUP_ERR(BAD_BUCKET);
		at += blen;
	}
	return 0;
}

/* The ofp_bucket list of group id of type. */
static int buckets_decode(uint32_t id, uint8_t type, const uint8_t *p, size_t len, struct tsof_refs *refs,
			  struct tsof_group_cfg **out)
{
	const struct tsof_action_env env = { .packet_out = false, .refs = refs };
	uint32_t n;
	int err = 0;

	if (type > TSOF_OFPGT_FF)
		return GROUP_ERR(BAD_TYPE);
	if ((err = buckets_count(p, len, &n)))
		return err;
	if (type == TSOF_OFPGT_INDIRECT && n != 1)
		return GROUP_ERR(INVALID_GROUP);
	struct tsof_group_cfg *cfg = calloc(1, sizeof *cfg + n * sizeof cfg->b[0]);
	if (!cfg || keep_wire(p, len, &cfg->wire, &cfg->wire_len)) {
		free(cfg);
		return -1;
	}
	cfg->v.free = group_cfg_free_vnode;
	cfg->type = type;
	for (size_t at = 0; at < len; cfg->n_buckets++) {
		const uint8_t *b = p + at;
		size_t blen = tsof_rd16(b);
		struct tsof_bucket *bk = &cfg->b[cfg->n_buckets];
		bk->weight = tsof_rd16(b + 2);
		bk->watch_port = tsof_rd32(b + 4);
		bk->watch_group = tsof_rd32(b + 8);
		at += blen;
		/* Weights are for select groups, watches for fast failover. */
		if (type != TSOF_OFPGT_SELECT && bk->weight) {
			err = GROUP_ERR(BAD_BUCKET);
			break;
		}
		if (type == TSOF_OFPGT_FF && bk->watch_port == TSOF_OFPP_ANY && bk->watch_group == TSOF_OFPG_ANY) {
			err = GROUP_ERR(BAD_WATCH);
			break;
		}
		if (bk->watch_port != TSOF_OFPP_ANY && (bk->watch_port == 0 || bk->watch_port > TSOF_OFPP_MAX) &&
		    bk->watch_port != TSOF_OFPP_LOCAL) {
			err = GROUP_ERR(BAD_WATCH);
			break;
		}
		if (bk->watch_group != TSOF_OFPG_ANY) {
			err = bk->watch_group == id ? GROUP_ERR(BAD_WATCH)
						    : tsof_refs_add(refs, bk->watch_group, false, GROUP_ERR(BAD_WATCH));
			if (err)
				break;
		}
		if ((err = tsof_actions_decode(b + 16, blen - 16, &env, true, &bk->actions)))
			break;
	}
	if (err) {
		tsof_group_cfg_free(cfg);
		return err;
	}
	*out = cfg;
	return 0;
}

int tsof_group_mod_decode(const uint8_t *msg, size_t len, struct tsof_group_mod *gm)
{
	int err;

	if (len < 16 || tsof_rd16(msg + 2) != len)
		return BAD_LEN;
	*gm = (struct tsof_group_mod){ .command = tsof_rd16(msg + 8), .group_id = tsof_rd32(msg + 12) };
	switch (gm->command) {
	case TSOF_OFPGC_ADD:
	case TSOF_OFPGC_MODIFY:
		if (gm->group_id > TSOF_OFPG_MAX)
			return GROUP_ERR(INVALID_GROUP);
		/* Whether the group exists comes first, and that is the tables'. */
		err = buckets_decode(gm->group_id, msg[10], msg + 16, len - 16, &gm->refs, &gm->cfg);
		if ((err = defer_after_tables(err, true, &gm->err)))
			tsof_refs_free(&gm->refs);
		return err;
	case TSOF_OFPGC_DELETE: {
		/* OpenFlow 1.3.5 refuses a delete that carries buckets (as Open vSwitch does). */
		uint32_t n;
		if ((err = buckets_count(msg + 16, len - 16, &n)))
			return err;
		return n ? GROUP_ERR(INVALID_GROUP) : 0;
	}
	default:
		return GROUP_ERR(BAD_COMMAND);
	}
}

/* ---- meter-mods ---- */

static void meter_cfg_free_vnode(struct tsof_vnode *v)
{
	tsof_meter_cfg_free(TSOF_CONTAINER_OF(v, struct tsof_meter_cfg, v));
}

/* The ofp_meter_band list of a meter with flags. */
static int bands_decode(uint16_t flags, const uint8_t *p, size_t len, struct tsof_meter_cfg **out)
{
	const uint16_t known = TSOF_OFPMF_KBPS | TSOF_OFPMF_PKTPS | TSOF_OFPMF_BURST | TSOF_OFPMF_STATS;
	uint32_t n = 0;
	int err = 0;

	if ((flags & ~known) || ((flags & TSOF_OFPMF_KBPS) && (flags & TSOF_OFPMF_PKTPS)))
		return METER_ERR(BAD_FLAGS);
	for (size_t at = 0; at < len; n++) {
		size_t blen = len - at >= 16 ? tsof_rd16(p + at + 2) : 0;
		if (blen < 16 || blen % 8 || blen > len - at)
			return METER_ERR(BAD_BAND);
		at += blen;
	}
	if (n > TSOF_METER_MAX_BANDS)
		return METER_ERR(OUT_OF_BANDS);
	struct tsof_meter_cfg *cfg = calloc(1, sizeof *cfg + n * sizeof cfg->b[0]);
	if (!cfg || keep_wire(p, len, &cfg->wire, &cfg->wire_len)) {
		free(cfg);
		return -1;
	}
	cfg->v.free = meter_cfg_free_vnode;
	cfg->flags = flags;
	for (size_t at = 0; at < len && !err; cfg->n_bands++) {
		const uint8_t *b = p + at;
		struct tsof_band *band = &cfg->b[cfg->n_bands];
		band->type = tsof_rd16(b);
		band->rate = tsof_rd32(b + 4);
		band->burst_size = tsof_rd32(b + 8);
		band->prec_level = b[12];
		at += tsof_rd16(b + 2);
		if (band->type != TSOF_OFPMBT_DROP && band->type != TSOF_OFPMBT_DSCP_REMARK)
			err = METER_ERR(BAD_BAND);
		else if (tsof_rd16(b + 2) != 16)
			err = METER_ERR(BAD_BAND);
		else if (!band->rate)
			err = METER_ERR(BAD_RATE);
		else if ((flags & TSOF_OFPMF_BURST) && !band->burst_size)
			err = METER_ERR(BAD_BURST);
	}
	if (err) {
		tsof_meter_cfg_free(cfg);
		return err;
	}
	*out = cfg;
	return 0;
}

int tsof_meter_mod_decode(const uint8_t *msg, size_t len, struct tsof_meter_mod *mm)
{
	if (len < 16 || tsof_rd16(msg + 2) != len)
		return BAD_LEN;
	*mm = (struct tsof_meter_mod){ .command = tsof_rd16(msg + 8), .meter_id = tsof_rd32(msg + 12) };
	switch (mm->command) {
	case TSOF_OFPMC_ADD:
	case TSOF_OFPMC_MODIFY:
		/* The virtual meters (slowpath, controller, all) are not offered. */
		if (!mm->meter_id || mm->meter_id > TSOF_OFPM_MAX)
			return METER_ERR(INVALID_METER);
		/* Whether the meter exists comes first, and that is the tables'. */
		return defer_after_tables(bands_decode(tsof_rd16(msg + 10), msg + 16, len - 16, &mm->cfg), true,
					  &mm->err);
	case TSOF_OFPMC_DELETE:
		return 0;
	default:
		return METER_ERR(BAD_COMMAND);
	}
}
