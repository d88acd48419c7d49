/**
 * One error catalogue (errors.ts, with the WebDAV engine's sub-catalogue it
 * declares): every error code the reference source can answer with is in it,
 * and a throw gives another status than its entry's only where the entry
 * declares it (`alsoAnswers`). The scan reads the source as text, so a code
 * built at run time escapes it; the types (`ErrorCode`, `DavErrorCode`)
 * cover those.
 */
import { test, expect } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DAV_ERRORS } from '../webdav/dav-errors.ts';
import { answersWith, ERRORS, SUB_CATALOGUES, type ErrorCode } from './errors.ts';
import { PROJECT_ROOT } from './config.ts';

interface Finding {
  file: string;
  line: number;
  problem: string;
}

/** Where the WebDAV engine lives: its codes are DAV_ERRORS'. */
const DAV_ENGINE = 'reference/webdav/';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' || entry.name === 'repro' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The text of the call's argument list starting at `open` (the index of its `(`). */
function argumentsAt(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return text.slice(open + 1, i);
  }
  return text.slice(open + 1);
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

/** Checks one source file's text against the catalogues. */
export function scanSource(file: string, text: string): Finding[] {
  const findings: Finding[] = [];
  const inDavEngine = file.startsWith(DAV_ENGINE);
  const known = (code: string) => (inDavEngine ? Object.hasOwn(DAV_ERRORS, code) : Object.hasOwn(ERRORS, code));
  const catalogue = inDavEngine ? 'DAV_ERRORS (reference/webdav/dav-errors.ts)' : 'ERRORS (reference/base/errors.ts)';
  const statusOf = (code: string, status: number) =>
    inDavEngine ? DAV_ERRORS[code as keyof typeof DAV_ERRORS].status === status : answersWith(code as ErrorCode, status, true);

  // Codes: thrown (OcmError, fieldError, DavError) or written as `code: 'X'` (CS3 `CODE_*` statuses are the wire's, not ours).
  const used =
    /\b(?:new OcmError|fieldError|new DavError)\(\s*'([A-Z][A-Z0-9_]*)'|\bcode:\s*'([A-Z][A-Z0-9_]*)'|\b[A-Z_]+:\s*'([A-Z][A-Z0-9_]*)'(?=[,\s}])/g;
  for (const match of text.matchAll(used)) {
    const code = match[1] ?? match[2] ?? match[3]!;
    if (code.startsWith('CODE_')) continue;
    // `KEY: 'VALUE'` counts only in a CS3 status → catalogue hint map (`CODE_NOT_FOUND: 'SHARE_NOT_FOUND'`).
    if (match[3] !== undefined && !/^\s*CODE_[A-Z_]+:/.test(match[0])) continue;
    if (!known(code)) findings.push({ file, line: lineOf(text, match.index), problem: `${code} is not in ${catalogue}` });
  }

  // Status overrides per throw: new OcmError('X', { …, status: … }).
  for (const match of text.matchAll(/\bnew OcmError\(\s*'([A-Z][A-Z0-9_]*)'/g)) {
    const code = match[1]!;
    if (!Object.hasOwn(ERRORS, code)) continue;
    const args = argumentsAt(text, match.index + match[0].indexOf('('));
    const status = /\bstatus:\s*([^,}\s]+)/.exec(args)?.[1];
    if (status === undefined) continue;
    const declared = /^\d+$/.test(status)
      ? answersWith(code as ErrorCode, Number(status), true)
      : 'alsoAnswers' in ERRORS[code as ErrorCode];
    if (!declared)
      findings.push({
        file,
        line: lineOf(text, match.index),
        problem: `${code} is thrown with status ${status}, which its catalogue entry does not declare (alsoAnswers)`,
      });
  }

  // Refusals written as data: { status: N, code: 'X' } in either order.
  const pairs = /\bstatus:\s*(\d{3}),\s*code:\s*'([A-Z][A-Z0-9_]*)'|\bcode:\s*'([A-Z][A-Z0-9_]*)',\s*status:\s*(\d{3})/g;
  for (const match of text.matchAll(pairs)) {
    const code = match[2] ?? match[3]!;
    const status = Number(match[1] ?? match[4]);
    if (known(code) && !statusOf(code, status))
      findings.push({ file, line: lineOf(text, match.index), problem: `${code} is answered with ${status}, not its catalogue status` });
  }
  return findings;
}

test('every error code the reference answers with is in the catalogue, with its own status', () => {
  const root = join(PROJECT_ROOT, 'reference');
  const findings = sourceFiles(root).flatMap((path) => scanSource(relative(PROJECT_ROOT, path), readFileSync(path, 'utf8')));
  expect(findings.map((f) => `${f.file}:${f.line}: ${f.problem}`)).toEqual([]);
});

test('the scan catches a code missing from the catalogue and an undeclared status override', () => {
  const broken = [
    "throw new OcmError('NO_SUCH_CODE');",
    "return { ok: false, status: 401, code: 'MADE_UP', message: 'x' };",
    "throw new OcmError('BAD_REQUEST', { status: 403, message: 'x' });",
    "throw new OcmError('METHOD_NOT_ALLOWED', { status: 403, message: 'read-only' });",
    "throw new OcmError('SHARE_NOT_FOUND', { status: fault ? 410 : 404 });",
    "return { ok: false, status: 404, code: 'INVALID_SHARE_CREDENTIALS', message: 'x' };",
    "const hints = { CODE_NOT_FOUND: 'NOT_OURS' };",
  ].join('\n');
  expect(scanSource('reference/http/example.ts', broken).map((f) => [f.line, f.problem.split(' ')[0]])).toEqual([
    [1, 'NO_SUCH_CODE'],
    [2, 'MADE_UP'],
    [7, 'NOT_OURS'],
    [3, 'BAD_REQUEST'],
    [4, 'METHOD_NOT_ALLOWED'],
    [5, 'SHARE_NOT_FOUND'],
    [6, 'INVALID_SHARE_CREDENTIALS'],
  ]);
  // Declared overrides pass: fastify's 4xx for BAD_REQUEST (at run time), 404 for INVITE_TOKEN_INVALID.
  expect(
    scanSource(
      'reference/http/example.ts',
      "new OcmError('BAD_REQUEST', { status: error.statusCode }); new OcmError('INVITE_TOKEN_INVALID', { status: 404 });",
    ),
  ).toEqual([]);
  // The WebDAV engine answers from its own sub-catalogue.
  expect(scanSource('reference/webdav/x.ts', "throw new DavError('READ_ONLY', 'x');")).toEqual([]);
  expect(scanSource('reference/webdav/x.ts', "throw new DavError('SHARE_READ_ONLY', 'x');")).toHaveLength(1);
});

test('every entry has a status and a one-line meaning; a code in both catalogues has one status', () => {
  for (const [code, entry] of Object.entries(ERRORS)) {
    expect(entry.status, code).toBeGreaterThanOrEqual(400);
    expect(entry.message, code).toMatch(/^[^\n]{10,}$/);
  }
  for (const [code, entry] of Object.entries(DAV_ERRORS)) {
    expect(entry.meaning, code).toMatch(/^[^\n]{5,}$/);
    if (Object.hasOwn(ERRORS, code)) expect(entry.status, `${code} in both catalogues`).toBe(ERRORS[code as ErrorCode].status);
  }
  // The sub-catalogue errors.ts declares is the one this test reads.
  expect(SUB_CATALOGUES.map((c) => c.file)).toEqual(['reference/webdav/dav-errors.ts']);
  expect(readFileSync(join(PROJECT_ROOT, SUB_CATALOGUES[0].file), 'utf8')).toContain(`export const ${SUB_CATALOGUES[0].name} = {`);
});
