// SPDX-License-Identifier: GPL-2.0
// A program lent under RCU holds no reference, and cannot become one by counting up from it.
// expect: E0277

fn keep(slot: &ProgSlot) -> Option<ARef<Prog>> {
    let g = rcu::read_lock();
    slot.get(&g).map(|p| ARef::from(p))
}
