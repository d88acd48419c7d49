import { test, expect } from '@playwright/test';
import {
  parseDictionary,
  parseItem,
  parseList,
  serializeDictionary,
  serializeInnerList,
  serializeItem,
  StructuredFieldError,
  type InnerList,
} from './structured-fields.ts';

test.describe('RFC 8941 structured fields', () => {
  test('parses a Signature-Input dictionary with an inner list and parameters', () => {
    const dict = parseDictionary(
      'ocm=("@method" "@target-uri" "content-digest";sf "@query-param";name="a");created=1785060500;keyid="sender.example.org#key1";alg="ed25519";tag="ocm"',
    );
    const member = dict.get('ocm') as InnerList;
    expect(member.kind).toBe('inner-list');
    expect(member.items.map((i) => i.value)).toEqual([
      { type: 'string', value: '@method' },
      { type: 'string', value: '@target-uri' },
      { type: 'string', value: 'content-digest' },
      { type: 'string', value: '@query-param' },
    ]);
    expect(member.items[2]!.params.get('sf')).toEqual({ type: 'boolean', value: true });
    expect(member.params.get('created')).toEqual({ type: 'integer', value: 1785060500 });
    expect(member.params.get('tag')).toEqual({ type: 'string', value: 'ocm' });
    // Canonical re-serialisation is the input.
    expect(serializeInnerList(member)).toBe(
      '("@method" "@target-uri" "content-digest";sf "@query-param";name="a");created=1785060500;keyid="sender.example.org#key1";alg="ed25519";tag="ocm"',
    );
  });

  test('parses every bare item type', () => {
    const dict = parseDictionary('a=1, b=-2.5, c="x\\"y\\\\z", d=tok:en/1, e=:AQID:, f=?0, g, h=?1;p=*x');
    expect(dict.get('a')).toMatchObject({ value: { type: 'integer', value: 1 } });
    expect(dict.get('b')).toMatchObject({ value: { type: 'decimal', value: -2.5 } });
    expect(dict.get('c')).toMatchObject({ value: { type: 'string', value: 'x"y\\z' } });
    expect(dict.get('d')).toMatchObject({ value: { type: 'token', value: 'tok:en/1' } });
    expect((dict.get('e') as { value: { value: Buffer } }).value.value).toEqual(Buffer.from([1, 2, 3]));
    expect(dict.get('f')).toMatchObject({ value: { type: 'boolean', value: false } });
    expect(dict.get('g')).toMatchObject({ value: { type: 'boolean', value: true } });
    expect(serializeDictionary(dict)).toBe('a=1, b=-2.5, c="x\\"y\\\\z", d=tok:en/1, e=:AQID:, f=?0, g, h;p=*x');
  });

  test('joins multiple field lines and tolerates OWS between members', () => {
    const dict = parseDictionary(['a=1', 'b=2 ,\tc=3']);
    expect([...dict.keys()]).toEqual(['a', 'b', 'c']);
  });

  test('a repeated key overwrites the earlier member', () => {
    const dict = parseDictionary('a=1, b=2, a=3');
    expect(dict.get('a')).toMatchObject({ value: { value: 3 } });
    expect(dict.size).toBe(2);
  });

  test('lists and items', () => {
    expect(parseList('a, (b c);x=1, "d"').length).toBe(3);
    expect(serializeItem(parseItem(' "@query-param";name="x" '))).toBe('"@query-param";name="x"');
  });

  for (const bad of [
    'A=1', // upper-case key
    'a=1,', // trailing comma
    'a=1,,b=2',
    'a="unterminated',
    'a="bad \\x escape"',
    'a=1234567890123456', // integer > 15 digits
    'a=1.2345', // decimal fraction > 3 digits
    'a=1.', // decimal ending in "."
    'a=(1 2', // unterminated inner list
    'a=(1,2)', // comma inside inner list
    'a=:not base64!:',
    'a=?2',
    'a=1 b=2',
    'a=é',
    'a=@1',
    '=1',
  ]) {
    test(`rejects ${JSON.stringify(bad)}`, () => {
      expect(() => parseDictionary(bad)).toThrow(StructuredFieldError);
    });
  }

  test('rejects very long input', () => {
    expect(() => parseDictionary(`a="${'x'.repeat(70_000)}"`)).toThrow(StructuredFieldError);
  });
});
