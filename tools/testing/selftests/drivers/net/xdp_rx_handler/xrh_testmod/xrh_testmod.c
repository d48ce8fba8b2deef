// SPDX-License-Identifier: GPL-2.0
/*
 * A test XDP rx handler for the selftests. Attached to one device, it answers
 * every buffer with a configured result, or with what an XDP program says,
 * and counts what it saw. Controlled through /sys/kernel/debug/xrh_testmod/:
 *
 *   attach   write a device name (of the writer's netns) to attach, "-"
 *            to detach
 *   mode     fallback | consumed | drop | tx | prog
 *   prog     write an XDP program fd (used by "prog" mode), -1 to clear;
 *            the handler acts on the program's action: a frame it passes
 *            goes to the device's stack as an skb the handler builds
 *            (CONSUMED), never back to the skb path once a program ran
 *   frags    1 (default): take multi-buffer frames like the others; 0: answer
 *            them with PASS_FALLBACK, as a handler that cannot take them
 *   stats    read: calls, calls with a multi-buffer frame and the count of
 *            each result; write anything to reset
 *   hijack   write a device name: register the XDP rx handler alone, on a
 *            device whose skb rx_handler someone else registered (the write
 *            fails with the error); if that succeeds, unregister it at once
 */

#include <linux/bpf.h>
#include <linux/debugfs.h>
#include <linux/filter.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/nsproxy.h>
#include <linux/rtnetlink.h>
#include <net/xdp.h>
#include <trace/events/xdp.h>

enum xrh_mode { XRH_FALLBACK, XRH_CONSUMED, XRH_DROP, XRH_TX, XRH_PROG };

static const char * const xrh_mode_names[] = {
	[XRH_FALLBACK] = "fallback", [XRH_CONSUMED] = "consumed",
	[XRH_DROP] = "drop", [XRH_TX] = "tx", [XRH_PROG] = "prog",
};

static const char * const xrh_result_names[] = {
	[RX_XDP_HANDLER_PASS_FALLBACK] = "pass_fallback",
	[RX_XDP_HANDLER_CONSUMED] = "consumed",
	[RX_XDP_HANDLER_REDIRECT] = "redirect",
	[RX_XDP_HANDLER_TX] = "tx",
	[RX_XDP_HANDLER_DROP] = "drop",
	[RX_XDP_HANDLER_ANOTHER] = "another",
};

static struct {
	struct net_device *dev;		/* RTNL */
	netdevice_tracker tracker;
	struct bpf_prog __rcu *prog;	/* RTNL for updates */
	int mode;			/* READ_ONCE() on the data path */
	bool frags;			/* READ_ONCE() on the data path */
	atomic_long_t calls;
	atomic_long_t frag_calls;
	atomic_long_t results[ARRAY_SIZE(xrh_result_names)];
	struct dentry *dir;
} xrh;

static rx_handler_result_t xrh_skb_handler(struct sk_buff **pskb)
{
	return RX_HANDLER_PASS;
}

static enum rx_xdp_handler_result xrh_run_prog(struct net_device *dev,
					       struct xdp_buff *xdp,
					       struct xdp_pass *pass)
{
	/* Under the NAPI poll's disabled bottom halves, as the handler runs. */
	struct bpf_prog *prog = rcu_dereference_check(xrh.prog,
						      rcu_read_lock_bh_held());
	struct sk_buff *skb;
	u32 act;

	if (!prog)
		return RX_XDP_HANDLER_PASS_FALLBACK;

	act = bpf_prog_run_xdp(prog, xdp);
	switch (act) {
	case XDP_PASS:
		/* A program ran, so the frame may not fall back: the skb path
		 * would go on as if nothing had seen it. Deliver it to the
		 * device's stack here, as an upper device delivers to its own,
		 * with a complete checksum: the new skb has no checksum state.
		 */
		if (xdp_pass_csum_help(xdp, pass))
			return RX_XDP_HANDLER_DROP;
		skb = xdp_build_skb_from_buff(xdp);
		if (!skb)
			return RX_XDP_HANDLER_DROP;
		netif_receive_skb(skb);
		return RX_XDP_HANDLER_CONSUMED;
	case XDP_TX:
		return RX_XDP_HANDLER_TX;
	case XDP_REDIRECT:
		if (xdp_pass_csum_help(xdp, pass) ||
		    xdp_do_redirect(dev, xdp, prog))
			return RX_XDP_HANDLER_DROP;
		return RX_XDP_HANDLER_REDIRECT;
	default:
		bpf_warn_invalid_xdp_action(dev, prog, act);
		fallthrough;
	case XDP_ABORTED:
		trace_xdp_exception(dev, prog, act);
		fallthrough;
	case XDP_DROP:
		return RX_XDP_HANDLER_DROP;
	}
}

static enum rx_xdp_handler_result xrh_handler(struct net_device *dev,
					      struct xdp_buff *xdp,
					      struct xdp_pass *pass)
{
	enum rx_xdp_handler_result ret;

	atomic_long_inc(&xrh.calls);
	if (xdp_buff_has_frags(xdp)) {
		atomic_long_inc(&xrh.frag_calls);
		if (!READ_ONCE(xrh.frags)) {
			ret = RX_XDP_HANDLER_PASS_FALLBACK;
			goto out;
		}
	}
	switch (READ_ONCE(xrh.mode)) {
	case XRH_CONSUMED:
		/* The buffer is ours now: give it back to its allocator. */
		xdp_return_buff(xdp);
		ret = RX_XDP_HANDLER_CONSUMED;
		break;
	case XRH_DROP:
		ret = RX_XDP_HANDLER_DROP;
		break;
	case XRH_TX:
		ret = RX_XDP_HANDLER_TX;
		break;
	case XRH_PROG:
		ret = xrh_run_prog(dev, xdp, pass);
		break;
	default:
		ret = RX_XDP_HANDLER_PASS_FALLBACK;
		break;
	}
out:
	atomic_long_inc(&xrh.results[ret]);
	return ret;
}

static void xrh_detach(void)
{
	ASSERT_RTNL();
	if (!xrh.dev)
		return;
	netdev_rx_xdp_handler_unregister(xrh.dev);
	netdev_rx_handler_unregister(xrh.dev);
	netdev_put(xrh.dev, &xrh.tracker);
	xrh.dev = NULL;
}

static int xrh_attach(const char *name)
{
	struct net_device *dev;
	int err;

	ASSERT_RTNL();
	xrh_detach();
	if (!strcmp(name, "-"))
		return 0;
	/* The writer's network namespace, as for ip link. */
	dev = __dev_get_by_name(current->nsproxy->net_ns, name);
	if (!dev)
		return -ENODEV;
	err = netdev_rx_handler_register(dev, xrh_skb_handler, &xrh);
	if (err)
		return err;
	err = netdev_rx_xdp_handler_register(dev, xrh_handler);
	if (err) {
		netdev_rx_handler_unregister(dev);
		return err;
	}
	netdev_hold(dev, &xrh.tracker, GFP_KERNEL);
	xrh.dev = dev;
	return 0;
}

/* Copies a device name written to a knob into @name (IFNAMSIZ + 1 bytes). */
static int xrh_get_name(const char __user *ubuf, size_t count, char *name)
{
	if (count > IFNAMSIZ)
		return -EINVAL;
	if (copy_from_user(name, ubuf, count))
		return -EFAULT;
	strim(name);
	return 0;
}

/* A knob that takes a device name and calls @fn on it with RTNL held. */
static ssize_t xrh_name_write(const char __user *ubuf, size_t count,
			      int (*fn)(const char *name))
{
	char name[IFNAMSIZ + 1] = {};
	int err;

	err = xrh_get_name(ubuf, count, name);
	if (err)
		return err;
	rtnl_lock();
	err = fn(name);
	rtnl_unlock();
	return err ?: count;
}

/* What the core must refuse: an XDP rx handler on another owner's data. */
static int xrh_hijack(const char *name)
{
	struct net_device *dev;
	int err;

	ASSERT_RTNL();
	dev = __dev_get_by_name(current->nsproxy->net_ns, name);
	if (!dev)
		return -ENODEV;
	err = netdev_rx_xdp_handler_register(dev, xrh_handler);
	if (!err) {
		pr_warn("xrh_testmod: registered on %s, whose rx_handler is not ours\n",
			name);
		netdev_rx_xdp_handler_unregister(dev);
	}
	return err;
}

static ssize_t xrh_hijack_write(struct file *file, const char __user *ubuf,
				size_t count, loff_t *ppos)
{
	return xrh_name_write(ubuf, count, xrh_hijack);
}

static ssize_t xrh_attach_write(struct file *file, const char __user *ubuf,
				size_t count, loff_t *ppos)
{
	return xrh_name_write(ubuf, count, xrh_attach);
}

static ssize_t xrh_mode_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	char buf[16] = {};
	int mode;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	mode = sysfs_match_string(xrh_mode_names, buf);
	if (mode < 0)
		return mode;
	WRITE_ONCE(xrh.mode, mode);
	return count;
}

static ssize_t xrh_prog_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	struct bpf_prog *prog = NULL, *old;
	int fd, err;

	err = kstrtoint_from_user(ubuf, count, 10, &fd);
	if (err)
		return err;
	if (fd >= 0) {
		prog = bpf_prog_get_type_dev(fd, BPF_PROG_TYPE_XDP, false);
		if (IS_ERR(prog))
			return PTR_ERR(prog);
	}
	rtnl_lock();
	old = rtnl_dereference(xrh.prog);
	rcu_assign_pointer(xrh.prog, prog);
	rtnl_unlock();
	/* bpf_prog_put() frees the program after an RCU grace period. */
	if (old)
		bpf_prog_put(old);
	return count;
}

static int xrh_frags_get(void *data, u64 *val)
{
	*val = READ_ONCE(xrh.frags);
	return 0;
}

static int xrh_frags_set(void *data, u64 val)
{
	WRITE_ONCE(xrh.frags, !!val);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(xrh_frags_fops, xrh_frags_get, xrh_frags_set, "%llu\n");

static int xrh_stats_show(struct seq_file *m, void *v)
{
	int i;

	seq_printf(m, "calls %ld\n", atomic_long_read(&xrh.calls));
	seq_printf(m, "frags %ld\n", atomic_long_read(&xrh.frag_calls));
	for (i = 0; i < ARRAY_SIZE(xrh_result_names); i++)
		seq_printf(m, "%s %ld\n", xrh_result_names[i],
			   atomic_long_read(&xrh.results[i]));
	return 0;
}

static int xrh_stats_open(struct inode *inode, struct file *file)
{
	return single_open(file, xrh_stats_show, NULL);
}

static ssize_t xrh_stats_write(struct file *file, const char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	int i;

	atomic_long_set(&xrh.calls, 0);
	atomic_long_set(&xrh.frag_calls, 0);
	for (i = 0; i < ARRAY_SIZE(xrh_result_names); i++)
		atomic_long_set(&xrh.results[i], 0);
	return count;
}

static const struct file_operations xrh_attach_fops = {
	.owner = THIS_MODULE,
	.write = xrh_attach_write,
};

static const struct file_operations xrh_hijack_fops = {
	.owner = THIS_MODULE,
	.write = xrh_hijack_write,
};

static const struct file_operations xrh_mode_fops = {
	.owner = THIS_MODULE,
	.write = xrh_mode_write,
};

static const struct file_operations xrh_prog_fops = {
	.owner = THIS_MODULE,
	.write = xrh_prog_write,
};

static const struct file_operations xrh_stats_fops = {
	.owner = THIS_MODULE,
	.open = xrh_stats_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = xrh_stats_write,
};

static int xrh_netdev_event(struct notifier_block *nb, unsigned long event,
			    void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);

	if (event == NETDEV_UNREGISTER && dev == xrh.dev)
		xrh_detach();
	return NOTIFY_DONE;
}

static struct notifier_block xrh_notifier = {
	.notifier_call = xrh_netdev_event,
};

static int __init xrh_init(void)
{
	int err;

	xrh.frags = true;
	err = register_netdevice_notifier(&xrh_notifier);
	if (err)
		return err;
	xrh.dir = debugfs_create_dir("xrh_testmod", NULL);
	debugfs_create_file("attach", 0200, xrh.dir, NULL, &xrh_attach_fops);
	debugfs_create_file("mode", 0200, xrh.dir, NULL, &xrh_mode_fops);
	debugfs_create_file("prog", 0200, xrh.dir, NULL, &xrh_prog_fops);
	debugfs_create_file_unsafe("frags", 0600, xrh.dir, NULL, &xrh_frags_fops);
	debugfs_create_file("stats", 0600, xrh.dir, NULL, &xrh_stats_fops);
	debugfs_create_file("hijack", 0200, xrh.dir, NULL, &xrh_hijack_fops);
	return 0;
}

static void __exit xrh_exit(void)
{
	struct bpf_prog *prog;

	debugfs_remove_recursive(xrh.dir);
	rtnl_lock();
	xrh_detach();
	prog = rtnl_dereference(xrh.prog);
	RCU_INIT_POINTER(xrh.prog, NULL);
	rtnl_unlock();
	if (prog)
		bpf_prog_put(prog);
	unregister_netdevice_notifier(&xrh_notifier);
}

module_init(xrh_init);
module_exit(xrh_exit);
MODULE_DESCRIPTION("Test XDP rx handler for the XDP rx handler selftests");
MODULE_LICENSE("GPL");
