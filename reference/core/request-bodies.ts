/**
 * The one check of a request body against the API description, for every
 * adapter: the HTTP plugins (http/openapi-validation.ts, after the transport
 * checks: empty body, media type) and the gRPC handlers that take an OCM
 * payload (grpc/services.ts CreateOCMCoreShare). Depth first, then the schema.
 */
import type { SchemaRegistry } from '../../openapi/registry.ts';
import { OcmError } from '../base/errors.ts';

/** No OCM payload comes near this; every schema of ours is less than ten levels deep. */
export const MAX_BODY_DEPTH = 64;

/** Whether `value` has arrays or objects nested more than `max` deep; iterative, so any depth is safe to measure. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: next, depth } = stack.pop()!;
    if (next === null || typeof next !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(next) ? next : Object.values(next)) {
      if (child !== null && typeof child === 'object') stack.push({ value: child, depth: depth + 1 });
    }
  }
  return false;
}

/** Throws BODY_TOO_DEEP for a body nested deeper than MAX_BODY_DEPTH. */
export function checkDepth(body: unknown): void {
  // Stored values are serialised recursively later on (JSON.stringify): a body nested
  // thousands deep would overflow the stack there, as a 500, instead of being refused here.
  if (nestedDeeperThan(body, MAX_BODY_DEPTH))
    throw new OcmError('BODY_TOO_DEEP', { message: `the request body is nested deeper than ${MAX_BODY_DEPTH} levels` });
}

/** Throws BODY_TOO_DEEP or VALIDATION_FAILED for a body that the schema at `schemaKey` (openapi/registry.ts) refuses. */
export function checkBody(registry: SchemaRegistry, schemaKey: string, body: unknown): void {
  checkDepth(body);
  const outcome = registry.validateKey(schemaKey, body);
  if (!outcome.ok) throw new OcmError('VALIDATION_FAILED', { validationErrors: outcome.issues });
}
