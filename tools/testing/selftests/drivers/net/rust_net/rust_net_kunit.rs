// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the Rust network device abstractions (`kernel::net`), run when the module is
//! loaded (by `rust_net.sh`, which sets up what they need: a veth `rnetv0`, an XDP program whose
//! id it passes as `prog_id` and a devmap program whose id it passes as `devmap_prog_id`).
//!
//! Besides the normal life of devices, handlers and programs, the cases make the calls that
//! the abstractions must refuse or survive (a device of another driver taken for ours, a device
//! unregistering itself from its `uninit`, a devmap program run as a device's), with KASAN,
//! lockdep and kmemleak watching.

use core::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use kernel::{
    net::{
        device::Net,
        link::{self, Dev, ExtAck, NewDevice, NewLinkParams, TxContext},
        rtnl::{self, Rtnl},
        rx_handler::{self, RxContext, RxHandler, RxResult, XdpRx, XdpVerdict},
        skb::SkBuff,
        xdp::{Prog, ProgSlot},
    },
    prelude::*,
    sync::{aref::ARef, rcu, Arc},
};

module! {
    type: RustNetKunit,
    name: "rust_net_kunit",
    authors: ["The xdp-rx-handler project"],
    description: "KUnit tests of the Rust net_device, link, XDP and rx handler abstractions",
    license: "GPL",
    params: {
        prog_id: u32 {
            default: 0,
            description: "Id of a loaded XDP program for the tests to attach",
        },
        devmap_prog_id: u32 {
            default: 0,
            description: "Id of a loaded XDP program for devmap entries (BPF_XDP_DEVMAP)",
        },
    },
}

struct RustNetKunit;

impl kernel::Module for RustNetKunit {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}

/// How many `TestData` were dropped.
static DROPS: AtomicUsize = AtomicUsize::new(0);

struct TestData {
    magic: u32,
    prog: ProgSlot,
}

impl Drop for TestData {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::Relaxed);
    }
}

struct TestLink;

static TEST_OPS: link::Ops<TestLink> = link::Ops::new();

#[vtable]
impl link::Driver for TestLink {
    const KIND: &'static CStr = c"rnettest";
    const OPS: &'static link::Ops<Self> = &TEST_OPS;
    type Data = TestData;

    fn newlink(
        dev: &NewDevice<'_>,
        _params: &NewLinkParams<'_>,
        _extack: &ExtAck,
        _rtnl: &Rtnl,
    ) -> Result<impl PinInit<TestData, Error>> {
        dev.set_random_addr();
        Ok(Ok::<_, Error>(TestData {
            magic: 0x5a5a,
            prog: ProgSlot::new(),
        }))
    }

    fn start_xmit(_dev: &Dev<Self>, skb: SkBuff, _ctx: &TxContext) {
        skb.consume();
    }

    fn xdp_setup_prog(dev: &Dev<Self>, prog: Option<&Prog>, _e: &ExtAck, rtnl: &Rtnl) -> Result {
        drop(dev.data().prog.replace(prog.map(ARef::from), rtnl));
        Ok(())
    }
}

/// A link type named like `TestLink`, never registered: its devices' private area is not a
/// `TestData`, so a `TestLink` device must never pass for one of these.
struct SameKind;

static SAME_KIND_OPS: link::Ops<SameKind> = link::Ops::new();

#[vtable]
impl link::Driver for SameKind {
    const KIND: &'static CStr = c"rnettest";
    const OPS: &'static link::Ops<Self> = &SAME_KIND_OPS;
    type Data = KVec<u64>;

    fn newlink(
        _dev: &NewDevice<'_>,
        _params: &NewLinkParams<'_>,
        _extack: &ExtAck,
        _rtnl: &Rtnl,
    ) -> Result<impl PinInit<KVec<u64>, Error>> {
        Ok(Ok::<_, Error>(KVec::new()))
    }

    fn start_xmit(_dev: &Dev<Self>, skb: SkBuff, _ctx: &TxContext) {
        skb.consume();
    }
}

/// How many `SelfUnreg` devices ran `uninit`.
static SELF_UNINITS: AtomicUsize = AtomicUsize::new(0);

/// What `Dev::unregister` returned in `SelfUnreg::change_mtu`: 1 refused, 2 unregistered.
static SELF_MTU_UNREG: AtomicUsize = AtomicUsize::new(0);

/// What `Device::set_mtu` of the device itself returned in `SelfUnreg::change_mtu` (0 or an
/// errno).
static SELF_MTU_INNER: AtomicI32 = AtomicI32::new(0);

/// A link type whose devices unregister themselves in `uninit`, which `dellink` calls before it
/// queues the device: the queue must not take it twice.
struct SelfUnreg;

static SELF_UNREG_OPS: link::Ops<SelfUnreg> = link::Ops::new();

#[vtable]
impl link::Driver for SelfUnreg {
    const KIND: &'static CStr = c"rnetself";
    const OPS: &'static link::Ops<Self> = &SELF_UNREG_OPS;
    type Data = ();

    fn newlink(
        dev: &NewDevice<'_>,
        _params: &NewLinkParams<'_>,
        _extack: &ExtAck,
        _rtnl: &Rtnl,
    ) -> Result<impl PinInit<(), Error>> {
        dev.set_random_addr();
        Ok(Ok::<_, Error>(()))
    }

    fn uninit(dev: &Dev<Self>, rtnl: &Rtnl) {
        SELF_UNINITS.fetch_add(1, Ordering::Relaxed);
        // Already being deleted: this must do nothing.
        let _ = dev.unregister(rtnl);
    }

    fn change_mtu(dev: &Dev<Self>, mtu: u32, rtnl: &Rtnl) -> Result {
        // The core goes on with the device after this callback: unregistering it here must
        // be refused.
        let done = dev.unregister(rtnl);
        SELF_MTU_UNREG.store(if done { 2 } else { 1 }, Ordering::Relaxed);
        // Changing its own MTU again from here would recurse (each inner call one lower)
        // until the stack overflows: it must be refused.
        let inner = dev.set_mtu(mtu - 1, rtnl);
        SELF_MTU_INNER.store(
            inner.map_or_else(|e| e.to_errno(), |()| 0),
            Ordering::Relaxed,
        );
        Ok(())
    }

    fn start_xmit(_dev: &Dev<Self>, skb: SkBuff, _ctx: &TxContext) {
        skb.consume();
    }
}

struct TestHandler;

#[vtable]
impl RxHandler for TestHandler {
    fn handle_skb<'a>(&'a self, skb: SkBuff, _ctx: &'a RxContext) -> RxResult<'a> {
        RxResult::Pass(skb)
    }

    fn handle_xdp<'a, 'id>(&'a self, xdp: XdpRx<'a, 'id>) -> XdpVerdict<'id> {
        xdp.fallback()
    }
}

#[kunit_tests(rust_net_abstractions)]
mod tests {
    use super::*;

    // KUnit's assertions end the test's thread at once, without running destructors: a failed
    // one would leave RTNL held and the link type registered, and the cases after it would hang
    // or crash. These return an error from the case instead, so that the guards and
    // registrations are dropped, and KUnit reports just that case as failed.
    macro_rules! check {
        ($cond:expr) => {
            if !$cond {
                pr_err!(
                    "check failed at {}:{}: {}\n",
                    file!(),
                    line!(),
                    stringify!($cond)
                );
                return Err(EINVAL);
            }
        };
    }

    macro_rules! check_eq {
        ($a:expr, $b:expr) => {{
            let (a, b) = (&$a, &$b);
            if a != b {
                pr_err!(
                    "check failed at {}:{}: {} == {} ({:?} != {:?})\n",
                    file!(),
                    line!(),
                    stringify!($a),
                    stringify!($b),
                    a,
                    b
                );
                return Err(EINVAL);
            }
        }};
    }

    /// A device of a link type is created and destroyed through the abstractions; its private
    /// data is initialised once and dropped once.
    #[test]
    fn link_device_create_destroy() -> Result {
        let reg = KBox::pin_init(link::Registration::<TestLink>::new(), GFP_KERNEL)?;
        let before = DROPS.load(Ordering::Relaxed);
        {
            let rtnl = rtnl::lock();
            let dev = reg.create(Net::init(), c"rnettest%d", None, &rtnl)?;
            check_eq!(dev.data().magic, 0x5a5a);
            check!(dev.is_ethernet());
            check!(dev.ifindex() > 0);
            check!(Dev::<TestLink>::downcast(&dev).is_some());
            let lo = Net::init().device_by_name(c"lo", &rtnl).ok_or(ENODEV)?;
            check!(Dev::<TestLink>::downcast(&lo).is_none());
            check!(dev.unregister(&rtnl));
            // Unregistering twice is harmless.
            check!(!dev.unregister(&rtnl));
        }
        // Releasing RTNL completed the unregistration: the data is gone.
        check_eq!(DROPS.load(Ordering::Relaxed), before + 1);
        drop(reg);
        Ok(())
    }

    /// Devices of the type go away with the registration.
    #[test]
    fn link_unregister_destroys_devices() -> Result {
        let reg = KBox::pin_init(link::Registration::<TestLink>::new(), GFP_KERNEL)?;
        let before = DROPS.load(Ordering::Relaxed);
        {
            let rtnl = rtnl::lock();
            let a = reg.create(Net::init(), c"rnettest%d", None, &rtnl)?;
            let b = reg.create(Net::init(), c"rnettest%d", None, &rtnl)?;
            check!(a.ifindex() != b.ifindex());
        }
        drop(reg);
        check_eq!(DROPS.load(Ordering::Relaxed), before + 2);
        Ok(())
    }

    /// An XDP program is attached to a device's slot and detached again, with its references.
    #[test]
    fn xdp_prog_attach_detach() -> Result {
        let prog = Prog::from_id(module_parameters::prog_id.value())?;
        let reg = KBox::pin_init(link::Registration::<TestLink>::new(), GFP_KERNEL)?;
        {
            let rtnl = rtnl::lock();
            let dev = reg.create(Net::init(), c"rnettest%d", None, &rtnl)?;
            let slot = &dev.data().prog;
            check!(!slot.is_set());
            check!(slot.replace(Some(prog.clone()), &rtnl).is_none());
            check_eq!(slot.id(), Some(prog.id()));
            // A reader keeps the published program only by taking a reference of its own.
            let kept = {
                let g = rcu::read_lock();
                slot.get(&g).and_then(|p| p.try_get())
            };
            check_eq!(kept.map(|p| p.id()), Some(prog.id()));
            let old = slot.replace(None, &rtnl).ok_or(EINVAL)?;
            check_eq!(old.id(), prog.id());
            check!(!slot.is_set());
            // Attached when the device goes away: the slot releases it.
            check!(slot.replace(Some(old), &rtnl).is_none());
            dev.unregister(&rtnl);
        }
        check!(Prog::from_id(u32::MAX).is_err());
        Ok(())
    }

    /// A program for devmap entries expects their context (`xdp->txq`): it is refused as a
    /// program to run on received frames.
    #[test]
    fn xdp_prog_refuses_devmap_program() -> Result {
        check_eq!(
            Prog::from_id(module_parameters::devmap_prog_id.value()).err(),
            Some(EINVAL)
        );
        // The plain XDP program is accepted.
        check!(Prog::from_id(module_parameters::prog_id.value()).is_ok());
        Ok(())
    }

    /// A device is a `Dev<T>` only if its link ops are `T`'s, not because its kind has `T`'s
    /// name.
    #[test]
    fn link_downcast_by_ops_not_name() -> Result {
        let reg = KBox::pin_init(link::Registration::<TestLink>::new(), GFP_KERNEL)?;
        let rtnl = rtnl::lock();
        let dev = reg.create(Net::init(), c"rnettest%d", None, &rtnl)?;
        check!(Dev::<TestLink>::downcast(&dev).is_some());
        check!(Dev::<SameKind>::downcast(&dev).is_none());
        // A second registration of the same ops is refused and leaves the first alone.
        check_eq!(
            KBox::pin_init(link::Registration::<TestLink>::new(), GFP_KERNEL).err(),
            Some(EBUSY)
        );
        check!(Dev::<TestLink>::downcast(&dev).is_some());
        check!(dev.unregister(&rtnl));
        // The unregistration completes when RTNL is released, once the reference is gone.
        drop(dev);
        drop(rtnl);
        drop(reg);
        Ok(())
    }

    /// A device that unregisters itself from `uninit` while `dellink` deletes it (here: the
    /// link type's unregistration deletes its devices in one batch) is unregistered once.
    #[test]
    fn link_self_unregister_in_dellink() -> Result {
        let reg = KBox::pin_init(link::Registration::<SelfUnreg>::new(), GFP_KERNEL)?;
        let before = SELF_UNINITS.load(Ordering::Relaxed);
        {
            let rtnl = rtnl::lock();
            let a = reg.create(Net::init(), c"rnetself%d", None, &rtnl)?;
            let b = reg.create(Net::init(), c"rnetself%d", None, &rtnl)?;
            check!(a.ifindex() != b.ifindex());
        }
        drop(reg);
        check_eq!(SELF_UNINITS.load(Ordering::Relaxed), before + 2);
        let rtnl = rtnl::lock();
        check!(Net::init().device_by_name(c"rnetself0", &rtnl).is_none());
        Ok(())
    }

    /// A device cannot unregister itself from a callback after which the core goes on with
    /// it (here `change_mtu`, through `dev_set_mtu()`), nor change its own MTU from there: the
    /// device stays registered and takes the outer MTU, and can be unregistered afterwards.
    #[test]
    fn link_no_unregister_from_own_callback() -> Result {
        let reg = KBox::pin_init(link::Registration::<SelfUnreg>::new(), GFP_KERNEL)?;
        {
            let rtnl = rtnl::lock();
            let dev = reg.create(Net::init(), c"rnetself%d", None, &rtnl)?;
            SELF_MTU_UNREG.store(0, Ordering::Relaxed);
            SELF_MTU_INNER.store(0, Ordering::Relaxed);
            dev.set_mtu(1400, &rtnl)?;
            check_eq!(SELF_MTU_UNREG.load(Ordering::Relaxed), 1);
            check_eq!(SELF_MTU_INNER.load(Ordering::Relaxed), EBUSY.to_errno());
            check_eq!(dev.mtu(), 1400);
            check!(!dev.is_unregistering(&rtnl));
            // Outside the callback it goes. (`SelfUnreg::uninit` unregisters the device itself,
            // so this call reports that it found the device already unregistered.)
            let _ = dev.unregister(&rtnl);
            check!(dev.is_unregistering(&rtnl));
        }
        drop(reg);
        Ok(())
    }

    /// The rx handler and the XDP rx handler are registered on a veth and unregistered, under
    /// RTNL or on drop.
    #[test]
    fn rx_xdp_handler_on_veth() -> Result {
        let rtnl = rtnl::lock();
        let veth = Net::init().device_by_name(c"rnetv0", &rtnl).ok_or(ENODEV)?;
        check!(!veth.has_rx_handler() && !veth.has_rx_xdp_handler());
        let h = Arc::new(TestHandler, GFP_KERNEL)?;
        let reg = rx_handler::Registration::new(&veth, h.clone(), &rtnl)?;
        check!(veth.has_rx_handler() && veth.has_rx_xdp_handler());
        check!(reg.device().is(&veth));
        check_eq!(
            rx_handler::Registration::new(&veth, h.clone(), &rtnl).err(),
            Some(EBUSY)
        );
        reg.unregister(&rtnl);
        check!(!veth.has_rx_handler() && !veth.has_rx_xdp_handler());
        // Registering again works; dropping the registration where RTNL is not held takes
        // RTNL and unregisters.
        let reg = rx_handler::Registration::new(&veth, h, &rtnl)?;
        drop(rtnl);
        drop(reg);
        check!(!veth.has_rx_handler() && !veth.has_rx_xdp_handler());
        Ok(())
    }
}
