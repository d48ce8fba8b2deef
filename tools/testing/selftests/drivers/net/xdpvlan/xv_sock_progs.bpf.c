// SPDX-License-Identifier: GPL-2.0
/*
 * XDP programs of the xdpvlan socket-traffic selftest (xdpvlan_sock.sh):
 *
 *   xs_pass        XDP_PASS: on a veth lower device (driver mode: the native
 *                  path; generic mode: the skb path), on the uppers, and on
 *                  veth peers that must take XDP_TX or redirected frames
 *   xs_pass_frags  XDP_PASS for multi-buffer frames (MTU 9000)
 *   xs_reflect     UDP to port 7: sent back where it came from (XDP_TX)
 *   xs_redirect    UDP to port 9: to the device and MAC address in xs_redir
 *   xs_fwd         every frame to the device that xs_fwd_map gives for the
 *                  receiving one: a forwarding hop between two veths
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define XS_ECHO_PORT	7
#define XS_DISCARD_PORT	9

/* Where xs_redirect sends its frames. */
struct xs_target {
	__u8 mac[ETH_ALEN];	/* new destination address */
	__u8 pad[2];
	__u32 ifindex;		/* in the receiving device's netns */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xs_target);
} xs_redir SEC(".maps");

/* ifindex of the receiving device -> ifindex to redirect to. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u32);
} xs_fwd_map SEC(".maps");

/*
 * The Ethernet, IPv4 and UDP headers of an unfragmented IPv4 UDP datagram
 * without IP options to destination port @port, or NULL.
 */
static __always_inline struct udphdr *udp_to(struct xdp_md *ctx, __u16 port,
					     struct ethhdr **peth,
					     struct iphdr **pip)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	struct iphdr *ip;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return NULL;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return NULL;
	/* MF set or a fragment offset: not a whole datagram. */
	if (ip->frag_off & bpf_htons(0x3fff))
		return NULL;
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end || udp->dest != bpf_htons(port))
		return NULL;
	*peth = eth;
	*pip = ip;
	return udp;
}

SEC("xdp")
int xs_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp.frags")
int xs_pass_frags(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/*
 * Swapping the addresses and ports changes neither the IPv4 header checksum
 * nor the UDP checksum (both are sums over them), so a datagram that arrived
 * with valid checksums goes back with valid checksums, and one that arrived
 * with only the pseudo-header sum of CHECKSUM_PARTIAL goes back broken: the
 * sender then counts it in Udp InCsumErrors.
 */
SEC("xdp")
int xs_reflect(struct xdp_md *ctx)
{
	__u8 mac[ETH_ALEN];
	struct ethhdr *eth;
	struct udphdr *udp;
	struct iphdr *ip;
	__be32 a;
	__be16 p;

	udp = udp_to(ctx, XS_ECHO_PORT, &eth, &ip);
	if (!udp)
		return XDP_PASS;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	p = udp->source;
	udp->source = udp->dest;
	udp->dest = p;
	return XDP_TX;
}

SEC("xdp")
int xs_redirect(struct xdp_md *ctx)
{
	struct xs_target *t;
	struct ethhdr *eth;
	struct iphdr *ip;
	__u32 zero = 0;

	if (!udp_to(ctx, XS_DISCARD_PORT, &eth, &ip))
		return XDP_PASS;
	t = bpf_map_lookup_elem(&xs_redir, &zero);
	if (!t || !t->ifindex)
		return XDP_PASS;
	__builtin_memcpy(eth->h_dest, t->mac, ETH_ALEN);
	return bpf_redirect(t->ifindex, 0);
}

SEC("xdp")
int xs_fwd(struct xdp_md *ctx)
{
	__u32 key = ctx->ingress_ifindex;
	__u32 *to;

	to = bpf_map_lookup_elem(&xs_fwd_map, &key);
	if (!to)
		return XDP_PASS;
	return bpf_redirect(*to, 0);
}

/* The sender of the frame leak cases: run by BPF_PROG_RUN in live-frames
 * mode on the peer's veth, XDP_TX sends every frame out of it (its
 * ndo_xdp_xmit), so that the lower device receives xdp_frames.
 */
SEC("xdp")
int xs_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
