// SPDX-License-Identifier: GPL-2.0
/*
 * The XDP program of the xdpvlan selftest, attached at every level of a stack
 * of devices (L0 -> L1 -> L2). For tagged test frames (ethertype 0x88b5) it
 * looks up the receiving device in xv_cfg: its level, and the action to
 * return there. It counts the frames each level saw and records the order
 * in which levels saw them, with a global sequence number: per level, and
 * per level and frame index (the sender numbers its frames), so that a test
 * can tell that every frame went through every level once, in order.
 *
 * Test frames: ethertype 0x88b5, payload "XRH:" TAG "/" INDEX (TAG up to 15
 * bytes, INDEX a big-endian __u32). Frames of ethertype 0x88b6 are the
 * selftest's markers: every level passes them on untouched.
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

#define XV_LEVELS	4
#define XV_FRAMES	16	/* frame indexes recorded per level */
#define XV_TAG_MAX	15

struct xv_frame {
	__u32 count;	/* times this level saw this frame index */
	__u32 seq;	/* sequence number + 1 when it first did */
};

/* Key: level * XV_FRAMES + frame index. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XV_LEVELS * XV_FRAMES);
	__type(key, __u32);
	__type(value, struct xv_frame);
} xv_frame SEC(".maps");

/* The index of a test frame, or -1 if it has none. */
static __always_inline int xv_index(void *data, void *end)
{
	__u8 *p = data + sizeof(struct ethhdr);
	int i;

	if ((void *)(p + 4 + XV_TAG_MAX + 1 + 4) > end)
		return -1;
	if (p[0] != 'X' || p[1] != 'R' || p[2] != 'H' || p[3] != ':')
		return -1;
#pragma unroll
	for (i = 4; i < 4 + XV_TAG_MAX + 1; i++) {
		if (p[i] == '/')
			return p[i + 1] << 24 | p[i + 2] << 16 | p[i + 3] << 8 | p[i + 4];
	}
	return -1;
}

SEC("xdp")
int xv_prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 key = ctx->ingress_ifindex, zero = 0, lvl, fkey;
	struct xv_frame *f;
	struct xv_stat *s;
	struct xv_cfg *c;
	__u64 *seq, n;
	int idx;

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
		idx = xv_index(data, end);
		fkey = lvl * XV_FRAMES + idx;
		f = idx >= 0 && idx < XV_FRAMES ? bpf_map_lookup_elem(&xv_frame, &fkey) : NULL;
		if (f) {
			__sync_fetch_and_add(&f->count, 1);
			if (!f->seq)
				f->seq = n;
		}
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
