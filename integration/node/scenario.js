// amqplib scenario program for beatmq's interop suite. It prints JSON lines on
// stdout: {"event":"open",...} once the connection is open, then one
// {"event":"result",...} line. The Go tests in integration/ drive it.
'use strict';

const amqp = require('amqplib');

const CLIENT = 'amqplib';

function parseArgs(argv) {
  const o = { host: '127.0.0.1', count: 1000, seconds: 4, queue: '' };
  for (let i = 2; i + 1 < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
  o.port = Number(o.port);
  o.heartbeat = Number(o.heartbeat);
  o.count = Number(o.count);
  o.seconds = Number(o.seconds);
  o.every = Number(o.every || 0);
  return o;
}

const now = () => Date.now() / 1000;
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const payload = (i) => 'msg-' + String(i).padStart(5, '0');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// amqplib's package.json is not exported: read it next to its main module.
const library = () => {
  const dir = require('path').dirname(require.resolve('amqplib'));
  const { version } = JSON.parse(require('fs').readFileSync(require('path').join(dir, 'package.json'), 'utf8'));
  return 'amqplib ' + version + ' (Node ' + process.version + ')';
};
const errorFields = (e) => ({ error: String((e && e.message) || e), error_type: (e && e.constructor && e.constructor.name) || typeof e });

// Resolves when stdin delivers a line or ends (the driver's close signal).
function stdinStop() {
  return new Promise((resolve) => {
    process.stdin.on('data', () => resolve('stdin'));
    process.stdin.on('end', () => resolve('stdin'));
    process.stdin.resume();
  });
}

async function connect(o, res, confirm) {
  // --tls-ca: amqps, trusting that CA; Node checks the certificate's name
  // (127.0.0.1 is among its addresses).
  const tls = o['tls-ca'] ? { ca: [require('fs').readFileSync(o['tls-ca'])], minVersion: 'TLSv1.2' } : {};
  const conn = await amqp.connect(
    { protocol: o['tls-ca'] ? 'amqps' : 'amqp', hostname: o.host, port: o.port, username: 'guest', password: 'guest', heartbeat: o.heartbeat },
    { clientProperties: { connection_name: o.name }, timeout: 10000, ...tls },
  );
  // The value amqplib negotiated and sent in tune-ok.
  const hb = conn.connection.heartbeat;
  res.heartbeat = hb;
  const died = new Promise((resolve) => {
    conn.on('error', (e) => resolve({ e, t: now() }));
    conn.on('close', (e) => resolve({ e, t: now() }));
  });
  // Open a channel before announcing "open": the driver may cut the connection
  // as soon as it reads that line.
  const ch = confirm ? await conn.createConfirmChannel() : await conn.createChannel();
  emit({ event: 'open', client: CLIENT, heartbeat: hb, library: library(), t: now() });
  return { conn, died, ch };
}

async function roundtrip(o, res) {
  const { conn, ch } = await connect(o, res, true);
  await ch.assertQueue(o.queue, { exclusive: true, durable: false });
  for (let i = 0; i < o.count; i++) {
    ch.sendToQueue(o.queue, Buffer.from(payload(i)));
  }
  res.published = o.count;
  await ch.waitForConfirms();
  res.confirmed = o.count;
  await ch.prefetch(100);
  const bodies = [];
  let done;
  const all = new Promise((r) => { done = r; });
  const { consumerTag } = await ch.consume(o.queue, (msg) => {
    bodies.push(msg.content.toString());
    ch.ack(msg);
    if (bodies.length === o.count) done();
  }, { noAck: false });
  await Promise.race([all, sleep(10000)]);
  await ch.cancel(consumerTag);
  res.received = bodies.length;
  res.payload_errors = bodies.filter((b, i) => b !== payload(i)).length;
  await conn.close();
  res.closed = true;
}

// Rejects with the connection's error if it dies first.
async function unlessDied(died, p) {
  const r = await Promise.race([died, p]);
  if (r && r.t) throw r.e || new Error('connection closed');
}

async function hold(o, res) {
  const { conn, died } = await connect(o, res);
  await unlessDied(died, Promise.race([stdinStop(), sleep(o.seconds * 1000)]));
  res.alive = true;
  await conn.close();
  res.closed = true;
}

async function idle(o, res) {
  const { conn, ch, died } = await connect(o, res);
  await unlessDied(died, sleep(o.seconds * 1000));
  await ch.assertQueue('', { exclusive: true });
  res.alive = true;
  await conn.close();
  res.closed = true;
}

async function dead(o, res) {
  const { conn, died } = await connect(o, res);
  const r = await Promise.race([died, stdinStop(), sleep(o.seconds * 1000)]);
  if (r && r.t) {
    res.t_detect = r.t;
    res.alive = false;
    Object.assign(res, errorFields(r.e));
    return;
  }
  res.alive = true;
  await conn.close();
  res.closed = true;
}

// Keeps the connection open while the fault matrix injects a fault: consumes
// its own exclusive queue (no acks) and publishes a message to it every
// --every seconds (none if 0). When the connection emits 'error' or 'close' it
// reports t_detect and the error at once; when stdin says stop or --seconds
// pass, it waits up to 5 s for what it published and reports the connection
// alive. Counters: published, received, max_delay (seconds).
async function watch(o, res) {
  const { conn, ch, died } = await connect(o, res);
  await ch.assertQueue(o.queue, { exclusive: true, durable: false, autoDelete: true });
  const sent = [];
  let received = 0;
  let maxDelay = 0;
  let allBack = () => {};
  await ch.consume(o.queue, (msg) => {
    if (msg === null) return;
    const i = Number(msg.content.toString());
    if (Number.isInteger(i) && i >= 0 && i < sent.length) maxDelay = Math.max(maxDelay, now() - sent[i]);
    received++;
    if (received >= sent.length) allBack();
  }, { noAck: true });
  const record = () => Object.assign(res, { published: sent.length, received, max_delay: maxDelay });
  let timer = null;
  if (o.every > 0) {
    timer = setInterval(() => {
      try {
        ch.sendToQueue(o.queue, Buffer.from(String(sent.length)));
        sent.push(now());
      } catch (e) {
        // the connection's own 'error' or 'close' reports the loss
      }
    }, o.every * 1000);
  }
  const lost = (r) => {
    if (timer) clearInterval(timer);
    record();
    res.t_detect = r.t;
    res.alive = false;
    Object.assign(res, errorFields(r.e || new Error('connection closed')));
  };
  const r = await Promise.race([died, stdinStop(), sleep(o.seconds * 1000)]);
  if (r && r.t) return lost(r);
  if (timer) clearInterval(timer);
  const back = received >= sent.length ? Promise.resolve() : new Promise((resolve) => { allBack = resolve; });
  const r2 = await Promise.race([died, back, sleep(5000)]);
  if (r2 && r2.t) return lost(r2);
  record();
  res.alive = true;
  await conn.close();
  res.closed = true;
}

async function main() {
  const o = parseArgs(process.argv);
  const res = { event: 'result', client: CLIENT, scenario: o.scenario, closed: false };
  const scenarios = { roundtrip, hold, idle, dead, watch };
  try {
    if (!scenarios[o.scenario]) throw new Error('unknown scenario ' + o.scenario);
    await scenarios[o.scenario](o, res);
  } catch (e) {
    res.t_error = now();
    Object.assign(res, errorFields(e));
  }
  res.t_end = now();
  emit(res);
  process.exit(0);
}

main();
