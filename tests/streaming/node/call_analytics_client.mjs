// StartCallAnalyticsStreamTranscription over HTTP/2 with the unmodified AWS SDK for JavaScript v3
// (@aws-sdk/client-transcribe-streaming's StartCallAnalyticsStreamTranscriptionCommand, its
// default NodeHttp2Handler: h2c for http://).
//
//   node call_analytics_client.mjs --endpoint http://127.0.0.1:PORT --audio call.s16le \
//       [--output-location s3://bucket/folder/ --role-arn arn:aws:iam::111122223333:role/x]
//       [--agent-channel 0] [--no-configuration] [--speed 1]
//
// The audio is two interleaved channels of s16le PCM. The stream starts with a ConfigurationEvent
// (ChannelDefinitions: the agent on --agent-channel, the customer on the other; with
// --output-location also PostCallAnalyticsSettings), unless --no-configuration.
// Prints JSON lines: {"event":"UtteranceEvent", "t": seconds since the first audio was sent,
// ...the event's members}, {"event":"CategoryEvent", "t", ...}, then {"event":"end", SessionId, RequestId, ...} or {"event":"error", ...} (see common.mjs).
import {
  StartCallAnalyticsStreamTranscriptionCommand,
  TranscribeStreamingClient,
} from "@aws-sdk/client-transcribe-streaming";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { options, print, run } from "./common.mjs";

const opts = options({
  "output-location": { type: "string" },
  "role-arn": { type: "string", default: "arn:aws:iam::111122223333:role/TranscribeAnalytics" },
  "agent-channel": { type: "string", default: "0" },
  "no-configuration": { type: "boolean", default: false },
  "redaction": { type: "boolean", default: false },
});

function configuration() {
  const agent = Number(opts["agent-channel"]);
  const event = {
    ChannelDefinitions: [
      { ChannelId: agent, ParticipantRole: "AGENT" },
      { ChannelId: 1 - agent, ParticipantRole: "CUSTOMER" },
    ],
  };
  if (opts["output-location"]) {
    event.PostCallAnalyticsSettings = {
      OutputLocation: opts["output-location"],
      DataAccessRoleArn: opts["role-arn"],
    };
  }
  return event;
}

let firstAudio = null; // Date.now() when the first AudioEvent was handed to the SDK
const since = () => (firstAudio === null ? 0 : (Date.now() - firstAudio) / 1000);

async function* audioStream() {
  if (!opts["no-configuration"]) yield { ConfigurationEvent: configuration() };
  const pcm = readFileSync(opts.audio);
  const rate = Number(opts["sample-rate"]);
  const chunkMs = Number(opts["chunk-ms"]);
  const speed = Number(opts.speed);
  const bytes = Math.round((rate * chunkMs) / 1000) * 2 * 2;
  for (let offset = 0; offset < pcm.length; offset += bytes) {
    firstAudio ??= Date.now();
    yield { AudioEvent: { AudioChunk: pcm.subarray(offset, offset + bytes) } };
    if (speed > 0) await sleep(chunkMs / speed);
  }
}

await run(async () => {
  const client = new TranscribeStreamingClient({
    region: opts.region,
    endpoint: opts.endpoint,
    credentials: { accessKeyId: opts["access-key"], secretAccessKey: opts["secret-key"] },
    maxAttempts: 1,
  });
  const response = await client.send(
    new StartCallAnalyticsStreamTranscriptionCommand({
      LanguageCode: opts["language-code"],
      MediaEncoding: "pcm",
      MediaSampleRateHertz: Number(opts["sample-rate"]),
      ContentRedactionType: opts.redaction ? "PII" : undefined,
      AudioStream: audioStream(),
    }),
  );
  let events = 0;
  for await (const event of response.CallAnalyticsTranscriptResultStream) {
    events += 1;
    if (event.UtteranceEvent) print({ event: "UtteranceEvent", t: since(), ...event.UtteranceEvent });
    else if (event.CategoryEvent) print({ event: "CategoryEvent", t: since(), ...event.CategoryEvent });
  }
  client.destroy();
  return {
    SessionId: response.SessionId,
    RequestId: response.RequestId ?? response.$metadata?.requestId,
    LanguageCode: response.LanguageCode,
    MediaSampleRateHertz: response.MediaSampleRateHertz,
    events,
  };
});
