// The state apps share across the instances of a cluster: a typed key-value
// store under one etcd prefix. Values are JSON (so no bigint: write dpids as
// hex strings). Each key has a revision (etcd's mod revision, cluster-wide and
// growing) that compareAndSet() checks, so concurrent writers cannot lose each
// other's updates; update() is the read-modify-write loop over it.

import type { IKeyValue, Namespace } from 'etcd3';

export interface StoreEntry<T> {
  value: T;
  /** The revision of the last write of this key; give it to compareAndSet(). */
  revision: bigint;
}

export type StoreEvent<T> = { type: 'put'; key: string; value: T; revision: bigint } | { type: 'delete'; key: string; revision: bigint };

const decode = <T>(kv: IKeyValue): StoreEntry<T> => ({ value: JSON.parse(kv.value.toString()) as T, revision: BigInt(kv.mod_revision) });

export class SharedStore<T> {
  constructor(private readonly ns: Namespace) {}

  async get(key: string): Promise<T | undefined> {
    return (await this.entry(key))?.value;
  }

  /** The value with its revision, or undefined when the key is absent. */
  async entry(key: string): Promise<StoreEntry<T> | undefined> {
    const kv = (await this.ns.get(key).exec()).kvs[0];
    return kv && decode<T>(kv);
  }

  /** Every key that starts with prefix (all of the store by default), with its value. */
  async list(prefix = ''): Promise<Map<string, T>> {
    const { kvs } = await this.ns.getAll().prefix(prefix).exec();
    return new Map(kvs.map((kv) => [kv.key.toString(), decode<T>(kv).value]));
  }

  /** Writes the value; resolves with the write's revision. */
  async put(key: string, value: T): Promise<bigint> {
    return BigInt((await this.ns.put(key).value(JSON.stringify(value)).exec()).header.revision);
  }

  /** Deletes the key; resolves with whether it was there. */
  async delete(key: string): Promise<boolean> {
    return Number((await this.ns.delete().key(key).exec()).deleted) > 0;
  }

  /**
   * Writes value (or deletes the key, for undefined) only if the key is still
   * at this revision (undefined: only if absent). Resolves with whether it did.
   */
  async compareAndSet(key: string, revision: bigint | undefined, value: T | undefined): Promise<boolean> {
    const write = value === undefined ? this.ns.delete().key(key) : this.ns.put(key).value(JSON.stringify(value));
    const txn = revision === undefined ? this.ns.if(key, 'Create', '==', 0) : this.ns.if(key, 'Mod', '==', revision.toString());
    return (await txn.then(write).commit()).succeeded;
  }

  /**
   * Read-modify-write: applies fn to the current value (undefined if absent)
   * and writes its result (undefined deletes), again while another instance
   * wrote in between. Resolves with what was written.
   */
  async update(key: string, fn: (old: T | undefined) => T | undefined, attempts = 20): Promise<T | undefined> {
    for (let i = 0; i < attempts; i++) {
      const current = await this.entry(key);
      const next = fn(current?.value);
      if (await this.compareAndSet(key, current?.revision, next)) return next;
    }
    throw new Error(`update of ${key}: still contended after ${attempts} attempts`);
  }

  /**
   * Calls listener for every later write or deletion of a key under prefix
   * (all of the store by default). Resolves, once etcd follows it, with the
   * function that stops watching.
   */
  async watch(prefix: string, listener: (event: StoreEvent<T>) => void): Promise<() => Promise<void>> {
    const watcher = await this.ns.watch().prefix(prefix).create();
    watcher.on('put', (kv) => listener({ type: 'put', key: kv.key.toString(), ...decode<T>(kv) }));
    watcher.on('delete', (kv) => listener({ type: 'delete', key: kv.key.toString(), revision: BigInt(kv.mod_revision) }));
    return () => watcher.cancel();
  }
}
