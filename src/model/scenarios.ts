import { deadlockRetry, dirtyRead, optimisticConflict } from './isolation.ts';
import { orderStock, paymentConfirm } from './orders.ts';
import { pointsExpiryVsUse, pointsFifo, pointsHotLot } from './points-lots.ts';
import { pointsReadDuringUpdate } from './points-reads.ts';
import { pointsAdd, pointsDeduct, pointsMixed } from './points.ts';
import { rewardGrantQuery, rewardRedeem, welcomeGift } from './rewards.ts';
import { taskCompleteDelete, taskCreate } from './tasks.ts';
import { loginIssue, rateLimit, refreshRotation, signupUnique } from './tokens.ts';
import { top3DifferentDates, top3SameDate } from './top3.ts';
import type { Scenario } from './scenario.ts';

/** Every scenario lockstep knows, by id, in the order `lockstep list` shows them. */
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
  paymentConfirm,
  taskCreate,
  taskCompleteDelete,
  dirtyRead,
  optimisticConflict,
  deadlockRetry,
];

/** The scenario with this id, or undefined. */
export function findScenario(id: string): Scenario | undefined {
  return scenarios.find((s) => s.id === id);
}
