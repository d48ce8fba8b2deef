// SPDX-License-Identifier: GPL-2.0
// A verdict kept in the handler's state cannot answer for a later frame.
// expect: lifetime may not live long enough

struct Keeper(Mutex<Option<XdpVerdict<'static>>>);

#[vtable]
impl RxHandler for Keeper {
    fn handle_skb<'a>(&'a self, skb: SkBuff, _ctx: &'a RxContext) -> RxResult<'a> {
        RxResult::Pass(skb)
    }
    fn handle_xdp<'a, 'id>(&'a self, xdp: XdpRx<'a, 'id>) -> XdpVerdict<'id> {
        if let Some(v) = self.0.lock().take() {
            return v;
        }
        xdp.fallback()
    }
}
