// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's XDP programs (scripts/bench.sh). bn_drop and bn_pass do
 * what xdp-bench's "drop" and "pass" do, and count, per receiving device
 * (ingress ifindex), the frames and bytes they saw and the guest's monotonic
 * clock at the first and the last one: the receive rate of a run is
 * (count - 1) / (last - first), free of the sender's start and stop. bn_tx is
 * the sender's program (as xdp-trafficgen's): run with BPF_PROG_RUN in
 * live-frames mode, each XDP_TX sends the frame out of the device.
 *
 * Both counting programs accept multi-buffer frames (xdp.frags), so that
 * attaching them leaves a veth peer's GSO on, as a user's program would.
 *
 * The counters are an array indexed by ifindex, not a hash map: a hash
 * map's lookup walks a bucket whose contents depend on a seed drawn at
 * each boot, so the instructions per frame (the icount clock) moved from
 * boot to boot. In one boot of the same kernel L2's rate was 0.3 % lower in
 * every repetition (three devices counted per frame), out of the other
 * boots' spread. An array lookup costs the same in every boot.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bn_stat {
	__u64 count;
	__u64 bytes;
	__u64 first_ns;
	__u64 last_ns;
};

/* bench.py checks that every counted device's ifindex is below half of this. */
#define BN_SLOTS 8192

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BN_SLOTS);
	__type(key, __u32);
	__type(value, struct bn_stat);
} bn_stats SEC(".maps");

static __always_inline void count_at(struct xdp_md *ctx, __u32 key)
{
	__u64 now = bpf_ktime_get_ns();
	struct bn_stat *s;

	s = bpf_map_lookup_elem(&bn_stats, &key);
	if (!s)
		return;
	/* One receive CPU per device: no other writer between these. */
	if (!s->count)
		s->first_ns = now;
	__sync_fetch_and_add(&s->count, 1);
	__sync_fetch_and_add(&s->bytes, bpf_xdp_get_buff_len(ctx));
	s->last_ns = now;
}

static __always_inline void count(struct xdp_md *ctx)
{
	count_at(ctx, ctx->ingress_ifindex);
}

SEC("xdp.frags")
int bn_drop(struct xdp_md *ctx)
{
	count(ctx);
	return XDP_DROP;
}

/*
 * P, the cost of one more program run: the counting work of bn_drop twice,
 * the second time in a slot of the upper half of the array, which nothing
 * reads (bench.py keeps counted devices below BN_SLOTS / 2).
 */
SEC("xdp.frags")
int bn_drop2(struct xdp_md *ctx)
{
	count(ctx);
	count_at(ctx, ctx->ingress_ifindex + BN_SLOTS / 2);
	return XDP_DROP;
}

SEC("xdp.frags")
int bn_pass(struct xdp_md *ctx)
{
	count(ctx);
	return XDP_PASS;
}

/*
 * The receive path's own instructions between two levels, free of the
 * sender and of how fast frames arrive: bn_pass_ts (at L0) notes the guest
 * clock on its CPU as its last step, and bn_drop_ts (at the level under
 * test, native or generic XDP) adds the time since then to bn_lat of its
 * device as its first step. Under icount, with the sender not running
 * meanwhile (the receive path runs in softirq on the sender's CPU, the
 * other CPU idles), that is the path's guest instructions per frame: the
 * lower driver acting on XDP_PASS, then the XDP rx handler and its demux,
 * or the skb, the rx_handler and generic XDP.
 */
struct bn_lat {
	__u64 count;
	__u64 sum;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BN_SLOTS);
	__type(key, __u32);
	__type(value, struct bn_lat);
} bn_lat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bn_ts SEC(".maps");

SEC("xdp.frags")
int bn_pass_ts(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *ts;

	count(ctx);
	ts = bpf_map_lookup_elem(&bn_ts, &zero);
	if (ts)
		*ts = bpf_ktime_get_ns();
	return XDP_PASS;
}

SEC("xdp.frags")
int bn_drop_ts(struct xdp_md *ctx)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 zero = 0, key = ctx->ingress_ifindex;
	struct bn_lat *l;
	__u64 *ts;

	ts = bpf_map_lookup_elem(&bn_ts, &zero);
	l = bpf_map_lookup_elem(&bn_lat, &key);
	if (ts && *ts && l) {
		__sync_fetch_and_add(&l->count, 1);
		__sync_fetch_and_add(&l->sum, now - *ts);
		*ts = 0;
	}
	count(ctx);
	return XDP_DROP;
}

SEC("xdp")
int bn_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
