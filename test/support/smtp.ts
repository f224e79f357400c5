// An SMTP server on loopback for tests (the `smtp-server` package): records every message
// accepted (envelope, headers, and the text and HTML parts decoded) and answers as the test
// scripts it (accept by default; a refusal is a temporary 451, which the sender retries).
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Mail {
  from: string;
  to: string[];
  headers: Record<string, string>;
  subject: string;
  text: string;
  html: string;
  raw: string;
}

export interface SmtpReceiver {
  /** smtp://127.0.0.1:port */
  url: string;
  /** Messages accepted. */
  received: Mail[];
  /** Messages offered (refused ones included). */
  offered: number;
  /** Whether to refuse the message with this index among those offered. */
  refuse: (index: number) => boolean;
  close(): Promise<void>;
}

/** Quoted-printable to text (soft line breaks, =XX bytes, UTF-8). */
function unquote(body: string): string {
  const bytes: number[] = [];
  const text = body.replace(/=\r?\n/g, '');
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '=' && /^[0-9A-F]{2}$/i.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i], 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Headers of a part (folded lines joined), lower-cased names. */
function headersOf(head: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function decodePart(part: string): { type: string; body: string } {
  const split = part.search(/\r?\n\r?\n/);
  const headers = headersOf(part.slice(0, split));
  let body = part.slice(split).replace(/^\r?\n\r?\n/, '');
  const encoding = headers['content-transfer-encoding']?.toLowerCase();
  if (encoding === 'quoted-printable') body = unquote(body);
  else if (encoding === 'base64') body = Buffer.from(body, 'base64').toString('utf8');
  // SMTP carries CRLF line ends; the text as written has LF.
  return {
    type: (headers['content-type'] ?? '').split(';')[0].trim(),
    body: body.replace(/\r\n/g, '\n'),
  };
}

/** The message's headers and its text/plain and text/html parts (one level of multipart). */
function parse(raw: string): Omit<Mail, 'from' | 'to' | 'raw'> {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = headersOf(raw.slice(0, split));
  const boundary = /boundary="?([^";]+)"?/.exec(headers['content-type'] ?? '')?.[1];
  const parts = boundary
    ? raw
        .split(`--${boundary}`)
        .slice(1, -1)
        .map((p) => decodePart(p.replace(/^\r?\n/, '')))
    : [decodePart(raw)];
  const of = (type: string) => parts.find((p) => p.type === type)?.body.trimEnd() ?? '';
  return { headers, subject: headers.subject ?? '', text: of('text/plain'), html: of('text/html') };
}

export async function startSmtp(): Promise<SmtpReceiver> {
  const receiver: SmtpReceiver = {
    url: '',
    received: [],
    offered: 0,
    refuse: () => false,
    close: async () => {},
  };
  const server = new SMTPServer({
    authOptional: true,
    // Plain SMTP on loopback: no certificate to offer.
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const index = receiver.offered++;
        if (receiver.refuse(index)) {
          const error = Object.assign(new Error('try again later'), { responseCode: 451 });
          return callback(error);
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        receiver.received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          ...parse(raw),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  receiver.close = () => new Promise((resolve) => server.close(() => resolve()));
  return receiver;
}
