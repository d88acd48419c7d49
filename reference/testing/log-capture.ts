/**
 * A pino logger whose lines tests can read back, parsed.
 */
import { Writable } from 'node:stream';
import pino from 'pino';

/** The fields of a log line that tests look at. */
export interface LogLine {
  level: number;
  msg: string;
  err?: { message?: string; stack?: string };
  status?: number;
  code?: string;
  reason?: string;
  cause?: string;
}

/** A pino logger at `level` whose lines are kept, parsed, in `lines` (in the order written). */
export function capturingLogger(level: pino.LevelWithSilent = 'info'): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as LogLine);
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}
