// SPDX-License-Identifier: GPL-2.0
// A handler that borrows (which a leaked registration would keep using) is refused.
// expect: E0478

struct Borrowing<'a>(&'a u32);

#[vtable]
impl<'a> RxHandler for Borrowing<'a> {
    fn handle_skb<'b>(&'b self, skb: SkBuff, _ctx: &'b RxContext) -> RxResult<'b> {
        RxResult::Pass(skb)
    }
}
