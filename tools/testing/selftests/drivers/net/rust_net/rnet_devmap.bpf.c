// SPDX-License-Identifier: GPL-2.0
/* A program for devmap entries (expected attach type BPF_XDP_DEVMAP), which
 * the Rust abstractions must refuse to run on received frames.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp/devmap")
int rnet_devmap(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
