// A real Dubbo2 consumer (npm apache-dubbo-js, DirectlyDubbo) calling com.example.UserService at
// ADDR; prints one JSON object with the outcome of every call, so that runs against the provider
// directly and through a proxy can be compared.
//   node consumer.js 127.0.0.1:PORT [dubboVersion]
'use strict';
const net = require('net');
const java = require('js-to-java');
const { DirectlyDubbo } = require('apache-dubbo-js');
const HeartBeat = require('apache-dubbo-js/es7/heartbeat').default;

const [addr, dubboVersion = '2.0.2'] = process.argv.slice(2);

const BIG = '\u00e9'.repeat(40000);
const EDGE = 'q'.repeat(32767) + '\ud83d\ude00' + 'tail';
const user = java.combine('com.example.User', {
  name: java.String('alice'),
  age: java.int(30),
  id: java.long('1234567890123'),
});

function view(x) {
  if (x === null || x === undefined) return null;
  if (x instanceof Error) return { error: x.name, message: x.message };
  if (typeof x === 'string' && x.length > 200) return { len: x.length, same_as_big: x === BIG, same_as_edge: x === EDGE };
  if (x && x.constructor && x.constructor.name === 'Long') return x.toString();
  if (Array.isArray(x)) return x.map(view);
  if (x instanceof Map) return Object.fromEntries([...x.entries()].map(([k, v]) => [String(k), view(v)]));
  if (typeof x === 'object') return Object.fromEntries(Object.keys(x).sort().map((k) => [k, view(x[k])]));
  return x;
}

function heartbeat(host, port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => s.write(HeartBeat.encode()));
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 17) {
        s.destroy();
        resolve({ reply: buf.toString('hex'), is_heartbeat: HeartBeat.isHeartBeat(buf) });
      }
    });
    s.on('error', reject);
    setTimeout(() => { s.destroy(); resolve({ reply: buf.toString('hex'), timeout: true }); }, 5000);
  });
}

async function main() {
  const [host, port] = addr.split(':');
  const dubbo = DirectlyDubbo.from({ dubboAddress: addr, dubboVersion, dubboInvokeTimeout: 10 });
  const svc = dubbo.proxyService({
    dubboInterface: 'com.example.UserService',
    version: '1.0.0',
    group: 'g1',
    methods: {
      sayHello: (s, n, u) => [java.String(s), java.int(n), u],
      echo: (s) => [java.String(s)],
      echoUser: (u) => [u],
      length: (s) => [java.String(s)],
      nothing: () => [],
      boom: (s) => [java.String(s)],
      attachments: () => [],
      forbidden: () => [],
    },
  });
  const missing = dubbo.proxyService({
    dubboInterface: 'com.example.Nosuch',
    version: '1.0.0',
    methods: { anything: () => [] },
  });
  const out = {};
  const call = async (name, p) => {
    const { res, err } = await p;
    out[name] = { res: view(res), err: view(err) };
  };
  await call('sayHello', svc.sayHello('h\u00e9llo', 42, user));
  await call('echo_big', svc.echo(BIG));
  await call('echo_edge', svc.echo(EDGE));
  // a heartbeat on the consumer's own connection, between calls
  dubbo._socketWorker._socket.write(HeartBeat.encode());
  await call('length_big', svc.length(BIG));
  await call('echoUser', svc.echoUser(user));
  await call('nothing', svc.nothing());
  await call('boom', svc.boom('x'));
  await call('attachments', svc.attachments());
  await call('forbidden', svc.forbidden());
  await call('nosuch', missing.anything());
  const parallel = await Promise.all([1, 2, 3, 4, 5].map((i) => svc.echo(`p${i}`)));
  out.parallel = parallel.map(({ res, err }) => ({ res: view(res), err: view(err) }));
  out.heartbeat = await heartbeat(host, Number(port));
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
