import { counterUpsert } from './counters.ts';
import { idempotencyKey } from './idempotency.ts';
import { deadlockRetry, dirtyRead, optimisticConflict } from './isolation.ts';
import { jobQueue } from './job-queue.ts';
import { orderStock, paymentConfirm } from './orders.ts';
import { orderLines } from './order-lines.ts';
import { pointsExpiryVsUse, pointsFifo, pointsHotLot } from './points-lots.ts';
import { pointsReadDuringUpdate } from './points-reads.ts';
import { pointsAdd, pointsDeduct, pointsMixed } from './points.ts';
import { rewardGrantQuery, rewardRedeem, welcomeGift } from './rewards.ts';
import { taskCompleteDelete, taskCreate } from './tasks.ts';
import { loginIssue, rateLimit, refreshRotation, signupUnique } from './tokens.ts';
import { top3DifferentDates, top3SameDate } from './top3.ts';
import type { Scenario } from '../scenario.ts';

/**
 * The built-in scenarios, from SCENARIOS.md, in the order `lockstep list`
 * shows them: lockstep's examples and regression suite, written against the
 * same public API a user has. Published as `lockstep/scenarios`.
 */
export const scenarios: readonly Scenario[] = [
  pointsDeduct,
  pointsAdd,
  pointsMixed,
  pointsReadDuringUpdate,
  pointsExpiryVsUse,
  pointsFifo,
  pointsHotLot,
  welcomeGift,
  rewardRedeem,
  rewardGrantQuery,
  top3SameDate,
  top3DifferentDates,
  refreshRotation,
  loginIssue,
  signupUnique,
  rateLimit,
  orderStock,
  orderLines,
  paymentConfirm,
  idempotencyKey,
  counterUpsert,
  taskCreate,
  taskCompleteDelete,
  jobQueue,
  dirtyRead,
  optimisticConflict,
  deadlockRetry,
];

export { counterUpsert, deadlockRetry, dirtyRead, idempotencyKey, optimisticConflict, orderLines, orderStock, paymentConfirm, pointsExpiryVsUse, pointsFifo, pointsHotLot, pointsReadDuringUpdate };
export { pointsAdd, pointsDeduct, pointsMixed, rewardGrantQuery, rewardRedeem, welcomeGift, taskCompleteDelete, taskCreate, jobQueue };
export { loginIssue, rateLimit, refreshRotation, signupUnique, top3DifferentDates, top3SameDate };
export { catalogue, itemsSchema, type CatalogueEntry } from './catalogue.ts';
