/**
 * `ocm-conformance validate-discovery URL|FILE`: the discovery checks of the
 * suites, on one document. Prints each finding with its requirement ID and
 * level; exits 0 when no MUST-level finding.
 */
import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import {
  DISCOVERY_RULES,
  fetchDiscoveryInput,
  isNothingToJudge,
  type DiscoveryInput,
  type RuleNeed,
} from '../suites/discovery/discovery-rules.ts';
import { fetch as undiciFetch } from 'undici';
import { targetDispatcher, tlsFailureHint, type TargetTrust } from '../suites/harness/target-trust.ts';
import { defaultCatalogue, selectRequirements } from '../suites/harness/requirements.ts';
import { profileFromApiVersion, profileLine, type JudgedProfile } from '../suites/harness/profile.ts';

export interface Finding {
  ids: string[];
  level: string;
  title: string;
  outcome: 'pass' | 'fail' | 'not-applicable' | 'not-run';
  /** The concrete finding (fail), or why the rule was not judged (not-applicable, not-run). */
  problem?: string;
}

const LIVE_NEEDS: Record<RuleNeed, string> = {
  status: 'the HTTP status',
  'content-type': 'the content type',
  legacy: 'the legacy /ocm-provider document',
  jwks: 'the JWK Set',
};

export async function validateDiscovery(
  source: string,
  options: { profile: string; allowHttp?: boolean } & TargetTrust,
): Promise<{ findings: Finding[]; mustFailures: number; profile: JudgedProfile }> {
  const isUrl = /^https?:\/\//i.test(source);
  let input: DiscoveryInput;
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
  const judged = profileFromApiVersion(options.profile, input.document?.apiVersion, '--profile');
  input.profile = judged.profile;
  const catalogue = defaultCatalogue();
  const selected = new Map(
    selectRequirements(catalogue, { profile: judged.profile, ...(judged.release ? { release: judged.release } : {}) }).map((r) => [
      r.id,
      r,
    ]),
  );
  const capabilities: unknown[] = Array.isArray(input.document?.capabilities) ? input.document!.capabilities : [];
  const criteria: unknown[] = Array.isArray(input.document?.criteria) ? input.document!.criteria : [];
  const findings: Finding[] = [];
  let mustFailures = 0;
  for (const rule of DISCOVERY_RULES) {
    const inProfile = rule.ids.map((id) => selected.get(id)).filter((r) => r !== undefined);
    const applicable = inProfile.filter(
      (r) => (!r.capability || capabilities.includes(r.capability)) && (!r.criterion || criteria.includes(r.criterion)),
    );
    const level = applicable.map((r) => r.level).join('/') || '-';
    if (applicable.length === 0) {
      const gate = inProfile[0]?.capability
        ? `the document does not advertise ${inProfile[0].capability}`
        : inProfile[0]?.criterion
          ? `the document does not set the ${inProfile[0].criterion} criterion`
          : `not part of profile ${judged.profile}`;
      findings.push({ ids: rule.ids, level, title: rule.title, outcome: 'not-applicable', problem: gate });
      continue;
    }
    const live = isUrl ? [] : (rule.needs ?? []);
    if (live.length > 0) {
      const what = live.map((need) => LIVE_NEEDS[need]).join(' and ');
      findings.push({
        ids: applicable.map((r) => r.id),
        level,
        title: rule.title,
        outcome: 'not-applicable',
        problem: `${what} needs a live server: give its URL instead of a file`,
      });
      continue;
    }
    const verdict = rule.evaluate(input);
    const ids = applicable.map((r) => r.id);
    if (isNothingToJudge(verdict)) {
      findings.push({ ids, level, title: rule.title, outcome: 'not-run', problem: `nothing to judge: ${verdict.nothingToJudge}` });
      continue;
    }
    const isMust = applicable.some((r) => r.strength === 'must' && !r.informational);
    if (verdict && isMust) mustFailures++;
    findings.push({ ids, level, title: rule.title, outcome: verdict ? 'fail' : 'pass', ...(verdict ? { problem: verdict } : {}) });
  }
  return { findings, mustFailures, profile: judged };
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
        const { findings, mustFailures, profile } = outcome;
        if (flags.json) {
          console.log(JSON.stringify({ source, profile, mustFailures, findings }, null, 2));
        } else {
          console.log(profileLine(profile));
          for (const f of findings) {
            const mark = f.outcome === 'pass' ? 'ok  ' : f.outcome === 'fail' ? 'FAIL' : f.outcome === 'not-run' ? 'skip' : 'n/a ';
            console.log(
              `${mark} ${f.ids.join(' ').padEnd(17)} ${f.level.padEnd(10)} ${f.title}${f.problem ? `\n       ${f.problem}` : ''}`,
            );
          }
          const failedIds = findings.filter((f) => f.outcome === 'fail' && f.level.includes('MUST')).flatMap((f) => f.ids);
          console.log(mustFailures === 0 ? 'no MUST-level finding' : `${mustFailures} MUST-level finding(s): ${failedIds.join(', ')}`);
        }
        process.exitCode = mustFailures === 0 ? 0 : 1;
      },
    );
}
