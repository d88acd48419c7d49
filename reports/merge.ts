/**
 * Merging the results of one run split across machines (`run --shard i/n`):
 * the union of checks per requirement (by check id; if one check shows up in
 * two parts, the failing record wins, then the passing one), the union of
 * transcripts, peers and declared expectations, then outcomes, summary and
 * verdict recomputed by `finalizeResults` exactly as for a single run.
 * The parts must be of the same target (name) and profile; when they carry
 * shard numbers, all shards 1..n must be present, once each.
 */
import { finalizeResults, type CheckResult, type ComplianceResults, type RequirementResult } from '../results/model.ts';

const RANK: Record<CheckResult['status'], number> = { error: 5, failed: 4, 'timed-out': 3, passed: 2, interrupted: 1, 'not-run': 0 };

export function mergeResults(parts: ComplianceResults[]): ComplianceResults {
  if (parts.length === 0) throw new Error('nothing to merge: give at least one results file');
  const first = parts[0]!;
  for (const p of parts) {
    if (p.target.name !== first.target.name)
      throw new Error(`cannot merge results of different targets: "${first.target.name}" and "${p.target.name}"`);
    if (p.run.profile !== first.run.profile)
      throw new Error(`cannot merge results of different profiles: ${first.run.profile} and ${p.run.profile}`);
  }
  const sharded = parts.filter((p) => p.run.shard);
  if (sharded.length) {
    if (sharded.length !== parts.length) throw new Error('cannot merge shard results with unsharded results');
    const total = sharded[0]!.run.shard!.total;
    if (sharded.some((p) => p.run.shard!.total !== total))
      throw new Error('the shard results come from runs split differently (different shard totals)');
    const seen = sharded.map((p) => p.run.shard!.current);
    const dup = seen.filter((n, i) => seen.indexOf(n) !== i);
    if (dup.length) throw new Error(`shard ${dup[0]}/${total} is given twice`);
    const missing = Array.from({ length: total }, (_, i) => i + 1).filter((n) => !seen.includes(n));
    if (missing.length) throw new Error(`shard ${missing.join(', ')} of ${total} missing: merge needs every shard`);
  }
  const ordered = [...parts].sort((a, b) => (a.run.shard?.current ?? 0) - (b.run.shard?.current ?? 0));

  const requirements = new Map<string, RequirementResult>();
  const checks = new Map<string, Map<string, CheckResult>>();
  for (const part of ordered) {
    for (const r of part.requirements) {
      if (!requirements.has(r.id)) requirements.set(r.id, { ...r, checks: [] });
      const byId = checks.get(r.id) ?? new Map<string, CheckResult>();
      for (const c of r.checks) {
        const seen = byId.get(c.id);
        if (!seen || RANK[c.status] > RANK[seen.status]) byId.set(c.id, c);
      }
      checks.set(r.id, byId);
    }
  }
  for (const [id, r] of requirements) r.checks = [...(checks.get(id)?.values() ?? [])];

  const starts = ordered.map((p) => Date.parse(p.run.startedAt));
  const ends = ordered.map((p, i) => starts[i]! + p.run.durationMs);
  const startedAt = new Date(Math.min(...starts)).toISOString();
  const merged: ComplianceResults = {
    format: first.format,
    tool: first.tool,
    run: {
      startedAt,
      durationMs: Math.max(...ends) - Math.min(...starts),
      profile: first.run.profile,
      ...(first.run.profileReason ? { profileReason: first.run.profileReason } : {}),
      ...(first.run.profileWarning ? { profileWarning: first.run.profileWarning } : {}),
      ...(first.run.failOn ? { failOn: first.run.failOn } : {}),
      ...(first.run.grep ? { grep: first.run.grep } : {}),
      ...(first.run.only ? { only: first.run.only } : {}),
      ...(first.run.selectedBy ? { selectedBy: first.run.selectedBy } : {}),
      mergedFrom: ordered.flatMap(
        (p) =>
          p.run.mergedFrom ?? [
            {
              startedAt: p.run.startedAt,
              durationMs: p.run.durationMs,
              ...(p.run.shard ? { shard: p.run.shard } : {}),
              targetUrl: p.target.url,
            },
          ],
      ),
    },
    target: first.target,
    ...(first.interopWith ? { interopWith: first.interopWith } : {}),
    peers: [...new Set(ordered.flatMap((p) => p.peers))],
    expectations: {
      ...(first.expectations.file ? { file: first.expectations.file } : {}),
      ...(first.expectations.implementation ? { implementation: first.expectations.implementation } : {}),
      declared: [...new Set(ordered.flatMap((p) => p.expectations.declared))],
    },
    summary: first.summary,
    verdict: first.verdict,
    requirements: [...requirements.values()],
    transcripts: Object.assign({}, ...ordered.map((p) => p.transcripts)),
  };
  return finalizeResults(merged);
}
