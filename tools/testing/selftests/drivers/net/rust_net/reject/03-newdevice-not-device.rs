// SPDX-License-Identifier: GPL-2.0
// A device in newlink (not registered) cannot be linked, held or given handlers.
// expect: E0308

fn f(dev: &NewDevice<'_>, lower: &Device, extack: &ExtAck, rtnl: &Rtnl) -> Result {
    lower.link_upper(dev, extack, rtnl)
}
