/**
 * Read-only checks of a data dir as the store left it (json-collection.ts
 * format): every snapshot (`*.json`) parses and is a collection snapshot,
 * every journal line (`*.journal.jsonl`) parses and is a journal entry,
 * except a torn last line (no newline: never acknowledged). Never writes, so
 * it can look at the files of a running or a killed server.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface DataFileReport {
  files: number;
  snapshotRecords: number;
  journalLines: number;
  tornTails: string[];
  /** Temp files of interrupted snapshot writes (`NAME.json.<pid>.<uuid>.tmp`), with their sizes. */
  leftoverTemps: string[];
  problems: string[];
}

export async function checkDataFiles(dataDir: string): Promise<DataFileReport> {
  const report: DataFileReport = { files: 0, snapshotRecords: 0, journalLines: 0, tornTails: [], leftoverTemps: [], problems: [] };
  let names: string[];
  try {
    names = await readdir(dataDir);
  } catch (error) {
    report.problems.push(`cannot list ${dataDir}: ${(error as Error).message}`);
    return report;
  }
  for (const name of names.sort()) {
    const file = join(dataDir, name);
    if (name.endsWith('.tmp')) {
      report.leftoverTemps.push(`${name} (${(await stat(file)).size} bytes)`);
      continue;
    }
    if (name.endsWith('.journal.jsonl')) {
      report.files++;
      const buffer = await readFile(file);
      let offset = 0;
      let line = 0;
      while (offset < buffer.length) {
        const newline = buffer.indexOf(0x0a, offset);
        line++;
        if (newline < 0) {
          report.tornTails.push(`${name} (${buffer.length - offset} bytes)`);
          break;
        }
        const text = buffer.subarray(offset, newline).toString('utf8');
        try {
          const entry = JSON.parse(text) as { seq?: unknown; op?: unknown; id?: unknown };
          if (typeof entry.seq !== 'number' || (entry.op !== 'put' && entry.op !== 'del') || typeof entry.id !== 'string')
            report.problems.push(`${name} line ${line} is not a journal entry`);
        } catch {
          report.problems.push(`${name} line ${line} is not JSON: ${text.slice(0, 80)}`);
        }
        report.journalLines++;
        offset = newline + 1;
      }
    } else if (name.endsWith('.json') && !name.includes('.tmp')) {
      report.files++;
      const text = await readFile(file, 'utf8');
      try {
        const doc = JSON.parse(text) as { format?: unknown; seq?: unknown; records?: Record<string, unknown> };
        if (name === 'signing-keys.json') continue;
        if (typeof doc.format !== 'string' || typeof doc.seq !== 'number' || typeof doc.records !== 'object' || doc.records === null)
          report.problems.push(`${name} is not a collection snapshot`);
        else report.snapshotRecords += Object.keys(doc.records).length;
      } catch (error) {
        report.problems.push(`${name} is not JSON: ${(error as Error).message}`);
      }
    }
  }
  return report;
}
