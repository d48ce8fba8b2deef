// SPDX-License-Identifier: GPL-2.0

//! Network device notifiers.
//!
//! A stacked device learns what happens to its lower device (going down, changing MTU, going
//! away) through a netdevice notifier.
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)

use super::{device::Device, rtnl::Rtnl};
use crate::{bindings, error::to_result, prelude::*, types::Opaque};
use core::marker::PhantomPinned;

/// A netdevice event (`enum netdev_cmd`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The device was brought up (`NETDEV_UP`).
    Up,
    /// The device is going down (`NETDEV_GOING_DOWN`).
    GoingDown,
    /// The device went down (`NETDEV_DOWN`).
    Down,
    /// The carrier or operational state changed (`NETDEV_CHANGE`).
    Change,
    /// The device was registered (`NETDEV_REGISTER`).
    Register,
    /// The device is being unregistered (`NETDEV_UNREGISTER`).
    Unregister,
    /// The MTU changed (`NETDEV_CHANGEMTU`).
    ChangeMtu,
    /// The hardware address changed (`NETDEV_CHANGEADDR`).
    ChangeAddr,
    /// Any other event, by its raw value.
    Other(u64),
}

impl Event {
    fn from_raw(e: u64) -> Self {
        match u32::try_from(e).unwrap_or(u32::MAX) {
            bindings::netdev_cmd_NETDEV_UP => Event::Up,
            bindings::netdev_cmd_NETDEV_GOING_DOWN => Event::GoingDown,
            bindings::netdev_cmd_NETDEV_DOWN => Event::Down,
            bindings::netdev_cmd_NETDEV_CHANGE => Event::Change,
            bindings::netdev_cmd_NETDEV_REGISTER => Event::Register,
            bindings::netdev_cmd_NETDEV_UNREGISTER => Event::Unregister,
            bindings::netdev_cmd_NETDEV_CHANGEMTU => Event::ChangeMtu,
            bindings::netdev_cmd_NETDEV_CHANGEADDR => Event::ChangeAddr,
            _ => Event::Other(e),
        }
    }
}

/// A netdevice notifier.
///
/// It is `'static`: a leaked [`Registration`] keeps it registered for good.
///
/// # Examples
///
/// ```
/// use core::sync::atomic::{AtomicUsize, Ordering};
/// use kernel::net::{device::Device, notifier::{self, Event}, rtnl::Rtnl};
///
/// struct CountRegister(AtomicUsize);
///
/// impl notifier::Notifier for CountRegister {
///     fn notify(&self, event: Event, _dev: &Device, _rtnl: &Rtnl) {
///         if event == Event::Register {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
///
/// let reg = KBox::pin_init(
///     notifier::Registration::new(CountRegister(AtomicUsize::new(0))),
///     GFP_KERNEL,
/// )?;
/// // Registering replayed `NETDEV_REGISTER` for the devices that exist (`lo` at least).
/// assert!(reg.notifier().0.load(Ordering::Relaxed) >= 1);
/// # Ok::<(), Error>(())
/// ```
pub trait Notifier: Send + Sync + 'static {
    /// Called for every event of every device in every namespace, with RTNL held. Errors are
    /// ignored by the core for most events; the notifier returns `NOTIFY_DONE`.
    fn notify(&self, event: Event, dev: &Device, rtnl: &Rtnl);
}

/// The registration of a [`Notifier`], for as long as it exists.
///
/// Registering replays `NETDEV_REGISTER` and `NETDEV_UP` for the devices that exist; dropping
/// replays `NETDEV_GOING_DOWN`, `NETDEV_DOWN` and `NETDEV_UNREGISTER` for them, as the C
/// functions do.
///
/// # Invariants
///
/// `nb` is registered with `register_netdevice_notifier()` and its callback finds `inner`
/// through `container_of`.
#[pin_data(PinnedDrop)]
pub struct Registration<N: Notifier> {
    #[pin]
    nb: Opaque<bindings::notifier_block>,
    inner: N,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: The notifier may be unregistered from any thread; `N` is `Send + Sync`.
unsafe impl<N: Notifier> Send for Registration<N> {}
// SAFETY: `&Registration` gives access to nothing but `&N`, which is `Sync`.
unsafe impl<N: Notifier> Sync for Registration<N> {}

impl<N: Notifier> Registration<N> {
    /// Registers `inner`.
    pub fn new(inner: N) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            inner,
            nb <- Opaque::try_ffi_init(move |nb: *mut bindings::notifier_block| {
                // SAFETY: `nb` is valid for writes; it is zeroed and its callback set before it
                // is registered, and it stays pinned until `drop` unregisters it. `inner` is
                // initialised before `nb` (field order above), so events find it.
                unsafe {
                    nb.write(core::mem::zeroed());
                    (*nb).notifier_call = Some(Self::callback);
                    to_result(bindings::register_netdevice_notifier(nb))
                }
            }),
            _pin: PhantomPinned,
        })
    }

    /// Returns the notifier.
    pub fn notifier(&self) -> &N {
        &self.inner
    }

    /// # Safety
    ///
    /// Called by the notifier chain with the `nb` that `new` registered, a netdevice event and
    /// its `netdev_notifier_info`, with RTNL held.
    unsafe extern "C" fn callback(
        nb: *mut bindings::notifier_block,
        event: c_ulong,
        ptr: *mut c_void,
    ) -> c_int {
        // SAFETY: `nb` is the `nb` field of a pinned, registered `Registration<N>` (the type
        // invariants), so the container is valid while the callback runs.
        let this = unsafe { &*crate::container_of!(Opaque::cast_from(nb).cast_mut(), Self, nb) };
        // SAFETY: Netdevice notifiers receive a `netdev_notifier_info` whose device is valid for
        // the call, with RTNL held.
        let (dev, rtnl) = unsafe {
            (
                Device::from_raw(bindings::netdev_notifier_info_to_dev(ptr.cast())),
                Rtnl::assume_held(),
            )
        };
        this.inner.notify(Event::from_raw(event as u64), dev, &rtnl);
        bindings::NOTIFY_DONE as c_int
    }
}

#[pinned_drop]
impl<N: Notifier> PinnedDrop for Registration<N> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariants `nb` is registered.
        unsafe { bindings::unregister_netdevice_notifier(self.nb.get()) };
    }
}
