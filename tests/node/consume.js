#!/usr/bin/env node
// A second-language consumer of Throughline's outbound JetStream stream:
// reads the stream with an ordered consumer of Node's `nats` client and
// decodes each CPD event's payload with protobufjs, loading our .proto files
// at run time. Prints one JSON object per message on stdout, in stream
// order; exits 1 when fewer than --expect messages arrive within --timeout
// milliseconds.
//
//   node consume.js --url nats://127.0.0.1:4222 --stream THROUGHLINE_EVENTS \
//       --proto-dir ../../proto --expect 10 [--timeout 30000]
'use strict';

const path = require('path');
const { connect } = require('nats');
const protobuf = require('protobufjs');

function parseArgs(argv) {
  const args = { timeout: '30000' };
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) {
      throw new Error(`unexpected argument ${argv[i]}`);
    }
    args[argv[i].slice(2)] = argv[i + 1];
  }
  for (const required of ['url', 'stream', 'proto-dir', 'expect']) {
    if (!(required in args)) throw new Error(`--${required} is required`);
  }
  return args;
}

// Loads every CPD event message from our proto files; google/protobuf/*
// comes bundled with protobufjs.
function loadProtos(protoDir) {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) =>
    target.startsWith('google/protobuf/') ? target : path.join(protoDir, target);
  root.loadSync('throughline/cpd/v1/events.proto', { keepCase: true });
  return root;
}

// "application/x-protobuf; proto=throughline.cpd.v1.SchoolAdded" ->
// "throughline.cpd.v1.SchoolAdded", or null for other content types.
function protoName(contentType) {
  const match = /;\s*proto=([A-Za-z0-9_.]+)/.exec(contentType || '');
  return match ? match[1] : null;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const expect = Number(args.expect);
  const deadline = Date.now() + Number(args.timeout);
  const root = loadProtos(args['proto-dir']);
  const nc = await connect({ servers: args.url });
  const js = nc.jetstream();
  const consumer = await js.consumers.get(args.stream);  // Ordered consumer.
  let received = 0;
  while (received < expect && Date.now() < deadline) {
    const messages = await consumer.fetch({
      max_messages: expect - received,
      expires: 2000,
    });
    for await (const m of messages) {
      const header = (key) => (m.headers ? m.headers.get(key) : '');
      const name = protoName(header('Throughline-Content-Type'));
      let decoded = null;
      if (name) {
        const type = root.lookupType(name);
        decoded = type.toObject(type.decode(m.data), {
          longs: String, enums: String, defaults: false,
        });
      }
      process.stdout.write(JSON.stringify({
        sequence: m.seq,
        subject: m.subject,
        msg_id: header('Nats-Msg-Id'),
        tenant: header('Throughline-Tenant'),
        stream: header('Throughline-Stream'),
        type: header('Throughline-Type'),
        position: Number(header('Throughline-Position')),
        occurred_at: header('Throughline-Occurred-At'),
        proto: name,
        decoded,
      }) + '\n');
      received += 1;
    }
  }
  await nc.close();
  if (received < expect) {
    process.stderr.write(`consume.js: ${received} of ${expect} messages\n`);
    process.exit(1);
  }
}

main().catch((error) => {
  process.stderr.write(`consume.js: ${error.stack || error}\n`);
  process.exit(2);
});
