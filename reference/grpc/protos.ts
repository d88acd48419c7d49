/**
 * The CS3 protocol definitions that reva's OCM services speak, pinned to
 * cs3apis commit a5f193a2 (our own .proto files under the top-level proto/, same package,
 * message, field and enum names and numbers; see decisions/0004-grpc-protos.md).
 *
 * Everything comes from one protobufjs Root, parsed once when this module is
 * first imported: the grpc-js service constructors and the raw message codecs
 * share it, so what a test encodes by hand and what a gRPC peer receives
 * cannot drift apart.
 *
 * Object shape (the same for gRPC handlers, clients and the raw codecs):
 * field names stay snake_case exactly as in the .proto files (and as reva's
 * JSON stores write them), enums are their names ("CODE_OK"), 64-bit integers
 * are decimal strings, unset fields carry their defaults (message fields are
 * null), and a set oneof names its member (`grantee.id === 'user_id'`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import type { Enum, IConversionOptions, Root, Type } from 'protobufjs';

/** The cs3apis commit these files are wire-compatible with. */
export const CS3APIS_COMMIT = 'a5f193a2';

/** Include root: imports inside the .proto files are relative to it. */
export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

/** Every file we ship, relative to PROTO_DIR (imports pull in nothing else but FieldMask). */
export const PROTO_FILES = [
  'cs3/types/v1beta1/types.proto',
  'cs3/rpc/v1beta1/code.proto',
  'cs3/rpc/v1beta1/status.proto',
  'cs3/identity/user/v1beta1/resources.proto',
  'cs3/identity/group/v1beta1/resources.proto',
  'cs3/storage/provider/v1beta1/resources.proto',
  'cs3/app/provider/v1beta1/resources.proto',
  'cs3/ocm/provider/v1beta1/resources.proto',
  'cs3/ocm/provider/v1beta1/provider_api.proto',
  'cs3/ocm/invite/v1beta1/resources.proto',
  'cs3/ocm/invite/v1beta1/invite_api.proto',
  'cs3/sharing/ocm/v1beta1/resources.proto',
  'cs3/sharing/ocm/v1beta1/ocm_api.proto',
  'cs3/ocm/core/v1beta1/ocm_core_api.proto',
  'cs3/auth/provider/v1beta1/resources.proto',
  'cs3/auth/provider/v1beta1/provider_api.proto',
] as const;

/** Options for proto-loader; `keepCase` acts at parse time, the rest on every (de)serialisation. */
export const LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
} satisfies protoLoader.Options;

/** The same conversion for the raw codecs below. */
const CONVERSION: IConversionOptions = {
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Fully qualified names of the five services reva's OCM deployment uses. */
export const CS3_SERVICES = {
  providerApi: 'cs3.ocm.provider.v1beta1.ProviderAPI',
  inviteApi: 'cs3.ocm.invite.v1beta1.InviteAPI',
  ocmApi: 'cs3.sharing.ocm.v1beta1.OcmAPI',
  ocmCoreApi: 'cs3.ocm.core.v1beta1.OcmCoreAPI',
  authProviderApi: 'cs3.auth.provider.v1beta1.ProviderAPI',
} as const;

function loadRoot(): Root {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    // google/protobuf/*.proto (FieldMask) is bundled with protobufjs and is
    // picked up by name before this resolver is asked; keep it untouched.
    if (target.startsWith('google/protobuf/')) return target;
    const underRoot = join(PROTO_DIR, target);
    return existsSync(underRoot) ? underRoot : protobuf.util.path.resolve(origin, target);
  };
  root.loadSync(
    PROTO_FILES.map((file) => join(PROTO_DIR, file)),
    { keepCase: true },
  );
  root.resolveAll();
  return root;
}

/** The parsed definitions (protobufjs reflection). */
export const cs3Root: Root = loadRoot();

/** proto-loader's view of the same Root, for grpc-js. */
export const cs3PackageDefinition: protoLoader.PackageDefinition = protoLoader.fromJSON(cs3Root.toJSON(), LOADER_OPTIONS);

/** Everything, as grpc-js sees it: `cs3Grpc.cs3.ocm.core.v1beta1.OcmCoreAPI` etc. */
export const cs3Grpc: grpc.GrpcObject = grpc.loadPackageDefinition(cs3PackageDefinition);

function serviceAt(fullName: string): grpc.ServiceClientConstructor {
  let node: unknown = cs3Grpc;
  for (const part of fullName.split('.')) {
    node = node === undefined ? undefined : (node as Record<string, unknown>)[part];
  }
  if (typeof node !== 'function' || !('service' in node)) {
    throw new Error(`${fullName} is not a service in the CS3 protos`);
  }
  return node as grpc.ServiceClientConstructor;
}

/** cs3.ocm.provider.v1beta1.ProviderAPI (reva `ocmproviderauthorizer`). */
export const providerApi = serviceAt(CS3_SERVICES.providerApi);
/** cs3.ocm.invite.v1beta1.InviteAPI (reva `ocminvitemanager`). */
export const inviteApi = serviceAt(CS3_SERVICES.inviteApi);
/** cs3.sharing.ocm.v1beta1.OcmAPI (reva `ocmshareprovider`). */
export const ocmApi = serviceAt(CS3_SERVICES.ocmApi);
/** cs3.ocm.core.v1beta1.OcmCoreAPI (reva `ocmcore`). */
export const ocmCoreApi = serviceAt(CS3_SERVICES.ocmCoreApi);
/** cs3.auth.provider.v1beta1.ProviderAPI (reva authprovider, manager `ocmshares`). */
export const authProviderApi = serviceAt(CS3_SERVICES.authProviderApi);

/** The rpc names of a service, in .proto order. */
export function rpcNames(service: grpc.ServiceClientConstructor): string[] {
  return Object.keys(service.service);
}

/** A message type by full name, e.g. `cs3.rpc.v1beta1.Status`. Throws when unknown. */
export function protoType(fullName: string): Type {
  return cs3Root.lookupType(fullName);
}

/** An enum by full name, e.g. `cs3.rpc.v1beta1.Code`. Throws when unknown. */
export function protoEnum(fullName: string): Enum {
  return cs3Root.lookupEnum(fullName);
}

/**
 * Protobuf bytes for a plain object in the shape described at the top.
 * Like grpc-js, this goes through `fromObject`: fields not in the type are
 * dropped, and a field that is present is written even when it holds its
 * default value (Go omits those), so pass only the fields you mean to set.
 */
export function encodeMessage(fullName: string, value: Record<string, unknown>): Uint8Array {
  const type = protoType(fullName);
  return type.encode(type.fromObject(value)).finish();
}

/** A plain object (shape described at the top) from protobuf bytes. */
export function decodeMessage<T = Record<string, unknown>>(fullName: string, bytes: Uint8Array): T {
  const type = protoType(fullName);
  return type.toObject(type.decode(bytes), CONVERSION) as T;
}

/**
 * Promise wrapper for one unary call on a client made from the constructors
 * above. Rejects with the grpc-js ServiceError on a transport-level failure;
 * CS3 failures usually arrive as a resolved response with a non-OK status.
 */
export function callUnary<Res = Record<string, any>>(
  client: grpc.Client,
  method: string,
  request: Record<string, unknown>,
  options: { deadlineMs?: number; metadata?: grpc.Metadata } = {},
): Promise<Res> {
  const fn = (client as unknown as Record<string, unknown>)[method];
  if (typeof fn !== 'function') throw new Error(`the client has no rpc called ${method}`);
  const callOptions: grpc.CallOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
  return new Promise<Res>((resolve, reject) => {
    fn.call(client, request, options.metadata ?? new grpc.Metadata(), callOptions, (error: grpc.ServiceError | null, response: Res) =>
      error ? reject(error) : resolve(response),
    );
  });
}
