import { Webhook } from 'standardwebhooks';
import { activeSecrets, generateSecret, rotate, sign, signatureHeader } from './signature';

describe('Standard Webhooks signatures', () => {
  it('are accepted by the official standardwebhooks verifier', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const body = '{"type":"webhook.test","data":{"n":1}}';
    const ts = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(ts),
      'webhook-signature': sign(secret, 'msg_1', ts, body),
    };
    expect(new Webhook(secret).verify(body, headers)).toEqual({
      type: 'webhook.test',
      data: { n: 1 },
    });
    // A body changed by one byte (re-serialised, say) no longer verifies.
    expect(() => new Webhook(secret).verify(body.replace('1', '2'), headers)).toThrow();
  });

  it('matches the HMAC of "id.timestamp.body" under the base64-decoded secret', () => {
    // The example of the Standard Webhooks specification (standardwebhooks.com, "Verifying
    // signatures"), also reproduced with: printf 'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}' |
    //   openssl dgst -sha256 -hmac "$(printf 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' | base64 -d)" -binary | base64
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    expect(sign(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('rotation: the old secret keeps signing beside the new one until it expires', () => {
    const t0 = new Date();
    const first = { secret: generateSecret(), createdAt: t0.toISOString(), expiresAt: null };
    const { secrets, secret } = rotate([first], t0, 24 * 3600_000);
    expect(secrets.map((s) => s.secret)).toEqual([secret, first.secret]);
    const body = '{}';
    const ts = Math.floor(t0.getTime() / 1000);
    const header = signatureHeader(secrets, 'msg_2', ts, body, t0);
    expect(header.split(' ')).toHaveLength(2);
    // Receivers holding either secret accept the message.
    for (const s of [secret, first.secret])
      expect(
        new Webhook(s).verify(body, {
          'webhook-id': 'msg_2',
          'webhook-timestamp': String(ts),
          'webhook-signature': header,
        }),
      ).toEqual({});
    const later = new Date(t0.getTime() + 25 * 3600_000);
    expect(activeSecrets(secrets, later).map((s) => s.secret)).toEqual([secret]);
    expect(signatureHeader(secrets, 'msg_2', ts, body, later).split(' ')).toHaveLength(1);
  });
});
