// SPDX-License-Identifier: GPL-2.0

//! Network devices.
//!
//! [`Device`] wraps any `struct net_device`: the lower device of a stacked driver, a device
//! found by index, or the device a callback is about. Devices of a link type implemented in Rust
//! are reached through [`link::Dev`](super::link::Dev), which dereferences to [`Device`].
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)

use super::rtnl::Rtnl;
use crate::{
    bindings,
    error::to_result,
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    sync::rcu,
    types::Opaque,
};
use core::{
    marker::PhantomData,
    ptr::{self, NonNull},
};

/// Length of an Ethernet hardware address.
pub const ETH_ALEN: usize = bindings::ETH_ALEN as usize;

/// An Ethernet hardware (MAC) address.
pub type MacAddr = [u8; ETH_ALEN];

/// Returns whether `addr` is a multicast (or broadcast) address.
///
/// # Examples
///
/// ```
/// use kernel::net::device::is_multicast_ether_addr;
///
/// assert!(is_multicast_ether_addr(&[0xff; 6]));
/// assert!(is_multicast_ether_addr(&[0x33, 0x33, 0, 0, 0, 1]));
/// assert!(!is_multicast_ether_addr(&[0x02, 0, 0, 0, 0, 1]));
/// ```
pub fn is_multicast_ether_addr(addr: &MacAddr) -> bool {
    addr[0] & 0x01 != 0
}

/// Returns whether `addr` can be a device's own address: neither multicast nor all zeroes.
///
/// # Examples
///
/// ```
/// use kernel::net::device::is_valid_ether_addr;
///
/// assert!(is_valid_ether_addr(&[0x02, 0, 0, 0, 0, 1]));
/// assert!(!is_valid_ether_addr(&[0; 6]));
/// assert!(!is_valid_ether_addr(&[0x01, 0, 0x5e, 0, 0, 1]));
/// ```
pub fn is_valid_ether_addr(addr: &MacAddr) -> bool {
    !is_multicast_ether_addr(addr) && addr.iter().any(|&b| b != 0)
}

/// A network namespace.
///
/// # Invariants
///
/// The wrapped `struct net` is alive for as long as the reference is used: references are only
/// handed out tied to the lifetime of something that pins the namespace (a device in it, or the
/// parameters of a netlink request).
#[repr(transparent)]
pub struct Net(Opaque<bindings::net>);

impl Net {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a live `struct net` that stays alive for `'a`.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::net) -> &'a Net {
        // SAFETY: `Net` is a transparent wrapper of `struct net`; the caller guarantees validity.
        unsafe { &*ptr.cast() }
    }

    /// Returns the raw pointer.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::net {
        self.0.get()
    }

    /// Returns the initial network namespace (`init_net`), which lives forever.
    pub fn init() -> &'static Net {
        // SAFETY: `init_net` is a static that is never freed.
        unsafe { Net::from_raw(&raw mut bindings::init_net) }
    }

    /// Looks up the device named `name` in this namespace and takes a reference on it.
    pub fn device_by_name(&self, name: &CStr, _rtnl: &Rtnl) -> Option<ARef<Device>> {
        // SAFETY: RTNL is held, as `__dev_get_by_name` requires; `name` is NUL-terminated.
        let dev = unsafe { bindings::__dev_get_by_name(self.as_raw(), name.as_char_ptr()) };
        if dev.is_null() {
            return None;
        }
        // SAFETY: `dev` is a registered device, alive while RTNL is held.
        Some(unsafe { Device::from_raw(dev) }.into())
    }

    /// Looks up the device with index `ifindex` in this namespace and takes a reference on it.
    pub fn device_by_index(&self, ifindex: i32, _rtnl: &Rtnl) -> Option<ARef<Device>> {
        // SAFETY: RTNL is held (the token proves it), as `__dev_get_by_index` requires.
        let dev = unsafe { bindings::__dev_get_by_index(self.as_raw(), ifindex) };
        if dev.is_null() {
            return None;
        }
        // SAFETY: `dev` is a registered device, alive while RTNL is held.
        Some(unsafe { Device::from_raw(dev) }.into())
    }
}

/// A network device (`struct net_device`).
///
/// References are counted with `dev_hold()`/`dev_put()`: an [`ARef<Device>`] keeps the device's
/// memory alive (unregistration waits for it to be dropped), but not its registration.
///
/// # Invariants
///
/// The wrapped `struct net_device` is valid: it is alive for as long as the reference (or an
/// [`ARef`] of it) exists.
#[repr(transparent)]
pub struct Device(Opaque<bindings::net_device>);

// SAFETY: `struct net_device` may be used from any thread; the methods that need a lock ask for a
// token of it or use the device's own locking.
unsafe impl Send for Device {}
// SAFETY: See above; `&Device` methods are safe to call concurrently.
unsafe impl Sync for Device {}

// SAFETY: `dev_hold` and `dev_put` maintain the device's reference count; the memory is not freed
// while the count is raised.
unsafe impl AlwaysRefCounted for Device {
    fn inc_ref(&self) {
        // SAFETY: The device is valid by the type invariants.
        unsafe { bindings::dev_hold(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference taken with `dev_hold`.
        unsafe { bindings::dev_put(obj.cast().as_ptr()) };
    }
}

impl Device {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct net_device` that stays alive for `'a`.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Device {
        // SAFETY: `Device` is a transparent wrapper of `struct net_device`.
        unsafe { &*ptr.cast() }
    }

    /// Returns the raw pointer.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    /// Returns the device's name. The name can only change under RTNL.
    pub fn name<'a>(&'a self, _rtnl: &'a Rtnl) -> &'a CStr {
        // SAFETY: `name` is a NUL-terminated array, changed only under RTNL, which the caller
        // holds for `'a`.
        unsafe { CStr::from_char_ptr((*self.as_raw()).name.as_ptr()) }
    }

    /// Returns the interface index.
    pub fn ifindex(&self) -> i32 {
        // SAFETY: The device is valid; `ifindex` is an aligned `int`, read once.
        unsafe { ptr::read_volatile(&raw const (*self.as_raw()).ifindex) }
    }

    /// Returns the MTU.
    pub fn mtu(&self) -> u32 {
        // SAFETY: As for `ifindex`; the C code reads it with `READ_ONCE()`.
        unsafe { ptr::read_volatile(&raw const (*self.as_raw()).mtu) }
    }

    /// Changes the MTU as `ip link set mtu` does: validated by the driver, notified. A device of
    /// a Rust link type refuses it with `EBUSY` from within its own
    /// [`change_mtu`](super::link::Driver::change_mtu), which would recurse.
    pub fn set_mtu(&self, mtu: u32, _rtnl: &Rtnl) -> Result {
        let mtu = i32::try_from(mtu).map_err(|_| EINVAL)?;
        // SAFETY: RTNL is held, as `dev_set_mtu` requires.
        to_result(unsafe { bindings::dev_set_mtu(self.as_raw(), mtu) })
    }

    /// Returns the `IFF_*` flags (`dev->flags`).
    pub fn flags(&self) -> u32 {
        // SAFETY: As for `ifindex`.
        unsafe { ptr::read_volatile(&raw const (*self.as_raw()).flags) }
    }

    /// Returns whether the device is administratively up (`netif_running()`).
    #[inline]
    pub fn is_running(&self) -> bool {
        // SAFETY: The device is valid. `state` is a word of bits that the core changes with
        // atomic bit operations; one volatile read of it is `test_bit()`, done here inline
        // rather than through a C helper, as the receive path asks it for every frame.
        let state = unsafe { ptr::read_volatile(&raw const (*self.as_raw()).state) };
        state & (1 << bindings::netdev_state_t___LINK_STATE_START) != 0
    }

    /// Returns whether the device has carrier.
    pub fn carrier_ok(&self) -> bool {
        // SAFETY: The device is valid.
        unsafe { bindings::netif_carrier_ok(self.as_raw()) }
    }

    /// Sets or clears the carrier.
    pub fn set_carrier(&self, on: bool) {
        // SAFETY: The device is valid; these may be called from any context.
        unsafe {
            if on {
                bindings::netif_carrier_on(self.as_raw())
            } else {
                bindings::netif_carrier_off(self.as_raw())
            }
        }
    }

    /// Copies the operational state (carrier, dormant, testing) of `lower` to this device, as a
    /// stacked device does when its lower device changes state.
    pub fn transfer_operstate_from(&self, lower: &Device) {
        // SAFETY: Both devices are valid.
        unsafe { bindings::netif_stacked_transfer_operstate(lower.as_raw(), self.as_raw()) };
    }

    /// Returns whether this is an Ethernet device (`ARPHRD_ETHER` with 6-byte addresses).
    pub fn is_ethernet(&self) -> bool {
        // SAFETY: The device is valid; `type` and `addr_len` do not change after setup.
        let (ty, len) = unsafe { ((*self.as_raw()).type_, (*self.as_raw()).addr_len) };
        u32::from(ty) == bindings::ARPHRD_ETHER && usize::from(len) == ETH_ALEN
    }

    /// Returns whether this is a loopback device.
    pub fn is_loopback(&self) -> bool {
        self.flags() & bindings::net_device_flags_IFF_LOOPBACK != 0
    }

    /// Returns the device's hardware address, or `None` if it is not an Ethernet address.
    pub fn addr(&self) -> Option<MacAddr> {
        if !self.is_ethernet() {
            return None;
        }
        // SAFETY: `dev_addr` points to `addr_len` (6, checked above) bytes that live as long as
        // the device. Writers hold RTNL; a concurrent change is seen whole or torn, as in C.
        Some(unsafe { ptr::read_volatile((*self.as_raw()).dev_addr.cast::<MacAddr>()) })
    }

    /// Returns the network namespace the device is in.
    ///
    /// A device moves between namespaces only under RTNL, and a namespace is destroyed only
    /// after its devices left it, so the reference is good while the caller holds RTNL.
    pub fn net<'a>(&'a self, _rtnl: &'a Rtnl) -> &'a Net {
        // SAFETY: The device is valid; under RTNL (held for `'a`) it cannot leave its
        // namespace, which lives while a device is in it.
        unsafe { Net::from_raw(bindings::dev_net(self.as_raw())) }
    }

    /// Adds `addr` to the device's unicast address filter (`dev_uc_add()`). Fails with
    /// `EINVAL` if the device does not have Ethernet addresses.
    ///
    /// # Examples
    ///
    /// A device with other than 6-byte addresses is refused, rather than read past `addr`:
    ///
    /// ```
    /// use kernel::net::{device::Net, rtnl};
    ///
    /// let rtnl = rtnl::lock();
    /// let lo = Net::init().device_by_name(c"lo", &rtnl).ok_or(ENODEV)?;
    /// assert!(!lo.is_ethernet());
    /// assert_eq!(lo.uc_add(&[0x02, 0, 0, 0, 0, 1], &rtnl), Err(EINVAL));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn uc_add(&self, addr: &MacAddr, _rtnl: &Rtnl) -> Result {
        if !self.is_ethernet() {
            return Err(EINVAL);
        }
        // SAFETY: The device is valid and RTNL is held; `dev_uc_add` copies `addr_len` bytes
        // from `addr`, which has 6, as the device's addresses (checked above; `addr_len` does
        // not change after setup).
        to_result(unsafe { bindings::dev_uc_add(self.as_raw(), addr.as_ptr()) })
    }

    /// Removes `addr` from the device's unicast address filter (`dev_uc_del()`). Fails with
    /// `EINVAL` if the device does not have Ethernet addresses.
    pub fn uc_del(&self, addr: &MacAddr, _rtnl: &Rtnl) -> Result {
        if !self.is_ethernet() {
            return Err(EINVAL);
        }
        // SAFETY: As for `uc_add`.
        to_result(unsafe { bindings::dev_uc_del(self.as_raw(), addr.as_ptr()) })
    }

    /// Returns the devices stacked directly on this one, for the duration of an RCU read-side
    /// critical section (`netdev_for_each_upper_dev_rcu()`).
    ///
    /// The walk holds no device: take a reference ([`ARef`]) of the ones to act on, and act
    /// after the critical section (unlinking or unregistering an upper sleeps).
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::net::{device::Net, rtnl};
    /// use kernel::sync::rcu;
    ///
    /// let rtnl = rtnl::lock();
    /// let lo = Net::init().device_by_name(c"lo", &rtnl).ok_or(ENODEV)?;
    /// assert_eq!(lo.uppers(&rcu::read_lock()).count(), 0);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn uppers<'a>(&'a self, _guard: &'a rcu::Guard) -> Uppers<'a> {
        // INVARIANT: The walk starts at the list head; `_guard` holds the RCU read lock for `'a`.
        Uppers {
            dev: self,
            // SAFETY: The device is valid; the walk starts at the head of its upper list.
            iter: unsafe { &raw mut (*self.as_raw()).adj_list.upper },
            _guard: PhantomData,
        }
    }

    /// Returns whether the device is being unregistered (rather than, for example, moved to
    /// another namespace, which also sends `NETDEV_UNREGISTER`).
    pub fn is_unregistering(&self, _rtnl: &Rtnl) -> bool {
        // SAFETY: `reg_state` only changes under RTNL, which is held.
        let st = unsafe { (*self.as_raw()).reg_state };
        u32::from(st) == bindings::netdev_reg_state_NETREG_UNREGISTERING
    }

    /// Returns whether `other` is stacked on this device, directly or through other devices.
    pub fn has_upper(&self, other: &Device, _rtnl: &Rtnl) -> bool {
        // SAFETY: Both devices are valid; RTNL is held as the function asserts.
        unsafe { bindings::netdev_has_upper_dev(self.as_raw(), other.as_raw()) }
    }

    /// Returns whether an rx handler (a bridge, bond, macvlan, ...) is registered on the device.
    pub fn has_rx_handler(&self) -> bool {
        // SAFETY: The device is valid; the pointer is only compared with null.
        unsafe { ptr::read_volatile(&raw const (*self.as_raw()).rx_handler) }.is_some()
    }

    /// Returns whether an XDP rx handler is registered on the device.
    pub fn has_rx_xdp_handler(&self) -> bool {
        // SAFETY: As for `has_rx_handler`.
        unsafe { ptr::read_volatile(&raw const (*self.as_raw()).rx_xdp_handler) }.is_some()
    }

    /// Counts a received frame that was dropped (`rx_dropped` of `ip -s link`).
    #[inline]
    pub fn count_rx_dropped(&self) {
        // SAFETY: The device is valid; the core statistics are per-CPU and allocated on demand.
        unsafe { bindings::dev_core_stats_rx_dropped_inc(self.as_raw()) };
    }

    /// Counts a frame to transmit that was dropped (`tx_dropped` of `ip -s link`).
    pub fn count_tx_dropped(&self) {
        // SAFETY: As for `count_rx_dropped`.
        unsafe { bindings::dev_core_stats_tx_dropped_inc(self.as_raw()) };
    }

    /// Returns whether both references are to the same device.
    pub fn is(&self, other: &Device) -> bool {
        ptr::eq(self, other)
    }
}

/// The devices stacked directly on a device; see [`Device::uppers`].
///
/// # Invariants
///
/// `iter` is the head of `dev`'s upper list or an entry of it, and an RCU read-side critical
/// section is held for `'a`.
pub struct Uppers<'a> {
    dev: &'a Device,
    iter: *mut bindings::list_head,
    _guard: PhantomData<&'a rcu::Guard>,
}

impl<'a> Iterator for Uppers<'a> {
    type Item = &'a Device;

    fn next(&mut self) -> Option<&'a Device> {
        // SAFETY: By the type invariants the RCU read lock is held, as the function requires,
        // and `iter` is a position in `dev`'s upper list: an entry unlinked since is freed only
        // after the grace period, and its `next` still leads back into the list.
        let upper =
            unsafe { bindings::netdev_upper_get_next_dev_rcu(self.dev.as_raw(), &mut self.iter) };
        // SAFETY: A device found on the upper list under RCU is freed only after a grace period,
        // which the critical section held for `'a` delays.
        (!upper.is_null()).then(|| unsafe { Device::from_raw(upper) })
    }
}

impl PartialEq for Device {
    fn eq(&self, other: &Device) -> bool {
        self.is(other)
    }
}

impl Eq for Device {}
