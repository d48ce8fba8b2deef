// SPDX-License-Identifier: GPL-2.0
// The same uses done right compile (so that the others fail for their own reason).
// expect: ok

struct Fine;

#[vtable]
impl RxHandler for Fine {
    fn handle_skb<'a>(&'a self, skb: SkBuff, _ctx: &'a RxContext) -> RxResult<'a> {
        RxResult::Pass(skb)
    }
    fn handle_xdp<'a, 'id>(&'a self, xdp: XdpRx<'a, 'id>) -> XdpVerdict<'id> {
        xdp.fallback()
    }
}

fn redirect<'a, 'id>(xdp: XdpRx<'a, 'id>, p: &'a Prog, up: &'a Device) -> XdpVerdict<'id> {
    match xdp.run(p, up) {
        Ran::Redirect(r) => r.redirect(),
        Ran::Pass(ran) | Ran::Drop(ran) | Ran::Tx(ran) | Ran::Aborted(ran, _) => ran.drop_frame(),
    }
}

fn first_upper(lower: &Device) -> Option<ARef<Device>> {
    let g = rcu::read_lock();
    lower.uppers(&g).next().map(ARef::from)
}

fn generic(p: &Prog, skb: SkBuff, dev: &Device, ctx: &RxContext) {
    let _ = kernel::net::xdp::run_generic(p, skb, dev, ctx);
}

fn keep_prog(slot: &ProgSlot) -> Option<ARef<Prog>> {
    let g = rcu::read_lock();
    slot.get(&g).and_then(|p| p.try_get())
}

fn send(skb: SkBuff, dev: &Device) -> Result {
    skb.xmit(dev)
}

fn newlink_addr(dev: &NewDevice<'_>) -> bool {
    dev.addr().is_some()
}

#[allow(dead_code)]
fn _unused(_: &Mutex<u32>, _: &ExtAck, _: &Rtnl) {}
