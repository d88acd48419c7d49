/**
 * The front's gRPC clients for the five CS3 services of its back
 * (decisions/0009-http-over-grpc.md): one channel, built from our .proto
 * files (../grpc/protos.ts). `call` sends the caller's identity as the documented
 * metadata (`authorization: Basic base64(username:password)`,
 * decisions/0007 §2), answers the response on CODE_OK and throws an OcmError
 * otherwise (./cs3-status-to-error.ts).
 */
import * as grpc from '@grpc/grpc-js';
import type { LocalUser } from '../stores/records.ts';
import type { Msg } from '../grpc/convert.ts';
import { authProviderApi, callUnary, inviteApi, ocmApi, ocmCoreApi, providerApi } from '../grpc/protos.ts';
import { AUTHORIZATION_METADATA } from '../grpc/server.ts';
import type { Cs3Status } from '../grpc/status.ts';
import { ocmErrorFromStatus, ocmErrorFromTransport, type StatusHints } from './cs3-status-to-error.ts';

export type Cs3Service = 'providerApi' | 'inviteApi' | 'ocmApi' | 'ocmCoreApi' | 'authProviderApi';

const CONSTRUCTORS = { providerApi, inviteApi, ocmApi, ocmCoreApi, authProviderApi } as const;

export interface CallOptions {
  /** The local user the call acts for (protected rpcs); absent: an unprotected rpc. */
  user?: Pick<LocalUser, 'username' | 'password'>;
  /** What each non-OK CS3 code means for this rpc. */
  hints?: StatusHints;
}

export interface BackendClientOptions {
  /** host:port of the back's gRPC services. */
  address: string;
  /** Deadline of each call, milliseconds. */
  deadlineMs: number;
  /** Sees every call (tests). */
  observer?: (service: Cs3Service, rpc: string) => void;
}

/** `Basic base64(username:password)`: the caller metadata the back checks against its users file. */
export function basicCredentials(user: Pick<LocalUser, 'username' | 'password'>): string {
  return `Basic ${Buffer.from(`${user.username}:${user.password}`, 'utf8').toString('base64')}`;
}

export class BackendClient {
  private readonly channel: grpc.Channel;
  private readonly clients: Record<Cs3Service, grpc.Client>;

  constructor(private readonly options: BackendClientOptions) {
    const credentials = grpc.credentials.createInsecure();
    const first = new providerApi(options.address, credentials);
    this.channel = first.getChannel() as grpc.Channel;
    // Every service on one channel (one HTTP/2 connection to the back).
    const clients: Partial<Record<Cs3Service, grpc.Client>> = { providerApi: first };
    for (const name of ['inviteApi', 'ocmApi', 'ocmCoreApi', 'authProviderApi'] as const) {
      clients[name] = new CONSTRUCTORS[name](options.address, credentials, { channelOverride: this.channel });
    }
    this.clients = clients as Record<Cs3Service, grpc.Client>;
  }

  get address(): string {
    return this.options.address;
  }

  async call<Res extends Msg = Msg>(service: Cs3Service, rpc: string, request: Msg, options: CallOptions = {}): Promise<Res> {
    this.options.observer?.(service, rpc);
    const metadata = new grpc.Metadata();
    if (options.user) metadata.set(AUTHORIZATION_METADATA, basicCredentials(options.user));
    let response: Res & { status?: Cs3Status | null };
    try {
      response = await callUnary<Res & { status?: Cs3Status | null }>(this.clients[service], rpc, request, {
        deadlineMs: this.options.deadlineMs,
        metadata,
      });
    } catch (error) {
      throw ocmErrorFromTransport(error, this.options.address);
    }
    const status = response.status ?? { code: 'CODE_INTERNAL', message: 'the back answered without a status' };
    if (status.code !== 'CODE_OK') throw ocmErrorFromStatus(status, options.hints);
    return response;
  }

  close(): void {
    for (const client of Object.values(this.clients)) client.close();
  }
}
