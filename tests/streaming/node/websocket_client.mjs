// StartStreamTranscription over WebSocket with the unmodified AWS SDK for JavaScript v3: the
// browser transport (WebSocketFetchHandler from @aws-sdk/middleware-websocket) run in Node with
// the `ws` package as the global WebSocket, and the browser's unsigned event-stream payload
// handler (eventStreamPayloadHandler from @aws-sdk/middleware-sdk-transcribe-streaming), exactly
// as @aws-sdk/client-transcribe-streaming's runtimeConfig.browser.js wires them.
//
//   node websocket_client.mjs --endpoint https://127.0.0.1 --connect-port PORT --audio speech.s16le
//
// How the SDK builds the URL: websocketEndpointMiddleware turns the request into
// `GET wss://<host><path>-websocket?<headers without x-amzn-transcribe- as query>` and the
// Transcribe plugin's websocketPortMiddleware appends ":8443" to the hostname (and the signed
// `host` header) unconditionally; the URL is then presigned (SigV4 query, X-Amz-Expires=60).
// An endpoint with a port would become "host:8443:port", so --endpoint must have none. The
// emulator listens on 8443 by default; when the test runs it on another port, --connect-port
// maps the TCP connection there and keeps the signed Host "<host>:8443", as a port forward
// (docker -p PORT:8443) would. Trust the emulator's CA with NODE_EXTRA_CA_CERTS.
//
// The SDK closes the socket as soon as the audio iterable ends (after a zero-length frame), so a
// result the server finalises after that is lost. --hold-ms N keeps the "microphone" open with
// silence, after the file's audio, until no partial result is pending (at most N ms), as a
// browser app does while the user is silent.
//
// --signed-frames: Node's default payload handler instead (signed envelopes, see below).
//
// Prints JSON lines (see common.mjs).
import WebSocket from "ws";
import { eventStreamPayloadHandlerProvider as signingPayloadHandler } from "@aws-sdk/eventstream-handler-node";
import { eventStreamPayloadHandler } from "@aws-sdk/middleware-sdk-transcribe-streaming";
import { WebSocketFetchHandler } from "@aws-sdk/middleware-websocket";
import { setTimeout as sleep } from "node:timers/promises";
import { options, run, transcribe } from "./common.mjs";

const opts = options({
  "connect-port": { type: "string" },
  "hold-ms": { type: "string", default: "0" },
  "signed-frames": { type: "boolean", default: false },
});

class PortMappedWebSocket extends WebSocket {
  constructor(address, protocols, wsOptions) {
    const url = new URL(address);
    const signedHost = url.host;
    if (opts["connect-port"] && url.port !== opts["connect-port"]) {
      url.port = opts["connect-port"];
    }
    super(url.toString(), protocols, { ...wsOptions, headers: { host: signedHost } });
  }
}
globalThis.WebSocket = PortMappedWebSocket;

const pending = new Set(); // ResultIds seen partial, not yet final
let finals = 0;
let lastResultAt = Date.now();

function track(result) {
  lastResultAt = Date.now();
  if (result.IsPartial) pending.add(result.ResultId);
  else {
    pending.delete(result.ResultId);
    finals += 1;
  }
}

async function* holdUntilSettled(bytes, chunkMs, speed) {
  const holdMs = Number(opts["hold-ms"]);
  const silence = Buffer.alloc(bytes);
  const finalsBefore = finals;
  for (let held = 0; held < holdMs; held += chunkMs) {
    // At least 1 s of silence, so the server's endpointing sees the end of speech; then stop
    // once nothing is pending and a final came (or nothing came for 3 s: all was final already).
    const settled = finals > finalsBefore || Date.now() - lastResultAt >= 3000;
    if (held >= 1000 && pending.size === 0 && settled) break;
    yield { AudioEvent: { AudioChunk: silence } };
    await sleep(speed > 0 ? chunkMs / speed : chunkMs);
  }
}

const transport = {
  requestHandler: new WebSocketFetchHandler({ connectionTimeout: 5000 }),
  // Default: the browser wiring, unsigned AudioEvent frames. --signed-frames: Node's default
  // handler (what a Node user gets by swapping only the requestHandler): every frame a
  // :date/:chunk-signature envelope, the chain seeded by the URL's X-Amz-Signature.
  eventStreamPayloadHandlerProvider: opts["signed-frames"] ? signingPayloadHandler : () => eventStreamPayloadHandler,
};
await run(() =>
  transcribe(opts, transport, { hold: Number(opts["hold-ms"]) > 0 ? holdUntilSettled : undefined, onResult: track }),
);
