// Shared by http2_client.mjs and websocket_client.mjs: command line, the SDK call, paced audio,
// JSON-lines output.
//
// Audio: raw s16le PCM (mono unless --channels 2) read from the file named by --audio, sent as
// AudioEvent chunks of --chunk-ms milliseconds at --speed times real time (0: as fast as possible).
// Output, one JSON object a line on stdout:
//   {"event":"TranscriptEvent","results":[{ResultId,IsPartial,StartTime,EndTime,Transcript,Items,ChannelId}]}
//   {"event":"end","SessionId":...,"RequestId":...,"events":N,"elapsed_s":...}
//   {"event":"error","name":...,"message":...,"httpStatusCode":...}   (exit code 3)
import {
  StartStreamTranscriptionCommand,
  TranscribeStreamingClient,
} from "@aws-sdk/client-transcribe-streaming";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";

export function options(extra = {}) {
  const { values } = parseArgs({
    options: {
      endpoint: { type: "string" },
      audio: { type: "string" },
      region: { type: "string", default: "us-east-1" },
      "access-key": { type: "string", default: "test" },
      "secret-key": { type: "string", default: "test" },
      "language-code": { type: "string", default: "en-US" },
      "sample-rate": { type: "string", default: "16000" },
      channels: { type: "string", default: "1" },
      "chunk-ms": { type: "string", default: "100" },
      speed: { type: "string", default: "1" },
      "partial-stabilization": { type: "boolean", default: false },
      ...extra,
    },
  });
  if (!values.endpoint || !values.audio) {
    throw new Error("--endpoint and --audio are required");
  }
  return values;
}

function credentials(opts) {
  return { accessKeyId: opts["access-key"], secretAccessKey: opts["secret-key"] };
}

// One StartStreamTranscription with the SDK client (`transport`: extra client config such as
// requestHandler); prints each TranscriptEvent, calls onResult(result) for each result and
// returns the summary of the "end" line. `hold`: see audioStream.
export async function transcribe(opts, transport = {}, { hold, onResult } = {}) {
  const client = new TranscribeStreamingClient({
    region: opts.region,
    endpoint: opts.endpoint,
    credentials: credentials(opts),
    maxAttempts: 1,
    ...transport,
  });
  const stabilize = opts["partial-stabilization"];
  const response = await client.send(
    new StartStreamTranscriptionCommand({
      LanguageCode: opts["language-code"],
      MediaEncoding: "pcm",
      MediaSampleRateHertz: Number(opts["sample-rate"]),
      EnablePartialResultsStabilization: stabilize || undefined,
      PartialResultsStability: stabilize ? "high" : undefined,
      AudioStream: audioStream(opts, hold),
    }),
  );
  let events = 0;
  for await (const event of response.TranscriptResultStream) {
    if (event.TranscriptEvent) {
      events += 1;
      for (const result of event.TranscriptEvent.Transcript?.Results ?? []) onResult?.(result);
      print(resultLine(event.TranscriptEvent));
    }
  }
  client.destroy();
  return {
    SessionId: response.SessionId,
    RequestId: response.RequestId ?? response.$metadata?.requestId,
    LanguageCode: response.LanguageCode,
    MediaSampleRateHertz: response.MediaSampleRateHertz,
    events,
  };
}

// Async iterable of {AudioEvent: {AudioChunk}}; `hold` (optional) is awaited after the file's
// audio and may yield more chunks (e.g. silence while results settle).
async function* audioStream(opts, hold) {
  const pcm = readFileSync(opts.audio);
  const rate = Number(opts["sample-rate"]);
  const channels = Number(opts.channels);
  const chunkMs = Number(opts["chunk-ms"]);
  const speed = Number(opts.speed);
  const bytes = Math.round((rate * chunkMs) / 1000) * 2 * channels;
  for (let offset = 0; offset < pcm.length; offset += bytes) {
    yield { AudioEvent: { AudioChunk: pcm.subarray(offset, offset + bytes) } };
    if (speed > 0) await sleep(chunkMs / speed);
  }
  if (hold) yield* hold(bytes, chunkMs, speed);
}

function resultLine(event) {
  const results = (event.Transcript?.Results ?? []).map((r) => ({
    ResultId: r.ResultId,
    IsPartial: r.IsPartial,
    StartTime: r.StartTime,
    EndTime: r.EndTime,
    ChannelId: r.ChannelId,
    Transcript: r.Alternatives?.[0]?.Transcript ?? "",
    Items: r.Alternatives?.[0]?.Items?.length ?? 0,
  }));
  return { event: "TranscriptEvent", results };
}

export function print(object) {
  process.stdout.write(JSON.stringify(object) + "\n");
}

export async function run(main) {
  const started = Date.now();
  try {
    const summary = await main();
    print({ event: "end", ...summary, elapsed_s: (Date.now() - started) / 1000 });
    process.exit(0);
  } catch (error) {
    print({
      event: "error",
      name: error?.name ?? typeof error,
      message: error?.message ?? String(error),
      httpStatusCode: error?.$metadata?.httpStatusCode,
    });
    process.exit(3);
  }
}
