// Clustering for tsof-controller on etcd: per-switch mastership with
// generation ids from etcd revisions, and a shared typed store (cluster.ts
// states the invariants; docs/cluster.md how to run it and its limits).

export { Cluster, type ClusterEvents, type ClusterOptions } from './cluster.ts';
export { SharedStore, type StoreEntry, type StoreEvent } from './state.ts';
