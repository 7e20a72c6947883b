/** Isolation levels, named as lockstep's CLI names them. */
export type IsolationLevel = 'read-committed' | 'repeatable-read' | 'serializable';

/** Every isolation level, weakest first. */
export const isolationLevels: readonly IsolationLevel[] = ['read-committed', 'repeatable-read', 'serializable'];

/** Workload transaction number: 1, 2, ... */
export type TxId = number;
