/**
 * OCM Addresses the target emits (spec: Terms › OCM Address): in the shares
 * it sends (`owner`, `sender`, `shareWith`) and in the invite acceptances it
 * sends (`recipientProvider`, the server part on its own). The server part is
 * `host` or `host:port` — no scheme, no path, no port anywhere else (ADR-2).
 *
 * Passive checks: the target's driver acts, the simulated peer records what
 * arrives.
 */
import { check, expect, needDriver } from '../harness/fixtures.ts';
import { becomeContact, shareFromTarget } from '../harness/ocm-actions.ts';

/** A DNS name or an IPv4 / [IPv6] literal, with an optional port 1–65535, and nothing else. */
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/i;

/** Why `server` is not a bare host[:port], or undefined when it is. */
function serverProblem(server: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(server)) return 'it carries a scheme';
  if (/[/?#]/.test(server)) return 'it carries a path, query or fragment';
  const match = HOST.exec(server);
  if (!match) return 'it is not host or host:port';
  if (match[1] !== undefined && (Number(match[1]) < 1 || Number(match[1]) > 65535)) return `port ${match[1]} is out of range`;
  return undefined;
}

/** Why `value` is not an OCM Address with a bare host[:port] server part, or undefined when it is one. */
function addressProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `not a string (${JSON.stringify(value)})`;
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) return 'no identifier@server form';
  const problem = serverProblem(value.slice(at + 1));
  return problem ? `server part "${value.slice(at + 1)}": ${problem}` : undefined;
}

check(
  ['ADR-2'],
  'owner, sender and shareWith of a share the target sends are identifier@host[:port], without path or scheme',
  async ({ target, peer, ocm }) => {
    needDriver(target, 'generateInvite', 'shareWith');
    const user = peer.newUser('adr');
    await becomeContact(ocm, target, peer, user);
    const { body } = await shareFromTarget(target, peer, user, { path: target.context.target.resources.file });
    const problems = (['owner', 'sender', 'shareWith'] as const)
      .map((field) => [field, body[field], addressProblem(body[field])] as const)
      .filter(([, , problem]) => problem !== undefined)
      .map(([field, value, problem]) => `${field} ${JSON.stringify(value)}: ${problem}`);
    expect(problems, problems.join('\n')).toEqual([]);
    expect(body.shareWith, 'shareWith names the peer user at the peer').toBe(peer.address(user.id));
  },
);

check(
  ['ADR-2'],
  'recipientProvider of an invite acceptance the target sends is host[:port], without path or scheme',
  async ({ target, peer }) => {
    needDriver(target, 'acceptInvite');
    const invite = peer.createInvite(peer.newUser('adr-inviter'));
    await target.driver.acceptInvite(target.user, { token: invite.token, providerDomain: peer.domain });
    const sent = peer.received('/invite-accepted').find((r) => r.body?.token === invite.token);
    expect(sent, `the target sent ${peer.domain} a POST /invite-accepted with the token`).toBeDefined();
    const provider = sent!.body.recipientProvider;
    expect(typeof provider, `recipientProvider is a string: ${JSON.stringify(provider)}`).toBe('string');
    const problem = serverProblem(provider);
    expect(problem, `recipientProvider ${JSON.stringify(provider)}: ${problem}`).toBeUndefined();
  },
);
