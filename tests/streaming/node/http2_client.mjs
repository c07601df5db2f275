// StartStreamTranscription over HTTP/2 with the unmodified AWS SDK for JavaScript v3
// (@aws-sdk/client-transcribe-streaming, its default NodeHttp2Handler: h2c for http://, TLS +
// ALPN h2 for https:// — trust the emulator's CA with NODE_EXTRA_CA_CERTS).
//
//   node http2_client.mjs --endpoint http://127.0.0.1:PORT --audio speech.s16le [--speed 1]
//
// Prints JSON lines (see common.mjs).
import { options, run, transcribe } from "./common.mjs";

const opts = options();
await run(() => transcribe(opts));
