import { accessSync, constants, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';

/**
 * Where tests keep the data of the embedded servers they start: `/dev/shm`
 * when it is writable and has 1 GiB free, else the temp folder. On ext4,
 * initdb, creating databases and truncating tables (creating a relation's
 * new files after many deletions) cost the server several times what they
 * cost on tmpfs.
 */
export function memoryFolder(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    const { bavail, bsize } = statfsSync('/dev/shm');
    if (bavail * bsize >= 1024 ** 3) return '/dev/shm';
  } catch {
    // No /dev/shm: the temp folder.
  }
  return tmpdir();
}
