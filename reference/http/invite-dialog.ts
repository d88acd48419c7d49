/**
 * The invite acceptance page (`inviteAcceptDialog` in discovery): a plain
 * HTML form, prefilled from `?token=…&providerDomain=…`, that a local user
 * submits with their login to `/sciencemesh/accept-invite`. No scripts from
 * elsewhere, nothing stored; the API call does the work.
 */
import type { FastifyPluginAsync } from 'fastify';

const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export const inviteDialogPlugin: FastifyPluginAsync = async (app) => {
  app.get('/accept-invite', { config: { operation: { doc: 'ops', id: 'getInviteAcceptDialog' } } }, async (request, reply) => {
    const query = request.query as { token?: unknown; providerDomain?: unknown };
    const token = typeof query.token === 'string' ? escapeHtml(query.token) : '';
    const provider = typeof query.providerDomain === 'string' ? escapeHtml(query.providerDomain) : '';
    const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Accept an OCM invite</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'">
</head><body>
<h1>Accept an invite</h1>
<form id="f">
<label>Your user name <input name="username" autocomplete="username" required></label><br>
<label>Your password <input name="password" type="password" autocomplete="current-password" required></label><br>
<label>Invite token <input name="token" value="${token}" required></label><br>
<label>Inviting server <input name="providerDomain" value="${provider}" required></label><br>
<button>Accept</button>
</form>
<p id="out" role="status"></p>
<script>
document.getElementById('f').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch('/sciencemesh/accept-invite', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Basic ' + btoa(form.get('username') + ':' + form.get('password')) },
    body: JSON.stringify({ token: form.get('token'), providerDomain: form.get('providerDomain') }),
  });
  const body = await response.json().catch(() => ({}));
  document.getElementById('out').textContent = response.ok ? 'Accepted: ' + body.display_name + ' is now a contact.' : 'Not accepted: ' + (body.message || response.status);
});
</script>
</body></html>`;
    return reply.type('text/html; charset=utf-8').send(page);
  });
};
