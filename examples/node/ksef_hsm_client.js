#!/usr/bin/env node
// Example ksef-hsm client in Node.js: mutual TLS, an AuthTokenRequest signed
// for KSeF's XAdES login, and the KOD II link of an invoice issued offline.
//
// @grpc/proto-loader reads the .proto files of this checkout at start-up (no
// generated code); --proto-dir or KSEF_HSM_PROTO_DIR points elsewhere. Errors
// end the program with exit code 1 after printing the gRPC status code and
// the server's message, which says what to fix (usage errors: exit code 2).
// README.md shows the commands.
'use strict';

const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const TIMEOUT_MS = 30000;
const USAGE = `usage:
  ksef_hsm_client.js [connection] auth KEY_NAME --challenge C (--nip N | --internal-id I)
                     [--subject-identifier-type subject|fingerprint] --out FILE
  ksef_hsm_client.js [connection] offline KEY_NAME --invoice FILE (--nip N | --internal-id I)
                     [--out FILE]
connection: --server HOST:PORT --ca PEM --cert PEM --key PEM [--server-name NAME]
            (or KSEF_HSM_SERVER, KSEF_HSM_CA, KSEF_HSM_CERT, KSEF_HSM_KEY, KSEF_HSM_SERVER_NAME)`;

class UsageError extends Error {}

function parseCommandLine(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: 'string', default: process.env.KSEF_HSM_SERVER || 'localhost:7443' },
      ca: { type: 'string', default: process.env.KSEF_HSM_CA },
      cert: { type: 'string', default: process.env.KSEF_HSM_CERT },
      key: { type: 'string', default: process.env.KSEF_HSM_KEY },
      'server-name': { type: 'string', default: process.env.KSEF_HSM_SERVER_NAME },
      'proto-dir': {
        type: 'string',
        default: process.env.KSEF_HSM_PROTO_DIR || path.join(__dirname, '..', '..', 'proto'),
      },
      challenge: { type: 'string' },
      nip: { type: 'string' },
      'internal-id': { type: 'string' },
      'subject-identifier-type': { type: 'string', default: 'subject' },
      invoice: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const [command, keyName, ...rest] = positionals;
  if (!['auth', 'offline'].includes(command) || !keyName || rest.length > 0) {
    throw new UsageError('give a command (auth or offline) and one key name');
  }
  const missing = ['ca', 'cert', 'key'].filter((flag) => !values[flag]);
  if (missing.length > 0) {
    throw new UsageError(`mutual TLS needs ${missing.map((m) => `--${m}`).join(', ')}`);
  }
  if (Boolean(values.nip) === Boolean(values['internal-id'])) {
    throw new UsageError('give exactly one context: --nip or --internal-id');
  }
  const required = command === 'auth' ? ['challenge', 'out'] : ['invoice'];
  const absent = required.filter((flag) => !values[flag]);
  if (absent.length > 0) {
    throw new UsageError(`${command} needs ${absent.map((m) => `--${m}`).join(', ')}`);
  }
  return { command, keyName, ...values };
}

// The package ksef.hsm.v1 from the .proto files: fields by their .proto
// names (keepCase), int64 as strings and enums by name.
function loadApi(protoDir) {
  const definition = protoLoader.loadSync(
    ['ksef/hsm/v1/auth_service.proto', 'ksef/hsm/v1/offline_service.proto'],
    { includeDirs: [protoDir], keepCase: true, longs: String, enums: String, defaults: true });
  return grpc.loadPackageDefinition(definition).ksef.hsm.v1;
}

// mTLS: the server must present a certificate of the CA in --ca for the host
// of --server (or --server-name), and this client presents --cert/--key.
function channelOptions(opts) {
  const credentials = grpc.credentials.createSsl(
    fs.readFileSync(opts.ca), fs.readFileSync(opts.key), fs.readFileSync(opts.cert));
  // The name the server certificate must carry when the address differs (a
  // balancer, an IP not in its SAN), as the C++ CLI's --server-name.
  const options = opts['server-name']
    ? { 'grpc.ssl_target_name_override': opts['server-name'] } : {};
  return [opts.server, credentials, options];
}

function contextIdentifier(opts) {
  return opts.nip ? { nip: opts.nip } : { internal_id: opts['internal-id'] };
}

function deadline() {
  return { deadline: new Date(Date.now() + TIMEOUT_MS) };
}

// A unary call as a promise.
function call(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, deadline(), (error, response) => (error ? reject(error) : resolve(response)));
  });
}

// SignAuthToken: the server builds the AuthTokenRequest from these fields and
// signs it (XAdES-BES) in the HSM; the result is the body of KSeF's
// POST /auth/xades-signature.
async function signAuthToken(api, opts) {
  const identifierTypes = { subject: 'CERTIFICATE_SUBJECT', fingerprint: 'CERTIFICATE_FINGERPRINT' };
  const identifierType = identifierTypes[opts['subject-identifier-type']];
  if (!identifierType) throw new UsageError('--subject-identifier-type is subject or fingerprint');
  const client = new api.AuthService(...channelOptions(opts));
  try {
    const token = await call(client, 'SignAuthToken', {
      name: opts.keyName,
      challenge: opts.challenge,
      context_identifier: contextIdentifier(opts),
      subject_identifier_type: identifierType,
    });
    fs.writeFileSync(opts.out, token.xml);
    console.log(`signed by ${token.name} (certificate ${token.certificate_serial_number})`);
    console.log(`AuthTokenRequest written to ${opts.out}`);
  } finally {
    client.close();
  }
}

// SignOfflineInvoice: KOD I and KOD II for one invoice file; the server hashes
// the file and reads the seller's NIP and the issue date from it.
async function signOfflineInvoice(api, opts) {
  const client = new api.OfflineInvoiceService(...channelOptions(opts));
  try {
    const codes = await call(client, 'SignOfflineInvoice', {
      name: opts.keyName,
      context_identifier: contextIdentifier(opts),
      invoice_xml: fs.readFileSync(opts.invoice),
    });
    console.log(`KOD I  (${codes.kod_i_label}): ${codes.kod_i_link}`);
    console.log(`KOD II (CERTYFIKAT): ${codes.kod_ii_link}`);
    if (opts.out) {
      fs.writeFileSync(opts.out, `${codes.kod_ii_link}\n`);
      console.log(`KOD II link written to ${opts.out}`);
    }
  } finally {
    client.close();
  }
}

async function main() {
  try {
    const opts = parseCommandLine(process.argv.slice(2));
    const api = loadApi(opts['proto-dir']);
    await (opts.command === 'auth' ? signAuthToken : signOfflineInvoice)(api, opts);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || String(error.code).startsWith('ERR_PARSE_ARGS')) {
      console.error(`error: ${error.message}\n${USAGE}`);
      return 2;  // as Python's argparse
    }
    if (typeof error.code === 'number') {  // a gRPC status
      console.error(`error: ${grpc.status[error.code]}: ${error.details}`);
    } else {
      console.error(`error: ${error.message}`);
    }
    return 1;
  }
}

main().then((code) => { process.exitCode = code; });
