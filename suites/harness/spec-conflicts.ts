/**
 * Places where the OCM sources disagree, as named options. Each option has
 * exactly two readings, our default and why; each reading says, for every
 * requirement tagged `conflict: <key>` in fixtures/requirements.yaml, what
 * the check expects and whether the level or applicability changes.
 * selectRequirements (requirements.ts) applies the chosen reading inside the
 * option's version range only. Background: decisions/0006.
 */
import type { Level, VersionRange } from './requirements.ts';

/** What one reading of a conflict does to one tagged requirement. */
export interface ConflictEffect {
  /** Short stable name suites branch on. */
  readonly variant: string;
  /** What the check expects under this reading (our words). */
  readonly expects: string;
  /** Replaces the requirement's level. */
  readonly level?: Level;
  /** Replaces the requirement's informational flag. */
  readonly informational?: boolean;
  /** false: the requirement does not apply under this reading. */
  readonly applies?: boolean;
}

export interface ConflictReading {
  /** What this reading holds (our words). */
  readonly holds: string;
  /** Where it comes from. */
  readonly basis: string;
  /** One entry per requirement tagged with the conflict. */
  readonly effects: Readonly<Record<string, ConflictEffect>>;
}

export interface ConflictOption {
  readonly question: string;
  /** Profiles in which the sources disagree; outside them the entry stands as written. */
  readonly versions: VersionRange;
  /** Exactly two readings. */
  readonly readings: Readonly<Record<string, ConflictReading>>;
  readonly default: string;
  readonly why: string;
}

export const CONFLICT_OPTIONS = {
  'webdav-permissions-required': {
    question: 'Must protocol.webdav carry permissions?',
    versions: { since: '1.4' },
    readings: {
      text: {
        holds: 'permissions is optional; a webdav object with uri and sharedSecret is complete.',
        basis: 'draft text, protocol.webdav field list',
        effects: {
          'SHR-13': { variant: 'uri-and-secret', expects: 'Only a missing uri or sharedSecret has to be refused.' },
          'SHR-26': { variant: 'uri-and-secret', expects: 'The sent webdav object needs uri and sharedSecret.' },
        },
      },
      yaml: {
        holds: 'permissions is required next to uri and sharedSecret.',
        basis: 'spec.yaml 1.4/main, webdav required list',
        effects: {
          'SHR-13': { variant: 'uri-secret-and-permissions', expects: 'A webdav object without permissions has to be refused too.' },
          'SHR-26': { variant: 'uri-secret-and-permissions', expects: 'The sent webdav object needs uri, sharedSecret and permissions.' },
        },
      },
    },
    default: 'text',
    why: 'The prose is the normative description; the YAML list is stricter without a changelog entry. We send permissions ourselves (decision 0002) but do not fail a peer over its absence.',
  },
  'notification-resource-type-required': {
    question: 'Must a notification carry resourceType?',
    versions: { since: '1.2' },
    readings: {
      text: {
        holds: 'resourceType is optional; notificationType and providerId are the required fields.',
        basis: 'draft text, notification fields',
        effects: {
          'NTF-1': { variant: 'type-and-provider-id', expects: 'Only a missing notificationType or providerId has to give 400.' },
          'NTF-5': { variant: 'resource-type-if-known', expects: 'resourceType is copied from the share when sent, and may be left out.' },
        },
      },
      yaml: {
        holds: 'resourceType is required.',
        basis: 'spec.yaml, NewNotification required list',
        effects: {
          'NTF-1': { variant: 'type-provider-id-and-resource-type', expects: 'A missing resourceType has to give 400 as well.' },
          'NTF-5': { variant: 'resource-type-always', expects: 'Every acceptance notification carries the share resourceType.' },
        },
      },
    },
    default: 'text',
    why: 'Decision 0002: our server requires it when listening, but a target that accepts a notification without it is a yaml-strict finding, not a MUST failure.',
  },
  'user-removed-notification': {
    question: 'Is USER_REMOVED a notification type?',
    versions: { since: 'main' },
    readings: {
      listed: {
        holds: 'USER_REMOVED is a known type (a contact was removed, along with its shares).',
        basis: 'spec.yaml notificationType list',
        effects: {
          'NTF-3': {
            variant: 'user-removed-known',
            expects: 'USER_REMOVED is never the unknown-type probe; a target that does not handle it answers 501, not 400.',
          },
        },
      },
      unregistered: {
        holds: 'USER_REMOVED is not in the IANA notification type registry, so it is an unknown value.',
        basis: 'draft main, IANA considerations',
        effects: {
          'NTF-3': { variant: 'user-removed-unknown', expects: 'USER_REMOVED may be refused as unknown: 400 and 501 both pass.' },
        },
      },
    },
    default: 'listed',
    why: 'No changelog entry removes USER_REMOVED; the registry looks like an omission. Our reference knows the type; the listed reading only narrows which refusal code is right.',
  },
  'federation-share-type': {
    question: 'Is shareType "federation" part of core OCM?',
    versions: { since: 'main' },
    readings: {
      yaml: {
        holds: 'federation is a core share type next to user and group.',
        basis: 'spec.yaml shareType enum',
        effects: {
          'SHR-6': { variant: 'federation-core', expects: 'A target without federation support answers it 501 (unsupported), not 400.' },
        },
      },
      'ocm-mls': {
        holds: 'federation belongs to the OCM-MLS companion draft and its registry entry.',
        basis: 'draft main, share types and IANA considerations',
        effects: {
          'SHR-6': {
            variant: 'federation-extension',
            expects: 'A target without OCM-MLS may treat federation as unknown: 400 or 501 pass.',
          },
        },
      },
    },
    default: 'ocm-mls',
    why: 'The main text and its registry are the newest normative statement; the YAML enum lags, as it does elsewhere.',
  },
  'recipient-display-name-required': {
    question: 'Must the 201 answer to a share carry recipientDisplayName?',
    versions: { since: '1.4' },
    readings: {
      text: {
        holds: 'The 201 body is JSON and recipientDisplayName is required.',
        basis: 'draft text 1.4+, share creation response',
        effects: {
          'SHR-2': { variant: 'display-name-required', expects: 'The 201 body has a string recipientDisplayName.' },
        },
      },
      yaml: {
        holds: 'recipientDisplayName is an optional property of the 201 body.',
        basis: 'spec.yaml 201 schema (not in a required list)',
        effects: {
          'SHR-2': { variant: 'display-name-optional', expects: 'Nothing to require: the field may be absent.', applies: false },
        },
      },
    },
    default: 'text',
    why: 'Decision 0002 already follows the text here: it is newer, explicit and our reference always sends the field.',
  },
  'invite-accept-dialog-form': {
    question: 'Is inviteAcceptDialog a URL path or an absolute URI?',
    versions: { since: '1.2', sinceRelease: '1.2.1' },
    readings: {
      path: {
        holds: 'inviteAcceptDialog is a URL path on the server.',
        basis: 'draft text, discovery fields',
        effects: {
          'DISC-19': { variant: 'path', expects: 'A value starting with / passes; an absolute URL is reported, not failed.' },
        },
      },
      uri: {
        holds: 'inviteAcceptDialog is an absolute URI.',
        basis: 'discovery JSON Schema (format uri)',
        effects: {
          'DISC-19': { variant: 'absolute-uri', expects: 'Only an absolute URI with a scheme passes; a bare path fails.' },
        },
      },
    },
    default: 'path',
    why: 'The prose is normative and the JSON Schema lags the spec (it still has publicKey and no jwksUri). Both forms are deployed (reva: URLs, Nextcloud: paths), so the path reading only reports URLs.',
  },
  'receive-key-advertising': {
    question: 'Must a server advertise the -receive protocol keys it supports?',
    versions: { since: '1.4' },
    readings: {
      text: {
        holds: 'Servers that can receive a protocol advertise its -receive key; webdav-receive is a SHOULD.',
        basis: 'draft text, protocols object',
        effects: {
          'DISC-22': { variant: 'advisory', expects: 'Missing -receive twins are reported only.' },
        },
      },
      yaml: {
        holds: 'webapp, webapp-receive and ssh-receive MUST be advertised when supported (webdav-receive SHOULD).',
        basis: 'spec.yaml, protocols descriptions',
        effects: {
          'DISC-22': {
            variant: 'must-advertise',
            expects: 'A supported webapp or ssh role without its key fails.',
            level: 'MUST',
            informational: false,
          },
        },
      },
    },
    default: 'text',
    why: 'Support that is not advertised cannot be seen from outside without a driver, and webdav-receive is a SHOULD in both sources; we report rather than fail.',
  },
  'signature-date-covered': {
    question: 'Must an OCM signature cover the date header in 1.4?',
    versions: { since: '1.4', until: '1.4' },
    readings: {
      'draft-05': {
        holds: 'date is one of the mandatory covered components.',
        basis: 'draft-05 (1.4.0), Appendix B',
        effects: {
          'SIG-1': { variant: 'date-required', expects: 'The covered components include date.' },
          'SIG-6': { variant: 'date-mandatory', expects: 'A signature that does not cover date is refused.' },
        },
      },
      'draft-07': {
        holds: 'date is not a mandatory component (-06: SHOULD when present, -07: not covered).',
        basis: 'draft-06 and main (-07 changes)',
        effects: {
          'SIG-1': { variant: 'date-optional', expects: 'The four components without date suffice.' },
          'SIG-6': { variant: 'date-not-mandatory', expects: 'A signature without date is not refused for that reason.' },
        },
      },
    },
    default: 'draft-07',
    why: 'The 1.4.0 rule lived only in an appendix and was reversed within weeks; current signers (Nextcloud after the -07 update, our reference per decision 0005) do not sign date. Pick draft-05 to test a strict 1.4.0 peer.',
  },
  'signature-ocm-identifier': {
    question: 'How is the OCM signature identified in 1.4?',
    versions: { since: '1.4', until: '1.4' },
    readings: {
      label: {
        holds: 'By its label ocm in Signature-Input.',
        basis: 'draft-05 (1.4.0), Appendix B',
        effects: {
          'SIG-3': { variant: 'by-label', expects: 'Exactly one signature labelled ocm.' },
          'SIG-8': { variant: 'by-label', expects: 'Two ocm-labelled signatures (split over header lines) are refused.' },
          'SIG-15': { variant: 'by-label', expects: 'Signatures with other labels are ignored.' },
        },
      },
      tag: {
        holds: 'By the signature parameter tag="ocm"; labels carry no meaning.',
        basis: 'draft-06 and main',
        effects: {
          'SIG-3': { variant: 'by-tag', expects: 'Exactly one signature with tag="ocm".' },
          'SIG-8': { variant: 'by-tag', expects: 'Two signatures with tag="ocm" are refused.' },
          'SIG-15': { variant: 'by-tag', expects: 'Signatures without tag="ocm" are ignored.' },
        },
      },
    },
    default: 'tag',
    why: 'Verifiers written to -06/-07 select by tag. Our reference labels its signature ocm and tags it, so it passes under both readings.',
  },
  'unsigned-requests': {
    question: 'In 1.4, must every verifier refuse unsigned requests?',
    versions: { since: '1.4', until: '1.4' },
    readings: {
      'reject-all': {
        holds: 'A verifier refuses any request without an OCM signature.',
        basis: 'draft-05/-06 verifier text',
        effects: {
          'SIG-13': { variant: 'every-verifier', expects: 'Any target advertising http-sig refuses unsigned requests, criterion or not.' },
        },
      },
      'criterion-only': {
        holds: 'Only a server advertising must-use-http-sig has to refuse unsigned requests; others may accept them.',
        basis: 'draft main (-07 changes)',
        effects: {
          'SIG-13': { variant: 'criterion-only', expects: 'Only targets advertising must-use-http-sig must refuse unsigned requests.' },
        },
      },
    },
    default: 'criterion-only',
    why: 'The -07 text matches the deployed mix (reva, oCIS and OpenCloud do not sign); refusing all unsigned traffic under 1.4 would make every such peer unusable.',
  },
  'api-version-prefix': {
    question: 'Must apiVersion start with "1."?',
    versions: { since: '1.2', until: '1.2' },
    readings: {
      'must-start-with-1': {
        holds: 'apiVersion starts with "1." and clients ignore the rest.',
        basis: '1.2.0-era draft text (capabilities/discovery rework)',
        effects: {
          'DISC-4': { variant: 'prefix-checked', expects: 'apiVersion is a string starting with "1.".' },
        },
      },
      informational: {
        holds: 'apiVersion is informational; capabilities decide behaviour.',
        basis: 'later drafts (sentence dropped) and the OCM maintainers',
        effects: {
          'DISC-4': { variant: 'string-only', expects: 'apiVersion is a string.' },
        },
      },
    },
    default: 'informational',
    why: 'The sentence was dropped from later drafts, and every deployed value starts with "1." anyway.',
  },
  'phantom-required-fields': {
    question: 'Do the 1.0/1.1 required lists that name undefined properties count?',
    versions: { since: '1.0', until: '1.1' },
    readings: {
      literal: {
        holds: 'The required lists hold as written, including permission (shares) and message (notifications).',
        basis: 'spec.yaml 1.0.0 and 1.1.0',
        effects: {
          'SHR-4': { variant: 'include-permission', expects: 'A share without a top-level permission field counts as incomplete.' },
        },
      },
      ignore: {
        holds: 'Names without a property definition are a schema bug and are ignored.',
        basis: 'OCM-API PR #108, which removed them',
        effects: {
          'SHR-4': { variant: 'defined-fields-only', expects: 'Only defined required fields are probed.' },
        },
      },
    },
    default: 'ignore',
    why: 'No sender ever sent a top-level permission; the 1.2 work deleted it as a mistake.',
  },
  'webdav-prefix-entry': {
    question: 'Which resourceTypes entry gives the WebDAV prefix for a relative uri?',
    versions: { since: '1.2' },
    readings: {
      'first-entry': {
        holds: 'The prefix is resourceTypes[0].protocols.webdav, whatever the shared resource type.',
        basis: 'draft text, Resource Access step 1',
        effects: {
          'ACC-1': { variant: 'first-entry', expects: 'The share is reachable under the webdav prefix of the first entry.' },
          'ACC-2': { variant: 'first-entry', expects: 'Children are reachable under the webdav prefix of the first entry.' },
        },
      },
      'matching-entry': {
        holds: 'The prefix comes from the entry whose name matches the shared resource type.',
        basis: 'common reading of the discovery fields',
        effects: {
          'ACC-1': { variant: 'matching-entry', expects: 'The share is reachable under the webdav prefix of the matching entry.' },
          'ACC-2': { variant: 'matching-entry', expects: 'Children are reachable under the webdav prefix of the matching entry.' },
        },
      },
    },
    default: 'first-entry',
    why: 'A receiver following the text uses the first entry, so that is where a sender must serve; servers with one prefix for every type are unaffected.',
  },
} as const satisfies Record<string, ConflictOption>;
