/**
 * `ocm-conformance validate-discovery URL|FILE`: the discovery checks of the
 * suites, on one document. Prints each finding with its requirement ID and
 * level; exits 0 when no MUST-level finding.
 */
import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { DISCOVERY_RULES, fetchDiscoveryInput, type DiscoveryInput } from '../suites/discovery/discovery-rules.ts';
import { fetch as undiciFetch } from 'undici';
import { targetDispatcher, tlsFailureHint, type TargetTrust } from '../suites/harness/target-trust.ts';
import { defaultCatalogue, resolveProfile, selectRequirements } from '../suites/harness/requirements.ts';

export interface Finding {
  ids: string[];
  level: string;
  title: string;
  outcome: 'pass' | 'fail' | 'not-applicable';
  problem?: string;
}

export async function validateDiscovery(
  source: string,
  options: { profile: string; allowHttp?: boolean } & TargetTrust,
): Promise<{ findings: Finding[]; mustFailures: number }> {
  const isUrl = /^https?:\/\//i.test(source);
  let input: DiscoveryInput;
  const profileHint = options.profile;
  if (isUrl) {
    const origin = new URL(source).origin;
    const dispatcher = targetDispatcher(options);
    input = await fetchDiscoveryInput(origin, {
      profile: 'main',
      allowHttp: options.allowHttp ?? new URL(source).protocol === 'http:',
      ...(dispatcher
        ? {
            fetcher: async (url: string) => {
              const response = await undiciFetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000), dispatcher });
              return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() };
            },
          }
        : {}),
    });
  } else {
    let document: unknown;
    try {
      document = JSON.parse(await readFile(source, 'utf8'));
    } catch (error) {
      throw new Error(`cannot read a JSON discovery document from ${source}: ${(error as Error).message}`);
    }
    input = { document: document as Record<string, any>, profile: 'main', allowHttp: options.allowHttp ?? false };
  }
  const resolved = resolveProfile(profileHint, typeof input.document?.apiVersion === 'string' ? input.document.apiVersion : undefined);
  input.profile = resolved.profile;
  const catalogue = defaultCatalogue();
  const selected = new Map(
    selectRequirements(catalogue, { profile: resolved.profile, ...(resolved.release ? { release: resolved.release } : {}) }).map((r) => [
      r.id,
      r,
    ]),
  );
  const capabilities: string[] = Array.isArray(input.document?.capabilities) ? input.document!.capabilities : [];
  const criteria: string[] = Array.isArray(input.document?.criteria) ? input.document!.criteria : [];
  const findings: Finding[] = [];
  let mustFailures = 0;
  for (const rule of DISCOVERY_RULES) {
    const applicable = rule.ids
      .map((id) => selected.get(id))
      .filter((r) => r && (!r.capability || capabilities.includes(r.capability)) && (!r.criterion || criteria.includes(r.criterion)));
    const level = applicable.map((r) => r!.level).join('/') || '-';
    const fileOnly = !isUrl && (rule.needs?.length ?? 0) > 0;
    if (applicable.length === 0 || fileOnly) {
      findings.push({
        ids: rule.ids,
        level,
        title: rule.title,
        outcome: 'not-applicable',
        ...(fileOnly && applicable.length ? { problem: 'needs the live server (give a URL)' } : {}),
      });
      continue;
    }
    const problem = rule.evaluate(input);
    const isMust = applicable.some((r) => r!.strength === 'must' && !r!.informational);
    if (problem && isMust) mustFailures++;
    findings.push({
      ids: applicable.map((r) => r!.id),
      level,
      title: rule.title,
      outcome: problem ? 'fail' : 'pass',
      ...(problem ? { problem } : {}),
    });
  }
  return { findings, mustFailures };
}

export function validateDiscoveryCommand(): Command {
  return new Command('validate-discovery')
    .description('check one discovery document (a server URL or a JSON file) against a profile')
    .argument('<url-or-file>', 'a server origin such as https://cloud.example.org, or a JSON file')
    .option('--profile <profile>', '1.0, 1.1, 1.2, 1.3, 1.4, main or auto', 'auto')
    .option('--allow-http', 'accept http:// URLs where the spec wants https (test setups)')
    .option('--ca-file <file>', "PEM bundle to trust for the server's certificate (a test CA)")
    .option('--insecure', "skip verification of the server's certificate (test setups)")
    .option('--json', 'print the findings as JSON')
    .action(
      async (source: string, flags: { profile: string; allowHttp?: boolean; json?: boolean; caFile?: string; insecure?: boolean }) => {
        let outcome: Awaited<ReturnType<typeof validateDiscovery>>;
        try {
          outcome = await validateDiscovery(source, {
            profile: flags.profile,
            ...(flags.allowHttp ? { allowHttp: true } : {}),
            ...(flags.caFile ? { caFile: flags.caFile } : {}),
            ...(flags.insecure ? { insecure: true } : {}),
          });
        } catch (error) {
          const hint = tlsFailureHint(error);
          if (!hint) throw error;
          console.error(hint);
          process.exitCode = 2;
          return;
        }
        const { findings, mustFailures } = outcome;
        if (flags.json) {
          console.log(JSON.stringify({ source, mustFailures, findings }, null, 2));
        } else {
          for (const f of findings) {
            const mark = f.outcome === 'pass' ? 'ok  ' : f.outcome === 'fail' ? 'FAIL' : 'n/a ';
            console.log(
              `${mark} ${f.ids.join(' ').padEnd(17)} ${f.level.padEnd(10)} ${f.title}${f.problem ? `\n       ${f.problem}` : ''}`,
            );
          }
          console.log(mustFailures === 0 ? 'no MUST-level finding' : `${mustFailures} MUST-level finding(s)`);
        }
        process.exitCode = mustFailures === 0 ? 0 : 1;
      },
    );
}
