import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { endClient } from '../adapters/postgres/connection.ts';
import type { Sessions } from '../adapters/postgres/sessions.ts';

/**
 * Creates the throwaway database a spec runs in (`lockstep_<hex>_<database>`,
 * from template0); undefined when the role may not create databases (the
 * schema fallback).
 *
 * ```ts
 * const database = await createThrowawayDatabase(url, 'lockstep');
 * const target = database === undefined ? url : inDatabase(url, database);
 * ```
 */
export async function createThrowawayDatabase(url: string, applicationName: string): Promise<string | undefined> {
  const admin = new pg.Client({ connectionString: url, application_name: applicationName, options: libpqOptions() });
  admin.on('error', () => {});
  try {
    await admin.connect();
    const current = String((await admin.query('select current_database() as name')).rows[0].name);
    const name = `lockstep_${randomBytes(6).toString('hex')}_${current}`.slice(0, 63);
    try {
      await admin.query(`create database ${pg.escapeIdentifier(name)} template template0`);
    } catch (e) {
      if (e instanceof pg.DatabaseError && e.code === '42501') return undefined;
      throw e;
    }
    return name;
  } finally {
    await endClient(admin);
  }
}

/** `url` naming `database` instead of its own. */
export function inDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/**
 * The startup options libpq would send from the environment:
 * `PGOPTIONS`, and `PGTZ` and `PGDATESTYLE` as `-c TimeZone=...` and
 * `-c DateStyle=...` (spaces and backslashes escaped with a backslash).
 */
export function libpqOptions(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const escape = (v: string) => v.replace(/([\\ ])/g, '\\$1');
  const parts = [env.PGOPTIONS?.trim() || undefined, env.PGTZ ? `-c TimeZone=${escape(env.PGTZ)}` : undefined, env.PGDATESTYLE ? `-c DateStyle=${escape(env.PGDATESTYLE)}` : undefined];
  const options = parts.filter((p) => p !== undefined).join(' ');
  return options === '' ? undefined : options;
}

/**
 * Where a permutation's objects go. In the throwaway database: `public`,
 * dropped and created again before every permutation after the first, as a
 * fresh schema would be. In the schema fallback: a fresh `lockstep_<hex>`,
 * first on every connection's search_path, dropped after the permutation
 * (and by the sessions' close when a permutation is cut short).
 */
export class PermutationSchema {
  private publicUsed = false;
  private current: string | undefined;

  constructor(
    /** The throwaway database, or none (the schema fallback). */
    private readonly database: string | undefined,
    private readonly sessions: Sessions<unknown, unknown>,
  ) {}

  /** Makes a clean schema for the next permutation. */
  async create(): Promise<void> {
    const control = this.sessions.control;
    if (this.database !== undefined) {
      if (this.publicUsed) await control.query('drop schema if exists public cascade; create schema public');
      this.publicUsed = true;
      return;
    }
    const schema = `lockstep_${randomBytes(6).toString('hex')}`;
    this.current = schema;
    this.sessions.dropOnClose = { schema };
    await control.query(`create schema ${schema}`);
    const searchPath = `set search_path = ${schema}, public`;
    await control.query(searchPath);
    await Promise.all(this.sessions.list().map((s) => s.client.query(searchPath)));
  }

  /** Drops the fallback's schema; `public` stays until the next permutation or the database's drop. */
  async drop(): Promise<void> {
    if (this.current === undefined) return;
    await this.sessions.control.query(`drop schema if exists ${this.current} cascade`);
    this.current = undefined;
    this.sessions.dropOnClose = {};
  }
}
