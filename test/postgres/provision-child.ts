/**
 * A process that starts an embedded server and then ends in the way named by
 * its argument, for provision.test.ts: `sigterm` (waits to be killed),
 * `exit` (process.exit(3)), `throw` (uncaught exception), `exit-code`
 * (stops the server and sets process.exitCode = 5).
 */
import pg from 'pg';
import { provisionPostgres } from '../../src/adapters/postgres/provision.ts';

const mode = process.argv[2];
const server = await provisionPostgres();
const client = new pg.Client({ connectionString: server.url });
await client.connect();
const dataDir = (await client.query('show data_directory')).rows[0].data_directory as string;
await client.end();
console.log(JSON.stringify({ port: Number(new URL(server.url).port), dataDir }));

if (mode === 'sigterm') setInterval(() => {}, 1000);
if (mode === 'exit') process.exit(3);
if (mode === 'throw') setTimeout(() => {
  throw new Error('boom');
}, 0);
if (mode === 'exit-code') {
  await server.stop();
  process.exitCode = 5;
}
