// A three-member etcd cluster on loopback, as the cluster tests and
// bench/cluster start it: each member's flags, and whether it is healthy.

/** A member: its name and its client and peer ports. */
export interface EtcdMember {
  name: string;
  client: number;
  peer: number;
}

const url = (port: number) => `http://127.0.0.1:${port}`;

/** /usr/bin/etcd's flags for member m of members, its data in dir, the cluster named token. */
export function etcdArgs(m: EtcdMember, members: readonly EtcdMember[], dir: string, token: string): string[] {
  return [
    '--name', m.name, '--data-dir', dir,
    '--listen-client-urls', url(m.client), '--advertise-client-urls', url(m.client),
    '--listen-peer-urls', url(m.peer), '--initial-advertise-peer-urls', url(m.peer),
    '--initial-cluster', members.map((x) => `${x.name}=${url(x.peer)}`).join(','),
    '--initial-cluster-state', 'new', '--initial-cluster-token', token,
    // A 500 ms election timeout lets etcd grant 2 s leases as asked (its floor is 1.5 election timeouts).
    '--heartbeat-interval', '100', '--election-timeout', '500',
  ];
}

export const etcdHealthy = (m: EtcdMember): Promise<boolean> =>
  fetch(`${url(m.client)}/health`).then((r) => r.json() as Promise<{ health: string }>).then((r) => r.health === 'true', () => false);

/** The endpoints tsof-controller --cluster takes. */
export const etcdEndpoints = (members: readonly EtcdMember[]): string => members.map((m) => `etcd://127.0.0.1:${m.client}`).join(',');
