// SPDX-License-Identifier: GPL-2.0
// A device's per-CPU counters cannot be updated without a context that disabled bottom halves.
// expect: E0061

fn count<T: link::Driver>(dev: &Dev<T>) {
    dev.count_rx(64);
}
