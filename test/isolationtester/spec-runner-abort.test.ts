import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionPostgres, type Provisioned } from '../../src/adapters/postgres/provision.ts';
import { InterruptedError } from '../../src/errors.ts';
import { parseSpec } from '../../src/isolationtester/spec-parser.ts';
import { SpecRunner } from '../../src/isolationtester/spec-runner.ts';

let server: Provisioned;
let admin: pg.Client;

beforeAll(async () => {
  server = await provisionPostgres();
  admin = new pg.Client({ connectionString: server.url, application_name: 'lockstep-test-admin' });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await server?.stop();
});

const applicationName = 'lockstep-spec-abort-test';
const spec = parseSpec('session s1\nstep s1a { SELECT 1; }\nsession s2\nstep s2a { SELECT 2; }\n', 'abort.spec');

/** The runner's connections, and the throwaway databases (`lockstep_<hex>_<this database>`) on the server. */
async function leftovers() {
  const connections = await admin.query('select count(*)::int as n from pg_stat_activity where application_name = $1', [applicationName]);
  const databases = await admin.query("select count(*)::int as n from pg_database where datname like 'lockstep\\_%' and right(datname, length(current_database()) + 1) = '_' || current_database()");
  return { connections: connections.rows[0].n as number, databases: databases.rows[0].n as number };
}

describe('SpecRunner.connect under an AbortSignal', () => {
  it.each([0, 1, 2, 3, 5, 8, 13, 21, 34])('aborted after %i ms: an InterruptedError (or a runner, closed), no database, no connection', async (ms) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), ms);
    try {
      const runner = await SpecRunner.connect(server.url, spec, { signal: controller.signal, applicationName });
      await runner.close();
    } catch (e) {
      expect(e).toBeInstanceOf(InterruptedError);
    } finally {
      clearTimeout(timer);
    }
    expect(await leftovers()).toEqual({ connections: 0, databases: 0 });
  });
});
