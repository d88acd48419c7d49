/**
 * Public surface of the signature primitives (framework-free).
 */
export * from './profile.ts';
export * from './content-digest.ts';
export * from './algorithms.ts';
export * from './keys.ts';
export * from './signature-base.ts';
export * from './sign.ts';
export * from './verify.ts';
export * from './cavage.ts';
export {
  StructuredFieldError,
  parseDictionary,
  parseItem,
  parseList,
  serializeDictionary,
  serializeItem,
  serializeInnerList,
} from './structured-fields.ts';
