// One delivery attempt to an alert channel: the outbox message (an alert event's webhook body)
// formatted for the channel's type (alerts/notify-format.ts) and sent: Slack and PagerDuty as
// JSON through the same guarded POST as webhooks (sender-thread.ts: address guard, timeout,
// snippet), email through nodemailer to the configured SMTP server (EVALGRAPH_SMTP_URL: an
// operator's choice, not a client's, so no address guard). The outcome is recorded like a
// webhook's.
import nodemailer from 'nodemailer';
import type { Deps } from '../../deps';
import {
  emailMessage,
  pagerDutyEvent,
  slackMessage,
  type AlertContext,
  type AlertData,
} from '../alerts/notify-format';
import type { ClaimedDelivery } from './delivery-sql';
import type { AttemptResult } from './send';
import type { Post } from './sender-thread';

/** What an attempt came to, where the HTTP status alone does not say (email). */
export type ChannelResult = AttemptResult & { delivered?: boolean };

export function createChannelSender(deps: Pick<Deps, 'config'>, post: Post) {
  const { timeoutMs } = deps.config.webhooks;
  const smtp = deps.config.smtp;
  // One transport per process (it opens a connection per message; nothing to close).
  const mail = smtp
    ? nodemailer.createTransport({
        url: smtp.url,
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs,
      })
    : null;

  const failed = (error: string, started: number): ChannelResult => ({
    statusCode: null,
    latencyMs: Math.round(performance.now() - started),
    error,
    snippet: null,
    retryAfterMs: null,
  });

  async function sendMail(
    to: string[],
    message: ReturnType<typeof emailMessage>,
  ): Promise<ChannelResult> {
    const started = performance.now();
    if (!mail || !smtp) return failed('EVALGRAPH_SMTP_URL is not set on this worker', started);
    try {
      const info = await mail.sendMail({ from: smtp.from, to, ...message });
      return {
        statusCode: null,
        latencyMs: Math.round(performance.now() - started),
        error: null,
        snippet: String(info.response ?? '').slice(0, 1024) || null,
        retryAfterMs: null,
        delivered: true,
      };
    } catch (error) {
      return failed(`smtp: ${(error as Error).message}`, started);
    }
  }

  return async function sendToChannel(
    delivery: ClaimedDelivery,
    signal: AbortSignal,
  ): Promise<ChannelResult> {
    const started = performance.now();
    if (!delivery.event_type.startsWith('alert.'))
      return failed(`${delivery.event_type} is not an alert event`, started);
    const body = JSON.parse(delivery.payload) as { data: AlertData };
    const context: AlertContext = {
      type: delivery.event_type,
      data: body.data,
      projectName: delivery.project_name,
      publicUrl: deps.config.http.publicUrl,
    };
    const postJson = (json: object) =>
      post(delivery.url ?? '', {}, JSON.stringify(json), { timeoutMs, signal });
    switch (delivery.channel_type) {
      case 'SLACK':
        return postJson(slackMessage(context));
      case 'PAGERDUTY':
        return postJson(pagerDutyEvent(context, delivery.routing_key ?? ''));
      case 'EMAIL':
        return sendMail(delivery.addresses ?? [], emailMessage(context));
      default:
        return failed(`unknown channel type ${delivery.channel_type}`, started);
    }
  };
}
