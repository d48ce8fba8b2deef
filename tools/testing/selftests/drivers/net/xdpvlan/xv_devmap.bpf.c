// SPDX-License-Identifier: GPL-2.0
/*
 * The programs of xdpvlan_devmap.sh: a devmap egress program behind a lower
 * device (L0) and its xdpvlan upper (L1) that both redirect into the same
 * devmap entry within one NAPI poll of L0.
 *
 * Test frames are UDP/IPv4 to port 9 whose payload starts with the magic
 * "XVDM" and a 4-byte tag (xv_devmap.py gen builds them). The program that
 * redirects a frame writes its own ctx->ingress_ifindex (L0's or L1's
 * ifindex) into the tag; the devmap egress program, which the kernel runs
 * with ctx->ingress_ifindex set to the ingress device recorded in the devmap
 * bulk queue, counts the frames per ctx->ingress_ifindex and the frames whose
 * ctx->ingress_ifindex is not the tag.
 *
 *   xvd_l0      on L0 (driver mode): alternates per test frame, by the
 *               number of test frames it has seen plus xvd_phase[0]: even
 *               -> redirect to xvd_dm[0], odd -> XDP_PASS (to L1). With
 *               xvd_phase[0] = 2 it redirects every test frame itself,
 *               alternately to xvd_dm[0] and xvd_dm[1]: two entries for
 *               the same device with different egress programs.
 *   xvd_l1      on L1 (xdpvlan): redirects every test frame to xvd_dm[0]
 *   xvd_egress  the program of devmap entry 0 (SEC("xdp/devmap"), so that
 *               libbpf loads it with expected_attach_type BPF_XDP_DEVMAP)
 *   xvd_egress2 the program of devmap entry 1 (the two-entries case)
 *
 * The redirecting program also writes the devmap key it chose into the
 * frame; the egress programs count the frames per (program, key) in
 * xvd_prog: key 2 * program + frame's key. A frame must meet the program of
 * the entry it was redirected to.
 *   xvd_pass    on the target's peer: counts what arrives, XDP_PASS
 *   xvd_tx      the traffic generator (BPF_PROG_TEST_RUN, live frames)
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define XVD_PORT	9
#define XVD_MAGIC	0x5856444d	/* "XVDM" */

struct xvd_frame {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	__be32 magic;
	__u32 tag;	/* ifindex of the device whose program redirected it */
	__u32 key;	/* the devmap key it was redirected to */
} __attribute__((packed));

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} xvd_dm SEC(".maps");

/* [0]: test frames xvd_l0 saw, [1]: test frames xvd_l1 saw. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} xvd_seen SEC(".maps");

/* [0]: 0 if xvd_l0 redirects its first test frame, 1 if it passes it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} xvd_phase SEC(".maps");

/* xvd_egress: test frames per ctx->ingress_ifindex, ... */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} xvd_in SEC(".maps");

/* ... per ctx->egress_ifindex, ... */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} xvd_out SEC(".maps");

/* ... and, per tag, those whose ctx->ingress_ifindex was not the tag. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} xvd_bad SEC(".maps");

/* The egress programs: test frames per 2 * program + the frame's key. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} xvd_prog SEC(".maps");

/* xvd_pass: test frames per ctx->ingress_ifindex. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} xvd_rx SEC(".maps");

static __always_inline struct xvd_frame *xvd_test_frame(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct xvd_frame *f = data;

	if ((void *)(f + 1) > end)
		return NULL;
	if (f->eth.h_proto != bpf_htons(ETH_P_IP) || f->ip.version != 4 ||
	    f->ip.ihl != 5 || f->ip.protocol != IPPROTO_UDP ||
	    f->udp.dest != bpf_htons(XVD_PORT) ||
	    f->magic != bpf_htonl(XVD_MAGIC))
		return NULL;
	return f;
}

static __always_inline void xvd_count(void *map, __u32 key)
{
	__u64 one = 1, *v;

	v = bpf_map_lookup_elem(map, &key);
	if (v) {
		__sync_fetch_and_add(v, 1);
		return;
	}
	if (bpf_map_update_elem(map, &key, &one, BPF_NOEXIST)) {
		/* Another CPU added it first. */
		v = bpf_map_lookup_elem(map, &key);
		if (v)
			__sync_fetch_and_add(v, 1);
	}
}

SEC("xdp")
int xvd_l0(struct xdp_md *ctx)
{
	struct xvd_frame *f = xvd_test_frame(ctx);
	__u32 k0 = 0;
	__u64 *seen, *phase, n;

	if (!f)
		return XDP_PASS;
	seen = bpf_map_lookup_elem(&xvd_seen, &k0);
	phase = bpf_map_lookup_elem(&xvd_phase, &k0);
	if (!seen || !phase)
		return XDP_ABORTED;
	/* In the order the frames come: L0's NAPI poll runs on one CPU. */
	n = __sync_fetch_and_add(seen, 1);
	f->tag = ctx->ingress_ifindex;
	if (*phase == 2) {
		f->key = n & 1;
		return bpf_redirect_map(&xvd_dm, n & 1, 0);
	}
	if ((n + *phase) & 1)
		return XDP_PASS;	/* to the xdpvlan upper, if it is for it */
	f->key = 0;
	return bpf_redirect_map(&xvd_dm, 0, 0);
}

SEC("xdp")
int xvd_l1(struct xdp_md *ctx)
{
	struct xvd_frame *f = xvd_test_frame(ctx);
	__u32 k1 = 1;
	__u64 *seen;

	if (!f)
		return XDP_PASS;
	seen = bpf_map_lookup_elem(&xvd_seen, &k1);
	if (seen)
		__sync_fetch_and_add(seen, 1);
	f->tag = ctx->ingress_ifindex;
	f->key = 0;
	return bpf_redirect_map(&xvd_dm, 0, 0);
}

static __always_inline int xvd_egress_as(struct xdp_md *ctx, __u32 prog)
{
	struct xvd_frame *f = xvd_test_frame(ctx);
	__u32 in = ctx->ingress_ifindex, tag;

	if (!f)
		return XDP_PASS;
	tag = f->tag;
	xvd_count(&xvd_in, in);
	xvd_count(&xvd_out, ctx->egress_ifindex);
	xvd_count(&xvd_prog, 2 * prog + (f->key & 1));
	if (tag != in)
		xvd_count(&xvd_bad, tag);
	return XDP_PASS;
}

SEC("xdp/devmap")
int xvd_egress(struct xdp_md *ctx)
{
	return xvd_egress_as(ctx, 0);
}

SEC("xdp/devmap")
int xvd_egress2(struct xdp_md *ctx)
{
	return xvd_egress_as(ctx, 1);
}

SEC("xdp")
int xvd_pass(struct xdp_md *ctx)
{
	if (xvd_test_frame(ctx))
		xvd_count(&xvd_rx, ctx->ingress_ifindex);
	return XDP_PASS;
}

/*
 * The traffic generator: run with BPF_PROG_TEST_RUN in live-frames mode on a
 * device, it sends each frame out of that device (ndo_xdp_xmit).
 */
SEC("xdp")
int xvd_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
