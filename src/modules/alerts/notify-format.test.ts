import {
  dedupKey,
  emailMessage,
  groupText,
  pagerDutyEvent,
  pagerDutySeverity,
  shown,
  slackMessage,
  type AlertContext,
  type AlertData,
} from './notify-format';

const data: AlertData = {
  id: 'QWxlcnRFdmVudDox',
  ruleId: 'QWxlcnRSdWxlOjE=',
  ruleName: 'p95 <latency> & co',
  metric: 'LATENCY_MS',
  severity: 'CRITICAL',
  fromState: 'OK',
  state: 'FIRING',
  value: 1234.56789,
  threshold: 1000,
  windowSeconds: 300,
  samples: 12,
  at: '2026-11-20T12:00:00.000Z',
};
const context = (over: Partial<AlertData> = {}, type = 'alert.fired'): AlertContext => ({
  type,
  data: { ...data, ...over },
  projectName: 'shop',
  publicUrl: null,
});

it('shows numbers with six significant digits and null as no data', () => {
  expect(shown(1234.56789)).toBe('1234.57');
  expect(shown(0.000123456789)).toBe('0.000123457');
  expect(shown(null)).toBe('no data');
});

it('keeps the dedup key of a rule across firing and resolution, and per group whatever its key order', () => {
  expect(dedupKey(data)).toBe('evalgraph:QWxlcnRSdWxlOjE=');
  const a = dedupKey({ ...data, group: { model: 'gpt-4o', userId: 'u1' } });
  const b = dedupKey({ ...data, state: 'RESOLVED', group: { userId: 'u1', model: 'gpt-4o' } });
  expect(a).toBe(b);
  expect(a).not.toBe(dedupKey({ ...data, group: { model: 'gpt-4o', userId: 'u2' } }));
  expect(a.length).toBeLessThanOrEqual(255);
  expect(groupText({ model: 'gpt-4o', userId: 'u1' })).toBe('model=gpt-4o, userId=u1');
  expect(groupText({})).toBeNull();
});

it('maps severities, a WARNING state at most a warning', () => {
  expect(pagerDutySeverity(data)).toBe('critical');
  expect(pagerDutySeverity({ ...data, state: 'WARNING' })).toBe('warning');
  expect(pagerDutySeverity({ ...data, severity: 'INFO', state: 'WARNING' })).toBe('info');
  expect(pagerDutySeverity({ ...data, severity: undefined })).toBe('error');
  const resolve = pagerDutyEvent(context({ state: 'RESOLVED' }, 'alert.resolved'), 'key');
  expect(resolve).toEqual({
    routing_key: 'key',
    event_action: 'resolve',
    dedup_key: dedupKey(data),
  });
});

it('escapes Slack mrkdwn and HTML, and shows the group', () => {
  const slack = slackMessage(context({ group: { model: 'a<b' } }));
  const fields = (slack.blocks[1] as { fields: { text: string }[] }).fields.map((f) => f.text);
  expect(fields[0]).toBe('*Rule*\np95 &lt;latency&gt; &amp; co');
  expect(fields).toContain('*Group*\nmodel=a&lt;b');
  // No public URL: no link block.
  expect(slack.blocks).toHaveLength(2);
  const mail = emailMessage(context());
  expect(mail.html).toContain('<td>p95 &lt;latency&gt; &amp; co</td>');
  expect(mail.text).toContain('Window: 5 min');
  expect(mail.text).not.toContain('Open the rule');
});
