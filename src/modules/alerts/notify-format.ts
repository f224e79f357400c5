// What an alert channel is sent for an `alert.fired` / `alert.resolved` event, built from the
// event's webhook body (the outbox keeps one message per event; each channel's delivery formats it
// when sent): a Slack incoming-webhook message (`text` as the fallback, `blocks` for the layout),
// a PagerDuty Events API v2 event (trigger, then resolve with the same dedup_key), or an email
// (plain text and HTML). Pure: no I/O.
import { createHash } from 'node:crypto';

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

/** The `data` of an alert event's webhook body (events/catalogue.ts `alert`), as the formats read it. */
export interface AlertData {
  /** Global ids. */
  id: string;
  ruleId: string;
  ruleName: string;
  metric: string;
  severity?: 'CRITICAL' | 'ERROR' | 'WARNING' | 'INFO';
  fromState: string;
  state: string;
  value: number | null;
  threshold: number;
  windowSeconds: number;
  samples?: number;
  reason?: string | null;
  /** ISO 8601. */
  at: string;
  /** The group of a grouped rule (its dimension values), when the rule has one. */
  group?: unknown;
}

export interface AlertContext {
  /** `alert.fired` or `alert.resolved`. */
  type: string;
  data: AlertData;
  projectName: string;
  /** EVALGRAPH_PUBLIC_URL: links point there; none without it. */
  publicUrl: string | null;
}

const resolved = (c: AlertContext) => c.type === 'alert.resolved';

/** A number as people read it: at most 6 significant digits; null is no data. */
export function shown(value: number | null): string {
  if (value === null) return 'no data';
  return String(Number(value.toPrecision(6)));
}

/** The group as text ("model=gpt-4o, userId=u1"), or null without one. */
export function groupText(group: unknown): string | null {
  if (group === null || group === undefined) return null;
  if (typeof group !== 'object') return String(group);
  const entries = Object.entries(group as Record<string, unknown>);
  if (!entries.length) return null;
  return entries
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
}

const windowText = (seconds: number) =>
  seconds % 3600 === 0
    ? `${seconds / 3600} h`
    : seconds % 60 === 0
      ? `${seconds / 60} min`
      : `${seconds} s`;

/** GraphiQL on the server with the rule's query filled in, when a public URL is configured. */
export function ruleLink(c: AlertContext): string | null {
  if (!c.publicUrl) return null;
  const query = `{ alertRule(id: "${c.data.ruleId}") { name state severity lastValue events(first: 10) { edges { node { fromState state value threshold at } } } } }`;
  return `${c.publicUrl.replace(/\/+$/, '')}/graphql?query=${encodeURIComponent(query)}`;
}

/** One line: "FIRING: latency p95 — LATENCY_MS 1200 (threshold 1000) in project". */
export function summary(c: AlertContext): string {
  const { data } = c;
  const group = groupText(data.group);
  return `${data.state}: ${data.ruleName}${group ? ` [${group}]` : ''}: ${data.metric} ${shown(data.value)} (threshold ${shown(data.threshold)}) in ${c.projectName}`;
}

/** Slack's mrkdwn needs these three escaped. */
const mrkdwn = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const cut = (text: string, max: number) =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

const EMOJI: Record<string, string> = {
  FIRING: ':red_circle:',
  WARNING: ':large_orange_circle:',
  RESOLVED: ':large_green_circle:',
  OK: ':large_green_circle:',
};

/** A Slack incoming-webhook message. */
export function slackMessage(c: AlertContext) {
  const { data } = c;
  const field = (name: string, value: string) => ({
    type: 'mrkdwn',
    text: cut(`*${name}*\n${mrkdwn(value)}`, 2_000),
  });
  const group = groupText(data.group);
  const link = ruleLink(c);
  const blocks: object[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: cut(`${data.state}: ${data.ruleName}`, 150), emoji: true },
    },
    {
      type: 'section',
      fields: [
        field('Rule', data.ruleName),
        field('Metric', data.metric),
        field('Value', `${shown(data.value)} (threshold ${shown(data.threshold)})`),
        field('Project', c.projectName),
        field('Window', windowText(data.windowSeconds)),
        field('State', `${data.fromState} → ${data.state}`),
        ...(data.severity ? [field('Severity', data.severity)] : []),
        ...(group ? [field('Group', group)] : []),
      ],
    },
  ];
  if (data.reason)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: mrkdwn(data.reason) } });
  if (link)
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `<${link}|Open the rule in Evalgraph>` },
    });
  return { text: `${EMOJI[data.state] ?? ''} ${summary(c)}`.trim(), blocks };
}

const PD_SEVERITY = { CRITICAL: 'critical', ERROR: 'error', WARNING: 'warning', INFO: 'info' };
const RANK = ['info', 'warning', 'error', 'critical'];

/** The rule's severity; a WARNING state is sent as a warning at most (its threshold is the early one). */
export function pagerDutySeverity(data: AlertData): string {
  const severity = PD_SEVERITY[data.severity ?? 'ERROR'];
  if (data.state === 'WARNING' && RANK.indexOf(severity) > RANK.indexOf('warning'))
    return 'warning';
  return severity;
}

/** The same for a firing and its resolution: the rule, and its group when it has one (PagerDuty allows 255 characters). */
export function dedupKey(data: AlertData): string {
  const group = groupText(data.group);
  if (!group) return `evalgraph:${data.ruleId}`;
  const canonical = JSON.stringify(
    typeof data.group === 'object'
      ? Object.fromEntries(
          Object.entries(data.group as object).sort(([a], [b]) => a.localeCompare(b)),
        )
      : data.group,
  );
  return `evalgraph:${data.ruleId}:${createHash('sha256').update(canonical).digest('hex').slice(0, 32)}`;
}

/** A PagerDuty Events API v2 event: trigger on a firing (or warning), resolve on its resolution. */
export function pagerDutyEvent(c: AlertContext, routingKey: string) {
  const { data } = c;
  if (resolved(c))
    return { routing_key: routingKey, event_action: 'resolve', dedup_key: dedupKey(data) };
  const link = ruleLink(c);
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: dedupKey(data),
    payload: {
      summary: cut(summary(c), 1_024),
      source: `evalgraph/${c.projectName}`,
      severity: pagerDutySeverity(data),
      timestamp: data.at,
      component: data.metric,
      custom_details: {
        rule: data.ruleName,
        metric: data.metric,
        value: data.value,
        threshold: data.threshold,
        window_seconds: data.windowSeconds,
        samples: data.samples ?? null,
        state: data.state,
        from_state: data.fromState,
        project: c.projectName,
        ...(data.group !== undefined && data.group !== null ? { group: data.group } : {}),
      },
    },
    client: 'Evalgraph',
    ...(link ? { client_url: link, links: [{ href: link, text: 'The rule in Evalgraph' }] } : {}),
  };
}

const html = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** An email: subject, plain text and HTML. */
export function emailMessage(c: AlertContext) {
  const { data } = c;
  const group = groupText(data.group);
  const rows: [string, string][] = [
    ['Rule', data.ruleName],
    ['Metric', data.metric],
    ['Value', `${shown(data.value)} (threshold ${shown(data.threshold)})`],
    ['Project', c.projectName],
    ['Window', windowText(data.windowSeconds)],
    ['State', `${data.fromState} → ${data.state}`],
    ...(data.severity ? [['Severity', data.severity] as [string, string]] : []),
    ...(group ? [['Group', group] as [string, string]] : []),
    ...(data.reason ? [['Reason', data.reason] as [string, string]] : []),
    ['At', data.at],
  ];
  const link = ruleLink(c);
  const text = [
    summary(c),
    '',
    ...rows.map(([k, v]) => `${k}: ${v}`),
    ...(link ? ['', `Open the rule: ${link}`] : []),
    '',
  ].join('\n');
  const body = [
    `<p><strong>${html(summary(c))}</strong></p>`,
    `<table>${rows.map(([k, v]) => `<tr><th align="left">${html(k)}</th><td>${html(v)}</td></tr>`).join('')}</table>`,
    ...(link ? [`<p><a href="${html(link)}">Open the rule in Evalgraph</a></p>`] : []),
  ].join('\n');
  return {
    subject: cut(`[Evalgraph] ${data.state}: ${data.ruleName} (${c.projectName})`, 250),
    text,
    html: `<!doctype html><html><body>${body}</body></html>`,
  };
}
