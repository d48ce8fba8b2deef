// SPDX-License-Identifier: GPL-2.0
// An upper from the walk cannot outlive its RCU read-side critical section.
// expect: E0515

fn f(lower: &Device) -> Option<&Device> {
    let g = rcu::read_lock();
    lower.uppers(&g).next()
}
