// Several tsof-controller instances over one etcd cluster: per-switch
// mastership and the shared state apps keep there. Every switch connects to
// every instance (OpenFlow's multiple controllers, spec 6.3.7); etcd decides
// which instance is the switch's master, and the switch itself enforces it.
//
// Invariants:
// - Each instance holds one etcd lease (TTL `leaseTtl` seconds, kept alive
//   every TTL/3). Mastership of datapath D is the key <prefix>mastership/<D>
//   whose value is the owner's node id, attached to the owner's lease: a dead
//   or cut-off instance loses all its switches when its lease expires.
// - The key is created only if absent (a transaction on its create revision),
//   so at most one instance owns it. Its create revision, an etcd revision and
//   so monotonic across the cluster, is the generation id of the owner's
//   ROLE_REQUEST MASTER; the others ask for SLAVE with it. A newer master's
//   request makes the switch demote the old one and refuse the old
//   generation's requests (OFPRRFC_STALE): two instances can both believe
//   they are master, but the switch has at most one.
// - An instance steps down (SLAVE, then 'switchLost') once its last granted
//   keepalive runs out locally, which is before etcd can expire the lease and
//   let another instance claim the switch (fail safe without etcd).
// - Instances that already master more switches wait longer before claiming
//   one (`claimDelay` per switch held, also for those won while the claim
//   waited), which spreads masters out.

import { EventEmitter } from 'eventemitter3';
import { Etcd3, type IKeyValue, type Lease, type Watcher } from 'etcd3';
import type { Logger } from 'pino';
import type { Controller } from '../controller.ts';
import type { SwitchHandle } from '../switch-handle.ts';
import { ERR } from '../../openflow/codec/index.ts';
import { OpenFlowError } from '../../openflow/channel/index.ts';
import { SharedStore } from './state.ts';

export interface ClusterOptions {
  /** etcd endpoints, `http://host:port` (or `etcd://host:port`, read as http). */
  endpoints: string[];
  /** This instance's name in the cluster; unique among the instances. */
  nodeId: string;
  /** Lease TTL in whole seconds (default 2): how long a dead instance keeps its switches. */
  leaseTtl?: number;
  /** Key prefix of everything this cluster keeps in etcd (default `/tsof/`). */
  prefix?: string;
  /** Wait before claiming a switch, per switch this instance already masters (ms, default 50). */
  claimDelay?: number;
  logger?: Logger;
}

export interface ClusterEvents {
  /** This instance became the switch's master with this generation id (the switch granted it). */
  switchMastered: (sw: SwitchHandle, generationId: bigint) => void;
  /** This instance is no longer the switch's master (another instance took it, etcd was lost, the switch left). */
  switchLost: (dpid: bigint, reason: string) => void;
}

/** What the cluster knows of one switch. */
interface Entry {
  dpid: bigint;
  /** This instance's connection to the switch, when connected. */
  sw?: SwitchHandle;
  /** The mastership key's owner, its lease and create revision, as etcd last said. */
  owner?: Owner;
  /** 'switchMastered' was emitted and no 'switchLost' since. */
  mastered: boolean;
  /** Role changes for this switch run one at a time. */
  busy: boolean;
  again: boolean;
  claimTimer?: NodeJS.Timeout;
  /** Not before this time (ms): set when handing the switch over. */
  yieldUntil: number;
}

interface Owner {
  node: string;
  lease: string;
  generation: bigint;
}

const hex = (dpid: bigint) => dpid.toString(16).padStart(16, '0');
const sameOwner = (a: Owner | undefined, b: Owner | undefined) =>
  a === b || (a !== undefined && b !== undefined && a.node === b.node && a.lease === b.lease && a.generation === b.generation);

export class Cluster extends EventEmitter<ClusterEvents> {
  readonly nodeId: string;
  readonly client: Etcd3;
  private readonly log: Logger | undefined;
  private readonly ttl: number;
  private readonly prefix: string;
  private readonly claimDelay: number;
  private readonly entries = new Map<bigint, Entry>();
  private lease: Lease | undefined;
  private leaseId: string | undefined;
  private lostLeaseId: string | undefined;
  /** Until when (ms, local clock) the current lease is known to live; 0 when it is not. */
  private leaseUntil = 0;
  private leaseTimer: NodeJS.Timeout | undefined;
  private watcher: Watcher | undefined;
  private closed = false;
  /** Claims sent to etcd and not answered yet. */
  private claiming = 0;

  constructor(
    private readonly controller: Controller,
    opts: ClusterOptions,
  ) {
    super();
    this.nodeId = opts.nodeId;
    this.ttl = opts.leaseTtl ?? 2;
    this.prefix = opts.prefix ?? '/tsof/';
    this.claimDelay = opts.claimDelay ?? 50;
    this.log = opts.logger?.child({ node: this.nodeId });
    if (!Number.isInteger(this.ttl) || this.ttl < 1) throw new TypeError(`leaseTtl must be a whole number of seconds, got ${this.ttl}`);
    const hosts = opts.endpoints.map((e) => e.replace(/^etcd:\/\//, 'http://')).map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`));
    this.client = new Etcd3({ hosts, dialTimeout: 1_000 });
    controller.on('switch', (sw) => this.connected(sw));
    controller.on('switch-down', (sw, reason) => this.disconnected(sw, reason));
  }

  /** A typed key-value store under <prefix>state/<name>/, shared by the instances. */
  store<T>(name: string): SharedStore<T> {
    return new SharedStore<T>(this.client.namespace(`${this.prefix}state/${name}/`));
  }

  /** Joins the cluster: takes a lease and follows mastership. Resolves once etcd answered. */
  async start(): Promise<void> {
    this.watcher = await this.client.watch().prefix(this.key('')).create();
    this.watcher.on('put', (kv) => this.observed(kv, true));
    this.watcher.on('delete', (kv) => this.observed(kv, false));
    this.watcher.on('connected', () => void this.resync());
    this.watcher.on('disconnected', (err) => this.log?.warn({ err: err.message }, 'etcd watch disconnected'));
    this.watcher.on('error', (err) => this.log?.warn({ err: err.message }, 'etcd watch error'));
    await this.newLease();
  }

  /** The switches this instance masters now, by dpid. */
  get mastered(): bigint[] {
    return [...this.entries.values()].filter((e) => e.mastered).map((e) => e.dpid);
  }

  /** The owner of a switch's mastership and its generation, as this instance last heard from etcd. */
  master(dpid: bigint): { node: string; generation: bigint } | undefined {
    const owner = this.entries.get(dpid)?.owner;
    return owner && { node: owner.node, generation: owner.generation };
  }

  /**
   * Gives up mastership of a switch so another instance takes it: SLAVE at the
   * switch, then the key deleted; this instance does not claim it again for
   * `holdOff` ms unless nobody else has by then.
   */
  async handOver(dpid: bigint, holdOff = 2_000): Promise<boolean> {
    const e = this.entries.get(dpid);
    const leaseId = this.leaseId;
    if (!e || !leaseId || !this.mine(e.owner)) return false;
    e.yieldUntil = Date.now() + holdOff;
    await this.stepDown(e, 'handed over');
    const r = await this.client.if(this.key(hex(dpid)), 'Lease', '==', leaseId).then(this.client.delete().key(this.key(hex(dpid)))).commit();
    return r.succeeded;
  }

  /** Leaves the cluster: steps down everywhere and revokes the lease, so others take over at once. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.leaseTimer);
    for (const e of this.entries.values()) {
      clearTimeout(e.claimTimer);
      if (e.mastered) await this.stepDown(e, 'instance leaving').catch(() => undefined);
    }
    await this.watcher?.cancel().catch(() => undefined);
    await this.lease?.revoke().catch(() => undefined);
    this.client.close();
  }

  /** A key on this instance's current lease (not on a lease it lost, nor another instance's with its name). */
  private mine(owner: Owner | undefined): owner is Owner {
    return owner !== undefined && owner.lease === this.leaseId && owner.node === this.nodeId;
  }

  private key(rest: string): string {
    return `${this.prefix}mastership/${rest}`;
  }

  private entry(dpid: bigint): Entry {
    let e = this.entries.get(dpid);
    if (!e) this.entries.set(dpid, (e = { dpid, mastered: false, busy: false, again: false, yieldUntil: 0 }));
    return e;
  }

  private get leaseAlive(): boolean {
    return Date.now() < this.leaseUntil;
  }

  /** Grants a fresh lease (retrying while etcd is away) and keeps it alive; then claims what is unowned. */
  private async newLease(): Promise<void> {
    for (let delay = 100; !this.closed; delay = Math.min(delay * 2, 1_000)) {
      const lease = this.client.lease(this.ttl);
      const asked = Date.now();
      try {
        this.leaseId = await lease.grant();
      } catch (err) {
        this.log?.warn({ err: (err as Error).message }, 'cannot get an etcd lease; retrying');
        lease.release();
        await new Promise((r) => setTimeout(r, delay));
        continue;
      }
      // A lease given up for lost may still hold keys at etcd (it came back in time): free them now.
      const old = this.lostLeaseId;
      if (old) this.client.leaseClient.leaseRevoke({ ID: old }).catch(() => undefined);
      this.lostLeaseId = undefined;
      this.lease = lease;
      this.extend(asked, this.ttl);
      // Keepalive requests go out in order on one stream, answered in order: each answer extends the
      // lease from the moment its request left, which etcd received later.
      const sent: number[] = [];
      lease.on('keepaliveEstablished', () => (sent.length = 0));
      lease.on('keepaliveFired', () => sent.push(Date.now()));
      lease.on('keepaliveSucceeded', (res) => this.extend(sent.shift() ?? Date.now(), Number(res.TTL)));
      lease.on('lost', (err) => {
        if (this.lease !== lease || this.closed) return;
        this.log?.warn({ err: err.message }, 'etcd lease lost');
        this.lostLeaseId = this.leaseId;
        this.lease = this.leaseId = undefined;
        this.leaseExpired();
        void this.newLease();
      });
      this.log?.info({ lease: this.leaseId, ttl: this.ttl }, 'joined the cluster');
      await this.resync();
      return;
    }
  }

  private extend(from: number, ttl: number): void {
    const wasAlive = this.leaseAlive;
    this.leaseUntil = Math.max(this.leaseUntil, from + ttl * 1000);
    clearTimeout(this.leaseTimer);
    this.leaseTimer = setTimeout(() => this.leaseExpired(), this.leaseUntil - Date.now());
    if (!wasAlive) for (const e of this.entries.values()) this.reconcile(e);
  }

  /** The lease may be gone at etcd by now: fail safe, step down from every switch. */
  private leaseExpired(): void {
    if (this.leaseAlive && this.lease) return;
    this.leaseUntil = 0;
    clearTimeout(this.leaseTimer);
    this.log?.warn('etcd lease not kept alive: stepping down from every switch');
    for (const e of this.entries.values()) this.reconcile(e);
  }

  /** Reads every mastership key again (at start, with a new lease, after the watch reconnected). */
  private async resync(): Promise<void> {
    let res;
    try {
      res = await this.client.getAll().prefix(this.key('')).exec();
    } catch (err) {
      this.log?.warn({ err: (err as Error).message }, 'cannot read mastership from etcd');
      return;
    }
    const seen = new Set<bigint>();
    for (const kv of res.kvs) seen.add(this.observed(kv, true));
    for (const e of this.entries.values()) {
      if (!seen.has(e.dpid) && e.owner) {
        e.owner = undefined;
        this.reconcile(e);
      }
    }
  }

  /** A mastership key as etcd has it now (put) or its deletion; returns the dpid. */
  private observed(kv: IKeyValue, present: boolean): bigint {
    const dpid = BigInt(`0x${kv.key.toString().slice(this.key('').length)}`);
    const e = this.entry(dpid);
    const owner = present ? { node: kv.value.toString(), lease: String(kv.lease), generation: BigInt(kv.create_revision) } : undefined;
    if (sameOwner(e.owner, owner)) return dpid;
    e.owner = owner;
    this.reconcile(e);
    return dpid;
  }

  private connected(sw: SwitchHandle): void {
    const e = this.entry(sw.dpid);
    e.sw = sw;
    this.reconcile(e);
  }

  private disconnected(sw: SwitchHandle, reason: string): void {
    const e = this.entries.get(sw.dpid);
    if (!e || e.sw !== sw) return;
    e.sw = undefined;
    clearTimeout(e.claimTimer);
    e.claimTimer = undefined;
    if (e.mastered) {
      e.mastered = false;
      this.emit('switchLost', e.dpid, `switch disconnected: ${reason}`);
    }
    // An instance without the switch must not stay its master: give the key up unless it reconnects soon.
    if (this.mine(e.owner) && this.leaseId) {
      const leaseId = this.leaseId;
      setTimeout(() => {
        if (e.sw || this.closed) return;
        this.client.if(this.key(hex(e.dpid)), 'Lease', '==', leaseId).then(this.client.delete().key(this.key(hex(e.dpid)))).commit()
          .catch((err: Error) => this.log?.warn({ dpid: hex(e.dpid), err: err.message }, 'cannot release mastership'));
      }, 1_000);
    }
  }

  /** Brings the switch's role in line with etcd's owner and the lease; one change at a time per switch. */
  private reconcile(e: Entry): void {
    if (e.busy) {
      e.again = true;
      return;
    }
    e.busy = true;
    e.again = false;
    this.settle(e)
      .catch((err: Error) => this.log?.warn({ dpid: hex(e.dpid), err: err.message }, 'role change failed'))
      .finally(() => {
        e.busy = false;
        if (e.again) this.reconcile(e);
      });
  }

  private async settle(e: Entry): Promise<void> {
    const sw = e.sw;
    if (!sw || this.closed) return;
    const owner = e.owner;
    if (this.mine(owner) && this.leaseAlive) {
      if (sw.role === 'master' && sw.generationId === owner.generation && e.mastered) return;
      try {
        await sw.requestRole('master', owner.generation);
      } catch (err) {
        // Only a newer generation than etcd's latest can do this: something outside the cluster.
        if (err instanceof OpenFlowError && err.is(ERR.ROLE_REQUEST_FAILED.STALE)) {
          this.log?.error({ dpid: hex(e.dpid), generation: String(owner.generation) }, 'the switch knows a newer generation than etcd');
        }
        throw err;
      }
      if (e.sw !== sw || !sameOwner(e.owner, owner)) return void (e.again = true);
      e.mastered = true;
      this.log?.info({ dpid: hex(e.dpid), role: 'master', generationId: String(owner.generation) }, 'role granted');
      this.log?.info({ dpid: hex(e.dpid), generationId: String(owner.generation) }, 'switch mastered');
      this.emit('switchMastered', sw, owner.generation);
      return;
    }
    if (e.mastered || sw.role === 'master') await this.stepDown(e, this.leaseAlive ? `now mastered by ${owner?.node ?? 'nobody'}` : 'etcd lease lost');
    else if (owner && sw.role === 'equal') await this.asSlave(sw, owner.generation);
    if (!owner && this.leaseAlive) this.scheduleClaim(e);
  }

  /** SLAVE at the switch; a STALE answer means a newer master already demoted this connection. */
  private async asSlave(sw: SwitchHandle, generation: bigint): Promise<void> {
    let granted;
    try {
      granted = await sw.requestRole('slave', generation);
    } catch (err) {
      if (!(err instanceof OpenFlowError && err.is(ERR.ROLE_REQUEST_FAILED.STALE))) throw err;
      granted = await sw.queryRole();
    }
    this.log?.info({ dpid: hex(sw.dpid), role: granted.role, generationId: String(granted.generationId) }, 'role granted');
  }

  private async stepDown(e: Entry, reason: string): Promise<void> {
    const sw = e.sw;
    if (e.mastered) {
      e.mastered = false;
      this.log?.info({ dpid: hex(e.dpid), reason }, 'switch lost');
      this.emit('switchLost', e.dpid, reason);
    }
    if (sw && sw.role === 'master') await this.asSlave(sw, sw.generationId ?? 0n);
  }

  /** Switches whose mastership key this instance holds or is asking etcd for, counted up to 20. */
  private get weight(): number {
    let n = this.claiming;
    for (const e of this.entries.values()) if (this.mine(e.owner)) n++;
    return Math.min(n, 20);
  }

  /**
   * Claims an unowned switch, after a wait that grows with the switches this instance already holds. Many
   * switches often become unowned at once (they connect together, or their master died): when this instance
   * won others while a claim waited, the wait grows by as much, so the instances that won less take the rest.
   */
  private scheduleClaim(e: Entry): void {
    if (e.claimTimer) return;
    const arm = (base: number, wait: number) => {
      e.claimTimer = setTimeout(() => {
        e.claimTimer = undefined;
        const extra = this.weight - base;
        if (extra > 0 && !e.owner) arm(this.weight, extra * this.claimDelay);
        else void this.claim(e);
      }, wait);
    };
    arm(this.weight, this.weight * this.claimDelay + Math.max(0, e.yieldUntil - Date.now()));
  }

  private async claim(e: Entry): Promise<void> {
    if (!e.sw || e.owner || !this.leaseAlive || !this.leaseId || this.closed) return;
    const key = this.key(hex(e.dpid));
    this.claiming++;
    try {
      const r = await this.client.if(key, 'Create', '==', 0)
        .then(this.client.put(key).value(this.nodeId).lease(this.leaseId))
        .else(this.client.get(key))
        .commit();
      // The watch reports the outcome too; taking it from the answer saves a round trip.
      if (r.succeeded) {
        const kv = { key: Buffer.from(key), value: Buffer.from(this.nodeId), lease: this.leaseId, create_revision: r.header.revision };
        this.observed(kv as IKeyValue, true);
      }
      else {
        const kv = r.responses[0]?.response_range.kvs[0];
        if (kv) this.observed(kv, true);
      }
    } catch (err) {
      this.log?.warn({ dpid: hex(e.dpid), err: (err as Error).message }, 'cannot claim mastership');
      if (!e.owner) setTimeout(() => this.reconcile(e), 200);
    } finally {
      this.claiming--;
    }
  }
}
