/** What a command may touch of the world: its output streams, its folder and an interrupt. */
export interface CommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** The folder relative paths and `lockstep.config` are read from. */
  readonly cwd: string;
  /** Aborted on Ctrl-C or SIGTERM: PostgreSQL resources are released at once. */
  readonly signal?: AbortSignal;
  /** True when stdout is a terminal. */
  readonly isTTY?: boolean;
  /** How long long work stays quiet before its first progress line on stderr, and then between lines (default 5000 ms). */
  readonly progressMs?: number;
}
