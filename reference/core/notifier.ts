/**
 * Sends OCM notifications to the other party of a share. Best effort: the
 * local change they report has already happened, so a peer that is down only
 * misses the news; the outcome is returned for callers that want to say so.
 */
import type { OcmClient } from '../outbound/ocm-client.ts';
import { faults } from '../base/faults.ts';

export interface OutgoingNotification {
  notificationType: string;
  resourceType: string;
  providerId: string;
  notification: Record<string, unknown>;
}

export class Notifier {
  constructor(private readonly client: OcmClient) {}

  async send(domain: string, notification: OutgoingNotification): Promise<boolean> {
    try {
      const peer = await this.client.discover(domain);
      const answer = await this.client.postJson(peer, '/notifications', 'createNotification', notification, {
        lenientSuccess: true,
        ...(faults.has('ntf-unsigned-notifications') ? { sign: false } : {}),
      });
      return answer.status >= 200 && answer.status < 300;
    } catch {
      return false;
    }
  }
}
