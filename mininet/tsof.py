"""tsof-switch as a Mininet switch.

    sudo mn --custom mininet/tsof.py --switch tsof \\
        --controller remote,ip=127.0.0.1,port=6653 --topo tree,2

Each switch is one tsof-switch process (bin/tsof-switch.js, run with node) in
the root namespace, as Mininet runs Open vSwitch: its ports are the
interfaces Mininet made for it, with the names and OpenFlow port numbers
Mininet gave them, its datapath id is Mininet's (s3 -> 3 unless told), it
connects to every controller of the network, it is a bridge named as the
switch (`--name`: tools reach it as `tsof-ofctl CMD s1`, through
/run/tsof/s1.mgmt; dpctl runs tsof-ofctl (bin/tsof-ofctl.js) -O OpenFlow13
so), and it opens a passive listener (Mininet's --listenport, or a free port)
for tools that take tcp: only. Its control socket and its log
(JSON lines) are RUNDIR/NAME.ctl and RUNDIR/NAME.log, RUNDIR /run/tsof/mininet
unless given; the log stays there after the switch stops.

Invariants:
- start() returns once the process runs; batchStartup() (Mininet calls it
  after every start()) waits until each switch has attached its ports and
  answers on its control socket, so the network forwards when Mininet's
  start() returns. The switches start in parallel: each is a node process.
- connected() reads the switch's log: a controller counts from its
  "OpenFlow connection up" to its "OpenFlow connection closed". In standalone
  fail mode the switch forwards alone, so it counts as connected, as
  OVSSwitch does.
- stop() ends the process with SIGTERM (the switch closes its connections,
  detaches its ports and removes its control socket), SIGKILL after
  `stopTimeout` seconds. The process also gets SIGTERM if the Python process
  that started it dies, so a crashed Mininet leaves no switch behind.
- attach()/detach() add and remove ports of a running switch through its
  control socket (one JSON object a line, src/switch/control.ts); the switch
  sends the controllers PORT_STATUS.

Options, as `--switch tsof,failMode=standalone` or addSwitch(..., key=value):
  failMode     secure (default, as OVSSwitch) or standalone
  runDir       the directory of control sockets and logs (/run/tsof/mininet)
  logLevel     tsof-switch's --log-level: info (default), debug or trace
  stopTimeout  seconds to wait after SIGTERM (default 5)
  opts         more tsof-switch flags, as one string
The node binary is $TSOF_NODE, else `node` on PATH, else /usr/bin/node or
/usr/local/bin/node (sudo may drop the PATH where node was found).
"""

import ctypes
import inspect
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time

from mininet.log import error, info
from mininet.node import Switch

# mn --custom runs this file with exec(), without __file__; the code knows its file.
ROOT = os.path.dirname(os.path.dirname(os.path.realpath(
    inspect.currentframe().f_code.co_filename)))
SWITCH_JS = os.path.join(ROOT, 'bin', 'tsof-switch.js')
OFCTL_JS = os.path.join(ROOT, 'bin', 'tsof-ofctl.js')
PR_SET_PDEATHSIG = 1


def findNode():
    "The node binary that runs tsof-switch and tsof-ofctl."
    candidates = [os.environ.get('TSOF_NODE'), shutil.which('node'),
                  '/usr/bin/node', '/usr/local/bin/node']
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    raise Exception('tsof: cannot find node (set TSOF_NODE to its path)')


def freePort():
    "A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick)."
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def dieWithParent():
    "In the child before exec: SIGTERM when the process that started it dies."
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class TsofSwitch(Switch):
    "tsof-switch: tsof's OpenFlow 1.3 switch over its native datapath."

    def __init__(self, name, failMode='secure', runDir='/run/tsof/mininet',
                 logLevel='info', stopTimeout=5, **params):
        params.pop('batch', None)  # Mininet's hint to classes with batchStartup
        Switch.__init__(self, name, **params)
        if failMode not in ('secure', 'standalone'):
            raise Exception('tsof: %s: failMode must be secure or standalone, '
                            'not %r' % (name, failMode))
        if logLevel not in ('trace', 'debug', 'info'):
            # connected() reads the info records of connections going up and down.
            raise Exception('tsof: %s: logLevel must be trace, debug or info, '
                            'not %r' % (name, logLevel))
        self.failMode = failMode
        self.runDir = runDir
        self.ctlPath = os.path.join(runDir, name + '.ctl')
        self.logPath = os.path.join(runDir, name + '.log')
        self.logLevel = logLevel
        self.stopTimeout = float(stopTimeout)
        self.proc = None
        self.targets = []
        self._logOffset = 0
        self._up = set()

    @classmethod
    def setup(cls):
        "Fail before building the network when tsof-switch cannot run."
        findNode()
        if not os.path.exists(SWITCH_JS):
            raise Exception('tsof: no %s' % SWITCH_JS)

    def dataIntfs(self):
        "The interfaces that are OpenFlow ports: all but lo and addressed ones."
        return [intf for intf in self.intfList()
                if self.ports[intf] and not intf.IP()]

    def start(self, controllers):
        "Start tsof-switch over this switch's interfaces."
        if self.proc and self.proc.poll() is None:
            raise Exception('tsof: %s is already running' % self.name)
        if self.listenPort is None:
            self.listenPort = freePort()
        self.targets = ['tcp:%s:%d' % (c.IP(), c.port) for c in controllers]
        args = [findNode(), SWITCH_JS,
                '--dpid', '0x' + self.dpid,
                '--fail-mode', self.failMode,
                '--name', self.name,
                '--listen', 'ptcp:%d:127.0.0.1' % self.listenPort,
                '--ctl', self.ctlPath,
                '--log-level', self.logLevel, '--json']
        for intf in self.dataIntfs():
            args += ['--port', '%s=%d' % (intf.name, self.ports[intf])]
        for target in self.targets:
            args += ['--controller', target]
        args += shlex.split(self.opts)
        os.makedirs(self.runDir, exist_ok=True)
        self._logOffset = 0
        self._up = set()
        with open(self.logPath, 'wb') as log:
            # A session of its own: Ctrl-C in Mininet's CLI is not meant for it.
            self.proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True,
                preexec_fn=dieWithParent)
        self.pid = self.proc.pid

    @classmethod
    def batchStartup(cls, switches, timeout=30):
        "Wait until every switch answers on its control socket."
        started = []
        deadline = time.time() + timeout
        for switch in switches:
            if switch.waitReady(deadline):
                started.append(switch)
        return started

    def waitReady(self, deadline):
        "Wait until the switch answers list-ports; False if it failed."
        while time.time() < deadline:
            if self.proc.poll() is not None:
                error('tsof: %s exited (%s) while starting:\n%s\n' % (
                    self.name, self.proc.returncode, self.logTail()))
                return False
            try:
                self.control({'cmd': 'list-ports'})
                return True
            except OSError:
                time.sleep(0.1)
        error('tsof: %s did not start within its time:\n%s\n' % (
            self.name, self.logTail()))
        return False

    def control(self, request):
        "One request on the control socket; the reply, or an exception."
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.ctlPath)
            s.sendall((json.dumps(request) + '\n').encode())
            reply = b''
            while not reply.endswith(b'\n'):
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        answer = json.loads(reply.decode() or '{}')
        if not answer.get('ok'):
            raise Exception('tsof: %s: %s: %s' % (
                self.name, request['cmd'], answer.get('error', 'no reply')))
        return answer

    def logRecords(self):
        "The JSON log records written since the last call."
        try:
            with open(self.logPath, 'rb') as log:
                log.seek(self._logOffset)
                data = log.read()
        except OSError:
            return []
        end = data.rfind(b'\n') + 1  # a half-written line waits for the next call
        self._logOffset += end
        records = []
        for line in data[:end].splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                pass  # not a log record (a stack trace, node's own output)
        return records

    def logTail(self, lines=20):
        "The end of the switch's log, for error messages."
        try:
            with open(self.logPath, errors='replace') as log:
                return ''.join(log.readlines()[-lines:])
        except OSError:
            return '(no log at %s)' % self.logPath

    def connected(self):
        "Is the switch connected to at least one of its controllers?"
        for record in self.logRecords():
            target = record.get('controller')
            if target is None:
                continue  # a tool's connection (dpctl), not a controller's
            if record.get('msg') == 'OpenFlow connection up':
                self._up.add(target)
            elif record.get('msg') == 'OpenFlow connection closed':
                self._up.discard(target)
        running = self.proc is not None and self.proc.poll() is None
        return running and (bool(self._up) or self.failMode == 'standalone')

    def dpctl(self, *args):
        "Run tsof-ofctl -O OpenFlow13 against the switch, by its bridge name."
        args = [str(arg) for arg in args]
        options = [arg for arg in args if arg.startswith('-')]
        rest = [arg for arg in args if not arg.startswith('-')]
        if not rest:
            return 'dpctl: give a tsof-ofctl command\n'
        return self.cmd(shlex.quote(findNode()), shlex.quote(OFCTL_JS),
                        '-O', 'OpenFlow13', *options, rest[0], self.name,
                        *[shlex.quote(arg) for arg in rest[1:]])

    def intfNamed(self, intf):
        "The Intf object for an interface or its name."
        return intf if not isinstance(intf, str) else self.nameToIntf[intf]

    def attach(self, intf):
        "Add an interface to the running switch, as the port Mininet numbered."
        intf = self.intfNamed(intf)
        intf.ifconfig('up')
        self.control({'cmd': 'add-port', 'ifname': intf.name,
                      'port': self.ports[intf]})

    def detach(self, intf):
        "Remove an interface from the running switch."
        self.control({'cmd': 'del-port', 'port': str(intf)})

    @classmethod
    def batchShutdown(cls, switches):
        "Stop the switches together: SIGTERM to all, then wait for each."
        for switch in switches:
            switch.signal(signal.SIGTERM)
        for switch in switches:
            switch.reap()
        return switches

    def signal(self, sig):
        "Send the switch process a signal if it still runs."
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def reap(self):
        "Wait for the process to end after SIGTERM; SIGKILL when it takes too long."
        if not self.proc:
            return
        try:
            self.proc.wait(self.stopTimeout)
        except subprocess.TimeoutExpired:
            error('tsof: %s did not stop within %gs: killed\n' % (
                self.name, self.stopTimeout))
            self.proc.kill()
            self.proc.wait()
        if self.proc.returncode not in (0, -signal.SIGTERM):
            info('tsof: %s exited with %s; its log: %s\n' % (
                self.name, self.proc.returncode, self.logPath))

    def stop(self, deleteIntfs=True):
        "Stop tsof-switch cleanly, then (by default) delete its interfaces."
        self.signal(signal.SIGTERM)
        self.reap()
        super(TsofSwitch, self).stop(deleteIntfs)


switches = {'tsof': TsofSwitch}
