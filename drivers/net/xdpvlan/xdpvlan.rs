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
        device::{is_multicast_ether_addr, is_valid_ether_addr, Device, MacAddr, ETH_ALEN},
        link::{
            self, xdp_features, AttrPolicy, Dev, ExtAck, InfoMsg, LinkAttrs, NewDevice,
            NewLinkParams, RxMode,
        },
        notifier::{self, Event},
        rcu::RcuArc,
        rtnl::Rtnl,
        rx_handler::{self, PassOn, Ran, RxContext, RxHandler, RxResult, XdpRx, XdpVerdict},
        skb::{SkBuff, ETH_HLEN},
        stats::PcpuCounters,
        xdp::{self, Action, Prog, ProgSlot, XmitFrames},
    },
    new_mutex, pr_warn_once,
    prelude::*,
    sync::{aref::ARef, rcu, Arc, Mutex, UniqueArc},
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
    /// receives first (updated in `ndo_set_rx_mode`, read by the lower's receive path).
    filter: RcuArc<KVec<MacAddr>>,
}

/// An upper device as the receive path finds it.
struct Entry {
    addr: MacAddr,
    dev: ARef<Dev<XdpVlan>>,
}

/// The uppers of a lower device, as the receive path finds them.
type Table = KVec<Entry>;

/// The receive side of a lower device: its xdpvlan uppers, by address.
struct Demux {
    uppers: RcuArc<Table>,
}

impl Demux {
    /// Finds the upper that receives unicast frames for `dst`: the one with that address, or
    /// else one with `dst` in its filter (a device stacked on it has the address). The flag
    /// tells whether the frame is for the upper itself.
    fn lookup<'a>(&'a self, dst: &MacAddr, g: &'a rcu::Guard) -> Option<(&'a Dev<XdpVlan>, bool)> {
        let table = self.uppers.get(g)?;
        if let Some(e) = table.iter().find(|e| &e.addr == dst) {
            return Some((&e.dev, true));
        }
        table
            .iter()
            .find(|e| {
                e.dev
                    .data()
                    .get_ref()
                    .filter
                    .get(g)
                    .is_some_and(|f| f.contains(dst))
            })
            .map(|e| (&*e.dev, false))
    }
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
    /// An empty table with room for all uppers but one (see [`Port::add`]).
    #[pin]
    spare: Mutex<Option<UniqueArc<Table>>>,
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
                uppers: RcuArc::new(None),
            },
            GFP_KERNEL,
        )?;
        Arc::pin_init(
            pin_init!(Port {
                demux,
                reg <- new_mutex!(None),
                spare <- new_mutex!(None),
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
        self.demux.uppers.get(&g).is_some_and(|t| {
            t.iter()
                .any(|e| &e.addr == addr && !except.is_some_and(|x| x.is(&e.dev)))
        })
    }

    /// Publishes `new` as the uppers' table (an empty one as none) and keeps the old one's
    /// memory as the spare, emptied, if nobody else holds it (after the grace period that
    /// `replace` waits for, only an unlucky `get_arc` could).
    fn publish(&self, new: Option<Arc<Table>>) {
        let new = new.filter(|t| !t.is_empty());
        if let Some(old) = self.demux.uppers.replace(new) {
            if let Some(old) = Arc::into_unique_or_drop(old) {
                let mut old = Pin::into_inner(old);
                // Drops the old table's references to the uppers.
                old.clear();
                let mut spare = self.spare.lock();
                if spare.as_ref().is_none_or(|s| s.capacity() < old.capacity()) {
                    *spare = Some(old);
                }
            }
        }
    }

    /// Returns a copy of the table with `add` added and `addr` as the address of `changed`,
    /// in new memory. Fails with `ENOMEM`, changing nothing.
    fn build(
        &self,
        add: Option<&Dev<XdpVlan>>,
        changed: Option<(&Device, &MacAddr)>,
    ) -> Result<Arc<Table>> {
        // A reference of our own, dropped before the table is replaced (see `publish`).
        let old = self.demux.uppers.get_arc();
        let n = old.as_ref().map_or(0, |t| t.len()) + usize::from(add.is_some());
        let mut t = KVec::with_capacity(n, GFP_KERNEL)?;
        for e in old.iter().flat_map(|o| o.iter()) {
            let addr = match changed {
                Some((c, a)) if c.is(&e.dev) => *a,
                _ => e.addr,
            };
            t.push(
                Entry {
                    addr,
                    dev: e.dev.clone(),
                },
                GFP_KERNEL,
            )?;
        }
        drop(old);
        if let Some(d) = add {
            t.push(
                Entry {
                    addr: d.addr().unwrap_or([0; ETH_ALEN]),
                    dev: d.into(),
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Arc::new(t, GFP_KERNEL)?)
    }

    /// Adds an upper to the table. Also makes sure that there is a spare table with room for
    /// all but one of the uppers, so that [`Port::remove`] needs no memory.
    fn add(&self, d: &Dev<XdpVlan>) -> Result {
        let new = self.build(Some(d), None)?;
        let need = new.len() - 1;
        {
            let mut spare = self.spare.lock();
            if spare.as_ref().is_none_or(|s| s.capacity() < need) {
                *spare = Some(UniqueArc::new(
                    KVec::with_capacity(need, GFP_KERNEL)?,
                    GFP_KERNEL,
                )?);
            }
        }
        self.publish(Some(new));
        Ok(())
    }

    /// Removes an upper from the table, in its teardown: without allocating (the spare table
    /// has room), so that it cannot fail and leave a reference that unregistration would wait
    /// for forever. Waits for one grace period.
    fn remove(&self, d: &Device) {
        // Taking a reference allocates nothing; it is dropped before the table is replaced.
        let Some(old) = self.demux.uppers.get_arc() else {
            return;
        };
        if !old.iter().any(|e| d.is(&e.dev)) {
            return;
        }
        let spare = self.spare.lock().take();
        let Some(mut t) = spare else {
            // Only if recycling a table failed, which nothing but a racing `get_arc` causes.
            drop(old);
            pr_warn!("xdpvlan: no spare table; removing an upper empties its lower's table\n");
            self.publish(None);
            return;
        };
        for e in old.iter().filter(|e| !d.is(&e.dev)) {
            // `add` made the spare big enough: this cannot fail.
            let _ = t.push_within_capacity(Entry {
                addr: e.addr,
                dev: e.dev.clone(),
            });
        }
        drop(old);
        self.publish(Some(t.into()));
    }

    /// Empties the table, when the lower device goes away with all its uppers: one grace
    /// period for all of them rather than one each.
    fn clear(&self) {
        self.publish(None);
    }

    /// Unregisters the rx handlers if no upper is left. Called with RTNL held.
    fn release_if_unused(&self, rtnl: &Rtnl) {
        let g = rcu::read_lock();
        let empty = self.demux.uppers.get(&g).is_none();
        drop(g);
        if empty {
            if let Some(reg) = self.reg.lock().take() {
                reg.unregister(rtnl);
            }
        }
    }
}

impl Upper {
    fn count_act(&self, act: Action) {
        self.stats.inc(action_stat(act));
    }

    /// Runs the device's program in generic mode on an skb received for it; returns the skb if
    /// the program passed it (or if there is no program).
    fn run_prog_skb(&self, skb: SkBuff, ctx: &RxContext) -> Option<SkBuff> {
        let Some(prog) = self.prog.get(ctx.rcu()) else {
            return Some(skb);
        };
        let (act, skb) = xdp::run_generic(prog, skb, ctx);
        self.count_act(act);
        skb
    }
}

impl Demux {
    /// Hands a clone of a multicast skb to `up`, through its program, via the backlog.
    fn deliver_clone(up: &Dev<XdpVlan>, skb: &SkBuff, ctx: &RxContext) {
        if !up.is_running() {
            return;
        }
        let Ok(mut c) = skb.try_clone() else {
            up.count_rx_dropped();
            return;
        };
        c.set_dev(up);
        let len = c.len() + ETH_HLEN as u32;
        let data = up.data();
        data.stats.inc(ST_RX_SKB);
        if let Some(c) = data.run_prog_skb(c, ctx) {
            up.count_rx(len);
            c.rx();
        }
    }
}

#[vtable]
impl RxHandler for Demux {
    fn handle_skb(&self, skb: SkBuff, ctx: &RxContext) -> RxResult {
        let Some(dst) = skb.eth_dest() else {
            return RxResult::Pass(skb);
        };
        let g = ctx.rcu();
        let Some(table) = self.uppers.get(g) else {
            return RxResult::Pass(skb);
        };
        if is_multicast_ether_addr(&dst) {
            for e in table.iter() {
                Self::deliver_clone(&e.dev, &skb, ctx);
            }
            return RxResult::Pass(skb);
        }
        let Some((up, own)) = self.lookup(&dst, g) else {
            return RxResult::Pass(skb);
        };
        if !up.is_running() {
            up.count_rx_dropped();
            drop(skb);
            return RxResult::Consumed;
        }
        let Some(mut skb) = skb.unshare() else {
            up.count_rx_dropped();
            return RxResult::Consumed;
        };
        skb.set_dev(up);
        if own {
            skb.set_pkt_type(PACKET_HOST);
        }
        let len = skb.len() + ETH_HLEN as u32;
        let data = up.data();
        data.stats.inc(ST_RX_SKB);
        match data.run_prog_skb(skb, ctx) {
            Some(skb) => {
                up.count_rx(len);
                RxResult::Another(skb)
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
        let g = rcu::read_lock();
        let Some((up, _)) = self.lookup(&dst, &g) else {
            return xdp.fallback();
        };
        let data = up.data();
        if data.flags & XDPVLAN_F_NO_NATIVE != 0 {
            return xdp.fallback();
        }
        let prog = data.prog.get(&g);
        if xdp.buff().has_frags() && prog.is_some_and(|p| !p.supports_frags()) {
            data.stats.inc(ST_FALLBACK);
            return xdp.fallback();
        }
        if !up.is_running() {
            up.count_rx_dropped();
            return xdp.drop_frame();
        }
        data.stats.inc(ST_RX_NATIVE);
        let len = xdp.buff().len() as u32;
        let ran = match prog {
            None => xdp.enter(up),
            Some(p) => {
                let ran = xdp.run(p, up);
                data.count_act(ran.action());
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
        up.count_rx(len);
        match ran.pass_on() {
            PassOn::Done(v) => v,
            PassOn::Declined(ran) => match ran.into_skb() {
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
            filter: RcuArc::new(None),
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
        if let Err(e) = data.lower.link_upper(dev, extack, rtnl) {
            data.port.release_if_unused(rtnl);
            return Err(e);
        }
        if let Err(e) = data.port.add(dev) {
            data.lower.unlink_upper(dev, rtnl);
            data.port.release_if_unused(rtnl);
            return Err(e);
        }
        dev.transfer_operstate_from(&data.lower);
        Ok(())
    }

    fn uninit(dev: &Dev<Self>, rtnl: &Rtnl) {
        let data = dev.data();
        data.port.remove(dev);
        data.lower.unlink_upper(dev, rtnl);
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
        dev.unsync_addr_lists_from(&data.lower);
        if let Some(a) = dev.addr() {
            let _ = data.lower.uc_del(&a, rtnl);
        }
        dev.set_carrier(false);
        Ok(())
    }

    fn set_rx_mode(dev: &Dev<Self>, mode: &RxMode<'_>) {
        let data = dev.data();
        // As every stacked device: addresses that do not fit the lower stay unsynced.
        let _ = mode.sync_to(&data.lower);
        let build = || -> Result<Option<Arc<KVec<MacAddr>>>> {
            let mut f = KVec::new();
            for a in mode.uc_addrs() {
                f.push(a, GFP_ATOMIC)?;
            }
            Ok(if f.is_empty() {
                None
            } else {
                Some(Arc::new(f, GFP_ATOMIC)?)
            })
        };
        // All or nothing: on failure the previous filter stays.
        if build()
            .and_then(|new| data.filter.replace_deferred(new))
            .is_err()
        {
            pr_warn_once!("xdpvlan: out of memory updating a unicast filter, kept the old one\n");
        }
    }

    fn set_mac_address(dev: &Dev<Self>, addr: &MacAddr, rtnl: &Rtnl) -> Result {
        let data = dev.data();
        if data.lower.addr().as_ref() == Some(addr) || data.port.addr_busy(addr, Some(dev)) {
            return Err(EADDRINUSE);
        }
        // Everything that can fail first: the new table, the lower's filter.
        let table = data.port.build(None, Some((dev, addr)))?;
        let old = dev.addr();
        if dev.is_running() {
            data.lower.uc_add(addr, rtnl)?;
            if let Some(o) = old {
                let _ = data.lower.uc_del(&o, rtnl);
            }
        }
        dev.set_addr(addr, rtnl);
        data.port.publish(Some(table));
        Ok(())
    }

    fn change_mtu(dev: &Dev<Self>, mtu: u32, _rtnl: &Rtnl) -> Result {
        if mtu > dev.data().lower.mtu() {
            return Err(EINVAL);
        }
        Ok(())
    }

    fn start_xmit(dev: &Dev<Self>, mut skb: SkBuff) {
        let len = skb.len();
        skb.set_dev(&dev.data().lower);
        match skb.xmit() {
            Ok(()) => dev.count_tx(1, len),
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

    fn xdp_xmit(dev: &Dev<Self>, frames: &mut XmitFrames<'_>) {
        let data = dev.data();
        for f in frames {
            let len = f.len();
            let sent = f
                .into_xmit_skb(&data.lower)
                .is_some_and(|skb| skb.xmit().is_ok());
            if sent {
                data.stats.inc(ST_XMIT);
                dev.count_tx(1, len);
            } else {
                data.stats.inc(ST_XMIT_ERR);
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
