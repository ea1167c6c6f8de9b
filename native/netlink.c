/*
 * netlink.c: link state from rtnetlink (RTM_NEWLINK / RTM_DELLINK).
 *
 * Administrative state is IFF_UP, link state is IFF_LOWER_UP (carrier), both
 * from ifinfomsg.ifi_flags: the 32-bit flags only netlink reports
 * (SIOCGIFFLAGS truncates them to 16 bits and loses IFF_LOWER_UP).
 */
#define _GNU_SOURCE
#include "netlink.h"
#include "port.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint32_t link_bits(const struct nlmsghdr *nh)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);

	if (nh->nlmsg_type == RTM_DELLINK)
		return TSOF_LINK_GONE;
	return (ifi->ifi_flags & IFF_UP ? TSOF_LINK_ADMIN_UP : 0) |
	       (ifi->ifi_flags & IFF_LOWER_UP ? TSOF_LINK_CARRIER : 0);
}

static bool is_link_msg(const struct nlmsghdr *nh)
{
	return (nh->nlmsg_type == RTM_NEWLINK || nh->nlmsg_type == RTM_DELLINK) &&
	       nh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg));
}

int tsof_netlink_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

void tsof_netlink_read(int fd, void (*fn)(void *ctx, int ifindex, uint32_t link), void *ctx)
{
	/* Link messages carry many attributes (stats, VF info): 32 KiB holds a burst. */
	static _Thread_local uint8_t buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno == ENOBUFS)
				fn(ctx, 0, 0);
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			return; /* EAGAIN: drained */
		}
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			if (is_link_msg(nh))
				fn(ctx, ((struct ifinfomsg *)NLMSG_DATA(nh))->ifi_index, link_bits(nh));
		}
	}
}

uint32_t tsof_link_query(int ifindex)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex },
	};
	uint8_t buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	uint32_t bits = TSOF_LINK_GONE;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return bits;
	if (send(fd, &req, sizeof(req), 0) == (ssize_t)sizeof(req)) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh = (struct nlmsghdr *)buf;

		/* The answer is one RTM_NEWLINK, or NLMSG_ERROR (ENODEV) when the index is unknown. */
		if (n > 0 && NLMSG_OK(nh, (size_t)n) && is_link_msg(nh))
			bits = link_bits(nh);
	}
	close(fd);
	return bits;
}
