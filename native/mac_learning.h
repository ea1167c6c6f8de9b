/*
 * mac_learning.h: the MAC table behind OFPP_NORMAL, which makes the pipeline
 * an L2 learning switch: (VLAN, MAC) -> the port the address was last seen
 * on, forgotten after an idle time (300 s by default, as in Open vSwitch).
 * The VLAN is the frame's outer VID; untagged and priority-tagged (VID 0)
 * frames share VLAN 0, as 802.1Q classifies them together.
 *
 * Datapath threads learn and look up concurrently, with no lock and no
 * allocation: the table has a fixed size, set when it is made, and is
 * set-associative (a hash of VLAN and MAC picks a set of 4 entries; a new
 * address takes an empty or expired entry of its set, else the oldest). An
 * entry's key word doubles as a sequence lock. A writer claims the entry by
 * swapping its key for a busy mark, writes port and time, and releases the
 * new key; a reader takes the port only if the key is the same before and
 * after reading it. So a reader never pairs an address with a port learned
 * for another. A writer that finds the entry claimed gives up: a racing
 * update may lose a learning step, never corrupt the table. A port read is
 * always one some frame was received on; the caller still checks it against
 * its port table.
 *
 * The control side forgets the addresses learned on a port (removed or
 * down) and sets the idle time, concurrently with the datapath.
 */
#ifndef TSOF_MAC_LEARNING_H
#define TSOF_MAC_LEARNING_H

#include <stdint.h>

#define TSOF_MAC_AGING_DEFAULT 300   /* seconds, as Open vSwitch's mac-aging-time */

struct tsof_mac_table;

/* NULL when out of memory. */
struct tsof_mac_table *tsof_mac_table_new(void);
void tsof_mac_table_free(struct tsof_mac_table *t);
/* Entries idle this long (seconds, at least 1) are gone. */
void tsof_mac_table_set_aging(struct tsof_mac_table *t, unsigned seconds);

/* vlan: the VID (the frame's vlan_vid without OFPVID_PRESENT, 0 when
 * untagged); now: monotonic ns. mac must be unicast. */
void tsof_mac_learn(struct tsof_mac_table *t, const uint8_t mac[6], uint16_t vlan, uint32_t port, uint64_t now);
/* The port mac was learned on in vlan, or 0 (no OpenFlow port) if unknown
 * or expired. */
uint32_t tsof_mac_lookup(const struct tsof_mac_table *t, const uint8_t mac[6], uint16_t vlan, uint64_t now);
/* Control side: forgets every address learned on port. */
void tsof_mac_forget_port(struct tsof_mac_table *t, uint32_t port);

#endif
