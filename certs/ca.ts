/**
 * The run CA: a small certificate authority for test setups. It signs the
 * server certificates of the simulated peers, of a reference started with
 * `serve --tls-cert`, or of a test target, so one trust entry (ca.pem)
 * covers every https endpoint of a run. Built on @peculiar/x509 and Web
 * Crypto: no openssl, no hand-written ASN.1. Never part of a system trust store.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createHash, webcrypto } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** ECDSA P-256: fast to generate (a fresh CA per run costs milliseconds) and accepted by every TLS stack we meet. */
const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface CertificateAuthority {
  /** PEM of the CA certificate (what a target adds to its trust store). */
  certPem: string;
  /** PKCS#8 PEM of the CA key. */
  keyPem: string;
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

export const CA_CERT_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca-key.pem';

function serialNumber(): string {
  // Positive, 16 random bytes (RFC 5280 allows up to 20 octets).
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0];
  if (!der) throw new Error('the CA key file holds no PEM block');
  return (await webcrypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, false, ['sign'])) as unknown as CryptoKey;
}

/** A new CA, valid for `days` (default 10 years: a CA set up once in a target's trust store should not expire under it). */
export async function createCertificateAuthority(options: { commonName?: string; days?: number } = {}): Promise<CertificateAuthority> {
  const keys = (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${options.commonName ?? 'ocm-conformance test CA'}, O=ocm-conformance`,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + (options.days ?? 3650) * DAY_MS),
    signingAlgorithm: KEY_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

/** Splits "a.test,127.0.0.1,::1" into the subjectAltName entries of a server certificate. */
export function subjectAltNames(names: readonly string[]): { type: 'dns' | 'ip'; value: string }[] {
  const entries = names.map((name) => name.trim()).filter(Boolean);
  if (entries.length === 0) throw new Error('a server certificate needs at least one name (--name host[,host|ip…])');
  return entries.map((name) => {
    const bare = name.replace(/^\[(.*)\]$/, '$1');
    if (isIP(bare)) return { type: 'ip' as const, value: bare };
    if (!/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(name)) {
      throw new Error(`not a DNS name or IP address: ${name}`);
    }
    return { type: 'dns' as const, value: name.toLowerCase() };
  });
}

/** A server certificate for `names` (DNS names and IP addresses), signed by the CA; valid 825 days at most, as browsers want. */
export async function issueServerCertificate(
  ca: CertificateAuthority,
  names: readonly string[],
  options: { days?: number } = {},
): Promise<IssuedCertificate> {
  const sans = subjectAltNames(names);
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importKeyPem(ca.keyPem);
  const keys = (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${sans[0]!.value}`,
    issuer: caCert.subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + Math.min(options.days ?? 825, 825) * DAY_MS),
    signingAlgorithm: KEY_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
      new x509.SubjectAlternativeNameExtension(sans, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

/** SHA-256 fingerprint of a PEM certificate, as colon-separated upper-case hex (the form openssl and browsers show). */
export function fingerprint(certPem: string): string {
  const der = Buffer.from(x509.PemConverter.decode(certPem)[0]!);
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

export async function writeCertificateAuthority(dir: string, ca: CertificateAuthority): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, CA_CERT_FILE), ca.certPem);
  await writeFile(join(dir, CA_KEY_FILE), ca.keyPem, { mode: 0o600 });
}

export async function readCertificateAuthority(dir: string): Promise<CertificateAuthority> {
  try {
    return {
      certPem: await readFile(join(dir, CA_CERT_FILE), 'utf8'),
      keyPem: await readFile(join(dir, CA_KEY_FILE), 'utf8'),
    };
  } catch (error) {
    throw new Error(
      `no CA in ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): run \`ocm-conformance ca init ${dir}\` first`,
    );
  }
}

/** Writes PREFIX.pem and PREFIX-key.pem. */
export async function writeIssuedCertificate(prefix: string, issued: IssuedCertificate): Promise<{ cert: string; key: string }> {
  const cert = `${prefix}.pem`;
  const key = `${prefix}-key.pem`;
  await writeFile(cert, issued.certPem);
  await writeFile(key, issued.keyPem, { mode: 0o600 });
  return { cert, key };
}
