"""The os-ken switch tester's topology as a Mininet network.

    sudo python3 mininet/ryu_switch_net.py --controller-port 16633 \\
        [--target tsof|ovs] [--prefix tsrtab12] [--rundir DIR]

scripts/ryu-switch-test.ts --mininet runs it beside osken-manager and the
tester app (os_ken.tests.switch.tester), which asks for two switches cabled
port for port:

    target, dpid 1 (PREFIXs)                tester, dpid 2 (PREFIXt)
    tsof.py's TsofSwitch, or with           OVSSwitch, datapath='user'
    --target ovs an OVSSwitch like the      (netdev), OpenFlow13, fail
    tester                                  mode secure
      port 1 ============ Mininet link ============ port 1
      port 2 ============ Mininet link ============ port 2
      port 3 ============ Mininet link ============ port 3

Both connect to a RemoteController at 127.0.0.1:PORT, the tester's port; no
hosts. IPv6 is off on every cable end before it comes up: a fresh veth sends
router solicitations, which the tester would see as stray frames. Once the
network runs (net.start() returned), prints one line on stdout, READY and JSON:
{"target": where ovs-ofctl reaches the target, for its port counters}. Then
runs until SIGTERM, SIGINT or SIGHUP, until the process that started it dies
(PR_SET_PDEATHSIG) or until tsof-switch does, and stops its own network with
net.stop(). Never Mininet's global clean-up (mn -c), which deletes every OVS
bridge on the machine. Mininet's log goes to stderr. Exit status 0 after a
signal, 1 when tsof-switch died.
"""

import argparse
import json
import re
import signal
import sys

from mininet.link import Intf
from mininet.log import error, info, setLogLevel
from mininet.net import Mininet
from mininet.node import OVSSwitch, RemoteController

sys.dont_write_bytecode = True  # no __pycache__ left in the clone
import tsof  # noqa: E402  (mininet/tsof.py, beside this file)

CABLES = (1, 2, 3)
TESTER = dict(cls=OVSSwitch, datapath='user', protocols='OpenFlow13')


def targetParams(args):
    "The target: tsof-switch, or with --target ovs an Open vSwitch like the tester."
    return TESTER if args.target == 'ovs' else dict(cls=tsof.TsofSwitch, runDir=args.rundir)


class CableEnd(Intf):
    "A cable end without IPv6, turned off before Mininet brings it up."

    def config(self, **params):
        self.cmd('sysctl', '-qw', 'net.ipv6.conf.%s.disable_ipv6=1' % self.name)
        return Intf.config(self, **params)


def stopOnSignal(*_):
    raise SystemExit(0)


def run(args):
    net = Mininet(topo=None, build=False, intf=CableEnd, waitConnected=False)
    try:
        net.addController(args.prefix + 'c', controller=RemoteController,
                          ip='127.0.0.1', port=args.controller_port)
        target = net.addSwitch(args.prefix + 's', dpid='1', **targetParams(args))
        tester = net.addSwitch(args.prefix + 't', dpid='2', **TESTER)
        for n in CABLES:
            net.addLink(target, tester, port1=n, port2=n)
        net.build()
        # No waitConnected(): a short selection of cases can end, and the
        # tester with it, before Open vSwitch reports the connection in its
        # database. The tester says when each switch joined.
        net.start()
        where = (target.name if args.target == 'ovs'
                 else 'tcp:127.0.0.1:%d' % target.listenPort)
        print('READY ' + json.dumps({'target': where}), flush=True)
        if args.target == 'ovs':
            while True:
                signal.pause()
        # tsof-switch is a process of this network's: when it dies, so does the run.
        target.proc.wait()
        error('ryu_switch_net: %s exited (%s) while the network ran:\n%s\n' % (
            target.name, target.proc.returncode, target.logTail()))
        return 1
    finally:
        # A second signal (Ctrl-C reaches this process and the one that
        # started it, which then sends SIGTERM) must not cut the stop short.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        net.stop()


def main():
    parser = argparse.ArgumentParser(
        description="The os-ken switch tester's two switches in Mininet.")
    parser.add_argument('--controller-port', type=int, required=True,
                        help="the tester's OpenFlow port on 127.0.0.1")
    parser.add_argument('--target', choices=('tsof', 'ovs'), default='tsof')
    parser.add_argument('--prefix', default='tsrtmn',
                        help='node names: PREFIXs (target), PREFIXt (tester)')
    parser.add_argument('--rundir', default='/run/tsof/mininet',
                        help="tsof-switch's control socket and log")
    args = parser.parse_args()
    # Interface names (PREFIXs-eth1) have at most 15 characters.
    if not re.fullmatch(r'[a-z][a-z0-9]{0,8}', args.prefix):
        parser.error('--prefix: 1 to 9 lower-case letters and digits, starting '
                     'with a letter (interface names PREFIXs-ethN fit in 15), '
                     'not %r' % args.prefix)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stopOnSignal)
    tsof.dieWithParent()
    setLogLevel('info')
    try:
        return run(args)
    except KeyboardInterrupt:
        info('\n')
        return 0


if __name__ == '__main__':
    sys.exit(main())
