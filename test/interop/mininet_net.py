"""One Mininet network of tsof-switches for test/interop/mininet.test.ts.

    mininet_net.py --topo linear,4 --controller-port N --prefix tm1a2b \\
        --rundir DIR [--iperf] [--attach]

Builds Mininet's topology (linear,K or tree,DEPTH) with mininet/tsof.py's
TsofSwitch under a remote controller at 127.0.0.1:N, with every node's name
prefixed (tm1a2bs1, tm1a2bh1: interface names unique to this run; the dpids
stay Mininet's, s3 -> 3), waits for the switches to connect and checks what
Mininet asked for against what the switches report: port names and numbers
(list-ports), datapath ids (dpctl show). Then: pingall; with --iperf, iperf3
from the first host to the last; with --attach, a new host linked to the first
switch after start (attach), pinged, then detached. Stops the network and
prints one line, RESULT followed by JSON, with what it measured.

Cleans up only its own network (Mininet's stop, in a finally, also on
SIGTERM); never Mininet's global cleanup (mn -c), which deletes every OVS
bridge on the machine.
"""

import argparse
import importlib.util
import json
import os
import re
import signal
import sys
import time

from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.node import RemoteController
from mininet.topo import LinearTopo, Topo
from mininet.topolib import TreeTopo
from mininet.util import specialClass

HERE = os.path.dirname(os.path.realpath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ left in the clone
spec = importlib.util.spec_from_file_location(
    'tsof', os.path.join(HERE, '..', '..', 'mininet', 'tsof.py'))
tsof = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tsof)

TOPOS = {'linear': lambda n: LinearTopo(k=n), 'tree': lambda n: TreeTopo(depth=n)}


class Prefixed(Topo):
    "A copy of a topology with every node's name prefixed; switches keep their dpid."

    def build(self, base, prefix):
        for name in base.nodes():
            opts = dict(base.nodeInfo(name))
            opts.pop('isSwitch', None)
            if base.isSwitch(name):
                opts.setdefault('dpid', '%x' % int(re.findall(r'\d+', name)[0]))
                self.addSwitch(prefix + name, **opts)
            else:
                self.addHost(prefix + name, **opts)
        for _, _, opts in base.links(sort=True, withInfo=True):
            opts = dict(opts)
            opts['node1'] = prefix + opts['node1']
            opts['node2'] = prefix + opts['node2']
            self.addLink(**opts)


def iperf3(client, server, seconds=2):
    "iperf3 from client to server; bits per second received."
    srv = server.popen(['iperf3', '--server'])
    try:
        failure = ''
        for _ in range(50):
            out = client.cmd('iperf3', '--client', server.IP(), '--time',
                             str(seconds), '--json')
            try:
                result = json.loads(out)
            except ValueError:
                result = {'error': out.strip()}
            bps = result.get('end', {}).get('sum_received', {}).get('bits_per_second')
            if bps is not None:
                return bps
            failure = result.get('error', 'no result')
            time.sleep(0.1)  # the server is not listening yet
        raise Exception('iperf3 %s -> %s: %s' % (client, server, failure))
    finally:
        srv.terminate()
        srv.wait()


def portsOf(switch):
    "What the switch reports: {name: OpenFlow port}."
    return {p['name']: p['port'] for p in switch.control({'cmd': 'list-ports'})['ports']}


def portsMininetGave(switch):
    return {intf.name: switch.ports[intf] for intf in switch.dataIntfs()}


def run(args, result):
    kind, size = args.topo.split(',')
    topo = Prefixed(TOPOS[kind](int(size)), prefix=args.prefix)
    controller = lambda name: RemoteController(name, ip='127.0.0.1', port=args.controller_port)
    switch = specialClass(tsof.TsofSwitch, defaults={'runDir': args.rundir})
    net = Mininet(topo=topo, switch=switch, controller=controller,
                  waitConnected=False, build=False)
    try:
        t = time.time()
        net.build()
        net.start()
        result['startSeconds'] = round(time.time() - t, 2)
        result['connected'] = net.waitConnected(timeout=30)
        result['connectSeconds'] = round(time.time() - t, 2)

        result['ports'] = {s.name: portsOf(s) for s in net.switches}
        result['portsExpected'] = {s.name: portsMininetGave(s) for s in net.switches}
        result['dpids'] = {s.name: re.search(r'dpid:([0-9a-f]{16})', s.dpctl('show')).group(1)
                           for s in net.switches}
        result['dpidsExpected'] = {s.name: s.dpid for s in net.switches}

        t = time.time()
        result['pingallDropped'] = net.pingAll(timeout=2)
        result['pingallSeconds'] = round(time.time() - t, 2)
        result['flowsOnFirstSwitch'] = len([l for l in net.switches[0].dpctl('dump-flows').splitlines()
                                            if 'actions=' in l])

        if args.iperf:
            result['iperfBitsPerSecond'] = iperf3(net.hosts[0], net.hosts[-1])

        if args.attach:
            sw = net.switches[0]
            host = net.addHost(args.prefix + 'hx')
            link = net.addLink(host, sw)
            host.configDefault()
            sw.attach(link.intf2)
            result['attached'] = {'name': link.intf2.name, 'port': sw.ports[link.intf2],
                                  'reported': portsOf(sw).get(link.intf2.name)}
            result['attachedPingDropped'] = net.ping([host, net.hosts[0]], timeout=2)
            sw.detach(link.intf2)
            result['detachedGone'] = link.intf2.name not in portsOf(sw)
    finally:
        t = time.time()
        net.stop()
        result['stopSeconds'] = round(time.time() - t, 2)
        result['exitCodes'] = {s.name: s.proc.returncode if s.proc else None for s in net.switches}
        result['socketsLeft'] = [s.name for s in net.switches if os.path.exists(s.ctlPath)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--topo', required=True)
    parser.add_argument('--controller-port', type=int, required=True)
    parser.add_argument('--prefix', required=True)
    parser.add_argument('--rundir', required=True)
    parser.add_argument('--iperf', action='store_true')
    parser.add_argument('--attach', action='store_true')
    args = parser.parse_args()
    # SIGTERM (the test's timeout) runs the finally that stops the network.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    setLogLevel('info')
    result = {}
    try:
        run(args, result)
    finally:
        print('RESULT ' + json.dumps(result), flush=True)


if __name__ == '__main__':
    main()
