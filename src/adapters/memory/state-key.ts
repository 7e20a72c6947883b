import type { RowChain, Version } from './mvcc.ts';
import type { Run } from './run.ts';
import type { PendingStatement, Wait, Xact } from './xact.ts';
import type { TxId } from '../backend.ts';
import type { EngineStateKey, TableNames } from '../engine.ts';

/**
 * A canonical name of everything a run holds between two steps, such that
 * two runs of one workload with equal names go on in the same ways: every
 * table's row versions in storage order (data, creating and deleting
 * transaction, index progress) and in heap order (by line pointer and by
 * HOT chain root), each row's lock holders, modes and wait
 * queue in order, advisory locks and their queues, and each open
 * transaction's status, snapshot, locks, writes, waits and the statement it
 * is part-way through (its candidate rows, position and output so far; an
 * upsert's row lock wait, arbiter index and the versions it wrote).
 *
 * Global counters are replaced by what the engine compares them for:
 * transactions are named in the order the name first meets them (`T2`
 * open, `c2` committed, `a2` an earlier attempt that aborted; `txs` says
 * which workload transaction each is), not by workload position, so two
 * states that differ only in which of two transactions did what get the
 * same name (with different `txs`); commit sequence numbers only by
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
export function runStateKey(run: Run, seed: Xact, leaveOut?: TableNames): EngineStateKey | null {
  if (run.isolation === 'serializable' || run.recordHistory) return null;
  if (run.woken.length > 0 || run.rewaited.length > 0) return null;
  const open: Xact[] = [];
  for (const slot of run.slots) if (slot?.xact) open.push(slot.xact);
  const snapshots: number[] = [];
  for (const x of open) {
    if (x.savepoints !== undefined || x.undo !== undefined || x.subFailed !== undefined || x.grantedOnWake !== null) return null;
    if (x.snapshot >= 0) snapshots.push(x.snapshot);
    for (let p = x.pending; p; p = p.foreignKeys?.running ?? null) snapshots.push(p.snapshot);
  }
  const namer = new Namer(seed, open, snapshots);
  const parts: string[] = [];
  for (const table of run.tables.values()) {
    if (leaveOut?.has(table.name)) {
      for (const chain of table.rows) namer.leaveOut(chain);
      continue;
    }
    parts.push(`#${table.name}`);
    for (let r = 0; r < table.rows.length; r++) parts.push(namer.row(table.name, r, table.rows[r]));
    parts.push(heapOrder(namer, table.rows));
  }
  if (run.advisory !== null) {
    for (const lock of [...run.advisory.values()].sort((a, b) => a.key - b.key)) {
      if (lock.holder !== null || lock.queue.length > 0) parts.push(`@${lock.key} ${namer.name(lock.holder)} q:${namer.names(lock.queue)}`);
    }
  }
  const lockRank = rank(open.filter((x) => x.firstLock !== undefined).map((x) => x.firstLock!));
  const waitRank = rank(open.filter((x) => x.wait !== null).map((x) => x.waitSince));
  const line = (x: Xact): string => {
    let line = `${namer.name(x)} ${x.status} ${x.snapshot < 0 ? '-' : `@${namer.epoch(x.snapshot)}`} l:${namer.chainIds(x.locks)} w:${namer.chainIds(x.writes)}`;
    if (x.firstLock !== undefined) line += ` f${lockRank.indexOf(x.firstLock)}`;
    if (x.endWaiters.length > 0) line += ` e:${namer.names(x.endWaiters)}`;
    if (x.advisory !== undefined) line += ` a:${x.advisory.map((l) => l.key).join(',')}`;
    if (x.wait !== null) {
      // `walksFrom` counts only while it replaced the version the waiter queues at (`row-lock.ts`, `walks`); once that transaction aborted, never again.
      const walks = x.queuedAt !== null && x.walksFrom !== null && x.walksFrom === x.queuedAt.xmax;
      line += ` wait ${namer.wait(x.wait)} #${waitRank.indexOf(x.waitSince)} q:${namer.versionId(x.queuedAt)}${walks ? ' walks' : ''}`;
    }
    if (x.pending !== null) line += ` p:${namer.pending(x.pending)}`;
    return line;
  };
  // Open transactions the tables did not name are named in the order of what they hold and do (their lines with the unnamed left out), then by workload position.
  const unnamed = open.filter((x) => !namer.named(x.tx));
  if (unnamed.length > 0) {
    namer.frozen = true;
    const provisional = new Map(unnamed.map((x) => [x, line(x)]));
    namer.frozen = false;
    unnamed.sort((a, b) => (provisional.get(a)! < provisional.get(b)! ? -1 : provisional.get(a)! > provisional.get(b)! ? 1 : a.tx - b.tx));
    for (const x of unnamed) namer.name(x);
  }
  for (const x of [...open].sort((a, b) => namer.label(a.tx) - namer.label(b.tx))) parts.push(line(x));
  return namer.unknown ? null : { key: parts.join('\n'), txs: namer.txs };
}

/** The table's versions by line pointer, then by HOT chain root: the orders its scans meet them in (`Version.line`, `Version.root`), which only their ranks decide. */
function heapOrder(namer: Namer, rows: readonly RowChain[]): string {
  const versions: Version[] = [];
  for (const chain of rows) for (const v of chain.versions) versions.push(v);
  if (versions.length < 2) return '';
  const ids = (sorted: Version[]) => sorted.map((v) => namer.versionId(v)).join(',');
  return `heap ${ids([...versions].sort((a, b) => a.line - b.line))} roots ${ids(versions.sort((a, b) => a.root - b.root || a.line - b.line))}`;
}

/** Distinct values, in order: a value's rank is its index. */
function rank(values: number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

/** Names of one run's transactions, rows and versions while its key is written. */
class Namer {
  /** Set when the key meets something it does not cover (an open transaction no slot holds, a version no longer stored, a savepoint's lock). */
  unknown = false;
  /** While set, a transaction not named yet is written `~` and stays unnamed (a provisional line, to order the unnamed by). */
  frozen = false;
  /** Workload transactions in the order first named: `txs[k]` is the one named `T${k + 1}` (`c${k + 1}`, `a${k + 1}` for its ended attempts). */
  readonly txs: TxId[] = [];
  private readonly labels = new Map<TxId, number>();
  private readonly xacts = new Map<Xact, string>();
  private readonly open: ReadonlySet<Xact>;
  private readonly chains = new Map<RowChain, string>();
  /** Rows of tables left out of the name: not named where a transaction lists them among its locks or writes. */
  private readonly omitted = new Set<RowChain>();
  private readonly versions = new Map<Version, string>();
  private readonly live: number[];
  private aborted = 0;

  constructor(seed: Xact, open: readonly Xact[], snapshots: number[]) {
    this.live = rank(snapshots);
    this.xacts.set(seed, 'S');
    this.open = new Set(open);
  }

  named(tx: TxId): boolean {
    return this.labels.has(tx);
  }

  /** `tx`'s number in the key (1 for the first named). */
  label(tx: TxId): number {
    return this.labels.get(tx)!;
  }

  /** How many live snapshots are older than commit sequence number `seq` (a committed transaction's), or than snapshot `seq`. */
  epoch(seq: number): number {
    let k = 0;
    while (k < this.live.length && this.live[k] < seq) k++;
    return k;
  }

  name(x: Xact | null): string {
    if (x === null) return '-';
    let n = this.xacts.get(x);
    if (n !== undefined) return n;
    if (this.frozen) return '~';
    let label = this.labels.get(x.tx);
    if (label === undefined) {
      this.txs.push(x.tx);
      label = this.txs.length;
      this.labels.set(x.tx, label);
    }
    if (this.open.has(x)) n = `T${label}`;
    else if (x.status === 'committed') n = `c${label}.${this.epoch(x.commitSeq)}`;
    else if (x.status === 'aborted') n = `a${label}.${this.aborted++}`;
    else n = this.missing();
    this.xacts.set(x, n);
    return n;
  }

  names(xs: readonly Xact[]): string {
    let out = '';
    for (const x of xs) out += `${this.name(x)},`;
    return out;
  }

  /** Row `r` of `table`: its versions, and its lock holders and queue when it has any. */
  row(table: string, r: number, chain: RowChain): string {
    const id = `${table}.${r}`;
    this.chains.set(chain, id);
    if (chain.subLockers !== undefined && chain.subLockers.size > 0) this.missing();
    let line = `${r}`;
    const versions = chain.versions;
    for (let k = 0; k < versions.length; k++) {
      const v = versions[k];
      this.versions.set(v, `${id}.${k}`);
      line += ` ${JSON.stringify(v.data)}/${this.name(v.xmin)}/${this.name(v.xmax)}${v.indexed !== undefined ? `/i${v.indexed}` : ''}${v.keysUpdated ? '/k' : ''}`;
    }
    if (chain.exclusive !== null || chain.shared.length > 0 || chain.queue.length > 0) {
      line += ` x:${this.name(chain.exclusive)} s:${this.names(chain.shared)} q:${this.names(chain.queue)}`;
      if (chain.modes !== undefined) for (const [x, mode] of chain.modes) line += ` ${this.name(x)}=${mode}`;
    }
    return line;
  }

  leaveOut(chain: RowChain): void {
    this.omitted.add(chain);
  }

  chainIds(chains: readonly RowChain[]): string {
    let out = '';
    for (const c of chains) if (!this.omitted.has(c)) out += `${this.chains.get(c) ?? this.missing()},`;
    return out;
  }

  versionId(v: Version | null | undefined): string {
    return v == null ? '-' : (this.versions.get(v) ?? this.missing());
  }

  wait(w: Wait): string {
    if (w.kind === 'row') return `row ${this.chains.get(w.chain) ?? this.missing()} ${w.mode}`;
    if (w.kind === 'advisory') return `advisory ${w.lock.key}`;
    return `xact ${this.name(w.xact)} ${this.versionId(w.version)} ${w.by ?? ''}`;
  }

  pending(p: PendingStatement): string {
    let out = `${JSON.stringify(p.statement)} @${this.epoch(p.snapshot)} [${this.chainIds(p.candidates)}] ${p.next} ${JSON.stringify(p.out)} ${p.arbiterFrom ?? ''} ${p.waitedAt ?? ''}`;
    if (p.writing) out += ` w:${this.chains.get(p.writing.chain) ?? this.missing()}:${this.versionId(p.writing.version)}:${JSON.stringify(p.writing.old ?? null)}`;
    // An upsert's: the row lock it waits for (and the mode held before), its arbiter index, the versions it wrote.
    if (p.locking) out += ` lk:${this.chains.get(p.locking.chain) ?? this.missing()}:${this.versionId(p.locking.version)}:${p.locking.before ?? '-'}`;
    if (p.arbiter) out += ` ar:${p.arbiter.join()}`;
    if (p.upserted) out += ` u:${p.upserted.map((v) => this.versionId(v)).join()}`;
    // Foreign keys: the trigger events queued, how far they fired, the event query running (it may wait); a cascade's crosscheck snapshot.
    const fk = p.foreignKeys;
    if (fk) out += ` fk:${fk.next}${fk.firing ? '!' : ''}:${JSON.stringify(fk.events.map((e) => [e.kind, e.fk.name, e.where]))}${fk.running ? ` {${this.pending(fk.running)}}` : ''}`;
    if (p.crosscheck !== undefined) out += ` cc:${this.epoch(p.crosscheck)}`;
    return out;
  }

  private missing(): string {
    this.unknown = true;
    return '?';
  }
}
