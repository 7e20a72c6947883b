import type { RowChain, Version } from './mvcc.ts';
import type { Run } from './run.ts';
import type { PendingStatement, Wait, Xact } from './xact.ts';

/**
 * A canonical name of everything a run holds between two steps, such that
 * two runs of one workload with equal names go on in the same ways: every
 * table's row versions in storage order (data, creating and deleting
 * transaction, index progress), each row's lock holders, modes and wait
 * queue in order, advisory locks and their queues, and each open
 * transaction's status, snapshot, locks, writes, waits and the statement it
 * is part-way through (its candidate rows, position and output so far).
 *
 * Global counters are replaced by what the engine compares them for:
 * transactions are named by workload position (`T2` open, `c2` committed,
 * `a2` an earlier attempt that aborted); commit sequence numbers only by
 * which snapshots see them (a committed transaction is named by how many
 * live snapshots are older than its commit, a snapshot by how many are
 * older than it); wait clocks and lock orders (`waitSince`, `firstLock`) by
 * rank. So two prefixes that committed the same transactions in a different
 * order, or waited at a different time, get the same name where no open
 * snapshot tells them apart.
 *
 * Null where the run holds something this name does not cover: SSI
 * bookkeeping (SERIALIZABLE), savepoints, a recorded history, transactions
 * woken and not yet gone on (never between steps).
 */
export function runStateKey(run: Run, seed: Xact): string | null {
  if (run.isolation === 'serializable' || run.recordHistory) return null;
  if (run.woken.length > 0 || run.rewaited.length > 0) return null;
  const open: Xact[] = [];
  for (const slot of run.slots) if (slot?.xact) open.push(slot.xact);
  const snapshots: number[] = [];
  for (const x of open) {
    if (x.savepoints !== undefined || x.undo !== undefined || x.subFailed !== undefined || x.grantedOnWake !== null) return null;
    if (x.snapshot >= 0) snapshots.push(x.snapshot);
    if (x.pending) snapshots.push(x.pending.snapshot);
  }
  const live = [...new Set(snapshots)].sort((a, b) => a - b);
  /** How many live snapshots are older than commit sequence number `seq` (a committed transaction's), or than snapshot `seq`. */
  const epoch = (seq: number) => {
    let k = 0;
    while (k < live.length && live[k] < seq) k++;
    return k;
  };
  const names = new Map<Xact, string>([[seed, 'S']]);
  for (const x of open) names.set(x, `T${x.tx}`);
  let unknown = false;
  /** A reference to something no longer in the run's tables: not covered. */
  const missing = () => {
    unknown = true;
    return '?';
  };
  let aborted = 0;
  const name = (x: Xact | null): string => {
    if (x === null) return '-';
    let n = names.get(x);
    if (n === undefined) {
      if (x.status === 'committed') n = `c${x.tx}.${epoch(x.commitSeq)}`;
      else if (x.status === 'aborted') n = `a${x.tx}.${aborted++}`;
      else {
        unknown = true; // an open transaction no slot holds
        n = '?';
      }
      names.set(x, n);
    }
    return n;
  };

  const chains = new Map<RowChain, string>();
  const versions = new Map<Version, string>();
  const parts: string[] = [];
  for (const table of run.tables.values()) {
    parts.push(`#${table.name}`);
    table.rows.forEach((chain, r) => {
      const id = `${table.name}.${r}`;
      chains.set(chain, id);
      if (chain.subLockers !== undefined && chain.subLockers.size > 0) unknown = true;
      let line = `${r}`;
      chain.versions.forEach((v, k) => {
        versions.set(v, `${id}.${k}`);
        line += ` ${JSON.stringify(v.data)}/${name(v.xmin)}/${name(v.xmax)}${v.indexed !== undefined ? `/i${v.indexed}` : ''}${v.keysUpdated ? '/k' : ''}`;
      });
      if (chain.exclusive !== null || chain.shared.length > 0 || chain.queue.length > 0) {
        line += ` x:${name(chain.exclusive)} s:${chain.shared.map(name).join(',')} q:${chain.queue.map(name).join(',')}`;
        if (chain.modes !== undefined) for (const [x, mode] of chain.modes) line += ` ${name(x)}=${mode}`;
      }
      parts.push(line);
    });
  }
  if (run.advisory !== null) {
    for (const lock of [...run.advisory.values()].sort((a, b) => a.key - b.key)) {
      if (lock.holder !== null || lock.queue.length > 0) parts.push(`@${lock.key} ${name(lock.holder)} q:${lock.queue.map(name).join(',')}`);
    }
  }
  const rank = (values: number[]) => {
    const sorted = [...new Set(values)].sort((a, b) => a - b);
    return (v: number) => sorted.indexOf(v);
  };
  const lockRank = rank(open.filter((x) => x.firstLock !== undefined).map((x) => x.firstLock!));
  const waitRank = rank(open.filter((x) => x.wait !== null).map((x) => x.waitSince));
  const chainId = (c: RowChain) => chains.get(c) ?? missing();
  const versionId = (v: Version | null | undefined) => (v == null ? '-' : (versions.get(v) ?? missing()));
  const waitKey = (w: Wait): string => {
    if (w.kind === 'row') return `row ${chainId(w.chain)} ${w.mode}`;
    if (w.kind === 'advisory') return `advisory ${w.lock.key}`;
    return `xact ${name(w.xact)} ${versionId(w.version)} ${w.by ?? ''}`;
  };
  const pendingKey = (p: PendingStatement): string =>
    `${JSON.stringify(p.statement)} @${epoch(p.snapshot)} [${p.candidates.map(chainId).join(',')}] ${p.next} ${JSON.stringify(p.out)}` +
    ` ${p.arbiterFrom ?? ''} ${p.waitedAt ?? ''}` +
    (p.writing ? ` w:${chainId(p.writing.chain)}:${versionId(p.writing.version)}:${JSON.stringify(p.writing.old ?? null)}` : '');
  for (const x of open) {
    let line = `T${x.tx} ${x.status} ${x.snapshot < 0 ? '-' : `@${epoch(x.snapshot)}`} l:${x.locks.map(chainId).join(',')} w:${x.writes.map(chainId).join(',')}`;
    if (x.firstLock !== undefined) line += ` f${lockRank(x.firstLock)}`;
    if (x.endWaiters.length > 0) line += ` e:${x.endWaiters.map(name).join(',')}`;
    if (x.advisory !== undefined) line += ` a:${x.advisory.map((l) => l.key).join(',')}`;
    if (x.wait !== null) line += ` wait ${waitKey(x.wait)} #${waitRank(x.waitSince)} q:${versionId(x.queuedAt)} walks:${x.walksFrom === null ? '-' : name(x.walksFrom)}`;
    if (x.pending !== null) line += ` p:${pendingKey(x.pending)}`;
    parts.push(line);
  }
  return unknown ? null : parts.join('\n');
}
