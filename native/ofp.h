/*
 * ofp.h: the OpenFlow 1.3 wire numbers the pipeline needs (OpenFlow 1.3.5,
 * appendix A): reserved ports, groups, meters and tables, action, instruction,
 * group, meter-band and flow-mod codes, and the error types and codes.
 *
 * The names are the spec's, with a TSOF_ prefix so that they cannot clash with
 * another openflow.h. Errors travel as one int, TSOF_ERR(type, code), which is
 * 0 for success: the JavaScript side puts type and code into the OFPT_ERROR it
 * sends (src/openflow/codec/errors.ts has the same numbers).
 */
#ifndef TSOF_OFP_H
#define TSOF_OFP_H

#include <stdint.h>

/* Ports (A.2.1) */
#define TSOF_OFPP_MAX        0xffffff00u
#define TSOF_OFPP_IN_PORT    0xfffffff8u
#define TSOF_OFPP_TABLE      0xfffffff9u
#define TSOF_OFPP_NORMAL     0xfffffffau
#define TSOF_OFPP_FLOOD      0xfffffffbu
#define TSOF_OFPP_ALL        0xfffffffcu
#define TSOF_OFPP_CONTROLLER 0xfffffffdu
#define TSOF_OFPP_LOCAL      0xfffffffeu
#define TSOF_OFPP_ANY        0xffffffffu

#define TSOF_OFPPC_PORT_DOWN    (1u << 0)
#define TSOF_OFPPC_NO_RECV      (1u << 2)
#define TSOF_OFPPC_NO_FWD       (1u << 5)
#define TSOF_OFPPC_NO_PACKET_IN (1u << 6)

#define TSOF_OFPPS_LINK_DOWN (1u << 0)
#define TSOF_OFPPS_BLOCKED   (1u << 1)
#define TSOF_OFPPS_LIVE      (1u << 2)

#define TSOF_OFPG_MAX 0xffffff00u
#define TSOF_OFPG_ALL 0xfffffffcu
#define TSOF_OFPG_ANY 0xffffffffu

#define TSOF_OFPM_MAX        0xffff0000u
#define TSOF_OFPM_SLOWPATH   0xfffffffdu
#define TSOF_OFPM_CONTROLLER 0xfffffffeu
#define TSOF_OFPM_ALL        0xffffffffu

#define TSOF_OFPTT_MAX 0xfe
#define TSOF_OFPTT_ALL 0xff

#define TSOF_OFPCML_MAX       0xffe5
#define TSOF_OFPCML_NO_BUFFER 0xffff
#define TSOF_OFP_NO_BUFFER    0xffffffffu

/* Switch configuration flags (A.3.2) */
#define TSOF_OFPC_FRAG_NORMAL 0
#define TSOF_OFPC_FRAG_DROP   1
#define TSOF_OFPC_FRAG_REASM  2
#define TSOF_OFPC_FRAG_MASK   3

/* Actions (A.2.5) */
enum {
	TSOF_OFPAT_OUTPUT = 0,
	TSOF_OFPAT_COPY_TTL_OUT = 11,
	TSOF_OFPAT_COPY_TTL_IN = 12,
	TSOF_OFPAT_SET_MPLS_TTL = 15,
	TSOF_OFPAT_DEC_MPLS_TTL = 16,
	TSOF_OFPAT_PUSH_VLAN = 17,
	TSOF_OFPAT_POP_VLAN = 18,
	TSOF_OFPAT_PUSH_MPLS = 19,
	TSOF_OFPAT_POP_MPLS = 20,
	TSOF_OFPAT_SET_QUEUE = 21,
	TSOF_OFPAT_GROUP = 22,
	TSOF_OFPAT_SET_NW_TTL = 23,
	TSOF_OFPAT_DEC_NW_TTL = 24,
	TSOF_OFPAT_SET_FIELD = 25,
	TSOF_OFPAT_PUSH_PBB = 26,
	TSOF_OFPAT_POP_PBB = 27,
	TSOF_OFPAT_EXPERIMENTER = 0xffff,
};

/* Instructions (A.2.4) */
enum {
	TSOF_OFPIT_GOTO_TABLE = 1,
	TSOF_OFPIT_WRITE_METADATA = 2,
	TSOF_OFPIT_WRITE_ACTIONS = 3,
	TSOF_OFPIT_APPLY_ACTIONS = 4,
	TSOF_OFPIT_CLEAR_ACTIONS = 5,
	TSOF_OFPIT_METER = 6,
	TSOF_OFPIT_EXPERIMENTER = 0xffff,
};

/* Flow-mod (A.3.4.1) */
enum { TSOF_OFPFC_ADD, TSOF_OFPFC_MODIFY, TSOF_OFPFC_MODIFY_STRICT, TSOF_OFPFC_DELETE, TSOF_OFPFC_DELETE_STRICT };
#define TSOF_OFPFF_SEND_FLOW_REM (1u << 0)
#define TSOF_OFPFF_CHECK_OVERLAP (1u << 1)
#define TSOF_OFPFF_RESET_COUNTS  (1u << 2)
#define TSOF_OFPFF_NO_PKT_COUNTS (1u << 3)
#define TSOF_OFPFF_NO_BYT_COUNTS (1u << 4)

/* Flow-removed reasons (A.4.2) */
enum { TSOF_OFPRR_IDLE_TIMEOUT, TSOF_OFPRR_HARD_TIMEOUT, TSOF_OFPRR_DELETE, TSOF_OFPRR_GROUP_DELETE };

/* Packet-in reasons (A.4.1) */
enum { TSOF_OFPR_NO_MATCH, TSOF_OFPR_ACTION, TSOF_OFPR_INVALID_TTL };

/* Groups (A.3.4.2) */
enum { TSOF_OFPGC_ADD, TSOF_OFPGC_MODIFY, TSOF_OFPGC_DELETE };
enum { TSOF_OFPGT_ALL, TSOF_OFPGT_SELECT, TSOF_OFPGT_INDIRECT, TSOF_OFPGT_FF };

/* Meters (A.3.4.4) */
enum { TSOF_OFPMC_ADD, TSOF_OFPMC_MODIFY, TSOF_OFPMC_DELETE };
#define TSOF_OFPMF_KBPS  (1u << 0)
#define TSOF_OFPMF_PKTPS (1u << 1)
#define TSOF_OFPMF_BURST (1u << 2)
#define TSOF_OFPMF_STATS (1u << 3)
enum { TSOF_OFPMBT_DROP = 1, TSOF_OFPMBT_DSCP_REMARK = 2, TSOF_OFPMBT_EXPERIMENTER = 0xffff };

/* Errors (A.4.4): TSOF_ERR(type, code), 0 is success. */
#define TSOF_ERR(type, code) ((int)((unsigned)(type) << 16 | (unsigned)(code)))
#define TSOF_ERR_TYPE(e) ((unsigned)(e) >> 16)
#define TSOF_ERR_CODE(e) ((unsigned)(e) & 0xffff)

enum {
	TSOF_OFPET_BAD_REQUEST = 1,
	TSOF_OFPET_BAD_ACTION = 2,
	TSOF_OFPET_BAD_INSTRUCTION = 3,
	TSOF_OFPET_BAD_MATCH = 4,
	TSOF_OFPET_FLOW_MOD_FAILED = 5,
	TSOF_OFPET_GROUP_MOD_FAILED = 6,
	TSOF_OFPET_METER_MOD_FAILED = 12,
};

enum {  /* OFPBRC_ */
	TSOF_OFPBRC_BAD_LEN = 6,
	TSOF_OFPBRC_BUFFER_UNKNOWN = 8,
	TSOF_OFPBRC_BAD_TABLE_ID = 9,
	TSOF_OFPBRC_BAD_PORT = 11,
};

enum {  /* OFPBAC_ */
	TSOF_OFPBAC_BAD_TYPE, TSOF_OFPBAC_BAD_LEN, TSOF_OFPBAC_BAD_EXPERIMENTER, TSOF_OFPBAC_BAD_EXP_TYPE,
	TSOF_OFPBAC_BAD_OUT_PORT, TSOF_OFPBAC_BAD_ARGUMENT, TSOF_OFPBAC_EPERM, TSOF_OFPBAC_TOO_MANY,
	TSOF_OFPBAC_BAD_QUEUE, TSOF_OFPBAC_BAD_OUT_GROUP, TSOF_OFPBAC_MATCH_INCONSISTENT,
	TSOF_OFPBAC_UNSUPPORTED_ORDER, TSOF_OFPBAC_BAD_TAG, TSOF_OFPBAC_BAD_SET_TYPE,
	TSOF_OFPBAC_BAD_SET_LEN, TSOF_OFPBAC_BAD_SET_ARGUMENT,
};

enum {  /* OFPBIC_ */
	TSOF_OFPBIC_UNKNOWN_INST, TSOF_OFPBIC_UNSUP_INST, TSOF_OFPBIC_BAD_TABLE_ID,
	TSOF_OFPBIC_UNSUP_METADATA, TSOF_OFPBIC_UNSUP_METADATA_MASK, TSOF_OFPBIC_BAD_EXPERIMENTER,
	TSOF_OFPBIC_BAD_EXP_TYPE, TSOF_OFPBIC_BAD_LEN, TSOF_OFPBIC_EPERM,
};

enum {  /* OFPBMC_ */
	TSOF_OFPBMC_BAD_TYPE, TSOF_OFPBMC_BAD_LEN, TSOF_OFPBMC_BAD_TAG, TSOF_OFPBMC_BAD_DL_ADDR_MASK,
	TSOF_OFPBMC_BAD_NW_ADDR_MASK, TSOF_OFPBMC_BAD_WILDCARDS, TSOF_OFPBMC_BAD_FIELD,
	TSOF_OFPBMC_BAD_VALUE, TSOF_OFPBMC_BAD_MASK, TSOF_OFPBMC_BAD_PREREQ, TSOF_OFPBMC_DUP_FIELD,
	TSOF_OFPBMC_EPERM,
};

enum {  /* OFPFMFC_ */
	TSOF_OFPFMFC_UNKNOWN, TSOF_OFPFMFC_TABLE_FULL, TSOF_OFPFMFC_BAD_TABLE_ID, TSOF_OFPFMFC_OVERLAP,
	TSOF_OFPFMFC_EPERM, TSOF_OFPFMFC_BAD_TIMEOUT, TSOF_OFPFMFC_BAD_COMMAND, TSOF_OFPFMFC_BAD_FLAGS,
};

enum {  /* OFPGMFC_ */
	TSOF_OFPGMFC_GROUP_EXISTS, TSOF_OFPGMFC_INVALID_GROUP, TSOF_OFPGMFC_WEIGHT_UNSUPPORTED,
	TSOF_OFPGMFC_OUT_OF_GROUPS, TSOF_OFPGMFC_OUT_OF_BUCKETS, TSOF_OFPGMFC_CHAINING_UNSUPPORTED,
	TSOF_OFPGMFC_WATCH_UNSUPPORTED, TSOF_OFPGMFC_LOOP, TSOF_OFPGMFC_UNKNOWN_GROUP,
	TSOF_OFPGMFC_CHAINED_GROUP, TSOF_OFPGMFC_BAD_TYPE, TSOF_OFPGMFC_BAD_COMMAND,
	TSOF_OFPGMFC_BAD_BUCKET, TSOF_OFPGMFC_BAD_WATCH, TSOF_OFPGMFC_EPERM,
};

enum {  /* OFPMMFC_ */
	TSOF_OFPMMFC_UNKNOWN, TSOF_OFPMMFC_METER_EXISTS, TSOF_OFPMMFC_INVALID_METER,
	TSOF_OFPMMFC_UNKNOWN_METER, TSOF_OFPMMFC_BAD_COMMAND, TSOF_OFPMMFC_BAD_FLAGS,
	TSOF_OFPMMFC_BAD_RATE, TSOF_OFPMMFC_BAD_BURST, TSOF_OFPMMFC_BAD_BAND,
	TSOF_OFPMMFC_BAD_BAND_VALUE, TSOF_OFPMMFC_OUT_OF_METERS, TSOF_OFPMMFC_OUT_OF_BANDS,
};

/* Big-endian reads and writes of wire bytes at any alignment. */
static inline uint16_t tsof_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t tsof_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t tsof_rd64(const uint8_t *p)
{
	return (uint64_t)tsof_rd32(p) << 32 | tsof_rd32(p + 4);
}

static inline void tsof_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void tsof_wr32(uint8_t *p, uint32_t v)
{
	tsof_wr16(p, (uint16_t)(v >> 16));
	tsof_wr16(p + 2, (uint16_t)v);
}

#endif
