/**
 * Our signing keys as a JWK Set (every key with `kid`, `alg` and
 * `use: "sig"`; old keys stay published so signatures made before a
 * rotation still verify):
 *  - `GET <endPoint>/jwks`, the URL discovery advertises as `jwksUri`;
 *  - `GET /.well-known/jwks.json`, the fixed location 1.3–1.4.0 peers read.
 * Register with `root: true` at the server root and without at the OCM prefix.
 */
import type { FastifyPluginAsync } from 'fastify';
import { randomBytes } from 'node:crypto';
import { publicJwks, type SigningKeyStore } from '../signatures/index.ts';
import { faults } from '../base/faults.ts';

export interface JwksPluginOptions {
  keys: () => SigningKeyStore;
  root: boolean;
}

export const jwksPlugin: FastifyPluginAsync<JwksPluginOptions> = async (app, { keys, root }) => {
  const path = root ? '/.well-known/jwks.json' : '/jwks';
  const id = root ? 'getJwks' : 'getJwksFromEndPoint';
  app.get(path, { config: { operation: { doc: 'ocm', id } } }, async (_request, reply) => {
    const set = publicJwks(keys()) as unknown as { keys: Array<Record<string, unknown>> };
    if (faults.has('jwks-kid-mismatch')) set.keys = set.keys.map((key) => ({ ...key, kid: `${String(key.kid)}-published` }));
    if (faults.has('jwks-symmetric-key'))
      set.keys.push({
        kty: 'oct',
        kid: `${String(set.keys[0]?.kid)}-hmac`,
        alg: 'HS256',
        use: 'sig',
        k: randomBytes(32).toString('base64url'),
      });
    return reply.type('application/json; charset=utf-8').header('cache-control', 'max-age=300').send(JSON.stringify(set));
  });
};
