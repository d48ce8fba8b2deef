// SPDX-License-Identifier: GPL-2.0

//! xdpvlan: a macvlan-style stacked Ethernet device whose native XDP path uses the XDP rx
//! handler.
//!
//! `ip link add link L name U type xdpvlan [address A]` creates U on top of L, with its own MAC
//! address. Frames for U's address that arrive on L are received on U. Uppers can be stacked:
//! an xdpvlan device can be the lower device of further xdpvlan devices (L0 -> L1 -> L2); each
//! level has its own address filter, rx handler and XDP program.
//!
//! Receive paths:
//!
//! - native: when L's driver runs an XDP program that returns `XDP_PASS`, the driver calls the
//!   XDP rx handler registered on L before it builds an skb. For a unicast frame for U, the
//!   handler runs U's XDP program (as received on U) and carries out its verdict. On `XDP_PASS`
//!   the frame goes on to U's own XDP rx handler if U is a lower device, else it becomes an skb
//!   of U. Multicast, frames for no upper, and multi-buffer frames U's program cannot take fall
//!   back to the skb path.
//! - skb: the rx handler on L demultiplexes skbs by destination address and runs U's program in
//!   generic mode on the skb, so every frame for U sees U's program exactly once, whichever path
//!   it came by.
//!
//! The attribute `IFLA_XDPVLAN_FLAGS` with `XDPVLAN_F_NO_NATIVE` makes an upper decline the
//! native path, to compare both paths on the same lower device.
//!
//! The driver has no `unsafe` code, and cannot get any: the crate forbids the `unsafe_code`
//! lint. Everything unsafe is in the `kernel::net` abstractions.

#![forbid(unsafe_code)]

use kernel::{
    net::{
        context::BhDisabled,
        device::{is_multicast_ether_addr, is_valid_ether_addr, Device, MacAddr, ETH_ALEN},
        link::{
            self, xdp_features, AttrPolicy, Dev, ExtAck, InfoMsg, LinkAttrs, NewDevice,
            NewLinkParams, RxMode, TxContext,
        },
        notifier::{self, Event},
        rcu::{RcuArc, Retire},
        rtnl::Rtnl,
        rx_handler::{self, PassOn, Ran, RxContext, RxHandler, RxResult, XdpRx, XdpVerdict},
        skb::{SkBuff, ETH_HLEN},
        stats::PcpuCounters,
        xdp::{self, Action, Prog, ProgSlot, XmitFrames},
    },
    new_mutex, new_spinlock, pr_warn_once,
    prelude::*,
    sync::{aref::ARef, rcu, Arc, Mutex, SpinLock, UniqueArc},
};

module! {
    type: XdpVlanModule,
    name: "xdpvlan",
    authors: ["The xdp-rx-handler project"],
    description: "macvlan-style stacked device with a native XDP path through the XDP rx handler",
    license: "GPL",
    alias: ["rtnl-link-xdpvlan"],
}

/// `IFLA_INFO_DATA` attribute: `u32` flags.
const IFLA_XDPVLAN_FLAGS: u16 = 1;
/// Flag: decline the native (XDP rx handler) path; frames for this device take the skb path.
const XDPVLAN_F_NO_NATIVE: u32 = 1;
const XDPVLAN_F_ALL: u32 = XDPVLAN_F_NO_NATIVE;

/// `PACKET_HOST` of `<uapi/linux/if_packet.h>`.
const PACKET_HOST: u8 = 0;

/// The per-device counters of `ethtool -S`, in this order.
const STAT_NAMES: [&CStr; 11] = [
    c"xdp_aborted",
    c"xdp_drop",
    c"xdp_pass",
    c"xdp_tx",
    c"xdp_redirect",
    c"xdp_invalid",
    c"rx_native",
    c"rx_skb",
    c"rx_native_fallback",
    c"xdp_xmit",
    c"xdp_xmit_err",
];
const NSTATS: usize = STAT_NAMES.len();
const ST_INVALID: usize = 5;
const ST_RX_NATIVE: usize = 6;
const ST_RX_SKB: usize = 7;
const ST_FALLBACK: usize = 8;
const ST_XMIT: usize = 9;
const ST_XMIT_ERR: usize = 10;

fn action_stat(act: Action) -> usize {
    match act {
        Action::Aborted => 0,
        Action::Drop => 1,
        Action::Pass => 2,
        Action::Tx => 3,
        Action::Redirect => 4,
        Action::Unknown(_) => ST_INVALID,
    }
}

/// The private data of an xdpvlan device.
#[pin_data]
struct Upper {
    lower: ARef<Device>,
    port: Arc<Port>,
    flags: u32,
    prog: ProgSlot,
    stats: PcpuCounters<NSTATS>,
    /// The device's unicast filter: addresses of devices stacked on it, whose frames it
    /// receives first (updated in `ndo_set_rx_mode`; the lower's receive path finds them in
    /// the port's table, which is built from the uppers' filters).
    #[pin]
    filter: SpinLock<KVec<MacAddr>>,
}

/// A destination address as the receive path finds it: an upper device's own address, or an
/// address in an upper device's unicast filter (a device stacked on the upper has it).
struct Entry {
    addr: MacAddr,
    own: bool,
    dev: ARef<Dev<XdpVlan>>,
}

/// The receive side's view of a lower device's uppers: every destination address they take,
/// hashed by address, so that a frame costs one bucket whatever the number of uppers.
///
/// The entries of bucket `b` are `entries[start[b]..start[b + 1]]`, own addresses first. A table
/// is never changed once published: writers build a new one ([`Port::update`]).
struct Table {
    bits: u32,
    start: KVec<u32>,
    entries: KVec<Entry>,
}

/// Fewest and most hash bits of a table: at least 16 buckets, at most 65536.
const MIN_BITS: u32 = 4;
const MAX_BITS: u32 = 16;

impl Table {
    /// An empty table with room for `n` entries.
    fn with_capacity(n: usize, flags: kernel::alloc::Flags) -> Result<Self> {
        Ok(Table {
            bits: MIN_BITS,
            start: KVec::new(),
            entries: KVec::with_capacity(n, flags)?,
        })
    }

    /// The hash bits of a table of `n` entries: twice as many buckets as entries.
    fn bits_for(n: usize) -> u32 {
        let n = n.max(1);
        (usize::BITS - (n - 1).leading_zeros() + 1).clamp(MIN_BITS, MAX_BITS)
    }

    /// The bucket of `addr`: a multiplicative hash of all 48 bits, read in memory order (the
    /// address as it sits in a register: no byte shuffling per frame).
    fn bucket(bits: u32, addr: &MacAddr) -> usize {
        let [a, b, c, d, e, f] = *addr;
        let v = u64::from(u32::from_le_bytes([a, b, c, d]))
            | (u64::from(u16::from_le_bytes([e, f])) << 32);
        (v.wrapping_mul(0x61c8_8646_80b5_83eb) >> (64 - bits)) as usize
    }

    /// The entries whose address falls in the bucket of `addr`, own addresses first.
    fn candidates(&self, addr: &MacAddr) -> &[Entry] {
        let b = Self::bucket(self.bits, addr);
        match (self.start.get(b), self.start.get(b + 1)) {
            (Some(&s), Some(&e)) => self.entries.get(s as usize..e as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Finds the upper that receives unicast frames for `dst`: the one with that address, or
    /// else one with `dst` in its filter. The flag tells whether the frame is for the upper
    /// itself.
    fn lookup(&self, dst: &MacAddr) -> Option<(&Dev<XdpVlan>, bool)> {
        self.candidates(dst)
            .iter()
            .find(|e| &e.addr == dst)
            .map(|e| (&*e.dev, e.own))
    }

    /// The uppers, once each.
    fn uppers(&self) -> impl Iterator<Item = &Dev<XdpVlan>> {
        self.entries.iter().filter(|e| e.own).map(|e| &*e.dev)
    }

    /// Sorts the entries into their buckets (own addresses first) and indexes the buckets:
    /// twice as many buckets as entries, so that a bucket rarely holds more than one.
    ///
    /// An in-place counting sort, O(entries + buckets), that allocates only if `start` has
    /// no room for twice the buckets (core's slice sorts are not used: objtool does not know
    /// their panics end a function).
    fn index(&mut self, flags: Option<kernel::alloc::Flags>) -> Result {
        let bits = Self::bits_for(self.entries.len());
        let nb = 1usize << bits;
        if self.start.capacity() < 2 * (nb + 1) {
            // Only a reserve table (`flags` is `None`) must not allocate; it has the room.
            let flags = flags.ok_or(ENOMEM)?;
            self.start = KVec::with_capacity(2 * (nb + 1), flags)?;
        }
        self.bits = bits;
        let n = self.entries.len();
        // `start[..=nb]`: where each bucket begins; `start[nb + 1..]`: where its next entry
        // goes while sorting. Entries are fewer than 2^32; the room was checked above.
        self.start.clear();
        for _ in 0..2 * (nb + 1) {
            let _ = self.start.push_within_capacity(0);
        }
        let (begin, next) = self.start.split_at_mut(nb + 1);
        for e in self.entries.iter() {
            if let Some(c) = begin.get_mut(Self::bucket(bits, &e.addr) + 1) {
                *c += 1;
            }
        }
        for b in 1..=nb {
            begin[b] += begin[b - 1];
        }
        next.copy_from_slice(begin);
        for b in 0..nb {
            while next[b] < begin[b + 1] {
                let i = next[b] as usize;
                let k = Self::bucket(bits, &self.entries[i].addr);
                if k == b {
                    next[b] += 1;
                } else {
                    // Entry `i` belongs to bucket `k`: every bucket before `b` is full, so
                    // `k > b` and its next free slot is past `i`.
                    self.entries.swap(i, next[k] as usize);
                    next[k] += 1;
                }
            }
            // Own addresses first in the bucket (buckets hold one or two entries).
            let bucket = &mut self.entries[begin[b] as usize..begin[b + 1] as usize];
            for j in 1..bucket.len() {
                let mut m = j;
                while m > 0 && bucket[m].own && !bucket[m - 1].own {
                    bucket.swap(m, m - 1);
                    m -= 1;
                }
            }
        }
        debug_assert_eq!(begin[nb] as usize, n);
        self.start.truncate(nb + 1);
        Ok(())
    }
}

/// A change of the table.
#[derive(Clone, Copy)]
enum Change<'a> {
    /// None of the uppers: a filter changed.
    Filter,
    /// An upper is added.
    Add(&'a Dev<XdpVlan>),
    /// An upper is removed.
    Remove(&'a Device),
    /// An upper's address changes.
    Addr(&'a Device, &'a MacAddr),
}

/// The receive side of a lower device: its xdpvlan uppers, by address.
struct Demux {
    table: RcuArc<Table>,
}

/// Memory to remove an upper with when allocating fails: teardown must not fail.
struct Reserve {
    table: UniqueArc<Table>,
    retire: Retire<Table>,
}

/// A lower device with xdpvlan uppers: the rx handler registration, shared by the uppers.
///
/// The handlers are registered when the first upper is registered ([`Port::attach`]) and
/// unregistered, with RTNL held, when the last one goes ([`Port::release_if_unused`]): a port
/// that only a device being created holds has none, so that dropping it in a failed `newlink`
/// (under RTNL) never has to unregister them.
#[pin_data]
struct Port {
    demux: Arc<Demux>,
    #[pin]
    reg: Mutex<Option<rx_handler::Registration<Demux>>>,
    /// Serialises the writers of the table, which are the uppers' configuration under RTNL and
    /// their `ndo_set_rx_mode` (atomic context, no RTNL): the number of tables published,
    /// which a writer checks before it publishes the table it built without the lock.
    #[pin]
    writer: SpinLock<u64>,
    /// Memory for removing an upper without allocating (see [`Port::remove`]).
    #[pin]
    reserve: Mutex<Option<Reserve>>,
}

const EBUSY_MSG: &CStr =
    c"the lower device already has an rx handler (bridge port, bond/team member, macvlan lower?)";

impl Port {
    /// Returns the port of `lower`, creating it if `lower` has no xdpvlan upper yet.
    fn get_or_create(lower: &Device, extack: &ExtAck) -> Result<Arc<Port>> {
        let found = lower
            .uppers(&rcu::read_lock())
            .find_map(|u| Dev::<XdpVlan>::downcast(u).map(|d| d.data().port.clone()));
        if let Some(p) = found {
            return Ok(p);
        }
        // Refused at registration anyway; say so before the device exists.
        if lower.has_rx_handler() {
            return Err(extack.err(EBUSY, EBUSY_MSG));
        }
        let demux = Arc::new(
            Demux {
                table: RcuArc::new(None),
            },
            GFP_KERNEL,
        )?;
        Arc::pin_init(
            pin_init!(Port {
                demux,
                reg <- new_mutex!(None),
                writer <- new_spinlock!(0),
                reserve <- new_mutex!(None),
            }),
            GFP_KERNEL,
        )
    }

    /// Registers the port's rx handlers on `lower`, unless they are registered.
    fn attach(&self, lower: &Device, extack: &ExtAck, rtnl: &Rtnl) -> Result {
        let mut reg = self.reg.lock();
        if reg.is_none() {
            let r = rx_handler::Registration::new(lower, self.demux.clone(), rtnl).inspect_err(
                |&e| {
                    extack.set_msg(if e == EBUSY {
                        EBUSY_MSG
                    } else {
                        c"the lower device does not accept an rx handler"
                    })
                },
            )?;
            *reg = Some(r);
        }
        Ok(())
    }

    /// Returns whether `addr` is the address of one of the port's uppers other than `except`.
    fn addr_busy(&self, addr: &MacAddr, except: Option<&Device>) -> bool {
        let g = rcu::read_lock();
        self.demux.table.get(&g).is_some_and(|t| {
            t.candidates(addr)
                .iter()
                .any(|e| e.own && &e.addr == addr && !except.is_some_and(|x| x.is(&e.dev)))
        })
    }

    /// Fills `t` with the entries of `old` after `change`: every upper's address, then the
    /// addresses of every upper's filter. With `flags`, grows `t` as needed; without, only
    /// within its capacity, leaving out what does not fit (filter addresses: the uppers'
    /// own come first); returns whether everything fit.
    fn fill(
        t: &mut Table,
        old: Option<&Table>,
        change: Change<'_>,
        flags: Option<kernel::alloc::Flags>,
    ) -> Result<bool> {
        let push = |t: &mut Table, e: Entry| -> Result<bool> {
            match flags {
                Some(f) => t.entries.push(e, f).map(|()| true).map_err(Error::from),
                None => Ok(t.entries.push_within_capacity(e).is_ok()),
            }
        };
        let mut all = true;
        let uppers = old.into_iter().flat_map(|o| o.uppers());
        let added = match change {
            Change::Add(d) => Some(d),
            _ => None,
        };
        for d in Iterator::chain(uppers, added) {
            let addr = match change {
                Change::Remove(r) if r.is(d) => continue,
                Change::Addr(c, a) if c.is(d) => *a,
                _ => d.addr().unwrap_or([0; ETH_ALEN]),
            };
            all &= push(
                t,
                Entry {
                    addr,
                    own: true,
                    dev: d.into(),
                },
            )?;
        }
        let n = t.entries.len();
        for i in 0..n {
            let Some(d) = t.entries.get(i).map(|e| e.dev.clone()) else {
                break;
            };
            let filter = d.data().get_ref().filter.lock();
            for a in filter.iter() {
                all &= push(
                    t,
                    Entry {
                        addr: *a,
                        own: false,
                        dev: d.clone(),
                    },
                )?;
            }
        }
        Ok(all)
    }

    /// Publishes `new` as the table if no other writer published one since `seen`; else
    /// gives it back.
    fn publish(
        &self,
        seen: u64,
        new: Option<Arc<Table>>,
        retire: Retire<Table>,
    ) -> core::result::Result<(), (Option<Arc<Table>>, Retire<Table>)> {
        let mut n = self.writer.lock();
        if *n != seen {
            return Err((new, retire));
        }
        *n += 1;
        self.demux.table.replace_with(new, retire);
        Ok(())
    }

    /// Applies `change` to the table: builds a new one and publishes it, the old one released
    /// after a grace period. Fails with `ENOMEM`, changing nothing. `flags`: `GFP_ATOMIC` in
    /// atomic context.
    fn update(&self, change: Change<'_>, flags: kernel::alloc::Flags) -> Result {
        loop {
            let seen = *self.writer.lock();
            let old = self.demux.table.get_arc();
            let n = old.as_ref().map_or(0, |o| o.entries.len()) + 1;
            let mut t = Table::with_capacity(n, flags)?;
            Self::fill(&mut t, old.as_deref(), change, Some(flags))?;
            drop(old);
            t.index(Some(flags))?;
            let new = if t.entries.is_empty() {
                None
            } else {
                Some(Arc::new(t, flags)?)
            };
            let retire = Retire::new(flags)?;
            if self.publish(seen, new, retire).is_ok() {
                return Ok(());
            }
            // Another writer published meanwhile: build again on its table.
        }
    }

    /// Adds an upper to the table. Also makes sure that the reserve has room for all the
    /// uppers, so that [`Port::remove`] can always remove one.
    fn add(&self, d: &Dev<XdpVlan>) -> Result {
        let n = {
            let g = rcu::read_lock();
            self.demux.table.get(&g).map_or(0, |t| t.uppers().count()) + 1
        };
        self.ensure_reserve(n)?;
        self.update(Change::Add(d), GFP_KERNEL)
    }

    /// Makes sure that the reserve has room for `n` uppers.
    fn ensure_reserve(&self, n: usize) -> Result {
        let mut reserve = self.reserve.lock();
        if reserve
            .as_ref()
            .is_none_or(|r| r.table.entries.capacity() < n)
        {
            let mut table = Table::with_capacity(n, GFP_KERNEL)?;
            table.start = KVec::with_capacity((1 << Table::bits_for(n)) + 1, GFP_KERNEL)?;
            *reserve = Some(Reserve {
                table: UniqueArc::new(table, GFP_KERNEL)?,
                retire: Retire::new(GFP_KERNEL)?,
            });
        }
        Ok(())
    }

    /// Returns whether `d` is one of the uppers in the table.
    fn has_upper(&self, d: &Device) -> bool {
        let g = rcu::read_lock();
        self.demux
            .table
            .get(&g)
            .is_some_and(|t| t.uppers().any(|u| d.is(u)))
    }

    /// Removes an upper from the table, in its teardown. Cannot fail: if memory for the new
    /// table cannot be allocated, it is built in the reserve, where the uppers' own addresses
    /// always fit (the filters' addresses then wait for the next change of a filter).
    fn remove(&self, d: &Device) {
        while self.has_upper(d) {
            if self.update(Change::Remove(d), GFP_KERNEL).is_ok() {
                return;
            }
            let reserve = self.reserve.lock().take();
            match reserve {
                Some(r) => {
                    if self.remove_in(d, r) {
                        // Best effort: the next removal may need one too.
                        let n = {
                            let g = rcu::read_lock();
                            self.demux.table.get(&g).map_or(0, |t| t.uppers().count())
                        };
                        let _ = self.ensure_reserve(n);
                        return;
                    }
                }
                None => {
                    // Only a failed removal uses the reserve up; two in a row: wait for
                    // memory rather than leave a reference to the device behind.
                    pr_warn!("xdpvlan: out of memory removing an upper; retrying\n");
                    kernel::time::delay::fsleep(kernel::time::Delta::from_millis(10));
                }
            }
        }
    }

    /// Removes `d` building the new table in the reserve `r`, without allocating. Returns
    /// `false` if the reserve was used up before the table could be published.
    fn remove_in(&self, d: &Device, r: Reserve) -> bool {
        let Reserve {
            mut table,
            mut retire,
        } = r;
        loop {
            table.entries.clear();
            let seen = *self.writer.lock();
            let old = self.demux.table.get_arc();
            // Without flags nothing allocates, so nothing fails.
            let all =
                Self::fill(&mut table, old.as_deref(), Change::Remove(d), None).unwrap_or(false);
            drop(old);
            if !all {
                pr_warn!("xdpvlan: out of memory removing an upper; unicast filters dropped\n");
            }
            if table.index(None).is_err() {
                // Cannot happen (the reserve has the room); a lookup in a table without an
                // index finds nothing, which is safe.
                table.entries.clear();
            }
            let (new, keep) = if table.entries.is_empty() {
                (None, Some(table))
            } else {
                (Some(Arc::from(table)), None)
            };
            match self.publish(seen, new, retire) {
                Ok(()) => return true,
                Err((back, r)) => {
                    retire = r;
                    table = match keep {
                        Some(t) => t,
                        None => match back.and_then(Arc::into_unique_or_drop) {
                            Some(t) => Pin::into_inner(t),
                            None => return false,
                        },
                    };
                }
            }
        }
    }

    /// Empties the table, when the lower device goes away with all its uppers: one new table
    /// for all of them rather than one each.
    fn clear(&self) {
        loop {
            let retire = match Retire::new(GFP_KERNEL) {
                Ok(r) => r,
                Err(_) => match self.reserve.lock().take() {
                    Some(r) => r.retire,
                    // Each upper's `remove` does it then.
                    None => return,
                },
            };
            let seen = *self.writer.lock();
            if self.publish(seen, None, retire).is_ok() {
                return;
            }
        }
    }

    /// Unregisters the rx handlers if no upper is left. Called with RTNL held.
    fn release_if_unused(&self, rtnl: &Rtnl) {
        let g = rcu::read_lock();
        let empty = self.demux.table.get(&g).is_none();
        drop(g);
        if empty {
            if let Some(reg) = self.reg.lock().take() {
                reg.unregister(rtnl);
            }
        }
    }
}

impl Upper {
    fn count_act(&self, ctx: &impl BhDisabled, act: Action) {
        self.stats.inc_in(ctx, action_stat(act));
    }

    /// Runs the device's program in generic mode on an skb received for it; returns the skb if
    /// the program passed it (or if there is no program).
    fn run_prog_skb(&self, skb: SkBuff, dev: &Device, ctx: &RxContext) -> Option<SkBuff> {
        let Some(prog) = self.prog.get(ctx) else {
            return Some(skb);
        };
        let (act, skb) = xdp::run_generic(prog, skb, dev, ctx);
        self.count_act(ctx, act);
        skb
    }
}

impl Demux {
    /// Hands a clone of a multicast skb to `up`, through its program, via the backlog.
    fn deliver_clone(up: &Dev<XdpVlan>, skb: &SkBuff, ctx: &RxContext) {
        if !up.is_running() {
            return;
        }
        let Ok(c) = skb.try_clone() else {
            up.count_rx_dropped();
            return;
        };
        let len = c.len() + ETH_HLEN as u32;
        let data = up.data();
        data.stats.inc_in(ctx, ST_RX_SKB);
        if let Some(c) = data.run_prog_skb(c, up, ctx) {
            up.count_rx(ctx, len);
            c.rx(up);
        }
    }
}

#[vtable]
impl RxHandler for Demux {
    fn handle_skb<'a>(&'a self, skb: SkBuff, ctx: &'a RxContext) -> RxResult<'a> {
        let Some(dst) = skb.eth_dest() else {
            return RxResult::Pass(skb);
        };
        let Some(table) = self.table.get(ctx) else {
            return RxResult::Pass(skb);
        };
        if is_multicast_ether_addr(&dst) {
            for up in table.uppers() {
                Self::deliver_clone(up, &skb, ctx);
            }
            return RxResult::Pass(skb);
        }
        let Some((up, own)) = table.lookup(&dst) else {
            return RxResult::Pass(skb);
        };
        if !up.is_running() {
            up.count_rx_dropped();
            drop(skb);
            return RxResult::Consumed;
        }
        let mut skb = skb;
        if own {
            skb.set_pkt_type(PACKET_HOST);
        }
        let len = skb.len() + ETH_HLEN as u32;
        let data = up.data();
        data.stats.inc_in(ctx, ST_RX_SKB);
        match data.run_prog_skb(skb, up, ctx) {
            Some(skb) => {
                up.count_rx(ctx, len);
                RxResult::Another(skb, up)
            }
            None => RxResult::Consumed,
        }
    }

    fn handle_xdp<'a, 'id>(&'a self, xdp: XdpRx<'a, 'id>) -> XdpVerdict<'id> {
        let Some(dst) = xdp.buff().eth_dest() else {
            return xdp.fallback();
        };
        if is_multicast_ether_addr(&dst) {
            return xdp.fallback();
        }
        let ctx = xdp.ctx();
        let Some((up, _)) = self.table.get(ctx).and_then(|t| t.lookup(&dst)) else {
            return xdp.fallback();
        };
        let data = up.data();
        if data.flags & XDPVLAN_F_NO_NATIVE != 0 {
            return xdp.fallback();
        }
        let prog = data.prog.get(ctx);
        if xdp.buff().has_frags() && prog.is_some_and(|p| !p.supports_frags()) {
            data.stats.inc_in(ctx, ST_FALLBACK);
            return xdp.fallback();
        }
        if !up.is_running() {
            up.count_rx_dropped();
            return xdp.drop_frame();
        }
        let len = xdp.buff().len() as u32;
        let ran = match prog {
            None => {
                data.stats.inc_in(ctx, ST_RX_NATIVE);
                xdp.enter(up)
            }
            Some(p) => {
                let ran = xdp.run(p, up);
                // Received natively, and the verdict: one update.
                data.stats
                    .inc2_in(ctx, ST_RX_NATIVE, action_stat(ran.action()));
                match ran {
                    Ran::Pass(ran) => ran,
                    Ran::Drop(ran) => return ran.drop_frame(),
                    Ran::Tx(ran) => return ran.tx(),
                    Ran::Redirect(r) => return r.redirect(),
                    Ran::Aborted(ran, act) => {
                        p.trace_exception(up, act);
                        return ran.drop_frame();
                    }
                }
            }
        };
        up.count_rx(ctx, len);
        match ran.pass_on() {
            PassOn::Done(v) => v,
            // The lower driver delivers its own skb if it can (veth, for frames from its
            // peer's stack): no second skb, checksum state kept.
            PassOn::Declined(ran) => match ran.deliver_by_lower() {
                Ok(v) => v,
                Err(ran) => match ran.into_skb() {
                    Ok((skb, v)) => {
                        // GRO, as the skb path gets it from the lower driver.
                        up.receive_gro(skb);
                        v
                    }
                    Err(v) => {
                        up.count_rx_dropped();
                        v
                    }
                },
            },
        }
    }
}

/// The xdpvlan link type.
struct XdpVlan;

/// The policy of the `IFLA_INFO_DATA` attributes.
static POLICY: [AttrPolicy; 2] = [AttrPolicy::unused(), AttrPolicy::u32()];

/// The link type's ops, which identify xdpvlan devices.
static OPS: link::Ops<XdpVlan> = link::Ops::new();

#[vtable]
impl link::Driver for XdpVlan {
    const KIND: &'static CStr = c"xdpvlan";
    const OPS: &'static link::Ops<Self> = &OPS;
    const POLICY: &'static [AttrPolicy] = &POLICY;
    const ETHTOOL_STATS: &'static [&'static CStr] = &STAT_NAMES;
    const GRO: bool = true;

    type Data = Upper;

    fn setup(dev: &mut link::SetupDevice<'_>) {
        dev.ether_setup();
        dev.set_no_queue();
        dev.set_unicast_filter();
        dev.set_live_addr_change();
        dev.set_lltx();
        dev.set_mtu_range(68, 65535);
        dev.set_xdp_features(xdp_features::BASIC | xdp_features::REDIRECT | xdp_features::NDO_XMIT);
    }

    fn validate(attrs: &LinkAttrs<'_>, extack: &ExtAck) -> Result {
        if let Some(a) = attrs.address() {
            let Ok(addr) = <&MacAddr>::try_from(a) else {
                return Err(extack.err(EINVAL, c"the address must have 6 bytes"));
            };
            if !is_valid_ether_addr(addr) {
                return Err(extack.err(
                    EADDRNOTAVAIL,
                    c"the address must be a valid unicast address",
                ));
            }
        }
        if let Some(f) = attrs.data_u32(IFLA_XDPVLAN_FLAGS) {
            if f & !XDPVLAN_F_ALL != 0 {
                return Err(extack.err(EINVAL, c"unknown xdpvlan flags"));
            }
        }
        Ok(())
    }

    fn newlink(
        dev: &NewDevice<'_>,
        params: &NewLinkParams<'_>,
        extack: &ExtAck,
        rtnl: &Rtnl,
    ) -> Result<impl PinInit<Upper, Error>> {
        if params.attrs().link().is_none() {
            return Err(extack.err(
                EINVAL,
                c"xdpvlan needs a lower device: ip link add link DEV ...",
            ));
        }
        let Some(lower) = params.lower(rtnl) else {
            return Err(extack.err(ENODEV, c"the lower device does not exist"));
        };
        if !lower.is_ethernet() || lower.is_loopback() {
            return Err(extack.err(EINVAL, c"the lower device is not an Ethernet device"));
        }
        match params.attrs().mtu() {
            Some(m) if m > lower.mtu() => {
                return Err(extack.err(EINVAL, c"the MTU is larger than the lower device's"));
            }
            Some(_) => {}
            None => dev.set_mtu(lower.mtu()),
        }
        if params.attrs().address().is_none() {
            dev.set_random_addr();
        }
        let addr = dev.addr().ok_or(EINVAL)?;
        if lower.addr() == Some(addr) {
            return Err(extack.err(EADDRINUSE, c"the address is the lower device's"));
        }
        let port = Port::get_or_create(&lower, extack)?;
        if port.addr_busy(&addr, None) {
            return Err(extack.err(
                EADDRINUSE,
                c"another xdpvlan device on this lower device has this address",
            ));
        }
        let flags = params.attrs().data_u32(IFLA_XDPVLAN_FLAGS).unwrap_or(0);
        let stats = PcpuCounters::new(GFP_KERNEL)?;
        Ok(try_pin_init!(Upper {
            lower,
            port,
            flags,
            prog: ProgSlot::new(),
            stats,
            filter <- new_spinlock!(KVec::new()),
        }))
    }

    fn fill_info(dev: &Dev<Self>, msg: &mut InfoMsg<'_>) -> Result {
        msg.put_u32(IFLA_XDPVLAN_FLAGS, dev.data().flags)
    }

    fn lower(dev: &Dev<Self>) -> Option<&Device> {
        Some(&dev.data().get_ref().lower)
    }

    fn registered(
        dev: &Dev<Self>,
        _params: &NewLinkParams<'_>,
        extack: &ExtAck,
        rtnl: &Rtnl,
    ) -> Result {
        let data = dev.data();
        data.port.attach(&data.lower, extack, rtnl)?;
        // The link is undone by the core of the abstraction when the device is uninitialised,
        // also if this fails.
        if let Err(e) = dev.link_lower(&data.lower, extack, rtnl) {
            data.port.release_if_unused(rtnl);
            return Err(e);
        }
        if let Err(e) = data.port.add(dev) {
            data.port.release_if_unused(rtnl);
            return Err(e);
        }
        dev.transfer_operstate_from(&data.lower);
        Ok(())
    }

    fn uninit(dev: &Dev<Self>, rtnl: &Rtnl) {
        let data = dev.data();
        data.port.remove(dev);
        data.port.release_if_unused(rtnl);
        drop(data.prog.replace(None, rtnl));
    }

    fn open(dev: &Dev<Self>, rtnl: &Rtnl) -> Result {
        let data = dev.data();
        if let Some(a) = dev.addr() {
            data.lower.uc_add(&a, rtnl)?;
        }
        dev.transfer_operstate_from(&data.lower);
        Ok(())
    }

    fn stop(dev: &Dev<Self>, rtnl: &Rtnl) -> Result {
        let data = dev.data();
        dev.unsync_from_lower(rtnl);
        if let Some(a) = dev.addr() {
            let _ = data.lower.uc_del(&a, rtnl);
        }
        dev.set_carrier(false);
        Ok(())
    }

    fn set_rx_mode(dev: &Dev<Self>, mode: &RxMode<'_>) {
        let data = dev.data();
        // As every stacked device: addresses that do not fit the lower stay unsynced.
        let _ = mode.sync_to_lower();
        let mut f = KVec::new();
        for a in mode.uc_addrs() {
            if f.push(a, GFP_ATOMIC).is_err() {
                // All or nothing: the previous filter stays.
                pr_warn_once!(
                    "xdpvlan: out of memory updating a unicast filter, kept the old one\n"
                );
                return;
            }
        }
        {
            let mut cur = data.filter.lock();
            if cur[..] == f[..] {
                return;
            }
            *cur = f;
        }
        // The receive path sees the filter in the port's table, built again here even before
        // the device is in it: a writer that read the old filter then builds again.
        if data.port.update(Change::Filter, GFP_ATOMIC).is_err() {
            pr_warn_once!(
                "xdpvlan: out of memory updating a unicast filter; it takes effect with the next change\n"
            );
        }
    }

    fn set_mac_address(dev: &Dev<Self>, addr: &MacAddr, rtnl: &Rtnl) -> Result {
        let data = dev.data();
        if data.lower.addr().as_ref() == Some(addr) || data.port.addr_busy(addr, Some(dev)) {
            return Err(EADDRINUSE);
        }
        // Everything that can fail first: the lower's filter, the new table.
        let old = dev.addr();
        let running = dev.is_running();
        if running {
            data.lower.uc_add(addr, rtnl)?;
        }
        if let Err(e) = data.port.update(Change::Addr(dev, addr), GFP_KERNEL) {
            if running {
                let _ = data.lower.uc_del(addr, rtnl);
            }
            return Err(e);
        }
        if running {
            if let Some(o) = old {
                let _ = data.lower.uc_del(&o, rtnl);
            }
        }
        dev.set_addr(addr, rtnl);
        Ok(())
    }

    fn change_mtu(dev: &Dev<Self>, mtu: u32, _rtnl: &Rtnl) -> Result {
        if mtu > dev.data().lower.mtu() {
            return Err(EINVAL);
        }
        Ok(())
    }

    fn start_xmit(dev: &Dev<Self>, skb: SkBuff, ctx: &TxContext) {
        let len = skb.len();
        match skb.xmit(&dev.data().lower) {
            Ok(()) => dev.count_tx(ctx, 1, len),
            Err(_) => dev.count_tx_dropped(),
        }
    }

    fn xdp_setup_prog(
        dev: &Dev<Self>,
        prog: Option<&Prog>,
        _extack: &ExtAck,
        rtnl: &Rtnl,
    ) -> Result {
        drop(dev.data().prog.replace(prog.map(ARef::from), rtnl));
        Ok(())
    }

    fn xdp_xmit(dev: &Dev<Self>, frames: &mut XmitFrames<'_>, ctx: &TxContext) {
        let data = dev.data();
        for f in frames {
            let len = f.len();
            let sent = f
                .into_xmit_skb(&data.lower)
                .is_some_and(|skb| skb.xmit(&data.lower).is_ok());
            if sent {
                data.stats.inc_in(ctx, ST_XMIT);
                dev.count_tx(ctx, 1, len);
            } else {
                data.stats.inc_in(ctx, ST_XMIT_ERR);
                dev.count_tx_dropped();
            }
        }
    }

    fn ethtool_stats(dev: &Dev<Self>, out: &mut [u64]) {
        for (o, v) in out.iter_mut().zip(dev.data().stats.snapshot()) {
            *o = v;
        }
    }
}

/// Follows what happens to lower devices: state, MTU, removal.
struct LowerWatch;

impl notifier::Notifier for LowerWatch {
    fn notify(&self, event: Event, dev: &Device, rtnl: &Rtnl) {
        if !matches!(
            event,
            Event::Unregister | Event::Change | Event::Up | Event::Down | Event::ChangeMtu
        ) {
            return;
        }
        match event {
            Event::Unregister => {
                if dev.is_unregistering(rtnl) {
                    Self::unregister_uppers(dev, rtnl);
                }
                // Otherwise a move to another namespace: the uppers stay.
            }
            Event::ChangeMtu => {
                let g = rcu::read_lock();
                let mut uppers = KVec::new();
                let mut oom = false;
                for u in dev.uppers(&g).filter_map(Dev::<XdpVlan>::downcast) {
                    oom |= uppers.push(ARef::from(u), GFP_ATOMIC).is_err();
                }
                drop(g);
                if oom {
                    pr_warn!("xdpvlan: out of memory adjusting uppers to a lower MTU\n");
                }
                // Setting the MTU sleeps: outside the walk.
                for u in uppers {
                    if u.mtu() > dev.mtu() {
                        let _ = u.set_mtu(dev.mtu(), rtnl);
                    }
                }
            }
            _ => {
                for u in dev
                    .uppers(&rcu::read_lock())
                    .filter_map(Dev::<XdpVlan>::downcast)
                {
                    u.transfer_operstate_from(dev);
                }
            }
        }
    }
}

impl LowerWatch {
    /// Unregisters the xdpvlan uppers of a lower device that is going away, without
    /// allocating: one at a time, outside the walk (unregistering sleeps). An upper that is
    /// already being unregistered (with the lower, in the same batch) is skipped.
    fn unregister_uppers(lower: &Device, rtnl: &Rtnl) {
        let port = lower
            .uppers(&rcu::read_lock())
            .find_map(|u| Dev::<XdpVlan>::downcast(u).map(|d| d.data().port.clone()));
        // All of the lower's uppers go: one grace period rather than one each.
        if let Some(p) = port {
            p.clear();
        }
        let mut skip = 0;
        loop {
            let next = lower
                .uppers(&rcu::read_lock())
                .filter_map(Dev::<XdpVlan>::downcast)
                .nth(skip)
                .map(ARef::from);
            let Some(u) = next else {
                break;
            };
            // An unregistered upper leaves the lower's list (`uninit` unlinks it); one that
            // stays is passed over next time.
            if !u.unregister(rtnl) {
                skip += 1;
            }
        }
    }
}

#[pin_data]
struct XdpVlanModule {
    #[pin]
    link: link::Registration<XdpVlan>,
    #[pin]
    notifier: notifier::Registration<LowerWatch>,
}

impl kernel::InPlaceModule for XdpVlanModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            link <- link::Registration::new(),
            notifier <- notifier::Registration::new(LowerWatch),
        })
    }
}
