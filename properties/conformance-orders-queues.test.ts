import { conformanceSuite } from './conformance.ts';

/** Conformance (properties/conformance.ts) of the order scenarios, the upsert ones (idempotency-key, counter-upsert) and the job queue. */
conformanceSuite('orders-queues');
