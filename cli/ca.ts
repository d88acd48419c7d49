/**
 * `ocm-conformance ca init|show|issue`: the run CA on disk, for test setups.
 * `ca init DIR` makes DIR/ca.pem and DIR/ca-key.pem; a target adds ca.pem to
 * its trust store once, and `run --peer-ca DIR` signs the peers with it.
 */
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  createCertificateAuthority,
  fingerprint,
  issueServerCertificate,
  readCertificateAuthority,
  writeCertificateAuthority,
  writeIssuedCertificate,
} from '../certs/ca.ts';

export function caCommand(): Command {
  const ca = new Command('ca').description('a test CA for the peers, a reference or a test target (test setups only)');
  ca.command('init')
    .description('create a CA key and certificate: DIR/ca.pem and DIR/ca-key.pem')
    .argument('<dir>', 'directory for the CA files')
    .option('--force', 'replace an existing CA in DIR')
    .action(async (dir: string, flags: { force?: boolean }) => {
      if (existsSync(join(dir, CA_KEY_FILE)) && !flags.force) {
        throw new Error(`${join(dir, CA_KEY_FILE)} exists; pass --force to replace it`);
      }
      const authority = await createCertificateAuthority();
      await writeCertificateAuthority(dir, authority);
      console.log(`${resolve(dir, CA_CERT_FILE)}\nSHA-256 ${fingerprint(authority.certPem)}`);
    });
  ca.command('show')
    .description("print the CA certificate's path and SHA-256 fingerprint")
    .argument('<dir>', 'directory made by ca init')
    .action(async (dir: string) => {
      const authority = await readCertificateAuthority(dir);
      console.log(`${resolve(dir, CA_CERT_FILE)}\nSHA-256 ${fingerprint(authority.certPem)}`);
    });
  ca.command('issue')
    .description('issue a server certificate and key (PREFIX.pem, PREFIX-key.pem) signed by the CA in DIR')
    .argument('<dir>', 'directory made by ca init')
    .requiredOption('--name <names>', 'DNS names and IP addresses, comma-separated (the first is the subject)')
    .requiredOption('--out <prefix>', 'output prefix: writes PREFIX.pem and PREFIX-key.pem')
    .action(async (dir: string, flags: { name: string; out: string }) => {
      const authority = await readCertificateAuthority(dir);
      const issued = await issueServerCertificate(authority, flags.name.split(','));
      const files = await writeIssuedCertificate(flags.out, issued);
      console.log(`${resolve(files.cert)}\n${resolve(files.key)}`);
    });
  return ca;
}
