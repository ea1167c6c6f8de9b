/*
 * netlink.h: link state of Linux interfaces from rtnetlink.
 *
 * The datapath thread keeps one socket subscribed to RTNLGRP_LINK in its epoll
 * set. Every RTM_NEWLINK / RTM_DELLINK becomes (ifindex, TSOF_LINK_* bits);
 * dp.c compares them with each port's last state and reports changes as port
 * status upcalls. Both run in the network namespace the process was in when
 * the datapath was created, the same one its AF_PACKET ports open in.
 */
#ifndef TSOF_NETLINK_H
#define TSOF_NETLINK_H

#include <stdint.h>

/* A non-blocking NETLINK_ROUTE socket subscribed to link events; -1 and errno on failure. */
int tsof_netlink_open(void);

/*
 * Reads every pending message and calls fn for each link event. When the
 * kernel dropped events because the socket overflowed (ENOBUFS), fn gets
 * ifindex 0: the caller must query its links again.
 */
void tsof_netlink_read(int fd, void (*fn)(void *ctx, int ifindex, uint32_t link), void *ctx);

/* The current TSOF_LINK_* bits of interface ifindex (RTM_GETLINK), TSOF_LINK_GONE if there is none. */
uint32_t tsof_link_query(int ifindex);

#endif
