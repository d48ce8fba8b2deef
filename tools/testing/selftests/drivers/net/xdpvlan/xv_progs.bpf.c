// SPDX-License-Identifier: GPL-2.0
/*
 * The XDP program of the xdpvlan selftest, attached at every level of a stack
 * of devices (L0 -> L1 -> L2). For tagged test frames (ethertype 0x88b5) it
 * looks up the receiving device in xv_cfg: its level, and the action to
 * return there. It counts the frames each level saw and records the order
 * in which levels saw them, with a global sequence number.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct xv_cfg {
	__u32 level;
	__u32 action;
	__u32 target;	/* ifindex for XDP_REDIRECT */
};

struct xv_stat {
	__u64 count;
	__u64 first;	/* sequence number + 1 of the first frame seen */
	__u64 last;	/* ... and of the last one */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct xv_cfg);
} xv_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct xv_stat);
} xv_stat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} xv_seq SEC(".maps");

SEC("xdp")
int xv_prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 key = ctx->ingress_ifindex, zero = 0, lvl;
	struct xv_stat *s;
	struct xv_cfg *c;
	__u64 *seq, n;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(0x88b5))
		return XDP_PASS;
	c = bpf_map_lookup_elem(&xv_cfg, &key);
	if (!c)
		return XDP_PASS;
	lvl = c->level;
	s = bpf_map_lookup_elem(&xv_stat, &lvl);
	seq = bpf_map_lookup_elem(&xv_seq, &zero);
	if (s && seq) {
		n = __sync_fetch_and_add(seq, 1) + 1;
		__sync_fetch_and_add(&s->count, 1);
		if (!s->first)
			s->first = n;
		s->last = n;
	}
	if (c->action == XDP_REDIRECT)
		return bpf_redirect(c->target, 0);
	return c->action;
}

SEC("xdp")
int xv_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* For scripts/bench.sh: drop everything, as cheaply as possible. */
SEC("xdp")
int xv_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

/*
 * For scripts/bench.sh: the traffic generator. Run with BPF_PROG_TEST_RUN in
 * live-frames mode on a device, it sends each frame out of that device.
 */
SEC("xdp")
int xv_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
