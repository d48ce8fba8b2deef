// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the Rust network device abstractions (`kernel::net`), run when the module is
//! loaded (by `rust_net.sh`, which sets up what they need: a veth `rnetv0` and an XDP program
//! whose id it passes as `prog_id`).

use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::{
    net::{
        device::Net,
        link::{self, Dev, ExtAck, NewDevice, NewLinkParams},
        rtnl::{self, Rtnl},
        rx_handler::{self, RxHandler, RxResult, XdpRx, XdpVerdict},
        skb::SkBuff,
        xdp::{Prog, ProgSlot},
    },
    prelude::*,
    sync::{aref::ARef, Arc},
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

#[vtable]
impl link::Driver for TestLink {
    const KIND: &'static CStr = c"rnettest";
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

    fn start_xmit(_dev: &Dev<Self>, skb: SkBuff) {
        skb.consume();
    }

    fn xdp_setup_prog(dev: &Dev<Self>, prog: Option<&Prog>, _e: &ExtAck, rtnl: &Rtnl) -> Result {
        drop(dev.data().prog.replace(prog.map(ARef::from), rtnl));
        Ok(())
    }
}

struct TestHandler;

#[vtable]
impl RxHandler for TestHandler {
    fn handle_skb(&self, skb: SkBuff) -> RxResult {
        RxResult::Pass(skb)
    }

    fn handle_xdp<'a>(&'a self, xdp: XdpRx<'a>) -> XdpVerdict {
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
            dev.unregister(&rtnl);
            // Unregistering twice is harmless.
            dev.unregister(&rtnl);
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

    /// The rx handler and the XDP rx handler are registered on a veth and unregistered on drop.
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
        // Registering again works.
        let reg = rx_handler::Registration::new(&veth, h, &rtnl)?;
        drop(reg);
        check!(!veth.has_rx_handler());
        Ok(())
    }
}
