// Interop peer on npm hessian.js (the Hessian2 codec dubbo-js ships):
//   node hessian_peer.js vectors      print "name<TAB>hex" for every named vector
//   node hessian_peer.js check FILE   decode each "name<TAB>hex" of FILE and compare it with the
//                                     decoding of hessian.js's own vector of that name
'use strict';
const fs = require('fs');
const hessian = require('hessian.js');
const java = require('js-to-java');

function fill(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

function vectors() {
  const v = new Map();
  v.set('null', null);
  v.set('true', true);
  v.set('false', false);
  for (const i of [0, -16, 47, 48, -17, -2048, 2047, 2048, -262144, 262143, 262144, -2147483648, 2147483647]) {
    v.set(`int_${i}`, java.int(i));
  }
  for (const l of ['0', '-8', '15', '16', '-2048', '2047', '2048', '262143', '262144', '2147483647',
    '2147483648', '-2147483648', '9223372036854775807', '-9223372036854775808']) {
    v.set(`long_${l}`, java.long(l));
  }
  for (const [name, d] of [['0.0', 0], ['1.0', 1], ['127.0', 127], ['-128.0', -128], ['128.0', 128],
    ['32767.0', 32767], ['32768.0', 32768], ['12.25', 12.25], ['0.001', 0.001], ['3.14159', 3.14159],
    ['-2.5', -2.5], ['1.0E300', 1e300], ['NaN', NaN]]) {
    v.set(`double_${name}`, java.double(d));
  }
  v.set('string_empty', '');
  v.set('string_a', 'a');
  v.set('string_31', 'x'.repeat(31));
  v.set('string_32', 'x'.repeat(32));
  v.set('string_1023', 'x'.repeat(1023));
  v.set('string_1024', 'x'.repeat(1024));
  v.set('string_utf8', 'h\u00e9llo \u2713');
  v.set('string_emoji', '\ud83d\ude00');
  v.set('string_32768', 'y'.repeat(32768));
  v.set('string_70000', 'z'.repeat(70000));
  v.set('string_40000_e', '\u00e9'.repeat(40000));
  v.set('string_pair_at_chunk_edge', 'q'.repeat(32767) + '\ud83d\ude00' + 'tail');
  v.set('binary_empty', Buffer.alloc(0));
  v.set('binary_3', Buffer.from([1, 2, 3]));
  for (const n of [15, 16, 1023, 1024, 70000]) v.set(`binary_${n}`, fill(n));
  v.set('list_123', [java.int(1), java.int(2), java.int(3)]);
  v.set('list_empty', []);
  v.set('list_10', [...Array(10).keys()].map((i) => java.int(i)));
  v.set('list_mixed', [java.int(1), 'a', null, true, java.long(2)]);
  v.set('int_array', java.array.int([1, 2, 3]));
  v.set('long_array', java.array.long([1, 2]));
  v.set('map_a1', new Map([['a', java.int(1)]]));
  v.set('map_empty', new Map());
  v.set('map_int_key', new Map([[java.int(1), 'one']]));
  const user = (name, age, id) => ({
    $class: 'com.example.User',
    $: { name: java.String(name), age: java.int(age), id: java.long(id) },
  });
  const alice = user('alice', 30, '1234567890123');
  v.set('object_user', alice);
  v.set('object_two_users', [alice, user('bob', 41, '-1')]);
  v.set('enum_blue', java.enum('com.example.Color', 'BLUE'));
  v.set('date_minute', new Date(0x019143c0 * 60000));
  v.set('date_ms', new Date(0x16f5e66e87b));
  return v;
}

// A comparable view of a decoded value (Buffers, Dates, Longs and Maps made plain).
function plain(x) {
  if (x === null || x === undefined) return null;
  if (Buffer.isBuffer(x)) return { bin: x.toString('hex') };
  if (x instanceof Date) return { date: x.getTime() };
  if (typeof x === 'number' && Number.isNaN(x)) return { nan: true };
  if (typeof x === 'bigint') return { n: x.toString() };
  if (x && typeof x.toString === 'function' && x.constructor && x.constructor.name === 'Long') return { n: x.toString() };
  if (Array.isArray(x)) return x.map(plain);
  if (x instanceof Map) return { map: [...x.entries()].map(([k, val]) => [plain(k), plain(val)]) };
  if (typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, val]) => [k, plain(val)]));
  return x;
}

function main() {
  const [mode, file] = process.argv.slice(2);
  const vs = vectors();
  if (mode === 'vectors') {
    const lines = [];
    for (const [name, val] of vs) lines.push(`${name}\t${hessian.encode(val, '2.0').toString('hex')}`);
    process.stdout.write(lines.join('\n') + '\n');
  } else if (mode === 'check') {
    const out = [];
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      const [name, hex] = line.split('\t');
      if (!vs.has(name)) { out.push(`${name}\tUNKNOWN`); continue; }
      try {
        const theirs = JSON.stringify(plain(hessian.decode(Buffer.from(hex, 'hex'), '2.0')));
        const ours = JSON.stringify(plain(hessian.decode(hessian.encode(vs.get(name), '2.0'), '2.0')));
        out.push(`${name}\t${theirs === ours ? 'OK' : `DIFF ${theirs.slice(0, 200)} vs ${ours.slice(0, 200)}`}`);
      } catch (e) {
        out.push(`${name}\tERROR ${e.message}`);
      }
    }
    process.stdout.write(out.join('\n') + '\n');
  } else {
    console.error('usage: node hessian_peer.js vectors | check FILE');
    process.exit(2);
  }
}

main();
