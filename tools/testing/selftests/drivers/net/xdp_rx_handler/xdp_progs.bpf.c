// SPDX-License-Identifier: GPL-2.0
/* XDP programs of the XDP rx handler selftests. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* ifindex of the redirect target, fixed by veth.sh. */
#define XRH_REDIRECT_IFINDEX 4100
/* ifindex of the device that feeds the frame path, fixed by veth.sh. */
#define XRH_FEED_IFINDEX 4000

SEC("xdp")
int xrh_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* The same for multi-buffer frames (large MTU on virtio-net). */
SEC("xdp.frags")
int xrh_pass_frags(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int xrh_redirect(struct xdp_md *ctx)
{
	return bpf_redirect(XRH_REDIRECT_IFINDEX, 0);
}

SEC("xdp")
int xrh_feed(struct xdp_md *ctx)
{
	return bpf_redirect(XRH_FEED_IFINDEX, 0);
}

char _license[] SEC("license") = "GPL";
