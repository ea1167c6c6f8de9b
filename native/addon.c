/*
 * addon.c: the N-API binding (plain C, node_api.h; docs/native-ports.md says why).
 *
 * open(callback) starts a datapath and returns a handle (an external); the
 * other functions take that handle first. src/datapath/native.ts is the only
 * caller and gives these functions their types; they check their arguments
 * anyway and throw a TypeError or an Error with a `code` (ENODEV, EEXIST...)
 * rather than crash.
 *
 * Flow, group and meter mods and packet-outs take the whole OpenFlow message
 * as the codec encodes it and return 0 or the OpenFlow error for the
 * controller, (type << 16 | code); the pipeline applies each change
 * atomically for the datapath thread. Statistics come back as multipart reply
 * bodies (entries in wire format, back to back); a packet trace, as the
 * records of trace.h. Flows a control call removed (a delete, expire()) are
 * reported before it returns, once the datapath thread can count no more
 * packets on them (the call waits for that, tsof_pipeline_settle()); the
 * reports wait in the datapath until takeRemoved() hands them over, as one
 * ArrayBuffer of struct tsof_removed_flow records.
 *
 * Upcalls arrive through a threadsafe function: callback(1, arrayBuffer) for a
 * batch of packet-ins (struct tsof_upcall_packets, given to JavaScript without a
 * copy and freed when the ArrayBuffer is collected), callback(2, port, link)
 * for a link state change. The queue between the threads holds UPCALL_QUEUE
 * items, and packet batches of at most TSOF_UPCALL_QUEUED bytes (call_js
 * tells the datapath as it takes each); beyond that the datapath drops and
 * counts. call_js reads the handle, so the handle lives until both the
 * external and the threadsafe function are finalized.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include "dp.h"
#include "group.h"
#include "meter.h"
#include "mod.h"
#include "trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UPCALL_QUEUE 1024
#define FLOW_STATS_FIXED 48     /* ofp_flow_stats before its match */
#define COUNTED_FIXED 40        /* ofp_group_stats and ofp_meter_stats before their counter pairs */
#define DESC_FIXED 8            /* ofp_group_desc and ofp_meter_config before their lists */
#define COUNTER_PAIR 16         /* ofp_bucket_counter, ofp_meter_band_stats */
enum { OFPMP_GROUP = 6, OFPMP_GROUP_DESC = 7, OFPMP_METER = 9, OFPMP_METER_CONFIG = 10 };

struct handle {
	struct tsof_dp *dp;
	napi_threadsafe_function tsfn;
	int refs;       /* the external's and the threadsafe function's (Node's thread only) */
};

static void unref(struct handle *h)
{
	if (--h->refs == 0)
		free(h);
}

/* Evaluates a napi call; on failure throws (unless something is pending) and returns NULL. */
#define CHECK(env, call)                                                          \
	do {                                                                      \
		if ((call) != napi_ok) {                                          \
			bool pending_;                                            \
			napi_is_exception_pending((env), &pending_);              \
			if (!pending_)                                            \
				napi_throw_error((env), NULL, "N-API call failed: " #call); \
			return NULL;                                              \
		}                                                                 \
	} while (0)

static napi_value throw_errno(napi_env env, int e, const char *msg)
{
	char text[320];

	snprintf(text, sizeof(text), "%s: %s", msg, strerror(e));
	napi_throw_error(env, strerrorname_np(e), text);
	return NULL;
}

static bool upcall(void *ctx, void *item)
{
	struct handle *h = ctx;

	return napi_call_threadsafe_function(h->tsfn, item, napi_tsfn_nonblocking) == napi_ok;
}

static void free_item(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)hint;
	free(data);
}

static void call_js(napi_env env, napi_value cb, void *context, void *data)
{
	struct handle *h = context;
	uint32_t *item = data;
	napi_value argv[3], undefined;
	size_t argc;

	if (!env) { /* the function is being torn down */
		free(data);
		return;
	}
	napi_get_undefined(env, &undefined);
	napi_create_uint32(env, item[0], &argv[0]);
	if (item[0] == TSOF_UPCALL_PACKETS) {
		struct tsof_upcall_packets *u = data;

		if (h->dp) /* not closed yet */
			tsof_dp_upcall_taken(h->dp, u);
		if (napi_create_external_arraybuffer(env, u, u->size, free_item, NULL, &argv[1]) != napi_ok) {
			free(data);
			return;
		}
		argc = 2;
	} else {
		struct tsof_upcall_link *l = data;

		napi_create_uint32(env, l->port_no, &argv[1]);
		napi_create_uint32(env, l->link, &argv[2]);
		free(data);
		argc = 3;
	}
	/* An exception thrown by the callback stays pending: Node reports it as uncaught. */
	napi_call_function(env, undefined, cb, argc, argv, NULL);
}

static void close_handle(struct handle *h)
{
	if (!h->dp)
		return;
	tsof_dp_destroy(h->dp); /* joins the thread: no call into tsfn after this */
	h->dp = NULL;
	napi_release_threadsafe_function(h->tsfn, napi_tsfn_release);
}

static void cleanup_hook(void *arg)
{
	close_handle(arg);
}

static void finalize_handle(napi_env env, void *data, void *hint)
{
	struct handle *h = data;

	(void)hint;
	if (h->dp)
		napi_remove_env_cleanup_hook(env, cleanup_hook, h);
	close_handle(h);
	unref(h);
}

static void finalize_tsfn(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)hint;
	unref(data);
}

/* --- argument helpers --- */

static struct handle *get_handle(napi_env env, napi_value v)
{
	void *h = NULL;

	if (napi_get_value_external(env, v, &h) != napi_ok || !h) {
		napi_throw_type_error(env, NULL, "not a datapath handle");
		return NULL;
	}
	if (!((struct handle *)h)->dp) {
		napi_throw_error(env, "ERR_DATAPATH_CLOSED", "the datapath is closed");
		return NULL;
	}
	return h;
}

static bool get_u32(napi_env env, napi_value v, uint32_t *out)
{
	if (napi_get_value_uint32(env, v, out) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected an unsigned 32-bit integer");
		return false;
	}
	return true;
}

static bool get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len)
{
	napi_typedarray_type type;
	bool is;

	if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
	    napi_get_typedarray_info(env, v, &type, len, (void **)data, NULL, NULL) != napi_ok ||
	    type != napi_uint8_array) {
		napi_throw_type_error(env, NULL, "expected a Uint8Array");
		return false;
	}
	return true;
}

/* Reads (handle, port, ...) into h, port and argv[2..]. */
static bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv,
		     struct handle **h, uint32_t *port)
{
	size_t argc = want;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
		napi_throw_type_error(env, NULL, "missing arguments");
		return false;
	}
	*h = get_handle(env, argv[0]);
	return *h && (!port || get_u32(env, argv[1], port));
}

/* Reads (handle, n unsigned 32-bit integers) into h and v[0..n), n < 4. */
static bool get_u32_args(napi_env env, napi_callback_info info, struct handle **h, uint32_t *v, size_t n)
{
	napi_value argv[4];

	if (!get_args(env, info, n + 1, argv, h, NULL))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!get_u32(env, argv[i + 1], &v[i]))
			return false;
	return true;
}

static struct tsof_port *memory_port(napi_env env, struct handle *h, uint32_t port_no)
{
	struct tsof_port *p = tsof_dp_port(h->dp, port_no);

	if (!p || strcmp(p->ops->kind, "memory") != 0) {
		throw_errno(env, p ? EINVAL : ENOENT, "not a memory port");
		return NULL;
	}
	return p;
}

/* A frame from (bytes[, vnetHeader]) arguments: the header is 10 bytes as virtio-net lays it out. */
static struct tsof_frame *get_frame(napi_env env, napi_value *argv, size_t argc, uint32_t port_no)
{
	struct virtio_net_hdr vnet;
	uint8_t *data, *vh;
	size_t len, vlen;
	napi_valuetype t = napi_undefined;
	struct tsof_frame *f;

	if (!get_bytes(env, argv[0], &data, &len))
		return NULL;
	if (len > TSOF_MAX_FRAME) {
		napi_throw_range_error(env, NULL, "frame too long");
		return NULL;
	}
	if (argc > 1)
		napi_typeof(env, argv[1], &t);
	if (t != napi_undefined) {
		if (!get_bytes(env, argv[1], &vh, &vlen))
			return NULL;
		if (vlen != sizeof(vnet)) {
			napi_throw_range_error(env, NULL, "a virtio-net header is 10 bytes");
			return NULL;
		}
		memcpy(&vnet, vh, sizeof(vnet));
	}
	f = tsof_frame_new(port_no, data, (uint32_t)len, t != napi_undefined ? &vnet : NULL);
	if (!f)
		throw_errno(env, ENOMEM, "frame");
	return f;
}

static napi_value make_bool(napi_env env, bool b)
{
	napi_value v;

	CHECK(env, napi_get_boolean(env, b, &v));
	return v;
}

static napi_value undefined_value(napi_env env)
{
	napi_value v;

	CHECK(env, napi_get_undefined(env, &v));
	return v;
}

static napi_value result(napi_env env, int r, const char *what)
{
	return r < 0 ? throw_errno(env, -r, what) : undefined_value(env);
}

static napi_value u64_array(napi_env env, const uint64_t *v, size_t n)
{
	napi_value ab, arr;
	void *data;

	CHECK(env, napi_create_arraybuffer(env, n * sizeof(uint64_t), &data, &ab));
	memcpy(data, v, n * sizeof(uint64_t));
	CHECK(env, napi_create_typedarray(env, napi_biguint64_array, n, ab, 0, &arr));
	return arr;
}

/* --- exported functions --- */

/* open(callback) -> handle */
static napi_value js_open(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value cb, name, ext;
	struct handle *h;
	char err[256];

	CHECK(env, napi_get_cb_info(env, info, &argc, &cb, NULL, NULL));
	h = calloc(1, sizeof(*h));
	if (!h)
		return throw_errno(env, ENOMEM, "datapath");
	CHECK(env, napi_create_string_utf8(env, "tsof-datapath", NAPI_AUTO_LENGTH, &name));
	if (napi_create_threadsafe_function(env, cb, NULL, name, UPCALL_QUEUE, 1, h, finalize_tsfn, h, call_js,
					    &h->tsfn) != napi_ok) {
		free(h);
		napi_throw_type_error(env, NULL, "expected a callback");
		return NULL;
	}
	h->refs = 1;
	h->dp = tsof_dp_create(upcall, h, err, sizeof(err));
	if (!h->dp) {
		int e = errno;

		napi_release_threadsafe_function(h->tsfn, napi_tsfn_abort); /* finalize_tsfn frees h */
		return throw_errno(env, e, err);
	}
	napi_add_env_cleanup_hook(env, cleanup_hook, h);
	h->refs++;
	CHECK(env, napi_create_external(env, h, finalize_handle, NULL, &ext));
	return ext;
}

/* close(handle): stops the thread; later calls throw ERR_DATAPATH_CLOSED. */
static napi_value js_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct handle *h;

	if (!get_args(env, info, 1, argv, &h, NULL))
		return NULL;
	napi_remove_env_cleanup_hook(env, cleanup_hook, h);
	close_handle(h);
	return undefined_value(env);
}

/* addAfPacket(handle, port, ifname) -> ifindex */
static napi_value js_add_afpacket(napi_env env, napi_callback_info info)
{
	napi_value argv[3], v;
	struct handle *h;
	uint32_t port_no;
	char ifname[64], err[256];
	size_t len;
	struct tsof_port *p;
	int r;

	if (!get_args(env, info, 3, argv, &h, &port_no))
		return NULL;
	if (napi_get_value_string_utf8(env, argv[2], ifname, sizeof(ifname), &len) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected an interface name");
		return NULL;
	}
	p = tsof_afpacket_open(ifname, port_no, err, sizeof(err));
	if (!p)
		return throw_errno(env, errno, err);
	r = tsof_dp_add_port(h->dp, p);
	if (r < 0) {
		p->ops->destroy(p);
		return throw_errno(env, -r, "add port");
	}
	CHECK(env, napi_create_int32(env, p->ifindex, &v));
	return v;
}

/* addMemory(handle, port, vnet) */
static napi_value js_add_memory(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct handle *h;
	uint32_t port_no;
	bool vnet;
	struct tsof_port *p;
	int r;

	if (!get_args(env, info, 3, argv, &h, &port_no))
		return NULL;
	if (napi_get_value_bool(env, argv[2], &vnet) != napi_ok) {
		napi_throw_type_error(env, NULL, "expected a boolean");
		return NULL;
	}
	p = tsof_memory_open(port_no, vnet);
	if (!p)
		return throw_errno(env, errno, "memory port");
	r = tsof_dp_add_port(h->dp, p);
	if (r < 0)
		p->ops->destroy(p);
	return result(env, r, "add port");
}

/* removePort(handle, port) */
static napi_value js_remove_port(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct handle *h;
	uint32_t port_no;

	if (!get_args(env, info, 2, argv, &h, &port_no))
		return NULL;
	return result(env, tsof_dp_del_port(h->dp, port_no), "remove port");
}

/* packetOut(handle, port, bytes[, vnet]) -> false when the queue is full */
static napi_value js_packet_out(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	size_t argc = 4;
	struct handle *h;
	uint32_t port_no;
	struct tsof_frame *f;

	if (!get_args(env, info, 3, argv, &h, &port_no))
		return NULL;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (!tsof_dp_port(h->dp, port_no))
		return throw_errno(env, ENOENT, "packet out");
	f = get_frame(env, argv + 2, argc - 2, port_no);
	if (!f)
		return NULL;
	if (tsof_dp_packet_out(h->dp, f, NULL))
		return make_bool(env, true);
	free(f);
	return make_bool(env, false);
}

/* A mod's result: 0 or the OpenFlow error; throws when out of memory. The
 * flows it removed are reported first, for takeRemoved(). */
static napi_value mod_result(napi_env env, struct handle *h, int r)
{
	napi_value v;

	tsof_pipeline_settle(tsof_dp_pipeline(h->dp));
	if (r < 0)
		return throw_errno(env, ENOMEM, "pipeline");
	CHECK(env, napi_create_uint32(env, (uint32_t)r, &v));
	return v;
}

/* (handle, message bytes) */
static bool get_message(napi_env env, napi_callback_info info, struct handle **h, uint8_t **msg, size_t *len)
{
	napi_value argv[2];

	return get_args(env, info, 2, argv, h, NULL) && get_bytes(env, argv[1], msg, len);
}

/* flowMod(handle, OFPT_FLOW_MOD message) -> 0 | error */
static napi_value js_flow_mod(napi_env env, napi_callback_info info)
{
	struct handle *h;
	uint8_t *msg;
	size_t len;
	struct tsof_flow_mod fm;
	int r;

	if (!get_message(env, info, &h, &msg, &len))
		return NULL;
	r = tsof_flow_mod_decode(msg, len, &fm);
	if (r == 0)
		r = tsof_pipeline_flow_mod(tsof_dp_pipeline(h->dp), &fm, tsof_dp_now());
	/* No buffers: the flow is in, the buffered packet unknown (6.4). */
	if (r == 0 && fm.buffer_id != TSOF_OFP_NO_BUFFER)
		r = TSOF_ERR(TSOF_OFPET_BAD_REQUEST, TSOF_OFPBRC_BUFFER_UNKNOWN);
	return mod_result(env, h, r);
}

/* bundleCommit(handle, OFPT_FLOW_MOD messages back to back) -> [0 | error,
 * the index of the message that failed]: a bundle's flow mods, committed
 * atomically (mod.h). */
static napi_value js_bundle_commit(napi_env env, napi_callback_info info)
{
	struct handle *h;
	uint8_t *msgs;
	size_t len, failed = 0;
	napi_value result, pair, index;

	if (!get_message(env, info, &h, &msgs, &len))
		return NULL;
	result = mod_result(env, h, tsof_pipeline_bundle_commit(tsof_dp_pipeline(h->dp), msgs, len, tsof_dp_now(), &failed));
	if (!result)
		return NULL;
	CHECK(env, napi_create_array_with_length(env, 2, &pair));
	CHECK(env, napi_create_uint32(env, (uint32_t)failed, &index));
	CHECK(env, napi_set_element(env, pair, 0, result));
	CHECK(env, napi_set_element(env, pair, 1, index));
	return pair;
}

/* groupMod(handle, OFPT_GROUP_MOD message) -> 0 | error */
static napi_value js_group_mod(napi_env env, napi_callback_info info)
{
	struct handle *h;
	uint8_t *msg;
	size_t len;
	struct tsof_group_mod gm;
	int r;

	if (!get_message(env, info, &h, &msg, &len))
		return NULL;
	r = tsof_group_mod_decode(msg, len, &gm);
	if (r == 0)
		r = tsof_pipeline_group_mod(tsof_dp_pipeline(h->dp), &gm, tsof_dp_now());
	return mod_result(env, h, r);
}

/* meterMod(handle, OFPT_METER_MOD message) -> 0 | error */
static napi_value js_meter_mod(napi_env env, napi_callback_info info)
{
	struct handle *h;
	uint8_t *msg;
	size_t len;
	struct tsof_meter_mod mm;
	int r;

	if (!get_message(env, info, &h, &msg, &len))
		return NULL;
	r = tsof_meter_mod_decode(msg, len, &mm);
	if (r == 0)
		r = tsof_pipeline_meter_mod(tsof_dp_pipeline(h->dp), &mm, tsof_dp_now());
	return mod_result(env, h, r);
}

/*
 * executePacketOut(handle, OFPT_PACKET_OUT message) -> 0 | error: its actions
 * run on the datapath thread. Throws EAGAIN when the queue is full.
 */
static napi_value js_execute_packet_out(napi_env env, napi_callback_info info)
{
	struct handle *h;
	uint8_t *msg;
	size_t len;
	struct tsof_packet_out po;
	struct tsof_actions *acts;
	struct tsof_frame *f;
	int r;

	if (!get_message(env, info, &h, &msg, &len))
		return NULL;
	r = tsof_packet_out_decode(msg, len, &po);
	if (r == 0)
		r = tsof_pipeline_parse_actions(tsof_dp_pipeline(h->dp), po.actions, po.actions_len, &acts);
	if (r != 0)
		return mod_result(env, h, r);
	f = tsof_frame_new(po.in_port, po.data, (uint32_t)po.data_len, NULL);
	if (!f) {
		tsof_actions_free(acts);
		return mod_result(env, h, -1);
	}
	if (!tsof_dp_packet_out(h->dp, f, acts)) {
		tsof_actions_free(acts);
		free(f);
		return throw_errno(env, EAGAIN, "packet out");
	}
	return mod_result(env, h, 0);
}

static void wr16(uint8_t *p, uint64_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint64_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v);
}

static void wr64(uint8_t *p, uint64_t v)
{
	wr32(p, v >> 32);
	wr32(p + 4, v);
}

static void wr_duration(uint8_t *p, uint64_t ns)
{
	wr32(p, ns / 1000000000u);
	wr32(p + 4, ns % 1000000000u);
}

/* A multipart reply body being built: entries back to back. */
struct body {
	uint8_t *p;
	size_t len, cap;
	int err; /* 0, -ENOMEM, or -EOVERFLOW: an entry longer than its 16-bit length */
};

/* A zeroed entry of n bytes at the end of b; NULL once something failed. */
static uint8_t *body_entry(struct body *b, size_t n)
{
	uint8_t *e;

	if (b->err)
		return NULL;
	if (n > 0xffff) {
		b->err = -EOVERFLOW;
		return NULL;
	}
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2;
		uint8_t *p = realloc(b->p, cap);

		if (!p) {
			b->err = -ENOMEM;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	e = b->p + b->len;
	memset(e, 0, n);
	b->len += n;
	return e;
}

/* The body as a Uint8Array (a copy); frees it. Throws if building it failed. */
static napi_value body_value(napi_env env, struct body *b, const char *what)
{
	napi_value ab, arr;
	void *data;
	napi_status s;

	if (b->err) {
		free(b->p);
		return throw_errno(env, -b->err, what);
	}
	s = napi_create_arraybuffer(env, b->len, &data, &ab);
	if (s == napi_ok && b->len)
		memcpy(data, b->p, b->len);
	free(b->p);
	CHECK(env, s);
	CHECK(env, napi_create_typedarray(env, napi_uint8_array, b->len, ab, 0, &arr));
	return arr;
}

static void add_flow_stats(void *arg, const struct tsof_flow_stats *fs)
{
	size_t match_len = (fs->match_len + 7) & ~(size_t)7;
	uint8_t *e = body_entry(arg, FLOW_STATS_FIXED + match_len + fs->insts_len);

	if (!e)
		return;
	wr16(e, FLOW_STATS_FIXED + match_len + fs->insts_len);
	e[2] = fs->table_id;
	wr_duration(e + 4, fs->duration_ns);
	wr16(e + 12, fs->priority);
	wr16(e + 14, fs->idle_timeout);
	wr16(e + 16, fs->hard_timeout);
	wr16(e + 18, fs->flags);
	wr64(e + 24, fs->cookie);
	wr64(e + 32, fs->packets);
	wr64(e + 40, fs->bytes);
	memcpy(e + FLOW_STATS_FIXED, fs->match, fs->match_len);
	memcpy(e + FLOW_STATS_FIXED + match_len, fs->insts, fs->insts_len);
}

/*
 * ofp_group_stats and ofp_meter_stats share their layout from offset 16: packet
 * and byte counts, duration, then a counter pair per bucket or band. The
 * entry's 16-bit length is at len_at; the caller writes the rest.
 */
static uint8_t *add_counted(void *arg, size_t len_at, uint64_t packets, uint64_t bytes, uint64_t duration_ns,
			    const uint64_t *each_packets, const uint64_t *each_bytes, uint32_t n)
{
	size_t len = COUNTED_FIXED + (size_t)n * COUNTER_PAIR;
	uint8_t *e = body_entry(arg, len);

	if (!e)
		return NULL;
	wr16(e + len_at, len);
	wr64(e + 16, packets);
	wr64(e + 24, bytes);
	wr_duration(e + 32, duration_ns);
	for (uint32_t i = 0; i < n; i++) {
		wr64(e + COUNTED_FIXED + i * COUNTER_PAIR, each_packets[i]);
		wr64(e + COUNTED_FIXED + i * COUNTER_PAIR + 8, each_bytes[i]);
	}
	return e;
}

/* ofp_group_desc and ofp_meter_config: length, two bytes the caller writes, the id, the list as added. */
static uint8_t *add_desc(void *arg, uint32_t id, const uint8_t *list, size_t len)
{
	uint8_t *e = body_entry(arg, DESC_FIXED + len);

	if (!e)
		return NULL;
	wr16(e, DESC_FIXED + len);
	wr32(e + 4, id);
	memcpy(e + DESC_FIXED, list, len);
	return e;
}

static void add_group_stats(void *arg, const struct tsof_group_stats *gs)
{
	uint8_t *e = add_counted(arg, 0, gs->packets, gs->bytes, gs->duration_ns, gs->bucket_packets,
				 gs->bucket_bytes, gs->n_buckets);

	if (!e)
		return;
	wr32(e + 4, gs->group_id);
	wr32(e + 8, gs->ref_count);
}

static void add_group_desc(void *arg, const struct tsof_group_stats *gs)
{
	uint8_t *e = add_desc(arg, gs->group_id, gs->buckets, gs->buckets_len);

	if (e)
		e[2] = gs->type;
}

static void add_meter_stats(void *arg, const struct tsof_meter_stats_reply *ms)
{
	uint8_t *e = add_counted(arg, 4, ms->packets, ms->bytes, ms->duration_ns, ms->band_packets,
				 ms->band_bytes, ms->n_bands);

	if (!e)
		return;
	wr32(e, ms->meter_id);
	wr32(e + 12, ms->flow_count);
}

static void add_meter_config(void *arg, const struct tsof_meter_stats_reply *ms)
{
	uint8_t *e = add_desc(arg, ms->meter_id, ms->bands, ms->bands_len);

	if (e)
		wr16(e + 2, ms->flags);
}

/*
 * flowStats(handle, OFPT_MULTIPART_REQUEST message with OFPMP_FLOW) ->
 * Uint8Array of ofp_flow_stats entries (the reply's body, for the caller to
 * split into replies), or the error number.
 */
static napi_value js_flow_stats(napi_env env, napi_callback_info info)
{
	struct handle *h;
	uint8_t *msg;
	size_t len;
	struct body b = { 0 };
	struct tsof_flow_filter f;
	int r;

	if (!get_message(env, info, &h, &msg, &len))
		return NULL;
	r = tsof_flow_stats_request_decode(msg, len, &f);
	if (r == 0)
		r = tsof_pipeline_flow_stats(tsof_dp_pipeline(h->dp), &f, tsof_dp_now(), add_flow_stats, &b);
	if (r != 0) {
		free(b.p);
		return mod_result(env, h, r);
	}
	return body_value(env, &b, "flow stats");
}

/*
 * statsBody(handle, OFPMP_GROUP | OFPMP_GROUP_DESC | OFPMP_METER |
 * OFPMP_METER_CONFIG, id) -> Uint8Array: the entries for group or meter id
 * (OFPG_ALL, OFPM_ALL: every one; none for an unknown id), a reply's body.
 */
static napi_value js_stats_body(napi_env env, napi_callback_info info)
{
	struct handle *h;
	uint32_t a[2]; /* kind, id */
	struct body b = { 0 };
	struct tsof_pipeline *pl;
	uint32_t id;
	uint64_t now = tsof_dp_now();

	if (!get_u32_args(env, info, &h, a, 2))
		return NULL;
	pl = tsof_dp_pipeline(h->dp);
	id = a[1];
	switch (a[0]) {
	case OFPMP_GROUP:
		tsof_pipeline_group_stats(pl, id, now, add_group_stats, &b);
		break;
	case OFPMP_GROUP_DESC:
		tsof_pipeline_group_stats(pl, id, now, add_group_desc, &b);
		break;
	case OFPMP_METER:
		tsof_pipeline_meter_stats(pl, id, now, add_meter_stats, &b);
		break;
	case OFPMP_METER_CONFIG:
		tsof_pipeline_meter_stats(pl, id, now, add_meter_config, &b);
		break;
	default:
		napi_throw_range_error(env, NULL, "not a group or meter multipart type");
		return NULL;
	}
	return body_value(env, &b, "group or meter stats");
}

/* expire(handle) -> number of flows removed by their idle or hard timeout. */
static napi_value js_expire(napi_env env, napi_callback_info info)
{
	napi_value argv[1], v;
	struct handle *h;
	unsigned n;

	if (!get_args(env, info, 1, argv, &h, NULL))
		return NULL;
	n = tsof_pipeline_expire(tsof_dp_pipeline(h->dp), tsof_dp_now());
	tsof_pipeline_settle(tsof_dp_pipeline(h->dp));
	CHECK(env, napi_create_uint32(env, n, &v));
	return v;
}

/* takeRemoved(handle) -> ArrayBuffer of struct tsof_removed_flow records, or undefined */
static napi_value js_take_removed(napi_env env, napi_callback_info info)
{
	napi_value argv[1], ab;
	struct handle *h;
	size_t len;
	void *recs;

	if (!get_args(env, info, 1, argv, &h, NULL))
		return NULL;
	recs = tsof_dp_take_removed(h->dp, &len);
	if (!recs)
		return undefined_value(env);
	if (napi_create_external_arraybuffer(env, recs, len, free_item, NULL, &ab) != napi_ok) {
		free(recs);
		return throw_errno(env, ENOMEM, "flow removed");
	}
	return ab;
}

/* portConfig(handle, port, OFPPC_* config) */
static napi_value js_port_config(napi_env env, napi_callback_info info)
{
	struct handle *h;
	uint32_t a[2]; /* port, config */

	if (!get_u32_args(env, info, &h, a, 2))
		return NULL;
	return result(env, tsof_dp_port_config(h->dp, a[0], a[1]), "port config");
}

/* setConfig(handle, flags, missSendLen): OFPT_SET_CONFIG */
static napi_value js_set_config(napi_env env, napi_callback_info info)
{
	struct handle *h;
	uint32_t a[2]; /* flags, miss_send_len */

	if (!get_u32_args(env, info, &h, a, 2))
		return NULL;
	if (a[0] > 0xffff || a[1] > 0xffff) {
		napi_throw_range_error(env, NULL, "flags and miss_send_len are 16-bit");
		return NULL;
	}
	tsof_pipeline_set_config(tsof_dp_pipeline(h->dp), (uint16_t)a[0], (uint16_t)a[1]);
	return undefined_value(env);
}

/* setMacAging(handle, seconds): how long NORMAL remembers an address */
static napi_value js_set_mac_aging(napi_env env, napi_callback_info info)
{
	struct handle *h;
	uint32_t seconds;

	if (!get_u32_args(env, info, &h, &seconds, 1))
		return NULL;
	tsof_pipeline_set_mac_aging(tsof_dp_pipeline(h->dp), seconds);
	return undefined_value(env);
}

/* sync(handle): returns once the packet-outs queued before have run. */
static napi_value js_sync(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct handle *h;

	if (!get_args(env, info, 1, argv, &h, NULL))
		return NULL;
	tsof_dp_sync(h->dp);
	return undefined_value(env);
}

/* setNice(handle, nice): the datapath thread's nice value; throws the errno. */
static napi_value js_set_nice(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct handle *h;
	int32_t nice;
	int r;

	if (!get_args(env, info, 2, argv, &h, NULL))
		return NULL;
	CHECK(env, napi_get_value_int32(env, argv[1], &nice));
	r = tsof_dp_set_nice(h->dp, nice);
	if (r < 0)
		return throw_errno(env, -r, "setpriority of the datapath thread");
	return undefined_value(env);
}

/* tableStats(handle, tableId) -> BigUint64Array [active flows, lookups, matched] */
static napi_value js_table_stats(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct handle *h;
	uint32_t table_id;
	struct tsof_table_stats ts;

	if (!get_args(env, info, 2, argv, &h, &table_id))
		return NULL;
	if (table_id >= TSOF_N_TABLES) {
		napi_throw_range_error(env, NULL, "table id out of range");
		return NULL;
	}
	tsof_pipeline_table_stats(tsof_dp_pipeline(h->dp), (uint8_t)table_id, &ts);
	{
		uint64_t v[] = { ts.active, ts.lookups, ts.matched };
		return u64_array(env, v, sizeof(v) / sizeof(v[0]));
	}
}

/*
 * trace(handle, inPort, bytes) -> ArrayBuffer of struct tsof_trace_event
 * records: the frame's walk through the pipeline as it is now, with no side
 * effect (pipeline.h).
 */
static napi_value js_trace(napi_env env, napi_callback_info info)
{
	napi_value argv[3], ab;
	struct handle *h;
	uint32_t port_no;
	uint8_t *data;
	size_t len;
	struct tsof_trace tr = { 0 };

	if (!get_args(env, info, 3, argv, &h, &port_no) || !get_bytes(env, argv[2], &data, &len))
		return NULL;
	if (len > TSOF_MAX_FRAME) {
		napi_throw_range_error(env, NULL, "frame too long");
		return NULL;
	}
	if (tsof_pipeline_trace(tsof_dp_pipeline(h->dp), data, (uint32_t)len, port_no, tsof_dp_now(), &tr) != 0) {
		free(tr.buf);
		return throw_errno(env, ENOMEM, "trace");
	}
	if (napi_create_external_arraybuffer(env, tr.buf, tr.len, free_item, NULL, &ab) != napi_ok) {
		free(tr.buf);
		return throw_errno(env, ENOMEM, "trace");
	}
	return ab;
}

/* inject(handle, port, bytes[, vnet]) -> false when the port's input ring is full */
static napi_value js_inject(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	size_t argc = 4;
	struct handle *h;
	uint32_t port_no;
	struct tsof_port *p;
	struct tsof_frame *f;

	if (!get_args(env, info, 3, argv, &h, &port_no) || !(p = memory_port(env, h, port_no)))
		return NULL;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	f = get_frame(env, argv + 2, argc - 2, port_no);
	if (!f)
		return NULL;
	if (tsof_memory_inject(p, f))
		return make_bool(env, true);
	free(f);
	return make_bool(env, false);
}

/* take(handle, port) -> Uint8Array[]: what left the memory port, each prefixed by its
 * 10-byte virtio-net header if the port was opened with vnet */
static napi_value js_take(napi_env env, napi_callback_info info)
{
	napi_value argv[2], list, ab, arr;
	struct handle *h;
	uint32_t port_no, i = 0;
	struct tsof_port *p;
	struct tsof_frame *f;

	if (!get_args(env, info, 2, argv, &h, &port_no) || !(p = memory_port(env, h, port_no)))
		return NULL;
	CHECK(env, napi_create_array(env, &list));
	while ((f = tsof_memory_take(p))) {
		size_t vlen = p->vnet ? sizeof(f->vnet) : 0;
		void *data;
		napi_status s = napi_create_arraybuffer(env, vlen + f->len, &data, &ab);

		if (s == napi_ok) {
			memcpy(data, &f->vnet, vlen);
			memcpy((uint8_t *)data + vlen, f->data, f->len);
			s = napi_create_typedarray(env, napi_uint8_array, vlen + f->len, ab, 0, &arr);
		}
		if (s == napi_ok)
			s = napi_set_element(env, list, i++, arr);
		free(f);
		CHECK(env, s);
	}
	return list;
}

/* portStats(handle, port) -> BigUint64Array [rx packets, bytes, dropped, errors, tx ..., link] */
static napi_value js_port_stats(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct handle *h;
	uint32_t port_no;
	struct tsof_port *p;

	if (!get_args(env, info, 2, argv, &h, &port_no))
		return NULL;
	p = tsof_dp_port(h->dp, port_no);
	if (!p)
		return throw_errno(env, ENOENT, "port stats");
	tsof_dp_poll_stats(h->dp);
	{
		const struct tsof_port_stats *s = &p->stats;
		uint64_t v[] = {
			TSOF_STAT_GET(s->rx_packets), TSOF_STAT_GET(s->rx_bytes),
			TSOF_STAT_GET(s->rx_dropped), TSOF_STAT_GET(s->rx_errors),
			TSOF_STAT_GET(s->tx_packets), TSOF_STAT_GET(s->tx_bytes),
			TSOF_STAT_GET(s->tx_dropped), TSOF_STAT_GET(s->tx_errors),
			atomic_load(&p->link),
		};
		return u64_array(env, v, sizeof(v) / sizeof(v[0]));
	}
}

/* stats(handle) -> BigUint64Array [upcall packets, batches, dropped, no port, offload errors,
 * removed lost, then struct tsof_pl_thread_stats in order] */
static napi_value js_stats(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct handle *h;
	const struct tsof_dp_stats *s;
	struct tsof_pl_thread_stats p;

	if (!get_args(env, info, 1, argv, &h, NULL))
		return NULL;
	s = tsof_dp_stats(h->dp);
	tsof_dp_pipeline_stats(h->dp, &p);
	{
		uint64_t v[] = {
			TSOF_STAT_GET(s->upcall_packets), TSOF_STAT_GET(s->upcall_batches),
			TSOF_STAT_GET(s->upcall_dropped), TSOF_STAT_GET(s->no_port),
			TSOF_STAT_GET(s->offload_errors), TSOF_STAT_GET(s->removed_lost),
			p.packets, p.emc_hits, p.cls_lookups, p.table_misses, p.invalid_ttl, p.meter_drops,
			p.dropped, p.outputs, p.packet_ins,
		};
		return u64_array(env, v, sizeof(v) / sizeof(v[0]));
	}
}

static napi_value init(napi_env env, napi_value exports)
{
	static const struct {
		const char *name;
		napi_callback fn;
	} fns[] = {
		{ "open", js_open },
		{ "close", js_close },
		{ "addAfPacket", js_add_afpacket },
		{ "addMemory", js_add_memory },
		{ "removePort", js_remove_port },
		{ "packetOut", js_packet_out },
		{ "flowMod", js_flow_mod },
		{ "bundleCommit", js_bundle_commit },
		{ "groupMod", js_group_mod },
		{ "meterMod", js_meter_mod },
		{ "executePacketOut", js_execute_packet_out },
		{ "sync", js_sync },
		{ "setNice", js_set_nice },
		{ "flowStats", js_flow_stats },
		{ "tableStats", js_table_stats },
		{ "statsBody", js_stats_body },
		{ "expire", js_expire },
		{ "takeRemoved", js_take_removed },
		{ "portConfig", js_port_config },
		{ "setConfig", js_set_config },
		{ "setMacAging", js_set_mac_aging },
		{ "trace", js_trace },
		{ "inject", js_inject },
		{ "take", js_take },
		{ "portStats", js_port_stats },
		{ "stats", js_stats },
	};

	/* What the pipeline can hold, for what the switch advertises (features, table and meter features). */
	static const struct {
		const char *name;
		uint32_t value;
	} limits[] = {
		{ "tables", TSOF_N_TABLES },
		{ "flowsPerTable", TSOF_DEFAULT_MAX_FLOWS },
		{ "meterBands", TSOF_METER_MAX_BANDS },
		{ "groupDepth", TSOF_GROUP_MAX_DEPTH },
		{ "ports", TSOF_MAX_PORTS },
	};
	napi_value obj;

	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		napi_value f;

		CHECK(env, napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f));
		CHECK(env, napi_set_named_property(env, exports, fns[i].name, f));
	}
	CHECK(env, napi_create_object(env, &obj));
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		napi_value v;

		CHECK(env, napi_create_uint32(env, limits[i].value, &v));
		CHECK(env, napi_set_named_property(env, obj, limits[i].name, v));
	}
	CHECK(env, napi_set_named_property(env, exports, "limits", obj));
	return exports;
}

/* The macro defines exported functions that node_api.h does not declare. */
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
