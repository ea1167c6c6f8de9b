/*
 * fuzz_flow.c: libFuzzer target for tsof_flow_extract(); the input is a frame.
 *
 * Beyond "no crash, no out-of-bounds read" (ASan, UBSan), each input is checked
 * against what every key must satisfy, and a violation aborts so libFuzzer
 * saves the input:
 *   - padding is zero, and a field whose layer was not parsed is zero;
 *   - header offsets are set exactly when their layers are, inside the frame;
 *   - layers are consistent (IPv4 and IPv6 imply IP, L4 implies IP and no
 *     later fragment, ND implies ICMPv6, ...);
 *   - extraction is deterministic and ignores stale contents of the key.
 *
 * scripts/fuzz.sh builds it with clang -fsanitize=fuzzer; linked with
 * replay.c instead (any compiler), it runs the files named on its command line
 * once each: `make -C native test` replays the committed corpus that way.
 */
#include "flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond) do { if (!(cond)) { \
	fprintf(stderr, "fuzz_flow: invariant broken: %s (line %d)\n", #cond, __LINE__); \
	abort(); } } while (0)

static int zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

static int ofs_ok(uint32_t ofs, int has, size_t len, size_t min)
{
	if (!has)
		return ofs == TSOF_OFS_NONE;
	return ofs <= len && len - ofs >= min;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsof_flow_key k, k2;
	struct tsof_flow_ofs o;

	memset(&k2, 0xff, sizeof k2);
	REQUIRE(tsof_flow_extract_ofs(data, size, 3, &k, &o) == 0);
	REQUIRE(tsof_flow_extract(data, size, 3, &k2) == 0);
	REQUIRE(!memcmp(&k, &k2, sizeof k));

	REQUIRE(k.pad0 == 0 && k.pad1 == 0 && zero(k.pad2, sizeof k.pad2));
	REQUIRE(tsof_ntoh32(k.in_port) == 3 && k.in_phy_port == k.in_port);
	REQUIRE(k.metadata == 0 && k.tunnel_id == 0);
	for (int i = 0; i < TSOF_N_FIELDS; i++) {
		const struct tsof_flow_field *f = &tsof_flow_fields[i];
		if (f->layer && !(k.layers & f->layer))
			REQUIRE(zero((const uint8_t *)&k + f->ofs, f->len));
	}

	uint32_t L = k.layers;
	const uint32_t l4 = TSOF_L_TCP | TSOF_L_UDP | TSOF_L_SCTP | TSOF_L_ICMPV4 | TSOF_L_ICMPV6;
	REQUIRE(!(L & ~0xffffu));
	REQUIRE(L == 0 ? size < 14 : (L & TSOF_L_ETH) && size >= 14);
	REQUIRE(!(L & TSOF_L_IP) == !(L & (TSOF_L_IPV4 | TSOF_L_IPV6)));
	REQUIRE(!((L & TSOF_L_IPV4) && (L & TSOF_L_IPV6)));
	REQUIRE(!(L & TSOF_L_FRAG) || (L & TSOF_L_IP));
	REQUIRE(!(L & TSOF_L_LATER_FRAG) || ((L & TSOF_L_FRAG) && !(L & l4)));
	REQUIRE(__builtin_popcount(L & l4) <= 1);
	REQUIRE(!(L & l4) || (L & TSOF_L_IP));
	REQUIRE(!(L & TSOF_L_ICMPV4) || (L & TSOF_L_IPV4));
	REQUIRE(!(L & TSOF_L_ICMPV6) || (L & TSOF_L_IPV6));
	REQUIRE(!(L & TSOF_L_ND) || ((L & TSOF_L_ICMPV6) &&
		(k.icmpv6_type == 135 || k.icmpv6_type == 136) && k.icmpv6_code == 0));
	REQUIRE(__builtin_popcount(L & (TSOF_L_ARP | TSOF_L_IP | TSOF_L_MPLS | TSOF_L_PBB)) <= 1);
	REQUIRE(!(tsof_ntoh16(k.vlan_vid) & ~0x1fffu));
	REQUIRE(!(L & TSOF_L_VLAN) == !(tsof_ntoh16(k.vlan_vid) & TSOF_OFPVID_PRESENT));
	REQUIRE(k.vlan_pcp < 8 && k.mpls_tc < 8 && k.mpls_bos < 2 && k.pbb_uca < 2);
	REQUIRE(k.ip_dscp < 64 && k.ip_ecn < 4);
	REQUIRE(tsof_ntoh32(k.mpls_label) < 1u << 20 && tsof_ntoh32(k.ipv6_flabel) < 1u << 20);
	REQUIRE(tsof_ntoh16(k.ipv6_exthdr) < 1u << 9);
	REQUIRE(!(L & TSOF_L_ND) || k.icmpv6_type == 135 || zero(k.ipv6_nd_sll, 6));
	REQUIRE(!(L & TSOF_L_ND) || k.icmpv6_type == 136 || zero(k.ipv6_nd_tll, 6));

	REQUIRE(ofs_ok(o.vlan, L & TSOF_L_VLAN, size, 6));
	REQUIRE(ofs_ok(o.l2_5, L & (TSOF_L_MPLS | TSOF_L_PBB), size, 4));
	REQUIRE(ofs_ok(o.l3, L & (TSOF_L_ARP | TSOF_L_IPV4 | TSOF_L_IPV6), size, 20));
	REQUIRE(ofs_ok(o.l4, L & l4, size, 8));
	REQUIRE(o.l3 == TSOF_OFS_NONE || o.l3 >= 14);
	REQUIRE(o.l4 == TSOF_OFS_NONE || o.l4 >= o.l3 + 20);
	return 0;
}
