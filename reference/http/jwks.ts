/**
 * Our signing keys as a JWK Set (every key with `kid`, `alg` and
 * `use: "sig"`; old keys stay published so signatures made before a
 * rotation still verify):
 *  - `GET <endPoint>/jwks`, the URL discovery advertises as `jwksUri`;
 *  - `GET /.well-known/jwks.json`, the fixed location 1.3–1.4.0 peers read.
 * Register with `root: true` at the server root and without at the OCM prefix.
 */
import type { FastifyPluginAsync } from 'fastify';
import { publicJwks, type SigningKeyStore } from '../signatures/index.ts';

export interface JwksPluginOptions {
  keys: () => SigningKeyStore;
  root: boolean;
}

export const jwksPlugin: FastifyPluginAsync<JwksPluginOptions> = async (app, { keys, root }) => {
  const path = root ? '/.well-known/jwks.json' : '/jwks';
  const id = root ? 'getJwks' : 'getJwksFromEndPoint';
  app.get(path, { config: { operation: { doc: 'ocm', id } } }, async (_request, reply) =>
    reply.type('application/json; charset=utf-8').header('cache-control', 'max-age=300').send(JSON.stringify(publicJwks(keys()))),
  );
};
