// SPDX-License-Identifier: GPL-2.0

//! Link types: network devices created with `ip link add ... type <kind>`.
//!
//! A driver implements [`Driver`] (the `rtnl_link_ops` of its link type and the
//! `net_device_ops` of its devices), declares the link type's [`Ops`] as a `static` (its
//! address identifies the driver's devices) and keeps a [`Registration`] for as long as the
//! module is loaded. Its devices are [`Dev<T>`]: a [`Device`] with the driver's private data
//! ([`Driver::Data`]), pin-initialised when the device is created and dropped exactly once
//! after it is gone.
//!
//! The life of a device:
//!
//! 1. [`Driver::setup`] when the core allocates it (set the device type and its flags);
//! 2. [`Driver::validate`], then [`Driver::newlink`], which checks the request (lower device,
//!    addresses, MTU) and returns the initialiser of the private data;
//! 3. the device is registered, then [`Driver::registered`] links it into the driver's
//!    structures (if that fails the device is unregistered again);
//! 4. the `ndo_*` callbacks run while it exists;
//! 5. [`Driver::uninit`] when it is unregistered, for whatever reason (`ip link del`, the lower
//!    device or the namespace going away, the module being unloaded), with RTNL held: release
//!    everything that needs RTNL here;
//! 6. the private data is dropped when the last reference to the device is gone.
//!
//! C header: [`include/net/rtnetlink.h`](srctree/include/net/rtnetlink.h)

use super::{
    context::BhDisabled,
    device::{is_valid_ether_addr, Device, MacAddr, Net},
    rtnl::Rtnl,
    skb::SkBuff,
    xdp::{Prog, XmitFrames},
};
use crate::{
    bindings,
    error::{from_result, to_result, VTABLE_DEFAULT_ERROR},
    prelude::*,
    str::as_char_ptr_in_const_context,
    sync::aref::{ARef, AlwaysRefCounted},
    types::{NotThreadSafe, Opaque},
};
use pin_init::PinInit;

use core::{
    marker::PhantomData,
    mem::MaybeUninit,
    ops::Deref,
    ptr::{self, NonNull},
    sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, Ordering},
};

/// The extended acknowledgment of a netlink request, where errors are explained to the user
/// (`ip` prints the message).
///
/// # Invariants
///
/// The pointer is null or the valid extack of the request being handled; objects are only made
/// by the callbacks of this module and lent out by reference for the callback.
pub struct ExtAck(*mut bindings::netlink_ext_ack);

impl ExtAck {
    /// Returns the raw pointer (null if the request has none).
    pub fn as_raw(&self) -> *mut bindings::netlink_ext_ack {
        self.0
    }

    /// Sets the error message (`NL_SET_ERR_MSG()`).
    pub fn set_msg(&self, msg: &'static CStr) {
        if !self.0.is_null() {
            // SAFETY: A non-null extack is valid for the duration of the request; the message
            // is static, as the C macro requires.
            unsafe { (*self.0)._msg = msg.as_char_ptr() };
        }
    }

    /// Sets the error message and returns `err`, for `return Err(extack.err(EINVAL, c"..."))`.
    pub fn err(&self, err: Error, msg: &'static CStr) -> Error {
        self.set_msg(msg);
        err
    }
}

/// The validation policy of one `IFLA_INFO_DATA` attribute (`struct nla_policy`).
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct AttrPolicy(bindings::nla_policy);

// SAFETY: A policy is immutable data.
unsafe impl Sync for AttrPolicy {}

impl AttrPolicy {
    const fn of_type(t: u32) -> Self {
        // SAFETY: An all-zero `nla_policy` is valid (`NLA_UNSPEC`, no validation).
        let mut p: bindings::nla_policy = unsafe { MaybeUninit::zeroed().assume_init() };
        p.type_ = t as u8;
        Self(p)
    }

    /// An unused attribute number (attribute 0, or a gap).
    pub const fn unused() -> Self {
        Self::of_type(bindings::NLA_UNSPEC)
    }

    /// A 32-bit unsigned attribute.
    pub const fn u32() -> Self {
        Self::of_type(bindings::NLA_U32)
    }

    /// A flag attribute (present or not).
    pub const fn flag() -> Self {
        Self::of_type(bindings::NLA_FLAG)
    }

    fn is(&self, t: u32) -> bool {
        u32::from(self.0.type_) == t
    }

    /// The room a dump of the attribute takes (`nla_total_size()` of its payload).
    const fn dump_size(&self) -> usize {
        let payload = if self.0.type_ as u32 == bindings::NLA_U32 {
            4
        } else {
            0
        };
        if self.0.type_ as u32 == bindings::NLA_UNSPEC {
            0
        } else {
            // `NLA_ALIGN(NLA_HDRLEN + payload)`; the header is 4 bytes, already aligned.
            (core::mem::size_of::<bindings::nlattr>() + payload + 3) & !3
        }
    }
}

/// A netlink message being filled with a device's link type attributes (see
/// [`Driver::fill_info`]).
///
/// Only attributes of the link type's [`Driver::POLICY`] can be put, with their policy's type,
/// each once (`EEXIST` for a second time), and only types below 64: the core reserved room for
/// exactly those (`get_size`), and a message that overflows it makes `rtnl_getlink()` warn.
///
/// # Invariants
///
/// `skb` is the message that the `fill_info` call being handled fills, for `'a`; `policy` is the
/// link type's policy; bit `n` of `put` is set if attribute `n` was put.
pub struct InfoMsg<'a> {
    skb: *mut bindings::sk_buff,
    policy: &'static [AttrPolicy],
    put: u64,
    _p: PhantomData<&'a mut ()>,
}

impl InfoMsg<'_> {
    fn put(&mut self, ty: u16, t: u32, data: &[u8]) -> Result {
        if !self.policy.get(usize::from(ty)).is_some_and(|p| p.is(t)) || ty == 0 {
            return Err(EINVAL);
        }
        let bit = 1u64.checked_shl(u32::from(ty)).ok_or(EINVAL)?;
        if self.put & bit != 0 {
            return Err(EEXIST);
        }
        // SAFETY: `skb` is the message of the `fill_info` call that lent `self`; `data` is
        // readable for its length. `nla_put` fails with `EMSGSIZE` rather than overflow.
        to_result(unsafe {
            bindings::nla_put(
                self.skb,
                c_int::from(ty),
                data.len() as c_int,
                data.as_ptr().cast(),
            )
        })?;
        // INVARIANT: Attribute `ty` is in the message now.
        self.put |= bit;
        Ok(())
    }

    /// Puts the `u32` attribute `ty` (of type [`AttrPolicy::u32`] in the policy).
    pub fn put_u32(&mut self, ty: u16, val: u32) -> Result {
        self.put(ty, bindings::NLA_U32, &val.to_ne_bytes())
    }

    /// Puts the flag attribute `ty` (of type [`AttrPolicy::flag`] in the policy).
    pub fn put_flag(&mut self, ty: u16) -> Result {
        self.put(ty, bindings::NLA_FLAG, &[])
    }
}

/// Calls `f` with the type and payload of each attribute in `buf` (a stream of netlink
/// attributes); stops at a malformed one.
fn for_each_attr(mut buf: &[u8], mut f: impl FnMut(u16, &[u8])) {
    const HDR: usize = 4;
    while buf.len() >= HDR {
        let len = usize::from(u16::from_ne_bytes([buf[0], buf[1]]));
        let ty = u16::from_ne_bytes([buf[2], buf[3]]) & (bindings::NLA_TYPE_MASK as u16);
        if len < HDR || len > buf.len() {
            return;
        }
        f(ty, &buf[HDR..len]);
        buf = &buf[((len + 3) & !3).min(buf.len())..];
    }
}

/// Returns the payload of a parsed attribute.
///
/// # Safety
///
/// `nla` must be null or a valid attribute that lives for `'a`.
unsafe fn payload<'a>(nla: *const bindings::nlattr) -> Option<&'a [u8]> {
    if nla.is_null() {
        return None;
    }
    // SAFETY: A valid attribute has `nla_len >= NLA_HDRLEN` (checked by the parser) readable
    // bytes, payload after the 4-byte header.
    unsafe {
        let len = usize::from((*nla).nla_len).saturating_sub(4);
        Some(core::slice::from_raw_parts(nla.cast::<u8>().add(4), len))
    }
}

fn as_u32(p: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(p.get(..4)?.try_into().ok()?))
}

/// The attributes of a link request: the generic `IFLA_*` ones and the link type's
/// `IFLA_INFO_DATA` ones, already validated against their policies.
///
/// # Invariants
///
/// `tb` is null or has `IFLA_MAX + 1` entries, `data` is null or has `ndata` entries, each entry
/// null or a valid attribute of the request, for `'a`.
pub struct LinkAttrs<'a> {
    tb: *mut *mut bindings::nlattr,
    data: *mut *mut bindings::nlattr,
    ndata: usize,
    _p: PhantomData<&'a ()>,
}

impl<'a> LinkAttrs<'a> {
    fn ifla(&self, idx: u32) -> Option<&'a [u8]> {
        if self.tb.is_null() || idx >= bindings::__IFLA_MAX {
            return None;
        }
        // SAFETY: `tb` has `IFLA_MAX + 1` entries, each null or a valid attribute of the request.
        unsafe { payload(*self.tb.add(idx as usize)) }
    }

    /// Returns the index of the lower device (`IFLA_LINK`), if given.
    pub fn link(&self) -> Option<i32> {
        as_u32(self.ifla(bindings::IFLA_LINK)?).map(|v| v as i32)
    }

    /// Returns the requested hardware address (`IFLA_ADDRESS`), if given. The core has already
    /// set it on a new device.
    pub fn address(&self) -> Option<&'a [u8]> {
        self.ifla(bindings::IFLA_ADDRESS)
    }

    /// Returns the requested MTU (`IFLA_MTU`), if given. The core has already set it on a new
    /// device.
    pub fn mtu(&self) -> Option<u32> {
        as_u32(self.ifla(bindings::IFLA_MTU)?)
    }

    /// Returns the payload of the link type's attribute `ty`, if given.
    pub fn data(&self, ty: u16) -> Option<&'a [u8]> {
        let ty = usize::from(ty);
        if self.data.is_null() || ty >= self.ndata {
            return None;
        }
        // SAFETY: `data` has one entry per policy entry, each null or a valid attribute.
        unsafe { payload(*self.data.add(ty)) }
    }

    /// Returns the link type's `u32` attribute `ty`, if given.
    pub fn data_u32(&self, ty: u16) -> Option<u32> {
        as_u32(self.data(ty)?)
    }

    /// Returns whether the link type's flag attribute `ty` is given.
    pub fn data_flag(&self, ty: u16) -> bool {
        self.data(ty).is_some()
    }

    /// Returns the types of the `IFLA_INFO_DATA` attributes that are not below `max`.
    fn first_unknown_data(&self, max: usize) -> Option<u16> {
        let info = self.ifla(bindings::IFLA_LINKINFO)?;
        let mut unknown = None;
        for_each_attr(info, |ty, p| {
            if u32::from(ty) == bindings::IFLA_INFO_DATA {
                for_each_attr(p, |t, _| {
                    if (t == 0 || usize::from(t) >= max) && unknown.is_none() {
                        unknown = Some(t);
                    }
                });
            }
        });
        unknown
    }
}

/// The parameters of a request to create a device (`struct rtnl_newlink_params`).
///
/// # Invariants
///
/// `raw` points to the valid parameters of the request being handled, for `'a`, and `attrs`
/// are its attributes.
pub struct NewLinkParams<'a> {
    raw: *mut bindings::rtnl_newlink_params,
    attrs: LinkAttrs<'a>,
}

impl<'a> NewLinkParams<'a> {
    /// Returns the attributes of the request.
    pub fn attrs(&self) -> &LinkAttrs<'a> {
        &self.attrs
    }

    /// Returns the namespace in which `IFLA_LINK` is looked up (`rtnl_newlink_link_net()`).
    pub fn link_net(&self) -> &'a Net {
        // SAFETY: The parameters are valid during the request, and so are their namespaces.
        unsafe {
            let p = &*self.raw;
            Net::from_raw(if p.link_net.is_null() {
                p.src_net
            } else {
                p.link_net
            })
        }
    }

    /// Returns the lower device named by `IFLA_LINK`, with a reference.
    pub fn lower(&self, rtnl: &Rtnl) -> Option<ARef<Device>> {
        self.link_net().device_by_index(self.attrs.link()?, rtnl)
    }
}

/// Flags of `xdp_features`: what the XDP support of a device can do.
pub mod xdp_features {
    use crate::bindings;

    /// The device runs native XDP programs (`NETDEV_XDP_ACT_BASIC`).
    pub const BASIC: u32 = bindings::netdev_xdp_act_NETDEV_XDP_ACT_BASIC;
    /// Its programs can redirect (`NETDEV_XDP_ACT_REDIRECT`).
    pub const REDIRECT: u32 = bindings::netdev_xdp_act_NETDEV_XDP_ACT_REDIRECT;
    /// It can be the target of a redirect (`NETDEV_XDP_ACT_NDO_XMIT`).
    pub const NDO_XMIT: u32 = bindings::netdev_xdp_act_NETDEV_XDP_ACT_NDO_XMIT;
    /// It can be the target of a redirect of multi-buffer frames
    /// (`NETDEV_XDP_ACT_NDO_XMIT_SG`).
    pub const NDO_XMIT_SG: u32 = bindings::netdev_xdp_act_NETDEV_XDP_ACT_NDO_XMIT_SG;
}

/// A device being set up, right after allocation (see [`Driver::setup`]).
///
/// # Invariants
///
/// `dev` is a device just allocated by the core, which nobody else sees, for `'a`.
pub struct SetupDevice<'a> {
    dev: *mut bindings::net_device,
    _p: PhantomData<&'a mut ()>,
}

impl SetupDevice<'_> {
    /// Sets up an Ethernet device (`ether_setup()`): type, header ops, MTU 1500, broadcast
    /// address, flags.
    pub fn ether_setup(&mut self) {
        // SAFETY: The device is being set up and not visible to anyone else.
        unsafe { bindings::ether_setup(self.dev) };
    }

    /// Sets the MTU range that `ip link set mtu` accepts.
    pub fn set_mtu_range(&mut self, min: u32, max: u32) {
        // SAFETY: See `ether_setup`.
        unsafe {
            (*self.dev).min_mtu = min;
            (*self.dev).max_mtu = max;
        }
    }

    fn add_priv_flags(&mut self, flags: u32) {
        // SAFETY: See `ether_setup`; the flags are a bitfield of the first cacheline group.
        unsafe {
            let f = &mut (*self.dev).__bindgen_anon_1.__bindgen_anon_1;
            f.set_priv_flags(f.priv_flags() | flags as c_ulong);
        }
    }

    /// The device filters unicast addresses itself (`IFF_UNICAST_FLT`): addresses added to it
    /// (by devices stacked on it) do not make it promiscuous.
    pub fn set_unicast_filter(&mut self) {
        self.add_priv_flags(bindings::netdev_priv_flags_IFF_UNICAST_FLT);
    }

    /// The device has no transmit queue of its own (`IFF_NO_QUEUE`), as stacked devices.
    pub fn set_no_queue(&mut self) {
        self.add_priv_flags(bindings::netdev_priv_flags_IFF_NO_QUEUE);
    }

    /// The address can change while the device is up (`IFF_LIVE_ADDR_CHANGE`).
    pub fn set_live_addr_change(&mut self) {
        self.add_priv_flags(bindings::netdev_priv_flags_IFF_LIVE_ADDR_CHANGE);
    }

    /// The driver does its own transmit locking (`lltx`): the core does not take the transmit
    /// queue lock around `ndo_start_xmit`, as for every stacked device.
    pub fn set_lltx(&mut self) {
        // SAFETY: See `add_priv_flags`.
        unsafe { (*self.dev).__bindgen_anon_1.__bindgen_anon_1.set_lltx(1) };
    }

    /// Sets what the device's XDP support can do (see [`xdp_features`]). Features the driver's
    /// callbacks cannot back are cleared after [`Driver::setup`]: [`xdp_features::NDO_XMIT`]
    /// and [`xdp_features::NDO_XMIT_SG`] without [`Driver::xdp_xmit`],
    /// [`xdp_features::BASIC`] and [`xdp_features::REDIRECT`] without
    /// [`Driver::xdp_setup_prog`], and every bit that [`xdp_features`] does not name.
    pub fn set_xdp_features(&mut self, features: u32) {
        // SAFETY: See `ether_setup`.
        unsafe { (*self.dev).xdp_features = features };
    }
}

/// The context of [`Driver::set_rx_mode`]: the device's address lists are locked.
///
/// # Invariants
///
/// `dev` is the device whose `ndo_set_rx_mode` is running, with its address list lock held,
/// for as long as the object exists (it is only lent out by reference to the callback).
/// `lower` is the lower device linked to it with [`Dev::link_lower`] when the callback began, if
/// any: linked devices form no cycle, so its address list lock is not the one held.
pub struct RxMode<'a> {
    dev: &'a Device,
    lower: Option<&'a Device>,
}

impl RxMode<'_> {
    /// Returns the device's unicast filter: the addresses that devices stacked on it added
    /// (`netdev_for_each_uc_addr()`). Empty for a device without 6-byte addresses.
    pub fn uc_addrs(&self) -> UcAddrs<'_> {
        let d = self.dev.as_raw();
        // SAFETY: The device is valid; its unicast list is walked under the address list lock,
        // which is held (type invariants).
        let head = unsafe { &raw mut (*d).uc.list };
        // An empty walk for addresses of another length.
        let pos = if self.dev.is_ethernet() {
            // SAFETY: As above.
            unsafe { (*head).next }
        } else {
            head
        };
        // INVARIANT: `pos` is the first entry or the head, of a list locked for the borrow.
        UcAddrs {
            head,
            pos,
            _p: PhantomData,
        }
    }

    /// Synchronises the device's unicast and multicast address lists into the lower device
    /// linked with [`Dev::link_lower`] (`dev_uc_sync()`, `dev_mc_sync()`), as a stacked device
    /// does; undone by [`Dev::unsync_from_lower`]. Fails with `ENODEV` if no lower device is
    /// linked, `EINVAL` if the address lengths differ, or `ENOMEM`, changing nothing.
    ///
    /// Only the linked lower: syncing into the device itself, or into a device that syncs back
    /// into this one, would take an address list lock already held (the core refuses links
    /// that make a cycle).
    pub fn sync_to_lower(&self) -> Result {
        let lower = self.lower.ok_or(ENODEV)?;
        // SAFETY: Both devices are valid. By the type invariants this device's address list
        // lock is held, which the functions require of the source, and `lower` is a lower
        // device of it, whose lock they take themselves (nested, as lockdep knows stacked
        // devices); they check that the address lengths match.
        to_result(unsafe { bindings::dev_uc_sync(lower.as_raw(), self.dev.as_raw()) })?;
        // SAFETY: As above.
        to_result(unsafe { bindings::dev_mc_sync(lower.as_raw(), self.dev.as_raw()) })
    }
}

/// The unicast filter of a device in [`Driver::set_rx_mode`]; see [`RxMode::uc_addrs`].
///
/// # Invariants
///
/// `pos` is `head` (the end) or an entry of the list `head` of a device whose address list lock
/// is held for `'a`.
pub struct UcAddrs<'a> {
    head: *mut bindings::list_head,
    pos: *mut bindings::list_head,
    _p: PhantomData<&'a ()>,
}

impl Iterator for UcAddrs<'_> {
    type Item = MacAddr;

    fn next(&mut self) -> Option<MacAddr> {
        if ptr::eq(self.pos, self.head) {
            return None;
        }
        // SAFETY: By the type invariants `pos` is the `list` field of a `netdev_hw_addr` of a
        // list that cannot change while the lock is held; its address has room for
        // `MAX_ADDR_LEN` bytes, of which the device's 6 are used.
        unsafe {
            let ha = crate::container_of!(self.pos, bindings::netdev_hw_addr, list);
            let a = ptr::read((&raw const (*ha).addr).cast::<MacAddr>());
            // INVARIANT: The next entry, or the head.
            self.pos = (*self.pos).next;
            Some(a)
        }
    }
}

/// A new device in [`Driver::newlink`], before it is registered.
///
/// It gives access to what a driver sets up before registration, and nothing of [`Device`]:
/// an unregistered device must not be held, linked or given handlers, as it is freed without
/// waiting for references if the request fails.
pub struct NewDevice<'a> {
    dev: &'a Device,
}

impl NewDevice<'_> {
    /// Returns the device's hardware address, if it is an Ethernet address (the one
    /// requested with `IFLA_ADDRESS`, or all zeroes).
    pub fn addr(&self) -> Option<MacAddr> {
        self.dev.addr()
    }

    /// Gives the device a random locally administered address (`eth_hw_addr_random()`).
    pub fn set_random_addr(&self) {
        // SAFETY: The device is not registered yet; only this request uses it.
        unsafe { bindings::eth_hw_addr_random(self.dev.as_raw()) };
    }

    /// Sets the device's MTU.
    pub fn set_mtu(&self, mtu: u32) {
        // SAFETY: See `set_random_addr`.
        unsafe { (*self.dev.as_raw()).mtu = mtu };
    }
}

/// The private area of a device of a [`Driver`].
#[repr(C)]
struct Priv<T: Driver> {
    /// One of the `STATE_*` values.
    state: AtomicU8,
    /// How many of the driver's callbacks that the core goes on with the device after
    /// (`open`, `stop`, `set_mac_address`, `change_mtu`, `xdp_setup_prog`) are running on it;
    /// changed only under RTNL. [`Dev::unregister`] refuses to unregister the device meanwhile.
    in_callback: AtomicU8,
    /// Whether the driver's `change_mtu` is running on the device; changed only under RTNL. A
    /// change of the device's MTU from within it is refused (see `ndo_change_mtu`).
    in_change_mtu: AtomicBool,
    /// The lower device linked with [`Dev::link_lower`], with a reference (`dev_hold`), or
    /// null; changed only under RTNL. Unlinked when the device is uninitialised.
    lower: AtomicPtr<bindings::net_device>,
    /// The device's GRO cells if [`Driver::GRO`] is set: initialised in `newlink` before the
    /// data, destroyed in `priv_destructor` after it; `cells` is null otherwise (zeroed memory).
    gro: bindings::gro_cells,
    data: MaybeUninit<T::Data>,
}

/// `data` is not initialised (zeroed memory of a new device starts here).
const STATE_EMPTY: u8 = 0;
/// `data` is initialised.
const STATE_INIT: u8 = 1;
/// `data` is initialised and [`Driver::registered`] succeeded.
const STATE_LINKED: u8 = 2;
/// `data` is initialised and the device was uninitialised ([`Driver::uninit`] ran if it was
/// linked): nothing may be linked to it any more.
const STATE_UNINIT: u8 = 3;

/// The `rtnl_link_ops` of the link type `T`.
///
/// A driver declares them as a `static` and names it in [`Driver::OPS`]. The address
/// identifies the devices of the type: [`Dev::downcast`] compares a device's
/// `rtnl_link_ops` with it, so another driver's devices are never taken for `T`'s, whatever
/// their kind's name.
///
/// # Examples
///
/// ```
/// use kernel::net::{link, skb::SkBuff};
///
/// struct Dummy;
///
/// static OPS: link::Ops<Dummy> = link::Ops::new();
///
/// #[vtable]
/// impl link::Driver for Dummy {
///     const KIND: &'static CStr = c"rdummy";
///     const OPS: &'static link::Ops<Self> = &OPS;
///     type Data = ();
///
///     fn newlink(
///         dev: &link::NewDevice<'_>,
///         _params: &link::NewLinkParams<'_>,
///         _extack: &link::ExtAck,
///         _rtnl: &kernel::net::rtnl::Rtnl,
///     ) -> Result<impl PinInit<(), Error>> {
///         dev.set_random_addr();
///         Ok(Ok::<(), Error>(()))
///     }
///
///     fn start_xmit(_dev: &link::Dev<Self>, skb: SkBuff, _ctx: &link::TxContext) {
///         skb.consume();
///     }
/// }
///
/// let reg = KBox::pin_init(link::Registration::<Dummy>::new(), GFP_KERNEL)?;
/// // The ops are registered once at a time.
/// assert_eq!(
///     KBox::pin_init(link::Registration::<Dummy>::new(), GFP_KERNEL).err(),
///     Some(EBUSY)
/// );
/// drop(reg);
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `ops` holds the callbacks of `Adapter<T>` and the size of `Priv<T>` as private area size;
/// `registered` is true while a [`Registration<T>`] has the ops registered.
pub struct Ops<T: Driver> {
    ops: Opaque<bindings::rtnl_link_ops>,
    registered: AtomicBool,
    _p: PhantomData<T>,
}

// SAFETY: The ops are written by the core only while registered (its list and SRCU), with its
// own locking; `Ops` gives access to nothing else.
unsafe impl<T: Driver> Sync for Ops<T> {}

impl<T: Driver> Ops<T> {
    /// Creates the ops of `T`, for a `static`.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        // SAFETY: An all-zero `rtnl_link_ops` is valid: every callback is optional.
        let mut ops: bindings::rtnl_link_ops = unsafe { MaybeUninit::zeroed().assume_init() };
        ops.kind = as_char_ptr_in_const_context(T::KIND);
        ops.priv_size = core::mem::size_of::<Priv<T>>();
        ops.setup = Some(Adapter::<T>::setup);
        ops.validate = Some(Adapter::<T>::validate);
        ops.newlink = Some(Adapter::<T>::newlink);
        ops.dellink = Some(Adapter::<T>::dellink);
        if T::POLICY.len() > 1 {
            ops.maxtype = (T::POLICY.len() - 1) as u32;
            ops.policy = T::POLICY.as_ptr().cast();
        }
        if T::HAS_FILL_INFO {
            ops.get_size = Some(Adapter::<T>::get_size);
            ops.fill_info = Some(Adapter::<T>::fill_info);
        }
        if T::HAS_LOWER {
            ops.get_link_net = Some(Adapter::<T>::get_link_net);
        }
        // INVARIANT: The callbacks and size of `T`; not registered.
        Self {
            ops: Opaque::new(ops),
            registered: AtomicBool::new(false),
            _p: PhantomData,
        }
    }

    fn as_raw(&self) -> *mut bindings::rtnl_link_ops {
        self.ops.get()
    }
}

/// The implementation of a link type.
///
/// Callbacks that the core calls with RTNL held receive an [`Rtnl`] token.
#[vtable]
pub trait Driver: Sized + 'static {
    /// The link type's name, as in `ip link add ... type <kind>`.
    const KIND: &'static CStr;

    /// The link type's ops: the driver's `static` of `Ops::new()` (see [`Ops`]).
    const OPS: &'static Ops<Self>;

    /// The policy of the link type's `IFLA_INFO_DATA` attributes, indexed by attribute type;
    /// entry 0 is [`AttrPolicy::unused`]. Attributes of other types are rejected.
    const POLICY: &'static [AttrPolicy] = &[];

    /// The names of the driver's statistics for `ethtool -S`, which
    /// [`Driver::ethtool_stats`] fills in, in the same order.
    const ETHTOOL_STATS: &'static [&'static CStr] = &[];

    /// Whether the device has GRO cells (`struct gro_cells`: a NAPI context per CPU) for the
    /// skbs it receives through [`Dev::receive_gro`]. A stacked device that builds skbs in its
    /// lower device's receive path sets it so that its skbs get GRO, as tunnel devices do.
    /// Without `CONFIG_GRO_CELLS` (a driver that sets this selects it in its Kconfig entry) the
    /// skbs go to the backlog instead.
    const GRO: bool = false;

    /// The private data of a device.
    type Data: Send + Sync;

    /// Sets up a newly allocated device. The default sets up an Ethernet device.
    fn setup(dev: &mut SetupDevice<'_>) {
        dev.ether_setup();
    }

    /// Validates the attributes of a request to create or change a device.
    fn validate(_attrs: &LinkAttrs<'_>, _extack: &ExtAck) -> Result {
        Ok(())
    }

    /// Checks a request to create `dev` and returns the initialiser of its private data.
    fn newlink(
        dev: &NewDevice<'_>,
        params: &NewLinkParams<'_>,
        extack: &ExtAck,
        rtnl: &Rtnl,
    ) -> Result<impl PinInit<Self::Data, Error>>;

    /// Puts the device's link type attributes into `msg`, for `ip -d link show` (`fill_info`).
    /// Room is reserved for each attribute of [`Driver::POLICY`] once.
    fn fill_info(_dev: &Dev<Self>, _msg: &mut InfoMsg<'_>) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns the device this one is stacked on, if any: `ip link` shows the device as
    /// `dev@lower` (`ndo_get_iflink`), with the lower's namespace if it is another
    /// (`get_link_net`). Called under RTNL or in an RCU read-side critical section.
    fn lower(_dev: &Dev<Self>) -> Option<&Device> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called once the device is registered: link it where it belongs. If this fails, the
    /// device is unregistered (without [`Driver::uninit`]) and the request fails.
    fn registered(
        _dev: &Dev<Self>,
        _params: &NewLinkParams<'_>,
        _extack: &ExtAck,
        _rtnl: &Rtnl,
    ) -> Result {
        Ok(())
    }

    /// Called once when a device for which [`Driver::registered`] succeeded is deleted: from
    /// `dellink` or [`Dev::unregister`], before the device's unregistration is queued, so that
    /// devices deleted together can unlink from each other in any order, or at the latest from
    /// `ndo_uninit`.
    fn uninit(_dev: &Dev<Self>, _rtnl: &Rtnl) {}

    /// Brings the device up (`ndo_open`).
    fn open(_dev: &Dev<Self>, _rtnl: &Rtnl) -> Result {
        Ok(())
    }

    /// Takes the device down (`ndo_stop`).
    fn stop(_dev: &Dev<Self>, _rtnl: &Rtnl) -> Result {
        Ok(())
    }

    /// Transmits `skb` (`ndo_start_xmit`); the driver owns it from now on. Called with bottom
    /// halves disabled (`ctx`).
    fn start_xmit(dev: &Dev<Self>, skb: SkBuff, ctx: &TxContext);

    /// Updates the device's receive filters (`ndo_set_rx_mode`); `mode` has the device's
    /// unicast filter (addresses that devices stacked on it added) and syncs its address lists
    /// into a lower device. Called with the address list lock held and BH disabled: must not
    /// sleep.
    fn set_rx_mode(_dev: &Dev<Self>, _mode: &RxMode<'_>) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Changes the hardware address (`ndo_set_mac_address`); `addr` is a valid unicast
    /// address. The driver sets it with [`Dev::set_addr`]. Without this callback the address
    /// is simply set (`eth_mac_addr()`).
    fn set_mac_address(_dev: &Dev<Self>, _addr: &MacAddr, _rtnl: &Rtnl) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Checks a new MTU (`ndo_change_mtu`), already within the device's MTU range; the core
    /// sets it if this returns `Ok`.
    fn change_mtu(_dev: &Dev<Self>, _mtu: u32, _rtnl: &Rtnl) -> Result {
        Ok(())
    }

    /// Attaches, replaces or (with `None`) detaches the device's native XDP program
    /// (`ndo_bpf` with `XDP_SETUP_PROG`). To keep the program, take a reference
    /// (`ARef::from(prog)`).
    fn xdp_setup_prog(
        _dev: &Dev<Self>,
        _prog: Option<&Prog>,
        _extack: &ExtAck,
        _rtnl: &Rtnl,
    ) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Transmits frames redirected to the device (`ndo_xdp_xmit`); frames taken from `frames`
    /// belong to the driver and count as sent. Called in softirq context (`ctx`).
    fn xdp_xmit(_dev: &Dev<Self>, _frames: &mut XmitFrames<'_>, _ctx: &TxContext) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Fills in the values of [`Driver::ETHTOOL_STATS`] (`out` has one entry per name).
    fn ethtool_stats(_dev: &Dev<Self>, _out: &mut [u64]) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The context of a device's transmit callbacks ([`Driver::start_xmit`],
/// [`Driver::xdp_xmit`]): bottom halves are disabled on the current CPU (see [`BhDisabled`]).
///
/// # Invariants
///
/// Bottom halves (or interrupts) are disabled on the current CPU for as long as the object
/// exists; only the callbacks' adapters create one, and it is not `Send`.
pub struct TxContext(NotThreadSafe);

impl super::context::private::Sealed for TxContext {}
// INVARIANT (of `BhDisabled`): By the type invariants of `TxContext`.
impl BhDisabled for TxContext {}

/// A device of the link type `T`.
///
/// # Invariants
///
/// The device was created through a [`Registration<T>`] and its private area is a `Priv<T>`
/// whose data is initialised (state at least `STATE_INIT`) for as long as the reference exists.
#[repr(transparent)]
pub struct Dev<T: Driver>(Device, PhantomData<T>);

// SAFETY: `Dev<T>` is a `Device` with `T::Data`, which is `Send + Sync`.
unsafe impl<T: Driver> Send for Dev<T> {}
// SAFETY: See above.
unsafe impl<T: Driver> Sync for Dev<T> {}

// SAFETY: Same reference count as `Device`; the private data lives until the count is zero.
unsafe impl<T: Driver> AlwaysRefCounted for Dev<T> {
    fn inc_ref(&self) {
        self.0.inc_ref();
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference; `Dev<T>` is a transparent `Device`.
        unsafe { Device::dec_ref(obj.cast()) };
    }
}

impl<T: Driver> Deref for Dev<T> {
    type Target = Device;

    fn deref(&self) -> &Device {
        &self.0
    }
}

impl<T: Driver> Dev<T> {
    /// # Safety
    ///
    /// `dev` must be a device of `T` whose data is initialised, for `'a`.
    unsafe fn from_raw<'a>(dev: *mut bindings::net_device) -> &'a Self {
        // SAFETY: `Dev<T>` is a transparent `Device`; the caller guarantees the invariants.
        unsafe { &*dev.cast() }
    }

    #[inline]
    fn priv_ptr(dev: &Device) -> *mut Priv<T> {
        // SAFETY: The device is valid. Its private area is the flexible array `priv` at its
        // end, as `netdev_priv()` returns it (computed inline: it is asked for every frame).
        unsafe { (&raw mut (*dev.as_raw()).priv_).cast() }
    }

    /// Returns `dev` as a device of `T`, if it is one: if its `rtnl_link_ops` are
    /// [`Driver::OPS`] (not merely a link type of the same name).
    pub fn downcast(dev: &Device) -> Option<&Self> {
        // SAFETY: The device is valid; `rtnl_link_ops` is set before registration and does not
        // change.
        let ops = unsafe { (*dev.as_raw()).rtnl_link_ops };
        if !ptr::eq(ops, T::OPS.as_raw()) {
            return None;
        }
        // SAFETY: The device was created with `T`'s ops, which size its private area for a
        // `Priv<T>` (type invariants of `Ops`).
        let state = unsafe { (*Self::priv_ptr(dev)).state.load(Ordering::Acquire) };
        if state == STATE_EMPTY {
            return None;
        }
        // SAFETY: A device of `T` with initialised data; the data lives as long as the device,
        // which the caller's reference keeps alive.
        Some(unsafe { Self::from_raw(dev.as_raw()) })
    }

    /// Returns the device's private data.
    pub fn data(&self) -> Pin<&T::Data> {
        // SAFETY: By the type invariants the data is initialised; it lives inside the device's
        // allocation, which never moves.
        unsafe { Pin::new_unchecked((*Self::priv_ptr(self)).data.assume_init_ref()) }
    }

    /// Passes an skb received for this device to the stack through the device's GRO cells
    /// ([`Driver::GRO`]), or through the backlog (`netif_rx()`) if it has none. The skb becomes
    /// the device's (`skb->dev`).
    ///
    /// Context: any but hard interrupt or NMI (bottom halves are disabled around the call).
    pub fn receive_gro(&self, skb: SkBuff) {
        #[cfg(CONFIG_GRO_CELLS)]
        // SAFETY: The device's GRO cells live in its private area (`gro`), initialised before
        // the device could be reached and destroyed only in `priv_destructor`, when nobody holds
        // a reference to the device any more; `gro_cells_receive()` falls back to `netif_rx()`
        // for cells that were never initialised (null). It takes ownership of the skb and wants
        // bottom halves disabled.
        unsafe {
            let mut skb = skb;
            skb.set_dev(self);
            bindings::local_bh_disable();
            bindings::gro_cells_receive(&raw mut (*Self::priv_ptr(self)).gro, skb.into_raw());
            bindings::local_bh_enable();
        }
        // Without `CONFIG_GRO_CELLS` (nothing in the kernel selected it) there are no cells.
        #[cfg(not(CONFIG_GRO_CELLS))]
        skb.rx(self);
    }

    /// Counts a received frame of `len` bytes (`rx_packets`, `rx_bytes` of `ip -s link`), with
    /// bottom halves disabled (`_ctx`), as the per-CPU counters want.
    #[inline]
    pub fn count_rx(&self, _ctx: &impl BhDisabled, len: u32) {
        // SAFETY: Devices of `T` use the core's per-CPU `tstats` (set in setup); `_ctx` proves
        // that this CPU's counters cannot be updated concurrently.
        unsafe { bindings::dev_sw_netstats_rx_add(self.as_raw(), len) };
    }

    /// Counts transmitted frames (`tx_packets`, `tx_bytes` of `ip -s link`), with bottom halves
    /// disabled (`_ctx`).
    #[inline]
    pub fn count_tx(&self, _ctx: &impl BhDisabled, packets: u32, len: u32) {
        // SAFETY: See `count_rx`.
        unsafe { bindings::dev_sw_netstats_tx_add(self.as_raw(), packets, len) };
    }

    /// Makes this device an upper device of `lower` (`netdev_upper_dev_link()`): visible in
    /// `ip link` as `dev@lower`, checked against loops, and found by walks of `lower`'s uppers.
    ///
    /// The link belongs to this device: it holds a reference on `lower` and is undone when the
    /// device is uninitialised (after [`Driver::uninit`], or when [`Driver::registered`]
    /// failed), so the device is never freed while `lower` still lists it. A device has at
    /// most one lower device linked so: `EBUSY` for a second; `ENODEV` once the device or
    /// `lower` is being unregistered (a link made then would outlive `lower`'s
    /// `NETDEV_UNREGISTER`, on which drivers act). The driver acts on `lower`'s
    /// `NETDEV_UNREGISTER` itself (it unregisters the device, as macvlan does): until then the
    /// link's reference keeps `lower`'s unregistration waiting.
    pub fn link_lower(&self, lower: &Device, extack: &ExtAck, _rtnl: &Rtnl) -> Result {
        // SAFETY: A device of `T` (type invariants); `state` and `lower` change only under RTNL,
        // which is held.
        let p = unsafe { &*Self::priv_ptr(self) };
        let st = p.state.load(Ordering::Acquire);
        // SAFETY: `reg_state` changes only under RTNL.
        let reg = u32::from(unsafe { (*self.as_raw()).reg_state });
        if st == STATE_UNINIT || reg != bindings::netdev_reg_state_NETREG_REGISTERED {
            return Err(ENODEV);
        }
        // SAFETY: As above, for `lower`.
        let lower_reg = u32::from(unsafe { (*lower.as_raw()).reg_state });
        if lower_reg != bindings::netdev_reg_state_NETREG_REGISTERED {
            return Err(ENODEV);
        }
        if !p.lower.load(Ordering::Relaxed).is_null() {
            return Err(EBUSY);
        }
        // SAFETY: Both devices are valid and RTNL is held.
        to_result(unsafe {
            bindings::netdev_upper_dev_link(lower.as_raw(), self.as_raw(), extack.as_raw())
        })?;
        // INVARIANT: The link is recorded with the reference the field owns. Release: the
        // device's `ndo_set_rx_mode`, which may run without RTNL, reads it.
        p.lower.store(
            ARef::into_raw(ARef::from(lower)).as_ptr().cast(),
            Ordering::Release,
        );
        Ok(())
    }

    /// Removes the addresses that the device's `ndo_set_rx_mode` synchronised into its linked
    /// lower device (see [`RxMode::sync_to_lower`]); nothing if none is linked. With RTNL held
    /// (so not from `ndo_set_rx_mode`, whose address list lock this takes).
    pub fn unsync_from_lower(&self, _rtnl: &Rtnl) {
        // SAFETY: As in `link_lower`.
        let lower = unsafe { (*Self::priv_ptr(self)).lower.load(Ordering::Relaxed) };
        if lower.is_null() {
            return;
        }
        // SAFETY: `lower` is the linked lower device, alive by the field's reference, which
        // only `unlink_lower` drops under RTNL, held here. The functions take both address
        // list locks themselves (neither is held: the caller is not `ndo_set_rx_mode`, which
        // has no `Rtnl`), and do nothing if the address lengths differ.
        unsafe {
            bindings::dev_uc_unsync(lower, self.as_raw());
            bindings::dev_mc_unsync(lower, self.as_raw());
        }
    }

    /// Undoes [`Dev::link_lower`], if a lower device is linked; with RTNL held.
    fn unlink_lower(&self, _rtnl: &Rtnl) {
        // SAFETY: As in `link_lower`.
        let p = unsafe { &*Self::priv_ptr(self) };
        let lower = p.lower.swap(ptr::null_mut(), Ordering::Relaxed);
        if let Some(lower) = NonNull::new(lower) {
            // SAFETY: `lower` is the linked lower device, alive by the field's reference, which
            // passes to the `ARef` that is dropped after the unlink; RTNL is held.
            unsafe {
                bindings::netdev_upper_dev_unlink(lower.as_ptr(), self.as_raw());
                drop(ARef::<Device>::from_raw(lower.cast()));
            }
        }
    }

    /// Sets the hardware address, as [`Driver::set_mac_address`] does once it accepted it.
    pub fn set_addr(&self, addr: &MacAddr, _rtnl: &Rtnl) {
        // SAFETY: RTNL is held, which serialises address changes.
        unsafe { bindings::eth_hw_addr_set(self.as_raw(), addr.as_ptr()) };
    }

    /// Unregisters the device now (calling [`Driver::uninit`] first), unless it is already
    /// unregistered, being unregistered, or queued to be with other devices (a `dellink`
    /// batch): then it does nothing. Returns whether it unregistered the device.
    ///
    /// From one of the device's own callbacks after which the core goes on with the device
    /// ([`Driver::open`], [`Driver::stop`], [`Driver::set_mac_address`], [`Driver::change_mtu`],
    /// [`Driver::xdp_setup_prog`]), it does nothing either (warned once) and returns `false`:
    /// the core would set flags, send notifications and keep pointers to a device it had
    /// already unregistered. [`Driver::registered`] and [`Driver::uninit`] may unregister it.
    pub fn unregister(&self, rtnl: &Rtnl) -> bool {
        // SAFETY: `self` is a device of `T` with initialised data.
        let busy = unsafe { (*Self::priv_ptr(self)).in_callback.load(Ordering::Relaxed) };
        if busy != 0 {
            crate::pr_warn_once!("net: Dev::unregister from the device's own callback refused\n");
            return false;
        }
        if !queueable(self, rtnl) {
            return false;
        }
        Adapter::<T>::uninit_once(self, rtnl);
        // `uninit` may have unregistered or queued the device itself.
        if !queueable(self, rtnl) {
            return false;
        }
        // SAFETY: RTNL is held and the device is registered and on no unregistration list.
        unsafe { bindings::unregister_netdevice_queue(self.as_raw(), ptr::null_mut()) };
        true
    }
}

/// Returns whether `dev` is registered and not queued for unregistration: whether
/// `unregister_netdevice_queue()` may take it. A queued device is on a list through
/// `unreg_list` (initialised empty at allocation) and still `NETREG_REGISTERED` until the batch
/// is unregistered; queueing it again would corrupt that list.
fn queueable(dev: &Device, _rtnl: &Rtnl) -> bool {
    let d = dev.as_raw();
    // SAFETY: The device is valid; `reg_state` and `unreg_list` change only under RTNL, which
    // is held.
    unsafe {
        let head = &raw mut (*d).unreg_list;
        u32::from((*d).reg_state) == bindings::netdev_reg_state_NETREG_REGISTERED
            && ptr::eq((*head).next, head)
    }
}

/// The C callbacks of a [`Driver`].
struct Adapter<T: Driver>(PhantomData<T>);

impl<T: Driver> Adapter<T> {
    /// Runs `f`, a callback of the driver on `d` after which the core goes on with the device,
    /// with [`Dev::unregister`] of `d` refused meanwhile.
    fn in_callback<R>(d: &Dev<T>, _rtnl: &Rtnl, f: impl FnOnce() -> R) -> R {
        // SAFETY: `d` is a device of `T` with initialised data. RTNL, which is held,
        // serialises the counter's changes.
        let c = unsafe { &(*Dev::<T>::priv_ptr(d)).in_callback };
        c.fetch_add(1, Ordering::Relaxed);
        let r = f();
        c.fetch_sub(1, Ordering::Relaxed);
        r
    }

    const NETDEV_OPS: bindings::net_device_ops = bindings::net_device_ops {
        ndo_uninit: Some(Self::ndo_uninit),
        ndo_open: Some(Self::ndo_open),
        ndo_stop: Some(Self::ndo_stop),
        ndo_start_xmit: Some(Self::ndo_start_xmit),
        ndo_get_stats64: Some(bindings::dev_get_tstats64),
        ndo_set_rx_mode: if T::HAS_SET_RX_MODE {
            Some(Self::ndo_set_rx_mode)
        } else {
            None
        },
        ndo_set_mac_address: if T::HAS_SET_MAC_ADDRESS {
            Some(Self::ndo_set_mac_address)
        } else {
            Some(bindings::eth_mac_addr)
        },
        ndo_validate_addr: Some(bindings::eth_validate_addr),
        ndo_get_iflink: if T::HAS_LOWER {
            Some(Self::ndo_get_iflink)
        } else {
            None
        },
        ndo_change_mtu: Some(Self::ndo_change_mtu),
        ndo_bpf: if T::HAS_XDP_SETUP_PROG {
            Some(Self::ndo_bpf)
        } else {
            None
        },
        ndo_xdp_xmit: if T::HAS_XDP_XMIT {
            Some(Self::ndo_xdp_xmit)
        } else {
            None
        },
        // SAFETY: All other operations are optional; zero is `None`.
        ..unsafe { MaybeUninit::zeroed().assume_init() }
    };

    const ETHTOOL_OPS: bindings::ethtool_ops = bindings::ethtool_ops {
        get_sset_count: Some(Self::get_sset_count),
        get_strings: Some(Self::get_strings),
        get_ethtool_stats: Some(Self::get_ethtool_stats),
        // SAFETY: All other operations are optional; zero is `None`.
        ..unsafe { MaybeUninit::zeroed().assume_init() }
    };

    /// # Safety
    ///
    /// `dev` must be a device of `T` passed by the core to a callback that runs while the
    /// device is registered.
    unsafe fn dev<'a>(dev: *mut bindings::net_device) -> &'a Dev<T> {
        // SAFETY: Registered devices of `T` have initialised data: it is initialised before
        // `register_netdevice()` and dropped after the device is released.
        unsafe { Dev::from_raw(dev) }
    }

    /// # Safety
    ///
    /// Called by `alloc_netdev_mqs()` (from `rtnl_create_link()`, with RTNL held) as the link
    /// type's `setup`, with a device just allocated with a zeroed private area of the size of
    /// `Priv<T>` that nobody else sees yet.
    unsafe extern "C" fn setup(dev: *mut bindings::net_device) {
        // INVARIANT: The core passes a device it just allocated.
        let mut sd = SetupDevice {
            dev,
            _p: PhantomData,
        };
        T::setup(&mut sd);
        // SAFETY: The device was just allocated by the core with room for `Priv<T>` and is not
        // visible yet.
        unsafe {
            // Only the XDP features the driver's callbacks back, whatever `T::setup` set: a
            // redirect target needs `ndo_xdp_xmit` (devmap allocates the device's bulk queue
            // only for one, and redirects by the feature bits), a native program needs
            // `ndo_bpf`; the abstraction backs no other feature (AF_XDP, offload, frags).
            let mut allowed = 0;
            if T::HAS_XDP_XMIT {
                allowed |= xdp_features::NDO_XMIT | xdp_features::NDO_XMIT_SG;
            }
            if T::HAS_XDP_SETUP_PROG {
                allowed |= xdp_features::BASIC | xdp_features::REDIRECT;
            }
            (*dev).xdp_features &= allowed;
            // `ether_setup()` lets pktgen send one skb many times (clone_skb, burst), but
            // `start_xmit` gets an owned `SkBuff`, unshared by the adapter (a clone per skb);
            // and netpoll would call `start_xmit` with interrupts disabled, outside the context
            // `TxContext` promises.
            let f = &mut (*dev).__bindgen_anon_1.__bindgen_anon_1;
            f.set_priv_flags(
                (f.priv_flags() & !(bindings::netdev_priv_flags_IFF_TX_SKB_SHARING as c_ulong))
                    | bindings::netdev_priv_flags_IFF_DISABLE_NETPOLL as c_ulong,
            );
            (*dev).netdev_ops = &Self::NETDEV_OPS;
            if T::HAS_ETHTOOL_STATS {
                (*dev).ethtool_ops = &Self::ETHTOOL_OPS;
            }
            (*dev).needs_free_netdev = true;
            (*dev).priv_destructor = Some(Self::priv_destructor);
            (*dev).set_pcpu_stat_type(bindings::netdev_stat_type_NETDEV_PCPU_STAT_TSTATS);
        }
    }

    /// # Safety
    ///
    /// Called once per device of `T` as its `priv_destructor`: by `netdev_run_todo()` when the
    /// unregistered device's last reference is gone (without RTNL), by
    /// `register_netdevice()` when it fails after `ndo_init`, or by `newlink` below when
    /// registration failed before that (both with RTNL held). Nobody uses the private area
    /// any more.
    unsafe extern "C" fn priv_destructor(dev: *mut bindings::net_device) {
        // SAFETY: `dev` is a device of `T`; the core calls this once, when the device is gone
        // (or failed to register), so nobody else uses the data.
        unsafe {
            let p = netdev_priv::<T>(dev);
            if (*p).state.swap(STATE_EMPTY, Ordering::AcqRel) != STATE_EMPTY {
                (*p).data.assume_init_drop();
            }
            // Does nothing if the cells were never initialised or are already gone.
            #[cfg(CONFIG_GRO_CELLS)]
            bindings::gro_cells_destroy(&raw mut (*p).gro);
        }
    }

    /// # Safety
    ///
    /// Called by `rtnl_newlink()` as the link type's `validate`, with the request's `IFLA_*`
    /// attributes (`tb`, `IFLA_MAX + 1` entries, each null or valid) and the link type's
    /// attributes parsed with its policy (`data`, `T::POLICY.len()` entries, or null), and
    /// the extack or null. It runs under the SRCU read lock of the ops, *before* RTNL
    /// (`rtnl_nets_lock()`) is taken.
    unsafe extern "C" fn validate(
        tb: *mut *mut bindings::nlattr,
        data: *mut *mut bindings::nlattr,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        from_result(|| {
            // INVARIANT: The core passes the request's parsed attributes (see `# Safety`).
            let attrs = LinkAttrs {
                tb,
                data,
                ndata: T::POLICY.len(),
                _p: PhantomData,
            };
            // INVARIANT: The request's extack or null.
            let extack = ExtAck(extack);
            if attrs.first_unknown_data(T::POLICY.len().max(1)).is_some() {
                return Err(extack.err(EINVAL, c"unknown link type attribute"));
            }
            T::validate(&attrs, &extack)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by `rtnl_newlink_create()` (or by [`Registration::create`]) with RTNL held, as
    /// the link type's `newlink`, with a device of `T` created by `rtnl_create_link()` and not
    /// registered (its private area zeroed), the request's parameters (valid for the call) and
    /// the extack or null.
    unsafe extern "C" fn newlink(
        dev: *mut bindings::net_device,
        params: *mut bindings::rtnl_newlink_params,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls `newlink` with RTNL held, valid parameters and a new device
            // of `T` that is not registered yet. INVARIANT: The request's parameters and their
            // parsed attributes (`data` has one entry per policy entry).
            let (rtnl, p, nd) = unsafe {
                (
                    Rtnl::assume_held(),
                    NewLinkParams {
                        raw: params,
                        attrs: LinkAttrs {
                            tb: (*params).tb,
                            data: (*params).data,
                            ndata: T::POLICY.len(),
                            _p: PhantomData,
                        },
                    },
                    NewDevice {
                        dev: Device::from_raw(dev),
                    },
                )
            };
            // INVARIANT: The request's extack or null.
            let extack = ExtAck(extack);
            // SAFETY: The private area is a zeroed `Priv<T>` (state `STATE_EMPTY`, no GRO
            // cells), pinned in the device's allocation.
            let prv = unsafe { netdev_priv::<T>(dev) };
            #[cfg(CONFIG_GRO_CELLS)]
            if T::GRO {
                // SAFETY: `gro` is zeroed and the device is not registered; the cells'
                // NAPI contexts are added to it and destroyed with its private area.
                to_result(unsafe { bindings::gro_cells_init(&raw mut (*prv).gro, dev) })?;
            }
            let r = T::newlink(&nd, &p, &extack, &rtnl).and_then(|init| {
                // SAFETY: See above: `data` is uninitialised, pinned memory for a `T::Data`;
                // `__pinned_init` initialises it or leaves it uninitialised on error.
                unsafe { pin_init::raw_try_init((*prv).data.as_mut_ptr(), init) }
            });
            if let Err(e) = r {
                // The core frees the device without `priv_destructor` at this stage.
                #[cfg(CONFIG_GRO_CELLS)]
                // SAFETY: The cells (if any) are unused: the device was never registered.
                unsafe {
                    bindings::gro_cells_destroy(&raw mut (*prv).gro)
                };
                return Err(e);
            }
            // SAFETY: See above.
            unsafe { (*prv).state.store(STATE_INIT, Ordering::Release) };

            // SAFETY: RTNL is held and the device is set up. On failure after `ndo_init` the
            // core calls `priv_destructor`; on earlier failures it does not, and the data is
            // dropped here (the state tells which). If a `NETDEV_REGISTER` notifier vetoed the
            // device, the core is unregistering it: notifiers of its `NETDEV_UNREGISTER` may
            // hold references, and the core calls `priv_destructor` once the last is gone
            // (`netdev_run_todo()`; `free_netdev()` of the caller defers to it).
            let r = unsafe { bindings::register_netdevice(dev) };
            if r < 0 {
                // SAFETY: `reg_state` changes only under RTNL, which is held.
                let st = u32::from(unsafe { (*dev).reg_state });
                if st != bindings::netdev_reg_state_NETREG_UNREGISTERING {
                    // SAFETY: As for `priv_destructor`: the device is not registered, and
                    // nobody holds a reference to it.
                    unsafe { Self::priv_destructor(dev) };
                }
                return Err(Error::from_errno(r));
            }
            // SAFETY: The device is registered with initialised data.
            let d = unsafe { Self::dev(dev) };
            if let Err(e) = T::registered(d, &p, &extack, &rtnl) {
                d.unregister(&rtnl);
                return Err(e);
            }
            // Linked, unless `registered` unregistered the device itself (then it stays
            // uninitialised).
            // SAFETY: See above.
            let _ = unsafe {
                (*prv).state.compare_exchange(
                    STATE_INIT,
                    STATE_LINKED,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
            };
            Ok(0)
        })
    }

    /// Uninitialises the device, once: calls [`Driver::uninit`] if the device is linked, then
    /// undoes [`Dev::link_lower`].
    fn uninit_once(d: &Dev<T>, rtnl: &Rtnl) {
        // SAFETY: `d` is a device of `T`; the state only changes under RTNL, which is held.
        let state = unsafe { &(*netdev_priv::<T>(d.as_raw())).state };
        match state.swap(STATE_UNINIT, Ordering::AcqRel) {
            STATE_LINKED => T::uninit(d, rtnl),
            STATE_UNINIT => return,
            _ => {}
        }
        d.unlink_lower(rtnl);
    }

    /// # Safety
    ///
    /// Called with RTNL held as the link type's `dellink`, for a registered device of `T`: by
    /// `rtnl_dellink()`, by `rtnl_link_unregister()` for every device of the type and when a
    /// namespace goes away, with `head`, the list of devices to unregister together.
    unsafe extern "C" fn dellink(dev: *mut bindings::net_device, head: *mut bindings::list_head) {
        // SAFETY: Called with RTNL held on a registered device of `T`, with the list of the
        // devices to unregister together.
        let (d, rtnl) = unsafe { (Self::dev(dev), Rtnl::assume_held()) };
        Self::uninit_once(d, &rtnl);
        // `uninit` may have unregistered the device (`Dev::unregister`); queue it only if not.
        if queueable(d, &rtnl) {
            // SAFETY: See above; the device is registered and on no list.
            unsafe { bindings::unregister_netdevice_queue(dev, head) };
        }
    }

    /// # Safety
    ///
    /// Called by `unregister_netdevice_many_notify()` with RTNL held, as `ndo_uninit` of a
    /// device of `T` that is being unregistered, once; also by `register_netdevice()` when it
    /// fails after `ndo_init`. The private data may not have been initialised (the state says).
    unsafe extern "C" fn ndo_uninit(dev: *mut bindings::net_device) {
        // SAFETY: Called with RTNL held on a device of `T`.
        let rtnl = unsafe { Rtnl::assume_held() };
        // SAFETY: See above; the data is initialised (the state is checked in `uninit_once`
        // before the device is used as a `Dev<T>`).
        let initialised =
            unsafe { (*netdev_priv::<T>(dev)).state.load(Ordering::Acquire) != STATE_EMPTY };
        if initialised {
            // SAFETY: The data is initialised.
            Self::uninit_once(unsafe { Self::dev(dev) }, &rtnl);
        }
    }

    /// # Safety
    ///
    /// Called by `__dev_open()` with RTNL held, as `ndo_open` of a registered device of `T`.
    unsafe extern "C" fn ndo_open(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: Called with RTNL held on a registered device of `T`.
        let (d, rtnl) = unsafe { (Self::dev(dev), Rtnl::assume_held()) };
        from_result(|| Self::in_callback(d, &rtnl, || T::open(d, &rtnl)).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by `__dev_close_many()` with RTNL held, as `ndo_stop` of a registered device of
    /// `T` that is up.
    unsafe extern "C" fn ndo_stop(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: Called with RTNL held on a registered device of `T`.
        let (d, rtnl) = unsafe { (Self::dev(dev), Rtnl::assume_held()) };
        from_result(|| Self::in_callback(d, &rtnl, || T::stop(d, &rtnl)).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the transmit path (`dev_hard_start_xmit()`, bottom halves disabled) as
    /// `ndo_start_xmit` of a registered device of `T`, with an skb whose ownership passes to
    /// the callee.
    unsafe extern "C" fn ndo_start_xmit(
        skb: *mut bindings::sk_buff,
        dev: *mut bindings::net_device,
    ) -> bindings::netdev_tx_t {
        // The skb may be shared even with `IFF_TX_SKB_SHARING` cleared: pktgen sends every
        // skb with a reference of its own (`F_SHARED`, its default, with `clone_skb 0` and
        // `burst 1` too); an `SkBuff` is not. Unshare it, as `skb_share_check()` does for an
        // rx handler: a clone if it was shared, and if that fails the skb was freed.
        // SAFETY: The core passes an skb the driver now owns.
        let skb = unsafe { bindings::skb_share_check(skb, bindings::GFP_ATOMIC) };
        if skb.is_null() {
            // SAFETY: `dev` is a registered device.
            unsafe { bindings::dev_core_stats_tx_dropped_inc(dev) };
            return bindings::netdev_tx_NETDEV_TX_OK;
        }
        // SAFETY: `skb` is an unshared skb the driver owns, for a registered device of `T`.
        let (d, skb) = unsafe { (Self::dev(dev), SkBuff::from_raw(skb)) };
        if let Some(skb) = skb {
            // INVARIANT: The core calls `ndo_start_xmit` with bottom halves disabled
            // (`__dev_queue_xmit()`); netpoll, which would call it with interrupts disabled, is
            // off for the device (`IFF_DISABLE_NETPOLL`, set in `setup`).
            T::start_xmit(d, skb, &TxContext(NotThreadSafe));
        }
        bindings::netdev_tx_NETDEV_TX_OK
    }

    /// # Safety
    ///
    /// Called by `__dev_set_rx_mode()` as `ndo_set_rx_mode` of a registered device of `T`,
    /// with the device's address list lock held and bottom halves disabled (RTNL may or may
    /// not be held).
    unsafe extern "C" fn ndo_set_rx_mode(dev: *mut bindings::net_device) {
        // SAFETY: Called on a registered device of `T`.
        let d = unsafe { Self::dev(dev) };
        // SAFETY: `d` is a device of `T`. Acquire pairs with the release in `link_lower`.
        let lower = unsafe { (*Dev::<T>::priv_ptr(d)).lower.load(Ordering::Acquire) };
        // SAFETY: A linked lower is held by `Priv::lower` until `unlink_lower`, which runs only
        // when the device is uninitialised: after it was closed (the core calls
        // `ndo_set_rx_mode` only on a device that is up) and its address lists were flushed
        // under the address list lock that this call holds, so not during this call.
        let lower = (!lower.is_null()).then(|| unsafe { Device::from_raw(lower) });
        // INVARIANT: The core calls `ndo_set_rx_mode` with the address list lock held; `mode`
        // is only lent to the callback. `lower` is the linked lower device, which the core
        // linked only if that made no cycle.
        let mode = RxMode { dev: d, lower };
        T::set_rx_mode(d, &mode);
    }

    /// # Safety
    ///
    /// Called by `dev_get_iflink()` as `ndo_get_iflink` of a registered device of `T`, under
    /// RTNL or in an RCU read-side critical section.
    unsafe extern "C" fn ndo_get_iflink(dev: *const bindings::net_device) -> c_int {
        // SAFETY: A registered device of `T`.
        let d = unsafe { Self::dev(dev.cast_mut()) };
        T::lower(d).map_or_else(|| d.ifindex(), |l| l.ifindex())
    }

    /// # Safety
    ///
    /// Called by `rtnl_fill_link_netnsid()` as the link type's `get_link_net`, for a
    /// registered device of `T`, under RTNL or in an RCU read-side critical section.
    unsafe extern "C" fn get_link_net(dev: *const bindings::net_device) -> *mut bindings::net {
        // SAFETY: A registered device of `T`.
        let d = unsafe { Self::dev(dev.cast_mut()) };
        let l: &Device = T::lower(d).unwrap_or(d);
        // SAFETY: The device is valid; the core uses the namespace in the same critical section.
        unsafe { bindings::dev_net(l.as_raw()) }
    }

    /// # Safety
    ///
    /// Called by `rtnl_link_get_size()` as the link type's `get_size`, for a registered
    /// device of `T`, while the message for `fill_info` is sized.
    unsafe extern "C" fn get_size(_dev: *const bindings::net_device) -> usize {
        T::POLICY.iter().map(AttrPolicy::dump_size).sum()
    }

    /// # Safety
    ///
    /// Called by `rtnl_link_fill()` as the link type's `fill_info`, for a registered device of
    /// `T`, with a message that has the room `get_size` asked for, under RTNL or in an RCU
    /// read-side critical section.
    unsafe extern "C" fn fill_info(
        skb: *mut bindings::sk_buff,
        dev: *const bindings::net_device,
    ) -> c_int {
        // SAFETY: A registered device of `T`.
        let d = unsafe { Self::dev(dev.cast_mut()) };
        // INVARIANT: The message of this call and `T`'s policy; nothing put yet.
        let mut msg = InfoMsg {
            skb,
            policy: T::POLICY,
            put: 0,
            _p: PhantomData,
        };
        from_result(|| T::fill_info(d, &mut msg).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by `netif_set_mac_address()` with RTNL held, as `ndo_set_mac_address` of a
    /// registered device of `T`, with a `struct sockaddr_storage` whose data holds at least the
    /// device's address length (6 bytes for the Ethernet devices of `T`).
    unsafe extern "C" fn ndo_set_mac_address(
        dev: *mut bindings::net_device,
        p: *mut c_void,
    ) -> c_int {
        from_result(|| {
            // SAFETY: Called with RTNL held on a registered device of `T`, with a
            // `struct sockaddr` of at least the device's address length (6 bytes here).
            let (d, rtnl, addr) = unsafe {
                let sa = p.cast::<bindings::sockaddr>();
                (
                    Self::dev(dev),
                    Rtnl::assume_held(),
                    ptr::read_unaligned((*sa).sa_data.as_ptr().cast::<MacAddr>()),
                )
            };
            if !is_valid_ether_addr(&addr) {
                return Err(EADDRNOTAVAIL);
            }
            Self::in_callback(d, &rtnl, || T::set_mac_address(d, &addr, &rtnl))?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by `netif_set_mtu_ext()` with RTNL held, as `ndo_change_mtu` of a registered
    /// device of `T`, with an MTU within the device's range.
    unsafe extern "C" fn ndo_change_mtu(dev: *mut bindings::net_device, mtu: c_int) -> c_int {
        from_result(|| {
            // SAFETY: Called with RTNL held on a registered device of `T`.
            let (d, rtnl) = unsafe { (Self::dev(dev), Rtnl::assume_held()) };
            let mtu = u32::try_from(mtu).map_err(|_| EINVAL)?;
            // SAFETY: `d` is a device of `T`; RTNL, which is held, serialises the flag.
            let busy = unsafe { &(*Dev::<T>::priv_ptr(d)).in_change_mtu };
            // A `change_mtu` that changes the device's MTU again (`Device::set_mtu` on itself,
            // or on a device whose own `change_mtu` comes back to it) would recurse for as long
            // as the MTU changes, until the kernel stack overflows: the inner change fails.
            if busy.swap(true, Ordering::Relaxed) {
                return Err(EBUSY);
            }
            let r = Self::in_callback(d, &rtnl, || T::change_mtu(d, mtu, &rtnl));
            busy.store(false, Ordering::Relaxed);
            r?;
            // SAFETY: RTNL is held; readers use `READ_ONCE()`.
            unsafe { ptr::write_volatile(&raw mut (*dev).mtu, mtu) };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by `dev_xdp_install()` (or `dev_xdp_propagate()`) with RTNL held, as `ndo_bpf` of
    /// a registered device of `T`, with a valid command; for `XDP_SETUP_PROG` its program is
    /// null or a reference that passes to the callee, and its extack is null or valid.
    unsafe extern "C" fn ndo_bpf(
        dev: *mut bindings::net_device,
        bpf: *mut bindings::netdev_bpf,
    ) -> c_int {
        from_result(|| {
            // SAFETY: Called with RTNL held on a registered device of `T`, with a valid command.
            let (d, rtnl, cmd) = unsafe { (Self::dev(dev), Rtnl::assume_held(), (*bpf).command) };
            if cmd != bindings::bpf_netdev_command_XDP_SETUP_PROG {
                return Err(EINVAL);
            }
            // SAFETY: For `XDP_SETUP_PROG` the union holds the program (null to detach, else a
            // reference moved to the driver) and the extack. INVARIANT: The request's extack or
            // null.
            let (prog, extack) = unsafe {
                let s = &(*bpf).__bindgen_anon_1.__bindgen_anon_1;
                (s.prog, ExtAck(s.extack))
            };
            // SAFETY: A non-null program is valid, with the reference the core moved to us held
            // until it is put below, after the callback.
            let p = (!prog.is_null()).then(|| unsafe { Prog::from_raw(prog) });
            Self::in_callback(d, &rtnl, || T::xdp_setup_prog(d, p, &extack, &rtnl))?;
            if !prog.is_null() {
                // The core moved a reference to the driver; the driver took its own if it kept
                // the program. On error the core drops it itself.
                // SAFETY: We own that reference.
                unsafe { bindings::bpf_prog_put(prog) };
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the XDP redirect path (`bq_xmit_all()`, in softirq) as `ndo_xdp_xmit` of a
    /// registered device of `T`, with `n` valid frames that the callee owns until it reports
    /// how many it took (the rest the caller frees).
    unsafe extern "C" fn ndo_xdp_xmit(
        dev: *mut bindings::net_device,
        n: c_int,
        frames: *mut *mut bindings::xdp_frame,
        flags: u32,
    ) -> c_int {
        if flags & !bindings::XDP_XMIT_FLAGS_MASK != 0 || n < 0 {
            return EINVAL.to_errno();
        }
        // SAFETY: Called in softirq context on a registered device of `T` with `n` valid
        // frames, each owned by the callee until it reports how many it took.
        let (d, mut it) = unsafe {
            (
                Self::dev(dev),
                XmitFrames::new(core::slice::from_raw_parts(frames, n as usize)),
            )
        };
        // INVARIANT: `ndo_xdp_xmit` runs in softirq, or with bottom halves disabled.
        T::xdp_xmit(d, &mut it, &TxContext(NotThreadSafe));
        it.taken() as c_int
    }

    /// # Safety
    ///
    /// Called by the ethtool core with RTNL held, as `get_sset_count` of a device of `T`.
    unsafe extern "C" fn get_sset_count(_dev: *mut bindings::net_device, sset: c_int) -> c_int {
        if sset as u32 == bindings::ethtool_stringset_ETH_SS_STATS {
            T::ETHTOOL_STATS.len() as c_int
        } else {
            EOPNOTSUPP.to_errno()
        }
    }

    /// # Safety
    ///
    /// Called by the ethtool core with RTNL held, as `get_strings` of a device of `T`, with
    /// `data` valid for `get_sset_count(sset)` strings of `ETH_GSTRING_LEN` bytes.
    unsafe extern "C" fn get_strings(_dev: *mut bindings::net_device, sset: u32, data: *mut u8) {
        if sset != bindings::ethtool_stringset_ETH_SS_STATS {
            return;
        }
        let n = bindings::ETH_GSTRING_LEN as usize;
        for (i, name) in T::ETHTOOL_STATS.iter().enumerate() {
            let b = name.to_bytes();
            let len = b.len().min(n - 1);
            // SAFETY: The core passes room for `get_sset_count()` strings of
            // `ETH_GSTRING_LEN` bytes each.
            unsafe {
                let dst = data.add(i * n);
                ptr::write_bytes(dst, 0, n);
                ptr::copy_nonoverlapping(b.as_ptr(), dst, len);
            }
        }
    }

    /// # Safety
    ///
    /// Called by the ethtool core with RTNL held, as `get_ethtool_stats` of a registered
    /// device of `T`, with `data` valid for `get_sset_count(ETH_SS_STATS)` values.
    unsafe extern "C" fn get_ethtool_stats(
        dev: *mut bindings::net_device,
        _stats: *mut bindings::ethtool_stats,
        data: *mut u64,
    ) {
        // SAFETY: Called on a registered device of `T`, with room for `get_sset_count()`
        // values.
        let (d, out) = unsafe {
            (
                Self::dev(dev),
                core::slice::from_raw_parts_mut(data, T::ETHTOOL_STATS.len()),
            )
        };
        out.fill(0);
        T::ethtool_stats(d, out);
    }
}

/// Returns the private area of a device of `T`.
///
/// # Safety
///
/// `dev` must be a valid device of `T`.
unsafe fn netdev_priv<T: Driver>(dev: *mut bindings::net_device) -> *mut Priv<T> {
    // SAFETY: The caller guarantees the device; its private area was sized for `Priv<T>`.
    unsafe { bindings::netdev_priv(dev).cast() }
}

/// The registration of a link type, for as long as it exists.
///
/// Dropping it destroys every device of the type (`rtnl_link_unregister()`).
///
/// # Invariants
///
/// `T::OPS` is registered with `rtnl_link_register()`, by this object (its `registered` flag
/// is set).
pub struct Registration<T: Driver> {
    _p: PhantomData<T>,
}

// SAFETY: The link type may be unregistered from any thread.
unsafe impl<T: Driver> Send for Registration<T> {}
// SAFETY: `&Registration` gives access to nothing.
unsafe impl<T: Driver> Sync for Registration<T> {}

impl<T: Driver> Registration<T> {
    /// Registers the link type `T`. Fails with `EBUSY` if `T::OPS` are registered already,
    /// and with `EEXIST` if another link type has the name [`Driver::KIND`].
    pub fn new() -> impl PinInit<Self, Error> {
        build_assert!(
            core::mem::align_of::<Priv<T>>() <= bindings::NETDEV_ALIGN as usize,
            "the private data of a net_device is aligned to NETDEV_ALIGN"
        );
        let ops = T::OPS;
        // `rtnl_link_register()` initialises the ops' SRCU before it checks the name: it must
        // never see ops that are registered already.
        if ops
            .registered
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(EBUSY);
        }
        // SAFETY: The ops are a `static` (they outlive the registration) with `T`'s callbacks,
        // and not registered (flag above).
        if let Err(e) = to_result(unsafe { bindings::rtnl_link_register(ops.as_raw()) }) {
            ops.registered.store(false, Ordering::Release);
            return Err(e);
        }
        // INVARIANT: Registered just above.
        Ok(Self { _p: PhantomData })
    }
}

impl<T: Driver> Registration<T> {
    /// Creates a device of this link type from the kernel, as `ip link add [link LOWER] name
    /// NAME type KIND` would (without driver attributes), in `net`. `name` may contain `%d`.
    ///
    /// Fails with `EINVAL` for a name of `IFNAMSIZ` bytes or more, and with `ENODEV` if `net` is
    /// being dismantled (its last reference is gone: a callback may run under its teardown).
    pub fn create(
        &self,
        net: &Net,
        name: &CStr,
        lower: Option<&Device>,
        rtnl: &Rtnl,
    ) -> Result<ARef<Dev<T>>> {
        if name.to_bytes().len() >= bindings::IFNAMSIZ as usize {
            return Err(EINVAL);
        }
        // SAFETY: `net` is valid; RTNL is held, and a namespace whose count is not zero now is
        // not dismantled before RTNL is released (`cleanup_net()` takes it).
        if unsafe { bindings::check_net(net.as_raw()) } == 0 {
            return Err(ENODEV);
        }
        #[repr(C, align(4))]
        struct U32Attr {
            hdr: bindings::nlattr,
            val: u32,
        }
        let mut link = U32Attr {
            hdr: bindings::nlattr {
                nla_len: core::mem::size_of::<U32Attr>() as u16,
                nla_type: bindings::IFLA_LINK as u16,
            },
            val: lower.map_or(0, |l| l.ifindex() as u32),
        };
        let mut tb = [ptr::null_mut::<bindings::nlattr>(); bindings::__IFLA_MAX as usize];
        if lower.is_some() {
            tb[bindings::IFLA_LINK as usize] = &mut link.hdr;
        }
        // SAFETY: RTNL is held; `tb` has `IFLA_MAX + 1` entries and outlives the calls below;
        // the ops are registered (type invariants).
        let dev = crate::error::from_err_ptr(unsafe {
            bindings::rtnl_create_link(
                net.as_raw(),
                name.as_char_ptr(),
                bindings::NET_NAME_USER as u8,
                T::OPS.as_raw(),
                tb.as_mut_ptr(),
                ptr::null_mut(),
            )
        })?;
        let mut params = bindings::rtnl_newlink_params {
            src_net: net.as_raw(),
            link_net: ptr::null_mut(),
            peer_net: ptr::null_mut(),
            tb: tb.as_mut_ptr(),
            data: ptr::null_mut(),
        };
        // SAFETY: As `rtnl_newlink_create()` does: a new device of this type, RTNL held.
        let r = unsafe { Adapter::<T>::newlink(dev, &mut params, ptr::null_mut()) };
        if r < 0 {
            // SAFETY: The device failed to register; `free_netdev` handles both the
            // unregistered and the being-unregistered case.
            unsafe { bindings::free_netdev(dev) };
            return Err(Error::from_errno(r));
        }
        // SAFETY: The device is registered, with initialised data.
        let d: ARef<Dev<T>> = unsafe { Dev::<T>::from_raw(dev) }.into();
        // SAFETY: A registered device; no `ifinfomsg` to apply.
        let r = unsafe { bindings::rtnl_configure_link(dev, ptr::null(), 0, ptr::null()) };
        if r < 0 {
            d.unregister(rtnl);
            return Err(Error::from_errno(r));
        }
        Ok(d)
    }
}

impl<T: Driver> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants the ops are registered, by this object.
        unsafe { bindings::rtnl_link_unregister(T::OPS.as_raw()) };
        T::OPS.registered.store(false, Ordering::Release);
    }
}
